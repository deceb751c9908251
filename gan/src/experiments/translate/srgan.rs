//! The translation lab's super-resolution task (`--task srgan`): SRResNet and SRGAN (Ledig et al.
//! 2017; `models::translate::srgan`) against the classical upscalers, at ×4 (7×7 → 28×28) and ×2
//! (14×14 → 28×28). Per scale:
//!
//! 1. the pairs: each test image area-downsampled ×f (`data::paired::downsample_area`) is the
//!    input, the image the target;
//! 2. the baselines, computed: nearest, bilinear and bicubic upsampling (PyTorch's, clamped to
//!    [0, 1] as an image must be);
//! 3. the paper's protocol, shortened: SRResNet trains `--steps` steps on the MSE; SRGAN starts
//!    from those weights and trains `--steps` more with the adversarial term; SRResNet also
//!    trains on for `--steps` more on the MSE alone, so both rows the paper compares have had the
//!    same number of G updates (the SRResNet that SRGAN started from is reported too);
//! 4. the scores: PSNR and SSIM to the targets (the paper's), and realism — which the paper
//!    measured by people's opinion scores (MOS) — by FID on the classifier's features and by the
//!    classifier's accuracy on the upscaled images.
//!
//! The lesson to reproduce: SRResNet wins PSNR and SSIM, SRGAN wins realism at a lower PSNR.
//! Pictures: `srgan-x<f>.png` (rows: the input, nearest-enlarged; bicubic; SRResNet; SRGAN; the
//! target).

use std::path::Path;
use std::time::Instant;

use minmax_engine::{Device, Generator as Rng, Result, Tensor};

use super::report::{cell, scores_json};
use super::{model_batch, to_pixels, train_steps, Options, Ordering, Scores, Setup, Task, TrainLog, BATCH, EVAL_CHUNK};
use crate::data::paired::{downsample_area, upsample_bicubic, upsample_bilinear, upsample_nearest};
use crate::experiments::image_gans::derive_seed;
use crate::experiments::mode_collapse::{cpu_seconds, load_average};
use crate::metrics::stats::mean_se;
use crate::models::translate::srgan::{SrGan, ADV_WEIGHT};

/// G steps per phase by default (and with `--quick`).
pub const STEPS: usize = 250;
pub const QUICK_STEPS: usize = 30;

/// The paper's Table 2, BSD100 ×4: PSNR (dB), SSIM and mean opinion score (1–5) of nearest,
/// bicubic, SRResNet, SRGAN (VGG54) and the original high-resolution images (Ledig et al. 2017).
pub const PAPER_BSD100_X4: [(&str, f64, f64, f64); 5] = [
    ("nearest", 25.02, 0.6606, 1.11),
    ("bicubic", 25.94, 0.6935, 1.47),
    ("SRResNet", 27.58, 0.7620, 2.29),
    ("SRGAN", 25.16, 0.6688, 3.56),
    ("HR", f64::INFINITY, 1.0, 4.46),
];

/// A row of the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Nearest,
    Bilinear,
    Bicubic,
    /// SRResNet after the first `--steps` steps: where SRGAN starts.
    SrResNetStart,
    /// SRResNet after 2 × `--steps` steps on the MSE.
    SrResNet,
    /// SRGAN: `--steps` on the MSE, then `--steps` with the adversarial term.
    SrGan,
}

impl Method {
    pub const ALL: [Method; 6] =
        [Method::Nearest, Method::Bilinear, Method::Bicubic, Method::SrResNetStart, Method::SrResNet, Method::SrGan];
    pub fn name(self) -> &'static str {
        match self {
            Method::Nearest => "nearest",
            Method::Bilinear => "bilinear",
            Method::Bicubic => "bicubic",
            Method::SrResNetStart => "SRResNet (SRGAN's start)",
            Method::SrResNet => "SRResNet",
            Method::SrGan => "SRGAN",
        }
    }
    pub fn tag(self) -> &'static str {
        match self {
            Method::Nearest => "nearest",
            Method::Bilinear => "bilinear",
            Method::Bicubic => "bicubic",
            Method::SrResNetStart => "srresnet-start",
            Method::SrResNet => "srresnet",
            Method::SrGan => "srgan",
        }
    }
    pub fn trained(self) -> bool {
        matches!(self, Method::SrResNetStart | Method::SrResNet | Method::SrGan)
    }
    /// The paper's BSD100 ×4 row (PSNR, SSIM, MOS), where it has one.
    pub fn paper(self) -> Option<(f64, f64, f64)> {
        let key = match self {
            Method::Nearest => "nearest",
            Method::Bicubic => "bicubic",
            Method::SrResNet => "SRResNet",
            Method::SrGan => "SRGAN",
            _ => return None,
        };
        PAPER_BSD100_X4.iter().find(|r| r.0 == key).map(|r| (r.1, r.2, r.3))
    }
}

