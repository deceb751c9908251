//! The translation lab's CycleGAN task (`--task cyclegan`): unpaired translation between
//! handwritten digits (the MNIST 10k subset, whatever `--dataset` says) and printed digits rendered
//! from fonts (`data::printed`), with the paper's loss ablation (its Table 4) under `--ablation`
//! (`models::translate::cyclegan`). No image is paired with another: each step draws a minibatch
//! of handwritten digits and, independently, one of printed digits.
//!
//! What is scored, on the first n test images of each domain:
//!
//! - **printed → handwritten** (the scored direction, the paper's G): the MNIST classifier's
//!   accuracy against the printed digit's label (the digit must survive the translation, as the
//!   paper's FCN-score asks the labels to) and FID on its features against the handwritten test
//!   digits (the output must look handwritten);
//! - **handwritten → printed**: the same classifier's accuracy against the MNIST label, and FID
//!   against the printed test digits (held-out printed digits give that FID's floor);
//! - the cycle reconstruction errors, mean |x − x̂| in pixels of [0, 1]: forward
//!   b → A → b and backward a → B → a.
//!
//! The input rows score the untranslated images the same way (printed digits as if they were the
//! handwritten output, and the other way round): a translation that changes nothing keeps every
//! label and fails on FID. Pictures: `cyclegan-printed-to-handwritten.png` and
//! `cyclegan-handwritten-to-printed.png` (the inputs, then each variant's outputs, first seed).

use std::path::Path;
use std::time::Instant;

use minmax_engine::{Generator as Rng, Result, Tensor};

use super::report::cell;
use super::{accuracy_and_fid, model_batch, to_pixels, train_steps, Options, Ordering, Setup, Task, EVAL_CHUNK};
use crate::data::printed::Fonts;
use crate::experiments::image_gans::derive_seed;
use crate::experiments::mode_collapse::{cpu_seconds, load_average};
use crate::metrics::stats::mean_se;
use crate::metrics::{self, FeatureStats};
use crate::models::translate::cyclegan::{CycleGan, Variant, LAMBDA, LAMBDA_ID, POOL};

/// Digits of each domain per minibatch (the paper trains on one image at a time; 64 would double
/// a step that already costs four generator passes and their backward).
pub const CYCLE_BATCH: usize = 32;
/// Training steps per variant by default, and with `--quick`.
pub const STEPS: usize = 500;
pub const QUICK_STEPS: usize = 60;
/// Seeds of the printed digits: the same training and test images for every variant and seed.
const PRINTED_TRAIN_SEED: u64 = 0x5052_494e_5401;
const PRINTED_TEST_SEED: u64 = 0x5052_494e_5402;
const PRINTED_HELD_OUT_SEED: u64 = 0x5052_494e_5403;

/// The paper's Table 4 (Cityscapes labels → photo, FCN per-pixel accuracy) for the rows read from
/// it; GAN + backward cycle is described (its Fig. 7) but its number is not used here.
pub fn paper_fcn(v: Variant) -> Option<f64> {
    match v {
        Variant::CycleAlone => Some(0.22),
        Variant::GanAlone => Some(0.51),
        Variant::GanForward => Some(0.55),
        Variant::CycleGan => Some(0.52),
        Variant::GanBackward | Variant::CycleGanIdentity => None,
    }
}

/// One direction's scores.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Direction {
    /// The MNIST classifier's accuracy against the source image's label.
    pub accuracy: f64,
    /// FID against the target domain's test images.
    pub fid: f64,
}

#[derive(Clone, Debug)]
pub struct RowRun {
    pub seed: u64,
    /// Printed → handwritten.
    pub to_a: Direction,
    /// Handwritten → printed.
    pub to_b: Direction,
    /// Mean |G_ab(G_ba(b)) − b| and |G_ba(G_ab(a)) − a|, pixels in [0, 1].
    pub cycle_forward: f64,
    pub cycle_backward: f64,
    pub steps: usize,
    pub seconds: f64,
    pub final_d_loss: Option<f64>,
    pub final_g_loss: f64,
}

#[derive(Clone, Debug)]
pub struct Row {
    pub variant: Variant,
    pub runs: Vec<RowRun>,
}

impl Row {
    pub fn stat(&self, f: impl Fn(&RowRun) -> f64) -> (f64, f64) {
        mean_se(&self.runs.iter().map(f).collect::<Vec<_>>())
    }
}

