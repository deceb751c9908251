//! The imbalanced data sets of the imbalance lab: how many training images each class keeps, how
//! they are drawn, and the two test sets.
//!
//! ```text
//! lt100     [4000, 2000, 1000, 750, 500, 350, 200, 100, 60, 40]   GAMO / DeepSMOTE (ratio 100)
//! lt10      [4000, 3097, 2398, 1857, 1438, 1113, 862, 667, 517, 400]  4000·10^(−k/9) (ratio 10)
//! bagan-gp  [4166, 73, 139, 210, 287, 370, 422, 387, 545, 651]    BAGAN-GP's Fashion-MNIST long tail
//! imbalanced test  [1000, 500, 250, 187, 125, 87, 50, 25, 15, 10]  DeepSMOTE's Table II
//! ```
//!
//! A profile's images are drawn without replacement from the training split of the data set
//! (the first 50,000 official training images; `data::mnist`): for each class, the first `count`
//! entries of a seeded permutation of that class's images. Then 10 % of each class (at least one
//! image) is held out as the validation set, used only to pick the classifier's best step and
//! never trained on; the rest is the training set every arm (and every generator) sees. The
//! balanced test set is the official 10,000 test images; the imbalanced test set is drawn from
//! it the same way (first entries of a seeded per-class permutation).

use minmax_engine::{Error, Generator as Rng, Result};

use crate::data::mnist::NUM_CLASSES;
use crate::data::Dataset;

/// Images per class of a training profile, classes 0…9.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profile {
    /// GAMO / DeepSMOTE's long tail, imbalance ratio 100.
    Lt100,
    /// An exponential long tail from 4,000 to 400, ratio 10.
    Lt10,
    /// BAGAN-GP's Fashion-MNIST long tail (class 0 the majority).
    BaganGp,
    /// A balanced set of this many images per class (the small-data curve).
    Balanced(usize),
    /// Given counts (the ceiling arm: every image of the training split).
    Counts([usize; NUM_CLASSES]),
}

impl Profile {
    pub fn parse(s: &str) -> Result<Profile> {
        match s.trim() {
            "lt100" => Ok(Profile::Lt100),
            "lt10" => Ok(Profile::Lt10),
            "bagan-gp" => Ok(Profile::BaganGp),
            other => {
                Err(Error::msg(format!("--profile: unknown profile '{other}' (expected lt100, lt10 or bagan-gp)")))
            }
        }
    }
    pub fn name(self) -> String {
        match self {
            Profile::Lt100 => "lt100".into(),
            Profile::Lt10 => "lt10".into(),
            Profile::BaganGp => "bagan-gp".into(),
            Profile::Balanced(n) => format!("balanced-{n}"),
            Profile::Counts(c) => format!("counts-{}", c.iter().sum::<usize>()),
        }
    }
    /// Images per class before the validation split.
    pub fn counts(self) -> [usize; NUM_CLASSES] {
        match self {
            Profile::Lt100 => [4000, 2000, 1000, 750, 500, 350, 200, 100, 60, 40],
            // 4000 · 10^(−k/9), rounded: ratio exactly 10 between the first and last class.
            Profile::Lt10 => std::array::from_fn(|k| (4000.0 * 10f64.powf(-(k as f64) / 9.0)).round() as usize),
            Profile::BaganGp => [4166, 73, 139, 210, 287, 370, 422, 387, 545, 651],
            Profile::Balanced(n) => [n; NUM_CLASSES],
            Profile::Counts(c) => c,
        }
    }
}

/// DeepSMOTE's imbalanced test set (Table II), drawn from the official test images.
pub const IMBALANCED_TEST: [usize; NUM_CLASSES] = [1000, 500, 250, 187, 125, 87, 50, 25, 15, 10];

/// The share of each class held out for validation (at least one image per class).
pub const VALID_SHARE: f64 = 0.1;

/// For every class, the first `counts[k]` images of a seeded permutation of its images in `data`
/// (indices into `data`, class after class). Refuses a count the data set cannot supply.
pub fn draw_per_class(
    data: &Dataset,
    counts: &[usize; NUM_CLASSES],
    rng: &mut Rng,
    what: &str,
) -> Result<Vec<Vec<usize>>> {
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); NUM_CLASSES];
    for (i, &l) in data.labels().iter().enumerate() {
        if (l as usize) < NUM_CLASSES {
            by_class[l as usize].push(i);
        }
    }
    by_class
        .into_iter()
        .zip(counts)
        .enumerate()
        .map(|(k, (members, &want))| {
            if want > members.len() {
                return Err(Error::msg(format!(
                    "{what}: class {k} needs {want} images but the data set holds only {}",
                    members.len()
                )));
            }
            let order = rng.permutation(members.len());
            Ok(order[..want].iter().map(|&j| members[j]).collect())
        })
        .collect()
}

