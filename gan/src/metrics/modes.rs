//! Mode-collapse metrics for mixtures of Gaussians, as defined by VEEGAN (Srivastava et al. 2017)
//! and PacGAN (Lin et al. 2018):
//!
//! - each sample is assigned to its nearest mode (Euclidean distance to the means);
//! - a sample is **high quality** (HQ) if it lies within 3 standard deviations of that mode
//!   (‖x − μ‖ ≤ 3σ);
//! - a mode is **covered** if at least one HQ sample is assigned to it;
//! - **% HQ** is the share of all samples that are HQ;
//! - the **histogram** p̂ over modes counts HQ samples only, normalised to sum to 1; it is compared
//!   with the uniform distribution u of the true mixture in both directions:
//!   `kl` = KL(p̂ ‖ u) = Σ p̂ₖ ln(K p̂ₖ), the *reverse* KL that PacGAN reports (generated ‖ true;
//!   at most ln K, reached when every HQ sample is at one mode), and
//!   `kl_forward` = KL(u ‖ p̂) = Σ (1/K) ln(1/(K p̂ₖ)), which is infinite when a mode is empty.
//!
//! Empty modes: before either KL, p̂ₖ is floored at ε = [`KL_EPSILON`] and renormalised, so an
//! empty mode adds about (1/K)·ln(1/(K ε)) to `kl_forward` (and ≈ 0 to `kl`). With no HQ sample
//! at all the histogram is undefined; both KLs then take the value of "every mode empty" —
//! `kl` = ln K (total collapse) and `kl_forward` = ln(1/(K ε)) — so a run that produced nothing
//! usable scores worst, not best.
//!
//! **Hopping** (this project's, for watching collapse happen): at checkpoints during training the
//! share of samples nearest each mode (HQ or not, so a blob still on its way counts too). A
//! checkpoint is *collapsed* when at least [`COLLAPSE_SHARE`] of the samples sit nearest one mode;
//! [`hopping`] counts those checkpoints, the distinct modes they sat on, and the hops (consecutive
//! collapsed checkpoints on different modes). A GAN that chases D around the ring collapses at
//! most checkpoints, on several modes in turn; one that covers the mixture never collapses.
//!
//! Always read modes and % HQ together: a generator that spreads samples everywhere covers every
//! mode with little quality, one that collapses has high quality and few modes. Note that even the
//! true 2-D mixture has only 1 − e^(−9/2) ≈ 98.9 % of its samples within 3σ (99.7 % in 1-D).

use minmax_engine::{Error, Result, Tensor};

use crate::data::mixtures::Mixture;

/// Samples per evaluation, as VEEGAN and PacGAN score their generators.
pub const EVAL_SAMPLES: usize = 2500;

/// The floor on histogram probabilities before the KLs (see the module docs).
pub const KL_EPSILON: f64 = 1e-4;

/// The numbers for one set of samples.
#[derive(Clone, Debug, PartialEq)]
pub struct ModeStats {
    /// Modes with at least one HQ sample.
    pub modes_covered: usize,
    /// Modes of the mixture (K).
    pub modes_total: usize,
    /// Share of samples within 3σ of their nearest mode, in percent.
    pub hq_percent: f64,
    /// KL(p̂ ‖ u), PacGAN's reverse KL.
    pub kl: f64,
    /// KL(u ‖ p̂).
    pub kl_forward: f64,
    /// HQ samples per mode.
    pub counts: Vec<usize>,
    /// Samples evaluated.
    pub samples: usize,
}

/// Nearest mode of every row of `samples` [N, X] and whether it is within 3σ of it.
pub fn assign(samples: &Tensor, mix: &Mixture) -> Result<Vec<(usize, bool)>> {
    crate::metrics::ensure_finite(samples, "mode metrics: samples")?;
    if samples.rank() != 2 || samples.shape()[1] != mix.dim {
        return Err(Error::msg(format!(
            "mode metrics: expected samples [N, {}] for {}, got shape {:?}",
            mix.dim,
            mix.name,
            samples.shape()
        )));
    }
    let x = samples.to_vec::<f64>()?;
    let limit2 = (3.0 * mix.std).powi(2);
    Ok(x.chunks(mix.dim)
        .map(|p| {
            let (best, d2) = mix
                .means
                .iter()
                .map(|m| m.iter().zip(p).map(|(a, b)| (a - b) * (a - b)).sum::<f64>())
                .enumerate()
                .fold((0, f64::INFINITY), |acc, (k, d)| if d < acc.1 { (k, d) } else { acc });
            (best, d2 <= limit2)
        })
        .collect())
}

