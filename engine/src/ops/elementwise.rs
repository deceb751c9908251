//! Arithmetic, powers, exp/log and comparisons. Binary ops broadcast NumPy-style by expanding both
//! operands first (a view), so broadcasting is undone in one place: `expand`'s backward, `sum_to`.
//! `sub`, `minimum`, `abs`, `sign` and the comparisons other than `eq` and `gt` are compositions
//! of the backend's primitives, equal bit for bit to the kernels they replaced.

use crate::storage::{BinaryOp, CmpOp, UnaryOp};
use crate::{Result, Tensor};

impl Tensor {
    // ---- binary, broadcasting --------------------------------------------------------------------

    /// `a + b`. d/da = 1, d/db = 1.
    pub fn add(&self, rhs: &Tensor) -> Result<Tensor> {
        let (a, b) = self.broadcast_pair(rhs, "add")?;
        let out = a.binary_raw(&b, BinaryOp::Add, "add")?;
        Ok(Tensor::record(out, "add", &[&a, &b], |c| Ok(vec![Some(c.grad.clone()), Some(c.grad.clone())])))
    }
    /// `a − b`, composed as `a + (−b)` (the same in IEEE arithmetic, bit for bit).
    /// d/da = 1, d/db = −1.
    pub fn sub(&self, rhs: &Tensor) -> Result<Tensor> {
        self.add(&rhs.neg()?)
    }
    /// `a · b`. d/da = b, d/db = a.
    pub fn mul(&self, rhs: &Tensor) -> Result<Tensor> {
        let (a, b) = self.broadcast_pair(rhs, "mul")?;
        let out = a.binary_raw(&b, BinaryOp::Mul, "mul")?;
        Ok(Tensor::record(out, "mul", &[&a, &b], |c| {
            let [a, b] = c.inputs else { unreachable!() };
            Ok(vec![
                if c.needs[0] { Some(c.grad.mul(b)?) } else { None },
                if c.needs[1] { Some(c.grad.mul(a)?) } else { None },
            ])
        }))
    }
    /// `a / b`. d/da = 1/b, d/db = −a/b² = −out/b.
    pub fn div(&self, rhs: &Tensor) -> Result<Tensor> {
        let (a, b) = self.broadcast_pair(rhs, "div")?;
        let out = a.binary_raw(&b, BinaryOp::Div, "div")?;
        Ok(Tensor::record(out, "div", &[&a, &b], |c| {
            let b = &c.inputs[1];
            Ok(vec![
                if c.needs[0] { Some(c.grad.div(b)?) } else { None },
                if c.needs[1] { Some(c.grad.mul(c.out)?.div(b)?.neg()?) } else { None },
            ])
        }))
    }
    /// `a ^ b` elementwise. d/da = b·a^(b−1), d/db = out·ln a (needs a > 0).
    pub fn pow(&self, rhs: &Tensor) -> Result<Tensor> {
        let (a, b) = self.broadcast_pair(rhs, "pow")?;
        let out = a.binary_raw(&b, BinaryOp::Pow, "pow")?;
        Ok(Tensor::record(out, "pow", &[&a, &b], |c| {
            let [a, b] = c.inputs else { unreachable!() };
            Ok(vec![
                if c.needs[0] { Some(c.grad.mul(b)?.mul(&a.pow(&b.add_scalar(-1.0)?)?)?) } else { None },
                if c.needs[1] { Some(c.grad.mul(c.out)?.mul(&a.log()?)?) } else { None },
            ])
        }))
    }
    /// Elementwise max (a NaN wins). The gradient goes to the larger input; on a tie each gets half.
    pub fn maximum(&self, rhs: &Tensor) -> Result<Tensor> {
        let (a, b) = self.broadcast_pair(rhs, "maximum")?;
        let out = a.binary_raw(&b, BinaryOp::Maximum, "maximum")?;
        Ok(Tensor::record(out, "maximum", &[&a, &b], move |c| {
            let [a, b] = c.inputs else { unreachable!() };
            // mask = 1 where a wins, ½ on ties, 0 where b wins
            let mask = a.gt(b)?.add(&a.eq(b)?.mul_scalar(0.5)?)?;
            Ok(vec![
                if c.needs[0] { Some(c.grad.mul(&mask)?) } else { None },
                if c.needs[1] { Some(c.grad.mul(&mask.neg()?.add_scalar(1.0)?)?) } else { None },
            ])
        }))
    }
    /// Elementwise min, composed as `−max(−a, −b)` (the same bits, NaN and ties included). The
    /// gradient goes to the smaller input; on a tie each gets half.
    pub fn minimum(&self, rhs: &Tensor) -> Result<Tensor> {
        self.neg()?.maximum(&rhs.neg()?)?.neg()
    }

