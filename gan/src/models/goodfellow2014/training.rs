//! The 2014 GAN's training loop: epochs of shuffled minibatches, a checkpoint every few epochs
//! (atomic, never with non-finite weights), `--resume` that refuses other settings and continues
//! exactly — from the middle of an epoch too — Ctrl-C, and a stop on NaN that keeps the last good
//! checkpoint.

use super::*;
use crate::train::Gan as _;

/// One line of the training history (means over an epoch).
#[derive(Clone, Debug)]
pub struct EpochRecord {
    pub epoch: usize,
    pub step: u64,
    pub stats: StepStats,
    pub lr: f64,
    pub momentum: f64,
    pub seconds: f64,
}

impl EpochRecord {
    fn to_json(&self) -> serde_json::Value {
        serde_json::json!({"epoch": self.epoch, "step": self.step, "d_loss": self.stats.d_loss, "g_loss": self.stats.g_loss,
            "d_real": self.stats.d_real, "d_fake": self.stats.d_fake, "lr": self.lr, "momentum": self.momentum, "seconds": self.seconds})
    }
    fn from_json(v: &serde_json::Value) -> Option<Self> {
        let f = |k: &str| v.get(k).and_then(|x| x.as_f64());
        Some(EpochRecord {
            epoch: f("epoch")? as usize,
            step: f("step")? as u64,
            stats: StepStats { d_loss: f("d_loss")?, g_loss: f("g_loss")?, d_real: f("d_real")?, d_fake: f("d_fake")? },
            lr: f("lr")?,
            momentum: f("momentum")?,
            seconds: f("seconds")?,
        })
    }
}

pub struct TrainOptions {
    pub out: PathBuf,
    pub seed: u64,
    /// Continue from `out/checkpoint.safetensors` (which must exist and have the same settings).
    pub resume: bool,
    /// Replace a finished or started run in `out` (its outputs are deleted first).
    pub overwrite: bool,
    /// Write a checkpoint every this many epochs (and at the end).
    pub checkpoint_every: usize,
    /// Stop after this many steps in total (for smoke tests), even mid-epoch.
    pub max_steps: Option<u64>,
    /// Progress output: a bar on a terminal, else a line every few epochs.
    pub progress: bool,
    /// What the training data is (its source, split and size), stored in the checkpoint so that
    /// `--resume` on other data is refused.
    pub data: String,
}

pub fn checkpoint_path(out: &Path) -> PathBuf {
    out.join("checkpoint.safetensors")
}

/// The files a run writes into its folder (`experiments/goodfellow2014.rs` writes the evaluation's): a folder
/// holding any of them has a run in it, which is only continued (`--resume`) or replaced
/// (`--overwrite`), never mixed with a new one.
pub const RUN_FILES: &[&str] = &[
    "checkpoint.safetensors",
    "generator_selected.safetensors",
    "report.md",
    "report.json",
    "samples.npy",
    "samples.png",
    "nearest.png",
    "interpolation.png",
    "losses.png",
    "discriminator.png",
    "validation.png",
];

/// Seed of epoch `e`'s shuffling, noise and dropout: a resumed run draws exactly what an
/// uninterrupted one would have.
fn epoch_seed(seed: u64, epoch: usize) -> u64 {
    seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add((epoch as u64).wrapping_mul(0xD1B5_4A32_D192_ED03))
}

/// Where a run stopped inside an epoch (Ctrl-C, `--iterations`): enough to continue it exactly.
struct Partial {
    /// Batches of the epoch already trained on.
    batches: usize,
    /// The epoch's noise/dropout generator after them.
    rng: Rng,
    /// Sums of the step statistics so far, and their count.
    sum: StepStats,
    n: f64,
}

