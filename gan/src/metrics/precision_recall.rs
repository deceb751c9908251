//! Improved precision and recall (Kynkäänniemi et al. 2019, "Improved precision and recall
//! metric for assessing generative models"): quality and coverage as two separate numbers.
//!
//! The manifold of a point set Φ is approximated by balls around its points, each as wide as the
//! distance to that point's k-th nearest neighbour in Φ (the point itself not counted):
//!
//! ```text
//! f(φ, Φ) = 1  if ‖φ − φ'‖ ≤ ‖φ' − NN_k(φ', Φ)‖ for some φ' ∈ Φ,   else 0
//! precision = 1/|Φg| Σ_{φ ∈ Φg} f(φ, Φr)     how many generated points look real
//! recall    = 1/|Φr| Σ_{φ ∈ Φr} f(φ, Φg)     how much of the real data the generator reaches
//! ```
//!
//! k = 3 as in the paper ([`DEFAULT_K`]). The inequality is inclusive, as in the reference code.
//! Points are rows of [n, D] tensors: features of a classifier, or raw pixels.
//!
//! Distances are squared Euclidean from matrix products, ‖a‖² + ‖b‖² − 2 a·b, in f64 and in
//! blocks of about 4M entries (`distances::sq_distances_blocked`), so 10,000 × 10,000 points never
//! hold more than a few tens of MiB; comparing squared distances with squared radii gives the same
//! answers as the distances themselves. The cost is two n×n distance passes per set (radii, then
//! membership): for 10,000 against 10,000 points of 128 features, about 7 s on two cores.
//!
//! Left out: the per-sample realism score and the paper's truncation experiments.

use minmax_engine::{Error, Result, Tensor};

use super::distances::{sq_distances_blocked, DISTANCE_BLOCK_ELEMS};

/// The neighbourhood size of the paper.
pub const DEFAULT_K: usize = 3;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PrecisionRecall {
    /// Share of generated points inside the real manifold.
    pub precision: f64,
    /// Share of real points inside the generated manifold.
    pub recall: f64,
    pub k: usize,
    pub n_real: usize,
    pub n_generated: usize,
}

/// Precision and recall of `generated` [n_g, D] against `real` [n_r, D] with k-NN balls
/// (module docs). Both sets need more than k points.
pub fn precision_recall(real: &Tensor, generated: &Tensor, k: usize) -> Result<PrecisionRecall> {
    super::ensure_finite(real, "precision/recall: real points")?;
    super::ensure_finite(generated, "precision/recall: generated points")?;
    let real_radii = knn_sq_radii(real, k)?;
    let gen_radii = knn_sq_radii(generated, k)?;
    Ok(PrecisionRecall {
        precision: fraction_inside(real, &real_radii, generated)?,
        recall: fraction_inside(generated, &gen_radii, real)?,
        k,
        n_real: real_radii.len(),
        n_generated: gen_radii.len(),
    })
}

/// For every row of `points` [n, D], the squared distance to its k-th nearest other row: the
/// squared radius of its ball.
pub fn knn_sq_radii(points: &Tensor, k: usize) -> Result<Vec<f64>> {
    let n = points.shape().first().copied().unwrap_or(0);
    if k == 0 || n <= k {
        return Err(Error::msg(format!(
            "precision/recall: the {k}-th nearest neighbour needs k ≥ 1 and more than k points, got {n} points \
             (shape {:?})",
            points.shape()
        )));
    }
    let mut radii = Vec::with_capacity(n);
    let mut scratch = vec![0.0; n];
    sq_distances_blocked(points, points, DISTANCE_BLOCK_ELEMS, |start, block| {
        for (i, row) in block.chunks_exact(n).enumerate() {
            scratch.copy_from_slice(row);
            scratch[start + i] = f64::INFINITY; // not its own neighbour
            let (_, kth, _) = scratch.select_nth_unstable_by(k - 1, f64::total_cmp);
            radii.push(*kth);
        }
        Ok(())
    })?;
    Ok(radii)
}

