//! Moving a model to PyTorch and back: `minmax export pytorch` and `minmax import pytorch`.
//!
//! minmax is where a GAN is learned and prototyped; when it needs many GPUs, PyTorch is the engine
//! to continue in. An export folder holds everything PyTorch needs, nothing from minmax:
//!
//! ```text
//! models.py              torch.nn modules for G and D (same layers, parameter names and order,
//!                        noise, initialisation, optimizers and schedules as minmax's)
//! weights.safetensors    G and D in their state_dict names (generator.l1.weight, …): [out, in]
//!                        matrices, minmax's own layout, so nothing is transposed
//! optimizer.safetensors  the optimizers' state under minmax's names (opt_g.m.3, opt_g.velocity.3)
//! config.json            the checkpoint's metadata (settings, epoch, step, seed, data, history)
//! parity.safetensors     inputs and minmax's outputs on them: z, G(z), x, D(x) logits
//! check_parity.py        recomputes those outputs in PyTorch and fails above 1e-5 relative
//! train_ddp.py           continues training under torchrun with DistributedDataParallel
//! train_images.npy       the run's own training split, [N, 784] in [0, 1] (not with `no_data`)
//! README.md              the commands
//! ```
//!
//! `import` reads one safetensors file as `models.save` writes it (both nets, optimizer state and
//! the metadata) and writes a minmax checkpoint that `minmax eval parzen` scores. The image GANs
//! (which share one G and one D) export their nets, weights, running statistics, config.json and
//! a parity check in eval and training mode (no optimizer state and no DDP script yet), and
//! import back. Other checkpoints are refused with the list of what is supported.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use minmax_engine::nn::Module;
use minmax_engine::{Error, Generator as Rng, Result, Tensor};

use crate::models::goodfellow2014 as gf;

const MODELS_PY: &str = include_str!("goodfellow2014_models.py");
const CHECK_PY: &str = include_str!("goodfellow2014_check_parity.py");
const TRAIN_DDP_PY: &str = include_str!("goodfellow2014_train_ddp.py");
const IMAGES_MODELS_PY: &str = include_str!("images_models.py");
const IMAGES_CHECK_PY: &str = include_str!("images_check_parity.py");

/// Models that can be exported (the `model` metadata of their checkpoints): the 2014 GAN, and the
/// image GANs of `models/images`, which share one G and one D.
pub const SUPPORTED: &[&str] = &["goodfellow2014", "dcgan", "conditional-dcgan", "loss-sensitive", "wgan-gp"];

/// Files an export writes, in the order they are written.
pub const EXPORT_FILES: &[&str] = &[
    "models.py",
    "weights.safetensors",
    "optimizer.safetensors",
    "config.json",
    "parity.safetensors",
    "check_parity.py",
    "train_ddp.py",
    "train_images.npy",
    "README.md",
];

/// Rows of the parity inputs.
const PARITY_ROWS: usize = 16;

/// Write `text` to `out/name`; returns the path.
fn write_text(out: &Path, name: &str, text: &str) -> Result<PathBuf> {
    let p = out.join(name);
    std::fs::write(&p, text).map_err(|e| Error::Io { path: p.clone(), source: e })?;
    Ok(p)
}

/// Pixels per image of a 2014-GAN checkpoint: the rows of G's output layer.
fn pixels_of(path: &Path, tensors: &[(String, Tensor)]) -> Result<usize> {
    tensors
        .iter()
        .find(|(n, _)| n == "generator.l3.weight")
        .map(|(_, t)| t.shape()[0])
        .ok_or_else(|| Error::file(path, "no tensor 'generator.l3.weight'"))
}

fn model_of(path: &Path, meta: &HashMap<String, String>) -> Result<String> {
    let m = meta.get("model").ok_or_else(|| {
        Error::file(
            path,
            format!("no 'model' metadata: not a checkpoint written by minmax (supported: {})", SUPPORTED.join(", ")),
        )
    })?;
    if !SUPPORTED.contains(&m.as_str()) {
        return Err(Error::file(
            path,
            format!("model '{m}' cannot be exported to PyTorch yet (supported: {})", SUPPORTED.join(", ")),
        ));
    }
    Ok(m.clone())
}

