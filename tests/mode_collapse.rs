//! The mode-collapse lab's pieces: the mixtures, the VEEGAN/PacGAN metrics on hand-made sample
//! sets with known answers, the unrolled GAN's gradient through its unrolled D steps, and a tiny
//! end-to-end run of the lab that writes its report and pictures.

use minmax_engine::{grad, DType, Generator, Result, Tensor};
use minmax_gan::metrics::modes::{kls, mode_stats, KL_EPSILON};
use minmax_gan::metrics::stats::mean_se;
use minmax_gan::models::toy::{Common, Mixture};

fn points(p: &[[f64; 2]]) -> Result<Tensor> {
    Tensor::new(p.iter().flatten().map(|&v| v as f32).collect(), &[p.len(), 2])
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

// ---- data -----------------------------------------------------------------------------------------

#[test]
fn ring8_has_eight_distinct_means() {
    // 2πk/8 for k = 0..8, not linspace(0, 2π, 8) (which repeats the first mean as the last).
    for m in [Mixture::ring8(), Mixture::ring8_pac()] {
        assert_eq!(m.means.len(), 8);
        let mut distinct = 0;
        for (i, a) in m.means.iter().enumerate() {
            let dup = m.means[..i].iter().any(|b| ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt() < 1e-6);
            if !dup {
                distinct += 1;
            }
        }
        assert_eq!(distinct, 8, "{}: {:?}", m.name, m.means);
        // mean k = 2 sits at angle π/2
        let r = if m.name == "ring8" { 2.0 } else { 1.0 };
        assert!(close(m.means[2][0], 0.0, 1e-12) && close(m.means[2][1], r, 1e-12));
    }
    assert_eq!((Mixture::ring8().std, Mixture::ring8_pac().std), (0.02, 0.01));
}

#[test]
fn grid25_means_and_real_samples_score_as_perfect() -> Result<()> {
    let g = Mixture::grid25();
    assert_eq!(g.means.len(), 25);
    assert!(g.means.contains(&vec![-4.0, 4.0]) && g.means.contains(&vec![0.0, 0.0]));
    // Samples of the mixture itself: every mode covered, ≈ 98.9 % within 3σ (1 − e^(−9/2)).
    let x = g.sample(2500, &mut Generator::new(3));
    let s = mode_stats(&x, &g)?;
    assert_eq!(s.modes_covered, 25);
    assert!(s.hq_percent > 97.5, "{}", s.hq_percent);
    assert!(s.kl < 0.03 && s.kl_forward < 0.03, "{} {}", s.kl, s.kl_forward);
    Ok(())
}

// ---- metrics on hand-made samples ---------------------------------------------------------------------

#[test]
fn all_samples_at_one_mode() -> Result<()> {
    let ring = Mixture::ring8();
    let m = &ring.means[3];
    let x = points(&vec![[m[0], m[1]]; 100])?;
    let s = mode_stats(&x, &ring)?;
    assert_eq!((s.modes_covered, s.modes_total, s.samples), (1, 8, 100));
    assert_eq!(s.hq_percent, 100.0);
    assert_eq!(s.counts, vec![0, 0, 0, 100, 0, 0, 0, 0]);
    // p̂ = (1, ε, …, ε)/(1 + 7ε):  KL(p̂‖u) = Σ p̂ₖ ln(8 p̂ₖ) → ln 8 as ε → 0
    let z = 1.0 + 7.0 * KL_EPSILON;
    let (p1, pe) = (1.0 / z, KL_EPSILON / z);
    let kl = p1 * (8.0 * p1).ln() + 7.0 * pe * (8.0 * pe).ln();
    let kl_forward = (1.0 / 8.0) * (1.0 / (8.0 * p1)).ln() + (7.0 / 8.0) * (1.0 / (8.0 * pe)).ln();
    assert!(close(s.kl, kl, 1e-9), "{} vs {kl}", s.kl);
    assert!(close(s.kl_forward, kl_forward, 1e-9));
    assert!(close(s.kl, 8f64.ln(), 0.01));
    Ok(())
}

#[test]
fn samples_spread_evenly_over_every_mode() -> Result<()> {
    for mix in [Mixture::ring8(), Mixture::grid25()] {
        // 4 samples per mode, each within 2σ of its mean in a different direction
        let mut p = Vec::new();
        for m in &mix.means {
            for (dx, dy) in [(2.0, 0.0), (0.0, -2.0), (-1.4, 1.4), (0.0, 0.0)] {
                p.push([m[0] + dx * mix.std, m[1] + dy * mix.std]);
            }
        }
        let s = mode_stats(&points(&p)?, &mix)?;
        assert_eq!(s.modes_covered, mix.modes());
        assert!(close(s.hq_percent, 100.0, 1e-9));
        assert!(s.counts.iter().all(|&c| c == 4), "{:?}", s.counts);
        assert!(close(s.kl, 0.0, 1e-12) && close(s.kl_forward, 0.0, 1e-12));
    }
    Ok(())
}

#[test]
fn samples_outside_three_sigma_are_not_high_quality() -> Result<()> {
    let g = Mixture::grid25();
    // 3.2σ to the right of every mode, and the midpoints between modes: nothing counts
    let mut p: Vec<[f64; 2]> = g.means.iter().map(|m| [m[0] + 3.2 * g.std, m[1]]).collect();
    p.push([1.0, 1.0]);
    p.push([-3.0, 0.0]);
    let s = mode_stats(&points(&p)?, &g)?;
    assert_eq!((s.modes_covered, s.samples), (0, 27));
    assert_eq!(s.hq_percent, 0.0);
    // No HQ sample: the KLs take their "every mode empty" values.
    assert!(close(s.kl, 25f64.ln(), 1e-12));
    assert!(close(s.kl_forward, (1.0 / (25.0 * KL_EPSILON)).ln(), 1e-12));
    // … while 2.9σ away is high quality.
    let m = &g.means[7];
    let s = mode_stats(&points(&[[m[0], m[1] - 2.9 * g.std]])?, &g)?;
    assert_eq!((s.modes_covered, s.hq_percent), (1, 100.0));
    Ok(())
}

#[test]
fn half_the_samples_missing_their_modes() -> Result<()> {
    // Two samples at each of modes 0..3 of the ring and two far away: 4 modes, 80 % HQ,
    // p̂ uniform over 4 of 8 modes: KL(p̂‖u) = ln 2.
    let ring = Mixture::ring8();
    let mut p: Vec<[f64; 2]> = ring.means[..4].iter().flat_map(|m| [[m[0], m[1]], [m[0], m[1]]]).collect();
    p.extend([[0.0, 0.0], [5.0, 5.0]]);
    let s = mode_stats(&points(&p)?, &ring)?;
    assert_eq!(s.modes_covered, 4);
    assert!(close(s.hq_percent, 80.0, 1e-9));
    assert!(close(s.kl, 2f64.ln(), 5e-3), "{}", s.kl); // ε floors the 4 empty modes
    Ok(())
}

#[test]
fn kl_and_standard_error_helpers() {
    assert_eq!(kls(&[5, 5, 5, 5]), (0.0, 0.0));
    let (kl, _) = kls(&[10, 0]);
    assert!(close(kl, 2f64.ln(), 5e-3));
    // mean 2, sample sd 1, se 1/√3
    let (m, se) = mean_se(&[1.0, 2.0, 3.0]);
    assert!(close(m, 2.0, 1e-12) && close(se, 1.0 / 3f64.sqrt(), 1e-12));
    assert_eq!(mean_se(&[7.0]), (7.0, 0.0));
}

#[test]
fn mode_stats_rejects_wrong_shapes() {
    let x = Tensor::zeros(&[4, 3]);
    let e = mode_stats(&x, &Mixture::ring8()).unwrap_err().to_string();
    assert!(e.contains("[N, 2]"), "{e}");
}

// ---- the unrolled GAN's gradient ----------------------------------------------------------------

#[test]
fn unrolled_g_loss_is_differentiated_through_the_unrolled_steps() -> Result<()> {
    // f64 copies of a small D; compare d(surrogate loss)/d(fake) with central differences.
    let c = Common { g_hidden: 8, d_hidden: 8, batch_size: 4, ..Common::default() };
    let mut rng = Generator::new(5);
    let mut gan = minmax_gan::models::toy::unrolled::UnrolledGan::new(c, 3, 0.5, 2, &mut rng)?;
    gan.d.params =
        gan.d.params.iter().map(|p| Ok(p.to_dtype(DType::F64)?.detach().requires_grad_())).collect::<Result<_>>()?;
    let x = Tensor::randn(&[4, 2], &mut rng).to_dtype(DType::F64)?;
    let fake0 = Tensor::randn(&[4, 2], &mut rng).to_dtype(DType::F64)?;
    let fake = fake0.detach().requires_grad_();
    let loss = gan.surrogate_g_loss(&x, &fake)?;
    let analytic = grad(&[loss], None, std::slice::from_ref(&fake), false)?[0].to_vec::<f64>()?;
    let base = fake0.to_vec::<f64>()?;
    let eps = 1e-6;
    let f = |v: Vec<f64>| -> Result<f64> { gan.surrogate_g_loss(&x, &Tensor::new(v, &[4, 2])?)?.item() };
    let mut worst: f64 = 0.0;
    for i in 0..base.len() {
        let (mut up, mut dn) = (base.clone(), base.clone());
        up[i] += eps;
        dn[i] -= eps;
        let numeric = (f(up)? - f(dn)?) / (2.0 * eps);
        worst = worst.max((numeric - analytic[i]).abs() / (1e-5 + numeric.abs()));
    }
    assert!(worst < 1e-4, "relative error {worst}");
    // … and the unrolling matters: with k = 0 the gradient is different.
    gan.k = 0;
    let fake = fake0.detach().requires_grad_();
    let plain =
        grad(&[gan.surrogate_g_loss(&x, &fake)?], None, std::slice::from_ref(&fake), false)?[0].to_vec::<f64>()?;
    let diff: f64 = plain.iter().zip(&analytic).map(|(a, b)| (a - b).abs()).sum();
    assert!(diff > 1e-6, "unrolling changed nothing");
    Ok(())
}

// ---- the lab end to end ---------------------------------------------------------------------------

#[test]
fn a_tiny_lab_run_writes_its_report_and_pictures() -> Result<()> {
    use minmax_gan::experiments::mode_collapse::{run, Options};
    let out = std::env::temp_dir().join(format!("minmax-mode-collapse-{}", std::process::id()));
    let o = Options {
        preset: minmax_gan::experiments::mode_collapse::Preset::Minmax,
        datasets: vec!["ring8".into(), "mix1d".into()],
        models: vec![
            "vanilla".into(),
            "lsgan".into(),
            "minibatch".into(),
            "wgan-gp".into(),
            "pacgan3".into(),
            "unrolled5".into(),
        ],
        seeds: 2,
        steps: Some(6),
        quick: false,
        out: out.clone(),
        snapshots: 2,
        frames: 3,
        workers: Some(2),
        progress: false,
        device: minmax_engine::Device::Cpu,
    };
    let md = run(&o)?;
    assert!(md.contains("| vanilla | 6 |") && md.contains("VEEGAN GAN: 1 / 99.3"), "{md}");
    assert!(md.contains("| lsgan | 6 |") && md.contains("| minibatch | 6 |"), "{md}");
    for f in [
        "report.md",
        "report.json",
        "vanilla-ring8.png",
        "unrolled5-mix1d.png",
        "pacgan3-ring8.png",
        "lsgan-ring8.png",
        "minibatch-mix1d.png",
    ] {
        assert!(out.join(f).exists(), "{f} missing");
    }
    let js: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(js["runs"].as_array().map(|a| a.len()), Some(24));
    // Each seed-0 run's animation: a looping GIF of 3 frames (the last at the end), decoded back.
    for f in ["vanilla-ring8.gif", "wgan-gp-mix1d.gif", "minibatch-ring8.gif", "lsgan-mix1d.gif"] {
        use image::AnimationDecoder;
        let bytes = std::fs::read(out.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
        let dec = image::codecs::gif::GifDecoder::new(std::io::Cursor::new(bytes)).unwrap();
        let frames = dec.into_frames().collect_frames().unwrap();
        assert_eq!(frames.len(), 3, "{f}");
        let (w, h) = frames[0].buffer().dimensions();
        assert!(w > 200 && h > 200, "{f}: {w}x{h}");
        // Frames differ: the game moved between the first and the last.
        assert_ne!(frames[0].buffer(), frames[2].buffer(), "{f}");
    }
    let _ = std::fs::remove_dir_all(&out);
    Ok(())
}

#[test]
fn the_lab_gives_the_same_numbers_with_any_number_of_workers() -> Result<()> {
    use minmax_gan::experiments::mode_collapse::{run_all, Options};
    let o = |workers| Options {
        preset: minmax_gan::experiments::mode_collapse::Preset::Minmax,
        datasets: vec!["ring8".into()],
        models: vec!["vanilla".into(), "pacgan2".into()],
        seeds: 2,
        steps: Some(5),
        quick: false,
        out: std::env::temp_dir().join("unused"),
        snapshots: 0,
        frames: 0,
        workers: Some(workers),
        progress: false,
        device: minmax_engine::Device::Cpu,
    };
    let key = |r: &minmax_gan::experiments::mode_collapse::RunResult| {
        (r.model.clone(), r.seed, r.stats.modes_covered, r.stats.hq_percent.to_bits(), r.stats.kl.to_bits())
    };
    let one: Vec<_> = run_all(&o(1))?.iter().map(key).collect();
    let two: Vec<_> = run_all(&o(2))?.iter().map(key).collect();
    assert_eq!(one.len(), 4);
    assert_eq!(one, two, "--workers changed the results");
    Ok(())
}

/// `--preset pacgan` builds PacGAN's nets — G 2 → 400 ×4 → 2 with batch norm, D three maxout
/// layers of 200 × 5 pieces — trains them, and states the preset in its report.
#[test]
fn the_pacgan_preset_trains_the_papers_nets() -> Result<()> {
    use minmax_gan::experiments::mode_collapse::{build, parse_datasets, parse_models, plan, run, Options, Preset};
    use minmax_gan::models::toy::Mixture;
    assert_eq!(parse_datasets("all", Preset::Pacgan)?, vec!["ring8-pac", "grid25"]);
    assert_eq!(parse_models("all", Preset::Pacgan)?, vec!["vanilla", "pacgan2", "pacgan3", "pacgan4"]);
    let p = plan("pacgan2", &Mixture::ring8_pac(), None, false, Preset::Pacgan);
    assert_eq!((p.common.lr_g, p.common.betas, p.common.batch_size), (1e-4, (0.8, 0.999), 100));
    let gan = build("pacgan2", &p, 2, &mut minmax_engine::Generator::new(1))?;
    let parts = gan.parts();
    assert_eq!(parts.g.sizes, vec![2, 400, 400, 400, 400, 2]);
    assert_eq!(parts.d.sizes, vec![4, 200, 200, 200, 1], "D reads packs of 2");
    assert_eq!(parts.d.params[0].shape(), &[1000, 4], "a maxout layer computes 5 pieces per unit");
    // G: 5 linear layers (W, b) and 4 batch norms (γ, β).
    assert_eq!(parts.g.params.len(), 2 * 5 + 2 * 4);
    let out = std::env::temp_dir().join(format!("minmax-mode-collapse-pac-{}", std::process::id()));
    let o = Options {
        preset: Preset::Pacgan,
        datasets: vec!["ring8-pac".into()],
        models: vec!["vanilla".into(), "pacgan2".into()],
        seeds: 1,
        steps: Some(3),
        quick: false,
        out: out.clone(),
        snapshots: 0,
        frames: 0,
        workers: Some(1),
        progress: false,
        device: minmax_engine::Device::Cpu,
    };
    let md = run(&o)?;
    assert!(md.contains("(preset pacgan)") && md.contains("three maxout layers of 200 units × 5 pieces"), "{md}");
    let js: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    let s = &js["summaries"][0];
    assert_eq!((s["preset"].as_str(), s["iterations"].as_u64()), (Some("pacgan"), Some(3)));
    for k in ["modes", "hq_percent", "kl"] {
        assert!(s[k]["mean"].is_number() && s[k]["se"].is_number(), "{k}: {}", s[k]);
    }
    let _ = std::fs::remove_dir_all(&out);
    Ok(())
}

/// Maxout hidden units are the max over their pieces, and batch norm normalises each unit over
/// the batch: checked on a net whose weights are set by hand.
#[test]
fn maxout_and_batch_norm_hidden_layers_compute_what_they_say() -> Result<()> {
    use minmax_gan::models::toy::nets::{Act, Hidden, Mlp};
    let mut g = minmax_engine::Generator::new(0);
    let net = Mlp::with(&[1, 2, 1], Act::Relu, Hidden { batch_norm: false, pieces: 3, init_std: Some(0.02) }, &mut g)?;
    // Hidden layer: 2 units × 3 pieces = 6 numbers: x·(1, −1, 2 | 0.5, −2, 0) + 0; output: sum.
    net.params[0].copy_from(&Tensor::new(vec![1.0f32, -1.0, 2.0, 0.5, -2.0, 0.0], &[6, 1])?)?;
    net.params[1].copy_from(&Tensor::zeros(&[6]))?;
    net.params[2].copy_from(&Tensor::new(vec![1.0f32, 1.0], &[1, 2])?)?;
    net.params[3].copy_from(&Tensor::zeros(&[1]))?;
    let y = net.forward(&Tensor::new(vec![1.0f32, -1.0], &[2, 1])?)?.to_vec::<f32>()?;
    // x = 1: max(1, −1, 2) + max(0.5, −2, 0) = 2.5; x = −1: max(−1, 1, −2) + max(−0.5, 2, 0) = 3.
    assert_eq!(y, vec![2.5, 3.0]);
    let bn = Mlp::with(&[1, 1, 1], Act::Relu, Hidden { batch_norm: true, pieces: 1, init_std: Some(0.02) }, &mut g)?;
    bn.params[0].copy_from(&Tensor::new(vec![3.0f32], &[1, 1])?)?;
    bn.params[2].copy_from(&Tensor::new(vec![1.0f32], &[1, 1])?)?;
    // Over the batch (−1, 1): 3x normalised is (−1, 1) (up to ε), ReLU gives (0, 1).
    let y = bn.forward(&Tensor::new(vec![-1.0f32, 1.0], &[2, 1])?)?.to_vec::<f32>()?;
    assert!(y[0] == 0.0 && (y[1] - 1.0).abs() < 1e-5, "{y:?}");
    Ok(())
}
