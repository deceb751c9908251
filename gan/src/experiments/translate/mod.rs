//! `minmax lab translate`: image-to-image translation at 28×28, each task with its paper's
//! ablation. This version has one task, **pix2pix** (Isola et al. 2017) on edges → Fashion-MNIST
//! (`--dataset mnist`: edges → digits of the 10k subset, a smaller and quicker run):
//!
//! 1. the pairs: every Fashion-MNIST image's Sobel edge map (`data::paired`) is the input, the
//!    image the target; training pairs from the training split, scores on the test split;
//! 2. the yardstick: the project's classifier of the data set (the image lab's, trained once or
//!    loaded from `<out>/classifier-<dataset>*.safetensors`);
//! 3. the arms: the paper's objectives (its Table 1: L1, GAN, cGAN, L1+GAN, L1+cGAN, with the
//!    10×10 PatchGAN) and patch sizes (its Table 2: 1×1, 10×10, the full image, with L1+cGAN);
//!    without `--ablation` only L1+cGAN with 10×10 patches (pix2pix itself). Every arm trains the
//!    same number of steps on the same minibatches (one order per seed) and is scored on the same
//!    test images;
//! 4. the scores, in the spirit of the paper's FCN-score: the classifier's accuracy on the
//!    translated test images against their true labels (the real images' accuracy is the ceiling,
//!    the edge maps' the floor), FID on the classifier's features against the real test images,
//!    and L1, PSNR and SSIM to the targets (`metrics::image_quality`).
//!
//! At this size we reproduce the paper's orderings, not its numbers (Cityscapes at 256×256 there);
//! the report says which orderings hold. Written to `--out` (default `runs/lab-translate`):
//! `report.md`, `report.json`, `pix2pix-all.png` (input, target and every arm's output for the
//! same 8 test images) and `pix2pix-<arm>.png` (input | output | target rows).

use std::path::PathBuf;
use std::time::Instant;

use minmax_engine::{Device, Error, Generator as Rng, Result, Tensor};

use super::image_gans::{derive_seed, first_images, yardstick, DataChoice};
use super::mode_collapse::{cpu_seconds, load_average};
use crate::data::paired::sobel_edges;
use crate::data::{Dataset, Splits};
use crate::metrics::classifier::Classifier;
use crate::metrics::{self, image_quality, FeatureStats};
use crate::models::translate::pix2pix::{Objective, Patch, Pix2Pix};

mod args;
pub use args::*;
mod report;
pub use report::*;

/// Minibatch size of every arm.
pub const BATCH: usize = 64;
/// Sobel magnitude above which a pixel is an edge (a unit step between flat regions gives 4).
pub const EDGE_THRESHOLD: f32 = 1.0;
/// Translated images per batch at evaluation.
const EVAL_CHUNK: usize = 500;

/// The tasks `--task` names; this version runs pix2pix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Task {
    Pix2pix,
}

/// One row of the ablation: an objective and a patch size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Arm {
    pub objective: Objective,
    pub patch: Patch,
}

impl Arm {
    pub const PIX2PIX: Arm = Arm { objective: Objective::L1CGan, patch: Patch::Patch10 };
    /// A file-name tag: objective and patch.
    pub fn tag(self) -> String {
        let p = match self.patch {
            Patch::Pixel => "1x1",
            Patch::Patch10 => "10x10",
            Patch::Image => "image",
        };
        format!("{}-{p}", self.objective.name().to_lowercase().replace('+', "-"))
    }
    /// The arms of a run: the objectives with 10×10 patches, then the other two patch sizes
    /// with L1+cGAN (its 10×10 row is shared).
    pub fn all(ablation: bool) -> Vec<Arm> {
        if !ablation {
            return vec![Arm::PIX2PIX];
        }
        let mut v: Vec<Arm> =
            Objective::ALL.iter().map(|&objective| Arm { objective, patch: Patch::Patch10 }).collect();
        v.push(Arm { objective: Objective::L1CGan, patch: Patch::Pixel });
        v.push(Arm { objective: Objective::L1CGan, patch: Patch::Image });
        v
    }
}

