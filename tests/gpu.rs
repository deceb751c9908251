//! GPU-vs-CPU parity. The CPU backend is the oracle: every op of the registry (forward and
//! backward), the primitives on awkward layouts (sizes that are not multiples of the tile sizes,
//! broadcasting, transposed and sliced views), the optimizer kernels, and short training runs
//! must agree with it within `atol + rtol·|ref|`. Each test prints the adapter it ran on.

use minmax_engine::registry::cases;
use minmax_engine::{DType, Device, Generator, Tensor};
use minmax_gan::train::Gan as _;
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

fn f32_cpu(t: &Tensor) -> Vec<f32> {
    t.to_device(&Device::Cpu).unwrap().to_vec::<f32>().unwrap()
}

fn assert_close(what: &str, gpu: &Tensor, cpu: &Tensor) {
    let (e, ok) = compare(gpu, cpu, ATOL, RTOL);
    println!("{what:<44} max|Δ| {e:.2e}");
    assert!(ok, "{what}: GPU and CPU differ (max |Δ| {e:.3e})");
}

#[test]
fn awkward_sizes_views_and_large_grids() {
    let Some(dev) = test_gpu("awkward sizes") else { return };
    let mut g = Generator::new(3);
    // Matmul sizes that are not multiples of the 64 × 64 × 16 tiles, transposed operands (no
    // copy), a batch, and a broadcast batch (stride 0).
    // M, N ≥ 128 take the 128 × 128 tiles (matmul.wgsl with `TILE` = 128), the rest the 64 × 64 ones.
    for &(m, k, n) in
        &[(1, 1, 1), (17, 33, 9), (65, 64, 63), (130, 70, 100), (3, 200, 5), (129, 33, 130), (200, 300, 257)]
    {
        let a = Tensor::randn(&[m, k], &mut g);
        let b = Tensor::randn(&[k, n], &mut g);
        let (ag, bg) = (a.to_device(&dev).unwrap(), b.to_device(&dev).unwrap());
        assert_close(&format!("matmul {m}x{k}x{n}"), &ag.matmul(&bg).unwrap(), &a.matmul(&b).unwrap());
        let at = Tensor::randn(&[k, m], &mut g);
        let bt = Tensor::randn(&[n, k], &mut g);
        let c = at.t().unwrap().matmul(&bt.t().unwrap()).unwrap();
        let cg = at.to_device(&dev).unwrap().t().unwrap().matmul(&bt.to_device(&dev).unwrap().t().unwrap()).unwrap();
        assert_close(&format!("matmul (Aᵀ)(Bᵀ) {m}x{k}x{n}"), &cg, &c);
    }
    let a = Tensor::randn(&[3, 40, 70], &mut g);
    let b = Tensor::randn(&[70, 50], &mut g);
    assert_close(
        "matmul batched [3,40,70]·[70,50]",
        &a.to_device(&dev).unwrap().matmul(&b.to_device(&dev).unwrap()).unwrap(),
        &a.matmul(&b).unwrap(),
    );
    let a = Tensor::randn(&[2, 150, 40], &mut g);
    let b = Tensor::randn(&[40, 140], &mut g);
    assert_close(
        "matmul batched large tiles [2,150,40]·[40,140]",
        &a.to_device(&dev).unwrap().matmul(&b.to_device(&dev).unwrap()).unwrap(),
        &a.matmul(&b).unwrap(),
    );
    let a4 = Tensor::randn(&[2, 3, 5, 7], &mut g).permute(&[1, 0, 2, 3]).unwrap();
    let b4 = Tensor::randn(&[3, 2, 7, 4], &mut g);
    assert_close(
        "matmul 4-d, permuted batch dims",
        &a4.to_device(&dev).unwrap().matmul(&b4.to_device(&dev).unwrap()).unwrap(),
        &a4.matmul(&b4).unwrap(),
    );

    // Reductions over several axes of a permuted view, and argmax with ties.
    let x = Tensor::randn(&[5, 7, 9], &mut g).permute(&[2, 0, 1]).unwrap();
    let xg = x.to_device(&dev).unwrap();
    assert_close(
        "sum over axes [0, 2] of a permuted view",
        &xg.sum(&[0, 2], false).unwrap(),
        &x.sum(&[0, 2], false).unwrap(),
    );
    assert_close("max over axis 1", &xg.max(&[1], true).unwrap(), &x.max(&[1], true).unwrap());
    let ties = Tensor::new(vec![1f32, 3., 3., 0., 2., 2., 2., 2.], &[2, 4]).unwrap();
    let am = ties.to_device(&dev).unwrap().argmax(1, false).unwrap();
    assert_eq!(
        am.to_device(&Device::Cpu).unwrap().to_vec::<i64>().unwrap(),
        vec![1, 0],
        "argmax keeps the first maximum"
    );
    // More output rows than one grid dimension holds (65,535 workgroups): the grid folds to 2-D.
    let rows = Tensor::randn(&[70_000, 3], &mut g);
    assert_close(
        "row sums of [70000, 3]",
        &rows.to_device(&dev).unwrap().sum(&[1], false).unwrap(),
        &rows.sum(&[1], false).unwrap(),
    );
    // And more than 65,535 × 256 elements for a 1-D kernel.
    let n = 65_535 * 256 + 1000;
    let big = Tensor::rand(&[n], -1.0, 1.0, &mut g);
    let yb = big.to_device(&dev).unwrap().mul_scalar(2.0).unwrap().exp().unwrap();
    let yc = big.mul_scalar(2.0).unwrap().exp().unwrap();
    let (gv, cv) = (f32_cpu(&yb), yc.to_vec::<f32>().unwrap());
    let worst = gv.iter().zip(&cv).map(|(a, b)| ((a - b) / b).abs()).fold(0f32, f32::max);
    println!("exp(2x) over {n} elements                     max rel |Δ| {worst:.2e}");
    assert!(worst < 1e-5);

    // Broadcasting through expand and a narrowed (offset) view.
    let p = Tensor::randn(&[4, 1, 6], &mut g);
    let q = Tensor::randn(&[10, 6], &mut g).narrow(0, 3, 5).unwrap();
    assert_close(
        "[4,1,6] + narrow([10,6])[3..8] broadcast",
        &p.to_device(&dev).unwrap().add(&q.to_device(&dev).unwrap()).unwrap(),
        &p.add(&q).unwrap(),
    );
}

