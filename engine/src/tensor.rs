//! `Tensor`: a cheap handle (an `Arc`) to a layout over shared storage, plus the autograd node that
//! made it. Creation, read-back and printing live here; ops live in `ops/`, autograd in `autograd.rs`.
//!
//! ```
//! use minmax_engine::{Tensor, Generator};
//! let mut g = Generator::new(0);
//! let x = Tensor::randn(&[2, 3], &mut g).requires_grad_();
//! let y = x.mul(&x)?.sum_all()?;          // y = Σ x²
//! y.backward()?;
//! let dx = x.grad().unwrap();             // dy/dx = 2x
//! assert!(dx.sub(&x.mul_scalar(2.0)?)?.abs()?.max_all()?.item()? < 1e-6);
//! # Ok::<(), minmax_engine::Error>(())
//! ```

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::autograd::Node;
use crate::layout::{checked_numel, Layout};
use crate::storage::Storage;
use crate::{DType, Device, Elem, Error, Generator, Result};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TensorId(u64);

impl TensorId {
    /// A process-unique id. The counter starts at a random 64-bit base: a host that links several
    /// copies of this crate into one process (the evcxr notebook kernel compiles each cell
    /// separately) then still gets distinct ids from every copy.
    fn next() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        if NEXT.load(Ordering::Relaxed) == 0 {
            use std::hash::{BuildHasher, Hasher};
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u128(
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos()),
            );
            let base = (h.finish() >> 1) | 1; // non-zero and far from overflow
            let _ = NEXT.compare_exchange(0, base, Ordering::Relaxed, Ordering::Relaxed);
        }
        TensorId(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

pub(crate) struct Inner {
    pub(crate) id: TensorId,
    pub(crate) storage: Arc<RwLock<Storage>>,
    /// The storage's version counter, shared by every view of it (PyTorch's `_version`): each
    /// in-place write adds one, and backward compares it with the version its graph saved.
    pub(crate) version: Arc<AtomicU64>,
    pub(crate) layout: Layout,
    pub(crate) dtype: DType,
    /// Where the storage lives; changes only when a whole leaf is moved (`to_device_`).
    pub(crate) device: RwLock<Device>,
    /// How this tensor was computed; `None` for leaves and for results made without grad.
    pub(crate) node: Option<Node>,
    /// A leaf that wants `.grad` filled by `backward()`.
    pub(crate) leaf_requires_grad: AtomicBool,
    pub(crate) grad: Mutex<Option<Tensor>>,
}

/// An n-dimensional array that records the ops applied to it, for reverse-mode autodiff.
#[derive(Clone)]
pub struct Tensor(pub(crate) Arc<Inner>);

impl Tensor {
    // ---- construction ---------------------------------------------------------------------------

    pub(crate) fn from_storage(storage: Storage, layout: Layout) -> Tensor {
        let dtype = storage.dtype();
        let device = storage.device();
        let version = Arc::new(AtomicU64::new(0));
        Tensor::from_shared(Arc::new(RwLock::new(storage)), version, layout, dtype, device, None)
    }

    pub(crate) fn from_shared(
        storage: Arc<RwLock<Storage>>,
        version: Arc<AtomicU64>,
        layout: Layout,
        dtype: DType,
        device: Device,
        node: Option<Node>,
    ) -> Tensor {
        Tensor(Arc::new(Inner {
            id: TensorId::next(),
            storage,
            version,
            layout,
            dtype,
            device: RwLock::new(device),
            node,
            leaf_requires_grad: AtomicBool::new(false),
            grad: Mutex::new(None),
        }))
    }

    /// A view of the same storage with another layout (no autograd node: callers attach one).
    pub(crate) fn with_layout(&self, layout: Layout) -> Tensor {
        Tensor::from_shared(self.0.storage.clone(), self.0.version.clone(), layout, self.0.dtype, self.device(), None)
    }

    /// A tensor from a `Vec` of f32, f64 or i64 and a shape; the lengths must agree.
    pub fn new<T: Elem>(data: Vec<T>, shape: &[usize]) -> Result<Tensor> {
        let n = checked_numel("Tensor::new", shape)?;
        if data.len() != n {
            return Err(Error::msg(format!(
                "Tensor::new: {} values do not fill shape {:?} ({n} elements)",
                data.len(),
                shape,
            )));
        }
        Ok(Tensor::from_storage(Storage::from_vec(data), Layout::contiguous(shape)))
    }
    /// Same as [`Tensor::new`] from a slice.
    pub fn from_slice<T: Elem>(data: &[T], shape: &[usize]) -> Result<Tensor> {
        Tensor::new(data.to_vec(), shape)
    }
    /// A 0-dimensional f32 tensor.
    pub fn scalar(v: f64) -> Tensor {
        Tensor::full(&[], v)
    }
    /// A tensor of `shape` filled with `v`, on `device`. An error names the shape and device when
    /// it cannot be allocated (a GPU out of memory, a shape whose size overflows).
    pub fn full_with(shape: &[usize], v: f64, dtype: DType, device: &Device) -> Result<Tensor> {
        let n = checked_numel("Tensor::full_with", shape)?;
        let s = Storage::full(n, dtype, v, device)
            .map_err(|e| Error::msg(format!("Tensor::full_with: shape {shape:?} ({dtype:?}) on {device}: {e}")))?;
        Ok(Tensor::from_storage(s, Layout::contiguous(shape)))
    }
    /// f32 tensor filled with `v` on the CPU (panics only for a shape whose size overflows).
    pub fn full(shape: &[usize], v: f64) -> Tensor {
        Tensor::full_with(shape, v, DType::F32, &Device::Cpu).unwrap_or_else(|e| panic!("{e}"))
    }
    pub fn zeros(shape: &[usize]) -> Tensor {
        Tensor::full(shape, 0.0)
    }
    pub fn ones(shape: &[usize]) -> Tensor {
        Tensor::full(shape, 1.0)
    }
    /// Zeros with this tensor's shape, dtype and device.
    pub fn zeros_like(&self) -> Result<Tensor> {
        Tensor::full_with(self.shape(), 0.0, self.dtype(), &self.device())
    }
    pub fn ones_like(&self) -> Result<Tensor> {
        Tensor::full_with(self.shape(), 1.0, self.dtype(), &self.device())
    }
    /// A scalar-filled tensor with this tensor's dtype and device.
    pub fn full_like(&self, shape: &[usize], v: f64) -> Result<Tensor> {
        Tensor::full_with(shape, v, self.dtype(), &self.device())
    }
    /// `start, start + step, …` below `end`, as f32.
    pub fn arange(start: f64, end: f64, step: f64) -> Result<Tensor> {
        if step == 0.0 || (end - start) / step < 0.0 {
            return Err(Error::msg(format!("arange: cannot step from {start} to {end} by {step}")));
        }
        let n = ((end - start) / step).ceil() as usize;
        Tensor::new((0..n).map(|i| (start + i as f64 * step) as f32).collect(), &[n])
    }
    /// Uniform samples on [lo, hi), f32.
    pub fn rand(shape: &[usize], lo: f64, hi: f64, g: &mut Generator) -> Tensor {
        let n = checked_numel("Tensor::rand", shape).unwrap_or_else(|e| panic!("{e}"));
        let v: Vec<f32> = (0..n).map(|_| g.uniform_range(lo, hi) as f32).collect();
        Tensor::new(v, shape).expect("length matches by construction")
    }
    /// Standard normal samples, f32.
    pub fn randn(shape: &[usize], g: &mut Generator) -> Tensor {
        let n = checked_numel("Tensor::randn", shape).unwrap_or_else(|e| panic!("{e}"));
        let v: Vec<f32> = (0..n).map(|_| g.normal() as f32).collect();
        Tensor::new(v, shape).expect("length matches by construction")
    }
    /// Uniform samples with this tensor's shape, dtype and device.
    pub fn rand_like(&self, lo: f64, hi: f64, g: &mut Generator) -> Result<Tensor> {
        Tensor::rand(self.shape(), lo, hi, g).to_dtype(self.dtype())?.to_device(&self.device())
    }
    pub fn randn_like(&self, g: &mut Generator) -> Result<Tensor> {
        Tensor::randn(self.shape(), g).to_dtype(self.dtype())?.to_device(&self.device())
    }

    // ---- queries --------------------------------------------------------------------------------

    pub fn id(&self) -> TensorId {
        self.0.id
    }
    pub fn shape(&self) -> &[usize] {
        &self.0.layout.shape
    }
    /// Shape as a `Vec` (handy for building new shapes).
    pub fn dims(&self) -> Vec<usize> {
        self.0.layout.shape.clone()
    }
    /// Size of one dim; negative counts from the end.
    pub fn dim(&self, d: isize) -> Result<usize> {
        Ok(self.shape()[crate::layout::normalize_dim("dim", d, self.rank())?])
    }
    pub fn rank(&self) -> usize {
        self.0.layout.rank()
    }
    pub fn numel(&self) -> usize {
        self.0.layout.numel()
    }
    pub fn dtype(&self) -> DType {
        self.0.dtype
    }
    pub fn device(&self) -> Device {
        self.0.device.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
    pub fn layout(&self) -> &Layout {
        &self.0.layout
    }
    pub fn is_contiguous(&self) -> bool {
        self.0.layout.is_contiguous()
    }
    pub(crate) fn storage(&self) -> RwLockReadGuard<'_, Storage> {
        self.0.storage.read().unwrap_or_else(|e| e.into_inner())
    }
    /// Write access for an in-place update; every caller writes, so this bumps the version
    /// counter that backward checks (see [`Tensor::version`]).
    pub(crate) fn storage_mut(&self) -> RwLockWriteGuard<'_, Storage> {
        let guard = self.0.storage.write().unwrap_or_else(|e| e.into_inner());
        self.0.version.fetch_add(1, Ordering::Relaxed);
        guard
    }
    /// How many in-place writes (optimizer steps, `copy_from`, `lerp_`, running statistics) the
    /// storage under this tensor has had; shared by all its views, as PyTorch's `_version`.
    pub fn version(&self) -> u64 {
        self.0.version.load(Ordering::Relaxed)
    }
    /// True when two tensors are views of the same storage.
    pub fn same_storage(&self, other: &Tensor) -> bool {
        Arc::ptr_eq(&self.0.storage, &other.0.storage)
    }

    // ---- read-back ------------------------------------------------------------------------------

    /// All elements in row-major order, converted to `T`.
    pub fn to_vec<T: Elem>(&self) -> Result<Vec<T>> {
        let cpu = self.storage().to_cpu()?;
        Ok(cpu.to_f64_vec(self.layout()).into_iter().map(T::from_f64).collect())
    }
    pub fn to_vec_f32(&self) -> Result<Vec<f32>> {
        self.to_vec::<f32>()
    }
    pub fn to_vec_f64(&self) -> Result<Vec<f64>> {
        self.to_vec::<f64>()
    }
    /// Rows of a 2-D tensor.
    pub fn to_vec2<T: Elem>(&self) -> Result<Vec<Vec<T>>> {
        if self.rank() != 2 {
            return Err(Error::bad_shape("to_vec2", self.shape(), "expected a 2-D tensor"));
        }
        let v = self.to_vec::<T>()?;
        let cols = self.shape()[1];
        Ok(if cols == 0 { vec![vec![]; self.shape()[0]] } else { v.chunks(cols).map(|c| c.to_vec()).collect() })
    }
    /// The value of a one-element tensor as f64.
    pub fn item(&self) -> Result<f64> {
        if self.numel() != 1 {
            return Err(Error::bad_shape("item", self.shape(), "item() needs a tensor with exactly one element"));
        }
        Ok(self.to_vec::<f64>()?[0])
    }

    /// A copy in another dtype (differentiable between float dtypes).
    pub fn to_dtype(&self, dtype: DType) -> Result<Tensor> {
        if dtype == self.dtype() {
            return Ok(self.clone());
        }
        let s = self.storage().to_dtype(self.layout(), dtype)?;
        let out = Tensor::from_storage(s, Layout::contiguous(self.shape()));
        if !(dtype.is_float() && self.dtype().is_float()) {
            return Ok(out);
        }
        let from = self.dtype();
        Ok(Tensor::record(out, "to_dtype", &[self], move |c| Ok(vec![Some(c.grad.to_dtype(from)?)])))
    }
    /// A copy on another device.
    pub fn to_device(&self, device: &Device) -> Result<Tensor> {
        if *device == self.device() {
            return Ok(self.clone());
        }
        let cpu = self.storage().to_cpu()?.copy_strided(self.layout());
        let out = Tensor::from_storage(Storage::from_cpu(cpu, device)?, Layout::contiguous(self.shape()));
        let from = self.device();
        Ok(Tensor::record(out, "to_device", &[self], move |c| Ok(vec![Some(c.grad.to_device(&from)?)])))
    }

    /// Move this tensor to `device` in place, like PyTorch's `module.to(device)` does for each
    /// parameter. Only for leaves that own their whole storage and have no views (parameters and
    /// buffers); its `.grad`, if any, is dropped. Build optimizers after moving the model.
    pub fn to_device_(&self, device: &Device) -> Result<()> {
        if *device == self.device() {
            return Ok(());
        }
        if self.0.node.is_some() {
            return Err(Error::msg("to_device_: only leaf tensors (parameters, buffers) move in place; use to_device"));
        }
        if Arc::strong_count(&self.0.storage) > 1 || self.storage().len() != self.numel() || !self.is_contiguous() {
            return Err(Error::msg(
                "to_device_: the tensor shares its storage with views; move it before taking views, or use to_device",
            ));
        }
        let cpu = self.storage().to_cpu()?;
        let moved = Storage::from_cpu(cpu, device)?;
        *self.storage_mut() = moved;
        *self.0.device.write().unwrap_or_else(|e| e.into_inner()) = device.clone();
        *self.0.grad.lock().unwrap_or_else(|e| e.into_inner()) = None;
        Ok(())
    }

    /// In place, outside autograd: self ← (1 − w)·self + w·other (a step of an exponential
    /// moving average toward `other`, e.g. Polyak averaging of weights). Shapes and dtypes must
    /// match; self must own whole contiguous storage (as parameters do).
    pub fn lerp_(&self, other: &Tensor, w: f64) -> Result<()> {
        if self.shape() != other.shape() {
            return Err(Error::shape("lerp_", self.shape(), other.shape(), "shapes must be equal"));
        }
        if self.same_storage(other) {
            return Ok(());
        }
        if !self.is_contiguous() || self.layout().offset != 0 || self.storage().len() != self.numel() {
            return Err(Error::msg("lerp_: destination must be a whole, contiguous tensor"));
        }
        let src = other.storage();
        self.storage_mut().axpby_(1.0 - w, &src, other.layout(), w)
    }

    /// Overwrite this tensor's elements with `src`'s (same shape and dtype, any device), outside
    /// autograd. Used to load checkpoints and copy weights; the tensor must own contiguous storage.
    pub fn copy_from(&self, src: &Tensor) -> Result<()> {
        if self.shape() != src.shape() {
            return Err(Error::shape("copy_from", self.shape(), src.shape(), "shapes must be equal"));
        }
        if self.dtype() != src.dtype() {
            return Err(Error::DTypeMismatch { op: "copy_from", lhs: self.dtype(), rhs: src.dtype() });
        }
        let src = src.to_device(&self.device())?;
        let fresh = src.storage().copy_strided(src.layout())?;
        // checked before taking write access, so a refused copy leaves the version unchanged
        if !self.is_contiguous() || self.layout().offset != 0 || self.storage().len() != self.numel() {
            return Err(Error::msg("copy_from: destination must be a whole, contiguous tensor"));
        }
        *self.storage_mut() = fresh;
        Ok(())
    }
}

