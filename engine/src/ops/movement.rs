//! Shape ops. reshape (of a contiguous tensor), permute, transpose, expand and narrow are views:
//! they build a new layout over the same storage. cat and stack copy.

use crate::layout::Layout;
use crate::storage::Storage;
use crate::{Error, Result, Tensor};

impl Tensor {
    /// A view (or a copy if the memory order requires) with a new shape; one entry may be −1.
    /// d/dx: reshape the gradient back.
    pub fn reshape(&self, shape: &[isize]) -> Result<Tensor> {
        let shape = self.resolve_shape(shape)?;
        if shape == self.shape() {
            return Ok(self.clone());
        }
        let out = match self.layout().reshape_view(&shape) {
            Some(l) => self.with_layout(l),
            None => {
                let s = self.storage().copy_strided(self.layout())?;
                Tensor::fresh(s, &shape)
            }
        };
        let in_shape: Vec<isize> = self.shape().iter().map(|&d| d as isize).collect();
        Ok(Tensor::record(out, "reshape", &[self], move |c| Ok(vec![Some(c.grad.reshape(&in_shape)?)])))
    }
    /// `reshape` with a `usize` shape.
    pub fn view(&self, shape: &[usize]) -> Result<Tensor> {
        self.reshape(&shape.iter().map(|&d| d as isize).collect::<Vec<_>>())
    }
    fn resolve_shape(&self, shape: &[isize]) -> Result<Vec<usize>> {
        let n = self.numel();
        let given: Vec<usize> = shape.iter().filter(|&&d| d >= 0).map(|&d| d as usize).collect();
        let known = crate::layout::checked_numel("reshape", &given)?;
        let holes = shape.iter().filter(|&&d| d == -1).count();
        let bad = || {
            Error::shape(
                "reshape",
                self.shape(),
                &shape.iter().map(|&d| d.max(0) as usize).collect::<Vec<_>>(),
                format!("cannot hold {n} elements"),
            )
        };
        if holes > 1 || shape.iter().any(|&d| d < -1) {
            return Err(bad());
        }
        let out: Vec<usize> = if holes == 1 {
            if known == 0 || n % known != 0 {
                return Err(bad());
            }
            shape.iter().map(|&d| if d == -1 { n / known } else { d as usize }).collect()
        } else {
            shape.iter().map(|&d| d as usize).collect()
        };
        if crate::layout::checked_numel("reshape", &out)? != n {
            return Err(bad());
        }
        Ok(out)
    }
    /// Collapse dims `start..=end` into one.
    pub fn flatten(&self, start: isize, end: isize) -> Result<Tensor> {
        if self.rank() == 0 {
            return self.reshape(&[1]);
        }
        let s = crate::layout::normalize_dim("flatten", start, self.rank())?;
        let e = crate::layout::normalize_dim("flatten", end, self.rank())?;
        let mut shape: Vec<isize> = self.shape()[..s].iter().map(|&d| d as isize).collect();
        shape.push(self.shape()[s..=e].iter().product::<usize>() as isize);
        shape.extend(self.shape()[e + 1..].iter().map(|&d| d as isize));
        self.reshape(&shape)
    }
    /// Insert a dim of size 1 at `dim`.
    pub fn unsqueeze(&self, dim: isize) -> Result<Tensor> {
        let d = crate::layout::normalize_dim("unsqueeze", dim, self.rank() + 1)?;
        let mut shape = self.dims();
        shape.insert(d, 1);
        self.view(&shape)
    }
    /// Remove a dim of size 1.
    pub fn squeeze(&self, dim: isize) -> Result<Tensor> {
        let d = crate::layout::normalize_dim("squeeze", dim, self.rank())?;
        if self.shape()[d] != 1 {
            return Err(Error::bad_shape(
                "squeeze",
                self.shape(),
                format!("dim {dim} has size {}, not 1", self.shape()[d]),
            ));
        }
        let mut shape = self.dims();
        shape.remove(d);
        self.view(&shape)
    }
    /// Reorder dims (a view). d/dx: the inverse permutation of the gradient.
    pub fn permute(&self, perm: &[usize]) -> Result<Tensor> {
        let r = self.rank();
        let mut seen = vec![false; r];
        if perm.len() != r || perm.iter().any(|&p| p >= r || std::mem::replace(&mut seen[p], true)) {
            return Err(Error::bad_shape("permute", self.shape(), format!("{perm:?} is not a permutation of 0..{r}")));
        }
        let out = self.with_layout(self.layout().permute(perm));
        let mut inv = vec![0; r];
        for (i, &p) in perm.iter().enumerate() {
            inv[p] = i;
        }
        Ok(Tensor::record(out, "permute", &[self], move |c| Ok(vec![Some(c.grad.permute(&inv)?)])))
    }
    /// Swap two dims (a view).
    pub fn transpose(&self, d0: isize, d1: isize) -> Result<Tensor> {
        let a = crate::layout::normalize_dim("transpose", d0, self.rank())?;
        let b = crate::layout::normalize_dim("transpose", d1, self.rank())?;
        let mut perm: Vec<usize> = (0..self.rank()).collect();
        perm.swap(a, b);
        self.permute(&perm)
    }
    /// Transpose of a 2-D tensor.
    pub fn t(&self) -> Result<Tensor> {
        if self.rank() != 2 {
            return Err(Error::bad_shape("t", self.shape(), "t() expects a 2-D tensor"));
        }
        self.transpose(0, 1)
    }
    /// Broadcast to `shape` without copying (stride 0 on repeated dims).
    /// d/dx = sum_to(grad, x.shape): the one place where broadcasting is undone.
    pub fn expand(&self, shape: &[usize]) -> Result<Tensor> {
        if shape == self.shape() {
            return Ok(self.clone());
        }
        crate::layout::checked_numel("expand", shape)?;
        let target = crate::layout::broadcast_shape("expand", self.shape(), shape)?;
        if target != shape {
            return Err(Error::shape(
                "expand",
                self.shape(),
                shape,
                "can only expand dims of size 1 or add leading dims",
            ));
        }
        let out = self.with_layout(self.layout().broadcast_to(shape));
        let in_shape = self.dims();
        Ok(Tensor::record(out, "expand", &[self], move |c| Ok(vec![Some(c.grad.sum_to(&in_shape)?)])))
    }
    /// Sum a broadcast result back down to `shape` (the adjoint of `expand`).
    pub fn sum_to(&self, shape: &[usize]) -> Result<Tensor> {
        if self.shape() == shape {
            return Ok(self.clone());
        }
        let lead = self
            .rank()
            .checked_sub(shape.len())
            .ok_or_else(|| Error::shape("sum_to", self.shape(), shape, "target has more dims"))?;
        let mut axes: Vec<isize> = (0..lead as isize).collect();
        for (i, &d) in shape.iter().enumerate() {
            if d == 1 && self.shape()[lead + i] != 1 {
                axes.push((lead + i) as isize);
            } else if d != self.shape()[lead + i] {
                return Err(Error::shape("sum_to", self.shape(), shape, "not a broadcast of the target"));
            }
        }
        let s = if axes.is_empty() { self.clone() } else { self.sum(&axes, true)? };
        s.view(shape)
    }
    /// `len` entries of `dim` starting at `start` (a view). d/dx: the gradient padded with zeros.
    pub fn narrow(&self, dim: isize, start: usize, len: usize) -> Result<Tensor> {
        let d = crate::layout::normalize_dim("narrow", dim, self.rank())?;
        let size = self.shape()[d];
        if start + len > size {
            return Err(Error::bad_shape(
                "narrow",
                self.shape(),
                format!("range {start}..{} is outside dim {d} of size {size}", start + len),
            ));
        }
        let out = self.with_layout(self.layout().narrow(d, start, len));
        let in_shape = self.dims();
        Ok(Tensor::record(out, "narrow", &[self], move |c| {
            let mut parts = Vec::new();
            let mut zshape = in_shape.clone();
            if start > 0 {
                zshape[d] = start;
                parts.push(c.grad.full_like(&zshape, 0.0)?);
            }
            parts.push(c.grad.clone());
            if start + len < size {
                zshape[d] = size - start - len;
                parts.push(c.grad.full_like(&zshape, 0.0)?);
            }
            Ok(vec![Some(Tensor::cat(&parts.iter().collect::<Vec<_>>(), d as isize)?)])
        }))
    }
    /// Split into pieces of `size` along `dim` (the last may be smaller).
    pub fn split(&self, size: usize, dim: isize) -> Result<Vec<Tensor>> {
        let d = crate::layout::normalize_dim("split", dim, self.rank())?;
        let n = self.shape()[d];
        (0..n).step_by(size.max(1)).map(|s| self.narrow(dim, s, size.min(n - s))).collect()
    }
    /// A contiguous copy if this is a strided view; d/dx = grad.
    pub fn contiguous(&self) -> Result<Tensor> {
        if self.is_contiguous() {
            return Ok(self.clone());
        }
        let out = Tensor::fresh(self.storage().copy_strided(self.layout())?, self.shape());
        Ok(Tensor::record(out, "contiguous", &[self], |c| Ok(vec![Some(c.grad.clone())])))
    }
    /// Join tensors along an existing dim. d/dx_i: the gradient narrowed to x_i's slice.
    pub fn cat(xs: &[&Tensor], dim: isize) -> Result<Tensor> {
        let first = xs.first().ok_or_else(|| Error::msg("cat: needs at least one tensor"))?;
        let d = crate::layout::normalize_dim("cat", dim, first.rank())?;
        let mut shape = first.dims();
        shape[d] = 0;
        for x in xs {
            first.check_same(x, "cat")?;
            let ok = x.rank() == first.rank()
                && x.shape().iter().zip(first.shape()).enumerate().all(|(i, (a, b))| i == d || a == b);
            if !ok {
                return Err(Error::shape("cat", first.shape(), x.shape(), format!("all dims but {d} must agree")));
            }
            shape[d] += x.shape()[d];
        }
        let guards: Vec<_> = xs.iter().map(|x| x.storage()).collect();
        let srcs: Vec<(&Storage, &Layout)> = guards.iter().zip(xs).map(|(g, x)| (&**g, x.layout())).collect();
        let s = Storage::cat(&srcs, d, &shape)?;
        drop(guards);
        let out = Tensor::fresh(s, &shape);
        let sizes: Vec<usize> = xs.iter().map(|x| x.shape()[d]).collect();
        Ok(Tensor::record(out, "cat", xs, move |c| {
            let mut at = 0;
            let mut g = Vec::new();
            for (i, &n) in sizes.iter().enumerate() {
                g.push(if c.needs[i] { Some(c.grad.narrow(d as isize, at, n)?) } else { None });
                at += n;
            }
            Ok(g)
        }))
    }
    /// Join tensors along a new dim.
    pub fn stack(xs: &[&Tensor], dim: isize) -> Result<Tensor> {
        let first = xs.first().ok_or_else(|| Error::msg("stack: needs at least one tensor"))?;
        let d = crate::layout::normalize_dim("stack", dim, first.rank() + 1)? as isize;
        let us = xs.iter().map(|x| x.unsqueeze(d)).collect::<Result<Vec<_>>>()?;
        Tensor::cat(&us.iter().collect::<Vec<_>>(), d)
    }
}

