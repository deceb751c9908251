//! `minmax lab mode-collapse`: the flags, checked and turned into [`Options`](super::Options), and
//! the entry point.

use super::*;

/// `minmax lab mode-collapse`
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Whose setup: minmax (this lab's), pacgan (PacGAN's synthetic experiments: their nets,
    /// optimiser and batch) or unrolled (the unrolled GAN paper's ring, where the GAN hops from
    /// mode to mode); the report states each in full.
    #[arg(long, default_value = "minmax")]
    pub preset: String,
    /// Data sets: ring8 (radius 2, σ 0.02), ring8-pac (radius 1, σ 0.01), grid25, mix1d, a
    /// comma-separated list, or all (= ring8,grid25; with --preset pacgan ring8-pac,grid25; with
    /// --preset unrolled ring8).
    #[arg(long, default_value = "all")]
    pub dataset: String,
    /// Models: a comma-separated list of vanilla, vanilla-sat, lsgan, minibatch, wgan-gp, pacgan2, pacgan3,
    /// pacgan4, unrolled5, unrolled10, or all (with --preset pacgan: vanilla and pacgan2–4; with
    /// --preset unrolled: vanilla-sat, vanilla, unrolled5 and unrolled10).
    #[arg(long, default_value = "all")]
    pub model: String,
    /// Seeds per configuration (default 5, or 2 with --quick).
    #[arg(long)]
    pub seeds: Option<usize>,
    /// Training iterations for every model (default: each model's own; a fifth with --quick).
    #[arg(long)]
    pub steps: Option<usize>,
    /// Output folder.
    #[arg(long, default_value = "runs/mode-collapse")]
    pub out: PathBuf,
    /// A short run (a fifth of the iterations, 2 seeds) for smoke tests.
    #[arg(long)]
    pub quick: bool,
    /// Snapshots per seed-0 picture strip (0: no pictures).
    #[arg(long, default_value_t = 6)]
    pub snapshots: usize,
    /// Frames of each seed-0 animation, <model>-<dataset>.gif (0: no animations).
    #[arg(long, default_value_t = 40)]
    pub frames: usize,
    /// Runs trained at once (default: one per core).
    #[arg(long)]
    pub workers: Option<usize>,
    #[command(flatten)]
    pub run: crate::experiments::RunArgs,
}

/// Entry point of `minmax lab mode-collapse`.
pub fn main(a: Args) -> Result<()> {
    let seeds = a.seeds.unwrap_or(if a.quick { 2 } else { 5 });
    if seeds == 0 {
        return Err(Error::msg("--seeds must be at least 1"));
    }
    if a.steps == Some(0) {
        return Err(Error::msg("--steps must be at least 1"));
    }
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    if let Some(w) = a.workers {
        if w == 0 || w > 8 * cores {
            return Err(Error::msg(format!(
                "--workers {w}: expected 1 to {} (8 per core; this machine has {cores} cores, and each worker is a thread)",
                8 * cores
            )));
        }
    }
    let preset = Preset::parse(&a.preset)?;
    let o = Options {
        preset,
        datasets: parse_datasets(&a.dataset, preset)?,
        models: parse_models(&a.model, preset)?,
        seeds,
        steps: a.steps,
        quick: a.quick,
        out: a.out,
        snapshots: a.snapshots,
        frames: a.frames,
        workers: a.workers,
        progress: !a.run.no_progress,
        device: a.run.device()?,
    };
    crate::experiments::run_lab(&o.device, &o.out, || run(&o))
}
