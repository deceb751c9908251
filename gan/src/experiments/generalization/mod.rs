//! The generalization lab: does a GAN trained on few images learn the data or copy it? The
//! "small data sets don't suit deep learning" question, measured.
//!
//! For every training-set size (100, 1,000 and the full training split by default) the lab trains
//! the DCGAN of `images/dcgan.rs` for the same number of steps on a seeded random subset of that
//! size (the subsets are nested: each is the start of one permutation), then asks two questions
//! (`metrics::reconstruction`):
//!
//! 1. **Inference by optimisation (MRE).** For an image x, search the latent space for the code
//!    whose image is closest, min_z ‖x − G(z)‖² / 784 (Adam on z, several restarts, G in eval
//!    mode), on up to 200 images of the training subset and on 200 test images. The mean of each
//!    and the gap (test − train), with standard errors, in pixel units ([0, 1] pixels). A
//!    generator that learnt the data reconstructs unseen images about as well as training images;
//!    one that memorised reconstructs its training images much better.
//! 2. **Nearest-neighbour memorisation check.** The distance from each of 1,000 generated samples
//!    to its nearest image of the training subset, against the same distance for held-out test
//!    images; and the share of generated samples closer than the held-out median (≈ 50 % when
//!    samples are as novel as unseen real images, far above when they are near-copies).
//!
//! Optionally (on by default, off with `--quick`) the FID of 1,000 samples against 1,000 test
//! images on the features of the classifier of `crate::metrics::classifier`.
//!
//! Every size gets the same number of steps, so the small sets are seen for many more epochs (100
//! images, 2,000 steps of 64: 1,280 epochs): the question is what a fixed training budget does
//! with little data. Written to `--out` (default `runs/lab-generalization`): `report.md`,
//! `report.json`, `mre.png`, `memorisation.png`, and per size `samples-<size>.png` and
//! `strip-<size>.png` (test images, their reconstructions and their nearest training images; then
//! training images and their reconstructions).
//!
//! Left out: several seeds per size, encoders (learnt inference), perceptual distances.

use std::path::PathBuf;
use std::time::Instant;

use image::{Rgb, RgbImage};
use minmax_engine::nn::Module;
use minmax_engine::{no_grad, Device, Error, Generator as Rng, Result, Tensor};

use super::image_gans::{self, derive_seed, first_images, DataChoice};
use super::mode_collapse::{cpu_seconds, load_average};
use crate::data::Dataset;
use crate::metrics::stats::mean_se;
use crate::metrics::{self, Memorisation, ReconstructOptions};
use crate::models::images::{self, ImageGan, Model, TrainOptions};

mod report;
pub use report::*;
mod args;
pub use args::*;

/// Largest minibatch of GAN training (smaller sets use their size).
pub const MAX_BATCH: usize = 64;
/// Images shown per row of the strips.
pub const STRIP: usize = 10;
/// Images per side of the optional FID.
pub const FID_N: usize = 1000;

/// A training-set size as `--sizes` spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Size {
    Count(usize),
    /// The whole training split.
    Full,
}

/// `--sizes`: a comma-separated list of positive counts and `full`.
pub fn parse_sizes(s: &str) -> Result<Vec<Size>> {
    let mut v = Vec::new();
    for x in s.split(',').map(str::trim) {
        let size = match x {
            "full" => Size::Full,
            _ => match x.replace('_', "").parse::<usize>() {
                Ok(n) if n > 0 => Size::Count(n),
                _ => return Err(Error::msg(format!("--sizes: '{x}' is not a positive number of images or 'full'"))),
            },
        };
        v.push(size);
    }
    Ok(v)
}

/// Sizes as counts for a training split of `n` images, ascending and without repeats.
pub fn resolve_sizes(sizes: &[Size], n: usize, data: DataChoice) -> Result<Vec<usize>> {
    let mut v = Vec::new();
    for s in sizes {
        let c = match *s {
            Size::Full => n,
            Size::Count(c) if c <= n => c,
            Size::Count(c) => {
                return Err(Error::msg(format!(
                    "--sizes {c}: the training split of {} holds only {n} images",
                    data.describe()
                )))
            }
        };
        if c < 2 {
            return Err(Error::msg(format!("--sizes {c}: need at least 2 training images")));
        }
        v.push(c);
    }
    v.sort_unstable();
    v.dedup();
    Ok(v)
}

