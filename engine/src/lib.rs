//! # minmax-engine
//!
//! A from-scratch tensor library with reverse-mode automatic differentiation, written to be read.
//! Tensors are n-dimensional f32/f64 arrays (i64 for indices) with views that share storage;
//! every op records a backward rule written with the engine's own differentiable ops, so
//! gradients of gradients work. The CPU backend runs matrix products on the `gemm` crate's
//! micro-kernels and spreads large loops over threads.
//!
//! Map of the crate:
//! - [`tensor`]: the `Tensor` handle, creation, read-back, printing
//! - [`layout`]: shape/strides/offset and the strided iterator
//! - [`storage`] + `cpu/` + [`gpu`]: the backend boundary, the CPU kernels, the wgpu/WGSL kernels
//!   (sources in `shaders/`)
//! - [`device`]: choosing `cpu`, `gpu`, `gpu:NAME` or `auto`
//! - [`autograd`]: graph recording, `backward`, `grad` (and `grad_allow_unused`), `no_grad`
//! - `ops/`: every differentiable op with its backward rule and tests
//! - [`nn`]: modules (Linear, Conv2d, BatchNorm, Maxout, …) and initialisers
//! - [`optim`]: SGD with momentum (and the original GAN paper's schedules), Adam
//! - [`gradcheck`] + [`registry`]: finite-difference checks over every op, and their test data (no
//!   other module of the engine imports either)
//! - [`io`]: safetensors checkpoints, written atomically

pub mod autograd;
pub mod cpu;
pub mod device;
pub mod dtype;
pub mod error;
pub mod gpu;
pub mod gradcheck;
pub mod io;
pub mod layout;
pub mod nn;
pub mod ops;
pub mod optim;
pub mod registry;
pub mod rng;
pub mod storage;
pub mod tensor;

pub use autograd::{grad, grad_allow_unused, is_grad_enabled, no_grad, set_grad_enabled};
pub use device::{Device, GpuDevice};
pub use dtype::{DType, Elem, Float};
pub use error::{Error, Result};
pub use ops::conv::Conv2dOpts;
pub use ops::norm::BatchNormArgs;
pub use rng::Generator;
pub use tensor::{Tensor, TensorId};
