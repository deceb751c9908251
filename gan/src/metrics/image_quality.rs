//! Full-reference image quality: how close an output image is to its target, pixel by pixel (PSNR)
//! and in local structure (SSIM). The image-to-image lab scores translations, upscalings and
//! inpaintings with them.
//!
//! **PSNR** of an image x against its target y, pixels in [0, L] (here L = 1), D pixels:
//!
//! ```text
//! MSE = Σ (x − y)² / D          PSNR = 10 · log10(L² / MSE)   dB        (+∞ when x = y)
//! ```
//!
//! averaged over the images of a set (the mean of per-image PSNRs, as super-resolution papers
//! report it).
//!
//! **SSIM** (Wang, Bovik, Sheikh & Simoncelli 2004, "Image quality assessment: from error
//! visibility to structural similarity", eq. 13 and section III-C): with a Gaussian window w
//! (11×11, σ = 1.5, normalised to sum 1) placed at every position where it fits inside the image,
//!
//! ```text
//! μx = Σ w·x      σx² = Σ w·x² − μx²      σxy = Σ w·x·y − μx·μy       (and the same for y)
//! SSIM(window) = (2·μx·μy + C1)(2·σxy + C2) / ((μx² + μy² + C1)(σx² + σy² + C2))
//! C1 = (0.01·L)²,  C2 = (0.03·L)²
//! ```
//!
//! and the image's SSIM is the mean over window positions (the paper's MSSIM); a set's is the mean
//! over images. SSIM is 1 exactly when x = y. For y = x + c (a constant shift), σ and σxy are
//! unchanged, so the second factor is 1 and each window gives
//! (2μx(μx + c) + C1) / (μx² + (μx + c)² + C1) — the tests check both closed forms.

use minmax_engine::{Error, Result, Tensor};

use super::ensure_finite;

/// Side of the Gaussian window and its standard deviation (Wang et al. 2004).
pub const SSIM_WINDOW: usize = 11;
pub const SSIM_SIGMA: f64 = 1.5;
/// The stabilising constants' factors K1, K2.
pub const SSIM_K: (f64, f64) = (0.01, 0.03);

/// Two image sets as f64 rows [n, h·w], checked: same shape, finite, `h·w` pixels per image.
fn pairs(x: &Tensor, y: &Tensor, h: usize, w: usize, what: &str) -> Result<(Vec<f64>, Vec<f64>, usize)> {
    if x.shape() != y.shape() {
        return Err(Error::msg(format!(
            "{what}: the images have shape {:?} and their targets {:?}; expected the same",
            x.shape(),
            y.shape()
        )));
    }
    let total: usize = x.shape().iter().product();
    if h * w == 0 || !total.is_multiple_of(h * w) || total == 0 {
        return Err(Error::msg(format!(
            "{what}: shape {:?} does not hold whole {h}×{w} images (expected [n, {}] or [n, 1, {h}, {w}], n ≥ 1)",
            x.shape(),
            h * w
        )));
    }
    ensure_finite(x, &format!("{what}: images"))?;
    ensure_finite(y, &format!("{what}: targets"))?;
    let f = |t: &Tensor| -> Result<Vec<f64>> { t.to_dtype(minmax_engine::DType::F64)?.to_vec::<f64>() };
    Ok((f(x)?, f(y)?, total / (h * w)))
}

/// The PSNR of each image of `x` against the same-index image of `y` (pixels in [0, `range`]), in dB;
/// +∞ for an exact copy.
pub fn psnr_per_image(x: &Tensor, y: &Tensor, h: usize, w: usize, range: f64) -> Result<Vec<f64>> {
    let (a, b, n) = pairs(x, y, h, w, "psnr")?;
    let d = h * w;
    Ok((0..n)
        .map(|i| {
            let mse =
                a[i * d..(i + 1) * d].iter().zip(&b[i * d..(i + 1) * d]).map(|(p, q)| (p - q) * (p - q)).sum::<f64>()
                    / d as f64;
            if mse == 0.0 {
                f64::INFINITY
            } else {
                10.0 * (range * range / mse).log10()
            }
        })
        .collect())
}

