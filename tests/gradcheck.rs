//! The registry-driven gradient checks: every op in `minmax_engine::registry::cases()` passes an
//! f64 finite-difference gradcheck, those marked second-order also pass gradgradcheck, and every
//! primitive op that records a backward rule is exercised by at least one case.

use std::collections::BTreeSet;

use minmax_engine::gradcheck::{gradcheck, gradgradcheck};
use minmax_engine::registry::{cases, graph_op_names, PRIMITIVE_OPS};
use minmax_engine::Generator;

#[test]
fn every_op_passes_gradcheck() {
    let mut failures = Vec::new();
    let mut n = 0;
    for (k, case) in cases().iter().enumerate() {
        let inputs = (case.inputs)(&mut Generator::new(100 + k as u64)).unwrap();
        let r = gradcheck(&case.f, &inputs, &case.opts).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        assert!(r.checked > 0, "{}: nothing was checked", case.name);
        println!("{:<26} first order:  {r}", case.name);
        if !r.passed {
            failures.push(format!("{}: {r}", case.name));
        }
        n += 1;
    }
    println!("{n} ops checked");
    assert!(failures.is_empty(), "gradcheck failures:\n{}", failures.join("\n"));
}

#[test]
fn second_order_ops_pass_gradgradcheck() {
    let mut failures = Vec::new();
    for (k, case) in cases().iter().enumerate().filter(|(_, c)| c.second_order) {
        let inputs = (case.inputs)(&mut Generator::new(100 + k as u64)).unwrap();
        let r = gradgradcheck(&case.f, &inputs, &case.opts).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        println!("{:<26} second order: {r}", case.name);
        if !r.passed {
            failures.push(format!("{}: {r}", case.name));
        }
    }
    assert!(failures.is_empty(), "gradgradcheck failures:\n{}", failures.join("\n"));
}

#[test]
fn the_ops_wgan_gp_needs_are_checked_twice() {
    let second: BTreeSet<&str> = cases().iter().filter(|c| c.second_order).map(|c| c.name).collect();
    for need in [
        "linear",
        "matmul",
        "conv2d",
        "leaky_relu",
        "relu",
        "tanh",
        "sigmoid",
        "sum",
        "mean",
        "pow",
        "powf",
        "sqrt",
        "bce_with_logits",
        "bce_loss",
        "mse_loss",
        "cross_entropy",
    ] {
        assert!(second.contains(need), "{need} must pass gradgradcheck");
    }
}

#[test]
fn registry_covers_every_primitive_op() {
    let mut seen = BTreeSet::new();
    for (k, case) in cases().iter().enumerate() {
        let inputs = (case.inputs)(&mut Generator::new(100 + k as u64)).unwrap();
        let out = (case.f)(&inputs).unwrap();
        seen.extend(graph_op_names(&out));
    }
    let missing: Vec<&&str> = PRIMITIVE_OPS.iter().filter(|op| !seen.contains(**op)).collect();
    assert!(missing.is_empty(), "ops with a backward rule but no gradcheck case: {missing:?}");
}
