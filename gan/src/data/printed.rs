//! Printed digits: 28×28 images of the digits 0–9 rendered from TrueType fonts, the second digit
//! domain of the CycleGAN task (handwritten MNIST ↔ printed). Each image draws, from a seeded
//! generator:
//!
//! - a font from [`FONTS`] (regular and bold sans, serif and monospaced faces of three Debian font
//!   packages; `scripts/install-deps.sh` installs them);
//! - a digit height of 15–21 pixels (MNIST's digits fit a 20×20 box);
//! - a stroke: the glyph as drawn, or thickened by up to 1.5 pixels;
//! - a rotation of up to ±12° and a shift of up to ±1.5 pixels from the centre.
//!
//! The glyph is rasterised (by `ab_glyph`, coverage anti-aliasing) at 4× the final resolution,
//! thickened there, then resampled with the rotation and shift onto the 28×28 grid, 2×2 samples per
//! pixel with bilinear interpolation. Ink is 1 and background 0, as in [`super::Dataset`]. The same
//! seed and fonts give the same bits; the labels run through 0–9 in a shuffled order, so every
//! class has ⌊n/10⌋ or ⌈n/10⌉ images.

use ab_glyph::{Font, FontVec, PxScale};
use minmax_engine::{Error, Generator as Rng, Result};

use super::Dataset;

