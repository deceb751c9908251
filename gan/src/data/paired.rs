//! Paired image sets made from a data set's own images, for image-to-image translation: each
//! input is computed from its target, so every pair lines up pixel for pixel.
//!
//! - [`sobel_edges`]: edges → image (pix2pix's edges → shoes and handbags, here Fashion-MNIST):
//!   the Sobel gradient magnitude of each image, thresholded to a binary edge map
//!
//!   ```text
//!   Gx = [−1 0 1; −2 0 2; −1 0 1] ∗ x     Gy = Gxᵀ ∗ x     edge = 1 if √(Gx² + Gy²) > t else 0
//!   ```
//!
//!   with the outside of the image taken as background (0), as MNIST's and Fashion-MNIST's
//!   borders are.
//! - [`downsample_area`]: low resolution → high (super-resolution): the mean of each f×f block.
//! - [`upsample_nearest`], [`upsample_bilinear`] and [`upsample_bicubic`]: the classical answers to super-resolution,
//!   the baselines a learned upscaler must beat; PyTorch's `F.interpolate(mode="bilinear" |
//!   "bicubic", align_corners=False)`, whose numbers the tests check.
//! - [`centre_hole`]: an image with its centre square blanked → the image (inpainting).
//!
//! Images are rows of `h·w` pixels in [0, 1], as [`super::Dataset`] holds them.

use minmax_engine::{Error, Result};

fn check(images: &[f32], h: usize, w: usize, what: &str) -> Result<usize> {
    if h == 0 || w == 0 || !images.len().is_multiple_of(h * w) {
        return Err(Error::msg(format!(
            "{what}: {} pixels are not whole {h}×{w} images (expected a multiple of {})",
            images.len(),
            h * w
        )));
    }
    Ok(images.len() / (h * w))
}

/// The Sobel gradient magnitude of every image (module docs), before thresholding.
pub fn sobel_magnitude(images: &[f32], h: usize, w: usize) -> Result<Vec<f32>> {
    let n = check(images, h, w, "sobel_magnitude")?;
    let mut out = vec![0f32; images.len()];
    for i in 0..n {
        let img = &images[i * h * w..(i + 1) * h * w];
        let px = |y: isize, x: isize| -> f32 {
            if y < 0 || x < 0 || y >= h as isize || x >= w as isize {
                0.0
            } else {
                img[y as usize * w + x as usize]
            }
        };
        for y in 0..h as isize {
            for x in 0..w as isize {
                let gx = (px(y - 1, x + 1) + 2.0 * px(y, x + 1) + px(y + 1, x + 1))
                    - (px(y - 1, x - 1) + 2.0 * px(y, x - 1) + px(y + 1, x - 1));
                let gy = (px(y + 1, x - 1) + 2.0 * px(y + 1, x) + px(y + 1, x + 1))
                    - (px(y - 1, x - 1) + 2.0 * px(y - 1, x) + px(y - 1, x + 1));
                out[i * h * w + y as usize * w + x as usize] = (gx * gx + gy * gy).sqrt();
            }
        }
    }
    Ok(out)
}

/// Binary edge maps: 1 where the Sobel magnitude exceeds `threshold`, else 0. A unit step
/// between two flat regions has magnitude 4 on both sides of the step.
pub fn sobel_edges(images: &[f32], h: usize, w: usize, threshold: f32) -> Result<Vec<f32>> {
    if !threshold.is_finite() || threshold < 0.0 {
        return Err(Error::msg(format!("sobel_edges: threshold {threshold} must be a finite number ≥ 0")));
    }
    Ok(sobel_magnitude(images, h, w)?.into_iter().map(|m| if m > threshold { 1.0 } else { 0.0 }).collect())
}

/// Each image shrunk by `factor` in both directions, every output pixel the mean of its
/// factor×factor block (area downsampling). `h` and `w` must be multiples of `factor`.
pub fn downsample_area(images: &[f32], h: usize, w: usize, factor: usize) -> Result<Vec<f32>> {
    let n = check(images, h, w, "downsample_area")?;
    if factor == 0 || !h.is_multiple_of(factor) || !w.is_multiple_of(factor) {
        return Err(Error::msg(format!("downsample_area: factor {factor} does not divide {h}×{w}")));
    }
    let (oh, ow) = (h / factor, w / factor);
    let mut out = vec![0f32; n * oh * ow];
    let k = (factor * factor) as f32;
    for i in 0..n {
        for oy in 0..oh {
            for ox in 0..ow {
                let mut s = 0f32;
                for dy in 0..factor {
                    for dx in 0..factor {
                        s += images[i * h * w + (oy * factor + dy) * w + ox * factor + dx];
                    }
                }
                out[i * oh * ow + oy * ow + ox] = s / k;
            }
        }
    }
    Ok(out)
}

