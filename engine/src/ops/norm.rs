//! Batch normalisation (Ioffe & Szegedy 2015) for [N, C] and [N, C, H, W] inputs, composed from
//! differentiable ops so it has gradients of gradients. Running statistics are updated in place,
//! outside the graph, with PyTorch's convention: running = (1 − momentum)·running + momentum·batch,
//! using the unbiased batch variance.

use crate::{autograd::no_grad, Error, Result, Tensor};

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
        let (mean, var) = if a.training {
            let n = self.numel() / c;
            if n < 2 {
                return Err(Error::bad_shape(
                    "batch_norm",
                    self.shape(),
                    "training needs more than one value per channel",
                ));
            }
            let mean = self.mean(&axes, true)?;
            let var = self.sub(&mean)?.sqr()?.mean(&axes, true)?;
            no_grad(|| -> Result<()> {
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
                Ok(())
            })?;
            (mean, var)
        } else {
            match (a.running_mean, a.running_var) {
                (Some(m), Some(v)) => (m.view(&bshape)?, v.view(&bshape)?),
                _ => return Err(Error::msg("batch_norm: eval mode needs running_mean and running_var")),
            }
        };
        let mut y = self.sub(&mean)?.div(&var.add_scalar(a.eps)?.sqrt()?)?;
        if let Some(w) = a.weight {
            y = y.mul(&w.view(&bshape)?)?;
        }
        if let Some(b) = a.bias {
            y = y.add(&b.view(&bshape)?)?;
        }
        Ok(y)
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
