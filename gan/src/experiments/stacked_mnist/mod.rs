//! The Stacked-MNIST lab (`minmax lab stacked-mnist`): mode collapse on images. Each image has
//! three MNIST digits as its channels, so the data has 1,000 modes (the digit triples); a
//! generator's samples are counted by classifying every channel with the project's MNIST
//! classifier (`metrics::stacked`). The benchmark of the unrolled GAN, VEEGAN and PacGAN papers.
//!
//! For every (model, seed) the lab trains a DCGAN-family model from `models::images::stacked` on
//! stacked training digits drawn on the fly, then draws 26,000 samples and reports modes covered
//! and KL(p̂ ‖ U₁₀₀₀), mean ± standard error over seeds, beside the same numbers for 26,000
//! stacked *test* digits (the floor a perfect generator reaches) and the published rows. Models:
//! `dcgan`, `pacdcgan2`–`pacdcgan4` (D on packs of m), and any of them with a weaker D, e.g.
//! `dcgan-d16` (D's widths a quarter of DCGAN's 64 / 128: PacGAN's D-capacity experiment, where
//! collapse is strongest).
//!
//! Runs go one after another: the conv nets use both cores through the engine's own threads.
//! Written to `--out` (default `runs/stacked-mnist`): `report.md`, `report.json`,
//! `<model>-samples.png` (64 samples of seed 0) and `real-samples.png`.

use std::path::PathBuf;
use std::time::Instant;

use minmax_engine::{Device, Error, Generator as Rng, Result, Tensor};

use crate::data::{load_mnist, stacked_mnist, MnistSource};
use crate::metrics::stacked::{stacked_modes, StackedModes, SAMPLES};
use crate::metrics::stats::mean_se;
use crate::models::images::stacked::StackedGan;
use crate::train::Gan;

mod args;
pub use args::*;
mod report;
pub use report::*;

/// Training steps per run unless `--steps` says otherwise (a stated budget: PacGAN's code trains
/// 50 epochs of 2,000 minibatches, 100,000 steps, which at this lab's measured 0.11–0.15 s per step would take 3–4 hours per run).
pub const STEPS: usize = 3000;
/// Steps of `--quick`.
pub const QUICK_STEPS: usize = 300;
/// Packs per step (the papers' minibatch of 64; PacGAN: 64 packs of m images).
pub const BATCH: usize = 64;
/// Noise dimension.
pub const Z_DIM: usize = 100;
/// The models of `--model all`.
pub const DEFAULT_MODELS: [&str; 4] = ["dcgan", "pacdcgan2", "dcgan-d16", "pacdcgan2-d16"];

#[derive(Clone, Debug)]
pub struct Options {
    pub models: Vec<String>,
    pub seeds: usize,
    pub steps: usize,
    pub batch: usize,
    /// Samples counted per run (26,000 in the papers).
    pub samples: usize,
    pub data: MnistSource,
    pub out: PathBuf,
    pub progress: bool,
    pub device: Device,
}

/// A model name → (pack size m, D's width W): `dcgan` (1, 64), `pacdcgan3` (3, 64), `dcgan-d16`
/// (1, 16).
pub fn parse_model(name: &str) -> Result<(usize, usize)> {
    let bad = || {
        Error::msg(format!(
            "--model: unknown model '{name}' (expected dcgan or pacdcgan2–pacdcgan4, optionally with -dW for D's width W, e.g. dcgan-d16)"
        ))
    };
    let (base, width) = match name.split_once("-d") {
        Some((b, w)) => (b, w.parse::<usize>().map_err(|_| bad())?),
        None => (name, 64),
    };
    if !(4..=256).contains(&width) {
        return Err(Error::msg(format!("--model {name}: D's width {width} must be 4 to 256")));
    }
    let pack = match base {
        "dcgan" => 1,
        _ => match base.strip_prefix("pacdcgan").and_then(|m| m.parse::<usize>().ok()) {
            Some(m @ 2..=4) => m,
            _ => return Err(bad()),
        },
    };
    Ok((pack, width))
}

/// One training run's outcome.
pub struct RunResult {
    pub model: String,
    pub seed: u64,
    pub steps: usize,
    pub modes: StackedModes,
    pub seconds: f64,
    /// Seed 0 only: 64 samples [64, 3, 28, 28].
    pub preview: Option<Tensor>,
}

/// Mean ± standard error over seeds of one model.
pub struct Summary {
    pub model: String,
    pub seeds: usize,
    pub steps: usize,
    pub modes: (f64, f64),
    pub kl: (f64, f64),
    pub seconds_per_run: f64,
}

