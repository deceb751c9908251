//! The translation lab's inpainting task (`--task inpainting`): the context encoder (Pathak et
//! al. 2016; `models::translate::context_encoder`) filling the centre 14×14 square of each image,
//! trained on L2 alone and on L2 + adversarial, against two baselines that need no training:
//!
//! - **mean fill**: every hole pixel set to the training images' mean at that pixel;
//! - **nearest neighbour**: the training image whose surroundings (the 588 pixels outside the hole)
//!   are nearest in L2 lends its centre — the paper's NN-inpainting, on pixels instead of its HOG
//!   or learned features.
//!
//! Each filled image keeps the input's surroundings and takes the method's centre. Scores: on the
//! hole, the paper's mean L1 and mean L2 (in % of the pixel range [0, 1]) and PSNR (per image,
//! then averaged); on the whole image, the classifier's accuracy and FID (realism, which the paper
//! showed in pictures). Pictures: `inpainting.png` (rows: the input, mean fill, nearest neighbour,
//! L2, L2 + adversarial, the target).

use std::path::Path;
use std::time::Instant;

use minmax_engine::{Error, Generator as Rng, Result, Tensor};

use super::report::cell;
use super::{model_batch, to_pixels, train_steps, Options, Ordering, Scores, Setup, Task, BATCH, EVAL_CHUNK};
use crate::data::paired::centre_hole;
use crate::experiments::image_gans::derive_seed;
use crate::experiments::mode_collapse::{cpu_seconds, load_average};
use crate::metrics::distances::nearest_indices;
use crate::metrics::stats::mean_se;
use crate::models::translate::context_encoder::{ContextEncoder, HOLE, HOLE_AT, LAMBDA_ADV, OVERLAP, REGION};

/// Training steps per arm by default.
pub const STEPS: usize = 1500;

/// The paper's semantic-inpainting table (Paris StreetView, centre region; mean L1 %, mean L2 %,
/// PSNR dB). Two versions of the paper print different numbers for the context encoder's row:
/// 9.37 / 1.96 / 18.58 and 10.33 / 2.35 / 17.59; the first is shown, the second named beside it.
pub const PAPER_NN_HOG: (f64, f64, f64) = (19.92, 6.92, 12.79);
pub const PAPER_NN_FEATURES: (f64, f64, f64) = (15.10, 4.30, 14.70);
pub const PAPER_CONTEXT_ENCODER: (f64, f64, f64) = (9.37, 1.96, 18.58);
pub const PAPER_CONTEXT_ENCODER_OTHER: (f64, f64, f64) = (10.33, 2.35, 17.59);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    MeanFill,
    Nearest,
    L2,
    L2Adv,
}

impl Method {
    pub const ALL: [Method; 4] = [Method::MeanFill, Method::Nearest, Method::L2, Method::L2Adv];
    pub fn name(self) -> &'static str {
        match self {
            Method::MeanFill => "mean fill",
            Method::Nearest => "nearest neighbour",
            Method::L2 => "context encoder, L2",
            Method::L2Adv => "context encoder, L2 + adversarial",
        }
    }
    pub fn tag(self) -> &'static str {
        match self {
            Method::MeanFill => "mean-fill",
            Method::Nearest => "nearest",
            Method::L2 => "l2",
            Method::L2Adv => "l2-adv",
        }
    }
    /// The paper's row (mean L1 %, mean L2 %, PSNR dB) and its name there.
    pub fn paper(self) -> Option<(&'static str, (f64, f64, f64))> {
        match self {
            Method::Nearest => Some(("NN-inpainting (HOG features)", PAPER_NN_HOG)),
            Method::L2Adv => Some(("context encoder (joint loss)", PAPER_CONTEXT_ENCODER)),
            _ => None,
        }
    }
}

/// The hole's scores (pixels in [0, 1]).
#[derive(Clone, Debug, PartialEq)]
pub struct HoleScores {
    /// Mean |x − x̂| over the hole's pixels, in %.
    pub l1_pct: f64,
    /// Mean (x − x̂)² over the hole's pixels, in %.
    pub l2_pct: f64,
    /// Mean over images of 10·log10(1 / the hole's mean squared error).
    pub psnr: f64,
}

#[derive(Clone, Debug)]
pub struct RowRun {
    pub seed: Option<u64>,
    pub hole: HoleScores,
    /// The whole filled image's scores.
    pub image: Scores,
    pub steps: usize,
    pub seconds: f64,
    pub final_d_loss: Option<f64>,
    pub final_g_loss: Option<f64>,
}

