//! Reading and writing IDX files, the format of MNIST, Fashion-MNIST, KMNIST and EMNIST.
//!
//! An IDX file is a tiny header followed by raw big-endian data:
//!
//! ```text
//! bytes 0..2   0x00 0x00                      always zero
//! byte  2      type code                      0x08 = unsigned byte (the only one minmax reads)
//! byte  3      number of dims, D              3 for images (n, rows, cols), 1 for labels (n)
//! next 4*D     each dim as a big-endian u32
//! the rest     exactly dims[0] * dims[1] * ... bytes of data, row-major
//! ```
//!
//! So `train-images-idx3-ubyte` starts with the magic number 0x00000803 and
//! `train-labels-idx1-ubyte` with 0x00000801. Files may be gzipped (they start with the gzip
//! magic bytes 1f 8b); that is detected from the content, not the file name.
//!
//! Everything here returns a `Result` whose error names the file and what was expected: a bad
//! file never panics. The header is read and checked before the data, and a file may declare at
//! most [`MAX_IDX_DATA_BYTES`] of data, so a small gzip bomb is refused after its first bytes. The writer is used to cache converted data sets and to build test files;
//! it writes atomically (a temp file in the same folder, then a rename), so a reader never sees
//! half a file.
//!
//! Left out: the signed, integer and float type codes (0x09, 0x0B, 0x0C, 0x0D, 0x0E) are
//! recognised and rejected with a clear message; no data set minmax uses needs them.

use std::io::{Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use minmax_engine::{Error, Result};

/// The type code of unsigned-byte data, the third byte of the magic number.
pub const TYPE_U8: u8 = 0x08;
/// The magic number of an images file: unsigned bytes, 3 dims.
pub const MAGIC_IMAGES: u32 = 0x0000_0803;
/// The magic number of a labels file: unsigned bytes, 1 dim.
pub const MAGIC_LABELS: u32 = 0x0000_0801;

/// The first two bytes of every gzip stream.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

// ---------------------------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------------------------

/// Any unsigned-byte IDX array: its dims and its row-major data (`data.len()` = product of dims).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Idx {
    pub dims: Vec<usize>,
    pub data: Vec<u8>,
}

/// A stack of `n` grey-scale images, each `rows x cols` bytes (0 = background, 255 = ink).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdxImages {
    pub n: usize,
    pub rows: usize,
    pub cols: usize,
    /// `n * rows * cols` bytes, image after image, each row after row.
    pub pixels: Vec<u8>,
}

// ---------------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------------

/// The most data one IDX file may declare: 2 GiB. The largest IDX data set in use, EMNIST ByClass
/// (697,932 training images of 28x28), holds 547 MB; a larger declared size is a corrupt or hostile
/// header, refused before anything is allocated or decompressed.
pub const MAX_IDX_DATA_BYTES: usize = 2 << 30;

/// How many trailing bytes after the data are counted for the error message (gzipped files only;
/// a raw file's trailing bytes are known from its size).
const TRAILING_COUNT_LIMIT: u64 = 1 << 20;

/// Read any unsigned-byte IDX file, gzipped or raw. The header is read and checked first; then
/// exactly the declared number of data bytes, so a gzip bomb is never inflated past its header.
pub fn read_idx(path: impl AsRef<Path>) -> Result<Idx> {
    let path = path.as_ref();
    let io_err = |source| Error::Io { path: path.to_path_buf(), source };
    let mut file = std::fs::File::open(path).map_err(io_err)?;
    let len = file.metadata().map_err(io_err)?.len();
    let mut magic = [0u8; 2];
    let got = read_up_to(&mut file, &mut magic).map_err(io_err)?;
    let head = &magic[..got];
    if head == GZIP_MAGIC {
        parse_stream(flate2::read::MultiGzDecoder::new(std::io::BufReader::new(head.chain(file))), None, path)
    } else {
        parse_stream(head.chain(file), Some(len), path)
    }
}

/// Parse the bytes of an IDX file (gzipped or raw). `path` is only used in error messages.
pub fn parse_idx(bytes: &[u8], path: impl AsRef<Path>) -> Result<Idx> {
    let path = path.as_ref();
    if bytes.starts_with(&GZIP_MAGIC) {
        parse_stream(flate2::read::MultiGzDecoder::new(bytes), None, path)
    } else {
        parse_stream(bytes, Some(bytes.len() as u64), path)
    }
}

