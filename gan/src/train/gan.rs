//! The one training interface every GAN here implements ([`Gan`]), and the one way a player is
//! updated while the other is frozen ([`update`]).
//!
//! **One interface.** The 2014 MNIST GAN, the image GANs and the toy GANs differ in their nets,
//! losses and data, but the training loops, labs and metrics meet them through the same four
//! things: a training iteration (`train_step`: the D update or updates, then the G update), how
//! many D updates there are per G update, samples from G, and the state a checkpoint holds.
//!
//! **Freezing a player.** A GAN's two losses share one graph: G's loss runs through D, and D's
//! loss on G's samples runs through G. PyTorch code keeps the other player still with
//! `zero_grad()` before each step, `requires_grad_(False)`, or `detach()`. Here every update
//! differentiates its loss with respect to the updating player's parameters only —
//! `grad(loss, params)`, then that player's optimizer step — so the other player's `.grad` is
//! never written: there is nothing to zero and nothing to forget. (D's loss still sees G's
//! samples detached where no gradient to G is wanted at all: that saves building the graph.)
//!
//! A simultaneous update (both players' gradients from one forward pass, as in the 2014 authors'
//! code) takes both [`gradients`] first and then [`apply`]s them, because a player's step changes
//! the weights the other player's gradient is computed from.

use minmax_engine::optim::Optimizer;
use minmax_engine::{grad, no_grad, Device, Generator as Rng, Result, Tensor};

/// Means over one minibatch. For WGAN-GP and the Loss-Sensitive GAN, `d_real`/`d_fake` are the
/// critic's scores / the loss function's values, not probabilities.
#[derive(Clone, Copy, Debug, Default)]
pub struct StepStats {
    pub d_loss: f64,
    pub g_loss: f64,
    /// mean D(x) on training images
    pub d_real: f64,
    /// mean D(G(z)) on generated images
    pub d_fake: f64,
}

/// What every GAN offers the training loops, the labs and the metrics.
pub trait Gan {
    /// What one training iteration reads: a minibatch of real data, or a distribution to draw
    /// minibatches from.
    type Data: ?Sized;

    /// One training iteration: the model's D update(s), then its G update, each through
    /// [`update`] (or [`gradients`] + [`apply`]). Returns the iteration's losses and D's means.
    fn train_step(&mut self, data: &Self::Data, rng: &mut Rng) -> Result<StepStats>;

    /// D (critic) updates per G update: 1 for the standard game, n_critic for WGAN-GP.
    fn d_steps_per_g_step(&self) -> usize {
        1
    }

    /// `n` samples of G on the CPU, drawn without recording a graph, in the data's own space (the
    /// model file says which).
    fn sample(&self, n: usize, rng: &mut Rng) -> Result<Tensor>;

    /// Everything a checkpoint of the model holds, by name.
    fn state_dict(&self) -> Vec<(String, Tensor)>;
}

/// ∂loss/∂p for each of `params` and nothing else: the gradients of one player's loss with
/// respect to that player's own parameters.
pub fn gradients(loss: &Tensor, params: &[Tensor]) -> Result<Vec<Tensor>> {
    grad(std::slice::from_ref(loss), None, params, false)
}

/// Put `grads` into `params`' `.grad` and take one step of `opt` (the optimizer of exactly those
/// parameters).
pub fn apply(params: &[Tensor], grads: Vec<Tensor>, opt: &mut dyn Optimizer) -> Result<()> {
    for (p, g) in params.iter().zip(grads) {
        p.set_grad(Some(g));
    }
    opt.step()
}

/// One optimizer step of one player on `loss`, the other player frozen (module docs). Returns the
/// loss value.
pub fn update(loss: &Tensor, params: &[Tensor], opt: &mut dyn Optimizer) -> Result<f64> {
    let value = loss.item()?;
    apply(params, gradients(loss, params)?, opt)?;
    Ok(value)
}

/// `n` rows drawn `chunk` at a time by `draw(b)` (b rows each, in order) without recording a
/// graph, each chunk moved to the CPU, concatenated: how every model's `sample` keeps memory flat
/// when asked for tens of thousands of samples.
pub fn sample_in_chunks(n: usize, chunk: usize, mut draw: impl FnMut(usize) -> Result<Tensor>) -> Result<Tensor> {
    no_grad(|| {
        let mut parts = Vec::new();
        let mut left = n;
        while left > 0 {
            let b = left.min(chunk);
            parts.push(draw(b)?.to_device(&Device::Cpu)?);
            left -= b;
        }
        Tensor::cat(&parts.iter().collect::<Vec<_>>(), 0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use minmax_engine::optim::Sgd;

    #[test]
    fn an_update_moves_only_its_own_player() -> Result<()> {
        // loss = (a·b)², a the updating player, b the other: b and its .grad must stay untouched.
        let a = Tensor::new(vec![1.0f64, 2.0], &[2])?.requires_grad_();
        let b = Tensor::new(vec![3.0f64, -1.0], &[2])?.requires_grad_();
        let loss = a.mul(&b)?.sum_all()?.sqr()?; // (3 − 2)² = 1
        let mut opt = Sgd::new(vec![a.clone()], 0.1)?;
        let value = update(&loss, std::slice::from_ref(&a), &mut opt)?;
        assert_eq!(value, 1.0);
        // ∂loss/∂a = 2(a·b)·b = (6, −2), so a ← a − 0.1·(6, −2)
        let moved = a.to_vec::<f64>()?;
        assert!((moved[0] - 0.4).abs() < 1e-15 && (moved[1] - 2.2).abs() < 1e-15, "{moved:?}");
        assert_eq!(b.to_vec::<f64>()?, vec![3.0, -1.0]);
        assert!(b.grad().is_none(), "the frozen player's .grad was written");
        Ok(())
    }
}
