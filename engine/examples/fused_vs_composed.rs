//! Fused elementwise kernels against their compositions from the remaining primitives, at the
//! sizes the GANs train at: [256, 128] (the toy nets), [100, 1200] (the 2014 GAN's layers) and
//! [64, 128, 7, 7] (DCGAN), f32 on the CPU, forward and forward + backward.
//!
//! A fused kernel stays a backend primitive only where it pays (≥ 1.2× on a training hot path);
//! the table this prints is the measurement behind that choice (see `storage.rs`). Sub and
//! minimum, measured the same way while they were kernels (commit ede6a73), are compositions now.
//!
//! Run: `cargo run --release -p minmax-engine --example fused_vs_composed [-- REPS RUNS]`
//! (REPS ops per timed run, default 20; median of RUNS runs, default 9).

use std::time::Instant;

use minmax_engine::{Generator, Result, Tensor};

type Op = fn(&Tensor, &Tensor) -> Result<Tensor>;

/// A 0-d constant with x's dtype and device (broadcast by the binary ops).
fn c(x: &Tensor, v: f64) -> Result<Tensor> {
    Tensor::full_with(&[], v, x.dtype(), &x.device())
}

// ---- compositions, each bit-exact with the fused kernel on the CPU unless noted -----------------

fn relu_c(x: &Tensor, _: &Tensor) -> Result<Tensor> {
    Tensor::where_cond(&x.gt_scalar(0.0)?, x, &c(x, 0.0)?)
}
fn leaky_c(x: &Tensor, _: &Tensor) -> Result<Tensor> {
    Tensor::where_cond(&x.gt_scalar(0.0)?, x, &x.mul(&c(x, 0.2)?)?)
}
/// The stable two-branch form of the fused kernel, op for op.
fn sigmoid_c(x: &Tensor, _: &Tensor) -> Result<Tensor> {
    let pos = x.neg()?.exp()?.add_scalar(1.0)?.recip()?;
    let e = x.exp()?;
    let neg = e.div(&e.add_scalar(1.0)?)?;
    Tensor::where_cond(&x.ge_scalar(0.0)?, &pos, &neg)
}
/// 2·σ(2x) − 1 (within rounding of libm's tanh, not bit-exact).
fn tanh_c(x: &Tensor, y: &Tensor) -> Result<Tensor> {
    sigmoid_c(&x.mul_scalar(2.0)?, y)?.affine(2.0, -1.0)
}
fn affine_c(x: &Tensor, _: &Tensor) -> Result<Tensor> {
    x.mul(&c(x, 1.5)?)?.add(&c(x, 0.25)?)
}

const CASES: &[(&str, Op, Op)] = &[
    ("relu", |x, _| x.relu(), relu_c),
    ("leaky_relu(0.2)", |x, _| x.leaky_relu(0.2), leaky_c),
    ("sigmoid", |x, _| x.sigmoid(), sigmoid_c),
    ("tanh", |x, _| x.tanh(), tanh_c),
    ("affine(1.5, 0.25)", |x, _| x.affine(1.5, 0.25), affine_c),
];

/// Median over `runs` of the time of `reps` calls, in ms per call.
fn median_ms(runs: usize, reps: usize, mut f: impl FnMut() -> Result<()>) -> Result<f64> {
    f()?; // warm the allocator and the thread pool
    let mut t = Vec::with_capacity(runs);
    for _ in 0..runs {
        let s = Instant::now();
        for _ in 0..reps {
            f()?;
        }
        t.push(s.elapsed().as_secs_f64() * 1e3 / reps as f64);
    }
    t.sort_by(f64::total_cmp);
    Ok(t[runs / 2])
}

fn main() -> Result<()> {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let reps = args.first().copied().unwrap_or(20);
    let runs = args.get(1).copied().unwrap_or(9);
    let shapes: [&[usize]; 3] = [&[256, 128], &[100, 1200], &[64, 128, 7, 7]];
    println!("f32, CPU, median of {runs} runs of {reps} calls, ms per call");
    println!("| op | shape | fwd fused | fwd composed | ratio | fwd+bwd fused | fwd+bwd composed | ratio |");
    println!("|---|---|---|---|---|---|---|---|");
    let mut g = Generator::new(0);
    for (name, fused, composed) in CASES {
        for shape in shapes {
            let x = Tensor::randn(shape, &mut g);
            let y = Tensor::randn(shape, &mut g);
            let fwd = |op: Op| median_ms(runs, reps, || op(&x, &y).map(drop));
            let both = |op: Op| {
                median_ms(runs, reps, || {
                    let (a, b) = (x.detach().requires_grad_(), y.detach().requires_grad_());
                    op(&a, &b)?.sum_all()?.backward()
                })
            };
            let (ff, fc) = (fwd(*fused)?, fwd(*composed)?);
            let (bf, bc) = (both(*fused)?, both(*composed)?);
            println!(
                "| {name} | {shape:?} | {ff:.3} | {fc:.3} | {:.2}× | {bf:.3} | {bc:.3} | {:.2}× |",
                fc / ff,
                bc / bf
            );
        }
    }
    Ok(())
}
