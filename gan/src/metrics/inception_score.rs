//! The Inception Score (Salimans et al. 2016, "Improved techniques for training GANs"): how
//! confidently a classifier labels each generated sample, and how evenly the labels spread
//! over the classes,
//!
//! ```text
//! IS = exp( E_x KL( p(y|x) ‖ p(y) ) ),     p(y) = E_x p(y|x)
//! KL(p ‖ q) = Σ_c p_c (ln p_c − ln q_c),   with 0 · ln 0 = 0
//! ```
//!
//! It runs from 1 (every sample gets the same distribution over classes) to K, the number of
//! classes (every sample is classified with certainty, and each class is used equally often).
//!
//! As in the reference code, the samples are cut into `splits` consecutive parts of ⌊n/splits⌋
//! rows (a remainder is dropped), the score is computed on each part with that part's own p(y),
//! and the result is the mean and the population standard deviation over the parts.
//!
//! The class probabilities come from the caller: in this project from the small MNIST classifier
//! (`crate::metrics::classifier`), so scores are between 1 and 10 and not comparable with published
//! Inception Scores. Left out: the Inception network itself.

use minmax_engine::{Error, Result, Tensor};

/// Row sums may differ from 1 by this much (softmax outputs in f32).
const ROW_SUM_TOLERANCE: f64 = 1e-3;

/// The score as mean ± std over the splits.
#[derive(Clone, Debug, PartialEq)]
pub struct InceptionScore {
    pub mean: f64,
    /// Population standard deviation over the splits (0 for one split).
    pub std: f64,
    /// The score of every split.
    pub per_split: Vec<f64>,
}

/// IS of class probabilities `probs` [n, K] (rows are p(y|x), each summing to 1), over `splits`
/// consecutive parts (module docs). `splits = 1` scores all rows at once.
pub fn inception_score(probs: &Tensor, splits: usize) -> Result<InceptionScore> {
    super::ensure_finite(probs, "inception score: class probabilities")?;
    if probs.rank() != 2 {
        return Err(Error::msg(format!(
            "inception score: expected probabilities [n, K], got shape {:?}",
            probs.shape()
        )));
    }
    let (n, k) = (probs.shape()[0], probs.shape()[1]);
    if splits == 0 || n < splits || k == 0 {
        return Err(Error::msg(format!(
            "inception score: {n} samples of {k} classes cannot be cut into {splits} splits (need 1 ≤ splits ≤ n)"
        )));
    }
    let p = probs.to_vec::<f64>()?;
    check_rows(&p, k)?;
    let part = n / splits;
    let per_split: Vec<f64> = (0..splits).map(|s| score(&p[s * part * k..(s + 1) * part * k], k)).collect();
    let mean = per_split.iter().sum::<f64>() / splits as f64;
    let var = per_split.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / splits as f64;
    Ok(InceptionScore { mean, std: var.sqrt(), per_split })
}

/// exp(mean_x KL(p(y|x) ‖ p(y))) of row-major probabilities with `k` columns.
fn score(p: &[f64], k: usize) -> f64 {
    let rows = p.len() / k;
    // p(y): the mean row.
    let mut marginal = vec![0.0; k];
    for row in p.chunks_exact(k) {
        for (m, &v) in marginal.iter_mut().zip(row) {
            *m += v;
        }
    }
    marginal.iter_mut().for_each(|m| *m /= rows as f64);
    let kl_sum: f64 = p
        .chunks_exact(k)
        .map(|row| {
            row.iter()
                .zip(&marginal)
                .filter(|(&pc, _)| pc > 0.0)
                .map(|(&pc, &qc)| pc * (pc.ln() - qc.ln()))
                .sum::<f64>()
        })
        .sum();
    (kl_sum / rows as f64).exp()
}

