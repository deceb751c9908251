//! The CPU backend on every instruction set it dispatches to. The `gemm` crate picks its matrix
//! kernels when the program starts: AVX-512 where the CPU has it, else AVX2 + FMA, else plain
//! scalar code. A test on one machine only meets one of them, so this file runs its own check
//! again under `qemu-x86_64` emulating older CPUs — Haswell (AVX2 + FMA, no AVX-512) and Nehalem
//! (neither) — and once natively. The check: matrix products of the shapes the GANs use (and odd
//! ones that exercise the kernels' edges), f32 and f64, plain and transposed operands, against a
//! plain triple loop in f64.
//!
//! Without `qemu-x86_64` (Debian package `qemu-user`, installed by `scripts/install-deps.sh`) the
//! emulated runs say SKIPPED, and fail under `MINMAX_REQUIRE_QEMU=1` (as `scripts/test.sh` sets).

use minmax_engine::{DType, Generator, Tensor};
use minmax_tests::{or_skip, say};

const CHILD: &str = "MINMAX_CPU_PATHS_CHILD";
const REQUIRE_QEMU: &str = "MINMAX_REQUIRE_QEMU";

/// max |minmax − loop| / (1 + |loop|) over one product, in f64.
fn worst_error(m: usize, k: usize, n: usize, dtype: DType, transposed: bool, rng: &mut Generator) -> f64 {
    let a = Tensor::randn(&[m, k], rng).to_dtype(dtype).unwrap();
    let b = if transposed {
        Tensor::randn(&[n, k], rng).to_dtype(dtype).unwrap().t().unwrap() // [k, n] view, column-major
    } else {
        Tensor::randn(&[k, n], rng).to_dtype(dtype).unwrap()
    };
    let got = a.matmul(&b).unwrap().to_dtype(DType::F64).unwrap().to_vec::<f64>().unwrap();
    let av = a.to_dtype(DType::F64).unwrap().to_vec::<f64>().unwrap();
    let bv = b.contiguous().unwrap().to_dtype(DType::F64).unwrap().to_vec::<f64>().unwrap();
    let mut worst = 0f64;
    for i in 0..m {
        for j in 0..n {
            let want: f64 = (0..k).map(|p| av[i * k + p] * bv[p * n + j]).sum();
            worst = worst.max((got[i * n + j] - want).abs() / (1.0 + want.abs()));
        }
    }
    worst
}

/// The check itself; returns a line per failing case.
fn check_products() -> Vec<String> {
    let mut rng = Generator::new(7);
    let shapes = [(1, 1, 1), (3, 5, 7), (17, 33, 9), (100, 100, 120), (64, 200, 48), (100, 784, 240), (130, 70, 257)];
    let mut bad = Vec::new();
    for &(m, k, n) in &shapes {
        for (dtype, tol) in [(DType::F32, 2e-5 * (k as f64).sqrt()), (DType::F64, 1e-13 * (k as f64).sqrt())] {
            for transposed in [false, true] {
                let e = worst_error(m, k, n, dtype, transposed, &mut rng);
                if !(e <= tol) {
                    bad.push(format!("{m}x{k} @ {k}x{n} {dtype:?} transposed={transposed}: error {e:e} > {tol:e}"));
                }
            }
        }
    }
    bad
}

#[test]
fn matrix_products_are_right_on_this_cpu() {
    let bad = check_products();
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    say(&format!("cpu_paths: all products right with {}", instruction_sets()));
}

/// What this CPU offers of what gemm dispatches on.
fn instruction_sets() -> String {
    #[cfg(target_arch = "x86_64")]
    {
        format!(
            "avx512f={} avx2={} fma={}",
            std::arch::is_x86_feature_detected!("avx512f"),
            std::arch::is_x86_feature_detected!("avx2"),
            std::arch::is_x86_feature_detected!("fma")
        )
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        "a non-x86 CPU".to_string()
    }
}

#[test]
fn matrix_products_are_right_on_older_cpus() {
    if std::env::var(CHILD).is_ok() {
        return; // the emulated child runs only the check above
    }
    let probe = std::process::Command::new("qemu-x86_64").arg("-version").output();
    let found = match probe {
        Ok(o) if o.status.success() => Ok(()),
        Ok(o) => Err(format!("qemu-x86_64 -version exited with {}", o.status)),
        Err(e) => Err(format!("qemu-x86_64 not found ({e}); install the Debian package qemu-user")),
    };
    if or_skip("matrix_products_are_right_on_older_cpus", "no CPU emulator", found, REQUIRE_QEMU).is_none() {
        return;
    }
    let exe = std::env::current_exe().unwrap();
    // Haswell: AVX2 + FMA, gemm's `fma` kernels. Nehalem: SSE4.2 only, gemm's scalar kernels.
    // (QEMU emulates no AVX-512, so those kernels are checked by the native run.)
    for cpu in ["Haswell", "Nehalem"] {
        let out = std::process::Command::new("qemu-x86_64")
            .args(["-cpu", cpu])
            .arg(&exe)
            .args(["--exact", "matrix_products_are_right_on_this_cpu", "--nocapture", "--test-threads", "1"])
            .env(CHILD, cpu)
            .output()
            .unwrap();
        let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "under qemu -cpu {cpu}:\n{stdout}\n{stderr}");
        let want =
            if cpu == "Haswell" { "avx512f=false avx2=true fma=true" } else { "avx512f=false avx2=false fma=false" };
        assert!(
            stderr.contains(&format!("all products right with {want}")),
            "under qemu -cpu {cpu} the check did not run on the expected instruction sets ({want}):\n{stdout}\n{stderr}"
        );
        say(&format!("cpu_paths: matrix products right on an emulated {cpu} ({want})"));
    }
}
