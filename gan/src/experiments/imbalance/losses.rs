//! The losses of the imbalance lab's arms, all one weighted soft cross-entropy over a minibatch
//! of B images with logits z [B, C]:
//!
//! ```text
//! L = −(1/B) Σ_i Σ_c T[i, c] · log softmax(z_i + a)_c
//! ```
//!
//! where row T[i] says what image i should predict and how much it counts, and a is 0 except for
//! the logit-adjusted loss. By arm (K = 10 classes, n_c images of class c, n in all, π_c = n_c/n):
//!
//! | arm | T[i] for a real image of class y | for a generated image | a |
//! |---|---|---|---|
//! | plain, oversample, smote, cgan-fill | one-hot(y) | — | 0 |
//! | class-weight | w_y · one-hot(y), w_c = n / (K n_c) (mean weight 1 per image) | — | 0 |
//! | logit-adjust | one-hot(y) | — | log π (Menon et al. 2021, τ = 1; = Balanced Softmax) |
//! | all-in-one | one-hot(y) over K + 1 outputs | one-hot(K): "generated" | 0 |
//! | pseudo-label | one-hot(y) | 0.1 · one-hot(argmax_c z_i,c), from a stated step on | 0 |
//! | lsro | one-hot(y) | (1/K, …, 1/K) | 0 |
//!
//! LSRO (Zheng et al. 2017) written out for one image with Z = 1 if generated, 0 if real:
//! `−(1 − Z) · log p(y) − (Z/K) · Σ_k log p(k)`. Its gradient with respect to the logits is
//! softmax(z) − T[i] (divided by B), so a generated image pulls its prediction towards uniform.
//! At test time every arm predicts argmax over the K real classes of the raw logits (no a; the
//! all-in-one arm's extra output is ignored).

use minmax_engine::{Result, Tensor};

/// What one training image is asked to predict.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Target {
    /// A real image of this class.
    Class(u8),
    /// A generated image under LSRO: the uniform distribution over the K classes.
    Uniform,
    /// A generated image under All-in-one: the extra, K+1-th class.
    Extra,
    /// A generated image under Pseudo-label: the network's own current prediction.
    Pseudo,
}

/// How an arm turns targets into the rows T and the logits into log-probabilities.
#[derive(Clone, Debug, PartialEq)]
pub struct Loss {
    /// Real classes K.
    pub classes: usize,
    /// Outputs of the network: K, or K + 1 with an extra "generated" class.
    pub outputs: usize,
    /// Weight of each real class's images (None: 1).
    pub class_weight: Option<Vec<f64>>,
    /// Added to the logits in training (logit adjustment: log π).
    pub logit_shift: Option<Vec<f64>>,
    /// Weight of a pseudo-labelled generated image while pseudo-labels are on (else 0).
    pub pseudo_weight: f64,
}

impl Loss {
    /// Plain cross-entropy over `classes`.
    pub fn plain(classes: usize) -> Loss {
        Loss { classes, outputs: classes, class_weight: None, logit_shift: None, pseudo_weight: 0.0 }
    }

    /// The rows T [B, outputs] of a minibatch, row-major. `predicted[i]` is the network's current
    /// argmax for image i (used by `Pseudo` targets); `pseudo_on` says whether pseudo-labels count yet.
    pub fn rows(&self, targets: &[Target], predicted: &[usize], pseudo_on: bool) -> Vec<f32> {
        let (k, c) = (self.classes, self.outputs);
        let mut t = vec![0f32; targets.len() * c];
        for (i, target) in targets.iter().enumerate() {
            let row = &mut t[i * c..(i + 1) * c];
            match *target {
                Target::Class(y) => {
                    row[y as usize] = self.class_weight.as_ref().map_or(1.0, |w| w[y as usize] as f32);
                }
                Target::Uniform => row[..k].iter_mut().for_each(|v| *v = 1.0 / k as f32),
                Target::Extra => row[k] = 1.0,
                Target::Pseudo => {
                    if pseudo_on {
                        row[predicted[i]] = self.pseudo_weight as f32;
                    }
                }
            }
        }
        t
    }

    /// L of the module docs for logits [B, outputs] and rows T [B, outputs] (same dtype).
    pub fn loss(&self, logits: &Tensor, rows: &Tensor) -> Result<Tensor> {
        let z = match &self.logit_shift {
            Some(a) => {
                let a: Vec<f64> = a.clone();
                let a = Tensor::new(a, &[1, self.outputs])?.to_dtype(logits.dtype())?.to_device(&logits.device())?;
                logits.add(&a)?
            }
            None => logits.clone(),
        };
        z.cross_entropy_soft(rows)
    }
}

/// Class weights n / (K n_c) of class counts (a class with no images gets weight 0).
pub fn balanced_weights(counts: &[usize]) -> Vec<f64> {
    let n: usize = counts.iter().sum();
    let k = counts.len() as f64;
    counts.iter().map(|&c| if c == 0 { 0.0 } else { n as f64 / (k * c as f64) }).collect()
}

