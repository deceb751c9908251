//! The imbalance lab's report: `report.md`, `report.json` (schema `minmax.imbalance/1`, below),
//! `recall-<dataset>.png` (per-class recall against class size, every arm) and
//! `samples-<dataset>-<model>.png` (each generator's samples; the conditional one a row per class).
//!
//! ```text
//! report.json
//! { "schema": "minmax.imbalance/1", "profile", "seeds", "net", "steps", "batch", "gan_steps", "quick", "seconds",
//!   "datasets": [ { "dataset", "source", "train_counts", "valid_counts", "test_counts": [balanced, imbalanced],
//!       "oracle_accuracy", "seconds",
//!       "generators": [ { "model", "path", "train_seconds",
//!           "gates": [ { "class", "samples", "oracle_accuracy", "oracle_share", "fid", "nn_generated",
//!                        "nn_test", "closer_than_test_median" } ] } ],
//!       "arms": [ { "arm", "seeds": [..], "train_images",
//!           "acsa": {"mean", "std"}, "macro_f1": {..}, "gmean": {..}, "accuracy": {..},
//!           "per_class_recall": [mean over seeds, class 0…9],          (all on the balanced test set)
//!           "imbalanced_test": { "acsa", "macro_f1", "gmean", "accuracy", "per_class_recall" },
//!           "runs": [ { "seed", "best_step", "best_valid_acsa", "seconds", "balanced_test": {..}, "imbalanced_test": {..} } ] } ],
//!       "verdict": { "best_arm", "best_generative", "best_non_generative", "difference", "se", "generative_wins" },
//!       "published": [ { "source", "test", "method", "acsa", "gmean", "macro_f1" } ] } ] }
//! ```
//!
//! Spreads are the sample standard deviation over seeds (0 for one seed). Fractions are in [0, 1]
//! in the JSON and in % in the Markdown.

use std::fmt::Write as _;

use serde_json::{json, Value};

use super::*;
use crate::metrics::per_class::Scores;

/// A published row: DeepSMOTE (Dablain et al. 2022) Tables II and III, ResNet-18, ratio-100 long
/// tail, in %.
pub struct Published {
    pub source: &'static str,
    pub dataset: &'static str,
    /// "balanced" (Table III) or "imbalanced" (Table II) test set.
    pub test: &'static str,
    pub method: &'static str,
    pub acsa: f64,
    pub gmean: Option<f64>,
    pub macro_f1: Option<f64>,
}

const fn row(
    dataset: &'static str,
    test: &'static str,
    method: &'static str,
    acsa: f64,
    gm: Option<f64>,
    f1: Option<f64>,
) -> Published {
    Published { source: "DeepSMOTE (Dablain et al. 2022)", dataset, test, method, acsa, gmean: gm, macro_f1: f1 }
}

pub const PUBLISHED: &[Published] = &[
    row("fashion", "balanced", "SMOTE", 70.58, Some(76.39), Some(68.06)),
    row("fashion", "balanced", "BAGAN", 81.48, Some(89.31), Some(80.93)),
    row("fashion", "balanced", "GAMO", 83.03, Some(90.26), Some(82.50)),
    row("fashion", "balanced", "DeepSMOTE", 83.63, Some(90.61), Some(83.27)),
    row("mnist", "balanced", "SMOTE", 87.98, Some(89.99), Some(85.02)),
    row("mnist", "balanced", "BAGAN", 93.06, Some(95.98), Some(92.77)),
    row("mnist", "balanced", "GAMO", 95.52, Some(97.47), Some(95.47)),
    row("mnist", "balanced", "DeepSMOTE", 96.09, Some(97.80), Some(96.03)),
    row("fashion", "imbalanced", "BAGAN", 82.50, None, None),
    row("fashion", "imbalanced", "GAMO", 83.05, None, None),
    row("fashion", "imbalanced", "DeepSMOTE", 84.88, None, None),
    row("mnist", "imbalanced", "BAGAN", 92.56, None, None),
    row("mnist", "imbalanced", "GAMO", 95.45, None, None),
    row("mnist", "imbalanced", "DeepSMOTE", 96.16, None, None),
];

