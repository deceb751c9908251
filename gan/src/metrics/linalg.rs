//! Small dense linear algebra in f64, enough for the metrics: matrix products, the trace, the
//! eigen-decomposition of a symmetric matrix, and the square root of a symmetric positive
//! semi-definite (PSD) matrix. (Pairwise distances between point sets are in `distances.rs`.)
//!
//! **Eigen-decomposition: faer.** A symmetric A = V Λ Vᵀ, eigenvalues Λ ascending, eigenvectors in
//! the columns of V, comes from the `faer` crate's self-adjoint solver (a reduction to
//! tridiagonal form, then divide and conquer). This module checks the input (square, finite,
//! symmetric up to rounding) and symmetrises it; the formulas built on top (square roots below,
//! the Fréchet distance in `fid.rs`) are ours.
//!
//! **Square root.** For a symmetric PSD A = V Λ Vᵀ, the PSD square root is A^½ = V Λ^½ Vᵀ.
//! Rounding can leave eigenvalues of a singular matrix slightly below zero; those within
//! `PSD_TOLERANCE` × the largest |λ| are clamped to 0, anything more negative is an error (the
//! matrix was not PSD). [`sqrtm_newton_schulz`] is an independent cross-check: the coupled
//! Newton–Schulz iteration (Higham 2008, eq. 6.35), which needs only matrix products:
//!
//! ```text
//! Y₀ = A / ‖A‖_F,  Z₀ = I,  T = (3I − Z Y) / 2,  Y ← Y T,  Z ← T Z;   Y → (A/‖A‖_F)^½,  Z → its inverse
//! A^½ ≈ √‖A‖_F · Y
//! ```
//!
//! It converges quadratically for a symmetric positive definite A (slowly when A is badly
//! conditioned) and is used only in tests and as an option for callers who want a second opinion.
//!
//! Left out: anything general-purpose (LU, QR, non-symmetric eigenproblems). Matrices here are
//! covariances of at most a few hundred features.

use minmax_engine::{Error, Result, Tensor};

/// Eigenvalues this far below zero, relative to the largest |λ|, are rounding and are clamped to 0.
pub const PSD_TOLERANCE: f64 = 1e-9;

// ---- the matrix type --------------------------------------------------------------------------------

/// A dense row-major `rows × cols` matrix of f64: element (i, j) is `data[i * cols + j]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Matrix {
    pub rows: usize,
    pub cols: usize,
    pub data: Vec<f64>,
}

impl Matrix {
    /// A matrix from row-major values; `data.len()` must be `rows * cols`.
    pub fn new(rows: usize, cols: usize, data: Vec<f64>) -> Result<Matrix> {
        if data.len() != rows * cols {
            return Err(Error::msg(format!("Matrix::new: {} values do not make a {rows}x{cols} matrix", data.len())));
        }
        Ok(Matrix { rows, cols, data })
    }
    pub fn zeros(rows: usize, cols: usize) -> Matrix {
        Matrix { rows, cols, data: vec![0.0; rows * cols] }
    }
    pub fn identity(n: usize) -> Matrix {
        Matrix::from_diag(&vec![1.0; n])
    }
    /// The square matrix with `d` on its diagonal.
    pub fn from_diag(d: &[f64]) -> Matrix {
        let n = d.len();
        let mut m = Matrix::zeros(n, n);
        for (i, &v) in d.iter().enumerate() {
            m.data[i * n + i] = v;
        }
        m
    }
    /// A 2-D tensor as a matrix (any float dtype, widened to f64).
    pub fn from_tensor(t: &Tensor) -> Result<Matrix> {
        if t.rank() != 2 {
            return Err(Error::msg(format!("Matrix::from_tensor: expected a 2-D tensor, got shape {:?}", t.shape())));
        }
        Matrix::new(t.shape()[0], t.shape()[1], t.to_vec::<f64>()?)
    }
    /// The matrix as an f64 tensor [rows, cols].
    pub fn to_tensor(&self) -> Result<Tensor> {
        Tensor::new(self.data.clone(), &[self.rows, self.cols])
    }