/// Read into `buf` until it is full or the stream ends; returns how many bytes were read.
fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Parse an IDX stream: the header first, checked, then exactly the declared data. `raw_len` is
/// the size of an uncompressed file; `None` means the stream is a gzip decoder.
fn parse_stream(mut r: impl Read, raw_len: Option<u64>, path: &Path) -> Result<Idx> {
    let gzip = raw_len.is_none();
    // A read error inside a gzip stream means the stream is corrupt; in a raw file it is I/O.
    let read_err = |e: std::io::Error| {
        if gzip {
            Error::file(path, format!("starts like a gzip file but the gzip stream is corrupt or truncated ({e})"))
        } else {
            Error::Io { path: path.to_path_buf(), source: e }
        }
    };

    // (1) the magic number: 0x00 0x00, type code, number of dims
    let mut m = [0u8; 4];
    let got = read_up_to(&mut r, &mut m).map_err(read_err)?;
    if got == 0 {
        return Err(Error::file(
            path,
            if gzip {
                "is a gzip stream that decompresses to 0 bytes; expected an IDX file inside"
            } else {
                "is empty (0 bytes); expected an IDX file"
            },
        ));
    }
    if got < 4 {
        return Err(Error::file(
            path,
            format!("header is truncated: expected at least 4 bytes of magic number, got {got}"),
        ));
    }
    let magic = u32::from_be_bytes(m);
    if m[0] != 0 || m[1] != 0 {
        return Err(Error::file(
            path,
            format!(
                "bad magic number 0x{magic:08X}: an IDX file starts with two zero bytes \
                 (e.g. 0x00000803 for images, 0x00000801 for labels); this is not an IDX file"
            ),
        ));
    }
    let type_code = m[2];
    if type_code != TYPE_U8 {
        let what = match type_code {
            0x09 => "signed byte",
            0x0B => "i16",
            0x0C => "i32",
            0x0D => "f32",
            0x0E => "f64",
            _ => "not a valid IDX type",
        };
        return Err(Error::file(
            path,
            format!(
                "magic number 0x{magic:08X} has type code 0x{type_code:02X} ({what}); \
                 minmax reads only 0x08 (unsigned byte) IDX files"
            ),
        ));
    }
    let ndims = m[3] as usize;
    if ndims == 0 {
        return Err(Error::file(path, format!("magic number 0x{magic:08X} says 0 dims; an IDX file needs at least 1")));
    }

    // (2) the dims, one big-endian u32 each
    let header_len = 4 + 4 * ndims;
    let mut dim_bytes = vec![0u8; 4 * ndims]; // at most 1020 bytes
    let got = read_up_to(&mut r, &mut dim_bytes).map_err(read_err)?;
    if got < dim_bytes.len() {
        return Err(Error::file(
            path,
            format!(
                "header is truncated: {ndims} dims need a {header_len}-byte header, \
                 but the file has only {} bytes{}",
                4 + got,
                if gzip { " once decompressed" } else { "" }
            ),
        ));
    }
    let dims: Vec<usize> =
        dim_bytes.chunks_exact(4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize).collect();
    if let Some(k) = dims.iter().position(|&d| d == 0) {
        return Err(Error::file(path, format!("dim {k} of {dims:?} is 0; every dim must be at least 1")));
    }
    let expected = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| Error::file(path, format!("dims {dims:?} overflow: their product does not fit in memory")))?;
    if expected > MAX_IDX_DATA_BYTES {
        return Err(Error::file(
            path,
            format!(
                "dims {dims:?} declare {expected} data bytes, more than the limit of {MAX_IDX_DATA_BYTES} \
                 (2 GiB) per IDX file; the header is corrupt or this is not a data set minmax can hold"
            ),
        ));
    }

    // (3) the data: exactly the product of the dims, no more, no less
    let data_len = |n: u64| if gzip { format!("{n} (decompressed)") } else { n.to_string() };
    if let Some(len) = raw_len {
        // A raw file's size is known: a truncated one is refused before anything is allocated.
        let have = len.saturating_sub(header_len as u64);
        if have < expected as u64 {
            return Err(truncated(path, &dims, expected, header_len, &data_len(have)));
        }
    }
    let mut data = Vec::with_capacity(if gzip { expected.min(1 << 20) } else { expected });
    let got = (&mut r).take(expected as u64 + 1).read_to_end(&mut data).map_err(read_err)? as u64;
    if got < expected as u64 {
        return Err(truncated(path, &dims, expected, header_len, &data_len(got)));
    }
    if got > expected as u64 {
        data.truncate(expected);
        let (trailing, more) = match raw_len {
            Some(len) => (len - header_len as u64 - expected as u64, ""),
            None => {
                let counted =
                    std::io::copy(&mut r.take(TRAILING_COUNT_LIMIT), &mut std::io::sink()).map_err(read_err)?;
                let more = if counted == TRAILING_COUNT_LIMIT { " or more" } else { "" };
                (1 + counted, more)
            }
        };
        return Err(Error::file(
            path,
            format!(
                "has {trailing}{more} trailing bytes: dims {dims:?} need exactly {expected} data bytes \
                 after the {header_len}-byte header, got {}{more}",
                data_len(expected as u64 + trailing)
            ),
        ));
    }
    Ok(Idx { dims, data })
}

/// The error for a data section shorter than the dims say.
fn truncated(path: &Path, dims: &[usize], expected: usize, header_len: usize, got: &str) -> Error {
    Error::file(
        path,
        format!(
            "data is truncated: dims {dims:?} need {expected} bytes after the \
             {header_len}-byte header, got {got}"
        ),
    )
}