/// Write the export folder `out` for the checkpoint `checkpoint`. Refuses a folder that already
/// holds an export unless `force`. The training images are the run's own split, from `data` (a
/// name or folder, as `--data` of `minmax train`) or else from the source the checkpoint's `data`
/// metadata describes; with `no_data` they are not copied (then `train_ddp.py --images` names them).
pub fn export_pytorch(
    checkpoint: &Path,
    out: &Path,
    force: bool,
    no_data: bool,
    data: Option<&Path>,
) -> Result<Vec<PathBuf>> {
    if !checkpoint.is_file() {
        return Err(Error::file(checkpoint, "--checkpoint: no such file"));
    }
    let (tensors, meta) = minmax_engine::io::load_safetensors(checkpoint)?;
    let model = model_of(checkpoint, &meta)?;
    crate::metrics::ensure_finite_tensors(checkpoint, &tensors)?;
    if !force {
        if let Some(f) = EXPORT_FILES.iter().map(|f| out.join(f)).find(|p| p.exists()) {
            return Err(Error::file(&f, "--out already holds an export; pass --force to overwrite it"));
        }
    }
    std::fs::create_dir_all(out).map_err(|e| Error::Io { path: out.to_path_buf(), source: e })?;
    if model != "goodfellow2014" {
        if data.is_some() {
            return Err(Error::msg(format!(
                "--data: a {model} export holds no training images (only goodfellow2014's does)"
            )));
        }
        return export_image_gan(checkpoint, out, &model, &tensors);
    }

    // The nets as the checkpoint holds them, rebuilt by minmax for the parity outputs.
    let pixels = pixels_of(checkpoint, &tensors)?;
    let (mut gan, epoch) = gf::from_checkpoint(checkpoint, &vec![0.5; pixels])?;
    let write = |name: &str, text: &str| write_text(out, name, text);
    let mut written = vec![write("models.py", MODELS_PY)?];

    let nets: Vec<(String, Tensor)> = tensors
        .iter()
        .filter(|(n, _)| {
            n.starts_with("generator.") || n.starts_with("discriminator.") || n.starts_with("generator_avg.")
        })
        .cloned()
        .collect();
    let opt: Vec<(String, Tensor)> =
        tensors.iter().filter(|(n, _)| n.starts_with("opt_g.") || n.starts_with("opt_d.")).cloned().collect();
    let p = out.join("weights.safetensors");
    minmax_engine::io::save_safetensors(&p, &nets, None)?;
    written.push(p);
    let p = out.join("optimizer.safetensors");
    minmax_engine::io::save_safetensors(&p, &opt, None)?;
    written.push(p);
    let meta_json: serde_json::Map<String, serde_json::Value> =
        meta.iter().map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone()))).collect();
    written.push(write("config.json", &serde_json::to_string_pretty(&meta_json).expect("strings serialise"))?);

    // Parity: fixed inputs (seed 0) and minmax's outputs on them, in f32 on the CPU; then one
    // training step (the simultaneous update, dropout off) and every weight after it.
    let mut rng = Rng::new(0);
    let z = gf::sample_z(PARITY_ROWS, gan.cfg.z_dim, &mut rng);
    let x = Tensor::rand(&[PARITY_ROWS, pixels], 0.0, 1.0, &mut rng);
    let (g_z, d_x) = minmax_engine::no_grad(|| Ok((gan.g.forward(&z)?, gan.d.logits(&x, None)?)))?;
    let mut parity = vec![("z".into(), z), ("g_z".into(), g_z), ("x".into(), x.clone()), ("d_logits".into(), d_x)];
    // The step draws its noise first from `step_rng`: the same draw, taken from a copy, is stored.
    let mut step_rng = Rng::new(1);
    let step_z = gf::sample_z(PARITY_ROWS, gan.cfg.z_dim, &mut step_rng.clone());
    (gan.d.keep_input, gan.d.keep_hidden) = (1.0, 1.0);
    gan.start_epoch(epoch + 1);
    {
        use crate::train::Gan as _;
        gan.train_step(&x, &mut step_rng)?;
    }
    parity.push(("step.z".into(), step_z));
    parity.push(("step.lr".into(), Tensor::new(vec![gan.opt_g.lr()], &[1])?));
    parity.push(("step.momentum".into(), Tensor::new(vec![gan.opt_g.momentum()], &[1])?));
    parity.extend(minmax_engine::nn::prefixed("step.generator", gan.g.named_parameters()));
    parity.extend(minmax_engine::nn::prefixed("step.discriminator", gan.d.named_parameters()));
    if let Some(avg) = &gan.g_avg {
        parity.push(("step.generator_avg.l3.weight".into(), avg.l3.weight.clone()));
    }
    let p = out.join("parity.safetensors");
    minmax_engine::io::save_safetensors(&p, &parity, None)?;
    written.push(p);
    written.push(write("check_parity.py", CHECK_PY)?);
    written.push(write("train_ddp.py", TRAIN_DDP_PY)?);
    if !no_data {
        // The training split the run was trained on, loaded as `minmax train` loads it.
        let desc = meta.get("data").cloned().unwrap_or_default();
        let source = match data {
            Some(d) => crate::data::MnistSource::named(&d.to_string_lossy()),
            None => crate::experiments::goodfellow2014::source_of_description(&desc).ok_or_else(|| {
                Error::file(
                    checkpoint,
                    format!("the run's data '{desc}' is not a known source; pass --data or --no-data"),
                )
            })?,
        };
        let splits = crate::data::load_mnist(&source).map_err(|e| {
            Error::file(checkpoint, format!("the run's data could not be loaded ({e}); pass --data or --no-data"))
        })?;
        let (images, _) = splits.train.to_tensors()?;
        let p = out.join("train_images.npy");
        crate::data::npy::write_npy(&p, &images)?;
        written.push(p);
    }
    written.push(write("README.md", &readme(checkpoint, &meta))?);
    Ok(written)
}