    pub fn get(&self, i: usize, j: usize) -> f64 {
        self.data[i * self.cols + j]
    }
    pub fn is_square(&self) -> bool {
        self.rows == self.cols
    }
    pub fn diag(&self) -> Vec<f64> {
        (0..self.rows.min(self.cols)).map(|i| self.get(i, i)).collect()
    }
    /// Σ_i a_ii.
    pub fn trace(&self) -> f64 {
        self.diag().iter().sum()
    }
    pub fn transpose(&self) -> Matrix {
        let mut t = Matrix::zeros(self.cols, self.rows);
        for i in 0..self.rows {
            for j in 0..self.cols {
                t.data[j * self.rows + i] = self.data[i * self.cols + j];
            }
        }
        t
    }
    /// self · rhs, the plain triple loop in i-k-j order (rows of `rhs` are read contiguously).
    pub fn matmul(&self, rhs: &Matrix) -> Result<Matrix> {
        if self.cols != rhs.rows {
            return Err(Error::msg(format!(
                "Matrix::matmul: lhs [{}, {}] vs rhs [{}, {}]",
                self.rows, self.cols, rhs.rows, rhs.cols
            )));
        }
        let (n, m) = (self.rows, rhs.cols);
        let mut out = Matrix::zeros(n, m);
        for i in 0..n {
            let row = &mut out.data[i * m..(i + 1) * m];
            for k in 0..self.cols {
                let a = self.data[i * self.cols + k];
                if a == 0.0 {
                    continue;
                }
                for (o, &b) in row.iter_mut().zip(&rhs.data[k * m..(k + 1) * m]) {
                    *o += a * b;
                }
            }
        }
        Ok(out)
    }
    /// a·self + b·rhs, element by element.
    pub fn combine(&self, a: f64, rhs: &Matrix, b: f64) -> Result<Matrix> {
        if (self.rows, self.cols) != (rhs.rows, rhs.cols) {
            return Err(Error::msg(format!(
                "Matrix::combine: [{}, {}] vs [{}, {}]",
                self.rows, self.cols, rhs.rows, rhs.cols
            )));
        }
        let data = self.data.iter().zip(&rhs.data).map(|(x, y)| a * x + b * y).collect();
        Ok(Matrix { rows: self.rows, cols: self.cols, data })
    }
    /// (A + Aᵀ)/2: removes the rounding asymmetry of products like S·B·S.
    pub fn symmetrized(&self) -> Result<Matrix> {
        self.combine(0.5, &self.transpose(), 0.5)
    }
    /// ‖A‖_F = √(Σ a_ij²).
    pub fn frobenius_norm(&self) -> f64 {
        self.data.iter().map(|v| v * v).sum::<f64>().sqrt()
    }
    /// max |a_ij − b_ij| (∞ when the shapes differ).
    pub fn max_abs_diff(&self, other: &Matrix) -> f64 {
        if (self.rows, self.cols) != (other.rows, other.cols) {
            return f64::INFINITY;
        }
        self.data.iter().zip(&other.data).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max)
    }
}

// ---- symmetric eigen-decomposition (faer) --------------------------------------------------------------

/// A = V diag(values) Vᵀ: eigenvalues in ascending order, eigenvectors in the columns of `vectors`.
#[derive(Clone, Debug)]
pub struct SymEigen {
    pub values: Vec<f64>,
    pub vectors: Matrix,
}

