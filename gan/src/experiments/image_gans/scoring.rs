//! The image-GAN lab's yardstick and scores: the classifier every metric uses (trained once per
//! data set, or loaded), the n images a model or the real data is scored with, and the scores
//! themselves (FID, Inception Score, precision and recall, class coverage).

use super::*;

/// The classifier checkpoint of `data` in `out`: `classifier-<dataset>.safetensors` with the
/// default training length, `classifier-<dataset>-<E>ep.safetensors` with another (so a short
/// run never replaces the full yardstick).
pub fn classifier_path(out: &Path, data: DataChoice, epochs: usize) -> PathBuf {
    if epochs == ClassifierConfig::default().epochs {
        out.join(format!("classifier-{}.safetensors", data.name()))
    } else {
        out.join(format!("classifier-{}-{epochs}ep.safetensors", data.name()))
    }
}

/// The yardstick of `data`: trained on `splits.train` (or loaded), with its test accuracy.
pub struct Yardstick {
    pub net: Classifier,
    pub path: PathBuf,
    pub epochs: usize,
    pub test_accuracy: f64,
    /// Seconds spent training it (None: loaded from `path`).
    pub train_seconds: Option<f64>,
}

/// Train (or load) the classifier of `data` in `out` with `epochs` epochs and measure it.
pub fn yardstick(out: &Path, data: DataChoice, splits: &Splits, epochs: usize, progress: bool) -> Result<Yardstick> {
    let path = classifier_path(out, data, epochs);
    let existed = path.exists();
    let cfg = ClassifierConfig { epochs, seed: CLASSIFIER_SEED, progress, ..Default::default() };
    let t0 = Instant::now();
    if progress && !existed {
        eprintln!("{}: training the classifier ({epochs} epochs) → {}", data.name(), path.display());
    }
    let net = classifier::train_or_load(&path, &splits.train, Some(&splits.test), &cfg)?;
    let train_seconds = (!existed).then(|| t0.elapsed().as_secs_f64());
    let test_accuracy = net.accuracy(&splits.test)?;
    if progress && existed {
        eprintln!("{}: classifier {} (test accuracy {:.2} %)", data.name(), path.display(), 100.0 * test_accuracy);
    }
    Ok(Yardstick { net, path, epochs, test_accuracy, train_seconds })
}

/// The first `n` images of `data` as pixels [n, 784].
pub fn first_images(data: &Dataset, n: usize) -> Result<Tensor> {
    let n = n.min(data.len());
    Tensor::new(data.images()[..n * data.dim()].to_vec(), &[n, data.dim()])
}

/// The metrics of one set of n images against n test images.
#[derive(Clone, Debug, PartialEq)]
pub struct Scores {
    /// Training step (0 for real images).
    pub step: usize,
    pub fid: f64,
    pub is_mean: f64,
    pub is_std: f64,
    pub precision: f64,
    pub recall: f64,
    /// Classes holding at least [`COVERAGE_SHARE`] of a uniform share of the samples.
    pub classes_covered: usize,
    /// KL(p̂ ‖ uniform) of the predicted-class histogram.
    pub kl_uniform: f64,
    /// KL(p̂ ‖ the test images' true-label histogram).
    pub kl_test: f64,
}

impl Scores {
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "step": self.step, "fid": self.fid, "is_mean": self.is_mean, "is_std": self.is_std,
            "precision": self.precision, "recall": self.recall, "classes_covered": self.classes_covered,
            "kl_uniform": self.kl_uniform, "kl_test": self.kl_test,
        })
    }
}

/// The real side of every comparison, computed once per data set: the test images' features,
/// their Gaussian statistics and their labels.
pub struct Scorer<'a> {
    net: &'a Classifier,
    /// n, the number of images on each side.
    pub n: usize,
    real_features: Tensor,
    real_stats: FeatureStats,
    test_labels: Vec<usize>,
}

impl<'a> Scorer<'a> {
    /// The first `n` test images as the real side (n is capped at the split's size).
    pub fn new(net: &'a Classifier, test: &Dataset, n: usize) -> Result<Scorer<'a>> {
        let real = first_images(test, n)?;
        let n = real.shape()[0];
        let real_features = net.features(&real)?;
        Ok(Scorer {
            net,
            n,
            real_stats: FeatureStats::from_features(&real_features)?,
            real_features,
            test_labels: test.labels()[..n].iter().map(|&l| l as usize).collect(),
        })
    }

    /// Score `images` [m, 784] in [0, 1] (m = n for comparable numbers).
    pub fn score(&self, images: &Tensor, step: usize) -> Result<Scores> {
        let features = self.net.features(images)?;
        let probs = self.net.probs(images)?;
        let fid = metrics::frechet_distance(&self.real_stats, &FeatureStats::from_features(&features)?)?;
        let is = metrics::inception_score(&probs, IS_SPLITS)?;
        let pr = metrics::precision_recall(&self.real_features, &features, PR_K)?;
        let labels = metrics::predicted_labels(&probs)?;
        let classes = probs.shape()[1];
        let cov = metrics::coverage(
            &labels,
            classes,
            share_threshold(labels.len(), classes, COVERAGE_SHARE),
            Some(&self.test_labels),
        )?;
        Ok(Scores {
            step,
            fid,
            is_mean: is.mean,
            is_std: is.std,
            precision: pr.precision,
            recall: pr.recall,
            classes_covered: cov.classes_covered,
            kl_uniform: cov.kl_uniform,
            kl_test: cov.kl_reference.unwrap_or(f64::NAN),
        })
    }
}

/// Labels 0, 1, …, 9, 0, 1, … for `n` conditional samples (every class equally often).
pub fn cycling_labels(n: usize, classes: usize) -> Result<Tensor> {
    Tensor::new((0..n).map(|i| (i % classes) as i64).collect::<Vec<i64>>(), &[n])
}

/// `n` samples of `gan` as pixels [n, 784]; a conditional model draws every class equally often.
pub fn draw(gan: &dyn ImageGan, n: usize, rng: &mut Rng) -> Result<Tensor> {
    let labels = if gan.classes() > 0 { Some(cycling_labels(n, gan.classes())?) } else { None };
    images::sample(gan, n, labels.as_ref(), rng)
}
