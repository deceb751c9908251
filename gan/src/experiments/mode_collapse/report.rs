//! The mode-collapse lab's report: mean ± standard error over seeds, the published rows beside
//! ours, timing, and the JSON.

use super::*;

/// CPU time (user + system) this process has used so far, in seconds (`None` where the system
/// does not tell).
pub fn cpu_seconds() -> Option<f64> {
    cpu_time::ProcessTime::try_now().ok().map(|t| t.as_duration().as_secs_f64())
}

/// CPU time of the calling thread, in seconds (`None` where the system does not tell).
pub fn thread_cpu_seconds() -> Option<f64> {
    cpu_time::ThreadTime::try_now().ok().map(|t| t.as_duration().as_secs_f64())
}

/// The machine's 1-minute load average (Linux), to record how busy the CPU was.
pub fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg").ok()?.split_whitespace().next()?.parse().ok()
}

fn pm(v: (f64, f64), digits: usize) -> String {
    format!("{:.*} ± {:.*}", digits, v.0, digits, v.1)
}

/// How long the lab took, and how busy the machine was.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    pub wall_seconds: f64,
    /// CPU time of the process (user + system) during the lab's runs.
    pub cpu_seconds: Option<f64>,
    pub workers: usize,
    pub cores: usize,
    pub load_start: Option<f64>,
    pub load_end: Option<f64>,
}

impl Timing {
    fn sentence(&self) -> String {
        let opt = |v: Option<f64>, d: usize| v.map_or("n/a".to_string(), |v| format!("{v:.d$}"));
        let busy = self.workers.min(self.cores).max(1);
        format!(
            "Wall time {:.0} s with {} worker thread(s) on {} core(s); CPU time {} s (about {} s of \
             wall time on {} otherwise idle core(s)); 1-minute load average {} at the start, {} at \
             the end.",
            self.wall_seconds,
            self.workers,
            self.cores,
            opt(self.cpu_seconds, 0),
            opt(self.cpu_seconds.map(|c| c / busy as f64), 0),
            busy,
            opt(self.load_start, 1),
            opt(self.load_end, 1),
        )
    }
}

