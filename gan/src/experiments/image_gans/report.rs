//! The image lab's report: the Markdown tables (final scores, scores over training, real vs real)
//! and the JSON beside them.

use super::*;

fn score_cells(s: &Scores) -> String {
    format!(
        "{:.2} | {:.2} ± {:.2} | {:.3} | {:.3} | {}/10 | {:.3}",
        s.fid, s.is_mean, s.is_std, s.precision, s.recall, s.classes_covered, s.kl_test
    )
}

/// The Markdown report.
pub fn markdown(r: &Report, o: &Options) -> String {
    let mut s = String::new();
    s.push_str("# Image GANs on MNIST and Fashion-MNIST\n\n");
    s.push_str(&format!(
        "Every score compares n generated images with n test images (n below), through the small classifier \
         of this project (`classifier.rs`): FID on its 128 penultimate features, Inception Score (IS) from its \
         class probabilities ({IS_SPLITS} splits, mean ± std), improved precision and recall (k = {PR_K}) on the \
         same features, classes covered (a class counts when it holds at least {:.0} % of a uniform share of the \
         samples) and KL(p̂‖q), the predicted-class histogram against the test labels' histogram. The classifier \
         stands in for the Inception network, so the numbers compare runs of this project, not published ones. \
         The **real vs real** row scores held-out real images (the validation split, which no GAN saw) the \
         same way: it is the floor a perfect generator would reach at this n.\n\n",
        100.0 * COVERAGE_SHARE
    ));
    s.push_str(
        "## The yardstick\n\n| data set | train / held-out / test | classifier | test accuracy |\n|---|---|---|---:|\n",
    );
    for d in &r.datasets {
        s.push_str(&format!(
            "| {} | {} / {} / {} | {} epochs, `{}`{} | {:.2} % |\n",
            d.data.describe(),
            d.train_size,
            d.heldout_size,
            d.test_size,
            d.classifier_epochs,
            d.classifier_path.file_name().map(|f| f.to_string_lossy().to_string()).unwrap_or_default(),
            d.classifier_train_seconds.map_or(" (loaded)".to_string(), |t| format!(" (trained in {t:.0} s)")),
            100.0 * d.classifier_accuracy
        ));
    }
    s.push('\n');
    for d in &r.datasets {
        s.push_str(&format!(
            "## {}\n\nFinal scores after {} steps of batch {BATCH}; n = {} images per side.\n\n\
             | model | D / G updates | FID ↓ | IS ↑ | precision ↑ | recall ↑ | classes | KL(p̂‖q) ↓ | train s | eval s |\n\
             |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
            d.data.describe(),
            o.steps,
            d.eval_n
        ));
        for m in &d.models {
            if let Some(last) = m.last() {
                s.push_str(&format!(
                    "| {} | {} / {} | {} | {:.0} | {:.0} |\n",
                    m.model.name(),
                    m.d_updates,
                    m.g_updates,
                    score_cells(last),
                    m.train_seconds,
                    m.eval_seconds
                ));
            }
        }
        s.push_str(&format!("| **real vs real** | {} | — | — |\n\n", score_cells(&d.reference)));
        s.push_str("Over training:\n\n| model | step | FID | IS | precision | recall | classes | KL(p̂‖q) |\n|---|---:|---:|---:|---:|---:|---:|---:|\n");
        for m in &d.models {
            for h in &m.history {
                s.push_str(&format!(
                    "| {} | {} | {:.2} | {:.2} | {:.3} | {:.3} | {}/10 | {:.3} |\n",
                    m.model.name(),
                    h.step,
                    h.fid,
                    h.is_mean,
                    h.precision,
                    h.recall,
                    h.classes_covered,
                    h.kl_test
                ));
            }
        }
        s.push_str(&format!("\n![FID over training]({}-metrics.png)\n\n", d.data.name()));
        for m in &d.models {
            let stem = format!("{}-{}", d.data.name(), m.model.name());
            s.push_str(&format!("{}: ![samples]({stem}-samples.png) ![losses]({stem}-losses.png)\n\n", m.model.name()));
        }
    }
    s.push_str(&format!(
        "## Settings\n\nModels as in `images/` (DCGAN networks, Adam 2·10⁻⁴, β₁ 0.5, z ∈ R^{Z_DIM}), batch {BATCH}, \
         {} steps, scored every {} steps on the same noise; seed {}, device {}{}. The classifier is trained \
         with its own fixed seed ({CLASSIFIER_SEED}) so every run is measured by the same network. Wall time \
         {:.0} s; CPU time {} s; 1-minute load average {} at the start, {} at the end.\n",
        o.steps,
        o.eval_every,
        o.seed,
        o.device,
        if o.quick { " (--quick)" } else { "" },
        r.wall_seconds,
        r.cpu_seconds.map_or("n/a".to_string(), |c| format!("{c:.0}")),
        r.load_start.map_or("n/a".to_string(), |v| format!("{v:.1}")),
        r.load_end.map_or("n/a".to_string(), |v| format!("{v:.1}")),
    ));
    s
}

/// Everything as JSON.
pub fn json(r: &Report, o: &Options) -> serde_json::Value {
    let datasets: Vec<serde_json::Value> = r
        .datasets
        .iter()
        .map(|d| {
            let models: Vec<serde_json::Value> = d
                .models
                .iter()
                .map(|m| {
                    serde_json::json!({
                        "model": m.model.name(), "steps": m.steps, "d_updates": m.d_updates, "g_updates": m.g_updates,
                        "final": m.last().map(Scores::to_json),
                        "history": m.history.iter().map(Scores::to_json).collect::<Vec<_>>(),
                        "losses": m.losses.iter().map(|p| serde_json::json!({
                            "step": p.step, "d_loss": p.stats.d_loss, "g_loss": p.stats.g_loss,
                            "d_real": p.stats.d_real, "d_fake": p.stats.d_fake,
                        })).collect::<Vec<_>>(),
                        "train_seconds": m.train_seconds, "eval_seconds": m.eval_seconds,
                    })
                })
                .collect();
            serde_json::json!({
                "dataset": d.data.name(), "description": d.data.describe(),
                "train_size": d.train_size, "heldout_size": d.heldout_size, "test_size": d.test_size,
                "classifier": {
                    "path": d.classifier_path.display().to_string(), "epochs": d.classifier_epochs,
                    "test_accuracy": d.classifier_accuracy, "train_seconds": d.classifier_train_seconds,
                },
                "eval_n": d.eval_n,
                "reference": d.reference.to_json(),
                "models": models,
            })
        })
        .collect();
    serde_json::json!({
        "protocol": {
            "features": "classifier penultimate layer (128)", "is_splits": IS_SPLITS, "precision_recall_k": PR_K,
            "coverage_share": COVERAGE_SHARE, "reference": "held-out (validation) real images vs test images",
            "kl_test": "KL(predicted-class histogram || test true-label histogram)",
        },
        "settings": {
            "steps": o.steps, "eval_every": o.eval_every, "samples": o.samples, "batch": BATCH, "z_dim": Z_DIM,
            "seed": o.seed, "device": o.device.to_string(), "quick": o.quick,
            "classifier_epochs": o.classifier_epochs, "classifier_seed": CLASSIFIER_SEED,
        },
        "datasets": datasets,
        "timing": {
            "wall_seconds": r.wall_seconds, "cpu_seconds": r.cpu_seconds,
            "load_average_start": r.load_start, "load_average_end": r.load_end,
        },
    })
}
