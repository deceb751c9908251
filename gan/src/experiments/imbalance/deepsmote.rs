//! DeepSMOTE (Dablain, Krawczyk & Chawla 2022): SMOTE in the code space of an autoencoder
//! trained on the imbalanced set, the new codes decoded back into images. Arm `deepsmote` fills
//! every class up to the largest with them, as arm `smote` does with pixel-space SMOTE.
//!
//! The networks are those of the authors' `DeepSMOTE_MNIST.py` (dd1github/DeepSMOTE), with the
//! width W a parameter (theirs 64; here 16 by default, `WIDTH`: at 64 the decoder's first
//! transposed convolution alone costs 210 M multiply-adds an image, and the authors' 200 epochs
//! would take this 2-core CPU most of a day):
//!
//! ```text
//! encoder  x [B, 1, 28, 28] in [−1, 1]
//!          → Conv 4×4 s2 p1 (no bias) [B, W, 14, 14] → LeakyReLU(0.2)
//!          → Conv 4×4 s2 p1 (no bias) [B, 2W, 7, 7] → BN → LeakyReLU(0.2)
//!          → Conv 4×4 s2 p1 (no bias) [B, 4W, 3, 3] → BN → LeakyReLU(0.2)
//!          → Conv 4×4 s2 p1 (no bias) [B, 8W, 1, 1] → BN → LeakyReLU(0.2)
//!          → flatten → Linear [B, 300]                                   the code
//! decoder  code [B, 300] → Linear [B, 8W·7·7] → ReLU → view [B, 8W, 7, 7]
//!          → ConvT 4×4 s1 [B, 4W, 10, 10] → BN → ReLU
//!          → ConvT 4×4 s1 [B, 2W, 13, 13] → BN → ReLU
//!          → ConvT 4×4 s2 [B, 1, 28, 28] → tanh
//! ```
//!
//! Training, per step, as in their code: a shuffled minibatch x, and up to B images x_c of one
//! class c drawn uniformly among the ten (without replacement within the class),
//!
//! ```text
//! loss = MSE(dec(enc(x)), x)  +  MSE(dec(sg(enc(x_c))), x_c)
//! ```
//!
//! The second term is the paper's "penalty". Their code shifts the order of the class batch by
//! one before decoding, but it shifts the codes and the target images alike, so each code is
//! still compared with its own image; and it takes the codes out of the graph (through NumPy),
//! so the term trains only the decoder. Both are kept here as the code computes them, written
//! without the shift. Adam, learning rate 2·10⁻⁴, β (0.9, 0.999), PyTorch's default
//! initialisation (their code sets none); the minibatch and the number of steps are the lab's
//! generators' (64, `--gan-steps`) instead of their 100 and 200 epochs, so every generated arm
//! has the same budget. Their images are in [−1, 1] for the tanh output; so are these.
//!
//! Oversampling, as their `GenerateSamples.py` does: for each class, encode all its training
//! images (batch norm in evaluation mode), draw new codes by SMOTE (`smote::interpolate`: a
//! random code, one of its 5 nearest codes of the class, a uniform point on the segment),
//! decode them, and add them with the class's label until the class has as many images as the
//! largest one.

use std::path::{Path, PathBuf};
use std::time::Instant;

use minmax_engine::nn::{prefixed, BatchNorm2d, Conv2d, ConvTranspose2d, Linear, Module};
use minmax_engine::optim::{Adam, Optimizer};
use minmax_engine::{no_grad, Error, Generator as Rng, Result, Tensor};

use super::smote;
use crate::data::mnist::NUM_CLASSES;
use crate::data::Dataset;
use crate::metrics::classifier::data_fingerprint;
use crate::models::images::{to_model_space, to_pixel_space};

/// Size of the code (theirs: 300 for MNIST).
pub const LATENT: usize = 300;
/// Width W of the networks (theirs: 64).
pub const WIDTH: usize = 16;
/// Adam's learning rate (theirs).
pub const LR: f64 = 2e-4;
/// Images per forward pass when encoding or decoding a class.
const CHUNK: usize = 500;

