//! The CPU backend: contiguous `Vec`s of f32, f64 or i64 and the kernels that run on them.
//! Every kernel reads its inputs through a `Layout` (so views need no copy) and writes a fresh
//! contiguous output. Large loops are split across threads with rayon; matrix products call the
//! `gemm` crate's micro-kernels with the operands' own strides, so transposes cost nothing.

mod conv;
mod elementwise;
mod index;
mod matmul;
mod memory;
mod norm;
mod optim;
mod reduce;

pub use memory::keep_freed_memory;

use std::borrow::Cow;

use rayon::prelude::*;

use crate::dtype::{DType, Elem};
use crate::layout::Layout;
use crate::{Error, Result};

#[derive(Clone, Debug)]
pub enum CpuStorage {
    F32(Vec<f32>),
    F64(Vec<f64>),
    I64(Vec<i64>),
}

/// Run `$body` with `$v` bound to the float vector of `$s`, wrapping a returned `Vec` back into
/// the same dtype; i64 storage is refused with an error naming `$op`.
macro_rules! map_float {
    ($s:expr, $op:expr, |$v:ident| $body:expr) => {
        match $s {
            CpuStorage::F32($v) => CpuStorage::F32($body),
            CpuStorage::F64($v) => CpuStorage::F64($body),
            CpuStorage::I64(_) => return Err(crate::Error::UnsupportedDType { op: $op, dtype: crate::DType::I64 }),
        }
    };
}
pub(crate) use map_float;

/// Same as `map_float`, for two storages that must share a float dtype.
macro_rules! map_float2 {
    ($a:expr, $b:expr, $op:expr, |$x:ident, $y:ident| $body:expr) => {
        match ($a, $b) {
            (CpuStorage::F32($x), CpuStorage::F32($y)) => CpuStorage::F32($body),
            (CpuStorage::F64($x), CpuStorage::F64($y)) => CpuStorage::F64($body),
            (a, b) => {
                if a.dtype() == b.dtype() {
                    return Err(crate::Error::UnsupportedDType { op: $op, dtype: a.dtype() });
                }
                return Err(crate::Error::DTypeMismatch { op: $op, lhs: a.dtype(), rhs: b.dtype() });
            }
        }
    };
}
pub(crate) use map_float2;

/// Same as `map_float`, for any dtype (copies, views, indexing).
macro_rules! map_any {
    ($s:expr, |$v:ident| $body:expr) => {
        match $s {
            CpuStorage::F32($v) => CpuStorage::F32($body),
            CpuStorage::F64($v) => CpuStorage::F64($body),
            CpuStorage::I64($v) => CpuStorage::I64($body),
        }
    };
}
pub(crate) use map_any;

/// The elements of `l` in row-major order: borrowed when already contiguous, copied otherwise.
pub fn contiguous<'a, T: Elem>(data: &'a [T], l: &Layout) -> Cow<'a, [T]> {
    match l.contiguous_range() {
        Some((a, b)) => Cow::Borrowed(&data[a..b]),
        None => {
            // Walk rows of the coalesced layout: a fixed-stride inner loop instead of a
            // multi-index step per element.
            let l = &crate::layout::coalesce(&[l])[0];
            let mut out = Vec::with_capacity(l.numel());
            let (len, st) = (*l.shape.last().unwrap_or(&1), *l.strides.last().unwrap_or(&0));
            crate::layout::for_each_row(l, |o| {
                if st == 1 {
                    out.extend_from_slice(&data[o..o + len]);
                } else {
                    out.extend((0..len).map(|i| data[o + i * st]));
                }
            });
            Cow::Owned(out)
        }
    }
}

/// Loops over this many elements or more are split across threads.
pub(crate) const PAR_THRESHOLD: usize = 1 << 16;

/// A vector of `n` elements written in chunks of `chunk` by `body(start, chunk)` (start = the
/// chunk's first index), the chunks split across threads when `n` ≥ `PAR_THRESHOLD`. The memory
/// is not zeroed first: an output that is written in full costs one pass, not two.
///
/// # Safety
/// `body` must write every element of each chunk it is given.
pub(crate) unsafe fn written<T: Send>(
    n: usize,
    chunk: usize,
    body: impl Fn(usize, &mut [std::mem::MaybeUninit<T>]) + Sync + Send,
) -> Vec<T> {
    let mut out = Vec::with_capacity(n);
    let chunk = chunk.max(1);
    let spare = &mut out.spare_capacity_mut()[..n];
    if n >= PAR_THRESHOLD {
        spare.par_chunks_mut(chunk).enumerate().for_each(|(k, c)| body(k * chunk, c));
    } else {
        spare.chunks_mut(chunk).enumerate().for_each(|(k, c)| body(k * chunk, c));
    }
    // SAFETY: the chunks cover [0, n), and the caller's `body` wrote every element of each.
    unsafe { out.set_len(n) };
    out
}

