//! im2col and its adjoint col2im: the two data-movement kernels behind convolution, transposed
//! convolution and pooling. `im2col` turns every sliding window of an [N, C, H, W] image into a
//! column of a [C·kh·kw, N·oh·ow] matrix, so a convolution becomes one matrix product.
//! Row r = (c, ki, kj), column q = (n, oy, ox); the window's pixel is
//! x[n, c, oy·sh − ph + ki·dh, ox·sw − pw + kj·dw], or the pad value outside the image.

use rayon::prelude::*;

use super::{contiguous, map_float, CpuStorage};
use crate::dtype::Float;
use crate::layout::Layout;
use crate::storage::Conv2dGeom;
use crate::Result;

/// The image plane with its padding: (H + 2ph) × (W + 2pw). Every window pixel of the op lies in
/// it: iy = oy·sh − ph + ki·dh runs over [−ph, H + ph) because the output size is
/// ⌊(H + 2ph − dh(kh − 1) − 1) / sh⌋ + 1.
fn padded(g: &Conv2dGeom) -> (usize, usize) {
    (g.h + 2 * g.padding.0, g.w + 2 * g.padding.1)
}

/// For each kernel offset k = (ki, kj), which pixel of the padded plane each of the oh·ow output
/// positions reads: `tables[k·oh·ow + oy·ow + ox]` = (oy·sh + ki·dh)·(W + 2pw) + ox·sw + kj·dw.
/// Every (channel, image) pair reads its plane through the same tables, so the geometry is worked
/// out once per call, and the inner loops of both kernels are one branch-free pass over oh·ow
/// entries. For a fixed k distinct positions read distinct pixels (the stride is positive),
/// which the scatter in `col2im_k` relies on.
fn window_tables(g: &Conv2dGeom) -> Vec<u32> {
    let (oh, ow, pw) = (g.out_h, g.out_w, padded(g).1);
    let mut t = vec![0; g.kh * g.kw * oh * ow];
    for (k, tk) in t.chunks_exact_mut(oh * ow).enumerate() {
        let (ki, kj) = (k / g.kw, k % g.kw);
        for oy in 0..oh {
            for ox in 0..ow {
                let (iy, ix) = (oy * g.stride.0 + ki * g.dilation.0, ox * g.stride.1 + kj * g.dilation.1);
                tk[oy * ow + ox] = (iy * pw + ix) as u32;
            }
        }
    }
    t
}

/// Panics unless the padded plane's offsets fit the tables' u32 entries.
fn check_plane(op: &str, g: &Conv2dGeom) {
    let (ph, pw) = padded(g);
    assert!(
        ph.checked_mul(pw).is_some_and(|p| p <= u32::MAX as usize),
        "{op}: a padded image plane of {ph}×{pw} pixels is too large"
    );
}

/// Images per task of `im2col_k`.
const IMAGES_PER_TASK: usize = 8;

/// The columns, shared by tasks that each write a different set of their segments.
struct Segments<T>(*mut T);
// SAFETY: tasks write disjoint segments (see `im2col_k`), and T is Send.
unsafe impl<T: Send> Sync for Segments<T> {}

