//! The one launch path of the GPU backend: a [`Kernel`] (shader file, entry point, override
//! constants) run over a [`Grid`] by `GpuContext::launch`, and `ew_launch` for the strided
//! elementwise and copy kernels, which also packs their parameter block. Every primitive in the
//! sibling files reads as params, buffers, launch.

use super::shaders::Shader;
use super::storage::GpuStorage;
use super::GpuContext;
use crate::layout::{coalesce, Layout};
use crate::{Error, Result};

/// Largest rank a strided operand may have after merging dims (`MAX_RANK` in prelude.wgsl).
pub(super) const MAX_RANK: usize = 8;
/// Slots of the elementwise/copy parameter block (see elementwise.wgsl and copy.wgsl).
pub(super) const EW_SHAPE: usize = 2;
pub(super) const EW_OPERAND: usize = 10;
pub(super) const EW_P0: usize = 46;
pub(super) const EW_WORDS: usize = 48;

pub(super) fn check_rank(op: &'static str, l: &Layout) -> Result<()> {
    if l.rank() > MAX_RANK {
        return Err(Error::bad_shape(op, &l.shape, format!("the GPU backend handles views of rank ≤ {MAX_RANK}")));
    }
    Ok(())
}

pub(super) fn u(x: usize) -> u32 {
    x as u32
}

pub(super) fn f(x: f64) -> u32 {
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

// ---- launching -----------------------------------------------------------------------------------

/// A kernel: one entry point of one shader file, and the override constants its pipeline is
/// built with.
#[derive(Clone, Copy)]
pub(super) struct Kernel<'a> {
    shader: Shader,
    entry: &'static str,
    consts: &'a [(&'static str, f64)],
}

impl Kernel<'static> {
    pub(super) fn of(shader: Shader, entry: &'static str) -> Self {
        Kernel { shader, entry, consts: &[] }
    }
}

impl<'a> Kernel<'a> {
    pub(super) fn with(shader: Shader, entry: &'static str, consts: &'a [(&'static str, f64)]) -> Self {
        Kernel { shader, entry, consts }
    }
}

/// The workgroup grid of a launch.
#[derive(Clone, Copy)]
pub(super) enum Grid {
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
    pub(super) fn launch(&self, k: Kernel, bufs: &[(u32, &wgpu::Buffer)], params: &[u32], grid: Grid) {
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
pub(super) fn ew_launch(
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