/// Eigenvalues and eigenvectors of a symmetric matrix (faer's self-adjoint solver, module docs).
/// The input must be square, finite and symmetric up to rounding (|a_ij − a_ji| ≤ 1e-8·max|a|);
/// it is symmetrised first.
pub fn sym_eigen(a: &Matrix) -> Result<SymEigen> {
    let m = to_faer(a, "sym_eigen")?;
    let e = m.self_adjoint_eigen(faer::Side::Lower).map_err(|e| not_converged("sym_eigen", a, e))?;
    let (u, s) = (e.U(), e.S().column_vector());
    let n = a.rows;
    let values = (0..n).map(|i| s[i]).collect();
    let vectors = Matrix { rows: n, cols: n, data: (0..n * n).map(|k| u[(k / n, k % n)]).collect() };
    Ok(SymEigen { values, vectors })
}

/// The eigenvalues of a symmetric matrix, ascending (no eigenvectors, so cheaper).
pub fn sym_eigenvalues(a: &Matrix) -> Result<Vec<f64>> {
    let m = to_faer(a, "sym_eigenvalues")?;
    m.self_adjoint_eigenvalues(faer::Side::Lower).map_err(|e| not_converged("sym_eigenvalues", a, e))
}

/// (A + Aᵀ)/2 as a faer matrix, after the checks every decomposition makes.
fn to_faer(a: &Matrix, op: &str) -> Result<faer::Mat<f64>> {
    check_symmetric(a, op)?;
    Ok(faer::Mat::from_fn(a.rows, a.cols, |i, j| 0.5 * (a.get(i, j) + a.get(j, i))))
}

fn not_converged(op: &str, a: &Matrix, e: faer::linalg::evd::EvdError) -> Error {
    Error::msg(format!("{op}: the eigen-solver did not converge for a {}x{} matrix ({e:?})", a.rows, a.cols))
}

fn check_symmetric(a: &Matrix, op: &str) -> Result<()> {
    if !a.is_square() {
        return Err(Error::msg(format!("{op}: expected a square matrix, got [{}, {}]", a.rows, a.cols)));
    }
    if let Some(bad) = a.data.iter().find(|v| !v.is_finite()) {
        return Err(Error::msg(format!("{op}: the matrix has a non-finite entry ({bad})")));
    }
    let n = a.rows;
    let scale = a.data.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    for i in 0..n {
        for j in i + 1..n {
            let (x, y) = (a.get(i, j), a.get(j, i));
            if (x - y).abs() > 1e-8 * scale {
                return Err(Error::msg(format!(
                    "{op}: the matrix is not symmetric: a[{i}][{j}] = {x} but a[{j}][{i}] = {y}"
                )));
            }
        }
    }
    Ok(())
}

// ---- matrix square roots ------------------------------------------------------------------------------

/// Eigenvalues of a PSD matrix with rounding below zero clamped to 0; clearly negative ones are
/// an error.
pub fn clamp_psd_eigenvalues(values: &[f64], op: &str) -> Result<Vec<f64>> {
    let scale = values.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    if let Some(&bad) = values.iter().find(|&&v| v < -PSD_TOLERANCE * scale) {
        return Err(Error::msg(format!(
            "{op}: the matrix is not positive semi-definite (eigenvalue {bad:e}, largest |λ| {scale:e})"
        )));
    }
    Ok(values.iter().map(|&v| v.max(0.0)).collect())
}

/// The PSD square root A^½ = V Λ^½ Vᵀ of a symmetric PSD matrix, so that A^½ · A^½ = A.
pub fn sqrtm_psd(a: &Matrix) -> Result<Matrix> {
    let e = sym_eigen(a)?;
    let roots: Vec<f64> = clamp_psd_eigenvalues(&e.values, "sqrtm_psd")?.iter().map(|v| v.sqrt()).collect();
    // V Λ^½ Vᵀ = Σ_k √λ_k v_k v_kᵀ: scale the columns of V, then multiply by Vᵀ.
    let n = a.rows;
    let mut scaled = e.vectors.clone();
    for i in 0..n {
        for (k, r) in roots.iter().enumerate() {
            scaled.data[i * n + k] *= r;
        }
    }
    scaled.matmul(&e.vectors.transpose())?.symmetrized()
}

