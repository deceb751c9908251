//! Generative Adversarial Nets (Goodfellow et al., 2014): the MNIST experiment, as configured in
//! the authors' code (pylearn2, `mnist.yaml` of goodfeli/adversarial).
//!
//! A generator G maps uniform noise z to images; a discriminator D (maxout layers with dropout)
//! tells training images from G's. They play the minimax game
//!
//! ```text
//! min_G max_D  E_x[log D(x)] + E_z[log(1 − D(G(z)))]
//! ```
//!
//! with one D update and one G update per minibatch (k = 1). As in the authors' code, both
//! updates are computed from the same minibatch and the same forward pass, and applied together
//! (`k: None`). Algorithm 1 of the paper instead alternates: k D updates, each on its own
//! minibatch, then one G update on fresh noise with D frozen (`k: Some(k)`).
//! D ends in a logit; its sigmoid is folded into the losses (BCE with logits), which is the same
//! function, computed without overflow.
//!
//! Here: config, generator, discriminator, noise, the training step. The training loop with
//! checkpoints and exact resume is in `training.rs` beside this file. Left out: the evaluation,
//! pictures and report (see `experiments/goodfellow2014.rs`).
//!
//! Shapes: B = batch (100), Z = noise dim (100), D = pixels (784 = 28·28).

use std::path::{Path, PathBuf};
use std::time::Instant;

use minmax_engine::nn::init::Init;
use minmax_engine::nn::{Linear, Maxout, Module};
use minmax_engine::optim::schedule::{ExponentialDecay, MomentumRamp};
use minmax_engine::optim::{Adam, Optimizer, Sgd};
use minmax_engine::{Device, Error, Generator as Rng, Result, Tensor};

use super::GeneratorLoss;
use crate::data::Dataset;
use crate::train::{apply, gradients, update, StepStats};

mod training;
pub use training::*;

// =================================================================================================
// Configuration
// =================================================================================================

#[derive(Clone, Debug)]
pub struct Config {
    pub z_dim: usize,
    pub g_hidden: usize,
    pub d_units: usize,
    pub d_pieces: usize,
    pub batch_size: usize,
    pub lr: f64,
    /// The learning rate is divided by this after every step …
    pub lr_decay: f64,
    /// … down to this floor.
    pub min_lr: f64,
    pub momentum_start: f64,
    pub momentum_end: f64,
    /// Epoch by which the momentum reaches `momentum_end` (250 in the paper's run).
    pub momentum_saturate_epoch: f64,
    /// Dropout keep probabilities of D: on its input, and on its hidden layers.
    pub d_keep_input: f64,
    pub d_keep_hidden: f64,
    /// Weights of G are drawn from U(±g_irange), of D from U(±d_irange); biases start at 0
    /// (except G's output bias, set from the training pixel means).
    pub g_irange: f64,
    pub d_irange: f64,
    pub g_loss: GeneratorLoss,
    pub epochs: usize,
    /// Decay of an exponential moving average of G's weights (Polyak averaging), which is then
    /// the generator that is sampled and evaluated; 0 turns it off (as in the paper, which
    /// sampled G's weights as trained). Training itself is unchanged by it.
    pub g_ema: f64,
    pub optimizer: OptimizerKind,
    /// `None`: the authors' code's simultaneous update (one D and one G update from the same
    /// forward pass). `Some(k)`: Algorithm 1's alternating updates, k D updates per G update.
    pub k: Option<usize>,
    /// Adam only: the learning rate falls linearly with the epoch, from `lr` in epoch 1 to
    /// `lr / epochs` in the last (SGD has the paper's exponential decay instead).
    pub anneal: bool,
}

/// How both players are trained.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum OptimizerKind {
    /// The paper's: SGD with momentum, the learning-rate decay and the momentum ramp above.
    Sgd,
    /// Adam with a constant learning rate (the usual choice since DCGAN).
    Adam { lr: f64, beta1: f64, beta2: f64 },
}

