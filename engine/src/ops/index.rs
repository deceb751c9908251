//! Indexing with i64 index tensors: index_select / index_add, gather / scatter_add, one_hot and
//! embedding. Each op's backward is its adjoint, which is again one of these ops, so second-order
//! gradients flow through them too.

use crate::{DType, Error, Result, Tensor};

/// Refuse index tensors a kernel cannot use, before any backend runs: not i64, or a value outside
/// `0..bound`. The CPU kernels check again as they read; the GPU kernels cannot report an error,
/// so without this an out-of-range label would read or write a wrong element silently. The check
/// needs the index values: for a GPU tensor they are read back to the host, a small copy (index
/// tensors are labels and ids, far smaller than the data they index) and a wait for the queue.
pub(crate) fn check_indices(op: &'static str, idx: &Tensor, what: &str, bound: usize) -> Result<()> {
    if idx.dtype() != DType::I64 {
        return Err(Error::msg(format!("{op}: indices must have dtype i64, got {:?}", idx.dtype())));
    }
    if let Some(&bad) = idx.to_vec::<i64>()?.iter().find(|&&i| i < 0 || i as usize >= bound) {
        return Err(Error::msg(format!(
            "{op}: index {bad} is out of range for {what} of size {bound} (valid indices: 0..{bound})"
        )));
    }
    Ok(())
}

/// gather / scatter_add: the index has the data's rank and its sizes in every dim but `dim`.
fn check_gather_shapes(op: &'static str, data: &[usize], index: &[usize], dim: usize) -> Result<()> {
    let ok = data.len() == index.len() && data.iter().zip(index).enumerate().all(|(d, (a, b))| d == dim || a == b);
    if !ok {
        return Err(Error::shape(op, data, index, format!("index must match the input in every dim except {dim}")));
    }
    Ok(())
}

/// index_add / scatter_add: `out_shape` has `src`'s rank, and `src`'s sizes outside `dim`.
fn check_out_shape(op: &'static str, src: &[usize], out_shape: &[usize], dim: usize) -> Result<()> {
    let ok = src.len() == out_shape.len()
        && dim < src.len()
        && src.iter().zip(out_shape).enumerate().all(|(d, (a, b))| d == dim || a == b);
    if !ok {
        return Err(Error::shape(
            op,
            src,
            out_shape,
            format!("output must match the source in every dim except {dim}"),
        ));
    }
    Ok(())
}

