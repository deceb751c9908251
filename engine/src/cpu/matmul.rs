//! Batched matrix product on the `gemm` crate's micro-kernels. Operands are passed with their own
//! row and column strides, so a transposed view (as in every backward pass) is never copied.

use super::CpuStorage;
use crate::layout::Layout;
use crate::{Error, Result};

/// Multiply-adds below which a product runs on one thread.
const PAR_MIN_MACS: usize = 1 << 24;

fn matmul_kernel<T: 'static + Copy + Default + Send + Sync>(
    a: &[T],
    al: &Layout,
    b: &[T],
    bl: &Layout,
    one: T,
) -> Vec<T> {
    let r = al.rank();
    let (m, k, n) = (al.shape[r - 2], al.shape[r - 1], bl.shape[r - 1]);
    let batch_shape = &al.shape[..r - 2];
    let batch: usize = batch_shape.iter().product();
    if m * n == 0 {
        return vec![T::default(); batch * m * n];
    }
    // Every element of the output is written by gemm (read_dst = false: dst = A·B, never read),
    // so the buffer is not zeroed first.
    let mut out: Vec<T> = Vec::with_capacity(batch * m * n);
    let ab = Layout { shape: batch_shape.to_vec(), strides: al.strides[..r - 2].to_vec(), offset: al.offset };
    let bb = Layout { shape: batch_shape.to_vec(), strides: bl.strides[..r - 2].to_vec(), offset: bl.offset };
    let (a_rs, a_cs) = (al.strides[r - 2] as isize, al.strides[r - 1] as isize);
    let (b_rs, b_cs) = (bl.strides[r - 2] as isize, bl.strides[r - 1] as isize);
    let threads = rayon::current_num_threads();
    // Threads only for products big enough to pay for waking them: handing a product to the pool
    // costs tens of microseconds, as much as a whole 256×128×128 product of the toy GANs takes on
    // one core (measured: see the toy row of `minmax bench`).
    let par = if m * n * k >= PAR_MIN_MACS && threads > 1 {
        gemm::Parallelism::Rayon(threads)
    } else {
        gemm::Parallelism::None
    };
    for (bi, (ao, bo)) in ab.iter().zip(bb.iter()).enumerate() {
        // SAFETY: the offsets and strides come from layouts that were validated against the
        // storages' lengths when the views were made; dst is the bi-th m×n block of `out`'s
        // allocation, written in full by gemm before `set_len` below makes it readable.
        let dst = unsafe { out.as_mut_ptr().add(bi * m * n) };
        unsafe {
            gemm::gemm(
                m,
                n,
                k,
                dst,
                1,
                n as isize,
                false,
                a.as_ptr().add(ao),
                a_cs,
                a_rs,
                b.as_ptr().add(bo),
                b_cs,
                b_rs,
                T::default(),
                one,
                false,
                false,
                false,
                par,
            );
        }
    }
    // SAFETY: every one of the batch·m·n elements was written above (for k = 0 too: with
    // read_dst = false gemm writes zeros).
    unsafe { out.set_len(batch * m * n) };
    out
}

impl CpuStorage {
    pub fn matmul(&self, l: &Layout, rhs: &Self, rl: &Layout) -> Result<Self> {
        Ok(match (self, rhs) {
            (CpuStorage::F32(a), CpuStorage::F32(b)) => CpuStorage::F32(matmul_kernel(a, l, b, rl, 1.0f32)),
            (CpuStorage::F64(a), CpuStorage::F64(b)) => CpuStorage::F64(matmul_kernel(a, l, b, rl, 1.0f64)),
            (a, b) if a.dtype() != b.dtype() => {
                return Err(Error::DTypeMismatch { op: "matmul", lhs: a.dtype(), rhs: b.dtype() })
            }
            (a, _) => return Err(Error::UnsupportedDType { op: "matmul", dtype: a.dtype() }),
        })
    }
}