/// The mean PSNR over the images (dB). Refuses when an image equals its target exactly (its PSNR
/// is +∞, and so would the mean be): compare a set that differs, or use [`psnr_per_image`].
pub fn psnr(x: &Tensor, y: &Tensor, h: usize, w: usize, range: f64) -> Result<f64> {
    let v = psnr_per_image(x, y, h, w, range)?;
    if let Some(i) = v.iter().position(|p| p.is_infinite()) {
        return Err(Error::msg(format!(
            "psnr: image {i} equals its target exactly (PSNR +∞); the mean over the set is not a number"
        )));
    }
    Ok(v.iter().sum::<f64>() / v.len() as f64)
}

/// The normalised 11×11 Gaussian window, row-major.
fn gaussian_window() -> Vec<f64> {
    let r = (SSIM_WINDOW / 2) as f64;
    let g: Vec<f64> =
        (0..SSIM_WINDOW).map(|i| (-((i as f64 - r).powi(2)) / (2.0 * SSIM_SIGMA * SSIM_SIGMA)).exp()).collect();
    let s: f64 = g.iter().sum();
    let g: Vec<f64> = g.iter().map(|v| v / s).collect();
    (0..SSIM_WINDOW * SSIM_WINDOW).map(|k| g[k / SSIM_WINDOW] * g[k % SSIM_WINDOW]).collect()
}

/// The SSIM of each image of `x` against the same-index image of `y` (pixels in [0, `range`]).
/// Images must be at least 11×11 (the window).
pub fn ssim_per_image(x: &Tensor, y: &Tensor, h: usize, w: usize, range: f64) -> Result<Vec<f64>> {
    if h < SSIM_WINDOW || w < SSIM_WINDOW {
        return Err(Error::msg(format!(
            "ssim: {h}×{w} images are smaller than the {SSIM_WINDOW}×{SSIM_WINDOW} window"
        )));
    }
    let (a, b, n) = pairs(x, y, h, w, "ssim")?;
    let win = gaussian_window();
    let (c1, c2) = ((SSIM_K.0 * range).powi(2), (SSIM_K.1 * range).powi(2));
    let d = h * w;
    Ok((0..n)
        .map(|i| {
            let (p, q) = (&a[i * d..(i + 1) * d], &b[i * d..(i + 1) * d]);
            let mut sum = 0.0;
            let mut count = 0usize;
            for oy in 0..=h - SSIM_WINDOW {
                for ox in 0..=w - SSIM_WINDOW {
                    let (mut mx, mut my, mut xx, mut yy, mut xy) = (0.0, 0.0, 0.0, 0.0, 0.0);
                    for ky in 0..SSIM_WINDOW {
                        for kx in 0..SSIM_WINDOW {
                            let wt = win[ky * SSIM_WINDOW + kx];
                            let j = (oy + ky) * w + ox + kx;
                            mx += wt * p[j];
                            my += wt * q[j];
                            xx += wt * p[j] * p[j];
                            yy += wt * q[j] * q[j];
                            xy += wt * p[j] * q[j];
                        }
                    }
                    let (vx, vy, cxy) = (xx - mx * mx, yy - my * my, xy - mx * my);
                    sum += (2.0 * mx * my + c1) * (2.0 * cxy + c2) / ((mx * mx + my * my + c1) * (vx + vy + c2));
                    count += 1;
                }
            }
            sum / count as f64
        })
        .collect())
}

/// The mean SSIM over the images.
pub fn ssim(x: &Tensor, y: &Tensor, h: usize, w: usize, range: f64) -> Result<f64> {
    let v = ssim_per_image(x, y, h, w, range)?;
    Ok(v.iter().sum::<f64>() / v.len() as f64)
}

