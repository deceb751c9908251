//! `minmax lab translate`: image-to-image translation at 28×28, each task with its paper's
//! ablation, every task scored by the same yardstick. The tasks (`--task`, or `all`):
//!
//! - **pix2pix** (Isola et al. 2017) on edges → Fashion-MNIST, this file (report: `report.rs`);
//! - **srgan** (Ledig et al. 2017): ×4 and ×2 super-resolution, SRResNet and SRGAN against
//!   nearest, bilinear and bicubic upsampling (`srgan.rs`);
//! - **inpainting** (Pathak et al. 2016): the context encoder filling a centre hole, L2 alone and
//!   L2 + adversarial, against mean fill and the nearest training image (`inpainting.rs`);
//! - **cyclegan** (Zhu et al. 2017): unpaired handwritten ↔ printed digits, with the paper's loss
//!   ablation (`cyclegan.rs`); always on MNIST (the 10k subset) and digits rendered from fonts.
//!
//! Each task writes into `<out>/<task>/` (`report.md`, `report.json`, pictures, checkpoints); the
//! classifier of each data set is trained once into `<out>` and shared by the tasks on it;
//! `--task all` also writes `<out>/report.md`, the reports one after another. `--dataset mnist`
//! runs on the 10k subset (smaller and quicker). The shared yardstick, in the spirit of pix2pix's FCN-score: the accuracy of the
//! project's classifier of the data set on the output images against the true labels (the real
//! images' accuracy is the ceiling), FID on the classifier's features against the real test
//! images, and the distances to the targets (L1, PSNR, SSIM: `metrics::image_quality`).
//!
//! pix2pix, step by step:
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
//! 4. the scores: the classifier's accuracy on the translated test images (the edge maps' is the
//!    floor), FID, and L1, PSNR and SSIM to the targets.
//!
//! At this size we reproduce the papers' orderings, not their numbers (Cityscapes at 256×256,
//! BSD100, Paris StreetView there); each report says which orderings hold. pix2pix's pictures:
//! `pix2pix-all.png` (input, target and every arm's output for the same 8 test images) and
//! `pix2pix-<arm>.png` (input | output | target rows).

use std::path::PathBuf;
use std::time::Instant;

use minmax_engine::{Device, Error, Generator as Rng, Result, Tensor};

use super::image_gans::{derive_seed, first_images, yardstick, DataChoice, Yardstick};
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
pub mod cyclegan;
pub mod inpainting;
pub mod srgan;

/// Minibatch size of every arm.
pub const BATCH: usize = 64;
/// Sobel magnitude above which a pixel is an edge (a unit step between flat regions gives 4).
pub const EDGE_THRESHOLD: f32 = 1.0;
/// Translated images per batch at evaluation.
const EVAL_CHUNK: usize = 500;

/// The tasks `--task` names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Task {
    Pix2pix,
    Srgan,
    Inpainting,
    Cyclegan,
}

impl Task {
    pub const ALL: [Task; 4] = [Task::Pix2pix, Task::Srgan, Task::Inpainting, Task::Cyclegan];
    /// The name on the command line and of the task's folder.
    pub fn name(self) -> &'static str {
        match self {
            Task::Pix2pix => "pix2pix",
            Task::Srgan => "srgan",
            Task::Inpainting => "inpainting",
            Task::Cyclegan => "cyclegan",
        }
    }
    /// Training steps per arm when `--steps` is not given (and with `--quick`).
    pub fn default_steps(self, quick: bool) -> usize {
        match (self, quick) {
            (Task::Pix2pix, false) => 1500,
            (Task::Srgan, false) => srgan::STEPS,
            (Task::Inpainting, false) => inpainting::STEPS,
            (Task::Cyclegan, false) => cyclegan::STEPS,
            (Task::Pix2pix | Task::Inpainting, true) => 100,
            (Task::Srgan, true) => srgan::QUICK_STEPS,
            (Task::Cyclegan, true) => cyclegan::QUICK_STEPS,
        }
    }
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
    /// The tasks to run, in this order.
    pub tasks: Vec<Task>,
    /// Fashion-MNIST (the paper-like task) or the MNIST 10k subset.
    pub data: DataChoice,
    pub ablation: bool,
    /// Training steps per arm (per phase for SRGAN); None: each task's default.
    pub steps: Option<usize>,
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