/// One row's run with one seed (the baselines have one run, without a seed).
#[derive(Clone, Debug)]
pub struct RowRun {
    pub seed: Option<u64>,
    pub scores: Scores,
    /// G's updates (0 for the baselines).
    pub g_steps: usize,
    /// Training seconds of this row's last phase (0 for the baselines).
    pub seconds: f64,
    pub final_d_loss: Option<f64>,
    pub final_g_loss: Option<f64>,
}

#[derive(Clone, Debug)]
pub struct Row {
    pub scale: usize,
    pub method: Method,
    pub runs: Vec<RowRun>,
}

impl Row {
    /// Mean ± s.e. over the runs of one score.
    pub fn stat(&self, f: impl Fn(&Scores) -> Option<f64>) -> Option<(f64, f64)> {
        let v: Vec<f64> = self.runs.iter().filter_map(|r| f(&r.scores)).collect();
        (!v.is_empty()).then(|| mean_se(&v))
    }
}

#[derive(Clone, Debug)]
pub struct Report {
    pub scales: Vec<usize>,
    pub steps: usize,
    pub rows: Vec<Row>,
    pub real: Scores,
    pub eval_n: usize,
    pub train_size: usize,
    pub wall_seconds: f64,
    pub cpu_seconds: Option<f64>,
    pub load: (Option<f64>, Option<f64>),
    pub markdown: String,
}

/// Images [N, 784] shrunk ×f.
fn low_res(px: &[f32], f: usize) -> Result<Vec<f32>> {
    downsample_area(px, 28, 28, f)
}

/// A model's upscaled versions of the first n low-resolution test images, as pixels [n, 784].
fn upscale_all(m: &SrGan, lr: &[f32], f: usize, n: usize, device: &Device) -> Result<Tensor> {
    let s = 28 / f;
    let mut px = Vec::with_capacity(n * 784);
    for start in (0..n).step_by(EVAL_CHUNK) {
        let idx: Vec<usize> = (start..(start + EVAL_CHUNK).min(n)).collect();
        px.extend(to_pixels(&m.upscale(&model_batch(lr, &idx, s, s, device)?)?)?);
    }
    Tensor::new(px, &[n, 784])
}

/// Train `m` for `steps` steps on minibatches drawn by `order` (`train_steps`).
#[allow(clippy::too_many_arguments)]
fn train(
    m: &mut SrGan,
    steps: usize,
    order: &mut Rng,
    lr: &[f32],
    hr: &[f32],
    f: usize,
    what: &str,
    o: &Options,
) -> Result<TrainLog> {
    let s = 28 / f;
    let has_d = m.d.is_some();
    train_steps(steps, hr.len() / 784, BATCH, order, what, has_d, o.progress, |idx| {
        m.train_step(&model_batch(lr, idx, s, s, &o.device)?, &model_batch(hr, idx, 28, 28, &o.device)?)
    })
}

