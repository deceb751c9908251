//! pix2pix (Isola, Zhu, Zhou & Efros 2017, "Image-to-image translation with conditional
//! adversarial networks") at 28×28: a U-Net generator that maps an input image x to an output
//! G(x), a PatchGAN discriminator that judges (input, output) pairs patch by patch, and an L1 term
//! that ties the output to the target y. The paper's objective (its eq. 4), written out:
//!
//! ```text
//! L_cGAN(G, D) = E[log D(x, y)] + E[log(1 − D(x, G(x)))]         (D's output averaged over patches)
//! L_L1(G)      = E ‖y − G(x)‖₁
//! G* = arg min_G max_D  L_cGAN(G, D) + λ · L_L1(G),   λ = 100
//! ```
//!
//! trained as the paper does (its section 3.3): D minimises ½ · [BCE(D(x, y), 1) + BCE(D(x, G(x)), 0)]
//! (the ½ slows D relative to G), and G the non-saturating BCE(D(x, G(x)), 1) + λ·L1; Adam with
//! lr 2·10⁻⁴, β = (0.5, 0.999). The paper's ablation (its Table 1) changes the objective:
//!
//! | `Objective` | G's loss | D sees |
//! |---|---|---|
//! | `L1`      | λ·L1 only (no D) | — |
//! | `Gan`     | BCE(D(G(x)), 1) | the output alone (an unconditional D) |
//! | `CGan`    | BCE(D(x, G(x)), 1) | the input and the output |
//! | `L1Gan`   | BCE(D(G(x)), 1) + λ·L1 | the output alone |
//! | `L1CGan`  | BCE(D(x, G(x)), 1) + λ·L1 | the input and the output (pix2pix) |
//!
//! and its Table 2 the discriminator's receptive field (`Patch`): 1×1 (a "PixelGAN", 1×1
//! convolutions only), 10×10 (two 4×4 stride-2 convolutions and a 1×1 one: a 7×7 grid of patch
//! scores, each seeing a 10×10 window — the analogue of the paper's 70×70 on 256×256 images) and
//! the full image (an "ImageGAN": the same two convolutions, then one linear score).
//!
//! Shapes (B = batch; images in [−1, 1]):
//!
//! ```text
//! G (U-Net):  x [B, 1, 28, 28] → e1 = LReLU(Conv 4×4 s2)            [B, 32, 14, 14]
//!             → e2 = LReLU(BN(Conv 4×4 s2))                          [B, 64, 7, 7]
//!             → b  = ReLU(BN(Conv 3×3 s1))                           [B, 64, 7, 7]
//!             → d1 = Dropout(ReLU(BN(ConvT 4×4 s2 (b ⊕ e2))))        [B, 32, 14, 14]
//!             → tanh(ConvT 4×4 s2 (d1 ⊕ e1))                         [B, 1, 28, 28]
//! D (10×10):  (x ⊕ y) [B, 2, 28, 28] (or y [B, 1, 28, 28]) → LReLU(Conv 4×4 s2) [B, 32, 14, 14]
//!             → LReLU(BN(Conv 4×4 s2)) [B, 64, 7, 7] → Conv 1×1 → logits [B, 1, 7, 7]
//! ```
//!
//! ⊕ is concatenation along channels: the U-Net's skip connections hand the encoder's features to
//! the decoder at the same resolution, so low-level structure (where the edges are) need not pass
//! through the bottleneck. Departures from the paper, for 28×28 images and a CPU: two down-sampling
//! steps instead of eight, 32–64 channels instead of 64–512, minibatches of 64 instead of 1, and
//! the usual test-time behaviour (batch norm's running statistics, no dropout) where the paper
//! keeps dropout and batch statistics at test time.

use minmax_engine::nn::{prefixed, BatchNorm2d, Conv2d, ConvTranspose2d, Dropout, Linear, Module};
use minmax_engine::optim::Adam;
use minmax_engine::{no_grad, Device, Error, Generator as Rng, Result, Tensor};

// N(0, 0.02) weights, N(1, 0.02) batch-norm scales, zero biases: pix2pix's initialisation is DCGAN's.
use crate::models::images::dcgan::dcgan_init as init;
use crate::train::{update, StepStats};

