//! The Fréchet distance between two sets of features (Heusel et al. 2017, "GANs trained by a two
//! time-scale update rule converge to a local Nash equilibrium"): fit a Gaussian to each set and
//! take the Fréchet (2-Wasserstein) distance between the Gaussians,
//!
//! ```text
//! d²((μr, Σr), (μg, Σg)) = ‖μr − μg‖² + Tr(Σr + Σg − 2 (Σr^½ Σg Σr^½)^½)
//! ```
//!
//! With the features of an Inception network this is FID; in this project the features are the
//! 128 penultimate units of the small MNIST classifier (`crate::metrics::classifier`), so the numbers are
//! comparable with each other but not with published FIDs.
//!
//! Statistics of a feature matrix X [n, d] (rows are samples), as in the reference code
//! (`numpy.cov(X, rowvar=False)`):
//!
//! ```text
//! μ = 1/n Σ_i x_i        Σ = 1/(n − 1) Σ_i (x_i − μ)(x_i − μ)ᵀ     (unbiased)
//! ```
//!
//! The trace term uses the symmetric form: Tr((Σr Σg)^½) = Tr((Σr^½ Σg Σr^½)^½), because
//! Σr^½ Σg Σr^½ is symmetric PSD, so both square roots come from a symmetric eigen-decomposition
//! (`linalg`), and the trace of the outer root is the sum of √λ of its eigenvalues. No ε is added
//! to the diagonals (the reference code adds one only when its `sqrtm` fails).
//!
//! Accuracy: the square root of an eigenvalue near zero amplifies rounding (an absolute error δ
//! in λ becomes √δ), so with singular covariances (fewer samples than features, or dead ReLU
//! units) the distance is only good to about √ε·‖Σ‖ ≈ 1e-8·‖Σ‖ per null direction. With full-rank
//! covariances it is good to ~1e-12 relative. FID is biased upwards for small n; compare numbers
//! computed from the same n.
//!
//! Left out: the Inception network (see the crate's classifier) and the unbiased FID∞ estimate.

use minmax_engine::{no_grad, Error, Result, Tensor};

use super::distances::rows_f64;
use super::linalg::{sqrtm_psd, trace_sqrtm_psd, Matrix};

/// Mean and covariance of a set of features.
#[derive(Clone, Debug, PartialEq)]
pub struct FeatureStats {
    /// μ, d values.
    pub mean: Vec<f64>,
    /// Σ, d × d, unbiased (divided by n − 1).
    pub cov: Matrix,
    /// Number of samples the statistics came from.
    pub n: usize,
}

impl FeatureStats {
    /// μ and Σ of a feature matrix [n, d] (rows are samples; rank > 2 is flattened to [n, d]).
    /// Needs n ≥ 2. Computed in f64 with the engine's matrix product: Σ = (X − μ)ᵀ(X − μ)/(n − 1).
    pub fn from_features(features: &Tensor) -> Result<FeatureStats> {
        super::ensure_finite(features, "fid: features")?;
        let x = rows_f64(features, "fid", "features")?;
        let (n, d) = (x.shape()[0], x.shape()[1]);
        if n < 2 {
            return Err(Error::msg(format!(
                "fid: a covariance needs at least 2 samples, got features of shape {:?}",
                features.shape()
            )));
        }
        no_grad(|| {
            let mu = x.mean(&[0], true)?; // [1, d]
            let xc = x.sub(&mu)?; // [n, d]
            let cov = xc.t()?.matmul(&xc)?.div_scalar((n - 1) as f64)?; // [d, d]
            Ok(FeatureStats {
                mean: mu.to_vec::<f64>()?,
                cov: Matrix::new(d, d, cov.to_vec::<f64>()?)?.symmetrized()?,
                n,
            })
        })
    }

    /// Statistics given directly (e.g. of a known Gaussian); `cov` must be d × d.
    pub fn new(mean: Vec<f64>, cov: Matrix, n: usize) -> Result<FeatureStats> {
        if cov.rows != mean.len() || cov.cols != mean.len() {
            return Err(Error::msg(format!(
                "fid: a mean of {} values needs a {0}x{0} covariance, got [{}, {}]",
                mean.len(),
                cov.rows,
                cov.cols
            )));
        }
        Ok(FeatureStats { mean, cov, n })
    }

