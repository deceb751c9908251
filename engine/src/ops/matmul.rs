//! Matrix product (2-D and batched, batch dims broadcast) and the affine map of a Linear layer.

use crate::layout::Layout;
use crate::{Error, Result, Tensor};

impl Tensor {
    /// `a @ b` for [.., m, k] @ [.., k, n]; 1-D operands are treated as a row / column vector.
    /// d/da = grad @ bᵀ, d/db = aᵀ @ grad (transposes are views: no copy).
    pub fn matmul(&self, rhs: &Tensor) -> Result<Tensor> {
        self.check_same(rhs, "matmul")?;
        let bad = |h: &str| Error::shape("matmul", self.shape(), rhs.shape(), h.to_string());
        if self.rank() == 0 || rhs.rank() == 0 {
            return Err(bad("operands must have at least one dim"));
        }
        if self.rank() == 1 {
            let r = self.unsqueeze(0)?.matmul(rhs)?;
            return r.squeeze(-2);
        }
        if rhs.rank() == 1 {
            let r = self.matmul(&rhs.unsqueeze(1)?)?;
            return r.squeeze(-1);
        }
        let (ra, rb) = (self.rank(), rhs.rank());
        let (m, k) = (self.shape()[ra - 2], self.shape()[ra - 1]);
        let (k2, n) = (rhs.shape()[rb - 2], rhs.shape()[rb - 1]);
        if k != k2 {
            return Err(bad(&format!("inner dims {k} and {k2} differ")));
        }
        let batch = crate::layout::broadcast_shape("matmul", &self.shape()[..ra - 2], &rhs.shape()[..rb - 2])
            .map_err(|_| bad("batch dims cannot be broadcast"))?;
        let mut sa = batch.clone();
        sa.extend([m, k]);
        let mut sb = batch.clone();
        sb.extend([k, n]);
        let (a, b) = (self.expand(&sa)?, rhs.expand(&sb)?);
        let s = a.storage().matmul(a.layout(), &b.storage(), b.layout())?;
        let mut so = batch;
        so.extend([m, n]);
        let out = Tensor::from_storage(s, Layout::contiguous(&so));
        Ok(Tensor::record(out, "matmul", &[&a, &b], |c| {
            let [a, b] = c.inputs else { unreachable!() };
            Ok(vec![
                if c.needs[0] { Some(c.grad.matmul(&b.transpose(-1, -2)?)?) } else { None },
                if c.needs[1] { Some(grad_rhs(a, b, c.grad)?) } else { None },
            ])
        }))
    }
}

/// d/db of `a @ b` = aᵀ @ grad, written in `b`'s own memory order. A Linear layer's `b` is the
/// transposed view wᵀ of a weight stored [out, in]: for it the product is computed as
/// (gradᵀ @ a)ᵀ, so the gradient that reaches w (through the transpose's backward) is already
/// contiguous [out, in] and the optimizer step reads it without a copy. Same products and sums,
/// only the output's memory order differs.
fn grad_rhs(a: &Tensor, b: &Tensor, grad: &Tensor) -> Result<Tensor> {
    let (r, st) = (b.rank(), b.layout().strides.clone());
    let column_major = r == 2 && st[0] == 1 && st[1] == b.shape()[0] && b.shape()[0] > 1 && b.shape()[1] > 1;
    if column_major {
        grad.transpose(-1, -2)?.matmul(a)?.transpose(-1, -2) // [n, m] @ [m, k] = [n, k], viewed [k, n]
    } else {
        a.transpose(-1, -2)?.matmul(grad)
    }
}

impl Tensor {
    /// `x @ wᵀ + b` with PyTorch's weight layout `w: [out, in]` (x: [.., in] → [.., out]).
    pub fn linear(&self, w: &Tensor, b: Option<&Tensor>) -> Result<Tensor> {
        if w.rank() != 2 || self.rank() == 0 || self.shape()[self.rank() - 1] != w.shape()[1] {
            return Err(Error::shape("linear", self.shape(), w.shape(), "expected x [.., in] and weight [out, in]"));
        }
        let y = self.matmul(&w.t()?)?;
        match b {
            Some(b) => y.add(b),
            None => Ok(y),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::Tensor;

    #[test]
    fn matmul_small_and_batched() -> crate::Result<()> {
        let a = Tensor::new(vec![1f32, 2., 3., 4., 5., 6.], &[2, 3])?;
        let b = Tensor::new(vec![1f32, 0., 0., 1., 1., 1.], &[3, 2])?;
        assert_eq!(a.matmul(&b)?.to_vec::<f32>()?, vec![4., 5., 10., 11.]);
        // transposed operand without a copy: aᵀ @ a
        assert_eq!(a.t()?.matmul(&a)?.to_vec::<f32>()?, vec![17., 22., 27., 22., 29., 36., 27., 36., 45.]);
        // batch dims broadcast
        let bb = Tensor::stack(&[&b, &b.mul_scalar(2.0)?], 0)?;
        let r = a.matmul(&bb)?;
        assert_eq!(r.shape(), &[2, 2, 2]);
        assert_eq!(r.to_vec::<f32>()?, vec![4., 5., 10., 11., 8., 10., 20., 22.]);
        let e = a.matmul(&a).unwrap_err().to_string();
        assert!(e.contains("matmul") && e.contains("[2, 3]"), "{e}");
        Ok(())
    }

    #[test]
    fn matmul_gradient_hand_derived() -> crate::Result<()> {
        // L = Σ (A @ B): dL/dA = 1 @ Bᵀ (row sums of B), dL/dB = Aᵀ @ 1 (column sums of A)
        let a = Tensor::new(vec![1f64, 2., 3., 4.], &[2, 2])?.requires_grad_();
        let b = Tensor::new(vec![5f64, 6., 7., 8.], &[2, 2])?.requires_grad_();
        a.matmul(&b)?.sum_all()?.backward()?;
        assert_eq!(a.grad().unwrap().to_vec::<f64>()?, vec![11., 15., 11., 15.]);
        assert_eq!(b.grad().unwrap().to_vec::<f64>()?, vec![4., 4., 6., 6.]);
        Ok(())
    }
}
