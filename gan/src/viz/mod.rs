//! Pictures as PNG files: grids of generated digits, samples beside their nearest training image
//! (Figure 2 of Goodfellow et al., 2014), and line plots of training curves.
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
//! Text in plots: plotters draws glyphs with `ab_glyph` from a TrueType file found at run time —
//! `$MINMAX_FONT` if set, else DejaVu Sans (Debian package `fonts-dejavu-core`) or a few other
//! common locations. No system font library (fontconfig, freetype) is linked. Without a font file
//! the plot is still drawn — lines, grid and frame, no title, labels or legend — and a one-line
//! warning is printed once.
//!
//! Left out: colour images (the data sets are grey-scale), and plot types other than lines.

pub mod display;
pub mod mode_collapse;

use std::io::Cursor;
use std::path::Path;
use std::sync::OnceLock;

use image::codecs::png::PngEncoder;
use image::{GrayImage, ImageBuffer, ImageEncoder, Luma, Pixel, PixelWithColorType, Rgb, RgbImage};
use minmax_engine::io::write_atomic;
use minmax_engine::{no_grad, DType, Error, Result, Tensor};
use plotters::prelude::*;

use crate::metrics::linalg::rows_f64;

/// Border and empty-cell colour of image grids: mid grey, distinct from the black background
/// and white ink of MNIST digits.
pub const BACKGROUND: u8 = 128;

/// Frame colour around the nearest-training-image cells of [`pairs_grid`] (amber).
pub const HIGHLIGHT: [u8; 3] = [230, 160, 0];

/// Size of the images [`line_plot`] draws.
pub const PLOT_SIZE: (u32, u32) = (800, 500);

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

// ---- line plots ---------------------------------------------------------------------------------

/// Where [`register_font`] looks for a TrueType font, after `$MINMAX_FONT`.
const FONT_CANDIDATES: &[&str] = &[
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", // Debian/Ubuntu: fonts-dejavu-core
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",          // Fedora
    "/usr/share/fonts/TTF/DejaVuSans.ttf",             // Arch
    "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/truetype/freefont/FreeSans.ttf",
    "/System/Library/Fonts/Supplemental/Arial.ttf", // macOS
    "/Library/Fonts/Arial.ttf",
    "C:\\Windows\\Fonts\\arial.ttf",
];

/// Find a TrueType font and register it with plotters as "sans-serif" (and "serif",
/// "monospace"), once per process. Returns whether text can be drawn; prints one warning if not.
pub fn register_font() -> bool {
    static FONT: OnceLock<bool> = OnceLock::new();
    *FONT.get_or_init(|| {
        let from_env = std::env::var_os("MINMAX_FONT").map(std::path::PathBuf::from);
        let candidates = from_env.iter().cloned().chain(FONT_CANDIDATES.iter().map(std::path::PathBuf::from));
        for path in candidates {
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            // plotters keeps `&'static` font data: leak one copy for the life of the process.
            let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
            let ok = ["sans-serif", "serif", "monospace"]
                .iter()
                .all(|family| plotters::style::register_font(family, FontStyle::Normal, bytes).is_ok());
            if ok {
                return true;
            }
            eprintln!("minmax: warning: {} is not a usable TrueType font", path.display());
        }
        eprintln!(
            "minmax: warning: no TrueType font found (install the Debian package fonts-dejavu-core \
             or set MINMAX_FONT=/path/to/font.ttf); plots are drawn without text"
        );
        false
    })
}

/// Ten distinguishable line colours (matplotlib's "tab10").
const COLOURS: [(u8, u8, u8); 10] = [
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
    (188, 189, 34),
    (23, 190, 207),
];

