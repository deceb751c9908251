//! The context encoder (Pathak, Krähenbühl, Donahue, Darrell & Efros 2016, "Context encoders:
//! feature learning by inpainting") at 28×28: an encoder–decoder that sees an image whose centre
//! 14×14 square is blanked and paints the square from its surroundings, trained on the masked L2
//! alone or on L2 plus an adversarial term. The paper's loss (its eqs. 1–3), written out:
//!
//! ```text
//! L_rec = ‖M̂ ⊙ (x − F((1 − M̂) ⊙ x))‖²₂                 (M̂ = 1 on the region F paints)
//! L_adv = max_D  E[log D(x_M)] + E[log(1 − D(F((1 − M̂) ⊙ x)))]
//! L     = λ_rec · L_rec + λ_adv · L_adv,   λ_rec = 0.999, λ_adv = 0.001
//! ```
//!
//! As in the authors' released code (`train.lua`): F paints the hole and a band of `OVERLAP`
//! pixels around it (the band is visible in the input, so painting it ties the fill to its
//! border), the band's L2 weighs 10 times the hole's, the blanked pixels are filled with the
//! training images' mean pixel value, D judges the painted region alone (real: the same region of
//! real images), G's learning rate is 10 times D's, Adam with β₁ = 0.5, and G takes the
//! non-saturating BCE(D(F(·)), 1) for its adversarial term.
//!
//! Shapes (B = batch; images in [−1, 1]; the painted region is the centre 16×16: the 14×14 hole
//! and a 1-pixel band):
//!
//! ```text
//! F (encoder): x [B, 1, 28, 28] → LReLU(Conv 4×4 s2)            [B, 32, 14, 14]
//!              → LReLU(BN(Conv 4×4 s2))                          [B, 64, 7, 7]
//!              → LReLU(BN(Conv 3×3 s2))                          [B, 128, 4, 4]
//!              → LReLU(BN(Conv 4×4))                             [B, 256, 1, 1]   (the bottleneck)
//! F (decoder): → ReLU(BN(ConvT 4×4))                             [B, 128, 4, 4]
//!              → ReLU(BN(ConvT 4×4 s2))                          [B, 64, 8, 8]
//!              → tanh(ConvT 4×4 s2)                              [B, 1, 16, 16]   (the painted region)
//! D:           region [B, 1, 16, 16] → LReLU(Conv 4×4 s2) [B, 32, 8, 8]
//!              → LReLU(BN(Conv 4×4 s2)) [B, 64, 4, 4] → Conv 4×4 → a logit [B, 1]
//! ```
//!
//! Departures, for 28×28 and a CPU: a 256-unit bottleneck (4000 in the paper), 32–128 channels
//! (64–512), a 1-pixel band (4 of 64 in the code), DCGAN's N(0, 0.02) initialisation.

use minmax_engine::nn::{prefixed, BatchNorm2d, Conv2d, ConvTranspose2d, Module};
use minmax_engine::optim::Adam;
use minmax_engine::{no_grad, Device, Error, Generator as Rng, Result, Tensor};

use crate::models::images::dcgan::dcgan_init as init;
use crate::train::{update, StepStats};

/// Side of the blanked centre square.
pub const HOLE: usize = 14;
/// Width of the band around the hole that F paints too.
pub const OVERLAP: usize = 1;
/// Side of the painted region: the hole and its band.
pub const REGION: usize = HOLE + 2 * OVERLAP;
/// First row (and column) of the hole, and of the painted region, in a 28×28 image.
pub const HOLE_AT: usize = (28 - HOLE) / 2;
pub const REGION_AT: usize = HOLE_AT - OVERLAP;
/// The band's L2 weight relative to the hole's (the code's overlapL2Weight).
pub const OVERLAP_WEIGHT: f64 = 10.0;
/// λ_rec and λ_adv.
pub const LAMBDA_REC: f64 = 0.999;
pub const LAMBDA_ADV: f64 = 0.001;
/// D's learning rate; G's is ten times it (the paper's, and the code's for the joint loss).
pub const LR_D: f64 = 2e-4;
pub const LR_G: f64 = 10.0 * LR_D;
pub const BETAS: (f64, f64) = (0.5, 0.999);

/// The per-pixel weights of L_rec over the painted region [1, 1, REGION, REGION], normalised to
/// mean 1: 1 in the hole, [`OVERLAP_WEIGHT`] on the band.
pub fn region_weights() -> Result<Tensor> {
    let mut w = vec![OVERLAP_WEIGHT as f32; REGION * REGION];
    for y in OVERLAP..OVERLAP + HOLE {
        w[y * REGION + OVERLAP..y * REGION + OVERLAP + HOLE].iter_mut().for_each(|v| *v = 1.0);
    }
    let mean = w.iter().sum::<f32>() / w.len() as f32;
    Tensor::new(w.into_iter().map(|v| v / mean).collect(), &[1, 1, REGION, REGION])
}

