//! The image-to-image lab end to end in a tiny run (pix2pix with every ablation row, on edges of
//! the MNIST 10k subset for speed): every report file and picture is written, report.json holds
//! each row's metrics, steps and seconds, and every number is finite and in its range. A few
//! dozen steps prove nothing about the paper's orderings, so none is asserted: only that the
//! report states each one with both sides' numbers.

use std::path::Path;

use minmax_engine::Result;
use minmax_gan::experiments::{translate, CommonArgs, RunArgs};
use minmax_tests::test_digits;

fn num(v: &serde_json::Value, key: &str) -> f64 {
    let x = v.get(key).and_then(|x| x.as_f64()).unwrap_or_else(|| panic!("no number '{key}' in {v}"));
    assert!(x.is_finite(), "'{key}' is {x} in {v}");
    x
}

fn args(out: &Path) -> translate::Args {
    translate::Args {
        task: "pix2pix".into(),
        dataset: "mnist".into(),
        ablation: true,
        steps: Some(6),
        samples: Some(64),
        seeds: 1,
        lambda: 100.0,
        common: CommonArgs { seed: 2, run: RunArgs { device: "cpu".into(), no_progress: true } },
        out: out.to_path_buf(),
        quick: true,
        overwrite: false,
        classifier_epochs: Some(1),
    }
}

#[test]
fn translate_lab_writes_its_report() -> Result<()> {
    if test_digits("translate_lab_writes_its_report").is_none() {
        return Ok(());
    }
    let out = std::env::temp_dir().join(format!("minmax-lab-{}-translate", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let o = translate::options(&args(&out))?;
    let r = translate::run(&o)?;
    assert_eq!(r.arms.len(), 7, "five objectives and two more patch sizes");
    assert!(r.markdown.contains("The paper's orderings") && r.markdown.contains("Isola"), "{}", r.markdown);
    for f in ["report.md", "report.json", "classifier-mnist-1ep.safetensors", "pix2pix-l1-cgan-10x10-seed2.safetensors"]
    {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    for arm in translate::Arm::all(true) {
        let f = out.join(format!("pix2pix-{}.png", arm.tag()));
        assert!(std::fs::read(&f).unwrap().starts_with(b"\x89PNG"), "{}", f.display());
    }
    assert!(std::fs::read(out.join("pix2pix-all.png")).unwrap().starts_with(b"\x89PNG"));

    let js: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(js["task"], "pix2pix");
    assert_eq!(js["eval_n"], 64);
    let arms = js["arms"].as_array().expect("arms");
    assert_eq!(arms.len(), 7);
    for a in arms {
        let run = &a["runs"][0];
        assert_eq!(run["steps"], 6);
        assert!(num(run, "seconds") > 0.0);
        let s = &run["scores"];
        assert!((0.0..=1.0).contains(&num(s, "classifier_accuracy")), "{s}");
        assert!(num(s, "fid") >= 0.0 && num(s, "l1") >= 0.0 && num(s, "psnr") > 0.0, "{s}");
        assert!((-1.0..=1.0).contains(&num(s, "ssim")), "{s}");
        assert!(a["paper"]["fcn_per_pixel_accuracy"].as_f64().is_some(), "every row has the paper's beside it: {a}");
        // the L1-only arm has no D
        assert_eq!(a["runs"][0]["final_d_loss"].is_null(), a["objective"] == "L1", "{a}");
    }
    // The ceiling has no distance to itself; the floor (the edge maps) has all of them.
    assert!(js["real"]["l1"].is_null() && num(&js["real"], "classifier_accuracy") > 0.5);
    num(&js["edges"], "psnr");
    let claims = js["claims"].as_array().expect("claims");
    assert_eq!(claims.len(), 6);
    for c in claims {
        assert!(c["holds"].is_boolean() && c["ours"].as_array().map(|v| v.len()) == Some(2), "{c}");
        let v = c["verdict"].as_str().expect("a verdict");
        assert!(v == "holds (one seed)" || v == "reversed (one seed)", "one seed: {v}");
    }
    // A finished run is not silently replaced.
    let e = translate::run(&o).expect_err("a second run into the same folder").to_string();
    assert!(e.contains("report.json") && e.contains("--overwrite"), "{e}");
    std::fs::remove_dir_all(&out).ok();
    Ok(())
}

#[test]
fn translate_lab_flags_are_checked() {
    let out = std::env::temp_dir().join("minmax-translate-flags");
    let bad = |f: fn(&mut translate::Args), want: &str| {
        let mut a = args(&out);
        f(&mut a);
        let e = translate::options(&a).expect_err(want).to_string();
        assert!(e.contains(want), "{e}");
    };
    bad(|a| a.task = "srgan".into(), "--task srgan");
    bad(|a| a.task = "pix3pix".into(), "pix3pix");
    bad(|a| a.dataset = "cifar".into(), "cifar");
    bad(|a| a.steps = Some(0), "--steps 0");
    bad(|a| a.seeds = 0, "--seeds 0");
    bad(|a| a.lambda = -1.0, "--lambda -1");
    bad(|a| a.samples = Some(1), "--samples 1");
    bad(|a| a.classifier_epochs = Some(0), "--classifier-epochs 0");
}
