//! Losses, each the mean over the batch (PyTorch's `reduction='mean'`). All are compositions of
//! differentiable ops, so they have gradients of gradients.

use crate::{DType, Error, Result, Tensor};

fn same_shape(op: &'static str, a: &Tensor, b: &Tensor) -> Result<()> {
    if a.shape() != b.shape() {
        return Err(Error::shape(op, a.shape(), b.shape(), "prediction and target must have the same shape"));
    }
    Ok(())
}

impl Tensor {
    /// mean((x − y)²).
    pub fn mse_loss(&self, target: &Tensor) -> Result<Tensor> {
        same_shape("mse_loss", self, target)?;
        self.sub(target)?.sqr()?.mean_all()
    }
    /// Binary cross-entropy of probabilities p against targets t:
    /// −mean(t·log p + (1 − t)·log(1 − p)), logs clamped at −100 like PyTorch. The mean of
    /// [`Tensor::bce`].
    pub fn bce_loss(&self, target: &Tensor) -> Result<Tensor> {
        same_shape("bce_loss", self, target)?;
        self.bce(target)?.mean_all()
    }
    /// Elementwise binary cross-entropy −(t·max(log p, −100) + (1 − t)·max(log(1 − p), −100)).
    /// Its rule is PyTorch's, which stays finite where p is exactly 0 or 1:
    /// d/dp = g·(p − t) / max(p(1 − p), 1e-12), d/dt = g·(max(log(1 − p), −100) − max(log p, −100)).
    /// (Differentiating the composed forward instead would give 0·∞ = NaN at p = 0 and p = 1.)
    pub fn bce(&self, target: &Tensor) -> Result<Tensor> {
        same_shape("bce", self, target)?;
        self.check_same(target, "bce")?;
        let logs = |p: &Tensor| -> Result<(Tensor, Tensor)> {
            let lp = p.log()?.clamp(-100.0, f64::INFINITY)?;
            let l1p = p.neg()?.add_scalar(1.0)?.log()?.clamp(-100.0, f64::INFINITY)?;
            Ok((lp, l1p))
        };
        let out = crate::no_grad(|| -> Result<Tensor> {
            let (lp, l1p) = logs(self)?;
            let one_minus_t = target.neg()?.add_scalar(1.0)?;
            target.mul(&lp)?.add(&one_minus_t.mul(&l1p)?)?.neg()
        })?;
        Ok(Tensor::record(out, "bce", &[self, target], move |c| {
            let (p, t) = (&c.inputs[0], &c.inputs[1]);
            let dp = if c.needs[0] {
                let denom = p.mul(&p.neg()?.add_scalar(1.0)?)?.clamp(1e-12, f64::INFINITY)?;
                Some(c.grad.mul(&p.sub(t)?)?.div(&denom)?)
            } else {
                None
            };
            let dt = if c.needs[1] {
                let (lp, l1p) = logs(p)?;
                Some(c.grad.mul(&l1p.sub(&lp)?)?)
            } else {
                None
            };
            Ok(vec![dp, dt])
        }))
    }
    /// BCE on logits x, numerically stable: mean(softplus(x) − x·t), whose gradient is
    /// (sigmoid(x) − t)/n.
    pub fn bce_with_logits(&self, target: &Tensor) -> Result<Tensor> {
        same_shape("bce_with_logits", self, target)?;
        self.softplus()?.sub(&self.mul(target)?)?.mean_all()
    }
    /// Negative log-likelihood of log-probabilities [N, C] at i64 labels [N]: −mean(logp[i, yᵢ]).
    /// A label outside 0..C is an error on every device.
    pub fn nll_loss(&self, labels: &Tensor) -> Result<Tensor> {
        self.nll_loss_as("nll_loss", labels)
    }
    fn nll_loss_as(&self, op: &'static str, labels: &Tensor) -> Result<Tensor> {
        if self.rank() != 2 || labels.rank() != 1 || labels.shape()[0] != self.shape()[0] {
            return Err(Error::shape(op, self.shape(), labels.shape(), "expected log-probs [N, C] and labels [N]"));
        }
        if labels.dtype() != DType::I64 {
            return Err(Error::msg(format!("{op}: labels must have dtype i64, got {:?}", labels.dtype())));
        }
        self.pick_labels(op, labels)?.mean_all()?.neg()
    }
    /// Cross-entropy of logits [N, C] with hard i64 labels [N]: nll_loss(log_softmax(x)).
    pub fn cross_entropy(&self, labels: &Tensor) -> Result<Tensor> {
        if self.rank() != 2 {
            return Err(Error::shape(
                "cross_entropy",
                self.shape(),
                labels.shape(),
                "expected logits [N, C] and labels [N]",
            ));
        }
        self.log_softmax(1)?.nll_loss_as("cross_entropy", labels)
    }
    /// Cross-entropy of logits [N, C] with soft target distributions [N, C] (rows summing to 1,
    /// as in label smoothing and LSRO): −mean_i Σ_c t[i, c]·log_softmax(x)[i, c].
    pub fn cross_entropy_soft(&self, target: &Tensor) -> Result<Tensor> {
        same_shape("cross_entropy_soft", self, target)?;
        if self.rank() != 2 {
            return Err(Error::bad_shape("cross_entropy_soft", self.shape(), "expected logits [N, C]"));
        }
        target.mul(&self.log_softmax(1)?)?.sum(&[1], false)?.mean_all()?.neg()
    }
}