#[derive(Clone, Debug)]
pub struct Report {
    pub steps: usize,
    pub rows: Vec<Row>,
    /// The untranslated printed digits scored as handwritten output, and the other way round.
    pub printed_input: Direction,
    pub handwritten_input: Direction,
    /// Held-out real images of each domain against its test images (the floors of FID), with the
    /// classifier's accuracy on them.
    pub handwritten_real: Direction,
    pub printed_real: Direction,
    pub fonts: Vec<String>,
    pub train_a: usize,
    pub train_b: usize,
    pub eval_n: usize,
    pub classifier_test_accuracy: f64,
    pub wall_seconds: f64,
    pub cpu_seconds: Option<f64>,
    pub load: (Option<f64>, Option<f64>),
    pub markdown: String,
}

/// The variants of a run: CycleGAN alone, or every row of the ablation.
pub fn variants(ablation: bool) -> Vec<Variant> {
    if ablation {
        Variant::ALL.to_vec()
    } else {
        vec![Variant::CycleGan]
    }
}

/// `f` applied to the first n images of `px` ([N·784] in [0, 1]) in chunks, as pixels [n, 784].
fn map_all(px: &[f32], n: usize, o: &Options, f: impl Fn(&Tensor) -> Result<Tensor>) -> Result<Tensor> {
    let mut out: Vec<f32> = Vec::with_capacity(n * 784);
    for start in (0..n).step_by(EVAL_CHUNK) {
        let idx: Vec<usize> = (start..(start + EVAL_CHUNK).min(n)).collect();
        out.extend(to_pixels(&f(&model_batch(px, &idx, 28, 28, &o.device)?)?)?);
    }
    Tensor::new(out, &[n, 784])
}

/// The mean absolute difference of reconstructions `a` and their originals `b`; non-finite
/// reconstructions are refused.
fn mean_abs(a: &Tensor, b: &Tensor) -> Result<f64> {
    metrics::ensure_finite(a, "cyclegan: cycle reconstructions")?;
    a.sub(b)?.abs()?.mean_all()?.item()
}

/// The scores of images `x` ([n, 784]) against `labels` and the target domain's statistics.
fn direction(setup: &Setup, x: &Tensor, labels: &[u8], target: &FeatureStats) -> Result<Direction> {
    let (accuracy, fid) = accuracy_and_fid(&setup.stick.net, target, x, labels)?;
    Ok(Direction { accuracy, fid })
}

