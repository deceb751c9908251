//! PacGAN (Lin et al. 2018): the vanilla GAN whose discriminator judges m samples at once. D sees
//! m real samples (or m generated ones) concatenated into one input of m·X numbers; a G that
//! collapses to a few modes makes packs that look alike, which a packed D spots easily, so the
//! penalty for collapse grows with m. Nothing else changes: same nets but D's first layer, same
//! non-saturating loss, one D step and one G step per iteration.
//!
//! Packing: each iteration draws B packs, i.e. B·m real samples and B·m generated ones: D makes as
//! many decisions per step as the vanilla D (B), and G produces m times as many samples (so a step
//! costs roughly m times as much). As in the vanilla file, one batch of G's samples serves both the
//! D step (detached) and the G step.
//!
//! Shapes: B = packs per batch, m = pack size, Z = noise dim, X = data dim, H = hidden width.
//!
//! ```text
//! G: z [B·m, Z] → Linear → ReLU [B·m, H] → Linear → ReLU [B·m, H] → Linear → x̃ [B·m, X]
//! pack: [B·m, X] → [B, m·X]   (rows i·m … i·m + m − 1 side by side)
//! D: packs [B, m·X] → Linear → LeakyReLU(0.2) [B, H] → Linear → LeakyReLU(0.2) [B, H] → Linear → logit [B, 1]
//! ```

use minmax_engine::optim::Adam;
use minmax_engine::{no_grad, Device, Generator as Rng, Result, Tensor};

use super::nets::Mlp;
use super::{Common, Mixture, ToyGan};
use crate::train::{update, Gan, StepStats};

pub struct PacGan {
    pub cfg: Common,
    /// Pack size m (1 is the vanilla GAN).
    pub m: usize,
    pub x_dim: usize,
    pub g: Mlp,
    pub d: Mlp,
    opt_g: Adam,
    opt_d: Adam,
}

/// [B·m, X] → [B, m·X]: m consecutive samples side by side.
pub fn pack(x: &Tensor, m: usize) -> Result<Tensor> {
    let (n, d) = (x.shape()[0], x.shape()[1]);
    x.contiguous()?.view(&[n / m, m * d])
}

impl PacGan {
    pub fn new(cfg: Common, m: usize, x_dim: usize, rng: &mut Rng) -> Result<Self> {
        let g = cfg.generator(x_dim, rng)?; // z [B, Z] → [B, X]
        let d = cfg.discriminator(m * x_dim, rng)?; // packs [B, m·X] → logit [B, 1]
        let opt_g = Adam::new(g.params.clone(), cfg.lr_g, cfg.betas)?;
        let opt_d = Adam::new(d.params.clone(), cfg.lr_d, cfg.betas)?;
        Ok(PacGan { cfg, m, x_dim, g, d, opt_g, opt_d })
    }
}

impl Gan for PacGan {
    super::toy_gan!();

    fn train_step(&mut self, data: &Mixture, rng: &mut Rng) -> Result<StepStats> {
        let m = self.m;
        let b = self.cfg.batch_size; // packs per batch
        let ones = self.cfg.target(b, 1.0)?;
        let zeros = self.cfg.target(b, 0.0)?;
        let x = pack(&self.cfg.batch(data, b * m, rng)?, m)?; // [B, m·X]
        let fake = pack(&self.g.forward(&self.cfg.noise(b * m, rng)?)?, m)?; // [B, m·X]

        // (1) update D: maximise log D(x₁…x_m) + log(1 − D(G(z₁)…G(z_m)))
        let d_real = self.d.forward(&x)?; // [B, 1]
        let d_fake = self.d.forward(&fake.detach())?; // [B, 1]
        let loss_d = d_real.bce_with_logits(&ones)?.add(&d_fake.bce_with_logits(&zeros)?)?;
        let d_loss = update(&loss_d, &self.d.params, &mut self.opt_d)?;

        // (2) update G: non-saturating, minimise −log D(pack of G(z)) at the updated D
        let loss_g = self.d.forward(&fake)?.bce_with_logits(&ones)?;
        let g_loss = update(&loss_g, &self.g.params, &mut self.opt_g)?; // D frozen

        Ok(StepStats { d_loss, g_loss, d_real: super::mean_prob(&d_real)?, d_fake: super::mean_prob(&d_fake)? })
    }
}

impl ToyGan for PacGan {
    super::toy_parts!();

    /// D at the pack (x, x, …, x): where a pack of m copies of one point would be judged real.
    fn surface(&self, x: &Tensor) -> Result<Tensor> {
        let x = &x.to_device(&self.cfg.device)?;
        no_grad(|| {
            let copies: Vec<&Tensor> = (0..self.m).map(|_| x).collect();
            let packed = Tensor::cat(&copies, 1)?; // [N, m·X]
            self.d.forward(&packed)?.sigmoid()?.flatten(0, -1)?.to_device(&Device::Cpu)
        })
    }

    fn describe(&self) -> serde_json::Value {
        serde_json::json!({
            "model": format!("PacGAN{}", self.m), "pack": self.m, "g_loss": "non-saturating",
            "common": self.cfg.to_json(), "G": self.g.describe(), "D": self.d.describe(),
            "packs_per_step": self.cfg.batch_size, "samples_per_step": self.cfg.batch_size * self.m,
        })
    }
}