impl Partial {
    fn to_json(&self) -> serde_json::Value {
        let s = &self.sum;
        serde_json::json!({"batches": self.batches, "rng": self.rng.state(), "n": self.n,
            "sum": [s.d_loss, s.g_loss, s.d_real, s.d_fake]})
    }
    fn from_json(v: &serde_json::Value) -> Option<Partial> {
        let sum: Vec<f64> = v.get("sum")?.as_array()?.iter().filter_map(|x| x.as_f64()).collect();
        if sum.len() != 4 {
            return None;
        }
        Some(Partial {
            batches: v.get("batches")?.as_u64()? as usize,
            rng: Rng::from_state(v.get("rng")?.as_str()?)?,
            sum: StepStats { d_loss: sum[0], g_loss: sum[1], d_real: sum[2], d_fake: sum[3] },
            n: v.get("n")?.as_f64()?,
        })
    }
}

fn save_checkpoint(
    gan: &Gan,
    opts: &TrainOptions,
    epoch: usize,
    history: &[EpochRecord],
    partial: Option<&Partial>,
) -> Result<()> {
    let mut meta = std::collections::HashMap::from([
        ("model".to_string(), "goodfellow2014".to_string()),
        ("epoch".to_string(), epoch.to_string()),
        ("step".to_string(), gan.step.to_string()),
        ("seed".to_string(), opts.seed.to_string()),
        ("data".to_string(), opts.data.clone()),
        ("config".to_string(), gan.cfg.to_json().to_string()),
        ("history".to_string(), serde_json::Value::Array(history.iter().map(|r| r.to_json()).collect()).to_string()),
    ]);
    if let Some(p) = partial {
        meta.insert("partial_epoch".to_string(), p.to_json().to_string());
    }
    let state = gan.state_dict();
    // A checkpoint with a NaN weight would score as a fake best later: never write one.
    crate::metrics::ensure_finite_tensors(&checkpoint_path(&opts.out), &state).map_err(|e| {
        Error::msg(format!("{e}; the checkpoint of epoch {epoch} was not written, the one on disk is kept"))
    })?;
    minmax_engine::io::save_safetensors(checkpoint_path(&opts.out), &state, Some(meta))
}

/// The configuration stored in a checkpoint's metadata; the error names the file and says
/// whether the entry is missing or malformed.
pub fn checkpoint_config(path: &Path, meta: &std::collections::HashMap<String, String>) -> Result<Config> {
    let text = meta
        .get("config")
        .ok_or_else(|| Error::file(path, "no 'config' metadata: not a checkpoint written by minmax train/reproduce"))?;
    let v: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| Error::file(path, format!("the 'config' metadata is not valid JSON ({e})")))?;
    Config::from_json(&v).map_err(|e| Error::file(path, format!("the 'config' metadata is malformed: {e}")))
}

/// A GAN with the configuration a checkpoint was trained with, its weights and optimizer state
/// loaded (for `eval` and anything else that scores a saved run). Returns it with the epoch.
pub fn from_checkpoint(path: &Path, pixel_means: &[f32]) -> Result<(Gan, usize)> {
    let ck = Checkpoint::read(path)?;
    let mut gan = Gan::new(checkpoint_config(path, &ck.meta)?, pixel_means, 0)?;
    let (epoch, _) = ck.restore(&mut gan)?;
    Ok((gan, epoch))
}

/// Restore a GAN saved by `save_checkpoint`; returns the epoch it got to and the history. Every
/// tensor must be finite (a NaN weight would give fake scores downstream).
pub fn load_checkpoint(gan: &mut Gan, path: &Path) -> Result<(usize, Vec<EpochRecord>)> {
    Checkpoint::read(path)?.restore(gan)
}

/// A goodfellow2014 checkpoint read once from disk: its tensors and metadata.
struct Checkpoint<'a> {
    path: &'a Path,
    tensors: Vec<(String, Tensor)>,
    meta: std::collections::HashMap<String, String>,
}

