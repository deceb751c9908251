//! Unit tests of the IDX reader and writer (`data/idx.rs`): round trips, raw and gzipped;
//! malformed files and gzip bombs refused with errors that name the file; the writer's own
//! checks. `TempDir` is shared with the other data tests.

use super::*;
use std::path::PathBuf;

/// A fresh, empty folder under the system temp dir, removed when dropped.
pub(crate) struct TempDir(pub PathBuf);
impl TempDir {
    pub(crate) fn new(tag: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "minmax-test-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
    pub(crate) fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Three 2x3 images with distinct pixels, and their labels.
fn sample_images() -> IdxImages {
    IdxImages { n: 3, rows: 2, cols: 3, pixels: (0..18).map(|i| (i * 14) as u8).collect() }
}

/// The raw bytes of a valid images file for `sample_images`.
fn sample_image_bytes() -> Vec<u8> {
    let mut b = vec![0, 0, 0x08, 3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 3];
    b.extend(sample_images().pixels);
    b
}

/// Write `bytes` to `name` in `dir`, parse it, and return the error message.
fn error_for(dir: &TempDir, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    match read_idx(&path) {
        Ok(idx) => panic!("{name}: expected an error, parsed {:?}", idx.dims),
        Err(e) => e.to_string(),
    }
}

/// Assert the message names the file and contains every one of `needles`.
fn assert_names(msg: &str, file: &str, needles: &[&str]) {
    assert!(msg.contains(file), "message does not name {file}: {msg}");
    for n in needles {
        assert!(msg.contains(n), "message lacks {n:?}: {msg}");
    }
}

#[test]
fn data_idx_round_trip_raw_and_gzipped() {
    let dir = TempDir::new("idx-round-trip");
    let images = sample_images();
    let labels = vec![7u8, 0, 9];
    for gzip in [false, true] {
        let (ip, lp) = (dir.join(&format!("i{gzip}")), dir.join(&format!("l{gzip}")));
        write_images(&ip, &images, gzip).unwrap();
        write_labels(&lp, &labels, gzip).unwrap();
        let on_disk = std::fs::read(&ip).unwrap();
        assert_eq!(on_disk.starts_with(&GZIP_MAGIC), gzip);
        let (back_images, back_labels) = read_pair(&ip, &lp).unwrap();
        assert_eq!(back_images, images);
        assert_eq!(back_labels, labels);
    }
    // The raw writer produces exactly the documented header.
    write_images(dir.join("raw"), &images, false).unwrap();
    assert_eq!(std::fs::read(dir.join("raw")).unwrap(), sample_image_bytes());
    // No temp files are left behind.
    let leftovers: Vec<_> = std::fs::read_dir(&dir.0)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn data_idx_rejects_malformed_files() {
    let dir = TempDir::new("idx-malformed");
    let good = sample_image_bytes();

    let msg = error_for(&dir, "empty", &[]);
    assert_names(&msg, "empty", &["is empty"]);

    let msg = error_for(&dir, "short-magic", &[0, 0]);
    assert_names(&msg, "short-magic", &["header is truncated", "got 2"]);

    let msg = error_for(&dir, "bad-magic", b"PK\x03\x04 not an idx file");
    assert_names(&msg, "bad-magic", &["bad magic number 0x504B0304"]);

    let mut b = good.clone();
    b[2] = 0x0D;
    let msg = error_for(&dir, "float-type", &b);
    assert_names(&msg, "float-type", &["type code 0x0D", "f32", "only 0x08"]);

    let mut b = good.clone();
    b[2] = 0x42;
    let msg = error_for(&dir, "unknown-type", &b);
    assert_names(&msg, "unknown-type", &["type code 0x42", "not a valid IDX type"]);

    let msg = error_for(&dir, "zero-dims", &[0, 0, 8, 0, 1, 2, 3]);
    assert_names(&msg, "zero-dims", &["0 dims"]);

    let msg = error_for(&dir, "short-header", &good[..10]);
    assert_names(&msg, "short-header", &["header is truncated", "16-byte header", "only 10 bytes"]);

    let msg = error_for(&dir, "short-data", &good[..good.len() - 5]);
    assert_names(&msg, "short-data", &["data is truncated", "need 18 bytes", "got 13"]);

    let mut b = good.clone();
    b.extend_from_slice(b"junk");
    let msg = error_for(&dir, "trailing", &b);
    assert_names(&msg, "trailing", &["4 trailing bytes", "exactly 18", "got 22"]);

    let mut b = good.clone();
    b[8..12].copy_from_slice(&0u32.to_be_bytes());
    let msg = error_for(&dir, "zero-dim", &b);
    assert_names(&msg, "zero-dim", &["dim 1 of [3, 0, 3] is 0"]);

    let mut b = vec![0, 0, 8, 3];
    b.extend(std::iter::repeat_n(0xFF, 12)); // three dims of 4294967295
    let msg = error_for(&dir, "overflow", &b);
    assert_names(&msg, "overflow", &["overflow"]);

    // A valid gzip header followed by garbage, and a gzip stream cut in half.
    let mut gz = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];
    gz.extend_from_slice(b"\xff\xff\xff garbage, not deflate");
    let msg = error_for(&dir, "corrupt.gz", &gz);
    assert_names(&msg, "corrupt.gz", &["gzip stream is corrupt"]);
    write_idx(dir.join("whole.gz"), &[3, 2, 3], &sample_images().pixels, true).unwrap();
    let whole = std::fs::read(dir.join("whole.gz")).unwrap();
    let msg = error_for(&dir, "cut.gz", &whole[..whole.len() / 2]);
    assert_names(&msg, "cut.gz", &["gzip stream is corrupt or truncated"]);

    // Gzip wrapping is transparent: errors inside a .gz still name the file.
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(&good[..good.len() - 1]).unwrap();
    let msg = error_for(&dir, "short-inside.gz", &enc.finish().unwrap());
    assert_names(&msg, "short-inside.gz", &["data is truncated", "got 17"]);

    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(&[]).unwrap();
    let msg = error_for(&dir, "empty-inside.gz", &enc.finish().unwrap());
    assert_names(&msg, "empty-inside.gz", &["decompresses to 0 bytes"]);

    // A missing file is an I/O error that names the path.
    let msg = read_idx(dir.join("missing")).unwrap_err().to_string();
    assert_names(&msg, "missing", &[]);
}

/// A gzip file (several members, as `MultiGzDecoder` reads them) that decompresses to
/// `prefix` followed by `mib` MiB of zeros. Each zero member is built once, so a 1 GiB bomb
/// is about 1 MB on disk and quick to make.
fn gzip_bomb(prefix: &[u8], mib: usize) -> Vec<u8> {
    let gz = |bytes: &[u8]| {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(bytes).unwrap();
        enc.finish().unwrap()
    };
    let zeros = gz(&vec![0u8; 1 << 20]);
    let mut out = gz(prefix);
    for _ in 0..mib {
        out.extend_from_slice(&zeros);
    }
    out
}

#[test]
fn data_idx_refuses_gzip_bombs_after_the_header() {
    let dir = TempDir::new("idx-bomb");
    // 1 GiB of zeros behind a header that declares 65536 x 65536 bytes (4 GiB): refused from
    // the header, before the data is inflated.
    let mut header = vec![0, 0, 8, 3];
    for d in [65536u32, 65536, 1] {
        header.extend_from_slice(&d.to_be_bytes());
    }
    let bomb = gzip_bomb(&header, 1024);
    assert!(bomb.len() < 2 << 20, "the bomb is {} bytes", bomb.len());
    let msg = error_for(&dir, "huge.gz", &bomb);
    assert_names(&msg, "huge.gz", &["declare 4294967296 data bytes", "more than the limit"]);

    // A header that declares 18 bytes, then 1 GiB of zeros: only the declared bytes (plus a
    // bounded count of the rest) are inflated.
    let mut good = sample_image_bytes();
    good.extend_from_slice(&[0; 5]);
    let msg = error_for(&dir, "trailing-bomb.gz", &gzip_bomb(&good, 1024));
    assert_names(&msg, "trailing-bomb.gz", &["trailing bytes", "or more", "exactly 18"]);

    // The same limit for raw files; a raw file shorter than its header says is refused from
    // its size, without reading or allocating the declared amount.
    let msg = error_for(&dir, "huge.raw", &header);
    assert_names(&msg, "huge.raw", &["more than the limit"]);
    let mut b = vec![0, 0, 8, 1];
    b.extend_from_slice(&(1u32 << 30).to_be_bytes());
    let msg = error_for(&dir, "short.raw", &b);
    assert_names(&msg, "short.raw", &["data is truncated", "need 1073741824 bytes", "got 0"]);
    // In memory too.
    let msg = parse_idx(&gzip_bomb(&header, 1), "in-memory.gz").unwrap_err().to_string();
    assert_names(&msg, "in-memory.gz", &["more than the limit"]);
}

#[test]
fn data_idx_checks_kind_and_pair_counts() {
    let dir = TempDir::new("idx-pair");
    let images = sample_images();
    write_images(dir.join("imgs"), &images, false).unwrap();
    write_labels(dir.join("labs"), &[1, 2], true).unwrap();

    // Images and labels swapped.
    let msg = read_images(dir.join("labs")).unwrap_err().to_string();
    assert_names(&msg, "labs", &["expected an images file", "labels file?"]);
    let msg = read_labels(dir.join("imgs")).unwrap_err().to_string();
    assert_names(&msg, "imgs", &["expected a labels file", "images file?"]);

    // 3 images, 2 labels: the error names both files and both counts.
    let msg = read_pair(dir.join("imgs"), dir.join("labs")).unwrap_err().to_string();
    assert_names(&msg, "imgs", &["labs", "3 images", "2 labels"]);
}

#[test]
fn data_idx_writer_rejects_inconsistent_input() {
    let dir = TempDir::new("idx-writer");
    let msg = write_idx(dir.join("w"), &[2, 2], &[1, 2, 3], false).unwrap_err().to_string();
    assert_names(&msg, "w", &["3 data bytes", "[2, 2]"]);
    let msg = write_idx(dir.join("z"), &[0], &[], false).unwrap_err().to_string();
    assert_names(&msg, "z", &["dim 0"]);
    let msg = write_idx(dir.join("n"), &[], &[], false).unwrap_err().to_string();
    assert_names(&msg, "n", &["0 dims"]);
    // Writing into a folder that does not exist fails with the path, leaving nothing behind.
    let msg = write_labels(dir.join("nope/labels"), &[1], false).unwrap_err().to_string();
    assert_names(&msg, "nope/labels", &[]);
}