#[derive(Clone, Debug)]
pub struct Options {
    pub task: Task,
    /// Fashion-MNIST (the paper-like task) or the MNIST 10k subset.
    pub data: DataChoice,
    pub ablation: bool,
    pub steps: usize,
    /// Test images scored per arm (capped at the test split).
    pub samples: usize,
    /// The weight λ of the L1 term in every arm that has one.
    pub lambda: f64,
    /// The seeds of the runs: every arm trains once per seed.
    pub seeds: Vec<u64>,
    pub device: Device,
    pub out: PathBuf,
    pub classifier_epochs: usize,
    pub progress: bool,
    pub quick: bool,
    /// Replace a finished run in `out` (else it is refused).
    pub overwrite: bool,
}

/// The scores of one set of images against the test targets.
#[derive(Clone, Debug, PartialEq)]
pub struct Scores {
    pub classifier_accuracy: f64,
    pub fid: f64,
    /// None for the real images themselves.
    pub l1: Option<f64>,
    pub psnr: Option<f64>,
    pub ssim: Option<f64>,
}

/// One arm trained with one seed.
#[derive(Clone, Debug)]
pub struct ArmRun {
    pub seed: u64,
    pub scores: Scores,
    pub steps: usize,
    pub seconds: f64,
    pub eval_seconds: f64,
    /// Mean losses over the last tenth of training.
    pub final_d_loss: Option<f64>,
    pub final_g_loss: f64,
}

#[derive(Clone, Debug)]
pub struct ArmRuns {
    pub arm: Arm,
    pub runs: Vec<ArmRun>,
}

#[derive(Clone, Debug)]
pub struct Report {
    pub train_size: usize,
    pub test_size: usize,
    pub eval_n: usize,
    pub classifier_path: PathBuf,
    pub classifier_epochs: usize,
    pub classifier_test_accuracy: f64,
    pub classifier_train_seconds: Option<f64>,
    /// The real test images (the ceiling; FID: held-out real images against them).
    pub real: Scores,
    /// The input edge maps themselves, scored as if they were the output (the floor).
    pub edges: Scores,
    pub arms: Vec<ArmRuns>,
    pub wall_seconds: f64,
    pub cpu_seconds: Option<f64>,
    pub load_start: Option<f64>,
    pub load_end: Option<f64>,
    pub markdown: String,
}

/// Edges → image pairs of a split, as model tensors [n, 1, 28, 28] in [−1, 1] (inputs, targets).
pub struct Pairs {
    pub inputs: Vec<f32>,
    pub targets: Vec<f32>,
    pub labels: Vec<u8>,
}

impl Pairs {
    pub fn of(data: &Dataset) -> Result<Pairs> {
        let (h, w) = (data.rows(), data.cols());
        Ok(Pairs {
            inputs: sobel_edges(data.images(), h, w, EDGE_THRESHOLD)?,
            targets: data.images().to_vec(),
            labels: data.labels().to_vec(),
        })
    }
    pub fn len(&self) -> usize {
        self.labels.len()
    }
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
    /// Rows `idx` of pixels `px` ([N, 784] in [0, 1]) as a model batch [B, 1, 28, 28] in [−1, 1].
    fn batch(px: &[f32], idx: &[usize], device: &Device) -> Result<Tensor> {
        let mut v = Vec::with_capacity(idx.len() * 784);
        for &i in idx {
            v.extend(px[i * 784..(i + 1) * 784].iter().map(|p| 2.0 * p - 1.0));
        }
        Tensor::new(v, &[idx.len(), 1, 28, 28])?.to_device(device)
    }
}

/// The classifier's accuracy and FID of `images` ([n, 784] in [0, 1]), and their L1, PSNR and
/// SSIM to `targets` (the same test images' targets). Non-finite images are refused.
fn score(
    net: &Classifier,
    real_stats: &FeatureStats,
    images: &Tensor,
    labels: &[u8],
    targets: &Tensor,
) -> Result<Scores> {
    metrics::ensure_finite(images, "translate: images to score")?;
    let predicted = net.predict(images)?;
    let right = predicted.iter().zip(labels).filter(|(p, &l)| **p == l as usize).count();
    Ok(Scores {
        classifier_accuracy: right as f64 / labels.len() as f64,
        fid: metrics::frechet_distance(real_stats, &FeatureStats::from_features(&net.features(images)?)?)?,
        l1: Some(image_quality::l1(images, targets, 28, 28)?),
        psnr: Some(image_quality::psnr(images, targets, 28, 28, 1.0)?),
        ssim: Some(image_quality::ssim(images, targets, 28, 28, 1.0)?),
    })
}