    // ---- with a scalar ---------------------------------------------------------------------------

    /// `x · m + a` with scalars. d/dx = m.
    pub fn affine(&self, m: f64, a: f64) -> Result<Tensor> {
        let out = self.unary_raw(UnaryOp::Affine { mul: m, add: a })?;
        Ok(Tensor::record(out, "affine", &[self], move |c| Ok(vec![Some(c.grad.mul_scalar(m)?)])))
    }
    pub fn add_scalar(&self, a: f64) -> Result<Tensor> {
        self.affine(1.0, a)
    }
    pub fn mul_scalar(&self, m: f64) -> Result<Tensor> {
        self.affine(m, 0.0)
    }
    pub fn div_scalar(&self, d: f64) -> Result<Tensor> {
        self.affine(1.0 / d, 0.0)
    }
    /// `x ^ p` for a scalar p. d/dx = p·x^(p−1).
    pub fn powf(&self, p: f64) -> Result<Tensor> {
        let out = self.unary_raw(UnaryOp::PowScalar(p))?;
        Ok(Tensor::record(out, "powf", &[self], move |c| {
            let x = &c.inputs[0];
            let d = if p == 2.0 { x.mul_scalar(2.0)? } else { x.powf(p - 1.0)?.mul_scalar(p)? };
            Ok(vec![Some(c.grad.mul(&d)?)])
        }))
    }
    /// `x²`.
    pub fn sqr(&self) -> Result<Tensor> {
        self.powf(2.0)
    }
    /// Clamp into [lo, hi] (use ±∞ for a one-sided clamp): max(x, lo), then min(·, hi) as
    /// −max(−·, −hi); an infinite bound is skipped (it would return x unchanged).
    /// d/dx = 1 inside [lo, hi] (boundaries included), else 0.
    pub fn clamp(&self, lo: f64, hi: f64) -> Result<Tensor> {
        let mut out = self.detach();
        if lo > f64::NEG_INFINITY {
            out = out.binary_raw(&self.scalar_like(lo).expand(self.shape())?, BinaryOp::Maximum, "clamp")?;
        }
        if hi < f64::INFINITY {
            let neg_hi = self.scalar_like(-hi).expand(self.shape())?;
            out = out
                .unary_raw(UnaryOp::Neg)?
                .binary_raw(&neg_hi, BinaryOp::Maximum, "clamp")?
                .unary_raw(UnaryOp::Neg)?;
        }
        Ok(Tensor::record(out, "clamp", &[self], move |c| {
            let x = &c.inputs[0];
            let inside = x.ge_scalar(lo)?.mul(&x.le_scalar(hi)?)?;
            Ok(vec![Some(c.grad.mul(&inside)?)])
        }))
    }

    // ---- unary -----------------------------------------------------------------------------------

