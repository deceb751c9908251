//! Reduction launches: reduce.wgsl, one workgroup per output element.

use super::launch::{check_rank, u, Grid, Kernel};
use super::shaders::Shader;
use super::storage::GpuStorage;
use crate::layout::{coalesce, Layout};
use crate::storage::ReduceOp;
use crate::{DType, Error, Result};

impl GpuStorage {
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
}
