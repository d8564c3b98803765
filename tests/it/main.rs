//! End-to-end tests: the real `clinitune` binary on real project files, as a script would use it.

mod annotate_views;
mod app;
mod audit;
mod cli;
mod crash;
mod desktop;
mod encrypt;
mod eval;
mod evaluate_app;
mod gguf;
mod handoff;
mod hostile;
mod import_app;
mod interop;
mod merge;
mod model;
mod network;
mod payloads;
mod predict;
mod review;
mod review_app;
mod shadr;
mod train;
mod train_app;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// This package's folder: from cargo at run time (so artifacts reused by another checkout of
/// the same sources look in the right place), else as compiled.
pub fn manifest_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}

/// The `clinitune` binary of this build, built once per test run.
pub fn clinitune_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        // The test runs from <target>/<profile>/deps/it-<hash>.
        let exe = std::env::current_exe().expect("test executable path");
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("target/<profile>");
        let target = profile_dir.parent().expect("target dir");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let mut build = Command::new(cargo);
        build
            .args(["build", "--quiet", "--package", "cli", "--bin", "clinitune"])
            .current_dir(manifest_dir().parent().expect("repo root"))
            .env("CARGO_TARGET_DIR", target);
        if profile_dir.file_name().is_some_and(|n| n == "release") {
            build.arg("--release");
        }
        let status = build.status().expect("cargo build runs");
        assert!(status.success(), "building clinitune failed");
        profile_dir.join("clinitune")
    })
}

/// The target folder this test binary was built in (`<target>/<profile>/deps/it-<hash>`).
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    exe.ancestors()
        .nth(3)
        .map(Path::to_owned)
        .expect("target dir")
}

/// `../shared` beside the checkout: reference data and fixtures the tests read, never copy.
pub fn shared_dir() -> PathBuf {
    let dir = manifest_dir().join("../../shared");
    assert!(
        dir.join("data").is_dir(),
        "the shared folder is missing: expected it at {} (beside the checkout, as CI places it)",
        dir.display()
    );
    dir
}

/// A temporary folder with a project path in it.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Default for Sandbox {
    fn default() -> Self {
        Self::new()
    }
}

impl Sandbox {
    pub fn new() -> Sandbox {
        Sandbox {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn project(&self) -> PathBuf {
        self.path("p.clinitune")
    }

    /// Runs clinitune with this sandbox's project.
    pub fn run(&self, args: &[&str]) -> Output {
        Command::new(clinitune_bin())
            .args(args)
            .env("CLINITUNE_PROJECT", self.project())
            .env("CLINITUNE_ANNOTATOR", "tester")
            .current_dir(self.dir.path())
            .output()
            .expect("clinitune runs")
    }

    /// Runs clinitune and expects success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "clinitune {args:?} failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8(out.stdout).expect("utf-8 output")
    }

    /// Runs clinitune with `--json` and parses stdout.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = args.to_vec();
        all.push("--json");
        let out = self.ok(&all);
        serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}"))
    }

    /// Runs clinitune with `--json` and parses each stdout line (JSON Lines output).
    pub fn json_lines(&self, args: &[&str]) -> Vec<serde_json::Value> {
        let mut all = args.to_vec();
        all.push("--json");
        let out = self.ok(&all);
        out.lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{args:?}: {e}: {l}")))
            .collect()
    }

    /// Runs clinitune and expects failure; returns stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(!out.status.success(), "clinitune {args:?} succeeded");
        String::from_utf8(out.stderr).expect("utf-8 output")
    }
}
