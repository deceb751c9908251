//! Finite-difference gradient checks, as PyTorch's `torch.autograd.gradcheck`.
//!
//! For f: inputs → output and a random, non-uniform upstream gradient v, the analytic
//! vector-Jacobian product vᵀJ from `backward` is compared, entry by entry, with the central
//! difference (⟨f(x + εeⱼ), v⟩ − ⟨f(x − εeⱼ), v⟩) / 2ε, in f64, passing when
//! |analytic − numeric| ≤ atol + rtol·|numeric|.
//!
//! `gradgradcheck` applies the same test to the function (x, v) ↦ vᵀJ(x) computed with
//! `create_graph = true`: it checks second-order gradients (what WGAN-GP's penalty needs).

use std::fmt;

use crate::autograd::grad_allow_unused;
use crate::{DType, Error, Generator, Result, Tensor};

#[derive(Clone, Copy, Debug)]
pub struct GradcheckOpts {
    pub eps: f64,
    pub atol: f64,
    pub rtol: f64,
    /// Seed of the upstream gradient v.
    pub seed: u64,
}

impl Default for GradcheckOpts {
    fn default() -> Self {
        GradcheckOpts { eps: 1e-6, atol: 1e-5, rtol: 1e-3, seed: 0 }
    }
}

/// The worst entry found, and whether every entry passed.
#[derive(Clone, Debug)]
pub struct GradcheckReport {
    pub passed: bool,
    pub checked: usize,
    pub max_abs_err: f64,
    /// (input index, flat element index, analytic, numeric) of the worst entry.
    pub worst: Option<(usize, usize, f64, f64)>,
}

impl fmt::Display for GradcheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = if self.passed { "passed" } else { "FAILED" };
        write!(
            f,
            "gradcheck {verdict}: {} entries, max |analytic − numeric| = {:.3e}",
            self.checked, self.max_abs_err
        )?;
        if let Some((i, j, a, n)) = self.worst {
            write!(f, " (input {i}, element {j}: analytic {a:.6e}, numeric {n:.6e})")?;
        }
        Ok(())
    }
}

impl GradcheckReport {
    /// `Ok` if passed, else an error carrying the report.
    pub fn ok(self) -> Result<Self> {
        if self.passed {
            Ok(self)
        } else {
            Err(Error::msg(self.to_string()))
        }
    }
}

/// A leaf copy of `t` with element `j` shifted by `delta`, keeping its requires_grad flag.
fn perturbed(t: &Tensor, j: usize, delta: f64) -> Result<Tensor> {
    let mut v = t.to_vec::<f64>()?;
    v[j] += delta;
    let p = Tensor::new(v, t.shape())?.to_device(&t.device())?;
    p.set_requires_grad(t.requires_grad());
    Ok(p)
}

fn dot(a: &Tensor, b: &Tensor) -> Result<f64> {
    a.detach().mul(&b.detach())?.sum_all()?.item()
}