#[test]
fn casts_copies_and_clear_errors() {
    let Some(dev) = test_gpu("casts") else { return };
    let x = Tensor::new(vec![-2.7f32, -0.5, 0.0, 0.5, 3.9, 1e6], &[2, 3]).unwrap();
    let xg = x.to_device(&dev).unwrap();
    assert_eq!(f32_cpu(&xg), x.to_vec::<f32>().unwrap(), "upload and read-back are exact");
    let ic = x.to_dtype(DType::I64).unwrap().to_vec::<i64>().unwrap();
    let ig = xg.to_dtype(DType::I64).unwrap().to_device(&Device::Cpu).unwrap().to_vec::<i64>().unwrap();
    assert_eq!(ig, ic, "f32 → i64 truncates toward zero like the CPU");
    let back = xg.to_dtype(DType::I64).unwrap().to_dtype(DType::F32).unwrap();
    assert_eq!(f32_cpu(&back), vec![-2., 0., 0., 0., 3., 1e6]);
    // cat of a transposed view and a contiguous tensor.
    let a = Tensor::randn(&[3, 2], &mut Generator::new(1)).t().unwrap();
    let b = Tensor::randn(&[2, 4], &mut Generator::new(2));
    let c = Tensor::cat(&[&a, &b], 1).unwrap();
    let cg = Tensor::cat(&[&a.to_device(&dev).unwrap(), &b.to_device(&dev).unwrap()], 1).unwrap();
    assert_eq!(f32_cpu(&cg), c.to_vec::<f32>().unwrap());
    // i64 comparisons give f32 0/1 as on the CPU.
    let l = Tensor::new(vec![1i64, 5, 3], &[3]).unwrap();
    let m = Tensor::new(vec![2i64, 5, 1], &[3]).unwrap();
    assert_eq!(f32_cpu(&l.to_device(&dev).unwrap().eq(&m.to_device(&dev).unwrap()).unwrap()), vec![0., 1., 0.]);
    // Errors say what went wrong.
    let e = Tensor::new(vec![1.0f64], &[1]).unwrap().to_device(&dev).unwrap_err().to_string();
    assert!(e.contains("f64") && e.contains("to_dtype"), "{e}");
    let e = Tensor::new(vec![1i64 << 40], &[1]).unwrap().to_device(&dev).unwrap_err().to_string();
    assert!(e.contains("does not fit"), "{e}");
    let e = xg.add(&x).unwrap_err().to_string();
    assert!(e.contains("different devices") && e.contains("cpu"), "{e}");
    let e = Device::parse("gpu:no-such-adapter-anywhere").unwrap_err().to_string();
    assert!(e.contains("no-such-adapter-anywhere") && e.contains("found"), "{e}");
    println!("errors: {e}");
}

