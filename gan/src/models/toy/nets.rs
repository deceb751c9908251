//! The small fully connected networks of the toy experiments, with their parameters held as a
//! plain list of tensors `[W₁, b₁, W₂, b₂, …]` (W: [out, in], PyTorch's layout and default
//! initialisation U(±1/√fan_in)). `forward_with` evaluates the same network at *other* parameter
//! values, which is what the unrolled GAN needs: D(x; θ − η∇θL) is a differentiable function of θ.
//!
//! Shapes: B = batch, and the layer widths given to [`Mlp::new`], e.g. [2, 128, 128, 1] is
//! x [B, 2] → [B, 128] → [B, 128] → [B, 1] with the activation after every layer but the last.
//!
//! [`Mlp::with`] builds the larger nets of the published setups ([`Hidden`]): batch norm before
//! each hidden activation (PacGAN's G), maxout hidden units (a hidden layer of width H with k
//! pieces is a linear map to H·k numbers, then the max of each group of k: PacGAN's D), and
//! weights drawn otherwise (N(0, std²) for PacGAN, orthogonal for the unrolled GAN's paper) with
//! zero biases instead of PyTorch's default. `input_scale` multiplies the input before the first
//! layer (the unrolled GAN paper's D divides its input by 4). Batch norm here always
//! normalises with the statistics of the batch at hand (training and sampling alike; samples
//! are drawn 2,500 at a time), with a learned scale and shift kept after the linear parameters:
//! `[W₁, b₁, …, W_L, b_L, γ₁, β₁, …]`.

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

/// What the hidden layers of an [`Mlp`] do besides their activation (module docs).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Hidden {
    /// Batch norm (batch statistics, learned scale and shift) before the activation.
    pub batch_norm: bool,
    /// Maxout pieces per hidden unit (1: the plain activation; above 1 replaces it).
    pub pieces: usize,
    /// Every layer's weights drawn by this, with zero biases; `None`: U(±1/√fan_in) for both
    /// (PyTorch's default).
    pub init: Option<Init>,
}

impl Default for Hidden {
    fn default() -> Self {
        Hidden { batch_norm: false, pieces: 1, init: None }
    }
}

/// A multilayer perceptron: Linear → act → … → Linear (no activation on the output).
pub struct Mlp {
    /// `[W₁, b₁, W₂, b₂, …]` (then `γ, β` per hidden layer with batch norm), leaves with
    /// `requires_grad`.
    pub params: Vec<Tensor>,
    /// Layer widths, input first.
    pub sizes: Vec<usize>,
    pub act: Act,
    pub hidden: Hidden,
    /// The input is multiplied by this before the first layer (1: as it is).
    pub input_scale: f64,
}

impl Mlp {
    pub fn new(sizes: &[usize], act: Act, rng: &mut Rng) -> Result<Self> {
        Mlp::with(sizes, act, Hidden::default(), rng)
    }

    /// An MLP whose hidden layers are as `hidden` says.
    pub fn with(sizes: &[usize], act: Act, hidden: Hidden, rng: &mut Rng) -> Result<Self> {
        if sizes.len() < 2 || sizes.contains(&0) || hidden.pieces == 0 {
            return Err(Error::msg(format!(
                "Mlp: layer sizes {sizes:?} need at least two non-zero widths, and maxout at least one piece"
            )));
        }
        let layers = sizes.len() - 1;
        let mut params = Vec::new();
        for (l, w) in sizes.windows(2).enumerate() {
            // A hidden maxout layer computes `pieces` numbers per unit.
            let out = if l + 1 < layers { w[1] * hidden.pieces } else { w[1] };
            let (wi, bi) = match hidden.init {
                None => {
                    let b = 1.0 / (w[0] as f64).sqrt();
                    (Init::Uniform(-b, b), Init::Uniform(-b, b))
                }
                Some(init) => (init, Init::Constant(0.0)),
            };
            params.push(init::make(&[out, w[0]], wi, rng)?.requires_grad_());
            params.push(init::make(&[out], bi, rng)?.requires_grad_());
        }
        if hidden.batch_norm {
            for &h in &sizes[1..layers] {
                let h = h * hidden.pieces;
                params.push(Tensor::ones(&[h]).requires_grad_());
                params.push(Tensor::zeros(&[h]).requires_grad_());
            }
        }
        Ok(Mlp { params, sizes: sizes.to_vec(), act, hidden, input_scale: 1.0 })
    }

    /// The network at its own parameters.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.forward_with(&self.params, x)
    }

    /// The network at parameters `p` (same shapes as `self.params`).
    pub fn forward_with(&self, p: &[Tensor], x: &Tensor) -> Result<Tensor> {
        let layers = self.sizes.len() - 1;
        let mut h = if self.input_scale == 1.0 { x.clone() } else { x.mul_scalar(self.input_scale)? };
        for l in 0..layers {
            h = h.linear(&p[2 * l], Some(&p[2 * l + 1]))?; // [B, sizes[l + 1] (· pieces)]
            if l + 1 == layers {
                break;
            }
            if self.hidden.batch_norm {
                let (g, b) = (&p[2 * layers + 2 * l], &p[2 * layers + 2 * l + 1]);
                h = h.batch_norm(&minmax_engine::BatchNormArgs {
                    running_mean: None,
                    running_var: None,
                    weight: Some(g),
                    bias: Some(b),
                    training: true,
                    momentum: 0.0,
                    eps: 1e-5,
                })?;
            }
            h = if self.hidden.pieces > 1 { h.maxout(self.hidden.pieces)? } else { self.act.apply(&h)? };
        }
        Ok(h)
    }

    /// "2 → 128 → 128 → 1 (LeakyReLU(0.2))", "2 → 400 → … → 2 (batch norm, ReLU)",
    /// "4 → 200 → 200 → 200 → 1 (maxout, 5 pieces)"
    pub fn describe(&self) -> String {
        let s: Vec<String> = self.sizes.iter().map(|d| d.to_string()).collect();
        let act =
            if self.hidden.pieces > 1 { format!("maxout, {} pieces", self.hidden.pieces) } else { self.act.name() };
        let bn = if self.hidden.batch_norm { "batch norm, " } else { "" };
        let init = match self.hidden.init {
            Some(Init::Normal(_, s)) => format!("; weights N(0, {s}²)"),
            Some(Init::Orthogonal(g)) => format!("; weights orthogonal × {g}"),
            Some(i) => format!("; weights {i:?}"),
            None => String::new(),
        };
        let scale = if self.input_scale == 1.0 { String::new() } else { format!("input × {}, ", self.input_scale) };
        format!("{} ({scale}{bn}{act}{init})", s.join(" → "))
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
