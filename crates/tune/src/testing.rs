//! Helpers for this crate's tests: where the reference fixtures and the default model are.

use std::path::PathBuf;

/// This package's folder: from cargo at run time (so artifacts reused by another checkout of
/// the same sources look in the right place), else as compiled.
pub fn manifest_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}

/// `../shared/fixtures` beside the checkout, or a clear failure saying where it was looked for.
pub fn fixtures() -> PathBuf {
    let dir = manifest_dir().join("../../../shared/fixtures");
    assert!(
        dir.join("README.md").is_file(),
        "reference fixtures missing: expected {} (the shared folder beside the checkout)",
        dir.display()
    );
    dir
}

/// The default GGUF, which `cargo xtask test` fetches before running the tests.
pub fn default_gguf_path() -> PathBuf {
    let path = manifest_dir().join("../../models/SmolLM2-135M-Instruct.Q4_1.gguf");
    assert!(
        path.is_file(),
        "{} is missing: run `cargo xtask fetch-model`",
        path.display()
    );
    path
}

/// A fixture JSON file.
pub fn json(relative: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(fixtures().join(relative)).expect("fixture readable");
    serde_json::from_str(&text).expect("fixture is JSON")
}

/// The device the tests run on: the CPU, or the GPU named by `CLINITUNE_TEST_DEVICE`
/// (`cuda`, `metal`) so the same parity tests check a GPU build against the fixtures.
pub fn device() -> candle_core::Device {
    let name = std::env::var("CLINITUNE_TEST_DEVICE").unwrap_or_else(|_| "cpu".to_owned());
    let choice = crate::device::DeviceChoice::parse(&name)
        .unwrap_or_else(|| panic!("CLINITUNE_TEST_DEVICE={name}: expected cpu, cuda or metal"));
    crate::device::select(choice).unwrap_or_else(|e| panic!("CLINITUNE_TEST_DEVICE={name}: {e}"))
}

/// A JSON list of token ids.
pub fn ids(v: &serde_json::Value) -> Vec<u32> {
    v.as_array()
        .expect("a list of ids")
        .iter()
        .map(|i| u32::try_from(i.as_u64().expect("an id")).expect("id fits u32"))
        .collect()
}

/// `reference_logits.safetensors` (or another tensor file) of a fixture folder.
pub fn tensors(relative: &str) -> std::collections::HashMap<String, candle_core::Tensor> {
    candle_core::safetensors::load(fixtures().join(relative), &candle_core::Device::Cpu)
        .expect("fixture tensors readable")
}

/// Largest absolute elementwise difference (of tensors on any devices).
pub fn max_abs_diff(a: &candle_core::Tensor, b: &candle_core::Tensor) -> f32 {
    let cpu = candle_core::Device::Cpu;
    let (a, b) = (
        a.to_device(&cpu).expect("tensor readable"),
        b.to_device(&cpu).expect("tensor readable"),
    );
    (a - b)
        .and_then(|d| d.abs())
        .and_then(|d| d.flatten_all())
        .and_then(|d| d.max(0))
        .and_then(|d| d.to_scalar::<f32>())
        .expect("comparable tensors")
}
