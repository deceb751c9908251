//! Optimizers with PyTorch's `zero_grad()` / `step()` semantics: SGD with momentum and Adam.
//! Updates are fused in-place kernels on the parameters' storage (no graph is recorded).
//! `schedule` holds the original GAN code's learning-rate decay and momentum ramp.

use crate::storage::{AdamHyper, SgdHyper};
use crate::{Error, Result, Tensor};

pub trait Optimizer {
    /// Update every parameter that has a gradient.
    fn step(&mut self) -> Result<()>;
    /// Clear the parameters' gradients.
    fn zero_grad(&self);
    fn lr(&self) -> f64;
    fn set_lr(&mut self, lr: f64);
    /// Set the momentum (SGD's μ, Adam's β₁); used by momentum schedules.
    fn set_momentum(&mut self, m: f64);
    fn momentum(&self) -> f64;
    /// Buffers a checkpoint must hold to resume exactly.
    fn state(&self) -> Vec<(String, Tensor)>;
    fn load_state(&mut self, state: &[(String, Tensor)]) -> Result<()>;
}

fn check_param(p: &Tensor, op: &'static str) -> Result<()> {
    if !p.is_contiguous() || p.layout().offset != 0 || p.storage().len() != p.numel() {
        return Err(Error::msg(format!(
            "{op}: parameters must be whole contiguous leaf tensors (got a view of shape {:?})",
            p.shape()
        )));
    }
    Ok(())
}

fn check_grad(p: &Tensor, g: &Tensor, op: &'static str) -> Result<()> {
    if g.shape() != p.shape() {
        return Err(Error::shape(op, p.shape(), g.shape(), "gradient must have the parameter's shape"));
    }
    Ok(())
}

// ---- SGD ----------------------------------------------------------------------------------------

/// SGD with momentum, PyTorch's formulation: v ← μ·v + (g + λ·p); p ← p − lr·v
/// (Nesterov: p ← p − lr·(g + λ·p + μ·v)).
pub struct Sgd {
    params: Vec<Tensor>,
    velocity: Vec<Option<Tensor>>,
    pub lr: f64,
    pub momentum: f64,
    pub weight_decay: f64,
    pub nesterov: bool,
}

impl Sgd {
    pub fn new(params: Vec<Tensor>, lr: f64) -> Result<Self> {
        Sgd::with_momentum(params, lr, 0.0)
    }
    pub fn with_momentum(params: Vec<Tensor>, lr: f64, momentum: f64) -> Result<Self> {
        for p in &params {
            check_param(p, "Sgd")?;
        }
        let n = params.len();
        Ok(Sgd { params, velocity: vec![None; n], lr, momentum, weight_decay: 0.0, nesterov: false })
    }
    pub fn params(&self) -> &[Tensor] {
        &self.params
    }
    /// Momentum buffers by parameter index, for checkpoints (`velocity.3`).
    fn sgd_state(&self) -> Vec<(String, Tensor)> {
        self.velocity
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.as_ref().map(|v| (format!("velocity.{i}"), v.clone())))
            .collect()
    }
    /// Restore buffers saved by `state()`.
    fn sgd_load_state(&mut self, state: &[(String, Tensor)]) -> Result<()> {
        for (name, t) in state {
            let i: usize = name
                .strip_prefix("velocity.")
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| Error::msg(format!("Sgd::load_state: unexpected entry '{name}'")))?;
            let p = self.params.get(i).ok_or_else(|| {
                Error::msg(format!("Sgd::load_state: '{name}' but only {} parameters", self.params.len()))
            })?;
            if p.shape() != t.shape() {
                return Err(Error::shape("Sgd::load_state", p.shape(), t.shape(), format!("entry '{name}'")));
            }
            let fresh = p.zeros_like()?;
            fresh.copy_from(&t.to_dtype(p.dtype())?)?;
            self.velocity[i] = Some(fresh);
        }
        Ok(())
    }
}