#[derive(Clone, Debug)]
pub struct Options {
    pub dataset: DataChoice,
    pub sizes: Vec<Size>,
    /// DCGAN steps for every size.
    pub steps: usize,
    pub seed: u64,
    pub device: Device,
    pub out: PathBuf,
    /// Images reconstructed per side (train subset, test).
    pub mre_images: usize,
    /// Adam steps and restarts of the latent search (`lr`, `batch_size` as given).
    pub reconstruct: ReconstructOptions,
    /// Generated samples (and held-out test images) of the nearest-neighbour check.
    pub memo_samples: usize,
    /// Also the FID against the test set (trains or loads the classifier).
    pub fid: bool,
    pub classifier_epochs: usize,
    pub progress: bool,
    pub quick: bool,
}

/// Everything measured at one training-set size.
#[derive(Clone, Debug)]
pub struct SizeRun {
    pub size: usize,
    /// Whether this size is the whole training split.
    pub full: bool,
    pub batch: usize,
    pub steps: usize,
    /// Per-image reconstruction MSE (pixels in [0, 1]) of training images of the subset.
    pub train_mre: Vec<f64>,
    /// The same for test images.
    pub test_mre: Vec<f64>,
    pub train_mean: (f64, f64),
    pub test_mean: (f64, f64),
    /// test − train, with the standard error of the difference of two independent means.
    pub gap: (f64, f64),
    pub memo: Memorisation,
    pub fid: Option<f64>,
    pub final_d_loss: f64,
    pub final_g_loss: f64,
    pub train_seconds: f64,
    pub mre_seconds: f64,
}

impl SizeRun {
    pub fn label(&self) -> String {
        if self.full {
            format!("{} (full)", self.size)
        } else {
            self.size.to_string()
        }
    }
}

#[derive(Clone, Debug)]
pub struct Report {
    pub dataset: DataChoice,
    pub train_split: usize,
    pub test_split: usize,
    pub runs: Vec<SizeRun>,
    pub classifier_accuracy: Option<f64>,
    pub wall_seconds: f64,
    pub cpu_seconds: Option<f64>,
    pub interpretation: String,
    pub markdown: String,
}

/// G(z) of codes `z` [n, Z] as pixels [n, 784] in [0, 1] on the CPU, with G in eval mode (batch
/// norm uses its running statistics, so one code's image does not depend on the other codes in
/// the batch) and no graph: the reconstructions G(ẑ) of [`mre`]'s codes.
pub fn decode(gan: &dyn ImageGan, z: &Tensor, device: &Device) -> Result<Tensor> {
    let g = gan.generator();
    g.eval();
    let x = no_grad(|| images::to_pixel_space(&g.generate(&z.to_device(device)?, None)?)?.to_device(&Device::Cpu));
    g.train();
    x
}

/// Per-image MRE of `x` [n, 784] (pixels) through `gan`'s generator, in pixel units; and the codes.
pub fn mre(gan: &dyn ImageGan, x: &Tensor, o: &ReconstructOptions, device: &Device) -> Result<metrics::Reconstruction> {
    let g = gan.generator();
    g.eval(); // batch norm with its running statistics: G(z) of one code does not depend on the others
    let x = x.to_device(device)?;
    // Pixels in [0, 1] on both sides; no no_grad here: the search needs gradients with respect to z.
    let r = metrics::reconstruct(&x, g.z_dim, |z| g.generate(z, None)?.affine(0.5, 0.5), o);
    g.train();
    r
}

