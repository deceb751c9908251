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
}
