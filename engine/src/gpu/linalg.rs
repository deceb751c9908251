//! The performance kernels' launches: matmul (matmul.wgsl), the convolution windows im2col and
//! col2im (conv.wgsl) and fused batch norm (batch_norm.wgsl).

use super::launch::{f, u, Grid, Kernel};
use super::shaders::Shader;
use super::storage::GpuStorage;
use crate::layout::{coalesce, Layout};
use crate::storage::Conv2dGeom;
use crate::{DType, Result};

impl GpuStorage {
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
}
