//! Indexing launches (index.wgsl): index_select, index_add, gather, scatter_add.

use super::launch::{u, Grid, Kernel};
use super::shaders::Shader;
use super::storage::GpuStorage;
use crate::layout::Layout;
use crate::{DType, Error, Result};

/// (outer, dim, inner) sizes of a shape split around `dim`.
fn split(shape: &[usize], dim: usize) -> (usize, usize, usize) {
    (shape[..dim].iter().product(), shape[dim], shape[dim + 1..].iter().product())
}

impl GpuStorage {
    // ---- indexing --------------------------------------------------------------------------------

    fn index_kernel(
        &self,
        entry: &'static str,
        idx: &GpuStorage,
        il: &Layout,
        src_l: &Layout,
        out_len: usize,
        sizes: [usize; 4],
        out_dtype: DType,
    ) -> Result<GpuStorage> {
        self.same_ctx(idx, entry)?;
        if idx.dtype != DType::I64 {
            return Err(Error::msg(format!("{entry}: indices must have dtype i64, got {:?}", idx.dtype)));
        }
        let src = self.contiguous(src_l)?;
        let ix = idx.contiguous(il)?;
        let out = Self::empty(&self.ctx, out_len, out_dtype)?;
        let p = [u(out_len), u(sizes[0]), u(sizes[1]), u(sizes[2]), u(sizes[3])];
        let bufs = [(1, src.get().buffer()), (2, ix.get().buffer()), (3, out.buffer())];
        self.ctx.launch(Kernel::of(Shader::Index, entry), &bufs, &p, Grid::Threads(out_len));
        Ok(out)
    }

    pub fn index_select(&self, l: &Layout, dim: usize, idx: &GpuStorage, il: &Layout) -> Result<GpuStorage> {
        let (outer, d, inner) = split(&l.shape, dim);
        let j = il.numel();
        self.index_kernel("index_select", idx, il, l, outer * j * inner, [outer, d, inner, j], self.dtype)
    }

    pub fn index_add(
        &self,
        l: &Layout,
        dim: usize,
        idx: &GpuStorage,
        il: &Layout,
        out_shape: &[usize],
    ) -> Result<GpuStorage> {
        self.need_f32("index_add")?;
        let (outer, d, inner) = split(out_shape, dim);
        let j = il.numel();
        self.index_kernel("index_add", idx, il, l, outer * d * inner, [outer, d, inner, j], DType::F32)
    }

    pub fn gather(&self, l: &Layout, dim: usize, idx: &GpuStorage, il: &Layout) -> Result<GpuStorage> {
        let (outer, d, inner) = split(&l.shape, dim);
        let j = il.shape[dim];
        self.index_kernel("gather", idx, il, l, il.numel(), [outer, d, inner, j], self.dtype)
    }

    pub fn scatter_add(
        &self,
        l: &Layout,
        dim: usize,
        idx: &GpuStorage,
        il: &Layout,
        out_shape: &[usize],
    ) -> Result<GpuStorage> {
        self.need_f32("scatter_add")?;
        let (outer, d, inner) = split(out_shape, dim);
        let j = il.shape[dim];
        self.index_kernel("scatter_add", idx, il, l, outer * d * inner, [outer, d, inner, j], DType::F32)
    }
}
