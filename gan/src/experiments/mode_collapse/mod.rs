//! The mode-collapse lab: the vanilla GAN and its remedies on 2-D mixtures of Gaussians, scored
//! with the published metrics (VEEGAN, PacGAN), with pictures of the game as it is played.
//!
//! For every (data set, model, seed) the lab trains one toy GAN from `toy/`, draws 2,500 samples
//! and counts modes covered, % high-quality samples and the KLs to the uniform mode distribution
//! (`toy::metrics`). Seeds are averaged (mean ± standard error). For seed 0 it also keeps
//! snapshots during training — real and generated samples over D's decision surface, and the
//! histogram of samples over modes — drawn as one PNG strip per (model, data set).
//!
//! Runs are independent, so they go to a pool of worker threads (one per core); each worker runs
//! its jobs inside a one-thread rayon pool, so the engine's own threading stays out of the way
//! (these nets are too small to gain from it). Every random draw of a run comes from its seed.
//!
//! Written to `--out` (default `runs/mode-collapse`): `report.md`, `report.json`,
//! `<model>-<dataset>.png` strips, and `<model>-<dataset>.gif`: the same panel at `--frames`
//! evenly spaced iterations of seed 0, played as an animation — the game as it is played.

use std::path::PathBuf;
use std::time::Instant;

use image::RgbImage;
use minmax_engine::nn::init::Init;
use minmax_engine::{Error, Generator as Rng, Result};

use crate::metrics::modes::{hopping, mode_stats, nearest_shares, Hopping, ModeStats};
use crate::metrics::stats::mean_se;
use crate::models::toy::{lsgan, minibatch, pacgan, unrolled, vanilla, wgan_gp, Common, Mixture, ToyGan};

mod published;
pub use published::*;
mod report;
pub use report::*;
mod args;
pub use args::*;

/// The models the lab knows, in table order.
pub const MODELS: [&str; 10] = [
    "vanilla",
    "vanilla-sat",
    "lsgan",
    "minibatch",
    "wgan-gp",
    "pacgan2",
    "pacgan3",
    "pacgan4",
    "unrolled5",
    "unrolled10",
];

/// Data sets of `--dataset all`.
pub const DEFAULT_DATASETS: [&str; 2] = ["ring8", "grid25"];

pub use crate::metrics::modes::EVAL_SAMPLES;

/// Checkpoints per run at which the lab records where G's samples sit (`metrics::modes::hopping`),
/// evenly spaced, the last at the end of training; [`TRACK_SAMPLES`] samples each.
pub const TRACK_POINTS: usize = 25;
pub const TRACK_SAMPLES: usize = 500;

/// Whose setup the lab trains with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Preset {
    /// This lab's settings ([`plan`]): small nets, a large learning rate with decay. A well-tuned
    /// vanilla GAN that need not collapse.
    Minmax,
    /// PacGAN's synthetic experiments (Lin et al. 2018; their released code's `config.py` and
    /// `pacgan_task.py` for the 2-D ring and grid): G 2 → 400 → 400 → 400 → 400 → 2 with batch
    /// norm and ReLU, D with three maxout layers of 200 units × 5 pieces, weights N(0, 0.02²),
    /// Adam lr 1e-4, β = (0.8, 0.999) for both, batch 100, z ~ N(0, I₂), no learning-rate decay.
    Pacgan,
    /// The unrolled GAN paper's 2-D ring (Metz et al. 2017, §3.1 and Appendix A), where the
    /// vanilla GAN hops from mode to mode: 8 Gaussians on a circle of radius 2, σ = 0.02;
    /// z ~ N(0, I₂₅₆); G 256 → 128 → 128 → 2 with ReLU; D divides its input by 4, then one hidden
    /// layer of 128 ReLU units and a logit; every weight orthogonal with gain 0.8, biases zero;
    /// Adam lr 10⁻⁴, β = (0.5, 0.999) for both; no learning-rate decay. See [`unrolled_plan`]
    /// for what the paper does not state and what was chosen.
    Unrolled,
}