fn check_rows(p: &[f64], k: usize) -> Result<()> {
    for (i, row) in p.chunks_exact(k).enumerate() {
        if let Some(bad) = row.iter().find(|v| !(v.is_finite() && **v >= 0.0)) {
            return Err(Error::msg(format!("inception score: row {i} has an entry {bad} (probabilities must be ≥ 0)")));
        }
        let s: f64 = row.iter().sum();
        if (s - 1.0).abs() > ROW_SUM_TOLERANCE {
            return Err(Error::msg(format!(
                "inception score: row {i} sums to {s}, not 1 (pass softmax probabilities, not logits)"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// n one-hot rows over k classes, row i labelled `label(i)`.
    fn one_hot(n: usize, k: usize, label: impl Fn(usize) -> usize) -> Tensor {
        let mut v = vec![0.0f64; n * k];
        for i in 0..n {
            v[i * k + label(i)] = 1.0;
        }
        Tensor::new(v, &[n, k]).unwrap()
    }

    #[test]
    fn confident_and_uniform_gives_the_class_count() -> Result<()> {
        // p(y|x) one-hot, p(y) uniform: KL = ln K for every sample, IS = K.
        for k in [2, 10] {
            let s = inception_score(&one_hot(100 * k, k, |i| i % k), 10)?;
            assert!((s.mean - k as f64).abs() < 1e-12 && s.std < 1e-12, "{s:?}");
            assert_eq!(s.per_split.len(), 10);
        }
        Ok(())
    }

    #[test]
    fn one_class_or_uniform_predictions_give_one() -> Result<()> {
        // Every sample the same class: p(y|x) = p(y), KL = 0.
        let s = inception_score(&one_hot(50, 10, |_| 3), 1)?;
        assert!((s.mean - 1.0).abs() < 1e-12, "{s:?}");
        // Every p(y|x) uniform: again p(y|x) = p(y).
        let u = Tensor::full(&[40, 10], 0.1);
        assert!((inception_score(&u, 4)?.mean - 1.0).abs() < 1e-6);
        Ok(())
    }

    #[test]
    fn a_worked_example() -> Result<()> {
        // Rows (1, 0) and (½, ½): p(y) = (¾, ¼).
        // KL₁ = ln(1/¾) = ln(4/3); KL₂ = ½ ln(½/¾) + ½ ln(½/¼) = ½ ln(2/3) + ½ ln 2.
        let p = Tensor::new(vec![1.0f64, 0.0, 0.5, 0.5], &[2, 2])?;
        let kl = ((4.0f64 / 3.0).ln() + 0.5 * (2.0f64 / 3.0).ln() + 0.5 * 2f64.ln()) / 2.0;
        assert!((inception_score(&p, 1)?.mean - kl.exp()).abs() < 1e-14);
        Ok(())
    }

    #[test]
    fn splits_drop_the_remainder_and_report_their_spread() -> Result<()> {
        // 2 splits of 4 rows over 2 classes (the 9th row is dropped): the first split is
        // all class 0 (IS 1), the second alternates (IS 2). Mean 1.5, population std 0.5.
        let s = inception_score(&one_hot(9, 2, |i| if i < 4 { 0 } else { i % 2 }), 2)?;
        assert!((s.per_split[0] - 1.0).abs() < 1e-12 && (s.per_split[1] - 2.0).abs() < 1e-12, "{s:?}");
        assert!((s.mean - 1.5).abs() < 1e-12 && (s.std - 0.5).abs() < 1e-12);
        Ok(())
    }

    #[test]
    fn errors_name_the_problem() {
        let e = inception_score(&Tensor::zeros(&[4]), 1).unwrap_err().to_string();
        assert!(e.contains("[n, K]"), "{e}");
        let e = inception_score(&Tensor::full(&[4, 2], 0.5), 5).unwrap_err().to_string();
        assert!(e.contains("5 splits"), "{e}");
        let e = inception_score(&Tensor::full(&[4, 2], 3.0), 1).unwrap_err().to_string();
        assert!(e.contains("sums to 6") && e.contains("logits"), "{e}");
        let e = inception_score(&Tensor::new(vec![1.5f64, -0.5], &[1, 2]).unwrap(), 1).unwrap_err().to_string();
        assert!(e.contains("≥ 0"), "{e}");
    }
}
