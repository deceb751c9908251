//! Two ways to ask whether a generator generalises or memorises.
//!
//! **Inference by optimisation** (the "mean reconstruction error" of e.g. Xiang and Li 2017, and
//! the inversion of Creswell and Bharath 2018; Webster et al. 2019 use the same search to find
//! memorised training images): for each image x, search the latent space for the code whose
//! image is closest,
//!
//! ```text
//! ẑ = argmin_z ‖x − G(z)‖² / D,     MSE(x) = ‖x − G(ẑ)‖² / D      (D = pixels per image)
//! ```
//!
//! with Adam on z through the engine's autograd (gradients with respect to z only; G's weights
//! are read, never written). The problem is not convex, so the search starts from `restarts`
//! fresh codes z ~ N(0, I), drawn from a seeded generator, and keeps each image's best. Images
//! are processed in batches; the loss of a batch is the *sum* of the per-image MSEs, so every
//! image's gradient is the same whatever the batch size. A generator that has learnt the data
//! reconstructs held-out images about as well as training images; one that memorised reconstructs
//! its training images much better.
//!
//! **Nearest-neighbour distances.** For each generated sample, the Euclidean distance to its
//! nearest training image; for comparison, the same for held-out real images, which the generator
//! never saw. Generated samples much closer to the training set than held-out images are (e.g.
//! closer than the held-out median) are candidates for copies:
//!
//! ```text
//! d_gen(i)  = min_j ‖g_i − t_j‖        d_held(i) = min_j ‖h_i − t_j‖
//! closer    = #{ i : d_gen(i) < median(d_held) } / n_gen       (≈ ½ when the two match)
//! ```
//!
//! Shapes: x [n, D] images, z [n, Z] codes, G: [b, Z] → [b, D] (any image shape that flattens
//! to D, e.g. [b, 1, 28, 28], is accepted). Left out: encoders (BiGAN/ALI's learnt inference) and
//! perceptual distances; distances here are in pixel space.

use minmax_engine::optim::{Adam, Optimizer};
use minmax_engine::{grad, no_grad, Error, Generator, Result, Tensor};

use super::distances::{nearest_sq_distances, rows_f64};

// ---- inference by optimisation ------------------------------------------------------------------------

#[derive(Clone, Debug)]
pub struct ReconstructOptions {
    /// Adam steps per restart.
    pub steps: usize,
    /// Adam's learning rate (β = (0.9, 0.999)).
    pub lr: f64,
    /// Independent starts per image; the best is kept.
    pub restarts: usize,
    /// Seed of the starting codes.
    pub seed: u64,
    /// Images optimised together.
    pub batch_size: usize,
}

impl Default for ReconstructOptions {
    fn default() -> Self {
        ReconstructOptions { steps: 500, lr: 0.05, restarts: 3, seed: 0, batch_size: 500 }
    }
}

/// The outcome of [`reconstruct`].
#[derive(Clone, Debug)]
pub struct Reconstruction {
    /// Per image, ‖x − G(ẑ)‖² / D at the best code found.
    pub mse: Vec<f64>,
    /// The best codes ẑ, [n, Z].
    pub z: Tensor,
}

impl Reconstruction {
    /// The mean of the per-image MSEs.
    pub fn mean_mse(&self) -> f64 {
        self.mse.iter().sum::<f64>() / self.mse.len() as f64
    }
}

