//! Labs: experiments that compare several models on one question and write a report with
//! pictures.
//!
//! - [`mode_collapse`]: the vanilla GAN and its remedies (WGAN-GP, PacGAN, unrolled GAN) on 2-D
//!   mixtures of Gaussians, scored by modes covered and % high-quality samples
//!   (`minmax lab mode-collapse`)
//! - [`pictures`]: the snapshots of that lab (D's decision surface, samples, mode histograms)

pub mod mode_collapse;
pub mod pictures;