fn im2col_k<T: Float>(v: &[T], l: &Layout, g: &Conv2dGeom, pad: T) -> Vec<T> {
    check_plane("im2col", g);
    let x = contiguous(v, l);
    let (rows, cols) = (g.col_rows(), g.col_cols());
    let (plane, per_img, kk) = (g.h * g.w, g.out_h * g.out_w, g.kh * g.kw);
    let ((ph, pw), (top, left)) = (padded(g), g.padding);
    if plane == 0 || rows * cols == 0 {
        return vec![pad; rows * cols]; // an empty image: every window pixel is padding
    }
    let tables = window_tables(g);
    let mut out: Vec<T> = Vec::with_capacity(rows * cols);
    let segments = Segments(out.as_mut_ptr());
    let blocks = g.n.div_ceil(IMAGES_PER_TASK);
    // One task per (channel, block of images). Each image's plane is copied once into the
    // interior of a padded plane whose border holds the pad value; then each of the channel's
    // kh·kw rows gets that image's oh·ow segment, gathered through its table.
    (0..g.c * blocks).into_par_iter().for_each(|t| {
        let (c, b) = (t / blocks, t % blocks);
        let segments = &segments;
        let mut p = vec![pad; ph * pw];
        for n in b * IMAGES_PER_TASK..((b + 1) * IMAGES_PER_TASK).min(g.n) {
            let img = &x[(n * g.c + c) * plane..(n * g.c + c + 1) * plane];
            for (y, src) in img.chunks_exact(g.w).enumerate() {
                p[(y + top) * pw + left..(y + top) * pw + left + g.w].copy_from_slice(src);
            }
            for (k, tk) in tables.chunks_exact(per_img).enumerate() {
                let r = c * kk + k;
                // SAFETY: segment (r, n) = [r·cols + n·oh·ow, +oh·ow) lies inside the rows·cols
                // allocation, and only this task writes it: the tasks' (channel, image block)
                // pairs are distinct, a channel's rows are its own and the blocks are disjoint.
                let dst = unsafe {
                    std::slice::from_raw_parts_mut(
                        segments.0.add(r * cols + n * per_img).cast::<std::mem::MaybeUninit<T>>(),
                        per_img,
                    )
                };
                for (d, &i) in dst.iter_mut().zip(tk) {
                    d.write(p[i as usize]);
                }
            }
        }
    });
    // SAFETY: each of the rows·cols elements was written above: the tasks cover every (channel,
    // image) pair, and each writes the image's oh·ow segment of all the channel's kh·kw rows.
    unsafe { out.set_len(rows * cols) };
    out
}

fn col2im_k<T: Float>(v: &[T], l: &Layout, g: &Conv2dGeom) -> Vec<T> {
    check_plane("col2im", g);
    let col = contiguous(v, l);
    let cols = g.col_cols();
    let (plane, per_img, kk) = (g.h * g.w, g.out_h * g.out_w, g.kh * g.kw);
    let ((ph, pw), (top, left)) = (padded(g), g.padding);
    if plane == 0 || cols == 0 {
        return vec![T::zero(); g.n * g.c * plane];
    }
    let tables = window_tables(g);
    let mut out: Vec<T> = Vec::with_capacity(g.n * g.c * plane);
    // One task per (image, channel) plane: it sums its windows' entries into a zeroed padded plane,
    // kernel offset by kernel offset, so every pixel adds them in the same order (k ascending, as
    // the definition's loop over rows does); then the interior is the output plane (what fell on
    // the padding is dropped).
    out.spare_capacity_mut().par_chunks_mut(plane).enumerate().for_each_init(
        || vec![T::zero(); ph * pw],
        |acc, (p, img)| {
            let (n, c) = (p / g.c, p % g.c);
            acc.fill(T::zero());
            for (k, tk) in tables.chunks_exact(per_img).enumerate() {
                let r = c * kk + k;
                let src = &col[r * cols + n * per_img..r * cols + (n + 1) * per_img];
                for (&i, &y) in tk.iter().zip(src) {
                    acc[i as usize] = acc[i as usize] + y;
                }
            }
            for (y, dst) in img.chunks_exact_mut(g.w).enumerate() {
                for (d, &a) in dst.iter_mut().zip(&acc[(y + top) * pw + left..(y + top) * pw + left + g.w]) {
                    d.write(a);
                }
            }
        },
    );
    // SAFETY: the planes cover the n·c·h·w elements, and each is written row by row in full.
    unsafe { out.set_len(g.n * g.c * plane) };
    out
}

