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

/// For kernel offset (ki, kj): every output position q = oy·ow + ox whose window pixel lies inside
/// the image, paired with that pixel's index iy·w + ix in its plane. The pairs are the same for
/// every image and channel, so both kernels below compute them once per call (kh·kw lists) and
/// then run one branch-free loop per (row, image) instead of a short loop per output row.
fn window_pairs(g: &Conv2dGeom, ki: usize, kj: usize) -> Vec<(u32, u32)> {
    let mut pairs = Vec::with_capacity(g.out_h * g.out_w);
    for oy in 0..g.out_h {
        let iy = (oy * g.stride.0 + ki * g.dilation.0) as isize - g.padding.0 as isize;
        if iy < 0 || iy >= g.h as isize {
            continue;
        }
        for ox in 0..g.out_w {
            let ix = (ox * g.stride.1 + kj * g.dilation.1) as isize - g.padding.1 as isize;
            if ix >= 0 && ix < g.w as isize {
                pairs.push(((oy * g.out_w + ox) as u32, (iy as usize * g.w + ix as usize) as u32));
            }
        }
    }
    pairs
}

/// `window_pairs` for every (ki, kj), indexed ki·kw + kj.
fn all_pairs(g: &Conv2dGeom) -> Vec<Vec<(u32, u32)>> {
    (0..g.kh * g.kw).map(|k| window_pairs(g, k / g.kw, k % g.kw)).collect()
}

fn im2col_k<T: Float>(v: &[T], l: &Layout, g: &Conv2dGeom, pad: T) -> Vec<T> {
    let x = contiguous(v, l);
    let (rows, cols) = (g.col_rows(), g.col_cols());
    let (plane, opl) = (g.h * g.w, g.out_h * g.out_w);
    let pairs = all_pairs(g);
    // Every element is written below (pad, then the window pixels), so the buffer is not zeroed.
    let mut out: Vec<T> = Vec::with_capacity(rows * cols);
    out.spare_capacity_mut().par_chunks_mut(cols).enumerate().for_each(|(r, row)| {
        let (c, k) = (r / (g.kh * g.kw), r % (g.kh * g.kw));
        let pairs = &pairs[k];
        for (n, dst) in row.chunks_exact_mut(opl).enumerate() {
            if pairs.len() < opl {
                dst.iter_mut().for_each(|d| {
                    d.write(pad);
                });
            }
            let img = &x[(n * g.c + c) * plane..(n * g.c + c + 1) * plane];
            for &(q, i) in pairs {
                dst[q as usize].write(img[i as usize]);
            }
        }
    });
    // SAFETY: each of the rows·cols elements was written above: a row is n·oh·ow long, and each
    // image's oh·ow segment of it is filled with pad (unless every position has a pixel) and
    // then with the pixels of `window_pairs`, which lists every position that has one.
    unsafe { out.set_len(rows * cols) };
    out
}

fn col2im_k<T: Float>(v: &[T], l: &Layout, g: &Conv2dGeom) -> Vec<T> {
    let col = contiguous(v, l);
    let cols = g.col_cols();
    let (plane, opl) = (g.h * g.w, g.out_h * g.out_w);
    let pairs = all_pairs(g);
    let mut out = vec![T::zero(); g.n * g.c * plane];
    // One task per (image, channel) plane: each plane gathers from its own rows and columns.
    out.par_chunks_mut(plane).enumerate().for_each(|(p, img)| {
        let (n, c) = (p / g.c, p % g.c);
        for (k, pairs) in pairs.iter().enumerate() {
            let r = c * g.kh * g.kw + k;
            let src = &col[r * cols + n * opl..r * cols + (n + 1) * opl];
            for &(q, i) in pairs {
                let d = &mut img[i as usize];
                *d = *d + src[q as usize];
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

    /// im2col against its definition, and col2im against the adjoint identity
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
            let lhs: f64 = cols0.iter().zip(&y).map(|(a, b)| a * b).sum();
            let rhs: f64 = x.iter().zip(&back).map(|(a, b)| a * b).sum();
            assert!((lhs - rhs).abs() < 1e-9 * lhs.abs().max(1.0), "{g:?}: {lhs} vs {rhs}");
        }
    }
}