impl OptimizerKind {
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "sgd" => Ok(OptimizerKind::Sgd),
            "adam" => Ok(OptimizerKind::Adam { lr: 1e-3, beta1: 0.5, beta2: 0.999 }),
            _ => Err(Error::msg(format!("--optimizer: '{s}' is not an optimizer (expected sgd or adam)"))),
        }
    }
    fn build(self, params: Vec<Tensor>, cfg: &Config) -> Result<Box<dyn Optimizer>> {
        Ok(match self {
            OptimizerKind::Sgd => Box::new(Sgd::with_momentum(params, cfg.lr, cfg.momentum_start)?),
            OptimizerKind::Adam { lr, beta1, beta2 } => Box::new(Adam::new(params, lr, (beta1, beta2))?),
        })
    }
    fn from_json(v: &serde_json::Value) -> std::result::Result<Self, String> {
        if v.as_str() == Some("sgd") {
            return Ok(OptimizerKind::Sgd);
        }
        let a = v.get("adam").ok_or_else(|| format!("'optimizer' is {v}, expected \"sgd\" or {{\"adam\": …}}"))?;
        let f = |k: &str| a.get(k).and_then(|x| x.as_f64()).ok_or_else(|| format!("'optimizer.adam.{k}' is missing"));
        Ok(OptimizerKind::Adam { lr: f("lr")?, beta1: f("beta1")?, beta2: f("beta2")? })
    }
    fn to_json(self) -> serde_json::Value {
        match self {
            OptimizerKind::Sgd => serde_json::json!("sgd"),
            OptimizerKind::Adam { lr, beta1, beta2 } => {
                serde_json::json!({"adam": {"lr": lr, "beta1": beta1, "beta2": beta2}})
            }
        }
    }
}

