//! Minibatch discrimination (Salimans et al. 2016, "Improved Techniques for Training GANs",
//! §3.2) on a toy mixture: D sees how close each sample is to the others of its minibatch, so a G
//! that puts many samples on one mode makes batches D can tell apart from real ones.
//!
//! D's hidden features f(xᵢ) ∈ ℝ^H are multiplied by a learned tensor T ∈ ℝ^{H×B×C} into B rows
//! of C numbers, Mᵢ = f(xᵢ)·T ∈ ℝ^{B×C}; each row b compares sample i with every other sample j
//! of the same minibatch,
//!
//! ```text
//! c_b(xᵢ, xⱼ) = exp(−‖M_{i,b} − M_{j,b}‖₁),     o(xᵢ)_b = Σ_{j ≠ i} c_b(xᵢ, xⱼ) + β_b
//! ```
//!
//! and D's last layer reads [f(xᵢ), o(xᵢ)] ∈ ℝ^{H+B}. As in the authors' code (the
//! `MinibatchLayer` of openai/improved-gan): sample i is left out of its own sum, a learned bias
//! β_b starts at −1, T starts N(0, 0.05²), C = 5 numbers per row, and real and generated samples
//! go through D in separate minibatches. Their layer also weight-normalises T with a data-based
//! initialisation and uses B = 100 rows on CIFAR-10 with minibatches of 100; here T is a plain
//! parameter, B = 8, and each sample is compared with the others of its group of 64 (a D pass
//! costs N·64·B·C numbers, N = the batch; comparing all 256 of the lab's batch cost 133 ms per
//! iteration, 33 times the vanilla GAN's).
//!
//! The losses are the vanilla GAN's (non-saturating G), one D step then one G step per iteration
//! with Adam, one batch of G's samples for both (detached for D's step).
//!
//! Shapes: N = batch, Z = noise dim, X = data dim, H = hidden width, B = rows, C = their length.
//!
//! ```text
//! G: z [N, Z] → Linear → ReLU [N, H] → Linear → ReLU [N, H] → Linear → x̃ [N, X]
//! D: x [N, X] → Linear → LeakyReLU(0.2) [N, H] → Linear → LeakyReLU(0.2) = f [N, H]
//!    f·T → M [N, B, C] → pairwise L1 within groups [N, 64, B] → o [N, B];  [f, o] [N, H + B] → Linear → logit [N, 1]
//! ```

use minmax_engine::nn::init::{self, Init};
use minmax_engine::optim::Adam;
use minmax_engine::{no_grad, Device, Generator as Rng, Result, Tensor};

use super::nets::Mlp;
use super::{Common, Mixture, ToyGan};
use crate::train::{update, Gan, StepStats};

/// Rows B of the minibatch layer.
pub const ROWS: usize = 8;
/// Numbers C per row (the authors' `dim_per_kernel`).
pub const ROW_DIM: usize = 5;
/// Samples compared with one another: the lab's batch of 256 is four minibatches of 64 for the
/// minibatch layer (the authors' batch was 100), which keeps a D pass at 4·64²·B·C numbers.
pub const GROUP: usize = 64;
/// Generated samples the decision surface compares each point with (one group).
const SURFACE_BATCH: usize = GROUP;

/// o[i, b] = Σ_{j ≠ i} exp(−‖m[i, b] − r[j, b]‖₁) for m [N, B, C] against r [R, B, C], where r = m
/// (a minibatch against itself; `self_pairs` subtracts each sample's own term, exp(0) = 1) or r is
/// another batch (`self_pairs` false). → [N, B].
pub fn closeness(m: &Tensor, r: &Tensor, self_pairs: bool) -> Result<Tensor> {
    let l1 = m.unsqueeze(1)?.sub(&r.unsqueeze(0)?)?.abs()?.sum(&[3], false)?; // [N, R, B]
    let o = l1.neg()?.exp()?.sum(&[1], false)?; // [N, B]
    if self_pairs {
        o.add_scalar(-1.0)
    } else {
        Ok(o)
    }
}