/// log π_c of class counts (logit adjustment).
pub fn log_prior(counts: &[usize]) -> Vec<f64> {
    let n: usize = counts.iter().sum();
    counts.iter().map(|&c| (c.max(1) as f64 / n as f64).ln()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use minmax_engine::gradcheck::{gradcheck, GradcheckOpts};
    use minmax_engine::DType;

    fn f64_rows(loss: &Loss, targets: &[Target], predicted: &[usize], on: bool) -> Tensor {
        let r: Vec<f64> = loss.rows(targets, predicted, on).into_iter().map(f64::from).collect();
        Tensor::new(r, &[targets.len(), loss.outputs]).unwrap()
    }

    #[test]
    fn lsro_loss_and_gradient_match_a_hand_computed_case() -> Result<()> {
        // Two images, three classes: a real image of class 0 and a generated one.
        let z = [[1.0f64, 2.0, 0.5], [0.0, -1.0, 3.0]];
        let loss = Loss::plain(3);
        let rows = f64_rows(&loss, &[Target::Class(0), Target::Uniform], &[0, 0], true);
        let logits = Tensor::new(z.concat(), &[2, 3])?;
        logits.set_requires_grad(true);
        let l = loss.loss(&logits, &rows)?;

        let log_softmax = |r: [f64; 3]| {
            let lse = r.iter().map(|v| v.exp()).sum::<f64>().ln();
            r.map(|v| v - lse)
        };
        let (a, b) = (log_softmax(z[0]), log_softmax(z[1]));
        // −(1 − 0) log p(0) for the real image; −(1/3) Σ_k log p(k) for the generated one; mean of 2.
        // (The rows are built in f32, so 1/3 is f32's nearest value.)
        let third = (1.0f32 / 3.0) as f64;
        let want = (-a[0] - third * (b[0] + b[1] + b[2])) / 2.0;
        assert!((l.item()? - want).abs() < 1e-12, "{} vs {want}", l.item()?);

        l.backward()?;
        let g = logits.grad().unwrap().to_vec::<f64>()?;
        // ∂L/∂z = (softmax(z) · Σ_c T[i, c] − T[i]) / B  (= softmax − T when the row sums to 1)
        let t = [[1.0, 0.0, 0.0], [third; 3]];
        for (i, (lp, ti)) in [a, b].iter().zip(t).enumerate() {
            let mass: f64 = ti.iter().sum();
            for c in 0..3 {
                let want = (lp[c].exp() * mass - ti[c]) / 2.0;
                assert!((g[i * 3 + c] - want).abs() < 1e-12, "grad [{i}, {c}]: {} vs {want}", g[i * 3 + c]);
            }
        }
        Ok(())
    }

    #[test]
    fn every_arms_loss_passes_gradcheck() -> Result<()> {
        let targets = [Target::Class(1), Target::Uniform, Target::Pseudo, Target::Class(0)];
        let arms = [
            Loss::plain(3),
            Loss { class_weight: Some(balanced_weights(&[30, 10, 5])), ..Loss::plain(3) },
            Loss { logit_shift: Some(log_prior(&[30, 10, 5])), ..Loss::plain(3) },
            Loss { pseudo_weight: 0.1, ..Loss::plain(3) },
        ];
        let x = Tensor::randn(&[4, 3], &mut minmax_engine::Generator::new(5)).to_dtype(DType::F64)?;
        x.set_requires_grad(true);
        for loss in arms {
            let rows = f64_rows(&loss, &targets, &[0, 0, 2, 0], true);
            let f = |v: &[Tensor]| loss.loss(&v[0], &rows);
            gradcheck(&f, std::slice::from_ref(&x), &GradcheckOpts::default())?.ok()?;
        }
        // All-in-one: 4 outputs, the generated image's row is one-hot(3).
        let aio = Loss { outputs: 4, ..Loss::plain(3) };
        assert_eq!(aio.rows(&[Target::Extra, Target::Class(2)], &[0, 0], false), vec![0., 0., 0., 1., 0., 0., 1., 0.]);
        Ok(())
    }

    #[test]
    fn rows_weights_and_priors() {
        let w = balanced_weights(&[30, 10, 5, 0]);
        // n = 45, K = 4: 45/120, 45/40, 45/20, 0
        assert_eq!(w, vec![0.375, 1.125, 2.25, 0.0]);
        let cw = Loss { class_weight: Some(vec![0.5, 2.0]), pseudo_weight: 0.1, ..Loss::plain(2) };
        let r = cw.rows(&[Target::Class(1), Target::Pseudo, Target::Pseudo], &[0, 1, 0], true);
        assert_eq!(r, vec![0.0, 2.0, 0.0, 0.1, 0.1, 0.0]);
        // Before pseudo-labels switch on, a generated image contributes nothing.
        assert_eq!(cw.rows(&[Target::Pseudo], &[1], false), vec![0.0, 0.0]);
        let lp = log_prior(&[3, 1]);
        assert!((lp[0] - 0.75f64.ln()).abs() < 1e-15 && (lp[1] - 0.25f64.ln()).abs() < 1e-15);
    }
}
