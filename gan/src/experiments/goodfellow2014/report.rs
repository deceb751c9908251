//! The report of `minmax reproduce goodfellow2014`: report.md (the run, the data, the selection
//! of the evaluated generator, our row beside the paper's Table 1, the classifier's view of the
//! samples and the memorisation check), report.json, and the Table-1 comparison printed to stdout.
//!
//! report.json has a stable schema (`"schema": "minmax.goodfellow2014/2"`; fields are only ever
//! added). The fields a script can rely on:
//!
//! | field | meaning |
//! |---|---|
//! | `parzen.test.mean`, `parzen.test.stderr`, `parzen.test.count` | mean Parzen log-likelihood (nats) of the test digits under the evaluated generator's samples, its standard error, how many test digits |
//! | `parzen.sigma`, `parzen.samples`, `parzen.valid_count`, `parzen.per_sigma` | the window width chosen on the first `valid_count` validation digits, the number of samples, the validation mean at each σ of the grid |
//! | `parzen_g_as_trained` | the same for G's weights as trained when the evaluated one is an average, else null |
//! | `parzen_real_train_digits` | the same with real training digits as the samples (the reference row) |
//! | `data.source`, `data.description`, `data.train_count`, `data.valid_count`, `data.test_count` | `mnist`, `mnist-10k`, `fashion` or `folder`; the split in words; the counts loaded |
//! | `classifier.test_accuracy`, `classifier.path`, `classifier.train_seconds` | the project's classifier that scores the samples (train_seconds null when it was loaded) |
//! | `classes.counts`, `classes.covered`, `classes.kl_uniform` | samples per predicted class, classes holding at least a tenth of a uniform share, KL(p̂ ‖ uniform) |
//! | `fid`, `inception_score`, `inception_score_std`, `precision`, `recall`, `scored_count` | the samples against `scored_count` test digits on the classifier's features |
//! | `real_vs_real` | the same scores for held-out validation digits against the test digits: the floor |
//! | `memorisation.*` | distances to the nearest training digit: of samples (`generated_mean`, `generated_median`) and of test digits (`heldout_mean`, `heldout_median`), and `closer_than_heldout_median`, the share of samples nearer the training set than the median test digit (about 0.5 for a generator that does not copy) |
//! | `wall_seconds`, `train_seconds`, `eval_seconds` | the whole run, its training part (with model selection), its evaluation part |
//! | `config`, `preset`, `seed`, `device`, `epochs`, `steps`, `selected_epoch`, `validation_curve`, `paper_table1` | how the run was made |

use super::*;

/// The name report.json gives the data source.
fn source_name(src: &MnistSource) -> &'static str {
    match src {
        MnistSource::Subset10k { .. } => "mnist-10k",
        MnistSource::Full { .. } if *src == MnistSource::full_cached() => "mnist",
        MnistSource::Full { .. } => "folder",
        MnistSource::Fashion { .. } => "fashion",
    }
}

/// A Parzen result as report.json writes it.
fn parzen_json(p: &ParzenResult, valid_count: usize) -> serde_json::Value {
    serde_json::json!({
        "test": {"mean": p.mean, "stderr": p.std_err, "count": p.n_test},
        "sigma": p.sigma,
        "samples": p.n_samples,
        "valid_count": valid_count,
        "per_sigma": p.per_sigma.iter().map(|&(s, m)| serde_json::json!({"sigma": s, "valid_mean": m})).collect::<Vec<_>>(),
    })
}

