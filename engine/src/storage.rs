//! The backend boundary. `Storage` holds a tensor's elements on one device, and every primitive the
//! autograd layer uses is a method here that dispatches on the device. The CPU implementation lives
//! in `cpu/`, the GPU implementation (wgpu + WGSL) in `gpu/`; each method has one arm per backend,
//! and nothing above this file (ops, autograd, nn, optim) knows which backend runs.

use crate::cpu::CpuStorage;
use crate::device::GpuDevice;
use crate::gpu::GpuStorage;
use crate::layout::Layout;
use crate::{DType, Device, Error, Result};

// The primitives are the ones that do not compose exactly from the others. Composed in `ops/`
// from these, bit for bit: sub (a + (−b)), minimum (−max(−a, −b)), abs, sign, the leaky-ReLU
// mask, the comparisons ne, lt, le, ge (from eq and gt), and the min / argmin reductions
// (−max(−x), argmax(−x)). Div stays (a/b is not a·(1/b) in bits), and so does affine (one pass
// for every scalar op; as a broadcast mul and add it is two, and the GPU may contract x·m + a).

/// Elementwise functions of one argument. Scalars are carried as f64 and cast to the dtype.
///
/// Relu, LeakyRelu, Sigmoid and Tanh are fused kernels kept because they pay: their compositions
/// (`where(x > 0, x, 0)`, `where(x > 0, x, s·x)`, the two-branch stable sigmoid, `2σ(2x) − 1`)
/// cost, on the CPU in f32 at [256, 128], [100, 1200] and [64, 128, 7, 7] (medians, ms; rerun
/// with `cargo run --release -p minmax-engine --example fused_vs_composed`):
///
/// | op | forward fused → composed | forward + backward fused → composed |
/// |---|---|---|
/// | relu | 0.016 → 0.84, 0.043 → 2.9, 0.067 → 12.9 | 0.19 → 1.8, 1.2 → 6.0, 5.2 → 26 |
/// | leaky_relu | 0.025 → 1.0, 0.035 → 2.7, 0.088 → 14.3 | 0.069 → 2.3, 0.15 → 11.7, 4.0 → 53 |
/// | sigmoid | 0.23 → 1.1, 1.4 → 3.9, 6.2 → 19.9 | 0.33 → 2.8, 1.3 → 22.5, 9.5 → 62 |
/// | tanh | 0.84 → 1.1, 1.9 → 4.0, 9.2 → 30.9 | 0.65 → 2.8, 2.9 → 16.6, 17 → 68 |
///
/// Each has a test against its composed reference (`ops/activation.rs`); GPU parity is in
/// `tests/gpu.rs`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum UnaryOp {
    Neg,
    Exp,
    Log,
    Sqrt,
    Recip,
    /// `x * mul + add` (the scalar op behind add_scalar, mul_scalar, div_scalar)
    Affine {
        mul: f64,
        add: f64,
    },
    /// `x ^ p`
    PowScalar(f64),
    // Fused, measured above.
    Relu,
    /// `x` where `x > 0`, else `slope * x`
    LeakyRelu(f64),
    Sigmoid,
    Tanh,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    Add,
    Mul,
    Div,
    Pow,
    /// NaN wins; on equal inputs (including ±0) the left one.
    Maximum,
}

/// 0/1 results. `ne`, `lt`, `le`, `ge` are compositions of these two (`ops/elementwise.rs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Gt,
}

/// `min` and `argmin` are `−max(−x)` and `argmax(−x)` (`ops/reduce.rs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReduceOp {
    Sum,
    Max,
    /// The first index of the maximum (a NaN counts as the maximum).
    ArgMax,
}

/// Geometry of a 2-D sliding window (convolution, pooling, unfold).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Conv2dGeom {
    pub n: usize,
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub kh: usize,
    pub kw: usize,
    pub stride: (usize, usize),
    pub padding: (usize, usize),
    pub dilation: (usize, usize),
    pub out_h: usize,
    pub out_w: usize,
}

impl Conv2dGeom {
    /// Rows of the unfolded matrix: one per (channel, kernel row, kernel col).
    pub fn col_rows(&self) -> usize {
        self.c * self.kh * self.kw
    }
    /// Columns of the unfolded matrix: one per (image, output row, output col).
    pub fn col_cols(&self) -> usize {
        self.n * self.out_h * self.out_w
    }
}