/// D: hidden features, the minibatch layer's T and β, and the last layer.
pub struct MinibatchD {
    /// x [N, X] → f before its last activation [N, H] (`Mlp` ends in a linear layer).
    pub features: Mlp,
    /// T [H, B·C].
    pub t: Tensor,
    /// β [B].
    pub beta: Tensor,
    /// [N, H + B] → logit [N, 1].
    pub head: Mlp,
}

impl MinibatchD {
    fn new(cfg: &Common, x_dim: usize, rng: &mut Rng) -> Result<Self> {
        let mut sizes = vec![x_dim];
        sizes.extend(std::iter::repeat_n(cfg.d_hidden, cfg.d_layers));
        let mut features = Mlp::with(&sizes, cfg.d_act, cfg.d_extra, rng)?;
        features.input_scale = cfg.d_input_scale;
        let features = cfg.on_device(features)?;
        let t = init::make(&[cfg.d_hidden, ROWS * ROW_DIM], Init::Normal(0.0, 0.05), rng)?
            .to_device(&cfg.device)?
            .requires_grad_();
        let beta = Tensor::full(&[ROWS], -1.0).to_device(&cfg.device)?.requires_grad_();
        let head = cfg.on_device(Mlp::new(&[cfg.d_hidden + ROWS, 1], cfg.d_act, rng)?)?;
        Ok(MinibatchD { features, t, beta, head })
    }
    /// Every trainable tensor of D.
    pub fn params(&self) -> Vec<Tensor> {
        let mut p = self.features.params.clone();
        p.extend([self.t.clone(), self.beta.clone()]);
        p.extend(self.head.params.iter().cloned());
        p
    }
    /// f [N, H] and M [N, B, C] of x [N, X].
    fn rows(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        let f = self.features.act.apply(&self.features.forward(x)?)?; // [N, H]
        let m = f.matmul(&self.t)?.view(&[x.shape()[0], ROWS, ROW_DIM])?; // [N, B, C]
        Ok((f, m))
    }
    /// The last layer on [f, o + β].
    fn logit(&self, f: &Tensor, o: &Tensor) -> Result<Tensor> {
        self.head.forward(&Tensor::cat(&[f, &o.add(&self.beta.view(&[1, ROWS])?)?], 1)?)
    }
    /// Logits [N, 1] of x [N, X], each sample compared with the others of its group of `GROUP`
    /// (the last group takes what is left).
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (f, m) = self.rows(x)?;
        let n = x.shape()[0];
        let groups: Vec<Tensor> = (0..n)
            .step_by(GROUP)
            .map(|at| {
                let g = m.narrow(0, at, GROUP.min(n - at))?;
                closeness(&g, &g, true)
            })
            .collect::<Result<_>>()?;
        self.logit(&f, &Tensor::cat(&groups.iter().collect::<Vec<_>>(), 0)?)
    }
}

pub struct MinibatchGan {
    pub cfg: Common,
    pub g: Mlp,
    pub disc: MinibatchD,
    opt_g: Adam,
    opt_d: Adam,
}

impl MinibatchGan {
    pub fn new(cfg: Common, x_dim: usize, rng: &mut Rng) -> Result<Self> {
        let g = cfg.generator(x_dim, rng)?; // z [N, Z] → [N, X]
        let disc = MinibatchD::new(&cfg, x_dim, rng)?; // x [N, X] → logit [N, 1]
        let opt_g = Adam::new(g.params.clone(), cfg.lr_g, cfg.betas)?;
        let opt_d = Adam::new(disc.params(), cfg.lr_d, cfg.betas)?;
        Ok(MinibatchGan { cfg, g, disc, opt_g, opt_d })
    }
}

impl Gan for MinibatchGan {
    type Data = Mixture;