/// Modes covered, % HQ and the KLs of `samples` [N, X] against `mix`.
pub fn mode_stats(samples: &Tensor, mix: &Mixture) -> Result<ModeStats> {
    let a = assign(samples, mix)?;
    let k = mix.modes();
    let mut counts = vec![0usize; k];
    for &(m, hq) in &a {
        if hq {
            counts[m] += 1;
        }
    }
    let hq: usize = counts.iter().sum();
    let (kl, kl_forward) = kls(&counts);
    Ok(ModeStats {
        modes_covered: counts.iter().filter(|&&c| c > 0).count(),
        modes_total: k,
        hq_percent: if a.is_empty() { 0.0 } else { 100.0 * hq as f64 / a.len() as f64 },
        kl,
        kl_forward,
        counts,
        samples: a.len(),
    })
}

/// A checkpoint is collapsed when at least this share of samples is nearest one mode.
pub const COLLAPSE_SHARE: f64 = 0.5;

/// Share of the rows of `samples` [N, X] whose nearest mode is k, for every mode k (all samples,
/// HQ or not).
pub fn nearest_shares(samples: &Tensor, mix: &Mixture) -> Result<Vec<f64>> {
    let a = assign(samples, mix)?;
    let mut shares = vec![0.0; mix.modes()];
    for &(m, _) in &a {
        shares[m] += 1.0;
    }
    let n = a.len().max(1) as f64;
    Ok(shares.into_iter().map(|c| c / n).collect())
}

/// How G's mass moved over a run (module docs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hopping {
    pub checkpoints: usize,
    /// Checkpoints with at least [`COLLAPSE_SHARE`] of the samples nearest one mode.
    pub collapsed: usize,
    /// Distinct modes the collapsed checkpoints sat on.
    pub modes_visited: usize,
    /// Consecutive collapsed checkpoints (skipping uncollapsed ones between) on different modes.
    pub hops: usize,
}

/// The hopping numbers of a run from its checkpoints' [`nearest_shares`], in training order.
pub fn hopping(shares: &[Vec<f64>]) -> Hopping {
    let mut visited: Vec<usize> = Vec::new();
    let (mut collapsed, mut hops, mut last) = (0, 0, None);
    for s in shares {
        let (k, top) = s.iter().enumerate().fold((0, f64::NEG_INFINITY), |a, (k, &v)| if v > a.1 { (k, v) } else { a });
        if top < COLLAPSE_SHARE {
            continue;
        }
        collapsed += 1;
        if !visited.contains(&k) {
            visited.push(k);
        }
        if last.is_some_and(|l| l != k) {
            hops += 1;
        }
        last = Some(k);
    }
    Hopping { checkpoints: shares.len(), collapsed, modes_visited: visited.len(), hops }
}

/// (KL(p̂ ‖ u), KL(u ‖ p̂)) for a histogram of counts, with the ε floor of the module docs.
pub fn kls(counts: &[usize]) -> (f64, f64) {
    let k = counts.len() as f64;
    let n: usize = counts.iter().sum();
    if n == 0 {
        return (k.ln(), (1.0 / (k * KL_EPSILON)).ln());
    }
    let floored: Vec<f64> = counts.iter().map(|&c| (c as f64 / n as f64).max(KL_EPSILON)).collect();
    let z: f64 = floored.iter().sum();
    let p: Vec<f64> = floored.iter().map(|v| v / z).collect();
    let kl = p.iter().map(|&pk| pk * (k * pk).ln()).sum::<f64>();
    let kl_forward = p.iter().map(|&pk| (1.0 / k) * (1.0 / (k * pk)).ln()).sum::<f64>();
    (kl.max(0.0), kl_forward.max(0.0))
}
