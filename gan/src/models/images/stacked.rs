//! GANs for Stacked-MNIST, the 1,000-mode benchmark of the unrolled GAN, VEEGAN and PacGAN papers
//! (images of three MNIST digits, one per colour channel): DCGAN drawing 28×28×3 images, and
//! PacDCGAN (Lin et al. 2018), whose D judges packs of m images stacked along the channel axis,
//! the way the PacGAN paper packs its DCGAN's input.
//!
//! G and D are `dcgan.rs`'s nets with three channels (D: 3m, for packs of m); `d_width` sets D's
//! filters (64 in DCGAN; PacGAN's D-capacity experiment, Table 3 of the paper, shrinks D to a
//! quarter of that and counts how many more modes the smaller D lets slip). The game is the
//! standard one with the non-saturating G loss, on packs:
//!
//! ```text
//! L_D = BCE(D(pack of m reals), 1) + BCE(D(pack of m fakes), 0)      L_G = BCE(D(pack of m fakes), 1)
//! ```
//!
//! Shapes (B = packs per step, m = pack size, Z = 100):
//!
//! ```text
//! G: z [B·m, Z] → … → images [B·m, 3, 28, 28] in [−1, 1]
//! pack: [B·m, 3, 28, 28] → view [B, 3m, 28, 28]   (images i·m … i·m + m − 1 are pack i)
//! D: packs [B, 3m, 28, 28] → Conv [B, W, 14, 14] → Conv → BN [B, 2W, 7, 7] → Linear → logit [B, 1]
//! ```
//!
//! With m = 1 and W = 64 this is DCGAN on three channels. One batch of G's samples serves both
//! players' steps (detached for D's), as in `dcgan.rs`.

use minmax_engine::nn::{prefixed, Module};
use minmax_engine::optim::Adam;
use minmax_engine::{Device, Error, Generator as Rng, Result, Tensor};

use super::dcgan::{DcDiscriminator, DcGenerator};
use crate::train::{update, Gan, StepStats};

/// Channels of a Stacked-MNIST image.
pub const CHANNELS: usize = 3;

pub struct StackedGan {
    /// Images per pack m (1: DCGAN).
    pub pack: usize,
    /// D's first-layer filters W.
    pub d_width: usize,
    pub g: DcGenerator,
    pub d: DcDiscriminator,
    opt_g: Adam,
    opt_d: Adam,
}

impl StackedGan {
    /// A fresh model: DCGAN's initialisation and Adam (lr 2·10⁻⁴, β = (0.5, 0.999)) for both.
    pub fn new(pack: usize, d_width: usize, z_dim: usize, rng: &mut Rng, device: &Device) -> Result<Self> {
        if pack == 0 || d_width == 0 {
            return Err(Error::msg(format!("StackedGan: pack {pack} and D width {d_width} must be at least 1")));
        }
        let g = DcGenerator::with_channels(z_dim, 0, CHANNELS, rng)?;
        let d = DcDiscriminator::with(0, true, CHANNELS * pack, d_width, rng)?;
        g.to_device(device)?;
        d.to_device(device)?;
        let opt_g = Adam::new(g.parameters(), 2e-4, (0.5, 0.999))?;
        let opt_d = Adam::new(d.parameters(), 2e-4, (0.5, 0.999))?;
        Ok(StackedGan { pack, d_width, g, d, opt_g, opt_d })
    }

    /// "dcgan", "pacdcgan2", …, with "-d16" when D's width is not DCGAN's 64.
    pub fn name(&self) -> String {
        let base = if self.pack == 1 { "dcgan".to_string() } else { format!("pacdcgan{}", self.pack) };
        if self.d_width == 64 {
            base
        } else {
            format!("{base}-d{}", self.d_width)
        }
    }

    /// Images [B·m, 3, 28, 28] → packs [B, 3m, 28, 28].
    pub fn packs(&self, x: &Tensor) -> Result<Tensor> {
        let n = x.shape()[0];
        if n % self.pack != 0 {
            return Err(Error::msg(format!("{}: {n} images do not split into packs of {}", self.name(), self.pack)));
        }
        x.reshape(&[(n / self.pack) as isize, (CHANNELS * self.pack) as isize, 28, 28])
    }
}

impl Gan for StackedGan {
    /// Real images [B·m, 3, 28, 28] in [−1, 1] (B packs of m).
    type Data = Tensor;

