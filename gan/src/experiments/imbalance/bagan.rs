//! BAGAN, the balancing GAN (Mariani et al. 2018): a class-conditional GAN whose generator
//! starts as an autoencoder's decoder and whose discriminator starts as its encoder, with each
//! class's latent codes modelled by a Gaussian. Arm `bagan` fills every class up to the largest
//! with its samples.
//!
//! As in the authors' `balancing_gan.py` (IBM/BAGAN):
//!
//! ```text
//! 1. an autoencoder on the imbalanced training set (all classes)
//! 2. per class c: the mean μ_c and covariance Σ_c of the codes of its training images
//! 3. G := the decoder; D := the encoder's layers and a new linear head with K + 1 outputs
//!    (the K classes, and "fake")
//! 4. per step, with B real images x of labels y, and classes c drawn uniformly:
//!        D: cross-entropy of D on [x; G(z_c)] against [y; fake],   ⌈B/K⌉ fakes, z_c ~ N(μ_c, Σ_c)
//!        G: cross-entropy of D(G(z_c)) against c,                 B + ⌈B/K⌉ fakes, D fixed
//!    Adam, learning rate 5·10⁻⁵, β₁ 0.5
//! 5. new images of class c: G(z), z ~ N(μ_c, Σ_c)
//! ```
//!
//! Where this differs from theirs, to share the lab's pieces and budget: the autoencoder is
//! DeepSMOTE's (`deepsmote.rs`: its networks, at width 16, and its loss, whose penalty is a second
//! reconstruction term through the decoder) rather than BAGAN's own plain-MSE one with its
//! networks (their encoder has dropout and no batch norm; their code is 100-dimensional, this one
//! 300); the adversarial phase runs the lab's generator budget (`--gan-steps` minibatches of 64).
//! β₂ is Keras's default, 0.999. Their encoder has no batch norm; this one has, and D keeps it
//! in evaluation mode (the autoencoder's running statistics, with γ and β trained): in training
//! mode the G step's all-fake batch would be normalised by its own statistics, unlike the D
//! step's mostly-real one. With D in training mode G learned high-frequency speckle: the oracle
//! read 0.5 % of its MNIST zeros and none of its nines as their class, and its fill-up scored
//! 88.0 % ACSA; in evaluation mode 86.5–99.5 % per class, and 90.5 % (3 seeds each).
//!
//! A class's code covariance is estimated from its images: with 36 images of a class and 300
//! code dimensions it has rank 35. z ~ N(μ_c, Σ_c) is drawn without factorising Σ_c, as
//! z = μ_c + Σᵢ εᵢ (hᵢ − μ_c)/√(n_c − 1) with εᵢ ~ N(0, 1) over the class's n_c codes hᵢ: exactly the
//! Gaussian with that mean and covariance (`np.random.multivariate_normal` does the same through
//! an SVD).

use std::path::{Path, PathBuf};
use std::time::Instant;

use minmax_engine::nn::{prefixed, Linear, Module};
use minmax_engine::optim::Adam;
use minmax_engine::{no_grad, Error, Generator as Rng, Result, Tensor};

use super::deepsmote::{self, Autoencoder, LATENT};
use crate::data::mnist::NUM_CLASSES;
use crate::data::Dataset;
use crate::metrics::classifier::data_fingerprint;
use crate::models::images::{to_model_space, to_pixel_space};
use crate::train::update;

/// Adam's learning rate and β₁ (theirs).
pub const LR: f64 = 5e-5;
pub const BETA1: f64 = 0.5;
/// Images per forward pass when sampling.
const CHUNK: usize = 500;

/// The codes of each class: their mean and centred rows (for sampling, module docs).
#[derive(Clone, Debug)]
pub struct ClassCodes {
    /// [LATENT] per class.
    pub mean: Vec<Vec<f32>>,
    /// (h − μ)/√(n − 1), n rows of LATENT per class (empty for a class of one image: Σ = 0).
    pub centred: Vec<Vec<f32>>,
}

