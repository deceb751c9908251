//! The op registry: every differentiable op with inputs to check it at. The test suite
//! (`tests/gradcheck.rs`) walks `cases()` and runs an f64 `gradcheck` on each, plus a
//! `gradgradcheck` where `second_order` is set. This module is test data: the engine's core never
//! imports it. It reads two things that live with the core: the declared op names
//! ([`crate::ops::PRIMITIVE_OPS`] and [`crate::ops::DEVICE_OPS`], next to the ops) and the names
//! `Tensor::record` has been called with ([`crate::autograd::recorded_ops`]). Three checks in
//! `tests/gradcheck.rs`, plain tests that run in every build profile, keep a new op from slipping
//! in unchecked:
//! 1. every name in `PRIMITIVE_OPS` appears in the graph of some case (a declared op has a case);
//! 2. every name written as a string literal in a `Tensor::record(out, <name>, …)` call under
//!    `engine/src/` is in `PRIMITIVE_OPS` or `DEVICE_OPS` (a source scan: it sees ops no test runs);
//! 3. after every case has run forward, first- and second-order backward, every name in
//!    `recorded_ops()` is in `PRIMITIVE_OPS` or `DEVICE_OPS` (this also sees the calls that pass
//!    the name in a variable — max/min, maximum/minimum — as far as the cases execute them).
//!
//! Inputs avoid the points where an op is not differentiable (relu and abs at 0, ties of max),
//! since finite differences are meaningless there; the subgradient choices at those points are
//! tested by hand in the ops' own tests and listed in `DERIVATIVES.md`.

use crate::gradcheck::GradcheckOpts;
use crate::{BatchNormArgs, Conv2dOpts, DType, Generator, Result, Tensor};

pub struct OpCase {
    pub name: &'static str,
    /// Builds the f64 inputs (leaves; the ones with requires_grad are checked).
    pub inputs: fn(&mut Generator) -> Result<Vec<Tensor>>,
    pub f: fn(&[Tensor]) -> Result<Tensor>,
    /// Also run gradgradcheck (ops whose gradients are differentiated again, e.g. by WGAN-GP).
    pub second_order: bool,
    /// Tolerances, when the defaults do not fit (e.g. a round trip through f32).
    pub opts: GradcheckOpts,
}

fn randn(shape: &[usize], g: &mut Generator) -> Result<Tensor> {
    Ok(Tensor::randn(shape, g).to_dtype(DType::F64)?.requires_grad_())
}
/// Values in [0.5, 2): for log, sqrt, division, powers.
fn positive(shape: &[usize], g: &mut Generator) -> Result<Tensor> {
    Ok(Tensor::rand(shape, 0.5, 2.0, g).to_dtype(DType::F64)?.requires_grad_())
}
/// Normal values pushed at least 0.1 away from 0: for relu, abs, leaky_relu.
fn away(shape: &[usize], g: &mut Generator) -> Result<Tensor> {
    let x = Tensor::randn(shape, g).to_dtype(DType::F64)?;
    Ok(x.add(&x.sign()?.mul_scalar(0.1)?)?.detach().requires_grad_())
}
fn probs(shape: &[usize], g: &mut Generator) -> Result<Tensor> {
    Ok(Tensor::rand(shape, 0.1, 0.9, g).to_dtype(DType::F64)?.requires_grad_())
}
/// Cases build their constants (labels, masks, running statistics) on the device and in the
/// dtype of their first input, so the same case runs in f64 on the CPU (gradcheck) and in f32 on
/// the GPU (the parity tests in tests/gpu.rs).
fn labels(like: &Tensor, v: &[i64]) -> Result<Tensor> {
    Tensor::new(v.to_vec(), &[v.len()])?.to_device(&like.device())
}
fn indices(like: &Tensor, v: &[i64], shape: &[usize]) -> Result<Tensor> {
    Tensor::new(v.to_vec(), shape)?.to_device(&like.device())
}
fn constant(like: &Tensor, t: Tensor) -> Result<Tensor> {
    t.to_dtype(like.dtype())?.to_device(&like.device())
}

