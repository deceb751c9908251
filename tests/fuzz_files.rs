//! Property-based fuzzing of the file readers: valid IDX files (raw and gzipped), `.npy` files and
//! safetensors checkpoints are mutated thousands of times (truncated anywhere, bits flipped, bytes
//! overwritten or inserted, header numbers replaced by huge ones, tokens spliced into text
//! headers), and every reader must return a clean `Err` that names the file, or an `Ok` that is
//! correct, never panic, and never allocate more than a small bound (the readers check declared
//! sizes before allocating). Each case runs inside `catch_unwind`, so a panic is reported with the
//! input that caused it, and proptest shrinks it to a small one.
//!
//! Reproducible: a fixed seed per reader, no failure persistence. Left out: coverage-guided
//! fuzzing; these are random mutations of one or two valid files per format.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::{Read, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use minmax_engine::io::{load_safetensors, save_safetensors};
use minmax_engine::Tensor;
use minmax_gan::data::idx;
use minmax_gan::data::npy;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};

// ---------------------------------------------------------------------------------------------
// Memory: a global allocator that tracks the live bytes and their peak on each thread
// ---------------------------------------------------------------------------------------------

struct Tracking;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn track(delta: isize) {
    // `try_with`: allocations during thread teardown, after the cells are gone, are not tracked.
    let _ = LIVE.try_with(|live| {
        let now = live.get() + delta;
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

unsafe impl GlobalAlloc for Tracking {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            track(layout.size() as isize);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        track(-(layout.size() as isize));
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            track(new_size as isize - layout.size() as isize);
        }
        p
    }
}

#[global_allocator]
static ALLOC: Tracking = Tracking;

/// Run `f` and return its result with the most bytes it had allocated at once on this thread.
fn peak_bytes<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let start = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(start));
    let out = f();
    (out, (PEAK.with(Cell::get) - start).max(0) as usize)
}

/// The most one case may allocate. The valid inputs are under 1 KB; a reader that trusted a
/// declared size would ask for gigabytes.
const CASE_MEMORY_LIMIT: usize = 16 << 20;

// ---------------------------------------------------------------------------------------------
// Mutations
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
enum Mutation {
    /// Cut the file at a position.
    Truncate(Index),
    /// Flip one bit.
    FlipBit(Index, u8),
    /// Overwrite one byte.
    SetByte(Index, u8),
    /// Overwrite 4 bytes with a big-endian u32 (IDX dims) or 8 with a little-endian u64
    /// (the safetensors header length).
    WriteU32Be(Index, u32),
    WriteU64Le(Index, u64),
    /// Insert bytes.
    Insert(Index, Vec<u8>),
    /// Replace the k-th run of ASCII digits (a shape, an offset, a header length) by a number.
    ReplaceNumber(Index, u64),
    /// Replace consecutive runs of digits, from the k-th on, by numbers (several dims at once).
    ReplaceNumbers(Index, Vec<u64>),
    /// Overwrite bytes with a token of the text headers (dtypes, brackets, quotes).
    Splice(Index, &'static str),
    /// Insert a token just after the k-th quote character: edits inside a header's strings.
    InsertAfterQuote(Index, &'static str),
}

/// Numbers that break parsers: zero, one, the edges of u32/u64, and sizes just past the limits.
fn nasty_u64() -> impl Strategy<Value = u64> {
    prop_oneof![
        4 => any::<u64>(),
        2 => Just(0),
        2 => 1u64..300,
        1 => Just(u32::MAX as u64),
        1 => Just(u64::MAX),
        1 => Just(1u64 << 31),
        1 => Just((1u64 << 31) + 1),
        1 => Just(1u64 << 32),
        1 => Just(i64::MAX as u64),
    ]
}

const TOKENS: &[&str] = &[
    "F32",
    "F64",
    "I64",
    "BOOL",
    "F4",
    "U8",
    "F8_E4M3",
    "BF16",
    "<f4",
    ">f8",
    "|u1",
    "<i8",
    "True",
    "(",
    ")",
    ",",
    "[",
    "]",
    "{",
    "}",
    "\"",
    "'",
    ":",
    "-1",
    "1e309",
    "18446744073709551616",
    "\u{e9}",
    "\0",
    "\n",
    " ",
];

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        2 => any::<Index>().prop_map(Mutation::Truncate),
        3 => (any::<Index>(), 0u8..8).prop_map(|(i, b)| Mutation::FlipBit(i, b)),
        2 => (any::<Index>(), any::<u8>()).prop_map(|(i, v)| Mutation::SetByte(i, v)),
        2 => (any::<Index>(), nasty_u64()).prop_map(|(i, v)| Mutation::WriteU32Be(i, v as u32)),
        1 => (any::<Index>(), nasty_u64()).prop_map(|(i, v)| Mutation::WriteU64Le(i, v)),
        1 => (any::<Index>(), proptest::collection::vec(any::<u8>(), 1..16)).prop_map(|(i, b)| Mutation::Insert(i, b)),
        3 => (any::<Index>(), nasty_u64()).prop_map(|(i, v)| Mutation::ReplaceNumber(i, v)),
        2 => (any::<Index>(), proptest::collection::vec(nasty_u64(), 1..4))
            .prop_map(|(i, v)| Mutation::ReplaceNumbers(i, v)),
        2 => (any::<Index>(), proptest::sample::select(TOKENS)).prop_map(|(i, t)| Mutation::Splice(i, t)),
        2 => (any::<Index>(), proptest::sample::select(TOKENS)).prop_map(|(i, t)| Mutation::InsertAfterQuote(i, t)),
    ]
}

