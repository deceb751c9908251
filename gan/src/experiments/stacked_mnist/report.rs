//! The Stacked-MNIST lab's report: modes covered and KL per model (mean ± standard error over
//! seeds), the floor of real stacked digits, the published rows with their sources, and the JSON.

use super::*;

/// What the report says besides the per-model rows.
pub struct Context {
    /// Real stacked test digits, counted like the samples.
    pub floor: StackedModes,
    /// Share of those real images whose three digits the classifier all got right.
    pub mode_accuracy: f64,
    pub classifier_accuracy: f64,
    pub classifier_path: PathBuf,
    pub train_digits: usize,
    pub test_digits: usize,
    pub wall_seconds: f64,
}

/// A published row: (source, model, modes, KL).
pub struct Published {
    pub source: &'static str,
    pub model: &'static str,
    /// Our model it compares with.
    pub ours: &'static str,
    pub modes: &'static str,
    pub kl: &'static str,
}

/// VEEGAN's Table 2 (Srivastava et al. 2017, reprinted in PacGAN's table of its VEEGAN-setup
/// experiment) and PacGAN's own row for PacDCGAN2 in that setup (Lin et al. 2018). Their nets
/// (DCGAN-tensorflow's four-layer D and G), training length and noise differ from ours (see the
/// settings paragraph of the report).
pub const PUBLISHED: &[Published] = &[
    Published { source: "VEEGAN Table 2", model: "DCGAN", ours: "dcgan", modes: "99", kl: "3.40" },
    Published { source: "VEEGAN Table 2", model: "Unrolled GAN", ours: "—", modes: "48.7", kl: "4.32" },
    Published { source: "VEEGAN Table 2", model: "VEEGAN", ours: "—", modes: "150", kl: "2.95" },
    Published {
        source: "PacGAN (VEEGAN's setup)",
        model: "PacDCGAN2",
        ours: "pacdcgan2",
        modes: "1000.0 ± 0.0",
        kl: "0.06 ± 0.01",
    },
];

fn pm(v: (f64, f64), digits: usize) -> String {
    format!("{:.*} ± {:.*}", digits, v.0, digits, v.1)
}

pub fn markdown(sums: &[Summary], o: &Options, c: &Context) -> String {
    let mut s = String::from("# Stacked-MNIST: mode collapse on images\n\n");
    s.push_str(&format!(
        "Each image stacks three MNIST digits as its channels (1,000 modes: the digit triples), drawn \
         uniformly from the {} training digits. {} samples per run; each channel is classified by the \
         project's MNIST classifier ({:.2} % on the {} test digits; {}); a mode is covered if at least \
         one sample falls in it; KL = KL(p̂ ‖ U₁₀₀₀) of the samples' mode histogram (PacGAN's code). \
         Mean ± standard error over seeds.\n\n",
        c.train_digits,
        o.samples,
        100.0 * c.classifier_accuracy,
        c.test_digits,
        c.classifier_path.display()
    ));
    s.push_str("| model | D width | steps | seeds | modes (of 1000) | KL(p̂‖U) | s/run | published: modes / KL |\n|---|---:|---:|---:|---:|---:|---:|---|\n");
    s.push_str(&format!(
        "| real stacked test digits (floor) | — | — | — | {} | {:.3} | — | — |\n",
        c.floor.modes_covered, c.floor.kl
    ));
    for x in sums {
        let width = parse_model(&x.model).map(|(_, w)| w).unwrap_or(0);
        let published: Vec<String> = PUBLISHED
            .iter()
            .filter(|p| x.model == p.ours)
            .map(|p| format!("{} {}: {} / {}", p.source, p.model, p.modes, p.kl))
            .collect();
        s.push_str(&format!(
            "| {} | {width} | {} | {} | {} | {} | {:.0} | {} |\n",
            x.model,
            x.steps,
            x.seeds,
            pm(x.modes, 1),
            pm(x.kl, 3),
            x.seconds_per_run,
            if published.is_empty() { "—".to_string() } else { published.join("; ") }
        ));
    }
    s.push_str(&format!(
        "\nThe floor row counts {} stacked *test* digits the same way: {:.1} % of them have all three \
         digits classified right, so a perfect generator scores about that.\n\n",
        o.samples,
        100.0 * c.mode_accuracy
    ));
    s.push_str(&format!(
        "Settings: G and D are this project's DCGAN (`models/images/dcgan.rs`: G z ~ N(0, I₁₀₀) → 6272 → \
         [128, 7, 7] → ConvT [64, 14, 14] → ConvT [3, 28, 28], batch norm and ReLU, tanh out; D Conv 4×4 s2 \
         [W, 14, 14] → Conv 4×4 s2 [2W, 7, 7] with batch norm, LeakyReLU(0.2), linear logit; W = 64 unless \
         the model name says -dW); PacDCGAN's D reads packs of m images stacked along the channels \
         ([3m, 28, 28]); Adam lr 2e-4, β = (0.5, 0.999); {} packs per step; non-saturating G loss; one D \
         step then one G step on the same samples; {} steps per run. Where PacGAN's code (its VEEGAN-setup \
         experiment) differs: DCGAN-tensorflow's nets (D with four conv layers of 64–512 filters, G with four \
         transposed convs), z ~ U(−1, 1)¹⁰⁰, two G steps per D step, 50 epochs over 128,000 triples drawn \
         once from MNIST's 70,000 digits (100,000 steps), 10 runs. Published rows are for orientation at \
         their budget, not a like-for-like comparison.\n\n",
        o.batch, o.steps
    ));
    s.push_str(&format!("Device {}. Wall time {:.0} s.\n", o.device, c.wall_seconds));
    s
}

