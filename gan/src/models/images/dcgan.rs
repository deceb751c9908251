//! DCGAN (Radford, Metz & Chintala 2016) for 28×28 images (one channel; C channels for
//! Stacked-MNIST, `stacked.rs`), following the paper's guidelines:
//!
//! - no pooling: G upsamples with strided transposed convolutions, D downsamples with strided
//!   convolutions;
//! - batch norm in both networks, except on G's output layer and D's input layer;
//! - ReLU in G with a tanh output (images live in [−1, 1]); LeakyReLU(0.2) in D;
//! - Adam with lr 2·10⁻⁴ and β₁ = 0.5; weights drawn from N(0, 0.02) (batch-norm scales from
//!   N(1, 0.02), biases 0).
//!
//! The game is the original one with the non-saturating G loss:
//!
//! ```text
//! L_D = BCE(D(x), 1) + BCE(D(G(z)), 0)        L_G = BCE(D(G(z)), 1) = −log D(G(z))
//! ```
//!
//! The networks take an optional class label (`classes > 0`): G reads z ⊕ one-hot(y), D reads the
//! image with 10 constant label planes stacked on it. `conditional.rs` trains them that way; here
//! `classes = 0` and they are the plain DCGAN. Shapes (B = batch, Z = noise dim, K = classes,
//! C = image channels, 1 here; W = D's width, 64 here):
//!
//! ```text
//! G: [z ⊕ onehot(y)] [B, Z+K] → Linear (no bias) [B, 6272] → view [B, 128, 7, 7] → BN → ReLU
//!    → ConvT 4×4 s2 p1 [B, 64, 14, 14] → BN → ReLU → ConvT 4×4 s2 p1 [B, C, 28, 28] → tanh
//! D: [x ⊕ y planes] [B, C+K, 28, 28] → Conv 4×4 s2 p1 [B, W, 14, 14] → LeakyReLU(0.2)
//!    → Conv 4×4 s2 p1 [B, 2W, 7, 7] → BN → LeakyReLU(0.2) → flatten [B, 98W] → Linear → logit [B, 1]
//! ```

use minmax_engine::nn::init::{init_, Init};
use minmax_engine::nn::{prefixed, BatchNorm2d, Conv2d, ConvTranspose2d, Linear, Module};
use minmax_engine::optim::Adam;
use minmax_engine::{Device, Generator as Rng, Result, Tensor};

use super::{ImageBatch, ImageGan};
use crate::train::{update, Gan, StepStats};

/// N(0, 0.02) for every conv and linear weight, N(1, 0.02) for batch-norm scales, 0 for biases.
pub fn dcgan_init(m: &dyn Module, rng: &mut Rng) -> Result<()> {
    for (name, p) in m.named_parameters() {
        let bn = name.contains("bn");
        let init = match (bn, name.ends_with("bias")) {
            (_, true) => Init::Constant(0.0),
            (true, false) => Init::Normal(1.0, 0.02),
            (false, false) => Init::Normal(0.0, 0.02),
        };
        init_(&p, init, rng)?;
    }
    Ok(())
}

/// One-hot labels [B] (i64) → [B, K] on `like`'s device and dtype.
pub fn one_hot(labels: &Tensor, classes: usize, like: &Tensor) -> Result<Tensor> {
    labels.one_hot(classes)?.to_dtype(like.dtype())?.to_device(&like.device())
}

pub struct DcGenerator {
    pub z_dim: usize,
    pub classes: usize,
    /// Image channels C.
    pub channels: usize,
    fc: Linear,
    bn0: BatchNorm2d,
    ct1: ConvTranspose2d,
    bn1: BatchNorm2d,
    ct2: ConvTranspose2d,
}

impl DcGenerator {
    pub fn new(z_dim: usize, classes: usize, rng: &mut Rng) -> Result<Self> {
        DcGenerator::with_channels(z_dim, classes, 1, rng)
    }

    /// G drawing images of `channels` channels (three for Stacked-MNIST).
    pub fn with_channels(z_dim: usize, classes: usize, channels: usize, rng: &mut Rng) -> Result<Self> {
        let z0 = Init::Constant(0.0);
        let g = DcGenerator {
            z_dim,
            classes,
            channels,
            fc: Linear::with_init(z_dim + classes, 128 * 7 * 7, false, z0, z0, rng)?,
            bn0: BatchNorm2d::new(128),
            ct1: ConvTranspose2d::new(128, 64, 4, 2, 1, 0, false, rng)?,
            bn1: BatchNorm2d::new(64),
            ct2: ConvTranspose2d::new(64, channels, 4, 2, 1, 0, true, rng)?,
        };
        dcgan_init(&g, rng)?;
        Ok(g)
    }

