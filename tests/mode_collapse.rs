//! The mode-collapse lab's pieces: the mixtures, the VEEGAN/PacGAN metrics on hand-made sample
//! sets with known answers, the unrolled GAN's gradient through its unrolled D steps, and a tiny
//! end-to-end run of the lab that writes its report and pictures.

use minmax_engine::{grad, DType, Generator, Result, Tensor};
use minmax_gan::metrics::modes::{hopping, kls, mode_stats, nearest_shares, Hopping, KL_EPSILON};
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

/// Hopping on hand-made checkpoints: a blob that sits on mode 0, then 3, then (after a spread-out
/// checkpoint) 3 again and 5; and a generator that always covers every mode evenly.
#[test]
fn hopping_counts_collapsed_checkpoints_modes_and_hops() -> Result<()> {
    let ring = Mixture::ring8();
    let at = |k: usize, dx: f64| -> Result<Vec<f64>> {
        // 10 points near mode k (0.3 off: far outside 3σ, still nearest k), 2 near mode (k + 4) % 8
        let (m, o) = (&ring.means[k], &ring.means[(k + 4) % 8]);
        let mut p: Vec<[f64; 2]> = (0..10).map(|i| [m[0] + dx, m[1] + 0.01 * i as f64]).collect();
        p.extend([[o[0], o[1]], [o[0], o[1]]]);
        nearest_shares(&points(&p)?, &ring)
    };
    let spread = nearest_shares(&points(&ring.means.iter().map(|m| [m[0], m[1]]).collect::<Vec<_>>())?, &ring)?;
    assert!(spread.iter().all(|&s| (s - 0.125).abs() < 1e-12));
    let s0 = at(0, 0.3)?;
    assert!((s0[0] - 10.0 / 12.0).abs() < 1e-12 && (s0[4] - 2.0 / 12.0).abs() < 1e-12);
    let run = vec![s0, at(0, 0.0)?, at(3, 0.3)?, spread.clone(), at(3, 0.0)?, at(5, 0.2)?];
    assert_eq!(hopping(&run), Hopping { checkpoints: 6, collapsed: 5, modes_visited: 3, hops: 2 });
    assert_eq!(hopping(&vec![spread; 4]), Hopping { checkpoints: 4, collapsed: 0, modes_visited: 0, hops: 0 });
    // exactly half counts as collapsed
    let mut half = vec![0.0; 8];
    half[2] = 0.5;
    half[6] = 0.5;
    assert_eq!(hopping(&[half]).collapsed, 1);
    Ok(())
}

