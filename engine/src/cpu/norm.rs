//! The fused batch-norm kernels on the CPU (the same three as shaders/batch_norm.wgsl): per-channel
//! statistics in two passes, the two per-channel sums of the backward pass, and the per-channel
//! multiply-add that applies both. x is contiguous [N, C, S] (S = H·W, or 1).

use rayon::prelude::*;

use super::{contiguous, CpuStorage};
use crate::dtype::Float;
use crate::layout::Layout;
use crate::{Error, Result};

/// The contiguous runs (one per image, `s` values each) of channel `c` in a [n, ch, s] slice.
fn runs<T>(v: &[T], (n, ch, s): (usize, usize, usize), c: usize) -> impl Iterator<Item = &[T]> {
    (0..n).map(move |i| &v[(i * ch + c) * s..(i * ch + c + 1) * s])
}

fn stats_k<T: Float>(x: &[T], dims: (usize, usize, usize)) -> Vec<T> {
    let m = T::from_f64((dims.0 * dims.2) as f64);
    let per: Vec<(T, T)> = (0..dims.1)
        .into_par_iter()
        .map(|c| {
            let mean = runs(x, dims, c).flat_map(|r| r.iter()).fold(T::zero(), |a, &v| a + v) / m;
            let var = runs(x, dims, c).flat_map(|r| r.iter()).fold(T::zero(), |a, &v| a + (v - mean) * (v - mean)) / m;
            (mean, var)
        })
        .collect();
    per.iter().map(|p| p.0).chain(per.iter().map(|p| p.1)).collect()
}

fn sums_k<T: Float>(x: &[T], dy: &[T], mean: &[T], invstd: &[T], dims: (usize, usize, usize)) -> Vec<T> {
    let per: Vec<(T, T)> = (0..dims.1)
        .into_par_iter()
        .map(|c| {
            let (mu, is) = (mean[c], invstd[c]);
            let mut a = T::zero();
            let mut b = T::zero();
            for (xr, gr) in runs(x, dims, c).zip(runs(dy, dims, c)) {
                for (&xv, &g) in xr.iter().zip(gr) {
                    a = a + g;
                    b = b + g * (xv - mu) * is;
                }
            }
            (a, b)
        })
        .collect();
    per.iter().map(|p| p.0).chain(per.iter().map(|p| p.1)).collect()
}

fn fma_k<T: Float>(a: &[T], b: &[T], k: &[T], p: &[T], q: &[T], (_, ch, s): (usize, usize, usize)) -> Vec<T> {
    let image = (ch * s).max(1);
    // One task per image (or one in all for small tensors); within it, runs of `s` values that
    // share a channel's k, p, q.
    let body = |at: usize, o: &mut [std::mem::MaybeUninit<T>]| {
        for c in 0..ch {
            let at = at + c * s;
            let (kc, pc, qc) = (k[c], p[c], q[c]);
            for j in 0..s {
                o[c * s + j].write(a[at + j] * kc + b[at + j] * pc + qc);
            }
        }
    };
    // SAFETY: a.len() is a whole number of images (N·C·S), and `body` writes all C·S of each.
    unsafe { super::written(a.len(), image, body) }
}

fn float_slice<'a>(s: &'a CpuStorage, l: &Layout, op: &'static str) -> Result<either::Float<'a>> {
    Ok(match s {
        CpuStorage::F32(v) => either::Float::F32(contiguous(v, l)),
        CpuStorage::F64(v) => either::Float::F64(contiguous(v, l)),
        CpuStorage::I64(_) => return Err(Error::UnsupportedDType { op, dtype: crate::DType::I64 }),
    })
}

mod either {
    use std::borrow::Cow;
    pub enum Float<'a> {
        F32(Cow<'a, [f32]>),
        F64(Cow<'a, [f64]>),
    }
}

macro_rules! floats {
    ($op:expr, [$($s:ident : $l:expr),*], |$($v:ident),*| $body:expr) => {{
        $(let $v = float_slice($s, $l, $op)?;)*
        match ($($v),*) {
            #[allow(unused_parens)]
            ($(either::Float::F32($v)),*) => CpuStorage::F32($body),
            #[allow(unused_parens)]
            ($(either::Float::F64($v)),*) => CpuStorage::F64($body),
            #[allow(unreachable_patterns)]
            _ => return Err(Error::msg(format!("{}: operands must share one float dtype", $op))),
        }
    }};
}

impl CpuStorage {
    /// [mean (C values), biased variance (C values)] of x [N, C, S].
    pub fn bn_stats(&self, l: &Layout, dims: (usize, usize, usize)) -> Result<Self> {
        let x = self;
        Ok(floats!("batch_norm", [x: l], |xv| stats_k(&xv, dims)))
    }
    /// [Σ dy (C values), Σ dy·x̂ (C values)] per channel.
    pub fn bn_sums(
        &self,
        l: &Layout,
        dy: &CpuStorage,
        dyl: &Layout,
        mean: &CpuStorage,
        invstd: &CpuStorage,
        dims: (usize, usize, usize),
    ) -> Result<Self> {
        let x = self;
        let cl = Layout::contiguous(&[dims.1]);
        Ok(floats!("batch_norm backward", [x: l, dy: dyl, mean: &cl, invstd: &cl], |xv, gv, mv, iv| sums_k(
            &xv, &gv, &mv, &iv, dims
        )))
    }
    /// a·k[c] + b·p[c] + q[c] per element of [N, C, S].
    #[allow(clippy::too_many_arguments)]
    pub fn channel_fma(
        &self,
        l: &Layout,
        b: &CpuStorage,
        bl: &Layout,
        k: &CpuStorage,
        p: &CpuStorage,
        q: &CpuStorage,
        dims: (usize, usize, usize),
    ) -> Result<Self> {
        let a = self;
        let cl = Layout::contiguous(&[dims.1]);
        Ok(floats!("batch_norm", [a: l, b: bl, k: &cl, p: &cl, q: &cl], |av, bv, kv, pv, qv| fma_k(
            &av, &bv, &kv, &pv, &qv, dims
        )))
    }
}
