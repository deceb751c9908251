//! The engine against reference numbers from PyTorch, for what finite-difference gradchecks cannot
//! see: optimizer trajectories over several steps (SGD with momentum, Nesterov and weight decay;
//! Adam and AdamW, with a parameter that first gets a gradient at a later step), batch norm's
//! running statistics after a few train-mode batches and the eval output that uses them, and
//! conv_transpose2d's forward and backward.
//!
//! The numbers, and the inputs they were computed from, are in `fixtures/torch_reference.json`,
//! written by `fixtures/make_torch_fixtures.py` (its docstring says how to run it); this test
//! needs no Python. Everything is float64, so the tolerance is tight: |a − b| ≤ 1e-10 + 1e-9·|b|.

use minmax_engine::optim::{Adam, Optimizer, Sgd};
use minmax_engine::{BatchNormArgs, Conv2dOpts, Result, Tensor};
use serde_json::Value;

const ATOL: f64 = 1e-10;
const RTOL: f64 = 1e-9;

fn fixture() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/torch_reference.json");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().expect("an array of numbers").iter().map(|x| x.as_f64().expect("a number")).collect()
}
fn dims(v: &Value) -> Vec<usize> {
    v.as_array().expect("a shape").iter().map(|x| x.as_u64().expect("a dim") as usize).collect()
}
fn tensor(values: &Value, shape: &Value) -> Result<Tensor> {
    Tensor::new(floats(values), &dims(shape))
}

/// Every entry within ATOL + RTOL·|want|; the message names the case and the worst entry.
fn assert_close(what: &str, got: &Tensor, want: &[f64]) -> Result<()> {
    let got = got.to_vec::<f64>()?;
    assert_eq!(got.len(), want.len(), "{what}: {} values, expected {}", got.len(), want.len());
    let (mut worst, mut at) = (0.0f64, 0);
    for (i, (a, b)) in got.iter().zip(want).enumerate() {
        let excess = (a - b).abs() - (ATOL + RTOL * b.abs());
        if excess > worst || !a.is_finite() {
            (worst, at) = (if a.is_finite() { excess } else { f64::INFINITY }, i);
        }
    }
    assert!(worst <= 0.0, "{what}: element {at} is {} but PyTorch gives {}", got[at], want[at]);
    Ok(())
}

// ---- optimizers ---------------------------------------------------------------------------------

/// Runs the fixture's loop: loss_k = Σ_i [k ≥ start_i] (Σ a_i·tanh(p_i) + ½ Σ p_i²), one step each.
fn check_trajectory(case: &Value, make: impl Fn(Vec<Tensor>) -> Result<Box<dyn Optimizer>>) -> Result<()> {
    let name = case["name"].as_str().unwrap();
    let specs = case["params"].as_array().unwrap();
    let params =
        specs.iter().map(|s| Ok(tensor(&s["init"], &s["shape"])?.requires_grad_())).collect::<Result<Vec<_>>>()?;
    let coefs = specs.iter().map(|s| tensor(&s["coef"], &s["shape"])).collect::<Result<Vec<_>>>()?;
    let mut opt = make(params.clone())?;
    for (k, want) in case["trajectory"].as_array().unwrap().iter().enumerate() {
        opt.zero_grad();
        let mut loss: Option<Tensor> = None;
        for ((p, a), s) in params.iter().zip(&coefs).zip(specs) {
            if k as u64 >= s["start"].as_u64().unwrap() {
                let term = a.mul(&p.tanh()?)?.sum_all()?.add(&p.sqr()?.sum_all()?.mul_scalar(0.5)?)?;
                loss = Some(match loss {
                    Some(l) => l.add(&term)?,
                    None => term,
                });
            }
        }
        loss.expect("the first parameter starts at step 0").backward()?;
        opt.step()?;
        for (i, p) in params.iter().enumerate() {
            assert_close(&format!("{name}: parameter {i} after step {}", k + 1), p, &floats(&want[i]))?;
        }
    }
    Ok(())
}