/// The Stacked-MNIST counter on constructed images whose channels are constant planes of value
/// digit/10, with a classifier that reads the digit back: every image the same triple is one
/// mode with KL = ln 1000; the 1,000 distinct triples are all 1,000 modes with KL 0; the mode of
/// (3, 1, 4) is 314.
#[test]
fn the_stacked_mnist_counter_finds_one_mode_and_all_thousand() -> Result<()> {
    use minmax_gan::metrics::stacked::{kl_to_uniform, modes_of, stacked_modes, MODES};
    let image = |d: [usize; 3]| d.iter().flat_map(|&l| vec![l as f32 / 10.0; 784]).collect::<Vec<f32>>();
    let classify = |x: &Tensor| -> Result<Vec<usize>> {
        Ok(x.to_vec2::<f64>()?.iter().map(|row| (row[400] * 10.0).round() as usize).collect())
    };
    let same: Vec<f32> = (0..50).flat_map(|_| image([3, 1, 4])).collect();
    let one = stacked_modes(&Tensor::new(same.clone(), &[50, 3, 28, 28])?, classify)?;
    assert_eq!(one.modes_covered, 1);
    assert!(close(one.kl, (MODES as f64).ln(), 1e-12), "{}", one.kl);
    assert_eq!(modes_of(&Tensor::new(same, &[50, 3, 28, 28])?, classify)?[0], 314);
    let all: Vec<f32> = (0..1000).flat_map(|m| image([m / 100, (m / 10) % 10, m % 10])).collect();
    let every = stacked_modes(&Tensor::new(all, &[1000, 3, 28, 28])?, classify)?;
    assert_eq!((every.modes_covered, every.samples), (1000, 1000));
    assert!(every.kl.abs() < 1e-12 && every.counts.iter().all(|&c| c == 1));
    // A histogram by hand: half the samples on one mode, a quarter on each of two others.
    let mut counts = vec![0usize; 1000];
    counts[0] = 2;
    counts[1] = 1;
    counts[2] = 1;
    let want = 0.5 * (1000.0f64 * 0.5).ln() + 2.0 * 0.25 * (1000.0f64 * 0.25).ln();
    assert!(close(kl_to_uniform(&counts), want, 1e-12));
    // Wrong shapes and non-finite pixels are refused.
    let e = stacked_modes(&Tensor::zeros(&[2, 1, 28, 28]), classify).unwrap_err().to_string();
    assert!(e.contains("[N, 3, 28, 28]"), "{e}");
    let mut nan = image([0, 0, 0]);
    nan[5] = f32::NAN;
    assert!(stacked_modes(&Tensor::new(nan, &[1, 3, 28, 28])?, classify).is_err());
    Ok(())
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

/// `--preset unrolled` builds the unrolled GAN paper's nets — z ∈ ℝ²⁵⁶, G 256 → 128 → 128 → 2,
/// D x/4 → 128 → 1, orthogonal weights with gain 0.8 and zero biases — trains them, records
/// where G's samples sit at every checkpoint, and states the preset in its report.
#[test]
fn the_unrolled_preset_trains_the_papers_nets_and_tracks_the_samples() -> Result<()> {
    use minmax_gan::experiments::mode_collapse::{
        build, parse_datasets, parse_models, plan, run, Options, Preset, TRACK_POINTS,
    };
    assert_eq!(parse_datasets("all", Preset::Unrolled)?, vec!["ring8"]);
    assert_eq!(parse_models("all", Preset::Unrolled)?, vec!["vanilla-sat", "vanilla", "unrolled5", "unrolled10"]);
    assert!(Preset::parse("veegan").unwrap_err().to_string().contains("minmax, pacgan or unrolled"));
    let p = plan("vanilla-sat", &Mixture::ring8(), None, false, Preset::Unrolled);
    assert_eq!((p.common.lr_g, p.common.lr_d, p.common.betas, p.common.batch_size), (1e-4, 1e-4, (0.5, 0.999), 512));
    assert_eq!((p.steps, p.decay_from), (12_500, 1.0));
    for model in ["vanilla-sat", "unrolled10"] {
        let gan = build(model, &p, 2, &mut minmax_engine::Generator::new(1))?;
        let parts = gan.parts();
        assert_eq!(parts.g.sizes, vec![256, 128, 128, 2]);
        assert_eq!(parts.d.sizes, vec![2, 128, 1]);
        assert_eq!((parts.g.input_scale, parts.d.input_scale), (1.0, 0.25));
        // G's first weight [128, 256] has orthonormal rows × 0.8: W Wᵀ = 0.64 I; biases are zero.
        let w = parts.g.params[0].to_vec2::<f64>()?;
        for (i, j) in [(0, 0), (5, 5), (0, 1), (17, 90)] {
            let dot: f64 = w[i].iter().zip(&w[j]).map(|(a, b)| a * b).sum();
            assert!(close(dot, if i == j { 0.64 } else { 0.0 }, 1e-5), "({i}, {j}): {dot}");
        }
        assert!(parts.d.params[1].to_vec::<f64>()?.iter().all(|&b| b == 0.0));
        // D divides its input by 4: D(x) with these weights is the plain net at x / 4.
        let x = Tensor::new(vec![1.0f32, -2.0, 0.5, 3.0], &[2, 2])?;
        let plain = minmax_gan::models::toy::nets::Mlp { input_scale: 1.0, ..parts_clone(parts.d) };
        assert_eq!(parts.d.forward(&x)?.to_vec::<f32>()?, plain.forward(&x.mul_scalar(0.25)?)?.to_vec::<f32>()?);
    }
    let out = std::env::temp_dir().join(format!("minmax-mode-collapse-unrolled-{}", std::process::id()));
    let o = Options {
        preset: Preset::Unrolled,
        datasets: vec!["ring8".into()],
        models: vec!["vanilla-sat".into(), "unrolled5".into()],
        seeds: 1,
        steps: Some(TRACK_POINTS + 5),
        quick: false,
        out: out.clone(),
        snapshots: 0,
        frames: 0,
        workers: Some(1),
        progress: false,
        device: minmax_engine::Device::Cpu,
    };
    let md = run(&o)?;
    assert!(md.contains("(preset unrolled)") && md.contains("orthogonal with gain 0.8"), "{md}");
    assert!(md.contains("| model | collapsed checkpoints % | modes visited | hops |"), "{md}");
    let js: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    for r in js["runs"].as_array().unwrap() {
        let track = r["track"].as_array().unwrap();
        assert_eq!(track.len(), TRACK_POINTS, "{}", r["model"]);
        assert_eq!(track.last().unwrap()["iteration"].as_u64(), Some((TRACK_POINTS + 5) as u64));
        let shares: Vec<f64> =
            track[0]["nearest_mode_shares"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
        assert_eq!(shares.len(), 8);
        assert!(close(shares.iter().sum::<f64>(), 1.0, 1e-9));
        assert_eq!(r["hopping"]["checkpoints"].as_u64(), Some(TRACK_POINTS as u64));
    }
    assert!(js["summaries"][0]["hopping"]["hops"]["mean"].is_number());
    let _ = std::fs::remove_dir_all(&out);
    Ok(())
}

/// A copy of a net's description with the same parameter tensors (shared, not copied).
fn parts_clone(m: &minmax_gan::models::toy::nets::Mlp) -> minmax_gan::models::toy::nets::Mlp {
    minmax_gan::models::toy::nets::Mlp {
        params: m.params.clone(),
        sizes: m.sizes.clone(),
        act: m.act,
        hidden: m.hidden,
        input_scale: m.input_scale,
    }
}

/// Maxout hidden units are the max over their pieces, and batch norm normalises each unit over
/// the batch: checked on a net whose weights are set by hand.
#[test]
fn maxout_and_batch_norm_hidden_layers_compute_what_they_say() -> Result<()> {
    use minmax_gan::models::toy::nets::{Act, Hidden, Mlp};
    let mut g = minmax_engine::Generator::new(0);
    let net = Mlp::with(
        &[1, 2, 1],
        Act::Relu,
        Hidden { batch_norm: false, pieces: 3, init: Some(minmax_engine::nn::init::Init::Normal(0.0, 0.02)) },
        &mut g,
    )?;
    // Hidden layer: 2 units × 3 pieces = 6 numbers: x·(1, −1, 2 | 0.5, −2, 0) + 0; output: sum.
    net.params[0].copy_from(&Tensor::new(vec![1.0f32, -1.0, 2.0, 0.5, -2.0, 0.0], &[6, 1])?)?;
    net.params[1].copy_from(&Tensor::zeros(&[6]))?;
    net.params[2].copy_from(&Tensor::new(vec![1.0f32, 1.0], &[1, 2])?)?;
    net.params[3].copy_from(&Tensor::zeros(&[1]))?;
    let y = net.forward(&Tensor::new(vec![1.0f32, -1.0], &[2, 1])?)?.to_vec::<f32>()?;
    // x = 1: max(1, −1, 2) + max(0.5, −2, 0) = 2.5; x = −1: max(−1, 1, −2) + max(−0.5, 2, 0) = 3.
    assert_eq!(y, vec![2.5, 3.0]);
    let bn = Mlp::with(
        &[1, 1, 1],
        Act::Relu,
        Hidden { batch_norm: true, pieces: 1, init: Some(minmax_engine::nn::init::Init::Normal(0.0, 0.02)) },
        &mut g,
    )?;
    bn.params[0].copy_from(&Tensor::new(vec![3.0f32], &[1, 1])?)?;
    bn.params[2].copy_from(&Tensor::new(vec![1.0f32], &[1, 1])?)?;
    // Over the batch (−1, 1): 3x normalised is (−1, 1) (up to ε), ReLU gives (0, 1).
    let y = bn.forward(&Tensor::new(vec![-1.0f32, 1.0], &[2, 1])?)?.to_vec::<f32>()?;
    assert!(y[0] == 0.0 && (y[1] - 1.0).abs() < 1e-5, "{y:?}");
    Ok(())
}
