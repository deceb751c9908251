//! The imbalance lab: can GAN samples rescue a classifier trained on a small, imbalanced data set?
//! The seed research's own question (Zheng et al. 2017's LSRO, All-in-one and Pseudo-label),
//! measured against the simple fixes that the imbalance literature (Buda et al. 2018; Menon et
//! al. 2021) finds hard to beat.
//!
//! Protocol (`profiles.rs`): a long-tailed training set drawn from the training split of full
//! MNIST or Fashion-MNIST (default: GAMO / DeepSMOTE's counts 4000 … 40, ratio 100), 10 % of each
//! class held out for validation; tested on the official balanced 10,000 test images (so ACSA =
//! balanced accuracy) and on DeepSMOTE's imbalanced test subset. Every arm trains the same network
//! (the small CNN, or a ResNet-18 with `--net resnet18`) with the same optimiser, minibatch and
//! number of steps (`train.rs`), keeps the step with the best validation ACSA, and runs for the
//! same seeds; the arms differ only in their training set, sampling and loss (`losses.rs`):
//!
//! | arm | what it trains on |
//! |---|---|
//! | `plain` | cross-entropy on the imbalanced set |
//! | `balanced` | the ceiling: cross-entropy on the whole balanced training split (45,000 images after its own 10 % validation) |
//! | `oversample` | minibatches that draw a class uniformly, then an image of it (random oversampling) |
//! | `class-weight` | cross-entropy weighted n / (K n_c) per class |
//! | `logit-adjust` | the logit-adjusted loss (Menon et al. 2021, τ = 1; the same as Balanced Softmax) |
//! | `smote` | every class filled up to the largest with pixel-space SMOTE (`smote.rs`) |
//! | `deepsmote` | every class filled up to the largest with DeepSMOTE: SMOTE on an autoencoder's codes, decoded (`deepsmote.rs`) |
//! | `cgan-fill` | every class filled up to the largest with conditional DCGAN samples |
//! | `bagan` | every class filled up to the largest with BAGAN samples: a class-conditional GAN started from DeepSMOTE's autoencoder (`bagan.rs`) |
//! | `all-in-one` | DCGAN samples as an extra, K+1-th class |
//! | `pseudo-label` | DCGAN samples labelled by the network's own argmax, weight 0.1, from a quarter of the budget on |
//! | `lsro` | DCGAN samples with the uniform target 1/K (LSRO) |
//!
//! The generators (`generators.rs`) and DeepSMOTE's autoencoder see only the imbalanced training set; the unlabelled arms
//! add as many generated images as there are real training images (`--generated`). The seeds
//! change each classifier's initialisation and minibatches and the generated images drawn; the
//! imbalanced set itself and the generators are drawn and trained once per `--seed`, so the
//! spread over seeds does not include a new draw of the data or a new GAN (said in the report).
//!
//! `--curve` adds the small-data curve (`curve.rs`): balanced sets of 10 … all images per class,
//! plain against a GAN arm. Not yet here (named in the report as not run): ACGAN.

use std::path::PathBuf;
use std::time::Instant;

use minmax_engine::{Error, Generator as Rng, Result};

use crate::data::mnist::{load_mnist, MnistSource, NUM_CLASSES};
use crate::data::Dataset;
use crate::experiments::image_gans::derive_seed;
use crate::metrics::per_class::Scores;
use crate::models::images::Model;

pub mod bagan;
pub mod curve;
pub mod deepsmote;
pub mod generators;
pub mod losses;
pub mod profiles;
mod report;
pub mod resnet;
pub mod smote;
pub mod train;
pub use report::*;
mod args;
pub use args::*;

use losses::{balanced_weights, log_prior, Loss, Target};
use profiles::Profile;
use train::{TrainConfig, TrainSet};

// =================================================================================================
// What is run
// =================================================================================================

/// The data sets of the lab: full MNIST and Fashion-MNIST (their 50,000-image training splits).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Data {
    Mnist,
    Fashion,
}

impl Data {
    pub fn name(self) -> &'static str {
        match self {
            Data::Mnist => "mnist",
            Data::Fashion => "fashion",
        }
    }
    pub fn source(self) -> MnistSource {
        match self {
            Data::Mnist => MnistSource::full_from_env().unwrap_or_else(MnistSource::full_cached),
            Data::Fashion => MnistSource::fashion(),
        }
    }
}

