//! Checkpoints in the safetensors format (loadable in Python with
//! `safetensors.torch.load_file`), and the atomic file writer every output file goes through.
//!
//! Files are written atomically: to a temporary file `.NAME.tmpPID-N` in the same folder, flushed,
//! then renamed over the target, so a crash never leaves a half-written checkpoint. A failed write
//! removes its temporary file; one left by a killed process is removed by
//! [`clean_stale_temp_files`].
//!
//! Loading refuses files larger than [`MAX_CHECKPOINT_BYTES`] before reading them; the
//! safetensors crate checks that every tensor's declared shape and byte range fit the file.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use safetensors::tensor::{Dtype, SafeTensors, TensorView};

use crate::{DType, Error, Result, Tensor};

/// The largest checkpoint `load_safetensors` reads: 4 GiB. The models here are a few MB; a
/// larger file is a mistake (a wrong path, a data set), and reading it would take that much memory.
pub const MAX_CHECKPOINT_BYTES: u64 = 4 << 30;

/// The temp-file name prefix for `name`: `.NAME.tmp`, followed by `PID-N`.
fn temp_prefix(name: &str) -> String {
    format!(".{name}.tmp")
}

/// Write `bytes` to `path` atomically (temp file + fsync + rename). On any error the temp file is
/// removed before the error is returned.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let io = |e| Error::Io { path: path.to_path_buf(), source: e };
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io)?;
    let name = path.file_name().ok_or_else(|| Error::file(path, "not a file path"))?.to_string_lossy();
    // Unique per process and per call, so two writers of one file never share a temp file.
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let tmp: PathBuf = dir.join(format!("{}{}-{n}", temp_prefix(&name), std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp); // best effort; the write's own error is the one to report
    }
    result.map_err(io)
}

/// Remove the temp files `.NAME.tmpPID` and `.NAME.tmpPID-N` that [`write_atomic`] left in `dir`
/// for the file `name` in earlier processes (killed mid-write, or on a full disk). Files of the
/// current process are kept, and so, on systems with `/proc`, are those of a process still
/// running. Returns the paths removed; a `dir` that does not exist has nothing to clean.
pub fn clean_stale_temp_files(dir: &Path, name: &str) -> Result<Vec<PathBuf>> {
    let io = |e| Error::Io { path: dir.to_path_buf(), source: e };
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(e)),
    };
    let prefix = temp_prefix(name);
    let me = std::process::id();
    let mut removed = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io)?;
        let file_name = entry.file_name();
        let Some(pid) = file_name.to_str().and_then(|f| f.strip_prefix(&prefix)).and_then(temp_pid) else {
            continue;
        };
        if pid == me || process_is_running(pid) || !entry.file_type().map_err(io)?.is_file() {
            continue;
        }
        let path = entry.path();
        std::fs::remove_file(&path).map_err(|e| Error::Io { path: path.clone(), source: e })?;
        removed.push(path);
    }
    removed.sort();
    Ok(removed)
}

/// The PID in a temp-file suffix `PID` or `PID-N` (digits only), else `None`.
fn temp_pid(suffix: &str) -> Option<u32> {
    let (pid, n) = suffix.split_once('-').unwrap_or((suffix, "0"));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(pid) || !digits(n) {
        return None;
    }
    pid.parse().ok()
}

/// Whether `pid` is a running process, where `/proc` can tell; elsewhere `false`.
fn process_is_running(pid: u32) -> bool {
    Path::new("/proc/self").exists() && Path::new(&format!("/proc/{pid}")).exists()
}