#[test]
fn out_of_range_indices_are_refused_as_on_the_cpu() {
    let Some(dev) = test_gpu("index checks") else { return };
    // The GPU kernels cannot report an error: the op layer checks the indices for both devices.
    let logits = Tensor::zeros(&[2, 3]);
    let labels = Tensor::new(vec![1i64, 3], &[2]).unwrap();
    let on_cpu = logits.cross_entropy(&labels).unwrap_err().to_string();
    let on_gpu = logits.to_device(&dev).unwrap().cross_entropy(&labels.to_device(&dev).unwrap()).unwrap_err();
    assert_eq!(on_gpu.to_string(), on_cpu);
    assert!(on_cpu.contains("cross_entropy: index 3") && on_cpu.contains("0..3"), "{on_cpu}");
    let x = Tensor::randn(&[4, 2], &mut Generator::new(3)).to_device(&dev).unwrap();
    let e = x.index_select(0, &Tensor::new(vec![0i64, 4], &[2]).unwrap().to_device(&dev).unwrap()).unwrap_err();
    assert!(e.to_string().contains("index_select: index 4") && e.to_string().contains("0..4"), "{e}");
    let e = x.gather(1, &Tensor::new(vec![0i64, 1, 0], &[3, 1]).unwrap().to_device(&dev).unwrap()).unwrap_err();
    assert!(e.to_string().contains("gather") && e.to_string().contains("[3, 1]"), "{e}");
}

#[test]
fn dropout_masks_are_identical_on_both_devices() {
    let Some(dev) = test_gpu("dropout") else { return };
    let x = Tensor::ones(&[1000, 37]);
    let yc = x.dropout(0.3, true, &mut Generator::new(11)).unwrap();
    let yg = x.to_device(&dev).unwrap().dropout(0.3, true, &mut Generator::new(11)).unwrap();
    let (c, gv) = (yc.to_vec::<f32>().unwrap(), f32_cpu(&yg));
    assert_eq!(c, gv, "the counter-based mask is the same on both backends");
    let kept = c.iter().filter(|&&v| v > 0.0).count() as f64 / c.len() as f64;
    assert!((kept - 0.7).abs() < 0.01, "kept {kept}");
}

#[test]
fn optimizer_kernels_match_the_cpu() {
    use minmax_engine::optim::{Adam, Optimizer, Sgd};
    let Some(dev) = test_gpu("optimizers") else { return };
    type MakeOpt = fn(Vec<Tensor>) -> Box<dyn Optimizer>;
    let makers: Vec<(&str, MakeOpt)> = vec![
        ("sgd", |p| Box::new(Sgd::new(p, 0.1).unwrap())),
        ("sgd momentum", |p| Box::new(Sgd::with_momentum(p, 0.1, 0.9).unwrap())),
        ("adam", |p| Box::new(Adam::new(p, 1e-2, (0.5, 0.999)).unwrap())),
    ];
    for (name, make) in makers {
        let mut g = Generator::new(5);
        let p0 = Tensor::randn(&[33, 7], &mut g);
        let before = Tensor::new(p0.to_vec::<f32>().unwrap(), &[33, 7]).unwrap(); // a copy, not a view
        let pc = p0.clone().detach().contiguous().unwrap().requires_grad_();
        let pg = p0.to_device(&dev).unwrap().detach().requires_grad_();
        let (mut oc, mut og) = (make(vec![pc.clone()]), make(vec![pg.clone()]));
        for step in 0..5 {
            let target = Tensor::randn(&[33, 7], &mut Generator::new(step));
            for (p, o, t) in [(&pc, &mut oc, target.clone()), (&pg, &mut og, target.to_device(&dev).unwrap())] {
                o.zero_grad();
                p.sub(&t).unwrap().sqr().unwrap().sum_all().unwrap().backward().unwrap();
                o.step().unwrap();
            }
        }
        let moved = pc.sub(&before).unwrap().abs().unwrap().max_all().unwrap().item().unwrap();
        assert!(moved > 1e-3, "{name}: the CPU parameters did not move ({moved})");
        assert_close(&format!("{name}: parameters after 5 steps (moved {moved:.3})"), &pg, &pc);
    }
}