#[derive(Clone, Debug)]
pub struct Row {
    pub method: Method,
    pub runs: Vec<RowRun>,
}

impl Row {
    pub fn stat(&self, f: impl Fn(&RowRun) -> Option<f64>) -> Option<(f64, f64)> {
        let v: Vec<f64> = self.runs.iter().filter_map(f).collect();
        (!v.is_empty()).then(|| mean_se(&v))
    }
}

#[derive(Clone, Debug)]
pub struct Report {
    pub steps: usize,
    pub rows: Vec<Row>,
    pub real: Scores,
    /// The input itself (hole filled with the mean pixel value) scored as an image.
    pub holed: Scores,
    pub eval_n: usize,
    pub train_size: usize,
    pub fill_value: f32,
    pub nearest_seconds: f64,
    pub wall_seconds: f64,
    pub cpu_seconds: Option<f64>,
    pub load: (Option<f64>, Option<f64>),
    pub markdown: String,
}

/// Is pixel `p` of a 28×28 image inside the hole?
fn in_hole(p: usize) -> bool {
    let (y, x) = (p / 28, p % 28);
    (HOLE_AT..HOLE_AT + HOLE).contains(&y) && (HOLE_AT..HOLE_AT + HOLE).contains(&x)
}

/// The hole's scores of `filled` against `target` ([n·784] each).
pub fn hole_scores(filled: &[f32], target: &[f32]) -> Result<HoleScores> {
    if filled.len() != target.len() || !filled.len().is_multiple_of(784) || filled.is_empty() {
        return Err(Error::msg(format!(
            "inpainting: {} filled pixels against {} target pixels (expected whole 28×28 images, as many of each)",
            filled.len(),
            target.len()
        )));
    }
    let n = filled.len() / 784;
    let (mut l1, mut l2, mut psnr) = (0f64, 0f64, 0f64);
    let k = (HOLE * HOLE) as f64;
    for i in 0..n {
        let (mut a, mut b) = (0f64, 0f64);
        for p in (0..784).filter(|&p| in_hole(p)) {
            let d = (filled[i * 784 + p] - target[i * 784 + p]) as f64;
            if !d.is_finite() {
                return Err(Error::msg(format!("inpainting: image {i} has a non-finite pixel in the hole")));
            }
            a += d.abs();
            b += d * d;
        }
        l1 += a / k;
        l2 += b / k;
        // a perfect fill has no finite PSNR; 100 dB stands for it (an MSE of 10⁻¹⁰)
        psnr += 10.0 * (1.0 / (b / k).max(1e-10)).log10();
    }
    Ok(HoleScores { l1_pct: 100.0 * l1 / n as f64, l2_pct: 100.0 * l2 / n as f64, psnr: psnr / n as f64 })
}

/// `holed` ([n·784]) with each hole replaced by the centre of `centres` (n images of `side`×`side`
/// whose hole starts at `at`).
fn fill(holed: &[f32], centres: &[f32], side: usize, at: usize) -> Vec<f32> {
    let mut out = holed.to_vec();
    for (i, img) in out.chunks_mut(784).enumerate() {
        for y in 0..HOLE {
            for x in 0..HOLE {
                img[(HOLE_AT + y) * 28 + HOLE_AT + x] = centres[i * side * side + (at + y) * side + at + x];
            }
        }
    }
    out
}

/// For each query image, the index of the training image whose pixels outside the hole are
/// nearest in L2 (`metrics::distances`).
fn nearest_by_context(queries: &[f32], train: &[f32]) -> Result<Vec<usize>> {
    let keep: Vec<usize> = (0..784).filter(|&p| !in_hole(p)).collect();
    let ctx = |px: &[f32]| -> Result<Tensor> {
        let v: Vec<f32> = px.chunks(784).flat_map(|img| keep.iter().map(|&p| img[p])).collect();
        Tensor::new(v, &[px.len() / 784, keep.len()])
    };
    nearest_indices(&ctx(queries)?, &ctx(train)?)
}

/// One trained context encoder: its filled test images [n·784], training seconds, the mean losses
/// over the last tenth of training, and the model.
struct Trained {
    filled: Vec<f32>,
    seconds: f64,
    d_loss: Option<f64>,
    g_loss: f64,
    model: ContextEncoder,
}