/// Train and measure one training-set size.
pub fn run_size(
    size: usize,
    subset: &Dataset,
    test: &Dataset,
    scorer: Option<&image_gans::Scorer>,
    full: bool,
    o: &Options,
) -> Result<SizeRun> {
    let tag = format!("{}/{size}", o.dataset.name());
    let batch = MAX_BATCH.min(size);
    let mut gan =
        Model::Dcgan.build(image_gans::Z_DIM, &mut Rng::new(derive_seed(o.seed, &format!("init/{tag}"))), &o.device)?;
    let topts = TrainOptions {
        steps: o.steps,
        batch,
        seed: derive_seed(o.seed, &format!("train/{tag}")),
        device: o.device.clone(),
        log_every: if o.progress { (o.steps / 5).max(1) } else { 0 },
    };
    let t0 = Instant::now();
    let log = images::train(gan.as_mut(), subset, &topts, |_, _| Ok(()))?;
    let train_seconds = t0.elapsed().as_secs_f64();
    let last = log.last().map(|p| p.stats).unwrap_or_default();

    // (1) inference by optimisation on training and test images
    let t1 = Instant::now();
    let ropts =
        ReconstructOptions { seed: derive_seed(o.seed, &format!("reconstruct/{tag}")), ..o.reconstruct.clone() };
    let x_train = first_images(subset, o.mre_images)?;
    let x_test = first_images(test, o.mre_images)?;
    let r_train = mre(gan.as_ref(), &x_train, &ropts, &o.device)?;
    let r_test = mre(gan.as_ref(), &x_test, &ropts, &o.device)?;
    let mre_seconds = t1.elapsed().as_secs_f64();
    let (train_mean, test_mean) = (mean_se(&r_train.mse), mean_se(&r_test.mse));
    let gap = (test_mean.0 - train_mean.0, (train_mean.1.powi(2) + test_mean.1.powi(2)).sqrt());

    // (2) nearest training images of generated samples and of held-out test images
    let generated =
        image_gans::draw(gan.as_ref(), o.memo_samples, &mut Rng::new(derive_seed(o.seed, &format!("samples/{tag}"))))?;
    let train_all = first_images(subset, subset.len())?;
    let heldout = first_images(test, o.memo_samples)?;
    let memo = metrics::memorisation(&train_all, &generated, &heldout)?;
    let fid = match scorer {
        Some(s) => Some(s.score(&generated.narrow(0, 0, s.n.min(generated.shape()[0]))?, o.steps)?.fid),
        None => None,
    };
    if o.progress {
        eprintln!(
            "{tag}: MRE train {:.4} ± {:.4}, test {:.4} ± {:.4}, gap {:.4} ± {:.4}; NN distance generated {:.2} vs \
             held-out {:.2} (median), {:.1} % closer than the held-out median{}",
            train_mean.0,
            train_mean.1,
            test_mean.0,
            test_mean.1,
            gap.0,
            gap.1,
            memo.generated_median,
            memo.heldout_median,
            100.0 * memo.closer_than_heldout_median,
            fid.map_or(String::new(), |f| format!("; FID {f:.2}"))
        );
    }

    // Pictures: samples, and the strip of reconstructions.
    crate::viz::save_png(
        &crate::viz::image_grid(&generated.narrow(0, 0, 64.min(o.memo_samples))?, 8, 8, 28, 28, 2)?,
        &o.out.join(format!("samples-{size}.png")),
    )?;
    let k = STRIP.min(x_test.shape()[0]).min(x_train.shape()[0]);
    let test_k = x_test.narrow(0, 0, k)?;
    let test_rec = decode(gan.as_ref(), &r_test.z.narrow(0, 0, k)?, &o.device)?;
    let nn: Vec<i64> = crate::viz::nearest_neighbours(&test_k, &train_all)?.into_iter().map(|i| i as i64).collect();
    let test_nn = train_all.index_select(0, &Tensor::new(nn, &[k])?)?;
    let train_k = x_train.narrow(0, 0, k)?;
    let train_rec = decode(gan.as_ref(), &r_train.z.narrow(0, 0, k)?, &o.device)?;
    let strip = labelled_rows(
        &format!(
            "{} images of {}, {} steps: MRE train {:.4}, test {:.4}",
            size,
            o.dataset.describe(),
            o.steps,
            train_mean.0,
            test_mean.0
        ),
        &[
            ("test images", &test_k),
            ("G(ẑ) of them", &test_rec),
            ("nearest training image", &test_nn),
            ("training images", &train_k),
            ("G(ẑ) of them", &train_rec),
        ],
    )?;
    crate::viz::save_png(&strip, &o.out.join(format!("strip-{size}.png")))?;

    Ok(SizeRun {
        size,
        full,
        batch,
        steps: o.steps,
        train_mre: r_train.mse,
        test_mre: r_test.mse,
        train_mean,
        test_mean,
        gap,
        memo,
        fid,
        final_d_loss: last.d_loss,
        final_g_loss: last.g_loss,
        train_seconds,
        mre_seconds,
    })
}

