//! `minmax lab imbalance`: the flags, checked and turned into [`Options`](super::Options), and the
//! entry point.

use super::*;

/// `minmax lab imbalance`
#[derive(clap::Args, Clone, Debug)]
pub struct Args {
    /// Data sets: mnist (full MNIST), fashion (Fashion-MNIST) or both (default both; mnist with --quick).
    #[arg(long)]
    pub dataset: Option<String>,
    /// Training profile: lt100 (4000 … 40 per class, ratio 100), lt10 (ratio 10) or bagan-gp.
    #[arg(long, default_value = "lt100")]
    pub profile: String,
    /// Arms: a comma-separated list of plain, balanced, oversample, class-weight, logit-adjust,
    /// smote, deepsmote, cgan-fill, bagan, all-in-one, pseudo-label, lsro, or all.
    #[arg(long, default_value = "all")]
    pub arms: String,
    /// The classifier of every arm: small (the project's CNN), resnet18, or resnet18:WIDTH (a
    /// ResNet-18 of base width 1 to 512; 64 is resnet18).
    #[arg(long, default_value = "small")]
    pub net: String,
    /// Seeds per arm (default 3, or 1 with --quick).
    #[arg(long)]
    pub seeds: Option<usize>,
    /// Classifier steps of every arm (default 1000, or 200 with --quick).
    #[arg(long)]
    pub steps: Option<usize>,
    /// Classifier minibatch.
    #[arg(long, default_value_t = 64)]
    pub batch: usize,
    /// Validation ACSA every this many steps (default 200, or 100 with --quick).
    #[arg(long)]
    pub eval_every: Option<usize>,
    /// Generator steps (default 2000, or 200 with --quick).
    #[arg(long)]
    pub gan_steps: Option<usize>,
    /// Generated images of the unlabelled arms (default: as many as real training images).
    #[arg(long)]
    pub generated: Option<usize>,
    /// Samples per class scored by the generator gates (default 200, or 50 with --quick).
    #[arg(long)]
    pub gate_samples: Option<usize>,
    #[command(flatten)]
    pub common: crate::experiments::CommonArgs,
    /// Also run the small-data curve: balanced sets of these many images per class (e.g.
    /// 10,50,100,500,all, or default), plain against a GAN arm.
    #[arg(long)]
    pub curve: Option<String>,
    /// The curve's arms among plain, all-in-one, pseudo-label and lsro (default: plain and the
    /// best of the other three in the main table, else lsro).
    #[arg(long)]
    pub curve_arms: Option<String>,
    /// Output folder.
    #[arg(long, default_value = "runs/lab-imbalance")]
    pub out: PathBuf,
    /// A run of a few minutes on MNIST: one seed, 200 classifier and generator steps.
    #[arg(long)]
    pub quick: bool,
}

/// The options of `a`, with the defaults filled in and every flag checked.
pub fn options(a: &Args) -> Result<Options> {
    let q = a.quick;
    let positive = crate::experiments::positive;
    let datasets = match a.dataset.as_deref().unwrap_or(if q { "mnist" } else { "both" }).trim() {
        "both" => vec![Data::Mnist, Data::Fashion],
        "mnist" => vec![Data::Mnist],
        "fashion" => vec![Data::Fashion],
        other => {
            return Err(Error::msg(format!("--dataset: unknown data set '{other}' (expected mnist, fashion or both)")))
        }
    };
    let arms = if a.arms.trim() == "all" {
        Arm::ALL.to_vec()
    } else {
        let mut v = Vec::new();
        for s in a.arms.split(',') {
            let arm = Arm::parse(s)?;
            if !v.contains(&arm) {
                v.push(arm);
            }
        }
        v
    };
    if a.common.run.device()?.is_gpu() {
        return Err(Error::msg("--device: the imbalance lab runs on the CPU only for now"));
    }
    let steps = positive("--steps", a.steps.unwrap_or(if q { 200 } else { 1000 }))?;
    Ok(Options {
        datasets,
        profile: Profile::parse(&a.profile)?,
        arms,
        seeds: positive("--seeds", a.seeds.unwrap_or(if q { 1 } else { 3 }))?,
        seed: a.common.seed,
        net: train::NetKind::parse(&a.net)?,
        steps,
        batch: positive("--batch", a.batch)?,
        eval_every: positive("--eval-every", a.eval_every.unwrap_or(if q { 100 } else { 200 }))?,
        gan_steps: positive("--gan-steps", a.gan_steps.unwrap_or(if q { 200 } else { 2000 }))?,
        generated: a.generated.map(|n| positive("--generated", n)).transpose()?,
        gate_samples: positive("--gate-samples", a.gate_samples.unwrap_or(if q { 50 } else { 200 }))?,
        out: a.out.clone(),
        progress: !a.common.run.no_progress,
        quick: q,
        curve: match (&a.curve, &a.curve_arms) {
            (Some(sizes), arms) => Some(curve::Curve {
                sizes: curve::parse_sizes(sizes)?,
                arms: arms.as_deref().map(curve::parse_arms).transpose()?,
            }),
            (None, Some(_)) => return Err(Error::msg("--curve-arms: only with --curve (the sizes of the curve)")),
            (None, None) => None,
        },
    })
}

/// Entry point of `minmax lab imbalance`.
pub fn main(a: Args) -> Result<()> {
    let o = options(&a)?;
    crate::experiments::run_lab(&minmax_engine::Device::Cpu, &o.out, || Ok(run(&o)?.markdown))
}
