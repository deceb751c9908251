//! `GpuStorage`: a tensor's elements in one wgpu buffer (f32, or i64 stored as i32: indices
//! and labels, values outside i32 refused on upload; f64 stays on the CPU, WGSL has no portable
//! f64), its upload, read-back, fill, strided copies and casts. The other primitives launch from
//! the files beside this one, by purpose: `elementwise.rs`, `reduce.rs`, `index.rs`,
//! `linalg.rs` (matmul, convolution windows, batch norm) and `optim.rs`. Inputs are read through
//! their layouts (strides and offsets), so views cost no copy; outputs are fresh contiguous buffers.

use std::sync::Arc;

use super::launch::{ew_launch, f, u, Grid, Kernel, EW_P0, EW_WORDS};
use super::shaders::Shader;
use super::GpuContext;
use crate::cpu::CpuStorage;
use crate::layout::Layout;
use crate::{DType, Error, Result};

pub struct GpuStorage {
    pub(super) buf: Option<wgpu::Buffer>,
    pub(super) len: usize,
    pub(super) dtype: DType,
    pub(super) ctx: Arc<GpuContext>,
}

impl Drop for GpuStorage {
    fn drop(&mut self) {
        if let Some(b) = self.buf.take() {
            self.ctx.recycle(b);
        }
    }
}

pub(super) fn f64_refused(op: &'static str) -> Error {
    Error::msg(format!(
        "{op}: f64 tensors stay on the CPU — the GPU backend computes in f32 (WGSL has no portable f64); \
         convert with .to_dtype(DType::F32) before moving to the GPU"
    ))
}

impl GpuStorage {
    pub fn dtype(&self) -> DType {
        self.dtype
    }
    pub fn len(&self) -> usize {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    pub fn context(&self) -> &Arc<GpuContext> {
        &self.ctx
    }
    pub(crate) fn buffer(&self) -> &wgpu::Buffer {
        self.buf.as_ref().expect("GPU buffer taken")
    }

    /// An uninitialised tensor of `len` elements of `dtype`.
    pub(super) fn empty(ctx: &Arc<GpuContext>, len: usize, dtype: DType) -> Result<GpuStorage> {
        if dtype == DType::F64 {
            return Err(f64_refused("GPU tensor"));
        }
        let buf = ctx.alloc((len.max(1) * 4) as u64)?;
        Ok(GpuStorage { buf: Some(buf), len, dtype, ctx: ctx.clone() })
    }

    pub(super) fn same_ctx(&self, other: &GpuStorage, op: &'static str) -> Result<()> {
        if Arc::ptr_eq(&self.ctx, &other.ctx) {
            Ok(())
        } else {
            Err(Error::DeviceMismatch {
                op,
                lhs: format!("gpu({})", self.ctx.adapter.name),
                rhs: format!("gpu({}, another context)", other.ctx.adapter.name),
            })
        }
    }

    /// Fill: copy.wgsl `fill`.
    pub fn full(ctx: &Arc<GpuContext>, n: usize, dtype: DType, v: f64) -> Result<GpuStorage> {
        let out = Self::empty(ctx, n, dtype)?;
        let mut p = vec![0u32; EW_WORDS];
        p[0] = u(n);
        p[EW_P0] = match dtype {
            DType::I64 => (v as i32) as u32,
            _ => f(v),
        };
        ctx.launch(Kernel::of(Shader::Copy, "fill"), &[(4, out.buffer())], &p, Grid::Threads(n));
        Ok(out)
    }

    pub fn from_cpu(s: &CpuStorage, ctx: &Arc<GpuContext>) -> Result<GpuStorage> {
        let (bytes, dtype): (Vec<u8>, DType) = match s {
            CpuStorage::F32(v) => (bytemuck::cast_slice(v).to_vec(), DType::F32),
            CpuStorage::I64(v) => {
                let mut w = Vec::with_capacity(v.len());
                for &x in v {
                    let y = i32::try_from(x).map_err(|_| {
                        Error::msg(format!("to_device: i64 value {x} does not fit the GPU's i32 index type"))
                    })?;
                    w.push(y);
                }
                (bytemuck::cast_slice(&w).to_vec(), DType::I64)
            }
            CpuStorage::F64(_) => return Err(f64_refused("to_device")),
        };
        if bytes.is_empty() {
            return Self::empty(ctx, 0, dtype);
        }
        Ok(GpuStorage { buf: Some(ctx.upload(&bytes)?), len: s.len(), dtype, ctx: ctx.clone() })
    }

    pub fn to_cpu(&self) -> Result<CpuStorage> {
        let bytes = self.ctx.read(self.buffer(), (self.len * 4) as u64)?;
        Ok(match self.dtype {
            DType::F32 => CpuStorage::F32(bytemuck::pod_collect_to_vec(&bytes)),
            DType::I64 => {
                let v: Vec<i32> = bytemuck::pod_collect_to_vec(&bytes);
                CpuStorage::I64(v.into_iter().map(i64::from).collect())
            }
            DType::F64 => unreachable!("f64 never lives on the GPU"),
        })
    }

    // ---- copies ----------------------------------------------------------------------------------

    /// Strided copy into `dst` laid out as `dl`: copy.wgsl `copy`.
    pub(super) fn copy_into(&self, l: &Layout, dst: &GpuStorage, dl: &Layout) -> Result<()> {
        ew_launch("copy", Kernel::of(Shader::Copy, "copy"), &[(self, l)], (dst, Some(dl)), &[])
    }

    pub fn copy_strided(&self, l: &Layout) -> Result<GpuStorage> {
        let out = Self::empty(&self.ctx, l.numel(), self.dtype)?;
        self.copy_into(l, &out, &Layout::contiguous(&l.shape))?;
        Ok(out)
    }

    /// This storage's elements as a contiguous buffer starting at 0: itself when it already is,
    /// else a copy.
    pub(super) fn contiguous(&self, l: &Layout) -> Result<Contig<'_>> {
        if l.is_contiguous() && l.offset == 0 {
            Ok(Contig::Borrowed(self))
        } else {
            Ok(Contig::Owned(self.copy_strided(l)?))
        }
    }