pub enum Storage {
    Cpu(CpuStorage),
    Gpu(GpuStorage),
}

/// The error for operands on different devices (the op layer checks first; this is the backstop).
fn mixed(op: &'static str, a: &Storage, b: &Storage) -> Error {
    Error::DeviceMismatch { op, lhs: a.device().to_string(), rhs: b.device().to_string() }
}

impl Storage {
    pub fn dtype(&self) -> DType {
        match self {
            Storage::Cpu(s) => s.dtype(),
            Storage::Gpu(s) => s.dtype(),
        }
    }
    pub fn device(&self) -> Device {
        match self {
            Storage::Cpu(_) => Device::Cpu,
            Storage::Gpu(s) => Device::Gpu(GpuDevice(s.context().clone())),
        }
    }
    pub fn len(&self) -> usize {
        match self {
            Storage::Cpu(s) => s.len(),
            Storage::Gpu(s) => s.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn zeros(n: usize, dtype: DType, device: &Device) -> Result<Storage> {
        Storage::full(n, dtype, 0.0, device)
    }
    pub fn full(n: usize, dtype: DType, v: f64, device: &Device) -> Result<Storage> {
        match device {
            Device::Cpu => Ok(Storage::Cpu(CpuStorage::full(n, dtype, v))),
            Device::Gpu(g) => Ok(Storage::Gpu(GpuStorage::full(g.context(), n, dtype, v)?)),
        }
    }
    pub fn to_cpu(&self) -> Result<CpuStorage> {
        match self {
            Storage::Cpu(s) => Ok(s.clone()),
            Storage::Gpu(s) => s.to_cpu(),
        }
    }
    /// Host storage owning `data` (f32, f64 or i64), without a copy.
    pub fn from_vec<T: crate::dtype::Elem>(data: Vec<T>) -> Storage {
        let any: Box<dyn std::any::Any> = Box::new(data);
        Storage::Cpu(match T::DTYPE {
            DType::F32 => CpuStorage::F32(*any.downcast::<Vec<f32>>().expect("Elem F32 is f32")),
            DType::F64 => CpuStorage::F64(*any.downcast::<Vec<f64>>().expect("Elem F64 is f64")),
            DType::I64 => CpuStorage::I64(*any.downcast::<Vec<i64>>().expect("Elem I64 is i64")),
        })
    }
    pub fn from_cpu(s: CpuStorage, device: &Device) -> Result<Storage> {
        match device {
            Device::Cpu => Ok(Storage::Cpu(s)),
            Device::Gpu(g) => Ok(Storage::Gpu(GpuStorage::from_cpu(&s, g.context())?)),
        }
    }
    pub fn copy_strided(&self, l: &Layout) -> Result<Storage> {
        match self {
            Storage::Cpu(s) => Ok(Storage::Cpu(s.copy_strided(l))),
            Storage::Gpu(s) => Ok(Storage::Gpu(s.copy_strided(l)?)),
        }
    }
    pub fn to_dtype(&self, l: &Layout, dtype: DType) -> Result<Storage> {
        match self {
            Storage::Cpu(s) => Ok(Storage::Cpu(s.to_dtype(l, dtype))),
            Storage::Gpu(s) => Ok(Storage::Gpu(s.to_dtype(l, dtype)?)),
        }
    }
    pub fn unary(&self, l: &Layout, op: UnaryOp) -> Result<Storage> {
        match self {
            Storage::Cpu(s) => Ok(Storage::Cpu(s.unary(l, op)?)),
            Storage::Gpu(s) => Ok(Storage::Gpu(s.unary(l, op)?)),
        }
    }
    /// Both layouts already have the output shape (broadcast dims have stride 0).
    pub fn binary(&self, l: &Layout, rhs: &Storage, rl: &Layout, op: BinaryOp) -> Result<Storage> {
        match (self, rhs) {
            (Storage::Cpu(a), Storage::Cpu(b)) => Ok(Storage::Cpu(a.binary(l, b, rl, op)?)),
            (Storage::Gpu(a), Storage::Gpu(b)) => Ok(Storage::Gpu(a.binary(l, b, rl, op)?)),
            _ => Err(mixed("binary op", self, rhs)),
        }
    }
    pub fn cmp(&self, l: &Layout, rhs: &Storage, rl: &Layout, op: CmpOp) -> Result<Storage> {
        match (self, rhs) {
            (Storage::Cpu(a), Storage::Cpu(b)) => Ok(Storage::Cpu(a.cmp(l, b, rl, op)?)),
            (Storage::Gpu(a), Storage::Gpu(b)) => Ok(Storage::Gpu(a.cmp(l, b, rl, op)?)),
            _ => Err(mixed("comparison", self, rhs)),
        }
    }
    /// `cond != 0 ? a : b`; all three layouts have the output shape.
    pub fn where_cond(&self, l: &Layout, a: &Storage, al: &Layout, b: &Storage, bl: &Layout) -> Result<Storage> {
        match (self, a, b) {
            (Storage::Cpu(c), Storage::Cpu(a), Storage::Cpu(b)) => Ok(Storage::Cpu(c.where_cond(l, a, al, b, bl)?)),
            (Storage::Gpu(c), Storage::Gpu(a), Storage::Gpu(b)) => Ok(Storage::Gpu(c.where_cond(l, a, al, b, bl)?)),
            _ => Err(mixed("where", a, b)),
        }
    }
    /// Reduce over `axes` (sorted, unique); the result has the reduced dims removed.
    pub fn reduce(&self, l: &Layout, axes: &[usize], op: ReduceOp) -> Result<Storage> {
        match self {
            Storage::Cpu(s) => Ok(Storage::Cpu(s.reduce(l, axes, op)?)),
            Storage::Gpu(s) => Ok(Storage::Gpu(s.reduce(l, axes, op)?)),
        }
    }
    /// Batched matmul: `l` is [batch.., m, k], `rl` is [batch.., k, n] with identical batch dims.
    pub fn matmul(&self, l: &Layout, rhs: &Storage, rl: &Layout) -> Result<Storage> {
        match (self, rhs) {
            (Storage::Cpu(a), Storage::Cpu(b)) => Ok(Storage::Cpu(a.matmul(l, b, rl)?)),
            (Storage::Gpu(a), Storage::Gpu(b)) => Ok(Storage::Gpu(a.matmul(l, b, rl)?)),
            _ => Err(mixed("matmul", self, rhs)),
        }
    }
    /// Copies `srcs` (each with its layout) one after another along `dim` into a new contiguous tensor.
    pub fn cat(srcs: &[(&Storage, &Layout)], dim: usize, out_shape: &[usize]) -> Result<Storage> {
        match srcs[0].0 {
            Storage::Cpu(_) => {
                let mut cpus = Vec::with_capacity(srcs.len());
                for (s, l) in srcs {
                    match s {
                        Storage::Cpu(c) => cpus.push((c, *l)),
                        other => return Err(mixed("cat", srcs[0].0, other)),
                    }
                }
                Ok(Storage::Cpu(CpuStorage::cat(&cpus, dim, out_shape)?))
            }
            Storage::Gpu(_) => {
                let mut gpus = Vec::with_capacity(srcs.len());
                for (s, l) in srcs {
                    match s {
                        Storage::Gpu(g) => gpus.push((g, *l)),
                        other => return Err(mixed("cat", srcs[0].0, other)),
                    }
                }
                Ok(Storage::Gpu(GpuStorage::cat(&gpus, dim, out_shape)?))
            }
        }
    }
    /// `out.index_select(dim, idx)`: `idx` is a contiguous i64 vector.
    pub fn index_select(&self, l: &Layout, dim: usize, idx: &Storage, il: &Layout) -> Result<Storage> {
        match (self, idx) {
            (Storage::Cpu(s), Storage::Cpu(i)) => Ok(Storage::Cpu(s.index_select(l, dim, i, il)?)),
            (Storage::Gpu(s), Storage::Gpu(i)) => Ok(Storage::Gpu(s.index_select(l, dim, i, il)?)),
            _ => Err(mixed("index_select", self, idx)),
        }
    }
    /// Adjoint of `index_select`: zeros of `out_shape`, then `out[.., idx[j], ..] += src[.., j, ..]`.
    pub fn index_add(
        &self,
        l: &Layout,
        dim: usize,
        idx: &Storage,
        il: &Layout,
        out_shape: &[usize],
    ) -> Result<Storage> {
        match (self, idx) {
            (Storage::Cpu(s), Storage::Cpu(i)) => Ok(Storage::Cpu(s.index_add(l, dim, i, il, out_shape)?)),
            (Storage::Gpu(s), Storage::Gpu(i)) => Ok(Storage::Gpu(s.index_add(l, dim, i, il, out_shape)?)),
            _ => Err(mixed("index_add", self, idx)),
        }
    }
    /// `out[i][j] = src[i][idx[i][j]]` along `dim` (PyTorch's gather).
    pub fn gather(&self, l: &Layout, dim: usize, idx: &Storage, il: &Layout) -> Result<Storage> {
        match (self, idx) {
            (Storage::Cpu(s), Storage::Cpu(i)) => Ok(Storage::Cpu(s.gather(l, dim, i, il)?)),
            (Storage::Gpu(s), Storage::Gpu(i)) => Ok(Storage::Gpu(s.gather(l, dim, i, il)?)),
            _ => Err(mixed("gather", self, idx)),
        }
    }
    /// Adjoint of `gather`: zeros of `out_shape`, then `out[i][idx[i][j]] += src[i][j]`.
    pub fn scatter_add(
        &self,
        l: &Layout,
        dim: usize,
        idx: &Storage,
        il: &Layout,
        out_shape: &[usize],
    ) -> Result<Storage> {
        match (self, idx) {
            (Storage::Cpu(s), Storage::Cpu(i)) => Ok(Storage::Cpu(s.scatter_add(l, dim, i, il, out_shape)?)),
            (Storage::Gpu(s), Storage::Gpu(i)) => Ok(Storage::Gpu(s.scatter_add(l, dim, i, il, out_shape)?)),
            _ => Err(mixed("scatter_add", self, idx)),
        }
    }
    /// Unfold sliding windows of an [N, C, H, W] image into a [C·kh·kw, N·oh·ow] matrix.
    pub fn im2col(&self, l: &Layout, g: &Conv2dGeom, pad_value: f64) -> Result<Storage> {
        match self {
            Storage::Cpu(s) => Ok(Storage::Cpu(s.im2col(l, g, pad_value)?)),
            Storage::Gpu(s) => Ok(Storage::Gpu(s.im2col(l, g, pad_value)?)),
        }
    }
    /// Adjoint of `im2col`: sum every column entry back into its image position.
    pub fn col2im(&self, l: &Layout, g: &Conv2dGeom) -> Result<Storage> {
        match self {
            Storage::Cpu(s) => Ok(Storage::Cpu(s.col2im(l, g)?)),
            Storage::Gpu(s) => Ok(Storage::Gpu(s.col2im(l, g)?)),
        }
    }
    /// Inverted-dropout mask: `1/keep` with probability `keep`, else 0, drawn from `seed`. Both
    /// backends draw the same mask for the same seed (counter-based generator in `rng.rs`).
    pub fn dropout_mask(n: usize, keep: f64, seed: u64, dtype: DType, device: &Device) -> Result<Storage> {
        match device {
            Device::Cpu => Ok(Storage::Cpu(CpuStorage::dropout_mask(n, keep, seed, dtype)?)),
            Device::Gpu(g) => Ok(Storage::Gpu(GpuStorage::dropout_mask(g.context(), n, keep, seed, dtype)?)),
        }
    }

    // ---- fused batch norm (x is [N, C, S]; per-channel tensors are contiguous [C]) ---------------

    /// [mean; biased variance] per channel, 2·C values, in two passes.
    pub fn bn_stats(&self, l: &Layout, dims: (usize, usize, usize)) -> Result<Storage> {
        match self {
            Storage::Cpu(s) => Ok(Storage::Cpu(s.bn_stats(l, dims)?)),
            Storage::Gpu(s) => Ok(Storage::Gpu(s.bn_stats(l, dims)?)),
        }
    }
    /// [Σ dy; Σ dy·x̂] per channel, 2·C values.
    pub fn bn_sums(
        &self,
        l: &Layout,
        dy: &Storage,
        dyl: &Layout,
        mean: &Storage,
        invstd: &Storage,
        dims: (usize, usize, usize),
    ) -> Result<Storage> {
        match (self, dy, mean, invstd) {
            (Storage::Cpu(x), Storage::Cpu(g), Storage::Cpu(m), Storage::Cpu(i)) => {
                Ok(Storage::Cpu(x.bn_sums(l, g, dyl, m, i, dims)?))
            }
            (Storage::Gpu(x), Storage::Gpu(g), Storage::Gpu(m), Storage::Gpu(i)) => {
                Ok(Storage::Gpu(x.bn_sums(l, g, dyl, m, i, dims)?))
            }
            _ => Err(mixed("batch_norm backward", self, dy)),
        }
    }
    /// `a·k[c] + b·p[c] + q[c]` for every element of [N, C, S].
    #[allow(clippy::too_many_arguments)]
    pub fn channel_fma(
        &self,
        l: &Layout,
        b: &Storage,
        bl: &Layout,
        k: &Storage,
        p: &Storage,
        q: &Storage,
        dims: (usize, usize, usize),
    ) -> Result<Storage> {
        match (self, b, k, p, q) {
            (Storage::Cpu(a), Storage::Cpu(b), Storage::Cpu(k), Storage::Cpu(p), Storage::Cpu(q)) => {
                Ok(Storage::Cpu(a.channel_fma(l, b, bl, k, p, q, dims)?))
            }
            (Storage::Gpu(a), Storage::Gpu(b), Storage::Gpu(k), Storage::Gpu(p), Storage::Gpu(q)) => {
                Ok(Storage::Gpu(a.channel_fma(l, b, bl, k, p, q, dims)?))
            }
            _ => Err(mixed("batch_norm", self, b)),
        }
    }

    // ---- in-place updates used by optimizers (no autograd) ---------------------------------------

    /// `self = self * alpha + other * beta` elementwise; both contiguous of equal length.
    pub fn axpby_(&mut self, alpha: f64, other: &Storage, ol: &Layout, beta: f64) -> Result<()> {
        match (&mut *self, other) {
            (Storage::Cpu(a), Storage::Cpu(b)) => a.axpby_(alpha, b, ol, beta),
            (Storage::Gpu(a), Storage::Gpu(b)) => a.axpby_(alpha, b, ol, beta),
            _ => Err(mixed("axpby_", self, other)),
        }
    }
    /// One SGD-with-momentum step on contiguous storage (PyTorch's formulation).
    pub fn sgd_step_(&mut self, grad: &Storage, gl: &Layout, vel: Option<&mut Storage>, h: SgdHyper) -> Result<()> {
        match (&mut *self, grad) {
            (Storage::Cpu(p), Storage::Cpu(g)) => {
                let v = match vel {
                    Some(Storage::Cpu(v)) => Some(v),
                    None => None,
                    Some(_) => return Err(Error::msg("sgd: velocity is on another device than the parameter")),
                };
                p.sgd_step_(g, gl, v, h)
            }
            (Storage::Gpu(p), Storage::Gpu(g)) => {
                let v = match vel {
                    Some(Storage::Gpu(v)) => Some(v),
                    None => None,
                    Some(_) => return Err(Error::msg("sgd: velocity is on another device than the parameter")),
                };
                p.sgd_step_(g, gl, v, h)
            }
            _ => Err(mixed("sgd", self, grad)),
        }
    }
    /// One Adam step on contiguous storage; `t` is the 1-based step count.
    pub fn adam_step_(
        &mut self,
        grad: &Storage,
        gl: &Layout,
        m: &mut Storage,
        v: &mut Storage,
        h: AdamHyper,
    ) -> Result<()> {
        match (&mut *self, grad, m, v) {
            (Storage::Cpu(p), Storage::Cpu(g), Storage::Cpu(m), Storage::Cpu(v)) => p.adam_step_(g, gl, m, v, h),
            (Storage::Gpu(p), Storage::Gpu(g), Storage::Gpu(m), Storage::Gpu(v)) => p.adam_step_(g, gl, m, v, h),
            _ => Err(Error::msg("adam: parameter, gradient and moments must be on one device")),
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub struct SgdHyper {
    pub lr: f64,
    pub momentum: f64,
    pub weight_decay: f64,
    pub nesterov: bool,
}

#[derive(Clone, Copy, Debug)]
pub struct AdamHyper {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
    /// AdamW (decoupled) instead of L2 added to the gradient.
    pub decoupled: bool,
    pub step: u64,
}
