//! The least-squares GAN (Mao et al. 2017, "Least Squares Generative Adversarial Networks") on a
//! toy mixture: D outputs a raw score and both players minimise squared distances to target
//! codes instead of the cross-entropy:
//!
//! ```text
//! L_D = ½ E_x[(D(x) − b)²] + ½ E_z[(D(G(z)) − a)²]
//! L_G = ½ E_z[(D(G(z)) − c)²]
//! ```
//!
//! with the paper's 0-1 binary coding a = 0 (fake), b = 1 (real), c = 1 (what G wants D to
//! believe). Their other choice, a = −1, b = 1, c = 0 (b − c = 1, b − a = 2), makes the game
//! minimise the Pearson χ² divergence; the codes are fields, so both can be run. The squared loss
//! keeps pushing samples that D already calls real but that lie far from the data's score, where
//! the sigmoid cross-entropy saturates: the paper's argument for fewer vanishing gradients and
//! less collapse.
//!
//! Everything else is the vanilla file's: the same nets, one D step then one G step per iteration
//! with Adam, one batch of G's samples for both (detached for D's step).
//!
//! Shapes: B = batch, Z = noise dim, X = data dim, H = hidden width.
//!
//! ```text
//! G: z [B, Z] → Linear → ReLU [B, H] → Linear → ReLU [B, H] → Linear → x̃ [B, X]
//! D: x [B, X] → Linear → LeakyReLU(0.2) [B, H] → Linear → LeakyReLU(0.2) [B, H] → Linear → score [B, 1]
//! ```

use minmax_engine::optim::Adam;
use minmax_engine::{Generator as Rng, Result, Tensor};

use super::nets::Mlp;
use super::{Common, Mixture, ToyGan};
use crate::train::{update, Gan, StepStats};

/// The target codes of the least-squares losses.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Codes {
    /// D's target for generated samples.
    pub a: f64,
    /// D's target for real samples.
    pub b: f64,
    /// G's target for its samples.
    pub c: f64,
}

impl Codes {
    /// a = 0, b = c = 1: the paper's 0-1 binary coding.
    pub const ZERO_ONE: Codes = Codes { a: 0.0, b: 1.0, c: 1.0 };
    /// a = −1, b = 1, c = 0: the coding under which the game minimises the Pearson χ² divergence.
    pub const PEARSON: Codes = Codes { a: -1.0, b: 1.0, c: 0.0 };
}

/// ½ mean((score − target)²) over a batch of scores [B, 1].
pub fn half_mse(score: &Tensor, target: f64) -> Result<Tensor> {
    score.add_scalar(-target)?.sqr()?.mean_all()?.mul_scalar(0.5)
}

/// L_D = ½ E[(D(x) − b)²] + ½ E[(D(G(z)) − a)²].
pub fn d_loss(d_real: &Tensor, d_fake: &Tensor, codes: Codes) -> Result<Tensor> {
    half_mse(d_real, codes.b)?.add(&half_mse(d_fake, codes.a)?)
}

/// L_G = ½ E[(D(G(z)) − c)²].
pub fn g_loss(d_fake: &Tensor, codes: Codes) -> Result<Tensor> {
    half_mse(d_fake, codes.c)
}

pub struct LsGan {
    pub cfg: Common,
    pub codes: Codes,
    pub g: Mlp,
    pub d: Mlp,
    opt_g: Adam,
    opt_d: Adam,
}

impl LsGan {
    pub fn new(cfg: Common, codes: Codes, x_dim: usize, rng: &mut Rng) -> Result<Self> {
        let g = cfg.generator(x_dim, rng)?; // z [B, Z] → [B, X]
        let d = cfg.discriminator(x_dim, rng)?; // x [B, X] → score [B, 1]
        let opt_g = Adam::new(g.params.clone(), cfg.lr_g, cfg.betas)?;
        let opt_d = Adam::new(d.params.clone(), cfg.lr_d, cfg.betas)?;
        Ok(LsGan { cfg, codes, g, d, opt_g, opt_d })
    }
}

impl Gan for LsGan {
    super::toy_gan!();

    fn train_step(&mut self, data: &Mixture, rng: &mut Rng) -> Result<StepStats> {
        let b = self.cfg.batch_size;
        let x = self.cfg.batch(data, b, rng)?; // [B, X]
        let fake = self.g.forward(&self.cfg.noise(b, rng)?)?; // [B, X]

        // (1) update D: real scores towards b, generated ones towards a
        let d_real = self.d.forward(&x)?; // [B, 1]
        let d_fake = self.d.forward(&fake.detach())?; // [B, 1]
        let loss_d = d_loss(&d_real, &d_fake, self.codes)?;
        let d_loss = update(&loss_d, &self.d.params, &mut self.opt_d)?;

        // (2) update G: its samples' scores, at the updated D, towards c
        let loss_g = g_loss(&self.d.forward(&fake)?, self.codes)?;
        let g_loss = update(&loss_g, &self.g.params, &mut self.opt_g)?; // D frozen

        // d_real / d_fake: the mean raw scores (targets b and a), not probabilities
        Ok(StepStats { d_loss, g_loss, d_real: d_real.mean_all()?.item()?, d_fake: d_fake.mean_all()?.item()? })
    }
}

impl ToyGan for LsGan {
    super::toy_parts!();

    /// D's raw score (b = real, a = generated), not a probability.
    fn surface_is_probability(&self) -> bool {
        false
    }

    fn describe(&self) -> serde_json::Value {
        serde_json::json!({
            "model": "LSGAN", "codes": {"a": self.codes.a, "b": self.codes.b, "c": self.codes.c},
            "loss_d": "½E[(D(x) − b)²] + ½E[(D(G(z)) − a)²]", "loss_g": "½E[(D(G(z)) − c)²]",
            "common": self.cfg.to_json(), "G": self.g.describe(), "D": self.d.describe(), "d_steps_per_g_step": 1,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The losses on a worked case: scores real [0.5, 2], generated [−1, 0.25].
    /// 0-1 coding: L_D = ½·((0.5 − 1)² + (2 − 1)²)/2 + ½·((−1)² + 0.25²)/2 = 0.3125 + 0.265625;
    /// L_G = ½·((−1 − 1)² + (0.25 − 1)²)/2 = 1.140625. Pearson coding (a = −1, c = 0):
    /// L_D = 0.3125 + ½·(0² + 1.25²)/2 = 0.703125, L_G = ½·(1 + 0.0625)/2 = 0.265625.
    #[test]
    fn losses_match_a_hand_computed_case() {
        let real = Tensor::from_slice(&[0.5f64, 2.0], &[2, 1]).unwrap();
        let fake = Tensor::from_slice(&[-1.0f64, 0.25], &[2, 1]).unwrap();
        let v = |t: Tensor| t.item().unwrap();
        assert!((v(d_loss(&real, &fake, Codes::ZERO_ONE).unwrap()) - 0.578125).abs() < 1e-15);
        assert!((v(g_loss(&fake, Codes::ZERO_ONE).unwrap()) - 1.140625).abs() < 1e-15);
        assert!((v(d_loss(&real, &fake, Codes::PEARSON).unwrap()) - 0.703125).abs() < 1e-15);
        assert!((v(g_loss(&fake, Codes::PEARSON).unwrap()) - 0.265625).abs() < 1e-15);
    }
}
