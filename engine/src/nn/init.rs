//! Seeded parameter initialisers (PyTorch's `torch.nn.init`). Each overwrites a tensor in place.
//! fan_in = shape[1]·receptive field, fan_out = shape[0]·receptive field, where the receptive
//! field is the product of the dims after the first two (1 for a Linear weight).

use crate::{Error, Generator, Result, Tensor};

/// How to fill a parameter.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Init {
    /// U(lo, hi)
    Uniform(f64, f64),
    /// N(mean, std²)
    Normal(f64, f64),
    /// Glorot & Bengio 2010: U(±gain·√(6 / (fan_in + fan_out)))
    XavierUniform(f64),
    /// N(0, gain²·2 / (fan_in + fan_out))
    XavierNormal(f64),
    /// He et al. 2015 for ReLU-like nets with negative slope a: U(±√(6 / ((1 + a²)·fan_in)))
    KaimingUniform(f64),
    /// N(0, 2 / ((1 + a²)·fan_in))
    KaimingNormal(f64),
    /// Saxe et al. 2014 (PyTorch's `orthogonal_`, TensorFlow's `orthogonal_initializer`): the
    /// weight seen as a rows × cols matrix (rows = shape[0]) is `gain` times a random matrix with
    /// orthonormal rows (rows ≤ cols) or orthonormal columns (rows > cols): the Q of the QR
    /// decomposition of a matrix of N(0, 1) draws, with R's diagonal made positive (which makes Q
    /// uniformly distributed over such matrices), computed here by modified Gram–Schmidt, which
    /// gives that Q directly.
    Orthogonal(f64),
    Constant(f64),
}

pub fn fans(shape: &[usize]) -> (usize, usize) {
    match shape.len() {
        0 => (1, 1),
        1 => (shape[0], shape[0]),
        _ => {
            let rf: usize = shape[2..].iter().product();
            (shape[1] * rf, shape[0] * rf)
        }
    }
}

/// A new f32 tensor of `shape` filled by `init`.
pub fn make(shape: &[usize], init: Init, g: &mut Generator) -> Result<Tensor> {
    let (fan_in, fan_out) = fans(shape);
    let n: usize = shape.iter().product();
    let v: Vec<f32> = match init {
        Init::Uniform(lo, hi) => (0..n).map(|_| g.uniform_range(lo, hi) as f32).collect(),
        Init::Normal(m, s) => (0..n).map(|_| (m + s * g.normal()) as f32).collect(),
        Init::XavierUniform(gain) => {
            let b = gain * (6.0 / (fan_in + fan_out) as f64).sqrt();
            (0..n).map(|_| g.uniform_range(-b, b) as f32).collect()
        }
        Init::XavierNormal(gain) => {
            let s = gain * (2.0 / (fan_in + fan_out) as f64).sqrt();
            (0..n).map(|_| (s * g.normal()) as f32).collect()
        }
        Init::KaimingUniform(a) => {
            let b = (6.0 / ((1.0 + a * a) * fan_in as f64)).sqrt();
            (0..n).map(|_| g.uniform_range(-b, b) as f32).collect()
        }
        Init::KaimingNormal(a) => {
            let s = (2.0 / ((1.0 + a * a) * fan_in as f64)).sqrt();
            (0..n).map(|_| (s * g.normal()) as f32).collect()
        }
        Init::Orthogonal(gain) => orthogonal(shape, gain, g)?,
        Init::Constant(c) => vec![c as f32; n],
    };
    Tensor::new(v, shape)
}

/// `gain` · Q for a weight of `shape` seen as shape[0] × (the rest): see [`Init::Orthogonal`].
fn orthogonal(shape: &[usize], gain: f64, g: &mut Generator) -> Result<Vec<f32>> {
    if shape.len() < 2 {
        return Err(Error::bad_shape("init::Orthogonal", shape, "needs a weight of at least two dimensions"));
    }
    let rows = shape[0];
    let cols: usize = shape[1..].iter().product();
    // Q is tall: t × s with t ≥ s orthonormal columns; the weight is Q (rows > cols) or Qᵀ.
    let (t, s) = if rows >= cols { (rows, cols) } else { (cols, rows) };
    // q[j] is column j of the t × s matrix of N(0, 1) draws, filled row by row.
    let mut a = vec![0.0f64; t * s];
    for i in 0..t {
        for j in 0..s {
            a[j * t + i] = g.normal();
        }
    }
    // Modified Gram–Schmidt, column by column: q_j ← (a_j − Σ_{i<j} (q_i·a_j) q_i) / ‖·‖. R's
    // diagonal (the norms) is positive by construction, so this is the sign-corrected QR's Q.
    for j in 0..s {
        for i in 0..j {
            let (qi, qj) = (i * t, j * t);
            let dot: f64 = (0..t).map(|r| a[qi + r] * a[qj + r]).sum();
            for r in 0..t {
                a[qj + r] -= dot * a[qi + r];
            }
        }
        let qj = j * t;
        let norm = (0..t).map(|r| a[qj + r] * a[qj + r]).sum::<f64>().sqrt();
        if norm < 1e-12 {
            return Err(Error::msg("init::Orthogonal: the random draws were linearly dependent (draw again)"));
        }
        for r in 0..t {
            a[qj + r] /= norm;
        }
    }
    let mut w = vec![0.0f32; rows * cols];
    for r in 0..rows {
        for c in 0..cols {
            // rows ≥ cols: W = Q (row r, column c); else W = Qᵀ: W[r, c] = Q[c, r].
            let q = if rows >= cols { a[c * t + r] } else { a[r * t + c] };
            w[r * cols + c] = (gain * q) as f32;
        }
    }
    Ok(w)
}

