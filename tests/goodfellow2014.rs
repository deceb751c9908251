//! The Goodfellow 2014 reproduction end to end: checkpoint save/resume gives bit-identical
//! training, a diverging run stops and keeps its last good checkpoint, and a short run of the
//! `reproduce` pipeline writes every output.

use std::path::PathBuf;

use minmax_engine::nn::Module;
use minmax_engine::Result;
use minmax_gan::data::Dataset;
use minmax_gan::models::goodfellow2014::{self as gf, Config, Gan, TrainOptions};
use minmax_gan::models::GeneratorLoss;
use minmax_gan::train::Gan as _;
use minmax_tests::test_digits;

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("minmax-gf-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// 300 random "images" so these tests need no data: 3 steps per epoch.
fn toy_data() -> Result<Dataset> {
    let mut g = minmax_engine::Generator::new(9);
    let px: Vec<f32> = (0..300 * 784).map(|_| if g.uniform() < 0.2 { 1.0 } else { 0.0 }).collect();
    Dataset::new(px, vec![0; 300], 28, 28)
}

fn params(gan: &Gan) -> Result<Vec<Vec<f32>>> {
    gan.g.parameters().iter().chain(gan.d.parameters().iter()).map(|p| p.to_vec::<f32>()).collect()
}

#[test]
fn resume_continues_bit_for_bit() -> Result<()> {
    check_resume(gf::OptimizerKind::Sgd, "sgd")?;
    check_resume(gf::OptimizerKind::parse("adam")?, "adam")
}

fn check_resume(kind: gf::OptimizerKind, tag: &str) -> Result<()> {
    let data = toy_data()?;
    let mut cfg = Config::paper().scaled_to(3);
    cfg.optimizer = kind;
    cfg.g_ema = 0.9; // the averaged generator is part of the state too
    let means = data.pixel_means();
    let opts = |out: &PathBuf, resume, max_steps| TrainOptions {
        out: out.clone(),
        seed: 4,
        resume,
        overwrite: false,
        checkpoint_every: 1,
        max_steps,
        progress: false,
        data: "toy".into(),
    };

    // Uninterrupted: 3 epochs.
    let a = tmp(&format!("resume-a-{tag}"));
    let mut full = Gan::new(cfg.clone(), &means, 4)?;
    let h_full = gf::train(&mut full, &data, &opts(&a, false, None))?;

    // Interrupted after 2 epochs (6 steps), and in the middle of epoch 2 (4 steps: the checkpoint
    // records the batches done and the epoch's random generator), then resumed in a fresh
    // process-like state.
    for stop in [6, 4] {
        let b = tmp(&format!("resume-b-{tag}-{stop}"));
        let mut first = Gan::new(cfg.clone(), &means, 4)?;
        gf::train(&mut first, &data, &opts(&b, false, Some(stop)))?;
        assert!(b.join("checkpoint.safetensors").exists());
        let mut resumed = Gan::new(cfg.clone(), &means, 123)?; // different init: the checkpoint must overwrite it
        let h_resumed = gf::train(&mut resumed, &data, &opts(&b, true, None))?;

        assert_eq!(resumed.step, full.step);
        assert_eq!(h_resumed.len(), h_full.len());
        for (r, f) in h_resumed.iter().zip(&h_full) {
            assert_eq!((r.epoch, r.step, r.stats.d_loss.to_bits()), (f.epoch, f.step, f.stats.d_loss.to_bits()));
        }
        assert_eq!(params(&resumed)?, params(&full)?, "resumed after {stop} steps differs from uninterrupted training");
        std::fs::remove_dir_all(&b).ok();
    }
    std::fs::remove_dir_all(&a).ok();
    Ok(())
}

#[test]
fn divergence_stops_and_keeps_the_last_good_checkpoint() -> Result<()> {
    let data = toy_data()?;
    let out = tmp("nan");
    let mut gan = Gan::new(Config::paper().scaled_to(4), &data.pixel_means(), 1)?;
    let opts = TrainOptions {
        out: out.clone(),
        seed: 1,
        resume: false,
        overwrite: false,
        checkpoint_every: 2,
        max_steps: None,
        progress: false,
        data: "toy".into(),
    };
    let ck = gf::checkpoint_path(&out);
    let mut before = None;
    // Epoch 2 writes a checkpoint; after epoch 3 (no checkpoint) a weight of D is poisoned, so
    // the first loss of epoch 4 is NaN.
    let e = gf::train_with(&mut gan, &data, &opts, |gan, rec| {
        if rec.epoch == 3 {
            before = Some(std::fs::read(&ck).unwrap());
            let w = &gan.d.y.weight;
            w.copy_from(&minmax_engine::Tensor::full(w.shape(), f64::NAN))?;
        }
        Ok(())
    })
    .unwrap_err()
    .to_string();
    assert!(e.contains("diverged") && e.contains("NaN") && e.contains("epoch 2) is kept"), "{e}");
    assert_eq!(std::fs::read(&ck).unwrap(), before.unwrap(), "the last good checkpoint was overwritten");

    // Non-finite weights are never written as a checkpoint, even when the losses look fine.
    let out2 = tmp("nan-weights");
    let mut gan = Gan::new(Config::paper().scaled_to(2), &data.pixel_means(), 1)?;
    let opts2 = TrainOptions { out: out2.clone(), checkpoint_every: 1, ..opts };
    let ck2 = gf::checkpoint_path(&out2);
    let mut first = None;
    let e = gf::train_with(&mut gan, &data, &opts2, |gan, rec| {
        if rec.epoch == 2 {
            first = Some(std::fs::read(&ck2).unwrap());
            let b = gan.g.l3.bias.as_ref().unwrap();
            b.copy_from(&minmax_engine::Tensor::full(b.shape(), f64::NAN))?;
        }
        Ok(())
    })
    .unwrap_err()
    .to_string();
    assert!(e.contains("not finite") && e.contains("generator.l3.bias") && e.contains("on disk is kept"), "{e}");
    assert_eq!(std::fs::read(&ck2).unwrap(), first.unwrap());
    std::fs::remove_dir_all(&out).ok();
    std::fs::remove_dir_all(&out2).ok();
    Ok(())
}

#[test]
fn a_larger_epochs_extends_a_finished_run_and_a_smaller_one_is_refused() -> Result<()> {
    let data = toy_data()?;
    let out = tmp("extend");
    let opts = TrainOptions {
        out: out.clone(),
        seed: 5,
        resume: false,
        overwrite: false,
        checkpoint_every: 1,
        max_steps: None,
        progress: false,
        data: "toy".into(),
    };
    let mut gan = Gan::new(Config::paper().scaled_to(2), &data.pixel_means(), 5)?;
    assert_eq!(gf::train(&mut gan, &data, &opts)?.len(), 2);
    let resume = TrainOptions { resume: true, ..opts };
    let mut longer = Gan::new(Config::paper().scaled_to(3), &data.pixel_means(), 5)?;
    let h = gf::train(&mut longer, &data, &resume)?;
    assert_eq!((h.len(), h.last().unwrap().epoch, longer.step), (3, 3, 9));
    let mut shorter = Gan::new(Config::paper().scaled_to(2), &data.pixel_means(), 5)?;
    let e = gf::train(&mut shorter, &data, &resume).unwrap_err().to_string();
    assert!(e.contains("at epoch 3, past --epochs 2"), "{e}");
    std::fs::remove_dir_all(&out).ok();
    Ok(())
}

#[test]
fn saturating_loss_option_trains() -> Result<()> {
    let data = toy_data()?;
    let mut cfg = Config::paper().scaled_to(1);
    cfg.g_loss = GeneratorLoss::Saturating;
    let mut gan = Gan::new(cfg, &data.pixel_means(), 2)?;
    let mut rng = minmax_engine::Generator::new(0);
    let (x, _) = data.subset(&(0..100).collect::<Vec<_>>())?.to_tensors()?;
    let s = gan.train_step(&x, &mut rng)?;
    // log(1 − D(G(z))) is ≤ 0; at initialisation D ≈ ½, so the loss is ≈ −ln 2.
    assert!(s.g_loss < 0.0 && (s.g_loss + 2f64.ln()).abs() < 0.05, "{s:?}");
    Ok(())
}

#[test]
fn quick_reproduction_writes_every_output() -> Result<()> {
    let Some(_) = test_digits("quick_reproduction_writes_every_output") else { return Ok(()) };
    let out = tmp("quick");
    let o = minmax_gan::experiments::goodfellow2014::ReproduceOptions {
        quick: true,
        seed: 0,
        epochs: Some(1),
        iterations: Some(40),
        data: None,
        out: out.clone(),
        resume: false,
        overwrite: false,
        g_loss: GeneratorLoss::NonSaturating,
        progress: false,
        eval_samples: 2000,
        train_only: false,
        g_ema: 0.99,
        optimizer: gf::OptimizerKind::Sgd,
        device: minmax_engine::Device::Cpu,
        k: None,
        preset: minmax_gan::experiments::goodfellow2014::Preset::Default,
        anneal: false,
    };
    let r = minmax_gan::experiments::goodfellow2014::run(&o)?;
    for f in [
        "report.md",
        "report.json",
        "samples.png",
        "nearest.png",
        "interpolation.png",
        "losses.png",
        "discriminator.png",
        "checkpoint.safetensors",
        "samples.npy",
        "validation.png",
        "generator_selected.safetensors",
    ] {
        assert!(out.join(f).exists(), "missing {f}");
    }
    let ev = r.eval.unwrap();
    let (p, reference) = (ev.model, ev.reference);
    assert!(ev.raw.is_some(), "with an averaged G the report also evaluates G as trained");
    assert!(p.mean.is_finite() && p.std_err > 0.0);
    // Real digits explain held-out digits far better than 40 steps of GAN training do.
    assert!(reference.mean > p.mean, "reference {} vs model {}", reference.mean, p.mean);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(json["steps"], 40);
    assert_eq!(json["paper_table1"].as_array().unwrap().len(), 4);
    // The documented schema (report.rs): every promised field is there, computed.
    assert_eq!(json["schema"], "minmax.goodfellow2014/2");
    let num = |path: &str| -> f64 {
        let v = path.split('.').fold(&json, |v, k| &v[k]);
        v.as_f64().unwrap_or_else(|| panic!("report.json: {path} is {v}, expected a number"))
    };
    assert_eq!(num("parzen.test.mean"), p.mean);
    assert_eq!(num("parzen.test.stderr"), p.std_err);
    assert_eq!(num("parzen.sigma"), p.sigma);
    assert_eq!(json["data"]["source"], "mnist-10k");
    assert_eq!(num("data.test_count"), 1000.0);
    assert_eq!(num("parzen.valid_count"), 1000.0);
    for f in ["fid", "inception_score", "precision", "recall", "wall_seconds", "classes.kl_uniform"] {
        assert!(num(f).is_finite(), "{f}");
    }
    let covered = num("classes.covered");
    assert!((0.0..=10.0).contains(&covered));
    let counts: Vec<u64> = json["classes"]["counts"].as_array().unwrap().iter().map(|c| c.as_u64().unwrap()).collect();
    assert_eq!((counts.len(), counts.iter().sum::<u64>()), (10, 1000), "one count per digit, over the scored samples");
    // The classifier the scores rest on is a real one, and the floor beats 40 steps of training.
    assert!(num("classifier.test_accuracy") > 0.9, "{}", json["classifier"]);
    assert!(num("real_vs_real.fid") < num("fid"), "real digits are nearer the test digits than G's");
    let closer = num("memorisation.closer_than_heldout_median");
    assert!((0.0..=1.0).contains(&closer));
    let samples = minmax_gan::data::npy::read_npy(&out.join("samples.npy"))?;
    assert_eq!(samples.shape(), &[2000, 784]);
    std::fs::remove_dir_all(&out).ok();
    Ok(())
}

/// `k: Some(k)` (Algorithm 1): D is updated every step, G only after every k-th, and the run is
/// still reproducible; `k: None` updates both every step.
#[test]
fn alternating_updates_move_g_every_kth_step() -> Result<()> {
    let data = toy_data()?;
    let (x, _) = data.to_tensors()?;
    let batch = x.narrow(0, 0, 100)?;
    for k in [1usize, 3] {
        let mut cfg = Config::paper().scaled_to(3);
        cfg.k = Some(k);
        let mut gan = Gan::new(cfg.clone(), &data.pixel_means(), 2)?;
        let mut rng = minmax_engine::Generator::new(5);
        let g_of = |gan: &Gan| -> Result<Vec<f32>> { gan.g.l3.weight.to_vec::<f32>() };
        let d_of = |gan: &Gan| -> Result<Vec<f32>> { gan.d.y.weight.to_vec::<f32>() };
        for step in 1..=6usize {
            let (g0, d0) = (g_of(&gan)?, d_of(&gan)?);
            gan.train_step(&batch, &mut rng)?;
            assert_ne!(d_of(&gan)?, d0, "k = {k}: D moves at step {step}");
            assert_eq!(g_of(&gan)? != g0, step % k == 0, "k = {k}: G moves only at every {k}-th step ({step})");
        }
        assert_eq!(gan.d_steps_per_g_step(), k);
        // Same seed, same bits; and the configuration survives a checkpoint's JSON.
        let mut again = Gan::new(cfg.clone(), &data.pixel_means(), 2)?;
        let mut rng = minmax_engine::Generator::new(5);
        for _ in 0..6 {
            again.train_step(&batch, &mut rng)?;
        }
        assert_eq!(params(&again)?, params(&gan)?);
        assert_eq!(Config::from_json(&cfg.to_json()).unwrap().k, Some(k));
    }
    assert_eq!(Config::from_json(&Config::paper().to_json()).unwrap().k, None);
    Ok(())
}
