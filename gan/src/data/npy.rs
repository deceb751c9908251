//! Reading and writing NumPy `.npy` files, so tensors (samples, log-likelihoods, losses) can be
//! opened with `numpy.load` and arrays made in Python can be read back.
//!
//! The format (NumPy's `numpy/lib/format.py`, version 1.0):
//!
//! ```text
//! bytes 0..6   \x93NUMPY                      magic string
//! bytes 6..8   0x01 0x00                      format version 1.0
//! bytes 8..10  HEADER_LEN                     little-endian u16
//! next HEADER_LEN bytes                       an ASCII Python dict literal, e.g.
//!              {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
//!              padded with spaces and ended by '\n' so that 10 + HEADER_LEN is a multiple of 64
//! the rest     the elements, row-major ("C order"), in the byte order of `descr`
//! ```
//!
//! Versions 2.0 and 3.0 only widen HEADER_LEN to a u32 (and 3.0 allows UTF-8 in the header); the
//! reader accepts them, the writer always writes 1.0.
//!
//! dtypes: `<f4` (f32), `<f8` (f64) and `<i8` (i64), the engine's three element types. The reader
//! also takes their big-endian forms (`>f4`, `>f8`, `>i8`). Files are written atomically (a temp
//! file in the same folder, then a rename). Every error names the file and what was expected.
//!
//! Left out: every other dtype (bool, unsigned and small integers, f16, complex, structured and
//! object arrays), `fortran_order: True` (rejected with a message), `.npz` archives and
//! memory-mapping.

use std::path::Path;

use minmax_engine::io::write_atomic;
use minmax_engine::{DType, Error, Result, Tensor};

/// The six bytes every `.npy` file starts with.
pub const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// The largest `.npy` file [`read_npy`] reads: 4 GiB (the arrays here are samples and curves of a
/// few MB). Reading is from memory, so a larger file would take that much of it.
pub const MAX_NPY_BYTES: u64 = 4 << 30;

/// Preamble before the header dict in version 1.0: magic (6) + version (2) + u16 length (2).
const PREAMBLE_V1: usize = 10;

/// The header (preamble + dict + padding + '\n') is padded to a multiple of this.
const HEADER_ALIGN: usize = 64;

// ---- writing ------------------------------------------------------------------------------------

/// The `descr` string NumPy uses for a dtype, little-endian.
fn descr(dtype: DType) -> &'static str {
    match dtype {
        DType::F32 => "<f4",
        DType::F64 => "<f8",
        DType::I64 => "<i8",
    }
}

