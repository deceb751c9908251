//! GPU-vs-CPU parity. The CPU backend is the oracle: every op of the registry (forward and
//! backward), the primitives on awkward layouts (sizes that are not multiples of the tile sizes,
//! broadcasting, transposed and sliced views), the optimizer kernels, and short training runs
//! must agree with it within `atol + rtol·|ref|`. Each test prints the adapter it ran on.

use minmax_engine::registry::cases;
use minmax_engine::{DType, Device, Generator, Tensor};
use minmax_tests::test_gpu;

/// f32 on the GPU against an f64 (or f32) CPU reference.
const ATOL: f64 = 1e-4;
const RTOL: f64 = 1e-3;

/// Largest |gpu − cpu| and whether every element is within atol + rtol·|cpu|.
fn compare(gpu: &Tensor, cpu: &Tensor, atol: f64, rtol: f64) -> (f64, bool) {
    assert_eq!(gpu.shape(), cpu.shape(), "shapes differ");
    let g: Vec<f64> = gpu
        .to_dtype(DType::F32)
        .unwrap()
        .to_device(&Device::Cpu)
        .unwrap()
        .to_dtype(DType::F64)
        .unwrap()
        .to_vec()
        .unwrap();
    let c: Vec<f64> = cpu.to_dtype(DType::F64).unwrap().to_vec().unwrap();
    let mut worst = 0.0f64;
    let mut ok = true;
    for (a, b) in g.iter().zip(&c) {
        let e = (a - b).abs();
        if !(e <= atol + rtol * b.abs()) {
            ok = false;
        }
        worst = worst.max(if e.is_nan() { f64::INFINITY } else { e });
    }
    (worst, ok)
}

fn to_gpu_f32(t: &Tensor, dev: &Device) -> Tensor {
    let x = if t.dtype() == DType::F64 { t.to_dtype(DType::F32).unwrap() } else { t.clone() };
    x.detach().to_device(dev).unwrap()
}

/// Cases that test an f64-only property and cannot run on an f32 device; each has its own GPU
/// test below.
const F64_ONLY: &[(&str, &str)] =
    &[("to_dtype", "round trip f64 → f32 → f64; the GPU's dtype casts are checked in `casts_and_copies`")];

#[test]
fn every_registry_op_matches_the_cpu_forward_and_backward() {
    let Some(dev) = test_gpu("registry parity") else { return };
    let mut failures = Vec::new();
    let mut n = 0;
    for (k, case) in cases().iter().enumerate() {
        if let Some((_, why)) = F64_ONLY.iter().find(|(n, _)| *n == case.name) {
            println!("{:<26} f64-only case: {why}", case.name);
            continue;
        }
        let inputs = (case.inputs)(&mut Generator::new(100 + k as u64)).unwrap();
        // CPU reference in f64.
        let out_c = (case.f)(&inputs).unwrap_or_else(|e| panic!("{} (cpu): {e}", case.name));
        let up = Tensor::randn(out_c.shape(), &mut Generator::new(7)).to_dtype(DType::F64).unwrap();
        let wants: Vec<bool> = inputs.iter().map(|t| t.requires_grad()).collect();
        if wants.iter().any(|&w| w) {
            out_c.backward_with(&up).unwrap();
        }
        // Same case on the GPU in f32.
        let g_inputs: Vec<Tensor> = inputs
            .iter()
            .zip(&wants)
            .map(|(t, &w)| {
                let x = to_gpu_f32(t, &dev);
                if w {
                    x.requires_grad_()
                } else {
                    x
                }
            })
            .collect();
        let out_g = (case.f)(&g_inputs).unwrap_or_else(|e| panic!("{} (gpu): {e}", case.name));
        assert!(out_g.device().is_gpu(), "{}: output left the GPU", case.name);
        let (e_out, ok_out) = compare(&out_g, &out_c, ATOL, RTOL);
        let mut line = format!("{:<26} out max|Δ| {e_out:.2e}", case.name);
        let mut ok = ok_out;
        if wants.iter().any(|&w| w) {
            out_g.backward_with(&to_gpu_f32(&up, &dev)).unwrap();
            for (i, (tc, tg)) in inputs.iter().zip(&g_inputs).enumerate().filter(|(i, _)| wants[*i]) {
                let gc = tc.grad().unwrap();
                let gg = tg.grad().unwrap_or_else(|| panic!("{}: input {i} got no gradient on the GPU", case.name));
                assert!(gg.device().is_gpu(), "{}: gradient left the GPU", case.name);
                let (e, o) = compare(&gg, &gc, ATOL, RTOL);
                line += &format!("  grad{i} {e:.2e}");
                ok &= o;
            }
        }
        println!("{line}{}", if ok { "" } else { "  MISMATCH" });
        if !ok {
            failures.push(line);
        }
        n += 1;
    }
    println!("{n} ops compared on the GPU");
    assert!(failures.is_empty(), "GPU/CPU mismatches:\n{}", failures.join("\n"));
}
