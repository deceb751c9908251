//! The image-GAN lab and the generalization lab end to end on MNIST, in tiny runs: every report
//! file and picture is written, the JSON holds the expected keys, and every number is finite.
//! Tiny runs prove nothing about GANs (a few dozen steps), so no inequality between scores is
//! asserted: only the structure of the outputs.

use std::path::{Path, PathBuf};

use minmax_engine::Result;
use minmax_gan::experiments::{generalization, image_gans, CommonArgs, RunArgs};
use minmax_tests::test_digits;

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("minmax-lab-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn read_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: not JSON: {e}", path.display()))
}

fn png(path: &Path) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "{} is not a PNG", path.display());
}

/// A finite number at `key` of `v`.
fn num(v: &serde_json::Value, key: &str) -> f64 {
    let x = v.get(key).and_then(|x| x.as_f64()).unwrap_or_else(|| panic!("no number '{key}' in {v}"));
    assert!(x.is_finite(), "'{key}' is {x} in {v}");
    x
}

fn check_scores(s: &serde_json::Value) {
    for k in ["fid", "is_mean", "is_std", "precision", "recall", "kl_uniform", "kl_test"] {
        num(s, k);
    }
    assert!((0.0..=1.0).contains(&num(s, "precision")) && (0.0..=1.0).contains(&num(s, "recall")), "{s}");
    assert!(num(s, "fid") >= 0.0 && num(s, "is_mean") >= 1.0 - 1e-9, "{s}");
    let c = s["classes_covered"].as_u64().expect("classes_covered");
    assert!(c <= 10, "{s}");
}

#[test]
fn images_lab_writes_its_report() -> Result<()> {
    if test_digits("images_lab_writes_its_report").is_none() {
        return Ok(());
    }
    let out = tmp("images");
    let args = image_gans::Args {
        dataset: Some("mnist".into()),
        model: "dcgan,conditional-dcgan".into(),
        steps: Some(12),
        eval_every: Some(6),
        samples: Some(100),
        common: CommonArgs { seed: 3, run: RunArgs { device: "cpu".into(), no_progress: true } },
        out: out.clone(),
        quick: true,
        classifier_epochs: Some(1),
    };
    let o = image_gans::options(&args)?;
    assert_eq!((o.steps, o.eval_every, o.samples, o.classifier_epochs), (12, 6, 100, 1));
    let r = image_gans::run(&o)?;
    assert_eq!(r.datasets.len(), 1);
    assert!(r.markdown.contains("real vs real"));

    for f in ["report.md", "report.json", "classifier-mnist-1ep.safetensors", "mnist-dcgan.safetensors"] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    for f in [
        "mnist-dcgan-samples.png",
        "mnist-dcgan-losses.png",
        "mnist-conditional-dcgan-samples.png",
        "mnist-conditional-dcgan-losses.png",
        "mnist-metrics.png",
    ] {
        png(&out.join(f));
    }
    let js = read_json(&out.join("report.json"));
    for k in ["protocol", "settings", "datasets", "timing"] {
        assert!(js.get(k).is_some(), "report.json has no '{k}'");
    }
    let d = &js["datasets"][0];
    assert_eq!(d["dataset"], "mnist");
    assert_eq!(d["eval_n"], 100);
    let acc = num(&d["classifier"], "test_accuracy");
    assert!((0.0..=1.0).contains(&acc));
    check_scores(&d["reference"]);
    let models = d["models"].as_array().expect("models");
    assert_eq!(models.len(), 2);
    for m in models {
        check_scores(&m["final"]);
        let steps: Vec<u64> = m["history"].as_array().unwrap().iter().map(|h| h["step"].as_u64().unwrap()).collect();
        assert_eq!(steps, vec![6, 12], "{}", m["model"]);
        for h in m["history"].as_array().unwrap() {
            check_scores(h);
        }
        let losses = m["losses"].as_array().expect("losses");
        assert!(!losses.is_empty());
        for l in losses {
            num(l, "d_loss");
            num(l, "g_loss");
        }
    }

    // A second run reuses the classifier file instead of training again.
    let again = image_gans::run(&image_gans::Options { models: vec![minmax_gan::models::images::Model::Dcgan], ..o })?;
    assert!(again.datasets[0].classifier_train_seconds.is_none());
    assert_eq!(again.datasets[0].classifier_accuracy, r.datasets[0].classifier_accuracy);
    std::fs::remove_dir_all(&out).ok();
    Ok(())
}