pub struct Encoder {
    c1: Conv2d,
    c2: Conv2d,
    bn2: BatchNorm2d,
    c3: Conv2d,
    bn3: BatchNorm2d,
    c4: Conv2d,
    bn4: BatchNorm2d,
    fc: Linear,
}

impl Encoder {
    pub fn new(w: usize, rng: &mut Rng) -> Result<Self> {
        Ok(Encoder {
            c1: Conv2d::new(1, w, 4, 2, 1, false, rng)?,
            c2: Conv2d::new(w, 2 * w, 4, 2, 1, false, rng)?,
            bn2: BatchNorm2d::new(2 * w),
            c3: Conv2d::new(2 * w, 4 * w, 4, 2, 1, false, rng)?,
            bn3: BatchNorm2d::new(4 * w),
            c4: Conv2d::new(4 * w, 8 * w, 4, 2, 1, false, rng)?,
            bn4: BatchNorm2d::new(8 * w),
            fc: Linear::new(8 * w, LATENT, rng)?,
        })
    }
}

impl Encoder {
    /// Images [B, 1, 28, 28] in [−1, 1] → the convolutions' features [B, 8W] (all but the last
    /// layer: BAGAN's discriminator starts from them).
    pub fn features(&self, x: &Tensor) -> Result<Tensor> {
        let h = self.c1.forward(x)?.leaky_relu(0.2)?; // [B, W, 14, 14]
        let h = self.bn2.forward(&self.c2.forward(&h)?)?.leaky_relu(0.2)?; // [B, 2W, 7, 7]
        let h = self.bn3.forward(&self.c3.forward(&h)?)?.leaky_relu(0.2)?; // [B, 4W, 3, 3]
        let h = self.bn4.forward(&self.c4.forward(&h)?)?.leaky_relu(0.2)?; // [B, 8W, 1, 1]
        h.flatten(1, 3) // [B, 8W]
    }
    /// The parameters of [`Encoder::features`] (all but the last linear layer's).
    pub fn feature_parameters(&self) -> Vec<(String, Tensor)> {
        let mut v = prefixed("c1", self.c1.named_parameters());
        v.extend(prefixed("c2", self.c2.named_parameters()));
        v.extend(prefixed("bn2", self.bn2.named_parameters()));
        v.extend(prefixed("c3", self.c3.named_parameters()));
        v.extend(prefixed("bn3", self.bn3.named_parameters()));
        v.extend(prefixed("c4", self.c4.named_parameters()));
        v.extend(prefixed("bn4", self.bn4.named_parameters()));
        v
    }
}

impl Module for Encoder {
    /// Images [B, 1, 28, 28] in [−1, 1] → codes [B, LATENT].
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.fc.forward(&self.features(x)?) // [B, LATENT]
    }
    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        let mut v = prefixed("c1", self.c1.named_parameters());
        v.extend(prefixed("c2", self.c2.named_parameters()));
        v.extend(prefixed("bn2", self.bn2.named_parameters()));
        v.extend(prefixed("c3", self.c3.named_parameters()));
        v.extend(prefixed("bn3", self.bn3.named_parameters()));
        v.extend(prefixed("c4", self.c4.named_parameters()));
        v.extend(prefixed("bn4", self.bn4.named_parameters()));
        v.extend(prefixed("fc", self.fc.named_parameters()));
        v
    }
    fn named_buffers(&self) -> Vec<(String, Tensor)> {
        let mut v = prefixed("bn2", self.bn2.named_buffers());
        v.extend(prefixed("bn3", self.bn3.named_buffers()));
        v.extend(prefixed("bn4", self.bn4.named_buffers()));
        v
    }
    fn set_training(&self, on: bool) {
        for bn in [&self.bn2, &self.bn3, &self.bn4] {
            bn.set_training(on);
        }
    }
}