/// The seed of every draw of one run: distinct per (model, seed).
fn run_seed(model: &str, seed: u64) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325; // FNV-1a
    for b in model.bytes() {
        h = (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^ seed.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// Train `model` for `o.steps` steps on stacked digits of `train` and count its samples' modes
/// with `classify`.
pub fn run_one(
    model: &str,
    seed: u64,
    train: &crate::data::Dataset,
    classify: &dyn Fn(&Tensor) -> Result<Vec<usize>>,
    o: &Options,
) -> Result<RunResult> {
    let t0 = Instant::now();
    let (pack, width) = parse_model(model)?;
    let mut rng = Rng::new(run_seed(model, seed));
    let mut init = rng.fork();
    let mut data_rng = rng.fork();
    let mut eval_rng = rng.fork();
    let mut gan = StackedGan::new(pack, width, Z_DIM, &mut init, &o.device)?;
    for step in 0..o.steps {
        let (x, _) = stacked_mnist::draw(train, o.batch * pack, &mut data_rng)?; // [B·m, 3, 28, 28]
        let x = x.affine(2.0, -1.0)?.to_device(&o.device)?; // [−1, 1]
        let s = gan.train_step(&x, &mut rng)?;
        if !(s.d_loss.is_finite() && s.g_loss.is_finite()) {
            return Err(Error::msg(format!(
                "{model}, seed {seed}: training diverged at step {step} (D loss {}, G loss {})",
                s.d_loss, s.g_loss
            )));
        }
        if o.progress && (step + 1) % 500 == 0 {
            eprintln!(
                "{model} seed {seed} step {}/{}: D loss {:.3}  G loss {:.3}  D(x) {:.3}  D(G(z)) {:.3}",
                step + 1,
                o.steps,
                s.d_loss,
                s.g_loss,
                s.d_real,
                s.d_fake
            );
        }
    }
    let samples = gan.sample(o.samples, &mut eval_rng)?; // [N, 3, 28, 28] in [0, 1]
    let modes = stacked_modes(&samples, classify)?;
    let preview = (seed == 0).then(|| samples.narrow(0, 0, 64.min(o.samples))).transpose()?;
    Ok(RunResult {
        model: model.to_string(),
        seed,
        steps: o.steps,
        modes,
        seconds: t0.elapsed().as_secs_f64(),
        preview,
    })
}

pub fn summarise(results: &[RunResult], o: &Options) -> Vec<Summary> {
    o.models
        .iter()
        .filter_map(|m| {
            let rs: Vec<&RunResult> = results.iter().filter(|r| &r.model == m).collect();
            if rs.is_empty() {
                return None;
            }
            let f = |g: &dyn Fn(&StackedModes) -> f64| mean_se(&rs.iter().map(|r| g(&r.modes)).collect::<Vec<_>>());
            Some(Summary {
                model: m.clone(),
                seeds: rs.len(),
                steps: rs[0].steps,
                modes: f(&|s| s.modes_covered as f64),
                kl: f(&|s| s.kl),
                seconds_per_run: rs.iter().map(|r| r.seconds).sum::<f64>() / rs.len() as f64,
            })
        })
        .collect()
}

/// Run the lab and write the report and pictures into `o.out`; returns the Markdown report.
pub fn run(o: &Options) -> Result<String> {
    for m in &o.models {
        parse_model(m)?;
    }
    std::fs::create_dir_all(&o.out).map_err(|e| Error::Io { path: o.out.clone(), source: e })?;
    let t0 = Instant::now();
    let splits = load_mnist(&o.data)?;
    let stick = crate::experiments::goodfellow2014::scores::yardstick(&splits, o.progress)?;
    let classify = |d: &Tensor| stick.net.predict(d);
    // The floor: stacked test digits, counted the same way.
    let (real, true_modes) = stacked_mnist::draw(&splits.test, o.samples, &mut Rng::new(0x5eed))?;
    let predicted = crate::metrics::stacked::modes_of(&real, classify)?; // each channel classified once
    let floor = crate::metrics::stacked::from_modes(&predicted)?;
    let mode_accuracy =
        predicted.iter().zip(&true_modes).filter(|(p, t)| p == t).count() as f64 / true_modes.len().max(1) as f64;
    crate::viz::save_png(
        &crate::viz::rgb_grid(&real.narrow(0, 0, 64.min(o.samples))?, 8, 8, 2)?,
        &o.out.join("real-samples.png"),
    )?;
    let mut results = Vec::new();
    for m in &o.models {
        for seed in 0..o.seeds as u64 {
            let r = run_one(m, seed, &splits.train, &classify, o)?;
            if o.progress {
                eprintln!(
                    "[{:>5.0} s] {m}, seed {seed}: {} of 1000 modes, KL {:.3} ({:.0} s)",
                    t0.elapsed().as_secs_f64(),
                    r.modes.modes_covered,
                    r.modes.kl,
                    r.seconds
                );
            }
            if let Some(p) = &r.preview {
                crate::viz::save_png(&crate::viz::rgb_grid(p, 8, 8, 2)?, &o.out.join(format!("{m}-samples.png")))?;
            }
            results.push(r);
        }
    }
    let sums = summarise(&results, o);
    let ctx = Context {
        floor,
        mode_accuracy,
        classifier_accuracy: stick.test_accuracy,
        classifier_path: stick.path.clone(),
        train_digits: splits.train.len(),
        test_digits: splits.test.len(),
        wall_seconds: t0.elapsed().as_secs_f64(),
    };
    let md = markdown(&sums, o, &ctx);
    crate::experiments::write_report(&o.out, &md, &json(&results, &sums, o, &ctx))?;
    Ok(md)
}

/// Samples of the papers' count, for a run whose `--samples` is not given.
pub const DEFAULT_SAMPLES: usize = SAMPLES;
