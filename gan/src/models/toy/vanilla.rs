//! The vanilla GAN (Goodfellow et al. 2014) on a toy mixture, with either generator loss:
//!
//! ```text
//! min_G max_D  E_x[log D(x)] + E_z[log(1 − D(G(z)))]
//! ```
//!
//! - non-saturating (`vanilla`): G minimises −log D(G(z)), the loss the paper's experiments use;
//! - saturating (`vanilla-sat`): G minimises log(1 − D(G(z))), the minimax game itself, whose
//!   gradient vanishes when D confidently rejects G's samples.
//!
//! One D step, then one G step, per iteration (k = 1), both with Adam; one batch of G's samples
//! serves both (detached for D's step, as in PyTorch's DCGAN example). D ends in a logit; its
//! sigmoid is folded into BCE-with-logits.
//!
//! Shapes: B = batch, Z = noise dim, X = data dim (2, or 1 for the 1-D mixture), H = hidden width.
//!
//! ```text
//! G: z [B, Z] → Linear → ReLU [B, H] → Linear → ReLU [B, H] → Linear → x̃ [B, X]
//! D: x [B, X] → Linear → LeakyReLU(0.2) [B, H] → Linear → LeakyReLU(0.2) [B, H] → Linear → logit [B, 1]
//! ```

use minmax_engine::optim::Adam;
use minmax_engine::{Generator as Rng, Result};

use super::nets::Mlp;
use super::{Common, Mixture, ToyGan};
use crate::models::GeneratorLoss;
use crate::train::{update, Gan, StepStats};

pub struct VanillaGan {
    pub cfg: Common,
    pub g_loss: GeneratorLoss,
    pub g: Mlp,
    pub d: Mlp,
    opt_g: Adam,
    opt_d: Adam,
}

impl VanillaGan {
    pub fn new(cfg: Common, g_loss: GeneratorLoss, x_dim: usize, rng: &mut Rng) -> Result<Self> {
        let g = cfg.generator(x_dim, rng)?; // z [B, Z] → [B, X]
        let d = cfg.discriminator(x_dim, rng)?; // x [B, X] → logit [B, 1]
        let opt_g = Adam::new(g.params.clone(), cfg.lr_g, cfg.betas)?;
        let opt_d = Adam::new(d.params.clone(), cfg.lr_d, cfg.betas)?;
        Ok(VanillaGan { cfg, g_loss, g, d, opt_g, opt_d })
    }
}

impl Gan for VanillaGan {
    super::toy_gan!();

    fn train_step(&mut self, data: &Mixture, rng: &mut Rng) -> Result<StepStats> {
        let b = self.cfg.batch_size;
        let ones = self.cfg.target(b, 1.0)?;
        let zeros = self.cfg.target(b, 0.0)?;
        let x = self.cfg.batch(data, b, rng)?; // [B, X]
        let fake = self.g.forward(&self.cfg.noise(b, rng)?)?; // [B, X]

        // (1) update D: maximise log D(x) + log(1 − D(G(z)))
        //     ⇔ minimise BCE(D(x), 1) + BCE(D(G(z)), 0); G's samples detached: this moves D only
        let d_real = self.d.forward(&x)?; // [B, 1]
        let d_fake = self.d.forward(&fake.detach())?; // [B, 1]
        let loss_d = d_real.bce_with_logits(&ones)?.add(&d_fake.bce_with_logits(&zeros)?)?;
        let d_loss = update(&loss_d, &self.d.params, &mut self.opt_d)?;

        // (2) update G on the same samples, judged by the updated D:
        //     non-saturating: minimise −log D(G(z)) = BCE(D(G(z)), 1);
        //     saturating: minimise log(1 − D(G(z))) = −BCE(D(G(z)), 0)
        let logits = self.d.forward(&fake)?; // [B, 1]
        let loss_g = match self.g_loss {
            GeneratorLoss::NonSaturating => logits.bce_with_logits(&ones)?,
            GeneratorLoss::Saturating => logits.bce_with_logits(&zeros)?.neg()?,
        };
        let g_loss = update(&loss_g, &self.g.params, &mut self.opt_g)?; // D frozen

        Ok(StepStats { d_loss, g_loss, d_real: super::mean_prob(&d_real)?, d_fake: super::mean_prob(&d_fake)? })
    }
}

impl ToyGan for VanillaGan {
    super::toy_parts!();

    fn describe(&self) -> serde_json::Value {
        serde_json::json!({
            "model": "vanilla GAN", "g_loss": self.g_loss.name(), "common": self.cfg.to_json(),
            "G": self.g.describe(), "D": self.d.describe(), "d_steps_per_g_step": 1,
        })
    }
}
