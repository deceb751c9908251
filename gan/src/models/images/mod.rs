//! Convolutional GANs on 28×28 single-channel images (MNIST, Fashion-MNIST), one file each:
//!
//! - [`dcgan`]: DCGAN (Radford et al. 2016), and the networks the others reuse
//! - [`conditional`]: conditional DCGAN — G(z, y) draws a chosen class
//! - [`loss_sensitive`]: the Loss-Sensitive GAN (Qi 2017; `--model loss-sensitive`, not to be
//!   confused with the Least-Squares GAN, LSGAN)
//! - [`wgan_gp`]: WGAN-GP (Gulrajani et al. 2017)
//! - [`stacked`]: DCGAN and PacDCGAN on Stacked-MNIST (three digits per image, one per channel)
//!
//! Every model implements the training interface [`crate::train::Gan`] with an [`ImageBatch`] as
//! its data, and [`ImageGan`] (its name and nets); the Stacked-MNIST models read their images
//! [B, 3, 28, 28] directly. This file holds what they share: the noise, the
//! conversion between the data sets' pixels ([n, 784] in [0, 1]) and the models' images
//! ([n, 1, 28, 28] in [−1, 1]), sampling, the training loop and checkpoints.

pub mod conditional;
pub mod dcgan;
pub mod loss_sensitive;
pub mod stacked;
pub mod wgan_gp;

use std::path::Path;

use minmax_engine::nn::{prefixed, Module};
use minmax_engine::{Device, Error, Generator as Rng, Result, Tensor};

use crate::data::Dataset;
use crate::train::{Gan, StepStats};
use dcgan::{DcDiscriminator, DcGenerator};

/// One training minibatch: real images x [B, 1, 28, 28] in [−1, 1] and their labels [B] (i64).
pub struct ImageBatch {
    pub x: Tensor,
    pub labels: Tensor,
}

/// What every image GAN offers besides the training interface: its name and its two nets.
pub trait ImageGan: Gan<Data = ImageBatch> {
    fn name(&self) -> &'static str;
    fn generator(&self) -> &DcGenerator;
    fn discriminator(&self) -> &DcDiscriminator;
    /// Number of classes G is conditioned on (0: unconditional).
    fn classes(&self) -> usize {
        0
    }
}

/// The parts of an image model's `Gan` impl that every image model shares (data, samples,
/// state): write `image_gan!();` inside the impl, beside `train_step`.
macro_rules! image_gan {
    () => {
        type Data = $crate::models::images::ImageBatch;
        /// `n` images as pixels [n, 784] in [0, 1] on the CPU (a conditional G draws the classes
        /// 0, 1, 2, … in turn).
        fn sample(&self, n: usize, rng: &mut minmax_engine::Generator) -> minmax_engine::Result<minmax_engine::Tensor> {
            $crate::models::images::sample_classes_in_turn(self, n, rng)
        }
        fn state_dict(&self) -> Vec<(String, minmax_engine::Tensor)> {
            $crate::models::images::state_dict(self)
        }
    };
}
pub(crate) use image_gan;

/// The name and the two nets of an image model with fields `g` and `d`: write
/// `image_nets!("name");` inside its `impl ImageGan`.
macro_rules! image_nets {
    ($name:literal) => {
        fn name(&self) -> &'static str {
            $name
        }
        fn generator(&self) -> &$crate::models::images::dcgan::DcGenerator {
            &self.g
        }
        fn discriminator(&self) -> &$crate::models::images::dcgan::DcDiscriminator {
            &self.d
        }
    };
}
pub(crate) use image_nets;

/// Updates of (D, G) in `steps` training steps of `gan` (G is updated on every
/// `d_steps_per_g_step`-th step): what a report must say beside the step count.
pub fn updates(gan: &dyn ImageGan, steps: usize) -> (usize, usize) {
    (steps, steps / gan.d_steps_per_g_step().max(1))
}

/// The models by name, as the command line spells them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Model {
    Dcgan,
    Conditional,
    LossSensitive,
    WganGp,
}

