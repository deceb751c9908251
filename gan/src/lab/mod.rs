//! Labs: experiments that compare several models on one question and write a report with
//! pictures.
//!
//! - [`mode_collapse`]: the vanilla GAN and its remedies (WGAN-GP, PacGAN, unrolled GAN) on 2-D
//!   mixtures of Gaussians, scored by modes covered and % high-quality samples
//!   (`minmax lab mode-collapse`)
//! - [`pictures`]: the snapshots of that lab (D's decision surface, samples, mode histograms)
//! - [`image_gans`]: the convolutional GANs on MNIST and Fashion-MNIST, scored during training by
//!   FID, Inception Score, precision/recall and class coverage next to real data
//!   (`minmax lab images`)
//! - [`generalization`]: DCGAN trained on 100, 1,000 and all training images; reconstruction
//!   error of training vs test images and a nearest-neighbour memorisation check
//!   (`minmax lab generalization`)

pub mod generalization;
pub mod image_gans;
pub mod mode_collapse;
pub mod pictures;
