//! Training one arm's classifier: the same network, optimiser, minibatch and step budget for
//! every arm; only the training set, the sampling and the loss (`losses.rs`) differ.
//!
//! ```text
//! net      the project's small CNN (metrics::classifier: two 3×3 convolutions 32 and 64 wide,
//!          max-pooling, 128 features), or with `--net resnet18[:W]` a ResNet-18 (resnet.rs),
//!          with K or K + 1 outputs, fresh from the arm's seed
//! opt      Adam, learning rate 1e-3, β (0.9, 0.999)
//! batch    64 images: a shuffled pass over the training set after another, or (oversampling)
//!          64 draws of a class uniformly at random, then an image of that class
//! budget   the same number of steps for every arm; every `eval_every` steps the ACSA on the
//!          validation set, and the weights of the best step are the ones tested
//! ```
//!
//! No augmentation for any arm. Images are the data sets' pixels in [0, 1].

use std::time::Instant;

use minmax_engine::nn::Module;
use minmax_engine::optim::{Adam, Optimizer};
use minmax_engine::{no_grad, Error, Generator as Rng, Result, Tensor};

use super::losses::{Loss, Target};
use super::resnet::ResNet;
use crate::data::Dataset;
use crate::metrics::classifier::{Classifier, ClassifierConfig};
use crate::metrics::per_class::{Confusion, Scores};

/// Images per forward pass when predicting.
const EVAL_BATCH: usize = 500;

/// The images an arm trains on, each with its target.
pub struct TrainSet {
    /// n · 784 pixels in [0, 1].
    pub images: Vec<f32>,
    pub targets: Vec<Target>,
    /// Draw classes uniformly, then an image of the class (random oversampling), instead of
    /// shuffled passes.
    pub class_balanced: bool,
}

impl TrainSet {
    /// A labelled data set, every image a `Target::Class`.
    pub fn labelled(data: &Dataset) -> TrainSet {
        TrainSet {
            images: data.images().to_vec(),
            targets: data.labels().iter().map(|&l| Target::Class(l)).collect(),
            class_balanced: false,
        }
    }
    /// Add generated images [n · 784], all with `target`.
    pub fn with_generated(mut self, images: &[f32], target: Target) -> TrainSet {
        self.images.extend_from_slice(images);
        self.targets.extend(std::iter::repeat_n(target, images.len() / 784));
        self
    }
    pub fn len(&self) -> usize {
        self.targets.len()
    }
    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }
}

/// Which network every arm trains (`--net`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NetKind {
    /// The project's small CNN (`small`, the default).
    Small,
    /// ResNet-18 at base width W (`resnet18` is W = 64, `resnet18:16` a quarter as wide).
    ResNet18 { width: usize },
}

impl NetKind {
    pub fn parse(s: &str) -> Result<NetKind> {
        let s = s.trim();
        let bad = || {
            Error::msg(format!(
                "--net: unknown network '{s}' (expected small, resnet18 or resnet18:WIDTH with 1 ≤ WIDTH ≤ 512)"
            ))
        };
        match s {
            "small" => Ok(NetKind::Small),
            "resnet18" => Ok(NetKind::ResNet18 { width: 64 }),
            _ => match s.strip_prefix("resnet18:").map(|w| w.parse::<usize>()) {
                Some(Ok(width)) if (1..=512).contains(&width) => Ok(NetKind::ResNet18 { width }),
                _ => Err(bad()),
            },
        }
    }
    pub fn name(&self) -> String {
        match self {
            NetKind::Small => "small".into(),
            NetKind::ResNet18 { width: 64 } => "resnet18".into(),
            NetKind::ResNet18 { width } => format!("resnet18:{width}"),
        }
    }
    /// A fresh network of this kind with `classes` outputs, seeded by `seed`.
    pub fn build(self, classes: usize, seed: u64) -> Result<Net> {
        Ok(match self {
            NetKind::Small => Box::new(Classifier::new(ClassifierConfig { classes, seed, ..Default::default() })?),
            NetKind::ResNet18 { width } => Box::new(ResNet::new(width, classes, seed)?),
        })
    }
    /// The network as the report describes it.
    pub fn describe(&self) -> String {
        match self {
            NetKind::Small => {
                "the project's small CNN (two 3×3 convolutions 32 and 64 wide, max-pooling, 128 features)".into()
            }
            NetKind::ResNet18 { width } => {
                format!("ResNet-18 at base width {width} (3×3 stem, no max-pool; resnet.rs)")
            }
        }
    }
}

/// A classifier of either kind: logits [B, C] of images [B, 784].
pub type Net = Box<dyn Module>;

