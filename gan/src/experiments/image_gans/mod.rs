//! The image-GAN lab: train the convolutional GANs of `images/` on MNIST and Fashion-MNIST and
//! score them during training with the classifier-based metrics of `metrics/`, next to the score
//! real images get.
//!
//! Per data set:
//!
//! 1. the yardstick: the small classifier of `crate::metrics::classifier`, trained once on the training
//!    split (or loaded from `<out>/classifier-<dataset>.safetensors`), and its test accuracy;
//! 2. the floor: held-out real images (the validation split, never seen by any GAN) scored against
//!    the test images with the same metrics and the same n — what a perfect generator would get;
//! 3. per model: `--steps` minibatches of 64, and every `--eval-every` steps n generated images
//!    scored against n test images: FID on the classifier's 128 penultimate features, Inception
//!    Score (10 splits), precision and recall (k = 3, on the same features) and class coverage.
//!
//! n = `--samples`, capped at the size of the test and held-out splits (1,000 each for the MNIST
//! 10k subset), so every number in one table comes from the same n: FID in particular is biased
//! upwards for small n and compares only at equal n.
//!
//! Written to `--out` (default `runs/lab-images`): `report.md`, `report.json`, and per data set
//! `<dataset>-<model>-samples.png` (8×8; the conditional model one row per class),
//! `<dataset>-<model>-losses.png`, `<dataset>-metrics.png` (FID over training, every model and
//! the real-data floor) and the trained `<dataset>-<model>.safetensors`.
//!
//! Left out: the Inception network (the classifier stands in for it, so numbers compare runs of
//! this project, not papers), several seeds per model, and model selection on the validation split.

use std::path::{Path, PathBuf};
use std::time::Instant;

use minmax_engine::{Device, Error, Generator as Rng, Result, Tensor};

use super::mode_collapse::{cpu_seconds, load_average};
use crate::data::{load_mnist, Dataset, MnistSource, Splits};
use crate::metrics::classifier::{self, Classifier, ClassifierConfig};
use crate::metrics::coverage::share_threshold;
use crate::metrics::{self, FeatureStats};
use crate::models::images::{self, ImageGan, LogPoint, Model, TrainOptions};

mod report;
pub use report::*;
mod args;
pub use args::*;
mod scoring;
pub use scoring::*;

/// Noise dimension of every model (the papers' 100).
pub const Z_DIM: usize = 100;
/// Minibatch size of GAN training.
pub const BATCH: usize = 64;
/// Splits of the Inception Score.
pub const IS_SPLITS: usize = 10;
/// Neighbourhood size of precision and recall (Kynkäänniemi et al. 2019).
pub const PR_K: usize = metrics::precision_recall::DEFAULT_K;
/// A class is covered when it holds at least this fraction of a uniform share n/10 of the samples.
pub const COVERAGE_SHARE: f64 = 0.1;
/// Seed of the classifier's weights and shuffling: the yardstick is the same network whatever
/// `--seed` is, so runs with different seeds are measured alike.
pub const CLASSIFIER_SEED: u64 = 0;

// =================================================================================================
// Data sets, models, devices and seeds from the command line
// =================================================================================================

/// The data sets the labs know.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataChoice {
    /// The MNIST 10k subset: 8,000 train / 1,000 validation / 1,000 test.
    Mnist,
    /// Fashion-MNIST: 50,000 train / 10,000 validation / 10,000 test.
    Fashion,
}

impl DataChoice {
    pub fn parse(s: &str) -> Result<DataChoice> {
        match s.trim() {
            "mnist" => Ok(DataChoice::Mnist),
            "fashion" => Ok(DataChoice::Fashion),
            other => Err(Error::msg(format!("--dataset: unknown data set '{other}' (expected mnist or fashion)"))),
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            DataChoice::Mnist => "mnist",
            DataChoice::Fashion => "fashion",
        }
    }
    /// The data set in words, for reports.
    pub fn describe(self) -> &'static str {
        match self {
            DataChoice::Mnist => "MNIST (the 10k subset)",
            DataChoice::Fashion => "Fashion-MNIST",
        }
    }
    pub fn source(self) -> MnistSource {
        match self {
            DataChoice::Mnist => MnistSource::subset10k(),
            DataChoice::Fashion => MnistSource::fashion(),
        }
    }
    /// Train / validation / test splits (see `data::mnist`).
    pub fn load(self) -> Result<Splits> {
        load_mnist(&self.source())
    }
}