impl ClassCodes {
    /// The codes of `data`'s images under `enc` (evaluation mode), class by class.
    pub fn of(ae: &Autoencoder, data: &Dataset) -> Result<ClassCodes> {
        let (mut mean, mut centred) = (Vec::new(), Vec::new());
        for c in 0..NUM_CLASSES {
            let members: Vec<usize> = (0..data.len()).filter(|&i| data.labels()[i] as usize == c).collect();
            let codes =
                if members.is_empty() { Vec::new() } else { ae.encode_pixels(data.subset(&members)?.images())? };
            let n = members.len();
            let mut mu = vec![0f32; LATENT];
            for row in codes.chunks_exact(LATENT) {
                for (m, &v) in mu.iter_mut().zip(row) {
                    *m += v / n as f32;
                }
            }
            let scale = if n > 1 { 1.0 / ((n - 1) as f32).sqrt() } else { 0.0 };
            let rows: Vec<f32> = if n > 1 {
                codes.chunks_exact(LATENT).flat_map(|r| r.iter().zip(&mu).map(|(&v, &m)| (v - m) * scale)).collect()
            } else {
                Vec::new()
            };
            mean.push(mu);
            centred.push(rows);
        }
        Ok(ClassCodes { mean, centred })
    }

    /// One code of class `c` from N(μ_c, Σ_c).
    pub fn draw(&self, c: usize, rng: &mut Rng) -> Result<Vec<f32>> {
        if self.centred[c].is_empty() && self.mean[c].iter().all(|&v| v == 0.0) {
            return Err(Error::msg(format!("bagan: class {c} has no training images to model")));
        }
        let mut z = self.mean[c].clone();
        for row in self.centred[c].chunks_exact(LATENT) {
            let e = rng.normal() as f32;
            for (zi, &r) in z.iter_mut().zip(row) {
                *zi += e * r;
            }
        }
        Ok(z)
    }

    /// Codes [n, LATENT] of the classes `labels`.
    fn batch(&self, labels: &[usize], rng: &mut Rng) -> Result<Tensor> {
        let mut v = Vec::with_capacity(labels.len() * LATENT);
        for &c in labels {
            v.extend(self.draw(c, rng)?);
        }
        Tensor::new(v, &[labels.len(), LATENT])
    }
}

/// D: the encoder's layers and a head with K + 1 logits (the last one: fake).
pub struct Discriminator {
    /// The autoencoder it was copied from; only its encoder's layers up to the code are used.
    body: Autoencoder,
    head: Linear,
}

impl Module for Discriminator {
    /// Images [B, 1, 28, 28] in [−1, 1] → logits [B, K + 1].
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.head.forward(&self.body.enc.features(x)?)
    }
    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        let mut v = prefixed("encoder", self.body.enc.feature_parameters());
        v.extend(prefixed("head", self.head.named_parameters()));
        v
    }
    fn named_buffers(&self) -> Vec<(String, Tensor)> {
        prefixed("encoder", self.body.enc.named_buffers())
    }
    fn set_training(&self, on: bool) {
        self.body.enc.set_training(on);
    }
}

/// The trained BAGAN: G (the decoder it started from), D, and the class codes.
pub struct Bagan {
    /// G is `g.dec`; `g.enc` is the autoencoder's encoder, kept for the codes.
    pub g: Autoencoder,
    pub d: Discriminator,
    pub codes: ClassCodes,
}

/// A trained BAGAN and how it was obtained.
pub struct Trained {
    pub gan: Bagan,
    pub path: PathBuf,
    /// Seconds of the adversarial phase in this run (None: loaded).
    pub train_seconds: Option<f64>,
    /// Mean D and G losses over the last tenth of the steps (None: loaded).
    pub final_losses: Option<(f64, f64)>,
}

const CHECKPOINT_KIND: &str = "bagan";

/// A copy of the autoencoder saved at `path` (its weights and batch-norm statistics).
fn copy_of(path: &Path, width: usize) -> Result<Autoencoder> {
    let ae = Autoencoder::new(width, &mut Rng::new(0))?;
    minmax_engine::io::load_into(path, &ae.state_dict())?;
    Ok(ae)
}

