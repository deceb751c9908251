//! Stacked-MNIST mode counts (the unrolled GAN paper, VEEGAN, PacGAN): each of an image's three
//! channels is classified as a digit by an MNIST classifier (the project's, trained on full
//! MNIST); the triple (c₀, c₁, c₂) is one of 1,000 modes, numbered 100·c₀ + 10·c₁ + c₂.
//!
//! - a mode is **covered** if at least one sample falls in it;
//! - **KL** = KL(p̂ ‖ U₁₀₀₀) = Σₖ p̂ₖ ln(1000 p̂ₖ) over the histogram p̂ of the samples' modes: the
//!   direction PacGAN's code computes (scipy's `entropy(p̂, uniform)`); empty modes add nothing;
//!   0 for a uniform histogram, ln 1000 ≈ 6.91 when every sample shares one mode.
//!
//! The papers count 26,000 samples ([`SAMPLES`]): with a uniform generator about 1000·(1 −
//! e⁻²⁶) ≈ 1000 modes are then hit, so the count measures the generator, not the sample size.

use minmax_engine::{Error, Result, Tensor};

/// Modes of Stacked-MNIST: 10³ digit triples.
pub const MODES: usize = 1000;
/// Samples per evaluation, as the papers count them.
pub const SAMPLES: usize = 26_000;

/// The mode numbers of one set of samples.
#[derive(Clone, Debug, PartialEq)]
pub struct StackedModes {
    /// Modes with at least one sample.
    pub modes_covered: usize,
    /// KL(p̂ ‖ U₁₀₀₀).
    pub kl: f64,
    /// Samples per mode, [`MODES`] of them.
    pub counts: Vec<usize>,
    pub samples: usize,
}

/// The mode of every image [N, 3, 28, 28] in [0, 1], given `classify`, which labels digits
/// [M, 784] in [0, 1] (0–9, one label per row).
pub fn modes_of(images: &Tensor, classify: impl Fn(&Tensor) -> Result<Vec<usize>>) -> Result<Vec<usize>> {
    crate::metrics::ensure_finite(images, "Stacked-MNIST modes: images")?;
    if images.rank() != 4 || images.shape()[1..] != [3, 28, 28] {
        return Err(Error::msg(format!(
            "Stacked-MNIST modes: expected images [N, 3, 28, 28], got shape {:?}",
            images.shape()
        )));
    }
    let n = images.shape()[0];
    let mut modes = vec![0usize; n];
    for c in 0..3 {
        let digits = images.narrow(1, c, 1)?.reshape(&[n as isize, 784])?; // channel c of every image
        let labels = classify(&digits)?;
        if labels.len() != n || labels.iter().any(|&l| l > 9) {
            return Err(Error::msg(format!(
                "Stacked-MNIST modes: the classifier gave {} labels for {n} digits of channel {c} (expected one in 0–9 each)",
                labels.len()
            )));
        }
        for (m, l) in modes.iter_mut().zip(labels) {
            *m = 10 * *m + l; // 100·c₀ + 10·c₁ + c₂ after the third channel
        }
    }
    Ok(modes)
}

/// Modes covered and KL(p̂ ‖ U₁₀₀₀) of images [N, 3, 28, 28] in [0, 1].
pub fn stacked_modes(images: &Tensor, classify: impl Fn(&Tensor) -> Result<Vec<usize>>) -> Result<StackedModes> {
    from_modes(&modes_of(images, classify)?)
}

/// Modes covered and KL(p̂ ‖ U₁₀₀₀) of samples whose modes ([`modes_of`]) are known.
pub fn from_modes(modes: &[usize]) -> Result<StackedModes> {
    if let Some(m) = modes.iter().find(|&&m| m >= MODES) {
        return Err(Error::msg(format!("Stacked-MNIST modes: mode {m} is not one of 0–{}", MODES - 1)));
    }
    if modes.is_empty() {
        return Err(Error::msg("Stacked-MNIST modes: no samples"));
    }
    let mut counts = vec![0usize; MODES];
    for &m in modes {
        counts[m] += 1;
    }
    Ok(StackedModes {
        modes_covered: counts.iter().filter(|&&c| c > 0).count(),
        kl: kl_to_uniform(&counts),
        counts,
        samples: modes.len(),
    })
}

/// KL(p̂ ‖ uniform) of a histogram (empty bins add nothing).
pub fn kl_to_uniform(counts: &[usize]) -> f64 {
    let n: usize = counts.iter().sum();
    let k = counts.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / n as f64;
            p * (k * p).ln()
        })
        .sum::<f64>()
        .max(0.0)
}