/// Run the task (handwritten digits from `setup`, which must hold MNIST) and write its report and
/// pictures into `dir`.
pub fn run(o: &Options, setup: &Setup, dir: &Path) -> Result<Report> {
    let load_start = load_average();
    let t0 = Instant::now();
    let steps = o.steps_for(Task::Cyclegan);
    let n = setup.n;
    let fonts = Fonts::load()?;
    let train_a = &setup.splits.train;
    let printed_train = fonts.digits(train_a.len(), PRINTED_TRAIN_SEED)?;
    let printed_test = fonts.digits(n, PRINTED_TEST_SEED)?;
    let printed_held_out = fonts.digits(n, PRINTED_HELD_OUT_SEED)?;
    if o.progress {
        eprintln!(
            "cyclegan: {} printed training digits from {} fonts, {n} test digits of each domain",
            printed_train.len(),
            fonts.len()
        );
    }
    let test_a = &setup.splits.test.images()[..n * 784];
    let labels_a = setup.labels();
    let test_b = printed_test.images();
    let labels_b = printed_test.labels();
    let pixels = |px: &[f32]| Tensor::new(px[..n * 784].to_vec(), &[n, 784]);
    let (input_a, input_b) = (pixels(test_a)?, pixels(test_b)?);
    let stats_b = FeatureStats::from_features(&setup.stick.net.features(&input_b)?)?;
    let printed_input = direction(setup, &input_b, labels_b, &setup.real_stats)?;
    let handwritten_input = direction(setup, &input_a, labels_a, &stats_b)?;
    let handwritten_real = Direction { accuracy: setup.real.classifier_accuracy, fid: setup.real.fid };
    let printed_real = direction(setup, &pixels(printed_held_out.images())?, printed_held_out.labels(), &stats_b)?;
    let k = 8.min(n);
    let mut pics_to_a: Vec<Tensor> = vec![input_b.narrow(0, 0, k)?];
    let mut pics_to_b: Vec<Tensor> = vec![input_a.narrow(0, 0, k)?];
    let mut rows = Vec::new();
    for v in variants(o.ablation) {
        let mut runs = Vec::new();
        for (i, &seed) in o.seeds.iter().enumerate() {
            let mut m =
                CycleGan::new(v, &mut Rng::new(derive_seed(seed, &format!("cyclegan/init/{}", v.tag()))), &o.device)?;
            // the same minibatches of each domain for every variant of this seed
            let mut order_a = Rng::new(derive_seed(seed, "cyclegan/batches/a"));
            let mut order_b = Rng::new(derive_seed(seed, "cyclegan/batches/b"));
            let mut perm_b: Vec<usize> = Vec::new();
            let what = format!("cyclegan {} seed {seed}", v.tag());
            let log =
                train_steps(steps, train_a.len(), CYCLE_BATCH, &mut order_a, &what, v.has_gan(), o.progress, |idx| {
                    if perm_b.len() < CYCLE_BATCH {
                        perm_b = order_b.permutation(printed_train.len());
                    }
                    let idx_b = perm_b.split_off(perm_b.len() - CYCLE_BATCH.min(perm_b.len()));
                    m.train_step(
                        &model_batch(train_a.images(), idx, 28, 28, &o.device)?,
                        &model_batch(printed_train.images(), &idx_b, 28, 28, &o.device)?,
                    )
                })?;
            let to_a = map_all(test_b, n, o, |b| m.to_a(b))?;
            let to_b = map_all(test_a, n, o, |a| m.to_b(a))?;
            let back_b = map_all(test_b, n, o, |b| m.to_b(&m.to_a(b)?))?;
            let back_a = map_all(test_a, n, o, |a| m.to_a(&m.to_b(a)?))?;
            let run = RowRun {
                seed,
                to_a: direction(setup, &to_a, labels_b, &setup.real_stats)?,
                to_b: direction(setup, &to_b, labels_a, &stats_b)?,
                cycle_forward: mean_abs(&back_b, &input_b)?,
                cycle_backward: mean_abs(&back_a, &input_a)?,
                steps,
                seconds: log.seconds,
                final_d_loss: log.d_loss,
                final_g_loss: log.g_loss,
            };
            if o.progress {
                eprintln!(
                    "cyclegan {} seed {seed}: printed → handwritten accuracy {:.2} %  FID {:.2}; \
                     handwritten → printed accuracy {:.2} %  FID {:.2}; cycle L1 {:.4} / {:.4}  ({:.0} s)",
                    v.tag(),
                    100.0 * run.to_a.accuracy,
                    run.to_a.fid,
                    100.0 * run.to_b.accuracy,
                    run.to_b.fid,
                    run.cycle_forward,
                    run.cycle_backward,
                    run.seconds
                );
            }
            if i == 0 {
                pics_to_a.push(to_a.narrow(0, 0, k)?);
                pics_to_b.push(to_b.narrow(0, 0, k)?);
            }
            let meta = std::collections::HashMap::from([
                ("model".to_string(), format!("cyclegan-{}", v.tag())),
                ("steps".to_string(), steps.to_string()),
                ("seed".to_string(), seed.to_string()),
            ]);
            minmax_engine::io::save_safetensors(
                dir.join(format!("cyclegan-{}-seed{seed}.safetensors", v.tag())),
                &m.state_dict(),
                Some(meta),
            )?;
            runs.push(run);
        }
        rows.push(Row { variant: v, runs });
    }
    for (pics, name) in
        [(&pics_to_a, "cyclegan-printed-to-handwritten.png"), (&pics_to_b, "cyclegan-handwritten-to-printed.png")]
    {
        let all: Vec<&Tensor> = pics.iter().collect();
        crate::viz::save_png(
            &crate::viz::image_grid(&Tensor::cat(&all, 0)?, all.len(), k, 28, 28, 2)?,
            &dir.join(name),
        )?;
    }
    let mut r = Report {
        steps,
        rows,
        printed_input,
        handwritten_input,
        handwritten_real,
        printed_real,
        fonts: fonts.names.clone(),
        train_a: train_a.len(),
        train_b: printed_train.len(),
        eval_n: n,
        classifier_test_accuracy: setup.stick.test_accuracy,
        wall_seconds: t0.elapsed().as_secs_f64(),
        cpu_seconds: cpu_seconds(),
        load: (load_start, load_average()),
        markdown: String::new(),
    };
    r.markdown = markdown(&r, o);
    crate::experiments::write_report(dir, &r.markdown, &json(&r, o))?;
    Ok(r)
}

// ---- The report ---------------------------------------------------------------------------------

fn row(r: &Report, v: Variant) -> Option<&Row> {
    r.rows.iter().find(|x| x.variant == v)
}