impl Config {
    /// The values of the authors' `mnist.yaml`. The momentum ramp is scaled to the run length
    /// by `scaled_to`.
    pub fn paper() -> Self {
        Config {
            z_dim: 100,
            g_hidden: 1200,
            d_units: 240,
            d_pieces: 5,
            batch_size: 100,
            lr: 0.1,
            lr_decay: 1.000004,
            min_lr: 1e-6,
            momentum_start: 0.5,
            momentum_end: 0.7,
            momentum_saturate_epoch: 250.0,
            d_keep_input: 0.8,
            d_keep_hidden: 0.5,
            g_irange: 0.05,
            d_irange: 0.005,
            g_loss: GeneratorLoss::NonSaturating,
            epochs: 250,
            g_ema: 0.0,
            optimizer: OptimizerKind::Sgd,
            k: None,
            anneal: false,
        }
    }
    /// The paper's ramps momentum over 250 epochs; a shorter run reaches the final momentum
    /// at the same fraction of the run (250/`PAPER_EPOCHS`) of its own length.
    pub fn scaled_to(mut self, epochs: usize) -> Self {
        self.epochs = epochs.max(1);
        self.momentum_saturate_epoch = (self.epochs as f64 * 250.0 / PAPER_EPOCHS).max(1.0);
        self
    }
    pub fn lr_schedule(&self) -> ExponentialDecay {
        ExponentialDecay { lr0: self.lr, factor: self.lr_decay, min_lr: self.min_lr }
    }
    pub fn momentum_schedule(&self) -> MomentumRamp {
        MomentumRamp {
            start: self.momentum_start,
            end: self.momentum_end,
            start_epoch: 1.0,
            saturate_epoch: self.momentum_saturate_epoch,
        }
    }
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "z_dim": self.z_dim, "g_hidden": self.g_hidden, "d_units": self.d_units, "d_pieces": self.d_pieces,
            "batch_size": self.batch_size, "lr": self.lr, "lr_decay": self.lr_decay, "min_lr": self.min_lr,
            "momentum_start": self.momentum_start, "momentum_end": self.momentum_end,
            "momentum_saturate_epoch": self.momentum_saturate_epoch, "d_keep_input": self.d_keep_input,
            "d_keep_hidden": self.d_keep_hidden, "g_irange": self.g_irange, "d_irange": self.d_irange,
            "g_loss": self.g_loss.name(), "epochs": self.epochs, "g_ema": self.g_ema, "optimizer": self.optimizer.to_json(),
            "k": self.k.unwrap_or(1), "update": if self.k.is_some() { "alternating" } else { "simultaneous" },
            "anneal": if self.anneal { "linear" } else { "none" },
        })
    }
    /// The configuration `to_json` wrote (a checkpoint's `config` metadata). Every field must be
    /// there: an error names the first one that is missing or of the wrong type.
    pub fn from_json(v: &serde_json::Value) -> std::result::Result<Config, String> {
        let num =
            |k: &str| v.get(k).and_then(|x| x.as_f64()).ok_or_else(|| format!("'{k}' is missing or not a number"));
        let int = |k: &str| {
            v.get(k)
                .and_then(|x| x.as_u64())
                .map(|x| x as usize)
                .ok_or_else(|| format!("'{k}' is missing or not an integer"))
        };
        let g_loss = v.get("g_loss").and_then(|x| x.as_str()).ok_or("'g_loss' is missing")?;
        Ok(Config {
            z_dim: int("z_dim")?,
            g_hidden: int("g_hidden")?,
            d_units: int("d_units")?,
            d_pieces: int("d_pieces")?,
            batch_size: int("batch_size")?,
            lr: num("lr")?,
            lr_decay: num("lr_decay")?,
            min_lr: num("min_lr")?,
            momentum_start: num("momentum_start")?,
            momentum_end: num("momentum_end")?,
            momentum_saturate_epoch: num("momentum_saturate_epoch")?,
            d_keep_input: num("d_keep_input")?,
            d_keep_hidden: num("d_keep_hidden")?,
            g_irange: num("g_irange")?,
            d_irange: num("d_irange")?,
            g_loss: GeneratorLoss::parse(g_loss).map_err(|_| format!("'g_loss' is '{g_loss}'"))?,
            epochs: int("epochs")?,
            g_ema: num("g_ema")?,
            optimizer: OptimizerKind::from_json(v.get("optimizer").ok_or("'optimizer' is missing")?)?,
            // Checkpoints written before `--k` existed have no "update": they were simultaneous.
            k: match v.get("update").and_then(|u| u.as_str()) {
                None | Some("simultaneous") => None,
                Some("alternating") => Some(int("k")?.max(1)),
                Some(u) => return Err(format!("'update' is '{u}', expected simultaneous or alternating")),
            },
            // Absent in checkpoints written before annealing existed: none.
            anneal: match v.get("anneal").and_then(|a| a.as_str()) {
                None | Some("none") => false,
                Some("linear") => true,
                Some(a) => return Err(format!("'anneal' is '{a}', expected none or linear")),
            },
        })
    }
    /// The settings that must agree for `--resume` to continue a run exactly: every field but
    /// the length of the run (a longer `--epochs` extends it). Names and values, for messages.
    fn resume_settings(&self) -> Vec<(&'static str, String)> {
        let c = self.clone().scaled_to(1);
        let json = c.to_json();
        let obj = json.as_object().expect("config is an object");
        let names: &[&'static str] = &[
            "optimizer",
            "g_ema",
            "g_loss",
            "batch_size",
            "z_dim",
            "g_hidden",
            "d_units",
            "d_pieces",
            "lr",
            "lr_decay",
            "min_lr",
            "momentum_start",
            "momentum_end",
            "d_keep_input",
            "d_keep_hidden",
            "g_irange",
            "d_irange",
            "k",
            "update",
            "anneal",
        ];
        names.iter().map(|&n| (n, obj.get(n).map(|v| v.to_string()).unwrap_or_default())).collect()
    }
}

/// The momentum ramp of the paper's run saturates at epoch 250; we treat that run as 500 epochs
/// long, so the ramp covers the first half of a run (the authors stopped by hand).
pub const PAPER_EPOCHS: f64 = 500.0;

