//! The layers: Linear, Conv2d, ConvTranspose2d, BatchNorm1d/2d, Maxout, Dropout, Embedding,
//! activations and Sequential. Default initialisations follow PyTorch (U(±1/√fan_in) for
//! weights and biases of Linear and convolutions); `with_init` picks another.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use super::init::{self, Init};
use super::{prefixed, Module};
use crate::{BatchNormArgs, Conv2dOpts, Error, Generator, Result, Tensor};

fn param(shape: &[usize], how: Init, g: &mut Generator) -> Result<Tensor> {
    Ok(init::make(shape, how, g)?.requires_grad_())
}

/// `weight` and, when present, `bias`: the parameters of Linear and the convolutions.
fn weight_and_bias(w: &Tensor, b: &Option<Tensor>) -> Vec<(String, Tensor)> {
    let mut v = vec![("weight".to_string(), w.clone())];
    v.extend(b.iter().map(|b| ("bias".to_string(), b.clone())));
    v
}

fn pytorch_default(fan_in: usize) -> Init {
    let b = 1.0 / (fan_in as f64).sqrt();
    Init::Uniform(-b, b)
}

// ---- Linear -------------------------------------------------------------------------------------

/// y = x Wᵀ + b, W: [out, in].
pub struct Linear {
    pub weight: Tensor,
    pub bias: Option<Tensor>,
}

impl Linear {
    pub fn new(inp: usize, out: usize, g: &mut Generator) -> Result<Self> {
        Linear::with_init(inp, out, true, pytorch_default(inp), pytorch_default(inp), g)
    }
    pub fn with_init(inp: usize, out: usize, bias: bool, w: Init, b: Init, g: &mut Generator) -> Result<Self> {
        let weight = param(&[out, inp], w, g)?;
        let bias = if bias { Some(param(&[out], b, g)?) } else { None };
        Ok(Linear { weight, bias })
    }
}

impl Module for Linear {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.linear(&self.weight, self.bias.as_ref())
    }
    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        weight_and_bias(&self.weight, &self.bias)
    }
}

// ---- Convolutions -------------------------------------------------------------------------------

/// 2-D convolution, weight [O, C, k, k].
pub struct Conv2d {
    pub weight: Tensor,
    pub bias: Option<Tensor>,
    pub opts: Conv2dOpts,
}

impl Conv2d {
    pub fn new(
        cin: usize,
        cout: usize,
        k: usize,
        stride: usize,
        padding: usize,
        bias: bool,
        g: &mut Generator,
    ) -> Result<Self> {
        let d = pytorch_default(cin * k * k);
        Conv2d::with_init(cin, cout, k, Conv2dOpts::new(stride, padding), bias, d, d, g)
    }
    #[allow(clippy::too_many_arguments)]
    pub fn with_init(
        cin: usize,
        cout: usize,
        k: usize,
        opts: Conv2dOpts,
        bias: bool,
        w: Init,
        b: Init,
        g: &mut Generator,
    ) -> Result<Self> {
        let weight = param(&[cout, cin, k, k], w, g)?;
        let bias = if bias { Some(param(&[cout], b, g)?) } else { None };
        Ok(Conv2d { weight, bias, opts })
    }
}

impl Module for Conv2d {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.conv2d(&self.weight, self.bias.as_ref(), &self.opts)
    }
    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        weight_and_bias(&self.weight, &self.bias)
    }
}

/// 2-D transposed convolution, weight [Cin, Cout, k, k] (PyTorch's layout).
pub struct ConvTranspose2d {
    pub weight: Tensor,
    pub bias: Option<Tensor>,
    pub opts: Conv2dOpts,
    pub output_padding: (usize, usize),
}

impl ConvTranspose2d {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        cin: usize,
        cout: usize,
        k: usize,
        stride: usize,
        padding: usize,
        output_padding: usize,
        bias: bool,
        g: &mut Generator,
    ) -> Result<Self> {
        let d = pytorch_default(cout * k * k);
        let weight = param(&[cin, cout, k, k], d, g)?;
        let bias = if bias { Some(param(&[cout], d, g)?) } else { None };
        Ok(ConvTranspose2d {
            weight,
            bias,
            opts: Conv2dOpts::new(stride, padding),
            output_padding: (output_padding, output_padding),
        })
    }
}

impl Module for ConvTranspose2d {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.conv_transpose2d(&self.weight, self.bias.as_ref(), &self.opts, self.output_padding)
    }
    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        weight_and_bias(&self.weight, &self.bias)
    }
}

// ---- BatchNorm ----------------------------------------------------------------------------------

/// Batch normalisation over dim 1 of [N, C] (BatchNorm1d) or [N, C, H, W] (BatchNorm2d) inputs.
pub struct BatchNorm {
    pub weight: Tensor,
    pub bias: Tensor,
    pub running_mean: Tensor,
    pub running_var: Tensor,
    pub momentum: f64,
    pub eps: f64,
    training: AtomicBool,
}

pub type BatchNorm1d = BatchNorm;
pub type BatchNorm2d = BatchNorm;

impl BatchNorm {
    pub fn new(c: usize) -> Self {
        BatchNorm {
            weight: Tensor::ones(&[c]).requires_grad_(),
            bias: Tensor::zeros(&[c]).requires_grad_(),
            running_mean: Tensor::zeros(&[c]),
            running_var: Tensor::ones(&[c]),
            momentum: 0.1,
            eps: 1e-5,
            training: AtomicBool::new(true),
        }
    }
    pub fn is_training(&self) -> bool {
        self.training.load(Ordering::Relaxed)
    }
}

