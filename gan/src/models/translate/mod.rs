//! Image-to-image models at 28×28: each maps an input image to an output image, trained on
//! input → target pairs (`crate::data::paired` makes them), one readable file each:
//!
//! - [`pix2pix`]: pix2pix (Isola et al. 2017) — U-Net generator, PatchGAN discriminator,
//!   L1 + conditional adversarial loss, with the paper's objective and patch-size ablations
//! - [`srgan`]: SRResNet and SRGAN (Ledig et al. 2017) — a residual generator with sub-pixel
//!   upsampling ×2 or ×4, trained on the MSE, then with an adversarial term from those weights
//! - [`context_encoder`]: the context encoder (Pathak et al. 2016) — an encoder–decoder that fills
//!   a centre hole from its surroundings, L2 alone or L2 + adversarial
//! - [`cyclegan`]: CycleGAN (Zhu et al. 2017) — two residual generators, two PatchGANs,
//!   least-squares adversarial and cycle-consistency losses, between two unpaired domains
//!
//! They take an input image instead of noise, so they do not implement `train::Gan` (whose
//! `sample` draws from noise); each player is still updated through `train::update`, its loss
//! differentiated with respect to its own parameters only.

pub mod context_encoder;
pub mod cyclegan;
pub mod pix2pix;
pub mod srgan;