/// The mean absolute pixel difference between the images and their targets.
pub fn l1(x: &Tensor, y: &Tensor, h: usize, w: usize) -> Result<f64> {
    let (a, b, _) = pairs(x, y, h, w, "l1")?;
    Ok(a.iter().zip(&b).map(|(p, q)| (p - q).abs()).sum::<f64>() / a.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use minmax_engine::Generator;

    fn noise(n: usize, seed: u64) -> Tensor {
        let mut g = Generator::new(seed);
        Tensor::new((0..n * 784).map(|_| g.uniform() as f32 * 0.8 + 0.1).collect::<Vec<f32>>(), &[n, 784]).unwrap()
    }

    #[test]
    fn identical_images_have_ssim_one_and_infinite_psnr() {
        let x = noise(3, 1);
        for s in ssim_per_image(&x, &x, 28, 28, 1.0).unwrap() {
            assert!((s - 1.0).abs() < 1e-12, "{s}");
        }
        assert!(psnr_per_image(&x, &x, 28, 28, 1.0).unwrap().iter().all(|p| p.is_infinite()));
        assert!(psnr(&x, &x, 28, 28, 1.0).is_err(), "the mean of +∞ PSNRs is refused");
        assert_eq!(l1(&x, &x, 28, 28).unwrap(), 0.0);
    }

    #[test]
    fn a_constant_shift_has_closed_forms() {
        let c = 0.05f32;
        let x = noise(2, 2);
        let y = x.add_scalar(c as f64).unwrap();
        // PSNR = 10 log10(1 / c²) whatever the image (c in f32, as the pixels are)
        let want = 10.0 * (1.0 / (c as f64 * c as f64)).log10();
        for p in psnr_per_image(&y, &x, 28, 28, 1.0).unwrap() {
            assert!((p - want).abs() < 1e-3, "{p} vs {want}");
        }
        assert!((l1(&y, &x, 28, 28).unwrap() - c as f64).abs() < 1e-6);
        // A constant image a against a + c: every window gives (2a(a+c)+C1)/(a²+(a+c)²+C1).
        let a = 0.3f64;
        let x = Tensor::full(&[1, 784], a);
        let y = Tensor::full(&[1, 784], a + c as f64);
        let (aa, ac) = (a as f32 as f64, (a + c as f64) as f32 as f64);
        let c1 = (0.01f64).powi(2);
        let want = (2.0 * aa * ac + c1) / (aa * aa + ac * ac + c1);
        let got = ssim(&x, &y, 28, 28, 1.0).unwrap();
        assert!((got - want).abs() < 1e-9, "{got} vs {want}");
        assert!(got < 1.0);
    }

    #[test]
    fn ssim_falls_with_noise_and_is_symmetric() {
        let x = noise(1, 3);
        let mut g = Generator::new(9);
        let e = Tensor::new((0..784).map(|_| g.normal() as f32).collect::<Vec<f32>>(), &[1, 784]).unwrap();
        let small = x.add(&e.mul_scalar(0.02).unwrap()).unwrap();
        let large = x.add(&e.mul_scalar(0.2).unwrap()).unwrap();
        let (s1, s2) = (ssim(&small, &x, 28, 28, 1.0).unwrap(), ssim(&large, &x, 28, 28, 1.0).unwrap());
        assert!(1.0 > s1 && s1 > s2, "{s1} {s2}");
        assert!((ssim(&x, &small, 28, 28, 1.0).unwrap() - s1).abs() < 1e-12);
        assert!(psnr(&small, &x, 28, 28, 1.0).unwrap() > psnr(&large, &x, 28, 28, 1.0).unwrap());
    }

    #[test]
    fn bad_inputs_are_refused_by_name() {
        let x = noise(2, 4);
        let e = ssim(&x, &noise(3, 5), 28, 28, 1.0).unwrap_err().to_string();
        assert!(e.contains("ssim") && e.contains("[2, 784]") && e.contains("[3, 784]"), "{e}");
        let nan = Tensor::full(&[2, 784], f64::NAN);
        assert!(psnr(&nan, &x, 28, 28, 1.0).unwrap_err().to_string().contains("not finite"));
        let e =
            ssim(&noise(1, 6).view(&[1, 1, 28, 28]).unwrap(), &noise(1, 7).view(&[1, 1, 28, 28]).unwrap(), 7, 7, 1.0)
                .unwrap_err()
                .to_string();
        assert!(e.contains("window"), "{e}");
        assert!(l1(&x, &x, 27, 27).unwrap_err().to_string().contains("27×27"));
    }
}