impl Module for BatchNorm {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.batch_norm(&BatchNormArgs {
            running_mean: Some(&self.running_mean),
            running_var: Some(&self.running_var),
            weight: Some(&self.weight),
            bias: Some(&self.bias),
            training: self.is_training(),
            momentum: self.momentum,
            eps: self.eps,
        })
    }
    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        vec![("weight".into(), self.weight.clone()), ("bias".into(), self.bias.clone())]
    }
    fn named_buffers(&self) -> Vec<(String, Tensor)> {
        vec![("running_mean".into(), self.running_mean.clone()), ("running_var".into(), self.running_var.clone())]
    }
    fn set_training(&self, on: bool) {
        self.training.store(on, Ordering::Relaxed)
    }
}

// ---- Maxout -------------------------------------------------------------------------------------

/// Maxout (Goodfellow et al. 2013): a Linear layer to units·pieces features, then the max over
/// each group of `pieces` consecutive features. The original GAN's discriminator is built of these.
pub struct Maxout {
    pub linear: Linear,
    pub pieces: usize,
}

impl Maxout {
    pub fn new(inp: usize, units: usize, pieces: usize, g: &mut Generator) -> Result<Self> {
        Ok(Maxout { linear: Linear::new(inp, units * pieces, g)?, pieces })
    }
    pub fn with_init(inp: usize, units: usize, pieces: usize, w: Init, b: Init, g: &mut Generator) -> Result<Self> {
        Ok(Maxout { linear: Linear::with_init(inp, units * pieces, true, w, b, g)?, pieces })
    }
}

impl Module for Maxout {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.linear.forward(x)?.maxout(self.pieces)
    }
    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        self.linear.named_parameters()
    }
}

// ---- Dropout ------------------------------------------------------------------------------------

/// Inverted dropout with its own seeded generator (drop probability p).
pub struct Dropout {
    pub p: f64,
    rng: Mutex<Generator>,
    training: AtomicBool,
}

impl Dropout {
    pub fn new(p: f64, g: &mut Generator) -> Result<Self> {
        if !(0.0..1.0).contains(&p) {
            return Err(Error::msg(format!("Dropout: probability {p} must be in [0, 1)")));
        }
        Ok(Dropout { p, rng: Mutex::new(g.fork()), training: AtomicBool::new(true) })
    }
}

impl Module for Dropout {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut g = self.rng.lock().unwrap_or_else(|e| e.into_inner());
        x.dropout(self.p, self.training.load(Ordering::Relaxed), &mut g)
    }
    fn set_training(&self, on: bool) {
        self.training.store(on, Ordering::Relaxed)
    }
}

// ---- Embedding ----------------------------------------------------------------------------------

/// A lookup table [num, dim] indexed by i64 ids; initialised N(0, 1) like PyTorch.
pub struct Embedding {
    pub weight: Tensor,
}

impl Embedding {
    pub fn new(num: usize, dim: usize, g: &mut Generator) -> Result<Self> {
        Ok(Embedding { weight: param(&[num, dim], Init::Normal(0.0, 1.0), g)? })
    }
}

impl Module for Embedding {
    fn forward(&self, ids: &Tensor) -> Result<Tensor> {
        ids.embedding(&self.weight)
    }
    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        vec![("weight".into(), self.weight.clone())]
    }
}

// ---- Activations and reshapes as modules ----------------------------------------------------------

/// A parameter-free function as a layer: `Func::new("relu", |x| x.relu())`.
pub struct Func {
    pub name: &'static str,
    f: Box<dyn Fn(&Tensor) -> Result<Tensor> + Send + Sync>,
}

impl Func {
    pub fn new(name: &'static str, f: impl Fn(&Tensor) -> Result<Tensor> + Send + Sync + 'static) -> Self {
        Func { name, f: Box::new(f) }
    }
}

impl Module for Func {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        (self.f)(x)
    }
}

pub fn relu() -> Func {
    Func::new("relu", |x| x.relu())
}
pub fn leaky_relu(slope: f64) -> Func {
    Func::new("leaky_relu", move |x| x.leaky_relu(slope))
}
pub fn sigmoid() -> Func {
    Func::new("sigmoid", |x| x.sigmoid())
}
pub fn tanh() -> Func {
    Func::new("tanh", |x| x.tanh())
}
/// [N, ...] → [N, prod(...)]
pub fn flatten() -> Func {
    Func::new("flatten", |x| x.flatten(1, -1))
}
/// [N, ...] → [N, shape...]
pub fn unflatten(shape: Vec<usize>) -> Func {
    Func::new("unflatten", move |x| {
        let mut s = vec![x.shape()[0]];
        s.extend(&shape);
        x.view(&s)
    })
}

// ---- Sequential ---------------------------------------------------------------------------------

/// Layers applied in order; parameters are named by position (`0.weight`, `2.bias`).
#[derive(Default)]
pub struct Sequential {
    pub layers: Vec<Box<dyn Module>>,
}

impl Sequential {
    pub fn new() -> Self {
        Sequential { layers: Vec::new() }
    }
    #[allow(clippy::should_implement_trait)]
    pub fn add(mut self, m: impl Module + 'static) -> Self {
        self.layers.push(Box::new(m));
        self
    }
    pub fn len(&self) -> usize {
        self.layers.len()
    }
    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }
}

impl Module for Sequential {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut h = x.clone();
        for l in &self.layers {
            h = l.forward(&h)?;
        }
        Ok(h)
    }
    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        self.layers.iter().enumerate().flat_map(|(i, l)| prefixed(&i.to_string(), l.named_parameters())).collect()
    }
    fn named_buffers(&self) -> Vec<(String, Tensor)> {
        self.layers.iter().enumerate().flat_map(|(i, l)| prefixed(&i.to_string(), l.named_buffers())).collect()
    }
    fn set_training(&self, on: bool) {
        for l in &self.layers {
            l.set_training(on);
        }
    }
}