#[cfg(test)]
mod tests {
    use crate::Tensor;

    #[test]
    fn losses_match_hand_values() -> crate::Result<()> {
        let p = Tensor::new(vec![0.5f64, 0.25], &[2])?;
        let t = Tensor::new(vec![1.0f64, 0.0], &[2])?;
        // −(ln 0.5 + ln 0.75)/2
        let want = -(0.5f64.ln() + 0.75f64.ln()) / 2.0;
        assert!((p.bce_loss(&t)?.item()? - want).abs() < 1e-12);
        // the logits of the same probabilities give the same loss
        let logits = Tensor::new(vec![0.0f64, (1.0f64 / 3.0).ln()], &[2])?;
        assert!((logits.bce_with_logits(&t)?.item()? - want).abs() < 1e-12);
        // cross-entropy: uniform logits over 4 classes give ln 4
        let x = Tensor::zeros(&[3, 4]).to_dtype(crate::DType::F64)?;
        let y = Tensor::new(vec![0i64, 3, 1], &[3])?;
        assert!((x.cross_entropy(&y)?.item()? - 4f64.ln()).abs() < 1e-12);
        assert!((x.cross_entropy_soft(&y.one_hot(4)?.to_dtype(crate::DType::F64)?)?.item()? - 4f64.ln()).abs() < 1e-12);
        assert!((p.mse_loss(&t)?.item()? - (0.25 + 0.0625) / 2.0).abs() < 1e-12);
        Ok(())
    }

    #[test]
    fn bce_gradient_is_finite_at_zero_and_one() -> crate::Result<()> {
        // PyTorch's rule: d/dp mean(bce) = (p − t) / max(p(1 − p), 1e-12) / n, here n = 4.
        let p = Tensor::new(vec![0.0f64, 1.0, 0.25, 0.0], &[4])?.requires_grad_();
        let t = Tensor::new(vec![0.0f64, 1.0, 1.0, 1.0], &[4])?;
        let loss = p.bce_loss(&t)?;
        // the last entry predicts 0 for a target of 1: its loss is the clamp, 100
        assert!((loss.item()? - (-(0.25f64.ln()) + 100.0) / 4.0).abs() < 1e-12);
        loss.backward()?;
        let g = p.grad().unwrap().to_vec::<f64>()?;
        let want = [0.0, 0.0, (0.25 - 1.0) / (0.25 * 0.75) / 4.0, -1.0 / 1e-12 / 4.0];
        for (a, b) in g.iter().zip(want) {
            assert!((a - b).abs() <= 1e-9 * b.abs().max(1.0), "{g:?} vs {want:?}");
        }
        Ok(())
    }

    #[test]
    fn bce_with_logits_gradient_is_sigmoid_minus_target() -> crate::Result<()> {
        let x = Tensor::new(vec![2.0f64, -1.0], &[2])?.requires_grad_();
        let t = Tensor::new(vec![1.0f64, 1.0], &[2])?;
        x.bce_with_logits(&t)?.backward()?;
        let g = x.grad().unwrap().to_vec::<f64>()?;
        let s = |v: f64| 1.0 / (1.0 + (-v).exp());
        assert!((g[0] - (s(2.0) - 1.0) / 2.0).abs() < 1e-12 && (g[1] - (s(-1.0) - 1.0) / 2.0).abs() < 1e-12);
        Ok(())
    }
}
