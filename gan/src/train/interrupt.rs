//! Ctrl-C during training: the first press asks the training loop to stop after the step it is
//! in, write a checkpoint and say how to resume; a second press exits at once (exit code 130).
//!
//! The commands that train with checkpoints (`reproduce` and `train`) call [`install`]; their
//! training loop (`goodfellow2014::train_with`) polls [`requested`] before every step. Other
//! commands (the labs, which write their outputs at the end) keep the default behaviour: Ctrl-C
//! ends the process.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

static REQUESTED: AtomicBool = AtomicBool::new(false);
static PRESSES: AtomicUsize = AtomicUsize::new(0);

/// Catch Ctrl-C (SIGINT; also SIGTERM) for the rest of the process. Safe to call more than once.
pub fn install() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let r = ctrlc::set_handler(|| {
            if PRESSES.fetch_add(1, Ordering::SeqCst) == 0 {
                REQUESTED.store(true, Ordering::SeqCst);
                eprintln!("\ninterrupt: stopping after this step and writing a checkpoint (Ctrl-C again to exit now)");
            } else {
                eprintln!("\ninterrupt: exiting now, without a new checkpoint");
                std::process::exit(130);
            }
        });
        if let Err(e) = r {
            eprintln!("warning: Ctrl-C will end the run without a checkpoint ({e})");
        }
    });
}

/// Whether a stop was asked for (Ctrl-C, or [`request`]).
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}

/// Ask the training loops to stop after their current step, as Ctrl-C does (used by tests).
pub fn request() {
    REQUESTED.store(true, Ordering::SeqCst);
}

/// Forget an earlier request (tests that run several trainings in one process).
pub fn clear() {
    REQUESTED.store(false, Ordering::SeqCst);
    PRESSES.store(0, Ordering::SeqCst);
}