/// The paper's Table 4 and Fig. 7, as orderings on this task's scores.
pub fn orderings(r: &Report) -> Vec<Ordering> {
    let seeds = r.rows.iter().map(|x| x.runs.len()).max().unwrap_or(1);
    type Get = fn(&RowRun) -> f64;
    let acc: Get = |u| u.to_a.accuracy;
    let fid: Get = |u| u.to_a.fid;
    let fcn = |a: Variant, b: Variant| Some((paper_fcn(a)?, paper_fcn(b)?));
    let list: [(&str, Variant, Variant, &'static str, bool, Get, &'static str); 4] = [
        (
            "the cycle loss keeps the digit (GAN alone collapses, Fig. 7)",
            Variant::CycleGan,
            Variant::GanAlone,
            "accuracy %",
            true,
            acc,
            "FCN per-pixel acc.",
        ),
        (
            "the adversarial loss makes the output look like the target domain",
            Variant::CycleGan,
            Variant::CycleAlone,
            "FID",
            false,
            fid,
            "FCN per-pixel acc.",
        ),
        (
            "the forward cycle alone already helps the scored direction",
            Variant::GanForward,
            Variant::GanAlone,
            "accuracy %",
            true,
            acc,
            "FCN per-pixel acc.",
        ),
        (
            "GAN + backward cycle fails to produce target-domain images (Fig. 7)",
            Variant::CycleGan,
            Variant::GanBackward,
            "FID",
            false,
            fid,
            "shown in pictures (Fig. 7)",
        ),
    ];
    list.into_iter()
        .filter_map(|(what, better, worse, metric, higher, get, paper_metric)| {
            let scale = if metric.ends_with('%') { 100.0 } else { 1.0 };
            let (a, b) = (row(r, better)?.stat(get), row(r, worse)?.stat(get));
            Some(Ordering {
                what: what.into(),
                better: better.name().into(),
                worse: worse.name().into(),
                metric,
                higher_is_better: higher,
                paper: if paper_metric.starts_with("FCN") { fcn(better, worse) } else { None },
                paper_metric,
                ours: (scale * a.0, scale * b.0),
                ours_se: (scale * a.1, scale * b.1),
                seeds,
            })
        })
        .collect()
}

pub fn markdown(r: &Report, o: &Options) -> String {
    let mut s = String::from("# CycleGAN: handwritten ↔ printed digits\n\n");
    s.push_str(&format!(
        "Domain A: the {} handwritten training digits of the MNIST 10k subset; domain B: {} printed digits rendered from {} \
         fonts ({}), random height, stroke, rotation (±12°) and shift, none paired with a handwritten one. Each variant \
         trains {} steps, each on a minibatch of {CYCLE_BATCH} digits of each domain (the same minibatches for every variant of a \
         seed; seeds {:?}); λ = {LAMBDA} for the cycle loss, λ_id = {LAMBDA_ID}·λ for the identity loss, least-squares \
         adversarial losses, image pools of {POOL}. Scores on {} test digits of each domain, by the MNIST classifier (test \
         accuracy {:.2} %): its accuracy against the source digit's label, FID on its features against the target domain's \
         test digits, and the cycle errors (mean |x − x̂|, pixels in [0, 1]). The paper's column is its Table 4 (Cityscapes \
         labels → photo, FCN per-pixel accuracy, which rewards keeping the labels and looking real at once; here the two are \
         separate columns). Compare orderings, not values.\n\n",
        r.train_a,
        r.train_b,
        r.fonts.len(),
        r.fonts.join(", "),
        r.steps,
        o.seeds,
        r.eval_n,
        100.0 * r.classifier_test_accuracy,
    ));
    s.push_str(
        "| variant | printed → handwritten: accuracy ↑ | FID ↓ | handwritten → printed: accuracy ↑ | FID ↓ | \
         cycle L1 b→A→b ↓ | cycle L1 a→B→a ↓ | steps | seconds | paper (FCN per-pixel acc.) |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for x in &r.rows {
        let v = x.variant;
        s.push_str(&format!(
            "| {} | {} % | {} | {} % | {} | {} | {} | {} | {} | {} |\n",
            v.name(),
            cell(Some(x.stat(|u| u.to_a.accuracy)), 100.0, 2),
            cell(Some(x.stat(|u| u.to_a.fid)), 1.0, 2),
            cell(Some(x.stat(|u| u.to_b.accuracy)), 100.0, 2),
            cell(Some(x.stat(|u| u.to_b.fid)), 1.0, 2),
            cell(Some(x.stat(|u| u.cycle_forward)), 1.0, 4),
            cell(Some(x.stat(|u| u.cycle_backward)), 1.0, 4),
            x.runs[0].steps,
            cell(Some(x.stat(|u| u.seconds)), 1.0, 0),
            paper_fcn(v).map_or("—".to_string(), |p| format!("{p:.2}")),
        ));
    }
    s.push_str(&format!(
        "| the input, untranslated | {:.2} % | {:.2} | {:.2} % | {:.2} | 0 | 0 | — | — | — |\n",
        100.0 * r.printed_input.accuracy,
        r.printed_input.fid,
        100.0 * r.handwritten_input.accuracy,
        r.handwritten_input.fid
    ));
    s.push_str(&format!(
        "| real images of the target domain (FID: held-out images) | {:.2} % | {:.2} | {:.2} % | {:.2} | — | — | — | — | — |\n\n",
        100.0 * r.handwritten_real.accuracy,
        r.handwritten_real.fid,
        100.0 * r.printed_real.accuracy,
        r.printed_real.fid
    ));
    s.push_str("## The paper's orderings, here\n\n");
    let list = orderings(r);
    if list.is_empty() {
        s.push_str("The orderings compare ablation rows: run with --ablation to check them.\n\n");
    } else {
        s.push_str(&super::orderings_markdown(&list));
    }
    s.push_str(&format!(
        "Pictures: `cyclegan-printed-to-handwritten.png` and `cyclegan-handwritten-to-printed.png` (rows: the inputs, then \
         each variant's outputs in the table's order). Wall time {:.0} s{}.\n",
        r.wall_seconds,
        match r.load {
            (Some(a), Some(b)) => format!(" (load average {a:.2} → {b:.2})"),
            _ => String::new(),
        }
    ));
    s
}

