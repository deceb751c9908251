//! The imbalance lab's second classifier (`--net resnet18`): a ResNet-18 (He et al. 2016) shaped for
//! 28×28 grey images, the network of DeepSMOTE's and GAMO's published tables.
//!
//! ```text
//! stem     3×3 conv 1 → W, stride 1, batch norm, ReLU             (no 7×7 conv, no max-pool: 28×28 in)
//! stage 1  2 basic blocks W → W,   stride 1                        28×28
//! stage 2  2 basic blocks W → 2W,  the first with stride 2         14×14
//! stage 3  2 basic blocks 2W → 4W, stride 2                         7×7
//! stage 4  2 basic blocks 4W → 8W, stride 2                         4×4
//! head     global average pool, Linear(8W, K)
//!
//! basic block   y = ReLU(BN(conv3×3(ReLU(BN(conv3×3(x))))) + shortcut(x)),
//!               shortcut = x, or BN(conv1×1 with the block's stride) where the shape changes
//! ```
//!
//! W = 64 is ResNet-18 (11.2 M weights); `--net resnet18:W` narrows it (W = 16 has 1/16 of the
//! multiply-adds). Initialisation as torchvision's: convolutions N(0, 2 / fan_out), batch norm
//! γ = 1, β = 0, the Linear layer PyTorch's default. Batch norm uses the batch's statistics while
//! training and the running ones (momentum 0.1) when scoring.

use minmax_engine::nn::init::Init;
use minmax_engine::nn::{BatchNorm2d, Conv2d, Linear, Module};
use minmax_engine::{Conv2dOpts, Error, Generator as Rng, Result, Tensor};

/// A 3×3 or 1×1 convolution without bias, torchvision's initialisation.
fn conv(cin: usize, cout: usize, k: usize, stride: usize, rng: &mut Rng) -> Result<Conv2d> {
    let std = (2.0 / (cout * k * k) as f64).sqrt();
    Conv2d::with_init(
        cin,
        cout,
        k,
        Conv2dOpts::new(stride, k / 2),
        false,
        Init::Normal(0.0, std),
        Init::Constant(0.0),
        rng,
    )
}

/// Two 3×3 convolutions with a shortcut around them.
struct Block {
    conv1: Conv2d,
    bn1: BatchNorm2d,
    conv2: Conv2d,
    bn2: BatchNorm2d,
    /// 1×1 convolution and batch norm where the block changes the shape.
    down: Option<(Conv2d, BatchNorm2d)>,
}

impl Block {
    fn new(cin: usize, cout: usize, stride: usize, rng: &mut Rng) -> Result<Block> {
        Ok(Block {
            conv1: conv(cin, cout, 3, stride, rng)?,
            bn1: BatchNorm2d::new(cout),
            conv2: conv(cout, cout, 3, 1, rng)?,
            bn2: BatchNorm2d::new(cout),
            down: if stride != 1 || cin != cout {
                Some((conv(cin, cout, 1, stride, rng)?, BatchNorm2d::new(cout)))
            } else {
                None
            },
        })
    }
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let h = self.bn1.forward(&self.conv1.forward(x)?)?.relu()?;
        let h = self.bn2.forward(&self.conv2.forward(&h)?)?;
        let s = match &self.down {
            Some((c, b)) => b.forward(&c.forward(x)?)?,
            None => x.clone(),
        };
        h.add(&s)?.relu()
    }
    fn modules(&self) -> Vec<(&'static str, &dyn Module)> {
        let mut v: Vec<(&'static str, &dyn Module)> =
            vec![("conv1", &self.conv1), ("bn1", &self.bn1), ("conv2", &self.conv2), ("bn2", &self.bn2)];
        if let Some((c, b)) = &self.down {
            v.push(("downsample.0", c));
            v.push(("downsample.1", b));
        }
        v
    }
}

/// ResNet-18 for [B, 784] or [B, 1, 28, 28] images (module docs).
pub struct ResNet {
    pub width: usize,
    stem: Conv2d,
    stem_bn: BatchNorm2d,
    /// layer1 … layer4, two blocks each.
    blocks: Vec<Block>,
    fc: Linear,
}

impl ResNet {
    pub fn new(width: usize, classes: usize, seed: u64) -> Result<ResNet> {
        if width == 0 || classes < 2 {
            return Err(Error::msg(format!(
                "resnet18: width must be at least 1 and classes at least 2 (got {width}, {classes})"
            )));
        }
        let mut rng = Rng::new(seed);
        let stem = conv(1, width, 3, 1, &mut rng)?;
        let mut blocks = Vec::new();
        let mut cin = width;
        for (stage, stride) in [1, 2, 2, 2].into_iter().enumerate() {
            let cout = width << stage;
            blocks.push(Block::new(cin, cout, stride, &mut rng)?);
            blocks.push(Block::new(cout, cout, 1, &mut rng)?);
            cin = cout;
        }
        let fc = Linear::new(cin, classes, &mut rng)?;
        Ok(ResNet { width, stem, stem_bn: BatchNorm2d::new(width), blocks, fc })
    }
}

