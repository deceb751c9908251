//! Convolution, transposed convolution, pooling and nearest upsampling, all built on one pair of
//! data-movement primitives: `im2col` (unfold sliding windows into columns) and its adjoint
//! `col2im`. Each is the other's backward, so every op here has gradients of gradients.
//!
//! Shapes: N = batch, C = channels, H, W = height, width; k = kernel, s = stride, p = padding,
//! d = dilation. Output size of a convolution: ⌊(H + 2p − d(k − 1) − 1) / s⌋ + 1.

use crate::storage::Conv2dGeom;
use crate::{Error, Result, Tensor};

/// Stride, padding and dilation of a 2-D window op, per (height, width).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2dOpts {
    pub stride: (usize, usize),
    pub padding: (usize, usize),
    pub dilation: (usize, usize),
}

impl Default for Conv2dOpts {
    fn default() -> Self {
        Conv2dOpts { stride: (1, 1), padding: (0, 0), dilation: (1, 1) }
    }
}

impl Conv2dOpts {
    pub fn new(stride: usize, padding: usize) -> Self {
        Conv2dOpts { stride: (stride, stride), padding: (padding, padding), dilation: (1, 1) }
    }
    pub fn dilation(mut self, d: usize) -> Self {
        self.dilation = (d, d);
        self
    }
}

/// ⌊(i + 2p − d(k − 1) − 1) / s⌋ + 1 in checked arithmetic: an error naming the op and the input
/// shape when the window does not fit the padded input, or a size overflows.
fn out_size(op: &'static str, shape: &[usize], i: usize, k: usize, s: usize, p: usize, d: usize) -> Result<usize> {
    let bad = |why: &str| {
        Error::bad_shape(op, shape, format!("window of {k} (dilation {d}) with padding {p}, stride {s}: {why}"))
    };
    let span = k.checked_sub(1).and_then(|k1| d.checked_mul(k1)).and_then(|x| x.checked_add(1));
    let padded = p.checked_mul(2).and_then(|p2| i.checked_add(p2));
    let (Some(span), Some(padded)) = (span, padded) else { return Err(bad("the sizes overflow")) };
    if s == 0 {
        return Err(bad("the stride must be positive"));
    }
    if padded < span {
        return Err(bad(&format!("the window ({span}) is larger than the padded input ({padded})")));
    }
    Ok((padded - span) / s + 1)
}

/// Geometry of a window op on an [N, C, H, W] input.
fn geom(op: &'static str, shape: &[usize], kh: usize, kw: usize, o: &Conv2dOpts) -> Result<Conv2dGeom> {
    if shape.len() != 4 {
        return Err(Error::bad_shape(op, shape, "expected an [N, C, H, W] input"));
    }
    if kh == 0 || kw == 0 || o.dilation.0 == 0 || o.dilation.1 == 0 {
        return Err(Error::bad_shape(op, shape, "kernel size and dilation must be positive"));
    }
    let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3]);
    Ok(Conv2dGeom {
        n,
        c,
        h,
        w,
        kh,
        kw,
        stride: o.stride,
        padding: o.padding,
        dilation: o.dilation,
        out_h: out_size(op, shape, h, kh, o.stride.0, o.padding.0, o.dilation.0)?,
        out_w: out_size(op, shape, w, kw, o.stride.1, o.padding.1, o.dilation.1)?,
    })
}

impl Tensor {
    /// Unfold: [N, C, H, W] → [C·kh·kw, N·oh·ow]; entries outside the image are `pad_value`.
    /// d/dx = col2im(grad).
    pub fn im2col(&self, kh: usize, kw: usize, o: &Conv2dOpts, pad_value: f64) -> Result<Tensor> {
        let g = geom("im2col", self.shape(), kh, kw, o)?;
        let s = self.storage().im2col(self.layout(), &g, pad_value)?;
        let out = Tensor::fresh(s, &[g.col_rows(), g.col_cols()]);
        Ok(Tensor::record(out, "im2col", &[self], move |c| Ok(vec![Some(c.grad.col2im(&g)?)])))
    }
    /// Fold (adjoint of im2col): [C·kh·kw, N·oh·ow] → [N, C, H, W], summing overlapping windows.
    /// d/dx = im2col(grad).
    pub fn col2im(&self, g: &Conv2dGeom) -> Result<Tensor> {
        if self.shape() != [g.col_rows(), g.col_cols()] {
            return Err(Error::shape(
                "col2im",
                self.shape(),
                &[g.col_rows(), g.col_cols()],
                "columns do not match the geometry",
            ));
        }
        let s = self.storage().col2im(self.layout(), g)?;
        let out = Tensor::fresh(s, &[g.n, g.c, g.h, g.w]);
        let g = *g;
        let o = Conv2dOpts { stride: g.stride, padding: g.padding, dilation: g.dilation };
        Ok(Tensor::record(out, "col2im", &[self], move |c| Ok(vec![Some(c.grad.im2col(g.kh, g.kw, &o, 0.0)?)])))
    }

