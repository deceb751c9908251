//! Toy GANs on low-dimensional mixtures of Gaussians: the classic setting for watching mode
//! collapse happen, and for testing the remedies against it.
//!
//! - the mixtures (ring of 8, grid of 25, a 1-D mixture) are in `data::mixtures`, and modes
//!   covered, % high-quality samples and KL to the uniform mode distribution in `metrics::modes`
//! - [`nets`]: the small MLPs, with parameters as plain tensors
//! - one readable file per GAN: [`vanilla`] (non-saturating and saturating G losses),
//!   [`lsgan`] (least squares), [`minibatch`] (minibatch discrimination), [`wgan_gp`], [`pacgan`],
//!   [`unrolled`]
//!
//! Every model implements the training interface [`crate::train::Gan`] (one training iteration,
//! samples, state) with the mixture as its data, and [`ToyGan`], which adds what the lab
//! (`experiments::mode_collapse`) needs besides: the nets, the optimizers (for the learning-rate
//! decay), a description for the report, and D's value at any point (for the heat maps).
//!
//! Shapes: B = batch, Z = noise dim (2), X = data dim (2, or 1 for the 1-D mixture).
//!
//! The lab's own nets are plain two-hidden-layer MLPs, so that its 80 training runs fit in minutes
//! on a two-core CPU; `Common` also builds the published setups' nets (batch norm in G, maxout in
//! D, other initialisations: `nets::Hidden`; D's input scaling), which `--preset pacgan` and
//! `--preset unrolled` train.

pub mod lsgan;
pub mod minibatch;
pub mod nets;
pub mod pacgan;
pub mod unrolled;
pub mod vanilla;
pub mod wgan_gp;

pub use crate::data::mixtures::Mixture;
pub use crate::metrics::modes::{mode_stats, ModeStats};

use minmax_engine::nn::{prefixed, Module};
use minmax_engine::optim::{Adam, Optimizer};
use minmax_engine::{Device, Generator as Rng, Result, Tensor};

use crate::train::Gan;

/// What the mode-collapse lab needs from a toy GAN besides the training interface.
pub trait ToyGan: Gan<Data = Mixture> + Send {
    /// The shared settings and both nets (what the provided methods below work on).
    fn parts(&self) -> Parts<'_>;
    /// Both players' optimizers, (G's, D's).
    fn optimizers(&mut self) -> (&mut Adam, &mut Adam);
    /// The model's settings, for the report.
    fn describe(&self) -> serde_json::Value;

    /// D's value at single points x [N, X] → [N] (on the CPU): the probability D(x) ∈ (0, 1) for
    /// the GANs, the raw score for a critic (see `surface_is_probability`). PacGAN's D reads m
    /// packed points; its surface is D at (x, x, …, x).
    fn surface(&self, x: &Tensor) -> Result<Tensor> {
        let p = self.parts();
        let x = &x.to_device(&p.cfg.device)?;
        minmax_engine::no_grad(|| {
            let score = p.d.forward(x)?; // [N, 1]
            let s = if self.surface_is_probability() { score.sigmoid()? } else { score };
            s.flatten(0, -1)?.to_device(&Device::Cpu)
        })
    }
    /// Whether `surface` is a probability (else a critic's unbounded score).
    fn surface_is_probability(&self) -> bool {
        true
    }
    /// Multiply both learning rates by `scale` relative to their configured values (the lab
    /// decays them linearly over the last part of training).
    fn set_lr_scale(&mut self, scale: f64) {
        let (lr_g, lr_d) = (self.parts().cfg.lr_g, self.parts().cfg.lr_d);
        let (opt_g, opt_d) = self.optimizers();
        opt_g.set_lr(lr_g * scale);
        opt_d.set_lr(lr_d * scale);
    }
}

/// The two accessors of a `ToyGan` impl for a model with fields `cfg`, `g`, `d`, `opt_g` and
/// `opt_d` (every model here): write `toy_parts!();` inside the impl.
macro_rules! toy_parts {
    () => {
        fn parts(&self) -> $crate::models::toy::Parts<'_> {
            $crate::models::toy::Parts { cfg: &self.cfg, g: &self.g, d: &self.d }
        }
        fn optimizers(&mut self) -> (&mut minmax_engine::optim::Adam, &mut minmax_engine::optim::Adam) {
            (&mut self.opt_g, &mut self.opt_d)
        }
    };
}
pub(crate) use toy_parts;

/// The parts of a toy model's `Gan` impl that every toy model shares (data, samples, state): write
/// `toy_gan!();` inside the impl, beside `train_step`.
macro_rules! toy_gan {
    () => {
        type Data = $crate::models::toy::Mixture;
        /// `n` samples of G, [n, X], on the CPU.
        fn sample(&self, n: usize, rng: &mut minmax_engine::Generator) -> minmax_engine::Result<minmax_engine::Tensor> {
            $crate::models::toy::sample_generator(&self.g, self.cfg.z_dim, n, rng)
        }
        fn state_dict(&self) -> Vec<(String, minmax_engine::Tensor)> {
            $crate::models::toy::state_dict(&self.g, &self.d)
        }
    };
}
pub(crate) use toy_gan;

/// A toy GAN's shared settings and nets, borrowed.
pub struct Parts<'a> {
    pub cfg: &'a Common,
    pub g: &'a nets::Mlp,
    pub d: &'a nets::Mlp,
}

