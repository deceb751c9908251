//! SRGAN (Ledig et al. 2017, "Photo-realistic single image super-resolution using a generative
//! adversarial network") at 28×28: a residual generator that upscales a low-resolution image ×2
//! (14×14 → 28×28) or ×4 (7×7 → 28×28), trained first on the pixel-wise MSE alone (the paper's
//! **SRResNet**) and then, from those weights, with an adversarial term added (**SRGAN**). The
//! paper's perceptual loss (its eq. 3), written out:
//!
//! ```text
//! l_SR  = l_content + 10⁻³ · l_Gen
//! l_MSE = mean (I_HR − G(I_LR))²                        (the content loss of SRResNet and SRGAN-MSE)
//! l_Gen = Σ −log D(G(I_LR))                            (non-saturating: BCE(D(G(x)), 1))
//! D minimises BCE(D(I_HR), 1) + BCE(D(G(I_LR)), 0)
//! ```
//!
//! The paper's best content loss compares VGG-19 features (SRGAN-VGG54); here the content loss is
//! the MSE (the paper's SRGAN-MSE row), because the only trained feature network the project has at
//! 28×28 is the classifier that scores the outputs, and training on the yardstick would flatter
//! it. Adam with lr 10⁻⁴, β₁ = 0.9, as the paper.
//!
//! Shapes (B = batch, f = scale, h = 28 / f; images in [−1, 1]):
//!
//! ```text
//! G:  x [B, 1, h, h] → h0 = PReLU(Conv 3×3 (1 → 32))                     [B, 32, h, h]
//!     → 4 residual blocks: r + BN(Conv 3×3(PReLU(BN(Conv 3×3 r))))        [B, 32, h, h]
//!     → BN(Conv 3×3) + h0                                                  (the long skip)
//!     → log₂ f × [PReLU(PixelShuffle×2(Conv 3×3 (32 → 128)))]             [B, 32, 28, 28]
//!     → tanh(Conv 3×3 (32 → 1))                                            [B, 1, 28, 28]
//! D:  y [B, 1, 28, 28] → LReLU(Conv 3×3 (1 → 32))
//!     → LReLU(BN(Conv 3×3 s2 (32 → 32)))      [B, 32, 14, 14]
//!     → LReLU(BN(Conv 3×3 (32 → 64)))
//!     → LReLU(BN(Conv 3×3 s2 (64 → 64)))      [B, 64, 7, 7]
//!     → LReLU(Linear 3136 → 256) → Linear 256 → 1 (a logit)
//! ```
//!
//! The sub-pixel convolution (Shi et al. 2016) computes 4 sub-pixels per position with one
//! convolution and rearranges them: `pixel_shuffle` below, PyTorch's `nn.PixelShuffle(2)`.
//! Departures from the paper, for 28×28 and a CPU: 4 residual blocks of 32 channels instead of 16
//! of 64, 3×3 first and last convolutions instead of 9×9, a D of 4 convolutions instead of 8, and
//! PReLU with one slope per layer (PyTorch's default `nn.PReLU()`).

use minmax_engine::nn::{init, prefixed, BatchNorm2d, Conv2d, Linear, Module};
use minmax_engine::optim::Adam;
use minmax_engine::{no_grad, Device, Error, Generator as Rng, Result, Tensor};

use crate::train::{update, StepStats};

/// The weight of the adversarial term (the paper's 10⁻³).
pub const ADV_WEIGHT: f64 = 1e-3;
/// Adam's learning rate and betas (the paper's).
pub const LR: f64 = 1e-4;
pub const BETAS: (f64, f64) = (0.9, 0.999);
/// Channels of G's body.
const C: usize = 32;
/// Residual blocks in G.
const BLOCKS: usize = 4;

/// PixelShuffle(r): [B, C·r², H, W] → [B, C, H·r, W·r], out[b, c, h·r + i, w·r + j] =
/// in[b, c·r² + i·r + j, h, w] (PyTorch's `pixel_shuffle`), from reshapes and a permutation, so its
/// backward is theirs.
pub fn pixel_shuffle(x: &Tensor, r: usize) -> Result<Tensor> {
    let s = x.shape().to_vec();
    if s.len() != 4 || r == 0 || !s[1].is_multiple_of(r * r) {
        return Err(Error::msg(format!(
            "pixel_shuffle(r = {r}): input of shape {s:?}, expected [B, C·r², H, W] with the channels a multiple of r²"
        )));
    }
    let (b, c, h, w) = (s[0], s[1] / (r * r), s[2], s[3]);
    let v = |d: &[usize]| d.iter().map(|&x| x as isize).collect::<Vec<_>>();
    x.reshape(&v(&[b, c, r, r, h, w]))?.permute(&[0, 1, 4, 2, 5, 3])?.reshape(&v(&[b, c, h * r, w * r]))
}