pub struct Decoder {
    width: usize,
    fc: Linear,
    ct1: ConvTranspose2d,
    bn1: BatchNorm2d,
    ct2: ConvTranspose2d,
    bn2: BatchNorm2d,
    ct3: ConvTranspose2d,
}

impl Decoder {
    pub fn new(w: usize, rng: &mut Rng) -> Result<Self> {
        Ok(Decoder {
            width: w,
            fc: Linear::new(LATENT, 8 * w * 7 * 7, rng)?,
            ct1: ConvTranspose2d::new(8 * w, 4 * w, 4, 1, 0, 0, true, rng)?,
            bn1: BatchNorm2d::new(4 * w),
            ct2: ConvTranspose2d::new(4 * w, 2 * w, 4, 1, 0, 0, true, rng)?,
            bn2: BatchNorm2d::new(2 * w),
            ct3: ConvTranspose2d::new(2 * w, 1, 4, 2, 0, 0, true, rng)?,
        })
    }
}

impl Module for Decoder {
    /// Codes [B, LATENT] → images [B, 1, 28, 28] in [−1, 1].
    fn forward(&self, z: &Tensor) -> Result<Tensor> {
        let b = z.shape()[0];
        let h = self.fc.forward(z)?.relu()?.view(&[b, 8 * self.width, 7, 7])?;
        let h = self.bn1.forward(&self.ct1.forward(&h)?)?.relu()?; // [B, 4W, 10, 10]
        let h = self.bn2.forward(&self.ct2.forward(&h)?)?.relu()?; // [B, 2W, 13, 13]
        self.ct3.forward(&h)?.tanh() // [B, 1, 28, 28]
    }
    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        let mut v = prefixed("fc", self.fc.named_parameters());
        v.extend(prefixed("ct1", self.ct1.named_parameters()));
        v.extend(prefixed("bn1", self.bn1.named_parameters()));
        v.extend(prefixed("ct2", self.ct2.named_parameters()));
        v.extend(prefixed("bn2", self.bn2.named_parameters()));
        v.extend(prefixed("ct3", self.ct3.named_parameters()));
        v
    }
    fn named_buffers(&self) -> Vec<(String, Tensor)> {
        let mut v = prefixed("bn1", self.bn1.named_buffers());
        v.extend(prefixed("bn2", self.bn2.named_buffers()));
        v
    }
    fn set_training(&self, on: bool) {
        self.bn1.set_training(on);
        self.bn2.set_training(on);
    }
}

/// The encoder and decoder together; `forward` reconstructs.
pub struct Autoencoder {
    pub enc: Encoder,
    pub dec: Decoder,
}

impl Autoencoder {
    pub fn new(width: usize, rng: &mut Rng) -> Result<Self> {
        Ok(Autoencoder { enc: Encoder::new(width, rng)?, dec: Decoder::new(width, rng)? })
    }

    /// The training loss of one step (module docs) on a minibatch `x` and a class batch `xc`,
    /// both [B, 1, 28, 28] in [−1, 1]: (total, reconstruction, penalty).
    pub fn loss(&self, x: &Tensor, xc: &Tensor) -> Result<(Tensor, f64, f64)> {
        let recon = self.forward(x)?.mse_loss(x)?;
        let codes = self.enc.forward(xc)?.detach();
        let penalty = self.dec.forward(&codes)?.mse_loss(xc)?;
        let (r, p) = (recon.item()?, penalty.item()?);
        Ok((recon.add(&penalty)?, r, p))
    }

    /// Codes [n, LATENT] of pixels [n · 784] in [0, 1], batch norm in evaluation mode.
    pub fn encode_pixels(&self, pixels: &[f32]) -> Result<Vec<f32>> {
        let n = pixels.len() / 784;
        self.eval();
        let out = no_grad(|| {
            let mut codes = Vec::with_capacity(n * LATENT);
            for start in (0..n).step_by(CHUNK) {
                let b = CHUNK.min(n - start);
                let x = Tensor::new(pixels[start * 784..(start + b) * 784].to_vec(), &[b, 784])?;
                codes.extend(self.enc.forward(&to_model_space(&x)?)?.to_vec::<f32>()?);
            }
            Ok(codes)
        });
        self.train();
        out
    }

