//! What the reproduction reports beside the Parzen number, each computed from the run's samples:
//! the class histogram under the project's MNIST classifier (did G drop or over-produce a digit?),
//! FID, Inception Score, precision and recall on that classifier's features against the test
//! digits (with the real-vs-real floor: held-out validation digits scored the same way), and the
//! memorisation check of Figure 2 as numbers (each sample's distance to its nearest training
//! digit, beside the same distance for test digits).
//!
//! The classifier is trained once per machine and data set on the training split and kept in the
//! data cache (`$MINMAX_DATA/classifiers/`, named by a fingerprint of its training digits), so
//! only the first run pays for it; the report says whether it was trained or loaded.

use super::*;
use crate::experiments::image_gans::{first_images, Scorer, Scores, CLASSIFIER_SEED};
use crate::metrics::classifier::{self, Classifier, ClassifierConfig};
use crate::metrics::reconstruction::{memorisation, Memorisation};

/// Training of the reproduction's classifier: 4 epochs of minibatches of 32, Adam's learning rate
/// 1e-3 halved after every epoch. On full MNIST's 50,000 training digits that gives over 99 % on
/// the test digits (`tests/full_mnist.rs`); a constant rate gave 98.8 %, 3 epochs of 64 98.7 %.
pub const CLASSIFIER_EPOCHS: usize = 4;
/// Minibatch of the classifier's training.
pub const CLASSIFIER_BATCH: usize = 32;
/// Learning-rate factor per epoch.
pub const CLASSIFIER_LR_DECAY: f64 = 0.5;
/// Samples and test digits in the memorisation check (each against every training digit).
pub const MEMO_N: usize = 1_000;

/// The project's MNIST classifier, with how it was obtained.
pub struct Yardstick {
    pub net: Classifier,
    pub path: PathBuf,
    pub test_accuracy: f64,
    /// Seconds spent training it in this run (None: loaded from `path`).
    pub train_seconds: Option<f64>,
}

/// The classifier of `s.train`: loaded from the data cache, or trained and saved there.
pub fn yardstick(s: &Splits, progress: bool) -> Result<Yardstick> {
    let fp = classifier::data_fingerprint(&s.train);
    let path = crate::data::mnist::default_cache_dir().join("classifiers").join(format!(
        "goodfellow2014-{fp}-{CLASSIFIER_EPOCHS}ep-b{CLASSIFIER_BATCH}-decay{CLASSIFIER_LR_DECAY}.safetensors"
    ));
    let existed = path.exists();
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::file(dir, format!("cannot create the folder: {e}")))?;
    }
    let cfg = ClassifierConfig {
        epochs: CLASSIFIER_EPOCHS,
        batch_size: CLASSIFIER_BATCH,
        lr_decay: CLASSIFIER_LR_DECAY,
        seed: CLASSIFIER_SEED,
        progress,
        ..Default::default()
    };
    if progress && !existed {
        eprintln!("classifier: training on the {} training digits → {}", s.train.len(), path.display());
    }
    let t0 = Instant::now();
    let net = classifier::train_or_load(&path, &s.train, Some(&s.test), &cfg)?;
    let train_seconds = (!existed).then(|| t0.elapsed().as_secs_f64());
    let test_accuracy = net.accuracy(&s.test)?;
    Ok(Yardstick { net, path, test_accuracy, train_seconds })
}

/// The classifier-based scores of one run.
pub struct ClassScores {
    pub classifier_accuracy: f64,
    pub classifier_path: PathBuf,
    pub classifier_train_seconds: Option<f64>,
    /// Images on each side of every comparison (the samples, capped by the test split).
    pub n: usize,
    /// The evaluated generator's samples against the test digits.
    pub model: Scores,
    /// Held-out validation digits against the test digits: the best a generator can do here.
    pub real: Scores,
    /// Samples per predicted class.
    pub class_counts: Vec<usize>,
    pub memo: Memorisation,
}

/// Score `samples` [n, 784] with the classifier of `s.train` and the memorisation check.
pub fn class_scores(samples: &Tensor, s: &Splits, progress: bool) -> Result<ClassScores> {
    let stick = yardstick(s, progress)?;
    let n = samples.shape()[0].min(s.test.len()).min(s.valid.len());
    let lo = 2 * crate::experiments::image_gans::IS_SPLITS;
    if n < lo.max(crate::experiments::image_gans::PR_K + 1) {
        return Err(Error::msg(format!(
            "the classifier scores need at least {lo} samples, test and validation digits; have {} / {} / {}",
            samples.shape()[0],
            s.test.len(),
            s.valid.len()
        )));
    }
    let samples = samples.narrow(0, 0, n)?;
    let scorer = Scorer::new(&stick.net, &s.test, n)?;
    let model = scorer.score(&samples, 0)?;
    let real = scorer.score(&first_images(&s.valid, n)?, 0)?;
    let labels = crate::metrics::predicted_labels(&stick.net.probs(&samples)?)?;
    let class_counts = crate::metrics::coverage::class_counts(&labels, 10)?;
    let (train, _) = s.train.to_tensors()?;
    let m = MEMO_N.min(n);
    let memo = memorisation(&train, &samples.narrow(0, 0, m)?, &first_images(&s.test, m)?)?;
    Ok(ClassScores {
        classifier_accuracy: stick.test_accuracy,
        classifier_path: stick.path,
        classifier_train_seconds: stick.train_seconds,
        n,
        model,
        real,
        class_counts,
        memo,
    })
}