/// The painted region of images [B, 1, 28, 28]: [B, 1, REGION, REGION].
pub fn region_of(images: &Tensor) -> Result<Tensor> {
    images.narrow(2, REGION_AT, REGION)?.narrow(3, REGION_AT, REGION)
}

pub struct Encoder {
    c1: Conv2d,
    c2: Conv2d,
    bn2: BatchNorm2d,
    c3: Conv2d,
    bn3: BatchNorm2d,
    c4: Conv2d,
    bn4: BatchNorm2d,
    t1: ConvTranspose2d,
    bn5: BatchNorm2d,
    t2: ConvTranspose2d,
    bn6: BatchNorm2d,
    t3: ConvTranspose2d,
}

impl Encoder {
    pub fn new(rng: &mut Rng) -> Result<Self> {
        let f = Encoder {
            c1: Conv2d::new(1, 32, 4, 2, 1, true, rng)?,
            c2: Conv2d::new(32, 64, 4, 2, 1, false, rng)?,
            bn2: BatchNorm2d::new(64),
            c3: Conv2d::new(64, 128, 3, 2, 1, false, rng)?,
            bn3: BatchNorm2d::new(128),
            c4: Conv2d::new(128, 256, 4, 1, 0, false, rng)?,
            bn4: BatchNorm2d::new(256),
            t1: ConvTranspose2d::new(256, 128, 4, 1, 0, 0, false, rng)?,
            bn5: BatchNorm2d::new(128),
            t2: ConvTranspose2d::new(128, 64, 4, 2, 1, 0, false, rng)?,
            bn6: BatchNorm2d::new(64),
            t3: ConvTranspose2d::new(64, 1, 4, 2, 1, 0, true, rng)?,
        };
        init(&f, rng)?;
        Ok(f)
    }
    fn bns(&self) -> [(&'static str, &BatchNorm2d); 5] {
        [("bn2", &self.bn2), ("bn3", &self.bn3), ("bn4", &self.bn4), ("bn5", &self.bn5), ("bn6", &self.bn6)]
    }
}

impl Module for Encoder {
    /// The image with its hole filled [B, 1, 28, 28] → the painted region [B, 1, 16, 16].
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let h = self.c1.forward(x)?.leaky_relu(0.2)?; // [B, 32, 14, 14]
        let h = self.bn2.forward(&self.c2.forward(&h)?)?.leaky_relu(0.2)?; // [B, 64, 7, 7]
        let h = self.bn3.forward(&self.c3.forward(&h)?)?.leaky_relu(0.2)?; // [B, 128, 4, 4]
        let z = self.bn4.forward(&self.c4.forward(&h)?)?.leaky_relu(0.2)?; // [B, 256, 1, 1]
        let h = self.bn5.forward(&self.t1.forward(&z)?)?.relu()?; // [B, 128, 4, 4]
        let h = self.bn6.forward(&self.t2.forward(&h)?)?.relu()?; // [B, 64, 8, 8]
        self.t3.forward(&h)?.tanh() // [B, 1, 16, 16]
    }
    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        let mut v = prefixed("c1", self.c1.named_parameters());
        v.extend(prefixed("c2", self.c2.named_parameters()));
        v.extend(prefixed("c3", self.c3.named_parameters()));
        v.extend(prefixed("c4", self.c4.named_parameters()));
        v.extend(prefixed("t1", self.t1.named_parameters()));
        v.extend(prefixed("t2", self.t2.named_parameters()));
        v.extend(prefixed("t3", self.t3.named_parameters()));
        for (n, bn) in self.bns() {
            v.extend(prefixed(n, bn.named_parameters()));
        }
        v
    }
    fn named_buffers(&self) -> Vec<(String, Tensor)> {
        self.bns().into_iter().flat_map(|(n, bn)| prefixed(n, bn.named_buffers())).collect()
    }
    fn set_training(&self, on: bool) {
        self.bns().iter().for_each(|(_, bn)| bn.set_training(on));
    }
}

pub struct RegionD {
    c1: Conv2d,
    c2: Conv2d,
    bn: BatchNorm2d,
    c3: Conv2d,
}

