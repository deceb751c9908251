//! The `minmax` command line.

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "minmax", version, about = "A workbench for learning and researching GANs")]
struct Cli {
    /// Worker threads for the CPU backend (default: all cores).
    #[arg(long, global = true)]
    threads: Option<usize>,
    #[command(subcommand)]
    cmd: Cmd,
}

/// Options shared by `reproduce` and `train`.
#[derive(clap::Args)]
struct RunArgs {
    /// The experiment to run.
    #[arg(value_parser = ["goodfellow2014"])]
    experiment: String,
    /// A run of one and a half to four minutes on 2 cores: 30 epochs of the 10k subset (for smoke tests and notebooks).
    #[arg(long)]
    quick: bool,
    /// Seed of every random draw (initialisation, batches, noise, dropout, evaluation).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Training epochs (default: about 8,000 minibatches — 16 epochs of full MNIST, 100 of the 10k
    /// subset — or 30 with --quick).
    #[arg(long)]
    epochs: Option<usize>,
    /// Stop after this many SGD steps in total.
    #[arg(long)]
    iterations: Option<u64>,
    /// Data: mnist (full MNIST, from scripts/get-data.sh), mnist-10k, fashion, or a folder of the
    /// four IDX files (default: $MINMAX_MNIST_DIR, else mnist, or mnist-10k with --quick).
    #[arg(long)]
    data: Option<std::path::PathBuf>,
    /// Output folder (default: runs/<experiment>).
    #[arg(long)]
    out: Option<std::path::PathBuf>,
    /// Continue from the checkpoint in the output folder (same settings; a larger --epochs extends the run).
    #[arg(long, conflicts_with = "overwrite")]
    resume: bool,
    /// Replace a run already in the output folder (its files are deleted first).
    #[arg(long)]
    overwrite: bool,
    /// Generator loss: non-saturating (the paper's experiments) or saturating (its analysis).
    #[arg(long, default_value = "non-saturating")]
    g_loss: String,
    /// Device: cpu, gpu (best adapter; MINMAX_ADAPTER=<name part> picks one), gpu:NAME, or auto.
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Generated samples for the Parzen estimate.
    #[arg(long, default_value_t = 10_000)]
    eval_samples: usize,
    /// Evaluate a moving average of G's weights with this decay (0: G as trained, as in the
    /// paper; default 0.9998, or 0.9995 with --quick).
    #[arg(long)]
    ema: Option<f64>,
    /// Optimizer of both players: adam (lr 1e-3, β₁ 0.5; the default) or sgd (the paper's, with
    /// its schedules).
    #[arg(long)]
    optimizer: Option<String>,
    /// Adam's learning rate (default 1e-3); with SGD, the paper's starting rate 0.1 is kept.
    #[arg(long)]
    lr: Option<f64>,
    /// default, or paper: the authors' settings exactly (SGD with their learning-rate decay and
    /// momentum ramp over 250 epochs, G as trained, the simultaneous update).
    #[arg(long, default_value = "default")]
    preset: String,
    /// Algorithm 1's alternating updates: k D updates (each on its own minibatch) per G update.
    /// Without it, D and G are updated together from one minibatch, as in the authors' code.
    #[arg(long)]
    k: Option<usize>,
    /// With Adam: linear (the learning rate falls linearly per epoch, to lr/epochs in the last)
    /// or none (constant).
    #[arg(long, default_value = "none")]
    anneal: String,
    /// No progress bar or progress lines.
    #[arg(long)]
    no_progress: bool,
}

