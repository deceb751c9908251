//! Every differentiable op: its forward (a call into the backend's primitives), its backward rule
//! written with differentiable tensor ops, a doc line with the derivative, and its tests.
//! `engine/DERIVATIVES.md` lists the same rules as a table. [`PRIMITIVE_OPS`] below declares the
//! name of every op that records a backward rule; `crate::registry` (test data) gives each one
//! inputs for the gradient checks, and `tests/gradcheck.rs` checks the two agree.

pub mod activation;
pub mod conv;
pub mod elementwise;
pub mod index;
pub mod loss;
pub mod matmul;
pub mod movement;
pub mod norm;
pub mod reduce;

use crate::layout::Layout;
use crate::storage::{BinaryOp, Storage, UnaryOp};
use crate::{Error, Result, Tensor};

/// Names of every op that records its own backward rule (through `Tensor::record`).
pub const PRIMITIVE_OPS: &[&str] = &[
    "add",
    "mul",
    "div",
    "pow",
    "maximum",
    "affine",
    "powf",
    "clamp",
    "neg",
    "exp",
    "log",
    "sqrt",
    "recip",
    "abs",
    "where",
    "to_dtype",
    "reshape",
    "permute",
    "expand",
    "narrow",
    "contiguous",
    "cat",
    "sum",
    "max",
    "matmul",
    "relu",
    "leaky_relu",
    "sigmoid",
    "tanh",
    "softplus",
    "bce",
    "index_select",
    "index_add",
    "gather",
    "scatter_add",
    "im2col",
    "col2im",
    "batch_norm",
];

/// Ops that move data between devices; checked by the GPU parity tests, not by finite differences.
pub const DEVICE_OPS: &[&str] = &["to_device"];

impl Tensor {
    /// Apply a backend unary kernel; no graph.
    pub(crate) fn unary_raw(&self, op: UnaryOp) -> Result<Tensor> {
        let s = self.storage().unary(self.layout(), op)?;
        Ok(Tensor::from_storage(s, Layout::contiguous(self.shape())))
    }
    /// Apply a backend binary kernel to two tensors of one shape; no graph.
    pub(crate) fn binary_raw(&self, rhs: &Tensor, op: BinaryOp, name: &'static str) -> Result<Tensor> {
        self.check_same(rhs, name)?;
        if self.shape() != rhs.shape() {
            return Err(Error::shape(name, self.shape(), rhs.shape(), ""));
        }
        let s = {
            let (a, b) = (self.storage(), rhs.storage());
            a.binary(self.layout(), &b, rhs.layout(), op)?
        };
        Ok(Tensor::from_storage(s, Layout::contiguous(self.shape())))
    }
    /// Dtype and device must agree between operands.
    pub(crate) fn check_same(&self, rhs: &Tensor, op: &'static str) -> Result<()> {
        if self.dtype() != rhs.dtype() {
            return Err(Error::DTypeMismatch { op, lhs: self.dtype(), rhs: rhs.dtype() });
        }
        if self.device() != rhs.device() {
            return Err(Error::DeviceMismatch { op, lhs: self.device().to_string(), rhs: rhs.device().to_string() });
        }
        Ok(())
    }
    /// A contiguous tensor with `s` as storage and this tensor's dtype/device bookkeeping.
    pub(crate) fn fresh(s: Storage, shape: &[usize]) -> Tensor {
        Tensor::from_storage(s, Layout::contiguous(shape))
    }
    /// Both operands expanded (differentiably) to their broadcast shape.
    pub(crate) fn broadcast_pair(&self, rhs: &Tensor, op: &'static str) -> Result<(Tensor, Tensor)> {
        if self.shape() == rhs.shape() {
            return Ok((self.clone(), rhs.clone()));
        }
        let shape = crate::layout::broadcast_shape(op, self.shape(), rhs.shape())?;
        Ok((self.expand(&shape)?, rhs.expand(&shape)?))
    }
    /// A 0-d tensor holding `v` with this tensor's dtype and device.
    /// (A single element: its allocation failing means the device is already unusable, which the
    /// next read-back reports; this panics with that reason rather than thread a `Result`
    /// through every elementwise op.)
    pub(crate) fn scalar_like(&self, v: f64) -> Tensor {
        self.full_like(&[], v).unwrap_or_else(|e| panic!("scalar_like: {e}"))
    }
}

/// Axes given PyTorch-style (negative from the end) → sorted unique non-negative axes. An empty
/// list means all axes.
pub(crate) fn norm_axes(op: &'static str, axes: &[isize], rank: usize) -> Result<Vec<usize>> {
    if axes.is_empty() {
        return Ok((0..rank).collect());
    }
    let mut v = axes.iter().map(|&a| crate::layout::normalize_dim(op, a, rank)).collect::<Result<Vec<_>>>()?;
    v.sort_unstable();
    v.dedup();
    Ok(v)
}