/// Rows of images [k, 784] under a title, each row with a label on its left, drawn at twice the
/// pixel size.
pub fn labelled_rows(title: &str, rows: &[(&str, &Tensor)]) -> Result<RgbImage> {
    const SCALE: u32 = 2;
    const LABEL_W: u32 = 170;
    const TITLE_H: u32 = 30;
    let grids = rows.iter().map(|(_, t)| crate::viz::image_grid(t, 1, STRIP, 28, 28, 2)).collect::<Result<Vec<_>>>()?;
    let gw = grids.iter().map(|g| g.width()).max().unwrap_or(0) * SCALE;
    let gh = grids.first().map(|g| g.height()).unwrap_or(0) * SCALE;
    let mut img = RgbImage::from_pixel(LABEL_W + gw + 8, TITLE_H + gh * rows.len() as u32 + 8, Rgb([255, 255, 255]));
    for (r, grid) in grids.iter().enumerate() {
        let y0 = TITLE_H + r as u32 * gh;
        for (x, y, p) in grid.enumerate_pixels() {
            let v = p.0[0];
            for dy in 0..SCALE {
                for dx in 0..SCALE {
                    img.put_pixel(LABEL_W + x * SCALE + dx, y0 + y * SCALE + dy, Rgb([v, v, v]));
                }
            }
        }
        crate::viz::mode_collapse::draw_text(&mut img, 6, (y0 + gh / 2) as i32 - 8, 14.0, rows[r].0);
    }
    crate::viz::mode_collapse::draw_text(&mut img, 6, 6, 16.0, title);
    Ok(img)
}

/// Run the sweep and write the report and pictures into `o.out`.
pub fn run(o: &Options) -> Result<Report> {
    std::fs::create_dir_all(&o.out).map_err(|e| Error::Io { path: o.out.clone(), source: e })?;
    let t0 = Instant::now();
    let load_start = load_average();
    let splits = o.dataset.load()?;
    let sizes = resolve_sizes(&o.sizes, splits.train.len(), o.dataset)?;
    // One permutation of the training split; each subset is its start, so they are nested.
    let perm = Rng::new(derive_seed(o.seed, &format!("subset/{}", o.dataset.name()))).permutation(splits.train.len());
    let stick = if o.fid {
        Some(image_gans::yardstick(&o.out, o.dataset, &splits, o.classifier_epochs, o.progress)?)
    } else {
        None
    };
    let scorer = match &stick {
        Some(s) => Some(image_gans::Scorer::new(&s.net, &splits.test, FID_N.min(o.memo_samples))?),
        None => None,
    };
    let mut runs = Vec::new();
    for &size in &sizes {
        let subset = splits.train.subset(&perm[..size])?;
        if o.progress {
            eprintln!("{}: training DCGAN on {size} images for {} steps", o.dataset.name(), o.steps);
        }
        runs.push(run_size(size, &subset, &splits.test, scorer.as_ref(), size == splits.train.len(), o)?);
    }

    // Pictures over sizes (log10 of the size on x).
    let x = |r: &SizeRun| (r.size as f64).log10();
    let line = |f: &dyn Fn(&SizeRun) -> f64| runs.iter().map(|r| (x(r), f(r))).collect::<Vec<_>>();
    crate::viz::line_plot(
        &o.out.join("mre.png"),
        &format!("Reconstruction error through G on {}", o.dataset.describe()),
        "training images (log10)",
        "mean squared error per pixel",
        &[
            ("training images", line(&|r| r.train_mean.0)),
            ("test images", line(&|r| r.test_mean.0)),
            ("gap (test - train)", line(&|r| r.gap.0)),
        ],
    )?;
    crate::viz::line_plot(
        &o.out.join("memorisation.png"),
        &format!("Distance to the nearest training image on {}", o.dataset.describe()),
        "training images (log10)",
        "Euclidean distance (pixels in [0, 1])",
        &[
            ("generated (median)", line(&|r| r.memo.generated_median)),
            ("held-out test (median)", line(&|r| r.memo.heldout_median)),
            ("generated (mean)", line(&|r| r.memo.generated_mean)),
            ("held-out test (mean)", line(&|r| r.memo.heldout_mean)),
        ],
    )?;

    let interpretation = interpret(&runs);
    let mut r = Report {
        dataset: o.dataset,
        train_split: splits.train.len(),
        test_split: splits.test.len(),
        runs,
        classifier_accuracy: stick.as_ref().map(|s| s.test_accuracy),
        wall_seconds: t0.elapsed().as_secs_f64(),
        cpu_seconds: cpu_seconds(),
        interpretation,
        markdown: String::new(),
    };
    r.markdown = markdown(&r, o, load_start, load_average());
    crate::experiments::write_report(&o.out, &r.markdown, &json(&r, o))?;
    Ok(r)
}
