//! Reductions along any axes, with `keepdim` as in PyTorch. An empty axis list means all axes.
//! The backend reduces with sum, max and argmax; min and argmin are −max(−x) and argmax(−x),
//! the same bits (ties keep the first index, a NaN wins as before).

use crate::layout::Layout;
use crate::storage::{ReduceOp, UnaryOp};
use crate::{Error, Result, Tensor};

use super::norm_axes;

impl Tensor {
    fn reduce_raw(&self, axes: &[usize], op: ReduceOp) -> Result<Tensor> {
        let s = self.storage().reduce(self.layout(), axes, op)?;
        let shape: Vec<usize> = (0..self.rank()).filter(|d| !axes.contains(d)).map(|d| self.shape()[d]).collect();
        Ok(Tensor::from_storage(s, Layout::contiguous(&shape)))
    }
    fn keepdim_shape(&self, axes: &[usize]) -> Vec<usize> {
        (0..self.rank()).map(|d| if axes.contains(&d) { 1 } else { self.shape()[d] }).collect()
    }

    /// Σ over `axes`. d/dx = the gradient broadcast back over the summed axes.
    pub fn sum(&self, axes: &[isize], keepdim: bool) -> Result<Tensor> {
        let ax = norm_axes("sum", axes, self.rank())?;
        let out = self.reduce_raw(&ax, ReduceOp::Sum)?;
        let kshape = self.keepdim_shape(&ax);
        let out = if keepdim { out.with_layout(Layout::contiguous(&kshape)) } else { out };
        let in_shape = self.dims();
        Ok(Tensor::record(out, "sum", &[self], move |c| Ok(vec![Some(c.grad.view(&kshape)?.expand(&in_shape)?)])))
    }
    /// Σ of all elements, as a 0-d tensor.
    pub fn sum_all(&self) -> Result<Tensor> {
        self.sum(&[], false)
    }
    /// Mean over `axes` = sum / count.
    pub fn mean(&self, axes: &[isize], keepdim: bool) -> Result<Tensor> {
        let ax = norm_axes("mean", axes, self.rank())?;
        let n: usize = ax.iter().map(|&d| self.shape()[d]).product();
        self.sum(axes, keepdim)?.div_scalar(n as f64)
    }
    pub fn mean_all(&self) -> Result<Tensor> {
        self.mean(&[], false)
    }
    /// Variance over `axes` with `correction` (0 = biased, 1 = unbiased, as PyTorch's `correction`).
    pub fn var(&self, axes: &[isize], correction: usize, keepdim: bool) -> Result<Tensor> {
        let ax = norm_axes("var", axes, self.rank())?;
        let n: usize = ax.iter().map(|&d| self.shape()[d]).product();
        if n <= correction {
            return Err(Error::bad_shape(
                "var",
                self.shape(),
                format!("needs more than {correction} elements per reduction"),
            ));
        }
        let mu = self.mean(axes, true)?;
        self.sub(&mu)?.sqr()?.sum(axes, keepdim)?.div_scalar((n - correction) as f64)
    }
    /// Max over `axes`. The gradient goes to the maximal entries, split evenly among ties.
    pub fn max(&self, axes: &[isize], keepdim: bool) -> Result<Tensor> {
        let ax = self.extreme_axes(axes, "max")?;
        let out = self.reduce_raw(&ax, ReduceOp::Max)?;
        let kshape = self.keepdim_shape(&ax);
        let out = if keepdim { out.with_layout(Layout::contiguous(&kshape)) } else { out };
        let axes_i: Vec<isize> = ax.iter().map(|&a| a as isize).collect();
        Ok(Tensor::record(out, "max", &[self], move |c| {
            let x = &c.inputs[0];
            let m = c.out.detach().view(&kshape)?;
            let mask = x.eq(&m)?;
            let count = mask.sum(&axes_i, true)?;
            Ok(vec![Some(c.grad.view(&kshape)?.mul(&mask.div(&count)?)?)])
        }))
    }
    /// Min over `axes`, composed as −max(−x). The gradient goes to the minimal entries, split
    /// evenly among ties.
    pub fn min(&self, axes: &[isize], keepdim: bool) -> Result<Tensor> {
        self.extreme_axes(axes, "min")?;
        self.neg()?.max(axes, keepdim)?.neg()
    }
    pub fn max_all(&self) -> Result<Tensor> {
        self.max(&[], false)
    }
    pub fn min_all(&self) -> Result<Tensor> {
        self.min(&[], false)
    }
    fn extreme_axes(&self, axes: &[isize], name: &'static str) -> Result<Vec<usize>> {
        let ax = norm_axes(name, axes, self.rank())?;
        if ax.iter().any(|&d| self.shape()[d] == 0) {
            return Err(Error::bad_shape(name, self.shape(), "cannot reduce over an empty dim"));
        }
        Ok(ax)
    }
    /// Max along one dim, with the (first) index of each maximum as i64 (PyTorch's `max(dim)`).
    pub fn max_dim(&self, dim: isize, keepdim: bool) -> Result<(Tensor, Tensor)> {
        Ok((self.max(&[dim], keepdim)?, self.argmax(dim, keepdim)?))
    }
    /// Min along one dim, with indices.
    pub fn min_dim(&self, dim: isize, keepdim: bool) -> Result<(Tensor, Tensor)> {
        Ok((self.min(&[dim], keepdim)?, self.argmin(dim, keepdim)?))
    }
    /// Index (i64) of the first maximum along `dim`.
    pub fn argmax(&self, dim: isize, keepdim: bool) -> Result<Tensor> {
        self.arg_extreme(dim, keepdim, "argmax")
    }
    /// Index (i64) of the first minimum along `dim`: argmax(−x).
    pub fn argmin(&self, dim: isize, keepdim: bool) -> Result<Tensor> {
        self.unary_raw(UnaryOp::Neg)?.arg_extreme(dim, keepdim, "argmin")
    }
    fn arg_extreme(&self, dim: isize, keepdim: bool, name: &'static str) -> Result<Tensor> {
        let d = crate::layout::normalize_dim(name, dim, self.rank())?;
        let out = self.reduce_raw(&[d], ReduceOp::ArgMax)?;
        Ok(if keepdim { out.with_layout(Layout::contiguous(&self.keepdim_shape(&[d]))) } else { out })
    }
    /// log Σ exp over `axes`, computed as m + log Σ exp(x − m) with m the (detached) max.
    /// d/dx = softmax(x) over the axes.
    pub fn logsumexp(&self, axes: &[isize], keepdim: bool) -> Result<Tensor> {
        let m = self.max(axes, true)?.detach();
        // An all −∞ slice has max −∞; shift by 0 there instead of producing NaN.
        let m = Tensor::where_cond(&m.abs()?.eq_scalar(f64::INFINITY)?, &m.zeros_like()?, &m)?;
        let s = self.sub(&m)?.exp()?.sum(axes, true)?.log()?.add(&m)?;
        if keepdim {
            Ok(s)
        } else {
            let ax = norm_axes("logsumexp", axes, self.rank())?;
            let shape: Vec<usize> = (0..self.rank()).filter(|d| !ax.contains(d)).map(|d| self.shape()[d]).collect();
            s.view(&shape)
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::Tensor;

    #[test]
    fn sums_and_means() -> crate::Result<()> {
        let x = Tensor::arange(0.0, 6.0, 1.0)?.view(&[2, 3])?;
        assert_eq!(x.sum(&[0], false)?.to_vec::<f32>()?, vec![3., 5., 7.]);
        assert_eq!(x.sum(&[1], true)?.shape(), &[2, 1]);
        assert_eq!(x.sum(&[-1], false)?.to_vec::<f32>()?, vec![3., 12.]);
        assert_eq!(x.t()?.sum(&[1], false)?.to_vec::<f32>()?, vec![3., 5., 7.]);
        assert_eq!(x.mean_all()?.item()?, 2.5);
        // var([0,1,2]) unbiased = 1
        assert_eq!(x.var(&[1], 1, false)?.to_vec::<f32>()?, vec![1., 1.]);
        Ok(())
    }

    #[test]
    fn max_with_indices_and_tie_gradient() -> crate::Result<()> {
        let x = Tensor::new(vec![1.0f64, 3.0, 3.0, 0.0], &[2, 2])?.requires_grad_();
        let (v, i) = x.max_dim(1, false)?;
        assert_eq!(v.to_vec::<f64>()?, vec![3.0, 3.0]);
        assert_eq!(i.to_vec::<i64>()?, vec![1, 0]);
        x.max_all()?.backward()?;
        // two entries tie for the global max: each gets half
        assert_eq!(x.grad().unwrap().to_vec::<f64>()?, vec![0.0, 0.5, 0.5, 0.0]);
        Ok(())
    }

    #[test]
    fn logsumexp_is_stable() -> crate::Result<()> {
        let x = Tensor::new(vec![1000.0f64, 1000.0], &[2])?;
        let l = x.logsumexp(&[0], false)?.item()?;
        assert!((l - (1000.0 + 2f64.ln())).abs() < 1e-9);
        Ok(())
    }
}
