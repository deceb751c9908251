//! Class coverage of generated samples: label every sample with a classifier, count the labels,
//! and ask how many classes the generator reaches and how far its class histogram is from the
//! data's. The image-data analogue of the mode counts of the mixture-of-Gaussians experiments
//! (`crate::metrics::modes`; Metz et al. 2017 and Srivastava et al. 2017 count MNIST modes the same
//! way with a pretrained classifier).
//!
//! ```text
//! counts_c   = #{ i : label_i = c },   p̂_c = counts_c / n                 c = 0..K
//! covered    = #{ c : counts_c ≥ min_count }
//! kl_uniform = KL(p̂ ‖ u) = Σ_c p̂_c ln(K p̂_c)            0 (every class equally often) .. ln K (one class)
//! kl_reference = KL(p̂ ‖ q) = Σ_c p̂_c ln(p̂_c / q_c)      q = the real data's histogram
//! ```
//!
//! Both KLs are the *reverse* direction (generated ‖ target), as PacGAN reports. A target class
//! with no mass would make the KL infinite, so before either KL both histograms are floored at
//! ε = [`KL_EPSILON`] and renormalised (the same convention as the mixture metrics).
//!
//! `min_count` sets what "covered" means: 1 (any sample at all) is the usual choice for large
//! sample counts; [`share_threshold`] gives "at least a fraction f of a uniform share n/K".
//! Left out: Stacked MNIST's 1,000 modes (that needs three classifications per sample).

use minmax_engine::{Error, Result, Tensor};

/// The floor on histogram probabilities before the KLs.
pub const KL_EPSILON: f64 = 1e-4;

#[derive(Clone, Debug, PartialEq)]
pub struct Coverage {
    /// Samples per class.
    pub counts: Vec<usize>,
    /// counts / n.
    pub histogram: Vec<f64>,
    /// Classes with at least `min_count` samples.
    pub classes_covered: usize,
    pub num_classes: usize,
    pub min_count: usize,
    /// KL(p̂ ‖ uniform).
    pub kl_uniform: f64,
    /// KL(p̂ ‖ the reference histogram), when one was given.
    pub kl_reference: Option<f64>,
    pub n: usize,
}

/// The predicted class of every row of `probs` [n, K] (probabilities or logits): the arg max.
pub fn predicted_labels(probs: &Tensor) -> Result<Vec<usize>> {
    if probs.rank() != 2 || probs.shape()[1] == 0 {
        return Err(Error::msg(format!("coverage: expected class scores [n, K], got shape {:?}", probs.shape())));
    }
    super::ensure_finite(probs, "coverage: class scores")?;
    Ok(probs.argmax(1, false)?.to_vec::<i64>()?.into_iter().map(|c| c as usize).collect())
}

/// Samples per class, for labels in 0..num_classes.
pub fn class_counts(labels: &[usize], num_classes: usize) -> Result<Vec<usize>> {
    let mut counts = vec![0usize; num_classes];
    for &l in labels {
        *counts
            .get_mut(l)
            .ok_or_else(|| Error::msg(format!("coverage: label {l} is out of range for {num_classes} classes")))? += 1;
    }
    Ok(counts)
}

/// ⌈f · n / K⌉ (at least 1): a class counts as covered when it holds at least a fraction f of
/// the samples it would get if every class were equally likely.
pub fn share_threshold(n: usize, num_classes: usize, fraction: f64) -> usize {
    ((fraction * n as f64 / num_classes as f64).ceil() as usize).max(1)
}

/// Coverage of `labels` (the generated samples' predicted classes) over `num_classes` classes;
/// with `reference` (e.g. the real test set's labels) also the KL to its histogram.
pub fn coverage(
    labels: &[usize],
    num_classes: usize,
    min_count: usize,
    reference: Option<&[usize]>,
) -> Result<Coverage> {
    if labels.is_empty() || num_classes == 0 {
        return Err(Error::msg(format!(
            "coverage: needs at least one sample and one class, got {} samples and {num_classes} classes",
            labels.len()
        )));
    }
    let counts = class_counts(labels, num_classes)?;
    let histogram = normalise(&counts);
    let uniform = vec![1.0 / num_classes as f64; num_classes];
    let kl_reference = match reference {
        Some([]) => return Err(Error::msg("coverage: the reference labels are empty")),
        Some(r) => Some(kl_floored(&histogram, &normalise(&class_counts(r, num_classes)?))),
        None => None,
    };
    Ok(Coverage {
        classes_covered: counts.iter().filter(|&&c| c >= min_count).count(),
        kl_uniform: kl_floored(&histogram, &uniform),
        kl_reference,
        counts,
        histogram,
        num_classes,
        min_count,
        n: labels.len(),
    })
}

