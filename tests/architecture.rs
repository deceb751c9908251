//! The layering rules of ARCHITECTURE.md that can be checked by reading the source: the engine
//! never depends on the GAN crate, only the backend files name a backend, the models, metrics,
//! data and training code never reach up into the experiments, pictures or benchmark, and every
//! source file says what it is for in its first line.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ sits in the repository").to_path_buf()
}

/// Every `.rs` file under `dir` (relative to the repository root), recursively.
fn rust_files(dir: &str) -> Vec<PathBuf> {
    fn walk(d: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let mut v = Vec::new();
    walk(&root().join(dir), &mut v);
    assert!(!v.is_empty(), "no Rust files under {dir}");
    v.sort();
    v
}

/// The code of a file without its comments (lines starting with `//` after indentation), so a
/// doc comment may name what the code may not use.
fn code(p: &Path) -> String {
    std::fs::read_to_string(p)
        .unwrap()
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// (file, forbidden word) for every file of `files` whose code contains one of `words`.
fn violations(files: &[PathBuf], words: &[&str]) -> Vec<String> {
    let mut v = Vec::new();
    for f in files {
        let c = code(f);
        for w in words {
            if c.contains(w) {
                v.push(format!("{} uses `{w}`", f.strip_prefix(root()).unwrap().display()));
            }
        }
    }
    v
}

#[test]
fn the_engine_never_depends_on_the_gan_crate() {
    let manifest = std::fs::read_to_string(root().join("engine/Cargo.toml")).unwrap();
    assert!(!manifest.contains("minmax-gan"), "engine/Cargo.toml depends on minmax-gan");
    let v = violations(&rust_files("engine/src"), &["minmax_gan"]);
    assert!(v.is_empty(), "the engine imports the GAN crate:\n{}", v.join("\n"));
}

#[test]
fn only_the_backend_files_name_a_backend() {
    let above: Vec<PathBuf> = rust_files("engine/src")
        .into_iter()
        .filter(|p| {
            let rel = p.strip_prefix(root().join("engine/src")).unwrap().to_string_lossy().to_string();
            !(rel.starts_with("cpu/") || rel.starts_with("gpu/") || rel == "storage.rs" || rel == "device.rs")
        })
        .collect();
    let v = violations(
        &above,
        &[
            "crate::cpu",
            "crate::gpu",
            "CpuStorage",
            "GpuStorage",
            "GpuContext",
            "wgpu::",
            "Storage::Cpu",
            "Storage::Gpu",
        ],
    );
    assert!(v.is_empty(), "code above storage.rs names a backend:\n{}", v.join("\n"));
}

#[test]
fn models_metrics_data_and_training_do_not_reach_up() {
    let mut files = Vec::new();
    for d in ["gan/src/models", "gan/src/metrics", "gan/src/data", "gan/src/train"] {
        files.extend(rust_files(d));
    }
    let v = violations(&files, &["crate::experiments", "crate::viz", "crate::bench"]);
    assert!(v.is_empty(), "a lower layer imports a higher one:\n{}", v.join("\n"));
    // Pictures draw what they are given: they never reach into an experiment.
    let v = violations(&rust_files("gan/src/viz"), &["crate::experiments", "crate::bench"]);
    assert!(v.is_empty(), "viz/ imports an experiment:\n{}", v.join("\n"));
}

#[test]
fn every_source_file_states_its_purpose_first() {
    let mut missing = Vec::new();
    for d in ["engine/src", "gan/src", "gan/tests", "tests"] {
        for f in rust_files(d) {
            let first = std::fs::read_to_string(&f).unwrap().lines().next().unwrap_or_default().to_string();
            if !first.starts_with("//!") {
                missing.push(f.strip_prefix(root()).unwrap().display().to_string());
            }
        }
    }
    assert!(missing.is_empty(), "files without a //! purpose line at the top:\n{}", missing.join("\n"));
}

#[test]
fn the_map_names_every_folder_of_the_gan_crate() {
    let map = std::fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    for e in std::fs::read_dir(root().join("gan/src")).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        let entry = if p.is_dir() { format!("`{name}/`") } else { format!("`{name}`") };
        if name == "lib.rs" {
            continue;
        }
        assert!(map.contains(&entry), "ARCHITECTURE.md does not mention gan/src/{name} (as {entry})");
    }
}

#[test]
fn every_model_updates_its_players_one_way() {
    // Each player's step goes through `train::update` (its loss differentiated with respect to
    // its own parameters only), never through `backward()` + `zero_grad()` bookkeeping.
    let v = violations(&rust_files("gan/src/models"), &[".backward()", "zero_grad()", "set_grad("]);
    assert!(v.is_empty(), "a model updates a player another way than train::update:\n{}", v.join("\n"));
    // The training interface knows no model.
    let v = violations(&rust_files("gan/src/train"), &["crate::models"]);
    assert!(v.is_empty(), "train/ imports a model:\n{}", v.join("\n"));
}
