//! The small fully connected networks of the toy experiments, with their parameters held as a
//! plain list of tensors `[W₁, b₁, W₂, b₂, …]` (W: [out, in], PyTorch's layout and default
//! initialisation U(±1/√fan_in)). `forward_with` evaluates the same network at *other* parameter
//! values, which is what the unrolled GAN needs: D(x; θ − η∇θL) is a differentiable function of θ.
//!
//! Shapes: B = batch, and the layer widths given to [`Mlp::new`], e.g. [2, 128, 128, 1] is
//! x [B, 2] → [B, 128] → [B, 128] → [B, 1] with the activation after every layer but the last.

use minmax_engine::nn::init::{self, Init};
use minmax_engine::{Error, Generator as Rng, Result, Tensor};

/// The nonlinearity between layers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Act {
    Relu,
    LeakyRelu(f64),
    Tanh,
}

impl Act {
    pub fn apply(self, x: &Tensor) -> Result<Tensor> {
        match self {
            Act::Relu => x.relu(),
            Act::LeakyRelu(s) => x.leaky_relu(s),
            Act::Tanh => x.tanh(),
        }
    }
    pub fn name(self) -> String {
        match self {
            Act::Relu => "ReLU".into(),
            Act::LeakyRelu(s) => format!("LeakyReLU({s})"),
            Act::Tanh => "tanh".into(),
        }
    }
}

/// A multilayer perceptron: Linear → act → … → Linear (no activation on the output).
pub struct Mlp {
    /// `[W₁, b₁, W₂, b₂, …]`, leaves with `requires_grad`.
    pub params: Vec<Tensor>,
    /// Layer widths, input first.
    pub sizes: Vec<usize>,
    pub act: Act,
}

impl Mlp {
    pub fn new(sizes: &[usize], act: Act, rng: &mut Rng) -> Result<Self> {
        if sizes.len() < 2 || sizes.contains(&0) {
            return Err(Error::msg(format!("Mlp: layer sizes {sizes:?} need at least two non-zero widths")));
        }
        let mut params = Vec::new();
        for w in sizes.windows(2) {
            let b = 1.0 / (w[0] as f64).sqrt();
            params.push(init::make(&[w[1], w[0]], Init::Uniform(-b, b), rng)?.requires_grad_());
            params.push(init::make(&[w[1]], Init::Uniform(-b, b), rng)?.requires_grad_());
        }
        Ok(Mlp { params, sizes: sizes.to_vec(), act })
    }

    /// The network at its own parameters.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.forward_with(&self.params, x)
    }

    /// The network at parameters `p` (same shapes as `self.params`).
    pub fn forward_with(&self, p: &[Tensor], x: &Tensor) -> Result<Tensor> {
        let layers = p.len() / 2;
        let mut h = x.clone();
        for l in 0..layers {
            h = h.linear(&p[2 * l], Some(&p[2 * l + 1]))?; // [B, sizes[l + 1]]
            if l + 1 < layers {
                h = self.act.apply(&h)?;
            }
        }
        Ok(h)
    }

    /// "2 → 128 → 128 → 1 (LeakyReLU(0.2))"
    pub fn describe(&self) -> String {
        let s: Vec<String> = self.sizes.iter().map(|d| d.to_string()).collect();
        format!("{} ({})", s.join(" → "), self.act.name())
    }

    pub fn num_parameters(&self) -> usize {
        self.params.iter().map(|p| p.numel()).sum()
    }
}

/// As a `Module` (what the benchmark and generic code take): the weights are `w0, b0, w1, b1, …`.
impl minmax_engine::nn::Module for Mlp {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Mlp::forward(self, x)
    }
    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        self.params
            .iter()
            .enumerate()
            .map(|(i, p)| (format!("{}{}", if i % 2 == 0 { "w" } else { "b" }, i / 2), p.clone()))
            .collect()
    }
}
