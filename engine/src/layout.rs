//! Shape, strides and offset, kept apart from storage. View ops (reshape of a contiguous tensor,
//! permute, transpose, expand, narrow) only build a new `Layout`; the data is not touched.
//! `StridedIter` walks any layout in row-major order and is the one CPU iterator every kernel uses.

use crate::{Error, Result};

pub type Shape = Vec<usize>;

pub fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}

/// The number of elements of a shape given by a user, or an error naming `op` and the shape when
/// it does not fit in `usize`. The product of the non-zero dims must fit too: it bounds every
/// stride, and a shape such as [0, 2⁴⁰, 2⁴⁰] has no elements but unrepresentable strides.
pub fn checked_numel(op: &'static str, shape: &[usize]) -> Result<usize> {
    let mut n: usize = 1;
    for &d in shape {
        n = n.checked_mul(d.max(1)).ok_or_else(|| {
            Error::bad_shape(op, shape, "the number of elements (or a stride) overflows the address space")
        })?;
    }
    Ok(if shape.contains(&0) { 0 } else { n })
}

/// Row-major strides of a contiguous tensor of this shape.
pub fn contiguous_strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1usize; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// Resolve a possibly negative axis (`-1` = last) against a rank.
pub fn normalize_dim(op: &'static str, dim: isize, rank: usize) -> Result<usize> {
    let r = rank.max(1) as isize;
    let d = if dim < 0 { dim + r } else { dim };
    if d < 0 || d >= r {
        return Err(Error::DimOutOfRange { op, dim, rank });
    }
    Ok(d as usize)
}

/// NumPy broadcasting: align trailing dims; each pair must be equal or contain a 1.
pub fn broadcast_shape(op: &'static str, a: &[usize], b: &[usize]) -> Result<Shape> {
    let n = a.len().max(b.len());
    let mut out = vec![0; n];
    for i in 0..n {
        let da = if i + a.len() >= n { a[i + a.len() - n] } else { 1 };
        let db = if i + b.len() >= n { b[i + b.len() - n] } else { 1 };
        out[i] = if da == db || db == 1 {
            da
        } else if da == 1 {
            db
        } else {
            return Err(Error::shape(op, a, b, "shapes cannot be broadcast together"));
        };
    }
    Ok(out)
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    pub shape: Shape,
    pub strides: Vec<usize>,
    pub offset: usize,
}

impl Layout {
    pub fn contiguous(shape: &[usize]) -> Self {
        Layout { shape: shape.to_vec(), strides: contiguous_strides(shape), offset: 0 }
    }
    pub fn rank(&self) -> usize {
        self.shape.len()
    }
    pub fn numel(&self) -> usize {
        numel(&self.shape)
    }
    /// Row-major with no gaps (dims of size 1 may carry any stride).
    pub fn is_contiguous(&self) -> bool {
        let mut expected = 1;
        for i in (0..self.shape.len()).rev() {
            if self.shape[i] != 1 && self.strides[i] != expected {
                return false;
            }
            expected *= self.shape[i];
        }
        true
    }
    /// Contiguous and starting at offset 0 of a storage of exactly numel elements is checked by callers.
    pub fn contiguous_range(&self) -> Option<(usize, usize)> {
        if self.is_contiguous() {
            Some((self.offset, self.offset + self.numel()))
        } else {
            None
        }
    }
    pub fn permute(&self, perm: &[usize]) -> Layout {
        Layout {
            shape: perm.iter().map(|&p| self.shape[p]).collect(),
            strides: perm.iter().map(|&p| self.strides[p]).collect(),
            offset: self.offset,
        }
    }
    /// Broadcast to `shape` (which must be a valid broadcast target) by giving new or size-1 dims stride 0.
    pub fn broadcast_to(&self, shape: &[usize]) -> Layout {
        let n = shape.len();
        let k = self.shape.len();
        let mut strides = vec![0; n];
        for i in 0..k {
            let j = n - k + i;
            strides[j] = if self.shape[i] == shape[j] { self.strides[i] } else { 0 };
        }
        Layout { shape: shape.to_vec(), strides, offset: self.offset }
    }
    pub fn narrow(&self, dim: usize, start: usize, len: usize) -> Layout {
        let mut l = self.clone();
        l.offset += start * self.strides[dim];
        l.shape[dim] = len;
        l
    }
    /// A view with a new shape if the memory order allows it without a copy.
    pub fn reshape_view(&self, shape: &[usize]) -> Option<Layout> {
        if self.is_contiguous() {
            Some(Layout { shape: shape.to_vec(), strides: contiguous_strides(shape), offset: self.offset })
        } else {
            None
        }
    }
    pub fn iter(&self) -> StridedIter<'_> {
        StridedIter::new(self)
    }
}

/// Walks the storage offsets of a layout in row-major order of its shape.
pub struct StridedIter<'a> {
    l: &'a Layout,
    idx: Vec<usize>,
    next: Option<usize>,
}

impl<'a> StridedIter<'a> {
    pub fn new(l: &'a Layout) -> Self {
        let next = if l.numel() == 0 { None } else { Some(l.offset) };
        StridedIter { l, idx: vec![0; l.rank()], next }
    }
}

