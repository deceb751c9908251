//! Per-class scores of a classifier from its confusion matrix: what an imbalanced data set does to
//! the small classes is invisible in overall accuracy, so the imbalance lab reports these.
//!
//! ```text
//! C[t][p]      = test images of true class t predicted as p      (K × K)
//! recall_k     = C[k][k] / Σ_p C[k][p]                (the share of class k found)
//! precision_k  = C[k][k] / Σ_t C[t][k]                (0 when nothing is predicted as k)
//! F1_k         = 2 · precision_k · recall_k / (precision_k + recall_k)   (0 when both are 0)
//! ACSA         = (1/K) Σ_k recall_k                   (average class-specific accuracy; equal to
//!                                                      accuracy on a balanced test set)
//! macro-F1     = (1/K) Σ_k F1_k
//! G-mean       = (Π_k recall_k)^(1/K)                 (0 as soon as one class is never found)
//! accuracy     = Σ_k C[k][k] / Σ C
//! ```
//!
//! These are the definitions of DeepSMOTE (Dablain et al. 2022) and GAMO, whose tables the lab
//! prints beside its own (scikit-learn's `balanced_accuracy_score`, `f1_score(average="macro")`
//! and imbalanced-learn's `geometric_mean_score` compute the same numbers). Classes absent from
//! the test set are refused rather than scored as 0 or skipped.

use minmax_engine::{Error, Result};

/// A K × K confusion matrix: `counts[t][p]` test images of true class `t` predicted as `p`.
#[derive(Clone, Debug, PartialEq)]
pub struct Confusion {
    pub counts: Vec<Vec<usize>>,
}

impl Confusion {
    /// Count `(true, predicted)` pairs over `classes` classes; a label outside `0..classes` is an error.
    pub fn new(truth: &[usize], predicted: &[usize], classes: usize) -> Result<Confusion> {
        if truth.len() != predicted.len() {
            return Err(Error::msg(format!(
                "confusion matrix: {} true labels but {} predictions",
                truth.len(),
                predicted.len()
            )));
        }
        let mut counts = vec![vec![0usize; classes]; classes];
        for (&t, &p) in truth.iter().zip(predicted) {
            if t >= classes || p >= classes {
                return Err(Error::msg(format!("confusion matrix: label {} is not in 0..{classes}", t.max(p))));
            }
            counts[t][p] += 1;
        }
        Ok(Confusion { counts })
    }

    pub fn classes(&self) -> usize {
        self.counts.len()
    }

    /// Recall of every class; refuses a class with no test images (its recall is undefined).
    pub fn recall(&self) -> Result<Vec<f64>> {
        (0..self.classes())
            .map(|k| {
                let n: usize = self.counts[k].iter().sum();
                if n == 0 {
                    return Err(Error::msg(format!("per-class scores: class {k} has no test images")));
                }
                Ok(self.counts[k][k] as f64 / n as f64)
            })
            .collect()
    }

    /// Precision of every class (0 for a class that is never predicted).
    pub fn precision(&self) -> Vec<f64> {
        (0..self.classes())
            .map(|k| {
                let n: usize = (0..self.classes()).map(|t| self.counts[t][k]).sum();
                if n == 0 {
                    0.0
                } else {
                    self.counts[k][k] as f64 / n as f64
                }
            })
            .collect()
    }

    /// All the scores of the module docs.
    pub fn scores(&self) -> Result<Scores> {
        let recall = self.recall()?;
        let precision = self.precision();
        let k = recall.len() as f64;
        let f1: Vec<f64> = precision
            .iter()
            .zip(&recall)
            .map(|(&p, &r)| if p + r == 0.0 { 0.0 } else { 2.0 * p * r / (p + r) })
            .collect();
        let total: usize = self.counts.iter().flatten().sum();
        let right: usize = (0..self.classes()).map(|i| self.counts[i][i]).sum();
        // The geometric mean through logs, so 10 small recalls do not underflow; any 0 gives 0.
        let gmean =
            if recall.iter().any(|&r| r == 0.0) { 0.0 } else { (recall.iter().map(|r| r.ln()).sum::<f64>() / k).exp() };
        Ok(Scores {
            acsa: recall.iter().sum::<f64>() / k,
            macro_f1: f1.iter().sum::<f64>() / k,
            gmean,
            accuracy: right as f64 / total as f64,
            recall,
            precision,
            f1,
        })
    }
}

/// The scores of one classifier on one test set (fractions in [0, 1]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Scores {
    pub acsa: f64,
    pub macro_f1: f64,
    pub gmean: f64,
    pub accuracy: f64,
    pub recall: Vec<f64>,
    pub precision: Vec<f64>,
    pub f1: Vec<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn scores_of_a_hand_computed_confusion_matrix() -> Result<()> {
        // Three classes:     predicted 0  1  2
        //   true 0 (10 images)          8  2  0     recall 0.8
        //   true 1 ( 4 images)          1  2  1     recall 0.5
        //   true 2 ( 2 images)          0  0  2     recall 1.0
        let mut truth = vec![];
        let mut pred = vec![];
        for (t, row) in [[8, 2, 0], [1, 2, 1], [0, 0, 2]].iter().enumerate() {
            for (p, &n) in row.iter().enumerate() {
                truth.extend(std::iter::repeat_n(t, n));
                pred.extend(std::iter::repeat_n(p, n));
            }
        }
        let s = Confusion::new(&truth, &pred, 3)?.scores()?;
        assert_eq!(s.recall, vec![0.8, 0.5, 1.0]);
        // precision: 8/9, 2/4, 2/3
        assert!(close(s.precision[0], 8.0 / 9.0) && close(s.precision[1], 0.5) && close(s.precision[2], 2.0 / 3.0));
        assert!(close(s.acsa, (0.8 + 0.5 + 1.0) / 3.0));
        assert!(close(s.accuracy, 12.0 / 16.0));
        assert!(close(s.gmean, (0.8f64 * 0.5 * 1.0).powf(1.0 / 3.0)));
        // F1: 2·(8/9)(0.8)/(8/9+0.8) = 16/19, 0.5, 2·(2/3)·1/(5/3) = 0.8
        assert!(close(s.f1[0], 16.0 / 19.0) && close(s.f1[1], 0.5) && close(s.f1[2], 0.8));
        assert!(close(s.macro_f1, (16.0 / 19.0 + 0.5 + 0.8) / 3.0));
        Ok(())
    }

    #[test]
    fn a_class_never_found_zeroes_the_g_mean_and_an_absent_class_is_refused() -> Result<()> {
        // Everything predicted as class 0: recall (1, 0), precision (0.5, 0), F1 (2/3, 0).
        let s = Confusion::new(&[0, 0, 1, 1], &[0, 0, 0, 0], 2)?.scores()?;
        assert_eq!((s.gmean, s.acsa, s.accuracy), (0.0, 0.5, 0.5));
        assert!(close(s.macro_f1, 1.0 / 3.0));
        // A perfect classifier scores 1 everywhere.
        let s = Confusion::new(&[0, 1, 2], &[0, 1, 2], 3)?.scores()?;
        assert_eq!((s.acsa, s.macro_f1, s.gmean, s.accuracy), (1.0, 1.0, 1.0, 1.0));
        let e = Confusion::new(&[0, 0], &[0, 1], 3)?.scores().unwrap_err().to_string();
        assert!(e.contains("class 1 has no test images"), "{e}");
        assert!(Confusion::new(&[0, 3], &[0, 1], 3).unwrap_err().to_string().contains("label 3"));
        assert!(Confusion::new(&[0], &[0, 1], 3).is_err());
        Ok(())
    }
}
