//! Data sets of small grey-scale images with integer labels, and seeded mini-batches over them.
//!
//! A [`Dataset`] holds `n` images of `rows x cols` pixels as f32 in [0, 1] (0 = background,
//! 1 = ink), one label byte per image, and hands them out as engine tensors:
//!
//! ```text
//! B = batch size, D = rows * cols (784 for MNIST)
//! images  [B, D]  f32 in [0, 1]
//! labels  [B]     i64
//! ```
//!
//! Where the files come from lives in the submodules: [`idx`] reads and writes the IDX format,
//! [`mnist`] knows where MNIST, its 10k subset and Fashion-MNIST live and how they are split,
//! [`mixtures`] draws the 2-D Gaussian mixtures of the mode-collapse lab, and [`npy`] reads and
//! writes NumPy's `.npy` files (samples, for Python); [`paired`] makes the image-to-image lab's
//! input → target pairs from a data set's own images (edges, low resolution, holes), and
//! [`printed`] renders printed digits from fonts (the CycleGAN task's second domain);
//! [`stacked_mnist`] stacks three digits into the channels of one image (the 1,000-mode
//! benchmark).
//!
//! Left out: colour images, augmentation and loading in a background thread. The data sets here
//! fit in memory many times over, so a batch is a gather from one flat `Vec<f32>`.

pub mod idx;
pub mod mixtures;
pub mod mnist;
pub mod npy;
pub mod paired;
pub mod printed;
pub mod stacked_mnist;

use minmax_engine::{Error, Generator, Result, Tensor};

pub use idx::IdxImages;
pub use mnist::{load_mnist, MnistSource, Splits};

/// The whole of a file of at most `limit` bytes, for readers that parse from memory. A larger
/// file is refused before it is read, naming the file and `expected` (what it should hold).
pub(crate) fn read_bounded(path: &std::path::Path, limit: u64, expected: &str) -> Result<Vec<u8>> {
    use std::io::Read;
    let io = |source| Error::Io { path: path.to_path_buf(), source };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    if len > limit {
        return Err(Error::file(
            path,
            format!("is {len} bytes, more than the {limit}-byte limit; expected {expected}"),
        ));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    // Bounded even if the file grows while it is read.
    (&mut file).take(limit + 1).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() as u64 > limit {
        return Err(Error::file(path, format!("grew past the {limit}-byte limit while it was read")));
    }
    Ok(bytes)
}

/// `n` images of `rows x cols` pixels in [0, 1] and their labels.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    rows: usize,
    cols: usize,
    /// `n * rows * cols` values, image after image, row after row.
    images: Vec<f32>,
    labels: Vec<u8>,
}

impl Dataset {
    /// A data set from pixels already in [0, 1]. `images.len()` must be `labels.len() * rows * cols`.
    pub fn new(images: Vec<f32>, labels: Vec<u8>, rows: usize, cols: usize) -> Result<Dataset> {
        let expected = rows.checked_mul(cols).and_then(|d| d.checked_mul(labels.len()));
        if rows == 0 || cols == 0 || expected != Some(images.len()) {
            return Err(Error::msg(format!(
                "Dataset::new: {} pixel values do not make {} images of {rows}x{cols}",
                images.len(),
                labels.len()
            )));
        }
        Ok(Dataset { rows, cols, images, labels })
    }

    /// A data set from byte images (0..=255, as stored in IDX files), scaled to [0, 1].
    pub fn from_bytes(images: &IdxImages, labels: Vec<u8>) -> Result<Dataset> {
        if images.n != labels.len() {
            return Err(Error::msg(format!(
                "Dataset::from_bytes: {} images of {}x{} ({} bytes) do not match {} labels",
                images.n,
                images.rows,
                images.cols,
                images.pixels.len(),
                labels.len()
            )));
        }
        let pixels = images.pixels.iter().map(|&p| p as f32 / 255.0).collect();
        Dataset::new(pixels, labels, images.rows, images.cols)
    }

