//! Indexing kernels and their adjoints: index_select / index_add along one dim, gather /
//! scatter_add along one dim. The adjoints accumulate, so repeated indices add up their gradients.

use super::{contiguous, map_any, map_float, CpuStorage};
use crate::dtype::{Elem, Float};
use crate::layout::Layout;
use crate::{Error, Result};

/// (outer, dim, inner) sizes of a shape split around `dim`.
fn split(shape: &[usize], dim: usize) -> (usize, usize, usize) {
    (shape[..dim].iter().product(), shape[dim], shape[dim + 1..].iter().product())
}

fn index_select_k<T: Elem>(v: &[T], l: &Layout, dim: usize, idx: &[usize]) -> Vec<T> {
    let src = contiguous(v, l);
    let (outer, d, inner) = split(&l.shape, dim);
    let mut out = Vec::with_capacity(outer * idx.len() * inner);
    for o in 0..outer {
        for &i in idx {
            let s = (o * d + i) * inner;
            out.extend_from_slice(&src[s..s + inner]);
        }
    }
    out
}

fn index_add_k<T: Float>(v: &[T], l: &Layout, dim: usize, idx: &[usize], out_shape: &[usize]) -> Vec<T> {
    let src = contiguous(v, l);
    let (outer, d, inner) = split(out_shape, dim);
    let mut out = vec![T::zero(); outer * d * inner];
    let j_n = idx.len();
    for o in 0..outer {
        for (j, &i) in idx.iter().enumerate() {
            let s = (o * j_n + j) * inner;
            let t = (o * d + i) * inner;
            for (dst, &x) in out[t..t + inner].iter_mut().zip(&src[s..s + inner]) {
                *dst = *dst + x;
            }
        }
    }
    out
}

fn gather_k<T: Elem>(v: &[T], l: &Layout, dim: usize, idx: &[usize], ishape: &[usize]) -> Vec<T> {
    let src = contiguous(v, l);
    let (outer, d, inner) = split(&l.shape, dim);
    let j_n = ishape[dim];
    let mut out = Vec::with_capacity(idx.len());
    for o in 0..outer {
        for j in 0..j_n {
            for i in 0..inner {
                let k = idx[(o * j_n + j) * inner + i];
                out.push(src[(o * d + k) * inner + i]);
            }
        }
    }
    out
}

fn scatter_add_k<T: Float>(v: &[T], l: &Layout, dim: usize, idx: &[usize], out_shape: &[usize]) -> Vec<T> {
    let src = contiguous(v, l);
    let (outer, d, inner) = split(out_shape, dim);
    let j_n = l.shape[dim];
    let mut out = vec![T::zero(); outer * d * inner];
    for o in 0..outer {
        for j in 0..j_n {
            for i in 0..inner {
                let p = (o * j_n + j) * inner + i;
                let t = (o * d + idx[p]) * inner + i;
                out[t] = out[t] + src[p];
            }
        }
    }
    out
}

/// gather/scatter need the index to match the data in every dim but `dim`.
fn check_gather_shapes(op: &'static str, data: &[usize], index: &[usize], dim: usize) -> Result<()> {
    let ok = data.len() == index.len() && data.iter().zip(index).enumerate().all(|(d, (a, b))| d == dim || a == b);
    if !ok {
        return Err(Error::shape(op, data, index, format!("index must match the input in every dim except {dim}")));
    }
    Ok(())
}

impl CpuStorage {
    pub fn index_select(&self, l: &Layout, dim: usize, idx: &CpuStorage, il: &Layout) -> Result<Self> {
        let idx = idx.indices(il, "index_select", l.shape[dim])?;
        Ok(map_any!(self, |v| index_select_k(v, l, dim, &idx)))
    }
    pub fn index_add(
        &self,
        l: &Layout,
        dim: usize,
        idx: &CpuStorage,
        il: &Layout,
        out_shape: &[usize],
    ) -> Result<Self> {
        let idx = idx.indices(il, "index_add", out_shape[dim])?;
        Ok(map_float!(self, "index_add", |v| index_add_k(v, l, dim, &idx, out_shape)))
    }
    pub fn gather(&self, l: &Layout, dim: usize, idx: &CpuStorage, il: &Layout) -> Result<Self> {
        check_gather_shapes("gather", &l.shape, &il.shape, dim)?;
        let idx_v = idx.indices(il, "gather", l.shape[dim])?;
        Ok(map_any!(self, |v| gather_k(v, l, dim, &idx_v, &il.shape)))
    }
    pub fn scatter_add(
        &self,
        l: &Layout,
        dim: usize,
        idx: &CpuStorage,
        il: &Layout,
        out_shape: &[usize],
    ) -> Result<Self> {
        check_gather_shapes("scatter_add", out_shape, &il.shape, dim)?;
        let idx_v = idx.indices(il, "scatter_add", out_shape[dim])?;
        Ok(map_float!(self, "scatter_add", |v| scatter_add_k(v, l, dim, &idx_v, out_shape)))
    }
}