/// The issue's goal for the best arm (balanced test, ratio 100): DeepSMOTE's published ACSA.
pub fn goal(data: Data) -> f64 {
    match data {
        Data::Mnist => 96.1,
        Data::Fashion => 83.6,
    }
}

pub use crate::metrics::stats::mean_std;

fn stat(runs: &[SeedRun], f: impl Fn(&SeedRun) -> f64) -> (f64, f64) {
    mean_std(&runs.iter().map(f).collect::<Vec<_>>())
}

fn per_class_mean(runs: &[SeedRun], pick: impl Fn(&SeedRun) -> &Scores) -> Vec<f64> {
    (0..NUM_CLASSES).map(|c| runs.iter().map(|r| pick(r).recall[c]).sum::<f64>() / runs.len() as f64).collect()
}

/// The headline: the best generative arm against the best non-generative one (the ceiling
/// `balanced` excluded), by mean balanced-test ACSA.
pub struct Verdict {
    pub best_arm: Option<Arm>,
    pub best_generative: Option<(Arm, f64, f64)>,
    pub best_non_generative: Option<(Arm, f64, f64)>,
    /// Generative minus non-generative mean, and its standard error √(s₁²/n₁ + s₂²/n₂).
    pub difference: Option<(f64, f64)>,
    /// The difference is above twice its standard error (None with fewer than 2 seeds: no spread
    /// to judge by).
    pub generative_wins: Option<bool>,
    /// Fewest seeds of the two arms compared.
    pub seeds: usize,
    /// DeepSMOTE (when it ran) against the best non-generative arm: its mean and spread, the
    /// difference and its standard error. It is neither side of the GAN verdict: it generates,
    /// but not with a GAN.
    pub deepsmote: Option<DeepSmoteVerdict>,
}

pub struct DeepSmoteVerdict {
    pub acsa: f64,
    pub std: f64,
    pub difference: f64,
    pub se: f64,
    /// Above twice its standard error (None with fewer than 2 seeds).
    pub wins: Option<bool>,
}

pub fn verdict(d: &DataResult) -> Verdict {
    let summary = |a: &ArmResult| {
        let (m, s) = stat(&a.runs, |r| r.balanced_test.acsa);
        (a.arm, m, s, a.runs.len())
    };
    let best = |gen: bool| {
        d.arms
            .iter()
            .filter(|a| a.arm != Arm::Balanced && a.arm != Arm::DeepSmote && a.arm.generative() == gen)
            .map(summary)
            .max_by(|x, y| x.1.total_cmp(&y.1))
    };
    let (g, n) = (best(true), best(false));
    let difference = match (g, n) {
        (Some(g), Some(n)) => Some((g.1 - n.1, (g.2 * g.2 / g.3 as f64 + n.2 * n.2 / n.3 as f64).sqrt())),
        _ => None,
    };
    let best_arm =
        d.arms.iter().filter(|a| a.arm != Arm::Balanced).map(summary).max_by(|x, y| x.1.total_cmp(&y.1)).map(|x| x.0);
    let seeds = g.map_or(0, |x| x.3).min(n.map_or(0, |x| x.3));
    let deepsmote = d.arms.iter().find(|a| a.arm == Arm::DeepSmote).map(summary).zip(n).map(|(ds, n)| {
        let (difference, se) = (ds.1 - n.1, (ds.2 * ds.2 / ds.3 as f64 + n.2 * n.2 / n.3 as f64).sqrt());
        DeepSmoteVerdict {
            acsa: ds.1,
            std: ds.2,
            difference,
            se,
            wins: (ds.3.min(n.3) >= 2).then_some(difference > 2.0 * se && difference > 0.0),
        }
    });
    Verdict {
        deepsmote,
        best_arm,
        best_generative: g.map(|x| (x.0, x.1, x.2)),
        best_non_generative: n.map(|x| (x.0, x.1, x.2)),
        difference,
        generative_wins: difference.filter(|_| seeds >= 2).map(|(d, se)| d > 2.0 * se && d > 0.0),
        seeds,
    }
}