impl Preset {
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "minmax" => Ok(Preset::Minmax),
            "pacgan" => Ok(Preset::Pacgan),
            "unrolled" => Ok(Preset::Unrolled),
            _ => Err(Error::msg(format!("--preset: '{s}' is not a preset (expected minmax, pacgan or unrolled)"))),
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Preset::Minmax => "minmax",
            Preset::Pacgan => "pacgan",
            Preset::Unrolled => "unrolled",
        }
    }
    /// `--dataset all` under this preset.
    pub fn datasets(self) -> &'static [&'static str] {
        match self {
            Preset::Minmax => &DEFAULT_DATASETS,
            Preset::Pacgan => &["ring8-pac", "grid25"],
            Preset::Unrolled => &["ring8"],
        }
    }
    /// `--model all` under this preset: PacGAN's own table compares the GAN with PacGAN2–4; the
    /// unrolled GAN's paper compares the GAN (its minimax loss, `vanilla-sat`) with unrolled D's.
    pub fn models(self) -> &'static [&'static str] {
        match self {
            Preset::Minmax => &MODELS,
            Preset::Pacgan => &["vanilla", "pacgan2", "pacgan3", "pacgan4"],
            Preset::Unrolled => &["vanilla-sat", "vanilla", "unrolled5", "unrolled10"],
        }
    }
}

/// Iterations of `--preset pacgan` unless `--steps` says otherwise. The authors trained 400
/// epochs of 1,000 minibatches (400,000 iterations). Measured here: 18 ms per iteration for the
/// vanilla GAN and 23 ms for PacGAN2 on one core of a 2-core machine that was running another
/// job (500 iterations each), so their length would take 2–2.5 hours per run; the lab's default
/// is a stated budget of a twentieth (6–8 minutes per run). `--steps 400000` runs theirs.
pub const PACGAN_STEPS: usize = 20_000;

#[derive(Clone, Debug)]
pub struct Options {
    pub preset: Preset,
    pub datasets: Vec<String>,
    pub models: Vec<String>,
    pub seeds: usize,
    /// Training iterations for every model (default: each model's own, see [`plan`]).
    pub steps: Option<usize>,
    /// A short run: a fifth of the default iterations.
    pub quick: bool,
    pub out: PathBuf,
    /// Snapshots in each seed-0 picture strip (including the end).
    pub snapshots: usize,
    /// Frames of each seed-0 animation (including the end; 0: none).
    pub frames: usize,
    /// Worker threads (default: the number of cores).
    pub workers: Option<usize>,
    pub progress: bool,
    /// Where every model trains (each run's nets are moved there; data and noise are drawn on
    /// the CPU, so a seed gives the same draws on every device).
    pub device: minmax_engine::Device,
}

/// How one model is trained on one data set: its iterations and settings.
pub struct Plan {
    pub steps: usize,
    pub common: Common,
    /// Fraction of training after which both learning rates decay linearly to `lr_floor`.
    pub decay_from: f64,
    pub lr_floor: f64,
    /// Learning rate η of the unrolled GAN's inner SGD steps.
    pub unroll_lr: f64,
    /// WGAN-GP: penalty weight λ and critic steps per G step.
    pub gp_lambda: f64,
    pub n_critic: usize,
}

/// Parse a comma-separated `--model` list (or `all`: the preset's models).
pub fn parse_models(s: &str, preset: Preset) -> Result<Vec<String>> {
    if s == "all" {
        return Ok(preset.models().iter().map(|m| m.to_string()).collect());
    }
    let v: Vec<String> = s.split(',').map(|m| m.trim().to_string()).collect();
    for m in &v {
        if !MODELS.contains(&m.as_str()) {
            return Err(Error::msg(format!(
                "--model: unknown model '{m}' (expected all or a comma-separated list of {})",
                MODELS.join(", ")
            )));
        }
    }
    Ok(v)
}

/// Parse a comma-separated `--dataset` list (or `all`: the preset's data sets).
pub fn parse_datasets(s: &str, preset: Preset) -> Result<Vec<String>> {
    if s == "all" {
        return Ok(preset.datasets().iter().map(|m| m.to_string()).collect());
    }
    let v: Vec<String> = s.split(',').map(|m| m.trim().to_string()).collect();
    for d in &v {
        Mixture::by_name(d)?;
    }
    Ok(v)
}