/// The taps (source index, weight) of one output coordinate `o` when a length-`n` axis is enlarged
/// `factor` times, PyTorch's convention (align_corners = False): the output pixel's centre maps to
/// src = (o + ½)/f − ½; bilinear clamps src at 0 and interpolates its two neighbours, bicubic
/// uses Keys' cubic convolution (a = −0.75) on four, indices clamped to the image.
fn taps(o: usize, n: usize, factor: usize, cubic: bool) -> Vec<(usize, f32)> {
    let src = (o as f64 + 0.5) / factor as f64 - 0.5;
    let clamp = |i: isize| i.clamp(0, n as isize - 1) as usize;
    if !cubic {
        let src = src.max(0.0);
        let i0 = src.floor() as isize;
        let t = (src - i0 as f64) as f32;
        return vec![(clamp(i0), 1.0 - t), (clamp(i0 + 1), t)];
    }
    const A: f64 = -0.75;
    // Keys' kernel: |x| ≤ 1: (a+2)|x|³ − (a+3)|x|² + 1; 1 < |x| < 2: a|x|³ − 5a|x|² + 8a|x| − 4a.
    let near = |x: f64| ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0;
    let far = |x: f64| ((A * x - 5.0 * A) * x + 8.0 * A) * x - 4.0 * A;
    let i0 = src.floor() as isize;
    let t = src - i0 as f64;
    let w = [far(t + 1.0), near(t), near(1.0 - t), far(2.0 - t)];
    (0..4).map(|k| (clamp(i0 - 1 + k as isize), w[k as usize] as f32)).collect()
}

fn upsample(images: &[f32], h: usize, w: usize, factor: usize, cubic: bool, what: &str) -> Result<Vec<f32>> {
    let n = check(images, h, w, what)?;
    if factor == 0 {
        return Err(Error::msg(format!("{what}: the factor must be at least 1")));
    }
    let (oh, ow) = (h * factor, w * factor);
    let ty: Vec<Vec<(usize, f32)>> = (0..oh).map(|o| taps(o, h, factor, cubic)).collect();
    let tx: Vec<Vec<(usize, f32)>> = (0..ow).map(|o| taps(o, w, factor, cubic)).collect();
    let mut out = vec![0f32; n * oh * ow];
    let mut rows = vec![0f32; h * ow]; // each image widened first, then heightened
    for i in 0..n {
        let img = &images[i * h * w..(i + 1) * h * w];
        for y in 0..h {
            for (ox, t) in tx.iter().enumerate() {
                rows[y * ow + ox] = t.iter().map(|&(x, wt)| wt * img[y * w + x]).sum();
            }
        }
        for (oy, t) in ty.iter().enumerate() {
            for ox in 0..ow {
                out[i * oh * ow + oy * ow + ox] = t.iter().map(|&(y, wt)| wt * rows[y * ow + ox]).sum();
            }
        }
    }
    Ok(out)
}

/// Each image enlarged `factor` times by repeating every pixel factor×factor times.
pub fn upsample_nearest(images: &[f32], h: usize, w: usize, factor: usize) -> Result<Vec<f32>> {
    let n = check(images, h, w, "upsample_nearest")?;
    if factor == 0 {
        return Err(Error::msg("upsample_nearest: the factor must be at least 1"));
    }
    let (oh, ow) = (h * factor, w * factor);
    let mut out = Vec::with_capacity(n * oh * ow);
    for i in 0..n {
        for oy in 0..oh {
            out.extend((0..ow).map(|ox| images[i * h * w + (oy / factor) * w + ox / factor]));
        }
    }
    Ok(out)
}

/// Each image enlarged `factor` times by bilinear interpolation (PyTorch's, align_corners = False).
pub fn upsample_bilinear(images: &[f32], h: usize, w: usize, factor: usize) -> Result<Vec<f32>> {
    upsample(images, h, w, factor, false, "upsample_bilinear")
}

/// Each image enlarged `factor` times by bicubic interpolation (PyTorch's: a = −0.75,
/// align_corners = False). Like PyTorch's, the result can overshoot [0, 1] near sharp edges.
pub fn upsample_bicubic(images: &[f32], h: usize, w: usize, factor: usize) -> Result<Vec<f32>> {
    upsample(images, h, w, factor, true, "upsample_bicubic")
}

