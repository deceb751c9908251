//! Mixtures of Gaussians in one or two dimensions: the toy data sets of the mode-collapse
//! literature. Every mixture has equal weights and one isotropic standard deviation.
//!
//! - `ring8`: 8 Gaussians on a circle of radius 2, σ = 0.02 (the setting usually cited for the
//!   unrolled GAN paper, Metz et al. 2017).
//! - `ring8-pac`: the same ring with radius 1, σ = 0.01 (PacGAN, Lin et al. 2018). Both rings have
//!   σ / radius = 0.01, so they differ only in scale.
//! - `grid25`: 25 Gaussians with means {−4, −2, 0, 2, 4}², σ = 0.05 (VEEGAN, PacGAN).
//! - `mix1d`: 4 Gaussians on a line at −3, −1, 1, 3, σ = 0.1 (a one-dimensional warm-up).
//!
//! Shapes: N = samples, X = dimension of the data (1 or 2).

use minmax_engine::{Error, Generator as Rng, Result, Tensor};

/// An equal-weight mixture of isotropic Gaussians.
#[derive(Clone, Debug)]
pub struct Mixture {
    /// The name the command line uses (`ring8`, `grid25`, …).
    pub name: &'static str,
    /// One mean per mode, each of length `dim`.
    pub means: Vec<Vec<f64>>,
    /// The standard deviation of every mode (per coordinate).
    pub std: f64,
    pub dim: usize,
}

/// The names `Mixture::by_name` knows.
pub const DATASETS: [&str; 4] = ["ring8", "ring8-pac", "grid25", "mix1d"];

impl Mixture {
    /// `k` Gaussians on a circle: mean_k = (r·cos 2πk/k_total, r·sin 2πk/k_total), k = 0 … k_total − 1.
    ///
    /// Note: several public implementations write the angles as `linspace(0, 2π, 8)`, which
    /// includes both 0 and 2π: the first and last means coincide and the "8 Gaussians" are only
    /// 7 distinct modes (one of them with double weight). Here the angles are 2πk/8 for k < 8.
    pub fn ring(name: &'static str, modes: usize, radius: f64, std: f64) -> Self {
        let means = (0..modes)
            .map(|k| {
                let t = std::f64::consts::TAU * k as f64 / modes as f64;
                vec![radius * t.cos(), radius * t.sin()]
            })
            .collect();
        Mixture { name, means, std, dim: 2 }
    }
    /// 8 modes, radius 2, σ = 0.02 (the unrolled GAN setting).
    pub fn ring8() -> Self {
        Mixture::ring("ring8", 8, 2.0, 0.02)
    }
    /// 8 modes, radius 1, σ = 0.01 (PacGAN setting).
    pub fn ring8_pac() -> Self {
        Mixture::ring("ring8-pac", 8, 1.0, 0.01)
    }
    /// 25 modes at {−4, −2, 0, 2, 4}², σ = 0.05.
    pub fn grid25() -> Self {
        let axis = [-4.0, -2.0, 0.0, 2.0, 4.0];
        let means = axis.iter().flat_map(|&x| axis.iter().map(move |&y| vec![x, y])).collect();
        Mixture { name: "grid25", means, std: 0.05, dim: 2 }
    }
    /// 4 modes on a line at −3, −1, 1, 3, σ = 0.1.
    pub fn mix1d() -> Self {
        Mixture { name: "mix1d", means: [-3.0, -1.0, 1.0, 3.0].iter().map(|&m| vec![m]).collect(), std: 0.1, dim: 1 }
    }
    pub fn by_name(name: &str) -> Result<Self> {
        match name {
            "ring8" => Ok(Mixture::ring8()),
            "ring8-pac" => Ok(Mixture::ring8_pac()),
            "grid25" => Ok(Mixture::grid25()),
            "mix1d" => Ok(Mixture::mix1d()),
            _ => Err(Error::msg(format!(
                "--dataset: unknown data set '{name}' (expected one of {})",
                DATASETS.join(", ")
            ))),
        }
    }

    pub fn modes(&self) -> usize {
        self.means.len()
    }

    /// `n` samples [N, X]: a mode drawn uniformly, plus N(0, σ²) noise in every coordinate.
    pub fn sample(&self, n: usize, rng: &mut Rng) -> Tensor {
        let mut v = Vec::with_capacity(n * self.dim);
        for _ in 0..n {
            let m = &self.means[rng.below(self.modes())];
            for &c in m {
                v.push((c + self.std * rng.normal()) as f32);
            }
        }
        Tensor::new(v, &[n, self.dim]).expect("length matches by construction")
    }

    /// A square (or, in 1-D, an interval) that holds every mode with a margin: (lo, hi) per axis.
    pub fn view_box(&self) -> (f64, f64) {
        let r = self.means.iter().flat_map(|m| m.iter()).fold(0.0f64, |a, &c| a.max(c.abs()));
        let r = r * 1.5;
        (-r, r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring8_has_eight_distinct_means_on_the_circle() {
        for (m, r) in [(Mixture::ring8(), 2.0), (Mixture::ring8_pac(), 1.0)] {
            assert_eq!(m.modes(), 8);
            for (i, a) in m.means.iter().enumerate() {
                assert!(((a[0] * a[0] + a[1] * a[1]).sqrt() - r).abs() < 1e-12);
                for b in &m.means[..i] {
                    let d = ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt();
                    // neighbours on the ring are 2r·sin(π/8) ≈ 0.765 r apart
                    assert!(d > 0.76 * r, "{a:?} and {b:?} are {d} apart");
                }
            }
        }
    }

    #[test]
    fn samples_sit_near_their_modes() -> Result<()> {
        let m = Mixture::grid25();
        let x = m.sample(1000, &mut Rng::new(0)).to_vec2::<f64>()?;
        for p in x {
            let d = m
                .means
                .iter()
                .map(|c| ((p[0] - c[0]).powi(2) + (p[1] - c[1]).powi(2)).sqrt())
                .fold(f64::INFINITY, f64::min);
            assert!(d < 6.0 * m.std, "{p:?} is {d} from every mode");
        }
        Ok(())
    }
}
