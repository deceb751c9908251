//! Reverse-mode automatic differentiation, define-by-run.
//!
//! Every op that takes a tensor requiring grad attaches a [`Node`] to its result: the op's name, its
//! inputs and a backward closure that maps the output's gradient to the inputs' gradients. The
//! closures are written with the engine's own tensor ops, so when they run with grad recording on
//! (`create_graph = true`) the gradients are themselves differentiable: this is how WGAN-GP's
//! gradient penalty gets its gradient.
//!
//! `backward()` walks the graph in reverse topological order, accumulates gradients per tensor id
//! (a tensor used twice receives the sum), checks every gradient against its input's shape, and
//! adds the results into the `.grad` of leaves that require grad. `grad()` returns gradients for any
//! tensors without touching `.grad`.

use std::cell::Cell;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Mutex;

use crate::tensor::TensorId;
use crate::{Error, Result, Tensor};

/// What a backward closure sees.
pub struct BackwardCtx<'a> {
    /// The op's inputs, in the order they were recorded.
    pub inputs: &'a [Tensor],
    /// The op's output (still attached to the graph, so rules may use it: `exp: grad * out`).
    pub out: &'a Tensor,
    /// The gradient of the final result with respect to `out`.
    pub grad: &'a Tensor,
    /// Which inputs need a gradient; a rule may return `None` for the others and skip the work.
    pub needs: &'a [bool],
    /// Whether the gradients being built must themselves be differentiable (`grad(..,
    /// create_graph = true)`): a rule with a fused, non-differentiable kernel takes its composed
    /// path then.
    pub create_graph: bool,
}

pub type BackwardFn = dyn Fn(&BackwardCtx) -> Result<Vec<Option<Tensor>>> + Send + Sync;

pub(crate) struct Node {
    pub(crate) name: &'static str,
    pub(crate) inputs: Vec<Tensor>,
    pub(crate) backward: Box<BackwardFn>,
    /// The inputs' and the output's storage versions when the op ran. A rule may read any input
    /// and the output (`exp: grad * out`), so all of them count as saved — a superset of what
    /// PyTorch saves per op: an in-place write to, say, a bias that only `add` used is refused too.
    pub(crate) input_versions: Vec<u64>,
    pub(crate) out_version: u64,
}

impl Node {
    /// The error PyTorch gives when a saved tensor was written in place before backward read it.
    fn check_versions(&self, out: &Tensor) -> Result<()> {
        let stale = |what: String, shape: &[usize], now: u64, saved: u64| {
            Error::msg(format!(
                "one of the tensors needed for gradient computation has been modified by an in-place operation: \
                 {what} (shape {shape:?}) of {}, is at version {now}; expected version {saved} \
                 (an optimizer step, copy_from, lerp_ or running-statistics update between forward and backward?)",
                self.name
            ))
        };
        for (k, (x, &saved)) in self.inputs.iter().zip(&self.input_versions).enumerate() {
            if x.version() != saved {
                return Err(stale(format!("input {k}"), x.shape(), x.version(), saved));
            }
        }
        if out.version() != self.out_version {
            return Err(stale("the output".into(), out.shape(), out.version(), self.out_version));
        }
        Ok(())
    }
}

// ---- grad mode ----------------------------------------------------------------------------------

thread_local! {
    static GRAD_ENABLED: Cell<bool> = const { Cell::new(true) };
}

/// Whether ops currently record the graph.
pub fn is_grad_enabled() -> bool {
    GRAD_ENABLED.with(|g| g.get())
}

/// Restores the previous grad mode when dropped.
pub struct GradModeGuard {
    prev: bool,
}

impl Drop for GradModeGuard {
    fn drop(&mut self) {
        GRAD_ENABLED.with(|g| g.set(self.prev));
    }
}

/// Turn graph recording on or off until the guard is dropped.
pub fn set_grad_enabled(on: bool) -> GradModeGuard {
    let prev = GRAD_ENABLED.with(|g| g.replace(on));
    GradModeGuard { prev }
}

/// Run `f` without recording the graph (PyTorch's `with torch.no_grad():`).
pub fn no_grad<R>(f: impl FnOnce() -> R) -> R {
    let _g = set_grad_enabled(false);
    f()
}

// ---- graph construction -------------------------------------------------------------------------

/// Names `Tensor::record` has been called with in this process.
static RECORDED: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());