impl Optimizer for Sgd {
    fn step(&mut self) -> Result<()> {
        let h =
            SgdHyper { lr: self.lr, momentum: self.momentum, weight_decay: self.weight_decay, nesterov: self.nesterov };
        for (p, v) in self.params.iter().zip(self.velocity.iter_mut()) {
            let Some(g) = p.grad() else { continue };
            check_grad(p, &g, "Sgd")?;
            if self.momentum != 0.0 && v.is_none() {
                *v = Some(p.zeros_like()?);
            }
            let gs = g.storage();
            let mut ps = p.storage_mut();
            match v {
                Some(v) if self.momentum != 0.0 => ps.sgd_step_(&gs, g.layout(), Some(&mut v.storage_mut()), h)?,
                _ => ps.sgd_step_(&gs, g.layout(), None, h)?,
            }
        }
        Ok(())
    }
    fn zero_grad(&self) {
        self.params.iter().for_each(|p| p.zero_grad());
    }
    fn lr(&self) -> f64 {
        self.lr
    }
    fn set_lr(&mut self, lr: f64) {
        self.lr = lr;
    }
    fn set_momentum(&mut self, m: f64) {
        self.momentum = m;
    }
    fn momentum(&self) -> f64 {
        self.momentum
    }
    fn state(&self) -> Vec<(String, Tensor)> {
        self.sgd_state()
    }
    fn load_state(&mut self, state: &[(String, Tensor)]) -> Result<()> {
        self.sgd_load_state(state)
    }
}

// ---- Adam ---------------------------------------------------------------------------------------

/// Adam (Kingma & Ba 2015) with bias correction; weight decay as L2 (Adam) or decoupled (AdamW).
/// Each parameter keeps its own step count, as PyTorch's `state['step']`: a parameter that had no
/// gradient for some steps is not updated then, and its bias correction counts only its own updates.
pub struct Adam {
    params: Vec<Tensor>,
    m: Vec<Tensor>,
    v: Vec<Tensor>,
    /// Updates applied to each parameter so far (the `t` of its bias correction 1 − βᵗ).
    t: Vec<u64>,
    pub lr: f64,
    pub betas: (f64, f64),
    pub eps: f64,
    pub weight_decay: f64,
    pub decoupled: bool,
}

impl Adam {
    pub fn new(params: Vec<Tensor>, lr: f64, betas: (f64, f64)) -> Result<Self> {
        for p in &params {
            check_param(p, "Adam")?;
        }
        let m = params.iter().map(|p| p.zeros_like()).collect::<Result<_>>()?;
        let v = params.iter().map(|p| p.zeros_like()).collect::<Result<_>>()?;
        let t = vec![0; params.len()];
        Ok(Adam { params, m, v, t, lr, betas, eps: 1e-8, weight_decay: 0.0, decoupled: false })
    }
    /// Updates applied to each parameter so far, by parameter index.
    pub fn steps(&self) -> &[u64] {
        &self.t
    }
    /// Moment estimates and step counts by parameter index (`m.3`, `v.3`, `step.3`), for checkpoints.
    fn adam_state(&self) -> Vec<(String, Tensor)> {
        let mut v: Vec<(String, Tensor)> = Vec::new();
        for (i, ((m, s), &t)) in self.m.iter().zip(&self.v).zip(&self.t).enumerate() {
            v.push((format!("m.{i}"), m.clone()));
            v.push((format!("v.{i}"), s.clone()));
            v.push((format!("step.{i}"), Tensor::new(vec![t as i64], &[1]).expect("one element")));
        }
        v
    }
    /// Restore what `state()` saved. Checkpoints written before the step count was kept per
    /// parameter hold one global `t`; it is given to every parameter (what those versions used).
    fn adam_load_state(&mut self, state: &[(String, Tensor)]) -> Result<()> {
        let count = |name: &str, t: &Tensor| -> Result<u64> {
            let c = t.item()?;
            if c < 0.0 || c.fract() != 0.0 {
                return Err(Error::msg(format!("Adam::load_state: entry '{name}' is {c}, expected a step count")));
            }
            Ok(c as u64)
        };
        for (name, t) in state {
            if name == "t" {
                let c = count(name, t)?;
                self.t.iter_mut().for_each(|s| *s = c);
                continue;
            }
            let bad = || {
                Error::msg(format!(
                    "Adam::load_state: unexpected entry '{name}' (expected m.I, v.I or step.I for {} parameters)",
                    self.params.len()
                ))
            };
            let (kind, idx) = name.split_once('.').ok_or_else(bad)?;
            let i: usize = idx.parse().map_err(|_| bad())?;
            if kind == "step" {
                let c = count(name, t)?;
                *self.t.get_mut(i).ok_or_else(bad)? = c;
                continue;
            }
            let dst = match kind {
                "m" => self.m.get(i),
                "v" => self.v.get(i),
                _ => None,
            }
            .ok_or_else(bad)?;
            dst.copy_from(&t.to_dtype(dst.dtype())?)?;
        }
        Ok(())
    }
}

