//! `minmax lab generalization`: the flags, checked and turned into [`Options`](super::Options),
//! and the entry point.

use super::*;

/// `minmax lab generalization`
#[derive(clap::Args, Clone, Debug)]
pub struct Args {
    /// Data set: mnist (the 10k subset: 8,000 training images) or fashion (Fashion-MNIST: 50,000).
    #[arg(long, default_value = "mnist")]
    pub dataset: String,
    /// Training-set sizes: a comma-separated list of counts and `full` (default 100,1000,full;
    /// 100,1000 with --quick).
    #[arg(long)]
    pub sizes: Option<String>,
    /// DCGAN steps for every size (default 2000, or 150 with --quick).
    #[arg(long)]
    pub steps: Option<usize>,
    #[command(flatten)]
    pub common: crate::experiments::CommonArgs,
    /// Output folder.
    #[arg(long, default_value = "runs/lab-generalization")]
    pub out: PathBuf,
    /// A run of about two minutes: sizes 100,1000, 150 steps, 50 images per side reconstructed
    /// with 100 Adam steps and 2 restarts, no FID.
    #[arg(long)]
    pub quick: bool,
    /// Images reconstructed per side (default 200, or 50 with --quick).
    #[arg(long)]
    pub mre_images: Option<usize>,
    /// Adam steps of each latent search (default 300, or 100 with --quick).
    #[arg(long)]
    pub mre_steps: Option<usize>,
    /// Restarts of each latent search (default 3, or 2 with --quick).
    #[arg(long)]
    pub mre_restarts: Option<usize>,
    /// Generated samples of the nearest-neighbour check.
    #[arg(long, default_value_t = 1000)]
    pub memo_samples: usize,
    /// Leave out the FID against the test set (no classifier needed).
    #[arg(long)]
    pub no_fid: bool,
}

/// The options of `a`, with the defaults filled in and every flag checked.
pub fn options(a: &Args) -> Result<Options> {
    let q = a.quick;
    let positive = crate::experiments::positive;
    let sizes = parse_sizes(a.sizes.as_deref().unwrap_or(if q { "100,1000" } else { "100,1000,full" }))?;
    let memo_samples = positive("--memo-samples", a.memo_samples)?;
    if memo_samples < 2 {
        return Err(Error::msg(format!("--memo-samples {memo_samples}: need at least 2")));
    }
    Ok(Options {
        dataset: DataChoice::parse(&a.dataset)?,
        sizes,
        steps: positive("--steps", a.steps.unwrap_or(if q { 150 } else { 2000 }))?,
        seed: a.common.seed,
        device: a.common.run.device()?,
        out: a.out.clone(),
        mre_images: positive("--mre-images", a.mre_images.unwrap_or(if q { 50 } else { 200 }))?,
        reconstruct: ReconstructOptions {
            steps: positive("--mre-steps", a.mre_steps.unwrap_or(if q { 100 } else { 300 }))?,
            restarts: positive("--mre-restarts", a.mre_restarts.unwrap_or(if q { 2 } else { 3 }))?,
            ..ReconstructOptions::default()
        },
        memo_samples,
        fid: !a.no_fid && !q,
        classifier_epochs: crate::metrics::classifier::ClassifierConfig::default().epochs,
        progress: !a.common.run.no_progress,
        quick: q,
    })
}

/// Entry point of `minmax lab generalization`.
pub fn main(a: Args) -> Result<()> {
    let o = options(&a)?;
    crate::experiments::run_lab(&o.device, &o.out, || Ok(run(&o)?.markdown))
}