    /// Pixels [n · 784] in [0, 1] of codes [n · LATENT], batch norm in evaluation mode.
    pub fn decode_codes(&self, codes: &[f32]) -> Result<Vec<f32>> {
        let n = codes.len() / LATENT;
        self.eval();
        let out = no_grad(|| {
            let mut pixels = Vec::with_capacity(n * 784);
            for start in (0..n).step_by(CHUNK) {
                let b = CHUNK.min(n - start);
                let z = Tensor::new(codes[start * LATENT..(start + b) * LATENT].to_vec(), &[b, LATENT])?;
                pixels.extend(to_pixel_space(&self.dec.forward(&z)?)?.to_vec::<f32>()?);
            }
            Ok(pixels)
        });
        self.train();
        out
    }
}

impl Module for Autoencoder {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.dec.forward(&self.enc.forward(x)?)
    }
    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        let mut v = prefixed("encoder", self.enc.named_parameters());
        v.extend(prefixed("decoder", self.dec.named_parameters()));
        v
    }
    fn named_buffers(&self) -> Vec<(String, Tensor)> {
        let mut v = prefixed("encoder", self.enc.named_buffers());
        v.extend(prefixed("decoder", self.dec.named_buffers()));
        v
    }
    fn set_training(&self, on: bool) {
        self.enc.set_training(on);
        self.dec.set_training(on);
    }
}

/// A trained autoencoder and how it was obtained.
pub struct Trained {
    pub ae: Autoencoder,
    pub path: PathBuf,
    /// Seconds of training in this run (None: loaded).
    pub train_seconds: Option<f64>,
    /// Mean reconstruction and penalty losses over the last tenth of the steps (None: loaded).
    pub final_losses: Option<(f64, f64)>,
}

const CHECKPOINT_KIND: &str = "deepsmote-autoencoder";

/// The autoencoder trained on `train` for `steps` minibatches of `batch` from `seed`, or loaded
/// from `dir` (named by a fingerprint of the training images, the width, steps and seed).
pub fn train_or_load(
    train: &Dataset,
    width: usize,
    steps: usize,
    batch: usize,
    seed: u64,
    dir: &Path,
    progress: bool,
) -> Result<Trained> {
    let mut rng = Rng::new(seed);
    let ae = Autoencoder::new(width, &mut rng)?;
    let path = dir
        .join(format!("deepsmote-w{width}-{}-{steps}steps-b{batch}-seed{seed}.safetensors", data_fingerprint(train)));
    if path.exists() {
        let meta = minmax_engine::io::load_into(&path, &ae.state_dict())?;
        if meta.get("model").map(String::as_str) != Some(CHECKPOINT_KIND) {
            return Err(Error::file(&path, format!("not a {CHECKPOINT_KIND} checkpoint")));
        }
        return Ok(Trained { ae, path, train_seconds: None, final_losses: None });
    }
    if train.len() < batch {
        return Err(Error::msg(format!(
            "deepsmote: {} training images are fewer than one batch of {batch}",
            train.len()
        )));
    }
    std::fs::create_dir_all(dir).map_err(|e| Error::file(dir, format!("cannot create the folder: {e}")))?;
    let t0 = Instant::now();
    let members: Vec<Vec<usize>> =
        (0..NUM_CLASSES).map(|c| (0..train.len()).filter(|&i| train.labels()[i] as usize == c).collect()).collect();
    let present: Vec<usize> = (0..NUM_CLASSES).filter(|&c| !members[c].is_empty()).collect();
    let mut opt = Adam::new(ae.parameters(), LR, (0.9, 0.999))?;
    let (mut shuffle, mut draw) = (rng.fork(), rng.fork());
    let tail_from = steps.saturating_sub((steps / 10).max(1));
    let (mut tail, mut tail_n) = ((0.0, 0.0), 0usize);
    let mut step = 0;
    while step < steps {
        for b in train.batches(batch, &mut shuffle, true)?.drop_last() {
            if step >= steps {
                break;
            }
            let x = to_model_space(&b?.0)?;
            // One class, uniformly among those with images (the ten, on the lab's data); up to
            // `batch` of its images without replacement.
            let pool = &members[present[draw.below(present.len())]];
            let take = pool.len().min(batch);
            let pick: Vec<usize> = draw.permutation(pool.len())[..take].iter().map(|&j| pool[j]).collect();
            let xc = to_model_space(&Tensor::new(train.subset(&pick)?.images().to_vec(), &[take, 784])?)?;
            opt.zero_grad();
            let (loss, r, p) = ae.loss(&x, &xc)?;
            if !loss.item()?.is_finite() {
                return Err(Error::msg(format!("deepsmote: the autoencoder's loss is not finite at step {step}")));
            }
            loss.backward()?;
            opt.step()?;
            if step >= tail_from {
                tail = (tail.0 + r, tail.1 + p);
                tail_n += 1;
            }
            step += 1;
            if progress && (step % (steps / 5).max(1) == 0 || step == steps) {
                eprintln!("deepsmote: step {step}/{steps}: reconstruction {r:.4}, penalty {p:.4}");
            }
        }
    }
    let meta = std::collections::HashMap::from([("model".to_string(), CHECKPOINT_KIND.to_string())]);
    minmax_engine::io::save_safetensors(&path, &ae.state_dict(), Some(meta))?;
    let n = tail_n.max(1) as f64;
    Ok(Trained {
        ae,
        path,
        train_seconds: Some(t0.elapsed().as_secs_f64()),
        final_losses: Some((tail.0 / n, tail.1 / n)),
    })
}