/// The weight of the L1 term (the paper's λ).
pub const LAMBDA: f64 = 100.0;
/// Adam's learning rate and betas (the paper's).
pub const LR: f64 = 2e-4;
pub const BETAS: (f64, f64) = (0.5, 0.999);

/// What G minimises and what D sees (module docs; the paper's Table 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Objective {
    L1,
    Gan,
    CGan,
    L1Gan,
    L1CGan,
}

impl Objective {
    pub const ALL: [Objective; 5] =
        [Objective::L1, Objective::Gan, Objective::CGan, Objective::L1Gan, Objective::L1CGan];
    pub fn name(self) -> &'static str {
        match self {
            Objective::L1 => "L1",
            Objective::Gan => "GAN",
            Objective::CGan => "cGAN",
            Objective::L1Gan => "L1+GAN",
            Objective::L1CGan => "L1+cGAN",
        }
    }
    pub fn has_l1(self) -> bool {
        matches!(self, Objective::L1 | Objective::L1Gan | Objective::L1CGan)
    }
    pub fn has_gan(self) -> bool {
        self != Objective::L1
    }
    /// D sees the input beside the output.
    pub fn conditional(self) -> bool {
        matches!(self, Objective::CGan | Objective::L1CGan)
    }
}

/// D's receptive field (the paper's Table 2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Patch {
    Pixel,
    Patch10,
    Image,
}

impl Patch {
    pub fn name(self) -> &'static str {
        match self {
            Patch::Pixel => "1×1",
            Patch::Patch10 => "10×10",
            Patch::Image => "28×28 (full image)",
        }
    }
}

// ---- G: the U-Net -------------------------------------------------------------------------------

pub struct UNet {
    e1: Conv2d,
    e2: Conv2d,
    bn_e2: BatchNorm2d,
    b: Conv2d,
    bn_b: BatchNorm2d,
    d1: ConvTranspose2d,
    bn_d1: BatchNorm2d,
    drop: Dropout,
    d2: ConvTranspose2d,
}

impl UNet {
    pub fn new(rng: &mut Rng) -> Result<Self> {
        let g = UNet {
            e1: Conv2d::new(1, 32, 4, 2, 1, true, rng)?,
            e2: Conv2d::new(32, 64, 4, 2, 1, false, rng)?,
            bn_e2: BatchNorm2d::new(64),
            b: Conv2d::new(64, 64, 3, 1, 1, false, rng)?,
            bn_b: BatchNorm2d::new(64),
            d1: ConvTranspose2d::new(64 + 64, 32, 4, 2, 1, 0, false, rng)?,
            bn_d1: BatchNorm2d::new(32),
            drop: Dropout::new(0.5, rng)?,
            d2: ConvTranspose2d::new(32 + 32, 1, 4, 2, 1, 0, true, rng)?,
        };
        init(&g, rng)?;
        Ok(g)
    }
}

impl Module for UNet {
    /// x [B, 1, 28, 28] in [−1, 1] → G(x) [B, 1, 28, 28] in [−1, 1].
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let e1 = self.e1.forward(x)?.leaky_relu(0.2)?; // [B, 32, 14, 14]
        let e2 = self.bn_e2.forward(&self.e2.forward(&e1)?)?.leaky_relu(0.2)?; // [B, 64, 7, 7]
        let b = self.bn_b.forward(&self.b.forward(&e2)?)?.relu()?; // [B, 64, 7, 7]
        let d1 = self.d1.forward(&Tensor::cat(&[&b, &e2], 1)?)?; // [B, 32, 14, 14]
        let d1 = self.drop.forward(&self.bn_d1.forward(&d1)?.relu()?)?;
        self.d2.forward(&Tensor::cat(&[&d1, &e1], 1)?)?.tanh() // [B, 1, 28, 28]
    }
    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        let mut v = prefixed("e1", self.e1.named_parameters());
        v.extend(prefixed("e2", self.e2.named_parameters()));
        v.extend(prefixed("bn_e2", self.bn_e2.named_parameters()));
        v.extend(prefixed("b", self.b.named_parameters()));
        v.extend(prefixed("bn_b", self.bn_b.named_parameters()));
        v.extend(prefixed("d1", self.d1.named_parameters()));
        v.extend(prefixed("bn_d1", self.bn_d1.named_parameters()));
        v.extend(prefixed("d2", self.d2.named_parameters()));
        v
    }
    fn named_buffers(&self) -> Vec<(String, Tensor)> {
        let mut v = prefixed("bn_e2", self.bn_e2.named_buffers());
        v.extend(prefixed("bn_b", self.bn_b.named_buffers()));
        v.extend(prefixed("bn_d1", self.bn_d1.named_buffers()));
        v
    }
    fn set_training(&self, on: bool) {
        for m in [&self.bn_e2 as &dyn Module, &self.bn_b, &self.bn_d1, &self.drop] {
            m.set_training(on);
        }
    }
}

