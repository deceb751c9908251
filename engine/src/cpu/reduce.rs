//! Reductions (sum, max, min, argmax, argmin) over any set of axes. The reduced axes are moved
//! last by a layout permutation (no copy); a contiguous input reducing its trailing axes then
//! reduces plain slices, and one reducing its leading axes accumulates whole rows.

use rayon::prelude::*;

use super::{CpuStorage, PAR_THRESHOLD};
use crate::dtype::Float;
use crate::layout::Layout;
use crate::storage::ReduceOp;
use crate::{DType, Error, Result};

#[inline]
fn sum_slice<T: Float>(s: &[T]) -> T {
    // Eight independent partial sums: vectorises and loses less precision than one running sum.
    let mut acc = [T::zero(); 8];
    let chunks = s.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for i in 0..8 {
            acc[i] = acc[i] + c[i];
        }
    }
    let mut t = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    for &x in rest {
        t = t + x;
    }
    t
}

/// Reduce the values yielded by `it` (in order) with `op`; arg ops return the position as f64.
#[inline]
fn reduce_iter<T: Float>(mut it: impl Iterator<Item = T>, op: ReduceOp) -> T {
    match op {
        ReduceOp::Sum => it.fold(T::zero(), |a, x| a + x),
        ReduceOp::Max => it.fold(T::NEG_INFINITY, |a, x| a.maxf(x)),
        ReduceOp::Min => it.fold(T::INFINITY, |a, x| a.minf(x)),
        ReduceOp::ArgMax | ReduceOp::ArgMin => {
            let Some(mut best) = it.next() else {
                return T::zero();
            };
            let mut bi = 0usize;
            for (i, x) in it.enumerate() {
                let better = if op == ReduceOp::ArgMax {
                    x > best
                } else {
                    x < best
                };
                if better || (x.is_nan() && !best.is_nan()) {
                    best = x;
                    bi = i + 1;
                }
                if best.is_nan() {
                    break;
                }
            }
            T::from_f64(bi as f64)
        }
    }
}

fn reduce_kernel<T: Float>(v: &[T], l: &Layout, axes: &[usize], op: ReduceOp) -> Vec<T> {
    let r = l.rank();
    let kept: Vec<usize> = (0..r).filter(|d| !axes.contains(d)).collect();
    let out_n: usize = kept.iter().map(|&d| l.shape[d]).product();
    let red_n: usize = axes.iter().map(|&d| l.shape[d]).product();
    if red_n == 0 {
        return vec![reduce_iter(std::iter::empty(), op); out_n];
    }
    let trailing = axes
        .iter()
        .enumerate()
        .all(|(i, &a)| a == r - axes.len() + i);
    let leading = axes.iter().enumerate().all(|(i, &a)| a == i);
    if let Some((a, _)) = l.contiguous_range() {
        let data = &v[a..a + out_n * red_n];
        if trailing {
            let f = |s: &[T]| {
                if op == ReduceOp::Sum {
                    sum_slice(s)
                } else {
                    reduce_iter(s.iter().copied(), op)
                }
            };
            if out_n * red_n >= PAR_THRESHOLD && out_n > 1 {
                return data.par_chunks(red_n).map(f).collect();
            }
            return data.chunks(red_n).map(f).collect();
        }
        if leading && matches!(op, ReduceOp::Sum | ReduceOp::Max | ReduceOp::Min) {
            let mut out = data[..out_n].to_vec();
            for row in data.chunks(out_n).skip(1) {
                match op {
                    ReduceOp::Sum => out.iter_mut().zip(row).for_each(|(o, &x)| *o = *o + x),
                    ReduceOp::Max => out.iter_mut().zip(row).for_each(|(o, &x)| *o = o.maxf(x)),
                    _ => out.iter_mut().zip(row).for_each(|(o, &x)| *o = o.minf(x)),
                }
            }
            return out;
        }
    }
    // General case: permute reduced axes last, walk each output's reduction window.
    let perm: Vec<usize> = kept.iter().chain(axes.iter()).copied().collect();
    let pl = l.permute(&perm);
    let k = kept.len();
    let outer = Layout {
        shape: pl.shape[..k].to_vec(),
        strides: pl.strides[..k].to_vec(),
        offset: pl.offset,
    };
    let mut inner = Layout {
        shape: pl.shape[k..].to_vec(),
        strides: pl.strides[k..].to_vec(),
        offset: 0,
    };
    let mut out = Vec::with_capacity(out_n);
    for o in outer.iter() {
        inner.offset = o;
        out.push(reduce_iter(inner.iter().map(|i| v[i]), op));
    }
    out
}

impl CpuStorage {
    pub fn reduce(&self, l: &Layout, axes: &[usize], op: ReduceOp) -> Result<Self> {
        let arg = matches!(op, ReduceOp::ArgMax | ReduceOp::ArgMin);
        Ok(match self {
            CpuStorage::F32(v) => {
                let out = reduce_kernel(v, l, axes, op);
                if arg {
                    CpuStorage::I64(out.into_iter().map(|x| x as i64).collect())
                } else {
                    CpuStorage::F32(out)
                }
            }
            CpuStorage::F64(v) => {
                let out = reduce_kernel(v, l, axes, op);
                if arg {
                    CpuStorage::I64(out.into_iter().map(|x| x as i64).collect())
                } else {
                    CpuStorage::F64(out)
                }
            }
            CpuStorage::I64(v) if op == ReduceOp::Sum => {
                // Integer sums (counts of correct predictions and the like) are exact in f64 up to 2^53.
                let f: Vec<f64> = v.iter().map(|&x| x as f64).collect();
                CpuStorage::I64(
                    reduce_kernel(&f, l, axes, op)
                        .into_iter()
                        .map(|x| x as i64)
                        .collect(),
                )
            }
            CpuStorage::I64(_) => {
                return Err(Error::UnsupportedDType {
                    op: "reduce",
                    dtype: DType::I64,
                })
            }
        })
    }
}
