//! WGAN-GP (Gulrajani et al. 2017) on images, with the DCGAN generator and the DCGAN
//! discriminator as critic — without its batch norm, since the penalty is defined per sample and
//! batch norm would couple the samples of a batch. The critic estimates the Wasserstein-1 distance
//! and is kept (softly) 1-Lipschitz by a penalty on its gradient at random interpolates:
//!
//! ```text
//! L_D = E[D(G(z))] − E[D(x)] + λ · E_x̂[(‖∇_x̂ D(x̂)‖₂ − 1)²],   x̂ = εx + (1 − ε)G(z), ε ~ U[0, 1]
//! L_G = −E[D(G(z))]
//! ```
//!
//! The paper's settings: λ = 10, n_critic = 5 critic steps per G step, Adam lr 10⁻⁴,
//! β = (0.5, 0.9). ∇_x̂ D(x̂) is built with `grad(.., create_graph = true)`, so the penalty's
//! gradient with respect to the critic's weights goes through a double backward (convolutions
//! included). `train_step` takes one real batch per call and counts critic steps: every
//! `n_critic`-th call also updates G.

use minmax_engine::nn::Module;
use minmax_engine::optim::Adam;
use minmax_engine::{grad, Device, Generator as Rng, Result, Tensor};

use super::dcgan::{players, DcDiscriminator, DcGenerator};
use super::{ImageBatch, ImageGan};
use crate::train::{update, Gan, StepStats};

pub struct WganGp {
    pub g: DcGenerator,
    /// The critic (no batch norm).
    pub d: DcDiscriminator,
    pub lambda: f64,
    pub n_critic: usize,
    critic_steps: usize,
    last_g_loss: f64,
    opt_g: Adam,
    opt_d: Adam,
}

impl WganGp {
    pub fn new(z_dim: usize, rng: &mut Rng, device: &Device) -> Result<Self> {
        let (g, d, opt_g, opt_d) = players(z_dim, 0, false, (1e-4, (0.5, 0.9)), rng, device)?;
        Ok(WganGp { g, d, lambda: 10.0, n_critic: 5, critic_steps: 0, last_g_loss: 0.0, opt_g, opt_d })
    }

    /// λ · mean over the batch of (‖∇_x̂ D(x̂)‖ − 1)², x̂ between `x` and `fake` ([B, 1, 28, 28]).
    pub fn gradient_penalty(&self, x: &Tensor, fake: &Tensor, rng: &mut Rng) -> Result<Tensor> {
        let b = x.shape()[0];
        let eps = Tensor::rand(&[b, 1, 1, 1], 0.0, 1.0, rng).to_device(&x.device())?; // one ε per pair
        let x_hat = eps.mul(x)?.add(&eps.neg()?.add_scalar(1.0)?.mul(fake)?)?.detach().requires_grad_();
        let score = self.d.score(&x_hat, None)?.sum_all()?; // Σ D(x̂ᵢ): row i's gradient is ∇D(x̂ᵢ)
        let gx = &grad(&[score], None, std::slice::from_ref(&x_hat), true)?[0]; // [B, 1, 28, 28]
        let norm = gx.sqr()?.sum(&[1, 2, 3], false)?.add_scalar(1e-12)?.sqrt()?; // [B]
        norm.add_scalar(-1.0)?.sqr()?.mean_all()?.mul_scalar(self.lambda)
    }
}

impl ImageGan for WganGp {
    super::image_nets!("wgan-gp");
}

impl Gan for WganGp {
    super::image_gan!();

    fn d_steps_per_g_step(&self) -> usize {
        self.n_critic
    }

    fn train_step(&mut self, batch: &ImageBatch, rng: &mut Rng) -> Result<StepStats> {
        let x = &batch.x;
        let b = x.shape()[0];
        let dev = x.device();
        // Critic step: E[D(fake)] − E[D(x)] + penalty.
        let fake = self.g.generate(&super::noise(b, self.g.z_dim, rng, &dev)?, None)?.detach();
        let d_real = self.d.score(x, None)?.mean_all()?;
        let d_fake = self.d.score(&fake, None)?.mean_all()?;
        let gp = self.gradient_penalty(x, &fake, rng)?;
        let loss_d = d_fake.sub(&d_real)?.add(&gp)?;
        let d_loss = update(&loss_d, &self.d.parameters(), &mut self.opt_d)?; // double backward
        self.critic_steps += 1;

        // Every n_critic-th call: one G step, −E[D(G(z))].
        if self.critic_steps % self.n_critic == 0 {
            let z = super::noise(b, self.g.z_dim, rng, &dev)?;
            let loss_g = self.d.score(&self.g.generate(&z, None)?, None)?.mean_all()?.neg()?;
            self.last_g_loss = update(&loss_g, &self.g.parameters(), &mut self.opt_g)?;
            // D frozen
        }
        Ok(StepStats {
            d_loss,
            g_loss: self.last_g_loss,
            // For a critic these are scores, not probabilities: their gap estimates W₁.
            d_real: d_real.item()?,
            d_fake: d_fake.item()?,
        })
    }
}
