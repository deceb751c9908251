//! `minmax export pytorch` → PyTorch → `minmax import pytorch`, end to end, with PyTorch itself:
//!  1. forward parity: the exported torch.nn modules give minmax's G(z) and D(x) to 1e-5 relative,
//!     and one training step from the exported state gives minmax's weights to 1e-5
//!     (check_parity.py of the export, which fails above that);
//!  2. round trip: torchrun with 2 processes continues training with DistributedDataParallel
//!     (gloo, CPU), the file it saves imports back, and minmax scores it (finite samples and a
//!     finite Parzen log-likelihood);
//!  3. the DDP run's losses continue from minmax's last epoch: the mean of its first 5 steps lies
//!     within 3 standard deviations (of its first 20 steps) of minmax's last-epoch mean.
//!
//! PyTorch comes from `$MINMAX_TORCH_PYTHON` (scripts/test.sh installs it with
//! scripts/install-torch.sh). Without it the test is skipped loudly, and fails when
//! MINMAX_REQUIRE_TORCH=1. The data are 400 random binary "images", so no data set is needed.

use std::path::{Path, PathBuf};
use std::process::Command;

use minmax_engine::{Generator, Result};
use minmax_gan::data::{Dataset, Splits};
use minmax_gan::models::goodfellow2014::{self as gf, Config, Gan, TrainOptions};
use minmax_tests::{or_skip, say};

const REQUIRE_TORCH: &str = "MINMAX_REQUIRE_TORCH";

fn torch_python(test: &str) -> Option<PathBuf> {
    let py = std::env::var_os("MINMAX_TORCH_PYTHON").map(PathBuf::from).unwrap_or_else(|| {
        let base = std::env::var_os("MINMAX_DATA")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/minmax"));
        base.join("torch-venv/bin/python")
    });
    let found = Command::new(&py)
        .args(["-c", "import torch, numpy, safetensors"])
        .output()
        .map_err(|e| e.to_string())
        .and_then(|o| if o.status.success() { Ok(()) } else { Err(String::from_utf8_lossy(&o.stderr).into_owned()) });
    or_skip(test, &format!("no PyTorch at {} (run scripts/install-torch.sh)", py.display()), found, REQUIRE_TORCH)?;
    Some(py)
}

/// Runs `cmd` to completion, at most `limit` long (a hung rendezvous must fail the test, not the
/// CI run), and returns its stdout and stderr; panics with both if it fails or is too slow.
fn run(cmd: &mut Command, what: &str) -> String {
    let limit = std::time::Duration::from_secs(600);
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("minmax-torch-out-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary folder");
    let (out_path, err_path) = (dir.join("stdout"), dir.join("stderr"));
    let mut child = cmd
        .stdout(std::fs::File::create(&out_path).expect("stdout file"))
        .stderr(std::fs::File::create(&err_path).expect("stderr file"))
        .spawn()
        .unwrap_or_else(|e| panic!("{what}: could not start: {e}"));
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break Some(status);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
    let (stdout, stderr) = (read(&out_path), read(&err_path));
    let _ = std::fs::remove_dir_all(&dir);
    // The failing command's own words go first: CI keeps the end of a long log, so stderr's last
    // lines come last.
    match status {
        Some(s) if s.success() => format!("{stdout}{stderr}"),
        Some(s) => {
            panic!("{what} failed ({s}):\n--- stdout\n{stdout}\n--- stderr (last 60 lines)\n{}", tail(&stderr, 60))
        }
        None => panic!(
            "{what}: still running after {} s; killed\n--- stdout\n{stdout}\n--- stderr (last 60 lines)\n{}",
            limit.as_secs(),
            tail(&stderr, 60)
        ),
    }
}

fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

fn toy_data(n: usize, seed: u64) -> Result<Dataset> {
    let mut g = Generator::new(seed);
    let px: Vec<f32> = (0..n * 784).map(|_| if g.uniform() < 0.2 { 1.0 } else { 0.0 }).collect();
    Dataset::new(px, vec![0; n], 28, 28)
}