fn mutations() -> impl Strategy<Value = Vec<Mutation>> {
    proptest::collection::vec(mutation(), 1..4)
}

/// Apply `m` to `bytes` (positions are taken modulo the current length).
fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    let at = |i: &Index, len: usize| if len == 0 { 0 } else { i.index(len) };
    match m {
        Mutation::Truncate(i) => bytes.truncate(at(i, bytes.len() + 1)),
        Mutation::FlipBit(i, b) if !bytes.is_empty() => {
            let k = at(i, bytes.len());
            bytes[k] ^= 1 << b
        }
        Mutation::SetByte(i, v) if !bytes.is_empty() => {
            let k = at(i, bytes.len());
            bytes[k] = *v
        }
        Mutation::WriteU32Be(i, v) => overwrite(bytes, at(i, bytes.len()), &v.to_be_bytes()),
        Mutation::WriteU64Le(i, v) => overwrite(bytes, at(i, bytes.len()), &v.to_le_bytes()),
        Mutation::Insert(i, b) => {
            let k = at(i, bytes.len() + 1);
            bytes.splice(k..k, b.iter().copied());
        }
        Mutation::ReplaceNumber(i, v) => {
            let runs = digit_runs(bytes);
            if !runs.is_empty() {
                let (s, e) = runs[i.index(runs.len())];
                bytes.splice(s..e, v.to_string().into_bytes());
            }
        }
        Mutation::ReplaceNumbers(i, values) => {
            let runs = digit_runs(bytes);
            if !runs.is_empty() {
                let first = i.index(runs.len());
                // Back to front, so the earlier runs' positions stay valid.
                for (k, v) in values.iter().enumerate().rev() {
                    if let Some(&(s, e)) = runs.get(first + k) {
                        bytes.splice(s..e, v.to_string().into_bytes());
                    }
                }
            }
        }
        Mutation::Splice(i, t) => overwrite(bytes, at(i, bytes.len()), t.as_bytes()),
        Mutation::InsertAfterQuote(i, t) => {
            let quotes: Vec<usize> = (0..bytes.len()).filter(|&k| bytes[k] == b'\'' || bytes[k] == b'"').collect();
            if !quotes.is_empty() {
                let k = quotes[i.index(quotes.len())] + 1;
                bytes.splice(k..k, t.bytes());
            }
        }
        Mutation::FlipBit(..) | Mutation::SetByte(..) => {}
    }
}

/// Overwrite `bytes[k..]` with `with`, growing the file if it runs past the end.
fn overwrite(bytes: &mut Vec<u8>, k: usize, with: &[u8]) {
    if bytes.len() < k + with.len() {
        bytes.resize(k + with.len(), 0);
    }
    bytes[k..k + with.len()].copy_from_slice(with);
}

/// The (start, end) of every run of ASCII digits.
fn digit_runs(bytes: &[u8]) -> Vec<(usize, usize)> {
    let mut runs = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() {
            let s = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            runs.push((s, i));
        } else {
            i += 1;
        }
    }
    runs
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

// ---------------------------------------------------------------------------------------------
// The harness
// ---------------------------------------------------------------------------------------------

