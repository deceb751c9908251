//! `GpuStorage` and the host side of every GPU primitive: check dtypes, merge dims, pack the
//! kernel's parameters and launch it. Each primitive reads as params, buffers, launch: one
//! launch path (`GpuContext::launch`, and `ew_launch` for the strided elementwise and copy
//! kernels, which also packs their parameters) picks the grid and records the dispatch. The
//! arithmetic itself is in `shaders/*.wgsl`; each function here names the entry point it launches.
//! Inputs are read through their layouts (strides and offsets), so views cost no copy; outputs
//! are fresh contiguous buffers.
//!
//! Dtypes: f32, and i64 tensors stored as i32 (indices and labels; values outside i32 are refused
//! on upload). f64 stays on the CPU: WGSL has no portable f64.

use std::sync::Arc;

use super::shaders::Shader;
use super::GpuContext;
use crate::cpu::CpuStorage;
use crate::layout::{coalesce, Layout};
use crate::storage::{AdamHyper, BinaryOp, CmpOp, Conv2dGeom, ReduceOp, SgdHyper, UnaryOp};
use crate::{DType, Error, Result};

/// Largest rank a strided operand may have after merging dims (`MAX_RANK` in prelude.wgsl).
const MAX_RANK: usize = 8;
/// Slots of the elementwise/copy parameter block (see elementwise.wgsl and copy.wgsl).
const EW_SHAPE: usize = 2;
const EW_OPERAND: usize = 10;
const EW_P0: usize = 46;
const EW_WORDS: usize = 48;

pub struct GpuStorage {
    buf: Option<wgpu::Buffer>,
    len: usize,
    dtype: DType,
    ctx: Arc<GpuContext>,
}

impl Drop for GpuStorage {
    fn drop(&mut self) {
        if let Some(b) = self.buf.take() {
            self.ctx.recycle(b);
        }
    }
}

fn f64_refused(op: &'static str) -> Error {
    Error::msg(format!(
        "{op}: f64 tensors stay on the CPU — the GPU backend computes in f32 (WGSL has no portable f64); \
         convert with .to_dtype(DType::F32) before moving to the GPU"
    ))
}

fn check_rank(op: &'static str, l: &Layout) -> Result<()> {
    if l.rank() > MAX_RANK {
        return Err(Error::bad_shape(op, &l.shape, format!("the GPU backend handles views of rank ≤ {MAX_RANK}")));
    }
    Ok(())
}

fn u(x: usize) -> u32 {
    x as u32
}

fn f(x: f64) -> u32 {
    (x as f32).to_bits()
}

/// Parameters of an elementwise or copy kernel: n, the merged output shape, and each operand's
/// offset and strides in the slot the shader expects (operand k at EW_OPERAND + 9k).
fn ew_params(op: &'static str, ls: &[(usize, &Layout)], scalars: &[u32]) -> Result<(usize, Vec<u32>)> {
    let views: Vec<&Layout> = ls.iter().map(|(_, l)| *l).collect();
    let merged = coalesce(&views);
    check_rank(op, &merged[0])?;
    let n = views[0].numel();
    let mut p = vec![0u32; EW_WORDS];
    p[0] = u(n);
    p[1] = u(merged[0].rank());
    for (d, &s) in merged[0].shape.iter().enumerate() {
        p[EW_SHAPE + d] = u(s);
    }
    for ((slot, _), m) in ls.iter().zip(&merged) {
        let at = EW_OPERAND + 9 * slot;
        p[at] = u(m.offset);
        for (d, &s) in m.strides.iter().enumerate() {
            p[at + 1 + d] = u(s);
        }
    }
    p[EW_P0..EW_P0 + scalars.len()].copy_from_slice(scalars);
    Ok((n, p))
}

