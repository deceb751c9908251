//! Where a tensor's elements live: the CPU, or a GPU adapter opened through wgpu.
//!
//! Users name devices as strings (`--device` flags, notebooks):
//! - `cpu`
//! - `gpu`: the best adapter (discrete > integrated > virtual > CPU driver such as lavapipe), or the
//!   one whose name contains `MINMAX_ADAPTER` when that variable is set;
//! - `gpu:NAME`: the adapter whose name contains NAME (case-insensitive), e.g. `gpu:llvmpipe`;
//! - `auto`: `gpu` when an adapter exists, else `cpu` — announced on stderr either way.
//!
//! `minmax devices` (or [`crate::gpu::list_adapters`]) lists what this machine has.

use std::fmt;
use std::sync::Arc;

use crate::gpu::GpuContext;

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum Device {
    #[default]
    Cpu,
    Gpu(GpuDevice),
}

/// A handle to one opened GPU adapter; clones share the context (pipelines, buffer pool, queue).
#[derive(Clone)]
pub struct GpuDevice(pub(crate) Arc<GpuContext>);

impl PartialEq for GpuDevice {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}
impl Eq for GpuDevice {}

impl fmt::Debug for GpuDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Gpu({})", self.0.adapter)
    }
}

impl GpuDevice {
    pub fn context(&self) -> &Arc<GpuContext> {
        &self.0
    }
}

impl Device {
    /// Parse a device name as users type it (`cpu`, `gpu`, `gpu:NAME`, `auto`).
    pub fn parse(name: &str) -> crate::Result<Device> {
        let n = name.trim();
        let lower = n.to_ascii_lowercase();
        match lower.as_str() {
            "cpu" => Ok(Device::Cpu),
            "gpu" | "cuda" | "vulkan" => Device::gpu(None),
            "auto" | "best" => Ok(Device::best_available()),
            _ if lower.starts_with("gpu:") => Device::gpu(Some(&n[4..])),
            other => Err(crate::Error::msg(format!(
                "unknown device '{other}': expected 'cpu', 'gpu', 'gpu:NAME' (part of an adapter's name) or 'auto'"
            ))),
        }
    }

    /// The default GPU adapter, or the one whose name contains `name`.
    pub fn gpu(name: Option<&str>) -> crate::Result<Device> {
        Ok(Device::Gpu(GpuDevice(GpuContext::open(name)?)))
    }

    /// A GPU when one can be opened, else the CPU; says which on stderr.
    pub fn best_available() -> Device {
        match Device::gpu(None) {
            Ok(d) => {
                eprintln!("device: {d}");
                d
            }
            Err(e) => {
                eprintln!("device: cpu ({e})");
                Device::Cpu
            }
        }
    }

    pub fn is_gpu(&self) -> bool {
        matches!(self, Device::Gpu(_))
    }

    /// Wait until every kernel recorded on this device has finished (a no-op on the CPU). Timings
    /// of GPU work call this before reading the clock.
    pub fn synchronize(&self) -> crate::Result<()> {
        match self {
            Device::Cpu => Ok(()),
            Device::Gpu(g) => g.0.synchronize(),
        }
    }
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Device::Cpu => write!(f, "cpu"),
            Device::Gpu(g) => write!(f, "gpu({})", g.0.adapter),
        }
    }
}
