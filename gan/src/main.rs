//! The `minmax` command line.

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "minmax",
    version,
    about = "A workbench for learning and researching GANs"
)]
struct Cli {
    /// Worker threads for the CPU backend (default: all cores).
    #[arg(long, global = true)]
    threads: Option<usize>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Time the reference workloads (matmul, MLP-GAN and DCGAN iterations, conv) on the CPU.
    Bench {
        /// Comma-separated subset of gemm,mlp,dcgan,conv.
        #[arg(long, default_value = "gemm,mlp,dcgan,conv")]
        only: String,
        #[arg(long, default_value_t = 30)]
        reps: usize,
        #[arg(long, default_value_t = 10)]
        warmup: usize,
        /// Stop sampling a workload after this many seconds (once 5 samples exist).
        #[arg(long, default_value_t = 30.0)]
        max_seconds: f64,
    },
}

fn main() {
    let cli = Cli::parse();
    if let Some(t) = cli.threads {
        if t == 0 {
            eprintln!("error: --threads must be at least 1");
            std::process::exit(2);
        }
        rayon::ThreadPoolBuilder::new()
            .num_threads(t)
            .build_global()
            .expect("the thread pool is built once");
    }
    let r = match cli.cmd {
        Cmd::Bench {
            only,
            reps,
            warmup,
            max_seconds,
        } => {
            let only: Vec<String> = only.split(',').map(|s| s.trim().to_string()).collect();
            for k in &only {
                if !["gemm", "mlp", "dcgan", "conv"].contains(&k.as_str()) {
                    eprintln!(
                        "error: --only: unknown workload '{k}' (expected gemm, mlp, dcgan or conv)"
                    );
                    std::process::exit(2);
                }
            }
            minmax_gan::bench::run(&minmax_gan::bench::BenchOpts {
                reps: reps.max(1),
                warmup,
                only,
                max_seconds,
            })
        }
    };
    if let Err(e) = r {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
