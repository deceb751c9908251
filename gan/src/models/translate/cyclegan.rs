//! CycleGAN (Zhu, Park, Isola & Efros 2017, "Unpaired image-to-image translation using
//! cycle-consistent adversarial networks") at 28×28: two generators that translate between two
//! domains without pairs — here A = handwritten digits (MNIST) and B = printed digits
//! (`data::printed`) — two discriminators, one per domain, and the cycle-consistency loss that
//! makes each generator the other's inverse. The paper's objective (its eqs. 1–3), with the
//! least-squares adversarial loss it trains with (§4) and the identity loss of its §5.2, written
//! out for G_ab: A → B, G_ba: B → A, D_a, D_b:
//!
//! ```text
//! L_GAN(G_ba, D_a) = E_a[(D_a(a) − 1)²] + E_b[D_a(G_ba(b))²]             (and L_GAN(G_ab, D_b) alike)
//! L_cyc            = E_b ‖G_ab(G_ba(b)) − b‖₁  +  E_a ‖G_ba(G_ab(a)) − a‖₁
//!                    (forward cycle: b → A → b)   (backward cycle: a → B → a)
//! L_id             = E_a ‖G_ba(a) − a‖₁ + E_b ‖G_ab(b) − b‖₁
//! G's minimise  (D_a(G_ba(b)) − 1)² + (D_b(G_ab(a)) − 1)² + λ·L_cyc + λ_id·λ·L_id,  λ = 10
//! each D minimises ½·[(D(real) − 1)² + D(fake)²], the fakes drawn from a pool of its last 50
//! ```
//!
//! D's outputs are averaged over patches. The translation the lab scores is B → A (printed →
//! handwritten: the MNIST classifier checks that the digit survives), so "forward" and "backward"
//! follow the paper's Table 4, where the scored direction is G and the forward cycle starts in its
//! source domain. The ablation (`Variant`) drops terms as that table does: the cycle loss alone (no
//! D), the GAN alone (no cycle), GAN + forward cycle, GAN + backward cycle, and CycleGAN; plus
//! CycleGAN with the identity loss (λ_id = 0.5, the authors' code's default; the paper uses it for
//! paintings → photos). Adam with lr 2·10⁻⁴, β = (0.5, 0.999), N(0, 0.02) initialisation: the
//! paper's. The image pool (Shrivastava et al. 2017, as the paper's §4): until 50 fakes are held,
//! each new fake is stored and used; then each is, with probability ½, swapped for a stored one
//! (which D sees instead) or used as it is.
//!
//! Shapes (B = batch; images in [−1, 1]; IN = instance normalisation, no learned scale, as the
//! authors' code):
//!
//! ```text
//! G:  x [B, 1, 28, 28] → ReLU(IN(Conv 3×3 (1 → 16)))              [B, 16, 28, 28]
//!     → ReLU(IN(Conv 3×3 s2 (16 → 32)))                              [B, 32, 14, 14]
//!     → ReLU(IN(Conv 3×3 s2 (32 → 64)))                              [B, 64, 7, 7]
//!     → 3 residual blocks: r + IN(Conv 3×3(ReLU(IN(Conv 3×3 r))))    [B, 64, 7, 7]
//!     → ReLU(IN(ConvT 4×4 s2 (64 → 32)))                             [B, 32, 14, 14]
//!     → ReLU(IN(ConvT 4×4 s2 (32 → 16)))                             [B, 16, 28, 28]
//!     → tanh(Conv 3×3 (16 → 1))                                      [B, 1, 28, 28]
//! D:  y [B, 1, 28, 28] → LReLU(Conv 4×4 s2 (1 → 32))               [B, 32, 14, 14]
//!     → LReLU(IN(Conv 4×4 s2 (32 → 64)))                             [B, 64, 7, 7]
//!     → Conv 3×3 (64 → 1)                    scores [B, 1, 7, 7], each seeing an 18×18 patch
//! ```
//!
//! Departures from the paper, for 28×28 and a CPU: 16–64 channels instead of 64–256, 3 residual
//! blocks instead of 6, 3×3 first and last convolutions instead of 7×7 (a 7×7 one on 28×28 images
//! spans a quarter of the image, and cost ten times as much here as a 3×3 one), zero padding
//! instead of reflection padding, an 18×18 PatchGAN instead of 70×70, minibatches of 32 instead of
//! 1, and a constant learning rate (no linear decay).

