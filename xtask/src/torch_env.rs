//! The cached PyTorch virtualenv: torch, transformers, PEFT, TRL, safetensors and gguf from PyPI,
//! pinned in `xtask/torch-requirements.txt`, for the training baseline of `cargo xtask bench
//! train` (`xtask/src/bench_train_torch.py`) and the PEFT round-trip check
//! (`xtask/src/peft_check.py`).
//!
//! It lives beside the shared target folder (`~/.cache/clinitune/torch-venv`), like the llama.cpp
//! one. After a verified install the pinned list is copied into the virtualenv as a marker, so a
//! later call with the same pins returns at once and changed pins install again. PyPI has no
//! CPU-only torch wheel for Linux, and its wheel's native libraries link the CUDA ones, so pip also
//! brings the nvidia-* packages (several GB, once).

use std::path::PathBuf;
use std::process::{Command, Stdio};

use anyhow::{Context, bail};

/// The baseline trainer, run by the virtualenv's Python (see its `--help`).
pub const BENCH_TRAIN_SCRIPT: &str = "xtask/src/bench_train_torch.py";

/// Loads a base model plus a PEFT adapter (or a merged folder) and prints logits as JSON.
#[allow(dead_code)] // called by the round-trip check
pub const PEFT_CHECK_SCRIPT: &str = "xtask/src/peft_check.py";

/// The marker written inside the virtualenv once its install is verified.
const MARKER: &str = "clinitune-torch-requirements.txt";

/// Imports and a small CPU matmul that must work before the virtualenv counts as made.
const PROBE: &str = "import torch, transformers, peft, trl, safetensors, gguf; \
                     a = torch.ones(64, 64); assert float((a @ a).sum()) == 64.0 ** 3";

/// Makes the virtualenv when missing or when its pins differ from the requirements file;
/// returns its folder (the interpreter is `bin/python` inside).
pub fn venv() -> anyhow::Result<PathBuf> {
    let requirements = crate::root().join("xtask/torch-requirements.txt");
    let pins = std::fs::read_to_string(&requirements)
        .with_context(|| format!("cannot read {}", requirements.display()))?;
    let venv = crate::target_dir()
        .parent()
        .map(std::path::Path::to_owned)
        .unwrap_or_else(crate::target_dir)
        .join("torch-venv");
    let python = venv.join("bin/python");
    let marker = venv.join(MARKER);
    if python.is_file() && std::fs::read_to_string(&marker).is_ok_and(|m| m == pins) {
        return Ok(venv);
    }
    eprintln!(
        "xtask: installing {} into {} (torch pulls its CUDA libraries: several GB, some minutes)",
        requirements.display(),
        venv.display()
    );
    if !python.is_file() {
        let mut mk = Command::new("python3");
        mk.args(["-m", "venv"]).arg(&venv);
        crate::run(mk)?;
    }
    // pip's progress goes to stderr so a benchmark's stdout keeps only its JSON.
    let mut pip = Command::new(&python);
    pip.args(["-m", "pip", "install", "--quiet", "-r"])
        .arg(&requirements)
        .stdout(Stdio::from(std::io::stderr()));
    crate::run(pip)?;
    let mut probe = Command::new(&python);
    probe.args(["-c", PROBE]);
    crate::run(probe)
        .with_context(|| format!("{} was installed but does not work", venv.display()))?;
    std::fs::write(&marker, &pins).with_context(|| format!("cannot write {}", marker.display()))?;
    Ok(venv)
}

/// The virtualenv's Python, made first when needed.
pub fn python() -> anyhow::Result<PathBuf> {
    let python = venv()?.join("bin/python");
    if !python.is_file() {
        bail!(
            "{} is missing; delete its virtualenv folder and run again",
            python.display()
        );
    }
    Ok(python)
}