// =================================================================================================
// Generator: z [B, Z] → image [B, D]
// =================================================================================================

pub struct Generator {
    pub l1: Linear, // Z → 1200, ReLU
    pub l2: Linear, // 1200 → 1200, ReLU
    pub l3: Linear, // 1200 → 784, sigmoid
}

impl Generator {
    /// `pixel_means` (D values) set the output bias to logit(mean), so an untrained G already
    /// draws the average digit (pylearn2's `init_sigmoid_bias_from_marginals`).
    pub fn new(cfg: &Config, pixel_means: &[f32], rng: &mut Rng) -> Result<Self> {
        let w = Init::Uniform(-cfg.g_irange, cfg.g_irange);
        let zero = Init::Constant(0.0);
        let d = pixel_means.len();
        let g = Generator {
            l1: Linear::with_init(cfg.z_dim, cfg.g_hidden, true, w, zero, rng)?,
            l2: Linear::with_init(cfg.g_hidden, cfg.g_hidden, true, w, zero, rng)?,
            l3: Linear::with_init(cfg.g_hidden, d, true, w, zero, rng)?,
        };
        let logit: Vec<f32> = pixel_means
            .iter()
            .map(|&m| {
                let m = m.clamp(1e-7, 1.0 - 1e-7) as f64;
                (m / (1.0 - m)).ln() as f32
            })
            .collect();
        g.l3.bias.as_ref().expect("l3 has a bias").copy_from(&Tensor::new(logit, &[d])?)?;
        Ok(g)
    }
}

impl Module for Generator {
    fn forward(&self, z: &Tensor) -> Result<Tensor> {
        let h = self.l1.forward(z)?.relu()?; // [B, 1200]
        let h = self.l2.forward(&h)?.relu()?; // [B, 1200]
        self.l3.forward(&h)?.sigmoid() // [B, 784], pixels in (0, 1)
    }
    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        let mut v = minmax_engine::nn::prefixed("l1", self.l1.named_parameters());
        v.extend(minmax_engine::nn::prefixed("l2", self.l2.named_parameters()));
        v.extend(minmax_engine::nn::prefixed("l3", self.l3.named_parameters()));
        v
    }
}

// =================================================================================================
// Discriminator: image [B, D] → logit [B, 1]
// =================================================================================================

pub struct Discriminator {
    pub h0: Maxout, // 784 → 240 units × 5 pieces
    pub h1: Maxout, // 240 → 240 units × 5 pieces
    pub y: Linear,  // 240 → 1, the logit of D(x)
    pub keep_input: f64,
    pub keep_hidden: f64,
}

impl Discriminator {
    pub fn new(cfg: &Config, d: usize, rng: &mut Rng) -> Result<Self> {
        let w = Init::Uniform(-cfg.d_irange, cfg.d_irange);
        let zero = Init::Constant(0.0);
        Ok(Discriminator {
            h0: Maxout::with_init(d, cfg.d_units, cfg.d_pieces, w, zero, rng)?,
            h1: Maxout::with_init(cfg.d_units, cfg.d_units, cfg.d_pieces, w, zero, rng)?,
            y: Linear::with_init(cfg.d_units, 1, true, w, zero, rng)?,
            keep_input: cfg.d_keep_input,
            keep_hidden: cfg.d_keep_hidden,
        })
    }

    /// Logits of D. With `dropout = Some(rng)` (training) each layer's input is dropped out
    /// (keep 0.8 on the image, 0.5 on hidden units) and rescaled; with `None` (evaluation) not.
    pub fn logits(&self, x: &Tensor, mut dropout: Option<&mut Rng>) -> Result<Tensor> {
        let mut drop = |t: &Tensor, keep: f64| -> Result<Tensor> {
            match dropout.as_deref_mut() {
                Some(r) => t.dropout(1.0 - keep, true, r),
                None => Ok(t.clone()),
            }
        };
        let h = self.h0.forward(&drop(x, self.keep_input)?)?; // [B, 240]
        let h = self.h1.forward(&drop(&h, self.keep_hidden)?)?; // [B, 240]
        self.y.forward(&drop(&h, self.keep_hidden)?) // [B, 1]
    }
}