use minmax_engine::nn::{prefixed, Conv2d, ConvTranspose2d, Module};
use minmax_engine::optim::Adam;
use minmax_engine::{no_grad, Device, Generator as Rng, Result, Tensor};

// N(0, 0.02) weights, zero biases (no normalisation layer here has parameters).
use crate::models::images::dcgan::dcgan_init as init;
use crate::train::{update, StepStats};

/// The weight λ of the cycle loss, and λ_id of the identity loss (a fraction of λ, as the code).
pub const LAMBDA: f64 = 10.0;
pub const LAMBDA_ID: f64 = 0.5;
/// Adam's learning rate and betas (the paper's).
pub const LR: f64 = 2e-4;
pub const BETAS: (f64, f64) = (0.5, 0.999);
/// Fakes each D's image pool holds.
pub const POOL: usize = 50;
/// Channels of G's first layer (doubled by each down-sampling) and its residual blocks.
const NGF: usize = 16;
const BLOCKS: usize = 3;
/// The epsilon of instance normalisation (PyTorch's).
const EPS: f64 = 1e-5;

/// Which terms of the objective train (the paper's Table 4, plus the identity loss).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    CycleAlone,
    GanAlone,
    GanForward,
    GanBackward,
    CycleGan,
    CycleGanIdentity,
}

impl Variant {
    pub const ALL: [Variant; 6] = [
        Variant::CycleAlone,
        Variant::GanAlone,
        Variant::GanForward,
        Variant::GanBackward,
        Variant::CycleGan,
        Variant::CycleGanIdentity,
    ];
    pub fn name(self) -> &'static str {
        match self {
            Variant::CycleAlone => "Cycle alone",
            Variant::GanAlone => "GAN alone",
            Variant::GanForward => "GAN + forward cycle",
            Variant::GanBackward => "GAN + backward cycle",
            Variant::CycleGan => "CycleGAN",
            Variant::CycleGanIdentity => "CycleGAN + identity",
        }
    }
    /// A file-name tag.
    pub fn tag(self) -> &'static str {
        match self {
            Variant::CycleAlone => "cycle-alone",
            Variant::GanAlone => "gan-alone",
            Variant::GanForward => "gan-forward",
            Variant::GanBackward => "gan-backward",
            Variant::CycleGan => "cyclegan",
            Variant::CycleGanIdentity => "cyclegan-identity",
        }
    }
    pub fn has_gan(self) -> bool {
        self != Variant::CycleAlone
    }
    /// The forward cycle b → A → b (from the scored direction's source).
    pub fn forward_cycle(self) -> bool {
        !matches!(self, Variant::GanAlone | Variant::GanBackward)
    }
    /// The backward cycle a → B → a.
    pub fn backward_cycle(self) -> bool {
        !matches!(self, Variant::GanAlone | Variant::GanForward)
    }
    pub fn identity(self) -> bool {
        self == Variant::CycleGanIdentity
    }
}

/// Instance normalisation: each image's channel normalised over its own H×W, (x − μ)/√(σ² + ε)
/// with the biased variance; no running statistics, so training and evaluation agree.
pub fn instance_norm(x: &Tensor) -> Result<Tensor> {
    let mu = x.mean(&[2, 3], true)?;
    let var = x.var(&[2, 3], 0, true)?;
    x.sub(&mu)?.div(&var.add_scalar(EPS)?.sqrt()?)
}

// ---- G: the residual generator ------------------------------------------------------------------

struct Block {
    c1: Conv2d,
    c2: Conv2d,
}

impl Block {
    fn forward(&self, r: &Tensor) -> Result<Tensor> {
        let h = instance_norm(&self.c1.forward(r)?)?.relu()?;
        r.add(&instance_norm(&self.c2.forward(&h)?)?)
    }
}

