//! The image-to-image lab end to end in a tiny run (`--task all --ablation` on the MNIST 10k
//! subset for speed: pix2pix with every ablation row, SRGAN at ×4 and ×2, the context encoder,
//! CycleGAN's six variants):
//! every report file and picture is written, each report.json holds each row's metrics, steps and
//! seconds, and every number is finite and in its range. A few steps prove nothing about the
//! papers' orderings, so none is asserted: only that each report states each one with both
//! sides' numbers.

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
        task: "all".into(),
        dataset: "mnist".into(),
        ablation: true,
        steps: Some(4),
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
    let lab = translate::run(&o)?;
    let r = lab.pix2pix.as_ref().expect("pix2pix ran");
    assert_eq!(r.arms.len(), 7, "five objectives and two more patch sizes");
    assert!(r.markdown.contains("The paper's orderings") && r.markdown.contains("Isola"), "{}", r.markdown);
    assert!(out.join("classifier-mnist-1ep.safetensors").is_file(), "the shared classifier");
    let p2p = out.join("pix2pix");
    for f in ["report.md", "report.json", "pix2pix-l1-cgan-10x10-seed2.safetensors"] {
        assert!(p2p.join(f).is_file(), "pix2pix/{f} missing");
    }
    let png = |f: &Path| assert!(std::fs::read(f).unwrap().starts_with(b"\x89PNG"), "{}", f.display());
    for arm in translate::Arm::all(true) {
        png(&p2p.join(format!("pix2pix-{}.png", arm.tag())));
    }
    png(&p2p.join("pix2pix-all.png"));
    let report = |task: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(out.join(task).join("report.json")).unwrap()).unwrap()
    };

    let js = report("pix2pix");
    assert_eq!(js["task"], "pix2pix");
    assert_eq!(js["eval_n"], 64);
    let arms = js["arms"].as_array().expect("arms");
    assert_eq!(arms.len(), 7);
    for a in arms {
        let run = &a["runs"][0];
        assert_eq!(run["steps"], 4);
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
    let one_seed = |c: &serde_json::Value| {
        let v = c["verdict"].as_str().expect("a verdict");
        assert!(v == "holds (one seed)" || v == "reversed (one seed)", "one seed: {c}");
        let ours = c["ours"].as_array().expect("ours");
        assert!(ours.len() == 2 && ours.iter().all(|x| x.as_f64().is_some_and(f64::is_finite)), "{c}");
    };

    // SRGAN: ×4 and ×2, three classical upscalers and three trained rows each.
    let js = report("srgan");
    assert_eq!(js["task"], "srgan");
    assert_eq!(js["scales"], serde_json::json!([4, 2]));
    let rows = js["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 12);
    for x in rows {
        let run = &x["runs"][0];
        let s = &run["scores"];
        assert!(num(s, "psnr") > 0.0 && (-1.0..=1.0).contains(&num(s, "ssim")) && num(s, "fid") >= 0.0, "{x}");
        assert!((0.0..=1.0).contains(&num(s, "classifier_accuracy")), "{x}");
        let trained = x["trained"].as_bool().expect("trained");
        assert_eq!(run["seed"].is_null(), !trained, "{x}");
        assert_eq!(run["final_d_loss"].is_null(), x["tag"] != "srgan", "only SRGAN has a D: {x}");
        if x["tag"] == "srgan" || x["tag"] == "srresnet" {
            assert_eq!(run["steps"], 8, "both compared rows have had 2 × --steps G updates: {x}");
        }
    }
    assert!(rows.iter().any(|x| x["scale"] == 4 && x["tag"] == "bicubic" && x["paper"]["psnr"] == 25.94));
    let ord = js["orderings"].as_array().expect("orderings");
    assert_eq!(ord.len(), 12, "six orderings at each scale");
    ord.iter().for_each(one_seed);
    for f in
        ["report.md", "srgan-x4.png", "srgan-x2.png", "srgan-x4-seed2.safetensors", "srresnet-x2-seed2.safetensors"]
    {
        assert!(out.join("srgan").join(f).is_file(), "srgan/{f} missing");
    }

    // Inpainting: two baselines, two context encoders, hole scores in range.
    let js = report("inpainting");
    assert_eq!(js["task"], "inpainting");
    let rows = js["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 4);
    for x in rows {
        let run = &x["runs"][0];
        let h = &run["hole"];
        assert!((0.0..=100.0).contains(&num(h, "l1_pct")) && (0.0..=100.0).contains(&num(h, "l2_pct")), "{x}");
        assert!(num(h, "psnr") > 0.0, "{x}");
        assert!((0.0..=1.0).contains(&num(&run["scores"], "classifier_accuracy")), "{x}");
        assert_eq!(run["final_d_loss"].is_null(), x["tag"] != "l2-adv", "only the joint loss has a D: {x}");
    }
    assert!(rows.iter().any(|x| x["tag"] == "nearest" && x["paper"]["l2_pct"] == 6.92));
    let ord = js["orderings"].as_array().expect("orderings");
    assert_eq!(ord.len(), 6);
    ord.iter().for_each(one_seed);
    for f in ["report.md", "inpainting.png", "context-encoder-l2-adv-seed2.safetensors"] {
        assert!(out.join("inpainting").join(f).is_file(), "inpainting/{f} missing");
    }
    // CycleGAN: six variants, both directions scored, the cycle errors in range.
    let js = report("cyclegan");
    assert_eq!(js["task"], "cyclegan");
    assert_eq!(js["fonts"].as_array().map(|f| f.len()), Some(minmax_gan::data::printed::FONTS.len()));
    let rows = js["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 6);
    for x in rows {
        let run = &x["runs"][0];
        assert_eq!(run["steps"], 4);
        for d in ["printed_to_handwritten", "handwritten_to_printed"] {
            assert!((0.0..=1.0).contains(&num(&run[d], "classifier_accuracy")) && num(&run[d], "fid") >= 0.0, "{x}");
        }
        assert!(
            (0.0..=1.0).contains(&num(run, "cycle_l1_forward")) && (0.0..=1.0).contains(&num(run, "cycle_l1_backward"))
        );
        assert_eq!(run["final_d_loss"].is_null(), x["tag"] == "cycle-alone", "only the cycle loss alone has no D: {x}");
    }
    assert!(rows.iter().any(|x| x["tag"] == "gan-alone" && x["paper_fcn_per_pixel_accuracy"] == 0.51));
    // the untranslated printed digits keep their labels under the MNIST classifier more often than chance
    assert!(num(&js["input"]["printed_to_handwritten"], "classifier_accuracy") > 0.2, "{}", js["input"]);
    let ord = js["orderings"].as_array().expect("orderings");
    assert_eq!(ord.len(), 4);
    ord.iter().for_each(one_seed);
    for f in [
        "report.md",
        "cyclegan-printed-to-handwritten.png",
        "cyclegan-handwritten-to-printed.png",
        "cyclegan-cyclegan-seed2.safetensors",
    ] {
        assert!(out.join("cyclegan").join(f).is_file(), "cyclegan/{f} missing");
    }
    // --task all also writes the four reports in one file
    let all = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        all.contains("pix2pix") && all.contains("SRGAN") && all.contains("context encoder") && all.contains("CycleGAN")
    );

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
    bad(|a| a.task = "cyclegan2".into(), "cyclegan2");
    bad(|a| a.task = "pix3pix".into(), "pix3pix");
    bad(|a| a.dataset = "cifar".into(), "cifar");
    bad(|a| a.steps = Some(0), "--steps 0");
    bad(|a| a.seeds = 0, "--seeds 0");
    bad(|a| a.lambda = -1.0, "--lambda -1");
    bad(|a| a.samples = Some(1), "--samples 1");
    bad(|a| a.classifier_epochs = Some(0), "--classifier-epochs 0");
}