/// What an image-GAN checkpoint's tensors say about its nets: (noise dim, classes, D has batch norm).
fn image_gan_shape(path: &Path, tensors: &[(String, Tensor)]) -> Result<(usize, usize, bool)> {
    let shape = |name: &str| {
        tensors
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, t)| t.shape().to_vec())
            .ok_or_else(|| Error::file(path, format!("no tensor '{name}'")))
    };
    let classes = shape("discriminator.c1.weight")?[1] - 1;
    let inputs = shape("generator.fc.weight")?[1];
    if inputs <= classes {
        return Err(Error::file(path, format!("G reads {inputs} inputs but D sees {classes} label planes")));
    }
    Ok((inputs - classes, classes, tensors.iter().any(|(n, _)| n == "discriminator.bn.weight")))
}

/// A fresh image GAN of `model` with the checkpoint's noise dim, its weights copied from
/// `tensors` (read from `path`): every tensor of the model must be there with its shape, and
/// nothing else may be (the model name was checked by the caller, from the file's metadata or
/// the config.json beside it).
fn load_image_gan(
    path: &Path,
    model: &str,
    z_dim: usize,
    tensors: &[(String, Tensor)],
) -> Result<Box<dyn crate::models::images::ImageGan>> {
    use crate::models::images as im;
    let gan = im::Model::parse(model)?.build(z_dim, &mut Rng::new(0), &minmax_engine::Device::Cpu)?;
    let want = im::state_dict(gan.as_ref());
    minmax_engine::io::copy_named(path, tensors, &want)?;
    if let Some((extra, _)) = tensors.iter().find(|(n, _)| !want.iter().any(|(w, _)| w == n)) {
        return Err(Error::file(path, format!("tensor '{extra}' is not part of a {model} model")));
    }
    Ok(gan)
}

