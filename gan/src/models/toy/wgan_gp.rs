//! WGAN-GP (Gulrajani et al. 2017) on a toy mixture: a critic D estimates the Wasserstein-1
//! distance, kept (softly) 1-Lipschitz by a penalty on its gradient norm at random interpolates:
//!
//! ```text
//! L_D = E[D(G(z))] − E[D(x)] + λ · E_x̂[(‖∇_x̂ D(x̂)‖ − 1)²],   x̂ = εx + (1 − ε)G(z), ε ~ U[0, 1]
//! L_G = −E[D(G(z))]
//! ```
//!
//! The penalty is a function of a gradient, so its own gradient with respect to D's parameters is
//! a gradient of a gradient: `grad(.., create_graph = true)` builds ∇_x̂ D(x̂) as a graph, and
//! `backward()` differentiates through it (the engine's double backward).
//!
//! `n_critic` critic steps per G step and λ as given (the lab uses the paper's 5 and 10); Adam with
//! the shared toy settings (`Common`). The paper's toy runs used β = (0.5, 0.9), lr 10⁻⁴ and far
//! more iterations than the lab can afford.
//!
//! Shapes: B = batch, Z = noise dim, X = data dim, H = hidden width.
//!
//! ```text
//! G: z [B, Z] → Linear → ReLU [B, H] → Linear → ReLU [B, H] → Linear → x̃ [B, X]
//! D: x [B, X] → Linear → LeakyReLU(0.2) [B, H] → Linear → LeakyReLU(0.2) [B, H] → Linear → score [B, 1]
//! ```

use minmax_engine::optim::Adam;
use minmax_engine::{grad, no_grad, Generator as Rng, Result, Tensor};

use super::nets::Mlp;
use super::{Common, Mixture, ToyGan};
use crate::train::{update, Gan, StepStats};

pub struct WganGp {
    pub cfg: Common,
    /// Penalty weight λ.
    pub lambda: f64,
    /// Critic steps per generator step.
    pub n_critic: usize,
    pub g: Mlp,
    pub d: Mlp,
    opt_g: Adam,
    opt_d: Adam,
}

impl WganGp {
    pub fn new(cfg: Common, lambda: f64, n_critic: usize, x_dim: usize, rng: &mut Rng) -> Result<Self> {
        let g = cfg.generator(x_dim, rng)?; // z [B, Z] → [B, X]
        let d = cfg.discriminator(x_dim, rng)?; // x [B, X] → score [B, 1]
        let opt_g = Adam::new(g.params.clone(), cfg.lr_g, cfg.betas)?;
        let opt_d = Adam::new(d.params.clone(), cfg.lr_d, cfg.betas)?;
        Ok(WganGp { cfg, lambda, n_critic, g, d, opt_g, opt_d })
    }

    /// λ · mean((‖∇_x̂ D(x̂)‖ − 1)²) on interpolates between `x` and `fake` (both [B, X]).
    pub fn gradient_penalty(&self, x: &Tensor, fake: &Tensor, rng: &mut Rng) -> Result<Tensor> {
        let b = x.shape()[0];
        let eps = Tensor::rand(&[b, 1], 0.0, 1.0, rng).to_device(&x.device())?; // [B, 1], one ε per pair
        let x_hat = eps.mul(x)?.add(&eps.neg()?.add_scalar(1.0)?.mul(fake)?)?.detach().requires_grad_(); // [B, X]
        let score = self.d.forward(&x_hat)?.sum_all()?; // Σ D(x̂): row i's gradient is ∇D(x̂ᵢ)
        let g = &grad(&[score], None, std::slice::from_ref(&x_hat), true)?[0]; // [B, X], differentiable
        g.sqr()?
            .sum(&[1], false)? // [B]
            .add_scalar(1e-12)? // keeps sqrt's derivative finite at a zero gradient
            .sqrt()?
            .add_scalar(-1.0)?
            .sqr()?
            .mean_all()?
            .mul_scalar(self.lambda)
    }
}

impl Gan for WganGp {
    super::toy_gan!();

    fn d_steps_per_g_step(&self) -> usize {
        self.n_critic
    }

    fn train_step(&mut self, data: &Mixture, rng: &mut Rng) -> Result<StepStats> {
        let b = self.cfg.batch_size;

        // (1) update D, n_critic times: minimise E[D(G(z))] − E[D(x)] + λ·GP
        let (mut d_loss, mut d_real, mut d_fake) = (0.0, 0.0, 0.0);
        for _ in 0..self.n_critic {
            let x = self.cfg.batch(data, b, rng)?; // [B, X]
            let fake = no_grad(|| self.g.forward(&self.cfg.noise(b, rng)?))?; // [B, X], detached
            let score_fake = self.d.forward(&fake)?.mean_all()?; // E[D(G(z))]
            let score_real = self.d.forward(&x)?.mean_all()?; // E[D(x)]
            let loss_d = score_fake.sub(&score_real)?.add(&self.gradient_penalty(&x, &fake, rng)?)?;
            // through the penalty's gradient graph: double backward
            d_loss = update(&loss_d, &self.d.params, &mut self.opt_d)?;
            (d_real, d_fake) = (score_real.item()?, score_fake.item()?);
        }

        // (2) update G: minimise −E[D(G(z))]
        let fake = self.g.forward(&self.cfg.noise(b, rng)?)?; // [B, X]
        let loss_g = self.d.forward(&fake)?.mean_all()?.neg()?;
        let g_loss = update(&loss_g, &self.g.params, &mut self.opt_g)?; // D frozen

        // The critic's mean scores on the last critic step's batches (scores, not probabilities).
        Ok(StepStats { d_loss, g_loss, d_real, d_fake })
    }
}

impl ToyGan for WganGp {
    super::toy_parts!();

    fn surface_is_probability(&self) -> bool {
        false
    }

    fn describe(&self) -> serde_json::Value {
        serde_json::json!({
            "model": "WGAN-GP", "lambda": self.lambda, "n_critic": self.n_critic,
            "common": self.cfg.to_json(), "G": self.g.describe(), "D": self.d.describe(),
        })
    }
}
