//! `minmax lab images`: the flags, checked and turned into [`Options`](super::Options), and the
//! entry point.

use super::*;

/// `minmax lab images`
#[derive(clap::Args, Clone, Debug)]
pub struct Args {
    /// Data sets: mnist (the 10k subset), fashion (Fashion-MNIST), or both (default: both; mnist
    /// with --quick).
    #[arg(long)]
    pub dataset: Option<String>,
    /// Models: a comma-separated list of dcgan, conditional-dcgan, loss-sensitive, wgan-gp, or all.
    #[arg(long, default_value = "dcgan")]
    pub model: String,
    /// Training steps per model (default 3000, or 200 with --quick).
    #[arg(long)]
    pub steps: Option<usize>,
    /// Score every this many steps (default: a fifth of --steps).
    #[arg(long)]
    pub eval_every: Option<usize>,
    /// Images per evaluation on each side (default 2000, or 500 with --quick; capped at the test split).
    #[arg(long)]
    pub samples: Option<usize>,
    #[command(flatten)]
    pub common: crate::experiments::CommonArgs,
    /// Output folder.
    #[arg(long, default_value = "runs/lab-images")]
    pub out: PathBuf,
    /// A run of about two minutes: 200 steps, 500 images, a 2-epoch classifier, MNIST only.
    #[arg(long)]
    pub quick: bool,
    /// Epochs of the classifier (default 8, or 2 with --quick).
    #[arg(long)]
    pub classifier_epochs: Option<usize>,
}

/// The options of `a`, with the defaults filled in and every flag checked.
pub fn options(a: &Args) -> Result<Options> {
    let steps = a.steps.unwrap_or(if a.quick { 200 } else { 3000 });
    if steps == 0 {
        return Err(Error::msg("--steps 0: must be at least 1"));
    }
    let eval_every = a.eval_every.unwrap_or((steps / 5).max(1));
    if eval_every == 0 {
        return Err(Error::msg("--eval-every 0: must be at least 1"));
    }
    let samples = a.samples.unwrap_or(if a.quick { 500 } else { 2000 });
    if samples < 2 * IS_SPLITS {
        return Err(Error::msg(format!(
            "--samples {samples}: need at least {} (the Inception Score's {IS_SPLITS} splits)",
            2 * IS_SPLITS
        )));
    }
    let classifier_epochs = a.classifier_epochs.unwrap_or(if a.quick { 2 } else { ClassifierConfig::default().epochs });
    if classifier_epochs == 0 {
        return Err(Error::msg("--classifier-epochs 0: must be at least 1"));
    }
    let datasets = parse_datasets(a.dataset.as_deref().unwrap_or(if a.quick { "mnist" } else { "both" }))?;
    Ok(Options {
        datasets,
        models: parse_models(&a.model)?,
        steps,
        eval_every,
        samples,
        seed: a.common.seed,
        device: a.common.run.device()?,
        out: a.out.clone(),
        classifier_epochs,
        log_every: 100.min(steps),
        progress: !a.common.run.no_progress,
        quick: a.quick,
    })
}

/// Entry point of `minmax lab images`.
pub fn main(a: Args) -> Result<()> {
    let o = options(&a)?;
    crate::experiments::run_lab(&o.device, &o.out, || Ok(run(&o)?.markdown))
}
