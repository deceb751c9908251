//! The translation lab's report: the ablation tables with the paper's rows beside ours, the
//! orderings the paper reports and whether they hold here, and the JSON beside them.

use super::*;
use crate::metrics::stats::mean_se;

/// pix2pix's Table 1 (Cityscapes labels → photo, FCN-score per-pixel accuracy; Isola et al.
/// 2017): by objective, and the real photos.
pub const PAPER_OBJECTIVES: [(&str, f64); 6] =
    [("L1", 0.42), ("GAN", 0.22), ("cGAN", 0.57), ("L1+GAN", 0.64), ("L1+cGAN", 0.66), ("ground truth", 0.80)];
/// pix2pix's Table 2 (the same score, L1+cGAN, by the discriminator's receptive field on 256×256
/// images); ours are 1×1, 10×10 and the full 28×28 image.
pub const PAPER_PATCHES: [(&str, f64); 4] =
    [("1×1", 0.39), ("16×16", 0.65), ("70×70", 0.66), ("286×286 (full image)", 0.42)];

/// The paper's row for one of our arms, and its name there.
fn paper_row(arm: Arm) -> Option<(&'static str, f64)> {
    match arm.patch {
        Patch::Patch10 => PAPER_OBJECTIVES.iter().find(|(k, _)| *k == arm.objective.name()).copied(),
        Patch::Pixel => Some(PAPER_PATCHES[0]),
        Patch::Image => Some(PAPER_PATCHES[3]),
    }
}

/// Mean ± s.e. over an arm's seeds of one score.
fn over_seeds(a: &ArmRuns, f: impl Fn(&Scores) -> Option<f64>) -> Option<(f64, f64)> {
    let v: Vec<f64> = a.runs.iter().filter_map(|r| f(&r.scores)).collect();
    (!v.is_empty()).then(|| mean_se(&v))
}

/// "mean ± s.e." (or the mean alone when the s.e. is 0, "—" for none), times `scale`.
pub(super) fn cell(v: Option<(f64, f64)>, scale: f64, digits: usize) -> String {
    match v {
        Some((m, se)) if se > 0.0 => format!("{:.*} ± {:.*}", digits, m * scale, digits, se * scale),
        Some((m, _)) => format!("{:.*}", digits, m * scale),
        None => "—".into(),
    }
}

/// One ordering the paper reports: `better` scores a higher classifier accuracy than `worse`.
#[derive(Clone, Debug)]
pub struct Claim {
    pub what: &'static str,
    pub better: Arm,
    pub worse: Arm,
    /// The paper's scores of the two (from [`paper_row`]).
    pub paper: (f64, f64),
    /// Our mean accuracies (better, worse).
    pub ours: (f64, f64),
    /// Their standard errors over the seeds (0 with one seed).
    pub ours_se: (f64, f64),
    pub seeds: usize,
}

impl Claim {
    /// Whether our means are in the paper's order.
    pub fn holds(&self) -> bool {
        self.ours.0 > self.ours.1
    }
    /// The ordering in words: with two or more seeds, "holds" or "reversed" only when the difference
    /// is more than twice its standard error, else "within noise"; with one seed, the order of the
    /// two numbers, marked as one seed's.
    pub fn verdict(&self) -> &'static str {
        super::verdict(self.ours, self.ours_se, self.seeds, true)
    }
}

/// The orderings of the paper's Tables 1 and 2 that this run's arms can test.
pub fn claims(r: &Report) -> Vec<Claim> {
    let arm = |objective, patch| Arm { objective, patch };
    let p10 = Patch::Patch10;
    let list = [
        ("adding the cGAN term to L1 raises the score", Arm::PIX2PIX, arm(Objective::L1, p10)),
        ("a conditional D beats an unconditional one", arm(Objective::CGan, p10), arm(Objective::Gan, p10)),
        ("adding L1 to the cGAN raises the score", Arm::PIX2PIX, arm(Objective::CGan, p10)),
        ("with L1, a conditional D beats an unconditional one", Arm::PIX2PIX, arm(Objective::L1Gan, p10)),
        ("patches (10×10 here, 70×70 there) beat 1×1 pixels", Arm::PIX2PIX, arm(Objective::L1CGan, Patch::Pixel)),
        ("patches beat judging the full image", Arm::PIX2PIX, arm(Objective::L1CGan, Patch::Image)),
    ];
    let acc = |a: Arm| r.arms.iter().find(|x| x.arm == a).and_then(|x| over_seeds(x, |s| Some(s.classifier_accuracy)));
    let seeds = r.arms.first().map_or(0, |a| a.runs.len());
    list.into_iter()
        .filter_map(|(what, better, worse)| {
            let (a, b) = acc(better).zip(acc(worse))?;
            let paper = (paper_row(better)?.1, paper_row(worse)?.1);
            Some(Claim { what, better, worse, paper, ours: (a.0, b.0), ours_se: (a.1, b.1), seeds })
        })
        .collect()
}

