//! Pictures as PNG files: grids of generated digits, samples beside their nearest training image
//! (Figure 2 of Goodfellow et al., 2014), and line plots of training curves (in `plot.rs`).
//!
//! Shapes (`N` images of `h × w` grey pixels, `D = h · w`):
//!
//! ```text
//! images     [N, D] or [N, h, w] or [N, 1, h, w]   values in [0, 1], clamped (0 = black, 1 = white)
//! train      [T, D]                               nearest_neighbours searches its rows
//! grid       rows·h + (rows + 1)·pad  high, cols·w + (cols + 1)·pad  wide, mid-grey border
//! ```
//!
//! PNGs are encoded in memory ([`png_bytes`], also what a notebook shows inline) and written
//! atomically ([`save_png`]), so a reader never sees half an image.
//!
//! Left out: colour images (the data sets are grey-scale).

pub mod display;
pub mod mode_collapse;
mod plot;

pub use plot::{line_plot, line_plot_image, register_font, PLOT_SIZE};

use std::io::Cursor;
use std::path::Path;

use image::codecs::png::PngEncoder;
use image::{GrayImage, ImageBuffer, ImageEncoder, Luma, Pixel, PixelWithColorType, Rgb, RgbImage};
use minmax_engine::io::write_atomic;
use minmax_engine::{no_grad, DType, Error, Result, Tensor};

use crate::metrics::distances::rows_f64;

/// Border and empty-cell colour of image grids: mid grey, distinct from the black background
/// and white ink of MNIST digits.
pub const BACKGROUND: u8 = 128;

/// Frame colour around the nearest-training-image cells of [`pairs_grid`] (amber).
pub const HIGHLIGHT: [u8; 3] = [230, 160, 0];

/// Squared distances computed per block in [`nearest_neighbours`] (4M f64 = 32 MiB).
const NN_BLOCK_ELEMS: usize = 1 << 22;

// ---- PNG files ----------------------------------------------------------------------------------

/// Encode an 8-bit grey or RGB(A) image as PNG bytes.
pub fn png_bytes<P>(img: &ImageBuffer<P, Vec<u8>>) -> Result<Vec<u8>>
where
    P: Pixel<Subpixel = u8> + PixelWithColorType,
{
    let mut out = Vec::new();
    PngEncoder::new(Cursor::new(&mut out))
        .write_image(img.as_raw(), img.width(), img.height(), P::COLOR_TYPE)
        .map_err(|e| Error::msg(format!("png: cannot encode a {}x{} image: {e}", img.width(), img.height())))?;
    Ok(out)
}

/// Write `img` to `path` as a PNG, atomically (temp file + rename).
pub fn save_png<P>(img: &ImageBuffer<P, Vec<u8>>, path: &Path) -> Result<()>
where
    P: Pixel<Subpixel = u8> + PixelWithColorType,
{
    let bytes = png_bytes(img).map_err(|e| Error::file(path, e.to_string()))?;
    write_atomic(path, &bytes)
}

// ---- image grids --------------------------------------------------------------------------------

/// The pixels of `images` as one flat `Vec<f32>` of `N · h · w` values, after checking that the
/// shape is one of [N, h·w], [N, h, w] or [N, 1, h, w] with N ≥ 1.
fn image_pixels(op: &str, what: &str, images: &Tensor, h: usize, w: usize) -> Result<(usize, Vec<f32>)> {
    let s = images.shape();
    let ok = h > 0
        && w > 0
        && match s {
            [_, d] => *d == h * w,
            [_, a, b] => (*a, *b) == (h, w),
            [_, 1, a, b] => (*a, *b) == (h, w),
            _ => false,
        };
    if !ok {
        return Err(Error::msg(format!(
            "{op}: {what} must be [N, {}] or [N, 1, {h}, {w}] for {h}x{w} images, got shape {s:?}",
            h * w
        )));
    }
    if s[0] == 0 {
        return Err(Error::msg(format!("{op}: {what} has no images (shape {s:?})")));
    }
    Ok((s[0], images.to_vec::<f32>()?))
}