// ---- D: the PatchGAN ----------------------------------------------------------------------------

enum Head {
    /// A 1×1 convolution: one logit per patch.
    Conv(Conv2d),
    /// A linear layer over the whole 64×7×7 map: one logit per image.
    Linear(Linear),
}

pub struct PatchD {
    pub patch: Patch,
    /// 2 when D sees (input, output), 1 when it sees the output alone.
    pub channels: usize,
    c1: Conv2d,
    c2: Conv2d,
    bn: BatchNorm2d,
    head: Head,
}

impl PatchD {
    pub fn new(patch: Patch, conditional: bool, rng: &mut Rng) -> Result<Self> {
        let channels = if conditional { 2 } else { 1 };
        let (c1, c2) = match patch {
            Patch::Pixel => (Conv2d::new(channels, 32, 1, 1, 0, true, rng)?, Conv2d::new(32, 64, 1, 1, 0, false, rng)?),
            _ => (Conv2d::new(channels, 32, 4, 2, 1, true, rng)?, Conv2d::new(32, 64, 4, 2, 1, false, rng)?),
        };
        let head = match patch {
            Patch::Image => Head::Linear(Linear::new(64 * 7 * 7, 1, rng)?),
            _ => Head::Conv(Conv2d::new(64, 1, 1, 1, 0, true, rng)?),
        };
        let d = PatchD { patch, channels, c1, c2, bn: BatchNorm2d::new(64), head };
        init(&d, rng)?;
        Ok(d)
    }

    /// The input x and the (real or generated) output y, both [B, 1, 28, 28] → patch logits:
    /// [B, 1, 28, 28] (1×1), [B, 1, 7, 7] (10×10) or [B, 1] (full image).
    pub fn score(&self, x: &Tensor, y: &Tensor) -> Result<Tensor> {
        let input = if self.channels == 2 { Tensor::cat(&[x, y], 1)? } else { y.clone() };
        let h = self.c1.forward(&input)?.leaky_relu(0.2)?;
        let h = self.bn.forward(&self.c2.forward(&h)?)?.leaky_relu(0.2)?;
        match &self.head {
            Head::Conv(c) => c.forward(&h),
            Head::Linear(l) => l.forward(&h.flatten(1, 3)?),
        }
    }
}

impl Module for PatchD {
    fn forward(&self, _: &Tensor) -> Result<Tensor> {
        Err(Error::msg("PatchD scores an (input, output) pair: call score(x, y)"))
    }
    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        let mut v = prefixed("c1", self.c1.named_parameters());
        v.extend(prefixed("c2", self.c2.named_parameters()));
        v.extend(prefixed("bn", self.bn.named_parameters()));
        v.extend(match &self.head {
            Head::Conv(c) => prefixed("head", c.named_parameters()),
            Head::Linear(l) => prefixed("head", l.named_parameters()),
        });
        v
    }
    fn named_buffers(&self) -> Vec<(String, Tensor)> {
        prefixed("bn", self.bn.named_buffers())
    }
    fn set_training(&self, on: bool) {
        self.bn.set_training(on);
    }
}

// ---- The losses, written out --------------------------------------------------------------------

/// D's loss ½·[BCE(D(x, y), 1) + BCE(D(x, G(x)), 0)] from its logits on real and generated pairs
/// (each BCE a mean over patches and images).
pub fn d_loss(real_logits: &Tensor, fake_logits: &Tensor) -> Result<Tensor> {
    let ones = real_logits.ones_like()?;
    let zeros = fake_logits.zeros_like()?;
    real_logits.bce_with_logits(&ones)?.add(&fake_logits.bce_with_logits(&zeros)?)?.mul_scalar(0.5)
}

