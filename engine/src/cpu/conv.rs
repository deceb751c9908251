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

/// The output positions o in [0, out) whose window pixel i = o·s + off lies inside [0, len):
/// the range [lo, hi) (empty when no position has a pixel). `off` = k·d − p for kernel offset k.
fn inside(off: isize, s: usize, len: usize, out: usize) -> (usize, usize) {
    // i ≥ 0 ⇔ o ≥ ⌈−off / s⌉;  i < len ⇔ o·s < len − off ⇔ o ≤ (len − off − 1) / s
    let lo = if off >= 0 { 0 } else { (off.unsigned_abs()).div_ceil(s) };
    let room = len as isize - off;
    let hi = if room <= 0 { 0 } else { (room as usize - 1) / s + 1 };
    let (lo, hi) = (lo.min(out), hi.min(out));
    (lo, hi.max(lo))
}

/// Marks an output position whose window pixel is padding.
const PAD: u32 = u32::MAX;

/// For each kernel offset k = (ki, kj), which pixel of an H×W plane each of the oh·ow output
/// positions reads: `tables[k·oh·ow + oy·ow + ox]` = iy·W + ix, or `PAD` when (iy, ix) is outside
/// the image. Every (channel, image) pair of the op reads its plane through the same tables, so
/// the geometry is worked out once per call instead of once per output row; the inner loops of
/// both kernels are then one pass over oh·ow entries. For a fixed k distinct positions read
/// distinct pixels (the stride is positive), which the scatter in `col2im_k` relies on.
fn window_tables(g: &Conv2dGeom) -> Vec<u32> {
    let (oh, ow) = (g.out_h, g.out_w);
    let mut t = vec![PAD; g.kh * g.kw * oh * ow];
    for (k, tk) in t.chunks_exact_mut(oh * ow).enumerate() {
        let (ki, kj) = (k / g.kw, k % g.kw);
        let offy = (ki * g.dilation.0) as isize - g.padding.0 as isize;
        let offx = (kj * g.dilation.1) as isize - g.padding.1 as isize;
        let (ylo, yhi) = inside(offy, g.stride.0, g.h, oh);
        let (xlo, xhi) = inside(offx, g.stride.1, g.w, ow);
        for oy in ylo..yhi {
            let iy = ((oy * g.stride.0) as isize + offy) as usize; // inside [0, h) by `inside`
            for ox in xlo..xhi {
                let ix = ((ox * g.stride.1) as isize + offx) as usize;
                tk[oy * ow + ox] = (iy * g.w + ix) as u32;
            }
        }
    }
    t
}

/// Whether plane offsets fit the tables' u32 entries (with `PAD` left free).
fn tables_fit(g: &Conv2dGeom) -> bool {
    g.h.checked_mul(g.w).is_some_and(|p| p < PAD as usize)
}

fn im2col_k<T: Float>(v: &[T], l: &Layout, g: &Conv2dGeom, pad: T) -> Vec<T> {
    assert!(tables_fit(g), "im2col: an image plane of {}×{} pixels is too large", g.h, g.w);
    let x = contiguous(v, l);
    let (rows, cols) = (g.col_rows(), g.col_cols());
    let (plane, per_img, kk) = (g.h * g.w, g.out_h * g.out_w, g.kh * g.kw);
    let tables = window_tables(g);
    // Every element is written below (a window pixel or the pad value), so the buffer is not zeroed.
    let mut out: Vec<T> = Vec::with_capacity(rows * cols);
    out.spare_capacity_mut().par_chunks_mut(cols).enumerate().for_each(|(r, row)| {
        let (c, k) = (r / kk, r % kk);
        let tk = &tables[k * per_img..(k + 1) * per_img];
        for (n, dst) in row.chunks_exact_mut(per_img).enumerate() {
            let img = &x[(n * g.c + c) * plane..(n * g.c + c + 1) * plane];
            for (d, &i) in dst.iter_mut().zip(tk) {
                d.write(if i == PAD { pad } else { img[i as usize] });
            }
        }
    });
    // SAFETY: each of the rows·cols elements was written above: a row is n segments of oh·ow,
    // and each segment is written entry by entry from its table.
    unsafe { out.set_len(rows * cols) };
    out
}

fn col2im_k<T: Float>(v: &[T], l: &Layout, g: &Conv2dGeom) -> Vec<T> {
    assert!(tables_fit(g), "col2im: an image plane of {}×{} pixels is too large", g.h, g.w);
    let col = contiguous(v, l);
    let cols = g.col_cols();
    let (plane, per_img, kk) = (g.h * g.w, g.out_h * g.out_w, g.kh * g.kw);
    let tables = window_tables(g);
    let mut out = vec![T::zero(); g.n * g.c * plane];
    // One task per (image, channel) plane: each plane gathers from its own rows and columns, kernel
    // offset by kernel offset, so every pixel sums its windows' entries in the same order (k
    // ascending, as the definition's loop over rows does).
    out.par_chunks_mut(plane).enumerate().for_each(|(p, img)| {
        let (n, c) = (p / g.c, p % g.c);
        for k in 0..kk {
            let r = c * kk + k;
            let src = &col[r * cols + n * per_img..r * cols + (n + 1) * per_img];
            for (&i, &y) in tables[k * per_img..(k + 1) * per_img].iter().zip(src) {
                if i != PAD {
                    img[i as usize] = img[i as usize] + y;
                }
            }
        }
    });
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
        for (h, w, kh, kw, s, p, d) in [
            (5, 7, 3, 2, 1, 0, 1),
            (6, 6, 4, 4, 2, 1, 1),
            (7, 5, 3, 3, 2, 2, 2),
            (4, 9, 1, 3, 3, 1, 1),
            (8, 8, 2, 2, 1, 3, 3),
        ] {
            let (n, c) = (2, 3);
            let oh = (h + 2 * p - d * (kh - 1) - 1) / s + 1;
            let ow = (w + 2 * p - d * (kw - 1) - 1) / s + 1;
            let g = Conv2dGeom {
                n,
                c,
                h,
                w,
                kh,
                kw,
                stride: (s, s),
                padding: (p, p),
                dilation: (d, d),
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
                                    let iy = (oy * s + ki * d) as isize - p as isize;
                                    let ix = (ox * s + kj * d) as isize - p as isize;
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
                    let iy = (oy * s + ki * d) as isize - p as isize;
                    let ix = (ox * s + kj * d) as isize - p as isize;
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