/// Invert `generator` (z [b, Z] → images [b, D], differentiable) on every row of `x` [n, D] by
/// minimising the per-image MSE over z with Adam (module docs). The codes have `x`'s dtype.
pub fn reconstruct(
    x: &Tensor,
    z_dim: usize,
    generator: impl Fn(&Tensor) -> Result<Tensor>,
    opts: &ReconstructOptions,
) -> Result<Reconstruction> {
    if x.rank() < 2 || x.shape()[0] == 0 {
        return Err(Error::msg(format!("reconstruct: expected images [n, D], got shape {:?}", x.shape())));
    }
    super::ensure_finite(x, "reconstruct: target images")?;
    if opts.restarts == 0 || opts.batch_size == 0 || z_dim == 0 {
        return Err(Error::msg(format!(
            "reconstruct: restarts ({}), batch size ({}) and z_dim ({z_dim}) must be at least 1",
            opts.restarts, opts.batch_size
        )));
    }
    let (n, d) = (x.shape()[0], x.shape()[1..].iter().product::<usize>());
    let x = x.detach().contiguous()?.view(&[n, d])?;
    let mut rng = Generator::new(opts.seed);
    let mut mse = Vec::with_capacity(n);
    let mut codes = Vec::new();
    for start in (0..n).step_by(opts.batch_size) {
        let b = opts.batch_size.min(n - start);
        let xb = x.narrow(0, start, b)?; // [B, D]
        let mut best_mse = vec![f64::INFINITY; b];
        let mut best_z = vec![0f64; b * z_dim];
        for _ in 0..opts.restarts {
            let z0 = Tensor::randn(&[b, z_dim], &mut rng).to_dtype(x.dtype())?.to_device(&x.device())?;
            let z = optimise_codes(&xb, z0, &generator, opts)?;
            let err = per_image_mse(&xb, &z, &generator)?;
            let zv = z.to_vec::<f64>()?;
            for i in 0..b {
                if err[i] < best_mse[i] {
                    best_mse[i] = err[i];
                    best_z[i * z_dim..(i + 1) * z_dim].copy_from_slice(&zv[i * z_dim..(i + 1) * z_dim]);
                }
            }
        }
        mse.extend(best_mse);
        codes.extend(best_z);
    }
    let z = Tensor::new(codes, &[n, z_dim])?.to_dtype(x.dtype())?;
    Ok(Reconstruction { mse, z })
}

/// `opts.steps` Adam steps on the codes of one batch, from `z0`; returns the final codes.
fn optimise_codes(
    xb: &Tensor,
    z0: Tensor,
    generator: &impl Fn(&Tensor) -> Result<Tensor>,
    opts: &ReconstructOptions,
) -> Result<Tensor> {
    let z = z0.requires_grad_();
    let mut adam = Adam::new(vec![z.clone()], opts.lr, (0.9, 0.999))?;
    let d = xb.shape()[1] as f64;
    for step in 0..opts.steps {
        // Σ_i ‖x_i − G(z_i)‖² / D: the sum of the per-image MSEs.
        let xhat = generator(&z)?.reshape(&[xb.shape()[0] as isize, -1])?; // [B, D]
        let loss = xb.sub(&xhat)?.sqr()?.sum_all()?.div_scalar(d)?;
        let value = loss.item()?;
        if !value.is_finite() {
            return Err(Error::msg(format!(
                "reconstruct: the loss became {value} at step {step} (lower the learning rate?)"
            )));
        }
        let g = grad(&[loss], None, std::slice::from_ref(&z), false)?;
        z.set_grad(g.into_iter().next());
        adam.step()?;
    }
    z.set_grad(None);
    Ok(z.detach())
}

/// ‖x_i − G(z_i)‖² / D for every row, without recording a graph.
fn per_image_mse(xb: &Tensor, z: &Tensor, generator: &impl Fn(&Tensor) -> Result<Tensor>) -> Result<Vec<f64>> {
    no_grad(|| {
        let xhat = generator(z)?.reshape(&[xb.shape()[0] as isize, -1])?;
        xb.sub(&xhat)?.sqr()?.mean(&[1], false)?.to_vec::<f64>()
    })
}

// ---- nearest-neighbour distances ----------------------------------------------------------------------

/// Distances to the nearest training image, of generated samples and of held-out real images.
#[derive(Clone, Debug, PartialEq)]
pub struct Memorisation {
    /// Per generated sample, the Euclidean distance to its nearest training image.
    pub generated: Vec<f64>,
    /// Per held-out image, the Euclidean distance to its nearest training image.
    pub heldout: Vec<f64>,
    pub generated_mean: f64,
    pub generated_median: f64,
    pub heldout_mean: f64,
    pub heldout_median: f64,
    /// Share of generated samples strictly closer to the training set than the median held-out image.
    pub closer_than_heldout_median: f64,
}