    /// z [B, Z] (and labels [B] when conditional) → images [B, C, 28, 28] in [−1, 1].
    pub fn generate(&self, z: &Tensor, labels: Option<&Tensor>) -> Result<Tensor> {
        let b = z.shape()[0];
        let input = match (self.classes, labels) {
            (0, _) => z.clone(),
            (k, Some(y)) => Tensor::cat(&[z, &one_hot(y, k, z)?], 1)?, // [B, Z+K]
            (_, None) => return Err(minmax_engine::Error::msg("a conditional generator needs labels")),
        };
        let h = self.fc.forward(&input)?.view(&[b, 128, 7, 7])?; // [B, 128, 7, 7]
        let h = self.bn0.forward(&h)?.relu()?;
        let h = self.bn1.forward(&self.ct1.forward(&h)?)?.relu()?; // [B, 64, 14, 14]
        self.ct2.forward(&h)?.tanh() // [B, C, 28, 28]
    }
}

impl Module for DcGenerator {
    fn forward(&self, z: &Tensor) -> Result<Tensor> {
        self.generate(z, None)
    }
    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        let mut v = prefixed("fc", self.fc.named_parameters());
        v.extend(prefixed("bn0", self.bn0.named_parameters()));
        v.extend(prefixed("ct1", self.ct1.named_parameters()));
        v.extend(prefixed("bn1", self.bn1.named_parameters()));
        v.extend(prefixed("ct2", self.ct2.named_parameters()));
        v
    }
    fn named_buffers(&self) -> Vec<(String, Tensor)> {
        let mut v = prefixed("bn0", self.bn0.named_buffers());
        v.extend(prefixed("bn1", self.bn1.named_buffers()));
        v
    }
    fn set_training(&self, on: bool) {
        self.bn0.set_training(on);
        self.bn1.set_training(on);
    }
}

pub struct DcDiscriminator {
    pub classes: usize,
    /// Image channels C it reads (besides the label planes).
    pub channels: usize,
    c1: Conv2d,
    c2: Conv2d,
    /// None for the WGAN-GP critic: batch norm would make each score depend on the rest of the
    /// batch, and the gradient penalty is defined per sample.
    bn: Option<BatchNorm2d>,
    fc: Linear,
}

impl DcDiscriminator {
    pub fn new(classes: usize, batch_norm: bool, rng: &mut Rng) -> Result<Self> {
        DcDiscriminator::with(classes, batch_norm, 1, 64, rng)
    }

    /// D reading images of `channels` channels with `width` filters in its first layer (2·width
    /// in its second; 64 in the paper's nets, less for the weaker D's of the mode-collapse
    /// literature).
    pub fn with(classes: usize, batch_norm: bool, channels: usize, width: usize, rng: &mut Rng) -> Result<Self> {
        let d = DcDiscriminator {
            classes,
            channels,
            c1: Conv2d::new(channels + classes, width, 4, 2, 1, true, rng)?,
            c2: Conv2d::new(width, 2 * width, 4, 2, 1, !batch_norm, rng)?,
            bn: if batch_norm { Some(BatchNorm2d::new(2 * width)) } else { None },
            fc: Linear::new(2 * width * 7 * 7, 1, rng)?,
        };
        dcgan_init(&d, rng)?;
        Ok(d)
    }

    /// Images [B, C, 28, 28] (and labels [B] when conditional) → logits [B, 1].
    pub fn score(&self, x: &Tensor, labels: Option<&Tensor>) -> Result<Tensor> {
        let b = x.shape()[0];
        let input = match (self.classes, labels) {
            (0, _) => x.clone(),
            (k, Some(y)) => {
                // [B, K] → [B, K, 28, 28]: every pixel sees the label
                let planes = one_hot(y, k, x)?.view(&[b, k, 1, 1])?.expand(&[b, k, 28, 28])?;
                Tensor::cat(&[x, &planes], 1)? // [B, C+K, 28, 28]
            }
            (_, None) => return Err(minmax_engine::Error::msg("a conditional discriminator needs labels")),
        };
        let h = self.c1.forward(&input)?.leaky_relu(0.2)?; // [B, W, 14, 14]
        let h = self.c2.forward(&h)?; // [B, 2W, 7, 7]
        let h = match &self.bn {
            Some(bn) => bn.forward(&h)?,
            None => h,
        };
        let h = h.leaky_relu(0.2)?.flatten(1, 3)?; // [B, 98W]
        self.fc.forward(&h) // [B, 1]
    }
}

