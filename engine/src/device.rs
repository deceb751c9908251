//! Where a tensor's elements live. The CPU is always there; the GPU backend adds a variant.

use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum Device {
    #[default]
    Cpu,
}

impl Device {
    /// Parse a device name as users type it on the command line (`cpu`).
    pub fn parse(name: &str) -> crate::Result<Device> {
        match name.trim().to_ascii_lowercase().as_str() {
            "cpu" => Ok(Device::Cpu),
            other => Err(crate::Error::msg(format!(
                "unknown device '{other}': expected 'cpu' (the GPU backend is not built into this version)"
            ))),
        }
    }
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Device::Cpu => write!(f, "cpu"),
        }
    }
}
