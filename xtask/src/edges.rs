//! Architecture edges (ARCHITECTURE.md), checked with `cargo metadata`: which crate may use which.

use std::collections::BTreeMap;

use anyhow::{Context, bail};

/// (crate, dependencies it must never have) — the invariants of ARCHITECTURE.md.
const FORBIDDEN: &[(&str, &[&str])] = &[
    (
        "api",
        &[
            "rusqlite",
            "candle-core",
            "tokio",
            "tauri",
            "store",
            "studio",
            "tune",
        ],
    ),
    ("store", &["tune", "studio", "candle-core"]),
    ("tune", &["store", "studio", "rusqlite"]),
    ("studio", &["tauri", "clap"]),
    ("cli", &["store", "tune", "rusqlite", "candle-core"]),
    (
        "clinitune-studio",
        &["store", "tune", "rusqlite", "candle-core"],
    ),
    // The fuzz targets call the libraries' public entry points, never SQL or a shell.
    ("fuzz", &["rusqlite", "tauri", "clap"]),
];

/// Fails when a workspace crate depends directly on something its layer must not use.
pub fn check() -> anyhow::Result<()> {
    let output = crate::cargo(&["metadata", "--format-version", "1", "--no-deps"])
        .output()
        .context("cannot run cargo metadata")?;
    if !output.status.success() {
        bail!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let meta: serde_json::Value = serde_json::from_slice(&output.stdout)?;
    let mut deps: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for package in meta["packages"].as_array().into_iter().flatten() {
        let name = package["name"].as_str().unwrap_or_default().to_owned();
        let list = package["dependencies"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|d| d["kind"].is_null()) // normal dependencies; tests may use more
            .filter_map(|d| d["name"].as_str().map(str::to_owned))
            .collect();
        deps.insert(name, list);
    }
    let mut broken = Vec::new();
    for (krate, forbidden) in FORBIDDEN {
        for dep in deps.get(*krate).into_iter().flatten() {
            if forbidden.contains(&dep.as_str()) {
                broken.push(format!("{krate} depends on {dep}"));
            }
        }
    }
    if !broken.is_empty() {
        bail!(
            "architecture edges broken (see ARCHITECTURE.md): {}",
            broken.join("; ")
        );
    }
    eprintln!("xtask: architecture edges hold for {} crates", deps.len());
    Ok(())
}