impl Iterator for StridedIter<'_> {
    type Item = usize;
    #[inline]
    fn next(&mut self) -> Option<usize> {
        let cur = self.next?;
        let mut off = cur;
        let mut d = self.l.rank();
        loop {
            if d == 0 {
                self.next = None;
                break;
            }
            d -= 1;
            self.idx[d] += 1;
            off += self.l.strides[d];
            if self.idx[d] < self.l.shape[d] {
                self.next = Some(off);
                break;
            }
            off -= self.l.strides[d] * self.l.shape[d];
            self.idx[d] = 0;
        }
        Some(cur)
    }
}

/// Merge adjacent dims that every layout walks as one (stride[i] == stride[i+1]·shape[i+1] in all
/// of them) and drop dims of size 1. The layouts must share a shape; the results do too. A
/// [N, C, H, W] tensor plus a broadcast [1, C, 1, 1] one becomes [N, C, H·W]: longer inner rows.
pub fn coalesce(ls: &[&Layout]) -> Vec<Layout> {
    let r = ls[0].rank();
    let mut shape: Vec<usize> = Vec::with_capacity(r);
    let mut strides: Vec<Vec<usize>> = vec![Vec::with_capacity(r); ls.len()];
    for d in 0..r {
        let n = ls[0].shape[d];
        if n == 1 {
            continue;
        }
        let mergeable =
            !shape.is_empty() && ls.iter().zip(&strides).all(|(l, s)| *s.last().unwrap() == l.strides[d] * n);
        if mergeable {
            *shape.last_mut().unwrap() *= n;
            for (l, s) in ls.iter().zip(strides.iter_mut()) {
                *s.last_mut().unwrap() = l.strides[d];
            }
        } else {
            shape.push(n);
            for (l, s) in ls.iter().zip(strides.iter_mut()) {
                s.push(l.strides[d]);
            }
        }
    }
    ls.iter().zip(strides).map(|(l, s)| Layout { shape: shape.clone(), strides: s, offset: l.offset }).collect()
}

/// Calls `f(offset_of_row_start)` for every row of the last dimension: the inner loop of most
/// kernels then runs with a fixed stride, which the compiler vectorises when that stride is 1.
pub fn for_each_row(l: &Layout, mut f: impl FnMut(usize)) {
    if l.numel() == 0 {
        return;
    }
    let r = l.rank();
    if r <= 1 {
        f(l.offset);
        return;
    }
    let outer = Layout { shape: l.shape[..r - 1].to_vec(), strides: l.strides[..r - 1].to_vec(), offset: l.offset };
    for o in outer.iter() {
        f(o);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strided_iter_walks_a_transpose() {
        // [[0,1,2],[3,4,5]] transposed is [[0,3],[1,4],[2,5]]
        let l = Layout::contiguous(&[2, 3]).permute(&[1, 0]);
        assert_eq!(l.iter().collect::<Vec<_>>(), vec![0, 3, 1, 4, 2, 5]);
        assert!(!l.is_contiguous());
    }

    #[test]
    fn broadcast_rules() {
        assert_eq!(broadcast_shape("add", &[3, 1], &[4]).unwrap(), vec![3, 4]);
        assert_eq!(broadcast_shape("add", &[], &[2, 2]).unwrap(), vec![2, 2]);
        let e = broadcast_shape("add", &[3, 2], &[4]).unwrap_err().to_string();
        assert!(e.contains("add") && e.contains("[3, 2]") && e.contains("[4]"), "{e}");
    }

    #[test]
    fn coalesce_merges_walkable_dims() {
        let a = Layout::contiguous(&[2, 3, 4, 5]);
        let b = Layout::contiguous(&[1, 3, 1, 1]).broadcast_to(&[2, 3, 4, 5]);
        let c = coalesce(&[&a, &b]);
        assert_eq!(c[0].shape, vec![2, 3, 20]);
        assert_eq!(c[0].strides, vec![60, 20, 1]);
        assert_eq!(c[1].strides, vec![0, 1, 0]);
        assert_eq!(c[0].iter().collect::<Vec<_>>(), a.iter().collect::<Vec<_>>());
        assert_eq!(c[1].iter().collect::<Vec<_>>(), b.iter().collect::<Vec<_>>());
        let t = Layout::contiguous(&[4, 6]).permute(&[1, 0]);
        assert_eq!(coalesce(&[&t])[0].shape, vec![6, 4]);
    }

    #[test]
    fn overflowing_shapes_are_errors() {
        assert_eq!(checked_numel("t", &[2, 0, 3]).unwrap(), 0);
        assert_eq!(checked_numel("t", &[]).unwrap(), 1);
        let e = checked_numel("Tensor::new", &[usize::MAX, 2]).unwrap_err().to_string();
        assert!(e.contains("Tensor::new") && e.contains("overflows") && e.contains(&format!("{}", usize::MAX)), "{e}");
        assert!(checked_numel("t", &[0, 1 << 40, 1 << 40]).is_err());
    }

    #[test]
    fn expand_gives_stride_zero() {
        let l = Layout::contiguous(&[3, 1]).broadcast_to(&[2, 3, 4]);
        assert_eq!(l.strides, vec![0, 1, 0]);
        assert_eq!(l.iter().take(5).collect::<Vec<_>>(), vec![0, 0, 0, 0, 1]);
    }
}