#[test]
fn sgd_trajectories_match_pytorch() -> Result<()> {
    let f = fixture();
    for case in f["sgd"].as_array().unwrap() {
        check_trajectory(case, |ps| {
            let mut o = Sgd::with_momentum(ps, case["lr"].as_f64().unwrap(), case["momentum"].as_f64().unwrap())?;
            o.weight_decay = case["weight_decay"].as_f64().unwrap();
            o.nesterov = case["nesterov"].as_bool().unwrap();
            Ok(Box::new(o))
        })?;
    }
    Ok(())
}

#[test]
fn adam_and_adamw_trajectories_match_pytorch() -> Result<()> {
    let f = fixture();
    for case in f["adam"].as_array().unwrap() {
        check_trajectory(case, |ps| {
            let b = floats(&case["betas"]);
            let mut o = Adam::new(ps, case["lr"].as_f64().unwrap(), (b[0], b[1]))?;
            o.eps = case["eps"].as_f64().unwrap();
            o.weight_decay = case["weight_decay"].as_f64().unwrap();
            o.decoupled = case["decoupled"].as_bool().unwrap();
            Ok(Box::new(o))
        })?;
    }
    Ok(())
}

// ---- batch norm ---------------------------------------------------------------------------------

#[test]
fn batch_norm_running_statistics_match_pytorch() -> Result<()> {
    let f = fixture();
    let c = &f["batch_norm"];
    let ch = c["channels"].as_u64().unwrap() as usize;
    let (w, b) = (Tensor::new(floats(&c["weight"]), &[ch])?, Tensor::new(floats(&c["bias"]), &[ch])?);
    let (rm, rv) = (Tensor::new(vec![0.0f64; ch], &[ch])?, Tensor::new(vec![1.0f64; ch], &[ch])?);
    let args = |training| BatchNormArgs {
        running_mean: Some(&rm),
        running_var: Some(&rv),
        weight: Some(&w),
        bias: Some(&b),
        training,
        momentum: c["momentum"].as_f64().unwrap(),
        eps: c["eps"].as_f64().unwrap(),
    };
    for (k, (x, want)) in c["batches"].as_array().unwrap().iter().zip(c["train_out"].as_array().unwrap()).enumerate() {
        let y = tensor(x, &c["batch_shape"])?.batch_norm(&args(true))?;
        assert_close(&format!("batch_norm: train output of batch {k}"), &y, &floats(want))?;
    }
    assert_close("batch_norm: running_mean", &rm, &floats(&c["running_mean"]))?;
    assert_close("batch_norm: running_var", &rv, &floats(&c["running_var"]))?;
    let y = tensor(&c["eval_in"], &c["eval_shape"])?.batch_norm(&args(false))?;
    assert_close("batch_norm: eval output", &y, &floats(&c["eval_out"]))
}

// ---- transposed convolution ---------------------------------------------------------------------

#[test]
fn conv_transpose2d_forward_and_backward_match_pytorch() -> Result<()> {
    let f = fixture();
    for c in f["conv_transpose2d"].as_array().unwrap() {
        let name = c["name"].as_str().unwrap();
        let x = tensor(&c["x"], &c["x_shape"])?.requires_grad_();
        let w = tensor(&c["w"], &c["w_shape"])?.requires_grad_();
        let b = Tensor::new(floats(&c["b"]), &[dims(&c["w_shape"])[1]])?.requires_grad_();
        let (s, p, op, d) = [&c["stride"], &c["padding"], &c["output_padding"], &c["dilation"]]
            .map(|v| v.as_u64().unwrap() as usize)
            .into();
        let o = Conv2dOpts::new(s, p).dilation(d);
        let y = x.conv_transpose2d(&w, Some(&b), &o, (op, op))?;
        assert_eq!(y.shape(), dims(&c["y_shape"]).as_slice(), "{name}: output shape");
        assert_close(&format!("{name}: output"), &y, &floats(&c["y"]))?;
        y.backward_with(&tensor(&c["upstream"], &c["y_shape"])?)?;
        assert_close(&format!("{name}: d/dx"), &x.grad().unwrap(), &floats(&c["dx"]))?;
        assert_close(&format!("{name}: d/dweight"), &w.grad().unwrap(), &floats(&c["dw"]))?;
        assert_close(&format!("{name}: d/dbias"), &b.grad().unwrap(), &floats(&c["db"]))?;
    }
    Ok(())
}