/// Save named tensors (plus string metadata) as a safetensors file, atomically.
pub fn save_safetensors(
    path: impl AsRef<Path>,
    tensors: &[(String, Tensor)],
    metadata: Option<HashMap<String, String>>,
) -> Result<()> {
    let path = path.as_ref();
    let mut blobs = Vec::with_capacity(tensors.len());
    for (name, t) in tensors {
        let bytes: Vec<u8> = match t.dtype() {
            DType::F32 => t.to_vec::<f32>()?.iter().flat_map(|x| x.to_le_bytes()).collect(),
            DType::F64 => t.to_vec::<f64>()?.iter().flat_map(|x| x.to_le_bytes()).collect(),
            DType::I64 => t.to_vec::<i64>()?.iter().flat_map(|x| x.to_le_bytes()).collect(),
        };
        let dt = match t.dtype() {
            DType::F32 => Dtype::F32,
            DType::F64 => Dtype::F64,
            DType::I64 => Dtype::I64,
        };
        blobs.push((name.clone(), dt, t.dims(), bytes));
    }
    let views = blobs
        .iter()
        .map(|(n, dt, shape, b)| {
            Ok((
                n.clone(),
                TensorView::new(*dt, shape.clone(), b).map_err(|e| Error::file(path, format!("tensor {n}: {e}")))?,
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    let bytes =
        safetensors::serialize(views, metadata).map_err(|e| Error::file(path, format!("cannot serialise: {e}")))?;
    write_atomic(path, &bytes)
}

/// Load every tensor of a safetensors file, in file order, with its metadata.
pub fn load_safetensors(path: impl AsRef<Path>) -> Result<(Vec<(String, Tensor)>, HashMap<String, String>)> {
    let path = path.as_ref();
    let io = |e| Error::Io { path: path.to_path_buf(), source: e };
    let len = std::fs::metadata(path).map_err(io)?.len();
    if len > MAX_CHECKPOINT_BYTES {
        return Err(Error::file(
            path,
            format!(
                "is {len} bytes, more than the {MAX_CHECKPOINT_BYTES}-byte limit for a checkpoint; \
                 expected a safetensors file of a minmax model"
            ),
        ));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    // Bounded even if the file grows while it is read.
    std::fs::File::open(path).map_err(io)?.take(MAX_CHECKPOINT_BYTES).read_to_end(&mut bytes).map_err(io)?;
    let st = SafeTensors::deserialize(&bytes)
        .map_err(|e| Error::file(path, format!("not a valid safetensors file: {e}")))?;
    let (_, meta) = SafeTensors::read_metadata(&bytes).map_err(|e| Error::file(path, format!("bad header: {e}")))?;
    let metadata = meta.metadata().clone().unwrap_or_default();
    let mut out = Vec::new();
    for (name, v) in st.tensors() {
        let shape = v.shape().to_vec();
        // The crate checks that the product of the dims matches the byte range; a zero dim makes
        // that product 0 whatever the others are, so check the others fit too (strides use them).
        if shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d.max(1))).is_none_or(|n| n > isize::MAX as usize) {
            return Err(Error::file(path, format!("tensor {name}: shape {shape:?} is too large to index")));
        }
        let d = v.data();
        let t = match v.dtype() {
            Dtype::F32 => {
                Tensor::new(d.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect(), &shape)?
            }
            Dtype::F64 => {
                Tensor::new(d.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().unwrap())).collect(), &shape)?
            }
            Dtype::I64 => {
                Tensor::new(d.chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().unwrap())).collect(), &shape)?
            }
            other => {
                return Err(Error::file(
                    path,
                    format!("tensor {name}: dtype {other:?} is not supported (expected F32, F64 or I64)"),
                ))
            }
        };
        out.push((name, t));
    }
    Ok((out, metadata))
}

/// Copy the tensors of a checkpoint into `dst` (e.g. a module's `state_dict()`), matching by name.
/// Every destination name must be present with the same shape; dtypes are converted.
pub fn load_into(path: impl AsRef<Path>, dst: &[(String, Tensor)]) -> Result<HashMap<String, String>> {
    let path = path.as_ref();
    let (src, meta) = load_safetensors(path)?;
    copy_named(path, &src, dst)?;
    Ok(meta)
}

