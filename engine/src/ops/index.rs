//! Indexing with i64 index tensors: index_select / index_add, gather / scatter_add, one_hot and
//! embedding. Each op's backward is its adjoint, which is again one of these ops, so second-order
//! gradients flow through them too.

use crate::{DType, Error, Result, Tensor};

impl Tensor {
    /// Entries `idx[j]` along `dim` (idx: 1-D i64). d/dx = index_add of the gradient.
    pub fn index_select(&self, dim: isize, idx: &Tensor) -> Result<Tensor> {
        let d = crate::layout::normalize_dim("index_select", dim, self.rank())?;
        if idx.rank() != 1 {
            return Err(Error::bad_shape("index_select", idx.shape(), "indices must be 1-D"));
        }
        let s = self.storage().index_select(self.layout(), d, &idx.storage(), idx.layout())?;
        let mut shape = self.dims();
        shape[d] = idx.numel();
        let out = Tensor::fresh(s, &shape);
        let (idx, in_shape) = (idx.detach(), self.dims());
        Ok(Tensor::record(out, "index_select", &[self], move |c| Ok(vec![Some(c.grad.index_add(d, &idx, &in_shape)?)])))
    }
    /// Zeros of `shape`, then `out[.., idx[j], ..] += self[.., j, ..]` along `dim`.
    /// d/dself = index_select of the gradient.
    pub fn index_add(&self, dim: usize, idx: &Tensor, shape: &[usize]) -> Result<Tensor> {
        let s = self.storage().index_add(self.layout(), dim, &idx.storage(), idx.layout(), shape)?;
        let out = Tensor::fresh(s, shape);
        let idx = idx.detach();
        Ok(Tensor::record(out, "index_add", &[self], move |c| Ok(vec![Some(c.grad.index_select(dim as isize, &idx)?)])))
    }
    /// `out[.., j, ..] = self[.., idx[.., j, ..], ..]` along `dim` (PyTorch's gather; idx has the
    /// input's shape except along `dim`). d/dx = scatter_add of the gradient.
    pub fn gather(&self, dim: isize, idx: &Tensor) -> Result<Tensor> {
        let d = crate::layout::normalize_dim("gather", dim, self.rank())?;
        let s = self.storage().gather(self.layout(), d, &idx.storage(), idx.layout())?;
        let out = Tensor::fresh(s, idx.shape());
        let (idx, in_shape) = (idx.detach(), self.dims());
        Ok(Tensor::record(out, "gather", &[self], move |c| Ok(vec![Some(c.grad.scatter_add(d, &idx, &in_shape)?)])))
    }
    /// Zeros of `shape`, then `out[.., idx[.., j, ..], ..] += self[.., j, ..]`. d/dself = gather.
    pub fn scatter_add(&self, dim: usize, idx: &Tensor, shape: &[usize]) -> Result<Tensor> {
        let s = self.storage().scatter_add(self.layout(), dim, &idx.storage(), idx.layout(), shape)?;
        let out = Tensor::fresh(s, shape);
        let idx = idx.detach();
        Ok(Tensor::record(out, "scatter_add", &[self], move |c| Ok(vec![Some(c.grad.gather(dim as isize, &idx)?)])))
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
                return Err(Error::msg(format!("one_hot: label {l} is outside 0..{classes}")));
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
        let rows = weight.index_select(0, &self.flatten(0, -1)?)?;
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
        let e = x.index_select(0, &Tensor::new(vec![5i64], &[1])?).unwrap_err().to_string();
        assert!(e.contains("index 5 is out of range"), "{e}");
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
