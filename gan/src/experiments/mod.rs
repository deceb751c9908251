//! Experiments: the paper reproduction and the labs. Each runs its models on one question and
//! writes a report (Markdown and JSON) with pictures.
//!
//! - [`goodfellow2014`]: `minmax reproduce goodfellow2014` — the 2014 paper's MNIST experiment end
//!   to end (training, model selection, Parzen-window evaluation next to Table 1, figures)
//! - [`mode_collapse`]: the vanilla GAN and its remedies (WGAN-GP, PacGAN, unrolled GAN) on 2-D
//!   mixtures of Gaussians, scored by modes covered and % high-quality samples
//!   (`minmax lab mode-collapse`; its pictures are in `viz::mode_collapse`)
//! - [`image_gans`]: the convolutional GANs on MNIST and Fashion-MNIST, scored during training by
//!   FID, Inception Score, precision/recall and class coverage next to real data
//!   (`minmax lab images`)
//! - [`generalization`]: DCGAN trained on 100, 1,000 and all training images; reconstruction
//!   error of training vs test images and a nearest-neighbour memorisation check
//!   (`minmax lab generalization`)

pub mod generalization;
pub mod goodfellow2014;
pub mod image_gans;
pub mod mode_collapse;