/// Run the task and write its report and pictures into `dir`.
pub fn run(o: &Options, setup: &Setup, dir: &Path) -> Result<Report> {
    let load_start = load_average();
    let t0 = Instant::now();
    let steps = o.steps_for(Task::Srgan);
    let n = setup.n;
    let hr_train = setup.splits.train.images();
    let hr_test = &setup.splits.test.images()[..n * 784];
    let scales: Vec<usize> = if o.ablation { vec![4, 2] } else { vec![4] };
    let mut rows: Vec<Row> = Vec::new();
    for &f in &scales {
        let (lr_train, lr_test) = (low_res(hr_train, f)?, low_res(hr_test, f)?);
        let s = 28 / f;
        let mut pictures: Vec<Tensor> =
            vec![Tensor::new(upsample_nearest(&lr_test[..8.min(n) * s * s], s, s, f)?, &[8.min(n), 784])?];
        // the classical upscalers, clamped to the image range
        for (method, up) in [
            (Method::Nearest, upsample_nearest(&lr_test, s, s, f)?),
            (Method::Bilinear, upsample_bilinear(&lr_test, s, s, f)?),
            (Method::Bicubic, upsample_bicubic(&lr_test, s, s, f)?),
        ] {
            let img = Tensor::new(up.into_iter().map(|v| v.clamp(0.0, 1.0)).collect(), &[n, 784])?;
            if method == Method::Bicubic {
                pictures.push(img.narrow(0, 0, 8.min(n))?);
            }
            let scores = setup.score(&img)?;
            rows.push(Row {
                scale: f,
                method,
                runs: vec![RowRun {
                    seed: None,
                    scores,
                    g_steps: 0,
                    seconds: 0.0,
                    final_d_loss: None,
                    final_g_loss: None,
                }],
            });
        }
        let mut trained: Vec<Row> = [Method::SrResNetStart, Method::SrResNet, Method::SrGan]
            .iter()
            .map(|&method| Row { scale: f, method, runs: Vec::new() })
            .collect();
        for (i, &seed) in o.seeds.iter().enumerate() {
            let mut init = Rng::new(derive_seed(seed, &format!("srgan/x{f}/init")));
            let mut m = SrGan::srresnet(f, &mut init, &o.device)?;
            let what = |m: &str| format!("{m} ×{f} seed {seed}");
            let phase1 = derive_seed(seed, &format!("srgan/x{f}/phase1"));
            let first = train(&mut m, steps, &mut Rng::new(phase1), &lr_train, hr_train, f, &what("SRResNet"), o)?;
            let start = upscale_all(&m, &lr_test, f, n, &o.device)?;
            trained[0].runs.push(RowRun {
                seed: Some(seed),
                scores: setup.score(&start)?,
                g_steps: steps,
                seconds: first.seconds,
                final_d_loss: None,
                final_g_loss: Some(first.g_loss),
            });
            // SRGAN from the SRResNet weights; SRResNet on for as many steps, on the same batches.
            let mut gan = m.fork(true, &mut init, &o.device)?;
            let phase2 = derive_seed(seed, &format!("srgan/x{f}/phase2"));
            let more = train(&mut m, steps, &mut Rng::new(phase2), &lr_train, hr_train, f, &what("SRResNet"), o)?;
            let adv = train(&mut gan, steps, &mut Rng::new(phase2), &lr_train, hr_train, f, &what("SRGAN"), o)?;
            for (row, model, log) in [(1, &m, more), (2, &gan, adv)] {
                let out = upscale_all(model, &lr_test, f, n, &o.device)?;
                let scores = setup.score(&out)?;
                if o.progress {
                    eprintln!(
                        "{} ×{f} seed {seed}: PSNR {:.2} dB  SSIM {:.4}  FID {:.2}  accuracy {:.2} %",
                        trained[row].method.name(),
                        scores.psnr.unwrap_or(f64::NAN),
                        scores.ssim.unwrap_or(f64::NAN),
                        scores.fid,
                        100.0 * scores.classifier_accuracy
                    );
                }
                if i == 0 {
                    pictures.push(out.narrow(0, 0, 8.min(n))?);
                }
                trained[row].runs.push(RowRun {
                    seed: Some(seed),
                    scores,
                    g_steps: 2 * steps,
                    seconds: log.seconds,
                    final_d_loss: log.d_loss,
                    final_g_loss: Some(log.g_loss),
                });
                let meta = std::collections::HashMap::from([
                    ("model".to_string(), trained[row].method.tag().to_string()),
                    ("scale".to_string(), f.to_string()),
                    ("steps".to_string(), (2 * steps).to_string()),
                    ("seed".to_string(), seed.to_string()),
                ]);
                minmax_engine::io::save_safetensors(
                    dir.join(format!("{}-x{f}-seed{seed}.safetensors", trained[row].method.tag())),
                    &model.state_dict(),
                    Some(meta),
                )?;
            }
        }
        rows.extend(trained);
        pictures.push(setup.real_test.narrow(0, 0, 8.min(n))?);
        let all: Vec<&Tensor> = pictures.iter().collect();
        crate::viz::save_png(
            &crate::viz::image_grid(&Tensor::cat(&all, 0)?, all.len(), 8.min(n), 28, 28, 2)?,
            &dir.join(format!("srgan-x{f}.png")),
        )?;
    }
    let mut r = Report {
        scales,
        steps,
        rows,
        real: setup.real.clone(),
        eval_n: n,
        train_size: setup.splits.train.len(),
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

fn row(r: &Report, f: usize, m: Method) -> Option<&Row> {
    r.rows.iter().find(|x| x.scale == f && x.method == m)
}

/// The paper's orderings at scale `f` (its numbers are ×4's; at ×2 none are given).
pub fn orderings(r: &Report, f: usize) -> Vec<Ordering> {
    let seeds = r.rows.iter().map(|x| x.runs.len()).max().unwrap_or(1);
    let paper = |a: Method, b: Method, k: usize| {
        if f != 4 {
            return None;
        }
        let (pa, pb) = (a.paper()?, b.paper()?);
        let pick = |p: (f64, f64, f64)| [p.0, p.1, p.2][k];
        Some((pick(pa), pick(pb)))
    };
    type Metric = (&'static str, bool, fn(&Scores) -> Option<f64>, usize, &'static str);
    let psnr: Metric = ("PSNR dB", true, |s| s.psnr, 0, "PSNR dB");
    let ssim: Metric = ("SSIM", true, |s| s.ssim, 1, "SSIM");
    let fid: Metric = ("FID", false, |s| Some(s.fid), 2, "MOS");
    let acc: Metric = ("classifier accuracy %", true, |s| Some(100.0 * s.classifier_accuracy), 2, "MOS");
    let list: [(&str, Method, Method, Metric); 6] = [
        ("SRResNet is more faithful (PSNR)", Method::SrResNet, Method::SrGan, psnr),
        ("SRResNet is more faithful (SSIM)", Method::SrResNet, Method::SrGan, ssim),
        ("SRGAN is more realistic (FID; the paper's opinion scores)", Method::SrGan, Method::SrResNet, fid),
        ("SRGAN's images are better recognised (the paper's opinion scores)", Method::SrGan, Method::SrResNet, acc),
        ("SRResNet beats bicubic (PSNR)", Method::SrResNet, Method::Bicubic, psnr),
        ("SRGAN is more realistic than bicubic (FID)", Method::SrGan, Method::Bicubic, fid),
    ];
    list.into_iter()
        .filter_map(|(what, better, worse, (metric, higher, get, k, paper_metric))| {
            let (a, b) = (row(r, f, better)?.stat(get)?, row(r, f, worse)?.stat(get)?);
            Some(Ordering {
                what: format!("×{f}: {what}"),
                better: better.name().into(),
                worse: worse.name().into(),
                metric,
                higher_is_better: higher,
                paper: paper(better, worse, k),
                paper_metric,
                ours: (a.0, b.0),
                ours_se: (a.1, b.1),
                seeds,
            })
        })
        .collect()
}

pub fn markdown(r: &Report, o: &Options) -> String {
    let mut s = format!("# Super-resolution: SRResNet and SRGAN on {}\n\n", o.data.describe());
    s.push_str(&format!(
        "Inputs are the test images area-downsampled ×f, targets the images. SRResNet trains {} steps of batch {BATCH} on the \
         MSE (its row after them: \"SRGAN's start\"), then {} more; SRGAN starts from the first {} and trains {} with the \
         adversarial term (weight {ADV_WEIGHT}) on the same minibatches as SRResNet's second {}: both have {} G updates. \
         {} training images; seeds {:?}; scores on the first {} test images. PSNR and SSIM compare each output with its \
         target (pixels in [0, 1]; the classical upscalers clamped to it); FID is on the classifier's features against the \
         real test images, and the classifier's accuracy is on the upscaled images. The paper's column is BSD100 ×4 (its \
         Table 2: PSNR dB / SSIM / mean opinion score, 1–5); it rated realism by people's opinion scores, which FID and the \
         classifier stand in for here. Compare orderings, not values.\n\n",
        r.steps, r.steps, r.steps, r.steps, r.steps, 2 * r.steps, r.train_size, o.seeds, r.eval_n
    ));
    for &f in &r.scales {
        s.push_str(&format!(
            "## ×{f} ({0}×{0} → 28×28)\n\n| method | PSNR dB ↑ | SSIM ↑ | FID ↓ | classifier accuracy ↑ | L1 ↓ | G steps | paper (BSD100 ×4) |\n\
             |---|---:|---:|---:|---:|---:|---:|---|\n",
            28 / f
        ));
        for m in Method::ALL {
            let Some(x) = row(r, f, m) else { continue };
            let paper =
                m.paper().map_or("—".to_string(), |(p, ss, mos)| format!("{p:.2} dB / {ss:.4} / MOS {mos:.2}"));
            s.push_str(&format!(
                "| {} | {} | {} | {} | {} % | {} | {} | {paper} |\n",
                m.name(),
                cell(x.stat(|v| v.psnr), 1.0, 2),
                cell(x.stat(|v| v.ssim), 1.0, 4),
                cell(x.stat(|v| Some(v.fid)), 1.0, 2),
                cell(x.stat(|v| Some(v.classifier_accuracy)), 100.0, 2),
                cell(x.stat(|v| v.l1), 1.0, 4),
                x.runs[0].g_steps,
            ));
        }
        let hr = PAPER_BSD100_X4[4];
        s.push_str(&format!(
            "| real images (FID: held-out images) | — | — | {:.2} | {:.2} % | — | — | HR: MOS {:.2} |\n\n",
            r.real.fid,
            100.0 * r.real.classifier_accuracy,
            hr.3
        ));
        s.push_str(&super::orderings_markdown(&orderings(r, f)));
    }
    s.push_str(&format!(
        "Pictures: {} (rows: the input, nearest-enlarged; bicubic; SRResNet; SRGAN; the target). Wall time {:.0} s{}.\n",
        r.scales.iter().map(|f| format!("`srgan-x{f}.png`")).collect::<Vec<_>>().join(", "),
        r.wall_seconds,
        match r.load {
            (Some(a), Some(b)) => format!(" (load average {a:.2} → {b:.2})"),
            _ => String::new(),
        }
    ));
    s
}

pub fn json(r: &Report, o: &Options) -> serde_json::Value {
    let rows: Vec<serde_json::Value> = r
        .rows
        .iter()
        .map(|x| {
            let stat = |f: &dyn Fn(&Scores) -> Option<f64>| x.stat(f).map(|(m, se)| serde_json::json!({"mean": m, "se": se}));
            serde_json::json!({
                "scale": x.scale,
                "method": x.method.name(),
                "tag": x.method.tag(),
                "trained": x.method.trained(),
                "paper": x.method.paper().map(|(p, ss, mos)| serde_json::json!({"psnr": p, "ssim": ss, "mos": mos, "set": "BSD100 ×4"})),
                "psnr": stat(&|v| v.psnr),
                "ssim": stat(&|v| v.ssim),
                "fid": stat(&|v| Some(v.fid)),
                "classifier_accuracy": stat(&|v| Some(v.classifier_accuracy)),
                "l1": stat(&|v| v.l1),
                "runs": x.runs.iter().map(|u| serde_json::json!({
                    "seed": u.seed, "steps": u.g_steps, "seconds": u.seconds, "final_d_loss": u.final_d_loss,
                    "final_g_loss": u.final_g_loss, "scores": scores_json(&u.scores),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    serde_json::json!({
        "task": "srgan",
        "dataset": o.data.name(),
        "data": format!("{}: area-downsampled ×f → image", o.data.describe()),
        "scales": r.scales,
        "steps_per_phase": r.steps,
        "batch": BATCH,
        "adversarial_weight": ADV_WEIGHT,
        "seeds": o.seeds,
        "quick": o.quick,
        "device": o.device.to_string(),
        "train_images": r.train_size,
        "eval_n": r.eval_n,
        "real": scores_json(&r.real),
        "rows": rows,
        "orderings": r.scales.iter().flat_map(|&f| orderings(r, f)).map(|c| c.json()).collect::<Vec<_>>(),
        "source": "Ledig et al. 2017, Table 2 (BSD100 ×4: PSNR, SSIM, mean opinion score)",
        "wall_seconds": r.wall_seconds,
        "cpu_seconds": r.cpu_seconds,
        "load_average": [r.load.0, r.load.1],
    })
}