impl Module for DcDiscriminator {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.score(x, None)
    }
    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        let mut v = prefixed("c1", self.c1.named_parameters());
        v.extend(prefixed("c2", self.c2.named_parameters()));
        if let Some(bn) = &self.bn {
            v.extend(prefixed("bn", bn.named_parameters()));
        }
        v.extend(prefixed("fc", self.fc.named_parameters()));
        v
    }
    fn named_buffers(&self) -> Vec<(String, Tensor)> {
        self.bn.as_ref().map(|bn| prefixed("bn", bn.named_buffers())).unwrap_or_default()
    }
    fn set_training(&self, on: bool) {
        if let Some(bn) = &self.bn {
            bn.set_training(on);
        }
    }
}

/// The plain DCGAN: G, D, and their Adam optimizers.
pub struct Dcgan {
    pub g: DcGenerator,
    pub d: DcDiscriminator,
    opt_g: Adam,
    opt_d: Adam,
}

impl Dcgan {
    pub fn new(z_dim: usize, rng: &mut Rng, device: &Device) -> Result<Self> {
        let (g, d, opt_g, opt_d) = players(z_dim, 0, true, (2e-4, (0.5, 0.999)), rng, device)?;
        Ok(Dcgan { g, d, opt_g, opt_d })
    }
}

/// G and D (with or without D's batch norm, conditioned on `classes` labels or not), moved to
/// `device`, and an Adam optimizer for each with `(lr, betas)`: how every image GAN here starts.
pub(crate) fn players(
    z_dim: usize,
    classes: usize,
    d_batch_norm: bool,
    (lr, betas): (f64, (f64, f64)),
    rng: &mut Rng,
    device: &Device,
) -> Result<(DcGenerator, DcDiscriminator, Adam, Adam)> {
    let g = DcGenerator::new(z_dim, classes, rng)?;
    let d = DcDiscriminator::new(classes, d_batch_norm, rng)?;
    g.to_device(device)?;
    d.to_device(device)?;
    let opt_g = Adam::new(g.parameters(), lr, betas)?;
    let opt_d = Adam::new(d.parameters(), lr, betas)?;
    Ok((g, d, opt_g, opt_d))
}

/// One step of the standard game for any (G, D) pair that takes optional labels: D on real
/// and generated batches, then G with the non-saturating loss. Shared with `conditional.rs`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn bce_step(
    g: &DcGenerator,
    d: &DcDiscriminator,
    opt_g: &mut Adam,
    opt_d: &mut Adam,
    x: &Tensor,
    y_real: Option<&Tensor>,
    y_fake: Option<&Tensor>,
    z: &Tensor,
) -> Result<StepStats> {
    let b = x.shape()[0];
    let ones = x.full_like(&[b, 1], 1.0)?;
    let zeros = x.full_like(&[b, 1], 0.0)?;

    // (1) D: real images toward 1, generated ones (G frozen: detached) toward 0.
    let fake = g.generate(z, y_fake)?; // [B, 1, 28, 28]
    let d_real = d.score(x, y_real)?; // [B, 1]
    let d_fake = d.score(&fake.detach(), y_fake)?;
    let loss_d = d_real.bce_with_logits(&ones)?.add(&d_fake.bce_with_logits(&zeros)?)?;
    let d_loss = update(&loss_d, &d.parameters(), opt_d)?;

    // (2) G: make D call the same fakes real (the non-saturating loss −log D(G(z))); D frozen.
    let loss_g = d.score(&fake, y_fake)?.bce_with_logits(&ones)?;
    let g_loss = update(&loss_g, &g.parameters(), opt_g)?;

    Ok(StepStats {
        d_loss,
        g_loss,
        d_real: d_real.sigmoid()?.mean_all()?.item()?,
        d_fake: d_fake.sigmoid()?.mean_all()?.item()?,
    })
}

impl ImageGan for Dcgan {
    super::image_nets!("dcgan");
}

impl Gan for Dcgan {
    super::image_gan!();

    fn train_step(&mut self, batch: &ImageBatch, rng: &mut Rng) -> Result<StepStats> {
        let x = &batch.x;
        let z = super::noise(x.shape()[0], self.g.z_dim, rng, &x.device())?;
        bce_step(&self.g, &self.d, &mut self.opt_g, &mut self.opt_d, x, None, None, &z)
    }
}