    /// 2-D convolution (cross-correlation, as PyTorch): x [N, C, H, W], w [O, C, kh, kw],
    /// b [O] → [N, O, oh, ow]. Computed as W[O, C·kh·kw] @ im2col(x), so its gradients are those
    /// of a matmul and of im2col.
    pub fn conv2d(&self, w: &Tensor, b: Option<&Tensor>, o: &Conv2dOpts) -> Result<Tensor> {
        if w.rank() != 4 || self.rank() != 4 || w.shape()[1] != self.shape()[1] {
            return Err(Error::shape(
                "conv2d",
                self.shape(),
                w.shape(),
                "expected x [N, C, H, W] and weight [O, C, kh, kw]",
            ));
        }
        let (oc, kh, kw) = (w.shape()[0], w.shape()[2], w.shape()[3]);
        let g = geom("conv2d", self.shape(), kh, kw, o)?;
        let cols = self.im2col(kh, kw, o, 0.0)?; // [C·kh·kw, N·oh·ow]
        let y = w.reshape(&[oc as isize, -1])?.matmul(&cols)?; // [O, N·oh·ow]
        let y = y.view(&[oc, g.n, g.out_h, g.out_w])?.permute(&[1, 0, 2, 3])?; // [N, O, oh, ow]
        match b {
            Some(b) => y.add(&b.view(&[1, oc, 1, 1])?),
            None => Ok(y),
        }
    }

    /// Transposed convolution (the adjoint of conv2d in x): x [N, Cin, H, W], w [Cin, Cout, kh, kw],
    /// b [Cout] → [N, Cout, Ho, Wo] with Ho = (H − 1)s − 2p + d(kh − 1) + output_padding + 1.
    /// Computed as col2im(W[Cin, Cout·kh·kw]ᵀ @ x[Cin, N·H·W]).
    pub fn conv_transpose2d(
        &self,
        w: &Tensor,
        b: Option<&Tensor>,
        o: &Conv2dOpts,
        output_padding: (usize, usize),
    ) -> Result<Tensor> {
        if w.rank() != 4 || self.rank() != 4 || w.shape()[0] != self.shape()[1] {
            return Err(Error::shape(
                "conv_transpose2d",
                self.shape(),
                w.shape(),
                "expected x [N, Cin, H, W] and weight [Cin, Cout, kh, kw]",
            ));
        }
        let (n, cin, h, wd) = (self.shape()[0], self.shape()[1], self.shape()[2], self.shape()[3]);
        let (cout, kh, kw) = (w.shape()[1], w.shape()[2], w.shape()[3]);
        if output_padding.0 >= o.stride.0.max(o.dilation.0) || output_padding.1 >= o.stride.1.max(o.dilation.1) {
            return Err(Error::bad_shape(
                "conv_transpose2d",
                self.shape(),
                "output_padding must be smaller than stride or dilation",
            ));
        }
        let zero = [h, wd, kh, kw, o.stride.0, o.stride.1, o.dilation.0, o.dilation.1].contains(&0);
        if zero {
            return Err(Error::shape(
                "conv_transpose2d",
                self.shape(),
                w.shape(),
                format!(
                    "input and kernel must be non-empty, stride {:?} and dilation {:?} positive",
                    o.stride, o.dilation
                ),
            ));
        }
        // (H − 1)s + d(k − 1) + output_padding + 1, before cropping the padding, checked
        let full = |i: usize, s: usize, d: usize, k: usize, op: usize| {
            (i - 1).checked_mul(s)?.checked_add(d.checked_mul(k - 1)?)?.checked_add(op + 1)
        };
        let (Some(full_h), Some(full_w)) = (
            full(h, o.stride.0, o.dilation.0, kh, output_padding.0),
            full(wd, o.stride.1, o.dilation.1, kw, output_padding.1),
        ) else {
            return Err(Error::shape("conv_transpose2d", self.shape(), w.shape(), "the output size overflows"));
        };
        let (crop_h, crop_w) = (o.padding.0.saturating_mul(2), o.padding.1.saturating_mul(2));
        if full_h <= crop_h || full_w <= crop_w {
            return Err(Error::shape(
                "conv_transpose2d",
                self.shape(),
                w.shape(),
                format!("padding {:?} leaves an empty output (uncropped size [{full_h}, {full_w}])", o.padding),
            ));
        }
        let g = Conv2dGeom {
            n,
            c: cout,
            h: full_h - crop_h,
            w: full_w - crop_w,
            kh,
            kw,
            stride: o.stride,
            padding: o.padding,
            dilation: o.dilation,
            out_h: h,
            out_w: wd,
        };
        let xm = self.permute(&[1, 0, 2, 3])?.reshape(&[cin as isize, -1])?; // [Cin, N·H·W]
        let cols = w.reshape(&[cin as isize, -1])?.t()?.matmul(&xm)?; // [Cout·kh·kw, N·H·W]
        let y = cols.col2im(&g)?;
        match b {
            Some(b) => y.add(&b.view(&[1, cout, 1, 1])?),
            None => Ok(y),
        }
    }