/// The training settings of `model` on `mix` (`steps` overrides the iterations).
///
/// Every model shares the nets and optimizers of [`Common::default`] (G: 2 → 128 → 128 → X ReLU,
/// D: X → 128 → 128 → 1 LeakyReLU(0.2), batch 256, Adam lr 3·10⁻³ and β = (0.5, 0.9) for both,
/// both learning rates decayed linearly to 5 % over the second half of training). Iterations were
/// chosen so that the comparison of the eight other models (2 data sets × 5 seeds) costs about 17
/// CPU-minutes; the least-squares GAN adds 7 and minibatch discrimination 57 (measured: 18 and
/// 147 CPU s per ring run, 67 and 536 per grid run), so about 40 minutes of wall time on two
/// cores for all ten (estimated from those per-run times, not timed as one run):
///
/// | model | ring8, ring8-pac, mix1d | grid25 | one iteration |
/// |---|---:|---:|---|
/// | vanilla, vanilla-sat, lsgan, minibatch, pacgan2–4 | 4,000 | 16,000 | 1 D step + 1 G step (PacGAN: m× the samples; minibatch discrimination: 8× the vanilla GAN's CPU time) |
/// | wgan-gp | 1,000 | 1,000 | 5 critic steps with double backward + 1 G step |
/// | unrolled5 / unrolled10 | 600 / 300 | 600 / 300 | 1 D step + k differentiable D steps + 1 G step |
///
/// The grid needs about four times the ring's iterations before most samples land within 3σ (and
/// PacGAN, whose D judges packs, needs more than the vanilla GAN). WGAN-GP and the unrolled GAN
/// cost 5–25 times more per iteration and get fewer iterations: the report gives iterations and
/// CPU seconds beside every row, so read it as a comparison at a budget, not per step.
pub fn plan(model: &str, mix: &Mixture, steps: Option<usize>, quick: bool, preset: Preset) -> Plan {
    if preset == Preset::Unrolled {
        return unrolled_plan(steps, quick);
    }
    if preset == Preset::Pacgan {
        let hidden = |batch_norm, pieces| crate::models::toy::nets::Hidden {
            batch_norm,
            pieces,
            init: Some(Init::Normal(0.0, 0.02)),
        };
        let common = Common {
            z_dim: 2,
            g_hidden: 400,
            g_layers: 4,
            d_hidden: 200,
            d_layers: 3,
            g_extra: hidden(true, 1),
            d_extra: hidden(false, 5),
            g_act: crate::models::toy::nets::Act::Relu,
            d_act: crate::models::toy::nets::Act::Relu, // unused: maxout replaces it
            d_input_scale: 1.0,
            batch_size: 100,
            lr_g: 1e-4,
            lr_d: 1e-4,
            betas: (0.8, 0.999),
            device: minmax_engine::Device::Cpu,
        };
        return Plan {
            steps: steps.unwrap_or(if quick { PACGAN_STEPS / 20 } else { PACGAN_STEPS }).max(1),
            common,
            decay_from: 1.0,
            lr_floor: 1.0,
            unroll_lr: 0.01,
            gp_lambda: 10.0,
            n_critic: 5,
        };
    }
    let base = match model {
        "wgan-gp" => 1000,
        "unrolled5" => 600,
        "unrolled10" => 300,
        _ if mix.name == "grid25" => 16_000,
        _ => 4000,
    };
    Plan {
        steps: steps.unwrap_or(if quick { base / 5 } else { base }).max(1),
        common: Common::default(),
        decay_from: 0.5,
        lr_floor: 0.05,
        unroll_lr: 0.01,
        gp_lambda: 10.0,
        n_critic: 5,
    }
}

/// Iterations (one D step and one G step each) of `--preset unrolled` unless `--steps` says
/// otherwise.
pub const UNROLLED_STEPS: usize = 12_500;

/// `--preset unrolled` ([`Preset::Unrolled`]). The paper's alternating updates ("one step
/// consists of either G or D updating") are one D step then one G step here, so its 25,000 steps
/// of Figure 1 are [`UNROLLED_STEPS`] iterations. Chosen where the paper is silent: the batch
/// (512, as the authors' demo notebook), D's hidden width (128, as G's), Adam's β₂ and ε
/// (TensorFlow's defaults 0.999 and 10⁻⁸; ours is 10⁻⁸), and the unrolled steps, which are plain
/// SGD steps with η = `unroll_lr` (the paper differentiates through D's Adam update; see
/// `toy::unrolled`).
pub fn unrolled_plan(steps: Option<usize>, quick: bool) -> Plan {
    use crate::models::toy::nets::{Act, Hidden};
    let ortho = Hidden { init: Some(Init::Orthogonal(0.8)), ..Hidden::default() };
    let common = Common {
        z_dim: 256,
        g_hidden: 128,
        g_layers: 2,
        d_hidden: 128,
        d_layers: 1,
        g_extra: ortho,
        d_extra: ortho,
        g_act: Act::Relu,
        d_act: Act::Relu,
        d_input_scale: 0.25,
        batch_size: 512,
        lr_g: 1e-4,
        lr_d: 1e-4,
        betas: (0.5, 0.999),
        device: minmax_engine::Device::Cpu,
    };
    Plan {
        steps: steps.unwrap_or(if quick { UNROLLED_STEPS / 5 } else { UNROLLED_STEPS }).max(1),
        common,
        decay_from: 1.0,
        lr_floor: 1.0,
        unroll_lr: UNROLLED_ETA,
        gp_lambda: 10.0,
        n_critic: 5,
    }
}