impl Optimizer for Adam {
    fn step(&mut self) -> Result<()> {
        for (((p, m), v), t) in self.params.iter().zip(&self.m).zip(&self.v).zip(self.t.iter_mut()) {
            let Some(g) = p.grad() else { continue };
            check_grad(p, &g, "Adam")?;
            *t += 1;
            let h = AdamHyper {
                lr: self.lr,
                beta1: self.betas.0,
                beta2: self.betas.1,
                eps: self.eps,
                weight_decay: self.weight_decay,
                decoupled: self.decoupled,
                step: *t,
            };
            let gs = g.storage();
            p.storage_mut().adam_step_(&gs, g.layout(), &mut m.storage_mut(), &mut v.storage_mut(), h)?;
        }
        Ok(())
    }
    fn zero_grad(&self) {
        self.params.iter().for_each(|p| p.zero_grad());
    }
    fn lr(&self) -> f64 {
        self.lr
    }
    fn set_lr(&mut self, lr: f64) {
        self.lr = lr;
    }
    fn set_momentum(&mut self, m: f64) {
        self.betas.0 = m;
    }
    fn momentum(&self) -> f64 {
        self.betas.0
    }
    fn state(&self) -> Vec<(String, Tensor)> {
        self.adam_state()
    }
    fn load_state(&mut self, state: &[(String, Tensor)]) -> Result<()> {
        self.adam_load_state(state)
    }
}

// ---- schedules ----------------------------------------------------------------------------------

pub mod schedule {
    //! The schedules of the original GAN code (pylearn2): the learning rate divided by a constant
    //! factor after every step, with a floor (`ExponentialDecay`), and the momentum raised linearly
    //! from a start to a final value by a given epoch (`MomentumAdjustor`).

    /// lr(t) = max(lr₀ / factorᵗ, min_lr) after t steps.
    #[derive(Clone, Copy, Debug)]
    pub struct ExponentialDecay {
        pub lr0: f64,
        pub factor: f64,
        pub min_lr: f64,
    }

    impl ExponentialDecay {
        pub fn at(&self, step: u64) -> f64 {
            (self.lr0 / self.factor.powf(step as f64)).max(self.min_lr)
        }
    }

    /// momentum(e) rises linearly from `start` at epoch `start_epoch` to `end` at
    /// `saturate_epoch`, and stays there.
    #[derive(Clone, Copy, Debug)]
    pub struct MomentumRamp {
        pub start: f64,
        pub end: f64,
        pub start_epoch: f64,
        pub saturate_epoch: f64,
    }