/// `count[c]` new images of each class c of `data` (pixels in [0, 1], class after class) by
/// SMOTE on the autoencoder's codes of the class's images.
pub fn sample_classes(ae: &Autoencoder, data: &Dataset, count: &[usize], rng: &mut Rng) -> Result<(Vec<f32>, Vec<u8>)> {
    let mut images = Vec::new();
    let mut labels = Vec::new();
    for (c, &n) in count.iter().enumerate().take(NUM_CLASSES) {
        if n == 0 {
            continue;
        }
        let members: Vec<usize> = (0..data.len()).filter(|&i| data.labels()[i] as usize == c).collect();
        if members.is_empty() {
            return Err(Error::msg(format!("deepsmote: class {c} has no images to interpolate between")));
        }
        let codes = ae.encode_pixels(data.subset(&members)?.images())?;
        let new = smote::interpolate(&codes, LATENT, n, rng)?;
        images.extend(ae.decode_codes(&new)?);
        labels.extend(std::iter::repeat_n(c as u8, n));
    }
    Ok((images, labels))
}

/// `data` with DeepSMOTE images added to every class up to the largest class's count (the
/// originals first, then the new images class by class; a class without images stays empty).
pub fn balance(ae: &Autoencoder, data: &Dataset, rng: &mut Rng) -> Result<Dataset> {
    let counts = data.label_counts();
    let most = counts[..NUM_CLASSES].iter().copied().max().unwrap_or(0);
    let fill: Vec<usize> = counts[..NUM_CLASSES].iter().map(|&c| if c == 0 { 0 } else { most - c }).collect();
    let (new, new_labels) = sample_classes(ae, data, &fill, rng)?;
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
    fn the_networks_have_the_authors_shapes() -> Result<()> {
        let ae = Autoencoder::new(4, &mut Rng::new(0))?;
        let x = Tensor::rand(&[3, 1, 28, 28], -1.0, 1.0, &mut Rng::new(1));
        let z = ae.enc.forward(&x)?;
        assert_eq!(z.shape(), &[3, LATENT]);
        let y = ae.dec.forward(&z)?;
        assert_eq!(y.shape(), &[3, 1, 28, 28]);
        assert!(y.to_vec::<f32>()?.iter().all(|v| v.abs() <= 1.0), "tanh output");
        Ok(())
    }

    #[test]
    fn the_penalty_trains_only_the_decoder() -> Result<()> {
        let ae = Autoencoder::new(4, &mut Rng::new(0))?;
        let xc = Tensor::rand(&[5, 1, 28, 28], -1.0, 1.0, &mut Rng::new(2));
        let codes = ae.enc.forward(&xc)?.detach();
        let penalty = ae.dec.forward(&codes)?.mse_loss(&xc)?;
        penalty.backward()?;
        for (name, p) in ae.enc.named_parameters() {
            assert!(p.grad().is_none(), "encoder.{name} got a gradient from the penalty");
        }
        assert!(ae.dec.parameters().iter().all(|p| p.grad().is_some()));
        Ok(())
    }

    #[test]
    fn oversampling_fills_every_class_with_decoded_interpolants() -> Result<()> {
        let mut rng = Rng::new(5);
        // Class 0: 6 images, class 1: 2, class 2: 1 (repeated: no segment), classes 3–9 empty.
        let labels = vec![0u8, 0, 0, 0, 0, 0, 1, 1, 2];
        let images: Vec<f32> = (0..labels.len() * 784).map(|_| rng.uniform() as f32).collect();
        let data = Dataset::new(images, labels, 28, 28)?;
        let ae = Autoencoder::new(4, &mut Rng::new(0))?;
        let out = balance(&ae, &data, &mut Rng::new(9))?;
        assert_eq!(&out.label_counts()[..3], &[6, 6, 6]);
        assert_eq!(&out.images()[..data.images().len()], data.images(), "the originals come first");
        assert!(out.images().iter().all(|v| (0.0..=1.0).contains(v)), "pixels in [0, 1]");
        // Class 2 has one image: each new one is its reconstruction.
        let (recon, _) = sample_classes(&ae, &data, &[0, 0, 1], &mut Rng::new(1))?;
        let expect = ae.decode_codes(&ae.encode_pixels(data.image(8).unwrap())?)?;
        assert_eq!(recon, expect);
        // Seeded.
        assert_eq!(balance(&ae, &data, &mut Rng::new(9))?, out);
        Ok(())
    }

    #[test]
    fn training_lowers_the_reconstruction_error_and_the_checkpoint_reloads() -> Result<()> {
        let mut rng = Rng::new(3);
        let n = 40;
        // Two kinds of images: a bright left half, a bright right half.
        let mut images = Vec::with_capacity(n * 784);
        let mut labels = Vec::with_capacity(n);
        for i in 0..n {
            let right = i % 2 == 1;
            images.extend((0..784).map(|p| {
                let on = ((p % 28) >= 14) == right;
                (if on { 0.8 } else { 0.1 }) + 0.1 * rng.uniform() as f32
            }));
            labels.push(right as u8);
        }
        let data = Dataset::new(images, labels, 28, 28)?;
        let dir = std::env::temp_dir().join(format!("minmax-deepsmote-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mse = |ae: &Autoencoder| -> Result<f64> {
            let back = ae.decode_codes(&ae.encode_pixels(data.images())?)?;
            Ok(back.iter().zip(data.images()).map(|(a, b)| ((a - b) as f64).powi(2)).sum::<f64>() / back.len() as f64)
        };
        let before = mse(&Autoencoder::new(4, &mut Rng::new(11))?)?;
        let t = train_or_load(&data, 4, 200, 8, 11, &dir, false)?;
        let after = mse(&t.ae)?;
        assert!(t.train_seconds.is_some() && t.final_losses.is_some());
        assert!(after < 0.5 * before, "reconstruction error {before:.4} → {after:.4}");
        let again = train_or_load(&data, 4, 200, 8, 11, &dir, false)?;
        assert!(again.train_seconds.is_none(), "the second call loads the checkpoint");
        assert_eq!(mse(&again.ae)?, after);
        let _ = std::fs::remove_dir_all(&dir);
        Ok(())
    }
}