pub struct ResnetG {
    head: Conv2d,
    down1: Conv2d,
    down2: Conv2d,
    blocks: Vec<Block>,
    up1: ConvTranspose2d,
    up2: ConvTranspose2d,
    tail: Conv2d,
}

impl ResnetG {
    pub fn new(rng: &mut Rng) -> Result<Self> {
        let c = NGF;
        let g = ResnetG {
            head: Conv2d::new(1, c, 3, 1, 1, true, rng)?,
            down1: Conv2d::new(c, 2 * c, 3, 2, 1, true, rng)?,
            down2: Conv2d::new(2 * c, 4 * c, 3, 2, 1, true, rng)?,
            blocks: (0..BLOCKS)
                .map(|_| {
                    Ok(Block {
                        c1: Conv2d::new(4 * c, 4 * c, 3, 1, 1, true, rng)?,
                        c2: Conv2d::new(4 * c, 4 * c, 3, 1, 1, true, rng)?,
                    })
                })
                .collect::<Result<_>>()?,
            up1: ConvTranspose2d::new(4 * c, 2 * c, 4, 2, 1, 0, true, rng)?,
            up2: ConvTranspose2d::new(2 * c, c, 4, 2, 1, 0, true, rng)?,
            tail: Conv2d::new(c, 1, 3, 1, 1, true, rng)?,
        };
        init(&g, rng)?;
        Ok(g)
    }
}

impl Module for ResnetG {
    /// x [B, 1, 28, 28] → [B, 1, 28, 28], both in [−1, 1].
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let h = instance_norm(&self.head.forward(x)?)?.relu()?; // [B, 16, 28, 28]
        let h = instance_norm(&self.down1.forward(&h)?)?.relu()?; // [B, 32, 14, 14]
        let mut h = instance_norm(&self.down2.forward(&h)?)?.relu()?; // [B, 64, 7, 7]
        for b in &self.blocks {
            h = b.forward(&h)?;
        }
        let h = instance_norm(&self.up1.forward(&h)?)?.relu()?; // [B, 32, 14, 14]
        let h = instance_norm(&self.up2.forward(&h)?)?.relu()?; // [B, 16, 28, 28]
        self.tail.forward(&h)?.tanh()
    }
    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        let mut v = prefixed("head", self.head.named_parameters());
        v.extend(prefixed("down1", self.down1.named_parameters()));
        v.extend(prefixed("down2", self.down2.named_parameters()));
        for (i, b) in self.blocks.iter().enumerate() {
            v.extend(prefixed(&format!("block{i}.c1"), b.c1.named_parameters()));
            v.extend(prefixed(&format!("block{i}.c2"), b.c2.named_parameters()));
        }
        v.extend(prefixed("up1", self.up1.named_parameters()));
        v.extend(prefixed("up2", self.up2.named_parameters()));
        v.extend(prefixed("tail", self.tail.named_parameters()));
        v
    }
}

// ---- D: the PatchGAN ----------------------------------------------------------------------------

pub struct PatchD {
    c1: Conv2d,
    c2: Conv2d,
    head: Conv2d,
}

impl PatchD {
    pub fn new(rng: &mut Rng) -> Result<Self> {
        let d = PatchD {
            c1: Conv2d::new(1, 32, 4, 2, 1, true, rng)?,
            c2: Conv2d::new(32, 64, 4, 2, 1, true, rng)?,
            head: Conv2d::new(64, 1, 3, 1, 1, true, rng)?,
        };
        init(&d, rng)?;
        Ok(d)
    }
}

impl Module for PatchD {
    /// y [B, 1, 28, 28] → patch scores [B, 1, 7, 7] (no sigmoid: the loss is least squares).
    fn forward(&self, y: &Tensor) -> Result<Tensor> {
        let h = self.c1.forward(y)?.leaky_relu(0.2)?; // [B, 32, 14, 14]
        let h = instance_norm(&self.c2.forward(&h)?)?.leaky_relu(0.2)?; // [B, 64, 7, 7]
        self.head.forward(&h)
    }
    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        let mut v = prefixed("c1", self.c1.named_parameters());
        v.extend(prefixed("c2", self.c2.named_parameters()));
        v.extend(prefixed("head", self.head.named_parameters()));
        v
    }
}

