//! What the training loops share:
//!
//! - [`gan`]: the one interface every GAN implements ([`Gan`]: a training iteration, samples,
//!   state) and the one way to update a player with the other frozen ([`update`])
//! - [`run_folder`]: an output folder for a run — created with a clear error, cleaned of stale
//!   temporary files, never mixed with another run (`--resume` / `--overwrite`)
//! - [`interrupt`]: Ctrl-C stops after the current step and keeps a checkpoint
//! - [`progress`]: a progress bar on a terminal, plain lines in CI

pub mod gan;
pub mod interrupt;
pub mod progress;
pub mod run_folder;

pub use gan::{apply, gradients, sample_in_chunks, update, Gan, StepStats};