    /// Max over k×k windows (padding counts as −∞). The gradient goes to each window's maximum.
    pub fn max_pool2d(&self, k: usize, o: &Conv2dOpts) -> Result<Tensor> {
        self.pool2d(k, o, true)
    }
    /// Mean over k×k windows (padding counts as 0 and is included, PyTorch's default).
    pub fn avg_pool2d(&self, k: usize, o: &Conv2dOpts) -> Result<Tensor> {
        self.pool2d(k, o, false)
    }
    fn pool2d(&self, k: usize, o: &Conv2dOpts, max: bool) -> Result<Tensor> {
        let g = geom(if max { "max_pool2d" } else { "avg_pool2d" }, self.shape(), k, k, o)?;
        // Treat every channel as an image of one channel: [N·C, 1, H, W] → [k·k, N·C·oh·ow]
        let x = self.reshape(&[(g.n * g.c) as isize, 1, g.h as isize, g.w as isize])?;
        let cols = x.im2col(k, k, o, if max { f64::NEG_INFINITY } else { 0.0 })?;
        let r = if max { cols.max(&[0], false)? } else { cols.mean(&[0], false)? };
        r.view(&[g.n, g.c, g.out_h, g.out_w])
    }
    /// Nearest-neighbour upsampling by an integer factor: [N, C, H, W] → [N, C, sH, sW].
    /// d/dx = sum of the gradient over each s×s block (expand's backward).
    pub fn upsample_nearest2d(&self, s: usize) -> Result<Tensor> {
        if self.rank() != 4 || s == 0 {
            return Err(Error::bad_shape(
                "upsample_nearest2d",
                self.shape(),
                "expected an [N, C, H, W] input and a positive factor",
            ));
        }
        let (n, c, h, w) = (self.shape()[0], self.shape()[1], self.shape()[2], self.shape()[3]);
        self.view(&[n, c, h, 1, w, 1])?.expand(&[n, c, h, s, w, s])?.reshape(&[
            n as isize,
            c as isize,
            (h * s) as isize,
            (w * s) as isize,
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::Conv2dOpts;
    use crate::Tensor;

    #[test]
    fn conv2d_by_hand() -> crate::Result<()> {
        // 3×3 image 1..9, 2×2 kernel of ones: each output is the sum of a 2×2 window
        let x = Tensor::arange(1.0, 10.0, 1.0)?.view(&[1, 1, 3, 3])?;
        let w = Tensor::ones(&[1, 1, 2, 2]);
        let y = x.conv2d(&w, None, &Conv2dOpts::default())?;
        assert_eq!(y.shape(), &[1, 1, 2, 2]);
        assert_eq!(y.to_vec::<f32>()?, vec![12., 16., 24., 28.]);
        // padding 1, stride 2: windows at (−1,−1), (−1,1), (1,−1), (1,1)
        let y = x.conv2d(&w, None, &Conv2dOpts::new(2, 1))?;
        assert_eq!(y.to_vec::<f32>()?, vec![1., 5., 11., 28.]);
        Ok(())
    }

    #[test]
    fn conv_transpose_is_adjoint_of_conv() -> crate::Result<()> {
        // <conv(x, w), y> = <x, conv_transpose(y, w)> for any x, y
        let mut g = crate::Generator::new(0);
        let o = Conv2dOpts::new(2, 1);
        let x = Tensor::randn(&[2, 3, 7, 7], &mut g).to_dtype(crate::DType::F64)?;
        let w = Tensor::randn(&[4, 3, 4, 4], &mut g).to_dtype(crate::DType::F64)?;
        let cx = x.conv2d(&w, None, &o)?;
        let y = Tensor::randn(cx.shape(), &mut g).to_dtype(crate::DType::F64)?;
        let ty = y.conv_transpose2d(&w, None, &o, (1, 1))?;
        assert_eq!(ty.shape(), x.shape());
        let lhs = cx.mul(&y)?.sum_all()?.item()?;
        let rhs = x.mul(&ty)?.sum_all()?.item()?;
        assert!((lhs - rhs).abs() < 1e-9 * lhs.abs().max(1.0), "{lhs} vs {rhs}");
        Ok(())
    }

    #[test]
    fn impossible_geometries_are_errors_naming_the_op_and_shapes() -> crate::Result<()> {
        let err = |r: crate::Result<Tensor>| r.unwrap_err().to_string();
        // an empty image: (H − 1)·s would underflow
        let w = Tensor::ones(&[2, 1, 3, 3]);
        let e = err(Tensor::ones(&[1, 2, 0, 3]).conv_transpose2d(&w, None, &Conv2dOpts::new(2, 1), (0, 0)));
        assert!(e.contains("conv_transpose2d") && e.contains("[1, 2, 0, 3]") && e.contains("[2, 1, 3, 3]"), "{e}");
        // an empty kernel: k − 1 would underflow
        let e = err(Tensor::ones(&[1, 2, 3, 3]).conv_transpose2d(
            &Tensor::ones(&[2, 1, 0, 2]),
            None,
            &Conv2dOpts::default(),
            (0, 0),
        ));
        assert!(e.contains("conv_transpose2d") && e.contains("[2, 1, 0, 2]"), "{e}");
        // a kernel larger than the padded input
        let x = Tensor::ones(&[1, 1, 2, 2]);
        let e = err(x.conv2d(&Tensor::ones(&[1, 1, 4, 4]), None, &Conv2dOpts::default()));
        assert!(
            e.contains("conv2d") && e.contains("[1, 1, 2, 2]") && e.contains("larger than the padded input"),
            "{e}"
        );
        // sizes that overflow: 2·padding, and the transposed output
        let e = err(x.conv2d(&Tensor::ones(&[1, 1, 1, 1]), None, &Conv2dOpts::new(1, usize::MAX / 2 + 1)));
        assert!(e.contains("conv2d") && e.contains("overflow"), "{e}");
        let e = err(x.conv_transpose2d(&Tensor::ones(&[1, 1, 2, 2]), None, &Conv2dOpts::new(usize::MAX, 0), (0, 0)));
        assert!(e.contains("conv_transpose2d") && e.contains("overflow"), "{e}");
        Ok(())
    }

    #[test]
    fn pooling_and_upsampling() -> crate::Result<()> {
        let x = Tensor::arange(1.0, 17.0, 1.0)?.view(&[1, 1, 4, 4])?;
        assert_eq!(x.max_pool2d(2, &Conv2dOpts::new(2, 0))?.to_vec::<f32>()?, vec![6., 8., 14., 16.]);
        assert_eq!(x.avg_pool2d(2, &Conv2dOpts::new(2, 0))?.to_vec::<f32>()?, vec![3.5, 5.5, 11.5, 13.5]);
        let u = Tensor::new(vec![1f32, 2., 3., 4.], &[1, 1, 2, 2])?.upsample_nearest2d(2)?;
        assert_eq!(u.to_vec::<f32>()?, vec![1., 1., 2., 2., 1., 1., 2., 2., 3., 3., 4., 4., 3., 3., 4., 4.]);
        Ok(())
    }
}
