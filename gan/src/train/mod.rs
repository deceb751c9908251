//! What the training loops share, apart from the models themselves:
//!
//! - [`run_folder`]: an output folder for a run — created with a clear error, cleaned of stale
//!   temporary files, never mixed with another run (`--resume` / `--overwrite`)
//! - [`interrupt`]: Ctrl-C stops after the current step and keeps a checkpoint
//! - [`progress`]: a progress bar on a terminal, plain lines in CI

pub mod interrupt;
pub mod progress;
pub mod run_folder;