/// The Markdown report.
pub fn markdown(r: &Report, o: &Options) -> String {
    let mut s = String::new();
    s.push_str(&format!("# Image-to-image translation: pix2pix on edges → {}\n\n", o.data.describe()));
    s.push_str(&format!(
        "Inputs are the Sobel edge maps of {} images (magnitude > {EDGE_THRESHOLD}), targets the images. \
         The L1 weight λ is {}{}. Every arm trains {} steps of batch {BATCH} on the same minibatches of the {} training pairs (per seed; seeds {:?}) \
         and is scored on the first {} test pairs. The score in the spirit of the paper's FCN-score is the accuracy of \
         the project's classifier of the data set on the translated images against their true labels; FID is on that \
         classifier's 128 features against the real test images (n = {} each side); L1, PSNR and SSIM compare each \
         output with its target (pixels in [0, 1]). The paper's numbers are on Cityscapes at 256×256: compare the \
         orderings, not the values.\n\n",
        o.data.describe(),
        o.lambda,
        if o.lambda == crate::models::translate::pix2pix::LAMBDA { " (the paper's)" } else { " (the paper's is 100)" },
        o.steps_for(Task::Pix2pix),
        r.train_size,
        o.seeds,
        r.eval_n,
        r.eval_n
    ));
    s.push_str(&format!(
        "Classifier: {} epochs, `{}`{}, test accuracy {:.2} %.\n\n",
        r.classifier_epochs,
        r.classifier_path.file_name().map(|f| f.to_string_lossy().to_string()).unwrap_or_default(),
        r.classifier_train_seconds.map_or(" (loaded)".to_string(), |t| format!(" (trained in {t:.0} s)")),
        100.0 * r.classifier_test_accuracy
    ));
    let head = "| objective | D's patch | classifier accuracy ↑ | FID ↓ | L1 ↓ | PSNR dB ↑ | SSIM ↑ | train s | paper (FCN per-pixel acc.) |\n\
                |---|---|---:|---:|---:|---:|---:|---:|---|\n";
    s.push_str(
        "## Objectives and patch sizes\n\nThe paper's column: Isola, Zhu, Zhou & Efros 2017, Table 1 (objectives, \
         10×10 here for their 70×70 patches) and Table 2 (patch sizes, with L1+cGAN); Cityscapes labels → photo, \
         FCN-score per-pixel accuracy.\n\n",
    );
    s.push_str(head);
    for a in &r.arms {
        let paper = paper_row(a.arm).map_or("—".to_string(), |(k, v)| format!("{k}: {v:.2}"));
        let secs = a.runs.iter().map(|x| x.seconds).sum::<f64>() / a.runs.len() as f64;
        s.push_str(&format!(
            "| {} | {} | {} % | {} | {} | {} | {} | {secs:.0} | {paper} |\n",
            a.arm.objective.name(),
            a.arm.patch.name(),
            cell(over_seeds(a, |x| Some(x.classifier_accuracy)), 100.0, 2),
            cell(over_seeds(a, |x| Some(x.fid)), 1.0, 2),
            cell(over_seeds(a, |x| x.l1), 1.0, 4),
            cell(over_seeds(a, |x| x.psnr), 1.0, 2),
            cell(over_seeds(a, |x| x.ssim), 1.0, 4),
        ));
    }
    let fixed = |x: &Scores, name: &str, paper: &str| {
        format!(
            "| {name} | — | {:.2} % | {:.2} | {} | {} | {} | — | {paper} |\n",
            100.0 * x.classifier_accuracy,
            x.fid,
            x.l1.map_or("—".into(), |v| format!("{v:.4}")),
            x.psnr.map_or("—".into(), |v| format!("{v:.2}")),
            x.ssim.map_or("—".into(), |v| format!("{v:.4}")),
        )
    };
    let (truth, truth_score) = PAPER_OBJECTIVES[5];
    s.push_str(&fixed(
        &r.real,
        "real images (the ceiling; FID: held-out images)",
        &format!("{truth}: {truth_score:.2}"),
    ));
    s.push_str(&fixed(&r.edges, "the input edges themselves (the floor)", "—"));
    s.push('\n');
    let cl = claims(r);
    if cl.is_empty() {
        s.push_str("Run with `--ablation` for the paper's orderings.\n\n");
    } else {
        s.push_str("## The paper's orderings, here\n\n| ordering (classifier accuracy) | paper | ours | here |\n|---|---|---|---|\n");
        for c in &cl {
            let (a, b) = c.ours;
            s.push_str(&format!(
                "| {}: {} {} vs {} {} | {:.2} vs {:.2} | {:.2} % vs {:.2} % | {} |\n",
                c.what,
                c.better.objective.name(),
                c.better.patch.name(),
                c.worse.objective.name(),
                c.worse.patch.name(),
                c.paper.0,
                c.paper.1,
                100.0 * a,
                100.0 * b,
                match c.verdict() {
                    v @ ("holds" | "holds (one seed)") => v.to_string(),
                    v => format!("**{v}**"),
                }
            ));
        }
        let held = cl.iter().filter(|c| c.verdict().starts_with("holds")).count();
        s.push_str(&format!(
            "\n{held} of {} orderings hold{}. Where one does not, this run does not reproduce the paper on that point.\n\n",
            cl.len(),
            if o.seeds.len() > 1 {
                " (a difference counts when it exceeds twice its standard error over the seeds)"
            } else {
                " (one seed: a difference of a point or two may be seed-to-seed noise; run --seeds 3)"
            },
        ));
    }
    let fid = |a: &ArmRuns| over_seeds(a, |x| Some(x.fid)).map_or(f64::NAN, |v| v.0);
    if let Some(best) = r.arms.iter().min_by(|a, b| fid(a).total_cmp(&fid(b))) {
        s.push_str(&format!(
            "Realism, which the paper judged by eye and by asking people: the lowest FID here is {} with {} patches ({:.2}; \
             the real held-out images {:.2}).\n\n",
            best.arm.objective.name(),
            best.arm.patch.name(),
            fid(best),
            r.real.fid
        ));
    }
    s.push_str(&format!(
        "Pictures: `pix2pix-all.png` (rows: input edges, target, then each arm's output on the same 8 test images), \
         `pix2pix-<arm>.png`. Wall time {:.0} s{}.\n",
        r.wall_seconds,
        match (r.load_start, r.load_end) {
            (Some(a), Some(b)) => format!(" (load average {a:.2} → {b:.2})"),
            _ => String::new(),
        }
    ));
    s
}

