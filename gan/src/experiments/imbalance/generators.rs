//! The generative arms' generators, trained only on the imbalanced training set, and the gates
//! that say whether their samples are worth training on.
//!
//! - DCGAN (`models/images/dcgan.rs`), unconditional: the source of the unlabelled images of
//!   All-in-one, Pseudo-label and LSRO.
//! - Conditional DCGAN (`models/images/conditional.rs`) with the real batch's labels as the fake
//!   labels (`FakeLabels::LikeData`): fills each class up to the largest (arm `cgan-fill`). With
//!   uniform fake labels D tells fakes by their label alone on this data (a rare class's label
//!   is rare among real images) and wins: measured here, D(G(z)) fell to 0.001 by step 800.
//!
//! Each is trained once per (data set, profile, steps, seed) and kept in `<out>/generators/`,
//! named by a fingerprint of its training images, so the arms and seeds that use it, and later
//! runs, share it.
//!
//! Gates, per class c, on the project's classifier trained on the whole balanced training split
//! (the "oracle", `goodfellow2014::scores::yardstick`; over 99 % on MNIST's test digits):
//! - oracle accuracy: the share of G(z, c) that the oracle calls c (conditional only; for the
//!   unconditional DCGAN, the share of its samples the oracle puts in each class instead);
//! - FID of the class's samples against the class's test images, on the oracle's features;
//! - the memorisation check: each sample's distance to its nearest training image of class c,
//!   beside the same for test images of class c; a generator that copies the 36 training images
//!   of a minority class has samples much closer than test images are.

use std::path::{Path, PathBuf};
use std::time::Instant;

use minmax_engine::{Device, Generator as Rng, Result, Tensor};

use crate::data::mnist::NUM_CLASSES;
use crate::data::Dataset;
use crate::metrics::classifier::{data_fingerprint, Classifier};
use crate::metrics::{self, FeatureStats};
use crate::models::images::conditional::{ConditionalDcgan, FakeLabels};
use crate::models::images::{self, ImageGan, Model, TrainOptions};

/// Minibatch of the generators' training.
pub const GAN_BATCH: usize = 64;
/// Fewest samples of a class for its FID.
const MIN_FID: usize = 10;

/// A trained generator and how it was obtained.
pub struct Trained {
    pub gan: Box<dyn ImageGan>,
    pub path: PathBuf,
    /// Seconds of training in this run (None: loaded).
    pub train_seconds: Option<f64>,
}

/// `model` trained on `train` for `steps` minibatches from `seed`, or loaded from `dir`.
pub fn train_or_load(
    model: Model,
    train: &Dataset,
    steps: usize,
    seed: u64,
    dir: &Path,
    progress: bool,
) -> Result<Trained> {
    let mut rng = Rng::new(seed);
    let mut gan: Box<dyn ImageGan> = match model {
        Model::Conditional => Box::new(
            ConditionalDcgan::new(100, NUM_CLASSES, &mut rng, &Device::Cpu)?.with_fake_labels(FakeLabels::LikeData),
        ),
        m => m.build(100, &mut rng, &Device::Cpu)?,
    };
    let path = dir.join(format!("{}-{}-{steps}steps-seed{seed}.safetensors", model.name(), data_fingerprint(train)));
    if path.exists() {
        images::load(gan.as_ref(), &path)?;
        return Ok(Trained { gan, path, train_seconds: None });
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| minmax_engine::Error::file(dir, format!("cannot create the folder: {e}")))?;
    let t0 = Instant::now();
    let o = TrainOptions {
        steps,
        batch: GAN_BATCH,
        seed: seed ^ 0x6E7,
        device: Device::Cpu,
        log_every: if progress { (steps / 5).max(1) } else { 0 },
    };
    images::train(gan.as_mut(), train, &o, |_, _| Ok(()))?;
    images::save(gan.as_ref(), &path)?;
    Ok(Trained { gan, path, train_seconds: Some(t0.elapsed().as_secs_f64()) })
}

