//! Stacked-MNIST (Metz et al. 2017; VEEGAN; PacGAN): 28×28 images with three channels, each
//! channel an MNIST digit drawn uniformly (with replacement) from a data set, independently of
//! the other two; its 1,000 modes are the digit triples. Drawn on the fly from a seeded generator
//! (the papers draw a fixed set of 25,600 or 128,000 triples once).
//!
//! Shapes: N = images; [N, 3, 28, 28] in [0, 1], and the mode 100·l₀ + 10·l₁ + l₂ of each from
//! the digits' labels.

use minmax_engine::{Error, Generator, Result, Tensor};

use super::Dataset;

/// `n` Stacked-MNIST images [n, 3, 28, 28] in [0, 1] made from `digits` (28×28 images), with the
/// true mode of each.
pub fn draw(digits: &Dataset, n: usize, rng: &mut Generator) -> Result<(Tensor, Vec<usize>)> {
    if digits.rows() != 28 || digits.cols() != 28 || digits.is_empty() {
        return Err(Error::msg(format!(
            "Stacked-MNIST: needs 28×28 digits, got {} images of {}×{}",
            digits.len(),
            digits.rows(),
            digits.cols()
        )));
    }
    let mut px = Vec::with_capacity(n * 3 * 784);
    let mut modes = Vec::with_capacity(n);
    for _ in 0..n {
        let mut mode = 0;
        for _ in 0..3 {
            let i = rng.below(digits.len());
            px.extend_from_slice(digits.image(i).expect("index below len"));
            let l = digits.labels()[i] as usize;
            if l > 9 {
                return Err(Error::msg(format!("Stacked-MNIST: digit {i} has label {l}, not 0–9")));
            }
            mode = 10 * mode + l;
        }
        modes.push(mode);
    }
    Ok((Tensor::new(px, &[n, 3, 28, 28])?, modes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_are_the_drawn_digits_and_modes_their_labels() -> Result<()> {
        // digit i is filled with i/10 and labelled i
        let images: Vec<f32> = (0..10).flat_map(|i| vec![i as f32 / 10.0; 784]).collect();
        let d = Dataset::new(images, (0..10).collect(), 28, 28)?;
        let (x, modes) = draw(&d, 50, &mut Generator::new(4))?;
        assert_eq!(x.shape(), &[50, 3, 28, 28]);
        let v = x.to_vec::<f32>()?;
        for (k, &m) in modes.iter().enumerate() {
            let digits = [m / 100, (m / 10) % 10, m % 10];
            for (c, &l) in digits.iter().enumerate() {
                assert_eq!(v[(k * 3 + c) * 784 + 300], l as f32 / 10.0, "image {k}, channel {c}");
            }
        }
        // the same seed draws the same images
        assert_eq!(draw(&d, 50, &mut Generator::new(4))?.1, modes);
        Ok(())
    }
}