impl Model {
    pub const ALL: [Model; 4] = [Model::Dcgan, Model::Conditional, Model::LossSensitive, Model::WganGp];
    pub fn parse(s: &str) -> Result<Model> {
        if s == "lsgan" {
            // Most readers take "LSGAN" for the Least-Squares GAN (Mao et al. 2017), which is not
            // here: the name is left free rather than given to the Loss-Sensitive GAN.
            return Err(Error::msg(
                "unknown model 'lsgan': the Loss-Sensitive GAN (Qi 2017) is 'loss-sensitive' (or 'ls-gan'); \
                 the Least-Squares GAN is not implemented",
            ));
        }
        let s = if s == "ls-gan" { "loss-sensitive" } else { s };
        Model::ALL.into_iter().find(|m| m.name() == s).ok_or_else(|| {
            Error::msg(format!("unknown model '{s}': expected dcgan, conditional-dcgan, loss-sensitive or wgan-gp"))
        })
    }
    pub fn name(self) -> &'static str {
        match self {
            Model::Dcgan => "dcgan",
            Model::Conditional => "conditional-dcgan",
            Model::LossSensitive => "loss-sensitive",
            Model::WganGp => "wgan-gp",
        }
    }
    /// A fresh model with noise dim `z_dim` (100 in the papers), initialised from `rng`.
    pub fn build(self, z_dim: usize, rng: &mut Rng, device: &Device) -> Result<Box<dyn ImageGan>> {
        Ok(match self {
            Model::Dcgan => Box::new(dcgan::Dcgan::new(z_dim, rng, device)?),
            Model::Conditional => Box::new(conditional::ConditionalDcgan::new(z_dim, 10, rng, device)?),
            Model::LossSensitive => Box::new(loss_sensitive::LossSensitiveGan::new(z_dim, rng, device)?),
            Model::WganGp => Box::new(wgan_gp::WganGp::new(z_dim, rng, device)?),
        })
    }
}

/// z ~ N(0, 1), [b, z_dim], drawn from `rng` (on the CPU, so every device draws the same numbers).
pub fn noise(b: usize, z_dim: usize, rng: &mut Rng, device: &Device) -> Result<Tensor> {
    Tensor::randn(&[b, z_dim], rng).to_device(device)
}

/// Data-set pixels [n, 784] in [0, 1] → model images [n, 1, 28, 28] in [−1, 1].
pub fn to_model_space(x: &Tensor) -> Result<Tensor> {
    let n = x.shape()[0];
    x.affine(2.0, -1.0)?.view(&[n, 1, 28, 28])
}

/// Model images [n, 1, 28, 28] in [−1, 1] → pixels [n, 784] in [0, 1].
pub fn to_pixel_space(x: &Tensor) -> Result<Tensor> {
    let n = x.shape()[0];
    x.reshape(&[n as isize, -1])?.affine(0.5, 0.5)
}

/// `n` generated images as pixels [n, 784] in [0, 1] on the CPU, from G in eval mode (batch norm
/// with its running statistics), without a graph. `labels` [n] for a conditional G.
pub fn sample(gan: &dyn ImageGan, n: usize, labels: Option<&Tensor>, rng: &mut Rng) -> Result<Tensor> {
    let g = gan.generator();
    let device = g.parameters()[0].device();
    g.eval();
    let mut at = 0;
    let out = crate::train::sample_in_chunks(n, 500, |b| {
        let z = noise(b, g.z_dim, rng, &device)?;
        let y = match labels {
            Some(l) => Some(l.narrow(0, at, b)?.to_device(&device)?),
            None => None,
        };
        at += b;
        to_pixel_space(&g.generate(&z, y.as_ref())?)
    });
    g.train();
    out
}