    /// `−x`. d/dx = −1.
    pub fn neg(&self) -> Result<Tensor> {
        let out = self.unary_raw(UnaryOp::Neg)?;
        Ok(Tensor::record(out, "neg", &[self], |c| Ok(vec![Some(c.grad.neg()?)])))
    }
    /// `eˣ`. d/dx = out.
    pub fn exp(&self) -> Result<Tensor> {
        let out = self.unary_raw(UnaryOp::Exp)?;
        Ok(Tensor::record(out, "exp", &[self], |c| Ok(vec![Some(c.grad.mul(c.out)?)])))
    }
    /// Natural log. d/dx = 1/x.
    pub fn log(&self) -> Result<Tensor> {
        let out = self.unary_raw(UnaryOp::Log)?;
        Ok(Tensor::record(out, "log", &[self], |c| Ok(vec![Some(c.grad.div(&c.inputs[0])?)])))
    }
    /// `√x`. d/dx = 1/(2·out).
    pub fn sqrt(&self) -> Result<Tensor> {
        let out = self.unary_raw(UnaryOp::Sqrt)?;
        Ok(Tensor::record(out, "sqrt", &[self], |c| Ok(vec![Some(c.grad.div(&c.out.mul_scalar(2.0)?)?)])))
    }
    /// `1/x`. d/dx = −out².
    pub fn recip(&self) -> Result<Tensor> {
        let out = self.unary_raw(UnaryOp::Recip)?;
        Ok(Tensor::record(out, "recip", &[self], |c| Ok(vec![Some(c.grad.mul(&c.out.sqr()?)?.neg()?)])))
    }
    /// `|x|`, composed as `max(x, −x) + 0` (the `+ 0` turns −0 into +0; a NaN stays NaN).
    /// d/dx = sign(x), 0 at 0.
    pub fn abs(&self) -> Result<Tensor> {
        let out = self
            .detach()
            .binary_raw(&self.unary_raw(UnaryOp::Neg)?, BinaryOp::Maximum, "abs")?
            .unary_raw(UnaryOp::Affine { mul: 1.0, add: 0.0 })?;
        Ok(Tensor::record(out, "abs", &[self], |c| Ok(vec![Some(c.grad.mul(&c.inputs[0].sign()?)?)])))
    }
    /// −1, 0 or 1, composed as `[x > 0] − [0 > x]` (0 for a NaN; no gradient: piecewise constant).
    pub fn sign(&self) -> Result<Tensor> {
        let zero = self.scalar_like(0.0);
        self.gt(&zero)?.sub(&zero.gt(self)?)
    }

    // ---- comparisons: 0/1 results, not differentiable --------------------------------------------
    // Primitives: eq and gt. The others, bit for bit (a NaN compares false, so `ne` is true):
    // lt(a, b) = gt(b, a), ge = gt + eq, le(a, b) = ge(b, a), ne = 1 − eq.

    fn cmp(&self, rhs: &Tensor, op: CmpOp) -> Result<Tensor> {
        self.check_same(rhs, "comparison")?;
        let shape = crate::layout::broadcast_shape("comparison", self.shape(), rhs.shape())?;
        let (al, bl) = (self.layout().broadcast_to(&shape), rhs.layout().broadcast_to(&shape));
        let s = self.storage().cmp(&al, &rhs.storage(), &bl, op)?;
        Ok(Tensor::fresh(s, &shape))
    }
    pub fn eq(&self, rhs: &Tensor) -> Result<Tensor> {
        self.cmp(rhs, CmpOp::Eq)
    }
    pub fn gt(&self, rhs: &Tensor) -> Result<Tensor> {
        self.cmp(rhs, CmpOp::Gt)
    }
    pub fn ne(&self, rhs: &Tensor) -> Result<Tensor> {
        self.eq(rhs)?.unary_raw(UnaryOp::Affine { mul: -1.0, add: 1.0 })
    }
    pub fn lt(&self, rhs: &Tensor) -> Result<Tensor> {
        rhs.gt(self)
    }
    pub fn ge(&self, rhs: &Tensor) -> Result<Tensor> {
        let (gt, eq) = (self.gt(rhs)?, self.eq(rhs)?);
        gt.binary_raw(&eq, BinaryOp::Add, "ge")
    }
    pub fn le(&self, rhs: &Tensor) -> Result<Tensor> {
        rhs.ge(self)
    }
    pub fn gt_scalar(&self, v: f64) -> Result<Tensor> {
        self.gt(&self.scalar_like(v))
    }
    pub fn ge_scalar(&self, v: f64) -> Result<Tensor> {
        self.ge(&self.scalar_like(v))
    }
    pub fn lt_scalar(&self, v: f64) -> Result<Tensor> {
        self.lt(&self.scalar_like(v))
    }
    pub fn le_scalar(&self, v: f64) -> Result<Tensor> {
        self.le(&self.scalar_like(v))
    }
    pub fn eq_scalar(&self, v: f64) -> Result<Tensor> {
        self.eq(&self.scalar_like(v))
    }

