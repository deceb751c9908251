//! The seeded random generator every random draw in minmax comes from. It wraps ChaCha8 (a
//! portable, versioned stream cipher RNG) so the same seed gives the same numbers on every machine.
//! Normal samples use the Box–Muller transform.

use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

#[derive(Clone, Debug)]
pub struct Generator {
    rng: ChaCha8Rng,
    spare_normal: Option<f64>,
}

impl Generator {
    pub fn new(seed: u64) -> Self {
        Generator { rng: ChaCha8Rng::seed_from_u64(seed), spare_normal: None }
    }
    pub fn next_u64(&mut self) -> u64 {
        self.rng.next_u64()
    }
    /// Uniform on [0, 1).
    pub fn uniform(&mut self) -> f64 {
        self.rng.random::<f64>()
    }
    /// Uniform on [lo, hi).
    pub fn uniform_range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.uniform()
    }
    /// Standard normal N(0, 1).
    pub fn normal(&mut self) -> f64 {
        if let Some(z) = self.spare_normal.take() {
            return z;
        }
        // Box–Muller: two uniforms give two independent normals.
        let u1 = 1.0 - self.uniform(); // (0, 1], keeps ln finite
        let u2 = self.uniform();
        let r = (-2.0 * u1.ln()).sqrt();
        let t = 2.0 * std::f64::consts::PI * u2;
        self.spare_normal = Some(r * t.sin());
        r * t.cos()
    }
    /// An integer uniform on 0..n.
    pub fn below(&mut self, n: usize) -> usize {
        self.rng.random_range(0..n)
    }
    /// A seeded permutation of 0..n (Fisher–Yates).
    pub fn permutation(&mut self, n: usize) -> Vec<usize> {
        let mut p: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            let j = self.below(i + 1);
            p.swap(i, j);
        }
        p
    }
    /// A new generator whose seed is drawn from this one (for layers that own their randomness).
    pub fn fork(&mut self) -> Generator {
        Generator::new(self.next_u64())
    }
    /// The generator's position as text (key, stream, word position, cached normal), for
    /// checkpoints: `from_state` continues the stream exactly where it was.
    pub fn state(&self) -> String {
        let key: String = self.rng.get_seed().iter().map(|b| format!("{b:02x}")).collect();
        let spare = self.spare_normal.map(|z| format!("{:016x}", z.to_bits())).unwrap_or_else(|| "-".into());
        format!("chacha8:{key}:{}:{}:{spare}", self.rng.get_stream(), self.rng.get_word_pos())
    }
    /// A generator at the position `state` describes (the text `state` wrote).
    pub fn from_state(s: &str) -> Option<Generator> {
        let p: Vec<&str> = s.split(':').collect();
        if p.len() != 5 || p[0] != "chacha8" || p[1].len() != 64 {
            return None;
        }
        let mut key = [0u8; 32];
        for (i, k) in key.iter_mut().enumerate() {
            *k = u8::from_str_radix(p[1].get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        let mut rng = ChaCha8Rng::from_seed(key);
        rng.set_stream(p[2].parse().ok()?);
        rng.set_word_pos(p[3].parse().ok()?);
        let spare = match p[4] {
            "-" => None,
            h => Some(f64::from_bits(u64::from_str_radix(h, 16).ok()?)),
        };
        Some(Generator { rng, spare_normal: spare })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn same_seed_same_stream() {
        let (mut a, mut b) = (Generator::new(7), Generator::new(7));
        for _ in 0..10 {
            assert_eq!(a.normal(), b.normal());
        }
        assert_ne!(Generator::new(8).uniform(), Generator::new(7).uniform());
    }
    #[test]
    fn state_round_trip_continues_the_stream() {
        let mut a = Generator::new(3);
        a.uniform();
        a.normal(); // leaves a cached normal
        let mut b = Generator::from_state(&a.state()).expect("state parses");
        for _ in 0..5 {
            assert_eq!(a.normal().to_bits(), b.normal().to_bits());
            assert_eq!(a.next_u64(), b.next_u64());
        }
        assert!(Generator::from_state("chacha8:zz").is_none());
        assert!(Generator::from_state(&a.state().replace("chacha8", "pcg")).is_none());
    }
    #[test]
    fn normal_moments() {
        let mut g = Generator::new(1);
        let xs: Vec<f64> = (0..20000).map(|_| g.normal()).collect();
        let m = xs.iter().sum::<f64>() / xs.len() as f64;
        let v = xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / xs.len() as f64;
        assert!(m.abs() < 0.03 && (v - 1.0).abs() < 0.05, "mean {m} var {v}");
    }
}

/// The "lowbias32" integer mixer (C. Wellons): a bijection on u32 whose output bits each depend
/// on every input bit.
pub fn mix32(mut x: u32) -> u32 {
    x ^= x >> 16;
    x = x.wrapping_mul(0x7feb_352d);
    x ^= x >> 15;
    x = x.wrapping_mul(0x846c_a68b);
    x ^= x >> 16;
    x
}

/// Counter-based random word for element `i` under `seed`: a pure function of the two, so GPU
/// threads draw in parallel and both backends give identical dropout masks (the same formula is
/// `counter_u32` in shaders/random.wgsl).
pub fn counter_u32(seed: u64, i: u32) -> u32 {
    mix32(counter_key(seed) ^ i)
}

/// The part of `counter_u32` that depends on the seed alone: word i is `mix32(key ^ i)`.
pub fn counter_key(seed: u64) -> u32 {
    mix32(mix32(seed as u32) ^ (seed >> 32) as u32)
}

/// Dropout keeps element i when the top 24 bits of `counter_u32` are below this threshold, so the
/// decision is the same integer comparison on every backend.
pub fn keep_threshold(keep: f64) -> u32 {
    (keep.clamp(0.0, 1.0) * (1u32 << 24) as f64).round() as u32
}

#[cfg(test)]
mod counter_tests {
    use super::*;

    #[test]
    fn counter_words_are_uniform_enough_for_dropout() {
        // Keep fraction matches, and neighbouring elements are not correlated.
        let n = 200_000u32;
        let t = keep_threshold(0.8);
        let kept: Vec<bool> = (0..n).map(|i| (counter_u32(42, i) >> 8) < t).collect();
        let frac = kept.iter().filter(|&&k| k).count() as f64 / n as f64;
        assert!((frac - 0.8).abs() < 0.005, "keep fraction {frac}");
        let both = kept.windows(2).filter(|w| w[0] && w[1]).count() as f64 / (n - 1) as f64;
        assert!((both - 0.64).abs() < 0.006, "P(keep i and i+1) = {both}");
        // Another seed gives another mask.
        let other = (0..1000).filter(|&i| ((counter_u32(43, i) >> 8) < t) != kept[i as usize]).count();
        assert!(other > 200, "seeds 42 and 43 differ in only {other} of 1000");
    }
}