impl Options {
    /// Training steps per arm of `task`: `--steps`, else the task's default.
    pub fn steps_for(&self, task: Task) -> usize {
        self.steps.unwrap_or(task.default_steps(self.quick))
    }
    /// The data set `task` runs on: `--dataset`, except for CycleGAN (always the MNIST subset).
    pub fn data_of(&self, task: Task) -> DataChoice {
        if task == Task::Cyclegan {
            DataChoice::Mnist
        } else {
            self.data
        }
    }
    /// The folder of `task`'s report, pictures and checkpoints.
    pub fn task_dir(&self, task: Task) -> PathBuf {
        self.out.join(task.name())
    }
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
        model_batch(px, idx, 28, 28, device)
    }
}

/// The classifier's accuracy on `images` ([n, 784] in [0, 1]) against `labels`, and their FID
/// against `real_stats`. Non-finite images are refused.
pub fn accuracy_and_fid(
    net: &Classifier,
    real_stats: &FeatureStats,
    images: &Tensor,
    labels: &[u8],
) -> Result<(f64, f64)> {
    metrics::ensure_finite(images, "translate: images to score")?;
    let predicted = net.predict(images)?;
    let right = predicted.iter().zip(labels).filter(|(p, &l)| **p == l as usize).count();
    let fid = metrics::frechet_distance(real_stats, &FeatureStats::from_features(&net.features(images)?)?)?;
    Ok((right as f64 / labels.len() as f64, fid))
}

/// [`accuracy_and_fid`] of `images`, and their L1, PSNR and SSIM to `targets` (the same test
/// images' targets).
fn score(
    net: &Classifier,
    real_stats: &FeatureStats,
    images: &Tensor,
    labels: &[u8],
    targets: &Tensor,
) -> Result<Scores> {
    let (classifier_accuracy, fid) = accuracy_and_fid(net, real_stats, images, labels)?;
    Ok(Scores {
        classifier_accuracy,
        fid,
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
        px.extend(to_pixels(&m.translate(&Pairs::batch(&test.inputs, &idx, device)?)?)?);
    }
    Tensor::new(px, &[n, 784])
}

/// How a model's training went: seconds, and the mean losses over the last tenth of the steps
/// (D's only when the model has a D).
pub struct TrainLog {
    pub seconds: f64,
    pub d_loss: Option<f64>,
    pub g_loss: f64,
}

/// `steps` training steps, each `step(idx)` on a minibatch of `batch` indices of 0..n drawn
/// without replacement by `order` (a fresh permutation whenever fewer than a batch are left).
/// A non-finite loss stops the run with an error naming `what` and the step; with `progress`,
/// five progress lines.
#[allow(clippy::too_many_arguments)]
pub fn train_steps(
    steps: usize,
    n: usize,
    batch: usize,
    order: &mut Rng,
    what: &str,
    has_d: bool,
    progress: bool,
    mut step: impl FnMut(&[usize]) -> Result<crate::train::StepStats>,
) -> Result<TrainLog> {
    let mut perm: Vec<usize> = Vec::new();
    let (mut d_tail, mut g_tail, mut tail_n) = (0.0, 0.0, 0usize);
    let tail_from = steps - (steps / 10).max(1);
    let t0 = Instant::now();
    for i in 0..steps {
        if perm.len() < batch {
            perm = order.permutation(n);
        }
        let idx: Vec<usize> = perm.split_off(perm.len() - batch.min(perm.len()));
        let s = step(&idx)?;
        if !(s.g_loss.is_finite() && s.d_loss.is_finite()) {
            return Err(Error::msg(format!(
                "{what}: non-finite loss at step {} (D {}, G {}); stopped",
                i + 1,
                s.d_loss,
                s.g_loss
            )));
        }
        if i >= tail_from {
            d_tail += s.d_loss;
            g_tail += s.g_loss;
            tail_n += 1;
        }
        if progress && (i + 1) % 100.max(steps / 5) == 0 {
            let d = if has_d { format!("D {:.4}  ", s.d_loss) } else { String::new() };
            eprintln!("{what} step {}: {d}G {:.5}", i + 1, s.g_loss);
        }
    }
    Ok(TrainLog {
        seconds: t0.elapsed().as_secs_f64(),
        d_loss: has_d.then(|| d_tail / tail_n as f64),
        g_loss: g_tail / tail_n as f64,
    })
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
    let steps = o.steps_for(Task::Pix2pix);
    let mut m = Pix2Pix::new(
        arm.objective,
        arm.patch,
        o.lambda,
        &mut Rng::new(derive_seed(seed, &format!("init/{}", arm.tag()))),
        &o.device,
    )?;
    // The same minibatches for every arm of this seed.
    let mut order = Rng::new(derive_seed(seed, "batches"));
    let what = format!("pix2pix {} seed {seed}", arm.tag());
    let log = train_steps(steps, train.len(), BATCH, &mut order, &what, arm.objective.has_gan(), o.progress, |idx| {
        m.train_step(&Pairs::batch(&train.inputs, idx, &o.device)?, &Pairs::batch(&train.targets, idx, &o.device)?)
    })?;
    let seconds = log.seconds;
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
        ("steps".to_string(), steps.to_string()),
        ("lambda".to_string(), o.lambda.to_string()),
        ("seed".to_string(), seed.to_string()),
    ]);
    let ck = o.task_dir(Task::Pix2pix).join(format!("pix2pix-{}-seed{seed}.safetensors", arm.tag()));
    minmax_engine::io::save_safetensors(&ck, &m.state_dict(), Some(meta))?;
    let run = ArmRun { seed, scores, steps, seconds, eval_seconds, final_d_loss: log.d_loss, final_g_loss: log.g_loss };
    Ok((run, out.narrow(0, 0, 8.min(n))?))
}