/// A grey level in 0..=255 for a pixel value in [0, 1] (clamped; NaN is black).
fn to_u8(v: f32) -> u8 {
    if v.is_nan() {
        0
    } else {
        (v.clamp(0.0, 1.0) * 255.0).round() as u8
    }
}

fn check_grid(op: &str, rows: usize, cols: usize) -> Result<()> {
    if rows == 0 || cols == 0 {
        return Err(Error::msg(format!("{op}: a grid needs at least one row and one column, got {rows}x{cols}")));
    }
    Ok(())
}

fn to_u32(op: &str, v: usize) -> Result<u32> {
    u32::try_from(v).map_err(|_| Error::msg(format!("{op}: an image {v} pixels wide is too large")))
}

/// Lay out the first `rows · cols` images row by row, `pad` pixels of mid grey around and
/// between them. Cells past the last image stay grey.
pub fn image_grid(images: &Tensor, rows: usize, cols: usize, h: usize, w: usize, pad: usize) -> Result<GrayImage> {
    check_grid("image_grid", rows, cols)?;
    let (n, px) = image_pixels("image_grid", "images", images, h, w)?;
    let width = to_u32("image_grid", cols * w + (cols + 1) * pad)?;
    let height = to_u32("image_grid", rows * h + (rows + 1) * pad)?;
    let mut img = GrayImage::from_pixel(width, height, Luma([BACKGROUND]));
    for k in 0..n.min(rows * cols) {
        let (r, c) = (k / cols, k % cols);
        let (x0, y0) = (pad + c * (w + pad), pad + r * (h + pad));
        let cell = &px[k * h * w..(k + 1) * h * w];
        for y in 0..h {
            for x in 0..w {
                img.put_pixel((x0 + x) as u32, (y0 + y) as u32, Luma([to_u8(cell[y * w + x])]));
            }
        }
    }
    Ok(img)
}

/// A grid of colour images [N, 3, h, w] in [0, 1] (Stacked-MNIST samples): [`image_grid`] of each
/// channel, as the red, green and blue of one picture.
pub fn rgb_grid(images: &Tensor, rows: usize, cols: usize, pad: usize) -> Result<RgbImage> {
    let s = images.shape();
    if images.rank() != 4 || s[1] != 3 {
        return Err(Error::msg(format!("rgb_grid: expected images [N, 3, h, w], got shape {s:?}")));
    }
    let (n, h, w) = (s[0], s[2], s[3]);
    let planes: Vec<GrayImage> = (0..3)
        .map(|c| image_grid(&images.narrow(1, c, 1)?.reshape(&[n as isize, (h * w) as isize])?, rows, cols, h, w, pad))
        .collect::<Result<_>>()?;
    let (gw, gh) = planes[0].dimensions();
    Ok(RgbImage::from_fn(gw, gh, |x, y| {
        image::Rgb([planes[0].get_pixel(x, y)[0], planes[1].get_pixel(x, y)[0], planes[2].get_pixel(x, y)[0]])
    }))
}