/// [`load_into`] for tensors already loaded from `path` (named in errors): every name of `dst`
/// must be in `src` with the same shape; dtypes and devices are converted.
pub fn copy_named(path: &Path, src: &[(String, Tensor)], dst: &[(String, Tensor)]) -> Result<()> {
    let map: HashMap<&str, &Tensor> = src.iter().map(|(n, t)| (n.as_str(), t)).collect();
    for (name, t) in dst {
        let s = map.get(name.as_str()).ok_or_else(|| {
            let have: Vec<&str> = src.iter().map(|(n, _)| n.as_str()).take(8).collect();
            Error::file(path, format!("missing tensor '{name}' (the file has {have:?}…)"))
        })?;
        if s.shape() != t.shape() {
            return Err(Error::file(
                path,
                format!("tensor '{name}' has shape {:?}, expected {:?}", s.shape(), t.shape()),
            ));
        }
        t.copy_from(&s.to_dtype(t.dtype())?.to_device(&t.device())?)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_errors() -> Result<()> {
        let dir = std::env::temp_dir().join(format!("minmax-io-{}", std::process::id()));
        let p = dir.join("ck.safetensors");
        let a = Tensor::new(vec![1f32, 2., 3., 4.], &[2, 2])?;
        let b = Tensor::new(vec![7i64], &[1])?;
        let meta = HashMap::from([("step".to_string(), "12".to_string())]);
        save_safetensors(&p, &[("a".into(), a.clone()), ("b".into(), b)], Some(meta))?;
        let dst = Tensor::zeros(&[2, 2]);
        let m = load_into(&p, &[("a".into(), dst.clone())])?;
        assert_eq!(dst.to_vec::<f32>()?, a.to_vec::<f32>()?);
        assert_eq!(m["step"], "12");
        let e = load_into(&p, &[("c".into(), dst.clone())]).unwrap_err().to_string();
        assert!(e.contains("ck.safetensors") && e.contains("missing tensor 'c'"), "{e}");
        let e = load_into(&p, &[("a".into(), Tensor::zeros(&[4]))]).unwrap_err().to_string();
        assert!(e.contains("shape [2, 2], expected [4]"), "{e}");
        std::fs::write(&p, b"garbage").unwrap();
        let e = load_safetensors(&p).unwrap_err().to_string();
        assert!(e.contains("not a valid safetensors file"), "{e}");
        std::fs::remove_dir_all(&dir).ok();
        Ok(())
    }

    /// A fresh folder for one test (tests run in parallel in one process).
    fn fresh_dir(test: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("minmax-io-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// The names in `dir` that start with `.` (temp files), sorted.
    fn dot_files(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with('.'))
            .collect();
        names.sort();
        names
    }

    #[test]
    fn failed_write_leaves_no_temp_file() {
        let dir = fresh_dir("failed-write");
        // The target is a non-empty folder: the temp file is written, then the rename fails.
        let target = dir.join("ck.safetensors");
        std::fs::create_dir_all(target.join("inside")).unwrap();
        let e = write_atomic(&target, b"checkpoint bytes").unwrap_err().to_string();
        assert!(e.contains("ck.safetensors"), "{e}");
        assert_eq!(dot_files(&dir), Vec::<String>::new(), "a failed write left its temp file");
        // A parent that is a file: nothing can be created, and the error names the path.
        std::fs::write(dir.join("plain"), b"x").unwrap();
        let e = write_atomic(&dir.join("plain/ck.safetensors"), b"x").unwrap_err().to_string();
        assert!(e.contains("plain"), "{e}");
        assert_eq!(dot_files(&dir), Vec::<String>::new());
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn stale_temp_files_are_cleaned() {
        let dir = fresh_dir("stale");
        let me = std::process::id();
        // PIDs above the kernel's pid_max (at most 2^22) belong to no running process.
        let stale = [".ck.safetensors.tmp4000000001", ".ck.safetensors.tmp4000000002-7"];
        let kept = [
            format!(".ck.safetensors.tmp{me}-0"), // this process's own write in progress
            ".ck.safetensors.tmpx1".to_string(),  // not a PID
            ".ck.safetensors.tmp12-".to_string(), // not the pattern
            ".other.tmp4000000001".to_string(),   // another file's temp file
            "ck.safetensors".to_string(),         // the checkpoint itself
        ];
        for name in stale.iter().copied().chain(kept.iter().map(String::as_str)) {
            std::fs::write(dir.join(name), b"partial").unwrap();
        }
        let removed = clean_stale_temp_files(&dir, "ck.safetensors").unwrap();
        assert_eq!(removed, stale.iter().map(|n| dir.join(n)).collect::<Vec<_>>());
        for name in &kept {
            assert!(dir.join(name).exists(), "{name} was removed");
        }
        assert!(clean_stale_temp_files(&dir, "ck.safetensors").unwrap().is_empty());
        assert!(clean_stale_temp_files(&dir.join("missing"), "ck.safetensors").unwrap().is_empty());
        // The writer's own temp names match the pattern (so a killed writer's file is found).
        let name = format!("{}{me}-{}", temp_prefix("ck.safetensors"), 3);
        assert_eq!(name.strip_prefix(".ck.safetensors.tmp").and_then(temp_pid), Some(me));
        std::fs::remove_dir_all(&dir).ok();
    }

    /// A safetensors file whose header is `header` (JSON) followed by `data`.
    fn safetensors_bytes(header: &str, data: &[u8]) -> Vec<u8> {
        let mut b = (header.len() as u64).to_le_bytes().to_vec();
        b.extend_from_slice(header.as_bytes());
        b.extend_from_slice(data);
        b
    }

    #[test]
    fn checkpoint_sizes_are_checked_before_use() {
        let dir = fresh_dir("sizes");
        let p = dir.join("ck.safetensors");
        let load_err = |bytes: &[u8]| {
            std::fs::write(&p, bytes).unwrap();
            load_safetensors(&p).unwrap_err().to_string()
        };
        // A tensor that declares 4 TiB of data in a file of a few bytes.
        let e = load_err(&safetensors_bytes(
            r#"{"w":{"dtype":"F32","shape":[1099511627776],"data_offsets":[0,4398046511104]}}"#,
            &[0; 8],
        ));
        assert!(e.contains("ck.safetensors") && e.contains("not a valid safetensors file"), "{e}");
        // Dims whose product overflows.
        let e = load_err(&safetensors_bytes(
            r#"{"w":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,0]}}"#,
            &[],
        ));
        assert!(e.contains("not a valid safetensors file"), "{e}");
        // A zero dim hides huge others from the crate's check: 0 elements, but no strides fit.
        let e = load_err(&safetensors_bytes(
            r#"{"w":{"dtype":"F32","shape":[0,4294967296,4294967296],"data_offsets":[0,0]}}"#,
            &[],
        ));
        assert!(e.contains("tensor w") && e.contains("too large"), "{e}");
        // A file over the limit is refused from its size, before it is read (sparse: no disk used).
        let f = std::fs::File::create(&p).unwrap();
        f.set_len(MAX_CHECKPOINT_BYTES + 1).unwrap();
        drop(f);
        let e = load_safetensors(&p).unwrap_err().to_string();
        assert!(e.contains("ck.safetensors") && e.contains("-byte limit"), "{e}");
        std::fs::remove_dir_all(&dir).ok();
    }
}