/// `count[c]` samples of each class c from a conditional G, as pixels (class after class).
pub fn sample_classes(gan: &dyn ImageGan, count: &[usize], rng: &mut Rng) -> Result<(Vec<f32>, Vec<u8>)> {
    let labels: Vec<i64> = count.iter().enumerate().flat_map(|(c, &n)| std::iter::repeat_n(c as i64, n)).collect();
    if labels.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let y = Tensor::new(labels.clone(), &[labels.len()])?;
    let x = images::sample(gan, labels.len(), Some(&y), rng)?;
    Ok((x.to_vec::<f32>()?, labels.into_iter().map(|l| l as u8).collect()))
}

/// `n` unlabelled samples of an unconditional G, as pixels.
pub fn sample_unlabelled(gan: &dyn ImageGan, n: usize, rng: &mut Rng) -> Result<Vec<f32>> {
    if n == 0 {
        return Ok(Vec::new());
    }
    images::sample(gan, n, None, rng)?.to_vec::<f32>()
}

/// The gates of one class (module docs).
#[derive(Clone, Debug)]
pub struct ClassGate {
    pub class: usize,
    /// Samples scored for this class.
    pub samples: usize,
    /// Conditional G: share of its class-c samples the oracle calls c.
    pub oracle_accuracy: Option<f64>,
    /// Unconditional G: share of all its samples the oracle calls c.
    pub oracle_share: Option<f64>,
    pub fid: Option<f64>,
    /// Mean distance to the nearest training image of the class: samples, test images.
    pub nn_generated: Option<f64>,
    pub nn_test: Option<f64>,
    /// Share of samples closer to the class's training images than the median test image.
    pub closer_than_test_median: Option<f64>,
}

/// Gates of generated `images` (n · 784). `labels`: the classes a conditional G was asked for;
/// None for an unconditional G (its samples are grouped by the oracle's prediction).
pub fn gates(
    oracle: &Classifier,
    images: &[f32],
    labels: Option<&[u8]>,
    train: &Dataset,
    test: &Dataset,
) -> Result<Vec<ClassGate>> {
    let n = images.len() / 784;
    let x = Tensor::new(images.to_vec(), &[n, 784])?;
    let predicted = oracle.predict(&x)?;
    let features = oracle.features(&x)?;
    let members = |data: &Dataset, c: usize| -> Vec<usize> {
        (0..data.len()).filter(|&i| data.labels()[i] as usize == c).collect()
    };
    (0..NUM_CLASSES)
        .map(|c| {
            let mine: Vec<usize> = match labels {
                Some(l) => (0..n).filter(|&i| l[i] as usize == c).collect(),
                None => (0..n).filter(|&i| predicted[i] == c).collect(),
            };
            let mut gate = ClassGate {
                class: c,
                samples: mine.len(),
                oracle_accuracy: labels
                    .map(|_| mine.iter().filter(|&&i| predicted[i] == c).count() as f64 / mine.len().max(1) as f64),
                oracle_share: labels.is_none().then(|| mine.len() as f64 / n.max(1) as f64),
                fid: None,
                nn_generated: None,
                nn_test: None,
                closer_than_test_median: None,
            };
            let (train_c, test_c) = (train.subset(&members(train, c))?, test.subset(&members(test, c))?);
            if mine.len() >= MIN_FID && test_c.len() >= MIN_FID {
                let idx = Tensor::new(mine.iter().map(|&i| i as i64).collect::<Vec<_>>(), &[mine.len()])?;
                let (test_x, _) = test_c.to_tensors()?;
                let real = FeatureStats::from_features(&oracle.features(&test_x)?)?;
                let fake = FeatureStats::from_features(&features.index_select(0, &idx)?)?;
                gate.fid = Some(metrics::frechet_distance(&real, &fake)?);
                if !train_c.is_empty() {
                    let (train_x, _) = train_c.to_tensors()?;
                    let m = metrics::memorisation(&train_x, &x.index_select(0, &idx)?, &test_x)?;
                    gate.nn_generated = Some(m.generated_mean);
                    gate.nn_test = Some(m.heldout_mean);
                    gate.closer_than_test_median = Some(m.closer_than_heldout_median);
                }
            }
            Ok(gate)
        })
        .collect()
}