// ---- The losses, written out --------------------------------------------------------------------

/// A D's least-squares loss ½·[mean (D(real) − 1)² + mean D(fake)²].
pub fn d_loss(real: &Tensor, fake: &Tensor) -> Result<Tensor> {
    real.add_scalar(-1.0)?.sqr()?.mean_all()?.add(&fake.sqr()?.mean_all()?)?.mul_scalar(0.5)
}

/// A G's least-squares adversarial loss mean (D(G(x)) − 1)².
pub fn g_adv(fake: &Tensor) -> Result<Tensor> {
    fake.add_scalar(-1.0)?.sqr()?.mean_all()
}

/// The mean absolute difference ‖x − y‖₁ / #pixels (the cycle and identity terms).
pub fn l1(x: &Tensor, y: &Tensor) -> Result<Tensor> {
    x.sub(y)?.abs()?.mean_all()
}

// ---- The image pool -----------------------------------------------------------------------------

/// The last fakes a D has seen (module docs), each [1, 1, 28, 28].
pub struct ImagePool {
    images: Vec<Tensor>,
    rng: Rng,
}

impl ImagePool {
    pub fn new(rng: Rng) -> Self {
        ImagePool { images: Vec::new(), rng }
    }
    /// The batch D trains on for the new fakes `fake` [B, 1, 28, 28] (detached).
    pub fn query(&mut self, fake: &Tensor) -> Result<Tensor> {
        let fake = fake.detach();
        let mut out = Vec::with_capacity(fake.shape()[0]);
        for i in 0..fake.shape()[0] {
            let img = fake.narrow(0, i, 1)?;
            if self.images.len() < POOL {
                self.images.push(img.clone());
                out.push(img);
            } else if self.rng.uniform() < 0.5 {
                let k = self.rng.below(POOL);
                out.push(std::mem::replace(&mut self.images[k], img));
            } else {
                out.push(img);
            }
        }
        Tensor::cat(&out.iter().collect::<Vec<_>>(), 0)
    }
}

// ---- The model and its training step ------------------------------------------------------------

pub struct CycleGan {
    pub variant: Variant,
    /// A → B (handwritten → printed) and B → A (printed → handwritten, the scored direction).
    pub g_ab: ResnetG,
    pub g_ba: ResnetG,
    /// D of domain A (judges G_ba's outputs) and of domain B; None for the cycle loss alone.
    pub d_a: Option<PatchD>,
    pub d_b: Option<PatchD>,
    opt_g: Adam,
    opt_d: Option<Adam>,
    pool_a: ImagePool,
    pool_b: ImagePool,
}

impl CycleGan {
    pub fn new(variant: Variant, rng: &mut Rng, device: &Device) -> Result<Self> {
        let g_ab = ResnetG::new(rng)?;
        let g_ba = ResnetG::new(rng)?;
        g_ab.to_device(device)?;
        g_ba.to_device(device)?;
        let opt_g = Adam::new([g_ab.parameters(), g_ba.parameters()].concat(), LR, BETAS)?;
        let (d_a, d_b, opt_d) = if variant.has_gan() {
            let (d_a, d_b) = (PatchD::new(rng)?, PatchD::new(rng)?);
            d_a.to_device(device)?;
            d_b.to_device(device)?;
            let opt = Adam::new([d_a.parameters(), d_b.parameters()].concat(), LR, BETAS)?;
            (Some(d_a), Some(d_b), Some(opt))
        } else {
            (None, None, None)
        };
        let (pool_a, pool_b) = (ImagePool::new(rng.fork()), ImagePool::new(rng.fork()));
        Ok(CycleGan { variant, g_ab, g_ba, d_a, d_b, opt_g, opt_d, pool_a, pool_b })
    }

