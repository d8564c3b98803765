//! Helpers for this crate's tests: where the reference fixtures and the default model are.

use std::path::{Path, PathBuf};

/// `../shared/fixtures` beside the checkout, or a clear failure saying where it was looked for.
pub fn fixtures() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures");
    assert!(
        dir.join("README.md").is_file(),
        "reference fixtures missing: expected {} (the shared folder beside the checkout)",
        dir.display()
    );
    dir
}

/// The default GGUF, which `cargo xtask test` fetches before running the tests.
pub fn default_gguf_path() -> PathBuf {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/SmolLM2-135M-Instruct.Q4_1.gguf");
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

/// A JSON list of token ids.
pub fn ids(v: &serde_json::Value) -> Vec<u32> {
    v.as_array()
        .expect("a list of ids")
        .iter()
        .map(|i| u32::try_from(i.as_u64().expect("an id")).expect("id fits u32"))
        .collect()
}
