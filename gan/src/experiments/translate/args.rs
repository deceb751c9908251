//! `minmax lab translate`: the flags, checked and turned into [`Options`](super::Options), and the
//! entry point.

use super::*;

/// `minmax lab translate`
#[derive(clap::Args, Clone, Debug)]
pub struct Args {
    /// The task: pix2pix (edges → image), srgan (×4 super-resolution; ×2 too with --ablation),
    /// inpainting (the context encoder on a centre hole), cyclegan (handwritten ↔ printed digits,
    /// unpaired; always on MNIST, whatever --dataset says), or all four.
    #[arg(long, default_value = "pix2pix")]
    pub task: String,
    /// The images: fashion (Fashion-MNIST, the default) or mnist (the 10k subset: small and quick).
    #[arg(long, default_value = "fashion")]
    pub dataset: String,
    /// Every row of the papers' ablations: pix2pix's objectives and patch sizes (not only pix2pix
    /// itself), SRGAN at ×2 as well as ×4, and CycleGAN's loss ablation (cycle alone, GAN alone,
    /// GAN + forward or backward cycle, + identity).
    #[arg(long)]
    pub ablation: bool,
    /// Training steps per arm, minibatches of 64 (CycleGAN: 32 of each domain); default: pix2pix
    /// and inpainting 1500, SRGAN 250 per phase, CycleGAN 500; with --quick 100, 100, 30 and 60.
    #[arg(long)]
    pub steps: Option<usize>,
    /// Test images scored per arm (default 2000, or 500 with --quick; capped at the test split).
    #[arg(long)]
    pub samples: Option<usize>,
    /// The weight λ of the L1 term (the paper's 100).
    #[arg(long, default_value_t = crate::models::translate::pix2pix::LAMBDA)]
    pub lambda: f64,
    /// Seeds per arm: every arm trains once with each of --seed, --seed + 1, ... (mean ± s.e.).
    #[arg(long, default_value_t = 1)]
    pub seeds: usize,
    #[command(flatten)]
    pub common: crate::experiments::CommonArgs,
    /// Output folder.
    #[arg(long, default_value = "runs/lab-translate")]
    pub out: PathBuf,
    /// Replace the finished run in --out (its report and checkpoints) instead of refusing.
    #[arg(long)]
    pub overwrite: bool,
    /// A short run: few steps (see --steps), 500 test images, a 1-epoch classifier.
    #[arg(long)]
    pub quick: bool,
    /// Epochs of the classifier (default 8, or 1 with --quick).
    #[arg(long)]
    pub classifier_epochs: Option<usize>,
}

/// `--task`, checked: the tasks to run, in order.
pub fn parse_task(s: &str) -> Result<Vec<Task>> {
    match s.trim() {
        "all" => Ok(Task::ALL.to_vec()),
        t => match Task::ALL.iter().find(|k| k.name() == t) {
            Some(&k) => Ok(vec![k]),
            None => Err(Error::msg(format!(
                "--task: unknown task '{t}' (expected pix2pix, srgan, inpainting, cyclegan or all)"
            ))),
        },
    }
}

/// The options of `a`, with the defaults filled in and every flag checked.
pub fn options(a: &Args) -> Result<Options> {
    let tasks = parse_task(&a.task)?;
    let steps = a.steps.map(|s| crate::experiments::positive("--steps", s)).transpose()?;
    let samples = a.samples.unwrap_or(if a.quick { 500 } else { 2000 });
    if samples < 2 {
        return Err(Error::msg(format!("--samples {samples}: need at least 2 (FID fits a covariance)")));
    }
    let seeds = crate::experiments::positive("--seeds", a.seeds)?;
    if !(a.lambda.is_finite() && a.lambda >= 0.0) {
        return Err(Error::msg(format!("--lambda {}: must be a finite number ≥ 0", a.lambda)));
    }
    let classifier_epochs = crate::experiments::positive(
        "--classifier-epochs",
        a.classifier_epochs.unwrap_or(if a.quick {
            1
        } else {
            crate::metrics::classifier::ClassifierConfig::default().epochs
        }),
    )?;
    Ok(Options {
        tasks,
        data: DataChoice::parse(&a.dataset)?,
        ablation: a.ablation,
        steps,
        samples,
        lambda: a.lambda,
        seeds: (0..seeds as u64).map(|i| a.common.seed.wrapping_add(i)).collect(),
        device: a.common.run.device()?,
        out: a.out.clone(),
        classifier_epochs,
        progress: !a.common.run.no_progress,
        quick: a.quick,
        overwrite: a.overwrite,
    })
}

/// Entry point of `minmax lab translate`.
pub fn main(a: Args) -> Result<()> {
    let o = options(&a)?;
    crate::experiments::run_lab(&o.device, &o.out, || Ok(run(&o)?.markdown))
}