/// A scratch file for this test's cases (tests run in parallel, each its own file).
fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("minmax-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(tag)
}

/// Run `cases` mutations of `base` through `check` with a fixed seed. `check` gets the mutated
/// bytes and the file they were written to, and returns `Err` with a reason when the reader
/// was wrong. A panic or a case over [`CASE_MEMORY_LIMIT`] fails with the input.
fn fuzz(tag: &str, seed: u8, cases: u32, base: Vec<u8>, check: impl Fn(&[u8], &Path) -> Result<(), String>) {
    let path = scratch(tag);
    let config = Config { cases, failure_persistence: None, max_shrink_iters: 2000, ..Config::default() };
    let mut runner = TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &[seed; 32]));
    let result = runner.run(&mutations(), |ms| {
        let mut bytes = base.clone();
        for m in &ms {
            apply(&mut bytes, m);
        }
        std::fs::write(&path, &bytes).unwrap();
        let (outcome, peak) = peak_bytes(|| catch_unwind(AssertUnwindSafe(|| check(&bytes, &path))));
        let show = || format!("{} bytes {:?} (mutations {ms:?})", bytes.len(), &bytes[..bytes.len().min(256)]);
        match outcome {
            Err(_) => Err(TestCaseError::fail(format!("{tag}: the reader panicked on {}", show()))),
            Ok(Err(why)) => Err(TestCaseError::fail(format!("{tag}: {why} on {}", show()))),
            Ok(Ok(())) if peak > CASE_MEMORY_LIMIT => {
                Err(TestCaseError::fail(format!("{tag}: allocated {peak} bytes at once on {}", show())))
            }
            Ok(Ok(())) => Ok(()),
        }
    });
    std::fs::remove_file(&path).ok();
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// An error must name the file.
fn names_file(e: &minmax_engine::Error, path: &Path) -> Result<(), String> {
    let msg = e.to_string();
    let name = path.file_name().unwrap().to_string_lossy();
    if msg.contains(name.as_ref()) {
        Ok(())
    } else {
        Err(format!("the error does not name the file: {msg}"))
    }
}

// ---------------------------------------------------------------------------------------------
// IDX
// ---------------------------------------------------------------------------------------------

/// A valid images file: 3 images of 2x3.
fn idx_images() -> Vec<u8> {
    let mut b = vec![0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 3];
    b.extend((0..18u8).map(|i| i.wrapping_mul(37)));
    b
}

/// The raw IDX encoding of `dims` and `data`: an `Ok` is correct when it re-encodes to the input.
fn idx_encode(dims: &[usize], data: &[u8]) -> Vec<u8> {
    let mut b = vec![0, 0, 8, dims.len() as u8];
    for &d in dims {
        b.extend_from_slice(&(d as u32).to_be_bytes());
    }
    b.extend_from_slice(data);
    b
}

/// `read_idx` on raw bytes: `Ok` exactly when the bytes are a valid encoding, and then of them.
fn check_idx_raw(raw: &[u8], read: minmax_engine::Result<idx::Idx>, path: &Path) -> Result<(), String> {
    match read {
        Ok(i) if idx_encode(&i.dims, &i.data) == raw => Ok(()),
        Ok(i) => Err(format!("Ok with dims {:?} and {} data bytes that do not re-encode", i.dims, i.data.len())),
        Err(e) => names_file(&e, path),
    }
}

#[test]
fn fuzz_idx_raw() {
    fuzz("images-idx3-ubyte", 1, 2500, idx_images(), |bytes, path| check_idx_raw(bytes, idx::read_idx(path), path));
    let labels = vec![0, 0, 8, 1, 0, 0, 0, 5, 1, 2, 3, 4, 5];
    fuzz("labels-idx1-ubyte", 2, 1000, labels, |bytes, path| check_idx_raw(bytes, idx::read_idx(path), path));
}

