//! Pictures of the toy game: one panel per snapshot, panels side by side in a strip, or played one
//! after another as an animated GIF.
//!
//! A 2-D panel (top to bottom):
//! - a caption: iteration, modes covered and % high-quality samples of this snapshot;
//! - a 240×240 heat map of D over the data's view box: blue where D calls a point fake, red where
//!   it calls it real (D(x) from 0 to 1; for a WGAN critic, its score from the panel's minimum to
//!   its maximum); black circles of radius 3σ (at least 3 pixels) around the true means (the
//!   high-quality region),
//!   500 real samples as black dots and 500 generated samples as green dots;
//! - a bar chart: high-quality generated samples per mode as a share of all samples (the chart's
//!   top is 2/K; taller bars are clipped), with a dotted grey line at 1/K (a perfect generator
//!   reaches about 0.99/K); empty modes marked red.
//!
//! A 1-D panel shows D(x) as a black curve over the same colour band, with histograms of real
//! (grey) and generated (green) samples.

use image::{Rgb, RgbImage};
use minmax_engine::{Generator as Rng, Result, Tensor};
use plotters::prelude::*;

use crate::metrics::modes::mode_stats;
use crate::models::toy::{Mixture, ToyGan};

/// Heat map side in pixels.
pub const MAP: u32 = 240;
const CAPTION: u32 = 22;
const BARS: u32 = 70;
const GAP: u32 = 6;
const TITLE: u32 = 44;

const WHITE_PX: Rgb<u8> = Rgb([255, 255, 255]);
const BLACK_PX: Rgb<u8> = Rgb([0, 0, 0]);
const GREEN_PX: Rgb<u8> = Rgb([0, 200, 40]);
const RED_PX: Rgb<u8> = Rgb([220, 30, 30]);
const GREY_PX: Rgb<u8> = Rgb([120, 120, 120]);

/// A diverging blue–white–red map of t ∈ [0, 1] (ColorBrewer RdBu, reversed).
pub fn coolwarm(t: f64) -> Rgb<u8> {
    const STOPS: [[f64; 3]; 5] = [
        [33.0, 102.0, 172.0],
        [146.0, 197.0, 222.0],
        [247.0, 247.0, 247.0],
        [244.0, 165.0, 130.0],
        [178.0, 24.0, 43.0],
    ];
    let t = if t.is_finite() { t.clamp(0.0, 1.0) } else { 0.5 };
    let x = t * (STOPS.len() - 1) as f64;
    let i = (x.floor() as usize).min(STOPS.len() - 2);
    let f = x - i as f64;
    let c = |k: usize| (STOPS[i][k] + f * (STOPS[i + 1][k] - STOPS[i][k])).round() as u8;
    Rgb([c(0), c(1), c(2)])
}

/// Draw `text` with its top-left corner at (x, y), if a font is available (see `viz::register_font`).
pub fn draw_text(img: &mut RgbImage, x: i32, y: i32, size: f64, text: &str) {
    if !crate::viz::register_font() {
        return;
    }
    let (w, h) = img.dimensions();
    let root = BitMapBackend::with_buffer(img.as_mut(), (w, h)).into_drawing_area();
    let style = ("sans-serif", size).into_font().color(&BLACK);
    let _ = root.draw(&Text::new(text.to_string(), (x, y), style));
    let _ = root.present();
}

fn put(img: &mut RgbImage, x: i64, y: i64, c: Rgb<u8>) {
    if x >= 0 && y >= 0 && (x as u32) < img.width() && (y as u32) < img.height() {
        img.put_pixel(x as u32, y as u32, c);
    }
}

fn circle(img: &mut RgbImage, cx: f64, cy: f64, r: f64, y0: u32, c: Rgb<u8>) {
    let steps = ((r * 8.0) as usize).max(24);
    for i in 0..steps {
        let t = std::f64::consts::TAU * i as f64 / steps as f64;
        put(img, (cx + r * t.cos()).round() as i64, y0 as i64 + (cy + r * t.sin()).round() as i64, c);
    }
}

/// Values of `surface` scaled to [0, 1] for colouring.
fn normalise(v: &[f32], probability: bool) -> Vec<f64> {
    if probability {
        return v.iter().map(|&x| x as f64).collect();
    }
    let lo = v.iter().copied().fold(f32::INFINITY, f32::min) as f64;
    let hi = v.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let d = if hi > lo { hi - lo } else { 1.0 };
    v.iter().map(|&x| (x as f64 - lo) / d).collect()
}

