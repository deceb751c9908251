//! The GANs, one readable file each (config, generator, discriminator, losses, the training step):
//!
//! - [`goodfellow2014`]: Generative Adversarial Nets (Goodfellow et al. 2014), the MNIST
//!   experiment as in the authors' code — MLP generator, maxout discriminator with dropout
//! - [`images`]: convolutional GANs on 28×28 images — DCGAN, conditional DCGAN, the
//!   Loss-Sensitive GAN, WGAN-GP — and what they share
//! - [`toy`]: small MLP GANs on 2-D mixtures — the vanilla GAN and the mode-collapse remedies
//!   (WGAN-GP, PacGAN, unrolled GAN)
//!
//! This file holds the types every model uses: [`StepStats`] and [`GeneratorLoss`].

pub mod goodfellow2014;
pub mod images;
pub mod toy;

use minmax_engine::{Error, Result};

/// Means over one minibatch. For WGAN-GP and the Loss-Sensitive GAN, `d_real`/`d_fake` are the
/// critic's scores / the loss function's values, not probabilities.
#[derive(Clone, Copy, Debug, Default)]
pub struct StepStats {
    pub d_loss: f64,
    pub g_loss: f64,
    /// mean D(x) on training images
    pub d_real: f64,
    /// mean D(G(z)) on generated images
    pub d_fake: f64,
}

/// Which loss G minimises. The 2014 paper's analysis uses the minimax (saturating) form; its
/// experiments use the non-saturating one because log(1 − D(G(z))) has almost no gradient early
/// in training, when D rejects G's samples with high confidence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GeneratorLoss {
    /// minimise −log D(G(z))
    NonSaturating,
    /// minimise log(1 − D(G(z)))
    Saturating,
}

impl GeneratorLoss {
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "non-saturating" | "nonsaturating" | "ns" => Ok(GeneratorLoss::NonSaturating),
            "saturating" | "minimax" => Ok(GeneratorLoss::Saturating),
            _ => Err(Error::msg(format!(
                "--g-loss: '{s}' is not a generator loss (expected non-saturating or saturating)"
            ))),
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            GeneratorLoss::NonSaturating => "non-saturating",
            GeneratorLoss::Saturating => "saturating",
        }
    }
}
