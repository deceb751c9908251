//! Elementwise kernels: unary maps, binary maps over broadcast layouts, comparisons and `where`.
//! The inner loop always runs along the last dimension with a fixed stride per operand, so a
//! contiguous operand (stride 1) or a broadcast one (stride 0) becomes a simple vectorisable loop.

use super::{contiguous, map_float, map_float2, written, CpuStorage, PAR_THRESHOLD};
use crate::dtype::{Elem, Float};
use crate::layout::Layout;
use crate::storage::{BinaryOp, CmpOp, UnaryOp};
use crate::{Error, Result};

/// `f` applied to every element of `l`, output contiguous.
fn unary_map<T: Float>(v: &[T], l: &Layout, f: impl Fn(T) -> T + Sync + Send) -> Vec<T> {
    let src = contiguous(v, l);
    if src.len() >= PAR_THRESHOLD {
        // SAFETY: each chunk is zipped with the source chunk of the same length and written in full.
        unsafe {
            written(src.len(), 8192, |at, o| {
                let len = o.len();
                for (o, &s) in o.iter_mut().zip(&src[at..at + len]) {
                    o.write(f(s));
                }
            })
        }
    } else {
        src.iter().map(|&x| f(x)).collect()
    }
}

#[inline(always)]
fn sigmoid<T: Float>(x: T) -> T {
    // Stable for both signs: never exponentiates a large positive number.
    if x >= T::zero() {
        T::ONE / (T::ONE + (-x).exp())
    } else {
        let e = x.exp();
        e / (T::ONE + e)
    }
}

fn unary_kernel<T: Float>(v: &[T], l: &Layout, op: UnaryOp) -> Vec<T> {
    let c = T::from_f64;
    match op {
        UnaryOp::Neg => unary_map(v, l, |x| -x),
        UnaryOp::Exp => unary_map(v, l, |x| x.exp()),
        UnaryOp::Log => unary_map(v, l, |x| x.ln()),
        UnaryOp::Sqrt => unary_map(v, l, |x| x.sqrt()),
        UnaryOp::Recip => unary_map(v, l, |x| T::ONE / x),
        UnaryOp::Relu => unary_map(v, l, |x| if x > T::zero() { x } else { T::zero() }),
        UnaryOp::Sigmoid => unary_map(v, l, sigmoid),
        UnaryOp::Tanh => unary_map(v, l, |x| x.tanh()),
        UnaryOp::Affine { mul, add } => {
            let (m, a) = (c(mul), c(add));
            unary_map(v, l, move |x| x * m + a)
        }
        UnaryOp::PowScalar(p) => {
            if p == 2.0 {
                unary_map(v, l, |x| x * x)
            } else if p == 1.0 {
                unary_map(v, l, |x| x)
            } else if p == 0.5 {
                unary_map(v, l, |x| x.sqrt())
            } else if p == -1.0 {
                unary_map(v, l, |x| T::ONE / x)
            } else {
                let p = c(p);
                unary_map(v, l, move |x| x.powf(p))
            }
        }
        UnaryOp::LeakyRelu(s) => {
            let s = c(s);
            unary_map(v, l, move |x| if x > T::zero() { x } else { s * x })
        }
    }
}

/// Calls `f(a_off, b_off, out_index, len, a_stride, b_stride)` for each row of the last dimension
/// of two layouts that share a shape.
fn for_each_row2(al: &Layout, bl: &Layout, mut f: impl FnMut(usize, usize, usize, usize, usize, usize)) {
    let n = al.numel();
    if n == 0 {
        return;
    }
    let c = crate::layout::coalesce(&[al, bl]);
    let (al, bl) = (&c[0], &c[1]);
    let r = al.rank();
    if r == 0 {
        f(al.offset, bl.offset, 0, 1, 0, 0);
        return;
    }
    let len = al.shape[r - 1];
    let (sa, sb) = (al.strides[r - 1], bl.strides[r - 1]);
    let mut idx = vec![0usize; r - 1];
    let (mut oa, mut ob) = (al.offset, bl.offset);
    let rows = n / len;
    for row in 0..rows {
        f(oa, ob, row * len, len, sa, sb);
        // advance the outer multi-index
        let mut d = r - 1;
        while d > 0 {
            d -= 1;
            idx[d] += 1;
            oa += al.strides[d];
            ob += bl.strides[d];
            if idx[d] < al.shape[d] {
                break;
            }
            oa -= al.strides[d] * al.shape[d];
            ob -= bl.strides[d] * bl.shape[d];
            idx[d] = 0;
        }
    }
}

