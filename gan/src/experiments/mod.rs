//! Experiments: the paper reproduction and the labs. Each runs its models on one question and
//! writes a report (Markdown and JSON) with pictures.
//!
//! - [`goodfellow2014`]: `minmax reproduce goodfellow2014` — the 2014 paper's MNIST experiment end
//!   to end (training, model selection, Parzen-window evaluation next to Table 1, figures)
//! - [`mode_collapse`]: the vanilla GAN and its remedies (WGAN-GP, PacGAN, unrolled GAN) on 2-D
//!   mixtures of Gaussians, scored by modes covered and % high-quality samples
//!   (`minmax lab mode-collapse`; its pictures are in `viz::mode_collapse`)
//! - [`stacked_mnist`]: mode collapse on images — DCGAN and PacDCGAN on Stacked-MNIST (1,000
//!   modes), counted by classifying each channel (`minmax lab stacked-mnist`)
//! - [`image_gans`]: the convolutional GANs on MNIST and Fashion-MNIST, scored during training by
//!   FID, Inception Score, precision/recall and class coverage next to real data
//!   (`minmax lab images`)
//! - [`generalization`]: DCGAN trained on 100, 1,000 and all training images; reconstruction
//!   error of training vs test images and a nearest-neighbour memorisation check
//!   (`minmax lab generalization`)
//! - [`imbalance`]: a classifier on a long-tailed MNIST / Fashion-MNIST training set, with the
//!   simple fixes (oversampling, class weights, logit adjustment, SMOTE) against GAN samples
//!   (conditional fill-up, All-in-one, Pseudo-label, LSRO) (`minmax lab imbalance`)
//! - [`translate`]: image-to-image translation with its paper's ablation — pix2pix on edges →
//!   Fashion-MNIST, scored by classifier accuracy, FID, L1, PSNR and SSIM (`minmax lab translate`)

pub mod generalization;
pub mod goodfellow2014;
pub mod image_gans;
pub mod imbalance;
pub mod mode_collapse;
pub mod stacked_mnist;
pub mod translate;

use minmax_engine::{Device, Error, Result};

/// The flags every image lab takes (`#[command(flatten)]` in each lab's `Args`).
#[derive(clap::Args, Clone, Debug)]
pub struct CommonArgs {
    /// Seed of every random draw (data subsets, initialisation, batches, noise, searches).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[command(flatten)]
    pub run: RunArgs,
}

/// Where a lab runs and how much it says: the flags of [`CommonArgs`] that the mode-collapse lab
/// (which takes a number of seeds instead of one) shares too.
#[derive(clap::Args, Clone, Debug)]
pub struct RunArgs {
    /// Device: cpu, gpu (best adapter), gpu:NAME, or auto.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// No progress lines.
    #[arg(long)]
    pub no_progress: bool,
}

impl RunArgs {
    /// `--device`, parsed; the error names the flag.
    pub fn device(&self) -> Result<Device> {
        parse_device(&self.device)
    }
}

/// A lab's entry point around its run: names a GPU device on stderr, then prints the report
/// (`run` returns its Markdown) and the folder that holds it and the pictures.
pub fn run_lab(device: &Device, out: &std::path::Path, run: impl FnOnce() -> Result<String>) -> Result<()> {
    if device.is_gpu() {
        eprintln!("device: {device}");
    }
    let markdown = run()?;
    println!("{markdown}");
    println!("report and pictures: {}", out.display());
    Ok(())
}

/// Write a lab's `report.md` and `report.json` into `out`, each atomically.
pub fn write_report(out: &std::path::Path, markdown: &str, json: &serde_json::Value) -> Result<()> {
    minmax_engine::io::write_atomic(&out.join("report.md"), markdown.as_bytes())?;
    let js = serde_json::to_string_pretty(json).map_err(|e| Error::msg(format!("report.json: {e}")))?;
    minmax_engine::io::write_atomic(&out.join("report.json"), js.as_bytes())
}

/// A count flag's value, refused when 0; the error names the flag.
pub fn positive(flag: &str, v: usize) -> Result<usize> {
    if v == 0 {
        Err(Error::msg(format!("{flag} 0: must be at least 1")))
    } else {
        Ok(v)
    }
}

/// `--device`: cpu, gpu, gpu:NAME or auto; the error names the flag.
pub fn parse_device(s: &str) -> Result<Device> {
    Device::parse(s).map_err(|e| Error::msg(format!("--device {s}: {e}")))
}