fn scores_json(s: &Scores) -> Value {
    json!({ "acsa": s.acsa, "macro_f1": s.macro_f1, "gmean": s.gmean, "accuracy": s.accuracy, "per_class_recall": s.recall })
}

fn ms(v: (f64, f64)) -> Value {
    json!({ "mean": v.0, "std": v.1 })
}

fn opt(v: Option<f64>) -> Value {
    v.map_or(Value::Null, |x| json!(x))
}

pub fn to_json(o: &Options, results: &[DataResult], seconds: f64) -> Value {
    let datasets: Vec<Value> = results
        .iter()
        .map(|d| {
            let arms: Vec<Value> = d
                .arms
                .iter()
                .map(|a| {
                    let r = &a.runs;
                    json!({
                        "arm": a.arm.name(),
                        "seeds": r.iter().map(|x| x.seed).collect::<Vec<_>>(),
                        "train_images": r.first().map(|x| x.train_images),
                        "acsa": ms(stat(r, |x| x.balanced_test.acsa)),
                        "macro_f1": ms(stat(r, |x| x.balanced_test.macro_f1)),
                        "gmean": ms(stat(r, |x| x.balanced_test.gmean)),
                        "accuracy": ms(stat(r, |x| x.balanced_test.accuracy)),
                        "per_class_recall": per_class_mean(r, |x| &x.balanced_test),
                        "imbalanced_test": {
                            "acsa": ms(stat(r, |x| x.imbalanced_test.acsa)),
                            "macro_f1": ms(stat(r, |x| x.imbalanced_test.macro_f1)),
                            "gmean": ms(stat(r, |x| x.imbalanced_test.gmean)),
                            "accuracy": ms(stat(r, |x| x.imbalanced_test.accuracy)),
                            "per_class_recall": per_class_mean(r, |x| &x.imbalanced_test),
                        },
                        "runs": r.iter().map(|x| json!({
                            "seed": x.seed, "best_step": x.best_step, "best_valid_acsa": x.best_valid_acsa,
                            "seconds": x.seconds, "train_images": x.train_images,
                            "balanced_test": scores_json(&x.balanced_test), "imbalanced_test": scores_json(&x.imbalanced_test),
                        })).collect::<Vec<_>>(),
                    })
                })
                .collect();
            let v = verdict(d);
            let arm3 = |x: Option<(Arm, f64, f64)>| x.map_or(Value::Null, |(a, m, s)| json!({"arm": a.name(), "acsa": m, "std": s}));
            json!({
                "dataset": d.data.name(),
                "source": d.source,
                "train_counts": d.train_counts,
                "valid_counts": d.valid_counts,
                "test_counts": [d.test_counts.0, d.test_counts.1],
                "imbalanced_test_counts": d.imbalanced_test_counts,
                "oracle_accuracy": opt(d.oracle_accuracy),
                "seconds": d.seconds,
                "generators": d.generators.iter().map(|g| json!({
                    "model": g.name, "labelled": g.labelled, "path": g.path.display().to_string(), "train_seconds": opt(g.train_seconds),
                    "final_losses": g.final_losses.map_or(Value::Null, |(a, b)| if g.name == "bagan" { json!({"d": a, "g": b}) } else { json!({"reconstruction": a, "penalty": b}) }),
                    "gates": g.gates.iter().map(|c| json!({
                        "class": c.class, "samples": c.samples, "oracle_accuracy": opt(c.oracle_accuracy),
                        "oracle_share": opt(c.oracle_share), "fid": opt(c.fid), "nn_generated": opt(c.nn_generated),
                        "nn_test": opt(c.nn_test), "closer_than_test_median": opt(c.closer_than_test_median),
                    })).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
                "arms": arms,
                "curve": d.curve.as_ref().map_or(Value::Null, |c| json!(c.iter().map(|p| json!({
                    "per_class": p.size.name(),
                    "train_counts": p.train_counts,
                    "train_images": p.train_images(),
                    "gan_seconds": opt(p.gan_seconds),
                    "arms": p.arms.iter().map(|a| json!({
                        "arm": a.arm.name(),
                        "seeds": a.runs.iter().map(|x| x.seed).collect::<Vec<_>>(),
                        "acsa": ms(stat(&a.runs, |x| x.balanced_test.acsa)),
                        "macro_f1": ms(stat(&a.runs, |x| x.balanced_test.macro_f1)),
                        "accuracy": ms(stat(&a.runs, |x| x.balanced_test.accuracy)),
                        "best_steps": a.runs.iter().map(|x| x.best_step).collect::<Vec<_>>(),
                    })).collect::<Vec<_>>(),
                })).collect::<Vec<_>>())),
                "verdict": {
                    "best_arm": v.best_arm.map(|a| a.name()),
                    "best_generative": arm3(v.best_generative),
                    "best_non_generative": arm3(v.best_non_generative),
                    "difference": opt(v.difference.map(|x| x.0)),
                    "se": opt(v.difference.map(|x| x.1)),
                    "generative_wins": v.generative_wins,
                    "deepsmote": v.deepsmote.as_ref().map_or(Value::Null, |x| json!({
                        "acsa": x.acsa, "std": x.std, "difference": x.difference, "se": x.se, "wins": x.wins,
                    })),
                },
                "published": PUBLISHED.iter().filter(|p| p.dataset == d.data.name()).map(|p| json!({
                    "source": p.source, "test": p.test, "method": p.method, "acsa": p.acsa / 100.0,
                    "gmean": opt(p.gmean.map(|x| x / 100.0)), "macro_f1": opt(p.macro_f1.map(|x| x / 100.0)),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "schema": "minmax.imbalance/1",
        "profile": o.profile.name(),
        "profile_counts": o.profile.counts(),
        "seeds": o.seeds,
        "base_seed": o.seed,
        "net": o.net.name(),
        "steps": o.steps,
        "batch": o.batch,
        "eval_every": o.eval_every,
        "gan_steps": o.gan_steps,
        "generated": o.generated,
        "quick": o.quick,
        "seconds": seconds,
        "datasets": datasets,
    })
}

fn pct(v: (f64, f64)) -> String {
    format!("{:.2} ± {:.2}", 100.0 * v.0, 100.0 * v.1)
}

/// The Markdown report.
pub fn markdown(o: &Options, results: &[DataResult], seconds: f64) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Can GAN samples rescue a classifier trained on imbalanced data?\n");
    let _ = writeln!(
        s,
        "Profile **{}** (training images per class before the 10 % validation split: {:?}); every arm: \
         {}, Adam 1e-3, {} steps of {} images, the step with the best validation ACSA \
         (checked every {} steps) kept; {} seed(s). Generators: {} steps of 64 on the imbalanced training \
         set only. The imbalanced set and the generators are drawn and trained once; the seeds vary the \
         classifiers' initialisation and minibatches and the generated images drawn, so the spread leaves \
         out a new draw of the data and a new GAN. Spreads are standard deviations over seeds.{}\n",
        o.profile.name(),
        o.profile.counts(),
        o.net.describe(),
        o.steps,
        o.batch,
        o.eval_every,
        o.seeds,
        o.gan_steps,
        if o.quick {
            " **Quick run: budgets far below the protocol's; the numbers only show the lab works.**"
        } else {
            ""
        }
    );
    for d in results {
        let v = verdict(d);
        let _ = writeln!(s, "## {} ({} s)\n", d.data.name(), d.seconds.round());
        let _ = writeln!(
            s,
            "Training images per class: {:?}; validation {:?}; test: {} balanced (the official test set), \
             {} imbalanced ({:?}, DeepSMOTE's counts {:?} capped at the test images a class has).\n",
            d.train_counts,
            d.valid_counts,
            d.test_counts.0,
            d.test_counts.1,
            d.imbalanced_test_counts,
            profiles::IMBALANCED_TEST
        );
        // The headline.
        match (v.best_generative, v.best_non_generative, v.difference) {
            (Some(g), Some(n), Some((diff, se))) => {
                let verdict = if v.seeds < 2 {
                    "**no verdict** from one seed (no spread to judge a difference by)"
                } else if v.generative_wins == Some(true) {
                    "a GAN arm **beats** the best non-generative arm (by more than twice the standard error)"
                } else if diff < -2.0 * se {
                    "the best non-generative arm **beats** every GAN arm (by more than twice the standard error)"
                } else {
                    "**no clear difference** between the best GAN arm and the best non-generative arm (within twice the standard error)"
                };
                let _ = writeln!(
                    s,
                    "**Verdict:** {verdict}: best GAN arm `{}` {:.2} ± {:.2} % ACSA vs `{}` {:.2} ± {:.2} % \
                     (difference {:+.2} ± {:.2} points).\n",
                    g.0.name(),
                    100.0 * g.1,
                    100.0 * g.2,
                    n.0.name(),
                    100.0 * n.1,
                    100.0 * n.2,
                    100.0 * diff,
                    100.0 * se
                );
            }
            _ => {
                let _ = writeln!(
                    s,
                    "**Verdict:** not decided — the run did not include both generative and non-generative arms.\n"
                );
            }
        }
        if let Some(ds) = &v.deepsmote {
            let n = v.best_non_generative.expect("compared with it");
            let verdict = match ds.wins {
                None => "no verdict from one seed",
                Some(true) => "DeepSMOTE **beats** it (by more than twice the standard error)",
                Some(false) if ds.difference < -2.0 * ds.se => {
                    "it **beats** DeepSMOTE (by more than twice the standard error)"
                }
                Some(false) => "**no clear difference** (within twice the standard error)",
            };
            let _ = writeln!(
                s,
                "DeepSMOTE (an autoencoder, not a GAN): {:.2} ± {:.2} % ACSA vs the best non-generative arm `{}` \
                 {:.2} ± {:.2} % (difference {:+.2} ± {:.2} points): {verdict}.\n",
                100.0 * ds.acsa,
                100.0 * ds.std,
                n.0.name(),
                100.0 * n.1,
                100.0 * n.2,
                100.0 * ds.difference,
                100.0 * ds.se
            );
        }
        if let Some(best) = v.best_arm {
            let a = d.arms.iter().find(|a| a.arm == best).expect("best arm ran");
            let m = stat(&a.runs, |r| r.balanced_test.acsa).0 * 100.0;
            let g = goal(d.data);
            let _ = writeln!(
                s,
                "Goal (DeepSMOTE's published ACSA with ResNet-18, {g} %): the best arm `{}` reaches {m:.2} % — {}.\n",
                best.name(),
                if m >= g { "met" } else { "**not met**" }
            );
        }
        let _ = writeln!(
            s,
            "| arm | images | ACSA % | macro-F1 % | G-mean % | accuracy % | imbalanced test ACSA % | s/seed |"
        );
        let _ = writeln!(s, "|---|---|---|---|---|---|---|---|");
        for a in &d.arms {
            let r = &a.runs;
            let _ = writeln!(
                s,
                "| `{}`{} | {} | {} | {} | {} | {} | {} | {:.0} |",
                a.arm.name(),
                if a.arm == Arm::Balanced { " (ceiling)" } else { "" },
                r.first().map_or(0, |x| x.train_images),
                pct(stat(r, |x| x.balanced_test.acsa)),
                pct(stat(r, |x| x.balanced_test.macro_f1)),
                pct(stat(r, |x| x.balanced_test.gmean)),
                pct(stat(r, |x| x.balanced_test.accuracy)),
                pct(stat(r, |x| x.imbalanced_test.acsa)),
                stat(r, |x| x.seconds).0
            );
        }
        let _ = writeln!(
            s,
            "\nPer-class recall on the balanced test set (%, mean over seeds), class sizes in the header:\n"
        );
        let _ = write!(s, "| arm |");
        for (c, n) in d.train_counts.iter().enumerate() {
            let _ = write!(s, " {c} ({n}) |");
        }
        let _ = writeln!(s, "\n|---|{}", "---|".repeat(NUM_CLASSES));
        for a in &d.arms {
            let _ = write!(s, "| `{}` |", a.arm.name());
            for r in per_class_mean(&a.runs, |x| &x.balanced_test) {
                let _ = write!(s, " {:.1} |", 100.0 * r);
            }
            let _ = writeln!(s);
        }
        let _ = writeln!(s, "\n![per-class recall](recall-{}.png)\n", d.data.name());

        let _ = writeln!(
            s,
            "Published (DeepSMOTE, Dablain et al. 2022, Tables II–III; ResNet-18, the same ratio-100 counts{}):\n",
            match o.net {
                super::train::NetKind::ResNet18 { width: 64 } => "; the same network as ours",
                _ => "; their classifier is larger than ours",
            }
        );
        let _ = writeln!(s, "| method | test set | ACSA % | G-mean % | macro-F1 % |\n|---|---|---|---|---|");
        for p in PUBLISHED.iter().filter(|p| p.dataset == d.data.name()) {
            let f = |v: Option<f64>| v.map_or("—".to_string(), |x| format!("{x:.2}"));
            let _ = writeln!(s, "| {} | {} | {:.2} | {} | {} |", p.method, p.test, p.acsa, f(p.gmean), f(p.macro_f1));
        }
        if d.data == Data::Fashion {
            let _ = writeln!(
                s,
                "\nFashion-MNIST's own README: a small 2-convolution CNN on the balanced set reaches 91.6–92.5 %."
            );
        }
        for g in &d.generators {
            let _ = writeln!(
                s,
                "\n### Generator `{}` ({}; oracle: the project's classifier on the whole training split, {:.2} % test accuracy)\n",
                g.name,
                g.train_seconds.map_or("loaded from ".to_string() + &g.path.display().to_string(), |t| format!("trained in {t:.0} s")),
                100.0 * d.oracle_accuracy.unwrap_or(f64::NAN)
            );
            let _ = writeln!(s, "| class | samples | oracle says this class % | FID vs test images of the class | NN distance: samples / test images | closer than test median % |");
            let _ = writeln!(s, "|---|---|---|---|---|---|");
            for c in &g.gates {
                let f = |v: Option<f64>, k: f64, p: usize| v.map_or("—".to_string(), |x| format!("{:.*}", p, k * x));
                let share = c.oracle_accuracy.or(c.oracle_share);
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {} | {} / {} | {} |",
                    c.class,
                    c.samples,
                    f(share, 100.0, 1),
                    f(c.fid, 1.0, 2),
                    f(c.nn_generated, 1.0, 2),
                    f(c.nn_test, 1.0, 2),
                    f(c.closer_than_test_median, 100.0, 1)
                );
            }
            let _ = writeln!(
                s,
                "\n{}\n\n![samples](samples-{}-{}.png)",
                if g.name == "deepsmote" {
                    let l = g.final_losses.map_or(String::new(), |(r, p)| {
                        format!(" Its training losses at the end (mean of the last tenth of the steps): reconstruction {r:.4}, penalty {p:.4} (MSE in [−1, 1]).")
                    });
                    format!("DeepSMOTE images per class (SMOTE on the codes of the class's training images, decoded); 'oracle says this class' is the share the oracle labels c.{l}")
                } else if g.name == "bagan" {
                    let l = g.final_losses.map_or(String::new(), |(d, gl)| {
                        format!(" Its losses at the end (mean of the last tenth of the steps): D {d:.4}, G {gl:.4} (cross-entropy over K + 1 classes).")
                    });
                    format!("BAGAN samples G(z), z ~ N(μ_c, Σ_c), per class; 'oracle says this class' is the share the oracle labels c.{l}")
                } else if g.labelled {
                    "Samples G(z, c) per class; 'oracle says this class' is the share the oracle labels c.".to_string()
                } else {
                    "Unconditional samples grouped by the oracle's label; 'oracle says this class' is the share of all samples in the class.".to_string()
                },
                d.data.name(),
                g.name
            );
        }
        if let Some(c) = &d.curve {
            curve_markdown(&mut s, d, c);
        }
        let _ = writeln!(s);
    }
    let _ = writeln!(
        s,
        "Not in this run: ACGAN (not built){}{}.\n\nWall time {seconds:.0} s.",
        if o.net == super::train::NetKind::Small {
            "; the ResNet-18 classifier of the published tables (`--net resnet18`)"
        } else {
            ""
        },
        if o.curve.is_none() { "; the small-data curve (`--curve`)" } else { "" }
    );
    s
}

/// The small-data curve's section: ACSA per size and arm, the difference of each arm from plain.
fn curve_markdown(s: &mut String, d: &DataResult, c: &[super::curve::CurvePoint]) {
    let arms: Vec<Arm> = c.first().map_or(vec![], |p| p.arms.iter().map(|a| a.arm).collect());
    let _ = writeln!(
        s,
        "\n### Small-data curve: balanced training sets of n images per class\n\n\
         Drawn from the training split; 10 % of each class (at least one image) held out for choosing the best \
         step; the same classifier, budget and seeds as above; a DCGAN trained on each set for the unlabelled \
         arms. ACSA % on the balanced test set (mean ± standard deviation over seeds); for each GAN arm, its \
         difference from `plain` ± the standard error of the difference.\n"
    );
    let _ = write!(s, "| n per class | training images |");
    for a in &arms {
        let _ = write!(s, " `{}` |", a.name());
    }
    let _ = writeln!(s, "\n|---|---|{}", "---|".repeat(arms.len()));
    for p in c {
        let _ = write!(s, "| {} | {} |", p.size.name(), p.train_images());
        let plain = p
            .arms
            .iter()
            .find(|a| a.arm == Arm::Plain)
            .map(|a| (stat(&a.runs, |x| x.balanced_test.acsa), a.runs.len()));
        for a in &p.arms {
            let m = stat(&a.runs, |x| x.balanced_test.acsa);
            let diff = match plain {
                Some(((pm, ps), pn)) if a.arm != Arm::Plain => {
                    let se = (m.1 * m.1 / a.runs.len() as f64 + ps * ps / pn as f64).sqrt();
                    format!(" ({:+.2} ± {:.2})", 100.0 * (m.0 - pm), 100.0 * se)
                }
                _ => String::new(),
            };
            let _ = write!(s, " {}{diff} |", pct(m));
        }
        let _ = writeln!(s);
    }
    let _ = writeln!(s, "\n![small-data curve](curve-{}.png)", d.data.name());
}

/// Write report.md, report.json and the recall plots; returns the Markdown.
pub fn write(o: &Options, results: &[DataResult], seconds: f64) -> Result<String> {
    for d in results {
        let series: Vec<(&str, Vec<(f64, f64)>)> = d
            .arms
            .iter()
            .map(|a| {
                let recall = per_class_mean(&a.runs, |x| &x.balanced_test);
                let mut pts: Vec<(f64, f64)> =
                    d.train_counts.iter().zip(&recall).map(|(&n, &r)| ((n.max(1) as f64).log10(), r)).collect();
                pts.sort_by(|a, b| a.0.total_cmp(&b.0));
                (a.arm.name(), pts)
            })
            .collect();
        crate::viz::line_plot(
            &o.out.join(format!("recall-{}.png", d.data.name())),
            &format!("{}: per-class recall (balanced test) against class size", d.data.name()),
            "log10(training images of the class)",
            "recall",
            &series,
        )?;
    }
    for d in results {
        if let Some(c) = &d.curve {
            let arms: Vec<Arm> = c.first().map_or(vec![], |p| p.arms.iter().map(|a| a.arm).collect());
            let series: Vec<(&str, Vec<(f64, f64)>)> = arms
                .iter()
                .map(|&arm| {
                    let pts = c
                        .iter()
                        .filter_map(|p| {
                            let a = p.arms.iter().find(|a| a.arm == arm)?;
                            let per_class = p.train_images() as f64 / NUM_CLASSES as f64;
                            Some((per_class.log10(), stat(&a.runs, |x| x.balanced_test.acsa).0))
                        })
                        .collect();
                    (arm.name(), pts)
                })
                .collect();
            crate::viz::line_plot(
                &o.out.join(format!("curve-{}.png", d.data.name())),
                &format!("{}: ACSA (balanced test) against training images per class", d.data.name()),
                "log10(training images per class)",
                "ACSA",
                &series,
            )?;
        }
    }
    let md = markdown(o, results, seconds);
    let json = serde_json::to_string_pretty(&to_json(o, results, seconds)).map_err(|e| Error::msg(e.to_string()))?;
    minmax_engine::io::write_atomic(&o.out.join("report.json"), json.as_bytes())?;
    minmax_engine::io::write_atomic(&o.out.join("report.md"), md.as_bytes())?;
    Ok(md)
}

/// `samples-<dataset>-<model>.png`: 10 × 10 samples of each generator (the conditional one and
/// DeepSMOTE a row per class).
pub fn sample_pictures(
    o: &Options,
    data: Data,
    gens: &[(Model, generators::Trained)],
    ae: Option<&super::deepsmote::Trained>,
    bagan: Option<&super::bagan::Trained>,
    train: &crate::data::Dataset,
) -> Result<()> {
    if let Some(t) = bagan {
        let mut rng = Rng::new(derive_seed(o.seed, "imbalance-pictures"));
        let images = super::bagan::sample_classes(&t.gan, &[10; NUM_CLASSES], &mut rng)?.0;
        let grid = crate::viz::image_grid(&minmax_engine::Tensor::new(images, &[100, 784])?, 10, 10, 28, 28, 2)?;
        crate::viz::save_png(&grid, &o.out.join(format!("samples-{}-bagan.png", data.name())))?;
    }
    if let Some(t) = ae {
        let mut rng = Rng::new(derive_seed(o.seed, "imbalance-pictures"));
        let images = super::deepsmote::sample_classes(&t.ae, train, &[10; NUM_CLASSES], &mut rng)?.0;
        let grid = crate::viz::image_grid(&minmax_engine::Tensor::new(images, &[100, 784])?, 10, 10, 28, 28, 2)?;
        crate::viz::save_png(&grid, &o.out.join(format!("samples-{}-deepsmote.png", data.name())))?;
    }
    for (m, g) in gens {
        let mut rng = Rng::new(derive_seed(o.seed, "imbalance-pictures"));
        let images = match m {
            Model::Conditional => generators::sample_classes(g.gan.as_ref(), &[10; NUM_CLASSES], &mut rng)?.0,
            _ => generators::sample_unlabelled(g.gan.as_ref(), 100, &mut rng)?,
        };
        let t = minmax_engine::Tensor::new(images, &[100, 784])?;
        let grid = crate::viz::image_grid(&t, 10, 10, 28, 28, 2)?;
        crate::viz::save_png(&grid, &o.out.join(format!("samples-{}-{}.png", data.name(), m.name())))?;
    }
    Ok(())
}
