//! `minmax bench`: the reference workloads, timed the same way as the PyTorch peer scripts
//! (`scripts/bench_torch_gpu.py` for a GPU): median of timed samples after untimed warm-up calls.
//! With `--device gpu` every tensor lives on the GPU and each sample ends with
//! `Device::synchronize`, so the clock stops when the GPU has finished, not when the kernels were
//! queued.
//!
//! (a) SGEMM GFLOP/s: square 256/512/1024 and the Goodfellow-GAN layer shapes (batch 100) on the
//!     CPU; square 1024–8192 on a GPU (`--gemm-sizes`)
//! (b) one training iteration (D step + G step, batch 100) of the Goodfellow 2014 MNIST MLP GAN
//! (c) one training iteration (D step + G step, batch 64) of a small 28×28 DCGAN
//! (d) conv2d forward and forward+backward, x [64, 64, 14, 14], w [128, 64, 4, 4], stride 2, pad 1
//! (e) one training iteration (D step + G step, batch 256) of the mode-collapse lab's 2-D toy GAN
//!
//! Iteration protocol: D step: z ~ U[−1, 1] (MLP) / N(0, 1) (DCGAN), fake = G(z).detach(),
//! loss_D = BCEwithLogits(D(x), 1) + BCEwithLogits(D(fake), 0) (two D passes), backward, step;
//! G step: fresh z, loss_G = BCEwithLogits(D(G(z)), 1), backward, step.

use std::time::Instant;

use minmax_engine::nn::Module;
use minmax_engine::optim::{Adam, Optimizer, Sgd};
use minmax_engine::{Conv2dOpts, Device, Generator, Result, Tensor};

use crate::models::goodfellow2014 as gf;
use crate::models::images::dcgan::{DcDiscriminator, DcGenerator};

pub struct BenchOpts {
    pub reps: usize,
    pub warmup: usize,
    pub only: Vec<String>,
    pub max_seconds: f64,
    pub device: Device,
    /// Square matmul sizes timed on a GPU (default 1024, 2048, 4096, 8192).
    pub gemm_sizes: Option<Vec<usize>>,
    /// Small shapes for an emulated GPU (lavapipe) or a smoke test.
    pub tiny: bool,
}

impl BenchOpts {
    /// Defaults of the command line, on `device`.
    pub fn new(device: Device) -> Self {
        BenchOpts { reps: 30, warmup: 10, only: vec![], max_seconds: 30.0, device, gemm_sizes: None, tiny: false }
    }
    fn on(&self, t: Tensor) -> Result<Tensor> {
        t.to_device(&self.device)
    }
    /// Batch size of the GAN iterations (`full` normally, 4 with `--tiny`).
    fn batch(&self, full: usize) -> usize {
        if self.tiny {
            4
        } else {
            full
        }
    }
}

#[derive(Clone, Debug)]
pub struct Stats {
    pub median_ms: f64,
    pub p25_ms: f64,
    pub p75_ms: f64,
    pub min_ms: f64,
    pub max_ms: f64,
    pub n: usize,
}

fn summarize(mut s: Vec<f64>) -> Stats {
    s.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let q = |p: f64| {
        let x = p * (s.len() - 1) as f64;
        let (lo, hi) = (x.floor() as usize, x.ceil() as usize);
        s[lo] + (s[hi] - s[lo]) * (x - lo as f64)
    };
    Stats { median_ms: q(0.5), p25_ms: q(0.25), p75_ms: q(0.75), min_ms: s[0], max_ms: s[s.len() - 1], n: s.len() }
}

/// `warmup` untimed calls, then up to `reps` samples of `inner` calls each; sampling stops early
/// once 5 samples exist and `max_seconds` have passed. Each sample waits for `device` to finish.
fn time_ms(
    mut f: impl FnMut() -> Result<()>,
    device: &Device,
    (warmup, reps, inner): (usize, usize, usize),
    max_seconds: f64,
) -> Result<Stats> {
    let w0 = Instant::now();
    for i in 0..warmup {
        f()?;
        device.synchronize()?;
        if i >= 1 && w0.elapsed().as_secs_f64() > 5.0 {
            break;
        }
    }
    let start = Instant::now();
    let mut out = Vec::new();
    for _ in 0..reps {
        let t = Instant::now();
        for _ in 0..inner {
            f()?;
        }
        device.synchronize()?;
        out.push(t.elapsed().as_secs_f64() * 1e3 / inner as f64);
        if out.len() >= 5 && start.elapsed().as_secs_f64() > max_seconds {
            break;
        }
    }
    Ok(summarize(out))
}