/// A profile's training and validation sets, drawn from `train_split` with `seed`.
pub struct Drawn {
    pub train: Dataset,
    pub valid: Dataset,
}

/// Draw `profile` from `train_split` (module docs).
pub fn draw(train_split: &Dataset, profile: Profile, seed: u64) -> Result<Drawn> {
    let mut rng = Rng::new(seed);
    let per_class = draw_per_class(train_split, &profile.counts(), &mut rng, &format!("profile {}", profile.name()))?;
    let (mut train, mut valid) = (Vec::new(), Vec::new());
    for members in per_class {
        let v = valid_count(members.len());
        valid.extend_from_slice(&members[..v]);
        train.extend_from_slice(&members[v..]);
    }
    Ok(Drawn { train: train_split.subset(&train)?, valid: train_split.subset(&valid)? })
}

/// Validation images held out of a class of `n`: 10 %, rounded, at least 1 (none of a class of 1).
pub fn valid_count(n: usize) -> usize {
    if n < 2 {
        return 0;
    }
    ((n as f64 * VALID_SHARE).round() as usize).clamp(1, n - 1)
}

/// The imbalanced test subset of the official test images. A class with fewer test images than
/// its count keeps them all (MNIST's test set holds 980 zeros, not 1,000); the report gives the
/// counts used.
pub fn imbalanced_test(test: &Dataset, seed: u64) -> Result<Dataset> {
    let mut rng = Rng::new(seed);
    let have = class_counts(test);
    let counts: [usize; NUM_CLASSES] = std::array::from_fn(|k| IMBALANCED_TEST[k].min(have[k]));
    let per_class = draw_per_class(test, &counts, &mut rng, "imbalanced test set")?;
    test.subset(&per_class.concat())
}

/// Images per class 0…9 of `data`.
pub fn class_counts(data: &Dataset) -> [usize; NUM_CLASSES] {
    let c = data.label_counts();
    std::array::from_fn(|k| c[k])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 600 images per class, image i holding the value i in its one pixel.
    fn pool() -> Dataset {
        let n = 6000;
        Dataset::new((0..n).map(|i| i as f32).collect(), (0..n).map(|i| (i % 10) as u8).collect(), 1, 1).unwrap()
    }

    #[test]
    fn the_profiles_have_the_published_counts() {
        assert_eq!(Profile::Lt100.counts(), [4000, 2000, 1000, 750, 500, 350, 200, 100, 60, 40]);
        assert_eq!(Profile::Lt100.counts().iter().sum::<usize>(), 9000);
        let lt10 = Profile::Lt10.counts();
        assert_eq!(lt10, [4000, 3097, 2398, 1857, 1438, 1113, 862, 667, 517, 400]);
        assert!(lt10.windows(2).all(|w| w[0] > w[1]), "{lt10:?}");
        assert_eq!(Profile::BaganGp.counts(), [4166, 73, 139, 210, 287, 370, 422, 387, 545, 651]);
        assert_eq!(IMBALANCED_TEST.iter().sum::<usize>(), 2249);
        assert_eq!(Profile::parse("lt10").unwrap(), Profile::Lt10);
        assert!(Profile::parse("lt5").unwrap_err().to_string().contains("'lt5'"));
        // 10 % held out, at least one, never the whole class.
        assert_eq!(
            [valid_count(4000), valid_count(40), valid_count(4), valid_count(2), valid_count(1)],
            [400, 4, 1, 1, 0]
        );
    }

    #[test]
    fn draws_are_per_class_without_replacement_seeded_and_split() -> Result<()> {
        let data = pool();
        let d = draw(&data, Profile::Balanced(50), 7)?;
        assert_eq!(class_counts(&d.train), [45; 10]);
        assert_eq!(class_counts(&d.valid), [5; 10]);
        // No image twice, none in both sets.
        let mut seen: Vec<f32> = d.train.images().iter().chain(d.valid.images()).copied().collect();
        seen.sort_by(f32::total_cmp);
        seen.dedup();
        assert_eq!(seen.len(), 500);
        // Labels travel with their images.
        assert!(d.train.images().iter().zip(d.train.labels()).all(|(&v, &l)| v as usize % 10 == l as usize));
        assert_eq!(draw(&data, Profile::Balanced(50), 7)?.train, d.train, "same seed, same draw");
        assert_ne!(draw(&data, Profile::Balanced(50), 8)?.train, d.train);
        let e = draw(&data, Profile::Lt100, 0).err().unwrap().to_string();
        assert!(e.contains("class 0 needs 4000") && e.contains("600"), "{e}");
        Ok(())
    }
}
