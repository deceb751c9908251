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

fn im2col_k<T: Float>(v: &[T], l: &Layout, g: &Conv2dGeom, pad: T) -> Vec<T> {
    let x = contiguous(v, l);
    let (rows, cols) = (g.col_rows(), g.col_cols());
    let mut out = vec![T::zero(); rows * cols];
    let plane = g.h * g.w;
    out.par_chunks_mut(cols).enumerate().for_each(|(r, row)| {
        let c = r / (g.kh * g.kw);
        let ki = (r / g.kw) % g.kh;
        let kj = r % g.kw;
        for n in 0..g.n {
            let img = &x[(n * g.c + c) * plane..(n * g.c + c + 1) * plane];
            for oy in 0..g.out_h {
                let dst = &mut row[(n * g.out_h + oy) * g.out_w..(n * g.out_h + oy + 1) * g.out_w];
                let iy = (oy * g.stride.0 + ki * g.dilation.0) as isize - g.padding.0 as isize;
                if iy < 0 || iy >= g.h as isize {
                    dst.fill(pad);
                    continue;
                }
                let src = &img[iy as usize * g.w..(iy as usize + 1) * g.w];
                for (ox, d) in dst.iter_mut().enumerate() {
                    let ix = (ox * g.stride.1 + kj * g.dilation.1) as isize - g.padding.1 as isize;
                    *d = if ix < 0 || ix >= g.w as isize {
                        pad
                    } else {
                        src[ix as usize]
                    };
                }
            }
        }
    });
    out
}

fn col2im_k<T: Float>(v: &[T], l: &Layout, g: &Conv2dGeom) -> Vec<T> {
    let col = contiguous(v, l);
    let cols = g.col_cols();
    let plane = g.h * g.w;
    let mut out = vec![T::zero(); g.n * g.c * plane];
    // One task per (image, channel) plane: each plane gathers from its own rows and columns.
    out.par_chunks_mut(plane).enumerate().for_each(|(p, img)| {
        let (n, c) = (p / g.c, p % g.c);
        for ki in 0..g.kh {
            for kj in 0..g.kw {
                let r = (c * g.kh + ki) * g.kw + kj;
                let row = &col[r * cols..(r + 1) * cols];
                for oy in 0..g.out_h {
                    let iy = (oy * g.stride.0 + ki * g.dilation.0) as isize - g.padding.0 as isize;
                    if iy < 0 || iy >= g.h as isize {
                        continue;
                    }
                    let src = &row[(n * g.out_h + oy) * g.out_w..(n * g.out_h + oy + 1) * g.out_w];
                    let dst = &mut img[iy as usize * g.w..(iy as usize + 1) * g.w];
                    for (ox, &s) in src.iter().enumerate() {
                        let ix =
                            (ox * g.stride.1 + kj * g.dilation.1) as isize - g.padding.1 as isize;
                        if ix >= 0 && ix < g.w as isize {
                            dst[ix as usize] = dst[ix as usize] + s;
                        }
                    }
                }
            }
        }
    });
    out
}

impl CpuStorage {
    pub fn im2col(&self, l: &Layout, g: &Conv2dGeom, pad_value: f64) -> Result<Self> {
        Ok(map_float!(self, "im2col", |v| im2col_k(
            v,
            l,
            g,
            crate::dtype::Elem::from_f64(pad_value)
        )))
    }
    pub fn col2im(&self, l: &Layout, g: &Conv2dGeom) -> Result<Self> {
        Ok(map_float!(self, "col2im", |v| col2im_k(v, l, g)))
    }
}
