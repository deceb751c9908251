//! SMOTE (Chawla et al. 2002): new minority images on the segments between an image and one of
//! its nearest neighbours of the same class. Arm `smote` runs it on pixels; DeepSMOTE runs the
//! same interpolation on an autoencoder's codes.
//!
//! ```text
//! for each new point of class c:
//!     x   = a random image of class c                    (uniform over the class)
//!     x̃   = one of x's k nearest images of class c       (uniform over the k; k = 5, or n_c − 1)
//!     u   ~ U(0, 1)
//!     new = x + u · (x̃ − x)
//! ```
//!
//! Every class is filled up to the largest class's count. Distances are Euclidean, through
//! `metrics::distances` (one matrix product per block of rows).

use minmax_engine::{Generator as Rng, Result, Tensor};

use crate::data::mnist::NUM_CLASSES;
use crate::data::Dataset;
use crate::metrics::distances::{sq_distances_blocked, DISTANCE_BLOCK_ELEMS};

/// Neighbours among which the partner of each interpolation is chosen.
pub const K_NEIGHBOURS: usize = 5;

/// For each of `rows` (n points of `dim` values), the indices of its `k` nearest other rows,
/// nearest first.
pub fn nearest_neighbours(rows: &[f32], dim: usize, k: usize) -> Result<Vec<Vec<usize>>> {
    let n = rows.len() / dim;
    let t = Tensor::new(rows.to_vec(), &[n, dim])?;
    let mut out = Vec::with_capacity(n);
    sq_distances_blocked(&t, &t, DISTANCE_BLOCK_ELEMS, |first, block| {
        for (i, row) in block.chunks_exact(n).enumerate() {
            let me = first + i;
            let mut order: Vec<usize> = (0..n).filter(|&j| j != me).collect();
            order.sort_by(|&a, &b| row[a].total_cmp(&row[b]).then(a.cmp(&b)));
            order.truncate(k);
            out.push(order);
        }
        Ok(())
    })?;
    Ok(out)
}

/// `count` SMOTE points from `rows` (n points of `dim` values, one class), drawn from `rng`.
/// With a single point there is no segment: the point is repeated (plain oversampling).
pub fn interpolate(rows: &[f32], dim: usize, count: usize, rng: &mut Rng) -> Result<Vec<f32>> {
    let n = rows.len() / dim;
    let mut out = Vec::with_capacity(count * dim);
    if count == 0 || n == 0 {
        return Ok(out);
    }
    let neighbours = if n > 1 { nearest_neighbours(rows, dim, K_NEIGHBOURS.min(n - 1))? } else { vec![vec![0]] };
    for _ in 0..count {
        let i = rng.below(n);
        let j = neighbours[i][rng.below(neighbours[i].len())];
        let u = rng.uniform() as f32;
        let (x, y) = (&rows[i * dim..(i + 1) * dim], &rows[j * dim..(j + 1) * dim]);
        out.extend(x.iter().zip(y).map(|(&a, &b)| a + u * (b - a)));
    }
    Ok(out)
}

/// `data` with SMOTE images added to every class up to the largest class's count (the originals
/// first, then the new images class by class).
pub fn balance(data: &Dataset, rng: &mut Rng) -> Result<Dataset> {
    let d = data.dim();
    let counts = data.label_counts();
    let target = counts[..NUM_CLASSES].iter().copied().max().unwrap_or(0);
    let mut images = data.images().to_vec();
    let mut labels = data.labels().to_vec();
    for c in 0..NUM_CLASSES {
        let members: Vec<f32> = (0..data.len())
            .filter(|&i| data.labels()[i] as usize == c)
            .flat_map(|i| data.image(i).unwrap().iter().copied())
            .collect();
        let new = interpolate(&members, d, target - counts[c], rng)?;
        labels.extend(std::iter::repeat_n(c as u8, new.len() / d));
        images.extend(new);
    }
    Dataset::new(images, labels, data.rows(), data.cols())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smote_points_lie_on_segments_between_same_class_neighbours() -> Result<()> {
        // Class 0: four 2-D points; class 1: twenty points on a line far away.
        let mut images = vec![0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 5.0, 5.0];
        let mut labels = vec![0u8; 4];
        for i in 0..20 {
            images.extend([100.0 + i as f32, -50.0]);
            labels.push(1);
        }
        let data = Dataset::new(images, labels, 1, 2)?;
        let out = balance(&data, &mut Rng::new(3))?;
        assert_eq!(out.len(), 40);
        assert_eq!(&out.label_counts()[..2], &[20, 20]);
        assert_eq!(&out.images()[..data.images().len()], data.images(), "the originals come first");
        let class0: Vec<[f32; 2]> = data.images()[..8].chunks(2).map(|c| [c[0], c[1]]).collect();
        let nn = nearest_neighbours(&data.images()[..8], 2, 3)?;
        assert_eq!(nn[0], vec![1, 2, 3], "(0,0)'s neighbours, nearest first (ties by index)");
        for i in 24..40 {
            assert_eq!(out.labels()[i], 0);
            let p = out.image(i).unwrap();
            // Some pair (a, b) of class-0 points, b among a's 3 nearest, has p = a + u(b − a), u ∈ [0, 1].
            let on_a_segment = (0..4).any(|a| {
                nn[a].iter().any(|&b| {
                    let (x, y) = (class0[a], class0[b]);
                    let dir = [y[0] - x[0], y[1] - x[1]];
                    let len2 = dir[0] * dir[0] + dir[1] * dir[1];
                    let u = ((p[0] - x[0]) * dir[0] + (p[1] - x[1]) * dir[1]) / len2;
                    let off = [x[0] + u * dir[0] - p[0], x[1] + u * dir[1] - p[1]];
                    (-1e-5..=1.0 + 1e-5).contains(&u) && off[0].abs() < 1e-4 && off[1].abs() < 1e-4
                })
            });
            assert!(on_a_segment, "new point {p:?} is on no segment between neighbours");
        }
        // Seeded.
        assert_eq!(balance(&data, &mut Rng::new(3))?, out);
        Ok(())
    }
}