/// The shared settings in words, for the report.
fn settings_paragraph(o: &Options) -> String {
    if o.preset == Preset::Pacgan {
        return format!(
            "Settings (`--preset pacgan`, from PacGAN's released code for its synthetic experiments): G: z ~ N(0, I₂) → \
             400 → 400 → 400 → 400 → 2, batch norm and ReLU after each hidden layer; D (PacGAN: on packs of m samples \
             side by side): three maxout layers of 200 units × 5 pieces → 1 logit; weights N(0, 0.02²), biases 0; \
             Adam, lr 1e-4 for G and D, β = (0.8, 0.999); batch 100 (PacGAN: 100 packs of m); non-saturating G loss; \
             no learning-rate decay; {} iterations per run. Where we differ from the authors' code: they trained \
             400 epochs of 1,000 minibatches (400,000 iterations) — our budget is in the tables; they drew \
             minibatches from a fixed set of 100,000 points, we draw fresh ones; they updated D and G \
             simultaneously from one minibatch, we update D, then G against the updated D on the same samples; \
             our batch norm uses the statistics of the batch also when sampling (2,500 at a time); G's hidden \
             layers keep a bias before batch norm (the same functions).\n\n",
            plan("vanilla", &Mixture::ring8_pac(), o.steps, o.quick, o.preset).steps
        );
    }
    if o.preset == Preset::Unrolled {
        let p = plan("vanilla", &Mixture::ring8(), o.steps, o.quick, o.preset);
        return format!(
            "Settings (`--preset unrolled`, the unrolled GAN paper's 2-D ring: Metz et al. 2017, §3.1 and \
             Appendix A): G: z ~ N(0, I₂₅₆) → 128 → 128 → 2 with ReLU; D: x/4 → 128 (ReLU) → 1 logit; every \
             weight orthogonal with gain 0.8, biases 0; Adam, lr 1e-4 for G and D, β = (0.5, 0.999); batch 512; \
             no learning-rate decay; one D step, then one G step, per iteration ({} iterations, i.e. {} of the \
             paper's alternating steps). `vanilla-sat` is the paper's GAN (G minimises log(1 − D(G(z))), the \
             minimax game); `vanilla` uses the non-saturating loss −log D(G(z)). Unrolled GAN: k SGD steps of D \
             with η = {} inside G's loss (the paper differentiates through D's Adam update instead), non-saturating \
             G loss at the unrolled D, all k steps on the iteration's batch. Not stated in the paper and chosen \
             here: the batch (512, the authors' demo notebook's), D's hidden width (128, as G's), β₂ and ε \
             (TensorFlow's defaults). The authors' demo notebook differs (tanh nets, gain 1.4, radius 1, σ 0.01, \
             and angles `linspace(0, 2π, 8)`, whose first and last means coincide: 7 distinct modes).\n\n",
            p.steps,
            2 * p.steps,
            p.unroll_lr
        );
    }
    let p = plan("vanilla", &Mixture::ring8(), o.steps, o.quick, o.preset);
    let c = &p.common;
    format!(
        "Settings (every model): G: z ~ N(0, I_{z}) → {gh} → {gh} → X ({ga}); D: X → {dh} → {dh} → 1 \
         ({da}); batch {b} (PacGAN: {b} packs of m samples); Adam, lr {lr} for G and D, β = ({b1}, {b2}); \
         both learning rates decay linearly from {from:.0} % of training to {floor:.0} % of their value \
         at the end. Vanilla: one D step and one G step per iteration on the same samples; saturating \
         variant: G minimises log(1 − D(G(z))). WGAN-GP: λ = {lambda}, {nc} critic steps per G step. \
         Unrolled GAN: k SGD steps of D with η = {eta}, built with create_graph so G's gradient flows \
         through them; all k steps reuse the iteration's batch. Iterations are in the tables.\n\n",
        z = c.z_dim,
        gh = c.g_hidden,
        ga = c.g_act.name(),
        dh = c.d_hidden,
        da = c.d_act.name(),
        b = c.batch_size,
        lr = c.lr_g,
        b1 = c.betas.0,
        b2 = c.betas.1,
        from = 100.0 * p.decay_from,
        floor = 100.0 * p.lr_floor,
        lambda = p.gp_lambda,
        nc = p.n_critic,
        eta = p.unroll_lr,
    )
}

/// The Markdown report: one table per data set, our rows beside the published ones.
pub fn markdown(sums: &[Summary], o: &Options, t: &Timing) -> String {
    let mut s = String::new();
    s.push_str(&format!("# Mode collapse on 2-D mixtures (preset {})\n\n", o.preset.name()));
    s.push_str(&format!(
        "{} seed(s) per configuration, {} samples per evaluation, mean ± standard error over seeds. \
         A sample is high quality (HQ) if it lies within 3σ of its nearest mode; a mode is covered if \
         it has at least one HQ sample. KL(p̂‖u) is PacGAN's reverse KL between the histogram of HQ \
         samples over modes and the uniform distribution, KL(u‖p̂) the other direction (empty modes \
         floored at ε = {} before both). Read modes and % HQ together.\n\n",
        o.seeds,
        EVAL_SAMPLES,
        crate::metrics::modes::KL_EPSILON
    ));
    for d in &o.datasets {
        let Ok(mix) = Mixture::by_name(d) else {
            continue;
        };
        s.push_str(&format!(
            "## {d}: {} modes, σ = {}\n\n| model | iterations | CPU s/run | modes (of {}) | % HQ | KL(p̂‖u) | KL(u‖p̂) | published: modes / % HQ |\n|---|---:|---:|---:|---:|---:|---:|---|\n",
            mix.modes(),
            mix.std,
            mix.modes()
        ));
        for x in sums.iter().filter(|x| &x.dataset == d) {
            let published: Vec<String> = published_for(d, &x.model)
                .iter()
                .map(|p| format!("{} {}: {} / {}", p.source, p.model, p.modes, p.hq))
                .collect();
            s.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} | {} |\n",
                x.model,
                x.steps,
                x.cpu_per_run.map_or("n/a".to_string(), |c| format!("{c:.1}")),
                pm(x.modes, 1),
                pm(x.hq, 1),
                pm(x.kl, 3),
                pm(x.kl_forward, 2),
                if published.is_empty() { "—".to_string() } else { published.join("; ") }
            ));
        }
        s.push_str(&format!(
            "\nWhere G's samples sat during training ({TRACK_POINTS} evenly spaced checkpoints, or one per iteration in shorter runs; {TRACK_SAMPLES} \
             samples each, every seed): a checkpoint is *collapsed* when at least {:.0} % of the samples are \
             nearest one mode (HQ or not); *modes visited* counts the distinct modes of the collapsed \
             checkpoints, *hops* the changes of mode between consecutive collapsed ones.\n\n\
             | model | collapsed checkpoints % | modes visited | hops |\n|---|---:|---:|---:|\n",
            100.0 * crate::metrics::modes::COLLAPSE_SHARE
        ));
        for x in sums.iter().filter(|x| &x.dataset == d) {
            s.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                x.model,
                pm(x.collapsed_percent, 0),
                pm(x.modes_visited, 1),
                pm(x.hops, 1)
            ));
        }
        s.push('\n');
    }
    s.push_str(&settings_paragraph(o));
    s.push_str(&format!("Device {}. ", o.device));
    s.push_str(&t.sentence());
    s.push('\n');
    s.push_str(
        "\nPublished rows: VEEGAN (Srivastava et al. 2017) and PacGAN (Lin et al. 2018), with their own \
         (larger) networks and training lengths; PacGAN's ring has radius 1 and σ = 0.01 (our `ring8-pac`), \
         the ring usually cited for the unrolled GAN has radius 2 and σ = 0.02 (our `ring8`).\n",
    );
    s
}

