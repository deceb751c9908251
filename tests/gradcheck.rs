//! The registry-driven gradient checks: every op in `minmax_engine::registry::cases()` passes an
//! f64 finite-difference gradcheck, those marked second-order also pass gradgradcheck, every
//! primitive op that records a backward rule is exercised by at least one case, and no op records
//! a backward rule under a name `ops::PRIMITIVE_OPS` does not declare (the three checks are listed
//! in `engine/src/registry.rs`).

use std::collections::BTreeSet;
use std::path::Path;

use minmax_engine::autograd::recorded_ops;
use minmax_engine::gradcheck::{gradcheck, gradgradcheck, GradcheckOpts};
use minmax_engine::ops::{DEVICE_OPS, PRIMITIVE_OPS};
use minmax_engine::registry::{cases, graph_op_names};
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

fn declared(name: &str) -> bool {
    PRIMITIVE_OPS.contains(&name) || DEVICE_OPS.contains(&name)
}

/// The names written as string literals in `Tensor::record(out, "name", …)` calls, with the file.
fn literal_record_names(dir: &Path, found: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            literal_record_names(&path, found);
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for call in text.split("Tensor::record(").skip(1) {
            // the second argument: skip the first one (up to its comma), then a literal or not
            let Some((_, rest)) = call.split_once(',') else { continue };
            if let Some(lit) = rest.trim_start().strip_prefix('"') {
                let name = lit.split('"').next().unwrap();
                found.push((name.to_string(), path.display().to_string()));
            }
        }
    }
}

#[test]
fn every_op_name_in_the_source_is_declared() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../engine/src");
    let mut found = Vec::new();
    literal_record_names(&src, &mut found);
    // the scan itself must see the ops, or it checks nothing
    assert!(found.iter().any(|(n, _)| n == "matmul") && found.len() >= 30, "scan found only {found:?}");
    let undeclared: Vec<_> = found.iter().filter(|(n, _)| !declared(n)).collect();
    assert!(undeclared.is_empty(), "ops recorded in the source but missing from ops::PRIMITIVE_OPS: {undeclared:?}");
}

#[test]
fn every_recorded_op_is_declared() {
    // Run every case forward and through first- and second-order backward, so the rules' own ops
    // record too; then every name `Tensor::record` saw must be declared.
    let quick = GradcheckOpts { eps: 1e-3, ..GradcheckOpts::default() };
    for (k, case) in cases().iter().enumerate() {
        let inputs = (case.inputs)(&mut Generator::new(100 + k as u64)).unwrap();
        (case.f)(&inputs).unwrap();
        if case.second_order {
            gradgradcheck(&case.f, &inputs, &quick).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        } else {
            gradcheck(&case.f, &inputs, &quick).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        }
    }
    let seen = recorded_ops();
    for need in ["matmul", "max", "maximum", "index_add", "col2im"] {
        assert!(seen.contains(&need), "{need} was not recorded: {seen:?}");
    }
    let undeclared: Vec<_> = seen.iter().filter(|n| !declared(n)).collect();
    assert!(undeclared.is_empty(), "ops recorded at run time but missing from ops::PRIMITIVE_OPS: {undeclared:?}");
}