/// BAGAN started from DeepSMOTE's autoencoder `ae` (saved at its path), trained on `train` for
/// `steps` minibatches of `batch` from `seed`, or loaded from `dir`.
#[allow(clippy::too_many_arguments)]
pub fn train_or_load(
    ae: &deepsmote::Trained,
    width: usize,
    train: &Dataset,
    steps: usize,
    batch: usize,
    seed: u64,
    dir: &Path,
    progress: bool,
) -> Result<Trained> {
    let mut rng = Rng::new(seed);
    let g = copy_of(&ae.path, width)?;
    let d = Discriminator { body: copy_of(&ae.path, width)?, head: Linear::new(8 * width, NUM_CLASSES + 1, &mut rng)? };
    // The class Gaussians come from the autoencoder as trained, before the adversarial phase.
    let codes = ClassCodes::of(&g, train)?;
    let gan = Bagan { g, d, codes };
    // D's batch norm: the autoencoder's running statistics, in both steps (module docs).
    gan.d.eval();
    let stem = ae.path.file_stem().and_then(|s| s.to_str()).unwrap_or("deepsmote");
    let path = dir.join(format!(
        "bagan-{}-{steps}steps-b{batch}-seed{seed}-d-running-bn-from-{stem}.safetensors",
        data_fingerprint(train)
    ));
    let state = || {
        let mut v = prefixed("generator", gan.g.dec.state_dict());
        v.extend(prefixed("discriminator", gan.d.state_dict()));
        v
    };
    if path.exists() {
        let meta = minmax_engine::io::load_into(&path, &state())?;
        if meta.get("model").map(String::as_str) != Some(CHECKPOINT_KIND) {
            return Err(Error::file(&path, format!("not a {CHECKPOINT_KIND} checkpoint")));
        }
        return Ok(Trained { gan, path, train_seconds: None, final_losses: None });
    }
    if train.len() < batch {
        return Err(Error::msg(format!("bagan: {} training images are fewer than one batch of {batch}", train.len())));
    }
    let present: Vec<usize> = (0..NUM_CLASSES).filter(|&c| train.labels().iter().any(|&l| l as usize == c)).collect();
    let t0 = Instant::now();
    let (g_params, d_params) = (gan.g.dec.parameters(), gan.d.parameters());
    let mut opt_g = Adam::new(g_params.clone(), LR, (BETA1, 0.999))?;
    let mut opt_d = Adam::new(d_params.clone(), LR, (BETA1, 0.999))?;
    let (mut shuffle, mut draw) = (rng.fork(), rng.fork());
    let n_fake = batch.div_ceil(NUM_CLASSES);
    let fake_class = Tensor::new(vec![NUM_CLASSES as i64; n_fake], &[n_fake])?;
    let tail_from = steps.saturating_sub((steps / 10).max(1));
    let (mut tail, mut tail_n) = ((0.0, 0.0), 0usize);
    let mut step = 0;
    while step < steps {
        for b in train.batches(batch, &mut shuffle, true)?.drop_last() {
            if step >= steps {
                break;
            }
            let (x, y) = b?;
            let x = to_model_space(&x)?;
            // D step: the real batch with its labels, ⌈B/K⌉ fakes of uniform classes as "fake".
            let classes: Vec<usize> = (0..n_fake).map(|_| present[draw.below(present.len())]).collect();
            let fake = no_grad(|| gan.g.dec.forward(&gan.codes.batch(&classes, &mut draw)?))?;
            let d_in = Tensor::cat(&[&x, &fake], 0)?;
            let d_target = Tensor::cat(&[&y, &fake_class], 0)?;
            let d_loss = update(&gan.d.forward(&d_in)?.cross_entropy(&d_target)?, &d_params, &mut opt_d)?;
            // G step: B + ⌈B/K⌉ fakes of uniform classes, each to be taken for its class.
            let classes: Vec<usize> = (0..batch + n_fake).map(|_| present[draw.below(present.len())]).collect();
            let target = Tensor::new(classes.iter().map(|&c| c as i64).collect::<Vec<_>>(), &[classes.len()])?;
            let fake = gan.g.dec.forward(&gan.codes.batch(&classes, &mut draw)?)?;
            let g_loss = update(&gan.d.forward(&fake)?.cross_entropy(&target)?, &g_params, &mut opt_g)?;
            if !(d_loss.is_finite() && g_loss.is_finite()) {
                return Err(Error::msg(format!(
                    "bagan: training diverged at step {step}: D loss {d_loss}, G loss {g_loss}"
                )));
            }
            if step >= tail_from {
                tail = (tail.0 + d_loss, tail.1 + g_loss);
                tail_n += 1;
            }
            step += 1;
            if progress && (step % (steps / 5).max(1) == 0 || step == steps) {
                eprintln!("bagan: step {step}/{steps}: D loss {d_loss:.4}, G loss {g_loss:.4}");
            }
        }
    }
    std::fs::create_dir_all(dir).map_err(|e| Error::file(dir, format!("cannot create the folder: {e}")))?;
    let meta = std::collections::HashMap::from([("model".to_string(), CHECKPOINT_KIND.to_string())]);
    minmax_engine::io::save_safetensors(&path, &state(), Some(meta))?;
    let n = tail_n.max(1) as f64;
    Ok(Trained {
        gan,
        path,
        train_seconds: Some(t0.elapsed().as_secs_f64()),
        final_losses: Some((tail.0 / n, tail.1 / n)),
    })
}