/// What every task shares: the data, the classifier, the first n test images (the targets) and
/// their feature statistics, and the real images' own row (the ceiling).
pub struct Setup {
    pub splits: Splits,
    pub stick: Yardstick,
    /// Test images scored per arm.
    pub n: usize,
    /// The first n test images [n, 784] in [0, 1].
    pub real_test: Tensor,
    pub real_stats: FeatureStats,
    /// The classifier on the test images themselves, and the FID of n held-out real images; no
    /// distances (they are the targets).
    pub real: Scores,
}

impl Setup {
    /// The setup of `data` (its classifier trained or loaded in `o.out`).
    pub fn new(o: &Options, data: DataChoice) -> Result<Setup> {
        let splits: Splits = data.load()?;
        let stick = yardstick(&o.out, data, &splits, o.classifier_epochs, o.progress)?;
        let n = o.samples.min(splits.test.len()).min(splits.valid.len());
        if n < 2 {
            return Err(Error::msg(format!("--samples {}: need at least 2 test images", o.samples)));
        }
        let real_test = first_images(&splits.test, n)?;
        let real_stats = FeatureStats::from_features(&stick.net.features(&real_test)?)?;
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
        Ok(Setup { splits, stick, n, real_test, real_stats, real })
    }
    /// The labels of the n test images.
    pub fn labels(&self) -> &[u8] {
        &self.splits.test.labels()[..self.n]
    }
    /// The scores of `images` ([n, 784] in [0, 1]) against the n test images.
    pub fn score(&self, images: &Tensor) -> Result<Scores> {
        score(&self.stick.net, &self.real_stats, images, self.labels(), &self.real_test)
    }
}

/// Refuse to overwrite a finished run of `task` (its report.json) unless `--overwrite`; make its folder.
fn task_folder(o: &Options, task: Task) -> Result<PathBuf> {
    let dir = o.task_dir(task);
    std::fs::create_dir_all(&dir).map_err(|e| Error::Io { path: dir.clone(), source: e })?;
    let done = dir.join("report.json");
    if done.exists() && !o.overwrite {
        return Err(Error::file(
            &done,
            "the output folder already holds a finished run; pass --overwrite to replace it, or --out to choose another folder",
        ));
    }
    Ok(dir)
}

/// Pixels `px` ([N, h·w] in [0, 1]) rows `idx` as a model batch [B, 1, h, w] in [−1, 1].
pub fn model_batch(px: &[f32], idx: &[usize], h: usize, w: usize, device: &Device) -> Result<Tensor> {
    let mut v = Vec::with_capacity(idx.len() * h * w);
    for &i in idx {
        v.extend(px[i * h * w..(i + 1) * h * w].iter().map(|p| 2.0 * p - 1.0));
    }
    Tensor::new(v, &[idx.len(), 1, h, w])?.to_device(device)
}

