//! The small-data curve: the seed's second question, "do small data sets not suit deep
//! learning?", and whether GAN samples help more the less real data there is.
//!
//! ```text
//! for n in sizes (default 10, 50, 100, 500 images per class, and all of the training split):
//!     a balanced set of n images per class drawn from the training split (10 % of each class,
//!         at least one image, held out for choosing the best step, as in every profile)
//!     a DCGAN trained on it (the lab's generator budget, --gan-steps), if an arm needs one
//!     for every arm (default: plain and the best unlabelled-GAN arm of this run's main
//!         table — all-in-one, pseudo-label or lsro —, else lsro; --curve-arms to choose)
//!         and every seed: the lab's classifier, budget and selection; ACSA on the balanced test
//! ```
//!
//! On a balanced set random oversampling, class weights and the logit adjustment are plain
//! cross-entropy, and SMOTE, DeepSMOTE and the conditional fill-up add nothing: the arms the
//! curve runs are plain and the three ways of the seed paper to use unlabelled GAN samples.
//! The classifier's step budget does not shrink with the data: at 10 images per class its 1,000
//! steps of 64 are about 700 passes over the set, and the best step is chosen on one validation
//! image per class, said in the report.

use std::path::Path;

use minmax_engine::{Error, Result};

use super::{generators, profiles, run_seeds, ArmResult, Options};
use super::{Arm, Profile};
use crate::data::mnist::{Splits, NUM_CLASSES};
use crate::data::Dataset;
use crate::experiments::image_gans::derive_seed;
use crate::metrics::stats::mean_std;
use crate::models::images::Model;

/// The default sizes.
pub const SIZES: [Size; 5] =
    [Size::PerClass(10), Size::PerClass(50), Size::PerClass(100), Size::PerClass(500), Size::All];
/// Fewest images per class: 10 leaves 9 per class, 90 in all, for the generator's batches of 64.
pub const MIN_PER_CLASS: usize = 10;
/// The arms a balanced set gives a meaning to (module docs).
pub const CURVE_ARMS: [Arm; 4] = [Arm::Plain, Arm::AllInOne, Arm::PseudoLabel, Arm::Lsro];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Size {
    PerClass(usize),
    /// Every image of the training split (its classes are nearly, not exactly, balanced).
    All,
}

impl Size {
    pub fn name(self) -> String {
        match self {
            Size::PerClass(n) => n.to_string(),
            Size::All => "all".into(),
        }
    }
}

/// What `--curve` asks for.
#[derive(Clone, Debug)]
pub struct Curve {
    pub sizes: Vec<Size>,
    /// None: plain and the best unlabelled-GAN arm of the main table (module docs).
    pub arms: Option<Vec<Arm>>,
}

/// `--curve 10,50,100,500,all` (or `default`).
pub fn parse_sizes(s: &str) -> Result<Vec<Size>> {
    if s.trim() == "default" {
        return Ok(SIZES.to_vec());
    }
    let mut v = Vec::new();
    for part in s.split(',').map(str::trim) {
        let size = match part {
            "all" => Size::All,
            p => match p.parse::<usize>() {
                Ok(n) if n >= MIN_PER_CLASS => Size::PerClass(n),
                _ => {
                    return Err(Error::msg(format!(
                        "--curve: '{p}' is not a size (expected images per class, at least {MIN_PER_CLASS}, or all; \
                         e.g. --curve 10,50,100,500,all)"
                    )))
                }
            },
        };
        if !v.contains(&size) {
            v.push(size);
        }
    }
    Ok(v)
}

/// `--curve-arms plain,lsro`: arms among `CURVE_ARMS`.
pub fn parse_arms(s: &str) -> Result<Vec<Arm>> {
    let mut v = Vec::new();
    for part in s.split(',') {
        let arm = Arm::parse(part).map_err(|e| Error::msg(e.to_string().replace("--arms", "--curve-arms")))?;
        if !CURVE_ARMS.contains(&arm) {
            return Err(Error::msg(format!(
                "--curve-arms: '{}' adds nothing on a balanced set (expected plain, all-in-one, pseudo-label or lsro)",
                arm.name()
            )));
        }
        if !v.contains(&arm) {
            v.push(arm);
        }
    }
    Ok(v)
}

/// One size of the curve.
#[derive(Clone, Debug)]
pub struct CurvePoint {
    pub size: Size,
    /// Training images per class (after the validation split).
    pub train_counts: [usize; NUM_CLASSES],
    /// Seconds the DCGAN trained (None: loaded, or no arm needed it).
    pub gan_seconds: Option<f64>,
    pub arms: Vec<ArmResult>,
}

impl CurvePoint {
    pub fn train_images(&self) -> usize {
        self.train_counts.iter().sum()
    }
}

