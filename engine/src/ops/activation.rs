//! Activations: relu, leaky_relu, sigmoid, tanh, softplus, softmax, log_softmax, maxout, dropout.
//! relu, leaky_relu, sigmoid and tanh run one fused kernel forward (kept because it pays: the
//! measurement is in `storage.rs`); each is tested here against its composition from the other
//! primitives. Their backward rules are tensor expressions.

use crate::storage::{Storage, UnaryOp};
use crate::{Error, Generator, Result, Tensor};

impl Tensor {
    /// max(x, 0). d/dx = 1 where x > 0, else 0 (0 at x = 0, as PyTorch).
    pub fn relu(&self) -> Result<Tensor> {
        let out = self.unary_raw(UnaryOp::Relu)?;
        Ok(Tensor::record(out, "relu", &[self], |c| Ok(vec![Some(c.grad.mul(&c.inputs[0].gt_scalar(0.0)?)?)])))
    }
    /// x where x > 0, else slope·x. d/dx = 1 where x > 0, else slope.
    pub fn leaky_relu(&self, slope: f64) -> Result<Tensor> {
        let out = self.unary_raw(UnaryOp::LeakyRelu(slope))?;
        Ok(Tensor::record(out, "leaky_relu", &[self], move |c| {
            // mask = 1 where x > 0, else slope
            let x = &c.inputs[0];
            let mask = Tensor::where_cond(&x.gt_scalar(0.0)?, &x.scalar_like(1.0), &x.scalar_like(slope))?;
            Ok(vec![Some(c.grad.mul(&mask)?)])
        }))
    }
    /// 1 / (1 + e^−x), computed stably. d/dx = out·(1 − out).
    pub fn sigmoid(&self) -> Result<Tensor> {
        let out = self.unary_raw(UnaryOp::Sigmoid)?;
        Ok(Tensor::record(out, "sigmoid", &[self], |c| {
            let s = c.out;
            Ok(vec![Some(c.grad.mul(&s.mul(&s.neg()?.add_scalar(1.0)?)?)?)])
        }))
    }
    /// tanh x. d/dx = 1 − out².
    pub fn tanh(&self) -> Result<Tensor> {
        let out = self.unary_raw(UnaryOp::Tanh)?;
        Ok(Tensor::record(out, "tanh", &[self], |c| Ok(vec![Some(c.grad.mul(&c.out.sqr()?.neg()?.add_scalar(1.0)?)?)])))
    }
    /// log(1 + eˣ), computed as relu(x) + log(1 + e^−|x|). d/dx = sigmoid(x).
    pub fn softplus(&self) -> Result<Tensor> {
        let out = crate::autograd::no_grad(|| -> Result<Tensor> {
            self.relu()?.add(&self.abs()?.neg()?.exp()?.add_scalar(1.0)?.log()?)
        })?;
        Ok(Tensor::record(out, "softplus", &[self], |c| Ok(vec![Some(c.grad.mul(&c.inputs[0].sigmoid()?)?)])))
    }
    /// log softmax along `dim`: x − logsumexp(x).
    pub fn log_softmax(&self, dim: isize) -> Result<Tensor> {
        self.sub(&self.logsumexp(&[dim], true)?)
    }
    /// softmax along `dim`: exp(x − logsumexp(x)).
    pub fn softmax(&self, dim: isize) -> Result<Tensor> {
        self.log_softmax(dim)?.exp()
    }
    /// Maxout over groups of `pieces` consecutive features of the last dim:
    /// [.., units·pieces] → [.., units], unit i = max of features i·pieces … i·pieces + pieces − 1
    /// (pylearn2's grouping). The gradient goes to the winning piece.
    pub fn maxout(&self, pieces: usize) -> Result<Tensor> {
        let last =
            *self.shape().last().ok_or_else(|| Error::bad_shape("maxout", self.shape(), "needs at least one dim"))?;
        if pieces == 0 || last % pieces != 0 {
            return Err(Error::bad_shape(
                "maxout",
                self.shape(),
                format!("last dim must be a multiple of pieces = {pieces}"),
            ));
        }
        let mut shape: Vec<isize> = self.shape().iter().map(|&d| d as isize).collect();
        *shape.last_mut().unwrap() = (last / pieces) as isize;
        shape.push(pieces as isize);
        self.reshape(&shape)?.max(&[-1], false)
    }
    /// Inverted dropout: zero each element with probability `p` and scale the rest by 1/(1 − p);
    /// identity when not training. The mask is drawn from `g`. d/dx = mask.
    pub fn dropout(&self, p: f64, training: bool, g: &mut Generator) -> Result<Tensor> {
        if !(0.0..1.0).contains(&p) {
            return Err(Error::msg(format!("dropout: probability {p} must be in [0, 1)")));
        }
        if !training || p == 0.0 {
            return Ok(self.clone());
        }
        let s = Storage::dropout_mask(self.numel(), 1.0 - p, g.next_u64(), self.dtype(), &self.device())?;
        let mask = Tensor::fresh(s, self.shape());
        self.mul(&mask)
    }
}

#[cfg(test)]
mod tests {
    use crate::{DType, Generator, Tensor};