/// OP codes of elementwise.wgsl.
fn unary_code(op: UnaryOp) -> (u32, [u32; 2]) {
    match op {
        UnaryOp::Neg => (0, [0, 0]),
        UnaryOp::Exp => (1, [0, 0]),
        UnaryOp::Log => (2, [0, 0]),
        UnaryOp::Sqrt => (3, [0, 0]),
        UnaryOp::Recip => (4, [0, 0]),
        UnaryOp::Affine { mul, add } => (5, [f(mul), f(add)]),
        UnaryOp::PowScalar(p) => (6, [f(p), 0]),
        UnaryOp::Relu => (7, [0, 0]),
        UnaryOp::LeakyRelu(s) => (8, [f(s), 0]),
        UnaryOp::Sigmoid => (9, [0, 0]),
        UnaryOp::Tanh => (10, [0, 0]),
    }
}

fn binary_code(op: BinaryOp) -> u32 {
    match op {
        BinaryOp::Add => 0,
        BinaryOp::Mul => 1,
        BinaryOp::Div => 2,
        BinaryOp::Pow => 3,
        BinaryOp::Maximum => 4,
    }
}

fn cmp_code(op: CmpOp) -> u32 {
    match op {
        CmpOp::Eq => 0,
        CmpOp::Gt => 1,
    }
}

/// (outer, dim, inner) sizes of a shape split around `dim`.
fn split(shape: &[usize], dim: usize) -> (usize, usize, usize) {
    (shape[..dim].iter().product(), shape[dim], shape[dim + 1..].iter().product())
}

// ---- launching -----------------------------------------------------------------------------------

/// A kernel: one entry point of one shader file, and the override constants its pipeline is
/// built with.
#[derive(Clone, Copy)]
struct Kernel<'a> {
    shader: Shader,
    entry: &'static str,
    consts: &'a [(&'static str, f64)],
}

impl Kernel<'static> {
    fn of(shader: Shader, entry: &'static str) -> Self {
        Kernel { shader, entry, consts: &[] }
    }
}