/// A model's output [B, 1, h, w] in [−1, 1] as pixels in [0, 1] on the CPU.
pub fn to_pixels(y: &Tensor) -> Result<Vec<f32>> {
    Ok(y.to_device(&Device::Cpu)?.to_vec::<f32>()?.iter().map(|v| (v + 1.0) / 2.0).collect())
}

/// Every task's reports, and the Markdown of all of them.
#[derive(Clone, Debug)]
pub struct LabReport {
    pub pix2pix: Option<Report>,
    pub srgan: Option<srgan::Report>,
    pub inpainting: Option<inpainting::Report>,
    pub cyclegan: Option<cyclegan::Report>,
    pub markdown: String,
}

/// Run the lab's tasks; each writes its report and pictures into `<out>/<task>/`.
pub fn run(o: &Options) -> Result<LabReport> {
    if o.tasks.is_empty() {
        return Err(Error::msg("translate: no task to run"));
    }
    std::fs::create_dir_all(&o.out).map_err(|e| Error::Io { path: o.out.clone(), source: e })?;
    // every folder checked before any work, so a refused overwrite costs nothing
    for &t in &o.tasks {
        task_folder(o, t)?;
    }
    // one setup per data set the tasks use, in task order
    let mut setups: Vec<(DataChoice, Setup)> = Vec::new();
    for &t in &o.tasks {
        let d = o.data_of(t);
        if !setups.iter().any(|(x, _)| *x == d) {
            setups.push((d, Setup::new(o, d)?));
        }
    }
    let setup = |t: Task| -> &Setup {
        &setups.iter().find(|(d, _)| *d == o.data_of(t)).expect("every task's data set has a setup").1
    };
    let mut r = LabReport { pix2pix: None, srgan: None, inpainting: None, cyclegan: None, markdown: String::new() };
    let mut parts = Vec::new();
    for &t in &o.tasks {
        let dir = task_folder(o, t)?;
        match t {
            Task::Pix2pix => {
                let p = run_pix2pix(o, setup(t), &dir)?;
                parts.push(p.markdown.clone());
                r.pix2pix = Some(p);
            }
            Task::Srgan => {
                let p = srgan::run(o, setup(t), &dir)?;
                parts.push(p.markdown.clone());
                r.srgan = Some(p);
            }
            Task::Inpainting => {
                let p = inpainting::run(o, setup(t), &dir)?;
                parts.push(p.markdown.clone());
                r.inpainting = Some(p);
            }
            Task::Cyclegan => {
                let p = cyclegan::run(o, setup(t), &dir)?;
                parts.push(p.markdown.clone());
                r.cyclegan = Some(p);
            }
        }
    }
    r.markdown = parts.join("\n");
    if o.tasks.len() > 1 {
        minmax_engine::io::write_atomic(&o.out.join("report.md"), r.markdown.as_bytes())?;
    }
    Ok(r)
}

