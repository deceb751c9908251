//! Cross-crate tests, and the helpers they share.

use minmax_engine::Device;

/// The GPU the GPU tests run on, printed so every log says which adapter was used. Without an
/// adapter the test fails when `MINMAX_REQUIRE_GPU=1` (as `.ci/run` sets), and otherwise returns
/// `None` after saying loudly that it did not run.
pub fn test_gpu(test: &str) -> Option<Device> {
    match Device::gpu(None) {
        Ok(d) => {
            println!("{test}: running on {d}");
            Some(d)
        }
        Err(e) => {
            if std::env::var("MINMAX_REQUIRE_GPU").as_deref() == Ok("1") {
                panic!("{test}: MINMAX_REQUIRE_GPU=1 but no GPU adapter could be opened: {e}");
            }
            eprintln!("{test}: NOT RUN — no GPU adapter ({e}); set MINMAX_REQUIRE_GPU=1 to make this an error");
            None
        }
    }
}