/// `n` generated images as pixels [n, 784] in [0, 1]; a conditional G is given the classes
/// 0, 1, …, classes − 1, 0, 1, … in turn.
pub fn sample_classes_in_turn(gan: &dyn ImageGan, n: usize, rng: &mut Rng) -> Result<Tensor> {
    let labels = match gan.classes() {
        0 => None,
        c => Some(Tensor::new((0..n).map(|i| (i % c) as i64).collect::<Vec<_>>(), &[n])?),
    };
    sample(gan, n, labels.as_ref(), rng)
}

/// Options of [`train`].
#[derive(Clone, Debug)]
pub struct TrainOptions {
    /// Training steps (minibatches) in total.
    pub steps: usize,
    pub batch: usize,
    pub seed: u64,
    pub device: Device,
    /// Print a line every this many steps (0: never).
    pub log_every: usize,
}

/// One point of the loss curves: the means over `log_every` steps ending at `step`.
#[derive(Clone, Copy, Debug)]
pub struct LogPoint {
    pub step: usize,
    pub stats: StepStats,
}

/// Train `gan` on `data` for `o.steps` minibatches (epochs of shuffled batches, the last partial
/// batch of each epoch dropped), calling `every(step, gan)` after each step — the place for
/// evaluation. Stops with an error naming the step when a loss is not finite.
pub fn train(
    gan: &mut dyn ImageGan,
    data: &Dataset,
    o: &TrainOptions,
    mut every: impl FnMut(usize, &dyn ImageGan) -> Result<()>,
) -> Result<Vec<LogPoint>> {
    if data.len() < o.batch {
        return Err(Error::msg(format!(
            "{}: {} training images are fewer than one batch of {}",
            gan.name(),
            data.len(),
            o.batch
        )));
    }
    let mut rng = Rng::new(o.seed);
    let mut shuffle = rng.fork();
    let mut log = Vec::new();
    let mut acc = StepStats::default();
    let mut in_acc = 0usize;
    let mut step = 0;
    let every_log = o.log_every.max(1);
    while step < o.steps {
        for batch in data.batches(o.batch, &mut shuffle, true)?.drop_last() {
            if step >= o.steps {
                break;
            }
            let (x, labels) = batch?;
            let x = to_model_space(&x.to_device(&o.device)?)?;
            let s = gan.train_step(&ImageBatch { x, labels }, &mut rng)?;
            if !(s.d_loss.is_finite() && s.g_loss.is_finite()) {
                return Err(Error::msg(format!(
                    "{}: training diverged at step {step}: D loss {}, G loss {}",
                    gan.name(),
                    s.d_loss,
                    s.g_loss
                )));
            }
            step += 1;
            acc.d_loss += s.d_loss;
            acc.g_loss += s.g_loss;
            acc.d_real += s.d_real;
            acc.d_fake += s.d_fake;
            in_acc += 1;
            if step % every_log == 0 || step == o.steps {
                let k = in_acc as f64;
                let mean = StepStats {
                    d_loss: acc.d_loss / k,
                    g_loss: acc.g_loss / k,
                    d_real: acc.d_real / k,
                    d_fake: acc.d_fake / k,
                };
                log.push(LogPoint { step, stats: mean });
                if o.log_every > 0 {
                    eprintln!(
                        "{} step {step}/{}: D loss {:.4}  G loss {:.4}  D(x) {:.3}  D(G(z)) {:.3}",
                        gan.name(),
                        o.steps,
                        mean.d_loss,
                        mean.g_loss,
                        mean.d_real,
                        mean.d_fake
                    );
                }
                acc = StepStats::default();
                in_acc = 0;
            }
            every(step, gan)?;
        }
    }
    Ok(log)
}

/// Everything a checkpoint of an image GAN holds: G's and D's parameters and buffers.
pub fn state_dict(gan: &dyn ImageGan) -> Vec<(String, Tensor)> {
    let mut v = prefixed("generator", gan.generator().state_dict());
    v.extend(prefixed("discriminator", gan.discriminator().state_dict()));
    v
}

/// Save G and D (atomically: a crash leaves the previous file).
pub fn save(gan: &dyn ImageGan, path: &Path) -> Result<()> {
    let meta = std::collections::HashMap::from([("model".to_string(), gan.name().to_string())]);
    minmax_engine::io::save_safetensors(path, &state_dict(gan), Some(meta))
}

