//! Reductions (sum, max, argmax) over any set of axes. The reduced axes are moved
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
        ReduceOp::ArgMax => {
            let Some(mut best) = it.next() else {
                return T::zero();
            };
            let mut bi = 0usize;
            for (i, x) in it.enumerate() {
                if x > best || (x.is_nan() && !best.is_nan()) {
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
    let trailing = axes.iter().enumerate().all(|(i, &a)| a == r - axes.len() + i);
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
        if leading && matches!(op, ReduceOp::Sum | ReduceOp::Max) {
            let mut out = data[..out_n].to_vec();
            for row in data.chunks(out_n).skip(1) {
                match op {
                    ReduceOp::Sum => out.iter_mut().zip(row).for_each(|(o, &x)| *o = *o + x),
                    _ => out.iter_mut().zip(row).for_each(|(o, &x)| *o = o.maxf(x)),
                }
            }
            return out;
        }
    }
    // Contiguous input keeping a middle block of dims, as batch norm's per-channel statistics
    // of [N, C, H, W] over (N, H, W): out[m] reduces data[o, m, i] over o and i.
    let kept_block = kept.windows(2).all(|w| w[1] == w[0] + 1);
    if let (Some((a, _)), true, false) = (l.contiguous_range(), kept_block && !kept.is_empty(), op == ReduceOp::ArgMax)
    {
        let (k0, k1) = (kept[0], kept[kept.len() - 1] + 1);
        let outer: usize = l.shape[..k0].iter().product();
        let inner: usize = l.shape[k1..].iter().product();
        let data = &v[a..a + outer * out_n * inner];
        let init = if op == ReduceOp::Sum { T::zero() } else { T::NEG_INFINITY };
        let mut out = vec![init; out_n];
        for o in 0..outer {
            for (m, acc) in out.iter_mut().enumerate() {
                let s = &data[(o * out_n + m) * inner..(o * out_n + m + 1) * inner];
                *acc = match op {
                    ReduceOp::Sum => *acc + sum_slice(s),
                    _ => acc.maxf(reduce_iter(s.iter().copied(), op)),
                };
            }
        }
        return out;
    }
    // General case: permute reduced axes last, walk each output's reduction window.
    let perm: Vec<usize> = kept.iter().chain(axes.iter()).copied().collect();
    let pl = l.permute(&perm);
    let k = kept.len();
    let outer = Layout { shape: pl.shape[..k].to_vec(), strides: pl.strides[..k].to_vec(), offset: pl.offset };
    let mut inner = Layout { shape: pl.shape[k..].to_vec(), strides: pl.strides[k..].to_vec(), offset: 0 };
    let mut out = Vec::with_capacity(out_n);
    for o in outer.iter() {
        inner.offset = o;
        out.push(reduce_iter(inner.iter().map(|i| v[i]), op));
    }
    out
}

impl CpuStorage {
    pub fn reduce(&self, l: &Layout, axes: &[usize], op: ReduceOp) -> Result<Self> {
        let arg = op == ReduceOp::ArgMax;
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
                CpuStorage::I64(reduce_kernel(&f, l, axes, op).into_iter().map(|x| x as i64).collect())
            }
            CpuStorage::I64(_) => return Err(Error::UnsupportedDType { op: "reduce", dtype: DType::I64 }),
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::{Generator, Tensor};

    /// Every fast path and the general path against a direct loop, for all axis subsets of a
    /// rank-4 tensor, contiguous and permuted.
    #[test]
    fn every_axis_subset_matches_a_direct_loop() -> crate::Result<()> {
        let shape = [3usize, 4, 5, 6];
        let x = Tensor::randn(&shape, &mut Generator::new(0)).to_dtype(crate::DType::F64)?;
        for perm in [[0usize, 1, 2, 3], [2, 0, 3, 1]] {
            let xp = x.permute(&perm)?;
            let ps: Vec<usize> = xp.dims();
            let v = xp.contiguous()?.to_vec::<f64>()?;
            for mask in 1u32..16 {
                let axes: Vec<isize> = (0..4).filter(|d| mask & (1 << d) != 0).map(|d| d as isize).collect();
                let kept: Vec<usize> = (0..4).filter(|d| mask & (1 << d) == 0).collect();
                let out_n: usize = kept.iter().map(|&d| ps[d]).product();
                let (mut sum, mut max) = (vec![0.0; out_n], vec![f64::NEG_INFINITY; out_n]);
                for (flat, &val) in v.iter().enumerate() {
                    let mut rem = flat;
                    let mut idx = [0usize; 4];
                    for d in (0..4).rev() {
                        idx[d] = rem % ps[d];
                        rem /= ps[d];
                    }
                    let o = kept.iter().fold(0, |acc, &d| acc * ps[d] + idx[d]);
                    sum[o] += val;
                    max[o] = max[o].max(val);
                }
                let got_s = xp.sum(&axes, false)?.to_vec::<f64>()?;
                let got_m = xp.max(&axes, false)?.to_vec::<f64>()?;
                for o in 0..out_n {
                    assert!((got_s[o] - sum[o]).abs() < 1e-12, "sum {perm:?} {axes:?}");
                    assert_eq!(got_m[o], max[o], "max {perm:?} {axes:?}");
                }
            }
        }
        Ok(())
    }

    #[test]
    fn broadcast_binary_matches_a_direct_loop() -> crate::Result<()> {
        let mut g = Generator::new(1);
        let a = Tensor::randn(&[4, 3, 5, 6], &mut g).to_dtype(crate::DType::F64)?;
        for bshape in [vec![1usize, 3, 1, 1], vec![5, 1], vec![4, 1, 5, 6], vec![6]] {
            let b = Tensor::randn(&bshape, &mut g).to_dtype(crate::DType::F64)?;
            let got = a.mul(&b)?.to_vec::<f64>()?;
            let (av, bv) = (a.to_vec::<f64>()?, b.to_vec::<f64>()?);
            // The broadcast index of b for every element of a, by NumPy's rule, written out.
            let out = [4usize, 3, 5, 6];
            let lead = out.len() - bshape.len();
            for (flat, &x) in av.iter().enumerate() {
                let (mut rem, mut idx) = (flat, [0usize; 4]);
                for d in (0..4).rev() {
                    idx[d] = rem % out[d];
                    rem /= out[d];
                }
                let bi =
                    bshape.iter().enumerate().fold(0, |acc, (d, &n)| acc * n + if n == 1 { 0 } else { idx[lead + d] });
                assert!((got[flat] - x * bv[bi]).abs() < 1e-15, "{bshape:?} at {idx:?}");
            }
        }
        Ok(())
    }
}
