//! The cached llama.cpp virtualenv: llama-cpp-python (which builds llama.cpp from source) and
//! numpy from PyPI, kept beside the shared target folder (`~/.cache/clinitune/llamacpp-venv`).
//! `bench generate` times llama.cpp with it; `cargo xtask test` hands its interpreter to the
//! GGUF interop tests as `CLINITUNE_LLAMA_PYTHON` (`tests/it/gguf.rs`).

use std::path::PathBuf;
use std::process::Command;

/// The virtualenv's interpreter, after making the virtualenv when `llama_cpp` does not import.
pub fn python() -> anyhow::Result<PathBuf> {
    let venv = crate::target_dir()
        .parent()
        .map(std::path::Path::to_owned)
        .unwrap_or_else(crate::target_dir)
        .join("llamacpp-venv");
    let python = venv.join("bin/python");
    let ready = Command::new(&python)
        .args(["-c", "import llama_cpp, numpy"])
        .status()
        .is_ok_and(|s| s.success());
    if !ready {
        eprintln!(
            "xtask: installing llama-cpp-python into {} (builds llama.cpp; several minutes)",
            venv.display()
        );
        let mut mk = Command::new("python3");
        mk.args(["-m", "venv"]).arg(&venv);
        crate::run(mk)?;
        let mut pip = Command::new(&python);
        pip.args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "llama-cpp-python",
            "numpy",
        ]);
        crate::run(pip)?;
    }
    Ok(python)
}
