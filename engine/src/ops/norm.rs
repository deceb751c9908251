//! Batch normalisation (Ioffe & Szegedy 2015) for [N, C] and [N, C, H, W] inputs. Running
//! statistics are updated in place, outside the graph, with PyTorch's convention:
//! running = (1 − momentum)·running + momentum·batch, using the unbiased batch variance.
//!
//! Training mode runs fused kernels (three per step instead of a dozen elementwise ops and
//! reductions; `cpu/norm.rs` and `shaders/batch_norm.wgsl`):
//! - forward: per-channel mean and biased variance in two passes (`bn_stats`), then
//!   y = x·k + (β − μ·k) with k = γ/√(σ² + eps) in one multiply-add (`channel_fma`);
//! - backward: Σdy and Σdy·x̂ per channel in one pass (`bn_sums`), then
//!   dx = γ·invstd·(dy − Σdy/M − x̂·Σdy·x̂/M) in one multiply-add, dγ = Σdy·x̂, dβ = Σdy.
//!
//! The fused backward is not itself differentiable, so when gradients of gradients are asked for
//! (`create_graph`), the rule recomputes the forward from differentiable ops and differentiates
//! that instead: same values, and a graph for the second derivative. Eval mode is composed from
//! differentiable ops (a per-channel scale and shift from the running statistics).

use crate::autograd::{grad_allow_unused, no_grad, set_grad_enabled};
use crate::layout::Layout;
use crate::{Error, Result, Tensor};

/// Running statistics and options for [`Tensor::batch_norm`].
pub struct BatchNormArgs<'a> {
    pub running_mean: Option<&'a Tensor>,
    pub running_var: Option<&'a Tensor>,
    pub weight: Option<&'a Tensor>,
    pub bias: Option<&'a Tensor>,
    pub training: bool,
    pub momentum: f64,
    pub eps: f64,
}

/// A contiguous copy of `t` that owns its storage from offset 0 (the fused kernels read
/// per-channel vectors from the start of their buffers).
fn owned(t: &Tensor, shape: &[usize]) -> Result<Tensor> {
    let s = t.storage().copy_strided(t.layout())?;
    Ok(Tensor::from_storage(s, Layout::contiguous(shape)))
}

/// The training-mode forward from differentiable ops (used for gradients of gradients).
fn composed_train(
    x: &Tensor,
    w: Option<&Tensor>,
    b: Option<&Tensor>,
    axes: &[isize],
    bshape: &[usize],
    eps: f64,
) -> Result<Tensor> {
    let mean = x.mean(axes, true)?;
    let var = x.sub(&mean)?.sqr()?.mean(axes, true)?;
    let mut y = x.sub(&mean)?.div(&var.add_scalar(eps)?.sqrt()?)?;
    if let Some(w) = w {
        y = y.mul(&w.view(bshape)?)?;
    }
    if let Some(b) = b {
        y = y.add(&b.view(bshape)?)?;
    }
    Ok(y)
}