/// G's loss: BCE(D(x, G(x)), 1) when the objective has a GAN term (`fake_logits`), plus λ·mean|y − G(x)|
/// when it has the L1 term.
pub fn g_loss(
    objective: Objective,
    lambda: f64,
    fake_logits: Option<&Tensor>,
    output: &Tensor,
    target: &Tensor,
) -> Result<Tensor> {
    let adv = match (objective.has_gan(), fake_logits) {
        (true, Some(l)) => Some(l.bce_with_logits(&l.ones_like()?)?),
        (true, None) => {
            return Err(Error::msg(format!("pix2pix: the {} objective needs D's logits", objective.name())))
        }
        (false, _) => None,
    };
    let l1 = if objective.has_l1() { Some(output.sub(target)?.abs()?.mean_all()?.mul_scalar(lambda)?) } else { None };
    match (adv, l1) {
        (Some(a), Some(l)) => a.add(&l),
        (Some(a), None) => Ok(a),
        (None, Some(l)) => Ok(l),
        (None, None) => unreachable!("every objective has a GAN or an L1 term"),
    }
}

// ---- The model and its training step ------------------------------------------------------------

pub struct Pix2Pix {
    pub objective: Objective,
    /// The weight λ of the L1 term.
    pub lambda: f64,
    pub patch: Patch,
    pub g: UNet,
    /// None for the L1-only objective.
    pub d: Option<PatchD>,
    opt_g: Adam,
    opt_d: Option<Adam>,
}

impl Pix2Pix {
    /// The model of `objective` with D's `patch` size and L1 weight `lambda` (the paper's [`LAMBDA`]).
    pub fn new(objective: Objective, patch: Patch, lambda: f64, rng: &mut Rng, device: &Device) -> Result<Self> {
        if !(lambda.is_finite() && lambda >= 0.0) {
            return Err(Error::msg(format!("pix2pix: the L1 weight λ = {lambda} must be a finite number ≥ 0")));
        }
        let g = UNet::new(rng)?;
        g.to_device(device)?;
        let d = if objective.has_gan() { Some(PatchD::new(patch, objective.conditional(), rng)?) } else { None };
        if let Some(d) = &d {
            d.to_device(device)?;
        }
        let opt_g = Adam::new(g.parameters(), LR, BETAS)?;
        let opt_d = d.as_ref().map(|d| Adam::new(d.parameters(), LR, BETAS)).transpose()?;
        Ok(Pix2Pix { objective, lambda, patch, g, d, opt_g, opt_d })
    }

    /// One training step on inputs x and targets y ([B, 1, 28, 28] in [−1, 1]): D's update (if
    /// the objective has one), then G's. `d_real`/`d_fake` are D's mean probabilities.
    pub fn train_step(&mut self, x: &Tensor, y: &Tensor) -> Result<StepStats> {
        let fake = self.g.forward(x)?; // [B, 1, 28, 28]
        let mut stats = StepStats::default();
        let fake_logits = match (&self.d, &mut self.opt_d) {
            (Some(d), Some(opt_d)) => {
                // (1) D: real pairs toward 1, generated ones (G frozen: detached) toward 0.
                let real_logits = d.score(x, y)?;
                let fake_detached = d.score(x, &fake.detach())?;
                stats.d_loss = update(&d_loss(&real_logits, &fake_detached)?, &d.parameters(), opt_d)?;
                stats.d_real = real_logits.sigmoid()?.mean_all()?.item()?;
                stats.d_fake = fake_detached.sigmoid()?.mean_all()?.item()?;
                // (2) G sees D after its step, as in the paper's alternating updates.
                Some(d.score(x, &fake)?)
            }
            _ => None,
        };
        let loss = g_loss(self.objective, self.lambda, fake_logits.as_ref(), &fake, y)?;
        stats.g_loss = update(&loss, &self.g.parameters(), &mut self.opt_g)?;
        Ok(stats)
    }

    /// G(x) in evaluation mode (running batch-norm statistics, no dropout), without a graph.
    pub fn translate(&self, x: &Tensor) -> Result<Tensor> {
        self.g.set_training(false);
        let out = no_grad(|| self.g.forward(x));
        self.g.set_training(true);
        out
    }