#[test]
fn fuzz_idx_gzipped() {
    // Mutate the IDX bytes, then gzip them: the header checks behind the decompressor.
    fuzz("inner-idx3-ubyte.gz", 3, 1000, idx_images(), |raw, path| {
        std::fs::write(path, gzip(raw)).unwrap();
        check_idx_raw(raw, idx::read_idx(path), path)
    });
    // Mutate the gzip stream itself: corrupt deflate data, headers, CRCs and lengths.
    fuzz("outer-idx3-ubyte.gz", 4, 1500, gzip(&idx_images()), |gz, path| match idx::read_idx(path) {
        Ok(i) => {
            // Correct when it is what an independent decoder makes of the stream (bounded).
            let mut inflated = Vec::new();
            let mut dec = flate2::read::MultiGzDecoder::new(gz).take(1 << 20);
            match dec.read_to_end(&mut inflated) {
                Ok(_) if inflated == idx_encode(&i.dims, &i.data) => Ok(()),
                _ => Err(format!("Ok with dims {:?}, but the stream does not inflate to that", i.dims)),
            }
        }
        Err(e) => names_file(&e, path),
    });
}

// ---------------------------------------------------------------------------------------------
// .npy
// ---------------------------------------------------------------------------------------------

#[test]
fn fuzz_npy() {
    let t = Tensor::new(vec![1.5f32, -2.0, 3.25, 0.0, 7.0, 8.0], &[1, 2, 3]).unwrap();
    let base = npy::npy_bytes(&t).unwrap();
    let expected: Vec<f64> = t.to_vec().unwrap();
    let check = |bytes: &[u8], path: &Path, original: &[u8]| match npy::read_npy(path) {
        Ok(r) => {
            let numel: usize = r.shape().iter().product();
            if numel != r.numel() {
                return Err(format!("Ok with shape {:?} but {} elements", r.shape(), r.numel()));
            }
            if bytes == original && r.to_vec::<f64>().unwrap() != expected {
                return Err("the unmutated file read back different values".into());
            }
            Ok(())
        }
        Err(e) => names_file(&e, path),
    };
    let b = base.clone();
    fuzz("array.npy", 5, 8000, base, move |bytes, path| check(bytes, path, &b));
}

// ---------------------------------------------------------------------------------------------
// safetensors checkpoints
// ---------------------------------------------------------------------------------------------

#[test]
fn fuzz_safetensors() {
    let path = scratch("base.safetensors");
    let w = Tensor::new(vec![1f32, 2., 3., 4., 5., 6.], &[3, 2]).unwrap();
    let b = Tensor::new(vec![-1.0f64, 0.5], &[2]).unwrap();
    let step = Tensor::new(vec![12i64], &[]).unwrap();
    let meta = std::collections::HashMap::from([("step".to_string(), "12".to_string())]);
    save_safetensors(&path, &[("w".into(), w), ("b".into(), b), ("step".into(), step)], Some(meta)).unwrap();
    let base = std::fs::read(&path).unwrap();
    std::fs::remove_file(&path).ok();
    let original = base.clone();
    fuzz("ck.safetensors", 6, 2500, base, move |bytes, path| match load_safetensors(path) {
        Ok((tensors, _)) => {
            for (name, t) in &tensors {
                let numel: usize = t.shape().iter().product();
                if numel != t.numel() {
                    return Err(format!("Ok with tensor {name} of shape {:?} but {} elements", t.shape(), t.numel()));
                }
            }
            if bytes == original && tensors.len() != 3 {
                return Err(format!("the unmutated file read back {} tensors", tensors.len()));
            }
            Ok(())
        }
        Err(e) => names_file(&e, path),
    });
}

// ---------------------------------------------------------------------------------------------
// A gzip bomb, measured
// ---------------------------------------------------------------------------------------------

/// A 1 MB file that inflates to 1 GiB: a header declaring 18 bytes, then 1024 gzip members of
/// 1 MiB of zeros each. The reader stops after the declared bytes and a bounded count of the
/// rest; it must not hold more than a few MB at once.
#[test]
fn a_gzip_bomb_is_not_inflated_into_memory() {
    let member = gzip(&vec![0u8; 1 << 20]);
    let mut bomb = gzip(&idx_images());
    for _ in 0..1024 {
        bomb.extend_from_slice(&member);
    }
    let path = scratch("bomb-idx3-ubyte.gz");
    std::fs::write(&path, &bomb).unwrap();
    let (result, peak) = peak_bytes(|| idx::read_idx(&path));
    std::fs::remove_file(&path).ok();
    let msg = result.unwrap_err().to_string();
    assert!(msg.contains("bomb-idx3-ubyte.gz") && msg.contains("trailing bytes"), "{msg}");
    assert!(peak < CASE_MEMORY_LIMIT, "reading a 1 MB gzip bomb allocated {peak} bytes at once: {msg}");
}