/// pix2pix: every arm of the run, its report and pictures written into `dir`.
pub fn run_pix2pix(o: &Options, setup: &Setup, dir: &std::path::Path) -> Result<Report> {
    let load_start = load_average();
    let t0 = Instant::now();
    let Setup { splits, stick, n, real_test, real_stats, .. } = setup;
    let n = *n;
    let (train, test) = (Pairs::of(&splits.train)?, Pairs::of(&splits.test)?);
    let edges_px = Tensor::new(test.inputs[..n * 784].to_vec(), &[n, 784])?;
    let edges = setup.score(&edges_px)?;
    let mut arms = Vec::new();
    // Picture rows: the input edges, the targets, then each arm's outputs (first seed).
    let mut rows: Vec<Tensor> = vec![edges_px.narrow(0, 0, 8.min(n))?, real_test.narrow(0, 0, 8.min(n))?];
    for arm in Arm::all(o.ablation) {
        let mut runs = Vec::new();
        for (i, &seed) in o.seeds.iter().enumerate() {
            let (r, pictures) = run_arm(arm, seed, &train, &test, real_test, &stick.net, real_stats, o)?;
            if i == 0 {
                let grid = Tensor::cat(&[&rows[0], &pictures, &rows[1]], 0)?;
                let cols = pictures.shape()[0];
                crate::viz::save_png(
                    &crate::viz::image_grid(&grid, 3, cols, 28, 28, 2)?,
                    &dir.join(format!("pix2pix-{}.png", arm.tag())),
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
        &dir.join("pix2pix-all.png"),
    )?;
    let mut r = Report {
        train_size: train.len(),
        test_size: test.len(),
        eval_n: n,
        classifier_path: stick.path.clone(),
        classifier_epochs: stick.epochs,
        classifier_test_accuracy: stick.test_accuracy,
        classifier_train_seconds: stick.train_seconds,
        real: setup.real.clone(),
        edges,
        arms,
        wall_seconds: t0.elapsed().as_secs_f64(),
        cpu_seconds: cpu_seconds(),
        load_start,
        load_end: load_average(),
        markdown: String::new(),
    };
    r.markdown = markdown(&r, o);
    crate::experiments::write_report(dir, &r.markdown, &json(&r, o))?;
    Ok(r)
}

// ---- Orderings: what a paper reports, checked here ----------------------------------------------

/// "better" ahead of "worse" on one score: with two or more seeds, "holds" or "reversed" only when
/// the difference is more than twice its standard error, else "within noise"; with one seed, the
/// order of the two numbers, marked as one seed's.
pub fn verdict(ours: (f64, f64), se: (f64, f64), seeds: usize, higher_is_better: bool) -> &'static str {
    let (a, b) = if higher_is_better { ours } else { (-ours.0, -ours.1) };
    if seeds < 2 {
        return if a > b { "holds (one seed)" } else { "reversed (one seed)" };
    }
    let se = (se.0.powi(2) + se.1.powi(2)).sqrt();
    if a - b > 2.0 * se {
        "holds"
    } else if b - a > 2.0 * se {
        "reversed"
    } else {
        "within noise"
    }
}

/// One ordering of the SRGAN and inpainting tasks: `better` scores ahead of `worse` on `metric`.
#[derive(Clone, Debug)]
pub struct Ordering {
    pub what: String,
    pub better: String,
    pub worse: String,
    pub metric: &'static str,
    pub higher_is_better: bool,
    /// The paper's numbers for the two, and what they measure; None where the paper reports
    /// the point without a number.
    pub paper: Option<(f64, f64)>,
    pub paper_metric: &'static str,
    pub ours: (f64, f64),
    pub ours_se: (f64, f64),
    pub seeds: usize,
}

impl Ordering {
    pub fn verdict(&self) -> &'static str {
        verdict(self.ours, self.ours_se, self.seeds, self.higher_is_better)
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "what": self.what, "better": self.better, "worse": self.worse, "metric": self.metric,
            "higher_is_better": self.higher_is_better,
            "paper": self.paper.map(|p| serde_json::json!({"values": [p.0, p.1], "metric": self.paper_metric})),
            "ours": [self.ours.0, self.ours.1], "ours_se": [self.ours_se.0, self.ours_se.1],
            "verdict": self.verdict(),
        })
    }
}

/// The orderings as a Markdown table with a closing count.
pub fn orderings_markdown(list: &[Ordering]) -> String {
    let mut s = String::from("| ordering | paper | ours | here |\n|---|---|---|---|\n");
    let digits = |m: &str| if m == "SSIM" { 4 } else { 2 };
    for c in list {
        let d = digits(c.metric);
        let pd = digits(c.paper_metric);
        let paper = c
            .paper
            .map_or(format!("— ({})", c.paper_metric), |(a, b)| format!("{a:.pd$} vs {b:.pd$} ({})", c.paper_metric));
        let v = c.verdict();
        s.push_str(&format!(
            "| {}: {} vs {} | {paper} | {:.*} vs {:.*} ({}) | {} |\n",
            c.what,
            c.better,
            c.worse,
            d,
            c.ours.0,
            d,
            c.ours.1,
            c.metric,
            if v.starts_with("holds") { v.to_string() } else { format!("**{v}**") }
        ));
    }
    let held = list.iter().filter(|c| c.verdict().starts_with("holds")).count();
    let seeds = list.first().map_or(1, |c| c.seeds);
    s.push_str(&format!(
        "\n{held} of {} orderings hold{}. Where one does not, this run does not reproduce the paper on that point.\n\n",
        list.len(),
        if seeds > 1 {
            " (a difference counts when it exceeds twice its standard error over the seeds)"
        } else {
            " (one seed: a small difference may be seed-to-seed noise; run --seeds 3)"
        }
    ));
    s
}