/// The fonts, each with the Debian package that installs it.
pub const FONTS: &[(&str, &str)] = &[
    ("fonts-dejavu-core", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    ("fonts-dejavu-core", "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
    ("fonts-dejavu-core", "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"),
    ("fonts-dejavu-core", "/usr/share/fonts/truetype/dejavu/DejaVuSerif-Bold.ttf"),
    ("fonts-dejavu-core", "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"),
    ("fonts-dejavu-core", "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf"),
    ("fonts-liberation", "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf"),
    ("fonts-liberation", "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf"),
    ("fonts-liberation", "/usr/share/fonts/truetype/liberation/LiberationSerif-Regular.ttf"),
    ("fonts-liberation", "/usr/share/fonts/truetype/liberation/LiberationSerif-Bold.ttf"),
    ("fonts-liberation", "/usr/share/fonts/truetype/liberation/LiberationMono-Regular.ttf"),
    ("fonts-liberation", "/usr/share/fonts/truetype/liberation/LiberationMono-Bold.ttf"),
    ("fonts-freefont-ttf", "/usr/share/fonts/truetype/freefont/FreeSans.ttf"),
    ("fonts-freefont-ttf", "/usr/share/fonts/truetype/freefont/FreeSansBold.ttf"),
    ("fonts-freefont-ttf", "/usr/share/fonts/truetype/freefont/FreeSerif.ttf"),
    ("fonts-freefont-ttf", "/usr/share/fonts/truetype/freefont/FreeSerifBold.ttf"),
    ("fonts-freefont-ttf", "/usr/share/fonts/truetype/freefont/FreeMono.ttf"),
    ("fonts-freefont-ttf", "/usr/share/fonts/truetype/freefont/FreeMonoBold.ttf"),
];

/// Side of the images.
pub const SIZE: usize = 28;
/// Supersampling of the rasterised glyph.
const UP: usize = 4;
/// Digit heights in pixels (inclusive range of a uniform draw).
const HEIGHT: (f64, f64) = (15.0, 21.0);
/// Largest rotation in degrees, largest shift in pixels, largest thickening in 4× pixels.
const MAX_ROTATION: f64 = 12.0;
const MAX_SHIFT: f64 = 1.5;
const MAX_DILATE: usize = 3;

/// The fonts, read once.
pub struct Fonts {
    fonts: Vec<FontVec>,
    pub names: Vec<String>,
}

impl Fonts {
    /// Every font of [`FONTS`]; a missing one is refused, naming the file and its package (the
    /// digits depend on the set of fonts, so a partial set would silently give other data).
    pub fn load() -> Result<Fonts> {
        let mut fonts = Vec::new();
        let mut names = Vec::new();
        for &(package, path) in FONTS {
            let p = std::path::Path::new(path);
            let bytes = std::fs::read(p).map_err(|e| {
                Error::file(
                    p,
                    &format!(
                        "a font of the printed digits ({e}); install the Debian package {package} (scripts/install-deps.sh does)"
                    ),
                )
            })?;
            let font = FontVec::try_from_vec(bytes)
                .map_err(|e| Error::file(p, &format!("not a TrueType font this renderer can read ({e})")))?;
            fonts.push(font);
            names.push(p.file_stem().unwrap_or_default().to_string_lossy().into_owned());
        }
        Ok(Fonts { fonts, names })
    }

    pub fn len(&self) -> usize {
        self.fonts.len()
    }
    pub fn is_empty(&self) -> bool {
        self.fonts.is_empty()
    }

    /// `n` printed digits drawn with `seed`, as a data set of 28×28 images.
    pub fn digits(&self, n: usize, seed: u64) -> Result<Dataset> {
        let mut rng = Rng::new(seed);
        let mut labels = Vec::with_capacity(n);
        while labels.len() < n {
            labels.extend(rng.permutation(10).into_iter().map(|d| d as u8));
        }
        labels.truncate(n);
        let mut images = Vec::with_capacity(n * SIZE * SIZE);
        for &d in &labels {
            images.extend(self.render(d, &mut rng)?);
        }
        Dataset::new(images, labels, SIZE, SIZE)
    }

    /// One digit `d` with a font, height, stroke, rotation and shift drawn from `rng`.
    pub fn render(&self, d: u8, rng: &mut Rng) -> Result<Vec<f32>> {
        if d > 9 {
            return Err(Error::msg(format!("printed digits: {d} is not a digit")));
        }
        let f = rng.below(self.fonts.len());
        let height = rng.uniform_range(HEIGHT.0, HEIGHT.1);
        let dilate = rng.below(MAX_DILATE + 1);
        let angle = rng.uniform_range(-MAX_ROTATION, MAX_ROTATION).to_radians();
        let shift = (rng.uniform_range(-MAX_SHIFT, MAX_SHIFT), rng.uniform_range(-MAX_SHIFT, MAX_SHIFT));
        let canvas = self.glyph_canvas(f, d, height)?;
        let canvas = dilate_max(&canvas, SIZE * UP, dilate);
        Ok(resample(&canvas, SIZE * UP, angle, shift))
    }

    /// The glyph of digit `d` in font `f`, `height` output pixels tall, centred on a 4× canvas.
    fn glyph_canvas(&self, f: usize, d: u8, height: f64) -> Result<Vec<f32>> {
        let font = &self.fonts[f];
        let ch = char::from(b'0' + d);
        let outline = |scale: f32| {
            font.outline_glyph(font.glyph_id(ch).with_scale(PxScale::from(scale)))
                .ok_or_else(|| Error::msg(format!("printed digits: font {} has no outline for '{ch}'", self.names[f])))
        };
        // the digit's drawn height at scale 100, then the scale that makes it `height` (×4)
        let probe = outline(100.0)?.px_bounds();
        let probe_h = (probe.max.y - probe.min.y).max(1.0);
        let g = outline(100.0 * (height * UP as f64) as f32 / probe_h)?;
        let b = g.px_bounds();
        let side = SIZE * UP;
        let (gw, gh) = (b.max.x - b.min.x, b.max.y - b.min.y);
        // top-left of the glyph's box so that the box is centred
        let ox = ((side as f32 - gw) / 2.0).round() as i64;
        let oy = ((side as f32 - gh) / 2.0).round() as i64;
        let mut canvas = vec![0.0f32; side * side];
        g.draw(|x, y, c| {
            let (px, py) = (ox + x as i64, oy + y as i64);
            if (0..side as i64).contains(&px) && (0..side as i64).contains(&py) {
                let v = &mut canvas[py as usize * side + px as usize];
                *v = (*v + c).min(1.0);
            }
        });
        Ok(canvas)
    }
}

/// The maximum over a (2r+1)×(2r+1) square around each pixel: strokes thickened by r on each side.
pub fn dilate_max(img: &[f32], side: usize, r: usize) -> Vec<f32> {
    if r == 0 {
        return img.to_vec();
    }
    // separable: rows, then columns
    let pass = |src: &[f32], horizontal: bool| {
        let mut out = vec![0.0f32; side * side];
        for y in 0..side {
            for x in 0..side {
                let mut m = 0.0f32;
                for k in x.saturating_sub(r)..=(x + r).min(side - 1) {
                    let v = if horizontal { src[y * side + k] } else { src[k * side + y] };
                    m = m.max(v);
                }
                if horizontal {
                    out[y * side + x] = m;
                } else {
                    out[x * side + y] = m;
                }
            }
        }
        out
    };
    pass(&pass(img, true), false)
}

/// The 4× canvas rotated by `angle` (radians) about its centre and shifted by `shift` output
/// pixels, sampled onto the 28×28 grid (2×2 bilinear samples per pixel, averaged).
fn resample(canvas: &[f32], side: usize, angle: f64, shift: (f64, f64)) -> Vec<f32> {
    let (sin, cos) = angle.sin_cos();
    let c = side as f64 / 2.0;
    let up = UP as f64;
    let at = |x: f64, y: f64| -> f64 {
        // bilinear on pixel centres, zero outside
        let (x, y) = (x - 0.5, y - 0.5);
        let (x0, y0) = (x.floor(), y.floor());
        let (fx, fy) = (x - x0, y - y0);
        let px = |xi: f64, yi: f64| -> f64 {
            if xi < 0.0 || yi < 0.0 || xi >= side as f64 || yi >= side as f64 {
                0.0
            } else {
                canvas[yi as usize * side + xi as usize] as f64
            }
        };
        (1.0 - fy) * ((1.0 - fx) * px(x0, y0) + fx * px(x0 + 1.0, y0))
            + fy * ((1.0 - fx) * px(x0, y0 + 1.0) + fx * px(x0 + 1.0, y0 + 1.0))
    };
    let mut out = vec![0.0f32; SIZE * SIZE];
    for v in 0..SIZE {
        for u in 0..SIZE {
            let mut s = 0.0;
            for (a, b) in [(0.25, 0.25), (0.75, 0.25), (0.25, 0.75), (0.75, 0.75)] {
                // output point in canvas coordinates, then the inverse rotation about the centre
                let x = (u as f64 + a - shift.0) * up - c;
                let y = (v as f64 + b - shift.1) * up - c;
                s += at(cos * x + sin * y + c, -sin * x + cos * y + c);
            }
            out[v * SIZE + u] = (s / 4.0).clamp(0.0, 1.0) as f32;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dilation_thickens_a_point_into_a_square() {
        let mut img = vec![0.0f32; 25];
        img[12] = 1.0; // the centre of 5×5
        let d = dilate_max(&img, 5, 1);
        let ones: Vec<usize> = (0..25).filter(|&i| d[i] == 1.0).collect();
        assert_eq!(ones, vec![6, 7, 8, 11, 12, 13, 16, 17, 18]);
        assert_eq!(dilate_max(&img, 5, 0), img);
    }

    #[test]
    fn resampling_without_rotation_or_shift_is_a_box_average() {
        // a canvas of ones in the top-left 4×4 block (output pixel (0, 0)): that pixel is 1 and
        // every other 0, as every sample of pixel (0, 0) interpolates between ones only
        let side = SIZE * UP;
        let mut canvas = vec![0.0f32; side * side];
        for y in 0..UP {
            for x in 0..UP {
                canvas[y * side + x] = 1.0;
            }
        }
        let out = resample(&canvas, side, 0.0, (0.0, 0.0));
        assert!((out[0] - 1.0).abs() < 1e-6, "{}", out[0]);
        assert!(out[1..].iter().all(|&v| v == 0.0));
        let total: f32 = out.iter().sum();
        assert!((total - 1.0).abs() < 1e-5, "ink is conserved: {total}");
    }

    /// The fonts, or None after a loud SKIPPED line (a failure when MINMAX_REQUIRE_DATA=1).
    fn fonts() -> Option<Fonts> {
        match Fonts::load() {
            Ok(f) => Some(f),
            Err(e) if std::env::var("MINMAX_REQUIRE_DATA").as_deref() == Ok("1") => {
                panic!("{e}; MINMAX_REQUIRE_DATA=1")
            }
            Err(e) => {
                eprintln!("SKIPPED: {e} (MINMAX_REQUIRE_DATA=1 turns this skip into a failure)");
                None
            }
        }
    }

    #[test]
    fn the_digits_are_deterministic_per_seed_balanced_and_digit_like() {
        let Some(fonts) = fonts() else { return };
        assert_eq!(fonts.len(), FONTS.len());
        let a = fonts.digits(50, 7).unwrap();
        let b = fonts.digits(50, 7).unwrap();
        let c = fonts.digits(50, 8).unwrap();
        assert_eq!(a.images(), b.images(), "same seed, same bits");
        assert_eq!(a.labels(), b.labels());
        assert_ne!(a.images(), c.images());
        for d in 0..10u8 {
            assert_eq!(a.labels().iter().filter(|&&l| l == d).count(), 5, "class {d}");
        }
        for (i, img) in a.images().chunks(SIZE * SIZE).enumerate() {
            assert!(img.iter().all(|v| (0.0..=1.0).contains(v)));
            // ink, inside the frame: MNIST-like digits cover roughly 10–30 % of the pixels
            let ink: f32 = img.iter().sum::<f32>() / (SIZE * SIZE) as f32;
            assert!((0.03..0.45).contains(&ink), "image {i}: ink share {ink}");
            let border: f32 =
                (0..SIZE).map(|k| img[k] + img[(SIZE - 1) * SIZE + k] + img[k * SIZE] + img[k * SIZE + SIZE - 1]).sum();
            assert!(border < 0.5, "image {i} touches the frame ({border})");
        }
        assert!(fonts.render(10, &mut Rng::new(0)).is_err());
    }
}