fn json_lines(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

#[test]
fn export_to_pytorch_train_with_ddp_and_import_back() -> Result<()> {
    let test = "export_to_pytorch_train_with_ddp_and_import_back";
    let Some(py) = torch_python(test) else { return Ok(()) };
    let dir = std::env::temp_dir().join(format!("minmax-torch-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);

    // A minmax run: 2 epochs of the paper's nets with Adam and the averaged G, on toy data.
    let data = toy_data(400, 3)?;
    let mut cfg = Config::paper().scaled_to(2);
    cfg.optimizer = gf::OptimizerKind::parse("adam")?;
    cfg.g_ema = 0.9;
    let mut gan = Gan::new(cfg, &data.pixel_means(), 5)?;
    let run_dir = dir.join("run");
    let opts = TrainOptions {
        out: run_dir.clone(),
        seed: 5,
        resume: false,
        overwrite: false,
        checkpoint_every: 1,
        max_steps: None,
        progress: false,
        data: "toy".into(),
    };
    let history = gf::train(&mut gan, &data, &opts)?;
    let last = history.last().expect("two epochs");
    let checkpoint = run_dir.join("checkpoint.safetensors");

    // 1. Export (the toy images are not a named source: --no-data, and they go to train_ddp.py as
    //    --images) and the parity check, run by PyTorch.
    let exp = dir.join("export");
    minmax_gan::export::export_pytorch(&checkpoint, &exp, false, true, None)?;
    let again = minmax_gan::export::export_pytorch(&checkpoint, &exp, false, true, None);
    assert!(again.is_err(), "a second export into the same folder must be refused without --force");
    let (images, _) = data.to_tensors()?;
    minmax_gan::data::npy::write_npy(&exp.join("toy_images.npy"), &images)?;
    let parity = run(Command::new(&py).arg(exp.join("check_parity.py")).arg("--json"), "check_parity.py");
    say(&format!("{test}: check_parity.py:\n{parity}"));
    let json = parity.lines().find_map(|l| l.strip_prefix("JSON ")).expect("check_parity.py prints a JSON line");
    let diffs: serde_json::Value = serde_json::from_str(json).expect("JSON");
    let diffs = diffs.as_object().expect("an object");
    for key in
        ["g_z", "d_logits", "step.generator.l2.weight", "step.discriminator.h0.weight", "step.generator_avg.l3.weight"]
    {
        let rel = diffs.get(key).and_then(|d| d["max_rel"].as_f64()).unwrap_or_else(|| panic!("no '{key}' in {json}"));
        assert!(rel <= 1e-5, "{key}: relative difference {rel:e} above 1e-5");
    }

    // 2. DDP with 2 processes on the CPU (gloo), then import and score.
    let trained = exp.join("trained.safetensors");
    let log = exp.join("ddp.jsonl");
    let torchrun = py.parent().expect("venv bin").join("torchrun");
    let ddp = run(
        Command::new(&torchrun)
            // The rendezvous and gloo on the loopback address: a container's host name need not
            // resolve (train_ddp.py binds gloo to the loopback interface itself on one machine).
            .args(["--standalone", "--local-addr", "127.0.0.1", "--nproc_per_node", "2"])
            .arg(exp.join("train_ddp.py"))
            .arg("--images")
            .arg(exp.join("toy_images.npy"))
            .args(["--steps", "20", "--seed", "1"])
            .arg("--out")
            .arg(&trained)
            .arg("--loss-log")
            .arg(&log)
            .env("OMP_NUM_THREADS", "1"),
        "torchrun train_ddp.py",
    );
    say(&format!(
        "{test}: train_ddp.py:\n{}",
        ddp.lines().filter(|l| !l.starts_with('W')).collect::<Vec<_>>().join("\n")
    ));
    let imported = dir.join("imported.safetensors");
    minmax_gan::export::import_pytorch(&trained, Some("goodfellow2014"), &imported, false)?;
    assert!(minmax_gan::export::import_pytorch(&trained, None, &imported, false).is_err(), "no silent overwrite");
    let (back, epoch) = gf::from_checkpoint(&imported, &data.pixel_means())?;
    assert_eq!(back.step, gan.step + 20, "the imported checkpoint counts the DDP steps");
    let splits = Splits { train: data.clone(), valid: toy_data(100, 4)?, test: toy_data(100, 5)? };
    let samples = gf::sample_from(back.eval_generator(), back.cfg.z_dim, 200, &mut Generator::new(0))?;
    let px = samples.to_vec::<f32>()?;
    assert!(px.iter().all(|v| v.is_finite() && (0.0..=1.0).contains(v)), "samples of the imported G are pixels");
    let valid = splits.valid.to_tensors()?.0;
    let test_x = splits.test.to_tensors()?.0;
    let ll =
        minmax_gan::metrics::parzen::evaluate(&samples, &valid, &test_x, &minmax_gan::metrics::parzen::sigma_grid())?;
    assert!(ll.mean.is_finite(), "Parzen log-likelihood of the imported G: {}", ll.mean);
    say(&format!(
        "{test}: imported checkpoint (epoch {epoch}, step {}): Parzen log-likelihood on toy data {:.1}",
        back.step, ll.mean
    ));

    // 3. The loss curve continues: minmax itself continues 20 steps from the same checkpoint
    //    (same batch size, its own noise and dropout), and the two runs' first 5 steps agree within
    //    3 standard deviations of the step-to-step noise (the larger of the two runs').
    let rows = json_lines(&log);
    assert_eq!(rows.len(), 20, "one log line per DDP step");
    let (mut cont, _) = gf::from_checkpoint(&checkpoint, &data.pixel_means())?;
    let mut rng = Generator::new(11);
    let mut ours = Vec::new();
    {
        use minmax_gan::train::Gan as _;
        while ours.len() < 20 {
            for batch in data.batches(cont.cfg.batch_size, &mut rng, true)? {
                if ours.len() < 20 {
                    ours.push(cont.train_step(&batch?.0, &mut rng)?);
                }
            }
        }
    }
    let mean = |s: &[f64]| s.iter().sum::<f64>() / s.len() as f64;
    let sd = |s: &[f64]| (s.iter().map(|x| (x - mean(s)).powi(2)).sum::<f64>() / (s.len() - 1) as f64).sqrt();
    for key in ["d_loss", "g_loss"] {
        let v: Vec<f64> = rows.iter().map(|r| r[key].as_f64().expect("a number")).collect();
        assert!(v.iter().all(|x| x.is_finite()), "{key}: {v:?}");
        let m: Vec<f64> = ours.iter().map(|s| if key == "d_loss" { s.d_loss } else { s.g_loss }).collect();
        let noise = sd(&v).max(sd(&m));
        let jump = (mean(&v[..5]) - mean(&m[..5])).abs();
        say(&format!(
            "{test}: {key}: first 5 steps after the checkpoint: minmax {:.4}, PyTorch DDP {:.4} (step-to-step sd {:.4} / {:.4}; minmax's last epoch {:.4})",
            mean(&m[..5]),
            mean(&v[..5]),
            sd(&m),
            sd(&v),
            if key == "d_loss" { last.stats.d_loss } else { last.stats.g_loss }
        ));
        assert!(
            jump <= 3.0 * noise,
            "{key}: the DDP run starts {jump:.4} away from minmax's continuation (noise {noise:.4})"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// Every image GAN (they share one G and one D: with and without labels, with and without batch
/// norm in D) exports, matches PyTorch in eval and training mode to 1e-5, and imports back bit
/// for bit. Each is trained 3 steps first, so the batch-norm running statistics are not the
/// initial ones.
#[test]
fn image_gans_export_match_pytorch_and_import_back() -> Result<()> {
    use minmax_gan::models::images as im;
    let test = "image_gans_export_match_pytorch_and_import_back";
    let Some(py) = torch_python(test) else { return Ok(()) };
    let dir = std::env::temp_dir().join(format!("minmax-torch-images-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut rng = Generator::new(2);
    for m in im::Model::ALL {
        let mut gan = m.build(100, &mut rng, &minmax_engine::Device::Cpu)?;
        for _ in 0..3 {
            let x = minmax_engine::Tensor::rand(&[8, 1, 28, 28], -1.0, 1.0, &mut rng);
            let labels = minmax_engine::Tensor::new((0..8).map(|i| (i % 10) as i64).collect::<Vec<_>>(), &[8])?;
            gan.train_step(&im::ImageBatch { x, labels }, &mut rng)?;
        }
        let ck = dir.join(format!("{}.safetensors", m.name()));
        im::save(gan.as_ref(), &ck)?;
        let exp = dir.join(m.name());
        minmax_gan::export::export_pytorch(&ck, &exp, false, true, None)?;
        let parity = run(Command::new(&py).arg(exp.join("check_parity.py")).arg("--json"), "check_parity.py");
        say(&format!("{test}: {}:\n{parity}", m.name()));
        let json = parity.lines().find_map(|l| l.strip_prefix("JSON ")).expect("a JSON line");
        let diffs: serde_json::Value = serde_json::from_str(json).expect("JSON");
        for key in ["eval.g_z", "eval.d_logits", "train.g_z", "train.d_logits"] {
            let rel = diffs[key]["max_rel"].as_f64().unwrap_or_else(|| panic!("no '{key}' in {json}"));
            assert!(rel <= 1e-5, "{}: {key}: relative difference {rel:e} above 1e-5", m.name());
        }
        // Through PyTorch and back: models.save of the loaded nets, then import.
        let trained = exp.join("trained.safetensors");
        let script = format!(
            "import sys; sys.path.insert(0, {e:?}); import models; G, D, meta = models.load({e:?}); models.save({t:?}, G, D, meta)",
            e = exp.display().to_string(),
            t = trained.display().to_string()
        );
        run(Command::new(&py).args(["-c", &script]), "models.save");
        // The export's own weights (no metadata: the model comes from config.json beside them).
        let direct = dir.join(format!("{}-direct.safetensors", m.name()));
        minmax_gan::export::import_pytorch(&exp.join("weights.safetensors"), None, &direct, false)?;
        let back = dir.join(format!("{}-imported.safetensors", m.name()));
        minmax_gan::export::import_pytorch(&trained, Some(m.name()), &back, false)?;
        let (a, _) = minmax_engine::io::load_safetensors(&ck)?;
        let (b, _) = minmax_engine::io::load_safetensors(&back)?;
        let mut names_a: Vec<&String> = a.iter().map(|(n, _)| n).collect();
        let mut names_b: Vec<&String> = b.iter().map(|(n, _)| n).collect();
        names_a.sort();
        names_b.sort();
        assert_eq!(names_a, names_b, "{}: the imported checkpoint holds other tensors", m.name());
        for (na, ta) in &a {
            let tb = &b.iter().find(|(nb, _)| nb == na).expect("same names").1;
            assert_eq!(ta.to_vec::<f32>()?, tb.to_vec::<f32>()?, "{}: {na} changed in the round trip", m.name());
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