impl Module for Discriminator {
    /// D(x) as a probability, without dropout.
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.logits(x, None)?.sigmoid()
    }
    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        let mut v = minmax_engine::nn::prefixed("h0", self.h0.named_parameters());
        v.extend(minmax_engine::nn::prefixed("h1", self.h1.named_parameters()));
        v.extend(minmax_engine::nn::prefixed("y", self.y.named_parameters()));
        v
    }
}

// =================================================================================================
// Noise
// =================================================================================================

/// z ~ U(−√3, √3)^Z: uniform noise with unit variance, as in the authors' code.
pub fn sample_z(n: usize, z_dim: usize, rng: &mut Rng) -> Tensor {
    let r = 3f64.sqrt();
    Tensor::rand(&[n, z_dim], -r, r, rng)
}

// =================================================================================================
// The game
// =================================================================================================

pub struct Gan {
    pub cfg: Config,
    pub g: Generator,
    /// The moving average of G's weights, when `cfg.g_ema > 0`.
    pub g_avg: Option<Generator>,
    pub d: Discriminator,
    pub opt_g: Box<dyn Optimizer>,
    pub opt_d: Box<dyn Optimizer>,
    /// SGD steps taken (drives the learning-rate decay).
    pub step: u64,
    /// Where the networks live and train (`to_device` moves them).
    pub device: Device,
    /// G's loss at its last update (alternating updates report it between G updates).
    last_g_loss: f64,
}

impl Gan {
    pub fn new(cfg: Config, pixel_means: &[f32], seed: u64) -> Result<Self> {
        let mut rng = Rng::new(seed);
        let g = Generator::new(&cfg, pixel_means, &mut rng)?;
        let d = Discriminator::new(&cfg, pixel_means.len(), &mut rng)?;
        let opt_g = cfg.optimizer.build(g.parameters(), &cfg)?;
        let opt_d = cfg.optimizer.build(d.parameters(), &cfg)?;
        let g_avg = if cfg.g_ema > 0.0 {
            let avg = Generator::new(&cfg, pixel_means, &mut Rng::new(0))?;
            for (a, p) in avg.parameters().iter().zip(g.parameters()) {
                a.copy_from(&p)?;
                a.set_requires_grad(false);
            }
            Some(avg)
        } else {
            None
        };
        Ok(Gan { cfg, g, g_avg, d, opt_g, opt_d, step: 0, device: Device::Cpu, last_g_loss: f64::NAN })
    }

    /// Move both players (and the averaged G) to `device`, before training starts; the optimizers
    /// are rebuilt there. A checkpoint loaded afterwards is copied onto the device.
    pub fn to_device(&mut self, device: &Device) -> Result<()> {
        if self.step > 0 {
            return Err(Error::msg("Gan::to_device: move the networks before the first training step"));
        }
        self.g.to_device(device)?;
        self.d.to_device(device)?;
        if let Some(avg) = &self.g_avg {
            avg.to_device(device)?;
        }
        self.opt_g = self.cfg.optimizer.build(self.g.parameters(), &self.cfg)?;
        self.opt_d = self.cfg.optimizer.build(self.d.parameters(), &self.cfg)?;
        self.device = device.clone();
        Ok(())
    }

    /// Set what changes per (1-based) epoch: SGD's momentum from the ramp; Adam's learning rate
    /// when it is annealed.
    pub fn start_epoch(&mut self, epoch: usize) {
        match self.cfg.optimizer {
            OptimizerKind::Sgd => {
                let m = self.cfg.momentum_schedule().at(epoch as f64);
                self.opt_g.set_momentum(m);
                self.opt_d.set_momentum(m);
            }
            OptimizerKind::Adam { lr, .. } if self.cfg.anneal => {
                let e = self.cfg.epochs.max(1) as f64;
                let lr = lr * (e - (epoch as f64 - 1.0).min(e - 1.0)) / e;
                self.opt_g.set_lr(lr);
                self.opt_d.set_lr(lr);
            }
            OptimizerKind::Adam { .. } => {}
        }
    }