fn export_image_gan(checkpoint: &Path, out: &Path, model: &str, tensors: &[(String, Tensor)]) -> Result<Vec<PathBuf>> {
    let (z_dim, classes, d_bn) = image_gan_shape(checkpoint, tensors)?;
    let gan = load_image_gan(checkpoint, model, z_dim, tensors)?;
    let write = |name: &str, text: &str| write_text(out, name, text);
    let mut written = vec![write("models.py", IMAGES_MODELS_PY)?];
    let p = out.join("weights.safetensors");
    minmax_engine::io::save_safetensors(&p, tensors, None)?;
    written.push(p);
    let meta = serde_json::json!({
        "model": model, "z_dim": z_dim.to_string(), "classes": classes.to_string(),
        "d_batch_norm": d_bn.to_string(), "exported_from": checkpoint.display().to_string(),
    });
    written.push(write("config.json", &serde_json::to_string_pretty(&meta).expect("strings serialise"))?);

    // Parity: G and D on fixed inputs, eval mode first (running statistics), then training mode
    // (batch statistics; these forwards move minmax's running statistics, which are not saved).
    let mut rng = Rng::new(0);
    let z = Tensor::randn(&[PARITY_ROWS, z_dim], &mut rng);
    let x = Tensor::rand(&[PARITY_ROWS, 1, 28, 28], -1.0, 1.0, &mut rng);
    let labels = (classes > 0)
        .then(|| Tensor::new((0..PARITY_ROWS).map(|i| (i % classes) as i64).collect::<Vec<_>>(), &[PARITY_ROWS]))
        .transpose()?;
    let mut parity = vec![("z".into(), z.clone()), ("x".into(), x.clone())];
    if let Some(l) = &labels {
        parity.push(("labels".into(), l.clone()));
    }
    let (g, d) = (gan.generator(), gan.discriminator());
    for (mode, on) in [("eval", false), ("train", true)] {
        g.set_training(on);
        d.set_training(on);
        let (gz, dx) =
            minmax_engine::no_grad(|| Ok((g.generate(&z, labels.as_ref())?, d.score(&x, labels.as_ref())?)))?;
        parity.push((format!("{mode}.g_z"), gz));
        parity.push((format!("{mode}.d_logits"), dx));
    }
    let p = out.join("parity.safetensors");
    minmax_engine::io::save_safetensors(&p, &parity, None)?;
    written.push(p);
    written.push(write("check_parity.py", IMAGES_CHECK_PY)?);
    written.push(write(
        "README.md",
        &format!(
            "# {model} exported from minmax\n\nFrom `{}`: noise dim {z_dim}, {classes} classes, batch norm in D: {d_bn}.\n\n\
             ```bash\n\
             python check_parity.py     # PyTorch's G and D against minmax's outputs, eval and training mode (fails above 1e-5)\n\
             ```\n\n\
             After training in PyTorch: `models.save(\"trained.safetensors\", G, D, meta)`, then\n\
             `minmax import pytorch --weights trained.safetensors --out checkpoint.safetensors`.\n\
             No DDP training script is written for the image GANs yet (the 2014 GAN has one).\n",
            checkpoint.display()
        ),
    )?);
    Ok(written)
}

fn readme(checkpoint: &Path, meta: &HashMap<String, String>) -> String {
    let get = |k: &str| meta.get(k).cloned().unwrap_or_else(|| "?".into());
    format!(
        "# {model} exported from minmax\n\n\
         From `{ck}` (epoch {epoch}, step {step}, seed {seed}, data `{data}`).\n\n\
         Needs Python with `torch`, `numpy` and `safetensors`.\n\n\
         ```bash\n\
         python check_parity.py                 # PyTorch's G and D against minmax's outputs (fails above 1e-5)\n\
         torchrun --standalone --local-addr 127.0.0.1 --nproc_per_node 2 train_ddp.py --steps 200 --out trained.safetensors   # DDP, gloo on the CPU\n\
         python -c 'import models; G, D, G_avg, opt_g, opt_d, meta = models.load(\".\"); print(G, D)'\n\
         ```\n\n\
         Back to minmax, after training in PyTorch and saving with `models.save(\"trained.safetensors\", G, D, opt_g, opt_d, meta, G_avg)`:\n\n\
         ```bash\n\
         minmax import pytorch --weights trained.safetensors --out checkpoint.safetensors\n\
         minmax eval parzen --checkpoint checkpoint.safetensors\n\
         ```\n\n\
         Weights are [out, in] (nn.Linear's layout, also minmax's). Maxout groups consecutive\n\
         features (unit i = max of features i·pieces … i·pieces + pieces − 1). z ~ U(−√3, √3).\n\
         The optimizer state keeps minmax's names (`opt_g.m.3`: Adam's exp_avg of G's 4th parameter,\n\
         `opt_g.v.3` its exp_avg_sq, `opt_g.step.3` its step; `opt_g.velocity.3`: SGD's momentum buffer);\n\
         `models.load` puts it into torch.optim's state.\n",
        model = get("model"),
        ck = checkpoint.display(),
        epoch = get("epoch"),
        step = get("step"),
        seed = get("seed"),
        data = get("data"),
    )
}