/// η of the unrolled SGD steps under `--preset unrolled`.
pub const UNROLLED_ETA: f64 = 0.01;

/// Build `model` for data of dimension `x_dim` with the settings of `p`, initialised from `rng`.
pub fn build(model: &str, p: &Plan, x_dim: usize, rng: &mut Rng) -> Result<Box<dyn ToyGan>> {
    use crate::models::GeneratorLoss::*;
    let c = p.common.clone();
    Ok(match model {
        "vanilla" => Box::new(vanilla::VanillaGan::new(c, NonSaturating, x_dim, rng)?),
        "vanilla-sat" => Box::new(vanilla::VanillaGan::new(c, Saturating, x_dim, rng)?),
        "lsgan" => Box::new(lsgan::LsGan::new(c, lsgan::Codes::ZERO_ONE, x_dim, rng)?),
        "minibatch" => Box::new(minibatch::MinibatchGan::new(c, x_dim, rng)?),
        "wgan-gp" => Box::new(wgan_gp::WganGp::new(c, p.gp_lambda, p.n_critic, x_dim, rng)?),
        "pacgan2" => Box::new(pacgan::PacGan::new(c, 2, x_dim, rng)?),
        "pacgan3" => Box::new(pacgan::PacGan::new(c, 3, x_dim, rng)?),
        "pacgan4" => Box::new(pacgan::PacGan::new(c, 4, x_dim, rng)?),
        "unrolled5" => Box::new(unrolled::UnrolledGan::new(c, 5, p.unroll_lr, x_dim, rng)?),
        "unrolled10" => Box::new(unrolled::UnrolledGan::new(c, 10, p.unroll_lr, x_dim, rng)?),
        _ => return Err(Error::msg(format!("unknown model '{model}'"))),
    })
}

/// One training run's outcome.
#[derive(Clone, Debug)]
pub struct RunResult {
    pub dataset: String,
    pub model: String,
    pub seed: u64,
    pub steps: usize,
    pub stats: ModeStats,
    /// (iteration, share of samples nearest each mode) at the [`TRACK_POINTS`] checkpoints.
    pub track: Vec<(usize, Vec<f64>)>,
    pub hopping: Hopping,
    pub seconds: f64,
    /// CPU time of the run (its worker thread), if the platform tells.
    pub cpu_seconds: Option<f64>,
    pub settings: serde_json::Value,
    /// Seed 0 only: (iteration, picture panel).
    pub panels: Vec<(usize, RgbImage)>,
    /// Seed 0 only: the animation's frames, in order.
    pub frames: Vec<RgbImage>,
}