    /// `n` images from G's weights as trained (no averaging), [n, D].
    pub fn sample_raw(&self, n: usize, rng: &mut Rng) -> Result<Tensor> {
        sample_from(&self.g, self.cfg.z_dim, n, rng)
    }

    /// The generator that is sampled and evaluated: the weight average if there is one.
    pub fn eval_generator(&self) -> &Generator {
        self.g_avg.as_ref().unwrap_or(&self.g)
    }
}

impl Gan {
    /// Algorithm 1 of the paper: update D on this minibatch (G's samples detached), and after
    /// every k-th D update, update G on fresh noise with D frozen (D keeps its dropout: it is the
    /// same noisy D that was trained).
    fn alternating_step(&mut self, x: &Tensor, k: usize, rng: &mut Rng) -> Result<StepStats> {
        let b = x.shape()[0];
        let x = &x.to_device(&self.device)?;
        let ones = x.full_like(&[b, 1], 1.0)?;
        let zeros = x.full_like(&[b, 1], 0.0)?;
        if self.cfg.optimizer == OptimizerKind::Sgd {
            let lr = self.cfg.lr_schedule().at(self.step);
            self.opt_d.set_lr(lr);
            self.opt_g.set_lr(lr);
        }
        // (1) D: minimise ½·(BCE(D(x), 1) + BCE(D(G(z)), 0)) with G's samples as constants.
        let z = sample_z(b, self.cfg.z_dim, rng).to_device(&self.device)?;
        let fake = minmax_engine::no_grad(|| self.g.forward(&z))?;
        let d_real = self.d.logits(x, Some(rng))?;
        let d_fake = self.d.logits(&fake, Some(rng))?;
        let loss_d = d_real.bce_with_logits(&ones)?.add(&d_fake.bce_with_logits(&zeros)?)?.mul_scalar(0.5)?;
        let d_loss = update(&loss_d, &self.d.parameters(), self.opt_d.as_mut())?;
        self.step += 1;
        // (2) every k-th D update: G on fresh noise, D frozen.
        if self.step % k as u64 == 0 {
            let z = sample_z(b, self.cfg.z_dim, rng).to_device(&self.device)?;
            let logits = self.d.logits(&self.g.forward(&z)?, Some(rng))?;
            let loss_g = match self.cfg.g_loss {
                GeneratorLoss::NonSaturating => logits.bce_with_logits(&ones)?,
                GeneratorLoss::Saturating => logits.bce_with_logits(&zeros)?.neg()?,
            };
            self.last_g_loss = update(&loss_g, &self.g.parameters(), self.opt_g.as_mut())?;
            self.average_g()?;
        }
        Ok(StepStats {
            d_loss,
            g_loss: self.last_g_loss,
            d_real: d_real.sigmoid()?.mean_all()?.item()?,
            d_fake: d_fake.sigmoid()?.mean_all()?.item()?,
        })
    }

    /// The averaged generator trails the trained one: avg ← ema·avg + (1 − ema)·G.
    fn average_g(&self) -> Result<()> {
        if let Some(avg) = &self.g_avg {
            for (a, p) in avg.parameters().iter().zip(self.g.parameters()) {
                a.lerp_(&p, 1.0 - self.cfg.g_ema)?;
            }
        }
        Ok(())
    }
}

/// The training interface: a minibatch of pixels [B, 784] is the data.
impl crate::train::Gan for Gan {
    type Data = Tensor;

