//! Optimizer launches (optim.wgsl): in-place axpby, SGD with momentum and Adam/AdamW steps.

use super::launch::{f, u, Grid, Kernel};
use super::shaders::Shader;
use super::storage::GpuStorage;
use crate::layout::Layout;
use crate::storage::{AdamHyper, SgdHyper};
use crate::{DType, Error, Result};

impl GpuStorage {
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