/// The seed of every draw of one run: distinct per (data set, model, seed), stable across runs.
fn run_seed(dataset: &str, model: &str, seed: u64) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325; // FNV-1a
    for b in dataset.bytes().chain([b'/']).chain(model.bytes()) {
        h = (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^ seed.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// Train and evaluate one (data set, model, seed).
pub fn run_one(dataset: &str, model: &str, seed: u64, o: &Options) -> Result<RunResult> {
    let t0 = Instant::now();
    let cpu0 = thread_cpu_seconds();
    let mix = Mixture::by_name(dataset)?;
    let mut p = plan(model, &mix, o.steps, o.quick, o.preset);
    p.common.device = o.device.clone();
    let mut rng = Rng::new(run_seed(dataset, model, seed));
    let mut init = rng.fork();
    let mut eval_rng = rng.fork();
    let mut gan = build(model, &p, mix.dim, &mut init)?;
    let snaps: Vec<usize> =
        if seed == 0 && o.snapshots > 0 { snapshot_steps(p.steps, o.snapshots) } else { Vec::new() };
    let frame_steps: Vec<usize> =
        if seed == 0 && o.frames > 0 { snapshot_steps(p.steps, o.frames) } else { Vec::new() };
    let mut track_steps: Vec<usize> =
        (1..=TRACK_POINTS).map(|i| i * p.steps / TRACK_POINTS).filter(|&s| s > 0).collect();
    track_steps.dedup(); // fewer than TRACK_POINTS iterations: fewer checkpoints
                         // Tracking draws from a stream of its own, so it moves neither training nor the evaluation.
    let mut track_rng = Rng::new(run_seed(dataset, model, seed) ^ 0x7472_6163_6b5f_7267);
    let mut track = Vec::new();
    let mut panels = Vec::new();
    let mut frames = Vec::new();
    let decay_start = (p.decay_from * p.steps as f64) as usize;
    for step in 0..p.steps {
        let (snap, frame) = (snaps.contains(&step), frame_steps.contains(&step));
        if snap || frame {
            // One panel serves both; each draws from a fork, so pictures never move the run.
            let panel = crate::viz::mode_collapse::panel(gan.as_ref(), &mix, step, &mut eval_rng.fork())?;
            if frame {
                frames.push(panel.clone());
            }
            if snap {
                panels.push((step, panel));
            }
        }
        if step >= decay_start {
            let f = (step - decay_start) as f64 / (p.steps - decay_start).max(1) as f64;
            gan.set_lr_scale(1.0 - f * (1.0 - p.lr_floor));
        }
        let s = gan.train_step(&mix, &mut rng)?;
        if !(s.d_loss.is_finite() && s.g_loss.is_finite()) {
            return Err(Error::msg(format!(
                "{model} on {dataset}, seed {seed}: training diverged at iteration {step} (D loss {}, G loss {})",
                s.d_loss, s.g_loss
            )));
        }
        if track_steps.contains(&(step + 1)) {
            let x = gan.sample(TRACK_SAMPLES, &mut track_rng)?;
            track.push((step + 1, nearest_shares(&x, &mix)?));
        }
    }
    if seed == 0 && (o.snapshots > 0 || o.frames > 0) {
        let last = crate::viz::mode_collapse::panel(gan.as_ref(), &mix, p.steps, &mut eval_rng.fork())?;
        if o.frames > 0 {
            frames.push(last.clone());
        }
        if o.snapshots > 0 {
            panels.push((p.steps, last));
        }
    }
    let samples = gan.sample(EVAL_SAMPLES, &mut eval_rng)?;
    let stats = mode_stats(&samples, &mix)?;
    let mut settings = gan.describe();
    settings["iterations"] = p.steps.into();
    settings["lr_decay"] = serde_json::json!({"from": p.decay_from, "to_fraction": p.lr_floor});
    Ok(RunResult {
        dataset: dataset.to_string(),
        model: model.to_string(),
        seed,
        steps: p.steps,
        stats,
        hopping: hopping(&track.iter().map(|(_, s)| s.clone()).collect::<Vec<_>>()),
        track,
        seconds: t0.elapsed().as_secs_f64(),
        cpu_seconds: thread_cpu_seconds().zip(cpu0).map(|(b, a)| b - a),
        settings,
        panels,
        frames,
    })
}

/// `n` snapshot iterations before the end (0 and evenly spaced); the end is added after training.
fn snapshot_steps(steps: usize, n: usize) -> Vec<usize> {
    let n = n.max(2) - 1;
    (0..n).map(|i| i * steps / n).collect()
}

/// Relative cost of one run, to start the slow ones first.
fn cost(model: &str, mix: &Mixture, o: &Options) -> f64 {
    let p = plan(model, mix, o.steps, o.quick, o.preset);
    let per = match model {
        "wgan-gp" => 4.0,
        "minibatch" => 8.0,
        "pacgan2" => 1.5,
        "pacgan3" => 2.0,
        "pacgan4" => 2.4,
        "unrolled5" => 8.0,
        "unrolled10" => 24.0,
        _ => 1.0,
    };
    per * p.steps as f64
}

/// Run every (data set, model, seed) of `o` on a pool of workers; results in table order.
pub fn run_all(o: &Options) -> Result<Vec<RunResult>> {
    let mut jobs: Vec<(String, String, u64, f64)> = Vec::new();
    for d in &o.datasets {
        let mix = Mixture::by_name(d)?;
        for m in &o.models {
            for s in 0..o.seeds as u64 {
                jobs.push((d.clone(), m.clone(), s, cost(m, &mix, o)));
            }
        }
    }
    jobs.sort_by(|a, b| b.3.total_cmp(&a.3));
    let workers = o
        .workers
        .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1))
        .clamp(1, jobs.len().max(1));
    // `workers` plain threads take the jobs from a shared counter, slowest first (a queue).
    // Each job runs on a one-thread rayon pool of its own: the engine's kernels then split their
    // work the same way whatever --workers is, so a seed gives the same bits. (Plain threads, not
    // a rayon pool: a rayon worker that waits on another pool steals more jobs meanwhile, and
    // every job would then run at once.)
    let t0 = Instant::now();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let done: Vec<Result<RunResult>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some((d, m, s, _)) = jobs.get(i) else {
                            break;
                        };
                        let job = || {
                            rayon::ThreadPoolBuilder::new()
                                .num_threads(1)
                                .build()
                                .map_err(|e| Error::msg(format!("thread pool: {e}")))
                                .and_then(|single| single.install(|| run_one(d, m, *s, o)))
                        };
                        // A panic is this job's error (the queue then stops), not a lost thread.
                        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job)).unwrap_or_else(|p| {
                            let why = p
                                .downcast_ref::<&str>()
                                .map(|s| s.to_string())
                                .or_else(|| p.downcast_ref::<String>().cloned())
                                .unwrap_or_else(|| "a panic".into());
                            Err(Error::msg(format!("{m} on {d}, seed {s}: {why}")))
                        });
                        if let (true, Ok(r)) = (o.progress, &r) {
                            eprintln!(
                                "[{:>4.0} s] {m} on {d}, seed {s}: {} / {} modes, {:.1} % HQ ({:.1} s)",
                                t0.elapsed().as_secs_f64(),
                                r.stats.modes_covered,
                                r.stats.modes_total,
                                r.stats.hq_percent,
                                r.seconds
                            );
                        }
                        let failed = r.is_err();
                        mine.push(r);
                        if failed {
                            // the others finish their current job; the error is reported below
                            next.store(jobs.len(), std::sync::atomic::Ordering::Relaxed);
                            break;
                        }
                    }
                    mine
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|_| vec![Err(Error::msg("a worker thread panicked"))]))
            .collect()
    });
    let results: Vec<RunResult> = done.into_iter().collect::<Result<_>>()?;
    let mut r = results;
    let order = |x: &RunResult| {
        (o.datasets.iter().position(|d| *d == x.dataset), o.models.iter().position(|m| *m == x.model), x.seed)
    };
    r.sort_by_key(order);
    Ok(r)
}

