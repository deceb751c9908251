//! Loss-Sensitive GAN (Qi 2017, "Loss-Sensitive Generative Adversarial Networks on Lipschitz
//! Densities"). Instead of a classifier, D is a loss function L_θ(x) ≥ 0 that should be small on
//! real images and larger on generated ones — by a margin that grows with how different they are:
//!
//! ```text
//! L_D = E_x[L(x)] + λ · E_{x,z}[ (Δ(x, G(z)) + L(x) − L(G(z)))₊ ]      L_G = E_z[L(G(z))]
//! Δ(x, x') = mean |x − x'|  (per-pixel ℓ1),   (a)₊ = max(a, 0)
//! ```
//!
//! A generated image already worse than a real one by at least Δ costs D nothing; one that comes
//! close to real images pushes L up on it. The paper proves this game's equilibrium has p_G = p_data
//! when L is Lipschitz; it enforces that with weight decay on θ, and so do we (Adam with L2 weight
//! decay on D). L = softplus(critic score), which keeps L ≥ 0; the critic is the DCGAN
//! discriminator with batch norm. λ = 1; Adam lr 2·10⁻⁴, β₁ = 0.5 for both players, as DCGAN.
//!
//! Pairs (x, G(z)) are formed row by row within a batch. This is the second Lipschitz-regularised
//! GAN of the workbench (with `wgan_gp.rs`); `reconstruction` in `metrics` measures the
//! generalization the paper discusses (minimum reconstruction error on held-out images).

use minmax_engine::nn::Module;
use minmax_engine::optim::Adam;
use minmax_engine::{Device, Generator as Rng, Result, Tensor};

use super::dcgan::{players, DcDiscriminator, DcGenerator};
use super::{ImageBatch, ImageGan};
use crate::train::{update, Gan, StepStats};

pub struct LossSensitiveGan {
    pub g: DcGenerator,
    pub d: DcDiscriminator,
    pub lambda: f64,
    opt_g: Adam,
    opt_d: Adam,
}

impl LossSensitiveGan {
    pub fn new(z_dim: usize, rng: &mut Rng, device: &Device) -> Result<Self> {
        let (g, d, opt_g, mut opt_d) = players(z_dim, 0, true, (2e-4, (0.5, 0.999)), rng, device)?;
        opt_d.weight_decay = 1e-4; // the Lipschitz regularisation of the paper
        Ok(LossSensitiveGan { g, d, lambda: 1.0, opt_g, opt_d })
    }

    /// L_θ(x) = softplus(D(x)) ≥ 0, [B, 1].
    pub fn loss_of(&self, x: &Tensor) -> Result<Tensor> {
        self.d.score(x, None)?.softplus()
    }
}

impl ImageGan for LossSensitiveGan {
    super::image_nets!("loss-sensitive");
}

impl Gan for LossSensitiveGan {
    super::image_gan!();

    fn train_step(&mut self, batch: &ImageBatch, rng: &mut Rng) -> Result<StepStats> {
        let x = &batch.x;
        let b = x.shape()[0];
        let z = super::noise(b, self.g.z_dim, rng, &x.device())?;
        let fake = self.g.generate(&z, None)?; // [B, 1, 28, 28]

        // (1) the loss function: low on x, at least Δ higher on G(z).
        let l_real = self.loss_of(x)?; // [B, 1]
        let l_fake = self.loss_of(&fake.detach())?; // [B, 1]
        let delta = x.sub(&fake.detach())?.abs()?.mean(&[1, 2, 3], false)?.view(&[b, 1])?; // Δ, [B, 1]
        let margin = delta.add(&l_real)?.sub(&l_fake)?.relu()?; // (Δ + L(x) − L(G(z)))₊
        let loss_d = l_real.mean_all()?.add(&margin.mean_all()?.mul_scalar(self.lambda)?)?;
        let d_loss = update(&loss_d, &self.d.parameters(), &mut self.opt_d)?;

        // (2) G: make its images cheap under L (D frozen).
        let loss_g = self.loss_of(&fake)?.mean_all()?;
        let g_loss = update(&loss_g, &self.g.parameters(), &mut self.opt_g)?;

        Ok(StepStats { d_loss, g_loss, d_real: l_real.mean_all()?.item()?, d_fake: l_fake.mean_all()?.item()? })
    }
}