    fn sample(&self, n: usize, rng: &mut Rng) -> Result<Tensor> {
        super::sample_generator(&self.g, self.cfg.z_dim, n, rng)
    }
    /// `generator.*`, `discriminator.*` (the feature layers), then the minibatch layer and D's
    /// last layer.
    fn state_dict(&self) -> Vec<(String, Tensor)> {
        let mut v = super::state_dict(&self.g, &self.disc.features);
        v.push(("discriminator.minibatch.t".into(), self.disc.t.clone()));
        v.push(("discriminator.minibatch.beta".into(), self.disc.beta.clone()));
        v.extend(minmax_engine::nn::prefixed(
            "discriminator.head",
            minmax_engine::nn::Module::named_parameters(&self.disc.head),
        ));
        v
    }

    fn train_step(&mut self, data: &Mixture, rng: &mut Rng) -> Result<StepStats> {
        let b = self.cfg.batch_size;
        let ones = self.cfg.target(b, 1.0)?;
        let zeros = self.cfg.target(b, 0.0)?;
        let x = self.cfg.batch(data, b, rng)?; // [N, X]
        let fake = self.g.forward(&self.cfg.noise(b, rng)?)?; // [N, X]

        // (1) update D: maximise log D(x) + log(1 − D(G(z))), real and generated samples in
        //     separate minibatches (each compared only with its own kind)
        let d_real = self.disc.forward(&x)?; // [N, 1]
        let d_fake = self.disc.forward(&fake.detach())?; // [N, 1]
        let loss_d = d_real.bce_with_logits(&ones)?.add(&d_fake.bce_with_logits(&zeros)?)?;
        let d_loss = update(&loss_d, &self.disc.params(), &mut self.opt_d)?;

        // (2) update G (non-saturating): samples that sit close together now raise D's
        //     closeness features, which D has learned to read as "generated"
        let loss_g = self.disc.forward(&fake)?.bce_with_logits(&ones)?;
        let g_loss = update(&loss_g, &self.g.params, &mut self.opt_g)?; // D frozen

        Ok(StepStats { d_loss, g_loss, d_real: super::mean_prob(&d_real)?, d_fake: super::mean_prob(&d_fake)? })
    }
}