fn scores_json(s: &crate::experiments::image_gans::Scores) -> serde_json::Value {
    serde_json::json!({
        "fid": s.fid, "inception_score": s.is_mean, "inception_score_std": s.is_std,
        "precision": s.precision, "recall": s.recall,
        "classes_covered": s.classes_covered, "kl_uniform": s.kl_uniform,
    })
}

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
            "- Adam: learning rate {lr}{}, β₁ {beta1}, β₂ {beta2} for both players (the paper used SGD with momentum: `--optimizer sgd`)\n",
            if cfg.anneal { ", falling linearly per epoch to lr/epochs in the last" } else { " (constant)" }
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
    md.push_str(&format!(
        "- preset {}, {}\n",
        o.preset.name(),
        match cfg.k {
            None => "D and G updated together from each minibatch (the authors' code)".to_string(),
            Some(k) =>
                format!("alternating updates: {k} D update(s), each on its own minibatch, per G update (Algorithm 1)"),
        }
    ));
    md.push_str(&format!(
        "- seed {}, device {}, wall time {:.0} s (training and model selection {:.0} s, evaluation {:.0} s)\n\n",
        o.seed,
        o.device,
        wall,
        wall - ev.seconds,
        ev.seconds
    ));
    let c = &ev.classes;
    md.push_str(&format!(
        "## What the samples are, by the classifier\n\nThe project's MNIST classifier ({} test accuracy {:.2} %; {}) labels the first {} samples:\n\n",
        if c.classifier_train_seconds.is_some() { "trained in this run on the training digits," } else { "trained on the training digits," },
        100.0 * c.classifier_accuracy,
        match c.classifier_train_seconds {
            Some(t) => format!("{t:.0} s, saved to {}", c.classifier_path.display()),
            None => format!("loaded from {}", c.classifier_path.display()),
        },
        c.n
    ));
    md.push_str(
        "| digit | 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 |\n|---|---|---|---|---|---|---|---|---|---|---|\n| samples |",
    );
    for k in &c.class_counts {
        md.push_str(&format!(" {k} |"));
    }
    md.push_str(&format!(
        "\n\n{} of 10 classes covered (at least a tenth of a uniform share); KL(p̂ ‖ uniform) = {:.4} nats.\n\n",
        c.model.classes_covered, c.model.kl_uniform
    ));
    md.push_str(&format!(
        "On the classifier's features, against {} test digits (lower FID, higher IS, precision and recall are better):\n\n\
         | | FID | IS | precision | recall |\n|---|---|---|---|---|\n\
         | this run's samples | {:.2} | {:.2} ± {:.2} | {:.3} | {:.3} |\n\
         | held-out validation digits (the floor) | {:.2} | {:.2} ± {:.2} | {:.3} | {:.3} |\n\n",
        c.n,
        c.model.fid,
        c.model.is_mean,
        c.model.is_std,
        c.model.precision,
        c.model.recall,
        c.real.fid,
        c.real.is_mean,
        c.real.is_std,
        c.real.precision,
        c.real.recall
    ));
    let m = &c.memo;
    md.push_str(&format!(
        "## Memorisation (Figure 2 as numbers)\n\nEuclidean distance to the nearest of the {} training digits, in pixel units:\n\n\
         | | mean | median |\n|---|---|---|\n| {} samples | {:.3} | {:.3} |\n| {} test digits | {:.3} | {:.3} |\n\n\
         {:.1} % of the samples are nearer the training set than the median test digit. A generator that draws new digits \
         like the test digits gives about 50 %; far more means its samples sit closer to training digits than new digits \
         do — copies, or smooth prototypical digits that are near many training digits at once (nearest.png tells which).\n\n",
        s.train.len(),
        m.generated.len(),
        m.generated_mean,
        m.generated_median,
        m.heldout.len(),
        m.heldout_mean,
        m.heldout_median,
        100.0 * m.closer_than_heldout_median
    ));
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

    let vc = SIGMA_VALID.min(s.valid.len());
    let mut json = serde_json::json!({
        "schema": "minmax.goodfellow2014/2",
        "experiment": "goodfellow2014-mnist",
        "parzen": parzen_json(p, vc),
        "parzen_real_train_digits": parzen_json(reference, vc),
        "parzen_g_as_trained": ev.raw.as_ref().map(|r| parzen_json(r, vc)),
        "data": {
            "source": source_name(src), "description": describe(src, s),
            "train_count": s.train.len(), "valid_count": s.valid.len(), "test_count": s.test.len(),
        },
        "classifier": {
            "test_accuracy": c.classifier_accuracy,
            "path": c.classifier_path.display().to_string(),
            "train_seconds": c.classifier_train_seconds,
        },
        "classes": {"counts": c.class_counts, "covered": c.model.classes_covered, "kl_uniform": c.model.kl_uniform},
        "scored_count": c.n,
        "real_vs_real": scores_json(&c.real),
        "memorisation": {
            "samples": m.generated.len(), "heldout": m.heldout.len(),
            "generated_mean": m.generated_mean, "generated_median": m.generated_median,
            "heldout_mean": m.heldout_mean, "heldout_median": m.heldout_median,
            "closer_than_heldout_median": m.closer_than_heldout_median,
        },
        "train_seconds": wall - ev.seconds,
        "eval_seconds": ev.seconds,
        "preset": o.preset.name(),
        "paper_table1": PAPER_TABLE1.iter().map(|(n, m, s)| serde_json::json!({"model": n, "mean": m, "std_err": s})).collect::<Vec<_>>(),
        "config": cfg.to_json(),
        "seed": o.seed,
        "device": o.device.to_string(),
        "epochs": history.last().map(|r| r.epoch).unwrap_or(0),
        "steps": steps,
        "wall_seconds": wall,
        "selected_epoch": chosen.map(|c| c.0),
        "validation_curve": selection.iter().map(|(e, l)| serde_json::json!({"epoch": e, "valid_ll": l})).collect::<Vec<_>>(),
        "final_epoch": history.last().map(|r| serde_json::json!({"d_loss": r.stats.d_loss, "g_loss": r.stats.g_loss, "d_real": r.stats.d_real, "d_fake": r.stats.d_fake})),
    });
    // The model's scores at the top level, where the schema promises them.
    if let (Some(obj), serde_json::Value::Object(sc)) = (json.as_object_mut(), scores_json(&c.model)) {
        for k in ["fid", "inception_score", "inception_score_std", "precision", "recall"] {
            obj.insert(k.to_string(), sc[k].clone());
        }
    }
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
    let c = &ev.classes;
    println!(
        "classifier ({:.2} % test accuracy): {} of 10 digits covered, KL(p̂ ‖ uniform) {:.3}; FID {:.2} (floor {:.2}), \
         IS {:.2} (real {:.2}), precision {:.3}, recall {:.3}",
        100.0 * c.classifier_accuracy,
        c.model.classes_covered,
        c.model.kl_uniform,
        c.model.fid,
        c.real.fid,
        c.model.is_mean,
        c.real.is_mean,
        c.model.precision,
        c.model.recall
    );
    println!(
        "memorisation: {:.1} % of samples nearer the training set than the median test digit (≈ 50 % for samples like new digits)",
        100.0 * c.memo.closer_than_heldout_median
    );
}
