//! The generalization lab's report: the reconstruction-gap and memorisation tables, the reading
//! of them, and the JSON beside them.

use super::*;

/// Whether a ± se is more than two standard errors away from zero.
fn significant(v: (f64, f64)) -> bool {
    v.1.is_finite() && v.0.abs() > 2.0 * v.1
}

/// A short paragraph read off the numbers: how the gap and the memorisation share move with size.
pub fn interpret(runs: &[SizeRun]) -> String {
    let (Some(a), Some(b)) = (runs.first(), runs.last()) else {
        return String::new();
    };
    let mut s = String::new();
    let gap_words = |r: &SizeRun| {
        format!(
            "{:.4} ± {:.4} at {} images ({})",
            r.gap.0,
            r.gap.1,
            r.label(),
            if significant(r.gap) {
                "more than two standard errors from zero"
            } else {
                "within two standard errors of zero"
            }
        )
    };
    if runs.len() == 1 {
        s.push_str(&format!("The train–test reconstruction gap is {}. ", gap_words(a)));
    } else {
        if runs.iter().all(|r| !significant(r.gap)) {
            s.push_str(&format!(
                "The train–test reconstruction gap is within two standard errors of zero at every size ({:.4} ± {:.4} \
                 at {} images, {:.4} ± {:.4} at {}): by this measure the generator reaches unseen test images as \
                 well as its own training images. ",
                a.gap.0,
                a.gap.1,
                a.label(),
                b.gap.0,
                b.gap.1,
                b.label()
            ));
        } else {
            let trend = if b.gap.0 < a.gap.0 { "shrinks" } else { "does not shrink" };
            s.push_str(&format!(
                "The train–test reconstruction gap {trend} with more data: {} against {}. ",
                gap_words(a),
                gap_words(b)
            ));
        }
        s.push_str(&format!(
            "Training images are reconstructed with MSE {:.4} at {} images and {:.4} at {}; test images with {:.4} \
             and {:.4}. ",
            a.train_mean.0, a.size, b.train_mean.0, b.size, a.test_mean.0, b.test_mean.0
        ));
    }
    let pct = |r: &SizeRun| 100.0 * r.memo.closer_than_heldout_median;
    s.push_str(&format!(
        "In the nearest-neighbour check, {:.1} % of the samples of the {}-image generator lie closer to a training \
         image than the median held-out test image does (median distances {:.2} vs {:.2})",
        pct(a),
        a.size,
        a.memo.generated_median,
        a.memo.heldout_median
    ));
    if runs.len() > 1 {
        s.push_str(&format!(
            ", against {:.1} % at {} images ({:.2} vs {:.2})",
            pct(b),
            b.size,
            b.memo.generated_median,
            b.memo.heldout_median
        ));
    }
    s.push_str(
        "; 50 % means samples are as far from the training set as unseen real images, far above 50 % means \
         near-copies of training images, far below means samples unlike any training image (e.g. blurry or \
         broken ones). ",
    );
    let most =
        runs.iter().max_by(|x, y| x.memo.closer_than_heldout_median.total_cmp(&y.memo.closer_than_heldout_median));
    if let Some(m) = most {
        if m.memo.closer_than_heldout_median > 0.75 {
            s.push_str(&format!(
                "At {} images the generator reproduces its training set: most samples are near-copies. ",
                m.label()
            ));
        }
    }
    s.push_str("One seed per size: read differences smaller than a few standard errors as noise.");
    s
}