impl<'a> Checkpoint<'a> {
    fn read(path: &'a Path) -> Result<Checkpoint<'a>> {
        let (tensors, meta) = minmax_engine::io::load_safetensors(path)?;
        if meta.get("model").map(|s| s.as_str()) != Some("goodfellow2014") {
            return Err(Error::file(
                path,
                "not a goodfellow2014 checkpoint (metadata 'model' is missing or different)",
            ));
        }
        Ok(Checkpoint { path, tensors, meta })
    }

    /// Copy the checkpoint into `gan`; returns the epoch it got to and the history.
    fn restore(&self, gan: &mut Gan) -> Result<(usize, Vec<EpochRecord>)> {
        let (path, tensors, meta) = (self.path, &self.tensors, &self.meta);
        crate::metrics::ensure_finite_tensors(path, tensors)?;
        let saved = checkpoint_config(path, meta)?;
        if saved.optimizer != gan.cfg.optimizer {
            return Err(Error::file(
                path,
                format!(
                    "the checkpoint was trained with optimizer {}, this model is set up for {}",
                    saved.optimizer.to_json(),
                    gan.cfg.optimizer.to_json()
                ),
            ));
        }
        if (saved.g_ema > 0.0) != gan.g_avg.is_some() {
            return Err(Error::file(
                path,
                format!("the checkpoint has --ema {}, this model has --ema {}", saved.g_ema, gan.cfg.g_ema),
            ));
        }
        let nets: Vec<(String, Tensor)> = minmax_engine::nn::prefixed("generator", gan.g.named_parameters())
            .into_iter()
            .chain(minmax_engine::nn::prefixed("discriminator", gan.d.named_parameters()))
            .chain(gan.g_avg.iter().flat_map(|a| minmax_engine::nn::prefixed("generator_avg", a.named_parameters())))
            .collect();
        minmax_engine::io::copy_named(path, tensors, &nets)?;
        let pick = |prefix: &str| -> Vec<(String, Tensor)> {
            tensors.iter().filter_map(|(n, t)| n.strip_prefix(prefix).map(|s| (s.to_string(), t.clone()))).collect()
        };
        gan.opt_g.load_state(&pick("opt_g.")).map_err(|e| Error::file(path, format!("G's optimizer state: {e}")))?;
        gan.opt_d.load_state(&pick("opt_d.")).map_err(|e| Error::file(path, format!("D's optimizer state: {e}")))?;
        let num = |k: &str| -> Result<u64> {
            meta.get(k)
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| Error::file(path, format!("metadata '{k}' is missing or not a number")))
        };
        gan.step = num("step")?;
        let epoch = num("epoch")? as usize;
        let history = match meta.get("history") {
            None => Vec::new(),
            Some(h) => serde_json::from_str::<serde_json::Value>(h)
                .ok()
                .and_then(|v| v.as_array().map(|a| a.iter().map(EpochRecord::from_json).collect::<Option<Vec<_>>>()))
                .flatten()
                .ok_or_else(|| Error::file(path, "the 'history' metadata is malformed"))?,
        };
        Ok((epoch, history))
    }
}

/// Refuse `--resume` from a checkpoint whose run differs from this one: the error names the
/// checkpoint and every setting that differs (changing them mid-run would silently mix two
/// experiments). A longer run (`--epochs`) is allowed: it extends the checkpoint's.
fn check_resume(ck: &Checkpoint, gan: &Gan, opts: &TrainOptions) -> Result<()> {
    let (path, meta) = (ck.path, &ck.meta);
    let saved = checkpoint_config(path, meta)?;
    let mut diffs = Vec::new();
    for ((name, was), (_, now)) in saved.resume_settings().into_iter().zip(gan.cfg.resume_settings()) {
        if was != now {
            diffs.push(format!("{name}: checkpoint {was}, now {now}"));
        }
    }
    let seed = meta.get("seed").cloned().unwrap_or_else(|| "(none)".into());
    if seed != opts.seed.to_string() {
        diffs.push(format!("seed: checkpoint {seed}, now {}", opts.seed));
    }
    if let Some(data) = meta.get("data") {
        if *data != opts.data {
            diffs.push(format!("data: checkpoint '{data}', now '{}'", opts.data));
        }
    }
    let done: usize = meta.get("epoch").and_then(|e| e.parse().ok()).unwrap_or(0);
    if gan.cfg.epochs < done {
        diffs.push(format!("epochs: the checkpoint is at epoch {done}, past --epochs {}", gan.cfg.epochs));
    }
    if diffs.is_empty() {
        return Ok(());
    }
    Err(Error::file(
        path,
        format!(
            "--resume: the checkpoint's run has other settings; use the same ones, or start a new run with \
             --overwrite or another --out:\n  {}",
            diffs.join("\n  ")
        ),
    ))
}