/// One snapshot of `gan` on `mix` at iteration `step`.
pub fn panel(gan: &dyn ToyGan, mix: &Mixture, step: usize, rng: &mut Rng) -> Result<RgbImage> {
    let fake = gan.sample(crate::metrics::modes::EVAL_SAMPLES, rng)?;
    let stats = mode_stats(&fake, mix)?;
    let real = mix.sample(500, rng).to_vec::<f64>()?;
    let fake_v = fake.to_vec::<f64>()?;
    let (lo, hi) = mix.view_box();
    let px = |v: f64| (v - lo) / (hi - lo) * MAP as f64; // data → pixel
    let height = CAPTION + MAP + BARS;
    let mut img = RgbImage::from_pixel(MAP, height, WHITE_PX);
    let top = CAPTION;

    if mix.dim == 2 {
        // D over the view box: pixel (i, j) is the point at its centre, y up.
        let mut pts = Vec::with_capacity((MAP * MAP * 2) as usize);
        for j in 0..MAP {
            for i in 0..MAP {
                pts.push((lo + (i as f64 + 0.5) / MAP as f64 * (hi - lo)) as f32);
                pts.push((hi - (j as f64 + 0.5) / MAP as f64 * (hi - lo)) as f32);
            }
        }
        let grid = Tensor::new(pts, &[(MAP * MAP) as usize, 2])?;
        let d = normalise(&gan.surface(&grid)?.to_vec::<f32>()?, gan.surface_is_probability());
        for j in 0..MAP {
            for i in 0..MAP {
                img.put_pixel(i, top + j, coolwarm(d[(j * MAP + i) as usize]));
            }
        }
        let r = (3.0 * mix.std / (hi - lo) * MAP as f64).max(3.0);
        for m in &mix.means {
            circle(&mut img, px(m[0]), MAP as f64 - px(m[1]), r, top, BLACK_PX);
        }
        for p in real.chunks(2) {
            put(&mut img, px(p[0]) as i64, top as i64 + (MAP as f64 - px(p[1])) as i64, BLACK_PX);
        }
        for p in fake_v.chunks(2).take(500) {
            let (x, y) = (px(p[0]) as i64, top as i64 + (MAP as f64 - px(p[1])) as i64);
            for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                if y + dy >= top as i64 && y + dy < (top + MAP) as i64 {
                    put(&mut img, x + dx, y + dy, GREEN_PX);
                }
            }
        }
    } else {
        // 1-D: colour band and curve of D, histograms of real and generated samples.
        let xs: Vec<f32> = (0..MAP).map(|i| (lo + (i as f64 + 0.5) / MAP as f64 * (hi - lo)) as f32).collect();
        let d = normalise(
            &gan.surface(&Tensor::new(xs, &[MAP as usize, 1])?)?.to_vec::<f32>()?,
            gan.surface_is_probability(),
        );
        for i in 0..MAP {
            for j in 0..MAP {
                let c = coolwarm(d[i as usize]);
                // a paler band so the histograms stand out
                let pale = Rgb([
                    ((c[0] as u16 + 255) / 2) as u8,
                    ((c[1] as u16 + 255) / 2) as u8,
                    ((c[2] as u16 + 255) / 2) as u8,
                ]);
                img.put_pixel(i, top + j, pale);
            }
        }
        let bins = MAP as usize / 2;
        let hist = |v: &[f64]| {
            let mut h = vec![0usize; bins];
            for &x in v {
                let b = ((x - lo) / (hi - lo) * bins as f64).floor();
                if b >= 0.0 && (b as usize) < bins {
                    h[b as usize] += 1;
                }
            }
            let n = v.len().max(1) as f64;
            h.into_iter().map(|c| c as f64 / n).collect::<Vec<_>>()
        };
        let (hr, hf) = (hist(&real), hist(&fake_v));
        let scale = hr.iter().chain(&hf).copied().fold(1e-9, f64::max);
        for b in 0..bins {
            for (h, c, off) in [(&hr, GREY_PX, 0u32), (&hf, GREEN_PX, 1u32)] {
                let tall = (h[b] / scale * (MAP as f64 * 0.9)) as u32;
                for j in 0..tall {
                    put(&mut img, (2 * b as u32 + off) as i64, (top + MAP - 1 - j) as i64, c);
                }
            }
        }
        for i in 0..MAP {
            let y = top as f64 + (1.0 - d[i as usize]) * (MAP - 1) as f64;
            put(&mut img, i as i64, y as i64, BLACK_PX);
            put(&mut img, i as i64, y as i64 + 1, BLACK_PX);
        }
    }

    // Mode histogram: HQ samples per mode as a share of all samples.
    let k = mix.modes();
    let y_base = (CAPTION + MAP + BARS - 4) as i64;
    let bar_h = (BARS - 12) as f64;
    let full = 2.0 / k as f64; // the top of the chart
    let slot = MAP as f64 / k as f64;
    for (m, &c) in stats.counts.iter().enumerate() {
        let share = c as f64 / stats.samples.max(1) as f64;
        let h = ((share / full).min(1.0) * bar_h).round() as i64;
        let x0 = (m as f64 * slot + slot * 0.15) as i64;
        let x1 = ((m as f64 + 1.0) * slot - slot * 0.15).max(x0 as f64 + 1.0) as i64;
        for x in x0..x1 {
            for y in 0..h {
                put(&mut img, x, y_base - y, GREEN_PX);
            }
            if c == 0 {
                for y in 0..3 {
                    put(&mut img, x, y_base - y, RED_PX);
                }
            }
        }
    }
    let y_uniform = y_base - (0.5 * bar_h).round() as i64; // 1/K is half of 2/K
    for x in (0..MAP as i64).step_by(2) {
        put(&mut img, x, y_uniform, GREY_PX);
    }
    for x in 0..MAP as i64 {
        put(&mut img, x, y_base + 1, BLACK_PX);
    }

    draw_text(
        &mut img,
        4,
        3,
        15.0,
        &format!("iter {step}: {}/{} modes, {:.1}% HQ", stats.modes_covered, stats.modes_total, stats.hq_percent),
    );
    Ok(img)
}