/// Everything as JSON: options, per-run numbers and settings, summaries, published rows.
pub fn json(results: &[RunResult], sums: &[Summary], o: &Options, t: &Timing) -> serde_json::Value {
    let runs: Vec<serde_json::Value> = results
        .iter()
        .map(|r| {
            serde_json::json!({
                "dataset": r.dataset, "model": r.model, "seed": r.seed, "iterations": r.steps,
                "modes_covered": r.stats.modes_covered, "modes_total": r.stats.modes_total,
                "hq_percent": r.stats.hq_percent, "kl": r.stats.kl, "kl_forward": r.stats.kl_forward,
                "hq_counts_per_mode": r.stats.counts, "seconds": r.seconds, "cpu_seconds": r.cpu_seconds,
                "hopping": {
                    "checkpoints": r.hopping.checkpoints, "collapsed": r.hopping.collapsed,
                    "modes_visited": r.hopping.modes_visited, "hops": r.hopping.hops,
                },
                "track": r.track.iter().map(|(step, shares)| serde_json::json!({
                    "iteration": step, "nearest_mode_shares": shares,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let mut settings = serde_json::Map::new();
    for r in results.iter().filter(|r| r.seed == 0) {
        settings.insert(format!("{}/{}", r.model, r.dataset), r.settings.clone());
    }
    let summaries: Vec<serde_json::Value> = sums
        .iter()
        .map(|x| {
            serde_json::json!({
                "dataset": x.dataset, "model": x.model, "seeds": x.seeds, "iterations": x.steps,
                "modes_mean": x.modes.0, "modes_se": x.modes.1, "modes_total": x.modes_total,
                "hq_percent_mean": x.hq.0, "hq_percent_se": x.hq.1,
                "kl_mean": x.kl.0, "kl_se": x.kl.1, "kl_forward_mean": x.kl_forward.0, "kl_forward_se": x.kl_forward.1,
                "train_seconds_total": x.seconds, "cpu_seconds_per_run": x.cpu_per_run,
                "published": published_for(&x.dataset, &x.model).iter().map(|p| serde_json::json!({
                    "source": p.source, "model": p.model, "modes": p.modes, "hq_percent": p.hq,
                })).collect::<Vec<_>>(),
                // The same numbers nested, as the lab's schema names them.
                "preset": o.preset.name(),
                "modes": {"mean": x.modes.0, "se": x.modes.1, "total": x.modes_total},
                "hq_percent": {"mean": x.hq.0, "se": x.hq.1},
                "kl": {"mean": x.kl.0, "se": x.kl.1},
                "hopping": {
                    "collapsed_percent": {"mean": x.collapsed_percent.0, "se": x.collapsed_percent.1},
                    "modes_visited": {"mean": x.modes_visited.0, "se": x.modes_visited.1},
                    "hops": {"mean": x.hops.0, "se": x.hops.1},
                },
            })
        })
        .collect();
    let datasets: Vec<serde_json::Value> = o
        .datasets
        .iter()
        .filter_map(|d| Mixture::by_name(d).ok())
        .map(|m| serde_json::json!({"name": m.name, "means": m.means, "std": m.std}))
        .collect();
    serde_json::json!({
        "preset": o.preset.name(),
        "protocol": {
            "seeds": o.seeds, "eval_samples": EVAL_SAMPLES, "hq_radius": "3 std",
            "mode_covered": "at least one high-quality sample",
            "kl": "KL(p_hat || uniform), p_hat = histogram of HQ samples over modes (PacGAN's reverse KL)",
            "kl_forward": "KL(uniform || p_hat)", "kl_epsilon": crate::metrics::modes::KL_EPSILON,
            "error": "standard error of the mean over seeds",
            "hopping": format!("{TRACK_POINTS} checkpoints of {TRACK_SAMPLES} samples; collapsed = at least {} of the samples nearest one mode", crate::metrics::modes::COLLAPSE_SHARE),
        },
        "datasets": datasets, "settings": settings, "summaries": summaries, "runs": runs,
        "timing": {
            "wall_seconds": t.wall_seconds, "cpu_seconds": t.cpu_seconds, "workers": t.workers, "device": o.device.to_string(),
            "cores": t.cores, "load_average_start": t.load_start, "load_average_end": t.load_end,
        },
    })
}

/// Display time of one animation frame (the last is held four times as long).
pub const GIF_FRAME_MS: u32 = 150;

/// Run the lab and write the report and pictures into `o.out`; returns the Markdown report.
pub fn run(o: &Options) -> Result<String> {
    std::fs::create_dir_all(&o.out).map_err(|e| Error::Io { path: o.out.clone(), source: e })?;
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let load_start = load_average();
    let t0 = Instant::now();
    let cpu0 = cpu_seconds();
    let results = run_all(o)?;
    let timing = Timing {
        wall_seconds: t0.elapsed().as_secs_f64(),
        // this run's CPU time (the process may have run others before: a notebook, a test)
        cpu_seconds: cpu_seconds().zip(cpu0).map(|(b, a)| b - a),
        workers: o.workers.unwrap_or(cores).min(results.len()).max(1),
        cores,
        load_start,
        load_end: load_average(),
    };
    let sums = summarise(&results, o);
    for r in results.iter().filter(|r| !r.panels.is_empty()) {
        let panels: Vec<RgbImage> = r.panels.iter().map(|(_, p)| p.clone()).collect();
        let title = format!("{} on {}, seed 0", r.model, r.dataset);
        let legend = if r.settings["model"] == "WGAN-GP" {
            "critic score: blue = low, red = high (scaled per panel)"
        } else {
            "D(x): blue = fake (0), white = 0.5, red = real (1)"
        };
        let samples = if Mixture::by_name(&r.dataset).is_ok_and(|m| m.dim == 1) {
            "black curve: D(x); grey: histogram of real samples; green: of generated ones"
        } else {
            "black: real samples, 3σ circles; green: generated"
        };
        let legend = format!("{legend}; {samples}; bars: HQ samples per mode (dotted: uniform)");
        let img = crate::viz::mode_collapse::strip(&title, &legend, &panels);
        crate::viz::save_png(&img, &o.out.join(format!("{}-{}.png", r.model, r.dataset)))?;
    }
    for r in results.iter().filter(|r| !r.frames.is_empty()) {
        let gif = crate::viz::mode_collapse::animation(&r.frames, GIF_FRAME_MS)?;
        minmax_engine::io::write_atomic(&o.out.join(format!("{}-{}.gif", r.model, r.dataset)), &gif)?;
    }
    let md = markdown(&sums, o, &timing);
    minmax_engine::io::write_atomic(&o.out.join("report.md"), md.as_bytes())?;
    let js = serde_json::to_string_pretty(&json(&results, &sums, o, &timing))
        .map_err(|e| Error::msg(format!("report.json: {e}")))?;
    minmax_engine::io::write_atomic(&o.out.join("report.json"), js.as_bytes())?;
    Ok(md)
}