/// PReLU with one learnable slope a for negative inputs: max(0, x) + a·min(0, x), a₀ = 0.25.
pub struct PRelu {
    pub weight: Tensor,
}

impl PRelu {
    pub fn new(rng: &mut Rng) -> Result<Self> {
        Ok(PRelu { weight: init::make(&[1], init::Init::Constant(0.25), rng)?.requires_grad_() })
    }
}

impl Module for PRelu {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        // relu(x) − a·relu(−x)
        x.relu()?.sub(&x.neg()?.relu()?.mul(&self.weight)?)
    }
    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        vec![("weight".to_string(), self.weight.clone())]
    }
}

// ---- G: SRResNet --------------------------------------------------------------------------------

struct Block {
    c1: Conv2d,
    bn1: BatchNorm2d,
    act: PRelu,
    c2: Conv2d,
    bn2: BatchNorm2d,
}

impl Block {
    fn new(rng: &mut Rng) -> Result<Self> {
        Ok(Block {
            c1: Conv2d::new(C, C, 3, 1, 1, false, rng)?,
            bn1: BatchNorm2d::new(C),
            act: PRelu::new(rng)?,
            c2: Conv2d::new(C, C, 3, 1, 1, false, rng)?,
            bn2: BatchNorm2d::new(C),
        })
    }
    fn forward(&self, r: &Tensor) -> Result<Tensor> {
        let h = self.act.forward(&self.bn1.forward(&self.c1.forward(r)?)?)?;
        r.add(&self.bn2.forward(&self.c2.forward(&h)?)?)
    }
    fn named(&self) -> Vec<(String, Tensor)> {
        let mut v = prefixed("c1", self.c1.named_parameters());
        v.extend(prefixed("bn1", self.bn1.named_parameters()));
        v.extend(prefixed("act", self.act.named_parameters()));
        v.extend(prefixed("c2", self.c2.named_parameters()));
        v.extend(prefixed("bn2", self.bn2.named_parameters()));
        v
    }
    fn buffers(&self) -> Vec<(String, Tensor)> {
        let mut v = prefixed("bn1", self.bn1.named_buffers());
        v.extend(prefixed("bn2", self.bn2.named_buffers()));
        v
    }
    fn set_training(&self, on: bool) {
        self.bn1.set_training(on);
        self.bn2.set_training(on);
    }
}

pub struct SrResNet {
    /// The upscaling factor, 2 or 4.
    pub scale: usize,
    head: Conv2d,
    head_act: PRelu,
    blocks: Vec<Block>,
    mid: Conv2d,
    bn_mid: BatchNorm2d,
    /// One (convolution, PReLU) per ×2 step.
    ups: Vec<(Conv2d, PRelu)>,
    tail: Conv2d,
}

impl SrResNet {
    pub fn new(scale: usize, rng: &mut Rng) -> Result<Self> {
        if scale != 2 && scale != 4 {
            return Err(Error::msg(format!("SRResNet: scale ×{scale} is not built (expected 2 or 4)")));
        }
        Ok(SrResNet {
            scale,
            head: Conv2d::new(1, C, 3, 1, 1, true, rng)?,
            head_act: PRelu::new(rng)?,
            blocks: (0..BLOCKS).map(|_| Block::new(rng)).collect::<Result<_>>()?,
            mid: Conv2d::new(C, C, 3, 1, 1, false, rng)?,
            bn_mid: BatchNorm2d::new(C),
            ups: (0..scale.trailing_zeros())
                .map(|_| Ok((Conv2d::new(C, 4 * C, 3, 1, 1, true, rng)?, PRelu::new(rng)?)))
                .collect::<Result<_>>()?,
            tail: Conv2d::new(C, 1, 3, 1, 1, true, rng)?,
        })
    }
}