/// `f(a, b)` over two layouts of the same (broadcast) shape, output contiguous.
pub(crate) fn binary_map<T: Elem, U: Elem>(
    a: &[T],
    al: &Layout,
    b: &[T],
    bl: &Layout,
    f: impl Fn(T, T) -> U + Sync + Send,
) -> Vec<U> {
    let n = al.numel();
    // Fast path: both contiguous.
    if let (Some((a0, a1)), Some((b0, b1))) = (al.contiguous_range(), bl.contiguous_range()) {
        let (a, b) = (&a[a0..a1], &b[b0..b1]);
        if n >= PAR_THRESHOLD {
            // SAFETY: a and b have n elements each (the same shape), so every chunk is written in full.
            return unsafe {
                written(n, 8192, |at, o| {
                    let len = o.len();
                    for ((o, &x), &y) in o.iter_mut().zip(&a[at..at + len]).zip(&b[at..at + len]) {
                        o.write(f(x, y));
                    }
                })
            };
        }
        return a.iter().zip(b).map(|(&x, &y)| f(x, y)).collect();
    }
    let mut out = vec![U::zero(); n];
    for_each_row2(al, bl, |oa, ob, at, len, sa, sb| {
        let o = &mut out[at..at + len];
        match (sa, sb) {
            (1, 1) => {
                for ((o, &x), &y) in o.iter_mut().zip(&a[oa..oa + len]).zip(&b[ob..ob + len]) {
                    *o = f(x, y);
                }
            }
            (1, 0) => {
                let y = b[ob];
                for (o, &x) in o.iter_mut().zip(&a[oa..oa + len]) {
                    *o = f(x, y);
                }
            }
            (0, 1) => {
                let x = a[oa];
                for (o, &y) in o.iter_mut().zip(&b[ob..ob + len]) {
                    *o = f(x, y);
                }
            }
            _ => {
                for (i, o) in o.iter_mut().enumerate() {
                    *o = f(a[oa + i * sa], b[ob + i * sb]);
                }
            }
        }
    });
    out
}

fn binary_kernel<T: Float>(a: &[T], al: &Layout, b: &[T], bl: &Layout, op: BinaryOp) -> Vec<T> {
    match op {
        BinaryOp::Add => binary_map(a, al, b, bl, |x, y| x + y),
        BinaryOp::Mul => binary_map(a, al, b, bl, |x, y| x * y),
        BinaryOp::Div => binary_map(a, al, b, bl, |x, y| x / y),
        BinaryOp::Pow => binary_map(a, al, b, bl, |x, y| x.powf(y)),
        BinaryOp::Maximum => binary_map(a, al, b, bl, |x, y| x.maxf(y)),
    }
}

fn cmp_kernel<T: Elem, U: Float>(a: &[T], al: &Layout, b: &[T], bl: &Layout, op: CmpOp) -> Vec<U> {
    let t = |c: bool| if c { U::ONE } else { U::zero() };
    match op {
        CmpOp::Eq => binary_map(a, al, b, bl, |x, y| t(x == y)),
        CmpOp::Gt => binary_map(a, al, b, bl, |x, y| t(x > y)),
    }
}