    pub fn dim(&self) -> usize {
        self.mean.len()
    }
}

/// The Fréchet distance between two Gaussians (module docs). Never negative: rounding that would
/// make it so is clamped to 0.
pub fn frechet_distance(real: &FeatureStats, generated: &FeatureStats) -> Result<f64> {
    if real.dim() != generated.dim() {
        return Err(Error::msg(format!(
            "fid: real features have {} dimensions, generated features {}",
            real.dim(),
            generated.dim()
        )));
    }
    // ‖μr − μg‖²
    let mean_term: f64 = real.mean.iter().zip(&generated.mean).map(|(a, b)| (a - b) * (a - b)).sum();
    // Tr((Σr^½ Σg Σr^½)^½)
    let root_r = sqrtm_psd(&real.cov)?;
    let inner = root_r.matmul(&generated.cov)?.matmul(&root_r)?.symmetrized()?;
    let cross = trace_sqrtm_psd(&inner)?;
    let d2 = mean_term + real.cov.trace() + generated.cov.trace() - 2.0 * cross;
    Ok(d2.max(0.0))
}

/// FID between two feature matrices [n_r, d] and [n_g, d]: [`frechet_distance`] of their
/// [`FeatureStats`]. To compare many generators against one real set, compute the real
/// statistics once with [`FeatureStats::from_features`] and call [`frechet_distance`].
pub fn fid(real_features: &Tensor, generated_features: &Tensor) -> Result<f64> {
    super::ensure_finite(real_features, "fid: real features")?;
    super::ensure_finite(generated_features, "fid: generated features")?;
    frechet_distance(&FeatureStats::from_features(real_features)?, &FeatureStats::from_features(generated_features)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::linalg::sqrtm_newton_schulz;
    use minmax_engine::Generator;

    fn randn(n: usize, d: usize, g: &mut Generator) -> Tensor {
        Tensor::new((0..n * d).map(|_| g.normal()).collect::<Vec<f64>>(), &[n, d]).unwrap()
    }

    #[test]
    fn stats_match_the_textbook_formulas() -> Result<()> {
        // Three samples in 2-D: (1, 2), (3, 2), (5, 8). μ = (3, 4);
        // centred: (−2, −2), (0, −2), (2, 4); Σ = 1/2 · [8 12; 12 24] = [4 6; 6 12].
        let x = Tensor::new(vec![1.0f64, 2., 3., 2., 5., 8.], &[3, 2])?;
        let s = FeatureStats::from_features(&x)?;
        assert_eq!(s.mean, vec![3.0, 4.0]);
        assert!(s.cov.max_abs_diff(&Matrix::new(2, 2, vec![4., 6., 6., 12.])?) < 1e-14, "{:?}", s.cov);
        assert_eq!(s.n, 3);
        Ok(())
    }

    #[test]
    fn a_set_against_itself_is_zero() -> Result<()> {
        let mut g = Generator::new(1);
        let x = randn(500, 16, &mut g).mul_scalar(3.0)?.add_scalar(1.0)?;
        let d = fid(&x, &x)?;
        assert!(d.abs() < 1e-9, "{d}");
        Ok(())
    }

    #[test]
    fn diagonal_gaussians_have_the_closed_form() -> Result<()> {
        // For diagonal covariances the distance separates by coordinate:
        // Σ_i (μr_i − μg_i)² + (σr_i − σg_i)², σ = standard deviation.
        let (mr, mg) = (vec![0.0, 1.0, -2.0], vec![0.5, 1.0, 0.0]);
        let (sr, sg) = ([1.0, 2.0, 0.5], [3.0, 2.0, 0.1]);
        let var = |s: &[f64; 3]| Matrix::from_diag(&s.iter().map(|v| v * v).collect::<Vec<_>>());
        let a = FeatureStats::new(mr.clone(), var(&sr), 0)?;
        let b = FeatureStats::new(mg.clone(), var(&sg), 0)?;
        let want: f64 = (0..3).map(|i| (mr[i] - mg[i]).powi(2) + (sr[i] - sg[i]).powi(2)).sum();
        let got = frechet_distance(&a, &b)?;
        assert!((got - want).abs() < 1e-12, "{got} vs {want}");
        // Symmetric in its arguments.
        assert!((frechet_distance(&b, &a)? - want).abs() < 1e-12);
        Ok(())
    }

    #[test]
    fn commuting_covariances_have_the_closed_form() -> Result<()> {
        // Σr = Q diag(a) Qᵀ, Σg = Q diag(b) Qᵀ share eigenvectors, so (Σr^½ Σg Σr^½)^½ =
        // Q diag(√(a b)) Qᵀ and the distance is ‖Δμ‖² + Σ_i (√a_i − √b_i)².
        let mut g = Generator::new(4);
        let n = 6;
        let q = crate::metrics::linalg::sym_eigen(
            &Matrix::new(n, n, (0..n * n).map(|_| g.normal()).collect())?.symmetrized()?,
        )?
        .vectors; // a random orthogonal matrix
        let a = [4.0, 1.0, 0.25, 9.0, 2.0, 0.0];
        let b = [1.0, 1.0, 1.0, 16.0, 0.5, 3.0];
        let conj =
            |d: &[f64]| q.matmul(&Matrix::from_diag(d)).unwrap().matmul(&q.transpose()).unwrap().symmetrized().unwrap();
        let (mr, mg) = (vec![1.0; n], vec![0.0; n]);
        let r = FeatureStats::new(mr, conj(&a), 0)?;
        let s = FeatureStats::new(mg, conj(&b), 0)?;
        let want = n as f64 + a.iter().zip(&b).map(|(x, y)| (x.sqrt() - y.sqrt()).powi(2)).sum::<f64>();
        let got = frechet_distance(&r, &s)?;
        assert!((got - want).abs() < 1e-7, "{got} vs {want}"); // a zero eigenvalue costs ~√ε
        Ok(())
    }

    #[test]
    fn sample_order_does_not_matter() -> Result<()> {
        let mut g = Generator::new(9);
        let x = randn(300, 8, &mut g);
        let y = randn(200, 8, &mut g).mul_scalar(1.5)?.add_scalar(0.3)?;
        let perm: Vec<i64> = g.permutation(200).into_iter().map(|i| i as i64).collect();
        let y_perm = y.index_select(0, &Tensor::new(perm, &[200])?)?;
        let (a, b) = (fid(&x, &y)?, fid(&x, &y_perm)?);
        assert!(a > 1.0 && (a - b).abs() < 1e-10 * a, "{a} vs {b}");
        Ok(())
    }

    #[test]
    fn agrees_with_a_newton_schulz_trace_term() -> Result<()> {
        // The trace term by a second method: Tr((Σr^½ Σg Σr^½)^½) with Newton–Schulz roots.
        let mut g = Generator::new(3);
        let r = FeatureStats::from_features(&randn(400, 10, &mut g))?;
        let s = FeatureStats::from_features(&randn(400, 10, &mut g).mul_scalar(2.0)?)?;
        let (root_r, _) = sqrtm_newton_schulz(&r.cov, 200, 1e-15)?;
        let inner = root_r.matmul(&s.cov)?.matmul(&root_r)?.symmetrized()?;
        let (root_inner, _) = sqrtm_newton_schulz(&inner, 200, 1e-15)?;
        let mean_term: f64 = r.mean.iter().zip(&s.mean).map(|(a, b)| (a - b) * (a - b)).sum();
        let want = mean_term + r.cov.trace() + s.cov.trace() - 2.0 * root_inner.trace();
        let got = frechet_distance(&r, &s)?;
        assert!((got - want).abs() < 1e-10 * want, "{got} vs {want}");
        // The samples are N(0, I) and N(0, 4I): the population distance is 10·(2 − 1)² = 10.
        assert!((got - 10.0).abs() < 2.5, "{got}");
        Ok(())
    }

    #[test]
    fn errors_name_the_problem() -> Result<()> {
        let e = fid(&Tensor::zeros(&[5, 3]), &Tensor::zeros(&[5, 4])).unwrap_err().to_string();
        assert!(e.contains("3 dimensions") && e.contains("4"), "{e}");
        let e = fid(&Tensor::zeros(&[1, 3]), &Tensor::zeros(&[5, 3])).unwrap_err().to_string();
        assert!(e.contains("at least 2 samples"), "{e}");
        let e = FeatureStats::new(vec![0.0; 2], Matrix::zeros(3, 3), 0).unwrap_err().to_string();
        assert!(e.contains("2x2"), "{e}");
        Ok(())
    }
}