/// Tr(A^½) = Σ √λ_i of a symmetric PSD matrix, from its eigenvalues alone.
pub fn trace_sqrtm_psd(a: &Matrix) -> Result<f64> {
    let values = sym_eigenvalues(a)?;
    Ok(clamp_psd_eigenvalues(&values, "trace_sqrtm_psd")?.iter().map(|v| v.sqrt()).sum())
}

/// A^½ by the coupled Newton–Schulz iteration (module docs), for a symmetric positive definite A.
/// Stops when an iteration changes Y by less than `tol` (max-abs, relative to 1) or after
/// `max_iters`; returns the estimate and the iterations used.
pub fn sqrtm_newton_schulz(a: &Matrix, max_iters: usize, tol: f64) -> Result<(Matrix, usize)> {
    check_symmetric(a, "sqrtm_newton_schulz")?;
    let n = a.rows;
    let norm = a.frobenius_norm();
    if norm == 0.0 {
        return Ok((Matrix::zeros(n, n), 0));
    }
    let eye = Matrix::identity(n);
    let mut y = a.combine(1.0 / norm, a, 0.0)?;
    let mut z = eye.clone();
    let mut iters = 0;
    while iters < max_iters {
        iters += 1;
        let t = eye.combine(1.5, &z.matmul(&y)?, -0.5)?; // (3I − Z Y) / 2
        let y_next = y.matmul(&t)?;
        z = t.matmul(&z)?;
        let change = y_next.max_abs_diff(&y);
        y = y_next;
        if change < tol {
            break;
        }
    }
    if y.data.iter().any(|v| !v.is_finite()) {
        return Err(Error::msg("sqrtm_newton_schulz: the iteration diverged (is the matrix positive definite?)"));
    }
    Ok((y.combine(norm.sqrt(), &y, 0.0)?, iters))
}

#[cfg(test)]
mod tests {
    use super::*;
    use minmax_engine::Generator;

    /// A random symmetric positive definite matrix: B Bᵀ + shift·I with B [n, n] standard normal.
    pub(crate) fn random_spd(n: usize, shift: f64, g: &mut Generator) -> Matrix {
        let b = Matrix::new(n, n, (0..n * n).map(|_| g.normal()).collect()).unwrap();
        b.matmul(&b.transpose()).unwrap().combine(1.0, &Matrix::identity(n), shift).unwrap()
    }

    /// The rotation by `angle` in the plane.
    fn rotation(angle: f64) -> Matrix {
        let (s, c) = angle.sin_cos();
        Matrix::new(2, 2, vec![c, -s, s, c]).unwrap()
    }

    #[test]
    fn matmul_trace_transpose_by_hand() -> Result<()> {
        // [1 2; 3 4] · [5 6; 7 8] = [19 22; 43 50]
        let a = Matrix::new(2, 2, vec![1., 2., 3., 4.])?;
        let b = Matrix::new(2, 2, vec![5., 6., 7., 8.])?;
        assert_eq!(a.matmul(&b)?.data, vec![19., 22., 43., 50.]);
        assert_eq!(a.trace(), 5.0);
        assert_eq!(a.transpose().data, vec![1., 3., 2., 4.]);
        // [2x3] · [3x1]
        let c = Matrix::new(2, 3, vec![1., 0., 2., 0., 1., 1.])?;
        let v = Matrix::new(3, 1, vec![1., 2., 3.])?;
        assert_eq!(c.matmul(&v)?.data, vec![7., 5.]);
        let e = c.matmul(&c).unwrap_err().to_string();
        assert!(e.contains("lhs [2, 3] vs rhs [2, 3]"), "{e}");
        Ok(())
    }

