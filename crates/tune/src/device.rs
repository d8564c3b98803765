//! Choosing where tensors live: the CPU, or a GPU whose candle backend this build includes
//! (cargo features `cuda`, `metal`). A GPU asked for but not built in is refused with the
//! feature to build with, never silently replaced by the CPU.

use candle_core::Device;

use crate::Error;

/// What the user asked for with `--device`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceChoice {
    /// The CPU (always available).
    #[default]
    Cpu,
    /// The first NVIDIA GPU (feature `cuda`).
    Cuda,
    /// The Apple GPU (feature `metal`).
    Metal,
    /// A GPU when one is built in and present, else the CPU.
    Auto,
}

impl DeviceChoice {
    /// Parses `cpu`, `cuda`, `metal` or `auto`.
    pub fn parse(name: &str) -> Option<DeviceChoice> {
        match name.trim().to_ascii_lowercase().as_str() {
            "cpu" => Some(DeviceChoice::Cpu),
            "cuda" | "gpu" => Some(DeviceChoice::Cuda),
            "metal" => Some(DeviceChoice::Metal),
            "auto" => Some(DeviceChoice::Auto),
            _ => None,
        }
    }
}

/// Which GPU backends this build includes.
pub fn backends() -> Vec<&'static str> {
    let mut out = vec!["cpu"];
    if cfg!(feature = "cuda") {
        out.push("cuda");
    }
    if cfg!(feature = "metal") {
        out.push("metal");
    }
    out
}

/// The device for `choice`; `Auto` falls back to the CPU when no GPU can be opened.
pub fn select(choice: DeviceChoice) -> Result<Device, Error> {
    match choice {
        DeviceChoice::Cpu => Ok(Device::Cpu),
        DeviceChoice::Cuda => cuda(),
        DeviceChoice::Metal => metal(),
        DeviceChoice::Auto => Ok(cuda().or_else(|_| metal()).unwrap_or(Device::Cpu)),
    }
}

fn cuda() -> Result<Device, Error> {
    if !cfg!(feature = "cuda") {
        return Err(Error::DeviceNotBuilt { device: "cuda" });
    }
    Device::new_cuda(0).map_err(|e| Error::DeviceUnavailable {
        device: "cuda",
        message: e.to_string(),
    })
}

fn metal() -> Result<Device, Error> {
    if !cfg!(feature = "metal") {
        return Err(Error::DeviceNotBuilt { device: "metal" });
    }
    Device::new_metal(0).map_err(|e| Error::DeviceUnavailable {
        device: "metal",
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests;