impl RegionD {
    pub fn new(rng: &mut Rng) -> Result<Self> {
        let d = RegionD {
            c1: Conv2d::new(1, 32, 4, 2, 1, true, rng)?,
            c2: Conv2d::new(32, 64, 4, 2, 1, false, rng)?,
            bn: BatchNorm2d::new(64),
            c3: Conv2d::new(64, 1, 4, 1, 0, true, rng)?,
        };
        init(&d, rng)?;
        Ok(d)
    }
}

impl Module for RegionD {
    /// A region [B, 1, 16, 16] → logits [B, 1].
    fn forward(&self, r: &Tensor) -> Result<Tensor> {
        let h = self.c1.forward(r)?.leaky_relu(0.2)?; // [B, 32, 8, 8]
        let h = self.bn.forward(&self.c2.forward(&h)?)?.leaky_relu(0.2)?; // [B, 64, 4, 4]
        self.c3.forward(&h)?.flatten(1, 3) // [B, 1]
    }
    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        let mut v = prefixed("c1", self.c1.named_parameters());
        v.extend(prefixed("c2", self.c2.named_parameters()));
        v.extend(prefixed("bn", self.bn.named_parameters()));
        v.extend(prefixed("c3", self.c3.named_parameters()));
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

/// L_rec: the weighted mean of (x − F(·))² over the painted region ([`region_weights`]).
pub fn rec_loss(painted: &Tensor, real_region: &Tensor, weights: &Tensor) -> Result<Tensor> {
    painted.sub(real_region)?.sqr()?.mul(weights)?.mean_all()
}

/// D's loss BCE(D(real region), 1) + BCE(D(painted), 0).
pub fn d_loss(real_logits: &Tensor, fake_logits: &Tensor) -> Result<Tensor> {
    real_logits
        .bce_with_logits(&real_logits.ones_like()?)?
        .add(&fake_logits.bce_with_logits(&fake_logits.zeros_like()?)?)
}

/// F's loss: L_rec alone (no logits), or λ_rec·L_rec + λ_adv·BCE(D(painted), 1).
pub fn g_loss(rec: &Tensor, fake_logits: Option<&Tensor>) -> Result<Tensor> {
    match fake_logits {
        Some(l) => rec.mul_scalar(LAMBDA_REC)?.add(&l.bce_with_logits(&l.ones_like()?)?.mul_scalar(LAMBDA_ADV)?),
        None => Ok(rec.clone()),
    }
}

// ---- The model and its training step ------------------------------------------------------------

pub struct ContextEncoder {
    pub f: Encoder,
    /// None for the L2-only arm.
    pub d: Option<RegionD>,
    weights: Tensor,
    opt_f: Adam,
    opt_d: Option<Adam>,
}

impl ContextEncoder {
    /// `adversarial`: the joint loss (with a D), else L2 alone.
    pub fn new(adversarial: bool, rng: &mut Rng, device: &Device) -> Result<Self> {
        let f = Encoder::new(rng)?;
        f.to_device(device)?;
        let d = if adversarial { Some(RegionD::new(rng)?) } else { None };
        if let Some(d) = &d {
            d.to_device(device)?;
        }
        let opt_f = Adam::new(f.parameters(), LR_G, BETAS)?;
        let opt_d = d.as_ref().map(|d| Adam::new(d.parameters(), LR_D, BETAS)).transpose()?;
        Ok(ContextEncoder { f, d, weights: region_weights()?.to_device(device)?, opt_f, opt_d })
    }

    /// One step on images with their hole filled (`holed`) and the whole images (`real`), both
    /// [B, 1, 28, 28] in [−1, 1]: D's update when there is a D, then F's.
    pub fn train_step(&mut self, holed: &Tensor, real: &Tensor) -> Result<StepStats> {
        if holed.shape() != real.shape() || holed.shape()[1..] != [1, 28, 28] {
            return Err(Error::msg(format!(
                "context encoder: inputs {:?} and targets {:?} must both be [B, 1, 28, 28]",
                holed.shape(),
                real.shape()
            )));
        }
        let painted = self.f.forward(holed)?; // [B, 1, 16, 16]
        let real_region = region_of(real)?;
        let mut stats = StepStats::default();
        let fake_logits = match (&self.d, &mut self.opt_d) {
            (Some(d), Some(opt_d)) => {
                let real_logits = d.forward(&real_region)?;
                let fake_detached = d.forward(&painted.detach())?;
                stats.d_loss = update(&d_loss(&real_logits, &fake_detached)?, &d.parameters(), opt_d)?;
                stats.d_real = real_logits.sigmoid()?.mean_all()?.item()?;
                stats.d_fake = fake_detached.sigmoid()?.mean_all()?.item()?;
                Some(d.forward(&painted)?)
            }
            _ => None,
        };
        let rec = rec_loss(&painted, &real_region, &self.weights)?;
        stats.g_loss = update(&g_loss(&rec, fake_logits.as_ref())?, &self.f.parameters(), &mut self.opt_f)?;
        Ok(stats)
    }