pub(super) fn scores_json(x: &Scores) -> serde_json::Value {
    serde_json::json!({
        "classifier_accuracy": x.classifier_accuracy, "fid": x.fid, "l1": x.l1, "psnr": x.psnr, "ssim": x.ssim,
    })
}

/// The JSON report: per arm and seed the scores, steps and seconds; the ceiling and floor rows; the
/// paper's rows and the orderings.
pub fn json(r: &Report, o: &Options) -> serde_json::Value {
    let arms: Vec<serde_json::Value> = r
        .arms
        .iter()
        .map(|a| {
            let mean = |f: &dyn Fn(&Scores) -> Option<f64>| {
                over_seeds(a, f).map(|(m, se)| serde_json::json!({"mean": m, "se": se}))
            };
            serde_json::json!({
                "objective": a.arm.objective.name(),
                "patch": a.arm.patch.name(),
                "tag": a.arm.tag(),
                "paper": paper_row(a.arm).map(|(k, v)| serde_json::json!({"row": k, "fcn_per_pixel_accuracy": v})),
                "classifier_accuracy": mean(&|x| Some(x.classifier_accuracy)),
                "fid": mean(&|x| Some(x.fid)),
                "l1": mean(&|x| x.l1),
                "psnr": mean(&|x| x.psnr),
                "ssim": mean(&|x| x.ssim),
                "runs": a.runs.iter().map(|x| serde_json::json!({
                    "seed": x.seed, "steps": x.steps, "seconds": x.seconds, "eval_seconds": x.eval_seconds,
                    "final_d_loss": x.final_d_loss, "final_g_loss": x.final_g_loss, "scores": scores_json(&x.scores),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    serde_json::json!({
        "task": "pix2pix",
        "data": format!("{}: Sobel edges → image", o.data.describe()),
        "dataset": o.data.name(),
        "edge_threshold": EDGE_THRESHOLD,
        "steps": o.steps_for(Task::Pix2pix),
        "batch": BATCH,
        "lambda": o.lambda,
        "seeds": o.seeds,
        "quick": o.quick,
        "device": o.device.to_string(),
        "train_pairs": r.train_size,
        "test_pairs": r.test_size,
        "eval_n": r.eval_n,
        "classifier": {"path": r.classifier_path, "epochs": r.classifier_epochs, "test_accuracy": r.classifier_test_accuracy,
                        "train_seconds": r.classifier_train_seconds},
        "real": scores_json(&r.real),
        "edges": scores_json(&r.edges),
        "arms": arms,
        "claims": claims(r).iter().map(|c| serde_json::json!({
            "what": c.what, "better": c.better.tag(), "worse": c.worse.tag(),
            "paper": [c.paper.0, c.paper.1], "ours": [c.ours.0, c.ours.1],
            "ours_se": [c.ours_se.0, c.ours_se.1], "holds": c.holds(), "verdict": c.verdict(),
        })).collect::<Vec<_>>(),
        "source": "Isola, Zhu, Zhou & Efros 2017, Tables 1 and 2 (Cityscapes labels → photo, FCN-score per-pixel accuracy)",
        "wall_seconds": r.wall_seconds,
        "cpu_seconds": r.cpu_seconds,
        "load_average": [r.load_start, r.load_end],
    })
}
