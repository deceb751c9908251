//! The engine's one error type. A shape error names the op and both shapes; anything a user can get
//! wrong with data (files, flags, checkpoints) says which file or value and what was expected.

use std::path::PathBuf;

pub type Result<T> = std::result::Result<T, Error>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Two operands whose shapes do not fit together, e.g. `matmul: lhs [2, 3] vs rhs [4, 5]`.
    #[error("{op}: shape mismatch, lhs {lhs:?} vs rhs {rhs:?}{}", fmt_hint(.hint))]
    ShapeMismatch { op: &'static str, lhs: Vec<usize>, rhs: Vec<usize>, hint: String },

    /// A single operand whose shape is wrong for the op.
    #[error("{op}: {msg} (got shape {shape:?})")]
    BadShape { op: &'static str, shape: Vec<usize>, msg: String },

    /// An axis outside `-rank..rank`.
    #[error("{op}: dim {dim} is out of range for a tensor of rank {rank}")]
    DimOutOfRange { op: &'static str, dim: isize, rank: usize },

    #[error("{op}: dtype mismatch, {lhs:?} vs {rhs:?}")]
    DTypeMismatch { op: &'static str, lhs: crate::DType, rhs: crate::DType },

    #[error("{op}: not supported for dtype {dtype:?}")]
    UnsupportedDType { op: &'static str, dtype: crate::DType },

    #[error("{op}: tensors are on different devices ({lhs} vs {rhs})")]
    DeviceMismatch { op: &'static str, lhs: String, rhs: String },

    /// A backward rule that cannot itself be differentiated (a fused kernel) was asked for a
    /// second-order gradient.
    #[error("{op}: this backward rule is a fused kernel and cannot be differentiated again; use the composed version for gradients of gradients")]
    NotTwiceDifferentiable { op: &'static str },

    #[error("{path}: {msg}")]
    File { path: PathBuf, msg: String },

    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },

    #[error("{0}")]
    Msg(String),
}

fn fmt_hint(h: &str) -> String {
    if h.is_empty() {
        String::new()
    } else {
        format!(" ({h})")
    }
}

impl Error {
    pub fn msg(m: impl Into<String>) -> Self {
        Error::Msg(m.into())
    }
    pub(crate) fn shape(op: &'static str, lhs: &[usize], rhs: &[usize], hint: impl Into<String>) -> Self {
        Error::ShapeMismatch { op, lhs: lhs.to_vec(), rhs: rhs.to_vec(), hint: hint.into() }
    }
    pub(crate) fn bad_shape(op: &'static str, shape: &[usize], msg: impl Into<String>) -> Self {
        Error::BadShape { op, shape: shape.to_vec(), msg: msg.into() }
    }
    pub fn file(path: impl Into<PathBuf>, msg: impl Into<String>) -> Self {
        Error::File { path: path.into(), msg: msg.into() }
    }
}

/// Bail out with a formatted [`Error::Msg`].
#[macro_export]
macro_rules! bail {
    ($($arg:tt)*) => { return Err($crate::Error::Msg(format!($($arg)*))) };
}