/// The header dict for `shape` exactly as NumPy writes it: a 1-d shape keeps its trailing comma,
/// `(3,)`, and a scalar has shape `()`.
fn header_dict(dtype: DType, shape: &[usize]) -> String {
    let shape = match shape {
        [] => "()".to_string(),
        [n] => format!("({n},)"),
        dims => format!("({})", dims.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")),
    };
    format!("{{'descr': '{}', 'fortran_order': False, 'shape': {shape}, }}", descr(dtype))
}

/// The complete version-1.0 header: preamble, dict, space padding and the final newline.
fn header_bytes(dtype: DType, shape: &[usize]) -> Result<Vec<u8>> {
    let dict = header_dict(dtype, shape);
    // Pad so that preamble + dict + spaces + '\n' is a multiple of 64.
    let unpadded = PREAMBLE_V1 + dict.len() + 1;
    let total = unpadded.div_ceil(HEADER_ALIGN) * HEADER_ALIGN;
    let header_len = total - PREAMBLE_V1;
    let header_len = u16::try_from(header_len).map_err(|_| {
        Error::msg(format!(
            "npy: a header of {header_len} bytes for shape {shape:?} does not fit format 1.0 (at most 65535)"
        ))
    })?;
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&header_len.to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out.resize(total - 1, b' ');
    out.push(b'\n');
    Ok(out)
}

/// The whole file for `t` in memory: header, then its elements in C order.
pub fn npy_bytes(t: &Tensor) -> Result<Vec<u8>> {
    let mut out = header_bytes(t.dtype(), t.shape())?;
    out.reserve(t.numel() * t.dtype().size_in_bytes());
    // `to_vec` walks the layout row-major, so transposed or sliced views come out in C order.
    match t.dtype() {
        DType::F32 => t.to_vec::<f32>()?.iter().for_each(|v| out.extend_from_slice(&v.to_le_bytes())),
        DType::F64 => t.to_vec::<f64>()?.iter().for_each(|v| out.extend_from_slice(&v.to_le_bytes())),
        DType::I64 => t.to_vec::<i64>()?.iter().for_each(|v| out.extend_from_slice(&v.to_le_bytes())),
    }
    Ok(out)
}

/// Write `t` to `path` as a version-1.0 `.npy` file (`<f4`, `<f8` or `<i8`, C order), atomically.
pub fn write_npy(path: &Path, t: &Tensor) -> Result<()> {
    let bytes = npy_bytes(t).map_err(|e| Error::file(path, e.to_string()))?;
    write_atomic(path, &bytes)
}

// ---- reading ------------------------------------------------------------------------------------

/// Read a `.npy` file of dtype f4, f8 or i8 (either byte order, C order) into a tensor of the
/// matching engine dtype.
pub fn read_npy(path: &Path) -> Result<Tensor> {
    use std::io::Read;
    let io = |e| Error::Io { path: path.to_path_buf(), source: e };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    if len > MAX_NPY_BYTES {
        return Err(Error::file(
            path,
            format!("is {len} bytes, more than the {MAX_NPY_BYTES}-byte limit for a .npy file minmax reads"),
        ));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    // Bounded even if the file grows while it is read; the parser then reports the extra bytes.
    (&mut file).take(MAX_NPY_BYTES + 1).read_to_end(&mut bytes).map_err(io)?;
    parse_npy(&bytes).map_err(|msg| Error::file(path, msg))
}

/// Parse a whole `.npy` file held in memory. Errors are plain messages; [`read_npy`] adds the path.
pub fn npy_from_bytes(bytes: &[u8]) -> Result<Tensor> {
    parse_npy(bytes).map_err(|msg| Error::msg(format!("npy: {msg}")))
}

/// Element type and byte order of a supported `descr`.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Descr {
    dtype: DType,
    little_endian: bool,
}

fn parse_descr(s: &str) -> std::result::Result<Descr, String> {
    // Split after the first character, not byte: a version 3.0 header may hold any UTF-8.
    let (order, code) = s.split_at(s.chars().next().map_or(0, char::len_utf8));
    let little_endian = match order {
        "<" => true,
        ">" => false,
        _ => return Err(unsupported_dtype(s)),
    };
    let dtype = match code {
        "f4" => DType::F32,
        "f8" => DType::F64,
        "i8" => DType::I64,
        _ => return Err(unsupported_dtype(s)),
    };
    Ok(Descr { dtype, little_endian })
}

fn unsupported_dtype(s: &str) -> String {
    format!("dtype '{s}' is not supported (expected '<f4', '<f8' or '<i8', or their big-endian forms)")
}

fn parse_npy(bytes: &[u8]) -> std::result::Result<Tensor, String> {
    if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
        let got: Vec<u8> = bytes.iter().take(MAGIC.len()).copied().collect();
        return Err(format!("not a .npy file: expected the magic bytes \\x93NUMPY, found {got:?}"));
    }
    if bytes.len() < 8 {
        return Err("truncated: the file ends inside the version bytes".into());
    }
    let (major, minor) = (bytes[6], bytes[7]);
    // Version 1.x: u16 header length; 2.x and 3.x: u32.
    let (len_bytes, preamble) = match major {
        1 => (2, 10),
        2 | 3 => (4, 12),
        _ => return Err(format!("format version {major}.{minor} is not supported (expected 1.0, 2.0 or 3.0)")),
    };
    if bytes.len() < preamble {
        return Err("truncated: the file ends inside the header length".into());
    }
    let header_len = if len_bytes == 2 {
        u16::from_le_bytes([bytes[8], bytes[9]]) as usize
    } else {
        u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize
    };
    let data_start = preamble + header_len;
    if bytes.len() < data_start {
        return Err(format!(
            "truncated: the header says it is {header_len} bytes long but the file has only {} after the preamble",
            bytes.len() - preamble
        ));
    }
    let header =
        std::str::from_utf8(&bytes[preamble..data_start]).map_err(|_| "the header is not valid text".to_string())?;
    let (descr, fortran_order, shape) = parse_header(header)?;
    if fortran_order {
        return Err("fortran_order is True: only C-order arrays are supported (save with np.ascontiguousarray)".into());
    }
    let numel = shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| format!("shape {shape:?} has too many elements"))?;
    // A zero dim makes the element count 0 whatever the others are; the strides still multiply
    // the others, so they must fit too.
    if shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d.max(1))).is_none_or(|n| n > isize::MAX as usize) {
        return Err(format!("shape {shape:?} is too large to index"));
    }
    let size = descr.dtype.size_in_bytes();
    let want = numel.checked_mul(size).ok_or_else(|| format!("shape {shape:?} has too many elements"))?;
    let data = &bytes[data_start..];
    if data.len() < want {
        return Err(format!(
            "truncated: shape {shape:?} of {} needs {want} bytes of data, found {}",
            descr.dtype.as_str(),
            data.len()
        ));
    }
    if data.len() > want {
        return Err(format!(
            "{} unexpected bytes after the {want} bytes of data for shape {shape:?}",
            data.len() - want
        ));
    }
    let le = descr.little_endian;
    let t = match descr.dtype {
        DType::F32 => Tensor::new(
            data.chunks_exact(4)
                .map(|c| {
                    let b = [c[0], c[1], c[2], c[3]];
                    if le {
                        f32::from_le_bytes(b)
                    } else {
                        f32::from_be_bytes(b)
                    }
                })
                .collect(),
            &shape,
        ),
        DType::F64 => Tensor::new(
            data.chunks_exact(8)
                .map(|c| {
                    let b = eight(c);
                    if le {
                        f64::from_le_bytes(b)
                    } else {
                        f64::from_be_bytes(b)
                    }
                })
                .collect(),
            &shape,
        ),
        DType::I64 => Tensor::new(
            data.chunks_exact(8)
                .map(|c| {
                    let b = eight(c);
                    if le {
                        i64::from_le_bytes(b)
                    } else {
                        i64::from_be_bytes(b)
                    }
                })
                .collect(),
            &shape,
        ),
    };
    t.map_err(|e| e.to_string())
}

