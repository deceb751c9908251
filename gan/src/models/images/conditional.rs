//! Conditional DCGAN (Mirza & Osindero 2014, with the DCGAN networks of `dcgan.rs`): both players
//! see a class label. G draws an image of the class it is given, G(z, y); D judges image–label
//! pairs, D(x, y), so a well-drawn digit with the wrong label is also "fake". The game is
//! otherwise the DCGAN one:
//!
//! ```text
//! L_D = BCE(D(x, y), 1) + BCE(D(G(z, y'), y'), 0)      L_G = BCE(D(G(z, y'), y'), 1)
//! ```
//!
//! with (x, y) a labelled training batch and y' labels drawn uniformly (so every class is
//! practised equally) or, with [`FakeLabels::LikeData`], the batch's own labels y. On an
//! imbalanced data set only the second is a fair game: with uniform y', a fake "9" is suspect
//! for its label alone when real 9s are rare (the best D is p_data(x, y) / (p_data(x, y) +
//! p_G(x, y)), far below ½ for a rare class even when G draws perfect 9s), so D wins on the
//! labels and G learns little. Once trained, `generate(z, y)` makes
//! labelled samples for any class — the building block for augmenting a small or imbalanced
//! training set. Label input: G gets z ⊕ one-hot(y) [B, Z+10]; D gets the image with 10 label
//! planes [B, 11, 28, 28] (shapes in `dcgan.rs`).

use minmax_engine::optim::Adam;
use minmax_engine::{Device, Generator as Rng, Result, Tensor};

use super::dcgan::{bce_step, players, DcDiscriminator, DcGenerator};
use super::{ImageBatch, ImageGan};
use crate::train::{Gan, StepStats};

pub struct ConditionalDcgan {
    pub g: DcGenerator,
    pub d: DcDiscriminator,
    pub classes: usize,
    pub fake_labels: FakeLabels,
    opt_g: Adam,
    opt_d: Adam,
}

/// The labels y' the generator is given in training.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FakeLabels {
    /// Drawn uniformly from the classes.
    Uniform,
    /// The real batch's labels: y' follows the data's class balance.
    LikeData,
}

impl ConditionalDcgan {
    /// A conditional DCGAN with uniform fake labels.
    pub fn new(z_dim: usize, classes: usize, rng: &mut Rng, device: &Device) -> Result<Self> {
        let (g, d, opt_g, opt_d) = players(z_dim, classes, true, (2e-4, (0.5, 0.999)), rng, device)?;
        Ok(ConditionalDcgan { g, d, classes, fake_labels: FakeLabels::Uniform, opt_g, opt_d })
    }
    pub fn with_fake_labels(mut self, f: FakeLabels) -> Self {
        self.fake_labels = f;
        self
    }
}

/// `n` labels drawn uniformly from `0..classes`, [n] i64 on `device`.
pub fn random_labels(n: usize, classes: usize, rng: &mut Rng, device: &Device) -> Result<Tensor> {
    let v: Vec<i64> = (0..n).map(|_| ((rng.uniform() * classes as f64) as i64).min(classes as i64 - 1)).collect();
    Tensor::new(v, &[n])?.to_device(device)
}

impl ImageGan for ConditionalDcgan {
    super::image_nets!("conditional-dcgan");
    fn classes(&self) -> usize {
        self.classes
    }
}

impl Gan for ConditionalDcgan {
    super::image_gan!();

    fn train_step(&mut self, batch: &ImageBatch, rng: &mut Rng) -> Result<StepStats> {
        let (x, labels) = (&batch.x, &batch.labels);
        let b = x.shape()[0];
        let dev = x.device();
        let z = super::noise(b, self.g.z_dim, rng, &dev)?;
        let y_real = labels.to_device(&dev)?;
        let y_fake = match self.fake_labels {
            FakeLabels::Uniform => random_labels(b, self.classes, rng, &dev)?,
            FakeLabels::LikeData => y_real.clone(),
        };
        bce_step(&self.g, &self.d, &mut self.opt_g, &mut self.opt_d, x, Some(&y_real), Some(&y_fake), &z)
    }
}