/// Check the first-order gradients of `f` at `inputs` (f64 leaves; only those with
/// `requires_grad` are checked).
pub fn gradcheck(
    f: &dyn Fn(&[Tensor]) -> Result<Tensor>,
    inputs: &[Tensor],
    o: &GradcheckOpts,
) -> Result<GradcheckReport> {
    for (i, x) in inputs.iter().enumerate() {
        if x.requires_grad() && x.dtype() != DType::F64 {
            return Err(Error::msg(format!("gradcheck: input {i} is {:?}; finite differences need f64", x.dtype())));
        }
    }
    let out = f(inputs)?;
    if out.dtype() != DType::F64 {
        return Err(Error::msg("gradcheck: the function must return an f64 tensor"));
    }
    let mut g = Generator::new(o.seed);
    // A random, non-uniform upstream gradient catches rules that only hold for all-ones.
    let v = Tensor::randn(out.shape(), &mut g).to_dtype(DType::F64)?.to_device(&out.device())?;
    let wrt: Vec<usize> = (0..inputs.len()).filter(|&i| inputs[i].requires_grad()).collect();
    let wrt_t: Vec<Tensor> = wrt.iter().map(|&i| inputs[i].clone()).collect();
    // An input the output does not reach has a zero derivative (which the differences check).
    let analytic: Vec<Tensor> = if out.requires_grad() {
        let gs = grad_allow_unused(&[out], Some(&[v.clone()]), &wrt_t, false)?;
        gs.into_iter().zip(&wrt_t).map(|(g, x)| g.map_or_else(|| x.zeros_like(), Ok)).collect::<Result<_>>()?
    } else {
        wrt_t.iter().map(|x| x.zeros_like()).collect::<Result<_>>()?
    };
    let mut rep = GradcheckReport { passed: true, checked: 0, max_abs_err: 0.0, worst: None };
    let mut worst_excess = f64::NEG_INFINITY;
    for (k, &i) in wrt.iter().enumerate() {
        let a = analytic[k].to_vec::<f64>()?;
        for (j, &aj) in a.iter().enumerate() {
            let mut xs = inputs.to_vec();
            xs[i] = perturbed(&inputs[i], j, o.eps)?;
            let fp = dot(&f(&xs)?, &v)?;
            xs[i] = perturbed(&inputs[i], j, -o.eps)?;
            let fm = dot(&f(&xs)?, &v)?;
            let nj = (fp - fm) / (2.0 * o.eps);
            let err = (aj - nj).abs();
            let excess = err - (o.atol + o.rtol * nj.abs());
            rep.checked += 1;
            rep.max_abs_err = rep.max_abs_err.max(err);
            if excess > 0.0 || !err.is_finite() {
                rep.passed = false;
            }
            if excess > worst_excess || !err.is_finite() {
                worst_excess = if err.is_finite() { excess } else { f64::INFINITY };
                rep.worst = Some((i, j, aj, nj));
            }
        }
    }
    Ok(rep)
}

/// Check second-order gradients: gradcheck of (inputs, v) ↦ vᵀ ∂f/∂inputs built with
/// `create_graph = true`, with respect to the inputs and to v.
pub fn gradgradcheck(
    f: &dyn Fn(&[Tensor]) -> Result<Tensor>,
    inputs: &[Tensor],
    o: &GradcheckOpts,
) -> Result<GradcheckReport> {
    let out = f(inputs)?;
    let mut g = Generator::new(o.seed ^ 0x9e37_79b9);
    let v = Tensor::randn(out.shape(), &mut g).to_dtype(DType::F64)?.to_device(&out.device())?.requires_grad_();
    let n = inputs.len();
    let h = move |xs: &[Tensor]| -> Result<Tensor> {
        let (x, v) = xs.split_at(n);
        let wrt: Vec<Tensor> = x.iter().filter(|t| t.requires_grad()).cloned().collect();
        // The first derivative of a linear op does not depend on x: x is then unused, and its
        // second derivative is zero.
        let gs = grad_allow_unused(&[f(x)?], Some(&[v[0].clone()]), &wrt, true)?;
        let gs: Vec<Tensor> =
            gs.into_iter().zip(&wrt).map(|(g, x)| g.map_or_else(|| x.zeros_like(), Ok)).collect::<Result<_>>()?;
        let flat = gs.iter().map(|t| t.flatten(0, -1)).collect::<Result<Vec<_>>>()?;
        Tensor::cat(&flat.iter().collect::<Vec<_>>(), 0)
    };
    let mut all = inputs.to_vec();
    all.push(v);
    gradcheck(&h, &all, o)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catches_a_wrong_backward_rule() -> Result<()> {
        // A custom op computing x² whose backward wrongly returns x instead of 2x.
        let wrong = |xs: &[Tensor]| -> Result<Tensor> {
            let x = &xs[0];
            let out = crate::no_grad(|| x.sqr())?;
            Ok(Tensor::from_op(out, "bad_square", &[x], |c| Ok(vec![Some(c.grad.mul(&c.inputs[0])?)])))
        };
        let x = Tensor::new(vec![0.5f64, -1.5, 2.0], &[3])?.requires_grad_();
        let r = gradcheck(&wrong, &[x.clone()], &GradcheckOpts::default())?;
        assert!(!r.passed, "{r}");
        let right = |xs: &[Tensor]| xs[0].sqr();
        assert!(gradcheck(&right, &[x.clone()], &GradcheckOpts::default())?.passed);
        assert!(gradgradcheck(&right, &[x], &GradcheckOpts::default())?.passed);
        Ok(())
    }
}