/// Settings every toy GAN shares: the nets' sizes and the optimizers. Model files add their own
/// (the G loss, the pack size, the penalty weight, the unrolling depth).
#[derive(Clone, Debug)]
pub struct Common {
    /// Noise dimension: z ~ N(0, I) of this size.
    pub z_dim: usize,
    /// Width of G's hidden layers, and how many there are.
    pub g_hidden: usize,
    pub g_layers: usize,
    /// Width of D's hidden layers, and how many there are.
    pub d_hidden: usize,
    pub d_layers: usize,
    /// What G's and D's hidden layers do besides their activation (batch norm, maxout, init).
    pub g_extra: nets::Hidden,
    pub d_extra: nets::Hidden,
    pub g_act: nets::Act,
    pub d_act: nets::Act,
    /// D multiplies its input by this first (1 here; ¼ in the unrolled GAN paper).
    pub d_input_scale: f64,
    /// Real samples per D step (and fakes per G step).
    pub batch_size: usize,
    /// Adam learning rates and betas.
    pub lr_g: f64,
    pub lr_d: f64,
    pub betas: (f64, f64),
    /// Where the nets live and train. Data and noise are drawn on the CPU (the same numbers on
    /// every device) and copied there.
    pub device: Device,
}

impl Default for Common {
    /// The lab's settings: G 2 → 128 → 128 → X (ReLU), D X → 128 → 128 → 1 (LeakyReLU 0.2),
    /// batch 256, Adam with lr 3·10⁻³ and β = (0.5, 0.9) for both players.
    fn default() -> Self {
        Common {
            z_dim: 2,
            g_hidden: 128,
            g_layers: 2,
            d_hidden: 128,
            d_layers: 2,
            g_extra: nets::Hidden::default(),
            d_extra: nets::Hidden::default(),
            g_act: nets::Act::Relu,
            d_act: nets::Act::LeakyRelu(0.2),
            d_input_scale: 1.0,
            batch_size: 256,
            lr_g: 3e-3,
            lr_d: 3e-3,
            betas: (0.5, 0.9),
            device: Device::Cpu,
        }
    }
}

impl Common {
    /// G: z [B, Z] → H_G → … (`g_layers` of them) → [B, X].
    pub fn generator(&self, x_dim: usize, rng: &mut Rng) -> Result<nets::Mlp> {
        let mut sizes = vec![self.z_dim];
        sizes.extend(std::iter::repeat_n(self.g_hidden, self.g_layers));
        sizes.push(x_dim);
        self.on_device(nets::Mlp::with(&sizes, self.g_act, self.g_extra, rng)?)
    }
    /// D: [B, input] → H_D → … (`d_layers` of them) → logit [B, 1].
    pub fn discriminator(&self, input: usize, rng: &mut Rng) -> Result<nets::Mlp> {
        let mut sizes = vec![input];
        sizes.extend(std::iter::repeat_n(self.d_hidden, self.d_layers));
        sizes.push(1);
        let mut d = nets::Mlp::with(&sizes, self.d_act, self.d_extra, rng)?;
        d.input_scale = self.d_input_scale;
        self.on_device(d)
    }
    /// The net's parameters moved to `self.device` (before any optimizer is built on them).
    fn on_device(&self, net: nets::Mlp) -> Result<nets::Mlp> {
        for p in &net.params {
            p.to_device_(&self.device)?;
        }
        Ok(net)
    }
    /// `n` real samples [n, X] from `data`, on the nets' device.
    pub fn batch(&self, data: &Mixture, n: usize, rng: &mut Rng) -> Result<Tensor> {
        data.sample(n, rng).to_device(&self.device)
    }
    /// z ~ N(0, I) [n, Z] on the nets' device.
    pub fn noise(&self, n: usize, rng: &mut Rng) -> Result<Tensor> {
        sample_z(n, self.z_dim, rng).to_device(&self.device)
    }
    /// A [b, 1] target of `value` (the labels of the BCE losses) on the nets' device.
    pub fn target(&self, b: usize, value: f64) -> Result<Tensor> {
        Tensor::full(&[b, 1], value).to_device(&self.device)
    }
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "z_dim": self.z_dim, "g_hidden": self.g_hidden, "g_layers": self.g_layers, "d_hidden": self.d_hidden,
            "d_layers": self.d_layers, "g_batch_norm": self.g_extra.batch_norm, "d_maxout_pieces": self.d_extra.pieces,
            "g_init": self.g_extra.init.map(|i| format!("{i:?}")), "d_init": self.d_extra.init.map(|i| format!("{i:?}")),
            "d_input_scale": self.d_input_scale, "g_act": self.g_act.name(),
            "d_act": self.d_act.name(), "batch_size": self.batch_size, "optimizer": "Adam",
            "lr_g": self.lr_g, "lr_d": self.lr_d, "betas": [self.betas.0, self.betas.1],
        })
    }
}

/// Both nets' parameters, named `generator.*` and `discriminator.*`.
pub fn state_dict(g: &nets::Mlp, d: &nets::Mlp) -> Vec<(String, Tensor)> {
    let mut v = prefixed("generator", g.named_parameters());
    v.extend(prefixed("discriminator", d.named_parameters()));
    v
}

/// The mean of σ(logits): D's mean probability that its inputs are real, for the logs.
pub fn mean_prob(logits: &Tensor) -> Result<f64> {
    logits.sigmoid()?.mean_all()?.item()
}

/// z ~ N(0, I) [n, z_dim].
pub fn sample_z(n: usize, z_dim: usize, rng: &mut Rng) -> Tensor {
    Tensor::randn(&[n, z_dim], rng)
}

/// Draw `n` samples of `g` in chunks without recording a graph, on G's device, returned on the
/// CPU (for the metrics and pictures).
pub fn sample_generator(g: &nets::Mlp, z_dim: usize, n: usize, rng: &mut Rng) -> Result<Tensor> {
    let device = g.params.first().map(|p| p.device()).unwrap_or_default();
    crate::train::sample_in_chunks(n, 2500, |b| g.forward(&sample_z(b, z_dim, rng).to_device(&device)?))
}