/// The first eight bytes of a chunk from `chunks_exact(8)`.
fn eight(c: &[u8]) -> [u8; 8] {
    let mut b = [0u8; 8];
    b.copy_from_slice(&c[..8]);
    b
}

/// Read `descr`, `fortran_order` and `shape` out of the header dict. The parser knows exactly
/// the literals NumPy writes: quoted strings, `True`/`False` and tuples of integers.
fn parse_header(h: &str) -> std::result::Result<(Descr, bool, Vec<usize>), String> {
    let body = h.trim();
    let body = body
        .strip_prefix('{')
        .and_then(|b| b.strip_suffix('}'))
        .ok_or_else(|| format!("the header is not a dict literal: {body:?}"))?;
    let value_of = |key: &str| -> std::result::Result<&str, String> {
        for quote in ['\'', '"'] {
            let k = format!("{quote}{key}{quote}");
            if let Some(i) = body.find(&k) {
                let rest = body[i + k.len()..].trim_start();
                return rest
                    .strip_prefix(':')
                    .map(str::trim_start)
                    .ok_or_else(|| format!("no ':' after key '{key}' in header {h:?}"));
            }
        }
        Err(format!("the header has no '{key}' entry: {h:?}"))
    };

    // 'descr': '<f4'
    let v = value_of("descr")?;
    let quote =
        v.chars().next().filter(|c| *c == '\'' || *c == '"').ok_or_else(|| {
            format!("'descr' is not a simple dtype string (structured arrays are not supported): {h:?}")
        })?;
    let end = v[1..].find(quote).ok_or_else(|| format!("unterminated 'descr' string in header {h:?}"))?;
    let descr = parse_descr(&v[1..1 + end])?;

    // 'fortran_order': False
    let v = value_of("fortran_order")?;
    let fortran = if v.starts_with("False") {
        false
    } else if v.starts_with("True") {
        true
    } else {
        return Err(format!("'fortran_order' must be True or False in header {h:?}"));
    };

    // 'shape': (2, 3)
    let v = value_of("shape")?;
    let inner = v
        .strip_prefix('(')
        .and_then(|r| r.find(')').map(|j| &r[..j]))
        .ok_or_else(|| format!("'shape' is not a tuple in header {h:?}"))?;
    let shape = inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            // NumPy on some platforms once wrote Python 2 longs such as `3L`.
            s.trim_end_matches('L')
                .parse::<usize>()
                .map_err(|_| format!("'shape' entry '{s}' is not a non-negative integer"))
        })
        .collect::<std::result::Result<Vec<usize>, String>>()?;
    Ok((descr, fortran, shape))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file in a folder of its own per test (tests run in parallel in one process).
    fn tmp(test: &str, name: &str) -> std::path::PathBuf {
        std::env::temp_dir().join(format!("minmax-npy-{}-{test}", std::process::id())).join(name)
    }

    #[test]
    fn header_bytes_match_numpy() -> Result<()> {
        // Reference: np.save(f, np.array([[1, 2, 3], [4, 5, 6]], dtype='<f4')) writes exactly
        // these 128 header bytes (checked with NumPy 2.4), followed by 24 data bytes.
        let mut want = b"\x93NUMPY\x01\x00\x76\x00".to_vec();
        want.extend_from_slice(b"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }");
        want.resize(127, b' ');
        want.push(b'\n');
        let t = Tensor::new(vec![1f32, 2., 3., 4., 5., 6.], &[2, 3])?;
        let bytes = npy_bytes(&t)?;
        assert_eq!(&bytes[..128], &want[..]);
        assert_eq!(bytes.len(), 128 + 24);
        assert_eq!(&bytes[128..132], &1f32.to_le_bytes());
        // 1-d shapes keep the trailing comma, scalars are `()`.
        assert_eq!(header_dict(DType::I64, &[3]), "{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }");
        assert_eq!(header_dict(DType::F64, &[]), "{'descr': '<f8', 'fortran_order': False, 'shape': (), }");
        // Every header length is padded to a multiple of 64, ending in '\n'.
        for shape in [vec![], vec![7], vec![10000, 784], vec![1, 2, 3, 4, 5, 6, 7, 8]] {
            let h = header_bytes(DType::F32, &shape)?;
            assert_eq!(h.len() % 64, 0, "{shape:?}");
            assert_eq!(*h.last().unwrap(), b'\n');
        }
        Ok(())
    }

    #[test]
    fn round_trips_all_dtypes() -> Result<()> {
        let a = Tensor::new(vec![1.5f32, -2.0, 3.25, 0.0, 1e-30, f32::MAX], &[2, 3])?;
        let b = Tensor::new(vec![std::f64::consts::PI, -1e300], &[2])?;
        let c = Tensor::new(vec![i64::MIN, -1, 0, 7, i64::MAX, 3, 4, 5], &[2, 2, 2])?;
        let s = Tensor::new(vec![42.0f64], &[])?;
        let e = Tensor::new(Vec::<f32>::new(), &[0, 784])?;
        for (name, t) in [("a", &a), ("b", &b), ("c", &c), ("s", &s), ("e", &e)] {
            let p = tmp("round_trip", &format!("{name}.npy"));
            write_npy(&p, t)?;
            let r = read_npy(&p)?;
            assert_eq!(r.dtype(), t.dtype(), "{name}");
            assert_eq!(r.shape(), t.shape(), "{name}");
            assert_eq!(r.to_vec::<f64>()?, t.to_vec::<f64>()?, "{name}");
        }
        assert_eq!(read_npy(&tmp("round_trip", "c.npy"))?.to_vec::<i64>()?, c.to_vec::<i64>()?);
        // A transposed view is written in C order of its logical shape.
        let tt = a.t()?;
        let p = tmp("round_trip", "t.npy");
        write_npy(&p, &tt)?;
        let r = read_npy(&p)?;
        assert_eq!(r.shape(), &[3, 2]);
        assert_eq!(r.to_vec::<f32>()?, vec![1.5, 0.0, -2.0, 1e-30, 3.25, f32::MAX]);
        std::fs::remove_dir_all(tmp("round_trip", "")).ok();
        Ok(())
    }

    #[test]
    fn reads_big_endian_and_version_2() -> Result<()> {
        let mut bytes = b"\x93NUMPY\x02\x00".to_vec();
        let dict = "{'descr': '>f8', 'fortran_order': False, 'shape': (2,), }";
        let total = (12 + dict.len() + 1).div_ceil(64) * 64;
        bytes.extend_from_slice(&((total - 12) as u32).to_le_bytes());
        bytes.extend_from_slice(dict.as_bytes());
        bytes.resize(total - 1, b' ');
        bytes.push(b'\n');
        bytes.extend_from_slice(&1.5f64.to_be_bytes());
        bytes.extend_from_slice(&(-3.0f64).to_be_bytes());
        let t = npy_from_bytes(&bytes)?;
        assert_eq!(t.dtype(), DType::F64);
        assert_eq!(t.to_vec::<f64>()?, vec![1.5, -3.0]);
        Ok(())
    }

    /// A valid v1.0 file for `dict` followed by `data`.
    fn file_with(dict: &str, data: &[u8]) -> Vec<u8> {
        let mut b = b"\x93NUMPY\x01\x00".to_vec();
        let total = (10 + dict.len() + 1).div_ceil(64) * 64;
        b.extend_from_slice(&((total - 10) as u16).to_le_bytes());
        b.extend_from_slice(dict.as_bytes());
        b.resize(total - 1, b' ');
        b.push(b'\n');
        b.extend_from_slice(data);
        b
    }

    #[test]
    fn clear_errors() -> Result<()> {
        let p = tmp("errors", "bad.npy");
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        let err = |bytes: &[u8]| {
            std::fs::write(&p, bytes).unwrap();
            read_npy(&p).unwrap_err().to_string()
        };

        let e = err(b"PK\x03\x04 this is a zip");
        assert!(e.contains("bad.npy") && e.contains("magic"), "{e}");

        let e = err(&file_with("{'descr': '|u1', 'fortran_order': False, 'shape': (2,), }", &[1, 2]));
        assert!(e.contains("dtype '|u1' is not supported"), "{e}");

        let e = err(&file_with("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", &[0; 16]));
        assert!(e.contains("fortran_order"), "{e}");

        let e = err(&file_with("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", &[0; 20]));
        assert!(e.contains("truncated") && e.contains("needs 24 bytes"), "{e}");

        let mut short = file_with("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", &[]);
        short.truncate(30);
        let e = err(&short);
        assert!(e.contains("truncated"), "{e}");

        let e = err(&file_with("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", &[0; 4]));
        assert!(e.contains("structured"), "{e}");

        // Edited headers: a multi-byte first character in 'descr', and huge dims behind a zero.
        let e = err(&file_with("{'descr': '\u{e9}f4', 'fortran_order': False, 'shape': (1,), }", &[0; 4]));
        assert!(e.contains("is not supported"), "{e}");
        let e =
            err(&file_with("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 4294967296, 4294967296), }", &[]));
        assert!(e.contains("too large"), "{e}");
        let e = err(&file_with("{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", &[]));
        assert!(e.contains("too many elements"), "{e}");

        // A file over the size limit is refused before it is read (sparse: no disk used).
        let f = std::fs::File::create(&p).unwrap();
        f.set_len(MAX_NPY_BYTES + 1).unwrap();
        drop(f);
        let e = read_npy(&p).unwrap_err().to_string();
        assert!(e.contains("bad.npy") && e.contains("-byte limit"), "{e}");

        let e = read_npy(&tmp("errors", "does-not-exist.npy")).unwrap_err().to_string();
        assert!(e.contains("does-not-exist.npy"), "{e}");
        std::fs::remove_dir_all(tmp("errors", "")).ok();
        Ok(())
    }
}