/// The arms, in the order of the report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arm {
    Plain,
    Balanced,
    Oversample,
    ClassWeight,
    LogitAdjust,
    Smote,
    DeepSmote,
    CganFill,
    Bagan,
    AllInOne,
    PseudoLabel,
    Lsro,
}

impl Arm {
    pub const ALL: [Arm; 12] = [
        Arm::Plain,
        Arm::Balanced,
        Arm::Oversample,
        Arm::ClassWeight,
        Arm::LogitAdjust,
        Arm::Smote,
        Arm::DeepSmote,
        Arm::CganFill,
        Arm::Bagan,
        Arm::AllInOne,
        Arm::PseudoLabel,
        Arm::Lsro,
    ];
    pub fn name(self) -> &'static str {
        match self {
            Arm::Plain => "plain",
            Arm::Balanced => "balanced",
            Arm::Oversample => "oversample",
            Arm::ClassWeight => "class-weight",
            Arm::LogitAdjust => "logit-adjust",
            Arm::Smote => "smote",
            Arm::DeepSmote => "deepsmote",
            Arm::CganFill => "cgan-fill",
            Arm::Bagan => "bagan",
            Arm::AllInOne => "all-in-one",
            Arm::PseudoLabel => "pseudo-label",
            Arm::Lsro => "lsro",
        }
    }
    pub fn parse(s: &str) -> Result<Arm> {
        Arm::ALL.into_iter().find(|a| a.name() == s.trim()).ok_or_else(|| {
            let names: Vec<&str> = Arm::ALL.iter().map(|a| a.name()).collect();
            Error::msg(format!("--arms: unknown arm '{}' (expected {} or all)", s.trim(), names.join(", ")))
        })
    }
    /// Whether the arm trains on GAN samples (DeepSMOTE's decoded codes are generated too, but
    /// by an autoencoder: the verdict compares it on its own, `report::verdict`).
    pub fn generative(self) -> bool {
        matches!(self, Arm::CganFill | Arm::Bagan | Arm::AllInOne | Arm::PseudoLabel | Arm::Lsro)
    }
    /// The generator the arm needs.
    fn generator(self) -> Option<Model> {
        match self {
            Arm::CganFill => Some(Model::Conditional),
            Arm::AllInOne | Arm::PseudoLabel | Arm::Lsro => Some(Model::Dcgan),
            _ => None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Options {
    pub datasets: Vec<Data>,
    pub profile: Profile,
    pub arms: Vec<Arm>,
    pub seeds: usize,
    pub seed: u64,
    /// The classifier every arm trains (`--net`).
    pub net: train::NetKind,
    /// Classifier steps of every arm, minibatch, validation interval.
    pub steps: usize,
    pub batch: usize,
    pub eval_every: usize,
    /// Generator training steps (DCGAN and conditional DCGAN).
    pub gan_steps: usize,
    /// Generated images of the unlabelled arms (None: as many as real training images).
    pub generated: Option<usize>,
    /// Samples per class scored by the generator gates.
    pub gate_samples: usize,
    pub out: PathBuf,
    pub progress: bool,
    pub quick: bool,
    /// The small-data curve (`--curve`): None to skip it.
    pub curve: Option<curve::Curve>,
}

// =================================================================================================
// Results
// =================================================================================================

/// One arm, one seed.
#[derive(Clone, Debug)]
pub struct SeedRun {
    pub seed: u64,
    pub balanced_test: Scores,
    pub imbalanced_test: Scores,
    pub best_step: usize,
    pub best_valid_acsa: f64,
    /// Images the arm trained on (real and generated).
    pub train_images: usize,
    pub seconds: f64,
}

/// One arm over the seeds.
#[derive(Clone, Debug)]
pub struct ArmResult {
    pub arm: Arm,
    pub runs: Vec<SeedRun>,
}

/// A generator of one data set (a GAN, or DeepSMOTE's autoencoder) and its gates.
#[derive(Clone, Debug)]
pub struct GeneratorResult {
    /// `dcgan`, `conditional-dcgan`, `deepsmote` or `bagan`.
    pub name: &'static str,
    /// Whether its samples come with the class they were asked for (conditional GAN, DeepSMOTE).
    pub labelled: bool,
    pub path: PathBuf,
    pub train_seconds: Option<f64>,
    pub gates: Vec<generators::ClassGate>,
    /// Mean losses over the last tenth of its training: DeepSMOTE's reconstruction and penalty,
    /// BAGAN's D and G (None for the DCGANs, and when loaded).
    pub final_losses: Option<(f64, f64)>,
}

/// Everything measured on one data set.
#[derive(Clone, Debug)]
pub struct DataResult {
    pub data: Data,
    pub source: String,
    /// Training and validation images per class of the profile.
    pub train_counts: [usize; NUM_CLASSES],
    pub valid_counts: [usize; NUM_CLASSES],
    pub test_counts: (usize, usize),
    pub imbalanced_test_counts: [usize; NUM_CLASSES],
    pub oracle_accuracy: Option<f64>,
    pub generators: Vec<GeneratorResult>,
    pub arms: Vec<ArmResult>,
    /// The small-data curve (`--curve`).
    pub curve: Option<Vec<curve::CurvePoint>>,
    pub seconds: f64,
}

pub struct LabResult {
    pub data: Vec<DataResult>,
    pub markdown: String,
    pub seconds: f64,
}

// =================================================================================================
// The run
// =================================================================================================

/// Run every arm on every data set (module docs) and write the report to `o.out`.
pub fn run(o: &Options) -> Result<LabResult> {
    let t0 = Instant::now();
    std::fs::create_dir_all(&o.out).map_err(|e| Error::file(&o.out, format!("cannot create the folder: {e}")))?;
    let mut results = Vec::new();
    for &data in &o.datasets {
        results.push(run_data(o, data)?);
    }
    let seconds = t0.elapsed().as_secs_f64();
    let markdown = report::write(o, &results, seconds)?;
    Ok(LabResult { data: results, markdown, seconds })
}

fn run_data(o: &Options, data: Data) -> Result<DataResult> {
    let t0 = Instant::now();
    let say = |s: String| {
        if o.progress {
            eprintln!("{}: {s}", data.name());
        }
    };
    let source = data.source();
    let splits = load_mnist(&source)?;
    let drawn = profiles::draw(&splits.train, o.profile, derive_seed(o.seed, "imbalance-profile"))?;
    let imbalanced_test = profiles::imbalanced_test(&splits.test, derive_seed(o.seed, "imbalance-test"))?;
    let train_counts = profiles::class_counts(&drawn.train);
    say(format!(
        "profile {} → {} training images {:?}, {} validation",
        o.profile.name(),
        drawn.train.len(),
        train_counts,
        drawn.valid.len()
    ));

    // Generators, once per data set, and their gates on the oracle.
    let gen_dir = o.out.join("generators");
    let mut gens: Vec<(Model, generators::Trained)> = Vec::new();
    for m in [Model::Dcgan, Model::Conditional] {
        if o.arms.iter().any(|a| a.generator() == Some(m)) {
            say(format!("{}: {} steps on the imbalanced training set", m.name(), o.gan_steps));
            let g = generators::train_or_load(
                m,
                &drawn.train,
                o.gan_steps,
                derive_seed(o.seed, m.name()),
                &gen_dir,
                o.progress,
            )?;
            gens.push((m, g));
        }
    }
    let ae = if o.arms.contains(&Arm::DeepSmote) || o.arms.contains(&Arm::Bagan) {
        say(format!("deepsmote: the autoencoder, {} steps on the imbalanced training set", o.gan_steps));
        Some(deepsmote::train_or_load(
            &drawn.train,
            deepsmote::WIDTH,
            o.gan_steps,
            generators::GAN_BATCH,
            derive_seed(o.seed, "deepsmote"),
            &gen_dir,
            o.progress,
        )?)
    } else {
        None
    };
    let bagan = match (&ae, o.arms.contains(&Arm::Bagan)) {
        (Some(ae), true) => {
            say(format!("bagan: {} steps from the autoencoder", o.gan_steps));
            Some(bagan::train_or_load(
                ae,
                deepsmote::WIDTH,
                &drawn.train,
                o.gan_steps,
                generators::GAN_BATCH,
                derive_seed(o.seed, "bagan"),
                &gen_dir,
                o.progress,
            )?)
        }
        _ => None,
    };
    let mut gen_results = Vec::new();
    let mut oracle_accuracy = None;
    if !gens.is_empty() || ae.is_some() {
        let oracle = crate::experiments::goodfellow2014::scores::yardstick(&splits, o.progress)?;
        oracle_accuracy = Some(oracle.test_accuracy);
        for (m, g) in &gens {
            let mut rng = Rng::new(derive_seed(o.seed, "gates"));
            let (images, labels) = match m {
                Model::Conditional => {
                    let (x, l) = generators::sample_classes(g.gan.as_ref(), &[o.gate_samples; NUM_CLASSES], &mut rng)?;
                    (x, Some(l))
                }
                _ => (generators::sample_unlabelled(g.gan.as_ref(), o.gate_samples * NUM_CLASSES, &mut rng)?, None),
            };
            let gates = generators::gates(&oracle.net, &images, labels.as_deref(), &drawn.train, &splits.test)?;
            gen_results.push(GeneratorResult {
                name: m.name(),
                labelled: *m == Model::Conditional,
                path: g.path.clone(),
                train_seconds: g.train_seconds,
                gates,
                final_losses: None,
            });
        }
        if let Some(t) = &bagan {
            let mut rng = Rng::new(derive_seed(o.seed, "gates"));
            let (images, labels) = bagan::sample_classes(&t.gan, &[o.gate_samples; NUM_CLASSES], &mut rng)?;
            let gates = generators::gates(&oracle.net, &images, Some(&labels), &drawn.train, &splits.test)?;
            gen_results.push(GeneratorResult {
                name: "bagan",
                labelled: true,
                path: t.path.clone(),
                train_seconds: t.train_seconds,
                gates,
                final_losses: t.final_losses,
            });
        }
        if let Some(t) = ae.as_ref().filter(|_| o.arms.contains(&Arm::DeepSmote)) {
            let mut rng = Rng::new(derive_seed(o.seed, "gates"));
            let (images, labels) =
                deepsmote::sample_classes(&t.ae, &drawn.train, &[o.gate_samples; NUM_CLASSES], &mut rng)?;
            let gates = generators::gates(&oracle.net, &images, Some(&labels), &drawn.train, &splits.test)?;
            gen_results.push(GeneratorResult {
                name: "deepsmote",
                labelled: true,
                path: t.path.clone(),
                train_seconds: t.train_seconds,
                gates,
                final_losses: t.final_losses,
            });
        }
        report::sample_pictures(
            o,
            data,
            &gens,
            ae.as_ref().filter(|_| o.arms.contains(&Arm::DeepSmote)),
            bagan.as_ref(),
            &drawn.train,
        )?;
    }

    // The ceiling's balanced set: the whole training split, 10 % of each class held out.
    let ceiling = o.arms.contains(&Arm::Balanced).then(|| {
        let counts = profiles::class_counts(&splits.train);
        profiles::draw(&splits.train, Profile::Counts(counts), derive_seed(o.seed, "imbalance-ceiling"))
    });
    let ceiling = ceiling.transpose()?;

    let tests = (&splits.test, &imbalanced_test);
    let mut arms = Vec::new();
    for &arm in &o.arms {
        let runs = match arm {
            Arm::Balanced => {
                let c = ceiling.as_ref().expect("drawn above");
                run_seeds(o, arm, &c.valid, tests, &say, |_| {
                    Ok((TrainSet::labelled(&c.train), Loss::plain(NUM_CLASSES)))
                })?
            }
            _ => run_seeds(o, arm, &drawn.valid, tests, &say, |rng| {
                arm_set(o, arm, &drawn.train, &gens, ae.as_ref(), bagan.as_ref(), rng)
            })?,
        };
        arms.push(ArmResult { arm, runs });
    }
    let curve = match &o.curve {
        Some(c) => Some(curve::run(o, c, &splits, tests, &arms, &gen_dir, &say)?),
        None => None,
    };
    Ok(DataResult {
        data,
        source: format!("{source:?}"),
        train_counts,
        valid_counts: profiles::class_counts(&drawn.valid),
        test_counts: (splits.test.len(), imbalanced_test.len()),
        imbalanced_test_counts: profiles::class_counts(&imbalanced_test),
        oracle_accuracy,
        generators: gen_results,
        arms,
        curve,
        seconds: t0.elapsed().as_secs_f64(),
    })
}

/// `arm` trained for each of the seeds: the training set and loss from `set` (given the seed's
/// generator), the best step chosen on `valid`, scored on the balanced and imbalanced `tests`.
fn run_seeds(
    o: &Options,
    arm: Arm,
    valid: &Dataset,
    (test, imbalanced_test): (&Dataset, &Dataset),
    say: &dyn Fn(String),
    mut set: impl FnMut(&mut Rng) -> Result<(TrainSet, Loss)>,
) -> Result<Vec<SeedRun>> {
    let mut runs = Vec::new();
    for s in 0..o.seeds {
        let seed = derive_seed(o.seed, &format!("imbalance-seed-{s}"));
        let mut rng = Rng::new(seed ^ 0xA11);
        let (set, loss) = set(&mut rng)?;
        let cfg = TrainConfig {
            net: o.net,
            steps: o.steps,
            batch: o.batch,
            lr: 1e-3,
            eval_every: o.eval_every,
            pseudo_from: o.steps / 4,
            seed,
        };
        let t = train::train(&set, &loss, valid, &cfg)?;
        let run = SeedRun {
            seed,
            balanced_test: train::score(&t.net, test, NUM_CLASSES)?,
            imbalanced_test: train::score(&t.net, imbalanced_test, NUM_CLASSES)?,
            best_step: t.best_step,
            best_valid_acsa: t.best_valid_acsa,
            train_images: set.len(),
            seconds: t.seconds,
        };
        say(format!(
            "{} seed {s}: ACSA {:.2} % (balanced test), {:.2} % (imbalanced test), best step {}, {:.0} s",
            arm.name(),
            100.0 * run.balanced_test.acsa,
            100.0 * run.imbalanced_test.acsa,
            run.best_step,
            run.seconds
        ));
        runs.push(run);
    }
    Ok(runs)
}

/// The training set and loss of an arm on the imbalanced set `train` (module docs).
fn arm_set(
    o: &Options,
    arm: Arm,
    train: &Dataset,
    gens: &[(Model, generators::Trained)],
    ae: Option<&deepsmote::Trained>,
    bagan: Option<&bagan::Trained>,
    rng: &mut Rng,
) -> Result<(TrainSet, Loss)> {
    let counts = profiles::class_counts(train);
    let k = NUM_CLASSES;
    let gen = |m: Model| gens.iter().find(|(g, _)| *g == m).map(|(_, t)| t.gan.as_ref()).expect("trained above");
    let unlabelled =
        |rng: &mut Rng| generators::sample_unlabelled(gen(Model::Dcgan), o.generated.unwrap_or(train.len()), rng);
    Ok(match arm {
        Arm::Plain | Arm::Balanced => (TrainSet::labelled(train), Loss::plain(k)),
        Arm::Oversample => (TrainSet { class_balanced: true, ..TrainSet::labelled(train) }, Loss::plain(k)),
        Arm::ClassWeight => {
            (TrainSet::labelled(train), Loss { class_weight: Some(balanced_weights(&counts)), ..Loss::plain(k) })
        }
        Arm::LogitAdjust => {
            (TrainSet::labelled(train), Loss { logit_shift: Some(log_prior(&counts)), ..Loss::plain(k) })
        }
        Arm::Smote => (TrainSet::labelled(&smote::balance(train, rng)?), Loss::plain(k)),
        Arm::DeepSmote => {
            let ae = &ae.expect("trained above").ae;
            (TrainSet::labelled(&deepsmote::balance(ae, train, rng)?), Loss::plain(k))
        }
        Arm::Bagan => {
            let gan = &bagan.expect("trained above").gan;
            (TrainSet::labelled(&bagan::balance(gan, train, rng)?), Loss::plain(k))
        }
        Arm::CganFill => {
            let most = *counts.iter().max().unwrap_or(&0);
            let fill: Vec<usize> = counts.iter().map(|&c| most - c).collect();
            let (images, labels) = generators::sample_classes(gen(Model::Conditional), &fill, rng)?;
            let mut set = TrainSet::labelled(train);
            set.images.extend(images);
            set.targets.extend(labels.into_iter().map(Target::Class));
            (set, Loss::plain(k))
        }
        Arm::AllInOne => (
            TrainSet::labelled(train).with_generated(&unlabelled(rng)?, Target::Extra),
            Loss { outputs: k + 1, ..Loss::plain(k) },
        ),
        Arm::PseudoLabel => (
            TrainSet::labelled(train).with_generated(&unlabelled(rng)?, Target::Pseudo),
            Loss { pseudo_weight: PSEUDO_WEIGHT, ..Loss::plain(k) },
        ),
        Arm::Lsro => (TrainSet::labelled(train).with_generated(&unlabelled(rng)?, Target::Uniform), Loss::plain(k)),
    })
}

/// Weight of a pseudo-labelled image (Zheng et al. 2017, after Lee 2013).
pub const PSEUDO_WEIGHT: f64 = 0.1;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arm_names_round_trip() {
        for a in Arm::ALL {
            assert_eq!(Arm::parse(a.name()).unwrap(), a);
        }
        let e = Arm::parse("mixup").unwrap_err().to_string();
        assert!(e.contains("'mixup'") && e.contains("lsro"), "{e}");
    }
}