#[test]
fn generalization_lab_writes_its_report() -> Result<()> {
    if test_digits("generalization_lab_writes_its_report").is_none() {
        return Ok(());
    }
    let out = tmp("generalization");
    let args = generalization::Args {
        dataset: "mnist".into(),
        sizes: Some("40,100".into()),
        steps: Some(10),
        common: CommonArgs { seed: 1, run: RunArgs { device: "cpu".into(), no_progress: true } },
        out: out.clone(),
        quick: true,
        mre_images: Some(12),
        mre_steps: Some(15),
        mre_restarts: Some(1),
        memo_samples: 100,
        no_fid: true,
    };
    let o = generalization::options(&args)?;
    let r = generalization::run(&o)?;
    assert_eq!(r.runs.iter().map(|x| x.size).collect::<Vec<_>>(), vec![40, 100]);
    assert!(!r.interpretation.is_empty());

    for f in ["report.md", "report.json"] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    for f in ["mre.png", "memorisation.png", "samples-40.png", "strip-40.png", "samples-100.png", "strip-100.png"] {
        png(&out.join(f));
    }
    let js = read_json(&out.join("report.json"));
    for k in ["dataset", "settings", "runs", "interpretation", "timing"] {
        assert!(js.get(k).is_some(), "report.json has no '{k}'");
    }
    let runs = js["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 2);
    for (x, size) in runs.iter().zip([40u64, 100]) {
        assert_eq!(x["size"].as_u64(), Some(size));
        assert_eq!(x["batch"].as_u64(), Some(64.min(size)));
        for k in ["mre_train_mean", "mre_train_se", "mre_test_mean", "mre_test_se", "gap_mean", "gap_se"] {
            assert!(num(x, k) >= -1.0, "{k}");
        }
        assert!(num(x, "mre_train_mean") >= 0.0 && num(x, "mre_test_mean") >= 0.0);
        assert_eq!(x["mre_train"].as_array().unwrap().len(), 12);
        assert_eq!(x["mre_test"].as_array().unwrap().len(), 12);
        let m = &x["memorisation"];
        for k in ["generated_mean", "generated_median", "heldout_mean", "heldout_median"] {
            assert!(num(m, k) >= 0.0, "{k}");
        }
        assert!((0.0..=1.0).contains(&num(m, "closer_than_heldout_median")));
        assert_eq!(m["generated_n"].as_u64(), Some(100));
        assert!(x["fid"].is_null());
    }

    // Bad flags name the flag and the value.
    let bad = generalization::Args { sizes: Some("100,abc".into()), ..args.clone() };
    let e = generalization::options(&bad).unwrap_err().to_string();
    assert!(e.contains("--sizes") && e.contains("abc"), "{e}");
    let too_big = generalization::Args { sizes: Some("9000".into()), ..args.clone() };
    let e = generalization::run(&generalization::options(&too_big)?).unwrap_err().to_string();
    assert!(e.contains("--sizes 9000") && e.contains("8000"), "{e}");
    let e = generalization::options(&generalization::Args { dataset: "cifar".into(), ..args }).unwrap_err().to_string();
    assert!(e.contains("--dataset") && e.contains("cifar"), "{e}");
    std::fs::remove_dir_all(&out).ok();
    Ok(())
}

#[test]
fn images_lab_flags_are_checked() {
    let base = image_gans::Args {
        dataset: None,
        model: "dcgan".into(),
        steps: None,
        eval_every: None,
        samples: None,
        common: CommonArgs { seed: 0, run: RunArgs { device: "cpu".into(), no_progress: true } },
        out: PathBuf::from("unused"),
        quick: false,
        classifier_epochs: None,
    };
    let o = image_gans::options(&base).unwrap();
    assert_eq!((o.steps, o.eval_every, o.samples, o.datasets.len()), (3000, 600, 2000, 2));
    let e =
        image_gans::options(&image_gans::Args { model: "dcgan,bigan".into(), ..base.clone() }).unwrap_err().to_string();
    assert!(e.contains("--model") && e.contains("bigan"), "{e}");
    let e = image_gans::options(&image_gans::Args { dataset: Some("svhn".into()), ..base.clone() })
        .unwrap_err()
        .to_string();
    assert!(e.contains("--dataset") && e.contains("svhn"), "{e}");
    let e = image_gans::options(&image_gans::Args {
        common: CommonArgs { run: RunArgs { device: "tpu".into(), no_progress: true }, ..base.common.clone() },
        ..base.clone()
    })
    .unwrap_err()
    .to_string();
    assert!(e.contains("--device tpu"), "{e}");
    let e = image_gans::options(&image_gans::Args { samples: Some(5), ..base }).unwrap_err().to_string();
    assert!(e.contains("--samples 5"), "{e}");
}