    /// G's and D's weights and buffers, by name (`g.` and `d.` prefixes).
    pub fn state_dict(&self) -> Vec<(String, Tensor)> {
        let mut v = prefixed("g", self.g.named_parameters());
        v.extend(prefixed("g", self.g.named_buffers()));
        if let Some(d) = &self.d {
            v.extend(prefixed("d", d.named_parameters()));
            v.extend(prefixed("d", d.named_buffers()));
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(v: &[f32], shape: &[usize]) -> Tensor {
        Tensor::new(v.to_vec(), shape).unwrap()
    }

    #[test]
    fn the_losses_match_a_hand_computed_case() {
        // Logits 0 everywhere: every BCE is ln 2, so D's loss is ½(ln 2 + ln 2) = ln 2.
        let zero = t(&[0.0; 4], &[1, 1, 2, 2]);
        let ln2 = std::f64::consts::LN_2;
        assert!((d_loss(&zero, &zero).unwrap().item().unwrap() - ln2).abs() < 1e-6);
        // Output 0.5 everywhere against a target of 0, 1, 0, 1: mean |y − G(x)| = 0.5, times λ.
        let out = t(&[0.5; 4], &[1, 1, 2, 2]);
        let target = t(&[0.0, 1.0, 0.0, 1.0], &[1, 1, 2, 2]);
        let l1 = g_loss(Objective::L1, LAMBDA, None, &out, &target).unwrap().item().unwrap();
        assert!((l1 - 0.5 * LAMBDA).abs() < 1e-4, "{l1}");
        // Logit 2 on the fake: BCE(2, 1) = ln(1 + e^−2).
        let two = t(&[2.0; 4], &[1, 1, 2, 2]);
        let adv = (1.0 + (-2.0f64).exp()).ln();
        let g = g_loss(Objective::CGan, LAMBDA, Some(&two), &out, &target).unwrap().item().unwrap();
        assert!((g - adv).abs() < 1e-6, "{g} vs {adv}");
        let both = g_loss(Objective::L1CGan, 10.0, Some(&two), &out, &target).unwrap().item().unwrap();
        assert!((both - adv - 0.5 * 10.0).abs() < 1e-5, "{both}");
        assert!(g_loss(Objective::Gan, LAMBDA, None, &out, &target).is_err(), "a GAN objective without D's logits");
    }

    #[test]
    fn shapes_follow_the_patch_size() {
        let mut rng = Rng::new(0);
        let x = Tensor::randn(&[2, 1, 28, 28], &mut rng);
        let g = UNet::new(&mut rng).unwrap();
        assert_eq!(g.forward(&x).unwrap().shape(), &[2, 1, 28, 28]);
        for (patch, shape) in
            [(Patch::Pixel, vec![2, 1, 28, 28]), (Patch::Patch10, vec![2, 1, 7, 7]), (Patch::Image, vec![2, 1])]
        {
            for cond in [false, true] {
                let d = PatchD::new(patch, cond, &mut rng).unwrap();
                assert_eq!(d.score(&x, &x).unwrap().shape(), shape.as_slice(), "{patch:?} conditional {cond}");
            }
        }
    }

    #[test]
    fn training_lowers_the_l1_loss() {
        // Learn the identity on a few random images with L1 only: the loss must fall.
        let mut rng = Rng::new(1);
        let x = Tensor::randn(&[8, 1, 28, 28], &mut rng).tanh().unwrap();
        let mut m = Pix2Pix::new(Objective::L1, Patch::Patch10, LAMBDA, &mut rng, &Device::Cpu).unwrap();
        let first = m.train_step(&x, &x).unwrap().g_loss;
        let mut last = first;
        for _ in 0..60 {
            last = m.train_step(&x, &x).unwrap().g_loss;
        }
        assert!(last < 0.75 * first, "L1 loss {first} → {last}");
        // and a step with a D runs and reports D's probabilities
        let mut m = Pix2Pix::new(Objective::L1CGan, Patch::Patch10, LAMBDA, &mut rng, &Device::Cpu).unwrap();
        let s = m.train_step(&x, &x).unwrap();
        assert!(s.d_loss.is_finite() && (0.0..=1.0).contains(&s.d_real) && (0.0..=1.0).contains(&s.d_fake));
        assert_eq!(m.translate(&x).unwrap().shape(), &[8, 1, 28, 28]);
    }
}