/// The arms of the curve: the asked ones, or plain and the main table's best unlabelled-GAN arm.
pub fn arms_of(c: &Curve, main: &[ArmResult]) -> Vec<Arm> {
    if let Some(a) = &c.arms {
        return a.clone();
    }
    let best = main
        .iter()
        .filter(|a| matches!(a.arm, Arm::AllInOne | Arm::PseudoLabel | Arm::Lsro) && !a.runs.is_empty())
        .map(|a| (a.arm, mean_std(&a.runs.iter().map(|r| r.balanced_test.acsa).collect::<Vec<_>>()).0))
        .max_by(|x, y| x.1.total_cmp(&y.1))
        .map_or(Arm::Lsro, |x| x.0);
    vec![Arm::Plain, best]
}

/// Run the curve on one data set (module docs).
pub fn run(
    o: &Options,
    c: &Curve,
    splits: &Splits,
    tests: (&Dataset, &Dataset),
    main: &[ArmResult],
    gen_dir: &Path,
    say: &dyn Fn(String),
) -> Result<Vec<CurvePoint>> {
    let arms = arms_of(c, main);
    let mut points = Vec::new();
    for &size in &c.sizes {
        let profile = match size {
            Size::PerClass(n) => Profile::Balanced(n),
            Size::All => Profile::Counts(profiles::class_counts(&splits.train)),
        };
        let drawn =
            profiles::draw(&splits.train, profile, derive_seed(o.seed, &format!("imbalance-curve-{}", size.name())))?;
        say(format!("curve, {} per class: {} training images", size.name(), drawn.train.len()));
        let mut gens = Vec::new();
        let mut gan_seconds = None;
        if arms.iter().any(|a| a.generative()) {
            let g = generators::train_or_load(
                Model::Dcgan,
                &drawn.train,
                o.gan_steps,
                derive_seed(o.seed, Model::Dcgan.name()),
                gen_dir,
                o.progress,
            )?;
            gan_seconds = g.train_seconds;
            gens.push((Model::Dcgan, g));
        }
        let mut results = Vec::new();
        for &arm in &arms {
            let runs = run_seeds(o, arm, &drawn.valid, tests, say, |rng| {
                super::arm_set(o, arm, &drawn.train, &gens, None, None, rng)
            })?;
            results.push(ArmResult { arm, runs });
        }
        points.push(CurvePoint {
            size,
            train_counts: profiles::class_counts(&drawn.train),
            gan_seconds,
            arms: results,
        });
    }
    Ok(points)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_arms_parse_and_refuse_what_cannot_run() {
        assert_eq!(parse_sizes("default").unwrap(), SIZES.to_vec());
        assert_eq!(parse_sizes("10, 500,all,10").unwrap(), vec![Size::PerClass(10), Size::PerClass(500), Size::All]);
        for bad in ["5", "ten", "", "10,-1"] {
            let e = parse_sizes(bad).unwrap_err().to_string();
            assert!(e.contains("--curve") && e.contains("at least 10"), "{bad}: {e}");
        }
        assert_eq!(parse_arms("plain,lsro").unwrap(), vec![Arm::Plain, Arm::Lsro]);
        let e = parse_arms("plain,smote").unwrap_err().to_string();
        assert!(e.contains("--curve-arms") && e.contains("'smote'"), "{e}");
        let e = parse_arms("mixup").unwrap_err().to_string();
        assert!(e.contains("--curve-arms") && e.contains("'mixup'"), "{e}");
    }

    #[test]
    fn the_default_arms_are_plain_and_the_best_unlabelled_gan_arm() {
        use super::super::SeedRun;
        use crate::metrics::per_class::Scores;
        let arm = |arm: Arm, acsa: f64| ArmResult {
            arm,
            runs: vec![SeedRun {
                seed: 0,
                balanced_test: Scores { acsa, ..Scores::default() },
                imbalanced_test: Scores::default(),
                best_step: 0,
                best_valid_acsa: 0.0,
                train_images: 0,
                seconds: 0.0,
            }],
        };
        let c = Curve { sizes: SIZES.to_vec(), arms: None };
        // The best GAN arm overall is the conditional fill-up, which means nothing on a balanced set.
        let main = [arm(Arm::CganFill, 0.99), arm(Arm::Lsro, 0.90), arm(Arm::PseudoLabel, 0.93), arm(Arm::Plain, 0.95)];
        assert_eq!(arms_of(&c, &main), vec![Arm::Plain, Arm::PseudoLabel]);
        assert_eq!(arms_of(&c, &[]), vec![Arm::Plain, Arm::Lsro]);
        let asked = Curve { sizes: SIZES.to_vec(), arms: Some(vec![Arm::AllInOne]) };
        assert_eq!(arms_of(&asked, &main), vec![Arm::AllInOne]);
    }
}
