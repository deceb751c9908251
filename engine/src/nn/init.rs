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
        Init::Constant(c) => vec![c as f32; n],
    };
    Tensor::new(v, shape)
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
}