/// Each image with its centre `size`×`size` square set to `fill`, and the mask (1 inside the hole).
pub fn centre_hole(images: &[f32], h: usize, w: usize, size: usize, fill: f32) -> Result<(Vec<f32>, Vec<f32>)> {
    let n = check(images, h, w, "centre_hole")?;
    if size == 0 || size > h || size > w {
        return Err(Error::msg(format!("centre_hole: a {size}×{size} hole does not fit {h}×{w} images")));
    }
    let (y0, x0) = ((h - size) / 2, (w - size) / 2);
    let mut mask = vec![0f32; h * w];
    for y in y0..y0 + size {
        mask[y * w + x0..y * w + x0 + size].iter_mut().for_each(|m| *m = 1.0);
    }
    let mut out = images.to_vec();
    for i in 0..n {
        for (p, m) in out[i * h * w..(i + 1) * h * w].iter_mut().zip(&mask) {
            if *m == 1.0 {
                *p = fill;
            }
        }
    }
    Ok((out, mask))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sobel_finds_a_hand_made_step() {
        // 5×5: columns 0–1 black, 2–4 white.
        let img: Vec<f32> = (0..25).map(|i| if i % 5 >= 2 { 1.0 } else { 0.0 }).collect();
        let m = sobel_magnitude(&img, 5, 5).unwrap();
        // Inside the image (rows 1–3) the step gives |Gx| = 1 + 2 + 1 = 4 on both of its sides
        // (columns 1 and 2) and 0 in the flat parts: column 0 has black on both sides (the
        // padding and column 1), column 3 white on both.
        for y in 1..4 {
            assert_eq!(m[y * 5], 0.0);
            assert_eq!(m[y * 5 + 1], 4.0);
            assert_eq!(m[y * 5 + 2], 4.0);
            assert_eq!(m[y * 5 + 3], 0.0);
            // the right border: white inside, black padding outside, |Gx| = 4
            assert_eq!(m[y * 5 + 4], 4.0);
        }
        // Top row, column 3: Gx = 0, Gy = (1 + 2 + 1) − 0 (the padding above) = 4.
        assert_eq!(m[3], 4.0);
        let e = sobel_edges(&img, 5, 5, 2.0).unwrap();
        assert_eq!(&e[5..10], &[0.0, 1.0, 1.0, 0.0, 1.0]);
        assert!(sobel_edges(&img, 5, 5, f32::NAN).is_err());
        assert!(sobel_edges(&img, 4, 4, 1.0).unwrap_err().to_string().contains("4×4"));
    }

    #[test]
    fn area_downsampling_averages_blocks() {
        let img: Vec<f32> = (0..16).map(|i| i as f32).collect(); // 4×4
        let d = downsample_area(&img, 4, 4, 2).unwrap();
        assert_eq!(d, vec![2.5, 4.5, 10.5, 12.5]);
        assert!(downsample_area(&img, 4, 4, 3).is_err());
    }

    #[test]
    fn the_hole_is_centred() {
        let img = vec![0.5f32; 2 * 36]; // two 6×6 images
        let (holed, mask) = centre_hole(&img, 6, 6, 2, 0.0).unwrap();
        assert_eq!(mask.iter().sum::<f32>(), 4.0);
        for (y, x) in [(2, 2), (2, 3), (3, 2), (3, 3)] {
            assert_eq!(mask[y * 6 + x], 1.0);
            assert_eq!(holed[36 + y * 6 + x], 0.0);
        }
        assert_eq!(holed.iter().filter(|&&p| p == 0.5).count(), 2 * 32);
        assert!(centre_hole(&img, 6, 6, 7, 0.0).is_err());
    }

    #[test]
    fn upsampling_matches_pytorch() {
        // torch.nn.functional.interpolate(x, scale_factor=2, mode=m, align_corners=False) on this
        // 3×3 image (PyTorch 2.15), printed to 6 decimals.
        let x = [0.0f32, 0.2, 0.9, 0.4, 1.0, 0.3, 0.7, 0.1, 0.5];
        let bilinear = [
            0.0, 0.05, 0.15, 0.375, 0.725, 0.9, 0.1, 0.175, 0.325, 0.4875, 0.6625, 0.75, 0.3, 0.425, 0.675, 0.7125,
            0.5375, 0.45, 0.475, 0.55, 0.7, 0.66875, 0.45625, 0.35, 0.625, 0.55, 0.4, 0.35625, 0.41875, 0.45, 0.7,
            0.55, 0.25, 0.2, 0.4, 0.5,
        ];
        let bicubic = [
            -0.058832, -0.036234, -0.009531, 0.324316, 0.776782, 1.052683, 0.044977, 0.143382, 0.301192, 0.525961,
            0.690762, 0.793327, 0.210663, 0.439351, 0.822203, 0.867728, 0.550217, 0.362233, 0.4711, 0.615094, 0.859686,
            0.783942, 0.430634, 0.218915, 0.679218, 0.571368, 0.392474, 0.321918, 0.399542, 0.444305, 0.80827,
            0.548888, 0.115266, 0.045358, 0.378641, 0.575517,
        ];
        for (got, want) in [
            (upsample_bilinear(&x, 3, 3, 2).unwrap(), &bilinear[..]),
            (upsample_bicubic(&x, 3, 3, 2).unwrap(), &bicubic[..]),
        ] {
            assert_eq!(got.len(), 36);
            for (i, (g, w)) in got.iter().zip(want).enumerate() {
                assert!((g - w).abs() < 2e-6, "pixel {i}: {g} vs PyTorch {w}");
            }
        }
        assert_eq!(upsample_nearest(&[1.0, 2.0], 1, 2, 2).unwrap(), vec![1.0, 1.0, 2.0, 2.0, 1.0, 1.0, 2.0, 2.0]);
        // a constant stays constant (the weights sum to 1), at ×4 too
        let c = upsample_bicubic(&[0.3f32; 49], 7, 7, 4).unwrap();
        assert!(c.len() == 784 && c.iter().all(|v| (v - 0.3).abs() < 1e-6));
        assert!(upsample_bilinear(&[0.0; 10], 3, 3, 2).unwrap_err().to_string().contains("upsample_bilinear"));
    }
}
