//! Batched matrix product on the `gemm` crate's micro-kernels. Operands are passed with their own
//! row and column strides, so a transposed view (as in every backward pass) is never copied.

use super::CpuStorage;
use crate::layout::Layout;
use crate::{Error, Result};

/// Multiply-adds below which a product runs on one thread. 2²³ keeps the toy GANs' 256×128×128
/// products (2²² multiply-adds) on one thread and gives two to the 2014 G's first layer
/// (100×100×1200, 1.2·10⁷: 0.67 ms on one thread, 0.32 ms on two, 2-core AMD EPYC).
const PAR_MIN_MACS: usize = 1 << 23;

/// Whether C = A·B is faster computed column-major (then transposed into the row-major output):
/// when both operands run contiguously along k (A row-major, B a transposed view, as in every
/// weight gradient g·xᵀ of a convolution and many of a linear layer), with m < n and a long k.
/// Measured with the `gemm` crate at the GANs' shapes (2 threads, AVX-512): [128, 3136]·[3136,
/// 1024] 6.6–7.6 ms row-major vs 3.9–4.9 ms column-major, [100, 1200]·[1200, 784] 1.2–2.0 vs
/// 0.8–1.0; with m > n the row-major order wins ([1024, 3136]·[3136, 128]: 5.1 vs 7.7), and
/// for k ≤ 240 the two are within noise. The sums are the same (same k blocking, each entry
/// accumulated in the same order): `column_major_product_has_the_same_bits` checks it.
fn column_major_pays(m: usize, n: usize, k: usize, a_cs: isize, b_rs: isize) -> bool {
    a_cs == 1 && b_rs == 1 && m < n && m >= 16 && k >= 512
}

/// dst[i·n + j] = src[j·m + i]: a column-major m×n block into row-major order, in tiles that stay
/// in cache.
fn transpose_into<T: Copy>(src: &[T], dst: &mut [std::mem::MaybeUninit<T>], m: usize, n: usize) {
    const TILE: usize = 32;
    for i0 in (0..m).step_by(TILE) {
        for j0 in (0..n).step_by(TILE) {
            for i in i0..(i0 + TILE).min(m) {
                for j in j0..(j0 + TILE).min(n) {
                    dst[i * n + j].write(src[j * m + i]);
                }
            }
        }
    }
}

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
    let col_major = column_major_pays(m, n, k, a_cs, b_rs);
    let mut scratch: Vec<T> = if col_major { vec![T::default(); m * n] } else { Vec::new() };
    for (bi, (ao, bo)) in ab.iter().zip(bb.iter()).enumerate() {
        // SAFETY: the offsets and strides come from layouts that were validated against the
        // storages' lengths when the views were made; dst is the bi-th m×n block of `out`'s
        // allocation (row-major: column stride 1, row stride n), written in full by gemm before
        // `set_len` below makes it readable, or the m×n scratch (column-major: column stride m,
        // row stride 1), then transposed into that block.
        let (dst, dst_cs, dst_rs) = if col_major {
            (scratch.as_mut_ptr(), m as isize, 1)
        } else {
            (unsafe { out.as_mut_ptr().add(bi * m * n) }, 1, n as isize)
        };
        unsafe {
            gemm::gemm(
                m,
                n,
                k,
                dst,
                dst_cs,
                dst_rs,
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
        if col_major {
            transpose_into(&scratch, &mut out.spare_capacity_mut()[bi * m * n..(bi + 1) * m * n], m, n);
        }
    }
    // SAFETY: every one of the batch·m·n elements was written above, by gemm (for k = 0 too: with
    // read_dst = false gemm writes zeros) or by `transpose_into` from the scratch.
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The column-major order gives the same bits as the row-major one at the shapes it is chosen
    /// for (the GANs' weight gradients), so choosing it changes no seeded result.
    #[test]
    fn column_major_product_has_the_same_bits() {
        let mut rng = crate::Generator::new(5);
        for (m, n, k) in [(128, 1024, 3136), (100, 784, 1200), (100, 1200, 1200), (16, 64, 12544), (33, 70, 600)] {
            assert!(column_major_pays(m, n, k, 1, 1));
            let a: Vec<f32> = (0..m * k).map(|_| rng.normal() as f32).collect();
            let b: Vec<f32> = (0..n * k).map(|_| rng.normal() as f32).collect();
            // A [m, k] row-major; B [k, n] as the transpose of a row-major [n, k]
            let al = Layout::contiguous(&[m, k]);
            let bl = Layout { shape: vec![k, n], strides: vec![1, k], offset: 0 };
            let got = matmul_kernel(&a, &al, &b, &bl, 1.0f32);
            let mut want = vec![0f32; m * n];
            unsafe {
                gemm::gemm(
                    m,
                    n,
                    k,
                    want.as_mut_ptr(),
                    1,
                    n as isize,
                    false,
                    a.as_ptr(),
                    1,
                    k as isize,
                    b.as_ptr(),
                    k as isize,
                    1,
                    0.0,
                    1.0,
                    false,
                    false,
                    false,
                    gemm::Parallelism::None,
                );
            }
            assert!(got == want, "[{m}, {k}]·[{k}, {n}]: the two orders differ");
            // and both are the product
            let (i, j) = (m / 2, n / 3);
            let dot: f64 = (0..k).map(|t| a[i * k + t] as f64 * b[j * k + t] as f64).sum();
            assert!((got[i * n + j] as f64 - dot).abs() < 1e-3 * dot.abs().max(1.0));
        }
    }
}