/// Train one context encoder for `steps` steps and fill the first n test images.
#[allow(clippy::too_many_arguments)]
fn train_arm(
    method: Method,
    seed: u64,
    holed_train: &[f32],
    real_train: &[f32],
    holed_test: &[f32],
    n: usize,
    steps: usize,
    o: &Options,
) -> Result<Trained> {
    let mut m = ContextEncoder::new(
        method == Method::L2Adv,
        &mut Rng::new(derive_seed(seed, &format!("inpainting/init/{}", method.tag()))),
        &o.device,
    )?;
    let mut order = Rng::new(derive_seed(seed, "inpainting/batches")); // the same batches for both arms
    let what = format!("{} seed {seed}", method.name());
    let has_d = m.d.is_some();
    let log = train_steps(steps, real_train.len() / 784, BATCH, &mut order, &what, has_d, o.progress, |idx| {
        m.train_step(
            &model_batch(holed_train, idx, 28, 28, &o.device)?,
            &model_batch(real_train, idx, 28, 28, &o.device)?,
        )
    })?;
    let mut painted = Vec::with_capacity(n * REGION * REGION);
    for start in (0..n).step_by(EVAL_CHUNK) {
        let idx: Vec<usize> = (start..(start + EVAL_CHUNK).min(n)).collect();
        painted.extend(to_pixels(&m.paint(&model_batch(holed_test, &idx, 28, 28, &o.device)?)?)?);
    }
    let filled = fill(&holed_test[..n * 784], &painted, REGION, OVERLAP);
    Ok(Trained { filled, seconds: log.seconds, d_loss: log.d_loss, g_loss: log.g_loss, model: m })
}

