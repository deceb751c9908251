//! The report of `minmax reproduce goodfellow2014`: report.md (the run, the data, the selection
//! of the evaluated generator, and our row beside the paper's Table 1), report.json, and the
//! Table-1 comparison printed to stdout.

use super::*;

#[allow(clippy::too_many_arguments)]
pub(super) fn write_report(
    o: &ReproduceOptions,
    cfg: &Config,
    src: &MnistSource,
    s: &Splits,
    history: &[EpochRecord],
    ev: &Evaluation,
    wall: f64,
    chosen: Option<(usize, f64)>,
    selection: &[(usize, f64)],
) -> Result<()> {
    let (p, reference) = (&ev.model, &ev.reference);
    let steps = history.last().map(|r| r.step).unwrap_or(0);
    let mut md = String::new();
    md.push_str("# Generative Adversarial Nets (Goodfellow et al. 2014) — MNIST reproduction\n\n");
    md.push_str(&format!(
        "Parzen-window log-likelihood of the test digits under {} samples from G (σ = {:.4}, chosen on the validation digits).\n\n",
        p.n_samples, p.sigma
    ));
    md.push_str("| Model | Parzen log-likelihood (MNIST) |\n|---|---|\n");
    for (name, m, se) in PAPER_TABLE1 {
        md.push_str(&format!("| {name} | {m:.0} ± {se} |\n"));
    }
    md.push_str(&format!(
        "| **Adversarial nets (this run{})** | **{:.1} ± {:.1}** |\n",
        model_label(cfg),
        p.mean,
        p.std_err
    ));
    if let Some(r) = &ev.raw {
        md.push_str(&format!(
            "| Adversarial nets (this run, G as trained, last epoch) | {:.1} ± {:.1} |\n",
            r.mean, r.std_err
        ));
    }
    md.push_str(&format!(
        "| Real training digits as samples (reference, same code) | {:.1} ± {:.1} |\n\n",
        reference.mean, reference.std_err
    ));
    md.push_str("The paper's rows are from its Table 1 (full MNIST, 10,000 test digits); ours use the data below. ");
    md.push_str("The Parzen estimate is known to be a poor measure of sample quality (Theis et al. 2016): compare the pictures too.\n\n");
    md.push_str("## Settings\n\n");
    md.push_str(&format!("- data: {}\n", describe(src, s)));
    md.push_str(&format!(
        "- {} epochs, {steps} steps of batch {}, k = 1, G loss {}\n",
        history.last().map(|r| r.epoch).unwrap_or(0),
        cfg.batch_size,
        cfg.g_loss.name()
    ));
    match cfg.optimizer {
        gf::OptimizerKind::Sgd => md.push_str(&format!(
            "- SGD: learning rate {} divided by {} every step (floor {}); momentum {} → {} linearly by epoch {:.0} \
             (the paper's ramp ends at epoch 250 of a run we take as {} epochs long; scaled to this run's length)\n",
            cfg.lr,
            cfg.lr_decay,
            cfg.min_lr,
            cfg.momentum_start,
            cfg.momentum_end,
            cfg.momentum_saturate_epoch,
            gf::PAPER_EPOCHS
        )),
        gf::OptimizerKind::Adam { lr, beta1, beta2 } => md.push_str(&format!(
            "- Adam: learning rate {lr}, β₁ {beta1}, β₂ {beta2} for both players (the paper used SGD with momentum: `--optimizer sgd`)\n"
        )),
    }
    md.push_str(&format!(
        "- G: 100 → 1200 ReLU → 1200 ReLU → 784 sigmoid, U(±{}); D: maxout 240×5 → maxout 240×5 → 1, U(±{}), dropout keep {} / {}\n",
        cfg.g_irange, cfg.d_irange, cfg.d_keep_input, cfg.d_keep_hidden
    ));
    if cfg.g_ema > 0.0 {
        md.push_str(&format!(
            "- evaluated generator: an exponential moving average of G's weights (decay {}; Polyak averaging, \
             Yazıcı et al. 2019); training is unchanged by it. The paper sampled G's weights as trained \
             (`--ema 0`): that is the row below the averaged one\n",
            cfg.g_ema
        ));
    }
    md.push_str(&format!("- seed {}, device {}, wall time {:.0} s\n\n", o.seed, o.device, wall));
    md.push_str("## σ selection (mean validation log-likelihood)\n\n| σ | validation LL |\n|---|---|\n");
    for (sg, ll) in &p.per_sigma {
        md.push_str(&format!("| {sg:.4} | {ll:.1} |\n"));
    }
    if let Some((e, ll)) = chosen {
        md.push_str(&format!(
            "\n## Model selection\n\nThe generator was checked on the validation digits every few epochs; \
             the one evaluated above is from epoch {e} (validation log-likelihood {ll:.1}). The test digits were used once.\n\n\
             | epoch | validation LL |\n|---|---|\n"
        ));
        for (ep, l) in selection {
            md.push_str(&format!("| {ep} | {l:.1} |\n"));
        }
        md.push_str("\n![validation log-likelihood](validation.png)\n");
    }
    md.push_str("\n## Pictures\n\n![samples](samples.png)\n\n![nearest training images](nearest.png)\n\n");
    md.push_str(
        "![z-space interpolation](interpolation.png)\n\n![losses](losses.png)\n\n![D outputs](discriminator.png)\n",
    );
    minmax_engine::io::write_atomic(&o.out.join("report.md"), md.as_bytes())?;

    let json = serde_json::json!({
        "experiment": "goodfellow2014-mnist",
        "parzen": serde_json::from_str::<serde_json::Value>(&p.to_json()).map_err(|e| Error::msg(e.to_string()))?,
        "reference_real_train_digits": serde_json::from_str::<serde_json::Value>(&reference.to_json()).map_err(|e| Error::msg(e.to_string()))?,
        "parzen_g_as_trained": match &ev.raw {
            Some(r) => serde_json::from_str::<serde_json::Value>(&r.to_json()).map_err(|e| Error::msg(e.to_string()))?,
            None => serde_json::Value::Null,
        },
        "paper_table1": PAPER_TABLE1.iter().map(|(n, m, s)| serde_json::json!({"model": n, "mean": m, "std_err": s})).collect::<Vec<_>>(),
        "config": cfg.to_json(),
        "data": describe(src, s),
        "splits": {"train": s.train.len(), "valid": s.valid.len(), "test": s.test.len()},
        "seed": o.seed,
        "device": o.device.to_string(),
        "epochs": history.last().map(|r| r.epoch).unwrap_or(0),
        "steps": steps,
        "wall_seconds": wall,
        "selected_epoch": chosen.map(|c| c.0),
        "validation_curve": selection.iter().map(|(e, l)| serde_json::json!({"epoch": e, "valid_ll": l})).collect::<Vec<_>>(),
        "final_epoch": history.last().map(|r| serde_json::json!({"d_loss": r.stats.d_loss, "g_loss": r.stats.g_loss, "d_real": r.stats.d_real, "d_fake": r.stats.d_fake})),
    });
    let text = serde_json::to_string_pretty(&json).map_err(|e| Error::msg(e.to_string()))?;
    minmax_engine::io::write_atomic(&o.out.join("report.json"), text.as_bytes())
}

fn model_label(cfg: &Config) -> &'static str {
    if cfg.g_ema > 0.0 {
        ", averaged G"
    } else {
        ""
    }
}

/// Print the Table-1 comparison to stdout.
pub fn print_table(ev: &Evaluation, cfg: &Config) {
    let (p, reference) = (&ev.model, &ev.reference);
    println!("Parzen-window log-likelihood on MNIST (σ = {:.4})", p.sigma);
    for (name, m, se) in PAPER_TABLE1 {
        println!("  {name:<52} {m:>6.0} ± {se}");
    }
    let label = format!("Adversarial nets (this run{})", model_label(cfg));
    println!("  {label:<52} {:>6.1} ± {:.1}", p.mean, p.std_err);
    if let Some(r) = &ev.raw {
        println!(
            "  {:<52} {:>6.1} ± {:.1}",
            "Adversarial nets (this run, G as trained, last epoch)", r.mean, r.std_err
        );
    }
    println!(
        "  {:<52} {:>6.1} ± {:.1}",
        "Real training digits as samples (reference)", reference.mean, reference.std_err
    );
}