/// Every op name the engine's ops have recorded a backward rule under so far in this process
/// (whether or not a graph was built), sorted. Read by the coverage checks in `tests/gradcheck.rs`.
pub fn recorded_ops() -> Vec<&'static str> {
    RECORDED.lock().unwrap_or_else(|e| e.into_inner()).iter().copied().collect()
}

impl Tensor {
    /// Attach an autograd node to `out`, the freshly computed result of op `name` on `inputs`.
    /// If grad is off or no input requires grad, `out` is returned unchanged. This is also the
    /// public way to define a custom differentiable op: compute the result without grad, then
    /// give its backward rule here.
    pub fn from_op(
        out: Tensor,
        name: &'static str,
        inputs: &[&Tensor],
        backward: impl Fn(&BackwardCtx) -> Result<Vec<Option<Tensor>>> + Send + Sync + 'static,
    ) -> Tensor {
        if !is_grad_enabled() || !inputs.iter().any(|t| t.requires_grad()) {
            return out;
        }
        let node = Node {
            name,
            inputs: inputs.iter().map(|t| (*t).clone()).collect(),
            backward: Box::new(backward),
            input_versions: inputs.iter().map(|t| t.version()).collect(),
            out_version: out.version(),
        };
        let o = &out.0;
        Tensor::from_shared(o.storage.clone(), o.version.clone(), o.layout.clone(), o.dtype, out.device(), Some(node))
    }

    /// `from_op` for the engine's own ops. The name is noted in [`recorded_ops`];
    /// `tests/gradcheck.rs` checks, in every build profile, that each name given here is listed in
    /// `ops::PRIMITIVE_OPS` (or `DEVICE_OPS`) and that each listed op has a gradcheck case,
    /// so an op cannot be added without one (the registry's module doc says exactly what is checked).
    pub(crate) fn record(
        out: Tensor,
        name: &'static str,
        inputs: &[&Tensor],
        backward: impl Fn(&BackwardCtx) -> Result<Vec<Option<Tensor>>> + Send + Sync + 'static,
    ) -> Tensor {
        RECORDED.lock().unwrap_or_else(|e| e.into_inner()).insert(name);
        Tensor::from_op(out, name, inputs, backward)
    }

