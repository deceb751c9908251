//! Checkpoints in the safetensors format (loadable in Python with
//! `safetensors.torch.load_file`). Files are written atomically: to a temporary file in the same
//! folder, flushed, then renamed over the target, so a crash never leaves a half-written checkpoint.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use safetensors::tensor::{Dtype, SafeTensors, TensorView};

use crate::{DType, Error, Result, Tensor};

/// Write `bytes` to `path` atomically (temp file + fsync + rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let io = |e| Error::Io { path: path.to_path_buf(), source: e };
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io)?;
    let name = path.file_name().ok_or_else(|| Error::file(path, "not a file path"))?.to_string_lossy();
    let tmp: PathBuf = dir.join(format!(".{name}.tmp{}", std::process::id()));
    let mut f = std::fs::File::create(&tmp).map_err(io)?;
    f.write_all(bytes).map_err(io)?;
    f.sync_all().map_err(io)?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(io)
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
    let bytes = std::fs::read(path).map_err(|e| Error::Io { path: path.to_path_buf(), source: e })?;
    let st = SafeTensors::deserialize(&bytes)
        .map_err(|e| Error::file(path, format!("not a valid safetensors file: {e}")))?;
    let (_, meta) = SafeTensors::read_metadata(&bytes).map_err(|e| Error::file(path, format!("bad header: {e}")))?;
    let metadata = meta.metadata().clone().unwrap_or_default();
    let mut out = Vec::new();
    for (name, v) in st.tensors() {
        let shape = v.shape().to_vec();
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
    Ok(meta)
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
}
