//! Ways to put a number on a generator.
//!
//! - [`parzen`]: the Parzen-window log-likelihood of Goodfellow et al. (2014), Table 1: a Gaussian
//!   window on every generated sample, its width chosen on validation data, scored on test data.
//! - [`fid`]: the Fréchet distance between Gaussians fitted to real and generated features
//!   (FID, Heusel et al. 2017), here on the features of the small classifier in
//!   `crate::metrics::classifier`.
//! - [`inception_score`]: exp(E KL(p(y|x) ‖ p(y))) from a classifier's probabilities
//!   (Salimans et al. 2016), between 1 and the number of classes.
//! - [`precision_recall`]: improved precision and recall with k-NN balls (Kynkäänniemi et al.
//!   2019): quality and coverage as separate numbers.
//! - [`coverage`]: how many classes the generated samples reach and the KL of their class
//!   histogram to uniform or to the real data's.
//! - [`reconstruction`]: inference by optimisation (per-image reconstruction error through
//!   G) and nearest-training-image distances, to tell generalisation from memorisation.
//! - [`modes`]: modes covered, % high-quality samples and the KLs of samples of a 2-D mixture
//!   (VEEGAN / PacGAN's metrics for the mode-collapse lab)
//! - [`stacked`]: modes covered and KL of Stacked-MNIST samples (1,000 digit triples, each
//!   channel classified)
//! - [`image_quality`]: PSNR, SSIM (Wang et al. 2004) and L1 of images against their targets (the
//!   image-to-image lab)
//! - [`classifier`]: the small CNN whose features and probabilities FID, IS and coverage use
//! - [`per_class`]: a classifier's per-class recall, ACSA, macro-F1 and G-mean from its confusion
//!   matrix (the imbalance lab)
//! - [`stats`]: mean ± standard error over seeds
//! - [`linalg`]: the small f64 linear algebra these need (symmetric eigen-decomposition, matrix
//!   square roots); [`distances`]: blocked pairwise distances between point sets.

pub mod classifier;
pub mod coverage;
pub mod distances;
pub mod fid;
pub mod image_quality;
pub mod inception_score;
pub mod linalg;
pub mod modes;
pub mod parzen;
pub mod per_class;
pub mod precision_recall;
pub mod reconstruction;
pub mod stacked;
pub mod stats;

pub use coverage::{coverage, predicted_labels, Coverage};
pub use fid::{fid, frechet_distance, FeatureStats};
pub use inception_score::{inception_score, InceptionScore};
pub use parzen::{evaluate as parzen_evaluate, log_likelihoods as parzen_log_likelihoods, sigma_grid, ParzenResult};
pub use precision_recall::{precision_recall, PrecisionRecall};
pub use reconstruction::{memorisation, reconstruct, Memorisation, ReconstructOptions, Reconstruction};

use minmax_engine::{DType, Error, Result, Tensor};

/// Refuse a tensor holding NaN or ±∞: a metric computed from it would be a made-up number (a
/// Parzen window over NaN samples, FID over NaN features). `what` names the input in the error,
/// e.g. "parzen: samples".
pub fn ensure_finite(t: &Tensor, what: &str) -> Result<()> {
    match t.dtype() {
        DType::I64 => Ok(()),
        DType::F32 => first_non_finite(&t.to_vec::<f32>()?, what),
        DType::F64 => first_non_finite(&t.to_vec::<f64>()?, what),
    }
}

fn first_non_finite<T: Copy + Into<f64>>(v: &[T], what: &str) -> Result<()> {
    let Some(first) = v.iter().position(|&x| !x.into().is_finite()) else { return Ok(()) };
    let bad = v[first..].iter().filter(|&&x| !x.into().is_finite()).count();
    Err(Error::msg(format!(
        "{what}: {bad} of {} values are not finite (the first, at flat index {first}, is {})",
        v.len(),
        v[first].into()
    )))
}

/// `ensure_finite` on every named tensor of a loaded checkpoint, naming the file and the tensor.
pub fn ensure_finite_tensors(path: &std::path::Path, tensors: &[(String, Tensor)]) -> Result<()> {
    for (name, t) in tensors {
        ensure_finite(t, &format!("tensor '{name}'"))
            .map_err(|e| Error::file(path, format!("{e}: the checkpoint holds non-finite weights")))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_refuse_non_finite_inputs_instead_of_scoring_them() {
        let ok = Tensor::new((0..40).map(|i| (i % 7) as f32 / 7.0).collect::<Vec<f32>>(), &[10, 4]).unwrap();
        let mut v = ok.to_vec::<f32>().unwrap();
        v[13] = f32::NAN;
        v[30] = f32::INFINITY;
        let bad = Tensor::new(v, &[10, 4]).unwrap();
        let e = ensure_finite(&bad, "x").unwrap_err().to_string();
        assert!(e.contains("2 of 40") && e.contains("flat index 13") && e.contains("NaN"), "{e}");
        ensure_finite(&ok, "x").unwrap();
        // Each metric refuses the NaN set and names what it was given.
        let sig = parzen::sigma_grid();
        let e = parzen::evaluate(&bad, &ok, &ok, &sig).unwrap_err().to_string();
        assert!(e.contains("parzen: generated samples"), "{e}");
        assert!(fid(&ok, &bad).unwrap_err().to_string().contains("not finite"));
        assert!(precision_recall(&ok, &bad, 3).unwrap_err().to_string().contains("not finite"));
        let probs = Tensor::new(vec![0.5f32, f32::NAN, 0.2, 0.8], &[2, 2]).unwrap();
        assert!(inception_score(&probs, 1).unwrap_err().to_string().contains("not finite"));
        assert!(predicted_labels(&probs).unwrap_err().to_string().contains("not finite"));
    }
}