// ---- printing -----------------------------------------------------------------------------------

impl fmt::Debug for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tensor(shape={:?}, dtype={}, device={}", self.shape(), self.dtype().as_str(), self.device())?;
        if let Some(n) = &self.0.node {
            write!(f, ", grad_fn={}", n.name)?;
        } else if self.requires_grad() {
            write!(f, ", requires_grad=true")?;
        }
        write!(f, ")")
    }
}

impl fmt::Display for Tensor {
    /// Prints like NumPy: nested brackets, at most 6 entries per dim (first 3 … last 3).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = match self.to_vec::<f64>() {
            Ok(v) => v,
            Err(e) => return write!(f, "<unreadable tensor: {e}>"),
        };
        let is_int = self.dtype() == DType::I64;
        fn rec(f: &mut fmt::Formatter<'_>, v: &[f64], shape: &[usize], depth: usize, int: bool) -> fmt::Result {
            if shape.is_empty() {
                if v.is_empty() {
                    return Ok(());
                }
                return if int { write!(f, "{}", v[0] as i64) } else { write!(f, "{:.4}", v[0]) };
            }
            let n = shape[0];
            let step: usize = shape[1..].iter().product();
            write!(f, "[")?;
            let show: Vec<usize> = if n > 6 { (0..3).chain(n - 3..n).collect() } else { (0..n).collect() };
            for (k, &i) in show.iter().enumerate() {
                if k > 0 {
                    if shape.len() > 1 {
                        write!(f, ",\n{}", " ".repeat(depth + 1))?;
                    } else {
                        write!(f, ", ")?;
                    }
                }
                if n > 6 && k == 3 {
                    write!(f, "...")?;
                    if shape.len() > 1 {
                        write!(f, ",\n{}", " ".repeat(depth + 1))?;
                    } else {
                        write!(f, ", ")?;
                    }
                }
                rec(f, &v[i * step..(i + 1) * step], &shape[1..], depth + 1, int)?;
            }
            write!(f, "]")
        }
        rec(f, &v, self.shape(), 0, is_int)?;
        write!(f, " {:?} {}", self.shape(), self.dtype().as_str())
    }
}