/// The share of rows of `queries` that fall inside at least one ball (centre a row of `centres`,
/// squared radius `sq_radii[i]`).
pub fn fraction_inside(centres: &Tensor, sq_radii: &[f64], queries: &Tensor) -> Result<f64> {
    let n = centres.shape().first().copied().unwrap_or(0);
    if sq_radii.len() != n {
        return Err(Error::msg(format!(
            "precision/recall: {} radii for {n} centres (shape {:?})",
            sq_radii.len(),
            centres.shape()
        )));
    }
    let mut inside = 0usize;
    let mut total = 0usize;
    sq_distances_blocked(queries, centres, DISTANCE_BLOCK_ELEMS, |_, block| {
        for row in block.chunks_exact(n) {
            total += 1;
            if row.iter().zip(sq_radii).any(|(d, r)| d <= r) {
                inside += 1;
            }
        }
        Ok(())
    })?;
    Ok(inside as f64 / total as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use minmax_engine::Generator;

    fn line(xs: &[f64]) -> Tensor {
        Tensor::new(xs.to_vec(), &[xs.len(), 1]).unwrap()
    }

    #[test]
    fn one_dimensional_cases_worked_by_hand() -> Result<()> {
        let real = line(&[0.0, 1.0, 3.0, 7.0]);
        let gen = line(&[-2.0, 0.4, 10.0, 12.0]);
        // k = 1. Real radii 1, 1, 2, 4: balls [−1, 1] ∪ [0, 2] ∪ [1, 5] ∪ [3, 11] = [−1, 11],
        // which holds 0.4 and 10: precision ½. Generated radii 2.4, 2.4, 2, 2: balls
        // [−4.4, 0.4] ∪ [−2, 2.8] ∪ [8, 12] ∪ [10, 14], which hold 0 and 1 but not 3 or 7: recall ½.
        assert_eq!(knn_sq_radii(&real, 1)?, vec![1.0, 1.0, 4.0, 16.0]);
        let pr = precision_recall(&real, &gen, 1)?;
        assert_eq!((pr.precision, pr.recall), (0.5, 0.5));
        // k = 2. Real radii 3, 2, 3, 6 cover [−3, 13] (all of gen: precision 1); generated radii
        // 12, 9.6, 9.6, 11.6 cover [−14, 23.6] (all of real: recall 1).
        let pr = precision_recall(&real, &gen, 2)?;
        assert_eq!((pr.precision, pr.recall), (1.0, 1.0));
        assert_eq!((pr.k, pr.n_real, pr.n_generated), (2, 4, 4));
        Ok(())
    }

    #[test]
    fn the_ball_boundary_is_inside() -> Result<()> {
        // Real {0, 2}: radius 2 each with k = 1; a generated point at exactly 4 is on the boundary.
        let pr = precision_recall(&line(&[0.0, 2.0]), &line(&[4.0, 4.5]), 1)?;
        assert_eq!(pr.precision, 0.5);
        Ok(())
    }

    #[test]
    fn identical_and_distant_sets() -> Result<()> {
        let mut g = Generator::new(1);
        let x = Tensor::randn(&[200, 8], &mut g);
        let pr = precision_recall(&x, &x, DEFAULT_K)?;
        assert_eq!((pr.precision, pr.recall), (1.0, 1.0));
        let far = x.add_scalar(100.0)?;
        let pr = precision_recall(&x, &far, DEFAULT_K)?;
        assert_eq!((pr.precision, pr.recall), (0.0, 0.0));
        Ok(())
    }

    #[test]
    fn errors_name_the_problem() {
        let e = knn_sq_radii(&Tensor::zeros(&[3, 2]), 3).unwrap_err().to_string();
        assert!(e.contains("3 points"), "{e}");
        let e = fraction_inside(&Tensor::zeros(&[3, 2]), &[1.0], &Tensor::zeros(&[3, 2])).unwrap_err().to_string();
        assert!(e.contains("1 radii for 3 centres"), "{e}");
        let e = precision_recall(&Tensor::zeros(&[5, 2]), &Tensor::zeros(&[5, 3]), 1).unwrap_err().to_string();
        assert!(e.contains("different dimensions"), "{e}");
    }

    /// The size the brief asks for: 10,000 × 10,000 points of 128 features.
    /// `cargo test -p minmax-gan --release precision_recall_timing -- --ignored --nocapture`
    #[test]
    #[ignore = "timing only; run by hand"]
    fn precision_recall_timing() -> Result<()> {
        let mut g = Generator::new(1);
        let real = Tensor::randn(&[10_000, 128], &mut g);
        let gen = Tensor::randn(&[10_000, 128], &mut g);
        let t0 = std::time::Instant::now();
        let pr = precision_recall(&real, &gen, DEFAULT_K)?;
        eprintln!("precision/recall 10000 x 10000 x 128: {:.2?} → {pr:?}", t0.elapsed());
        Ok(())
    }
}