impl Tensor {
    /// Entries `idx[j]` along `dim` (idx: 1-D i64). d/dx = index_add of the gradient.
    pub fn index_select(&self, dim: isize, idx: &Tensor) -> Result<Tensor> {
        let d = crate::layout::normalize_dim("index_select", dim, self.rank())?;
        if idx.rank() != 1 {
            return Err(Error::bad_shape("index_select", idx.shape(), "indices must be 1-D"));
        }
        check_indices("index_select", idx, &format!("dim {d}"), self.shape()[d])?;
        self.index_select_checked(d, idx)
    }
    /// `index_select` with indices already checked against `self.shape()[d]`.
    fn index_select_checked(&self, d: usize, idx: &Tensor) -> Result<Tensor> {
        let s = self.storage().index_select(self.layout(), d, &idx.storage(), idx.layout())?;
        let mut shape = self.dims();
        shape[d] = idx.numel();
        let out = Tensor::fresh(s, &shape);
        let (idx, in_shape) = (idx.detach(), self.dims());
        Ok(Tensor::record(out, "index_select", &[self], move |c| {
            Ok(vec![Some(c.grad.index_add_checked(d, &idx, &in_shape)?)])
        }))
    }
    /// Zeros of `shape`, then `out[.., idx[j], ..] += self[.., j, ..]` along `dim`.
    /// d/dself = index_select of the gradient.
    pub fn index_add(&self, dim: usize, idx: &Tensor, shape: &[usize]) -> Result<Tensor> {
        check_out_shape("index_add", self.shape(), shape, dim)?;
        if idx.rank() != 1 || idx.numel() != self.shape()[dim] {
            return Err(Error::shape(
                "index_add",
                self.shape(),
                idx.shape(),
                format!("indices must be 1-D with one entry per source slice along dim {dim}"),
            ));
        }
        check_indices("index_add", idx, &format!("dim {dim}"), shape[dim])?;
        self.index_add_checked(dim, idx, shape)
    }
    /// `index_add` with shapes and indices already checked.
    fn index_add_checked(&self, dim: usize, idx: &Tensor, shape: &[usize]) -> Result<Tensor> {
        let s = self.storage().index_add(self.layout(), dim, &idx.storage(), idx.layout(), shape)?;
        let out = Tensor::fresh(s, shape);
        let idx = idx.detach();
        Ok(Tensor::record(out, "index_add", &[self], move |c| Ok(vec![Some(c.grad.index_select_checked(dim, &idx)?)])))
    }
    /// `out[.., j, ..] = self[.., idx[.., j, ..], ..]` along `dim` (PyTorch's gather; idx has the
    /// input's shape except along `dim`). d/dx = scatter_add of the gradient.
    pub fn gather(&self, dim: isize, idx: &Tensor) -> Result<Tensor> {
        let d = crate::layout::normalize_dim("gather", dim, self.rank())?;
        self.gather_as("gather", d, idx, &format!("dim {d}"))
    }
    /// `gather` whose errors name `op` and call the indexed dim `what` (e.g. nll_loss's classes).
    fn gather_as(&self, op: &'static str, d: usize, idx: &Tensor, what: &str) -> Result<Tensor> {
        check_gather_shapes(op, self.shape(), idx.shape(), d)?;
        check_indices(op, idx, what, self.shape()[d])?;
        self.gather_checked(d, idx)
    }
    fn gather_checked(&self, d: usize, idx: &Tensor) -> Result<Tensor> {
        let s = self.storage().gather(self.layout(), d, &idx.storage(), idx.layout())?;
        let out = Tensor::fresh(s, idx.shape());
        let (idx, in_shape) = (idx.detach(), self.dims());
        Ok(Tensor::record(out, "gather", &[self], move |c| {
            Ok(vec![Some(c.grad.scatter_add_checked(d, &idx, &in_shape)?)])
        }))
    }
    /// Zeros of `shape`, then `out[.., idx[.., j, ..], ..] += self[.., j, ..]`. d/dself = gather.
    pub fn scatter_add(&self, dim: usize, idx: &Tensor, shape: &[usize]) -> Result<Tensor> {
        check_out_shape("scatter_add", self.shape(), shape, dim)?;
        if idx.shape() != self.shape() {
            return Err(Error::shape("scatter_add", self.shape(), idx.shape(), "index must have the source's shape"));
        }
        check_indices("scatter_add", idx, &format!("dim {dim}"), shape[dim])?;
        self.scatter_add_checked(dim, idx, shape)
    }
    fn scatter_add_checked(&self, dim: usize, idx: &Tensor, shape: &[usize]) -> Result<Tensor> {
        let s = self.storage().scatter_add(self.layout(), dim, &idx.storage(), idx.layout(), shape)?;
        let out = Tensor::fresh(s, shape);
        let idx = idx.detach();
        Ok(Tensor::record(out, "scatter_add", &[self], move |c| Ok(vec![Some(c.grad.gather_checked(dim, &idx)?)])))
    }
    /// `self.gather(1, labels.unsqueeze(1))` for log-probabilities [N, C] and i64 labels [N], with
    /// errors that name `op` and speak of classes.
    pub(crate) fn pick_labels(&self, op: &'static str, labels: &Tensor) -> Result<Tensor> {
        self.gather_as(op, 1, &labels.unsqueeze(1)?, "the classes")
    }
    /// One-hot rows (f32) for i64 class labels: [..] → [.., classes].
    pub fn one_hot(&self, classes: usize) -> Result<Tensor> {
        if self.dtype() != DType::I64 {
            return Err(Error::UnsupportedDType { op: "one_hot (labels must be i64)", dtype: self.dtype() });
        }
        let labels = self.to_vec::<i64>()?;
        let mut v = vec![0f32; labels.len() * classes];
        for (i, &l) in labels.iter().enumerate() {
            if l < 0 || l as usize >= classes {
                return Err(Error::msg(format!(
                    "one_hot: index {l} is out of range for {classes} classes (valid indices: 0..{classes})"
                )));
            }
            v[i * classes + l as usize] = 1.0;
        }
        let mut shape = self.dims();
        shape.push(classes);
        Tensor::new(v, &shape)?.to_device(&self.device())
    }
    /// Rows of `weight` ([num, dim]) for the i64 ids in `self`: [..] → [.., dim].
    pub fn embedding(&self, weight: &Tensor) -> Result<Tensor> {
        if weight.rank() != 2 {
            return Err(Error::bad_shape("embedding", weight.shape(), "weight must be [num_embeddings, dim]"));
        }
        let ids = self.flatten(0, -1)?;
        check_indices("embedding", &ids, "the embeddings", weight.shape()[0])?;
        let rows = weight.index_select_checked(0, &ids)?;
        let mut shape: Vec<isize> = self.shape().iter().map(|&d| d as isize).collect();
        shape.push(weight.shape()[1] as isize);
        rows.reshape(&shape)
    }
}