impl CpuStorage {
    pub fn unary(&self, l: &Layout, op: UnaryOp) -> Result<Self> {
        Ok(map_float!(self, "unary op", |v| unary_kernel(v, l, op)))
    }
    pub fn binary(&self, l: &Layout, rhs: &Self, rl: &Layout, op: BinaryOp) -> Result<Self> {
        Ok(map_float2!(self, rhs, "binary op", |a, b| binary_kernel(a, l, b, rl, op)))
    }
    /// 0/1 in the operands' float dtype (f32 for i64 operands).
    pub fn cmp(&self, l: &Layout, rhs: &Self, rl: &Layout, op: CmpOp) -> Result<Self> {
        Ok(match (self, rhs) {
            (CpuStorage::F32(a), CpuStorage::F32(b)) => CpuStorage::F32(cmp_kernel(a, l, b, rl, op)),
            (CpuStorage::F64(a), CpuStorage::F64(b)) => CpuStorage::F64(cmp_kernel(a, l, b, rl, op)),
            (CpuStorage::I64(a), CpuStorage::I64(b)) => CpuStorage::F32(cmp_kernel(a, l, b, rl, op)),
            (a, b) => return Err(Error::DTypeMismatch { op: "comparison", lhs: a.dtype(), rhs: b.dtype() }),
        })
    }
    pub fn where_cond(&self, l: &Layout, a: &Self, al: &Layout, b: &Self, bl: &Layout) -> Result<Self> {
        fn go<C: Elem, T: Elem>(c: &[C], cl: &Layout, a: &[T], al: &Layout, b: &[T], bl: &Layout) -> Vec<T> {
            let n = cl.numel();
            // Fast path: each operand contiguous (stride 1) or one broadcast value (stride 0), as
            // in every mask of the activations' backward rules: a flat loop, split across threads
            // when large.
            let flat = |l: &Layout| {
                if l.is_contiguous() {
                    Some((l.offset, 1))
                } else if l.strides.iter().all(|&s| s == 0) {
                    Some((l.offset, 0))
                } else {
                    None
                }
            };
            if let (Some((co, cs)), Some((ao, sa)), Some((bo, sb))) = (flat(cl), flat(al), flat(bl)) {
                let z = C::zero();
                // One loop per stride pattern, so each is a plain select the compiler vectorises.
                let fill = |start: usize, out: &mut [std::mem::MaybeUninit<T>]| {
                    let len = out.len();
                    let cc = &c[co + start * cs..];
                    match (cs, sa, sb) {
                        (1, 0, 0) => {
                            let (x, y) = (a[ao], b[bo]);
                            for (o, &k) in out.iter_mut().zip(&cc[..len]) {
                                o.write(if k != z { x } else { y });
                            }
                        }
                        (1, 1, 1) => {
                            let (aa, bb) = (&a[ao + start..ao + start + len], &b[bo + start..bo + start + len]);
                            for (((o, &k), &x), &y) in out.iter_mut().zip(&cc[..len]).zip(aa).zip(bb) {
                                o.write(if k != z { x } else { y });
                            }
                        }
                        _ => {
                            for (j, o) in out.iter_mut().enumerate() {
                                let i = start + j;
                                o.write(if c[co + i * cs] != z { a[ao + i * sa] } else { b[bo + i * sb] });
                            }
                        }
                    }
                };
                // SAFETY: every branch of `fill` writes each element of the chunk it is given.
                let out = unsafe { written(n, 8192, fill) };
                return out;
            }
            let mut out = Vec::with_capacity(n);
            for ((ci, ai), bi) in cl.iter().zip(al.iter()).zip(bl.iter()) {
                out.push(if c[ci].to_f64() != 0.0 { a[ai] } else { b[bi] });
            }
            out
        }
        macro_rules! with_cond {
            ($a:expr, $b:expr) => {
                match self {
                    CpuStorage::F32(c) => go(c, l, $a, al, $b, bl),
                    CpuStorage::F64(c) => go(c, l, $a, al, $b, bl),
                    CpuStorage::I64(c) => go(c, l, $a, al, $b, bl),
                }
            };
        }
        Ok(match (a, b) {
            (CpuStorage::F32(a), CpuStorage::F32(b)) => CpuStorage::F32(with_cond!(a, b)),
            (CpuStorage::F64(a), CpuStorage::F64(b)) => CpuStorage::F64(with_cond!(a, b)),
            (CpuStorage::I64(a), CpuStorage::I64(b)) => CpuStorage::I64(with_cond!(a, b)),
            (a, b) => return Err(Error::DTypeMismatch { op: "where", lhs: a.dtype(), rhs: b.dtype() }),
        })
    }
}