    #[test]
    fn eigen_of_a_diagonal_matrix_is_itself() -> Result<()> {
        let e = sym_eigen(&Matrix::from_diag(&[3.0, -1.0, 2.0]))?;
        assert_eq!(e.values, vec![-1.0, 2.0, 3.0]);
        // Eigenvectors are the unit vectors (up to sign), in the sorted order: e₂, e₃, e₁.
        assert_eq!(
            e.vectors.data.iter().map(|v| v.abs()).collect::<Vec<_>>(),
            vec![0., 0., 1., 1., 0., 0., 0., 1., 0.]
        );
        Ok(())
    }

    #[test]
    fn eigen_of_known_matrices() -> Result<()> {
        // [2 1; 1 2]: eigenvalues 1 and 3, eigenvectors (1, −1)/√2 and (1, 1)/√2.
        let e = sym_eigen(&Matrix::new(2, 2, vec![2., 1., 1., 2.])?)?;
        assert!((e.values[0] - 1.0).abs() < 1e-15 && (e.values[1] - 3.0).abs() < 1e-15, "{:?}", e.values);
        let h = std::f64::consts::FRAC_1_SQRT_2;
        assert!(
            (e.vectors.get(0, 1).abs() - h).abs() < 1e-15 && (e.vectors.get(1, 1) - e.vectors.get(0, 1)).abs() < 1e-15
        );
        assert!((e.vectors.get(0, 0) + e.vectors.get(1, 0)).abs() < 1e-15);
        // The tridiagonal [2 −1 0; −1 2 −1; 0 −1 2] has eigenvalues 2 − √2, 2, 2 + √2.
        let t = Matrix::new(3, 3, vec![2., -1., 0., -1., 2., -1., 0., -1., 2.])?;
        let want = [2.0 - 2f64.sqrt(), 2.0, 2.0 + 2f64.sqrt()];
        let got = sym_eigenvalues(&t)?;
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-14, "{got:?}");
        }
        // The n×n tridiagonal (2, −1): λ_k = 2 − 2 cos(kπ/(n+1)), k = 1..n.
        let n = 40;
        let mut big = Matrix::from_diag(&vec![2.0; n]);
        for i in 0..n - 1 {
            big.data[i * n + i + 1] = -1.0;
            big.data[(i + 1) * n + i] = -1.0;
        }
        let got = sym_eigenvalues(&big)?;
        for (k, g) in got.iter().enumerate() {
            let w = 2.0 - 2.0 * ((k + 1) as f64 * std::f64::consts::PI / (n + 1) as f64).cos();
            assert!((g - w).abs() < 1e-13, "λ_{k}: {g} vs {w}");
        }
        Ok(())
    }

    #[test]
    fn eigen_reconstructs_a_random_symmetric_matrix() -> Result<()> {
        let mut g = Generator::new(5);
        let n = 30;
        let b = Matrix::new(n, n, (0..n * n).map(|_| g.normal()).collect())?;
        let a = b.symmetrized()?; // indefinite
        let e = sym_eigen(&a)?;
        // V Λ Vᵀ = A and Vᵀ V = I.
        let vl = e.vectors.matmul(&Matrix::from_diag(&e.values))?;
        assert!(vl.matmul(&e.vectors.transpose())?.max_abs_diff(&a) < 1e-12);
        assert!(e.vectors.transpose().matmul(&e.vectors)?.max_abs_diff(&Matrix::identity(n)) < 1e-13);
        assert!(e.values.windows(2).all(|w| w[0] <= w[1]));
        assert!(e.values[0] < 0.0);
        Ok(())
    }

    #[test]
    fn sqrtm_of_diagonal_and_rotated_matrices() -> Result<()> {
        // diag(4, 9, 0) → diag(2, 3, 0).
        let r = sqrtm_psd(&Matrix::from_diag(&[4.0, 9.0, 0.0]))?;
        assert!(r.max_abs_diff(&Matrix::from_diag(&[2.0, 3.0, 0.0])) < 1e-15, "{r:?}");
        // A = R diag(16, 1) Rᵀ with R a rotation by 0.3: A^½ = R diag(4, 1) Rᵀ.
        let rot = rotation(0.3);
        let conj = |d: &[f64]| rot.matmul(&Matrix::from_diag(d)).unwrap().matmul(&rot.transpose()).unwrap();
        let a = conj(&[16.0, 1.0]);
        let want = conj(&[4.0, 1.0]);
        assert!(sqrtm_psd(&a)?.max_abs_diff(&want) < 1e-14);
        assert!((trace_sqrtm_psd(&a)? - 5.0).abs() < 1e-14);
        Ok(())
    }

    #[test]
    fn sqrtm_squared_is_the_matrix() -> Result<()> {
        let mut g = Generator::new(11);
        for n in [1, 2, 7, 40] {
            let a = random_spd(n, 0.1, &mut g);
            let s = sqrtm_psd(&a)?;
            let err = s.matmul(&s)?.max_abs_diff(&a) / a.frobenius_norm();
            assert!(err < 1e-13, "n={n}: relative error {err}");
            // The root is itself PSD.
            assert!(sym_eigenvalues(&s)?[0] >= 0.0);
        }
        // A singular PSD matrix (rank 2 in 5 dimensions): still S² = A.
        let b = Matrix::new(5, 2, (0..10).map(|_| g.normal()).collect())?;
        let a = b.matmul(&b.transpose())?;
        let s = sqrtm_psd(&a)?;
        assert!(s.matmul(&s)?.max_abs_diff(&a) < 1e-12);
        Ok(())
    }

    #[test]
    fn newton_schulz_agrees_with_the_eigen_square_root() -> Result<()> {
        let mut g = Generator::new(2);
        for n in [3, 20, 64] {
            let a = random_spd(n, n as f64, &mut g); // condition number of order 5: fast convergence
            let (ns, iters) = sqrtm_newton_schulz(&a, 100, 1e-14)?;
            let eig = sqrtm_psd(&a)?;
            let err = ns.max_abs_diff(&eig) / eig.frobenius_norm();
            assert!(err < 1e-12 && iters < 40, "n={n}: {err} after {iters} iterations");
        }
        Ok(())
    }

    #[test]
    fn errors_name_the_problem() -> Result<()> {
        let e = sym_eigen(&Matrix::zeros(2, 3)).unwrap_err().to_string();
        assert!(e.contains("square") && e.contains("[2, 3]"), "{e}");
        let e = sym_eigen(&Matrix::new(2, 2, vec![1., 2., 3., 1.])?).unwrap_err().to_string();
        assert!(e.contains("not symmetric") && e.contains("a[0][1] = 2"), "{e}");
        let e = sqrtm_psd(&Matrix::from_diag(&[1.0, -0.5])).unwrap_err().to_string();
        assert!(e.contains("not positive semi-definite"), "{e}");
        let e = sym_eigen(&Matrix::from_diag(&[1.0, f64::NAN])).unwrap_err().to_string();
        assert!(e.contains("non-finite"), "{e}");
        // Rounding-sized negative eigenvalues are clamped, not errors.
        assert_eq!(clamp_psd_eigenvalues(&[-1e-14, 1.0], "t")?, vec![0.0, 1.0]);
        Ok(())
    }

    /// `cargo test -p minmax-gan --release eigen_timing -- --ignored --nocapture`
    #[test]
    #[ignore = "timing only; run by hand"]
    fn eigen_timing() -> Result<()> {
        let mut g = Generator::new(1);
        for n in [64, 128, 256] {
            let a = random_spd(n, 1.0, &mut g);
            let t0 = std::time::Instant::now();
            let e = sym_eigen(&a)?;
            eprintln!("sym_eigen {n}x{n}: {:.3?} ({} eigenvalues)", t0.elapsed(), e.values.len());
        }
        Ok(())
    }
}
