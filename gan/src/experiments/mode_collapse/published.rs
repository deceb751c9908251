//! The published rows the mode-collapse lab prints beside its own (VEEGAN, PacGAN), with their
//! sources and which of our models each compares with.

/// A published row: (source, data set, model name in the paper, our model, modes, % HQ).
/// `None` where the number is not quoted here. Modes as "a–b" ranges are given as text.
pub struct Published {
    pub source: &'static str,
    pub dataset: &'static str,
    pub model: &'static str,
    /// Our model the row corresponds to.
    pub ours: &'static [&'static str],
    pub modes: &'static str,
    pub hq: &'static str,
}

/// VEEGAN (Srivastava et al. 2017, Table 1) and PacGAN (Lin et al. 2018, Table 2). Their nets,
/// step counts and (for PacGAN's ring) the ring's scale differ from ours; the rows are for
/// orientation, not a like-for-like comparison.
pub const PUBLISHED: &[Published] = &[
    Published { source: "VEEGAN", dataset: "ring8", model: "GAN", ours: &["vanilla"], modes: "1", hq: "99.3" },
    Published {
        source: "VEEGAN",
        dataset: "ring8",
        model: "Unrolled GAN",
        ours: &["unrolled5", "unrolled10"],
        modes: "7.6",
        hq: "35.6",
    },
    Published { source: "PacGAN", dataset: "ring8", model: "GAN", ours: &["vanilla"], modes: "6.3", hq: "98.2" },
    Published {
        source: "PacGAN",
        dataset: "ring8",
        model: "PacGAN2–4",
        ours: &["pacgan2", "pacgan3", "pacgan4"],
        modes: "7.8–7.9",
        hq: "—",
    },
    Published { source: "VEEGAN", dataset: "grid25", model: "GAN", ours: &["vanilla"], modes: "3.3", hq: "0.5" },
    Published {
        source: "VEEGAN",
        dataset: "grid25",
        model: "Unrolled GAN",
        ours: &["unrolled5", "unrolled10"],
        modes: "23.6",
        hq: "16",
    },
    Published { source: "PacGAN", dataset: "grid25", model: "GAN", ours: &["vanilla"], modes: "17.3", hq: "94.8" },
    Published {
        source: "PacGAN",
        dataset: "grid25",
        model: "PacGAN2–4",
        ours: &["pacgan2", "pacgan3", "pacgan4"],
        modes: "23.8–24.8",
        hq: "—",
    },
];

pub(super) fn published_for(dataset: &str, model: &str) -> Vec<&'static Published> {
    // ring8-pac is PacGAN's own ring; its rows are the ring rows.
    let ds = if dataset == "ring8-pac" { "ring8" } else { dataset };
    PUBLISHED.iter().filter(|p| p.dataset == ds && p.ours.contains(&model)).collect()
}