#[test]
fn second_order_gradients_run_on_the_gpu() {
    // The WGAN-GP penalty: (‖∇x D(x)‖ − 1)², differentiated again with respect to D's weights.
    let Some(dev) = test_gpu("double backward") else { return };
    let mut g = Generator::new(9);
    let w1 = Tensor::randn(&[6, 16], &mut g).mul_scalar(0.5).unwrap();
    let w2 = Tensor::randn(&[16, 1], &mut g).mul_scalar(0.5).unwrap();
    let x = Tensor::randn(&[8, 6], &mut g);
    let run = |dev: &Device, dtype: DType| -> (Tensor, Tensor, Tensor) {
        let mv = |t: &Tensor| t.to_dtype(dtype).unwrap().to_device(dev).unwrap().detach();
        let (w1, w2, x) = (mv(&w1).requires_grad_(), mv(&w2).requires_grad_(), mv(&x).requires_grad_());
        let d = x.matmul(&w1).unwrap().tanh().unwrap().matmul(&w2).unwrap().sum_all().unwrap();
        let gx = minmax_engine::grad(&[d], None, &[x.clone()], true).unwrap().remove(0);
        let norm = gx.sqr().unwrap().sum(&[1], false).unwrap().sqrt().unwrap();
        let pen = norm.affine(1.0, -1.0).unwrap().sqr().unwrap().mean_all().unwrap();
        pen.backward().unwrap();
        (pen, w1.grad().unwrap(), w2.grad().unwrap())
    };
    let (pc, g1c, g2c) = run(&Device::Cpu, DType::F64);
    let (pg, g1g, g2g) = run(&dev, DType::F32);
    assert_close("gradient penalty", &pg, &pc);
    assert_close("∂penalty/∂W1 (through double backward)", &g1g, &g1c);
    assert_close("∂penalty/∂W2 (through double backward)", &g2g, &g2c);
}

/// Train the same model from the same seed on both devices and compare every step's losses.
fn train_both(name: &str, dcgan: bool, steps: usize, dev: &Device) {
    use minmax_engine::nn::Module;
    use minmax_engine::optim::{Adam, Optimizer};
    let mut losses: Vec<Vec<(f64, f64)>> = Vec::new();
    for d in [Device::Cpu, dev.clone()] {
        let mut g = Generator::new(0);
        // The constructors the GANs train with (as `minmax bench` times them).
        let (gen, disc): (Box<dyn Module>, Box<dyn Module>) = if dcgan {
            let (g, d) = minmax_gan::bench::dcgan(&mut g).unwrap();
            (Box::new(g), Box::new(d))
        } else {
            let (g, d) = minmax_gan::bench::mlp_gan(&mut g).unwrap();
            (Box::new(g), Box::new(d))
        };
        gen.to_device(&d).unwrap();
        disc.to_device(&d).unwrap();
        let mut og = Adam::new(gen.parameters(), 2e-4, (0.5, 0.999)).unwrap();
        let mut od = Adam::new(disc.parameters(), 2e-4, (0.5, 0.999)).unwrap();
        let b = 16;
        let x = if dcgan {
            Tensor::rand(&[b, 1, 28, 28], -1.0, 1.0, &mut g)
        } else {
            Tensor::rand(&[b, 784], 0.0, 1.0, &mut g)
        };
        let x = x.to_device(&d).unwrap();
        let ones = Tensor::ones(&[b, 1]).to_device(&d).unwrap();
        let zeros = Tensor::zeros(&[b, 1]).to_device(&d).unwrap();
        let mut zg = Generator::new(1);
        let mut run = Vec::new();
        for _ in 0..steps {
            let z = Tensor::randn(&[b, 100], &mut zg).to_device(&d).unwrap();
            let fake = gen.forward(&z).unwrap().detach();
            od.zero_grad();
            let ld = disc.forward(&x).unwrap().bce_with_logits(&ones).unwrap();
            let ld = ld.add(&disc.forward(&fake).unwrap().bce_with_logits(&zeros).unwrap()).unwrap();
            ld.backward().unwrap();
            od.step().unwrap();
            og.zero_grad();
            let z = Tensor::randn(&[b, 100], &mut zg).to_device(&d).unwrap();
            let lg = disc.forward(&gen.forward(&z).unwrap()).unwrap().bce_with_logits(&ones).unwrap();
            lg.backward().unwrap();
            og.step().unwrap();
            run.push((ld.item().unwrap(), lg.item().unwrap()));
        }
        losses.push(run);
    }
    for (i, (c, gp)) in losses[0].iter().zip(&losses[1]).enumerate() {
        println!("{name} step {i:>2}: loss_D cpu {:.6} gpu {:.6} | loss_G cpu {:.6} gpu {:.6}", c.0, gp.0, c.1, gp.1);
        for (a, b) in [(c.0, gp.0), (c.1, gp.1)] {
            assert!((a - b).abs() <= 1e-4 + 1e-3 * a.abs(), "{name} step {i}: cpu {a} vs gpu {b}");
        }
    }
}