    /// One minibatch: one D update and one G update, from the same forward pass; or, with
    /// alternating updates, one D update, and a G update after every k-th.
    fn train_step(&mut self, x: &Tensor, rng: &mut Rng) -> Result<StepStats> {
        if let Some(k) = self.cfg.k {
            return self.alternating_step(x, k, rng);
        }
        let b = x.shape()[0];
        let x = &x.to_device(&self.device)?; // a no-op on the CPU
        let z = sample_z(b, self.cfg.z_dim, rng).to_device(&self.device)?; // [B, Z]
        let fake = self.g.forward(&z)?; // [B, D]
        let d_real = self.d.logits(x, Some(rng))?; // [B, 1]
        let d_fake = self.d.logits(&fake, Some(rng))?; // [B, 1]
        let ones = x.full_like(&[b, 1], 1.0)?;
        let zeros = x.full_like(&[b, 1], 0.0)?;

        // (1) update D: maximise log D(x) + log(1 − D(G(z)))
        //     ⇔ minimise ½·(BCE(D(x), 1) + BCE(D(G(z)), 0))
        let loss_d = d_real.bce_with_logits(&ones)?.add(&d_fake.bce_with_logits(&zeros)?)?.mul_scalar(0.5)?;

        // (2) update G: non-saturating: minimise −log D(G(z)) = BCE(D(G(z)), 1);
        //     saturating: minimise log(1 − D(G(z))) = −BCE(D(G(z)), 0)
        let loss_g = match self.cfg.g_loss {
            GeneratorLoss::NonSaturating => d_fake.bce_with_logits(&ones)?,
            GeneratorLoss::Saturating => d_fake.bce_with_logits(&zeros)?.neg()?,
        };

        // Each player's gradient with respect to its own parameters only: D's loss does not
        // move G, G's loss does not move D.
        let (dp, gp) = (self.d.parameters(), self.g.parameters());
        // Both gradients first, then both steps: a simultaneous update (see `train::gan`).
        let gd = gradients(&loss_d, &dp)?;
        let gg = gradients(&loss_g, &gp)?;
        if self.cfg.optimizer == OptimizerKind::Sgd {
            let lr = self.cfg.lr_schedule().at(self.step);
            self.opt_d.set_lr(lr);
            self.opt_g.set_lr(lr);
        }
        apply(&dp, gd, self.opt_d.as_mut())?;
        apply(&gp, gg, self.opt_g.as_mut())?;
        self.step += 1;
        self.average_g()?;

        Ok(StepStats {
            d_loss: loss_d.item()?,
            g_loss: loss_g.item()?,
            d_real: d_real.sigmoid()?.mean_all()?.item()?,
            d_fake: d_fake.sigmoid()?.mean_all()?.item()?,
        })
    }

    fn d_steps_per_g_step(&self) -> usize {
        self.cfg.k.unwrap_or(1)
    }

    /// `n` images from G, [n, D], drawn in batches without recording a graph.
    fn sample(&self, n: usize, rng: &mut Rng) -> Result<Tensor> {
        sample_from(self.eval_generator(), self.cfg.z_dim, n, rng)
    }

    /// Everything a checkpoint holds: both networks and both optimizers' momentum buffers.
    fn state_dict(&self) -> Vec<(String, Tensor)> {
        let mut v = minmax_engine::nn::prefixed("generator", self.g.named_parameters());
        v.extend(minmax_engine::nn::prefixed("discriminator", self.d.named_parameters()));
        if let Some(avg) = &self.g_avg {
            v.extend(minmax_engine::nn::prefixed("generator_avg", avg.named_parameters()));
        }
        v.extend(minmax_engine::nn::prefixed("opt_g", self.opt_g.state()));
        v.extend(minmax_engine::nn::prefixed("opt_d", self.opt_d.state()));
        v
    }
}

/// `n` images from `g`, [n, D], drawn in batches without recording a graph, on G's device and
/// returned on the CPU (for evaluation and pictures).
pub fn sample_from(g: &Generator, z_dim: usize, n: usize, rng: &mut Rng) -> Result<Tensor> {
    let device = g.parameters().first().map(|p| p.device()).unwrap_or_default();
    crate::train::sample_in_chunks(n, 1000, |b| g.forward(&sample_z(b, z_dim, rng).to_device(&device)?))
}