/// Mean ± standard error over seeds of one (data set, model).
#[derive(Clone, Debug)]
pub struct Summary {
    pub dataset: String,
    pub model: String,
    pub seeds: usize,
    pub steps: usize,
    pub modes: (f64, f64),
    pub modes_total: usize,
    pub hq: (f64, f64),
    pub kl: (f64, f64),
    pub kl_forward: (f64, f64),
    /// Over seeds: % of checkpoints collapsed, distinct modes visited while collapsed, hops.
    pub collapsed_percent: (f64, f64),
    pub modes_visited: (f64, f64),
    pub hops: (f64, f64),
    /// Wall seconds of all seeds together.
    pub seconds: f64,
    /// Mean CPU seconds per run.
    pub cpu_per_run: Option<f64>,
}

pub fn summarise(results: &[RunResult], o: &Options) -> Vec<Summary> {
    let mut out = Vec::new();
    for d in &o.datasets {
        for m in &o.models {
            let rs: Vec<&RunResult> = results.iter().filter(|r| &r.dataset == d && &r.model == m).collect();
            if rs.is_empty() {
                continue;
            }
            let f = |g: &dyn Fn(&ModeStats) -> f64| mean_se(&rs.iter().map(|r| g(&r.stats)).collect::<Vec<_>>());
            let h = |g: &dyn Fn(&Hopping) -> f64| mean_se(&rs.iter().map(|r| g(&r.hopping)).collect::<Vec<_>>());
            out.push(Summary {
                dataset: d.clone(),
                model: m.clone(),
                seeds: rs.len(),
                steps: rs[0].steps,
                modes: f(&|s| s.modes_covered as f64),
                modes_total: rs[0].stats.modes_total,
                hq: f(&|s| s.hq_percent),
                kl: f(&|s| s.kl),
                kl_forward: f(&|s| s.kl_forward),
                collapsed_percent: h(&|h| 100.0 * h.collapsed as f64 / h.checkpoints.max(1) as f64),
                modes_visited: h(&|h| h.modes_visited as f64),
                hops: h(&|h| h.hops as f64),
                seconds: rs.iter().map(|r| r.seconds).sum(),
                cpu_per_run: rs.iter().map(|r| r.cpu_seconds).sum::<Option<f64>>().map(|c| c / rs.len() as f64),
            });
        }
    }
    out
}
