//! Elementwise launches (elementwise.wgsl `unary`, `binary`, `cmp`; copy.wgsl `where_select`)
//! and the dropout mask (random.wgsl): one thread per output element.

use std::sync::Arc;

use super::launch::{ew_launch, f, u, Grid, Kernel};
use super::shaders::Shader;
use super::storage::GpuStorage;
use super::GpuContext;
use crate::layout::Layout;
use crate::storage::{BinaryOp, CmpOp, UnaryOp};
use crate::{DType, Error, Result};

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

impl GpuStorage {
    // ---- elementwise -----------------------------------------------------------------------------

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
}