    /// F's painted region for `holed` [B, 1, 28, 28], in evaluation mode, without a graph.
    pub fn paint(&self, holed: &Tensor) -> Result<Tensor> {
        self.f.set_training(false);
        let out = no_grad(|| self.f.forward(holed));
        self.f.set_training(true);
        out
    }

    pub fn state_dict(&self) -> Vec<(String, Tensor)> {
        let mut v = prefixed("f", self.f.state_dict());
        if let Some(d) = &self.d {
            v.extend(prefixed("d", d.state_dict()));
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_weights_and_losses_match_a_hand_computed_case() {
        // 196 hole pixels of weight 1 and 60 band pixels of weight 10, normalised to mean 1.
        let w = region_weights().unwrap().to_vec::<f32>().unwrap();
        let mean = (196.0 + 600.0) / 256.0;
        assert_eq!(w.len(), 256);
        assert!((w[0] - 10.0 / mean).abs() < 1e-6 && (w[2 * 16 + 1] - 1.0 / mean).abs() < 1e-6);
        assert!((w.iter().sum::<f32>() / 256.0 - 1.0).abs() < 1e-5);
        // an error of 0.5 everywhere: L_rec = 0.25 whatever the weights (their mean is 1)
        let painted = Tensor::new(vec![0.5f32; 256], &[1, 1, 16, 16]).unwrap();
        let real = Tensor::zeros(&[1, 1, 16, 16]);
        let rec = rec_loss(&painted, &real, &region_weights().unwrap()).unwrap();
        assert!((rec.item().unwrap() - 0.25).abs() < 1e-6);
        // and an error on the band alone counts 10 times one in the hole
        let mut v = vec![0f32; 256];
        v[0] = 1.0;
        let band =
            rec_loss(&Tensor::new(v.clone(), &[1, 1, 16, 16]).unwrap(), &real, &region_weights().unwrap()).unwrap();
        v[0] = 0.0;
        v[8 * 16 + 8] = 1.0;
        let hole = rec_loss(&Tensor::new(v, &[1, 1, 16, 16]).unwrap(), &real, &region_weights().unwrap()).unwrap();
        assert!((band.item().unwrap() / hole.item().unwrap() - 10.0).abs() < 1e-4);
        // joint: 0.999·0.25 + 0.001·ln 2 for logit 0
        let zero = Tensor::zeros(&[1, 1]);
        let g = g_loss(&rec, Some(&zero)).unwrap().item().unwrap();
        assert!((g - 0.999 * 0.25 - 0.001 * std::f64::consts::LN_2).abs() < 1e-6, "{g}");
        assert!((d_loss(&zero, &zero).unwrap().item().unwrap() - 2.0 * std::f64::consts::LN_2).abs() < 1e-6);
    }

    #[test]
    fn shapes_and_training() {
        let mut rng = Rng::new(5);
        let real = Tensor::randn(&[8, 1, 28, 28], &mut rng).tanh().unwrap();
        assert_eq!(region_of(&real).unwrap().shape(), &[8, 1, 16, 16]);
        let (holed, _) = crate::data::paired::centre_hole(&real.to_vec::<f32>().unwrap(), 28, 28, HOLE, 0.0).unwrap();
        let holed = Tensor::new(holed, &[8, 1, 28, 28]).unwrap();
        let mut m = ContextEncoder::new(false, &mut rng, &Device::Cpu).unwrap();
        let first = m.train_step(&holed, &real).unwrap().g_loss;
        let mut last = first;
        for _ in 0..40 {
            last = m.train_step(&holed, &real).unwrap().g_loss;
        }
        assert!(last < 0.8 * first, "L2 {first} → {last}");
        assert_eq!(m.paint(&holed).unwrap().shape(), &[8, 1, 16, 16]);
        let mut j = ContextEncoder::new(true, &mut rng, &Device::Cpu).unwrap();
        let s = j.train_step(&holed, &real).unwrap();
        assert!(s.d_loss.is_finite() && (0.0..=1.0).contains(&s.d_real));
        let e = j.train_step(&holed.narrow(2, 0, 27).unwrap(), &real).unwrap_err().to_string();
        assert!(e.contains("[8, 1, 27, 28]"), "{e}");
    }
}