#[cfg(test)]
mod tests {
    use crate::Tensor;

    #[test]
    fn views_share_storage() -> crate::Result<()> {
        let x = Tensor::arange(0.0, 6.0, 1.0)?.view(&[2, 3])?;
        let t = x.t()?;
        assert!(t.same_storage(&x));
        assert_eq!(t.to_vec::<f32>()?, vec![0., 3., 1., 4., 2., 5.]);
        assert_eq!(x.narrow(1, 1, 2)?.to_vec::<f32>()?, vec![1., 2., 4., 5.]);
        // reshape of a non-contiguous view copies
        let r = t.reshape(&[-1])?;
        assert!(!r.same_storage(&x));
        assert_eq!(r.to_vec::<f32>()?, vec![0., 3., 1., 4., 2., 5.]);
        Ok(())
    }

    #[test]
    fn cat_and_narrow_gradients() -> crate::Result<()> {
        let a = Tensor::ones(&[2, 1]).requires_grad_();
        let b = Tensor::ones(&[2, 2]).requires_grad_();
        let w = Tensor::new(vec![1f32, 2., 3., 4., 5., 6.], &[2, 3])?;
        Tensor::cat(&[&a, &b], 1)?.mul(&w)?.sum_all()?.backward()?;
        assert_eq!(a.grad().unwrap().to_vec::<f32>()?, vec![1., 4.]);
        assert_eq!(b.grad().unwrap().to_vec::<f32>()?, vec![2., 3., 5., 6.]);
        Ok(())
    }

    #[test]
    fn reshape_errors_are_clear() {
        let e = Tensor::zeros(&[2, 3]).reshape(&[4, -1]).unwrap_err().to_string();
        assert!(e.contains("reshape") && e.contains("[2, 3]"), "{e}");
    }
}
