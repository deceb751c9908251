//! Ways to put a number on a generator.
//!
//! - [`parzen`]: the Parzen-window log-likelihood of Goodfellow et al. (2014), Table 1: a Gaussian
//!   window on every generated sample, its width chosen on validation data, scored on test data.
//!
//! Left out so far: Inception Score and FID (they need a trained classifier or feature network).

pub mod parzen;

pub use parzen::{evaluate as parzen_evaluate, log_likelihoods as parzen_log_likelihoods, sigma_grid, ParzenResult};