    impl MomentumRamp {
        pub fn at(&self, epoch: f64) -> f64 {
            if epoch <= self.start_epoch {
                return self.start;
            }
            if epoch >= self.saturate_epoch {
                return self.end;
            }
            let a = (epoch - self.start_epoch) / (self.saturate_epoch - self.start_epoch);
            self.start + a * (self.end - self.start)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::schedule::*;
    use super::*;

    #[test]
    fn sgd_momentum_matches_hand_steps() -> Result<()> {
        // minimise p²/2 (grad = p) from p = 1 with lr 0.1, μ 0.9:
        // v1 = 1, p1 = 0.9; v2 = 0.9 + 0.9 = 1.8, p2 = 0.9 − 0.18 = 0.72
        let p = Tensor::new(vec![1.0f64], &[1])?.requires_grad_();
        let mut opt = Sgd::with_momentum(vec![p.clone()], 0.1, 0.9)?;
        for want in [0.9, 0.72] {
            opt.zero_grad();
            p.sqr()?.mul_scalar(0.5)?.sum_all()?.backward()?;
            opt.step()?;
            assert!((p.item()? - want).abs() < 1e-12, "{} vs {want}", p.item()?);
        }
        Ok(())
    }

    #[test]
    fn adam_first_step_is_lr_sized() -> Result<()> {
        // With bias correction the first Adam step moves each parameter by ≈ lr·sign(grad).
        let p = Tensor::new(vec![1.0f64, -2.0], &[2])?.requires_grad_();
        let mut opt = Adam::new(vec![p.clone()], 0.01, (0.9, 0.999))?;
        p.sqr()?.sum_all()?.backward()?;
        opt.step()?;
        let v = p.to_vec::<f64>()?;
        assert!((v[0] - 0.99).abs() < 1e-6 && (v[1] + 1.99).abs() < 1e-6, "{v:?}");
        Ok(())
    }

    #[test]
    fn adam_counts_steps_per_parameter() -> Result<()> {
        // `b` gets its first gradient at the third step: its bias correction must use t = 1, so
        // it moves by ≈ lr like a first step (with the global t = 3 it would move by ≈ 0.64·lr).
        let a = Tensor::new(vec![1.0f64], &[1])?.requires_grad_();
        let b = Tensor::new(vec![1.0f64], &[1])?.requires_grad_();
        let mut opt = Adam::new(vec![a.clone(), b.clone()], 0.01, (0.9, 0.999))?;
        for k in 0..3 {
            opt.zero_grad();
            let loss = if k < 2 { a.sqr()?.sum_all()? } else { a.sqr()?.add(&b.sqr()?)?.sum_all()? };
            loss.backward()?;
            opt.step()?;
        }
        assert_eq!(opt.steps(), &[3, 1]);
        assert!((b.item()? - 0.99).abs() < 1e-6, "b = {}", b.item()?);
        // the counts travel through the checkpoint state ...
        let state = opt.state();
        let mut fresh = Adam::new(vec![a.clone(), b.clone()], 0.01, (0.9, 0.999))?;
        fresh.load_state(&state)?;
        assert_eq!(fresh.steps(), &[3, 1]);
        // ... and a checkpoint with one global count (older versions) gives it to every parameter
        let mut old: Vec<(String, Tensor)> = state.into_iter().filter(|(n, _)| !n.starts_with("step.")).collect();
        old.push(("t".into(), Tensor::new(vec![7i64], &[1])?));
        fresh.load_state(&old)?;
        assert_eq!(fresh.steps(), &[7, 7]);
        let e = fresh.load_state(&[("step.5".into(), Tensor::new(vec![1i64], &[1])?)]).unwrap_err().to_string();
        assert!(e.contains("step.5") && e.contains("2 parameters"), "{e}");
        Ok(())
    }

    #[test]
    fn schedules() {
        let d = ExponentialDecay { lr0: 0.1, factor: 1.000004, min_lr: 1e-6 };
        assert!((d.at(100_000) - 0.1 / 1.000004f64.powi(100_000)).abs() < 1e-12);
        assert_eq!(d.at(100_000_000), 1e-6);
        let m = MomentumRamp { start: 0.5, end: 0.7, start_epoch: 1.0, saturate_epoch: 250.0 };
        assert_eq!(m.at(0.0), 0.5);
        assert!((m.at(125.5) - 0.6).abs() < 1e-12);
        assert_eq!(m.at(300.0), 0.7);
    }
}