/// Read `weights` (written by `models.save`: both nets, optimizer state, minmax's metadata) and
/// write the minmax checkpoint `out`. The metadata may instead come from a `config.json` beside
/// `weights`. Every tensor of the model must be present with minmax's shape; extra ones are errors.
pub fn import_pytorch(weights: &Path, model: Option<&str>, out: &Path, force: bool) -> Result<()> {
    if !weights.is_file() {
        return Err(Error::file(weights, "--weights: no such file"));
    }
    if out.exists() && !force {
        return Err(Error::file(out, "--out exists; pass --force to overwrite it"));
    }
    let (tensors, mut meta) = minmax_engine::io::load_safetensors(weights)?;
    if !meta.contains_key("config") {
        let cj = weights.parent().unwrap_or(Path::new(".")).join("config.json");
        let text = std::fs::read_to_string(&cj).map_err(|_| {
            Error::file(weights, format!("no minmax metadata in the file and no {} beside it", cj.display()))
        })?;
        let v: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| Error::file(&cj, format!("not valid JSON ({e})")))?;
        let obj = v.as_object().ok_or_else(|| Error::file(&cj, "expected a JSON object"))?;
        for (k, v) in obj {
            meta.insert(k.clone(), v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()));
        }
    }
    let found = model_of(weights, &meta)?;
    if let Some(m) = model {
        if m != found {
            return Err(Error::file(weights, format!("--model {m}, but the file's metadata says '{found}'")));
        }
    }
    crate::metrics::ensure_finite_tensors(weights, &tensors)?;
    if found != "goodfellow2014" {
        // Every tensor of the model must be in the file with its shape (load checks both).
        let (z_dim, _, _) = image_gan_shape(weights, &tensors)?;
        let gan = load_image_gan(weights, &found, z_dim, &tensors)?;
        return crate::models::images::save(gan.as_ref(), out);
    }

    // A fresh model of the saved settings names every tensor a checkpoint must hold.
    let cfg = gf::checkpoint_config(weights, &meta)?;
    let pixels = pixels_of(weights, &tensors)?;
    let fresh = gf::Gan::new(cfg, &vec![0.5; pixels], 0)?;
    let nets = {
        use crate::train::Gan as _;
        fresh.state_dict()
    };
    let given: HashMap<&str, &Tensor> = tensors.iter().map(|(n, t)| (n.as_str(), t)).collect();
    let mut state = Vec::new();
    for (name, want) in nets.iter().filter(|(n, _)| !n.starts_with("opt_")) {
        let t = given.get(name.as_str()).ok_or_else(|| Error::file(weights, format!("tensor '{name}' is missing")))?;
        if t.shape() != want.shape() {
            return Err(Error::file(
                weights,
                format!("tensor '{name}' has shape {:?}, the model's is {:?}", t.shape(), want.shape()),
            ));
        }
        state.push((name.clone(), t.to_dtype(want.dtype())?));
    }
    for (name, t) in &tensors {
        if name.starts_with("opt_g.") || name.starts_with("opt_d.") {
            state.push((name.clone(), (*t).clone()));
        } else if !state.iter().any(|(n, _)| n == name) {
            return Err(Error::file(weights, format!("tensor '{name}' is not part of a {found} model")));
        }
    }
    meta.insert("imported_from".into(), weights.display().to_string());
    meta.remove("partial_epoch");
    minmax_engine::io::save_safetensors(out, &state, Some(meta))?;
    // Read it back as `eval` will: a file that does not load is not left behind as if it were good.
    if let Err(e) = gf::from_checkpoint(out, &vec![0.5; pixels]) {
        let _ = std::fs::remove_file(out);
        return Err(e);
    }
    Ok(())
}