    /// The compositions the fused kernels replace, from the backend's other primitives.
    mod composed {
        use crate::{Result, Tensor};
        pub fn relu(x: &Tensor) -> Result<Tensor> {
            Tensor::where_cond(&x.gt_scalar(0.0)?, x, &x.scalar_like(0.0))
        }
        pub fn leaky_relu(x: &Tensor, s: f64) -> Result<Tensor> {
            Tensor::where_cond(&x.gt_scalar(0.0)?, x, &x.mul(&x.scalar_like(s))?)
        }
        /// The kernel's two stable branches: 1/(1 + e^−x) for x ≥ 0, eˣ/(1 + eˣ) below.
        pub fn sigmoid(x: &Tensor) -> Result<Tensor> {
            let pos = x.neg()?.exp()?.add_scalar(1.0)?.recip()?;
            let e = x.exp()?;
            Tensor::where_cond(&x.ge_scalar(0.0)?, &pos, &e.div(&e.add_scalar(1.0)?)?)
        }
        /// 2σ(2x) − 1.
        pub fn tanh(x: &Tensor) -> Result<Tensor> {
            sigmoid(&x.mul_scalar(2.0)?)?.affine(2.0, -1.0)
        }
    }

    /// relu, leaky_relu and sigmoid equal their compositions bit for bit (±0 and ±∞ included); tanh (libm's) within rounding of 2σ(2x) − 1. In f32 and f64.
    #[test]
    fn fused_kernels_equal_their_composed_references() -> crate::Result<()> {
        let mut v: Vec<f64> = vec![0.0, -0.0, 1e-30, -1e-30, 0.5, -0.5, 3.0, -3.0, 20.0, -20.0, 90.0, -90.0];
        v.extend([800.0, -800.0, f64::INFINITY, f64::NEG_INFINITY]);
        v.extend(Tensor::randn(&[64], &mut Generator::new(5)).mul_scalar(4.0)?.to_dtype(DType::F64)?.to_vec::<f64>()?);
        for dt in [DType::F32, DType::F64] {
            let x = Tensor::new(v.clone(), &[v.len()])?.to_dtype(dt)?;
            let bits = |t: &Tensor| -> crate::Result<Vec<u64>> {
                Ok(t.to_dtype(DType::F64)?.to_vec::<f64>()?.iter().map(|f| f.to_bits()).collect())
            };
            assert_eq!(bits(&x.relu()?)?, bits(&composed::relu(&x)?)?, "relu {dt:?}");
            assert_eq!(bits(&x.leaky_relu(0.2)?)?, bits(&composed::leaky_relu(&x, 0.2)?)?, "leaky_relu {dt:?}");
            assert_eq!(bits(&x.sigmoid()?)?, bits(&composed::sigmoid(&x)?)?, "sigmoid {dt:?}");
            let tol = if dt == DType::F32 { 1e-6 } else { 1e-15 };
            let ft = x.tanh()?.to_dtype(DType::F64)?.to_vec::<f64>()?;
            let ct = composed::tanh(&x)?.to_dtype(DType::F64)?.to_vec::<f64>()?;
            for (i, (a, b)) in ft.iter().zip(&ct).enumerate() {
                assert!((a - b).abs() <= tol, "tanh {dt:?} at {}: {a} vs {b}", v[i]);
            }
        }
        Ok(())
    }

    #[test]
    fn activations_values() -> crate::Result<()> {
        let x = Tensor::new(vec![-1.0f64, 0.0, 2.0], &[3])?;
        assert_eq!(x.relu()?.to_vec::<f64>()?, vec![0.0, 0.0, 2.0]);
        assert_eq!(x.leaky_relu(0.2)?.to_vec::<f64>()?, vec![-0.2, 0.0, 2.0]);
        let s = x.sigmoid()?.to_vec::<f64>()?;
        assert!((s[1] - 0.5).abs() < 1e-15 && (s[2] - 1.0 / (1.0 + (-2f64).exp())).abs() < 1e-15);
        let sp = Tensor::new(vec![-800.0f64, 0.0, 800.0], &[3])?.softplus()?.to_vec::<f64>()?;
        assert!(sp[0] >= 0.0 && sp[0] < 1e-300 && (sp[1] - 2f64.ln()).abs() < 1e-15 && sp[2] == 800.0);
        let sm = x.softmax(0)?.to_vec::<f64>()?;
        assert!((sm.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        Ok(())
    }

    #[test]
    fn relu_gradient_at_zero_is_zero() -> crate::Result<()> {
        let x = Tensor::new(vec![-1.0f64, 0.0, 2.0], &[3])?.requires_grad_();
        x.relu()?.sum_all()?.backward()?;
        assert_eq!(x.grad().unwrap().to_vec::<f64>()?, vec![0.0, 0.0, 1.0]);
        Ok(())
    }

    #[test]
    fn maxout_groups_consecutive_pieces() -> crate::Result<()> {
        let x = Tensor::new(vec![1f32, 5., 2., 0., 3., 4.], &[1, 6])?;
        assert_eq!(x.maxout(3)?.to_vec::<f32>()?, vec![5., 4.]);
        assert_eq!(x.maxout(2)?.to_vec::<f32>()?, vec![5., 2., 4.]);
        Ok(())
    }

    #[test]
    fn dropout_is_seeded_and_unbiased() -> crate::Result<()> {
        let x = Tensor::ones(&[10000]);
        let a = x.dropout(0.5, true, &mut Generator::new(3))?.to_vec::<f32>()?;
        let b = x.dropout(0.5, true, &mut Generator::new(3))?.to_vec::<f32>()?;
        assert_eq!(a, b);
        let mean = a.iter().sum::<f32>() / a.len() as f32;
        assert!((mean - 1.0).abs() < 0.05, "mean {mean}");
        assert!(a.iter().all(|&v| v == 0.0 || v == 2.0));
        Ok(())
    }
}