impl ToyGan for MinibatchGan {
    fn parts(&self) -> super::Parts<'_> {
        super::Parts { cfg: &self.cfg, g: &self.g, d: &self.disc.features }
    }
    fn optimizers(&mut self) -> (&mut Adam, &mut Adam) {
        (&mut self.opt_g, &mut self.opt_d)
    }

    /// D(x) for a point x put into a minibatch of 64 of G's current samples (drawn with seed 0):
    /// o(x) compares x with those samples. D judges batches, so a point has no score alone.
    fn surface(&self, x: &Tensor) -> Result<Tensor> {
        let x = x.to_device(&self.cfg.device)?;
        no_grad(|| {
            let others = self.sample(SURFACE_BATCH, &mut Rng::new(0))?.to_device(&self.cfg.device)?;
            let (_, mr) = self.disc.rows(&others)?; // [R, B, C]
            let mut out = Vec::new();
            for start in (0..x.shape()[0]).step_by(SURFACE_BATCH) {
                let len = SURFACE_BATCH.min(x.shape()[0] - start);
                let (f, m) = self.disc.rows(&x.narrow(0, start, len)?)?;
                let p = self.disc.logit(&f, &closeness(&m, &mr, false)?)?.sigmoid()?; // [len, 1]
                out.push(p.flatten(0, -1)?.to_device(&Device::Cpu)?);
            }
            Tensor::cat(&out.iter().collect::<Vec<_>>(), 0)
        })
    }

    fn describe(&self) -> serde_json::Value {
        serde_json::json!({
            "model": "minibatch discrimination", "g_loss": "non-saturating", "common": self.cfg.to_json(),
            "G": self.g.describe(), "D_features": self.disc.features.describe(),
            "minibatch_layer": {"rows_B": ROWS, "row_dim_C": ROW_DIM, "T_init": "N(0, 0.05²)", "beta_init": -1.0,
                                "self_pair": "excluded", "weight_norm": false},
            "D_head": self.disc.head.describe(), "d_steps_per_g_step": 1,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// closeness on a worked case: B = 1, C = 2, three samples (0, 0), (1, 0), (0, 2):
    /// L1 distances 1, 2 and 3, so o = [e⁻¹ + e⁻², e⁻¹ + e⁻³, e⁻² + e⁻³]; against another batch
    /// every pair counts.
    #[test]
    fn closeness_matches_a_hand_computed_case() {
        let m = Tensor::from_slice(&[0.0f64, 0.0, 1.0, 0.0, 0.0, 2.0], &[3, 1, 2]).unwrap();
        let o = closeness(&m, &m, true).unwrap().to_vec::<f64>().unwrap();
        let e = |d: f64| (-d).exp();
        let want = [e(1.0) + e(2.0), e(1.0) + e(3.0), e(2.0) + e(3.0)];
        for (a, b) in o.iter().zip(want) {
            assert!((a - b).abs() < 1e-15, "{o:?} vs {want:?}");
        }
        let r = Tensor::from_slice(&[1.0f64, 1.0], &[1, 1, 2]).unwrap(); // (1, 1): distances 2, 1, 2
        let o = closeness(&m, &r, false).unwrap().to_vec::<f64>().unwrap();
        for (a, b) in o.iter().zip([e(2.0), e(1.0), e(2.0)]) {
            assert!((a - b).abs() < 1e-15);
        }
    }

    /// A collapsed batch (every sample the same) gets the largest closeness, B·(N − 1) in all,
    /// and D's input then differs from a spread-out batch's: what lets D see collapse.
    #[test]
    fn a_collapsed_batch_is_maximally_close() {
        let mut rng = Rng::new(1);
        let cfg = Common { d_hidden: 16, g_hidden: 16, ..Common::default() };
        let gan = MinibatchGan::new(cfg, 2, &mut rng).unwrap();
        let same = Tensor::full(&[6, 2], 0.5);
        let (_, m) = gan.disc.rows(&same).unwrap();
        let o = closeness(&m, &m, true).unwrap().to_vec::<f32>().unwrap();
        assert!(o.iter().all(|&v| (v - 5.0).abs() < 1e-5), "{o:?}");
        let spread = Tensor::randn(&[6, 2], &mut rng).mul_scalar(3.0).unwrap();
        let (_, m) = gan.disc.rows(&spread).unwrap();
        let o = closeness(&m, &m, true).unwrap().to_vec::<f32>().unwrap();
        assert!(o.iter().all(|&v| v < 5.0 - 1e-3), "{o:?}");
    }

    /// One training step moves every parameter of D (T and β included) and of G, with finite losses.
    #[test]
    fn a_step_trains_every_parameter() {
        let mut rng = Rng::new(2);
        let cfg = Common { d_hidden: 16, g_hidden: 16, batch_size: 32, ..Common::default() };
        let mut gan = MinibatchGan::new(cfg, 2, &mut rng).unwrap();
        let before: Vec<Vec<f32>> = gan.state_dict().iter().map(|(_, t)| t.to_vec::<f32>().unwrap()).collect();
        let data = Mixture::ring8();
        let s = gan.train_step(&data, &mut rng).unwrap();
        assert!(s.d_loss.is_finite() && s.g_loss.is_finite());
        for ((name, t), b) in gan.state_dict().iter().zip(before) {
            assert_ne!(t.to_vec::<f32>().unwrap(), b, "{name} did not move");
        }
        let surf = gan.surface(&Tensor::randn(&[300, 2], &mut rng)).unwrap().to_vec::<f32>().unwrap();
        assert!(surf.len() == 300 && surf.iter().all(|p| *p > 0.0 && *p < 1.0));
    }
}