    /// True for leaves marked with `requires_grad_()` and for results computed from them.
    pub fn requires_grad(&self) -> bool {
        self.0.node.is_some() || self.0.leaf_requires_grad.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Mark a leaf so `backward()` fills its `.grad` (PyTorch's `x.requires_grad_()`).
    pub fn requires_grad_(self) -> Tensor {
        self.set_requires_grad(true);
        self
    }
    pub fn set_requires_grad(&self, on: bool) {
        self.0.leaf_requires_grad.store(on, std::sync::atomic::Ordering::Relaxed);
    }
    pub fn is_leaf(&self) -> bool {
        self.0.node.is_none()
    }
    /// Name of the op that produced this tensor, if it is part of a graph.
    pub fn grad_fn_name(&self) -> Option<&'static str> {
        self.0.node.as_ref().map(|n| n.name)
    }
    /// The inputs of the op that produced this tensor (for drawing the graph).
    pub fn grad_fn_inputs(&self) -> Vec<Tensor> {
        self.0.node.as_ref().map(|n| n.inputs.clone()).unwrap_or_default()
    }

    /// Same data, cut from the graph.
    pub fn detach(&self) -> Tensor {
        self.with_layout(self.layout().clone())
    }

    /// The gradient accumulated by `backward()` (leaves only).
    pub fn grad(&self) -> Option<Tensor> {
        self.0.grad.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
    pub fn set_grad(&self, g: Option<Tensor>) {
        *self.0.grad.lock().unwrap_or_else(|e| e.into_inner()) = g;
    }
    pub fn zero_grad(&self) {
        self.set_grad(None);
    }

    /// Backpropagate from a scalar: add d(self)/d(leaf) into every leaf's `.grad`.
    pub fn backward(&self) -> Result<()> {
        if self.numel() != 1 {
            return Err(Error::bad_shape(
                "backward",
                self.shape(),
                "backward() needs a scalar; use backward_with(grad) otherwise",
            ));
        }
        self.backward_with(&self.ones_like()?)
    }

    /// Backpropagate with an explicit upstream gradient of `self`'s shape.
    pub fn backward_with(&self, grad: &Tensor) -> Result<()> {
        run_backward(&[self.clone()], &[grad.clone()], None, false)?;
        Ok(())
    }
}

/// Gradients of `outputs` (weighted by `grad_outputs`, ones if `None`) with respect to `inputs`,
/// without touching any `.grad`. With `create_graph` the results are part of a new graph and can
/// be differentiated again. An input the outputs do not reach is an error, as in PyTorch (a
/// stray `detach()` would otherwise pass as a zero gradient); [`grad_allow_unused`] returns `None`
/// for such inputs instead.
pub fn grad(
    outputs: &[Tensor],
    grad_outputs: Option<&[Tensor]>,
    inputs: &[Tensor],
    create_graph: bool,
) -> Result<Vec<Tensor>> {
    let gs = grad_allow_unused(outputs, grad_outputs, inputs, create_graph)?;
    gs.into_iter()
        .zip(inputs)
        .enumerate()
        .map(|(i, (g, x))| {
            g.ok_or_else(|| {
                let why = if x.requires_grad() { "" } else { " (it does not require grad)" };
                Error::msg(format!(
                    "grad: input {i} (shape {:?}) was not used in the graph of the outputs{why}; \
                     use grad_allow_unused if that is expected",
                    x.shape()
                ))
            })
        })
        .collect()
}

/// [`grad`] that gives `None` for an input the outputs do not reach (PyTorch's
/// `allow_unused=True`).
pub fn grad_allow_unused(
    outputs: &[Tensor],
    grad_outputs: Option<&[Tensor]>,
    inputs: &[Tensor],
    create_graph: bool,
) -> Result<Vec<Option<Tensor>>> {
    let gos: Vec<Tensor> = match grad_outputs {
        Some(g) => g.to_vec(),
        None => outputs.iter().map(|o| o.ones_like()).collect::<Result<Vec<_>>>()?,
    };
    let store = run_backward(outputs, &gos, Some(inputs), create_graph)?;
    Ok(inputs.iter().map(|x| store.get(&x.id()).cloned()).collect())
}

/// Reverse topological order (outputs first) of every tensor that requires grad.
fn topo_order(outputs: &[Tensor]) -> Vec<Tensor> {
    let mut order = Vec::new();
    let mut seen = HashSet::new();
    // Iterative post-order DFS: (tensor, children pushed?)
    let mut stack: Vec<(Tensor, bool)> =
        outputs.iter().filter(|t| t.requires_grad()).map(|t| (t.clone(), false)).collect();
    while let Some((t, expanded)) = stack.pop() {
        if expanded {
            order.push(t);
            continue;
        }
        if !seen.insert(t.id()) {
            continue;
        }
        stack.push((t.clone(), true));
        if let Some(n) = &t.0.node {
            for i in &n.inputs {
                if i.requires_grad() && !seen.contains(&i.id()) {
                    stack.push((i.clone(), false));
                }
            }
        }
    }
    order.reverse();
    order
}

fn accumulate(store: &mut HashMap<TensorId, Tensor>, id: TensorId, g: Tensor) -> Result<()> {
    let new = match store.remove(&id) {
        Some(old)
            if sole_owner(&old)
                && old.shape() == g.shape()
                && g.layout().is_contiguous()
                && old.dtype() == g.dtype()
                && old.device() == g.device() =>
        {
            // Nothing else sees `old`'s memory (no other handle, no graph), so the sum is written
            // into it instead of a fresh tensor: old ← 1·old + 1·g, the same bits as old + g.
            old.storage_mut().axpby_(1.0, &g.storage(), g.layout(), 1.0)?;
            old
        }
        Some(old) => old.add(&g)?,
        None => g,
    };
    store.insert(id, new);
    Ok(())
}

/// Whether `t` is the only handle on its memory and is not part of a graph (so writing into it in
/// place can change nothing anyone else reads): a gradient made inside this backward pass.
fn sole_owner(t: &Tensor) -> bool {
    !is_grad_enabled()
        && t.0.node.is_none()
        && std::sync::Arc::strong_count(&t.0) == 1
        && std::sync::Arc::strong_count(&t.0.storage) == 1
        && t.layout().is_contiguous()
        && t.layout().offset == 0
        && t.numel() == t.storage().len()
}

/// The backward driver. With `targets = None` (from `backward()`), leaf gradients are added into
/// `.grad`; with `Some(targets)`, their gradients are kept in the returned store.
fn run_backward(
    outputs: &[Tensor],
    grad_outputs: &[Tensor],
    targets: Option<&[Tensor]>,
    create_graph: bool,
) -> Result<HashMap<TensorId, Tensor>> {
    if outputs.len() != grad_outputs.len() {
        return Err(Error::msg(format!("grad: {} outputs but {} grad_outputs", outputs.len(), grad_outputs.len())));
    }
    let _mode = set_grad_enabled(create_graph);
    let mut store: HashMap<TensorId, Tensor> = HashMap::new();
    for (o, g) in outputs.iter().zip(grad_outputs) {
        if o.shape() != g.shape() {
            return Err(Error::shape("backward", o.shape(), g.shape(), "grad_output must have the output's shape"));
        }
        if o.requires_grad() {
            accumulate(&mut store, o.id(), g.clone())?;
        }
    }
    let keep: HashSet<TensorId> = targets.map(|t| t.iter().map(|x| x.id()).collect()).unwrap_or_default();
    let order = topo_order(outputs);
    // With explicit targets, only nodes on a path to a target matter: walking the order from the
    // inputs' end, a tensor is relevant if it is a target or one of its inputs is relevant.
    let relevant: Option<HashSet<TensorId>> = targets.map(|_| {
        let mut r = HashSet::new();
        for t in order.iter().rev() {
            let hit = keep.contains(&t.id())
                || t.0.node.as_ref().is_some_and(|n| n.inputs.iter().any(|i| r.contains(&i.id())));
            if hit {
                r.insert(t.id());
            }
        }
        r
    });
    let is_relevant = |t: &Tensor| relevant.as_ref().is_none_or(|r| r.contains(&t.id()));
    for t in order {
        if !is_relevant(&t) {
            continue;
        }
        let Some(node) = &t.0.node else {
            // A leaf: deposit into .grad when called from backward().
            if targets.is_none() && t.0.leaf_requires_grad.load(std::sync::atomic::Ordering::Relaxed) {
                if let Some(g) = store.remove(&t.id()) {
                    let g = if create_graph { g } else { g.detach() };
                    let new = match t.grad() {
                        Some(old) => old.add(&g)?,
                        None => g,
                    };
                    t.set_grad(Some(new));
                }
            }
            continue;
        };
        let g = if keep.contains(&t.id()) { store.get(&t.id()).cloned() } else { store.remove(&t.id()) };
        let Some(g) = g else { continue };
        node.check_versions(&t)?;
        let needs: Vec<bool> = node.inputs.iter().map(|i| i.requires_grad() && is_relevant(i)).collect();
        let ctx = BackwardCtx { inputs: &node.inputs, out: &t, grad: &g, needs: &needs, create_graph };
        let grads = (node.backward)(&ctx)?;
        if grads.len() != node.inputs.len() {
            return Err(Error::msg(format!(
                "{}: backward returned {} gradients for {} inputs",
                node.name,
                grads.len(),
                node.inputs.len()
            )));
        }
        for ((input, gi), need) in node.inputs.iter().zip(grads).zip(&needs) {
            let Some(gi) = gi else { continue };
            if !need {
                continue;
            }
            if gi.shape() != input.shape() {
                return Err(Error::shape(
                    node.name,
                    input.shape(),
                    gi.shape(),
                    "backward: gradient shape differs from input shape",
                ));
            }
            accumulate(&mut store, input.id(), gi)?;
        }
    }
    Ok(store)
}

#[cfg(test)]
mod tests {
    use crate::Tensor;

    #[test]
    fn gradient_accumulates_over_uses() -> crate::Result<()> {
        // y = x·x + x  →  dy/dx = 2x + 1
        let x = Tensor::new(vec![3.0f64], &[1])?.requires_grad_();
        let y = x.mul(&x)?.add(&x)?.sum_all()?;
        y.backward()?;
        assert_eq!(x.grad().unwrap().to_vec::<f64>()?, vec![7.0]);
        // a second backward adds into .grad, as in PyTorch
        let y = x.mul(&x)?.add(&x)?.sum_all()?;
        y.backward()?;
        assert_eq!(x.grad().unwrap().to_vec::<f64>()?, vec![14.0]);
        Ok(())
    }

    #[test]
    fn second_derivative_of_cube() -> crate::Result<()> {
        // y = x³: dy/dx = 3x², d²y/dx² = 6x
        let x = Tensor::new(vec![2.0f64], &[1])?.requires_grad_();
        let y = x.powf(3.0)?.sum_all()?;
        let g = super::grad(&[y], None, &[x.clone()], true)?;
        assert_eq!(g[0].to_vec::<f64>()?, vec![12.0]);
        let gg = super::grad(&[g[0].sum_all()?], None, &[x.clone()], false)?;
        assert_eq!(gg[0].to_vec::<f64>()?, vec![12.0]);
        Ok(())
    }

    #[test]
    fn grad_refuses_inputs_the_outputs_do_not_reach() -> crate::Result<()> {
        // y = 2a: b is not in y's graph, and a detached copy of a is not either
        let a = Tensor::new(vec![1.0f64, 2.0], &[2])?.requires_grad_();
        let b = Tensor::new(vec![3.0f64], &[1])?.requires_grad_();
        let y = a.mul_scalar(2.0)?.sum_all()?;
        let e = super::grad(&[y.clone()], None, &[a.clone(), b.clone()], false).unwrap_err().to_string();
        assert!(e.contains("input 1") && e.contains("not used") && e.contains("grad_allow_unused"), "{e}");
        let stray = a.detach();
        let e = super::grad(&[y.clone()], None, &[stray], false).unwrap_err().to_string();
        assert!(e.contains("input 0") && e.contains("does not require grad"), "{e}");
        let gs = super::grad_allow_unused(&[y], None, &[a.clone(), b, a], false)?;
        assert_eq!(gs[0].as_ref().unwrap().to_vec::<f64>()?, vec![2.0, 2.0]);
        assert!(gs[1].is_none());
        assert_eq!(gs[2].as_ref().unwrap().to_vec::<f64>()?, vec![2.0, 2.0], "an input given twice gets it twice");
        Ok(())
    }

    #[test]
    fn in_place_writes_to_saved_tensors_are_detected() -> crate::Result<()> {
        // y = Σ x·w; writing w in place before backward would give dy/dx = the new w silently
        let x = Tensor::new(vec![1.0f64, 2.0], &[2])?.requires_grad_();
        let w = Tensor::new(vec![3.0f64, 4.0], &[2])?;
        let y = x.mul(&w)?.sum_all()?;
        assert_eq!(w.version(), 0);
        w.copy_from(&Tensor::new(vec![5.0f64, 6.0], &[2])?)?;
        assert_eq!((w.version(), w.detach().version()), (1, 1), "views share the counter");
        let e = y.backward().unwrap_err().to_string();
        assert!(e.contains("modified by an in-place operation") && e.contains("input 1"), "{e}");
        assert!(e.contains("of mul") && e.contains("version 1; expected version 0"), "{e}");
        // a write through a view counts, and so does one to an op's output (exp's rule reads it)
        let e = x.exp()?;
        let s = e.sum_all()?;
        e.detach().lerp_(&Tensor::zeros(&[2]).to_dtype(crate::DType::F64)?, 0.5)?;
        let msg = s.backward().unwrap_err().to_string();
        assert!(msg.contains("modified by an in-place operation") && msg.contains("of sum"), "{msg}");
        Ok(())
    }

    #[test]
    fn legitimate_in_place_patterns_pass() -> crate::Result<()> {
        use crate::nn::{BatchNorm, Linear, Module};
        use crate::optim::{Optimizer, Sgd};
        let mut g = crate::Generator::new(0);
        let (lin, bn) = (Linear::new(3, 2, &mut g)?, BatchNorm::new(2));
        let mut opt = Sgd::with_momentum([lin.parameters(), bn.parameters()].concat(), 0.1, 0.9)?;
        let ema: Vec<Tensor> =
            lin.parameters().iter().map(|p| p.detach().contiguous()).collect::<crate::Result<_>>()?;
        for _ in 0..3 {
            let x = Tensor::randn(&[4, 3], &mut g);
            // two train-mode forwards update the running statistics before the first backward
            let a = bn.forward(&lin.forward(&x)?)?;
            let b = bn.forward(&lin.forward(&x.mul_scalar(2.0)?)?)?;
            opt.zero_grad();
            a.sqr()?.add(&b)?.sum_all()?.backward()?;
            opt.step()?; // after backward: the next forward saves the new versions
            for (e, p) in ema.iter().zip(lin.parameters()) {
                e.lerp_(&p, 0.1)?;
            }
        }
        assert_eq!(bn.running_mean.version(), 6);
        assert_eq!(lin.parameters()[0].version(), 3);
        Ok(())
    }

    #[test]
    fn no_grad_records_nothing() -> crate::Result<()> {
        let x = Tensor::ones(&[2]).requires_grad_();
        let y = super::no_grad(|| x.exp())?;
        assert!(!y.requires_grad());
        assert!(x.exp()?.requires_grad());
        Ok(())
    }
}