    fn train_step(&mut self, x: &Tensor, rng: &mut Rng) -> Result<StepStats> {
        let n = x.shape()[0];
        let z = super::noise(n, self.g.z_dim, rng, &x.device())?; // [B·m, Z]
        let fake = self.g.forward(&z)?; // [B·m, 3, 28, 28]
        let real_packs = self.packs(x)?; // [B, 3m, 28, 28]
        let fake_packs = self.packs(&fake)?;
        let b = real_packs.shape()[0];
        let ones = x.full_like(&[b, 1], 1.0)?;
        let zeros = x.full_like(&[b, 1], 0.0)?;

        // (1) D: packs of reals toward 1, packs of fakes (G frozen: detached) toward 0
        let d_real = self.d.forward(&real_packs)?; // [B, 1]
        let d_fake = self.d.forward(&fake_packs.detach())?;
        let loss_d = d_real.bce_with_logits(&ones)?.add(&d_fake.bce_with_logits(&zeros)?)?;
        let d_loss = update(&loss_d, &self.d.parameters(), &mut self.opt_d)?;

        // (2) G: make D call the same packs real (−log D), D frozen
        let loss_g = self.d.forward(&fake_packs)?.bce_with_logits(&ones)?;
        let g_loss = update(&loss_g, &self.g.parameters(), &mut self.opt_g)?;

        Ok(StepStats {
            d_loss,
            g_loss,
            d_real: d_real.sigmoid()?.mean_all()?.item()?,
            d_fake: d_fake.sigmoid()?.mean_all()?.item()?,
        })
    }

    /// `n` images [n, 3, 28, 28] in [0, 1] on the CPU, from G in eval mode (batch norm with its
    /// running statistics), without a graph.
    fn sample(&self, n: usize, rng: &mut Rng) -> Result<Tensor> {
        let device = self.g.parameters()[0].device();
        self.g.eval();
        let out = crate::train::sample_in_chunks(n, 500, |b| {
            self.g.forward(&super::noise(b, self.g.z_dim, rng, &device)?)?.affine(0.5, 0.5)
        });
        self.g.train();
        out
    }

    fn state_dict(&self) -> Vec<(String, Tensor)> {
        let mut v = prefixed("generator", self.g.state_dict());
        v.extend(prefixed("discriminator", self.d.state_dict()));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packs_stack_consecutive_images_along_channels() -> Result<()> {
        let gan = StackedGan::new(2, 8, 4, &mut Rng::new(0), &Device::Cpu)?;
        assert_eq!(gan.name(), "pacdcgan2-d8");
        // image i is filled with the value i
        let x = Tensor::new((0..4).flat_map(|i| vec![i as f32; 3 * 784]).collect(), &[4, 3, 28, 28])?;
        let p = gan.packs(&x)?.to_vec::<f32>()?; // [2, 6, 28, 28]
                                                 // pack 1 = images 2 and 3: its channels 0–2 hold 2, channels 3–5 hold 3
        assert_eq!(p[6 * 784], 2.0);
        assert_eq!(p[6 * 784 + 3 * 784], 3.0);
        assert!(gan.packs(&x.narrow(0, 0, 3)?).unwrap_err().to_string().contains("packs of 2"));
        Ok(())
    }

    #[test]
    fn a_step_trains_both_nets_and_samples_are_images() -> Result<()> {
        let mut rng = Rng::new(1);
        let mut gan = StackedGan::new(2, 8, 8, &mut rng, &Device::Cpu)?;
        let x = Tensor::rand(&[8, 3, 28, 28], -1.0, 1.0, &mut rng);
        let before: Vec<Vec<f32>> = gan.state_dict().iter().map(|(_, t)| t.to_vec::<f32>().unwrap()).collect();
        let s = gan.train_step(&x, &mut rng)?;
        assert!(s.d_loss.is_finite() && s.g_loss.is_finite());
        let after: Vec<Vec<f32>> = gan.state_dict().iter().map(|(_, t)| t.to_vec::<f32>().unwrap()).collect();
        let named: Vec<String> = gan.state_dict().into_iter().map(|(n, _)| n).collect();
        for (i, name) in named.iter().enumerate().filter(|(_, n)| n.ends_with("weight")) {
            assert_ne!(before[i], after[i], "{name} did not move");
        }
        let y = gan.sample(5, &mut rng)?;
        assert_eq!(y.shape(), &[5, 3, 28, 28]);
        assert!(y.to_vec::<f32>()?.iter().all(|&v| (0.0..=1.0).contains(&v)));
        Ok(())
    }
}
