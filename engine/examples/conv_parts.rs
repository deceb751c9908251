//! Where a convolution's time goes on the CPU, piece by piece, at DCGAN's 64→128 4×4 s2 p1 layer
//! (batch 64, 14×14 → 7×7): im2col, the forward matrix product, col2im (the input gradient's
//! and the transposed convolution's fold), the two backward products (weight and column
//! gradients), and the whole op forward and forward + backward.
//!
//! Run: `cargo run --release -p minmax-engine --example conv_parts [-- REPS]` (median of REPS, default 30).

use std::time::Instant;

use minmax_engine::ops::conv::Conv2dOpts;
use minmax_engine::{no_grad, Generator, Result, Tensor};

fn median_ms(reps: usize, mut f: impl FnMut() -> Result<()>) -> Result<f64> {
    for _ in 0..3 {
        f()?;
    }
    let mut t = Vec::with_capacity(reps);
    for _ in 0..reps {
        let s = Instant::now();
        f()?;
        t.push(s.elapsed().as_secs_f64() * 1e3);
    }
    t.sort_by(|a, b| a.total_cmp(b));
    Ok(t[reps / 2])
}

fn main() -> Result<()> {
    let reps = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(30);
    // As the `minmax` command does: freed buffers are reused, not returned to the kernel, so the
    // times below hold no page faults; and the work runs on a thread of the pool.
    minmax_engine::cpu::keep_freed_memory();
    rayon::scope(|_| parts(reps))
}

fn parts(reps: usize) -> Result<()> {
    let mut g = Generator::new(0);
    let o = Conv2dOpts::new(2, 1);
    let x = Tensor::randn(&[64, 64, 14, 14], &mut g);
    let w = Tensor::randn(&[128, 64, 4, 4], &mut g);
    let cols = no_grad(|| x.im2col(4, 4, &o, 0.0))?;
    let wm = w.reshape(&[128, -1])?;
    let y = no_grad(|| x.conv2d(&w, None, &o))?;
    let gy = Tensor::randn(y.shape(), &mut g);
    let geom = minmax_engine::storage::Conv2dGeom {
        n: 64,
        c: 64,
        h: 14,
        w: 14,
        kh: 4,
        kw: 4,
        stride: (2, 2),
        padding: (1, 1),
        dilation: (1, 1),
        out_h: 7,
        out_w: 7,
    };
    let dcols = no_grad(|| wm.t()?.matmul(&gy.permute(&[1, 0, 2, 3])?.reshape(&[128, -1])?))?;
    println!("im2col           {:8.3} ms", median_ms(reps, || no_grad(|| x.im2col(4, 4, &o, 0.0).map(|_| ())))?);
    println!("W @ cols         {:8.3} ms", median_ms(reps, || no_grad(|| wm.matmul(&cols).map(|_| ())))?);
    println!("col2im           {:8.3} ms", median_ms(reps, || no_grad(|| dcols.col2im(&geom).map(|_| ())))?);
    let gym = gy.permute(&[1, 0, 2, 3])?.reshape(&[128, -1])?;
    println!(
        "gy permute copy  {:8.3} ms",
        median_ms(reps, || no_grad(|| gy.permute(&[1, 0, 2, 3])?.reshape(&[128, -1]).map(|_| ())))?
    );
    println!("dW = gy @ colsT  {:8.3} ms", median_ms(reps, || no_grad(|| gym.matmul(&cols.t()?).map(|_| ())))?);
    println!("dcols = WT @ gy  {:8.3} ms", median_ms(reps, || no_grad(|| wm.t()?.matmul(&gym).map(|_| ())))?);
    println!("conv2d fwd       {:8.3} ms", median_ms(reps, || no_grad(|| x.conv2d(&w, None, &o).map(|_| ())))?);
    let xr = x.clone().requires_grad_();
    let wr = w.clone().requires_grad_();
    println!("conv2d fwd+bwd   {:8.3} ms", median_ms(reps, || xr.conv2d(&wr, None, &o)?.backward_with(&gy))?);
    Ok(())
}