/// Figure 2 of the GAN paper, as pairs: each generated sample with its nearest training image to
/// its right, framed in [`HIGHLIGHT`]. `neighbours[i]` is the training image closest to
/// `samples[i]` (see [`nearest_neighbours`]). `pairs_per_row` pairs per row, `rows` rows; pairs
/// are `pad` apart inside and `2·pad` apart from each other, so each frame (width `pad`) keeps a
/// grey gap to the next pair.
pub fn pairs_grid(
    samples: &Tensor,
    neighbours: &Tensor,
    rows: usize,
    pairs_per_row: usize,
    h: usize,
    w: usize,
    pad: usize,
) -> Result<RgbImage> {
    check_grid("pairs_grid", rows, pairs_per_row)?;
    let (n, sp) = image_pixels("pairs_grid", "samples", samples, h, w)?;
    let (m, np) = image_pixels("pairs_grid", "neighbours", neighbours, h, w)?;
    if n != m {
        return Err(Error::msg(format!(
            "pairs_grid: samples {:?} and neighbours {:?} must hold the same number of images",
            samples.shape(),
            neighbours.shape()
        )));
    }
    let pair_w = 2 * w + 3 * pad;
    let width = to_u32("pairs_grid", pairs_per_row * pair_w)?;
    let height = to_u32("pairs_grid", rows * h + (rows + 1) * pad)?;
    let bg = Rgb([BACKGROUND; 3]);
    let mut img = RgbImage::from_pixel(width, height, bg);
    let blit = |img: &mut RgbImage, cell: &[f32], x0: usize, y0: usize| {
        for y in 0..h {
            for x in 0..w {
                let g = to_u8(cell[y * w + x]);
                img.put_pixel((x0 + x) as u32, (y0 + y) as u32, Rgb([g, g, g]));
            }
        }
    };
    for k in 0..n.min(rows * pairs_per_row) {
        let (r, p) = (k / pairs_per_row, k % pairs_per_row);
        let y0 = pad + r * (h + pad);
        let xs = pad + p * pair_w; // sample cell
        let xn = xs + w + pad; // neighbour cell
                               // The frame: the neighbour cell grown by `pad` on every side.
        for y in y0 - pad..y0 + h + pad {
            for x in xn - pad..xn + w + pad {
                img.put_pixel(x as u32, y as u32, Rgb(HIGHLIGHT));
            }
        }
        blit(&mut img, &sp[k * h * w..(k + 1) * h * w], xs, y0);
        blit(&mut img, &np[k * h * w..(k + 1) * h * w], xn, y0);
    }
    Ok(img)
}

// ---- nearest neighbours -------------------------------------------------------------------------

/// For each row of `samples` [N, D], the index of the nearest row of `train` [T, D] in squared
/// Euclidean distance (the first one on ties). Inputs of rank > 2 are flattened to [rows, D].
pub fn nearest_neighbours(samples: &Tensor, train: &Tensor) -> Result<Vec<usize>> {
    nearest_neighbours_blocked(samples, train, NN_BLOCK_ELEMS)
}