#[cfg(test)]
mod tests {
    use crate::Tensor;

    #[test]
    fn gather_and_index_select() -> crate::Result<()> {
        let x = Tensor::new(vec![1f32, 2., 3., 4., 5., 6.], &[2, 3])?.requires_grad_();
        let idx = Tensor::new(vec![2i64, 0], &[2, 1])?;
        let g = x.gather(1, &idx)?;
        assert_eq!(g.to_vec::<f32>()?, vec![3., 4.]);
        g.sum_all()?.backward()?;
        assert_eq!(x.grad().unwrap().to_vec::<f32>()?, vec![0., 0., 1., 1., 0., 0.]);
        let rows = Tensor::new(vec![1i64, 1, 0], &[3])?;
        x.zero_grad();
        x.index_select(0, &rows)?.sum_all()?.backward()?;
        // row 1 picked twice, row 0 once
        assert_eq!(x.grad().unwrap().to_vec::<f32>()?, vec![1., 1., 1., 2., 2., 2.]);
        Ok(())
    }

    #[test]
    fn bad_indices_are_refused_by_the_op_naming_the_valid_range() -> crate::Result<()> {
        // The op layer checks, so the GPU (whose kernels cannot report errors) refuses the same
        // inputs; tests/gpu.rs runs the same cases there.
        let x = Tensor::new(vec![1f32, 2., 3., 4., 5., 6.], &[2, 3])?;
        let err = |r: crate::Result<Tensor>| r.unwrap_err().to_string();
        let e = err(x.index_select(0, &Tensor::new(vec![5i64], &[1])?));
        assert!(e.contains("index_select: index 5 is out of range") && e.contains("0..2"), "{e}");
        let e = err(x.gather(1, &Tensor::new(vec![0i64, -1], &[2, 1])?));
        assert!(e.contains("gather: index -1") && e.contains("0..3"), "{e}");
        let e = err(x.gather(1, &Tensor::new(vec![0i64, 1, 2], &[3, 1])?));
        assert!(e.contains("gather") && e.contains("[2, 3]") && e.contains("[3, 1]"), "{e}");
        let e = err(x.scatter_add(1, &Tensor::new(vec![0i64, 1, 2, 0, 1, 3], &[2, 3])?, &[2, 3]));
        assert!(e.contains("scatter_add: index 3") && e.contains("0..3"), "{e}");
        let e = err(x.index_add(0, &Tensor::new(vec![0i64, 1], &[2])?, &[2, 4]));
        assert!(e.contains("index_add") && e.contains("[2, 4]"), "{e}");
        let e = err(Tensor::new(vec![0i64, 4], &[2])?.embedding(&x));
        assert!(e.contains("embedding: index 4") && e.contains("0..2"), "{e}");
        let logits = Tensor::zeros(&[2, 3]);
        let e = err(logits.cross_entropy(&Tensor::new(vec![1i64, 3], &[2])?));
        assert!(e.contains("cross_entropy: index 3 is out of range for the classes") && e.contains("0..3"), "{e}");
        let e = err(logits.nll_loss(&Tensor::new(vec![-2i64, 0], &[2])?));
        assert!(e.contains("nll_loss: index -2"), "{e}");
        let e = err(x.index_select(0, &Tensor::new(vec![0.0f32], &[1])?));
        assert!(e.contains("index_select: indices must have dtype i64"), "{e}");
        Ok(())
    }

    #[test]
    fn one_hot_and_embedding() -> crate::Result<()> {
        let l = Tensor::new(vec![2i64, 0], &[2])?;
        assert_eq!(l.one_hot(3)?.to_vec::<f32>()?, vec![0., 0., 1., 1., 0., 0.]);
        let w = Tensor::arange(0.0, 6.0, 1.0)?.view(&[3, 2])?;
        let e = l.embedding(&w)?;
        assert_eq!(e.shape(), &[2, 2]);
        assert_eq!(e.to_vec::<f32>()?, vec![4., 5., 0., 1.]);
        Ok(())
    }
}