/// G's outputs for the first `n` test inputs, as pixels [n, 784] in [0, 1] on the CPU.
fn translate_all(m: &Pix2Pix, test: &Pairs, n: usize, device: &Device) -> Result<Tensor> {
    let mut px: Vec<f32> = Vec::with_capacity(n * 784);
    for start in (0..n).step_by(EVAL_CHUNK) {
        let idx: Vec<usize> = (start..(start + EVAL_CHUNK).min(n)).collect();
        let y = m.translate(&Pairs::batch(&test.inputs, &idx, device)?)?;
        px.extend(y.to_device(&Device::Cpu)?.to_vec::<f32>()?.iter().map(|v| (v + 1.0) / 2.0));
    }
    Tensor::new(px, &[n, 784])
}

/// Train `arm` with `seed` for `o.steps` steps and score it on the first n test pairs, whose
/// targets are `targets` ([n, 784]).
#[allow(clippy::too_many_arguments)]
fn run_arm(
    arm: Arm,
    seed: u64,
    train: &Pairs,
    test: &Pairs,
    targets: &Tensor,
    net: &Classifier,
    real_stats: &FeatureStats,
    o: &Options,
) -> Result<(ArmRun, Tensor)> {
    let n = targets.shape()[0];
    let mut m = Pix2Pix::new(
        arm.objective,
        arm.patch,
        o.lambda,
        &mut Rng::new(derive_seed(seed, &format!("init/{}", arm.tag()))),
        &o.device,
    )?;
    // The same minibatches for every arm of this seed.
    let mut order = Rng::new(derive_seed(seed, "batches"));
    let mut perm: Vec<usize> = Vec::new();
    let (mut d_tail, mut g_tail, mut tail_n) = (0.0, 0.0, 0usize);
    let tail_from = o.steps - (o.steps / 10).max(1);
    let t0 = Instant::now();
    for step in 0..o.steps {
        if perm.len() < BATCH {
            perm = order.permutation(train.len());
        }
        let idx: Vec<usize> = perm.split_off(perm.len() - BATCH);
        let x = Pairs::batch(&train.inputs, &idx, &o.device)?;
        let y = Pairs::batch(&train.targets, &idx, &o.device)?;
        let s = m.train_step(&x, &y)?;
        if !(s.g_loss.is_finite() && s.d_loss.is_finite()) {
            return Err(Error::msg(format!(
                "pix2pix {} (seed {seed}): non-finite loss at step {} (D {}, G {}); stopped",
                arm.tag(),
                step + 1,
                s.d_loss,
                s.g_loss
            )));
        }
        if step >= tail_from {
            d_tail += s.d_loss;
            g_tail += s.g_loss;
            tail_n += 1;
        }
        if o.progress && (step + 1) % 100.max(o.steps / 5) == 0 {
            eprintln!("pix2pix {} seed {seed} step {}: D {:.4}  G {:.4}", arm.tag(), step + 1, s.d_loss, s.g_loss);
        }
    }
    let seconds = t0.elapsed().as_secs_f64();
    let te = Instant::now();
    let out = translate_all(&m, test, n, &o.device)?;
    let scores = score(net, real_stats, &out, &test.labels[..n], targets)?;
    let eval_seconds = te.elapsed().as_secs_f64();
    if o.progress {
        eprintln!(
            "pix2pix {} seed {seed}: accuracy {:.2} %  FID {:.2}  L1 {:.4}  PSNR {:.2} dB  SSIM {:.4}  ({seconds:.0} s)",
            arm.tag(),
            100.0 * scores.classifier_accuracy,
            scores.fid,
            scores.l1.unwrap_or(f64::NAN),
            scores.psnr.unwrap_or(f64::NAN),
            scores.ssim.unwrap_or(f64::NAN)
        );
    }
    let meta = std::collections::HashMap::from([
        ("model".to_string(), "pix2pix".to_string()),
        ("objective".to_string(), arm.objective.name().to_string()),
        ("patch".to_string(), arm.patch.name().to_string()),
        ("steps".to_string(), o.steps.to_string()),
        ("lambda".to_string(), o.lambda.to_string()),
        ("seed".to_string(), seed.to_string()),
    ]);
    let ck = o.out.join(format!("pix2pix-{}-seed{seed}.safetensors", arm.tag()));
    minmax_engine::io::save_safetensors(&ck, &m.state_dict(), Some(meta))?;
    let run = ArmRun {
        seed,
        scores,
        steps: o.steps,
        seconds,
        eval_seconds,
        final_d_loss: arm.objective.has_gan().then(|| d_tail / tail_n as f64),
        final_g_loss: g_tail / tail_n as f64,
    };
    Ok((run, out.narrow(0, 0, 8.min(n))?))
}