/// `--dataset`: mnist, fashion, a comma-separated list, or both.
pub fn parse_datasets(s: &str) -> Result<Vec<DataChoice>> {
    if s.trim() == "both" {
        return Ok(vec![DataChoice::Mnist, DataChoice::Fashion]);
    }
    let mut v = Vec::new();
    for d in s.split(',') {
        let d = DataChoice::parse(d).map_err(|_| {
            Error::msg(format!("--dataset: unknown data set '{}' (expected mnist, fashion or both)", d.trim()))
        })?;
        if !v.contains(&d) {
            v.push(d);
        }
    }
    Ok(v)
}

/// `--model`: a comma-separated list of dcgan, conditional-dcgan, loss-sensitive, wgan-gp (or all).
pub fn parse_models(s: &str) -> Result<Vec<Model>> {
    if s.trim() == "all" {
        return Ok(Model::ALL.to_vec());
    }
    let mut v = Vec::new();
    for m in s.split(',') {
        let m = Model::parse(m.trim()).map_err(|e| Error::msg(format!("--model: {e}")))?;
        if !v.contains(&m) {
            v.push(m);
        }
    }
    Ok(v)
}

/// A seed for one purpose (`tag`), derived from the run's `--seed`: distinct per tag, stable
/// across runs.
pub fn derive_seed(seed: u64, tag: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325; // FNV-1a
    for b in tag.bytes() {
        h = (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^ seed.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

// =================================================================================================
// Options and runs
// =================================================================================================

#[derive(Clone, Debug)]
pub struct Options {
    pub datasets: Vec<DataChoice>,
    pub models: Vec<Model>,
    pub steps: usize,
    pub eval_every: usize,
    /// Images per evaluation, on each side (capped at the test and held-out split sizes).
    pub samples: usize,
    pub seed: u64,
    pub device: Device,
    pub out: PathBuf,
    pub classifier_epochs: usize,
    /// Loss curves are means over this many steps (printed as they come with `progress`).
    pub log_every: usize,
    pub progress: bool,
    pub quick: bool,
}

/// One model trained on one data set.
#[derive(Clone, Debug)]
pub struct ModelRun {
    pub model: Model,
    pub steps: usize,
    /// Updates of D (the critic) and of G in those steps: WGAN-GP's G gets one per n_critic steps.
    pub d_updates: usize,
    pub g_updates: usize,
    /// The scores at every evaluation, the last one at the final step.
    pub history: Vec<Scores>,
    pub losses: Vec<LogPoint>,
    /// Wall seconds of training, not counting evaluation.
    pub train_seconds: f64,
    pub eval_seconds: f64,
}

impl ModelRun {
    pub fn last(&self) -> Option<&Scores> {
        self.history.last()
    }
}

/// Everything measured on one data set.
#[derive(Clone, Debug)]
pub struct DatasetRun {
    pub data: DataChoice,
    pub train_size: usize,
    pub heldout_size: usize,
    pub test_size: usize,
    pub classifier_path: PathBuf,
    pub classifier_epochs: usize,
    pub classifier_accuracy: f64,
    pub classifier_train_seconds: Option<f64>,
    /// n of every score below.
    pub eval_n: usize,
    /// Held-out real images against the test images.
    pub reference: Scores,
    pub models: Vec<ModelRun>,
}

/// The whole lab.
#[derive(Clone, Debug)]
pub struct Report {
    pub datasets: Vec<DatasetRun>,
    pub wall_seconds: f64,
    pub cpu_seconds: Option<f64>,
    pub load_start: Option<f64>,
    pub load_end: Option<f64>,
    pub markdown: String,
}

/// The steps at which `run_model` evaluates: every `every` steps and the last.
pub fn eval_steps(steps: usize, every: usize) -> Vec<usize> {
    let mut v: Vec<usize> = (1..=steps).filter(|s| s % every.max(1) == 0).collect();
    if v.last() != Some(&steps) {
        v.push(steps);
    }
    v
}

/// Means of per-step log points over windows of `every` steps (the last window may be shorter).
pub fn rebin(log: &[LogPoint], every: usize) -> Vec<LogPoint> {
    log.chunks(every.max(1))
        .map(|c| {
            let k = c.len() as f64;
            let mean = |f: fn(&LogPoint) -> f64| c.iter().map(f).sum::<f64>() / k;
            LogPoint {
                step: c[c.len() - 1].step,
                stats: crate::train::StepStats {
                    d_loss: mean(|p| p.stats.d_loss),
                    g_loss: mean(|p| p.stats.g_loss),
                    d_real: mean(|p| p.stats.d_real),
                    d_fake: mean(|p| p.stats.d_fake),
                },
            }
        })
        .collect()
}

/// Train `model` on `splits.train` and score it during training; writes its pictures and
/// checkpoint into `o.out`.
pub fn run_model(model: Model, data: DataChoice, splits: &Splits, scorer: &Scorer, o: &Options) -> Result<ModelRun> {
    let tag = format!("{}/{}", data.name(), model.name());
    let mut gan = model.build(Z_DIM, &mut Rng::new(derive_seed(o.seed, &format!("init/{tag}"))), &o.device)?;
    let eval_seed = derive_seed(o.seed, &format!("eval/{tag}"));
    let at = eval_steps(o.steps, o.eval_every);
    let mut history = Vec::new();
    let mut eval_seconds = 0.0;
    let topts = TrainOptions {
        steps: o.steps,
        batch: BATCH,
        seed: derive_seed(o.seed, &format!("train/{tag}")),
        device: o.device.clone(),
        log_every: if o.progress { o.log_every } else { 0 },
    };
    let t0 = Instant::now();
    let losses = images::train(gan.as_mut(), &splits.train, &topts, |step, g| {
        if !at.contains(&step) {
            return Ok(());
        }
        let te = Instant::now();
        // The same noise at every evaluation, so the curve follows one set of codes.
        let x = draw(g, scorer.n, &mut Rng::new(eval_seed))?;
        let s = scorer.score(&x, step)?;
        eval_seconds += te.elapsed().as_secs_f64();
        if o.progress {
            eprintln!(
                "{tag} step {step}: FID {:.2}  IS {:.2}  precision {:.3}  recall {:.3}  classes {}",
                s.fid, s.is_mean, s.precision, s.recall, s.classes_covered
            );
        }
        history.push(s);
        Ok(())
    })?;
    let train_seconds = t0.elapsed().as_secs_f64() - eval_seconds;
    // Without progress lines `train` logs every step: average them over windows as it would.
    let losses = if o.progress { losses } else { rebin(&losses, o.log_every) };

    // Pictures and the checkpoint.
    let stem = format!("{}-{}", data.name(), model.name());
    let mut rng = Rng::new(derive_seed(o.seed, &format!("grid/{tag}")));
    let grid = if gan.classes() > 0 {
        let k = gan.classes();
        let labels = Tensor::new((0..k * 8).map(|i| (i / 8) as i64).collect::<Vec<i64>>(), &[k * 8])?;
        let x = images::sample(gan.as_ref(), k * 8, Some(&labels), &mut rng)?;
        crate::viz::image_grid(&x, k, 8, 28, 28, 2)?
    } else {
        crate::viz::image_grid(&images::sample(gan.as_ref(), 64, None, &mut rng)?, 8, 8, 28, 28, 2)?
    };
    crate::viz::save_png(&grid, &o.out.join(format!("{stem}-samples.png")))?;
    let pts = |f: fn(&LogPoint) -> f64| losses.iter().map(|p| (p.step as f64, f(p))).collect::<Vec<_>>();
    crate::viz::line_plot(
        &o.out.join(format!("{stem}-losses.png")),
        &format!("{} on {}: losses (means over {} steps)", model.name(), data.describe(), o.log_every.max(1)),
        "step",
        "loss",
        &[("D loss", pts(|p| p.stats.d_loss)), ("G loss", pts(|p| p.stats.g_loss))],
    )?;
    images::save(gan.as_ref(), &o.out.join(format!("{stem}.safetensors")))?;
    let (d_updates, g_updates) = images::updates(gan.as_ref(), o.steps);
    Ok(ModelRun { model, steps: o.steps, d_updates, g_updates, history, losses, train_seconds, eval_seconds })
}

/// Everything on one data set: yardstick, floor, then every model.
pub fn run_dataset(data: DataChoice, o: &Options) -> Result<DatasetRun> {
    let splits = data.load()?;
    let stick = yardstick(&o.out, data, &splits, o.classifier_epochs, o.progress)?;
    let n = o.samples.min(splits.test.len()).min(splits.valid.len());
    if n < 2 * IS_SPLITS || n <= PR_K {
        return Err(Error::msg(format!(
            "--samples {}: {} has {} test and {} held-out images; need at least {} on each side",
            o.samples,
            data.describe(),
            splits.test.len(),
            splits.valid.len(),
            2 * IS_SPLITS
        )));
    }
    if n < o.samples && o.progress {
        eprintln!(
            "{}: scoring {n} images per side (the test and held-out splits hold {} and {})",
            data.name(),
            splits.test.len(),
            splits.valid.len()
        );
    }
    let scorer = Scorer::new(&stick.net, &splits.test, n)?;
    let reference = scorer.score(&first_images(&splits.valid, n)?, 0)?;
    if o.progress {
        eprintln!(
            "{}: real vs real: FID {:.2}  IS {:.2}  precision {:.3}  recall {:.3}",
            data.name(),
            reference.fid,
            reference.is_mean,
            reference.precision,
            reference.recall
        );
    }
    let mut models = Vec::new();
    for &m in &o.models {
        models.push(run_model(m, data, &splits, &scorer, o)?);
    }
    let series: Vec<(String, Vec<(f64, f64)>)> = models
        .iter()
        .map(|r| (r.model.name().to_string(), r.history.iter().map(|s| (s.step as f64, s.fid)).collect()))
        .chain(std::iter::once((
            "real vs real (floor)".to_string(),
            vec![(0.0, reference.fid), (o.steps as f64, reference.fid)],
        )))
        .collect();
    let series: Vec<(&str, Vec<(f64, f64)>)> = series.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    crate::viz::line_plot(
        &o.out.join(format!("{}-metrics.png", data.name())),
        &format!("{}: FID over training (n = {n})", data.describe()),
        "step",
        "FID",
        &series,
    )?;
    Ok(DatasetRun {
        data,
        train_size: splits.train.len(),
        heldout_size: splits.valid.len(),
        test_size: splits.test.len(),
        classifier_path: stick.path,
        classifier_epochs: stick.epochs,
        classifier_accuracy: stick.test_accuracy,
        classifier_train_seconds: stick.train_seconds,
        eval_n: n,
        reference,
        models,
    })
}

/// Run the lab and write the report and pictures into `o.out`.
pub fn run(o: &Options) -> Result<Report> {
    std::fs::create_dir_all(&o.out).map_err(|e| Error::Io { path: o.out.clone(), source: e })?;
    let load_start = load_average();
    let t0 = Instant::now();
    let mut datasets = Vec::new();
    for &d in &o.datasets {
        datasets.push(run_dataset(d, o)?);
    }
    let mut r = Report {
        datasets,
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