/// Train for `gan.cfg.epochs` epochs (or `max_steps`), checkpointing into `opts.out`.
/// A NaN or infinite loss stops training with an error; the last checkpoint written before it
/// stays as it was.
pub fn train(gan: &mut Gan, train: &Dataset, opts: &TrainOptions) -> Result<Vec<EpochRecord>> {
    train_with(gan, train, opts, |_, _| Ok(()))
}

/// `train`, calling `after_epoch(gan, record)` at the end of every complete epoch (before its
/// checkpoint): the place for validation and model selection.
///
/// A run stopped inside an epoch — by `max_steps` or by Ctrl-C ([`crate::train::interrupt`]) — writes a
/// checkpoint that records how far into the epoch it got (batches done, the epoch's random
/// generator, the partial statistics), and `--resume` continues that epoch exactly where it
/// stopped: interrupted and resumed training is bit-identical to uninterrupted training.
pub fn train_with(
    gan: &mut Gan,
    train: &Dataset,
    opts: &TrainOptions,
    mut after_epoch: impl FnMut(&Gan, &EpochRecord) -> Result<()>,
) -> Result<Vec<EpochRecord>> {
    crate::train::run_folder::prepare(&opts.out, RUN_FILES, opts.resume, opts.overwrite)?;
    let mut history = Vec::new();
    let mut first_epoch = 1;
    let mut partial: Option<Partial> = None;
    let ck = checkpoint_path(&opts.out);
    if opts.resume {
        if !ck.exists() {
            return Err(Error::file(
                &ck,
                "--resume: there is no checkpoint to continue (drop --resume to start a new run in this folder)",
            ));
        }
        let saved = Checkpoint::read(&ck)?;
        check_resume(&saved, gan, opts)?;
        let (done, h) = saved.restore(gan)?;
        history = h;
        partial = match saved.meta.get("partial_epoch") {
            None => None,
            Some(p) => Some(
                serde_json::from_str::<serde_json::Value>(p)
                    .ok()
                    .and_then(|v| Partial::from_json(&v))
                    .ok_or_else(|| Error::file(&ck, "the 'partial_epoch' metadata is malformed"))?,
            ),
        };
        if partial.is_some() {
            // The partial epoch's record is replaced by the complete one.
            history.retain(|r| r.epoch != done);
            first_epoch = done;
        } else {
            first_epoch = done + 1;
        }
        eprintln!(
            "resuming from {} at epoch {first_epoch}{} (step {})",
            ck.display(),
            partial.as_ref().map(|p| format!(", batch {}", p.batches + 1)).unwrap_or_default(),
            gan.step
        );
    }
    let steps_per_epoch = train.len().div_ceil(gan.cfg.batch_size) as u64;
    let total = opts.max_steps.unwrap_or(gan.cfg.epochs as u64 * steps_per_epoch);
    let progress = crate::train::progress::Progress::new(total, gan.step, opts.progress);
    let t0 = Instant::now();
    let mut last_good = if opts.resume { Some(first_epoch.saturating_sub(1)) } else { None };
    let mut stopped: Option<(usize, Partial, &'static str)> = None;
    for epoch in first_epoch..=gan.cfg.epochs {
        gan.start_epoch(epoch);
        let mut rng = Rng::new(epoch_seed(opts.seed, epoch));
        let mut shuffle = rng.fork();
        let (mut sum, mut n, skip) = match partial.take() {
            Some(p) => {
                rng = p.rng;
                (p.sum, p.n, p.batches)
            }
            None => (StepStats::default(), 0.0, 0),
        };
        let te = Instant::now();
        for (b, batch) in train.batches(gan.cfg.batch_size, &mut shuffle, true)?.enumerate().skip(skip) {
            let why = if opts.max_steps.is_some_and(|m| gan.step >= m) {
                Some("--iterations")
            } else if crate::train::interrupt::requested() {
                Some("interrupt")
            } else {
                None
            };
            if let Some(why) = why {
                stopped = Some((epoch, Partial { batches: b, rng: rng.clone(), sum, n }, why));
                break;
            }
            let (x, _labels) = batch?;
            let s = gan.train_step(&x, &mut rng)?;
            if ![s.d_loss, s.g_loss].iter().all(|v| v.is_finite()) {
                let keep = match last_good {
                    Some(e) => format!("the last good checkpoint ({}, epoch {e}) is kept", ck.display()),
                    None => "no checkpoint had been written yet".to_string(),
                };
                return Err(Error::msg(format!(
                    "training diverged at epoch {epoch}, step {}: D loss = {}, G loss = {}; {keep}",
                    gan.step, s.d_loss, s.g_loss
                )));
            }
            sum.d_loss += s.d_loss;
            sum.g_loss += s.g_loss;
            sum.d_real += s.d_real;
            sum.d_fake += s.d_fake;
            n += 1.0;
            progress.step(
                gan.step,
                &format!(
                    "D loss {:.3}  G loss {:.3}  D(x) {:.2}  D(G(z)) {:.2}",
                    s.d_loss, s.g_loss, s.d_real, s.d_fake
                ),
            );
        }
        if n == 0.0 {
            break;
        }
        let rec = EpochRecord {
            epoch,
            step: gan.step,
            stats: StepStats {
                d_loss: sum.d_loss / n,
                g_loss: sum.g_loss / n,
                d_real: sum.d_real / n,
                d_fake: sum.d_fake / n,
            },
            lr: gan.opt_g.lr(),
            momentum: gan.opt_g.momentum(),
            seconds: te.elapsed().as_secs_f64(),
        };
        if let Some((_, _, why)) = &stopped {
            // A partial epoch: recorded (its curves are drawn); validated when `--iterations`
            // ended the run (a resumed run scores the whole epoch again), not after Ctrl-C.
            if *why == "--iterations" {
                after_epoch(gan, &rec)?;
            }
            history.push(rec);
            break;
        }
        progress.epoch_line(&format!(
            "epoch {epoch}/{}: D loss {:.4}  G loss {:.4}  D(x) {:.3}  D(G(z)) {:.3}  lr {:.4}  momentum {:.3}",
            gan.cfg.epochs,
            rec.stats.d_loss,
            rec.stats.g_loss,
            rec.stats.d_real,
            rec.stats.d_fake,
            rec.lr,
            rec.momentum
        ));
        after_epoch(gan, &rec)?;
        history.push(rec);
        if epoch % opts.checkpoint_every.max(1) == 0 || epoch == gan.cfg.epochs {
            save_checkpoint(gan, opts, epoch, &history, None)?;
            last_good = Some(epoch);
        }
    }
    match &stopped {
        Some((epoch, p, _)) if p.batches > 0 || history.last().map(|r| r.epoch) == Some(*epoch) => {
            save_checkpoint(gan, opts, *epoch, &history, Some(p))?;
        }
        _ => {
            // Stopped on an epoch boundary, or finished: the last complete epoch must be saved.
            if let Some(last) = history.last() {
                if last_good != Some(last.epoch) {
                    save_checkpoint(gan, opts, last.epoch, &history, None)?;
                }
            }
        }
    }
    progress.finish(&format!("trained {} steps in {:.1} s", gan.step, t0.elapsed().as_secs_f64()));
    if let Some((epoch, p, "interrupt")) = &stopped {
        return Err(Error::msg(format!(
            "interrupted at epoch {epoch}, batch {} (step {}): checkpoint written to {}; run the same command \
             with --resume to continue exactly from there",
            p.batches,
            gan.step,
            ck.display()
        )));
    }
    Ok(history)
}
