//! `minmax lab stacked-mnist`: the flags, checked and turned into [`Options`](super::Options), and
//! the entry point.

use super::*;

/// `minmax lab stacked-mnist`
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Models: a comma-separated list of dcgan, pacdcgan2, pacdcgan3, pacdcgan4, each optionally
    /// with -dW for a D of width W (DCGAN's is 64; dcgan-d16 has a quarter of its filters), or
    /// all (= dcgan, pacdcgan2, dcgan-d16, pacdcgan2-d16).
    #[arg(long, default_value = "all")]
    pub model: String,
    /// Seeds per model (default 3, or 1 with --quick).
    #[arg(long)]
    pub seeds: Option<usize>,
    /// Training steps per run (default 3,000; 300 with --quick).
    #[arg(long)]
    pub steps: Option<usize>,
    /// Samples counted per run.
    #[arg(long, default_value_t = DEFAULT_SAMPLES)]
    pub samples: usize,
    /// Full MNIST (mnist) or a folder of the four MNIST IDX files; the digits are stacked from
    /// its training split, the floor row from its test split.
    #[arg(long, default_value = "mnist")]
    pub data: String,
    /// Output folder.
    #[arg(long, default_value = "runs/stacked-mnist")]
    pub out: PathBuf,
    /// A short run: 300 steps, one seed.
    #[arg(long)]
    pub quick: bool,
    #[command(flatten)]
    pub run: crate::experiments::RunArgs,
}

/// Entry point of `minmax lab stacked-mnist`.
pub fn main(a: Args) -> Result<()> {
    let seeds = crate::experiments::positive("--seeds", a.seeds.unwrap_or(if a.quick { 1 } else { 3 }))?;
    let steps = crate::experiments::positive("--steps", a.steps.unwrap_or(if a.quick { QUICK_STEPS } else { STEPS }))?;
    if !(100..=1_000_000).contains(&a.samples) {
        return Err(Error::msg(format!("--samples {}: expected 100 to 1,000,000", a.samples)));
    }
    let models: Vec<String> = if a.model == "all" {
        DEFAULT_MODELS.iter().map(|m| m.to_string()).collect()
    } else {
        a.model.split(',').map(|m| m.trim().to_string()).collect()
    };
    for m in &models {
        parse_model(m)?;
    }
    if matches!(a.data.as_str(), "mnist-10k" | "fashion") {
        return Err(Error::msg(format!(
            "--data {}: Stacked-MNIST needs full MNIST (mnist) or a folder of MNIST IDX files",
            a.data
        )));
    }
    let o = Options {
        models,
        seeds,
        steps,
        batch: BATCH,
        samples: a.samples,
        data: MnistSource::named(&a.data),
        out: a.out,
        progress: !a.run.no_progress,
        device: a.run.device()?,
    };
    crate::experiments::run_lab(&o.device, &o.out, || run(&o))
}