/// The x and y ranges covering every finite point, y padded by 5%; a range of one value is
/// widened so plotters has something to divide.
fn plot_ranges(series: &[(&str, Vec<(f64, f64)>)]) -> Option<((f64, f64), (f64, f64))> {
    let pts = series.iter().flat_map(|(_, p)| p.iter()).filter(|(x, y)| x.is_finite() && y.is_finite());
    let (mut x0, mut x1, mut y0, mut y1) = (f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY, f64::NEG_INFINITY);
    for &(x, y) in pts {
        (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
    }
    if !x0.is_finite() {
        return None;
    }
    let widen = |lo: f64, hi: f64| {
        if hi > lo {
            (lo, hi)
        } else {
            let d = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
            (lo - d, hi + d)
        }
    };
    let (x0, x1) = widen(x0, x1);
    let (y0, y1) = widen(y0, y1);
    let m = (y1 - y0) * 0.05;
    Some(((x0, x1), (y0 - m, y1 + m)))
}

/// A tick label without trailing zeros ("1000", "0.25"), scientific for tiny or huge values.
fn tick_label(v: &f64) -> String {
    let a = v.abs();
    if a != 0.0 && !(1e-3..1e7).contains(&a) {
        return format!("{v:.1e}");
    }
    let s = format!("{v:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".to_string()
    } else {
        s.to_string()
    }
}

/// Draw the plot into an RGB buffer; `text` false leaves out every glyph (no font needed).
fn draw_line_plot(
    buf: &mut [u8],
    size: (u32, u32),
    labels: (&str, &str, &str),
    series: &[(&str, Vec<(f64, f64)>)],
    text: bool,
) -> std::result::Result<(), String> {
    let (title, x_label, y_label) = labels;
    let ((x0, x1), (y0, y1)) =
        plot_ranges(series).ok_or_else(|| "line_plot: no finite (x, y) point in any series".to_string())?;
    let e = |e: DrawingAreaErrorKind<_>| format!("line_plot: drawing failed: {e}");
    let root = BitMapBackend::<plotters::backend::RGBPixel>::with_buffer_and_format(buf, size)
        .map_err(|e| format!("line_plot: {e}"))?
        .into_drawing_area();
    root.fill(&WHITE).map_err(e)?;
    let mut builder = ChartBuilder::on(&root);
    builder.margin(20);
    if text {
        builder.caption(title, ("sans-serif", 24)).x_label_area_size(50).y_label_area_size(80);
    }
    let mut chart = builder.build_cartesian_2d(x0..x1, y0..y1).map_err(e)?;
    let mut mesh = chart.configure_mesh();
    mesh.light_line_style(RGBColor(235, 235, 235));
    if text {
        mesh.x_desc(x_label)
            .y_desc(y_label)
            .x_label_formatter(&tick_label)
            .y_label_formatter(&tick_label)
            .label_style(("sans-serif", 15))
            .axis_desc_style(("sans-serif", 17));
    }
    mesh.draw().map_err(e)?;
    if !text {
        // Without label areas plotters draws no axes: frame the plotting area instead.
        chart.draw_series(std::iter::once(Rectangle::new([(x0, y0), (x1, y1)], BLACK.stroke_width(1)))).map_err(e)?;
    }
    for (i, (name, pts)) in series.iter().enumerate() {
        let (r, g, b) = COLOURS[i % COLOURS.len()];
        let colour = RGBColor(r, g, b);
        let finite: Vec<(f64, f64)> = pts.iter().copied().filter(|(x, y)| x.is_finite() && y.is_finite()).collect();
        let drawn = chart.draw_series(LineSeries::new(finite.clone(), colour.stroke_width(2))).map_err(e)?;
        if text {
            drawn
                .label(*name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2)));
        }
        if finite.len() == 1 {
            // A lone point draws no line: mark it.
            chart.draw_series(finite.iter().map(|&p| Circle::new(p, 3, colour.filled()))).map_err(e)?;
        }
    }
    if text && !series.is_empty() {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", 15))
            .draw()
            .map_err(e)?;
    }
    root.present().map_err(e)?;
    Ok(())
}

/// A line plot of `series` (name, points) as an 800×500 RGB image with title, axis labels and a
/// legend. Non-finite points are skipped; it is an error when no finite point is left.
pub fn line_plot_image(
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[(&str, Vec<(f64, f64)>)],
) -> Result<RgbImage> {
    let (w, h) = PLOT_SIZE;
    let mut buf = vec![0u8; (w * h * 3) as usize];
    let text = register_font();
    draw_line_plot(&mut buf, (w, h), (title, x_label, y_label), series, text).map_err(Error::msg)?;
    RgbImage::from_raw(w, h, buf).ok_or_else(|| Error::msg("line_plot: the drawing buffer has the wrong size"))
}

/// [`line_plot_image`] written to `path` as a PNG.
pub fn line_plot(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[(&str, Vec<(f64, f64)>)],
) -> Result<()> {
    let img = line_plot_image(title, x_label, y_label, series).map_err(|e| Error::file(path, e.to_string()))?;
    save_png(&img, path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use minmax_engine::Generator;

    /// A file in a folder of its own per test (tests run in parallel in one process).
    fn tmp(test: &str, name: &str) -> std::path::PathBuf {
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

    #[test]
    fn line_plot_writes_a_png() -> Result<()> {
        let p = tmp("plot", "curve.png");
        let d: Vec<(f64, f64)> = (0..50).map(|i| (i as f64, (i as f64 * 0.2).sin())).collect();
        let g: Vec<(f64, f64)> =
            (0..50).map(|i| (i as f64, if i == 10 { f64::NAN } else { 1.0 / (1.0 + i as f64) })).collect();
        line_plot(&p, "losses", "iteration", "loss", &[("D", d), ("G", g), ("one", vec![(3.0, 0.5)])])?;
        let bytes = std::fs::read(&p).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        let img = image::open(&p).unwrap();
        assert_eq!((img.width(), img.height()), PLOT_SIZE);
        let e = line_plot(&p, "t", "x", "y", &[("empty", vec![(f64::NAN, 1.0)])]).unwrap_err().to_string();
        assert!(e.contains("curve.png") && e.contains("no finite"), "{e}");
        std::fs::remove_dir_all(tmp("plot", "")).ok();
        Ok(())
    }

    #[test]
    fn tick_labels_are_short() {
        let l = |v: f64| tick_label(&v);
        assert_eq!(
            [l(1000.0), l(0.25), l(-0.0), l(0.0), l(2.5e-5), l(1.0 / 3.0)],
            ["1000", "0.25", "0", "0", "2.5e-5", "0.3333"]
        );
    }

    #[test]
    fn line_plot_without_a_font_still_draws() {
        // The no-text path must not touch the font table (nothing registered in a fresh process).
        let (w, h) = (200, 120);
        let mut buf = vec![0u8; (w * h * 3) as usize];
        let s = [("a", vec![(0.0, 0.0), (1.0, 1.0)]), ("b", vec![(0.5, 2.0)])];
        draw_line_plot(&mut buf, (w, h), ("t", "x", "y"), &s, false).unwrap();
        let non_white = buf.chunks(3).filter(|p| p != &[255, 255, 255]).count();
        assert!(non_white > 100, "{non_white}");
    }
}