impl Tensor {
    /// y = (x − mean) / √(var + eps) · weight + bias, per channel (dim 1). In training the batch's
    /// mean and biased variance are used (and the running statistics updated); in eval, the
    /// running statistics.
    pub fn batch_norm(&self, a: &BatchNormArgs) -> Result<Tensor> {
        if self.rank() != 2 && self.rank() != 4 {
            return Err(Error::bad_shape("batch_norm", self.shape(), "expected [N, C] or [N, C, H, W]"));
        }
        let c = self.shape()[1];
        let axes: Vec<isize> = if self.rank() == 2 { vec![0] } else { vec![0, 2, 3] };
        let bshape: Vec<usize> = if self.rank() == 2 { vec![1, c] } else { vec![1, c, 1, 1] };
        for t in [a.running_mean, a.running_var, a.weight, a.bias].into_iter().flatten() {
            if t.shape() != [c] {
                return Err(Error::shape(
                    "batch_norm",
                    self.shape(),
                    t.shape(),
                    format!("per-channel tensors must be [{c}]"),
                ));
            }
        }
        if !a.training {
            let (Some(rm), Some(rv)) = (a.running_mean, a.running_var) else {
                return Err(Error::msg("batch_norm: eval mode needs running_mean and running_var"));
            };
            // y = x·scale + shift with scale = γ/√(running var + eps), shift = β − running mean·scale.
            let mut scale = rv.add_scalar(a.eps)?.sqrt()?.recip()?;
            if let Some(w) = a.weight {
                scale = scale.mul(w)?;
            }
            let mut shift = rm.mul(&scale)?.neg()?;
            if let Some(b) = a.bias {
                shift = shift.add(b)?;
            }
            return self.mul(&scale.view(&bshape)?)?.add(&shift.view(&bshape)?);
        }

        let n = self.numel() / c.max(1);
        if n < 2 {
            return Err(Error::bad_shape("batch_norm", self.shape(), "training needs more than one value per channel"));
        }
        let dims = (self.shape()[0], c, n / self.shape()[0]);
        let (y, mean, invstd) = no_grad(|| -> Result<(Tensor, Tensor, Tensor)> {
            let stats =
                Tensor::from_storage(self.storage().bn_stats(self.layout(), dims)?, Layout::contiguous(&[2, c]));
            let mean = owned(&stats.narrow(0, 0, 1)?, &[c])?;
            let var = owned(&stats.narrow(0, 1, 1)?, &[c])?;
            let unbiased = n as f64 / (n as f64 - 1.0);
            if let Some(rm) = a.running_mean {
                rm.storage_mut().axpby_(1.0 - a.momentum, &mean.storage(), &mean.layout().clone(), a.momentum)?;
            }
            if let Some(rv) = a.running_var {
                rv.storage_mut().axpby_(
                    1.0 - a.momentum,
                    &var.storage(),
                    &var.layout().clone(),
                    a.momentum * unbiased,
                )?;
            }
            let invstd = var.add_scalar(a.eps)?.sqrt()?.recip()?;
            let k = match a.weight {
                Some(w) => invstd.mul(&w.detach())?,
                None => invstd.clone(),
            };
            let mut shift = mean.mul(&k)?.neg()?;
            if let Some(b) = a.bias {
                shift = shift.add(&b.detach())?;
            }
            let zero = k.zeros_like()?;
            let x = self.storage();
            let y =
                x.channel_fma(self.layout(), &x, self.layout(), &k.storage(), &zero.storage(), &shift.storage(), dims)?;
            Ok((Tensor::from_storage(y, Layout::contiguous(self.shape())), mean, invstd))
        })?;

        let mut inputs = vec![self];
        inputs.extend(a.weight);
        inputs.extend(a.bias);
        let (has_w, has_b, eps) = (a.weight.is_some(), a.bias.is_some(), a.eps);
        Ok(Tensor::record(y, "batch_norm", &inputs, move |ctx| {
            let x = &ctx.inputs[0];
            let w = if has_w { Some(&ctx.inputs[1]) } else { None };
            let b = if has_b { Some(&ctx.inputs[1 + has_w as usize]) } else { None };
            if ctx.create_graph {
                // Recompute differentiably and differentiate that: a graph for the second order.
                let _on = set_grad_enabled(true);
                let y2 = composed_train(x, w, b, &axes, &bshape, eps)?;
                let wanted: Vec<Tensor> = ctx.inputs.to_vec();
                // inputs that do not require grad are not in y2's graph: their entries are None
                let gs = grad_allow_unused(&[y2], Some(&[ctx.grad.clone()]), &wanted, true)?;
                return Ok(gs.into_iter().zip(ctx.needs).map(|(g, &n)| if n { g } else { None }).collect());
            }
            let dy = ctx.grad;
            let sums = Tensor::from_storage(
                x.storage().bn_sums(
                    x.layout(),
                    &dy.storage(),
                    dy.layout(),
                    &mean.storage(),
                    &invstd.storage(),
                    dims,
                )?,
                Layout::contiguous(&[2, c]),
            );
            let s_dy = owned(&sums.narrow(0, 0, 1)?, &[c])?;
            let s_dyx = owned(&sums.narrow(0, 1, 1)?, &[c])?;
            let m = (dims.0 * dims.2) as f64;
            let k = match w {
                Some(w) => invstd.mul(&w.detach())?,
                None => invstd.clone(),
            };
            // dx = dy·k + x·p + q, p = −k·invstd·Σdy·x̂/M, q = −k·Σdy/M − μ·p
            let p = k.mul(&invstd)?.mul(&s_dyx)?.mul_scalar(-1.0 / m)?;
            let q = k.mul(&s_dy)?.mul_scalar(-1.0 / m)?.sub(&mean.mul(&p)?)?;
            let dx = dy.storage().channel_fma(
                dy.layout(),
                &x.storage(),
                x.layout(),
                &k.storage(),
                &p.storage(),
                &q.storage(),
                dims,
            )?;
            let mut out =
                vec![if ctx.needs[0] { Some(Tensor::from_storage(dx, Layout::contiguous(x.shape()))) } else { None }];
            if has_w {
                out.push(Some(s_dyx));
            }
            if has_b {
                out.push(Some(s_dy));
            }
            Ok(out)
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::BatchNormArgs;
    use crate::Tensor;

    #[test]
    fn normalises_and_tracks_running_stats() -> crate::Result<()> {
        // one channel, values 1, 3: mean 2, biased var 1, unbiased var 2
        let x = Tensor::new(vec![1f64, 3.], &[2, 1])?;
        let rm = Tensor::new(vec![0f64], &[1])?;
        let rv = Tensor::new(vec![1f64], &[1])?;
        let a = BatchNormArgs {
            running_mean: Some(&rm),
            running_var: Some(&rv),
            weight: None,
            bias: None,
            training: true,
            momentum: 0.1,
            eps: 0.0,
        };
        assert_eq!(x.batch_norm(&a)?.to_vec::<f64>()?, vec![-1.0, 1.0]);
        assert!((rm.item()? - 0.2).abs() < 1e-12);
        assert!((rv.item()? - (0.9 + 0.1 * 2.0)).abs() < 1e-12);
        let e = BatchNormArgs { training: false, ..a };
        let y = x.batch_norm(&e)?.to_vec::<f64>()?;
        assert!((y[0] - (1.0 - 0.2) / 1.1f64.sqrt()).abs() < 1e-12);
        Ok(())
    }
}
