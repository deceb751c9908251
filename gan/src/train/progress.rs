//! Progress output for long runs: an indicatif bar with ETA and live numbers on a terminal; on a
//! pipe or in CI (no terminal), plain lines a few times per run instead.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

pub struct Progress {
    bar: Option<ProgressBar>,
    plain: bool,
    last_line: std::cell::Cell<Instant>,
}

impl Progress {
    /// `total` steps, `done` of them already (a resumed run); `enabled = false` prints nothing.
    pub fn new(total: u64, done: u64, enabled: bool) -> Self {
        let tty = std::io::stderr().is_terminal();
        let bar = (enabled && tty).then(|| {
            let b = ProgressBar::new(total);
            b.set_style(
                ProgressStyle::with_template("{bar:30} {pos}/{len} steps  {elapsed_precise} ETA {eta}  {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            b.set_position(done);
            b.enable_steady_tick(Duration::from_millis(500));
            b
        });
        Progress { bar, plain: enabled && !tty, last_line: std::cell::Cell::new(Instant::now()) }
    }
    pub fn step(&self, pos: u64, msg: &str) {
        if let Some(b) = &self.bar {
            b.set_position(pos);
            b.set_message(msg.to_string());
        }
    }
    /// A summary line: above the bar on a terminal; in plain mode at most every 10 seconds.
    pub fn epoch_line(&self, line: &str) {
        if let Some(b) = &self.bar {
            b.println(line);
        } else if self.plain && self.last_line.get().elapsed() >= Duration::from_secs(10) {
            eprintln!("{line}");
            self.last_line.set(Instant::now());
        }
    }
    pub fn finish(&self, line: &str) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
        if self.bar.is_some() || self.plain {
            eprintln!("{line}");
        }
    }
}