#[test]
fn mlp_gan_training_matches_the_cpu_step_by_step() {
    // Maxout, dropout (same masks on both devices), linear layers, Adam.
    let Some(dev) = test_gpu("MLP GAN training") else { return };
    train_both("mlp gan", false, 8, &dev);
}

#[test]
fn dcgan_training_matches_the_cpu_step_by_step() {
    // Convolutions, transposed convolutions, batch norm (batch statistics), Adam.
    let Some(dev) = test_gpu("DCGAN training") else { return };
    train_both("dcgan", true, 4, &dev);
}

#[test]
fn goodfellow2014_gan_steps_match_on_the_gpu() {
    // The paper's setup: maxout D with dropout, SGD with momentum, the averaged generator (lerp_).
    use minmax_gan::models::goodfellow2014::{Config, Gan, OptimizerKind};
    let Some(dev) = test_gpu("goodfellow2014 on the GPU") else { return };
    let mut cfg = Config::paper().scaled_to(1);
    cfg.optimizer = OptimizerKind::Sgd;
    cfg.g_ema = 0.99;
    let means = vec![0.2f32; 784];
    let x = Tensor::rand(&[100, 784], 0.0, 1.0, &mut Generator::new(4));
    let mut runs = Vec::new();
    for d in [Device::Cpu, dev.clone()] {
        let mut gan = Gan::new(cfg.clone(), &means, 7).unwrap();
        gan.to_device(&d).unwrap();
        let mut rng = Generator::new(8);
        let steps: Vec<(f64, f64)> = (0..3)
            .map(|_| {
                let s = gan.train_step(&x, &mut rng).unwrap();
                (s.d_loss, s.g_loss)
            })
            .collect();
        let sample = gan.sample(16, &mut Generator::new(9)).unwrap();
        assert!(!sample.device().is_gpu(), "samples come back to the CPU");
        runs.push((steps, sample));
    }
    for (i, (c, g)) in runs[0].0.iter().zip(&runs[1].0).enumerate() {
        println!("step {i}: D loss cpu {:.6} gpu {:.6} | G loss cpu {:.6} gpu {:.6}", c.0, g.0, c.1, g.1);
        assert!((c.0 - g.0).abs() < 1e-4 && (c.1 - g.1).abs() < 1e-4, "step {i} differs");
    }
    assert_close("samples of the averaged generator after 3 steps", &runs[1].1, &runs[0].1);
}

#[test]
fn the_benchmark_runs_on_the_gpu_at_tiny_sizes() {
    // What scripts/bench-gpu.sh --tiny runs, so the GPU benchmark keeps working without a GPU.
    let Some(dev) = test_gpu("benchmark") else { return };
    let mut o = minmax_gan::bench::BenchOpts::new(dev);
    o.reps = 1;
    o.warmup = 0;
    o.tiny = true;
    o.gemm_sizes = Some(vec![32, 96]);
    o.only = ["gemm", "mlp", "dcgan", "conv"].iter().map(|s| s.to_string()).collect();
    minmax_gan::bench::run(&o).unwrap();
}

#[test]
fn every_image_gan_trains_on_the_gpu_like_on_the_cpu() {
    // DCGAN, conditional DCGAN (one-hot labels, label planes), Loss-Sensitive GAN, WGAN-GP
    // (double backward through convolutions): two steps on each device from the same seed.
    use minmax_gan::models::images::{train, Model, TrainOptions};
    let Some(dev) = test_gpu("image GANs") else { return };
    let mut g = Generator::new(0);
    let images: Vec<f32> = (0..8 * 784).map(|_| g.uniform() as f32).collect();
    let data = minmax_gan::data::Dataset::new(images, (0..8).map(|i| i as u8).collect(), 28, 28).unwrap();
    for m in Model::ALL {
        let mut logs = Vec::new();
        for d in [Device::Cpu, dev.clone()] {
            let mut gan = m.build(16, &mut Generator::new(1), &d).unwrap();
            let o = TrainOptions { steps: 2, batch: 8, seed: 2, device: d.clone(), log_every: 1 };
            logs.push(train(gan.as_mut(), &data, &o, |_, _| Ok(())).unwrap());
        }
        for (c, gp) in logs[0].iter().zip(&logs[1]) {
            println!("{} step {}: D loss cpu {:.5} gpu {:.5}", m.name(), c.step, c.stats.d_loss, gp.stats.d_loss);
            let (a, b) = (c.stats.d_loss, gp.stats.d_loss);
            assert!((a - b).abs() <= 1e-3 * (1.0 + a.abs()), "{}: step {} differs: {a} vs {b}", m.name(), c.step);
        }
    }
}