/// Load what [`save`] wrote into `gan` (same model, any device).
pub fn load(gan: &dyn ImageGan, path: &Path) -> Result<()> {
    let meta = minmax_engine::io::load_into(path, &state_dict(gan))?;
    match meta.get("model") {
        Some(m) if m == gan.name() => Ok(()),
        Some(m) => Err(Error::file(path, format!("a {m} checkpoint, not {}", gan.name()))),
        None => Err(Error::file(path, "no 'model' metadata: not an image-GAN checkpoint")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny_data(n: usize) -> Dataset {
        let mut g = Rng::new(0);
        let images: Vec<f32> = (0..n * 784).map(|_| g.uniform() as f32).collect();
        let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
        Dataset::new(images, labels, 28, 28).unwrap()
    }

    #[test]
    fn reports_can_count_each_players_updates() -> Result<()> {
        // WGAN-GP's G moves once per n_critic = 5 critic steps; the others move both every step.
        let mut rng = Rng::new(0);
        for m in Model::ALL {
            let gan = m.build(8, &mut rng, &Device::Cpu)?;
            let want = if m == Model::WganGp { (10, 2) } else { (10, 10) };
            assert_eq!(updates(gan.as_ref(), 10), want, "{}", m.name());
        }
        Ok(())
    }

    #[test]
    fn every_model_trains_a_few_steps_and_round_trips_a_checkpoint() -> Result<()> {
        let data = tiny_data(16);
        for m in Model::ALL {
            let mut gan = m.build(8, &mut Rng::new(1), &Device::Cpu)?;
            let o = TrainOptions { steps: 3, batch: 8, seed: 2, device: Device::Cpu, log_every: 0 };
            let log = train(gan.as_mut(), &data, &o, |_, _| Ok(()))?;
            assert_eq!(log.last().unwrap().step, 3, "{}", m.name());
            let labels = (m == Model::Conditional).then(|| Tensor::new((0..5i64).collect(), &[5]).unwrap());
            let x = sample(gan.as_ref(), 5, labels.as_ref(), &mut Rng::new(3))?;
            assert_eq!(x.shape(), &[5, 784]);
            let v = x.to_vec::<f32>()?;
            assert!(v.iter().all(|p| (0.0..=1.0).contains(p)), "{}: pixels outside [0, 1]", m.name());
            let dir = std::env::temp_dir().join(format!("minmax-images-{}-{}", m.name(), std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let path = dir.join("ck.safetensors");
            save(gan.as_ref(), &path)?;
            let other = m.build(8, &mut Rng::new(99), &Device::Cpu)?;
            load(other.as_ref(), &path)?;
            let a = sample(
                gan.as_ref(),
                4,
                labels.as_ref().map(|l| l.narrow(0, 0, 4).unwrap()).as_ref(),
                &mut Rng::new(5),
            )?;
            let b = sample(
                other.as_ref(),
                4,
                labels.as_ref().map(|l| l.narrow(0, 0, 4).unwrap()).as_ref(),
                &mut Rng::new(5),
            )?;
            assert_eq!(a.to_vec::<f32>()?, b.to_vec::<f32>()?, "{}: checkpoint round trip", m.name());
            std::fs::remove_dir_all(&dir).ok();
        }
        Ok(())
    }

    #[test]
    fn pixel_spaces_round_trip() -> Result<()> {
        let x = Tensor::new(vec![0.0f32, 0.25, 1.0, 0.5], &[1, 4])?;
        let m = x.affine(2.0, -1.0)?;
        assert_eq!(m.to_vec::<f32>()?, vec![-1.0, -0.5, 1.0, 0.0]);
        let back = to_pixel_space(&m.view(&[1, 1, 2, 2])?)?;
        assert_eq!(back.to_vec::<f32>()?, x.to_vec::<f32>()?);
        Ok(())
    }
}