/// The budget and the settings every arm shares.
#[derive(Clone, Debug)]
pub struct TrainConfig {
    pub net: NetKind,
    pub steps: usize,
    pub batch: usize,
    pub lr: f64,
    /// Validation ACSA every this many steps (and at the last).
    pub eval_every: usize,
    /// Pseudo-labels count from this step on.
    pub pseudo_from: usize,
    pub seed: u64,
}

/// A trained classifier and how its training went.
pub struct Trained {
    pub net: Net,
    /// The step whose weights were kept, and its validation ACSA.
    pub best_step: usize,
    pub best_valid_acsa: f64,
    pub seconds: f64,
}

/// Train a fresh classifier with `loss.outputs` outputs on `set` (module docs).
pub fn train(set: &TrainSet, loss: &Loss, valid: &Dataset, cfg: &TrainConfig) -> Result<Trained> {
    if set.is_empty() || cfg.batch == 0 || cfg.steps == 0 {
        return Err(Error::msg(format!(
            "imbalance: nothing to train ({} images, batch {}, {} steps)",
            set.len(),
            cfg.batch,
            cfg.steps
        )));
    }
    let t0 = Instant::now();
    let net = cfg.net.build(loss.outputs, cfg.seed)?;
    let params = net.parameters();
    // What the best step keeps: the weights and batch norm's running statistics.
    let state: Vec<Tensor> = net.state_dict().into_iter().map(|(_, t)| t).collect();
    let mut opt = Adam::new(params.clone(), cfg.lr, (0.9, 0.999))?;
    let mut rng = Rng::new(cfg.seed ^ 0xBA7C_4E5);
    let by_class = classes_of(&set.targets, loss.classes);
    let mut order: Vec<usize> = Vec::new();
    let mut at = 0;
    let (mut best, mut best_step, mut best_acsa) = (snapshot(&state)?, 0, f64::NEG_INFINITY);

    for step in 1..=cfg.steps {
        // The minibatch's indices.
        let idx: Vec<usize> = if set.class_balanced {
            (0..cfg.batch)
                .map(|_| {
                    let c = &by_class[rng.below(by_class.len())];
                    c[rng.below(c.len())]
                })
                .collect()
        } else {
            (0..cfg.batch)
                .map(|_| {
                    if at == order.len() {
                        order = rng.permutation(set.len());
                        at = 0;
                    }
                    at += 1;
                    order[at - 1]
                })
                .collect()
        };
        let mut pixels = Vec::with_capacity(idx.len() * 784);
        for &i in &idx {
            pixels.extend_from_slice(&set.images[i * 784..(i + 1) * 784]);
        }
        let x = Tensor::new(pixels, &[idx.len(), 784])?; // [B, 784]
        let logits = net.forward(&x)?; // [B, C]
        let targets: Vec<Target> = idx.iter().map(|&i| set.targets[i]).collect();
        let predicted = if targets.contains(&Target::Pseudo) {
            argmax_rows(&logits.detach().narrow(1, 0, loss.classes)?)?
        } else {
            vec![0; idx.len()]
        };
        let rows = Tensor::new(loss.rows(&targets, &predicted, step >= cfg.pseudo_from), &[idx.len(), loss.outputs])?;
        let l = loss.loss(&logits, &rows)?;
        opt.zero_grad();
        l.backward()?;
        opt.step()?;
        let v = l.item()?;
        if !v.is_finite() {
            return Err(Error::msg(format!("imbalance: the classifier's loss became {v} at step {step}")));
        }
        if step % cfg.eval_every.max(1) == 0 || step == cfg.steps {
            let acsa = score(&net, valid, loss.classes)?.acsa;
            if acsa > best_acsa {
                (best, best_step, best_acsa) = (snapshot(&state)?, step, acsa);
            }
        }
    }
    for (p, b) in state.iter().zip(&best) {
        p.copy_from(b)?;
    }
    Ok(Trained { net, best_step, best_valid_acsa: best_acsa, seconds: t0.elapsed().as_secs_f64() })
}

/// The classes' indices of the real images of `targets` (for class-balanced sampling).
fn classes_of(targets: &[Target], classes: usize) -> Vec<Vec<usize>> {
    let mut v = vec![Vec::new(); classes];
    for (i, t) in targets.iter().enumerate() {
        if let Target::Class(c) = t {
            v[*c as usize].push(i);
        }
    }
    v.retain(|c| !c.is_empty());
    v
}

fn snapshot(params: &[Tensor]) -> Result<Vec<Tensor>> {
    params.iter().map(|p| Tensor::new(p.to_vec::<f32>()?, p.shape())).collect()
}

fn argmax_rows(t: &Tensor) -> Result<Vec<usize>> {
    Ok(t.argmax(1, false)?.to_vec::<i64>()?.into_iter().map(|c| c as usize).collect())
}

