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
//! reader accepts them, the writer writes 1.0.
//!
//! The `npyz` crate parses the header dict, writes headers and converts the elements' byte order.
//! This module checks what a file declares before anything is allocated for it (the header
//! length against the file's length, the shape's element count against the data that follows),
//! and turns each problem into an error that names the file and what was expected.
//!
//! dtypes: `<f4` (f32), `<f8` (f64) and `<i8` (i64), the engine's three element types. The reader
//! also takes their big-endian forms (`>f4`, `>f8`, `>i8`). Files are written atomically (a temp
//! file in the same folder, then a rename).
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

// ---- writing ------------------------------------------------------------------------------------

/// The `descr` string NumPy uses for a dtype, little-endian.
fn descr(dtype: DType) -> &'static str {
    match dtype {
        DType::F32 => "<f4",
        DType::F64 => "<f8",
        DType::I64 => "<i8",
    }
}

/// The elements of `data` after a version-1.0 header for `shape`, through npyz's writer.
fn encode<T: npyz::Serialize>(dtype: DType, shape: &[usize], data: &[T]) -> std::io::Result<Vec<u8>> {
    use npyz::WriterBuilder;
    let ts: npyz::TypeStr = descr(dtype).parse().expect("the three descr strings parse");
    let shape: Vec<u64> = shape.iter().map(|&d| d as u64).collect();
    let mut out = Vec::with_capacity(128 + std::mem::size_of_val(data));
    let mut w = npyz::WriteOptions::new().dtype(npyz::DType::Plain(ts)).shape(&shape).writer(&mut out).begin_nd()?;
    for v in data {
        w.push(v)?;
    }
    w.finish()?;
    Ok(out)
}

/// The whole file for `t` in memory: header, then its elements in C order.
pub fn npy_bytes(t: &Tensor) -> Result<Vec<u8>> {
    // `to_vec` walks the layout row-major, so transposed or sliced views come out in C order.
    let (dtype, shape) = (t.dtype(), t.shape());
    match dtype {
        DType::F32 => encode(dtype, shape, &t.to_vec::<f32>()?),
        DType::F64 => encode(dtype, shape, &t.to_vec::<f64>()?),
        DType::I64 => encode(dtype, shape, &t.to_vec::<i64>()?),
    }
    .map_err(|e| Error::msg(format!("npy: writing shape {shape:?} of {}: {e}", dtype.as_str())))
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
    let bytes = super::read_bounded(path, MAX_NPY_BYTES, "a .npy file of samples or curves")?;
    parse_npy(&bytes).map_err(|msg| Error::file(path, msg))
}

/// Parse a whole `.npy` file held in memory. Errors are plain messages; [`read_npy`] adds the path.
pub fn npy_from_bytes(bytes: &[u8]) -> Result<Tensor> {
    parse_npy(bytes).map_err(|msg| Error::msg(format!("npy: {msg}")))
}

/// The engine dtype of a supported `descr`; npyz converts either byte order.
fn element_dtype(d: &npyz::DType) -> std::result::Result<DType, String> {
    let npyz::DType::Plain(ts) = d else {
        return Err(format!("'descr' is {}: structured arrays are not supported", d.descr()));
    };
    match ts.to_string().as_str() {
        "<f4" | ">f4" => Ok(DType::F32),
        "<f8" | ">f8" => Ok(DType::F64),
        "<i8" | ">i8" => Ok(DType::I64),
        s => Err(format!("dtype '{s}' is not supported (expected '<f4', '<f8' or '<i8', or their big-endian forms)")),
    }
}

/// Where the header dict ends and the data begins, from the preamble: the magic bytes, the
/// version and HEADER_LEN, checked against the file's length before npyz reads (and allocates)
/// that many bytes.
fn data_start(bytes: &[u8]) -> std::result::Result<usize, String> {
    if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
        let got: Vec<u8> = bytes.iter().take(MAGIC.len()).copied().collect();
        return Err(format!("not a .npy file: expected the magic bytes \\x93NUMPY, found {got:?}"));
    }
    if bytes.len() < 8 {
        return Err("truncated: the file ends inside the version bytes".into());
    }
    let (major, minor) = (bytes[6], bytes[7]);
    // Version 1.x: u16 header length; 2.x and 3.x: u32.
    let preamble = match major {
        1 => 10,
        2 | 3 => 12,
        _ => return Err(format!("format version {major}.{minor} is not supported (expected 1.0, 2.0 or 3.0)")),
    };
    if bytes.len() < preamble {
        return Err("truncated: the file ends inside the header length".into());
    }
    let header_len = if major == 1 {
        u16::from_le_bytes([bytes[8], bytes[9]]) as usize
    } else {
        u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize
    };
    if bytes.len() - preamble < header_len {
        return Err(format!(
            "truncated: the header says it is {header_len} bytes long but the file has only {} after the preamble",
            bytes.len() - preamble
        ));
    }
    Ok(preamble + header_len)
}