impl CpuStorage {
    pub fn dtype(&self) -> DType {
        match self {
            CpuStorage::F32(_) => DType::F32,
            CpuStorage::F64(_) => DType::F64,
            CpuStorage::I64(_) => DType::I64,
        }
    }
    pub fn len(&self) -> usize {
        match self {
            CpuStorage::F32(v) => v.len(),
            CpuStorage::F64(v) => v.len(),
            CpuStorage::I64(v) => v.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn full(n: usize, dtype: DType, v: f64) -> Self {
        match dtype {
            DType::F32 => CpuStorage::F32(vec![v as f32; n]),
            DType::F64 => CpuStorage::F64(vec![v; n]),
            DType::I64 => CpuStorage::I64(vec![v as i64; n]),
        }
    }
    pub fn copy_strided(&self, l: &Layout) -> Self {
        map_any!(self, |v| contiguous(v, l).into_owned())
    }
    pub fn to_dtype(&self, l: &Layout, dtype: DType) -> Self {
        fn cast<T: Elem, U: Elem>(v: &[T], l: &Layout) -> Vec<U> {
            contiguous(v, l).iter().map(|x| U::from_f64(x.to_f64())).collect()
        }
        match (self, dtype) {
            (CpuStorage::F32(v), DType::F32) => CpuStorage::F32(contiguous(v, l).into_owned()),
            (CpuStorage::F64(v), DType::F64) => CpuStorage::F64(contiguous(v, l).into_owned()),
            (CpuStorage::I64(v), DType::I64) => CpuStorage::I64(contiguous(v, l).into_owned()),
            (CpuStorage::F32(v), DType::F64) => CpuStorage::F64(cast(v, l)),
            (CpuStorage::F32(v), DType::I64) => CpuStorage::I64(cast(v, l)),
            (CpuStorage::F64(v), DType::F32) => CpuStorage::F32(cast(v, l)),
            (CpuStorage::F64(v), DType::I64) => CpuStorage::I64(cast(v, l)),
            (CpuStorage::I64(v), DType::F32) => CpuStorage::F32(cast(v, l)),
            (CpuStorage::I64(v), DType::F64) => CpuStorage::F64(cast(v, l)),
        }
    }
    /// All elements as f64, in storage order (used for read-back).
    pub fn to_f64_vec(&self, l: &Layout) -> Vec<f64> {
        match self {
            CpuStorage::F32(v) => l.iter().map(|o| v[o] as f64).collect(),
            CpuStorage::F64(v) => contiguous(v, l).into_owned(),
            CpuStorage::I64(v) => l.iter().map(|o| v[o] as f64).collect(),
        }
    }
    pub fn cat(srcs: &[(&CpuStorage, &Layout)], dim: usize, out_shape: &[usize]) -> Result<Self> {
        fn go<T: Elem>(srcs: &[(&[T], &Layout)], dim: usize, out_shape: &[usize]) -> Vec<T> {
            let outer: usize = out_shape[..dim].iter().product();
            let inner: usize = out_shape[dim + 1..].iter().product();
            let total = out_shape[dim];
            let mut out = vec![T::zero(); outer * total * inner];
            let mut at = 0;
            for (v, l) in srcs {
                let d = l.shape[dim];
                let src = contiguous(v, l);
                let blk = d * inner;
                for o in 0..outer {
                    let dst = o * total * inner + at * inner;
                    out[dst..dst + blk].copy_from_slice(&src[o * blk..(o + 1) * blk]);
                }
                at += d;
            }
            out
        }
        let dtype = srcs[0].0.dtype();
        macro_rules! collect {
            ($var:ident) => {{
                let mut v = Vec::with_capacity(srcs.len());
                for (s, l) in srcs {
                    match s {
                        CpuStorage::$var(x) => v.push((x.as_slice(), *l)),
                        other => return Err(Error::DTypeMismatch { op: "cat", lhs: dtype, rhs: other.dtype() }),
                    }
                }
                v
            }};
        }
        Ok(match dtype {
            DType::F32 => CpuStorage::F32(go(&collect!(F32), dim, out_shape)),
            DType::F64 => CpuStorage::F64(go(&collect!(F64), dim, out_shape)),
            DType::I64 => CpuStorage::I64(go(&collect!(I64), dim, out_shape)),
        })
    }
    /// Inverted-dropout mask from the counter-based generator in `rng.rs`: element i is `1/keep`
    /// when the top 24 bits of `counter_u32(seed, i)` fall below `keep · 2^24`, else 0. The GPU
    /// kernel (shaders/random.wgsl) computes the same mask.
    pub fn dropout_mask(n: usize, keep: f64, seed: u64, dtype: DType) -> Result<Self> {
        fn fill<T: Elem>(n: usize, keep: f64, seed: u64) -> Vec<T> {
            use rayon::prelude::*;
            let t = crate::rng::keep_threshold(keep);
            let scale = T::from_f64(1.0 / keep);
            let key = crate::rng::counter_key(seed);
            let mut out = vec![T::from_f64(0.0); n];
            // Element i's word depends on i alone, so chunks fill independently.
            let run = |c: usize, o: &mut [T]| {
                for (j, o) in o.iter_mut().enumerate() {
                    if (crate::rng::mix32(key ^ (c + j) as u32) >> 8) < t {
                        *o = scale;
                    }
                }
            };
            if n >= PAR_THRESHOLD {
                out.par_chunks_mut(1 << 14).enumerate().for_each(|(ci, o)| run(ci << 14, o));
            } else {
                run(0, &mut out);
            }
            out
        }
        Ok(match dtype {
            DType::F32 => CpuStorage::F32(fill(n, keep, seed)),
            DType::F64 => CpuStorage::F64(fill(n, keep, seed)),
            DType::I64 => return Err(Error::UnsupportedDType { op: "dropout", dtype }),
        })
    }
    /// The i64 indices of a storage, checked against `bound` (the size of the indexed dim).
    pub(crate) fn indices(&self, l: &Layout, op: &'static str, bound: usize) -> Result<Vec<usize>> {
        let CpuStorage::I64(v) = self else {
            return Err(Error::msg(format!("{op}: indices must have dtype i64, got {:?}", self.dtype())));
        };
        contiguous(v, l)
            .iter()
            .map(|&i| {
                if i < 0 || i as usize >= bound {
                    Err(Error::msg(format!("{op}: index {i} is out of range for a dim of size {bound}")))
                } else {
                    Ok(i as usize)
                }
            })
            .collect()
    }
}
