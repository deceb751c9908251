//! The fused batch-norm kernels on the CPU (the same three as shaders/batch_norm.wgsl): per-channel
//! statistics in two passes, the two per-channel sums of the backward pass, and the per-channel
//! multiply-add that applies both. x is contiguous [N, C, S] (S = H·W, or 1).

use rayon::prelude::*;

use super::{contiguous, CpuStorage};
use crate::dtype::Float;
use crate::layout::Layout;
use crate::{Error, Result};

/// Visit the values of channel `c` of a contiguous [n, ch, s] slice.
fn channel<T: Copy>(v: &[T], (n, ch, s): (usize, usize, usize), c: usize) -> impl Iterator<Item = (usize, T)> + '_ {
    (0..n).flat_map(move |i| {
        let base = (i * ch + c) * s;
        (base..base + s).map(move |k| (k, v[k]))
    })
}

fn stats_k<T: Float>(x: &[T], dims: (usize, usize, usize)) -> Vec<T> {
    let m = T::from_f64((dims.0 * dims.2) as f64);
    let per: Vec<(T, T)> = (0..dims.1)
        .into_par_iter()
        .map(|c| {
            let mean = channel(x, dims, c).fold(T::zero(), |a, (_, v)| a + v) / m;
            let var = channel(x, dims, c).fold(T::zero(), |a, (_, v)| a + (v - mean) * (v - mean)) / m;
            (mean, var)
        })
        .collect();
    per.iter().map(|p| p.0).chain(per.iter().map(|p| p.1)).collect()
}

fn sums_k<T: Float>(x: &[T], dy: &[T], mean: &[T], invstd: &[T], dims: (usize, usize, usize)) -> Vec<T> {
    let per: Vec<(T, T)> = (0..dims.1)
        .into_par_iter()
        .map(|c| {
            channel(dy, dims, c)
                .fold((T::zero(), T::zero()), |(a, b), (k, g)| (a + g, b + g * (x[k] - mean[c]) * invstd[c]))
        })
        .collect();
    per.iter().map(|p| p.0).chain(per.iter().map(|p| p.1)).collect()
}

fn fma_k<T: Float>(a: &[T], b: &[T], k: &[T], p: &[T], q: &[T], dims: (usize, usize, usize)) -> Vec<T> {
    let (ch, s) = (dims.1, dims.2);
    let mut out = vec![T::zero(); a.len()];
    out.par_chunks_mut(s.max(1)).enumerate().for_each(|(row, o)| {
        let c = row % ch;
        let base = row * s;
        for (j, o) in o.iter_mut().enumerate() {
            *o = a[base + j] * k[c] + b[base + j] * p[c] + q[c];
        }
    });
    out
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