/// [`nearest_neighbours`] with the block size as a parameter. The training set goes through in
/// blocks of rows (converted to f64 one block at a time, so a 50,000-image set never exists in
/// f64 whole), the samples in batches; a running (distance, index) minimum per sample carries
/// across blocks. ‖s − t‖² = ‖s‖² + ‖t‖² − 2 s·t, and ‖s‖² is the same for every t, so only
/// ‖t‖² − 2 s·t is compared.
fn nearest_neighbours_blocked(samples: &Tensor, train: &Tensor, block_elems: usize) -> Result<Vec<usize>> {
    let s = rows_f64(samples, "nearest_neighbours", "samples")?;
    let (n, d) = (s.shape()[0], s.shape()[1]);
    let ts = train.shape();
    let t_rows = ts.first().copied().unwrap_or(0);
    let t_d: usize = ts.iter().skip(1).product();
    if ts.len() < 2 || t_rows == 0 || t_d != d {
        return Err(Error::msg(format!(
            "nearest_neighbours: samples {:?} and train {ts:?} must both be non-empty [rows, D] with the same D",
            samples.shape()
        )));
    }
    let train = train.contiguous()?.reshape(&[t_rows as isize, d as isize])?;
    let block = (block_elems / n.max(1)).clamp(1, t_rows); // training rows per block
    let batch = (block_elems / block).clamp(1, n); // sample rows per batch
    let mut best = vec![(f64::INFINITY, 0usize); n];
    no_grad(|| {
        for t0 in (0..t_rows).step_by(block) {
            let len = block.min(t_rows - t0);
            let tb = train.narrow(0, t0, len)?.to_dtype(DType::F64)?; // [L, D]
            let t_sq = tb.sqr()?.sum(&[1], false)?.view(&[1, len])?; // [1, L]
            let tb_t = tb.t()?.contiguous()?; // [D, L]
            for s0 in (0..n).step_by(batch) {
                let b = batch.min(n - s0);
                let score = t_sq.sub(&s.narrow(0, s0, b)?.matmul(&tb_t)?.mul_scalar(2.0)?)?; // [B, L]
                let v = score.to_vec::<f64>()?;
                for (i, row) in v.chunks(len).enumerate() {
                    let cur = &mut best[s0 + i];
                    for (j, &dist) in row.iter().enumerate() {
                        if dist < cur.0 {
                            *cur = (dist, t0 + j);
                        }
                    }
                }
            }
        }
        Ok(best.into_iter().map(|(_, i)| i).collect())
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use minmax_engine::Generator;

    /// A file in a folder of its own per test (tests run in parallel in one process).
    pub(super) fn tmp(test: &str, name: &str) -> std::path::PathBuf {
        std::env::temp_dir().join(format!("minmax-viz-{}-{test}", std::process::id())).join(name)
    }

    #[test]
    fn grid_layout_and_pixel_values() -> Result<()> {
        // Three 2x2 images in a 2x2 grid with 1 pixel of border: 2·2 + 3·1 = 7 pixels square.
        let px = vec![
            0.0f32, 1.0, 0.5, 1.5, // image 0: black, white, mid, clamped to white
            -0.5, 0.25, 0.75, 1.0, // image 1: clamped to black, …
            0.1, 0.2, 0.3, 0.4, // image 2
        ];
        let flat = Tensor::new(px.clone(), &[3, 4])?;
        let img = image_grid(&flat, 2, 2, 2, 2, 1)?;
        assert_eq!(img.dimensions(), (7, 7));
        let at = |x, y| img.get_pixel(x, y).0[0];
        // Image 0 at (1, 1), image 1 at (4, 1), image 2 at (1, 4), cell 3 empty at (4, 4).
        assert_eq!([at(1, 1), at(2, 1), at(1, 2), at(2, 2)], [0, 255, 128, 255]);
        assert_eq!([at(4, 1), at(5, 1), at(4, 2), at(5, 2)], [0, 64, 191, 255]);
        assert_eq!([at(1, 4), at(2, 4), at(1, 5), at(2, 5)], [26, 51, 77, 102]);
        assert_eq!([at(4, 4), at(5, 5)], [BACKGROUND, BACKGROUND]);
        // Borders.
        for (x, y) in [(0, 0), (3, 1), (6, 6), (1, 3), (3, 3)] {
            assert_eq!(at(x, y), BACKGROUND, "({x}, {y})");
        }
        // [N, 1, h, w] gives the same picture; extra images past rows·cols are left out.
        let nchw = Tensor::new(px.clone(), &[3, 1, 2, 2])?;
        assert_eq!(image_grid(&nchw, 2, 2, 2, 2, 1)?, img);
        let one = image_grid(&nchw, 1, 1, 2, 2, 0)?;
        assert_eq!(one.dimensions(), (2, 2));
        assert_eq!(one.as_raw(), &vec![0, 255, 128, 255]);
        Ok(())
    }

    #[test]
    fn grid_errors() {
        let e = image_grid(&Tensor::zeros(&[0, 4]), 1, 1, 2, 2, 1).unwrap_err().to_string();
        assert!(e.contains("no images"), "{e}");
        let e = image_grid(&Tensor::zeros(&[3, 5]), 1, 1, 2, 2, 1).unwrap_err().to_string();
        assert!(e.contains("[N, 4] or [N, 1, 2, 2]") && e.contains("[3, 5]"), "{e}");
        let e = image_grid(&Tensor::zeros(&[3, 4]), 0, 2, 2, 2, 1).unwrap_err().to_string();
        assert!(e.contains("0x2"), "{e}");
        let e = pairs_grid(&Tensor::zeros(&[3, 4]), &Tensor::zeros(&[2, 4]), 1, 1, 2, 2, 1).unwrap_err().to_string();
        assert!(e.contains("same number"), "{e}");
    }

    #[test]
    fn pairs_grid_frames_the_neighbours() -> Result<()> {
        // Two pairs of 1x1 images in one row, pad 1: each pair is 2·1 + 3·1 = 5 wide.
        let s = Tensor::new(vec![1.0f32, 0.0], &[2, 1])?;
        let nb = Tensor::new(vec![0.5f32, 1.0], &[2, 1])?;
        let img = pairs_grid(&s, &nb, 1, 2, 1, 1, 1)?;
        assert_eq!(img.dimensions(), (10, 3));
        let at = |x, y| img.get_pixel(x, y).0;
        let grey = |g| [g, g, g];
        // Pair 0: sample at x=1, neighbour at x=3 inside a frame covering x=2..=4.
        assert_eq!(at(1, 1), grey(255));
        assert_eq!(at(3, 1), grey(128));
        for (x, y) in [(2, 0), (2, 1), (4, 2), (3, 0)] {
            assert_eq!(at(x, y), HIGHLIGHT, "({x}, {y})");
        }
        assert_eq!(at(0, 1), grey(BACKGROUND));
        assert_eq!(at(5, 1), grey(BACKGROUND));
        // Pair 1 starts at x = 5.
        assert_eq!(at(6, 1), grey(0));
        assert_eq!(at(8, 1), grey(255));
        assert_eq!(at(9, 1), HIGHLIGHT);
        Ok(())
    }

    #[test]
    fn nearest_neighbours_on_a_constructed_case() -> Result<()> {
        // Training points on the axes of D = 3; each sample sits next to one of them.
        let train = Tensor::new(vec![0f32, 0., 0., 5., 0., 0., 0., 5., 0., 0., 0., 5., 5., 5., 5.], &[5, 3])?;
        let samples =
            Tensor::new(vec![4.5f32, 0.2, 0., 0.1, 0.1, 4.9, 0.3, -0.2, 0.1, 4., 4.5, 5.5, 0., 4., 0.], &[5, 3])?;
        let want = vec![1, 3, 0, 4, 2];
        assert_eq!(nearest_neighbours(&samples, &train)?, want);
        // Tiny blocks: 5 samples against blocks of 1–2 training rows still agree.
        assert_eq!(nearest_neighbours_blocked(&samples, &train, 7)?, want);
        // Ties go to the first index.
        let dup = Tensor::new(vec![1f32, 1., 1., 1.], &[2, 2])?;
        assert_eq!(nearest_neighbours(&Tensor::zeros(&[1, 2]), &dup)?, vec![0]);
        let e = nearest_neighbours(&samples, &Tensor::zeros(&[4, 2])).unwrap_err().to_string();
        assert!(e.contains("[5, 3]") && e.contains("[4, 2]"), "{e}");
        Ok(())
    }

    #[test]
    fn nearest_neighbours_match_brute_force() -> Result<()> {
        let mut g = Generator::new(11);
        let train = Tensor::rand(&[97, 16], 0.0, 1.0, &mut g);
        let samples = Tensor::rand(&[13, 16], 0.0, 1.0, &mut g);
        let (t, s) = (train.to_vec2::<f64>()?, samples.to_vec2::<f64>()?);
        let want: Vec<usize> = s
            .iter()
            .map(|si| {
                let d: Vec<f64> = t.iter().map(|ti| si.iter().zip(ti).map(|(a, b)| (a - b) * (a - b)).sum()).collect();
                (0..d.len()).fold(0, |b, j| if d[j] < d[b] { j } else { b })
            })
            .collect();
        assert_eq!(nearest_neighbours(&samples, &train)?, want);
        assert_eq!(nearest_neighbours_blocked(&samples, &train, 100)?, want);
        Ok(())
    }

    #[test]
    fn png_round_trip() -> Result<()> {
        let img = image_grid(&Tensor::rand(&[6, 9], 0.0, 1.0, &mut Generator::new(1)), 2, 3, 3, 3, 2)?;
        let bytes = png_bytes(&img)?;
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        let p = tmp("png", "grid.png");
        save_png(&img, &p)?;
        let back = image::open(&p).unwrap().to_luma8();
        assert_eq!(back, img);
        std::fs::remove_dir_all(tmp("png", "")).ok();
        Ok(())
    }
}