/// `count[c]` images of each class c from G (evaluation mode), pixels in [0, 1], class after class.
pub fn sample_classes(gan: &Bagan, count: &[usize], rng: &mut Rng) -> Result<(Vec<f32>, Vec<u8>)> {
    let labels: Vec<usize> = count.iter().enumerate().flat_map(|(c, &n)| std::iter::repeat_n(c, n)).collect();
    gan.g.eval();
    let out = no_grad(|| {
        let mut pixels = Vec::with_capacity(labels.len() * 784);
        for chunk in labels.chunks(CHUNK) {
            let z = gan.codes.batch(chunk, rng)?;
            pixels.extend(to_pixel_space(&gan.g.dec.forward(&z)?)?.to_vec::<f32>()?);
        }
        Ok(pixels)
    });
    gan.g.train();
    Ok((out?, labels.into_iter().map(|c| c as u8).collect()))
}

/// `data` with BAGAN images added to every class up to the largest class's count (the originals
/// first; a class without images stays empty).
pub fn balance(gan: &Bagan, data: &Dataset, rng: &mut Rng) -> Result<Dataset> {
    let counts = data.label_counts();
    let most = counts[..NUM_CLASSES].iter().copied().max().unwrap_or(0);
    let fill: Vec<usize> = counts[..NUM_CLASSES].iter().map(|&c| if c == 0 { 0 } else { most - c }).collect();
    let (new, new_labels) = sample_classes(gan, &fill, rng)?;
    let mut images = data.images().to_vec();
    images.extend(new);
    let mut labels = data.labels().to_vec();
    labels.extend(new_labels);
    Dataset::new(images, labels, data.rows(), data.cols())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_codes_are_drawn_with_the_class_mean_and_covariance() -> Result<()> {
        // Three codes of class 0 along two directions; class 1 a single code (no spread).
        let mut codes =
            ClassCodes { mean: vec![vec![0.0; LATENT]; NUM_CLASSES], centred: vec![Vec::new(); NUM_CLASSES] };
        let rows: Vec<Vec<f32>> = (0..3)
            .map(|i| {
                (0..LATENT)
                    .map(|k| {
                        if k == 0 {
                            [1.0, 2.0, 6.0][i]
                        } else if k == 1 {
                            [0.0, 3.0, 0.0][i]
                        } else {
                            0.5
                        }
                    })
                    .collect()
            })
            .collect();
        let mu: Vec<f32> = (0..LATENT).map(|k| rows.iter().map(|r| r[k]).sum::<f32>() / 3.0).collect();
        codes.mean[0] = mu.clone();
        codes.centred[0] = rows.iter().flat_map(|r| r.iter().zip(&mu).map(|(v, m)| (v - m) / 2f32.sqrt())).collect();
        codes.mean[1] = vec![0.25; LATENT];
        let mut rng = Rng::new(4);
        let n = 40_000;
        let (mut m0, mut m1, mut c00, mut c01, mut c11) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for _ in 0..n {
            let z = codes.draw(0, &mut rng)?;
            assert!(z[2..].iter().all(|&v| (v - 0.5).abs() < 1e-6), "no spread where the codes agree");
            let (a, b) = (z[0] as f64, z[1] as f64);
            m0 += a;
            m1 += b;
            c00 += a * a;
            c01 += a * b;
            c11 += b * b;
        }
        let nf = n as f64;
        let (m0, m1) = (m0 / nf, m1 / nf);
        let (c00, c01, c11) = (c00 / nf - m0 * m0, c01 / nf - m0 * m1, c11 / nf - m1 * m1);
        // Sample statistics of the rows: mean (3, 1); covariance [[7, −1.5], [−1.5, 3]] (n − 1 = 2).
        for (got, want, tol) in [(m0, 3.0, 0.05), (m1, 1.0, 0.03), (c00, 7.0, 0.2), (c01, -1.5, 0.1), (c11, 3.0, 0.1)] {
            assert!((got - want).abs() < tol, "{got} vs {want}");
        }
        assert_eq!(codes.draw(1, &mut rng)?, vec![0.25; LATENT], "one code: Σ = 0");
        assert!(codes.draw(2, &mut rng).unwrap_err().to_string().contains("class 2"));
        Ok(())
    }

    #[test]
    fn bagan_starts_from_the_autoencoder_trains_and_balances() -> Result<()> {
        let mut rng = Rng::new(3);
        let n = 40;
        let mut images = Vec::with_capacity(n * 784);
        let mut labels = Vec::with_capacity(n);
        for i in 0..n {
            let class = if i < 30 { 0u8 } else { 1 };
            images.extend((0..784).map(|p| {
                let on = ((p % 28) >= 14) == (class == 1);
                (if on { 0.8 } else { 0.1 }) + 0.1 * rng.uniform() as f32
            }));
            labels.push(class);
        }
        let data = Dataset::new(images, labels, 28, 28)?;
        let dir = std::env::temp_dir().join(format!("minmax-bagan-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let ae = deepsmote::train_or_load(&data, 4, 30, 8, 1, &dir, false)?;
        let g0 = copy_of(&ae.path, 4)?;
        let t = train_or_load(&ae, 4, &data, 20, 8, 2, &dir, false)?;
        assert!(t.train_seconds.is_some());
        let (d, gl) = t.final_losses.unwrap();
        assert!(d.is_finite() && gl.is_finite());
        // G started as the decoder and moved away from it.
        let moved = t
            .gan
            .g
            .dec
            .parameters()
            .iter()
            .zip(g0.dec.parameters())
            .any(|(a, b)| a.to_vec::<f32>().unwrap() != b.to_vec::<f32>().unwrap());
        assert!(moved, "the adversarial phase trains G");
        let out = balance(&t.gan, &data, &mut Rng::new(9))?;
        assert_eq!(&out.label_counts()[..2], &[30, 30]);
        assert!(out.images().iter().all(|v| (0.0..=1.0).contains(v)));
        let again = train_or_load(&ae, 4, &data, 20, 8, 2, &dir, false)?;
        assert!(again.train_seconds.is_none(), "loaded");
        assert_eq!(
            balance(&again.gan, &data, &mut Rng::new(9))?,
            out,
            "the checkpoint holds G, D and nothing else matters"
        );
        let _ = std::fs::remove_dir_all(&dir);
        Ok(())
    }
}
