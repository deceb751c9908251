//! Line plots of training curves as PNG images, drawn with plotters into our own RGB buffer.
//!
//! Text in plots: plotters draws glyphs with `ab_glyph` from a TrueType file found at run time —
//! `$MINMAX_FONT` if set, else DejaVu Sans (Debian package `fonts-dejavu-core`) or a few other
//! common locations. No system font library (fontconfig, freetype) is linked. Without a font file
//! the plot is still drawn — lines, grid and frame, no title, labels or legend — and a one-line
//! warning is printed once.
//!
//! Left out: plot types other than lines.

use std::path::Path;
use std::sync::OnceLock;

use image::RgbImage;
use minmax_engine::{Error, Result};
use plotters::prelude::*;

use super::save_png;

/// Size of the images [`line_plot`] draws.
pub const PLOT_SIZE: (u32, u32) = (800, 500);

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
    use crate::viz::tests::tmp;

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