/// The predicted class (argmax over the first `classes` logits) of every image of `data`.
pub fn predict(net: &Net, data: &Dataset, classes: usize) -> Result<Vec<usize>> {
    let (images, _) = data.to_tensors()?;
    let n = data.len();
    net.eval();
    let _train_again = Restore(net);
    no_grad(|| {
        let mut out = Vec::with_capacity(n);
        for s in (0..n).step_by(EVAL_BATCH) {
            let logits = net.forward(&images.narrow(0, s, EVAL_BATCH.min(n - s))?)?;
            crate::metrics::ensure_finite(&logits, "imbalance: classifier logits")?;
            out.extend(argmax_rows(&logits.narrow(1, 0, classes)?)?);
        }
        Ok(out)
    })
}

/// Puts batch norm back in training mode when prediction ends, however it ends.
struct Restore<'a>(&'a Net);
impl Drop for Restore<'_> {
    fn drop(&mut self) {
        self.0.train()
    }
}

/// Per-class scores of `net` on `data`.
pub fn score(net: &Net, data: &Dataset, classes: usize) -> Result<Scores> {
    let truth: Vec<usize> = data.labels().iter().map(|&l| l as usize).collect();
    Confusion::new(&truth, &predict(net, data, classes)?, classes)?.scores()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 40 images of two easy classes: class 0 dark, class 1 bright, 30 and 10 of them.
    fn two_classes() -> Dataset {
        let mut images = Vec::new();
        let mut labels = Vec::new();
        for i in 0..40 {
            let c = (i >= 30) as u8;
            images.extend((0..784).map(|p| if c == 1 { 0.9 } else { 0.1 } + ((p + i) % 7) as f32 * 0.01));
            labels.push(c);
        }
        Dataset::new(images, labels, 28, 28).unwrap()
    }

    #[test]
    fn an_arm_trains_seeded_and_keeps_its_best_step() -> Result<()> {
        let data = two_classes();
        let cfg =
            TrainConfig { net: NetKind::Small, steps: 6, batch: 8, lr: 1e-3, eval_every: 2, pseudo_from: 3, seed: 1 };
        let mut set = TrainSet::labelled(&data);
        set.class_balanced = true;
        let loss = Loss::plain(2);
        let a = train(&set, &loss, &data, &cfg)?;
        assert!([2, 4, 6].contains(&a.best_step), "{}", a.best_step);
        let s = score(&a.net, &data, 2)?;
        assert!((s.acsa - a.best_valid_acsa).abs() < 1e-12, "the kept weights are the best step's");
        let b = train(&set, &loss, &data, &cfg)?;
        assert_eq!(predict(&a.net, &data, 2)?, predict(&b.net, &data, 2)?, "same seed, same classifier");
        // Generated images with pseudo-labels and an extra output train too.
        let gen = vec![0.5f32; 784 * 4];
        let set = TrainSet::labelled(&data).with_generated(&gen, Target::Pseudo);
        assert_eq!(set.len(), 44);
        train(&set, &Loss { pseudo_weight: 0.1, ..Loss::plain(2) }, &data, &cfg)?;
        let set = TrainSet::labelled(&data).with_generated(&gen, Target::Extra);
        let t = train(&set, &Loss { outputs: 3, ..Loss::plain(2) }, &data, &cfg)?;
        assert!(predict(&t.net, &data, 2)?.iter().all(|&p| p < 2), "the extra class is never predicted");

        // The ResNet keeps its best step's batch-norm statistics with its weights.
        let cfg = TrainConfig { net: NetKind::ResNet18 { width: 2 }, ..cfg };
        let a = train(&TrainSet::labelled(&data), &Loss::plain(2), &data, &cfg)?;
        let s = score(&a.net, &data, 2)?;
        assert!((s.acsa - a.best_valid_acsa).abs() < 1e-12, "the kept state is the best step's");
        let b = train(&TrainSet::labelled(&data), &Loss::plain(2), &data, &cfg)?;
        assert_eq!(predict(&a.net, &data, 2)?, predict(&b.net, &data, 2)?, "same seed, same ResNet");
        Ok(())
    }

    #[test]
    fn net_names_parse() {
        assert_eq!(NetKind::parse("small").unwrap(), NetKind::Small);
        assert_eq!(NetKind::parse(" resnet18").unwrap(), NetKind::ResNet18 { width: 64 });
        assert_eq!(NetKind::parse("resnet18:16").unwrap(), NetKind::ResNet18 { width: 16 });
        for bad in ["resnet18:0", "resnet18:513", "resnet18:x", "resnet50", ""] {
            let e = NetKind::parse(bad).unwrap_err().to_string();
            assert!(e.contains("--net") && e.contains(bad.trim()), "{e}");
        }
        assert_eq!(NetKind::ResNet18 { width: 16 }.name(), "resnet18:16");
        assert_eq!(NetKind::ResNet18 { width: 64 }.name(), "resnet18");
    }
}