    /// The number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
    pub fn rows(&self) -> usize {
        self.rows
    }
    pub fn cols(&self) -> usize {
        self.cols
    }
    /// Pixels per image, `rows * cols` (the D in `[B, D]`).
    pub fn dim(&self) -> usize {
        self.rows * self.cols
    }
    /// All pixels, `len() * dim()` values in [0, 1].
    pub fn images(&self) -> &[f32] {
        &self.images
    }
    pub fn labels(&self) -> &[u8] {
        &self.labels
    }
    /// The pixels of image `i`, or `None` past the end.
    pub fn image(&self, i: usize) -> Option<&[f32]> {
        let d = self.dim();
        self.images.get(i * d..(i + 1) * d)
    }

    /// The whole data set as tensors: images `[n, D]` f32 and labels `[n]` i64.
    pub fn to_tensors(&self) -> Result<(Tensor, Tensor)> {
        let images = Tensor::new(self.images.clone(), &[self.len(), self.dim()])?;
        let labels = Tensor::new(self.labels.iter().map(|&l| l as i64).collect::<Vec<i64>>(), &[self.len()])?;
        Ok((images, labels))
    }

    /// The images at `indices`, in that order (repeats allowed).
    pub fn subset(&self, indices: &[usize]) -> Result<Dataset> {
        if let Some(&bad) = indices.iter().find(|&&i| i >= self.len()) {
            return Err(Error::msg(format!(
                "Dataset::subset: index {bad} is out of range for a data set of {} images",
                self.len()
            )));
        }
        let d = self.dim();
        let mut images = Vec::with_capacity(indices.len() * d);
        for &i in indices {
            images.extend_from_slice(&self.images[i * d..(i + 1) * d]);
        }
        let labels = indices.iter().map(|&i| self.labels[i]).collect();
        Dataset::new(images, labels, self.rows, self.cols)
    }

    /// The mean of each pixel over the data set (`dim()` values), e.g. to start a generator's
    /// output bias at the average image. All zeros for an empty data set.
    pub fn pixel_means(&self) -> Vec<f32> {
        let d = self.dim();
        let mut sums = vec![0f64; d]; // f64: 70,000 f32 additions would lose digits
        for image in self.images.chunks_exact(d) {
            for (s, &p) in sums.iter_mut().zip(image) {
                *s += p as f64;
            }
        }
        let n = self.len().max(1) as f64;
        sums.iter().map(|&s| (s / n) as f32).collect()
    }

    /// How many images carry each label 0..=255 (index = label).
    pub fn label_counts(&self) -> [usize; 256] {
        let mut counts = [0usize; 256];
        for &l in &self.labels {
            counts[l as usize] += 1;
        }
        counts
    }

    /// Mini-batches of `batch_size` images covering the data set once (one epoch). With
    /// `shuffle`, the order is a permutation drawn from `rng`, so the same seed gives the same
    /// batches; without it, the data set's own order (and `rng` is not touched). The last batch
    /// may be smaller; call [`Batches::drop_last`] to skip it.
    pub fn batches(&self, batch_size: usize, rng: &mut Generator, shuffle: bool) -> Result<Batches<'_>> {
        if batch_size == 0 {
            return Err(Error::msg("Dataset::batches: batch size must be at least 1"));
        }
        let order = if shuffle { rng.permutation(self.len()) } else { (0..self.len()).collect() };
        Ok(Batches { data: self, order, next: 0, batch_size, drop_last: false })
    }
}

/// One epoch of mini-batches; each item is `(images [B, D] f32, labels [B] i64)`.
pub struct Batches<'a> {
    data: &'a Dataset,
    order: Vec<usize>,
    next: usize,
    batch_size: usize,
    drop_last: bool,
}

impl Batches<'_> {
    /// Skip a last batch smaller than `batch_size` (so every batch has the same shape).
    pub fn drop_last(mut self) -> Self {
        self.drop_last = true;
        self
    }
}