    /// One step on a minibatch of handwritten digits `a` and an unpaired one of printed digits `b`
    /// (in [−1, 1]): both G's together, then both D's on pooled fakes (the authors' order).
    /// `d_loss` is the sum of the two D's losses, `g_loss` G's whole objective.
    pub fn train_step(&mut self, a: &Tensor, b: &Tensor) -> Result<StepStats> {
        let v = self.variant;
        let fake_b = self.g_ab.forward(a)?; // a → B
        let fake_a = self.g_ba.forward(b)?; // b → A
        let mut loss: Option<Tensor> = None;
        let mut add = |t: Tensor| -> Result<()> {
            loss = Some(match loss.take() {
                Some(l) => l.add(&t)?,
                None => t,
            });
            Ok(())
        };
        if let (Some(d_a), Some(d_b)) = (&self.d_a, &self.d_b) {
            add(g_adv(&d_a.forward(&fake_a)?)?)?;
            add(g_adv(&d_b.forward(&fake_b)?)?)?;
        }
        if v.forward_cycle() {
            add(l1(&self.g_ab.forward(&fake_a)?, b)?.mul_scalar(LAMBDA)?)?; // b → A → b
        }
        if v.backward_cycle() {
            add(l1(&self.g_ba.forward(&fake_b)?, a)?.mul_scalar(LAMBDA)?)?; // a → B → a
        }
        if v.identity() {
            let id = l1(&self.g_ba.forward(a)?, a)?.add(&l1(&self.g_ab.forward(b)?, b)?)?;
            add(id.mul_scalar(LAMBDA_ID * LAMBDA)?)?;
        }
        let loss = loss.expect("every variant has a GAN or a cycle term");
        let mut stats = StepStats::default();
        let g_params = [self.g_ab.parameters(), self.g_ba.parameters()].concat();
        stats.g_loss = update(&loss, &g_params, &mut self.opt_g)?;
        if let (Some(d_a), Some(d_b), Some(opt_d)) = (&self.d_a, &self.d_b, &mut self.opt_d) {
            let pooled_a = self.pool_a.query(&fake_a)?;
            let pooled_b = self.pool_b.query(&fake_b)?;
            let (real_a, real_b) = (d_a.forward(a)?, d_b.forward(b)?);
            let loss_d = d_loss(&real_a, &d_a.forward(&pooled_a)?)?.add(&d_loss(&real_b, &d_b.forward(&pooled_b)?)?)?;
            let d_params = [d_a.parameters(), d_b.parameters()].concat();
            stats.d_loss = update(&loss_d, &d_params, opt_d)?;
            stats.d_real = real_a.mean_all()?.item()?;
            stats.d_fake = d_a.forward(&fake_a.detach())?.mean_all()?.item()?;
        }
        Ok(stats)
    }

    /// G_ba(b): printed → handwritten, without a graph.
    pub fn to_a(&self, b: &Tensor) -> Result<Tensor> {
        no_grad(|| self.g_ba.forward(b))
    }
    /// G_ab(a): handwritten → printed, without a graph.
    pub fn to_b(&self, a: &Tensor) -> Result<Tensor> {
        no_grad(|| self.g_ab.forward(a))
    }