pub fn json(r: &Report, o: &Options) -> serde_json::Value {
    let dir = |d: &Direction| serde_json::json!({"classifier_accuracy": d.accuracy, "fid": d.fid});
    let rows: Vec<serde_json::Value> = r
        .rows
        .iter()
        .map(|x| {
            let stat = |f: &dyn Fn(&RowRun) -> f64| {
                let (m, se) = x.stat(f);
                serde_json::json!({"mean": m, "se": se})
            };
            serde_json::json!({
                "variant": x.variant.name(),
                "tag": x.variant.tag(),
                "paper_fcn_per_pixel_accuracy": paper_fcn(x.variant),
                "printed_to_handwritten": {"classifier_accuracy": stat(&|u| u.to_a.accuracy), "fid": stat(&|u| u.to_a.fid)},
                "handwritten_to_printed": {"classifier_accuracy": stat(&|u| u.to_b.accuracy), "fid": stat(&|u| u.to_b.fid)},
                "cycle_l1_forward": stat(&|u| u.cycle_forward),
                "cycle_l1_backward": stat(&|u| u.cycle_backward),
                "runs": x.runs.iter().map(|u| serde_json::json!({
                    "seed": u.seed, "steps": u.steps, "seconds": u.seconds,
                    "final_d_loss": u.final_d_loss, "final_g_loss": u.final_g_loss,
                    "printed_to_handwritten": dir(&u.to_a), "handwritten_to_printed": dir(&u.to_b),
                    "cycle_l1_forward": u.cycle_forward, "cycle_l1_backward": u.cycle_backward,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    serde_json::json!({
        "task": "cyclegan",
        "data": "handwritten digits (MNIST 10k subset) ↔ printed digits rendered from fonts, unpaired",
        "fonts": r.fonts,
        "steps": r.steps,
        "batch": CYCLE_BATCH,
        "lambda": LAMBDA,
        "lambda_identity": LAMBDA_ID,
        "pool": POOL,
        "seeds": o.seeds,
        "quick": o.quick,
        "device": o.device.to_string(),
        "train_handwritten": r.train_a,
        "train_printed": r.train_b,
        "eval_n": r.eval_n,
        "classifier_test_accuracy": r.classifier_test_accuracy,
        "input": {"printed_to_handwritten": dir(&r.printed_input), "handwritten_to_printed": dir(&r.handwritten_input)},
        "real": {"handwritten": dir(&r.handwritten_real), "printed": dir(&r.printed_real)},
        "rows": rows,
        "orderings": orderings(r).iter().map(|c| c.json()).collect::<Vec<_>>(),
        "source": "Zhu et al. 2017, Table 4 (Cityscapes labels → photo, FCN per-pixel accuracy) and Fig. 7",
        "wall_seconds": r.wall_seconds,
        "cpu_seconds": r.cpu_seconds,
        "load_average": [r.load.0, r.load.1],
    })
}