fn normalise(counts: &[usize]) -> Vec<f64> {
    let n: usize = counts.iter().sum();
    counts.iter().map(|&c| c as f64 / n as f64).collect()
}

/// KL(p ‖ q) = Σ p ln(p/q) after flooring both at ε and renormalising.
pub fn kl_floored(p: &[f64], q: &[f64]) -> f64 {
    let floor = |v: &[f64]| {
        let f: Vec<f64> = v.iter().map(|&x| x.max(KL_EPSILON)).collect();
        let s: f64 = f.iter().sum();
        f.into_iter().map(|x| x / s).collect::<Vec<f64>>()
    };
    let (p, q) = (floor(p), floor(q));
    p.iter().zip(&q).map(|(a, b)| a * (a / b).ln()).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_class_equally_often() -> Result<()> {
        let labels: Vec<usize> = (0..100).map(|i| i % 10).collect();
        let c = coverage(&labels, 10, 1, Some(&labels))?;
        assert_eq!(c.counts, vec![10; 10]);
        assert_eq!(c.classes_covered, 10);
        assert!(c.kl_uniform.abs() < 1e-12 && c.kl_reference.unwrap().abs() < 1e-12);
        Ok(())
    }

    #[test]
    fn total_collapse_is_ln_k_and_one_class() -> Result<()> {
        let c = coverage(&[7; 50], 10, 1, None)?;
        assert_eq!(c.classes_covered, 1);
        assert_eq!(c.histogram[7], 1.0);
        // With the floor: p = (1 − 9ε', ε', …) where ε' = ε/(1 + 9ε); KL ≈ ln 10 − O(ε ln(1/ε)).
        assert!((c.kl_uniform - 10f64.ln()).abs() < 0.02, "{}", c.kl_uniform);
        assert!(c.kl_reference.is_none());
        Ok(())
    }

    #[test]
    fn half_the_classes_by_hand() -> Result<()> {
        // Classes 0..5 equally, none of 5..10: p̂ = 1/5 on five classes,
        // KL(p̂ ‖ u) = Σ (1/5) ln(10/5) = ln 2 (up to the ε floor).
        let labels: Vec<usize> = (0..500).map(|i| i % 5).collect();
        let c = coverage(&labels, 10, 1, None)?;
        assert_eq!(c.classes_covered, 5);
        assert!((c.kl_uniform - 2f64.ln()).abs() < 1e-2, "{}", c.kl_uniform);
        // Against a reference that is itself only classes 0..5, the histogram matches exactly.
        let r = coverage(&labels, 10, 1, Some(&labels))?;
        assert!(r.kl_reference.unwrap().abs() < 1e-12);
        Ok(())
    }

    #[test]
    fn thresholds_and_labels_from_probabilities() -> Result<()> {
        // 3 samples of class 0, 1 of class 1: with min_count 2 only class 0 is covered.
        assert_eq!(coverage(&[0, 0, 0, 1], 3, 2, None)?.classes_covered, 1);
        // 1000 samples, 10 classes, 10 % of a share: 10 samples.
        assert_eq!(share_threshold(1000, 10, 0.1), 10);
        assert_eq!(share_threshold(5, 10, 0.1), 1);
        let p = Tensor::new(vec![0.1f32, 0.7, 0.2, 0.9, 0.05, 0.05], &[2, 3])?;
        assert_eq!(predicted_labels(&p)?, vec![1, 0]);
        Ok(())
    }

    #[test]
    fn errors_name_the_problem() {
        let e = coverage(&[0, 12], 10, 1, None).unwrap_err().to_string();
        assert!(e.contains("label 12") && e.contains("10 classes"), "{e}");
        let e = coverage(&[], 10, 1, None).unwrap_err().to_string();
        assert!(e.contains("at least one sample"), "{e}");
        let e = coverage(&[1], 10, 1, Some(&[])).unwrap_err().to_string();
        assert!(e.contains("reference labels are empty"), "{e}");
        let e = predicted_labels(&Tensor::zeros(&[3])).unwrap_err().to_string();
        assert!(e.contains("[n, K]"), "{e}");
    }
}
