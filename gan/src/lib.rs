//! minmax-gan: readable GAN implementations, data sets, metrics, the experiments and the `minmax`
//! command line. The folders are the map (ARCHITECTURE.md at the top of the repository has it
//! drawn out):
//!
//! - [`models`]: one file per GAN — the original 2014 GAN, the convolutional image GANs
//!   (`models/images/`) and the 2-D toy GANs of the mode-collapse lab (`models/toy/`)
//! - [`train`]: what training loops share — run folders and checkpoints, Ctrl-C, progress output
//! - [`data`]: data sets (IDX files: MNIST, Fashion-MNIST; 2-D Gaussian mixtures) and `.npy` files
//! - [`metrics`]: numbers for generators (Parzen, FID, IS, precision/recall, coverage,
//!   reconstruction, mode counts), the classifier whose features they use, statistics helpers
//! - [`experiments`]: the paper reproduction (`minmax reproduce goodfellow2014`) and the labs
//!   (`minmax lab ...`), each writing a report with pictures
//! - [`viz`]: PNG grids and plots, the mode-collapse pictures, notebook display
//! - [`bench`]: `minmax bench`, the reference workloads timed
//!
//! `main.rs` (the command line) only parses flags and calls into these.

pub mod bench;
pub mod data;
pub mod experiments;
pub mod export;
pub mod metrics;
pub mod models;
pub mod train;
pub mod viz;