impl Module for SrResNet {
    /// x [B, 1, 28/f, 28/f] → [B, 1, 28, 28], both in [−1, 1].
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let h0 = self.head_act.forward(&self.head.forward(x)?)?;
        let mut r = h0.clone();
        for b in &self.blocks {
            r = b.forward(&r)?;
        }
        let mut h = self.bn_mid.forward(&self.mid.forward(&r)?)?.add(&h0)?;
        for (conv, act) in &self.ups {
            h = act.forward(&pixel_shuffle(&conv.forward(&h)?, 2)?)?; // ×2 in each direction
        }
        self.tail.forward(&h)?.tanh()
    }
    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        let mut v = prefixed("head", self.head.named_parameters());
        v.extend(prefixed("head_act", self.head_act.named_parameters()));
        for (i, b) in self.blocks.iter().enumerate() {
            v.extend(prefixed(&format!("block{i}"), b.named()));
        }
        v.extend(prefixed("mid", self.mid.named_parameters()));
        v.extend(prefixed("bn_mid", self.bn_mid.named_parameters()));
        for (i, (c, a)) in self.ups.iter().enumerate() {
            v.extend(prefixed(&format!("up{i}.conv"), c.named_parameters()));
            v.extend(prefixed(&format!("up{i}.act"), a.named_parameters()));
        }
        v.extend(prefixed("tail", self.tail.named_parameters()));
        v
    }
    fn named_buffers(&self) -> Vec<(String, Tensor)> {
        let mut v = Vec::new();
        for (i, b) in self.blocks.iter().enumerate() {
            v.extend(prefixed(&format!("block{i}"), b.buffers()));
        }
        v.extend(prefixed("bn_mid", self.bn_mid.named_buffers()));
        v
    }
    fn set_training(&self, on: bool) {
        self.blocks.iter().for_each(|b| b.set_training(on));
        self.bn_mid.set_training(on);
    }
}

// ---- D ------------------------------------------------------------------------------------------

pub struct SrDiscriminator {
    c1: Conv2d,
    c2: Conv2d,
    bn2: BatchNorm2d,
    c3: Conv2d,
    bn3: BatchNorm2d,
    c4: Conv2d,
    bn4: BatchNorm2d,
    fc1: Linear,
    fc2: Linear,
}

impl SrDiscriminator {
    pub fn new(rng: &mut Rng) -> Result<Self> {
        Ok(SrDiscriminator {
            c1: Conv2d::new(1, 32, 3, 1, 1, true, rng)?,
            c2: Conv2d::new(32, 32, 3, 2, 1, false, rng)?,
            bn2: BatchNorm2d::new(32),
            c3: Conv2d::new(32, 64, 3, 1, 1, false, rng)?,
            bn3: BatchNorm2d::new(64),
            c4: Conv2d::new(64, 64, 3, 2, 1, false, rng)?,
            bn4: BatchNorm2d::new(64),
            fc1: Linear::new(64 * 7 * 7, 256, rng)?,
            fc2: Linear::new(256, 1, rng)?,
        })
    }
}

impl Module for SrDiscriminator {
    /// y [B, 1, 28, 28] → logits [B, 1].
    fn forward(&self, y: &Tensor) -> Result<Tensor> {
        let h = self.c1.forward(y)?.leaky_relu(0.2)?;
        let h = self.bn2.forward(&self.c2.forward(&h)?)?.leaky_relu(0.2)?; // [B, 32, 14, 14]
        let h = self.bn3.forward(&self.c3.forward(&h)?)?.leaky_relu(0.2)?;
        let h = self.bn4.forward(&self.c4.forward(&h)?)?.leaky_relu(0.2)?; // [B, 64, 7, 7]
        self.fc2.forward(&self.fc1.forward(&h.flatten(1, 3)?)?.leaky_relu(0.2)?)
    }
    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        let mut v = prefixed("c1", self.c1.named_parameters());
        v.extend(prefixed("c2", self.c2.named_parameters()));
        v.extend(prefixed("bn2", self.bn2.named_parameters()));
        v.extend(prefixed("c3", self.c3.named_parameters()));
        v.extend(prefixed("bn3", self.bn3.named_parameters()));
        v.extend(prefixed("c4", self.c4.named_parameters()));
        v.extend(prefixed("bn4", self.bn4.named_parameters()));
        v.extend(prefixed("fc1", self.fc1.named_parameters()));
        v.extend(prefixed("fc2", self.fc2.named_parameters()));
        v
    }
    fn named_buffers(&self) -> Vec<(String, Tensor)> {
        let mut v = prefixed("bn2", self.bn2.named_buffers());
        v.extend(prefixed("bn3", self.bn3.named_buffers()));
        v.extend(prefixed("bn4", self.bn4.named_buffers()));
        v
    }
    fn set_training(&self, on: bool) {
        for m in [&self.bn2, &self.bn3, &self.bn4] {
            m.set_training(on);
        }
    }
}