impl<'a> Kernel<'a> {
    fn with(shader: Shader, entry: &'static str, consts: &'a [(&'static str, f64)]) -> Self {
        Kernel { shader, entry, consts }
    }
}

/// The workgroup grid of a launch.
#[derive(Clone, Copy)]
enum Grid {
    /// One thread per element: 256-thread workgroups, folded under the per-dimension limit.
    Threads(usize),
    /// This many workgroups (one per output element or channel), folded likewise.
    Groups(usize),
    /// An explicit grid (matmul: tiles of C × batch).
    Exact([u32; 3]),
}

impl GpuContext {
    /// Launch `k` over `grid`: `bufs` are (binding, buffer) pairs, read-only inputs first, then
    /// outputs; `params` are the words for binding 0.
    fn launch(&self, k: Kernel, bufs: &[(u32, &wgpu::Buffer)], params: &[u32], grid: Grid) {
        let groups = match grid {
            Grid::Threads(n) => self.grid_1d(n),
            Grid::Groups(g) => self.grid_for_groups(g),
            Grid::Exact(g) => g,
        };
        self.dispatch(k.shader, k.entry, k.consts, bufs, params, groups);
    }
}

/// Launch a strided elementwise or copy kernel (elementwise.wgsl, copy.wgsl), one thread per
/// element of `ins[0]`: operand k is read through its layout from binding k + 1; the output is
/// binding 4, written through `out.1` (operand slot 3) when given, else contiguously. `scalars`
/// go to the parameter block's scalar slots.
fn ew_launch(
    op: &'static str,
    k: Kernel,
    ins: &[(&GpuStorage, &Layout)],
    out: (&GpuStorage, Option<&Layout>),
    scalars: &[u32],
) -> Result<()> {
    let mut views: Vec<(usize, &Layout)> = ins.iter().enumerate().map(|(slot, (_, l))| (slot, *l)).collect();
    views.extend(out.1.map(|l| (3, l)));
    let (n, p) = ew_params(op, &views, scalars)?;
    let mut bufs: Vec<(u32, &wgpu::Buffer)> =
        ins.iter().enumerate().map(|(slot, (s, _))| (slot as u32 + 1, s.buffer())).collect();
    bufs.push((4, out.0.buffer()));
    out.0.ctx.launch(k, &bufs, &p, Grid::Threads(n));
    Ok(())
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
    fn empty(ctx: &Arc<GpuContext>, len: usize, dtype: DType) -> Result<GpuStorage> {
        if dtype == DType::F64 {
            return Err(f64_refused("GPU tensor"));
        }
        let buf = ctx.alloc((len.max(1) * 4) as u64)?;
        Ok(GpuStorage { buf: Some(buf), len, dtype, ctx: ctx.clone() })
    }

    fn same_ctx(&self, other: &GpuStorage, op: &'static str) -> Result<()> {
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
    fn copy_into(&self, l: &Layout, dst: &GpuStorage, dl: &Layout) -> Result<()> {
        ew_launch("copy", Kernel::of(Shader::Copy, "copy"), &[(self, l)], (dst, Some(dl)), &[])
    }

    pub fn copy_strided(&self, l: &Layout) -> Result<GpuStorage> {
        let out = Self::empty(&self.ctx, l.numel(), self.dtype)?;
        self.copy_into(l, &out, &Layout::contiguous(&l.shape))?;
        Ok(out)
    }

    /// This storage's elements as a contiguous buffer starting at 0: itself when it already is,
    /// else a copy.
    fn contiguous(&self, l: &Layout) -> Result<Contig<'_>> {
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

    // ---- elementwise -----------------------------------------------------------------------------

    fn need_f32(&self, op: &'static str) -> Result<()> {
        if self.dtype != DType::F32 {
            return Err(Error::UnsupportedDType { op, dtype: self.dtype });
        }
        Ok(())
    }

    pub fn unary(&self, l: &Layout, op: UnaryOp) -> Result<GpuStorage> {
        self.need_f32("unary op")?;
        let (code, scalars) = unary_code(op);
        let out = Self::empty(&self.ctx, l.numel(), DType::F32)?;
        let consts = [("OP", code as f64)];
        let k = Kernel::with(Shader::Elementwise, "unary", &consts);
        ew_launch("unary op", k, &[(self, l)], (&out, None), &scalars)?;
        Ok(out)
    }

    pub fn binary(&self, l: &Layout, rhs: &GpuStorage, rl: &Layout, op: BinaryOp) -> Result<GpuStorage> {
        self.same_ctx(rhs, "binary op")?;
        if self.dtype != rhs.dtype {
            return Err(Error::DTypeMismatch { op: "binary op", lhs: self.dtype, rhs: rhs.dtype });
        }
        self.need_f32("binary op")?;
        let out = Self::empty(&self.ctx, l.numel(), DType::F32)?;
        let consts = [("OP", binary_code(op) as f64)];
        let k = Kernel::with(Shader::Elementwise, "binary", &consts);
        ew_launch("binary op", k, &[(self, l), (rhs, rl)], (&out, None), &[])?;
        Ok(out)
    }

    /// 0/1 as f32 (for f32 or i64 operands), like the CPU backend.
    pub fn cmp(&self, l: &Layout, rhs: &GpuStorage, rl: &Layout, op: CmpOp) -> Result<GpuStorage> {
        self.same_ctx(rhs, "comparison")?;
        if self.dtype != rhs.dtype {
            return Err(Error::DTypeMismatch { op: "comparison", lhs: self.dtype, rhs: rhs.dtype });
        }
        let dt = if self.dtype == DType::I64 { 1.0 } else { 0.0 };
        let out = Self::empty(&self.ctx, l.numel(), DType::F32)?;
        let consts = [("OP", cmp_code(op) as f64), ("DT", dt)];
        let k = Kernel::with(Shader::Elementwise, "cmp", &consts);
        ew_launch("comparison", k, &[(self, l), (rhs, rl)], (&out, None), &[])?;
        Ok(out)
    }

    /// `self != 0 ? a : b`: copy.wgsl `where_select`.
    pub fn where_cond(
        &self,
        l: &Layout,
        a: &GpuStorage,
        al: &Layout,
        b: &GpuStorage,
        bl: &Layout,
    ) -> Result<GpuStorage> {
        self.same_ctx(a, "where")?;
        self.same_ctx(b, "where")?;
        if a.dtype != b.dtype {
            return Err(Error::DTypeMismatch { op: "where", lhs: a.dtype, rhs: b.dtype });
        }
        let cdt = if self.dtype == DType::I64 { 1.0 } else { 0.0 };
        let out = Self::empty(&self.ctx, l.numel(), a.dtype)?;
        let consts = [("CDT", cdt)];
        let k = Kernel::with(Shader::Copy, "where_select", &consts);
        ew_launch("where", k, &[(a, al), (b, bl), (self, l)], (&out, None), &[])?;
        Ok(out)
    }

    // ---- reductions ------------------------------------------------------------------------------

    /// reduce.wgsl: one workgroup per output element.
    pub fn reduce(&self, l: &Layout, axes: &[usize], op: ReduceOp) -> Result<GpuStorage> {
        if self.dtype == DType::I64 && op == ReduceOp::Sum {
            // Integer sums (counts) go through f32, exact below 2^24.
            let x = self.to_dtype(l, DType::F32)?;
            let s = x.reduce(&Layout::contiguous(&l.shape), axes, op)?;
            return s.to_dtype(&Layout::contiguous(&[s.len]), DType::I64);
        }
        self.need_f32("reduce")?;
        let kept: Vec<usize> = (0..l.rank()).filter(|d| !axes.contains(d)).collect();
        let pick = |dims: &[usize], offset: usize| Layout {
            shape: dims.iter().map(|&d| l.shape[d]).collect(),
            strides: dims.iter().map(|&d| l.strides[d]).collect(),
            offset,
        };
        let k = coalesce(&[&pick(&kept, l.offset)]).remove(0);
        let r = coalesce(&[&pick(axes, 0)]).remove(0);
        check_rank("reduce", &k)?;
        check_rank("reduce", &r)?;
        let n_out = k.numel();
        let r_n = r.numel();
        let arg = op == ReduceOp::ArgMax;
        let out = Self::empty(&self.ctx, n_out, if arg { DType::I64 } else { DType::F32 })?;
        if r_n == 0 {
            return Err(Error::msg("reduce: cannot reduce over an empty set of elements on the GPU"));
        }
        let mut p = vec![0u32; 38];
        p[0] = u(n_out);
        p[1] = u(k.rank());
        p[2] = u(r.rank());
        p[3] = u(r_n);
        p[12] = u(k.offset);
        for d in 0..k.rank() {
            p[4 + d] = u(k.shape[d]);
            p[13 + d] = u(k.strides[d]);
        }
        for d in 0..r.rank() {
            p[21 + d] = u(r.shape[d]);
            p[30 + d] = u(r.strides[d]);
        }
        let code = match op {
            ReduceOp::Sum => 0.0,
            ReduceOp::Max => 1.0,
            ReduceOp::ArgMax => 2.0,
        };
        let bufs = [(1, self.buffer()), (2, out.buffer())];
        self.ctx.launch(Kernel::with(Shader::Reduce, "reduce", &[("OP", code)]), &bufs, &p, Grid::Groups(n_out));
        Ok(out)
    }

    // ---- matmul ----------------------------------------------------------------------------------

    /// matmul.wgsl: `l` is [batch.., m, k], `rl` is [batch.., k, n].
    pub fn matmul(&self, l: &Layout, rhs: &GpuStorage, rl: &Layout) -> Result<GpuStorage> {
        self.same_ctx(rhs, "matmul")?;
        self.need_f32("matmul")?;
        rhs.need_f32("matmul")?;
        let r = l.rank();
        let (m, k, n) = (l.shape[r - 2], l.shape[r - 1], rl.shape[r - 1]);
        let batch: usize = l.shape[..r - 2].iter().product();
        // The batch dims of both operands must fold into one stride each; if not, copy.
        let bl = Layout { shape: l.shape[..r - 2].to_vec(), strides: l.strides[..r - 2].to_vec(), offset: 0 };
        let brl = Layout { shape: rl.shape[..r - 2].to_vec(), strides: rl.strides[..r - 2].to_vec(), offset: 0 };
        let merged = coalesce(&[&bl, &brl]);
        if merged[0].rank() > 1 {
            let a = self.copy_strided(l)?;
            let b = rhs.copy_strided(rl)?;
            return a.matmul(&Layout::contiguous(&l.shape), &b, &Layout::contiguous(&rl.shape));
        }
        let (abs, bbs) = if merged[0].rank() == 1 { (merged[0].strides[0], merged[1].strides[0]) } else { (0, 0) };
        let out = Self::empty(&self.ctx, batch * m * n, DType::F32)?;
        let max_z = self.ctx.limits.max_compute_workgroups_per_dimension as usize;
        let mut b0 = 0;
        while b0 < batch {
            let nb = (batch - b0).min(max_z);
            // A chunk of batches writes at its own place in C: shift C through a sub-view.
            let p = [
                u(m),
                u(n),
                u(k),
                u(nb),
                u(l.offset + b0 * abs),
                u(abs),
                u(l.strides[r - 2]),
                u(l.strides[r - 1]),
                u(rl.offset + b0 * bbs),
                u(bbs),
                u(rl.strides[r - 2]),
                u(rl.strides[r - 1]),
            ];
            // Big products take the 128 × 128 tiles; small or skinny ones the 64 × 64 tiles (the
            // `TILE` override of matmul.wgsl: one kernel, one pipeline per tile size).
            let tile = if m >= 128 && n >= 128 { 128 } else { 64 };
            let consts = [("TILE", tile as f64)];
            let kernel = Kernel::with(Shader::Matmul, "matmul", &consts);
            let grid = Grid::Exact([u(n.div_ceil(tile)), u(m.div_ceil(tile)), u(nb)]);
            if b0 == 0 {
                self.ctx.launch(kernel, &[(1, self.buffer()), (2, rhs.buffer()), (3, out.buffer())], &p, grid);
            } else {
                let part = Self::empty(&self.ctx, nb * m * n, DType::F32)?;
                self.ctx.launch(kernel, &[(1, self.buffer()), (2, rhs.buffer()), (3, part.buffer())], &p, grid);
                let dl = Layout { shape: vec![nb * m * n], strides: vec![1], offset: b0 * m * n };
                part.copy_into(&Layout::contiguous(&[nb * m * n]), &out, &dl)?;
            }
            b0 += nb;
        }
        Ok(out)
    }

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

    // ---- convolution -----------------------------------------------------------------------------

    fn conv_params(g: &Conv2dGeom, n_out: usize, pad: f64, l: &Layout) -> [u32; 21] {
        let mut p = [0u32; 21];
        let vals = [
            n_out,
            g.n,
            g.c,
            g.h,
            g.w,
            g.kh,
            g.kw,
            g.stride.0,
            g.stride.1,
            g.padding.0,
            g.padding.1,
            g.dilation.0,
            g.dilation.1,
            g.out_h,
            g.out_w,
        ];
        for (i, v) in vals.iter().enumerate() {
            p[i] = u(*v);
        }
        p[15] = f(pad);
        p[16] = u(l.offset);
        for d in 0..4.min(l.rank()) {
            p[17 + d] = u(l.strides[d]);
        }
        p
    }

    pub fn im2col(&self, l: &Layout, g: &Conv2dGeom, pad_value: f64) -> Result<GpuStorage> {
        self.need_f32("im2col")?;
        let n_out = g.col_rows() * g.col_cols();
        let out = Self::empty(&self.ctx, n_out, DType::F32)?;
        let p = Self::conv_params(g, n_out, pad_value, l);
        let bufs = [(1, self.buffer()), (2, out.buffer())];
        self.ctx.launch(Kernel::of(Shader::Conv, "im2col"), &bufs, &p, Grid::Threads(n_out));
        Ok(out)
    }

    pub fn col2im(&self, l: &Layout, g: &Conv2dGeom) -> Result<GpuStorage> {
        self.need_f32("col2im")?;
        let cols = self.contiguous(l)?;
        let n_out = g.n * g.c * g.h * g.w;
        let out = Self::empty(&self.ctx, n_out, DType::F32)?;
        let image = Layout::contiguous(&[g.n, g.c, g.h, g.w]);
        let p = Self::conv_params(g, n_out, 0.0, &image);
        let bufs = [(1, cols.get().buffer()), (2, out.buffer())];
        self.ctx.launch(Kernel::of(Shader::Conv, "col2im"), &bufs, &p, Grid::Threads(n_out));
        Ok(out)
    }

    // ---- batch norm ------------------------------------------------------------------------------

    /// batch_norm.wgsl `stats`: one workgroup per channel.
    pub fn bn_stats(&self, l: &Layout, (n, c, s): (usize, usize, usize)) -> Result<GpuStorage> {
        self.need_f32("batch_norm")?;
        let x = self.contiguous(l)?;
        let out = Self::empty(&self.ctx, 2 * c, DType::F32)?;
        let bufs = [(1, x.get().buffer()), (6, out.buffer())];
        self.ctx.launch(Kernel::of(Shader::BatchNorm, "stats"), &bufs, &[u(n), u(c), u(s)], Grid::Groups(c));
        Ok(out)
    }

    /// batch_norm.wgsl `sums`: Σdy and Σdy·x̂ per channel.
    pub fn bn_sums(
        &self,
        l: &Layout,
        dy: &GpuStorage,
        dyl: &Layout,
        mean: &GpuStorage,
        invstd: &GpuStorage,
        (n, c, s): (usize, usize, usize),
    ) -> Result<GpuStorage> {
        self.need_f32("batch_norm backward")?;
        self.same_ctx(dy, "batch_norm backward")?;
        let x = self.contiguous(l)?;
        let g = dy.contiguous(dyl)?;
        let out = Self::empty(&self.ctx, 2 * c, DType::F32)?;
        let bufs =
            [(1, x.get().buffer()), (2, g.get().buffer()), (3, mean.buffer()), (4, invstd.buffer()), (6, out.buffer())];
        self.ctx.launch(Kernel::of(Shader::BatchNorm, "sums"), &bufs, &[u(n), u(c), u(s)], Grid::Groups(c));
        Ok(out)
    }

    /// batch_norm.wgsl `channel_fma`: a·k[c] + b·p[c] + q[c].
    #[allow(clippy::too_many_arguments)]
    pub fn channel_fma(
        &self,
        l: &Layout,
        b: &GpuStorage,
        bl: &Layout,
        k: &GpuStorage,
        p: &GpuStorage,
        q: &GpuStorage,
        (n, c, s): (usize, usize, usize),
    ) -> Result<GpuStorage> {
        self.need_f32("batch_norm")?;
        self.same_ctx(b, "batch_norm")?;
        let a = self.contiguous(l)?;
        let bb = b.contiguous(bl)?;
        let total = n * c * s;
        let out = Self::empty(&self.ctx, total, DType::F32)?;
        let bufs = [
            (1, a.get().buffer()),
            (2, bb.get().buffer()),
            (3, k.buffer()),
            (4, p.buffer()),
            (5, q.buffer()),
            (6, out.buffer()),
        ];
        self.ctx.launch(Kernel::of(Shader::BatchNorm, "channel_fma"), &bufs, &[u(n), u(c), u(s)], Grid::Threads(total));
        Ok(out)
    }

    // ---- randomness ------------------------------------------------------------------------------

    /// random.wgsl: the same counter-based mask as `CpuStorage::dropout_mask`.
    pub fn dropout_mask(ctx: &Arc<GpuContext>, n: usize, keep: f64, seed: u64, dtype: DType) -> Result<GpuStorage> {
        if dtype != DType::F32 {
            return Err(Error::UnsupportedDType { op: "dropout", dtype });
        }
        let out = Self::empty(ctx, n, DType::F32)?;
        let p = [u(n), seed as u32, (seed >> 32) as u32, crate::rng::keep_threshold(keep), f(1.0 / keep)];
        ctx.launch(Kernel::of(Shader::Random, "dropout_mask"), &[(1, out.buffer())], &p, Grid::Threads(n));
        Ok(out)
    }

    // ---- optimizer updates -----------------------------------------------------------------------

    fn check_update(&self, g: &GpuStorage, op: &'static str) -> Result<()> {
        self.same_ctx(g, op)?;
        self.need_f32(op)?;
        if g.dtype != DType::F32 {
            return Err(Error::DTypeMismatch { op, lhs: self.dtype, rhs: g.dtype });
        }
        Ok(())
    }

    pub fn axpby_(&mut self, alpha: f64, other: &GpuStorage, ol: &Layout, beta: f64) -> Result<()> {
        self.check_update(other, "axpby_")?;
        let g = other.contiguous(ol)?;
        let p = [u(self.len), f(alpha), f(beta)];
        let bufs = [(1, g.get().buffer()), (2, self.buffer())];
        self.ctx.launch(Kernel::of(Shader::Optim, "axpby"), &bufs, &p, Grid::Threads(self.len));
        Ok(())
    }

    pub fn sgd_step_(
        &mut self,
        grad: &GpuStorage,
        gl: &Layout,
        vel: Option<&mut GpuStorage>,
        h: SgdHyper,
    ) -> Result<()> {
        self.check_update(grad, "sgd")?;
        let g = grad.contiguous(gl)?;
        let momentum = vel.is_some();
        let vbuf = match &vel {
            Some(v) => v.buffer(),
            None => &self.ctx.dummy,
        };
        let p = [u(self.len), f(h.lr), f(h.momentum), f(h.weight_decay)];
        let bufs = [(1, g.get().buffer()), (2, self.buffer()), (3, vbuf)];
        let consts = [("MOMENTUM", momentum as u8 as f64), ("NESTEROV", h.nesterov as u8 as f64)];
        self.ctx.launch(Kernel::with(Shader::Optim, "sgd", &consts), &bufs, &p, Grid::Threads(self.len));
        Ok(())
    }

    pub fn adam_step_(
        &mut self,
        grad: &GpuStorage,
        gl: &Layout,
        m: &mut GpuStorage,
        v: &mut GpuStorage,
        h: AdamHyper,
    ) -> Result<()> {
        self.check_update(grad, "adam")?;
        let g = grad.contiguous(gl)?;
        let bc1 = 1.0 - h.beta1.powi(h.step as i32);
        let bc2 = 1.0 - h.beta2.powi(h.step as i32);
        let p = [
            u(self.len),
            f(h.beta1),
            f(h.beta2),
            f(h.eps),
            f(h.weight_decay),
            f(h.lr / bc1),
            f(bc2.sqrt()),
            f(1.0 - h.lr * h.weight_decay),
        ];
        let bufs = [(1, g.get().buffer()), (2, self.buffer()), (3, m.buffer()), (4, v.buffer())];
        let consts = [("DECOUPLED", h.decoupled as u8 as f64)];
        let k = Kernel::with(Shader::Optim, "adam", &consts);
        self.ctx.launch(k, &bufs, &p, Grid::Threads(self.len));
        Ok(())
    }
}

/// A contiguous view of a storage's elements: the storage itself, or a temporary copy.
enum Contig<'a> {
    Borrowed(&'a GpuStorage),
    Owned(GpuStorage),
}

impl Contig<'_> {
    fn get(&self) -> &GpuStorage {
        match self {
            Contig::Borrowed(s) => s,
            Contig::Owned(s) => s,
        }
    }
}