    /// `cond ? a : b` elementwise, broadcasting all three (PyTorch's `torch.where`).
    /// d/da = cond, d/db = 1 − cond; `cond` gets no gradient.
    pub fn where_cond(cond: &Tensor, a: &Tensor, b: &Tensor) -> Result<Tensor> {
        a.check_same(b, "where")?;
        let s1 = crate::layout::broadcast_shape("where", a.shape(), b.shape())?;
        let shape = crate::layout::broadcast_shape("where", cond.shape(), &s1)?;
        let (a, b) = (a.expand(&shape)?, b.expand(&shape)?);
        let cl = cond.layout().broadcast_to(&shape);
        let s = cond.storage().where_cond(&cl, &a.storage(), a.layout(), &b.storage(), b.layout())?;
        let out = Tensor::fresh(s, &shape);
        let cond = cond.detach().expand(&shape)?;
        Ok(Tensor::record(out, "where", &[&a, &b], move |c| {
            let z = c.grad.zeros_like()?;
            Ok(vec![
                if c.needs[0] { Some(Tensor::where_cond(&cond, c.grad, &z)?) } else { None },
                if c.needs[1] { Some(Tensor::where_cond(&cond, &z, c.grad)?) } else { None },
            ])
        }))
    }
}

#[cfg(test)]
mod tests {
    use crate::{autograd::grad, Tensor};

    #[test]
    fn hand_derived_product_rule() -> crate::Result<()> {
        // f = a·b + a/b at a = 3, b = 2: df/da = b + 1/b = 2.5, df/db = a − a/b² = 2.25
        let a = Tensor::new(vec![3.0f64], &[1])?.requires_grad_();
        let b = Tensor::new(vec![2.0f64], &[1])?.requires_grad_();
        let f = a.mul(&b)?.add(&a.div(&b)?)?.sum_all()?;
        let g = grad(&[f], None, &[a, b], false)?;
        assert_eq!(g[0].item()?, 2.5);
        assert_eq!(g[1].item()?, 2.25);
        Ok(())
    }

    #[test]
    fn broadcasting_sums_back() -> crate::Result<()> {
        // out[i][j] = x[i][j] + b[j]: db[j] = Σ_i 1 = 2 rows
        let x = Tensor::zeros(&[2, 3]).requires_grad_();
        let b = Tensor::zeros(&[3]).requires_grad_();
        x.add(&b)?.sum_all()?.backward()?;
        assert_eq!(b.grad().unwrap().to_vec::<f32>()?, vec![2.0; 3]);
        assert_eq!(b.grad().unwrap().shape(), &[3]);
        Ok(())
    }

    #[test]
    fn shape_error_names_op_and_shapes() {
        let e = Tensor::zeros(&[2, 3]).add(&Tensor::zeros(&[4])).unwrap_err().to_string();
        assert!(e.starts_with("add") && e.contains("[2, 3]") && e.contains("[4]"), "{e}");
    }

    #[test]
    fn maximum_splits_ties() -> crate::Result<()> {
        let a = Tensor::new(vec![1.0f64, 2.0, 3.0], &[3])?.requires_grad_();
        let b = Tensor::new(vec![2.0f64, 2.0, 2.0], &[3])?.requires_grad_();
        a.maximum(&b)?.sum_all()?.backward()?;
        assert_eq!(a.grad().unwrap().to_vec::<f64>()?, vec![0.0, 0.5, 1.0]);
        assert_eq!(b.grad().unwrap().to_vec::<f64>()?, vec![1.0, 0.5, 0.0]);
        Ok(())
    }

    #[test]
    fn where_and_clamp() -> crate::Result<()> {
        let x = Tensor::new(vec![-2.0f64, 0.5, 3.0], &[3])?.requires_grad_();
        let y = x.clamp(-1.0, 1.0)?;
        assert_eq!(y.to_vec::<f64>()?, vec![-1.0, 0.5, 1.0]);
        y.sum_all()?.backward()?;
        assert_eq!(x.grad().unwrap().to_vec::<f64>()?, vec![0.0, 1.0, 0.0]);
        let w = Tensor::where_cond(&x.gt_scalar(0.0)?, &x, &x.zeros_like()?)?;
        assert_eq!(w.to_vec::<f64>()?, vec![0.0, 0.5, 3.0]);
        Ok(())
    }
}