#[cfg(test)]
mod tests {
    use crate::Tensor;

    #[test]
    fn shapes_that_overflow_are_errors_naming_the_op() {
        let e = Tensor::new(vec![0f32; 4], &[usize::MAX, 2]).unwrap_err().to_string();
        assert!(e.contains("Tensor::new") && e.contains("overflows"), "{e}");
        // no elements, but the strides of the other dims would not fit in usize
        let e = Tensor::new(Vec::<f32>::new(), &[0, usize::MAX, 2]).unwrap_err().to_string();
        assert!(e.contains("Tensor::new") && e.contains("overflows"), "{e}");
        let x = Tensor::zeros(&[0, 3]);
        let e = x.reshape(&[isize::MAX, 4, 0]).unwrap_err().to_string();
        assert!(e.contains("reshape") && e.contains("overflows"), "{e}");
        let e = Tensor::zeros(&[1, 1]).expand(&[usize::MAX, 4]).unwrap_err().to_string();
        assert!(e.contains("expand") && e.contains("overflows"), "{e}");
    }

    #[test]
    fn a_refused_copy_does_not_count_as_a_write() -> crate::Result<()> {
        let x = Tensor::zeros(&[2, 3]);
        let view = x.narrow(1, 1, 2)?;
        assert!(view.copy_from(&Tensor::ones(&[2, 2])).is_err());
        assert_eq!(x.version(), 0);
        x.copy_from(&Tensor::ones(&[2, 3]))?;
        assert_eq!((x.version(), view.version()), (1, 1));
        Ok(())
    }
}