fn row(name: &str, st: &Stats, extra: &str, json: &mut Vec<String>) {
    println!(
        "{name:<40} median {:>9.3} ms  [p25 {:>9.3} p75 {:>9.3} min {:>9.3} max {:>9.3} n={}] {extra}",
        st.median_ms, st.p25_ms, st.p75_ms, st.min_ms, st.max_ms, st.n
    );
    json.push(format!(
        "\"{name}\": {{\"median_ms\": {:.4}, \"p25_ms\": {:.4}, \"p75_ms\": {:.4}, \"min_ms\": {:.4}, \"max_ms\": {:.4}, \"n\": {}}}",
        st.median_ms, st.p25_ms, st.p75_ms, st.min_ms, st.max_ms, st.n
    ));
}

const GEMM_SHAPES: &[(&str, usize, usize, usize)] = &[
    ("sq256", 256, 256, 256),
    ("sq512", 512, 512, 512),
    ("sq1024", 1024, 1024, 1024),
    ("G1fwd_100x100x1200", 100, 100, 1200),
    ("G2fwd_100x1200x1200", 100, 1200, 1200),
    ("G3fwd_100x1200x784", 100, 1200, 784),
    ("D1fwd_100x784x1200", 100, 784, 1200),
    ("G2wgrad_1200x100x1200", 1200, 100, 1200),
    ("G3wgrad_1200x100x784", 1200, 100, 784),
];

fn bench_gemm(o: &BenchOpts, threads: usize, json: &mut Vec<String>) -> Result<()> {
    let mut g = Generator::new(0);
    let shapes: Vec<(String, usize, usize, usize)> = if o.device.is_gpu() || o.gemm_sizes.is_some() {
        let default = if o.tiny { vec![64, 128, 256] } else { vec![1024, 2048, 4096, 8192] };
        o.gemm_sizes.clone().unwrap_or(default).into_iter().map(|n| (format!("sq{n}"), n, n, n)).collect()
    } else {
        GEMM_SHAPES.iter().map(|&(s, m, k, n)| (s.to_string(), m, k, n)).collect()
    };
    for (name, m, k, n) in shapes {
        let a = o.on(Tensor::randn(&[m, k], &mut g))?;
        let b = o.on(Tensor::randn(&[k, n], &mut g))?;
        let t = Instant::now();
        for _ in 0..3 {
            a.matmul(&b)?;
        }
        o.device.synchronize()?;
        let one = t.elapsed().as_secs_f64() / 3.0;
        let inner = ((0.02 / one) as usize + 1).clamp(1, 10000);
        let st = time_ms(|| a.matmul(&b).map(|_| ()), &o.device, (3, o.reps.max(10), inner), o.max_seconds)?;
        let gf = 2.0 * (m * k * n) as f64 / (st.median_ms * 1e-3) / 1e9;
        let best = 2.0 * (m * k * n) as f64 / (st.min_ms * 1e-3) / 1e9;
        row(&format!("gemm_{}_{name}", tag(o, threads)), &st, &format!("=> {gf:7.1} GFLOP/s (best {best:.1})"), json);
    }
    Ok(())
}

/// The Goodfellow 2014 MNIST networks, built by the constructors `reproduce` trains
/// (`models::goodfellow2014`, the paper's initialisation), as in the peer script: D with dropout
/// on its input and hidden layers, returning a logit.
pub fn mlp_gan(g: &mut Generator) -> Result<(gf::Generator, TrainingD)> {
    let cfg = gf::Config::paper();
    let gen = gf::Generator::new(&cfg, &[0.5; 784], g)?;
    let disc = gf::Discriminator::new(&cfg, 784, g)?;
    Ok((gen, TrainingD { d: disc, rng: std::sync::Mutex::new(g.fork()) }))
}

/// The 2014 discriminator in training mode as a `Module`: `forward` gives its logits with
/// dropout (keep 0.8 on the image, 0.5 on hidden units), drawing from its own generator.
pub struct TrainingD {
    pub d: gf::Discriminator,
    rng: std::sync::Mutex<Generator>,
}

impl Module for TrainingD {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut rng =
            self.rng.lock().map_err(|_| minmax_engine::Error::msg("TrainingD: the dropout generator is poisoned"))?;
        self.d.logits(x, Some(&mut rng))
    }
    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        self.d.named_parameters()
    }
}

/// The 28×28 DCGAN of the image lab (`models::images::dcgan`, N(0, 0.02) initialisation): the
/// same layers as the peer script's.
pub fn dcgan(g: &mut Generator) -> Result<(DcGenerator, DcDiscriminator)> {
    Ok((DcGenerator::new(100, 0, g)?, DcDiscriminator::new(0, true, g)?))
}