fn parse_npy(bytes: &[u8]) -> std::result::Result<Tensor, String> {
    let start = data_start(bytes)?;
    let header = npyz::NpyHeader::from_reader(&bytes[..start]).map_err(|e| {
        format!(
            "the header could not be read ({e}); expected a dict literal with 'descr' ('<f4', '<f8' or '<i8', \
             or their big-endian forms), 'fortran_order' (True or False) and 'shape' (a tuple of integers)"
        )
    })?;
    let dtype = element_dtype(&header.dtype())?;
    if header.order() == npyz::Order::Fortran {
        return Err("fortran_order is True: only C-order arrays are supported (save with np.ascontiguousarray)".into());
    }
    // npyz's own element count is unchecked u64 arithmetic: count again, refusing overflow.
    let shape = header
        .shape()
        .iter()
        .map(|&d| usize::try_from(d))
        .collect::<std::result::Result<Vec<usize>, _>>()
        .map_err(|_| format!("shape {:?} is too large to index", header.shape()))?;
    let numel = shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| format!("shape {shape:?} has too many elements"))?;
    // A zero dim makes the element count 0 whatever the others are; the strides still multiply
    // the others, so they must fit too.
    if shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d.max(1))).is_none_or(|n| n > isize::MAX as usize) {
        return Err(format!("shape {shape:?} is too large to index"));
    }
    let want =
        numel.checked_mul(dtype.size_in_bytes()).ok_or_else(|| format!("shape {shape:?} has too many elements"))?;
    let data = &bytes[start..];
    if data.len() < want {
        return Err(format!(
            "truncated: shape {shape:?} of {} needs {want} bytes of data, found {}",
            dtype.as_str(),
            data.len()
        ));
    }
    if data.len() > want {
        return Err(format!(
            "{} unexpected bytes after the {want} bytes of data for shape {shape:?}",
            data.len() - want
        ));
    }
    let file = npyz::NpyFile::with_header(header, data);
    let bad = |e: std::io::Error| format!("the data could not be read as {} ({e})", dtype.as_str());
    let t = match dtype {
        DType::F32 => Tensor::new(file.into_vec::<f32>().map_err(bad)?, &shape),
        DType::F64 => Tensor::new(file.into_vec::<f64>().map_err(bad)?, &shape),
        DType::I64 => Tensor::new(file.into_vec::<i64>().map_err(bad)?, &shape),
    };
    t.map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file in a folder of its own per test (tests run in parallel in one process).
    fn tmp(test: &str, name: &str) -> std::path::PathBuf {
        std::env::temp_dir().join(format!("minmax-npy-{}-{test}", std::process::id())).join(name)
    }

    #[test]
    fn header_is_what_numpy_reads() -> Result<()> {
        // np.save writes `(2, 3), }`; npyz writes `(2, 3, ), }`, the same tuple to NumPy's parser.
        let t = Tensor::new(vec![1f32, 2., 3., 4., 5., 6.], &[2, 3])?;
        let bytes = npy_bytes(&t)?;
        let mut want = b"\x93NUMPY\x01\x00\x76\x00".to_vec();
        want.extend_from_slice(b"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, ), }");
        want.resize(127, b' ');
        want.push(b'\n');
        assert_eq!(&bytes[..128], &want[..]);
        assert_eq!(bytes.len(), 128 + 24);
        assert_eq!(&bytes[128..132], &1f32.to_le_bytes());
        // Every header length is padded to a multiple of 64, ending in '\n'.
        for shape in [vec![], vec![7], vec![10000, 784], vec![1, 2, 3, 4, 5, 6, 7, 8]] {
            let bytes = npy_bytes(&Tensor::zeros(&shape))?;
            let header = bytes.len() - 4 * shape.iter().product::<usize>();
            assert_eq!(header % 64, 0, "{shape:?}");
            assert_eq!(bytes[header - 1], b'\n');
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
        assert!(e.contains("invalid type string") && e.contains("expected a dict literal with 'descr'"), "{e}");
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