impl Iterator for Batches<'_> {
    type Item = Result<(Tensor, Tensor)>;

    fn next(&mut self) -> Option<Self::Item> {
        let left = self.order.len() - self.next;
        if left == 0 || (self.drop_last && left < self.batch_size) {
            return None;
        }
        let take = left.min(self.batch_size);
        let indices = &self.order[self.next..self.next + take];
        self.next += take;

        let d = self.data.dim();
        let mut images = Vec::with_capacity(take * d);
        let mut labels = Vec::with_capacity(take);
        for &i in indices {
            images.extend_from_slice(&self.data.images[i * d..(i + 1) * d]);
            labels.push(self.data.labels[i] as i64);
        }
        let x = Tensor::new(images, &[take, d]); // [B, D] f32
        let y = Tensor::new(labels, &[take]); // [B] i64
        Some(x.and_then(|x| Ok((x, y?))))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.order.len() - self.next;
        let n = if self.drop_last { left / self.batch_size } else { left.div_ceil(self.batch_size) };
        (n, Some(n))
    }
}

impl ExactSizeIterator for Batches<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    /// Five 1x2 images: image i has pixels [i/10, 1 - i/10] and label i.
    fn tiny() -> Dataset {
        let images = (0..5).flat_map(|i| [i as f32 / 10.0, 1.0 - i as f32 / 10.0]).collect();
        Dataset::new(images, vec![0, 1, 2, 3, 4], 1, 2).unwrap()
    }

    #[test]
    fn data_dataset_basics() {
        let ds = tiny();
        assert_eq!((ds.len(), ds.dim(), ds.rows(), ds.cols()), (5, 2, 1, 2));
        assert_eq!(ds.image(3), Some(&[0.3, 0.7][..]));
        assert_eq!(ds.image(5), None);
        // means of 0, .1, .2, .3, .4 and of 1, .9, .8, .7, .6
        let m = ds.pixel_means();
        assert!((m[0] - 0.2).abs() < 1e-6 && (m[1] - 0.8).abs() < 1e-6, "{m:?}");
        let (x, y) = ds.to_tensors().unwrap();
        assert_eq!((x.shape(), y.shape()), (&[5, 2][..], &[5][..]));

        let sub = ds.subset(&[4, 0, 4]).unwrap();
        assert_eq!(sub.labels(), &[4, 0, 4]);
        assert_eq!(sub.image(0), ds.image(4));
        let msg = ds.subset(&[1, 5]).unwrap_err().to_string();
        assert!(msg.contains("index 5") && msg.contains("5 images"), "{msg}");

        let bytes = IdxImages { n: 1, rows: 1, cols: 2, pixels: vec![0, 255] };
        let ds = Dataset::from_bytes(&bytes, vec![3]).unwrap();
        assert_eq!(ds.images(), &[0.0, 1.0]);
        assert!(Dataset::new(vec![0.0; 3], vec![1, 2], 1, 2).is_err());
        assert!(Dataset::from_bytes(&bytes, vec![3, 4]).is_err());
    }

    #[test]
    fn data_batches_are_seeded_and_cover_the_epoch() {
        let ds = tiny();
        let labels_of = |shuffle: bool, seed: u64, drop_last: bool| -> Vec<Vec<i64>> {
            let mut rng = Generator::new(seed);
            let mut b = ds.batches(2, &mut rng, shuffle).unwrap();
            if drop_last {
                b = b.drop_last();
            }
            assert_eq!(b.len(), if drop_last { 2 } else { 3 });
            b.map(|r| {
                let (x, y) = r.unwrap();
                let y = y.to_vec::<i64>().unwrap();
                // The image travels with its label: image i has first pixel i/10.
                let x = x.to_vec_f32().unwrap();
                for (k, &l) in y.iter().enumerate() {
                    assert!((x[2 * k] - l as f32 / 10.0).abs() < 1e-6);
                }
                y
            })
            .collect()
        };
        assert_eq!(labels_of(false, 0, false), vec![vec![0, 1], vec![2, 3], vec![4]]);
        assert_eq!(labels_of(false, 0, true), vec![vec![0, 1], vec![2, 3]]);
        let a = labels_of(true, 42, false);
        assert_eq!(a, labels_of(true, 42, false), "same seed, same batches");
        let mut all: Vec<i64> = a.concat();
        all.sort();
        assert_eq!(all, vec![0, 1, 2, 3, 4], "one epoch visits every image once");
        assert!((0..20).any(|s| labels_of(true, s, false) != a), "seeds change the order");

        let msg = ds.batches(0, &mut Generator::new(0), true).err().unwrap().to_string();
        assert!(msg.contains("batch size"), "{msg}");
    }
}
