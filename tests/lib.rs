//! Cross-crate tests, and the helpers they share: where a test gets its GPU adapter or its data,
//! and how it says, loudly, that it did not run.
//!
//! libtest captures what `print!`/`eprint!` write and shows it only for failing tests, so a test
//! that skips by printing would pass as a quiet `ok`. [`say`] writes to the stderr handle itself,
//! which the capture does not replace: its lines appear in every `cargo test` log. A missing
//! adapter or data set fails the test instead of skipping it when `MINMAX_REQUIRE_GPU=1` or
//! `MINMAX_REQUIRE_DATA=1` is set (as `scripts/test.sh` does).

use std::fmt::Display;
use std::io::Write;
use std::sync::Once;

use minmax_engine::Device;
use minmax_gan::data::{load_mnist, MnistSource, Splits};

/// Set to 1: a GPU test without an adapter fails instead of skipping.
pub const REQUIRE_GPU: &str = "MINMAX_REQUIRE_GPU";
/// Set to 1: a test without its data set fails instead of skipping.
pub const REQUIRE_DATA: &str = "MINMAX_REQUIRE_DATA";

/// Print `line` to stderr past libtest's output capture, so it shows for passing tests too.
pub fn say(line: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{line}");
    let _ = err.flush();
}

/// Whether the environment variable `var` is set to 1.
fn required(var: &str) -> bool {
    std::env::var(var).as_deref() == Ok("1")
}

/// `Some(value)` when `found` is `Ok`. Otherwise the test does not run: it panics when `var` is 1,
/// and else says `SKIPPED: TEST: WHAT (ERROR)` past the capture and returns `None`.
pub fn or_skip<T, E: Display>(test: &str, what: &str, found: Result<T, E>, var: &str) -> Option<T> {
    match found {
        Ok(v) => Some(v),
        Err(e) if required(var) => panic!("{test}: {var}=1 but {what}: {e}"),
        Err(e) => {
            say(&format!("SKIPPED: {test}: {what} ({e}); set {var}=1 to make this a failure"));
            None
        }
    }
}

/// The GPU the GPU tests run on. The first test of a test binary that opens it names the adapter
/// past the capture (once per binary); each test also prints it into its own captured output.
/// Without an adapter: see [`or_skip`] with [`REQUIRE_GPU`].
pub fn test_gpu(test: &str) -> Option<Device> {
    static NAMED: Once = Once::new();
    let dev = or_skip(test, "no GPU adapter could be opened", Device::gpu(None), REQUIRE_GPU)?;
    NAMED.call_once(|| say(&format!("GPU tests of `{}` run on {dev}", test_binary())));
    println!("{test}: running on {dev}");
    Some(dev)
}

/// The MNIST 10k subset (train / validation / test), installed by `scripts/get-data.sh`.
/// Without it: see [`or_skip`] with [`REQUIRE_DATA`].
pub fn test_digits(test: &str) -> Option<Splits> {
    let found = load_mnist(&MnistSource::subset10k());
    or_skip(test, "the MNIST 10k subset is not installed (run scripts/get-data.sh)", found, REQUIRE_DATA)
}

/// The name of the running test binary without cargo's hash suffix, e.g. `gpu`.
fn test_binary() -> String {
    let exe = std::env::current_exe().ok();
    let stem = exe.as_deref().and_then(|p| p.file_stem()).map(|s| s.to_string_lossy().into_owned());
    let stem = stem.unwrap_or_else(|| "this test binary".into());
    match stem.rsplit_once('-') {
        Some((name, hash)) if hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()) => name.to_string(),
        _ => stem,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::{Command, Output};

    /// Run this test binary's ignored probes matching `filter` in a child process, with its
    /// output captured by libtest as usual (no `--nocapture`), and `var` set to `value` or unset.
    fn run_probes(filter: &str, var: &str, value: Option<&str>) -> Output {
        let mut cmd = Command::new(std::env::current_exe().unwrap());
        cmd.args(["--ignored", "--test-threads=1", filter]);
        match value {
            Some(v) => cmd.env(var, v),
            None => cmd.env_remove(var),
        };
        cmd.output().unwrap()
    }

    fn text(out: &Output) -> (String, String) {
        (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
    }

    #[test]
    #[ignore = "a probe: run in a child process by `skips_are_printed_past_the_capture`"]
    fn probe_skip_missing_data() {
        let found: Result<(), _> = Err("the probe's data set is missing");
        assert!(or_skip("probe", "no data", found, REQUIRE_DATA).is_none());
    }

    #[test]
    fn skips_are_printed_past_the_capture() {
        // Not required: the test passes, and the SKIPPED line is in the log of a passing test.
        let out = run_probes("probe_skip_missing_data", REQUIRE_DATA, None);
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{stdout}\n{stderr}");
        assert!(stdout.contains("probe_skip_missing_data ... ok"), "{stdout}");
        assert!(
            stderr.contains("SKIPPED: probe: no data (the probe's data set is missing); set MINMAX_REQUIRE_DATA=1"),
            "the skip was not printed past the capture:\n{stderr}"
        );
        // Required: the test fails and says why.
        let out = run_probes("probe_skip_missing_data", REQUIRE_DATA, Some("1"));
        let (stdout, stderr) = text(&out);
        assert!(!out.status.success(), "{stdout}\n{stderr}");
        assert!(stdout.contains("probe: MINMAX_REQUIRE_DATA=1 but no data"), "{stdout}\n{stderr}");
    }

    #[test]
    #[ignore = "a probe: run in a child process by `the_adapter_is_named_once_per_binary`"]
    fn probe_gpu_a() {
        test_gpu("probe a");
    }

    #[test]
    #[ignore = "a probe: run in a child process by `the_adapter_is_named_once_per_binary`"]
    fn probe_gpu_b() {
        test_gpu("probe b");
    }

    #[test]
    fn the_adapter_is_named_once_per_binary() {
        let out = run_probes("probe_gpu_", REQUIRE_GPU, None);
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{stdout}\n{stderr}");
        let named = stderr.matches("GPU tests of `minmax_tests` run on gpu(").count();
        let skipped = stderr.matches("SKIPPED: probe ").count();
        // Either an adapter, named once for both tests, or no adapter and a skip line for each.
        assert!((named, skipped) == (1, 0) || (named, skipped) == (0, 2), "{named} names, {skipped} skips:\n{stderr}");
        if let Ok(dev) = Device::gpu(None) {
            assert_eq!(named, 1, "an adapter ({dev}) is present but was not named:\n{stderr}");
        }
    }
}