/// Overwrite `t` (a parameter) with values drawn by `init`, keeping its dtype and device.
pub fn init_(t: &Tensor, init: Init, g: &mut Generator) -> Result<()> {
    if t.numel() == 0 {
        return Err(Error::bad_shape("init", t.shape(), "cannot initialise an empty tensor"));
    }
    let fresh = make(t.shape(), init, g)?.to_dtype(t.dtype())?.to_device(&t.device())?;
    t.copy_from(&fresh)
}
pub fn uniform_(t: &Tensor, lo: f64, hi: f64, g: &mut Generator) -> Result<()> {
    init_(t, Init::Uniform(lo, hi), g)
}
pub fn normal_(t: &Tensor, mean: f64, std: f64, g: &mut Generator) -> Result<()> {
    init_(t, Init::Normal(mean, std), g)
}
pub fn constant_(t: &Tensor, v: f64) -> Result<()> {
    init_(t, Init::Constant(v), &mut Generator::new(0))
}
pub fn xavier_uniform_(t: &Tensor, gain: f64, g: &mut Generator) -> Result<()> {
    init_(t, Init::XavierUniform(gain), g)
}
pub fn kaiming_normal_(t: &Tensor, a: f64, g: &mut Generator) -> Result<()> {
    init_(t, Init::KaimingNormal(a), g)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn xavier_bound_and_seed() -> Result<()> {
        let a = make(&[200, 300], Init::XavierUniform(1.0), &mut Generator::new(1))?.to_vec::<f32>()?;
        let b = (6.0f32 / 500.0).sqrt();
        assert!(a.iter().all(|x| x.abs() <= b));
        assert!(a.iter().map(|x| x.abs()).fold(0.0, f32::max) > 0.95 * b);
        assert_eq!(a, make(&[200, 300], Init::XavierUniform(1.0), &mut Generator::new(1))?.to_vec::<f32>()?);
        assert_eq!(fans(&[8, 3, 4, 4]), (48, 128));
        Ok(())
    }

    /// W Wᵀ = gain² I for a wide weight, Wᵀ W = gain² I for a tall one (and a conv weight is
    /// seen as out × in·kh·kw); the same seed gives the same matrix.
    #[test]
    fn orthogonal_rows_or_columns() -> Result<()> {
        for (shape, gain) in [(vec![5usize, 9], 0.8), (vec![9, 5], 1.4), (vec![6, 6], 1.0), (vec![4, 2, 3, 1], 2.0)] {
            let w = make(&shape, Init::Orthogonal(gain), &mut Generator::new(3))?.to_vec::<f32>()?;
            let (rows, cols) = (shape[0], shape[1..].iter().product::<usize>());
            let at = |r: usize, c: usize| w[r * cols + c] as f64;
            // the Gram matrix of the shorter side
            let (n, gram): (usize, Box<dyn Fn(usize, usize) -> f64>) = if rows <= cols {
                (rows, Box::new(|i, j| (0..cols).map(|c| at(i, c) * at(j, c)).sum()))
            } else {
                (cols, Box::new(|i, j| (0..rows).map(|r| at(r, i) * at(r, j)).sum()))
            };
            for i in 0..n {
                for j in 0..n {
                    let want = if i == j { gain * gain } else { 0.0 };
                    assert!((gram(i, j) - want).abs() < 1e-5, "{shape:?}: gram[{i}][{j}] = {}", gram(i, j));
                }
            }
            assert_eq!(w, make(&shape, Init::Orthogonal(gain), &mut Generator::new(3))?.to_vec::<f32>()?);
        }
        assert!(make(&[7], Init::Orthogonal(1.0), &mut Generator::new(0)).is_err());
        Ok(())
    }
}