// ---- The losses, written out --------------------------------------------------------------------

/// D's loss BCE(D(I_HR), 1) + BCE(D(G(I_LR)), 0) from its logits.
pub fn d_loss(real_logits: &Tensor, fake_logits: &Tensor) -> Result<Tensor> {
    real_logits
        .bce_with_logits(&real_logits.ones_like()?)?
        .add(&fake_logits.bce_with_logits(&fake_logits.zeros_like()?)?)
}

/// G's loss: the content loss mean (y − G(x))², plus 10⁻³ · BCE(D(G(x)), 1) when D's logits on
/// G's outputs are given (SRGAN; without them, SRResNet).
pub fn g_loss(output: &Tensor, target: &Tensor, fake_logits: Option<&Tensor>) -> Result<Tensor> {
    let content = output.mse_loss(target)?;
    match fake_logits {
        Some(l) => content.add(&l.bce_with_logits(&l.ones_like()?)?.mul_scalar(ADV_WEIGHT)?),
        None => Ok(content),
    }
}

// ---- The model and its training step ------------------------------------------------------------

pub struct SrGan {
    pub g: SrResNet,
    /// None while G trains as SRResNet (the MSE alone).
    pub d: Option<SrDiscriminator>,
    opt_g: Adam,
    opt_d: Option<Adam>,
}

impl SrGan {
    /// SRResNet: a new G, no D.
    pub fn srresnet(scale: usize, rng: &mut Rng, device: &Device) -> Result<Self> {
        let g = SrResNet::new(scale, rng)?;
        g.to_device(device)?;
        let opt_g = Adam::new(g.parameters(), LR, BETAS)?;
        Ok(SrGan { g, d: None, opt_g, opt_d: None })
    }

    /// A copy of this model's G (weights and batch-norm statistics, fresh optimizer state) with a
    /// new D: SRGAN started from the trained SRResNet, as in the paper. `adversarial` false gives
    /// the copy without a D (SRResNet trained on from here).
    pub fn fork(&self, adversarial: bool, rng: &mut Rng, device: &Device) -> Result<Self> {
        let mut m = SrGan::srresnet(self.g.scale, rng, device)?;
        for ((_, dst), (_, src)) in m.g.state_dict().iter().zip(self.g.state_dict().iter()) {
            dst.copy_from(src)?;
        }
        if adversarial {
            let d = SrDiscriminator::new(rng)?;
            d.to_device(device)?;
            m.opt_d = Some(Adam::new(d.parameters(), LR, BETAS)?);
            m.d = Some(d);
        }
        Ok(m)
    }

    /// One step on low-resolution inputs x and high-resolution targets y (in [−1, 1]): D's update
    /// when there is a D, then G's.
    pub fn train_step(&mut self, x: &Tensor, y: &Tensor) -> Result<StepStats> {
        let fake = self.g.forward(x)?;
        let mut stats = StepStats::default();
        let fake_logits = match (&self.d, &mut self.opt_d) {
            (Some(d), Some(opt_d)) => {
                let real_logits = d.forward(y)?;
                let fake_detached = d.forward(&fake.detach())?;
                stats.d_loss = update(&d_loss(&real_logits, &fake_detached)?, &d.parameters(), opt_d)?;
                stats.d_real = real_logits.sigmoid()?.mean_all()?.item()?;
                stats.d_fake = fake_detached.sigmoid()?.mean_all()?.item()?;
                Some(d.forward(&fake)?)
            }
            _ => None,
        };
        stats.g_loss = update(&g_loss(&fake, y, fake_logits.as_ref())?, &self.g.parameters(), &mut self.opt_g)?;
        Ok(stats)
    }

    /// G(x) in evaluation mode, without a graph.
    pub fn upscale(&self, x: &Tensor) -> Result<Tensor> {
        self.g.set_training(false);
        let out = no_grad(|| self.g.forward(x));
        self.g.set_training(true);
        out
    }

