//! Pictures inline in a Jupyter notebook run by the evcxr Rust kernel.
//!
//! evcxr's display protocol: a cell that prints
//!
//! ```text
//! EVCXR_BEGIN_CONTENT image/png
//! <the PNG, base64>
//! EVCXR_END_CONTENT
//! ```
//!
//! on stdout gets that content as a rich output (`display_data`) instead of text. Outside a
//! notebook (a terminal, a test) the same lines are just printed.
//!
//! ```text
//! display::show_png(&bytes)                                   any PNG bytes (e.g. a file a run wrote)
//! display::show_file(path)                                    a PNG file
//! display::show_gif_file(path)                                an animated GIF (e.g. the mode-collapse lab's)
//! display::show_grid(&images, rows, cols, h, w)               images [N, h·w] or [N, 1, h, w] in [0, 1]
//! display::show_plot(title, x_label, y_label, &series)        line plot, series = [(name, points)]
//! display::show_html(html)                                    a table, a caption
//! ```
//!
//! evcxr keeps one content per MIME type per cell: a cell that shows two PNGs displays only the
//! last. Show one picture per cell.
//!
//! An animated GIF goes out as HTML (an `<img>` with the GIF inline as a data URI): every
//! notebook front end and nbconvert's HTML render that, where an `image/gif` output is not shown
//! by all of them.
//!
//! Left out: other MIME types than PNG and HTML, and interactive widgets.

use std::io::Write;
use std::path::Path;

use image::{ImageBuffer, Pixel, PixelWithColorType};
use minmax_engine::{Error, Result, Tensor};

use crate::viz;

/// Grids are scaled up by a whole factor until they are at least this many pixels wide, so a
/// 28×28 digit is not a speck on the page.
pub const MIN_GRID_WIDTH: u32 = 480;

/// The display-protocol text for `content` of MIME type `mime` (what [`show`] prints).
pub fn content_block(mime: &str, content: &str) -> String {
    format!("EVCXR_BEGIN_CONTENT {mime}\n{content}\nEVCXR_END_CONTENT\n")
}

/// Print `content` of MIME type `mime` in evcxr's display protocol (with `print!`, so tests
/// capture it like any other output).
pub fn show(mime: &str, content: &str) {
    print!("{}", content_block(mime, content));
    // Best effort, as with println!: a closed stdout is not the caller's problem.
    let _ = std::io::stdout().flush();
}

/// Show PNG bytes inline.
pub fn show_png(bytes: &[u8]) {
    show("image/png", &base64(bytes));
}

/// Show an HTML fragment inline (tables, captions).
pub fn show_html(html: &str) {
    show("text/html", html);
}

/// Show an in-memory image (grey or RGB) inline.
pub fn show_image<P>(img: &ImageBuffer<P, Vec<u8>>) -> Result<()>
where
    P: Pixel<Subpixel = u8> + PixelWithColorType,
{
    show_png(&viz::png_bytes(img)?);
    Ok(())
}

/// Show a PNG file inline, e.g. one that `minmax reproduce` wrote. Images narrower than
/// [`MIN_GRID_WIDTH`] (grids of digits) are scaled up like [`show_grid`]'s.
pub fn show_file(path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| Error::Io { path: path.to_path_buf(), source: e })?;
    if !bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Err(Error::file(path, "not a PNG file (wrong signature)"));
    }
    let img = image::load_from_memory_with_format(&bytes, image::ImageFormat::Png)
        .map_err(|e| Error::file(path, format!("cannot decode the PNG: {e}")))?;
    if img.width() >= MIN_GRID_WIDTH {
        show_png(&bytes);
        Ok(())
    } else {
        show_image(&upscale(&img.to_rgba8(), MIN_GRID_WIDTH))
    }
}

/// Show a GIF file (an animation the mode-collapse lab wrote) inline, as HTML (module docs).
pub fn show_gif_file(path: impl AsRef<Path>) -> Result<()> {
    show_html(&gif_html(path.as_ref())?);
    Ok(())
}

/// The `<img>` element [`show_gif_file`] shows.
pub fn gif_html(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| Error::Io { path: path.to_path_buf(), source: e })?;
    if !(bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a")) {
        return Err(Error::file(path, "not a GIF file (wrong signature; expected GIF87a or GIF89a)"));
    }
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let alt: String = name.chars().filter(|c| c.is_alphanumeric() || "-_. ".contains(*c)).collect();
    Ok(format!("<img alt=\"{alt}\" src=\"data:image/gif;base64,{}\"/>", base64(&bytes)))
}