macro_rules! case {
    ($name:expr, $so:expr, |$g:ident| $inputs:expr, |$x:ident| $f:expr) => {
        OpCase {
            name: $name,
            inputs: |$g: &mut Generator| -> Result<Vec<Tensor>> { $inputs },
            f: |$x: &[Tensor]| -> Result<Tensor> { $f },
            second_order: $so,
            opts: GradcheckOpts::default(),
        }
    };
}

/// Every case the gradient-check suite runs.
pub fn cases() -> Vec<OpCase> {
    let mut v = vec![
        // ---- elementwise arithmetic, with broadcasting
        case!("add", true, |g| Ok(vec![randn(&[2, 3], g)?, randn(&[3], g)?]), |x| x[0].add(&x[1])),
        case!("sub", true, |g| Ok(vec![randn(&[2, 1, 3], g)?, randn(&[4, 3], g)?]), |x| x[0].sub(&x[1])),
        case!("mul", true, |g| Ok(vec![randn(&[2, 3], g)?, randn(&[2, 1], g)?]), |x| x[0].mul(&x[1])),
        case!("div", true, |g| Ok(vec![randn(&[2, 3], g)?, positive(&[3], g)?]), |x| x[0].div(&x[1])),
        case!("pow", true, |g| Ok(vec![positive(&[2, 3], g)?, randn(&[2, 3], g)?]), |x| x[0].pow(&x[1])),
        case!("maximum", true, |g| Ok(vec![randn(&[3, 3], g)?, randn(&[3, 3], g)?]), |x| x[0].maximum(&x[1])),
        case!("minimum", true, |g| Ok(vec![randn(&[3, 3], g)?, randn(&[3], g)?]), |x| x[0].minimum(&x[1])),
        case!("affine", true, |g| Ok(vec![randn(&[4], g)?]), |x| x[0].affine(-1.5, 0.25)),
        case!("powf", true, |g| Ok(vec![positive(&[5], g)?]), |x| x[0].powf(1.7)),
        case!("sqr", true, |g| Ok(vec![randn(&[5], g)?]), |x| x[0].sqr()),
        case!(
            "clamp",
            true,
            |_g| Ok(vec![Tensor::new(vec![-2.0f64, -0.3, 0.1, 0.45, 1.5], &[5])?.requires_grad_()]),
            |x| x[0].clamp(-0.5, 0.5)
        ),
        case!("neg", true, |g| Ok(vec![randn(&[4], g)?]), |x| x[0].neg()),
        case!("exp", true, |g| Ok(vec![randn(&[4], g)?]), |x| x[0].exp()),
        case!("log", true, |g| Ok(vec![positive(&[4], g)?]), |x| x[0].log()),
        case!("sqrt", true, |g| Ok(vec![positive(&[4], g)?]), |x| x[0].sqrt()),
        case!("recip", true, |g| Ok(vec![positive(&[4], g)?]), |x| x[0].recip()),
        case!("abs", true, |g| Ok(vec![away(&[6], g)?]), |x| x[0].abs()),
        case!("where", true, |g| Ok(vec![randn(&[2, 3], g)?, randn(&[3], g)?]), |x| {
            let cond = constant(&x[0], Tensor::new(vec![1.0f64, 0.0, 1.0, 0.0, 0.0, 1.0], &[2, 3])?)?;
            Tensor::where_cond(&cond, &x[0], &x[1])
        }),
        // ---- shapes
        case!("reshape", true, |g| Ok(vec![randn(&[2, 6], g)?]), |x| x[0]
            .reshape(&[3, -1])?
            .mul(&x[0].reshape(&[3, 4])?)),
        case!("reshape_copy", true, |g| Ok(vec![randn(&[3, 4], g)?]), |x| x[0].t()?.reshape(&[-1])),
        case!("permute", true, |g| Ok(vec![randn(&[2, 3, 4], g)?]), |x| x[0].permute(&[2, 0, 1])),
        case!("transpose", true, |g| Ok(vec![randn(&[2, 3], g)?]), |x| x[0].transpose(0, 1)),
        case!("expand", true, |g| Ok(vec![randn(&[3, 1], g)?]), |x| x[0].expand(&[2, 3, 4])),
        case!("narrow", true, |g| Ok(vec![randn(&[4, 5], g)?]), |x| x[0].narrow(1, 1, 3)),
        case!("contiguous", true, |g| Ok(vec![randn(&[3, 4], g)?]), |x| x[0].t()?.contiguous()),
        case!("cat", true, |g| Ok(vec![randn(&[2, 3], g)?, randn(&[1, 3], g)?]), |x| Tensor::cat(&[&x[0], &x[1]], 0)),
        case!("stack", true, |g| Ok(vec![randn(&[2, 3], g)?, randn(&[2, 3], g)?]), |x| Tensor::stack(
            &[&x[0], &x[1]],
            1
        )),
        case!("flatten", true, |g| Ok(vec![randn(&[2, 3, 2], g)?]), |x| x[0].flatten(1, 2)),
        // ---- reductions
        case!("sum", true, |g| Ok(vec![randn(&[2, 3, 4], g)?]), |x| x[0].sum(&[0, 2], false)),
        case!("sum_keepdim", true, |g| Ok(vec![randn(&[3, 4], g)?]), |x| x[0].sum(&[-1], true)),
        case!("mean", true, |g| Ok(vec![randn(&[3, 4], g)?]), |x| x[0].mean(&[0], false)),
        case!("var", true, |g| Ok(vec![randn(&[3, 4], g)?]), |x| x[0].var(&[1], 1, false)),
        case!("max", true, |g| Ok(vec![randn(&[3, 4], g)?]), |x| x[0].max(&[1], false)),
        case!("min", true, |g| Ok(vec![randn(&[3, 4], g)?]), |x| x[0].min(&[0], true)),
        case!("logsumexp", true, |g| Ok(vec![randn(&[3, 4], g)?]), |x| x[0].logsumexp(&[1], false)),
        // ---- matrix products
        case!("matmul", true, |g| Ok(vec![randn(&[3, 4], g)?, randn(&[4, 2], g)?]), |x| x[0].matmul(&x[1])),
        case!("matmul_batched", true, |g| Ok(vec![randn(&[2, 3, 4], g)?, randn(&[4, 2], g)?]), |x| x[0].matmul(&x[1])),
        case!("matmul_transposed", true, |g| Ok(vec![randn(&[4, 3], g)?, randn(&[2, 4], g)?]), |x| x[0]
            .t()?
            .matmul(&x[1].t()?)),
        case!("linear", true, |g| Ok(vec![randn(&[3, 4], g)?, randn(&[2, 4], g)?, randn(&[2], g)?]), |x| x[0]
            .linear(&x[1], Some(&x[2]))),
        // ---- activations
        case!("relu", true, |g| Ok(vec![away(&[8], g)?]), |x| x[0].relu()),
        case!("leaky_relu", true, |g| Ok(vec![away(&[8], g)?]), |x| x[0].leaky_relu(0.2)),
        case!("sigmoid", true, |g| Ok(vec![randn(&[6], g)?]), |x| x[0].sigmoid()),
        case!("tanh", true, |g| Ok(vec![randn(&[6], g)?]), |x| x[0].tanh()),
        case!("softplus", true, |g| Ok(vec![randn(&[6], g)?]), |x| x[0].softplus()),
        case!("softmax", true, |g| Ok(vec![randn(&[2, 4], g)?]), |x| x[0].softmax(1)),
        case!("log_softmax", true, |g| Ok(vec![randn(&[2, 4], g)?]), |x| x[0].log_softmax(-1)),
        case!("maxout", true, |g| Ok(vec![randn(&[2, 6], g)?]), |x| x[0].maxout(3)),
        case!("dropout", true, |g| Ok(vec![randn(&[10], g)?]), |x| x[0].dropout(0.3, true, &mut Generator::new(5))),
        // ---- indexing
        case!("index_select", true, |g| Ok(vec![randn(&[4, 3], g)?]), |x| x[0]
            .index_select(0, &labels(&x[0], &[3, 0, 3])?)),
        case!("index_add", true, |g| Ok(vec![randn(&[3, 2], g)?]), |x| x[0].index_add(
            0,
            &labels(&x[0], &[1, 1, 0])?,
            &[4, 2]
        )),
        case!("gather", true, |g| Ok(vec![randn(&[3, 4], g)?]), |x| x[0]
            .gather(1, &indices(&x[0], &[3, 0, 1, 1, 2, 2], &[3, 2])?)),
        case!("scatter_add", true, |g| Ok(vec![randn(&[3, 2], g)?]), |x| x[0].scatter_add(
            1,
            &indices(&x[0], &[3, 0, 1, 1, 2, 2], &[3, 2])?,
            &[3, 4]
        )),
        case!("embedding", true, |g| Ok(vec![randn(&[5, 3], g)?]), |x| {
            labels(&x[0], &[4, 0, 4, 2])?.view(&[2, 2])?.embedding(&x[0])
        }),
        // ---- convolution family
        case!("im2col", true, |g| Ok(vec![randn(&[2, 2, 4, 4], g)?]), |x| x[0].im2col(
            3,
            2,
            &Conv2dOpts { stride: (2, 1), padding: (1, 0), dilation: (1, 2) },
            0.0
        )),
        case!("col2im", true, |g| Ok(vec![randn(&[2 * 2 * 2, 2 * 3 * 3], g)?]), |x| {
            let geom = crate::storage::Conv2dGeom {
                n: 2,
                c: 2,
                h: 4,
                w: 4,
                kh: 2,
                kw: 2,
                stride: (1, 1),
                padding: (0, 0),
                dilation: (1, 1),
                out_h: 3,
                out_w: 3,
            };
            x[0].col2im(&geom)
        }),
        case!("conv2d", true, |g| Ok(vec![randn(&[2, 2, 5, 5], g)?, randn(&[3, 2, 3, 3], g)?, randn(&[3], g)?]), |x| x
            [0]
        .conv2d(&x[1], Some(&x[2]), &Conv2dOpts::new(2, 1))),
        case!("conv2d_dilated", true, |g| Ok(vec![randn(&[1, 2, 6, 6], g)?, randn(&[2, 2, 2, 2], g)?]), |x| x[0]
            .conv2d(&x[1], None, &Conv2dOpts::new(1, 1).dilation(2))),
        case!(
            "conv_transpose2d",
            true,
            |g| Ok(vec![randn(&[2, 3, 3, 3], g)?, randn(&[3, 2, 4, 4], g)?, randn(&[2], g)?]),
            |x| x[0].conv_transpose2d(&x[1], Some(&x[2]), &Conv2dOpts::new(2, 1), (0, 0))
        ),
        case!("conv_transpose2d_outpad", true, |g| Ok(vec![randn(&[1, 2, 3, 3], g)?, randn(&[2, 2, 3, 3], g)?]), |x| x
            [0]
        .conv_transpose2d(&x[1], None, &Conv2dOpts::new(2, 1), (1, 1))),
        case!("max_pool2d", true, |g| Ok(vec![randn(&[1, 2, 4, 4], g)?]), |x| x[0]
            .max_pool2d(2, &Conv2dOpts::new(2, 0))),
        case!("max_pool2d_padded", true, |g| Ok(vec![randn(&[1, 1, 5, 5], g)?]), |x| x[0]
            .max_pool2d(3, &Conv2dOpts::new(2, 1))),
        case!("avg_pool2d", true, |g| Ok(vec![randn(&[1, 2, 4, 4], g)?]), |x| x[0]
            .avg_pool2d(2, &Conv2dOpts::new(2, 0))),
        case!("upsample_nearest2d", true, |g| Ok(vec![randn(&[1, 2, 2, 3], g)?]), |x| x[0].upsample_nearest2d(2)),
        case!(
            "batch_norm_train",
            true,
            |g| Ok(vec![randn(&[3, 2, 2, 2], g)?, randn(&[2], g)?, randn(&[2], g)?]),
            |x| {
                let (rm, rv) = (constant(&x[0], Tensor::zeros(&[2]))?, constant(&x[0], Tensor::ones(&[2]))?);
                x[0].batch_norm(&BatchNormArgs {
                    running_mean: Some(&rm),
                    running_var: Some(&rv),
                    weight: Some(&x[1]),
                    bias: Some(&x[2]),
                    training: true,
                    momentum: 0.1,
                    eps: 1e-5,
                })
            }
        ),
        case!("batch_norm_eval", true, |g| Ok(vec![randn(&[4, 3], g)?, randn(&[3], g)?, randn(&[3], g)?]), |x| {
            let (rm, rv) = (constant(&x[0], Tensor::full(&[3], 0.3))?, constant(&x[0], Tensor::full(&[3], 1.7))?);
            x[0].batch_norm(&BatchNormArgs {
                running_mean: Some(&rm),
                running_var: Some(&rv),
                weight: Some(&x[1]),
                bias: Some(&x[2]),
                training: false,
                momentum: 0.1,
                eps: 1e-5,
            })
        }),
        // ---- losses (targets are constants unless a loss is differentiable in them too)
        case!("mse_loss", true, |g| Ok(vec![randn(&[3, 2], g)?, randn(&[3, 2], g)?]), |x| x[0].mse_loss(&x[1])),
        case!("bce_loss", true, |g| Ok(vec![probs(&[4], g)?, probs(&[4], g)?]), |x| x[0].bce_loss(&x[1])),
        case!("bce_with_logits", true, |g| Ok(vec![randn(&[4], g)?, probs(&[4], g)?]), |x| x[0].bce_with_logits(&x[1])),
        case!("cross_entropy", true, |g| Ok(vec![randn(&[3, 4], g)?]), |x| x[0]
            .cross_entropy(&labels(&x[0], &[1, 3, 0])?)),
        case!("cross_entropy_soft", true, |g| Ok(vec![randn(&[3, 4], g)?, probs(&[3, 4], g)?]), |x| x[0]
            .cross_entropy_soft(&x[1])),
        case!("nll_loss", true, |g| Ok(vec![randn(&[3, 4], g)?]), |x| x[0].nll_loss(&labels(&x[0], &[2, 2, 0])?)),
    ];
    // A round trip through f32 loses everything below ~1e-7: check it with a larger step.
    v.push(OpCase {
        name: "to_dtype",
        inputs: |g| Ok(vec![randn(&[4], g)?]),
        f: |x| x[0].to_dtype(DType::F32)?.mul_scalar(3.0)?.to_dtype(DType::F64),
        second_order: false,
        opts: GradcheckOpts { eps: 1e-2, atol: 1e-4, rtol: 1e-3, seed: 0 },
    });
    v
}

/// Names of every op recorded in the graph of `t` (for the coverage check).
pub fn graph_op_names(t: &Tensor) -> Vec<&'static str> {
    let mut names = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut stack = vec![t.clone()];
    while let Some(t) = stack.pop() {
        if !seen.insert(t.id()) {
            continue;
        }
        if let Some(n) = t.grad_fn_name() {
            names.push(n);
        }
        stack.extend(t.grad_fn_inputs());
    }
    names
}