/// Run the task and write its report and pictures into `dir`.
pub fn run(o: &Options, setup: &Setup, dir: &Path) -> Result<Report> {
    let load_start = load_average();
    let t0 = Instant::now();
    let steps = o.steps_for(Task::Inpainting);
    let n = setup.n;
    let train = setup.splits.train.images();
    let target = &setup.splits.test.images()[..n * 784];
    // The hole is filled with the training images' mean pixel value (the authors' code fills it
    // with the data set's mean colour).
    let fill_value = (train.iter().map(|&v| v as f64).sum::<f64>() / train.len() as f64) as f32;
    let (holed_train, _) = centre_hole(train, 28, 28, HOLE, fill_value)?;
    let (holed_test, _) = centre_hole(target, 28, 28, HOLE, fill_value)?;
    let image = |px: Vec<f32>| Tensor::new(px, &[n, 784]);
    let k = 8.min(n);
    let mut pictures: Vec<Tensor> = vec![Tensor::new(holed_test[..k * 784].to_vec(), &[k, 784])?];
    let holed_scores = setup.score(&image(holed_test.clone())?)?;
    let mut rows = Vec::new();
    let baseline = |method, filled: Vec<f32>, seconds: f64| -> Result<(Row, Tensor)> {
        let hole = hole_scores(&filled, target)?;
        let img = image(filled)?;
        let run = RowRun {
            seed: None,
            hole,
            image: setup.score(&img)?,
            steps: 0,
            seconds,
            final_d_loss: None,
            final_g_loss: None,
        };
        Ok((Row { method, runs: vec![run] }, img.narrow(0, 0, 8.min(n))?))
    };
    // mean fill: the per-pixel mean of the training images
    let ntrain = train.len() / 784;
    let mut mean = vec![0f64; 784];
    for img in train.chunks(784) {
        mean.iter_mut().zip(img).for_each(|(m, &v)| *m += v as f64);
    }
    let mean: Vec<f32> = mean.iter().map(|m| (m / ntrain as f64) as f32).collect();
    let centres: Vec<f32> = (0..n).flat_map(|_| mean.iter().copied()).collect();
    let (row, pic) = baseline(Method::MeanFill, fill(&holed_test, &centres, 28, HOLE_AT), 0.0)?;
    rows.push(row);
    pictures.push(pic);
    // nearest neighbour by the surroundings
    let tn = Instant::now();
    let nn = nearest_by_context(&holed_test, &holed_train)?;
    let centres: Vec<f32> = nn.iter().flat_map(|&j| train[j * 784..(j + 1) * 784].iter().copied()).collect();
    let nearest_seconds = tn.elapsed().as_secs_f64();
    let (row, pic) = baseline(Method::Nearest, fill(&holed_test, &centres, 28, HOLE_AT), nearest_seconds)?;
    rows.push(row);
    pictures.push(pic);
    if o.progress {
        eprintln!(
            "inpainting: baselines done (nearest neighbour over {ntrain} training images in {nearest_seconds:.1} s)"
        );
    }
    for method in [Method::L2, Method::L2Adv] {
        let mut runs = Vec::new();
        for (i, &seed) in o.seeds.iter().enumerate() {
            let Trained { filled, seconds, d_loss: d, g_loss: g, model } =
                train_arm(method, seed, &holed_train, train, &holed_test, n, steps, o)?;
            let hole = hole_scores(&filled, target)?;
            let img = image(filled)?;
            let scores = setup.score(&img)?;
            if o.progress {
                eprintln!(
                    "{} seed {seed}: hole L1 {:.2} %  L2 {:.2} %  PSNR {:.2} dB; accuracy {:.2} %  FID {:.2}  ({seconds:.0} s)",
                    method.name(),
                    hole.l1_pct,
                    hole.l2_pct,
                    hole.psnr,
                    100.0 * scores.classifier_accuracy,
                    scores.fid
                );
            }
            if i == 0 {
                pictures.push(img.narrow(0, 0, 8.min(n))?);
            }
            let meta = std::collections::HashMap::from([
                ("model".to_string(), format!("context-encoder-{}", method.tag())),
                ("steps".to_string(), steps.to_string()),
                ("seed".to_string(), seed.to_string()),
            ]);
            minmax_engine::io::save_safetensors(
                dir.join(format!("context-encoder-{}-seed{seed}.safetensors", method.tag())),
                &model.state_dict(),
                Some(meta),
            )?;
            runs.push(RowRun {
                seed: Some(seed),
                hole,
                image: scores,
                steps,
                seconds,
                final_d_loss: d,
                final_g_loss: Some(g),
            });
        }
        rows.push(Row { method, runs });
    }
    pictures.push(setup.real_test.narrow(0, 0, 8.min(n))?);
    let all: Vec<&Tensor> = pictures.iter().collect();
    crate::viz::save_png(
        &crate::viz::image_grid(&Tensor::cat(&all, 0)?, all.len(), 8.min(n), 28, 28, 2)?,
        &dir.join("inpainting.png"),
    )?;
    let mut r = Report {
        steps,
        rows,
        real: setup.real.clone(),
        holed: holed_scores,
        eval_n: n,
        train_size: ntrain,
        fill_value,
        nearest_seconds,
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

fn row(r: &Report, m: Method) -> Option<&Row> {
    r.rows.iter().find(|x| x.method == m)
}

pub fn orderings(r: &Report) -> Vec<Ordering> {
    let seeds = r.rows.iter().map(|x| x.runs.len()).max().unwrap_or(1);
    type Get = fn(&RowRun) -> Option<f64>;
    type Claim = (&'static str, Method, Method, &'static str, bool, Get, Option<(f64, f64)>, &'static str);
    let l1: Get = |u| Some(u.hole.l1_pct);
    let l2: Get = |u| Some(u.hole.l2_pct);
    let psnr: Get = |u| Some(u.hole.psnr);
    let fid: Get = |u| Some(u.image.fid);
    let (ce, nn) = (PAPER_CONTEXT_ENCODER, PAPER_NN_HOG);
    let list: [Claim; 6] = [
        (
            "the context encoder beats the nearest neighbour (hole L1)",
            Method::L2Adv,
            Method::Nearest,
            "hole L1 %",
            false,
            l1,
            Some((ce.0, nn.0)),
            "mean L1 %",
        ),
        (
            "the context encoder beats the nearest neighbour (hole L2)",
            Method::L2Adv,
            Method::Nearest,
            "hole L2 %",
            false,
            l2,
            Some((ce.1, nn.1)),
            "mean L2 %",
        ),
        (
            "the context encoder beats the nearest neighbour (hole PSNR)",
            Method::L2Adv,
            Method::Nearest,
            "hole PSNR dB",
            true,
            psnr,
            Some((ce.2, nn.2)),
            "PSNR dB",
        ),
        (
            "the adversarial term makes the fill more realistic (FID)",
            Method::L2Adv,
            Method::L2,
            "FID",
            false,
            fid,
            None,
            "shown in pictures: sharper",
        ),
        (
            "L2 alone is the closer fill on average (hole L2)",
            Method::L2,
            Method::L2Adv,
            "hole L2 %",
            false,
            l2,
            None,
            "the reason the paper adds the adversarial term",
        ),
        (
            "the context encoder beats mean fill (hole L2)",
            Method::L2Adv,
            Method::MeanFill,
            "hole L2 %",
            false,
            l2,
            None,
            "not reported",
        ),
    ];
    list.into_iter()
        .filter_map(|(what, better, worse, metric, higher, get, paper, paper_metric)| {
            let (a, b) = (row(r, better)?.stat(get)?, row(r, worse)?.stat(get)?);
            Some(Ordering {
                what: what.into(),
                better: better.name().into(),
                worse: worse.name().into(),
                metric,
                higher_is_better: higher,
                paper,
                paper_metric,
                ours: (a.0, b.0),
                ours_se: (a.1, b.1),
                seeds,
            })
        })
        .collect()
}

pub fn markdown(r: &Report, o: &Options) -> String {
    let mut s = format!("# Inpainting: the context encoder on {}\n\n", o.data.describe());
    s.push_str(&format!(
        "Each test image's centre {HOLE}×{HOLE} square is blanked (filled with the training images' mean pixel value, {:.4}); \
         the context encoder paints it and a {OVERLAP}-pixel band around it ({REGION}×{REGION}; the band's L2 weighs 10 times the \
         hole's), trained {} steps of batch {BATCH} on L2 alone or on 0.999·L2 + {LAMBDA_ADV}·adversarial, both arms on the \
         same minibatches of the {} training images (seeds {:?}). Scores on the first {} test images: on the hole, mean L1 and \
         mean L2 (% of the pixel range) and PSNR (per image, averaged); on the whole filled image, the classifier's accuracy and \
         FID against the real test images. The paper's column is Paris StreetView (its semantic-inpainting table, centre \
         region); a second version of the paper prints {:.2} % / {:.2} % / {:.2} dB for the context encoder. Compare \
         orderings, not values.\n\n",
        r.fill_value,
        r.steps,
        r.train_size,
        o.seeds,
        r.eval_n,
        PAPER_CONTEXT_ENCODER_OTHER.0,
        PAPER_CONTEXT_ENCODER_OTHER.1,
        PAPER_CONTEXT_ENCODER_OTHER.2
    ));
    s.push_str(
        "| method | hole L1 % ↓ | hole L2 % ↓ | hole PSNR dB ↑ | classifier accuracy ↑ | FID ↓ | SSIM (image) ↑ | steps | paper (L1 % / L2 % / PSNR) |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---|\n",
    );
    for m in Method::ALL {
        let Some(x) = row(r, m) else { continue };
        let paper = m.paper().map_or("—".to_string(), |(k, p)| format!("{k}: {:.2} / {:.2} / {:.2}", p.0, p.1, p.2));
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} % | {} | {} | {} | {paper} |\n",
            m.name(),
            cell(x.stat(|u| Some(u.hole.l1_pct)), 1.0, 2),
            cell(x.stat(|u| Some(u.hole.l2_pct)), 1.0, 2),
            cell(x.stat(|u| Some(u.hole.psnr)), 1.0, 2),
            cell(x.stat(|u| Some(u.image.classifier_accuracy)), 100.0, 2),
            cell(x.stat(|u| Some(u.image.fid)), 1.0, 2),
            cell(x.stat(|u| u.image.ssim), 1.0, 4),
            x.runs[0].steps,
        ));
    }
    let nf = PAPER_NN_FEATURES;
    s.push_str(&format!(
        "| the input (hole filled with the mean value) | — | — | — | {:.2} % | {:.2} | {:.4} | — | NN-inpainting (the paper's features): {:.2} / {:.2} / {:.2} |\n",
        100.0 * r.holed.classifier_accuracy,
        r.holed.fid,
        r.holed.ssim.unwrap_or(f64::NAN),
        nf.0,
        nf.1,
        nf.2
    ));
    s.push_str(&format!(
        "| real images (FID: held-out images) | 0 | 0 | — | {:.2} % | {:.2} | 1 | — | — |\n\n",
        100.0 * r.real.classifier_accuracy,
        r.real.fid
    ));
    s.push_str("## The paper's orderings, here\n\n");
    s.push_str(&super::orderings_markdown(&orderings(r)));
    s.push_str(&format!(
        "Pictures: `inpainting.png` (rows: the input; mean fill; nearest neighbour; L2; L2 + adversarial; the target). \
         The nearest-neighbour search took {:.1} s. Wall time {:.0} s{}.\n",
        r.nearest_seconds,
        r.wall_seconds,
        match r.load {
            (Some(a), Some(b)) => format!(" (load average {a:.2} → {b:.2})"),
            _ => String::new(),
        }
    ));
    s
}

