//! Ways to put a number on a generator.
//!
//! - [`parzen`]: the Parzen-window log-likelihood of Goodfellow et al. (2014), Table 1: a Gaussian
//!   window on every generated sample, its width chosen on validation data, scored on test data.
//! - [`fid`]: the Fréchet distance between Gaussians fitted to real and generated features
//!   (FID, Heusel et al. 2017), here on the features of the small classifier in
//!   `crate::classifier`.
//! - [`inception_score`]: exp(E KL(p(y|x) ‖ p(y))) from a classifier's probabilities
//!   (Salimans et al. 2016), between 1 and the number of classes.
//! - [`precision_recall`]: improved precision and recall with k-NN balls (Kynkäänniemi et al.
//!   2019): quality and coverage as separate numbers.
//! - [`coverage`]: how many classes the generated samples reach and the KL of their class
//!   histogram to uniform or to the real data's.
//! - [`reconstruction`]: inference by optimisation (per-image reconstruction error through
//!   G) and nearest-training-image distances, to tell generalisation from memorisation.
//! - [`linalg`]: the small f64 linear algebra these need (symmetric eigen-decomposition, matrix
//!   square roots, blocked pairwise distances).

pub mod coverage;
pub mod fid;
pub mod inception_score;
pub mod linalg;
pub mod parzen;
pub mod precision_recall;
pub mod reconstruction;

pub use coverage::{coverage, predicted_labels, Coverage};
pub use fid::{fid, frechet_distance, FeatureStats};
pub use inception_score::{inception_score, InceptionScore};
pub use parzen::{evaluate as parzen_evaluate, log_likelihoods as parzen_log_likelihoods, sigma_grid, ParzenResult};
pub use precision_recall::{precision_recall, PrecisionRecall};
pub use reconstruction::{memorisation, reconstruct, Memorisation, ReconstructOptions, Reconstruction};