/// The Markdown report.
pub fn markdown(r: &Report, o: &Options, load_start: Option<f64>, load_end: Option<f64>) -> String {
    let mut s = String::new();
    s.push_str(&format!("# Generalization sweep: DCGAN on {} with less and more data\n\n", r.dataset.describe()));
    s.push_str(&format!(
        "The same DCGAN, trained for {} steps on {} (seeded, nested random subsets of the {}-image training split), \
         then inverted: for each image x, min_z ‖x − G(z)‖²/784 by Adam ({} steps, lr {}, {} restarts, best kept; \
         G in eval mode), on up to {} images of the training subset and {} test images. MSE in [0, 1] pixel units, \
         mean ± standard error. Nearest-neighbour check: {} generated samples and {} held-out test images against \
         the training subset (Euclidean distance in pixels).\n\n",
        o.steps,
        r.runs.iter().map(|x| x.label()).collect::<Vec<_>>().join(", "),
        r.train_split,
        o.reconstruct.steps,
        o.reconstruct.lr,
        o.reconstruct.restarts,
        o.mre_images,
        o.mre_images.min(r.test_split),
        o.memo_samples,
        o.memo_samples.min(r.test_split),
    ));
    s.push_str(&format!("{}\n\n", r.interpretation));
    s.push_str(
        "## Reconstruction error (MRE)\n\n| training images | batch | epochs | MRE train | MRE test | gap (test − train) | \
         FID | train s | MRE s |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for x in &r.runs {
        let epochs = (x.steps * x.batch) as f64 / x.size as f64;
        s.push_str(&format!(
            "| {} | {} | {:.0} | {:.4} ± {:.4} | {:.4} ± {:.4} | {:.4} ± {:.4} | {} | {:.0} | {:.0} |\n",
            x.label(),
            x.batch,
            epochs,
            x.train_mean.0,
            x.train_mean.1,
            x.test_mean.0,
            x.test_mean.1,
            x.gap.0,
            x.gap.1,
            x.fid.map_or("—".to_string(), |f| format!("{f:.2}")),
            x.train_seconds,
            x.mre_seconds
        ));
    }
    s.push_str(
        "\n## Nearest training image\n\n| training images | generated: mean | generated: median | held-out: mean | \
         held-out: median | generated closer than the held-out median |\n|---:|---:|---:|---:|---:|---:|\n",
    );
    for x in &r.runs {
        s.push_str(&format!(
            "| {} | {:.3} | {:.3} | {:.3} | {:.3} | {:.1} % |\n",
            x.label(),
            x.memo.generated_mean,
            x.memo.generated_median,
            x.memo.heldout_mean,
            x.memo.heldout_median,
            100.0 * x.memo.closer_than_heldout_median
        ));
    }
    s.push_str("\n![MRE vs size](mre.png)\n\n![nearest-neighbour distances vs size](memorisation.png)\n\n");
    for x in &r.runs {
        s.push_str(&format!(
            "{} images: ![samples](samples-{}.png) ![reconstructions](strip-{}.png)\n\n",
            x.label(),
            x.size,
            x.size
        ));
    }
    s.push_str(&format!(
        "## Settings\n\nDCGAN of `images/dcgan.rs` (z ∈ R^{}, Adam 2·10⁻⁴, β₁ 0.5), batch min({MAX_BATCH}, size), \
         {} steps per size; seed {}, device {}{}.{} Wall time {:.0} s; CPU time {} s; 1-minute load average {} at \
         the start, {} at the end.\n",
        image_gans::Z_DIM,
        o.steps,
        o.seed,
        o.device,
        if o.quick { " (--quick)" } else { "" },
        r.classifier_accuracy.map_or(String::new(), |a| format!(
            " FID: {FID_N} samples vs {FID_N} test images on the features of the classifier (test accuracy {:.2} %).",
            100.0 * a
        )),
        r.wall_seconds,
        r.cpu_seconds.map_or("n/a".to_string(), |c| format!("{c:.0}")),
        load_start.map_or("n/a".to_string(), |v| format!("{v:.1}")),
        load_end.map_or("n/a".to_string(), |v| format!("{v:.1}")),
    ));
    s
}

/// Everything as JSON.
pub fn json(r: &Report, o: &Options) -> serde_json::Value {
    let runs: Vec<serde_json::Value> = r
        .runs
        .iter()
        .map(|x| {
            serde_json::json!({
                "size": x.size, "full": x.full, "batch": x.batch, "steps": x.steps,
                "mre_train_mean": x.train_mean.0, "mre_train_se": x.train_mean.1,
                "mre_test_mean": x.test_mean.0, "mre_test_se": x.test_mean.1,
                "gap_mean": x.gap.0, "gap_se": x.gap.1,
                "mre_train": x.train_mre, "mre_test": x.test_mre,
                "memorisation": {
                    "generated_mean": x.memo.generated_mean, "generated_median": x.memo.generated_median,
                    "heldout_mean": x.memo.heldout_mean, "heldout_median": x.memo.heldout_median,
                    "closer_than_heldout_median": x.memo.closer_than_heldout_median,
                    "generated_n": x.memo.generated.len(), "heldout_n": x.memo.heldout.len(),
                },
                "fid": x.fid,
                "final_d_loss": x.final_d_loss, "final_g_loss": x.final_g_loss,
                "train_seconds": x.train_seconds, "mre_seconds": x.mre_seconds,
            })
        })
        .collect();
    serde_json::json!({
        "dataset": r.dataset.name(), "description": r.dataset.describe(),
        "train_split": r.train_split, "test_split": r.test_split,
        "settings": {
            "steps": o.steps, "seed": o.seed, "device": o.device.to_string(), "quick": o.quick,
            "mre_images": o.mre_images, "reconstruct_steps": o.reconstruct.steps, "reconstruct_lr": o.reconstruct.lr,
            "reconstruct_restarts": o.reconstruct.restarts, "memo_samples": o.memo_samples, "fid": o.fid,
            "max_batch": MAX_BATCH, "z_dim": image_gans::Z_DIM, "mse_units": "pixels in [0, 1]",
        },
        "classifier_accuracy": r.classifier_accuracy,
        "runs": runs,
        "interpretation": r.interpretation,
        "timing": { "wall_seconds": r.wall_seconds, "cpu_seconds": r.cpu_seconds },
    })
}