pub fn json(results: &[RunResult], sums: &[Summary], o: &Options, c: &Context) -> serde_json::Value {
    let runs: Vec<serde_json::Value> = results
        .iter()
        .map(|r| {
            serde_json::json!({
                "model": r.model, "seed": r.seed, "steps": r.steps, "modes": r.modes.modes_covered,
                "kl": r.modes.kl, "samples": r.modes.samples, "seconds": r.seconds,
            })
        })
        .collect();
    let summaries: Vec<serde_json::Value> = sums
        .iter()
        .map(|x| {
            let (pack, width) = parse_model(&x.model).unwrap_or((0, 0));
            serde_json::json!({
                "model": x.model, "pack": pack, "d_width": width, "seeds": x.seeds, "steps": x.steps,
                "modes": {"mean": x.modes.0, "se": x.modes.1}, "kl": {"mean": x.kl.0, "se": x.kl.1},
                "samples": o.samples, "seconds_per_run": x.seconds_per_run,
                "published": PUBLISHED.iter().filter(|p| p.ours == x.model).map(|p| serde_json::json!({
                    "source": p.source, "model": p.model, "modes": p.modes, "kl": p.kl,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    serde_json::json!({
        "protocol": {
            "modes": "100·c0 + 10·c1 + c2 of the three channels' predicted digits", "covered": "at least one sample",
            "kl": "KL(p_hat || uniform over 1000)", "samples": o.samples, "error": "standard error of the mean over seeds",
        },
        "classifier": {"test_accuracy": c.classifier_accuracy, "path": c.classifier_path},
        "floor": {"modes": c.floor.modes_covered, "kl": c.floor.kl, "samples": c.floor.samples, "all_three_digits_right": c.mode_accuracy},
        "data": {"train_digits": c.train_digits, "test_digits": c.test_digits},
        "settings": {"batch": o.batch, "steps": o.steps, "z_dim": Z_DIM, "optimizer": "Adam", "lr": 2e-4, "betas": [0.5, 0.999]},
        "summaries": summaries, "runs": runs, "wall_seconds": c.wall_seconds, "device": o.device.to_string(),
        "published": PUBLISHED.iter().map(|p| serde_json::json!({
            "source": p.source, "model": p.model, "ours": p.ours, "modes": p.modes, "kl": p.kl,
        })).collect::<Vec<_>>(),
    })
}
