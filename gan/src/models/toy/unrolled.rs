//! Unrolled GAN (Metz et al. 2017): G is trained against the discriminator it *would face* after
//! D has answered with k more updates, and the gradient flows back through those updates. A G that
//! jumps to the mode D currently likes is punished, because the unrolled D has already moved on.
//!
//! With θ the discriminator's parameters and f(θ_G, θ) = E[log D(x; θ)] + E[log(1 − D(G(z); θ))]:
//!
//! ```text
//! θ⁰ = θ,   θⁱ⁺¹ = θⁱ + η ∇_θ f(θ_G, θⁱ)          (k plain gradient steps on D's objective)
//! L_G(θ_G) = −E[log D(G(z); θᵏ(θ_G))]              (non-saturating, at the unrolled D)
//! ```
//!
//! and dL_G/dθ_G includes the path through every θⁱ(θ_G). Each θⁱ⁺¹ is built with
//! `grad(.., create_graph = true)`, so it is a differentiable function of G's parameters (through
//! the fake samples in f); D is written as a function of explicit parameter tensors
//! (`Mlp::forward_with`) so it can be evaluated at θⁱ. The real D is then trained as usual (one
//! Adam step per iteration); the unrolled copies are thrown away.
//!
//! Approximations, and why:
//! - the unrolled updates are plain SGD steps with their own rate η (`unroll_lr`), not copies of
//!   D's Adam update as in the paper's experiments: differentiating through Adam's moment estimates
//!   adds much graph for little change in the idea, and SGD makes the formula above exact;
//! - all k unrolled steps reuse the iteration's minibatch of real and of generated samples (the one
//!   D's own step and G's loss use), as the widely used reference notebook does; the paper draws
//!   new ones.
//!
//! Shapes: B = batch, Z = noise dim, X = data dim, H = hidden width.
//!
//! ```text
//! G: z [B, Z] → Linear → ReLU [B, H] → Linear → ReLU [B, H] → Linear → x̃ [B, X]
//! D(·; θ): x [B, X] → Linear → LeakyReLU(0.2) [B, H] → Linear → LeakyReLU(0.2) [B, H] → Linear → logit [B, 1]
//! ```

use minmax_engine::optim::Adam;
use minmax_engine::{grad, Generator as Rng, Result, Tensor};

use super::nets::Mlp;
use super::{Common, Mixture, ToyGan};
use crate::train::{update, Gan, StepStats};

pub struct UnrolledGan {
    pub cfg: Common,
    /// Unrolled D steps k.
    pub k: usize,
    /// Learning rate η of the unrolled SGD steps.
    pub unroll_lr: f64,
    pub g: Mlp,
    pub d: Mlp,
    opt_g: Adam,
    opt_d: Adam,
}

impl UnrolledGan {
    pub fn new(cfg: Common, k: usize, unroll_lr: f64, x_dim: usize, rng: &mut Rng) -> Result<Self> {
        let g = cfg.generator(x_dim, rng)?; // z [B, Z] → [B, X]
        let d = cfg.discriminator(x_dim, rng)?; // x [B, X] → logit [B, 1]
        let opt_g = Adam::new(g.params.clone(), cfg.lr_g, cfg.betas)?;
        let opt_d = Adam::new(d.params.clone(), cfg.lr_d, cfg.betas)?;
        Ok(UnrolledGan { cfg, k, unroll_lr, g, d, opt_g, opt_d })
    }

    /// D's loss −f = BCE(D(x; θ), 1) + BCE(D(fake; θ), 0) at parameters θ, and D's logits on
    /// the real and the generated batch ([B, 1] each).
    fn d_loss(&self, theta: &[Tensor], x: &Tensor, fake: &Tensor) -> Result<(Tensor, Tensor, Tensor)> {
        let real = self.d.forward_with(theta, x)?; // [B, 1]
        let gen = self.d.forward_with(theta, fake)?; // [B, 1]
        let loss = real.bce_with_logits(&real.ones_like()?)?.add(&gen.bce_with_logits(&gen.zeros_like()?)?)?;
        Ok((loss, real, gen))
    }

    /// G's loss against D unrolled k steps: −mean log D(fake; θᵏ), where θ⁰ = D's current
    /// parameters (as constants) and θⁱ⁺¹ = θⁱ − η ∇_θ L_D(θⁱ; x, fake). A differentiable function
    /// of `fake` (and so of G's parameters) through every unrolled step.
    pub fn surrogate_g_loss(&self, x: &Tensor, fake: &Tensor) -> Result<Tensor> {
        // θ⁰ = θ, as constants: G's gradient must not reach D's leaves.
        let mut theta: Vec<Tensor> = self.d.params.iter().map(|p| p.detach().requires_grad_()).collect();
        for _ in 0..self.k {
            let (l, _, _) = self.d_loss(&theta, x, fake)?;
            let g = grad(&[l], None, &theta, true)?; // ∇_θ L_D, a graph in θⁱ and in `fake`
            theta =
                theta.iter().zip(&g).map(|(t, gt)| t.sub(&gt.mul_scalar(self.unroll_lr)?)).collect::<Result<_>>()?;
            // θⁱ⁺¹ = θⁱ − η ∇_θ L_D
        }
        let logits = self.d.forward_with(&theta, fake)?; // [B, 1], D(G(z); θᵏ)
        logits.bce_with_logits(&logits.ones_like()?)
    }
}

impl Gan for UnrolledGan {
    super::toy_gan!();

    fn train_step(&mut self, data: &Mixture, rng: &mut Rng) -> Result<StepStats> {
        let b = self.cfg.batch_size;

        let x = self.cfg.batch(data, b, rng)?; // [B, X]
        let fake = self.g.forward(&self.cfg.noise(b, rng)?)?; // [B, X], in the graph of θ_G

        // (1) update D: one ordinary Adam step on BCE(D(x), 1) + BCE(D(G(z)), 0)
        let (loss_d, d_real, d_fake) = self.d_loss(&self.d.params, &x, &fake.detach())?;
        let d_loss = update(&loss_d, &self.d.params, &mut self.opt_d)?;

        // (2) update G against D unrolled k steps ahead of its updated parameters, on the same batch
        let loss_g = self.surrogate_g_loss(&x, &fake)?;
        let g_loss = update(&loss_g, &self.g.params, &mut self.opt_g)?; // through all k steps

        Ok(StepStats { d_loss, g_loss, d_real: super::mean_prob(&d_real)?, d_fake: super::mean_prob(&d_fake)? })
    }
}

impl ToyGan for UnrolledGan {
    super::toy_parts!();

    fn describe(&self) -> serde_json::Value {
        serde_json::json!({
            "model": format!("Unrolled GAN (k = {})", self.k), "unroll_steps": self.k,
            "unroll_optimizer": "SGD", "unroll_lr": self.unroll_lr, "g_loss": "non-saturating",
            "common": self.cfg.to_json(), "G": self.g.describe(), "D": self.d.describe(),
        })
    }
}