/// One D step and one G step of the peer protocol.
#[allow(clippy::too_many_arguments)]
fn gan_step(
    gen: &dyn Module,
    disc: &dyn Module,
    opt_g: &mut dyn Optimizer,
    opt_d: &mut dyn Optimizer,
    x_real: &Tensor,
    ones: &Tensor,
    zeros: &Tensor,
    z: &mut dyn FnMut() -> Tensor,
) -> Result<()> {
    // (1) D step
    let fake = gen.forward(&z())?.detach();
    opt_d.zero_grad();
    let loss_d = disc.forward(x_real)?.bce_with_logits(ones)?.add(&disc.forward(&fake)?.bce_with_logits(zeros)?)?;
    loss_d.backward()?;
    opt_d.step()?;
    // (2) G step (non-saturating)
    opt_g.zero_grad();
    let loss_g = disc.forward(&gen.forward(&z())?)?.bce_with_logits(ones)?;
    loss_g.backward()?;
    opt_g.step()
}

/// `t2` on the CPU (threads), `gpu` on a GPU: the suffix of every row name.
fn tag(o: &BenchOpts, threads: usize) -> String {
    if o.device.is_gpu() {
        "gpu".to_string()
    } else {
        format!("t{threads}")
    }
}

fn bench_mlp(o: &BenchOpts, threads: usize, json: &mut Vec<String>) -> Result<()> {
    let mut g = Generator::new(0);
    let (gen, disc) = mlp_gan(&mut g)?;
    gen.to_device(&o.device)?;
    disc.to_device(&o.device)?;
    let mut opt_g = Sgd::with_momentum(gen.parameters(), 0.1, 0.5)?;
    let mut opt_d = Sgd::with_momentum(disc.parameters(), 0.1, 0.5)?;
    let b = o.batch(100);
    let x_real = o.on(Tensor::rand(&[b, 784], 0.0, 1.0, &mut g))?;
    let mut zg = g.fork();
    let dev = o.device.clone();
    let z = move || Tensor::rand(&[b, 100], -1.0, 1.0, &mut zg).to_device(&dev).expect("noise reaches the device");
    let name = format!("mlp_gan_iter_b{b}_{}", tag(o, threads));
    time_gan(&name, (&gen, &disc), (&mut opt_g, &mut opt_d), &x_real, z, o, json)
}

/// Time `gan_step` on one fixed real batch and write its row.
#[allow(clippy::too_many_arguments)]
fn time_gan(
    name: &str,
    (gen, disc): (&dyn Module, &dyn Module),
    (opt_g, opt_d): (&mut dyn Optimizer, &mut dyn Optimizer),
    x_real: &Tensor,
    mut z: impl FnMut() -> Tensor,
    o: &BenchOpts,
    json: &mut Vec<String>,
) -> Result<()> {
    let b = x_real.shape()[0];
    let (ones, zeros) = (x_real.full_like(&[b, 1], 1.0)?, x_real.full_like(&[b, 1], 0.0)?);
    let st = time_ms(
        || gan_step(gen, disc, opt_g, opt_d, x_real, &ones, &zeros, &mut z),
        &o.device,
        (o.warmup, o.reps, 1),
        o.max_seconds,
    )?;
    row(name, &st, "", json);
    Ok(())
}

fn bench_dcgan(o: &BenchOpts, threads: usize, json: &mut Vec<String>) -> Result<()> {
    let mut g = Generator::new(0);
    let (gen, disc) = dcgan(&mut g)?;
    gen.to_device(&o.device)?;
    disc.to_device(&o.device)?;
    let mut opt_g = Adam::new(gen.parameters(), 2e-4, (0.5, 0.999))?;
    let mut opt_d = Adam::new(disc.parameters(), 2e-4, (0.5, 0.999))?;
    let b = o.batch(64);
    let x_real = o.on(Tensor::rand(&[b, 1, 28, 28], -1.0, 1.0, &mut g))?;
    let mut zg = g.fork();
    let dev = o.device.clone();
    let z = move || Tensor::randn(&[b, 100], &mut zg).to_device(&dev).expect("noise reaches the device");
    let name = format!("dcgan_iter_b{b}_{}", tag(o, threads));
    time_gan(&name, (&gen, &disc), (&mut opt_g, &mut opt_d), &x_real, z, o, json)
}

