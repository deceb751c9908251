//! Fused, in-place optimizer updates on contiguous parameter storage. They run outside autograd:
//! an optimizer step is not part of any graph.

use rayon::prelude::*;

use super::{contiguous, CpuStorage, PAR_THRESHOLD};
use crate::dtype::Float;
use crate::layout::Layout;
use crate::storage::{AdamHyper, SgdHyper};
use crate::{Error, Result};

fn mismatch(op: &'static str, a: &CpuStorage, b: &CpuStorage) -> Error {
    Error::DTypeMismatch { op, lhs: a.dtype(), rhs: b.dtype() }
}

/// Elements per task when an update is split across threads: each element's update reads only
/// its own p, g and state, so the split changes no bits.
const CHUNK: usize = 1 << 14;

fn sgd<T: Float>(p: &mut [T], g: &[T], v: Option<&mut [T]>, h: SgdHyper) {
    let (lr, mu, wd) = (T::from_f64(h.lr), T::from_f64(h.momentum), T::from_f64(h.weight_decay));
    let plain = |p: &mut [T], g: &[T]| p.iter_mut().zip(g).for_each(|(p, &g)| *p = *p - lr * (g + wd * *p));
    let momentum = |p: &mut [T], g: &[T], v: &mut [T]| {
        for ((p, &g), v) in p.iter_mut().zip(g).zip(v.iter_mut()) {
            let d = g + wd * *p;
            *v = mu * *v + d;
            let step = if h.nesterov { d + mu * *v } else { *v };
            *p = *p - lr * step;
        }
    };
    let par = p.len() >= PAR_THRESHOLD;
    match v {
        None if par => p.par_chunks_mut(CHUNK).zip(g.par_chunks(CHUNK)).for_each(|(p, g)| plain(p, g)),
        None => plain(p, g),
        Some(v) if par => p
            .par_chunks_mut(CHUNK)
            .zip(g.par_chunks(CHUNK))
            .zip(v.par_chunks_mut(CHUNK))
            .for_each(|((p, g), v)| momentum(p, g, v)),
        Some(v) => momentum(p, g, v),
    }
}

fn adam<T: Float>(p: &mut [T], g: &[T], m: &mut [T], v: &mut [T], h: AdamHyper) {
    let c = T::from_f64;
    let (b1, b2, eps, wd) = (c(h.beta1), c(h.beta2), c(h.eps), c(h.weight_decay));
    let bc1 = 1.0 - h.beta1.powi(h.step as i32);
    let bc2 = 1.0 - h.beta2.powi(h.step as i32);
    let step = c(h.lr / bc1);
    let bc2_sqrt = c(bc2.sqrt());
    let decay = c(1.0 - h.lr * h.weight_decay);
    let run = |p: &mut [T], g: &[T], m: &mut [T], v: &mut [T]| {
        for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
            let g = if h.decoupled { g } else { g + wd * *p };
            if h.decoupled {
                *p = *p * decay;
            }
            *m = b1 * *m + (T::ONE - b1) * g;
            *v = b2 * *v + (T::ONE - b2) * g * g;
            *p = *p - step * *m / ((*v).sqrt() / bc2_sqrt + eps);
        }
    };
    if p.len() >= PAR_THRESHOLD {
        p.par_chunks_mut(CHUNK)
            .zip(g.par_chunks(CHUNK))
            .zip(m.par_chunks_mut(CHUNK))
            .zip(v.par_chunks_mut(CHUNK))
            .for_each(|(((p, g), m), v)| run(p, g, m, v));
    } else {
        run(p, g, m, v);
    }
}

impl CpuStorage {
    pub fn axpby_(&mut self, alpha: f64, other: &CpuStorage, ol: &Layout, beta: f64) -> Result<()> {
        match (&mut *self, other) {
            (CpuStorage::F32(a), CpuStorage::F32(b)) => {
                let b = contiguous(b, ol);
                let (al, be) = (alpha as f32, beta as f32);
                a.iter_mut().zip(b.iter()).for_each(|(a, &b)| *a = *a * al + b * be);
            }
            (CpuStorage::F64(a), CpuStorage::F64(b)) => {
                let b = contiguous(b, ol);
                a.iter_mut().zip(b.iter()).for_each(|(a, &b)| *a = *a * alpha + b * beta);
            }
            (a, b) => return Err(mismatch("axpby_", a, b)),
        }
        Ok(())
    }
    pub fn sgd_step_(
        &mut self,
        grad: &CpuStorage,
        gl: &Layout,
        vel: Option<&mut CpuStorage>,
        h: SgdHyper,
    ) -> Result<()> {
        match (&mut *self, grad) {
            (CpuStorage::F32(p), CpuStorage::F32(g)) => {
                let g = contiguous(g, gl);
                let v = match vel {
                    Some(CpuStorage::F32(v)) => Some(v.as_mut_slice()),
                    None => None,
                    Some(o) => return Err(Error::DTypeMismatch { op: "sgd", lhs: crate::DType::F32, rhs: o.dtype() }),
                };
                sgd(p, &g, v, h)
            }
            (CpuStorage::F64(p), CpuStorage::F64(g)) => {
                let g = contiguous(g, gl);
                let v = match vel {
                    Some(CpuStorage::F64(v)) => Some(v.as_mut_slice()),
                    None => None,
                    Some(o) => return Err(Error::DTypeMismatch { op: "sgd", lhs: crate::DType::F64, rhs: o.dtype() }),
                };
                sgd(p, &g, v, h)
            }
            (a, b) => return Err(mismatch("sgd", a, b)),
        }
        Ok(())
    }
    pub fn adam_step_(
        &mut self,
        grad: &CpuStorage,
        gl: &Layout,
        m: &mut CpuStorage,
        v: &mut CpuStorage,
        h: AdamHyper,
    ) -> Result<()> {
        match (&mut *self, grad, m, v) {
            (CpuStorage::F32(p), CpuStorage::F32(g), CpuStorage::F32(m), CpuStorage::F32(v)) => {
                adam(p, &contiguous(g, gl), m, v, h)
            }
            (CpuStorage::F64(p), CpuStorage::F64(g), CpuStorage::F64(m), CpuStorage::F64(v)) => {
                adam(p, &contiguous(g, gl), m, v, h)
            }
            (a, b, _, _) => return Err(mismatch("adam", a, b)),
        }
        Ok(())
    }
}
