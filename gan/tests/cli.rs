//! The `minmax` command line under bad input and faults, run as a user runs it (the built binary,
//! its exit code and its messages): evaluating every kind of checkpoint `reproduce`/`train`
//! write, overwrite protection, `--resume` checks, Ctrl-C, stale temporary files, and clear
//! errors for bad flags and files.
//!
//! Tests that train use the MNIST 10k subset (scripts/get-data.sh) for a few steps, on one
//! thread each so that the tests can run side by side.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_minmax"));
    c.arg("--threads").arg("1");
    c
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("minmax-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn run(c: &mut Command) -> Output {
    c.stdin(Stdio::null()).output().expect("the minmax binary runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Whether the MNIST subset is installed. Without it the test says SKIPPED past libtest's capture
/// (on the stderr handle itself), or fails when MINMAX_REQUIRE_DATA=1.
fn have_digits(test: &str) -> bool {
    match minmax_gan::data::load_mnist(&minmax_gan::data::MnistSource::subset10k()) {
        Ok(_) => true,
        Err(e) if std::env::var("MINMAX_REQUIRE_DATA").as_deref() == Ok("1") => {
            panic!("{test}: MINMAX_REQUIRE_DATA=1 but the MNIST subset is missing: {e}")
        }
        Err(e) => {
            let _ = writeln!(std::io::stderr().lock(), "SKIPPED: {test}: the MNIST subset is missing ({e})");
            false
        }
    }
}

/// `minmax train goodfellow2014 --iterations N --out OUT` plus `extra` flags (200 samples for
/// the model selection's Parzen estimate, to keep it short).
fn train(out: &Path, iterations: u64, extra: &[&str]) -> Output {
    run(bin()
        .args(["train", "goodfellow2014", "--no-progress", "--eval-samples", "200", "--iterations"])
        .arg(iterations.to_string())
        .arg("--out")
        .arg(out)
        .args(extra))
}

fn ok(o: &Output, what: &str) {
    assert!(o.status.success(), "{what} failed ({:?}):\n{}", o.status, stderr(o));
}

fn fails_with(o: &Output, what: &str, needles: &[&str]) {
    let e = stderr(o);
    assert!(!o.status.success(), "{what} should fail but exited 0:\n{e}");
    assert!(!e.contains("panicked"), "{what} panicked:\n{e}");
    for n in needles {
        assert!(e.contains(n), "{what}: the message should contain '{n}':\n{e}");
    }
}

#[test]
fn eval_parzen_reads_every_kind_of_checkpoint() {
    if !have_digits("eval_parzen_reads_every_kind_of_checkpoint") {
        return;
    }
    for (tag, flags) in [("adam", &[][..]), ("sgd", &["--optimizer", "sgd"][..]), ("ema0", &["--ema", "0"][..])] {
        let out = tmp(&format!("eval-{tag}"));
        let mut args = vec!["--epochs", "1"];
        args.extend_from_slice(flags);
        ok(&train(&out, 2, &args), &format!("train ({tag})"));
        let ck = out.join("checkpoint.safetensors");
        let o = run(bin().args(["eval", "parzen", "--samples", "200", "--checkpoint"]).arg(&ck));
        ok(&o, &format!("eval parzen ({tag})"));
        assert!(stdout(&o).contains("Adversarial nets (this run"), "{}", stdout(&o));
        // The samples go to eval-parzen/, never over a run's samples.npy.
        assert!(out.join("eval-parzen/samples.npy").exists());
        assert!(!out.join("samples.npy").exists());
        std::fs::remove_dir_all(&out).ok();
    }
}

#[test]
fn a_finished_run_is_never_overwritten_silently() {
    if !have_digits("a_finished_run_is_never_overwritten_silently") {
        return;
    }
    let out = tmp("overwrite");
    ok(&train(&out, 2, &["--epochs", "1"]), "first train");
    let first = std::fs::read(out.join("checkpoint.safetensors")).unwrap();
    std::fs::write(out.join("report.md"), "an earlier report").unwrap();
    let o = train(&out, 2, &["--epochs", "1"]);
    fails_with(&o, "train into a used folder", &["already holds a run", "--resume", "--overwrite"]);
    assert_eq!(std::fs::read(out.join("checkpoint.safetensors")).unwrap(), first, "the checkpoint was touched");
    // --overwrite replaces the whole run: no old report is left beside the new checkpoint.
    ok(&train(&out, 2, &["--epochs", "1", "--overwrite", "--seed", "3"]), "train --overwrite");
    assert!(!out.join("report.md").exists(), "the old report was left in the replaced run");
    assert!(out.join("checkpoint.safetensors").exists());
    std::fs::remove_dir_all(&out).ok();
}

#[test]
fn resume_refuses_other_settings_and_extends_longer_runs() {
    if !have_digits("resume_refuses_other_settings_and_extends_longer_runs") {
        return;
    }
    let out = tmp("resume");
    fails_with(&train(&out, 2, &["--resume"]), "--resume without a checkpoint", &["no checkpoint to continue"]);
    ok(&train(&out, 3, &["--epochs", "1"]), "train");
    let o = train(&out, 6, &["--epochs", "1", "--resume", "--optimizer", "sgd", "--ema", "0", "--seed", "4"]);
    fails_with(&o, "--resume with other settings", &["checkpoint.safetensors", "optimizer", "g_ema", "seed"]);
    let o = train(&out, 6, &["--epochs", "1", "--resume", "--g-loss", "saturating"]);
    fails_with(&o, "--resume with another G loss", &["g_loss"]);
    // Same settings: continues from step 3 to step 6 (the partial first epoch goes on).
    let o = train(&out, 6, &["--epochs", "1", "--resume"]);
    ok(&o, "--resume");
    assert!(stderr(&o).contains("resuming from") && stderr(&o).contains("(step 3)"), "{}", stderr(&o));
    std::fs::remove_dir_all(&out).ok();
}

#[test]
fn ctrl_c_stops_after_the_step_and_keeps_a_checkpoint() {
    if !have_digits("ctrl_c_stops_after_the_step_and_keeps_a_checkpoint") {
        return;
    }
    let out = tmp("ctrl-c");
    let child = bin()
        .args(["train", "goodfellow2014", "--no-progress", "--eval-samples", "200", "--epochs", "3", "--out"])
        .arg(&out)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Let it load the data and train a few steps, then press Ctrl-C once.
    std::thread::sleep(std::time::Duration::from_secs(6));
    let sent = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(sent.success());
    let o = child.wait_with_output().unwrap();
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(130), "exit code after Ctrl-C:\n{e}");
    assert!(e.contains("interrupted at epoch") && e.contains("--resume"), "{e}");
    let (_, meta) = minmax_engine::io::load_safetensors(out.join("checkpoint.safetensors")).unwrap();
    let step: u64 = meta["step"].parse().unwrap();
    assert!(step > 0, "no step was trained before the interrupt");
    let o = train(&out, step + 2, &["--epochs", "3", "--resume"]);
    ok(&o, "--resume after Ctrl-C");
    assert!(stderr(&o).contains(&format!("(step {step})")), "{}", stderr(&o));
    std::fs::remove_dir_all(&out).ok();
}

#[test]
fn stale_temp_files_are_removed_at_start() {
    if !have_digits("stale_temp_files_are_removed_at_start") {
        return;
    }
    let out = tmp("stale");
    std::fs::create_dir_all(&out).unwrap();
    // Left by a process that was killed while writing (no PID is this large: Linux caps them at 2^22).
    let stale = out.join(".checkpoint.safetensors.tmp99999999");
    std::fs::write(&stale, vec![0u8; 1 << 20]).unwrap();
    ok(&train(&out, 1, &["--epochs", "1"]), "train");
    assert!(!stale.exists(), "the stale temp file is still there");
    std::fs::remove_dir_all(&out).ok();
}

#[test]
fn bad_flags_and_files_get_clear_errors() {
    let out = tmp("flags");
    std::fs::create_dir_all(&out).unwrap();
    let file = out.join("a-file");
    std::fs::write(&file, "x").unwrap();
    let cases: Vec<(Vec<String>, Vec<&str>)> = vec![
        (
            vec!["train", "goodfellow2014", "--iterations", "0"].into_iter().map(String::from).collect(),
            vec!["--iterations must be at least 1"],
        ),
        (
            vec!["bench", "--max-seconds", "nan"].into_iter().map(String::from).collect(),
            vec!["--max-seconds NaN", "positive"],
        ),
        (
            vec!["eval", "parzen", "--samples", "0", "--checkpoint", "x"].into_iter().map(String::from).collect(),
            vec!["--samples must be at least 1"],
        ),
        (
            vec!["eval", "parzen", "--samples", "100000000", "--checkpoint", "x"]
                .into_iter()
                .map(String::from)
                .collect(),
            vec!["--samples 100000000", "GiB"],
        ),
        (
            vec!["eval", "parzen", "--checkpoint", "/nonexistent/ck.safetensors"]
                .into_iter()
                .map(String::from)
                .collect(),
            vec!["/nonexistent/ck.safetensors", "no such file"],
        ),
        (
            vec!["lab", "mode-collapse", "--workers", "100000"].into_iter().map(String::from).collect(),
            vec!["--workers 100000", "per core"],
        ),
        (
            vec!["lab", "mode-collapse", "--preset", "veegan"].into_iter().map(String::from).collect(),
            vec!["--preset", "'veegan'", "minmax, pacgan or unrolled"],
        ),
        (
            vec!["lab", "stacked-mnist", "--model", "dcgan,pacdcgan9"].into_iter().map(String::from).collect(),
            vec!["--model", "'pacdcgan9'", "pacdcgan2–pacdcgan4"],
        ),
        (
            vec!["lab", "stacked-mnist", "--model", "dcgan-d2"].into_iter().map(String::from).collect(),
            vec!["--model dcgan-d2", "width 2", "4 to 256"],
        ),
        (
            vec!["lab", "stacked-mnist", "--samples", "5"].into_iter().map(String::from).collect(),
            vec!["--samples 5", "100 to 1,000,000"],
        ),
        (
            vec!["lab", "stacked-mnist", "--data", "fashion"].into_iter().map(String::from).collect(),
            vec!["--data fashion", "full MNIST"],
        ),
        (
            vec!["lab", "imbalance", "--curve", "10,5"].into_iter().map(String::from).collect(),
            vec!["--curve", "'5'", "at least 10"],
        ),
        (
            vec!["lab", "imbalance", "--curve", "default", "--curve-arms", "plain,smote"]
                .into_iter()
                .map(String::from)
                .collect(),
            vec!["--curve-arms", "'smote'", "balanced set"],
        ),
        (
            vec!["lab", "imbalance", "--curve-arms", "plain"].into_iter().map(String::from).collect(),
            vec!["--curve-arms", "only with --curve"],
        ),
        (
            vec!["lab", "imbalance", "--net", "resnet18:0"].into_iter().map(String::from).collect(),
            vec!["--net", "'resnet18:0'", "resnet18:WIDTH"],
        ),
    ];
    for (args, needles) in cases {
        fails_with(&run(bin().args(&args)), &args.join(" "), &needles);
    }
    // --threads past the limit: refused up front, not a panic.
    let o = run(Command::new(env!("CARGO_BIN_EXE_minmax")).args(["--threads", "5000", "devices"]));
    fails_with(&o, "--threads 5000", &["--threads 5000", "per core"]);
    // --out at a file, and under a file.
    if have_digits("bad_flags_and_files_get_clear_errors") {
        for target in [file.clone(), file.join("sub")] {
            let o = train(&target, 1, &[]);
            fails_with(&o, "--out at a file", &["output folder", &target.display().to_string()]);
        }
    }
    std::fs::remove_dir_all(&out).ok();
}

#[test]
fn checkpoints_with_bad_metadata_or_weights_are_refused() {
    use minmax_engine::Tensor;
    if !have_digits("checkpoints_with_bad_metadata_or_weights_are_refused") {
        return;
    }
    let out = tmp("bad-ck");
    ok(&train(&out, 1, &["--epochs", "1"]), "train");
    let ck = out.join("checkpoint.safetensors");
    let (tensors, meta) = minmax_engine::io::load_safetensors(&ck).unwrap();
    let eval = |path: &Path| run(bin().args(["eval", "parzen", "--samples", "100", "--checkpoint"]).arg(path));

    // Malformed config JSON: said so, not "no config".
    let bad_json = out.join("bad-json.safetensors");
    let mut m = meta.clone();
    m.insert("config".into(), "{\"z_dim\": 100,".into());
    minmax_engine::io::save_safetensors(&bad_json, &tensors, Some(m)).unwrap();
    fails_with(&eval(&bad_json), "malformed config", &["bad-json.safetensors", "not valid JSON"]);

    // One NaN in the averaged G's last bias: refused, never scored (it used to give a fake best).
    let nan = out.join("nan.safetensors");
    let poisoned: Vec<(String, Tensor)> = tensors
        .iter()
        .map(|(n, t)| {
            if n == "generator_avg.l3.bias" {
                let mut v = t.to_vec::<f32>().unwrap();
                v[783] = f32::NAN;
                (n.clone(), Tensor::new(v, t.shape()).unwrap())
            } else {
                (n.clone(), t.clone())
            }
        })
        .collect();
    assert!(poisoned.iter().any(|(n, _)| n == "generator_avg.l3.bias"), "the default run averages G");
    minmax_engine::io::save_safetensors(&nan, &poisoned, Some(meta)).unwrap();
    fails_with(&eval(&nan), "NaN weight", &["nan.safetensors", "generator_avg.l3.bias", "not finite"]);
    std::fs::remove_dir_all(&out).ok();
}

/// `--device gpu` end to end: the main job (training, model selection, figures, evaluation) and
/// every lab, at tiny sizes. Without a GPU this runs on lavapipe (scripts/install-deps.sh); without
/// any adapter it says SKIPPED, or fails when MINMAX_REQUIRE_GPU=1.
#[test]
fn gpu_runs_the_main_job_and_every_lab() {
    let adapter = match minmax_engine::Device::gpu(None) {
        Ok(d) => d,
        Err(e) if std::env::var("MINMAX_REQUIRE_GPU").as_deref() == Ok("1") => {
            panic!("gpu_runs_the_main_job_and_every_lab: MINMAX_REQUIRE_GPU=1 but there is no GPU adapter: {e}")
        }
        Err(e) => {
            let _ = writeln!(
                std::io::stderr().lock(),
                "SKIPPED: gpu_runs_the_main_job_and_every_lab: no GPU adapter ({e})"
            );
            return;
        }
    };
    let _ = writeln!(std::io::stderr().lock(), "gpu_runs_the_main_job_and_every_lab: adapter {adapter}");
    if !have_digits("gpu_runs_the_main_job_and_every_lab") {
        return;
    }
    let out = tmp("gpu");
    let runs: [(&str, Vec<&str>); 4] = [
        ("main", vec!["reproduce", "goodfellow2014", "--epochs", "1", "--iterations", "2", "--eval-samples", "100"]),
        // One step each, no snapshot panels: on a software adapter (lavapipe) a DCGAN step takes
        // ~25 s and D's surface over a panel's grid ~30 s; the CPU tests cover those paths.
        ("images", vec!["lab", "images", "--quick", "--steps", "1", "--samples", "20", "--classifier-epochs", "1"]),
        (
            "generalization",
            vec![
                "lab",
                "generalization",
                "--quick",
                "--steps",
                "1",
                "--sizes",
                "100",
                "--mre-images",
                "4",
                "--mre-steps",
                "2",
                "--mre-restarts",
                "1",
                "--memo-samples",
                "20",
                "--no-fid",
            ],
        ),
        (
            "mode-collapse",
            vec![
                "lab",
                "mode-collapse",
                "--quick",
                "--steps",
                "3",
                "--seeds",
                "1",
                "--snapshots",
                "0",
                "--dataset",
                "ring8",
                "--model",
                "vanilla,wgan-gp,pacgan2,unrolled5",
            ],
        ),
    ];
    for (name, args) in runs {
        let dir = out.join(name);
        let o = run(bin().args(&args).args(["--device", "gpu", "--no-progress", "--out"]).arg(&dir));
        ok(&o, &format!("{name} on the GPU"));
        let report = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .find(|e| e.file_name().to_string_lossy().ends_with(".md"))
            .unwrap_or_else(|| panic!("{name}: no report in {}", dir.display()));
        let text = std::fs::read_to_string(report.path()).unwrap();
        assert!(text.contains("gpu("), "{name}: the report does not name the GPU device");
    }
    std::fs::remove_dir_all(&out).ok();
}

#[test]
fn bench_times_the_toy_gan_and_refuses_unknown_workloads() {
    let o = run(bin().args(["bench", "--only", "toy", "--reps", "2", "--warmup", "1"]));
    ok(&o, "bench --only toy");
    let out = stdout(&o);
    assert!(out.contains("toy_gan_iter_b256_t1") && out.contains("\"toy_gan_iter_b256_t1\": {\"median_ms\""), "{out}");
    fails_with(&run(bin().args(["bench", "--only", "toy,gan"])), "bench --only gan", &["unknown workload 'gan'"]);
}

#[test]
fn export_and_import_refuse_bad_input_and_round_trip_the_weights() {
    let dir = tmp("export");
    std::fs::create_dir_all(&dir).unwrap();
    // Missing files and files that are not minmax checkpoints are named in the error.
    let o = run(bin()
        .args(["export", "pytorch", "--checkpoint"])
        .arg(dir.join("nope.safetensors"))
        .arg("--out")
        .arg(dir.join("e")));
    fails_with(&o, "export of a missing checkpoint", &["nope.safetensors", "no such file"]);
    let junk = dir.join("junk.safetensors");
    std::fs::write(&junk, b"not a safetensors file").unwrap();
    let o = run(bin().args(["export", "pytorch", "--checkpoint"]).arg(&junk).arg("--out").arg(dir.join("e")));
    fails_with(&o, "export of a junk file", &["junk.safetensors"]);
    let o = run(bin().args(["import", "pytorch", "--weights"]).arg(&junk).arg("--out").arg(dir.join("i.safetensors")));
    fails_with(&o, "import of a junk file", &["junk.safetensors"]);
    if !have_digits("export_and_import_refuse_bad_input_and_round_trip_the_weights") {
        return;
    }
    // A real run: export (with its training images), refuse a second export, import the exported
    // weights as they are and score them.
    let run_dir = dir.join("run");
    ok(&train(&run_dir, 2, &["--epochs", "1", "--data", "mnist-10k"]), "train");
    let ck = run_dir.join("checkpoint.safetensors");
    let e = dir.join("e");
    ok(&run(bin().args(["export", "pytorch", "--checkpoint"]).arg(&ck).arg("--out").arg(&e)), "export");
    for f in minmax_gan::export::EXPORT_FILES {
        assert!(e.join(f).is_file(), "the export lacks {f}");
    }
    let images = minmax_gan::data::npy::read_npy(&e.join("train_images.npy")).unwrap();
    assert_eq!(images.shape(), &[8000, 784], "the run's training split");
    let o = run(bin().args(["export", "pytorch", "--checkpoint"]).arg(&ck).arg("--out").arg(&e));
    fails_with(&o, "a second export", &["--force"]);
    let imported = dir.join("imported.safetensors");
    let o = run(bin()
        .args(["import", "pytorch", "--model", "dcgan", "--weights"])
        .arg(e.join("weights.safetensors"))
        .arg("--out")
        .arg(&imported));
    fails_with(&o, "import as the wrong model", &["--model dcgan", "goodfellow2014"]);
    let o = run(bin()
        .args(["import", "pytorch", "--weights"])
        .arg(e.join("weights.safetensors"))
        .arg("--out")
        .arg(&imported));
    ok(&o, "import");
    let o =
        run(bin().args(["eval", "parzen", "--data", "mnist-10k", "--samples", "200", "--checkpoint"]).arg(&imported));
    ok(&o, "eval parzen of the imported checkpoint");
    let o = run(bin()
        .args(["import", "pytorch", "--weights"])
        .arg(e.join("weights.safetensors"))
        .arg("--out")
        .arg(&imported));
    fails_with(&o, "import over an existing file", &["--force"]);
    std::fs::remove_dir_all(&dir).ok();
}
