//! Neural-network building blocks in the style of `torch.nn`: a `Module` trait with named
//! parameters and train/eval mode, the layers the GANs use, and seeded initialisers.

pub mod init;
mod layers;

pub use layers::*;

use crate::{Device, Result, Tensor};

/// A layer or a network. Parameters are leaf tensors with `requires_grad`; buffers (batch norm's
/// running statistics) are saved in checkpoints but not trained.
pub trait Module: Send + Sync {
    fn forward(&self, x: &Tensor) -> Result<Tensor>;
    /// Parameters with dotted names (`0.weight`, `disc.1.bias`), in a fixed order.
    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        Vec::new()
    }
    /// Non-trained state that belongs in a checkpoint.
    fn named_buffers(&self) -> Vec<(String, Tensor)> {
        Vec::new()
    }
    /// Switch dropout and batch norm between training and evaluation behaviour.
    fn set_training(&self, _on: bool) {}

    fn parameters(&self) -> Vec<Tensor> {
        self.named_parameters().into_iter().map(|(_, t)| t).collect()
    }
    /// Parameters and buffers: everything a checkpoint holds.
    fn state_dict(&self) -> Vec<(String, Tensor)> {
        let mut v = self.named_parameters();
        v.extend(self.named_buffers());
        v
    }
    fn train(&self) {
        self.set_training(true)
    }
    fn eval(&self) {
        self.set_training(false)
    }
    fn zero_grad(&self) {
        for p in self.parameters() {
            p.zero_grad();
        }
    }
    /// Move every parameter and buffer to `device` in place (PyTorch's `module.to(device)`).
    /// Create optimizers after moving: their state is made on the parameters' device.
    fn to_device(&self, device: &Device) -> Result<()> {
        for (name, t) in self.state_dict() {
            t.to_device_(device).map_err(|e| crate::Error::msg(format!("{name}: {e}")))?;
        }
        Ok(())
    }
    /// Number of trainable scalars.
    fn num_parameters(&self) -> usize {
        self.parameters().iter().map(|p| p.numel()).sum()
    }
}

/// Prefix every name with `prefix.`.
pub fn prefixed(prefix: &str, v: Vec<(String, Tensor)>) -> Vec<(String, Tensor)> {
    v.into_iter().map(|(n, t)| (format!("{prefix}.{n}"), t)).collect()
}