impl CpuStorage {
    pub fn im2col(&self, l: &Layout, g: &Conv2dGeom, pad_value: f64) -> Result<Self> {
        Ok(map_float!(self, "im2col", |v| im2col_k(v, l, g, crate::dtype::Elem::from_f64(pad_value))))
    }
    pub fn col2im(&self, l: &Layout, g: &Conv2dGeom) -> Result<Self> {
        Ok(map_float!(self, "col2im", |v| col2im_k(v, l, g)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// im2col and col2im against their definitions, and the adjoint identity
    /// ⟨im2col(x), y⟩ = ⟨x, col2im(y)⟩, over many geometries (strides, padding, dilation).
    #[test]
    fn im2col_matches_its_definition_for_many_geometries() {
        let mut rng = crate::Generator::new(3);
        // (h, w, kh, kw, (sh, sw), (ph, pw), (dh, dw), n): square and unequal strides, paddings
        // and dilations, padding wider than the kernel, and more images than one task takes
        for (h, w, kh, kw, (sh, sw), (ph, pw), (dh, dw), n) in [
            (5, 7, 3, 2, (1, 1), (0, 0), (1, 1), 2),
            (6, 6, 4, 4, (2, 2), (1, 1), (1, 1), 2),
            (7, 5, 3, 3, (2, 2), (2, 2), (2, 2), 2),
            (4, 9, 1, 3, (3, 3), (1, 1), (1, 1), 2),
            (8, 8, 2, 2, (1, 1), (3, 3), (3, 3), 2),
            (6, 9, 3, 2, (2, 1), (0, 3), (1, 2), 2),
            (5, 4, 2, 3, (1, 3), (2, 1), (2, 1), 19),
        ] {
            let c = 3;
            let oh = (h + 2 * ph - dh * (kh - 1) - 1) / sh + 1;
            let ow = (w + 2 * pw - dw * (kw - 1) - 1) / sw + 1;
            let g = Conv2dGeom {
                n,
                c,
                h,
                w,
                kh,
                kw,
                stride: (sh, sw),
                padding: (ph, pw),
                dilation: (dh, dw),
                out_h: oh,
                out_w: ow,
            };
            let x: Vec<f64> = (0..n * c * h * w).map(|_| rng.normal()).collect();
            let cols = im2col_k(&x, &Layout::contiguous(&[n, c, h, w]), &g, -7.0);
            for ci in 0..c {
                for ki in 0..kh {
                    for kj in 0..kw {
                        for ni in 0..n {
                            for oy in 0..oh {
                                for ox in 0..ow {
                                    let iy = (oy * sh + ki * dh) as isize - ph as isize;
                                    let ix = (ox * sw + kj * dw) as isize - pw as isize;
                                    let want = if iy < 0 || ix < 0 || iy >= h as isize || ix >= w as isize {
                                        -7.0
                                    } else {
                                        x[((ni * c + ci) * h + iy as usize) * w + ix as usize]
                                    };
                                    let r = (ci * kh + ki) * kw + kj;
                                    let q = (ni * oh + oy) * ow + ox;
                                    assert_eq!(cols[r * g.col_cols() + q], want, "{g:?}");
                                }
                            }
                        }
                    }
                }
            }
            let cols0 = im2col_k(&x, &Layout::contiguous(&[n, c, h, w]), &g, 0.0);
            let y: Vec<f64> = (0..cols0.len()).map(|_| rng.normal()).collect();
            let back = col2im_k(&y, &Layout::contiguous(&[g.col_rows(), g.col_cols()]), &g);
            // col2im by its definition: every entry added to its pixel, rows in order, so each
            // pixel sums its windows in the same order as the kernel: the same bits.
            let mut want = vec![0.0f64; n * c * h * w];
            for r in 0..g.col_rows() {
                let (ci, ki, kj) = (r / (kh * kw), r / kw % kh, r % kw);
                for q in 0..g.col_cols() {
                    let (ni, oy, ox) = (q / (oh * ow), q / ow % oh, q % ow);
                    let iy = (oy * sh + ki * dh) as isize - ph as isize;
                    let ix = (ox * sw + kj * dw) as isize - pw as isize;
                    if iy >= 0 && ix >= 0 && iy < h as isize && ix < w as isize {
                        want[((ni * c + ci) * h + iy as usize) * w + ix as usize] += y[r * g.col_cols() + q];
                    }
                }
            }
            assert_eq!(back, want, "{g:?}");
            let lhs: f64 = cols0.iter().zip(&y).map(|(a, b)| a * b).sum();
            let rhs: f64 = x.iter().zip(&back).map(|(a, b)| a * b).sum();
            assert!((lhs - rhs).abs() < 1e-9 * lhs.abs().max(1.0), "{g:?}: {lhs} vs {rhs}");
        }
    }
}
