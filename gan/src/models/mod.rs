//! The GANs, one readable file each (config, generator, discriminator, losses, the training step):
//!
//! - [`goodfellow2014`]: Generative Adversarial Nets (Goodfellow et al. 2014), the MNIST
//!   experiment as in the authors' code — MLP generator, maxout discriminator with dropout
//! - [`images`]: convolutional GANs on 28×28 images — DCGAN, conditional DCGAN, the
//!   Loss-Sensitive GAN, WGAN-GP — and what they share
//! - [`toy`]: small MLP GANs on 2-D mixtures — the vanilla GAN and the mode-collapse remedies
//!   (WGAN-GP, PacGAN, unrolled GAN)
//! - [`translate`]: image-to-image models (pix2pix), which map an input image to an output
//!
//! Every model implements [`crate::train::Gan`], the one training interface. This file holds
//! [`GeneratorLoss`], the choice of G's loss that several models share.

pub mod goodfellow2014;
pub mod images;
pub mod toy;
pub mod translate;

use minmax_engine::{Error, Result};

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