#[derive(Subcommand)]
enum EvalCmd {
    /// Parzen-window log-likelihood of a saved goodfellow2014 checkpoint.
    Parzen {
        /// A checkpoint.safetensors written by `minmax train` or `minmax reproduce`.
        #[arg(long)]
        checkpoint: std::path::PathBuf,
        /// Data: mnist, mnist-10k, fashion, or a folder of IDX files (default as for reproduce).
        #[arg(long)]
        data: Option<std::path::PathBuf>,
        /// Generated samples for the estimate.
        #[arg(long, default_value_t = 10_000)]
        samples: usize,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Where the samples and the result go (default: eval-parzen/ beside the checkpoint; the
        /// run's own samples.npy is never touched).
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    },
}

#[derive(Subcommand)]
enum ExportCmd {
    /// A PyTorch folder: models.py (torch.nn modules), weights.safetensors, optimizer state,
    /// config.json, parity inputs and check_parity.py. Supported: goodfellow2014 and the image GANs.
    Pytorch {
        /// A checkpoint.safetensors written by `minmax train` or `minmax reproduce`.
        #[arg(long)]
        checkpoint: std::path::PathBuf,
        /// The folder to write (made if missing).
        #[arg(long)]
        out: std::path::PathBuf,
        /// Overwrite an export already in --out.
        #[arg(long)]
        force: bool,
        /// Do not copy the run's training images (train_images.npy) into the folder.
        #[arg(long)]
        no_data: bool,
        /// Where the run's training images are (mnist, mnist-10k, fashion or a folder; default:
        /// the source the checkpoint names).
        #[arg(long)]
        data: Option<std::path::PathBuf>,
    },
}

#[derive(Subcommand)]
enum ImportCmd {
    /// A minmax checkpoint from a safetensors file written by the export's `models.save`.
    Pytorch {
        /// The file `models.save` wrote (its metadata, or a config.json beside it, gives the settings).
        #[arg(long)]
        weights: std::path::PathBuf,
        /// The model the file must hold (default: whatever its metadata names).
        #[arg(long)]
        model: Option<String>,
        /// The checkpoint to write.
        #[arg(long)]
        out: std::path::PathBuf,
        /// Overwrite --out if it exists.
        #[arg(long)]
        force: bool,
    },
}

/// The labs: experiments that compare several models and write a report with pictures.
#[derive(Subcommand)]
enum LabCmd {
    /// Mode collapse on 2-D mixtures: vanilla GAN vs WGAN-GP, PacGAN and unrolled GAN.
    ModeCollapse(minmax_gan::experiments::mode_collapse::Args),
    /// Mode collapse on images: DCGAN and PacDCGAN on Stacked-MNIST (1,000 modes).
    StackedMnist(minmax_gan::experiments::stacked_mnist::Args),
    /// Image GANs on MNIST / Fashion-MNIST scored by FID, IS, precision/recall and coverage.
    Images(minmax_gan::experiments::image_gans::Args),
    /// DCGAN on 100, 1,000 and all training images: reconstruction gap and memorisation check.
    Generalization(minmax_gan::experiments::generalization::Args),
    /// A classifier on long-tailed MNIST / Fashion-MNIST: simple fixes against GAN samples.
    Imbalance(minmax_gan::experiments::imbalance::Args),
    /// Image-to-image translation with its paper's ablation: pix2pix on edges → Fashion-MNIST.
    Translate(minmax_gan::experiments::translate::Args),
}

#[derive(Subcommand)]
enum Cmd {
    /// Re-run a paper's experiment end to end: train, evaluate, draw, report.
    Reproduce(RunArgs),
    /// Train only (checkpoints, samples and curves; no evaluation).
    Train(RunArgs),
    /// Evaluate a saved model.
    Eval {
        #[command(subcommand)]
        what: EvalCmd,
    },
    /// Time the reference workloads (matmul, MLP-GAN and DCGAN iterations, conv) on the CPU or a GPU.
    Bench {
        /// Comma-separated subset of gemm,mlp,dcgan,conv,toy.
        #[arg(long, default_value = "gemm,mlp,dcgan,conv,toy")]
        only: String,
        #[arg(long, default_value_t = 30)]
        reps: usize,
        #[arg(long, default_value_t = 10)]
        warmup: usize,
        /// Stop sampling a workload after this many seconds (once 5 samples exist).
        #[arg(long, default_value_t = 30.0)]
        max_seconds: f64,
        /// Device to time: cpu, gpu, gpu:NAME.
        #[arg(long, default_value = "cpu")]
        device: String,
        /// Square matmul sizes for the GPU's GFLOP/s rows (default 1024,2048,4096,8192).
        #[arg(long)]
        gemm_sizes: Option<String>,
        /// Small sizes everywhere, for a GPU emulated on the CPU (lavapipe) or a smoke test.
        #[arg(long)]
        tiny: bool,
    },
    /// Write a model out for another framework (PyTorch).
    Export {
        #[command(subcommand)]
        what: ExportCmd,
    },
    /// Read a model trained in another framework (PyTorch) back into a minmax checkpoint.
    Import {
        #[command(subcommand)]
        what: ImportCmd,
    },
    /// List the GPU adapters this machine has (Vulkan, Metal, DX12) and which one `gpu` picks.
    Devices,
    /// Run a lab: several models on one question, with a report and pictures.
    Lab {
        #[command(subcommand)]
        what: LabCmd,
    },
}

/// `--threads` above this many per core is refused (more only adds switching; thousands fail to start).
const MAX_THREADS_PER_CORE: usize = 8;

fn parse_device(s: &str) -> minmax_engine::Result<minmax_engine::Device> {
    let d = minmax_engine::Device::parse(s).map_err(|e| minmax_engine::Error::msg(format!("--device {s}: {e}")))?;
    if d.is_gpu() {
        eprintln!("device: {d}");
    }
    Ok(d)
}

fn reproduce(a: RunArgs, train_only: bool) -> minmax_engine::Result<()> {
    let device = parse_device(&a.device)?;
    if a.epochs == Some(0) {
        return Err(minmax_engine::Error::msg("--epochs must be at least 1"));
    }
    if a.eval_samples == 0 {
        return Err(minmax_engine::Error::msg("--eval-samples must be at least 1"));
    }
    if a.iterations == Some(0) {
        return Err(minmax_engine::Error::msg(
            "--iterations must be at least 1 (it stops training after that many steps)",
        ));
    }
    use minmax_gan::experiments::goodfellow2014::{Preset, DEFAULT_EMA, QUICK_EMA};
    let preset = Preset::parse(&a.preset)?;
    if preset == Preset::Paper {
        for (flag, given) in
            [("--ema", a.ema.is_some()), ("--optimizer", a.optimizer.is_some()), ("--lr", a.lr.is_some())]
        {
            if given {
                return Err(minmax_engine::Error::msg(format!(
                    "{flag}: --preset paper fixes the optimizer (SGD) and evaluates G as trained; drop {flag} or the preset"
                )));
            }
        }
    }
    if a.k == Some(0) {
        return Err(minmax_engine::Error::msg("--k must be at least 1 (D updates per G update)"));
    }
    minmax_gan::train::interrupt::install();
    let o = minmax_gan::experiments::goodfellow2014::ReproduceOptions {
        quick: a.quick,
        seed: a.seed,
        epochs: a.epochs,
        iterations: a.iterations,
        data: a.data,
        out: a.out.unwrap_or_else(|| std::path::PathBuf::from("runs").join(&a.experiment)),
        resume: a.resume,
        overwrite: a.overwrite,
        g_loss: minmax_gan::models::GeneratorLoss::parse(&a.g_loss)?,
        progress: !a.no_progress,
        eval_samples: a.eval_samples,
        train_only,
        g_ema: if preset == Preset::Paper {
            0.0
        } else {
            a.ema.unwrap_or(if a.quick { QUICK_EMA } else { DEFAULT_EMA })
        },
        optimizer: match minmax_gan::models::goodfellow2014::OptimizerKind::parse(
            a.optimizer.as_deref().unwrap_or("adam"),
        )? {
            minmax_gan::models::goodfellow2014::OptimizerKind::Adam { lr, beta1, beta2 } => {
                let lr = a.lr.unwrap_or(lr);
                if !(lr > 0.0 && lr.is_finite()) {
                    return Err(minmax_engine::Error::msg(format!("--lr {lr}: expected a positive learning rate")));
                }
                minmax_gan::models::goodfellow2014::OptimizerKind::Adam { lr, beta1, beta2 }
            }
            sgd if a.lr.is_none() => sgd,
            _ => {
                return Err(minmax_engine::Error::msg(
                    "--lr is Adam's; SGD runs the paper's schedule from 0.1 (drop --lr or use --optimizer adam)",
                ))
            }
        },
        device,
        k: a.k,
        preset,
        anneal: match a.anneal.as_str() {
            "linear" => true,
            "none" => false,
            x => return Err(minmax_engine::Error::msg(format!("--anneal: '{x}' (expected linear or none)"))),
        },
    };
    if !(0.0..1.0).contains(&o.g_ema) {
        return Err(minmax_engine::Error::msg(format!("--ema {}: the decay must be in [0, 1)", o.g_ema)));
    }
    let r = minmax_gan::experiments::goodfellow2014::run(&o)?;
    if let Some(ev) = &r.eval {
        minmax_gan::experiments::goodfellow2014::print_table(ev, &r.cfg);
        println!("report: {}", r.out.join("report.md").display());
    } else {
        println!("checkpoint and pictures: {}", r.out.display());
    }
    println!("wall time: {:.0} s", r.wall_seconds);
    Ok(())
}

fn eval_parzen(
    checkpoint: &std::path::Path,
    data: Option<std::path::PathBuf>,
    samples: usize,
    seed: u64,
    out: Option<std::path::PathBuf>,
) -> minmax_engine::Result<()> {
    use minmax_gan::models::goodfellow2014 as gf;
    if samples == 0 {
        return Err(minmax_engine::Error::msg("--samples must be at least 1"));
    }
    minmax_gan::experiments::goodfellow2014::check_sample_memory("--samples", samples, 28 * 28)?;
    if !checkpoint.is_file() {
        return Err(minmax_engine::Error::file(checkpoint, "--checkpoint: no such file"));
    }
    let splits = minmax_gan::data::load_mnist(&minmax_gan::experiments::goodfellow2014::data_source(&data, false))?;
    // The model is rebuilt from the configuration saved in the checkpoint (optimizer, --ema, sizes).
    let (gan, epoch) = gf::from_checkpoint(checkpoint, &splits.train.pixel_means())?;
    let out = out.unwrap_or_else(|| checkpoint.parent().unwrap_or(std::path::Path::new(".")).join("eval-parzen"));
    std::fs::create_dir_all(&out).map_err(|e| {
        minmax_engine::Error::file(&out, format!("the output folder (--out) could not be created: {e}"))
    })?;
    let ev = minmax_gan::experiments::goodfellow2014::evaluate(
        &gan,
        &splits,
        samples,
        &mut minmax_engine::Generator::new(seed),
        &out,
        true,
    )?;
    println!("checkpoint {} (epoch {epoch})", checkpoint.display());
    minmax_gan::experiments::goodfellow2014::print_table(&ev, &gan.cfg);
    println!("samples: {}", out.join("samples.npy").display());
    Ok(())
}

fn parse_sizes(s: &str) -> Result<Vec<usize>, String> {
    s.split(',')
        .map(|x| x.trim().parse::<usize>().ok().filter(|&n| n > 0).ok_or(format!("'{x}' is not a positive size")))
        .collect()
}

fn devices() -> minmax_engine::Result<()> {
    let all = minmax_engine::gpu::list_adapters();
    if all.is_empty() {
        println!("{}", minmax_engine::gpu::NO_ADAPTER_HELP);
    }
    for a in &all {
        println!("adapter: {a}");
    }
    match minmax_engine::Device::gpu(None) {
        Ok(d) => println!("--device gpu uses: {d}"),
        Err(e) => println!("--device gpu: {e}"),
    }
    Ok(())
}

fn main() {
    minmax_engine::cpu::keep_freed_memory(); // reuse freed tensor memory across training steps
    let cli = Cli::parse();
    if let Some(t) = cli.threads {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        let max = MAX_THREADS_PER_CORE * cores;
        if t == 0 || t > max {
            eprintln!(
                "error: --threads {t}: expected 1 to {max} ({MAX_THREADS_PER_CORE} per core; this machine has {cores} cores)"
            );
            std::process::exit(2);
        }
    }
    // One pool for the whole command, and the command itself runs on one of its threads: a
    // parallel loop started from outside the pool hands its work over and puts the calling thread
    // to sleep until it is done, two thread wake-ups per kernel, which on a small training step
    // cost more than the kernels (measured: `minmax bench` before and after). The pool's threads
    // get the main thread's stack size.
    let mut pool = rayon::ThreadPoolBuilder::new().stack_size(8 << 20);
    if let Some(t) = cli.threads {
        pool = pool.num_threads(t);
    }
    if let Err(e) = pool.build_global() {
        match cli.threads {
            Some(t) => eprintln!("error: --threads {t}: the thread pool could not be started: {e}"),
            None => eprintln!("error: the thread pool could not be started: {e}"),
        }
        std::process::exit(2);
    }
    let r = rayon::scope(move |_| match cli.cmd {
        Cmd::Lab { what: LabCmd::ModeCollapse(a) } => minmax_gan::experiments::mode_collapse::main(a),
        Cmd::Lab { what: LabCmd::StackedMnist(a) } => minmax_gan::experiments::stacked_mnist::main(a),
        Cmd::Lab { what: LabCmd::Images(a) } => minmax_gan::experiments::image_gans::main(a),
        Cmd::Lab { what: LabCmd::Generalization(a) } => minmax_gan::experiments::generalization::main(a),
        Cmd::Lab { what: LabCmd::Imbalance(a) } => minmax_gan::experiments::imbalance::main(a),
        Cmd::Lab { what: LabCmd::Translate(a) } => minmax_gan::experiments::translate::main(a),
        Cmd::Reproduce(a) => reproduce(a, false),
        Cmd::Train(a) => reproduce(a, true),
        Cmd::Export { what: ExportCmd::Pytorch { checkpoint, out, force, no_data, data } } => {
            minmax_gan::export::export_pytorch(&checkpoint, &out, force, no_data, data.as_deref()).map(|files| {
                files.iter().for_each(|f| println!("wrote {}", f.display()));
                println!("check it: python {}", out.join("check_parity.py").display());
            })
        }
        Cmd::Import { what: ImportCmd::Pytorch { weights, model, out, force } } => {
            minmax_gan::export::import_pytorch(&weights, model.as_deref(), &out, force).map(|()| {
                println!("wrote {} (score it: minmax eval parzen --checkpoint {})", out.display(), out.display())
            })
        }
        Cmd::Eval { what: EvalCmd::Parzen { checkpoint, data, samples, seed, out } } => {
            eval_parzen(&checkpoint, data, samples, seed, out)
        }
        Cmd::Devices => devices(),
        Cmd::Bench { only, reps, warmup, max_seconds, device, gemm_sizes, tiny } => {
            let only: Vec<String> = only.split(',').map(|s| s.trim().to_string()).collect();
            for k in &only {
                if !["gemm", "mlp", "dcgan", "conv", "toy"].contains(&k.as_str()) {
                    eprintln!("error: --only: unknown workload '{k}' (expected gemm, mlp, dcgan, conv or toy)");
                    std::process::exit(2);
                }
            }
            if !(max_seconds.is_finite() && max_seconds > 0.0) {
                eprintln!("error: --max-seconds {max_seconds}: expected a positive number of seconds");
                std::process::exit(2);
            }
            let sizes = match gemm_sizes.as_deref().map(parse_sizes).transpose() {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("error: --gemm-sizes: {e}");
                    std::process::exit(2);
                }
            };
            parse_device(&device).and_then(|device| {
                minmax_gan::bench::run(&minmax_gan::bench::BenchOpts {
                    reps: reps.max(1),
                    warmup,
                    only,
                    max_seconds,
                    device,
                    gemm_sizes: sizes,
                    tiny,
                })
            })
        }
    });
    if let Err(e) = r {
        eprintln!("error: {e}");
        // 130 = stopped by Ctrl-C (as a shell reports it), after the checkpoint was written.
        std::process::exit(if minmax_gan::train::interrupt::requested() { 130 } else { 1 });
    }
}