/// Read an images file (`*-images-idx3-ubyte[.gz]`, magic 0x00000803: n, rows, cols).
pub fn read_images(path: impl AsRef<Path>) -> Result<IdxImages> {
    let path = path.as_ref();
    let idx = read_idx(path)?;
    match idx.dims[..] {
        [n, rows, cols] => Ok(IdxImages { n, rows, cols, pixels: idx.data }),
        _ => Err(Error::file(
            path,
            format!(
                "expected an images file (magic 0x{MAGIC_IMAGES:08X}, 3 dims: n, rows, cols), \
                 found {} dims {:?}{}",
                idx.dims.len(),
                idx.dims,
                if idx.dims.len() == 1 { " (is this a labels file?)" } else { "" }
            ),
        )),
    }
}

/// Read a labels file (`*-labels-idx1-ubyte[.gz]`, magic 0x00000801: n).
pub fn read_labels(path: impl AsRef<Path>) -> Result<Vec<u8>> {
    let path = path.as_ref();
    let idx = read_idx(path)?;
    if idx.dims.len() != 1 {
        return Err(Error::file(
            path,
            format!(
                "expected a labels file (magic 0x{MAGIC_LABELS:08X}, 1 dim: n), found {} dims {:?}{}",
                idx.dims.len(),
                idx.dims,
                if idx.dims.len() == 3 { " (is this an images file?)" } else { "" }
            ),
        ));
    }
    Ok(idx.data)
}

/// Read an images file and its labels file, and check that they hold the same number of items.
pub fn read_pair(images_path: impl AsRef<Path>, labels_path: impl AsRef<Path>) -> Result<(IdxImages, Vec<u8>)> {
    let (images_path, labels_path) = (images_path.as_ref(), labels_path.as_ref());
    let images = read_images(images_path)?;
    let labels = read_labels(labels_path)?;
    if images.n != labels.len() {
        return Err(Error::file(
            images_path,
            format!(
                "holds {} images but its labels file {} holds {} labels; \
                 the two files must come from the same split",
                images.n,
                labels_path.display(),
                labels.len()
            ),
        ));
    }
    Ok((images, labels))
}

// ---------------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------------

/// Write any unsigned-byte IDX array, gzipped if `gzip`. `data.len()` must equal the product of
/// `dims`, and every dim must be in 1..=u32::MAX.
pub fn write_idx(path: impl AsRef<Path>, dims: &[usize], data: &[u8], gzip: bool) -> Result<()> {
    let path = path.as_ref();
    if dims.is_empty() || dims.len() > 255 {
        return Err(Error::file(path, format!("cannot write {} dims; an IDX file holds 1 to 255", dims.len())));
    }
    if let Some(&d) = dims.iter().find(|&&d| d == 0 || d > u32::MAX as usize) {
        return Err(Error::file(path, format!("cannot write dims {dims:?}: dim {d} is not in 1..=4294967295")));
    }
    let expected = dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
    if expected != Some(data.len()) {
        return Err(Error::file(
            path,
            format!("cannot write dims {dims:?} with {} data bytes; the product of the dims must match", data.len()),
        ));
    }

    let mut bytes = Vec::with_capacity(4 + 4 * dims.len() + data.len());
    bytes.extend_from_slice(&[0, 0, TYPE_U8, dims.len() as u8]);
    for &d in dims {
        bytes.extend_from_slice(&(d as u32).to_be_bytes());
    }
    bytes.extend_from_slice(data);

    if gzip {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        let gz = enc.write_all(&bytes).and_then(|_| enc.finish());
        bytes = gz.map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
    }
    write_atomically(path, &bytes)
}

/// Write images as an idx3-ubyte file (magic 0x00000803).
pub fn write_images(path: impl AsRef<Path>, images: &IdxImages, gzip: bool) -> Result<()> {
    write_idx(path, &[images.n, images.rows, images.cols], &images.pixels, gzip)
}

/// Write labels as an idx1-ubyte file (magic 0x00000801).
pub fn write_labels(path: impl AsRef<Path>, labels: &[u8], gzip: bool) -> Result<()> {
    write_idx(path, &[labels.len()], labels, gzip)
}

/// Write `bytes` to a temp file next to `path`, flush it to disk, then rename it over `path`.
/// A rename within one folder is atomic, so readers see the old file or the new one, never half.
pub fn write_atomically(path: impl AsRef<Path>, bytes: &[u8]) -> Result<()> {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let path = path.as_ref();
    let io_err = |source| Error::Io { path: path.to_path_buf(), source };
    let name = path.file_name().ok_or_else(|| Error::file(path, "is not a file path (it has no file name)"))?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    // Unique per process and per call, so concurrent writers never share a temp file. The name
    // is the one `minmax_engine::io::write_atomic` uses, so `clean_stale_temp_files` finds it.
    let tmp = dir.join(format!(
        ".{}.tmp{}-{}",
        name.to_string_lossy(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp); // best effort: leave no temp file behind
    }
    result.map_err(io_err)
}

#[cfg(test)]
pub(crate) mod tests;