fn bench_conv(o: &BenchOpts, threads: usize, json: &mut Vec<String>) -> Result<()> {
    let mut g = Generator::new(0);
    // [N, 64, 14, 14] * [128, 64, 4, 4], stride 2, pad 1 → [N, 128, 7, 7]
    let nb = o.batch(64);
    let x = o.on(Tensor::randn(&[nb, 64, 14, 14], &mut g))?.requires_grad_();
    let w = o.on(Tensor::randn(&[128, 64, 4, 4], &mut g).mul_scalar(0.05)?)?.detach().requires_grad_();
    let flops = 2.0 * (nb * 128 * 7 * 7 * 64 * 16) as f64;
    let go = o.on(Tensor::ones(&[nb, 128, 7, 7]))?;
    let opts = Conv2dOpts::new(2, 1);
    let st = time_ms(
        || minmax_engine::no_grad(|| x.conv2d(&w, None, &opts).map(|_| ())),
        &o.device,
        (o.warmup, o.reps, 1),
        o.max_seconds,
    )?;
    let sfx = if nb == 64 { tag(o, threads) } else { format!("b{nb}_{}", tag(o, threads)) };
    row(&format!("conv_fwd_{sfx}"), &st, &format!("=> {:.1} GFLOP/s", flops / (st.median_ms * 1e-3) / 1e9), json);
    let st = time_ms(
        || {
            x.zero_grad();
            w.zero_grad();
            x.conv2d(&w, None, &opts)?.backward_with(&go)
        },
        &o.device,
        (o.warmup, o.reps, 1),
        o.max_seconds,
    )?;
    row(
        &format!("conv_fwdbwd_{sfx}"),
        &st,
        &format!("=> {:.1} GFLOP/s", 3.0 * flops / (st.median_ms * 1e-3) / 1e9),
        json,
    );
    Ok(())
}

/// Run the selected workloads and print one row each, then a `JSON {...}` line.
/// (e) one iteration of the mode-collapse lab's 2-D toy GAN, built by the lab's own constructors
/// (`models::toy::Common`: G 2 → 128 → 128 → 2 ReLU, D 2 → 128 → 128 → 1 LeakyReLU(0.2)), batch
/// 256, Adam 1e-3 (0.5, 0.9) as in the peer script. Tiny matrices: this row measures what every
/// op costs around its arithmetic. Each sample is the mean of 10 iterations, as the peer's.
fn bench_toy(o: &BenchOpts, threads: usize, json: &mut Vec<String>) -> Result<()> {
    let mut g = Generator::new(0);
    let cfg = crate::models::toy::Common { device: o.device.clone(), ..Default::default() };
    let (gen, disc) = (cfg.generator(2, &mut g)?, cfg.discriminator(2, &mut g)?);
    let mut opt_g = Adam::new(gen.params.clone(), 1e-3, (0.5, 0.9))?;
    let mut opt_d = Adam::new(disc.params.clone(), 1e-3, (0.5, 0.9))?;
    let b = 256;
    let x_real = o.on(Tensor::randn(&[b, 2], &mut g))?;
    let (ones, zeros) = (x_real.full_like(&[b, 1], 1.0)?, x_real.full_like(&[b, 1], 0.0)?);
    let mut zg = g.fork();
    let dev = o.device.clone();
    let mut z = move || Tensor::randn(&[b, 2], &mut zg).to_device(&dev).expect("noise reaches the device");
    let st = time_ms(
        || gan_step(&gen, &disc, &mut opt_g, &mut opt_d, &x_real, &ones, &zeros, &mut z),
        &o.device,
        (o.warmup, o.reps, 10),
        o.max_seconds,
    )?;
    row(&format!("toy_gan_iter_b{b}_{}", tag(o, threads)), &st, "(per-op overhead regime)", json);
    Ok(())
}

pub fn run(o: &BenchOpts) -> Result<()> {
    let threads = rayon::current_num_threads();
    println!(
        "minmax {} | device={} | threads={threads} | reps={} warmup={}",
        env!("CARGO_PKG_VERSION"),
        o.device,
        o.reps,
        o.warmup
    );
    let mut json = Vec::new();
    let want = |k: &str| o.only.iter().any(|s| s == k);
    if want("gemm") {
        bench_gemm(o, threads, &mut json)?;
    }
    if want("mlp") {
        bench_mlp(o, threads, &mut json)?;
    }
    if want("dcgan") {
        bench_dcgan(o, threads, &mut json)?;
    }
    if want("conv") {
        bench_conv(o, threads, &mut json)?;
    }
    if want("toy") {
        bench_toy(o, threads, &mut json)?;
    }
    println!(
        "JSON {{\"framework\": \"minmax-{}\", \"device\": {:?}, \"threads\": {threads}, {}}}",
        env!("CARGO_PKG_VERSION"),
        o.device.to_string(),
        json.join(", ")
    );
    Ok(())
}