/// The panels `frames` (all of one size) as an animated GIF that loops: `ms` milliseconds per
/// frame, the last held four times as long. Encoded in memory, so the caller writes it atomically.
pub fn animation(frames: &[RgbImage], ms: u32) -> Result<Vec<u8>> {
    use image::codecs::gif::{GifEncoder, Repeat};
    use image::{Delay, Frame};
    let bad = |e: image::ImageError| minmax_engine::Error::msg(format!("animation: GIF encoding failed: {e}"));
    let Some(first) = frames.first() else {
        return Err(minmax_engine::Error::msg("animation: no frames"));
    };
    if let Some(f) = frames.iter().find(|f| f.dimensions() != first.dimensions()) {
        return Err(minmax_engine::Error::msg(format!(
            "animation: frames differ in size ({:?} and {:?})",
            first.dimensions(),
            f.dimensions()
        )));
    }
    let mut bytes = Vec::new();
    {
        // Speed 10 of 1–30: a good palette per frame without taking longer than the training.
        let mut enc = GifEncoder::new_with_speed(&mut bytes, 10);
        enc.set_repeat(Repeat::Infinite).map_err(bad)?;
        for (i, f) in frames.iter().enumerate() {
            let hold = if i + 1 == frames.len() { 4 } else { 1 };
            let rgba = image::DynamicImage::ImageRgb8(f.clone()).into_rgba8();
            enc.encode_frame(Frame::from_parts(rgba, 0, 0, Delay::from_numer_denom_ms(ms * hold, 1))).map_err(bad)?;
        }
    }
    Ok(bytes)
}

/// Panels side by side under a title and a legend line.
pub fn strip(title: &str, legend: &str, panels: &[RgbImage]) -> RgbImage {
    let h = panels.iter().map(|p| p.height()).max().unwrap_or(0);
    let w: u32 = panels.iter().map(|p| p.width() + GAP).sum::<u32>() + GAP;
    let mut img = RgbImage::from_pixel(w.max(400), TITLE + h + GAP, WHITE_PX);
    let mut x0 = GAP;
    for p in panels {
        for (x, y, c) in p.enumerate_pixels() {
            img.put_pixel(x0 + x, TITLE + y, *c);
        }
        x0 += p.width() + GAP;
    }
    draw_text(&mut img, GAP as i32, 3, 18.0, title);
    draw_text(&mut img, GAP as i32, 24, 13.0, legend);
    img
}