/// Nearest-training-image distances of `generated` [n_g, D] and `heldout` [n_h, D] against
/// `train` [n_t, D], with their summaries (module docs).
pub fn memorisation(train: &Tensor, generated: &Tensor, heldout: &Tensor) -> Result<Memorisation> {
    for (t, what) in [(train, "training images"), (generated, "generated images"), (heldout, "held-out images")] {
        super::ensure_finite(t, &format!("memorisation: {what}"))?;
    }
    let train = rows_f64(train, "memorisation", "train")?;
    let dist = |q: &Tensor, what: &str| -> Result<Vec<f64>> {
        let q = rows_f64(q, "memorisation", what)?;
        Ok(nearest_sq_distances(&q, &train)?.into_iter().map(f64::sqrt).collect())
    };
    let (generated, heldout) = (dist(generated, "generated")?, dist(heldout, "heldout")?);
    let heldout_median = median(&heldout);
    let closer = generated.iter().filter(|&&d| d < heldout_median).count() as f64 / generated.len() as f64;
    Ok(Memorisation {
        generated_mean: mean(&generated),
        generated_median: median(&generated),
        heldout_mean: mean(&heldout),
        heldout_median,
        closer_than_heldout_median: closer,
        generated,
        heldout,
    })
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

/// The median (the mean of the two middle values for an even count).
fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let m = s.len() / 2;
    if s.len() % 2 == 1 {
        s[m]
    } else {
        (s[m - 1] + s[m]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_generator_codes_are_recovered() -> Result<()> {
        // G(z) = z Wᵀ + b with W [12, 3] random: injective, so the least-squares code is z* itself.
        let mut g = Generator::new(1);
        let w = Tensor::randn(&[12, 3], &mut g);
        let b = Tensor::randn(&[12], &mut g).mul_scalar(0.1)?;
        let gen = |z: &Tensor| z.linear(&w, Some(&b));
        let z_star = Tensor::randn(&[10, 3], &mut g);
        let x = no_grad(|| gen(&z_star))?;
        let opts = ReconstructOptions { steps: 400, lr: 0.05, restarts: 1, seed: 3, batch_size: 4 };
        let r = reconstruct(&x, 3, gen, &opts)?;
        assert_eq!(r.z.shape(), &[10, 3]);
        assert!(r.mse.iter().all(|&m| m < 1e-4), "{:?}", r.mse);
        let dz = r.z.sub(&z_star)?.abs()?.max_all()?.item()?;
        assert!(dz < 1e-2, "max |ẑ − z*| = {dz}");
        Ok(())
    }

    #[test]
    fn medians_and_memorised_copies() -> Result<()> {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        // Train points at 0 and 10 on a line; held-out at 1, 2, 3 (median distance 2);
        // generated at 0 (a copy), 10.5 and 7 (distances 0, 0.5, 3).
        let col = |v: &[f64]| Tensor::new(v.to_vec(), &[v.len(), 1]).unwrap();
        let m = memorisation(&col(&[0.0, 10.0]), &col(&[0.0, 10.5, 7.0]), &col(&[1.0, 2.0, 3.0]))?;
        assert_eq!(m.generated, vec![0.0, 0.5, 3.0]);
        assert_eq!(m.heldout, vec![1.0, 2.0, 3.0]);
        assert_eq!((m.heldout_median, m.heldout_mean, m.generated_median), (2.0, 2.0, 0.5));
        assert!((m.generated_mean - 3.5 / 3.0).abs() < 1e-12);
        assert!((m.closer_than_heldout_median - 2.0 / 3.0).abs() < 1e-12);
        Ok(())
    }

    #[test]
    fn errors_name_the_problem() {
        let gen = |z: &Tensor| Ok(z.clone());
        let e = reconstruct(&Tensor::zeros(&[4]), 2, gen, &ReconstructOptions::default()).unwrap_err().to_string();
        assert!(e.contains("[n, D]"), "{e}");
        let opts = ReconstructOptions { restarts: 0, ..Default::default() };
        let e = reconstruct(&Tensor::zeros(&[4, 2]), 2, gen, &opts).unwrap_err().to_string();
        assert!(e.contains("restarts (0)"), "{e}");
        let e = memorisation(&Tensor::zeros(&[4, 2]), &Tensor::zeros(&[4, 3]), &Tensor::zeros(&[4, 2]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("different dimensions"), "{e}");
    }
}