/// Run the lab and write the report and pictures into `o.out`.
pub fn run(o: &Options) -> Result<Report> {
    let Task::Pix2pix = o.task;
    std::fs::create_dir_all(&o.out).map_err(|e| Error::Io { path: o.out.clone(), source: e })?;
    let done = o.out.join("report.json");
    if done.exists() && !o.overwrite {
        return Err(Error::file(
            &done,
            "the output folder already holds a finished run; pass --overwrite to replace it, or --out to choose another folder",
        ));
    }
    let load_start = load_average();
    let t0 = Instant::now();
    let splits: Splits = o.data.load()?;
    let stick = yardstick(&o.out, o.data, &splits, o.classifier_epochs, o.progress)?;
    let (train, test) = (Pairs::of(&splits.train)?, Pairs::of(&splits.test)?);
    let n = o.samples.min(test.len()).min(splits.valid.len());
    if n < 2 {
        return Err(Error::msg(format!("--samples {}: need at least 2 test images", o.samples)));
    }
    let real_test = first_images(&splits.test, n)?;
    let real_stats = FeatureStats::from_features(&stick.net.features(&real_test)?)?;
    // The ceiling: the classifier on the test images themselves (the translations' targets), and
    // the FID of held-out real images; it has no distance to its targets.
    let real = Scores {
        classifier_accuracy: stick.net.accuracy(&splits.test.subset(&(0..n).collect::<Vec<_>>())?)?,
        fid: metrics::frechet_distance(
            &real_stats,
            &FeatureStats::from_features(&stick.net.features(&first_images(&splits.valid, n)?)?)?,
        )?,
        l1: None,
        psnr: None,
        ssim: None,
    };
    let edges_px = Tensor::new(test.inputs[..n * 784].to_vec(), &[n, 784])?;
    let edges = score(&stick.net, &real_stats, &edges_px, &test.labels[..n], &real_test)?;
    let mut arms = Vec::new();
    // Picture rows: the input edges, the targets, then each arm's outputs (first seed).
    let mut rows: Vec<Tensor> = vec![edges_px.narrow(0, 0, 8.min(n))?, real_test.narrow(0, 0, 8.min(n))?];
    for arm in Arm::all(o.ablation) {
        let mut runs = Vec::new();
        for (i, &seed) in o.seeds.iter().enumerate() {
            let (r, pictures) = run_arm(arm, seed, &train, &test, &real_test, &stick.net, &real_stats, o)?;
            if i == 0 {
                let grid = Tensor::cat(&[&rows[0], &pictures, &rows[1]], 0)?;
                let cols = pictures.shape()[0];
                crate::viz::save_png(
                    &crate::viz::image_grid(&grid, 3, cols, 28, 28, 2)?,
                    &o.out.join(format!("pix2pix-{}.png", arm.tag())),
                )?;
                rows.push(pictures);
            }
            runs.push(r);
        }
        arms.push(ArmRuns { arm, runs });
    }
    let all: Vec<&Tensor> = rows.iter().collect();
    let cols = all[0].shape()[0];
    crate::viz::save_png(
        &crate::viz::image_grid(&Tensor::cat(&all, 0)?, all.len(), cols, 28, 28, 2)?,
        &o.out.join("pix2pix-all.png"),
    )?;
    let mut r = Report {
        train_size: train.len(),
        test_size: test.len(),
        eval_n: n,
        classifier_path: stick.path,
        classifier_epochs: stick.epochs,
        classifier_test_accuracy: stick.test_accuracy,
        classifier_train_seconds: stick.train_seconds,
        real,
        edges,
        arms,
        wall_seconds: t0.elapsed().as_secs_f64(),
        cpu_seconds: cpu_seconds(),
        load_start,
        load_end: load_average(),
        markdown: String::new(),
    };
    r.markdown = markdown(&r, o);
    crate::experiments::write_report(&o.out, &r.markdown, &json(&r, o))?;
    Ok(r)
}