impl Module for ResNet {
    /// Logits [B, K].
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let s = x.shape();
        let ok = (s.len() == 2 && s[1] == 784) || (s.len() == 4 && s[1..] == [1, 28, 28]);
        if !ok {
            return Err(Error::msg(format!("resnet18: expected images [B, 784] or [B, 1, 28, 28], got shape {s:?}")));
        }
        let mut h = x.reshape(&[s[0] as isize, 1, 28, 28])?;
        h = self.stem_bn.forward(&self.stem.forward(&h)?)?.relu()?; // [B, W, 28, 28]
        for b in &self.blocks {
            h = b.forward(&h)?; // … [B, 8W, 4, 4]
        }
        self.fc.forward(&h.mean(&[2, 3], false)?) // [B, K]
    }
    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        self.named(|m| m.named_parameters())
    }
    fn named_buffers(&self) -> Vec<(String, Tensor)> {
        self.named(|m| m.named_buffers())
    }
    fn set_training(&self, on: bool) {
        for (_, m) in self.modules() {
            m.set_training(on);
        }
    }
}

impl ResNet {
    /// Every layer, named as torchvision names it (`layer2.0.downsample.1`).
    fn modules(&self) -> Vec<(String, &dyn Module)> {
        let mut v: Vec<(String, &dyn Module)> = vec![("conv1".into(), &self.stem), ("bn1".into(), &self.stem_bn)];
        for (i, b) in self.blocks.iter().enumerate() {
            v.extend(b.modules().into_iter().map(|(name, m)| (format!("layer{}.{}.{name}", i / 2 + 1, i % 2), m)));
        }
        v.push(("fc".into(), &self.fc));
        v
    }
    /// `f`'s tensors of every layer, prefixed by the layer's name.
    fn named(&self, f: impl Fn(&dyn Module) -> Vec<(String, Tensor)>) -> Vec<(String, Tensor)> {
        self.modules()
            .into_iter()
            .flat_map(|(prefix, m)| f(m).into_iter().map(move |(n, t)| (format!("{prefix}.{n}"), t)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resnet18_has_torchvisions_shapes_and_trains() -> Result<()> {
        // At width 64 the weights are ResNet-18's 11.17 M, less the 3-channel 7×7 stem (9,408)
        // plus our 1-channel 3×3 one (576), with a 10-way head.
        let net = ResNet::new(64, 10, 0)?;
        let n: usize = net.parameters().iter().map(|p| p.numel()).sum();
        assert_eq!(n, 11_689_512 - 9_408 + 576 - (512 * 1000 + 1000) + (512 * 10 + 10));
        let names: Vec<String> = net.named_parameters().into_iter().map(|(n, _)| n).collect();
        assert!(names.contains(&"layer2.0.downsample.1.weight".to_string()), "{names:?}");
        assert!(!names.iter().any(|n| n.starts_with("layer1.0.downsample")), "stage 1 keeps its shape");
        assert_eq!(net.named_buffers().len(), 2 * (1 + 8 * 2 + 3));

        // A narrow one: logits of the right shape, a step of SGD lowers the loss on its batch,
        // and eval mode uses the running statistics (a different answer from train mode).
        let net = ResNet::new(4, 3, 1)?;
        let mut g = Rng::new(2);
        let x = Tensor::new((0..6 * 784).map(|_| g.uniform() as f32).collect(), &[6, 784])?;
        let y = Tensor::new(vec![0i64, 1, 2, 0, 1, 2], &[6])?;
        let logits = net.forward(&x)?;
        assert_eq!(logits.shape(), &[6, 3]);
        let loss = logits.cross_entropy(&y)?;
        loss.backward()?;
        for p in net.parameters() {
            let gr = p.grad().expect("every weight gets a gradient");
            p.copy_from(&p.sub(&gr.mul_scalar(0.1)?)?.detach())?;
        }
        assert!(net.forward(&x)?.cross_entropy(&y)?.item()? < loss.item()?);
        net.eval();
        let e = net.forward(&x)?.to_vec::<f32>()?;
        net.train();
        assert_ne!(e, net.forward(&x)?.to_vec::<f32>()?);
        assert!(net.forward(&Tensor::zeros(&[2, 1, 14, 14])).unwrap_err().to_string().contains("[2, 1, 14, 14]"));
        Ok(())
    }
}