    pub fn to_dtype(&self, l: &Layout, dtype: DType) -> Result<GpuStorage> {
        let cast = match (self.dtype, dtype) {
            (a, b) if a == b => return self.copy_strided(l),
            (DType::F32, DType::I64) => 0.0,
            (DType::I64, DType::F32) => 1.0,
            _ => return Err(f64_refused("to_dtype")),
        };
        let out = Self::empty(&self.ctx, l.numel(), dtype)?;
        let consts = [("CAST", cast)];
        let k = Kernel::with(Shader::Copy, "convert", &consts);
        ew_launch("to_dtype", k, &[(self, l)], (&out, None), &[])?;
        Ok(out)
    }

    /// `cat` along `dim`: each source is copied into its slice of the output.
    pub fn cat(srcs: &[(&GpuStorage, &Layout)], dim: usize, out_shape: &[usize]) -> Result<GpuStorage> {
        let first = srcs[0].0;
        let out = Self::empty(&first.ctx, out_shape.iter().product(), first.dtype)?;
        let whole = Layout::contiguous(out_shape);
        let mut at = 0;
        for (s, l) in srcs {
            first.same_ctx(s, "cat")?;
            if s.dtype != first.dtype {
                return Err(Error::DTypeMismatch { op: "cat", lhs: first.dtype, rhs: s.dtype });
            }
            let d = l.shape[dim];
            s.copy_into(l, &out, &whole.narrow(dim, at, d))?;
            at += d;
        }
        Ok(out)
    }

    pub(super) fn need_f32(&self, op: &'static str) -> Result<()> {
        if self.dtype != DType::F32 {
            return Err(Error::UnsupportedDType { op, dtype: self.dtype });
        }
        Ok(())
    }
}

/// A contiguous view of a storage's elements: the storage itself, or a temporary copy.
pub(super) enum Contig<'a> {
    Borrowed(&'a GpuStorage),
    Owned(GpuStorage),
}

impl Contig<'_> {
    pub(super) fn get(&self) -> &GpuStorage {
        match self {
            Contig::Borrowed(s) => s,
            Contig::Owned(s) => s,
        }
    }
}