    pub fn state_dict(&self) -> Vec<(String, Tensor)> {
        let mut v = prefixed("g_ab", self.g_ab.state_dict());
        v.extend(prefixed("g_ba", self.g_ba.state_dict()));
        if let (Some(d_a), Some(d_b)) = (&self.d_a, &self.d_b) {
            v.extend(prefixed("d_a", d_a.state_dict()));
            v.extend(prefixed("d_b", d_b.state_dict()));
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
        // D(real) = [1, 0.5]: mean (· − 1)² = 0.125; D(fake) = [0, 0.5]: mean ·² = 0.125
        let real = t(&[1.0, 0.5], &[2, 1]);
        let fake = t(&[0.0, 0.5], &[2, 1]);
        assert!((d_loss(&real, &fake).unwrap().item().unwrap() - 0.125).abs() < 1e-7);
        // G: mean (D(G(x)) − 1)² = (1 + 0.25) / 2
        assert!((g_adv(&fake).unwrap().item().unwrap() - 0.625).abs() < 1e-7);
        // L1: |0.5 − 0| and |−1 − 1| over 2 pixels
        assert!((l1(&t(&[0.5, -1.0], &[2]), &t(&[0.0, 1.0], &[2])).unwrap().item().unwrap() - 1.25).abs() < 1e-7);
    }

    #[test]
    fn instance_norm_normalises_each_channel_of_each_image() {
        // one image, two channels: [0, 2] → [−1, 1] (up to ε); [5, 5] → [0, 0]
        let x = t(&[0.0, 2.0, 5.0, 5.0], &[1, 2, 1, 2]);
        let y = instance_norm(&x).unwrap().to_vec::<f32>().unwrap();
        let s = 1.0 / (1.0f64 + EPS).sqrt() as f32;
        assert!((y[0] + s).abs() < 1e-6 && (y[1] - s).abs() < 1e-6 && y[2] == 0.0 && y[3] == 0.0, "{y:?}");
    }

    #[test]
    fn instance_norm_passes_gradcheck() {
        let mut rng = Rng::new(5);
        use minmax_engine::gradcheck::{gradcheck, GradcheckOpts};
        let x = Tensor::randn(&[2, 2, 3, 3], &mut rng).to_dtype(minmax_engine::DType::F64).unwrap();
        x.set_requires_grad(true);
        // Σ IN(x)·x: a weighted sum, so every output's gradient is checked
        let f = |v: &[Tensor]| instance_norm(&v[0])?.mul(&v[0])?.sum_all();
        gradcheck(&f, std::slice::from_ref(&x), &GradcheckOpts::default()).unwrap().ok().unwrap();
    }

    #[test]
    fn the_pool_stores_fifty_then_swaps_about_half() {
        let mut pool = ImagePool::new(Rng::new(1));
        let batch = |k: f64| Tensor::full(&[25, 1, 28, 28], k);
        // the first 50 are used as they are
        for k in [1.0, 2.0] {
            let out = pool.query(&batch(k)).unwrap().to_vec::<f32>().unwrap();
            assert!(out.iter().all(|&v| v as f64 == k));
        }
        // then each image is swapped for a stored one with probability ½: image i holds 100 + i,
        // so a returned image that holds anything else came from the pool
        let v: Vec<f32> = (0..400).flat_map(|i| std::iter::repeat_n(100.0 + i as f32, 784)).collect();
        let out = pool.query(&Tensor::new(v, &[400, 1, 28, 28]).unwrap()).unwrap().to_vec::<f32>().unwrap();
        let old = out.chunks(784).enumerate().filter(|(i, img)| img[0] != 100.0 + *i as f32).count();
        assert!((150..250).contains(&old), "{old} of 400 from the pool");
    }

    #[test]
    fn every_variant_trains_its_own_terms() {
        let mut rng = Rng::new(2);
        let a = Tensor::randn(&[4, 1, 28, 28], &mut rng).tanh().unwrap();
        let b = Tensor::randn(&[4, 1, 28, 28], &mut rng).tanh().unwrap();
        for v in Variant::ALL {
            let mut m = CycleGan::new(v, &mut Rng::new(3), &Device::Cpu).unwrap();
            let s = m.train_step(&a, &b).unwrap();
            assert!(s.g_loss.is_finite() && s.g_loss > 0.0, "{v:?}");
            assert_eq!(m.d_a.is_some(), v.has_gan());
            assert_eq!(s.d_loss != 0.0, v.has_gan(), "{v:?}: D loss {}", s.d_loss);
            assert_eq!(m.to_a(&b).unwrap().shape(), &[4, 1, 28, 28]);
            assert_eq!(m.to_b(&a).unwrap().shape(), &[4, 1, 28, 28]);
        }
        // the cycle loss alone drives both G's toward inverses of each other: it falls
        let mut m = CycleGan::new(Variant::CycleAlone, &mut Rng::new(3), &Device::Cpu).unwrap();
        let first = m.train_step(&a, &b).unwrap().g_loss;
        let mut last = first;
        for _ in 0..30 {
            last = m.train_step(&a, &b).unwrap().g_loss;
        }
        assert!(last < 0.7 * first, "cycle loss {first} → {last}");
    }
}
