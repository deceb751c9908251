//! Unit tests of the wgpu context itself (errors come back as results; no parity tests here:
//! those are in `tests/gpu.rs`).

use super::*;

/// The default adapter's context, or `None` after a loud SKIPPED line (a failure when
/// MINMAX_REQUIRE_GPU=1).
fn context(test: &str) -> Option<Arc<GpuContext>> {
    match crate::Device::gpu(None) {
        Ok(crate::Device::Gpu(g)) => Some(g.context().clone()),
        other => {
            let why = match other {
                Err(e) => e.to_string(),
                _ => "no GPU device".into(),
            };
            if std::env::var("MINMAX_REQUIRE_GPU").as_deref() == Ok("1") {
                panic!("{test}: MINMAX_REQUIRE_GPU=1 but {why}");
            }
            use std::io::Write;
            let _ = writeln!(std::io::stderr().lock(), "SKIPPED: {test}: {why}");
            None
        }
    }
}

#[test]
fn wgpu_errors_come_back_as_results_not_panics() {
    let Some(ctx) = context("wgpu_errors_come_back_as_results_not_panics") else { return };
    // A grid past the per-dimension limit is a validation error wgpu reports asynchronously
    // (it used to panic in the error handler): the next read-back returns it.
    let out = ctx.alloc(1024).unwrap();
    let p = vec![0u32; 8];
    ctx.dispatch(Shader::Copy, "fill", &[], &[(4, &out)], &p, [ctx.max_workgroups_per_dimension() + 1, 1, 1]);
    let e = ctx.read(&out, 16).unwrap_err().to_string();
    assert!(e.contains("GPU error on") && e.contains("not valid"), "{e}");
    // Reported once; the device goes on working.
    assert_eq!(ctx.read(&out, 16).unwrap().len(), 16);
    // Buffers past the adapter's limit: an error naming the size, for allocations and uploads.
    let huge = ctx.limits.max_buffer_size.max(ctx.limits.max_storage_buffer_binding_size as u64) + 1;
    let e = ctx.create_storage_buffer(huge, true).unwrap_err().to_string();
    assert!(e.contains(&format!("{huge} bytes")) && e.contains("limit"), "{e}");
    let dev = crate::Device::Gpu(crate::device::GpuDevice(ctx.clone()));
    let e = crate::Tensor::full_with(&[(huge / 4 + 1) as usize], 0.0, crate::DType::F32, &dev).unwrap_err().to_string();
    assert!(e.contains("Tensor::full_with") && e.contains("limit"), "{e}");
}