    pub fn state_dict(&self) -> Vec<(String, Tensor)> {
        let mut v = prefixed("g", self.g.state_dict());
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
    fn pixel_shuffle_places_each_sub_pixel() {
        // [1, 4, 1, 2]: channel k holds 10k + w; out[0, 0, i, 2w + j] = in[0, 2i + j, 0, w].
        let v: Vec<f32> = (0..4).flat_map(|k| (0..2).map(move |w| (10 * k + w) as f32)).collect();
        let x = Tensor::new(v, &[1, 4, 1, 2]).unwrap();
        let y = pixel_shuffle(&x, 2).unwrap();
        assert_eq!(y.shape(), &[1, 1, 2, 4]);
        assert_eq!(y.to_vec::<f32>().unwrap(), vec![0., 10., 1., 11., 20., 30., 21., 31.]);
        let bad = Tensor::zeros(&[1, 3, 2, 2]);
        let e = pixel_shuffle(&bad, 2).unwrap_err().to_string();
        assert!(e.contains("pixel_shuffle") && e.contains("[1, 3, 2, 2]"), "{e}");
    }

    #[test]
    fn prelu_scales_the_negative_side() {
        let x = Tensor::new(vec![-2.0f32, -1.0, 0.0, 3.0], &[4]).unwrap();
        let p = PRelu::new(&mut Rng::new(0)).unwrap();
        assert_eq!(p.forward(&x).unwrap().to_vec::<f32>().unwrap(), vec![-0.5, -0.25, 0.0, 3.0]);
        // d/da of Σ PReLU(x) = Σ min(0, x) = −3
        let y = p.forward(&x).unwrap().sum_all().unwrap();
        let g = minmax_engine::grad(&[y], None, std::slice::from_ref(&p.weight), false).unwrap();
        assert_eq!(g[0].to_vec::<f32>().unwrap(), vec![-3.0]);
    }

    #[test]
    fn the_losses_match_a_hand_computed_case() {
        let out = Tensor::new(vec![0.5f32; 4], &[1, 1, 2, 2]).unwrap();
        let target = Tensor::new(vec![0.0f32, 1.0, 0.0, 1.0], &[1, 1, 2, 2]).unwrap();
        // every error is 0.5: MSE 0.25
        assert!((g_loss(&out, &target, None).unwrap().item().unwrap() - 0.25).abs() < 1e-7);
        // logit 0 for the fake: BCE(0, 1) = ln 2, weighted 10⁻³
        let zero = Tensor::zeros(&[1, 1]);
        let ln2 = std::f64::consts::LN_2;
        let g = g_loss(&out, &target, Some(&zero)).unwrap().item().unwrap();
        assert!((g - 0.25 - ADV_WEIGHT * ln2).abs() < 1e-7, "{g}");
        // D: ln 2 for each side
        assert!((d_loss(&zero, &zero).unwrap().item().unwrap() - 2.0 * ln2).abs() < 1e-6);
    }

    #[test]
    fn shapes_forks_and_training() {
        let mut rng = Rng::new(3);
        for scale in [2, 4] {
            let x = Tensor::randn(&[2, 1, 28 / scale, 28 / scale], &mut rng).tanh().unwrap();
            let m = SrGan::srresnet(scale, &mut rng, &Device::Cpu).unwrap();
            assert_eq!(m.upscale(&x).unwrap().shape(), &[2, 1, 28, 28], "×{scale}");
        }
        assert!(SrResNet::new(3, &mut rng).is_err());
        // MSE training on a fixed batch lowers the loss; a fork starts exactly where it was.
        let y = Tensor::randn(&[8, 1, 28, 28], &mut rng).tanh().unwrap();
        let x = Tensor::new(
            crate::data::paired::downsample_area(&y.to_vec::<f32>().unwrap(), 28, 28, 4).unwrap(),
            &[8, 1, 7, 7],
        )
        .unwrap();
        let mut m = SrGan::srresnet(4, &mut rng, &Device::Cpu).unwrap();
        let first = m.train_step(&x, &y).unwrap().g_loss;
        let mut last = first;
        for _ in 0..40 {
            last = m.train_step(&x, &y).unwrap().g_loss;
        }
        assert!(last < 0.8 * first, "MSE {first} → {last}");
        let mut f = m.fork(true, &mut rng, &Device::Cpu).unwrap();
        assert_eq!(f.upscale(&x).unwrap().to_vec::<f32>().unwrap(), m.upscale(&x).unwrap().to_vec::<f32>().unwrap());
        let s = f.train_step(&x, &y).unwrap();
        assert!(s.d_loss.is_finite() && (0.0..=1.0).contains(&s.d_fake) && s.g_loss.is_finite());
        assert!(f.state_dict().iter().any(|(n, _)| n.starts_with("d.")));
    }
}