pub fn json(r: &Report, o: &Options) -> serde_json::Value {
    let scores = |x: &Scores| serde_json::json!({"classifier_accuracy": x.classifier_accuracy, "fid": x.fid, "l1": x.l1, "psnr": x.psnr, "ssim": x.ssim});
    let rows: Vec<serde_json::Value> = r
        .rows
        .iter()
        .map(|x| {
            let stat = |f: &dyn Fn(&RowRun) -> Option<f64>| x.stat(f).map(|(m, se)| serde_json::json!({"mean": m, "se": se}));
            serde_json::json!({
                "method": x.method.name(),
                "tag": x.method.tag(),
                "paper": x.method.paper().map(|(k, p)| serde_json::json!({"row": k, "l1_pct": p.0, "l2_pct": p.1, "psnr": p.2})),
                "hole_l1_pct": stat(&|u| Some(u.hole.l1_pct)),
                "hole_l2_pct": stat(&|u| Some(u.hole.l2_pct)),
                "hole_psnr": stat(&|u| Some(u.hole.psnr)),
                "classifier_accuracy": stat(&|u| Some(u.image.classifier_accuracy)),
                "fid": stat(&|u| Some(u.image.fid)),
                "ssim": stat(&|u| u.image.ssim),
                "runs": x.runs.iter().map(|u| serde_json::json!({
                    "seed": u.seed, "steps": u.steps, "seconds": u.seconds, "final_d_loss": u.final_d_loss,
                    "final_g_loss": u.final_g_loss,
                    "hole": {"l1_pct": u.hole.l1_pct, "l2_pct": u.hole.l2_pct, "psnr": u.hole.psnr},
                    "scores": scores(&u.image),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    serde_json::json!({
        "task": "inpainting",
        "dataset": o.data.name(),
        "data": format!("{}: centre {HOLE}×{HOLE} hole → image", o.data.describe()),
        "hole": HOLE,
        "overlap": OVERLAP,
        "fill_value": r.fill_value,
        "steps": r.steps,
        "batch": BATCH,
        "seeds": o.seeds,
        "quick": o.quick,
        "device": o.device.to_string(),
        "train_images": r.train_size,
        "eval_n": r.eval_n,
        "real": scores(&r.real),
        "input": scores(&r.holed),
        "rows": rows,
        "orderings": orderings(r).iter().map(|c| c.json()).collect::<Vec<_>>(),
        "source": "Pathak et al. 2016, semantic inpainting on Paris StreetView (mean L1 %, mean L2 %, PSNR dB)",
        "wall_seconds": r.wall_seconds,
        "cpu_seconds": r.cpu_seconds,
        "load_average": [r.load.0, r.load.1],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hole_scores_and_fill_on_hand_made_images() {
        // target all 0.5; a fill off by 0.1 in the hole and wildly off outside it: only the hole counts
        let target = vec![0.5f32; 784];
        let mut filled: Vec<f32> = (0..784).map(|p| if in_hole(p) { 0.6 } else { 0.0 }).collect();
        let h = hole_scores(&filled, &target).unwrap();
        assert!((h.l1_pct - 10.0).abs() < 1e-4 && (h.l2_pct - 1.0).abs() < 1e-4, "{h:?}");
        assert!((h.psnr - 20.0).abs() < 1e-3, "PSNR of an MSE of 0.01 is 20 dB: {h:?}");
        filled[HOLE_AT * 28 + HOLE_AT] = f32::NAN;
        assert!(hole_scores(&filled, &target).is_err());
        assert!(hole_scores(&filled[..100], &target).unwrap_err().to_string().contains("28×28"));
        // fill takes the centre of a 16×16 region whose hole starts at 1
        let centres: Vec<f32> = (0..256).map(|i| i as f32).collect();
        let f = fill(&vec![-1.0; 784], &centres, 16, 1);
        assert_eq!(f[HOLE_AT * 28 + HOLE_AT], 17.0);
        assert_eq!(f[0], -1.0);
        assert_eq!(f.iter().filter(|&&v| v >= 0.0).count(), HOLE * HOLE);
    }

    #[test]
    fn nearest_by_context_finds_the_matching_surroundings() {
        // three training images with different surroundings; queries equal to 2 and 0 outside the hole
        let img = |v: f32| -> Vec<f32> { (0..784).map(|p| if in_hole(p) { 1.0 - v } else { v }).collect() };
        let train: Vec<f32> = [0.1f32, 0.5, 0.9].iter().flat_map(|&v| img(v)).collect();
        let mut q = img(0.88);
        q.extend(img(0.12));
        assert_eq!(nearest_by_context(&q, &train).unwrap(), vec![2, 0]);
    }
}