/// Show the first `rows · cols` images of `images` ([N, h·w] or [N, 1, h, w], values in [0, 1])
/// as a grid (see [`viz::image_grid`]), scaled up to at least [`MIN_GRID_WIDTH`] pixels wide.
pub fn show_grid(images: &Tensor, rows: usize, cols: usize, h: usize, w: usize) -> Result<()> {
    let grid = viz::image_grid(images, rows, cols, h, w, 2)?;
    show_image(&upscale(&grid, MIN_GRID_WIDTH))
}

/// Show a line plot (see [`viz::line_plot_image`]): `series` are (name, (x, y) points).
pub fn show_plot(title: &str, x_label: &str, y_label: &str, series: &[(&str, Vec<(f64, f64)>)]) -> Result<()> {
    show_image(&viz::line_plot_image(title, x_label, y_label, series)?)
}

/// `img` scaled up by the smallest whole factor that makes it at least `min_width` wide
/// (nearest neighbour: every pixel becomes a k × k block). Wide enough images come back as they are.
pub fn upscale<P>(img: &ImageBuffer<P, Vec<u8>>, min_width: u32) -> ImageBuffer<P, Vec<u8>>
where
    P: Pixel<Subpixel = u8>,
{
    let (w, h) = img.dimensions();
    let k = if w == 0 { 1 } else { min_width.div_ceil(w).max(1) };
    if k == 1 {
        return img.clone();
    }
    ImageBuffer::from_fn(w * k, h * k, |x, y| *img.get_pixel(x / k, y / k))
}

/// Standard base64 (RFC 4648) with `=` padding, on one line: what the notebook protocol carries.
pub fn base64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{GrayImage, Luma};

    #[test]
    fn base64_matches_rfc4648_vectors() {
        // RFC 4648 section 10.
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, enc) in cases {
            assert_eq!(base64(plain.as_bytes()), enc, "{plain:?}");
        }
        // Every byte value, high bits included.
        assert_eq!(base64(&[0xff, 0xfe, 0x00, 0x80]), "//4AgA==");
    }

    #[test]
    fn protocol_block_has_the_three_parts() {
        let b = content_block("image/png", "QUJD");
        assert_eq!(b, "EVCXR_BEGIN_CONTENT image/png\nQUJD\nEVCXR_END_CONTENT\n");
    }

    #[test]
    fn upscale_repeats_pixels() {
        let img = GrayImage::from_raw(2, 1, vec![10, 200]).unwrap();
        let up = upscale(&img, 5); // factor 3: 6 × 3
        assert_eq!(up.dimensions(), (6, 3));
        assert_eq!(up.get_pixel(2, 2), &Luma([10]));
        assert_eq!(up.get_pixel(3, 0), &Luma([200]));
        assert_eq!(upscale(&img, 2), img);
    }

    #[test]
    fn show_file_prints_the_protocol_block() {
        let dir = std::env::temp_dir().join(format!("minmax-display-ok-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("grid.png");
        let img = GrayImage::from_raw(2, 2, vec![0, 64, 128, 255]).unwrap();
        std::fs::write(&p, viz::png_bytes(&img).unwrap()).unwrap();
        show_file(&p).unwrap(); // a 2×2 image: decoded, scaled up, shown
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn gif_html_carries_the_file_and_refuses_other_files() {
        let dir = std::env::temp_dir().join(format!("minmax-display-gif-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let frames = vec![image::RgbImage::from_pixel(3, 2, image::Rgb([255, 0, 0])); 2];
        let gif = crate::viz::mode_collapse::animation(&frames, 100).unwrap();
        let p = dir.join("a-ring8.gif");
        std::fs::write(&p, &gif).unwrap();
        let h = gif_html(&p).unwrap();
        assert_eq!(h, format!("<img alt=\"a-ring8.gif\" src=\"data:image/gif;base64,{}\"/>", base64(&gif)));
        let png = dir.join("x.gif");
        std::fs::write(&png, viz::png_bytes(&GrayImage::from_raw(1, 1, vec![0]).unwrap()).unwrap()).unwrap();
        let e = gif_html(&png).unwrap_err().to_string();
        assert!(e.contains("x.gif") && e.contains("not a GIF"), "{e}");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn show_file_rejects_a_missing_or_non_png_file() {
        let dir = std::env::temp_dir().join(format!("minmax-display-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let txt = dir.join("not.png");
        std::fs::write(&txt, b"hello").unwrap();
        let e = show_file(&txt).unwrap_err().to_string();
        assert!(e.contains("not.png") && e.contains("not a PNG"), "{e}");
        let e = show_file(dir.join("missing.png")).unwrap_err().to_string();
        assert!(e.contains("missing.png"), "{e}");
        std::fs::remove_dir_all(&dir).ok();
    }
}
