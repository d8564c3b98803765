//! `cargo xtask <task>`: set-up, demo, test and benchmarks, written in Rust so they run the same
//! everywhere (see matklad/cargo-xtask). Builds go to one shared target folder outside the
//! clone (`$CARGO_TARGET_DIR`, default `~/.cache/clinitune/target`) so CI and sessions reuse it.

mod bench;
mod bench_train;
mod demo_review;
mod edges;
mod fuzz;
mod kill;
mod llama_env;
mod model;
mod reliability;
mod studio;
mod torch_env;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{Context, bail};

/// This package's folder: from cargo at run time (so artifacts reused by another checkout of
/// the same sources look in the right place), else as compiled.
fn manifest_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}

const USAGE: &str = "usage: cargo xtask <task>

tasks:
  setup          install what the build needs (rustfmt, clippy) when missing
  studio         build the desktop app and start it on the demo project (made on first run)
  studio --build-only   build the release app `clinitune-studio` into the target folder
  studio --bundle       build it and pack a Debian package under <target>/release/bundle/deb
  demo           build the CLI, make a demo project from the synthetic corpus, show stats and a search,
                 then the review loop: model outputs, scripted corrections, preference pairs
  test           fmt check, clippy -D warnings, architecture edges, every test
  fetch-model    put the default model (SmolLM2-135M-Instruct GGUF) in models/, sha256-checked
  bench store    import/search/annotation benchmark (JSON on the last line)
  bench generate decode speed of the default model against llama.cpp (JSON on the last line)
  bench review   time to save an edit, batch generation notes/s and tokens/s (JSON on the last line)
  reliability kill   SIGKILL the release CLI at random moments during import, annotation, review,
                 generation and training; check the project after each kill (JSON on the last line)
  reliability fuzz [--seconds N] [--target NAME] [--seed S]
                 mutation-fuzz every reader of outside input for N s each (default 60; JSON on
                 the last line); crashing inputs are kept, minimised, under fuzz/regressions/
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("setup") => setup(),
        Some("studio") => studio::studio(&args[1..]),
        Some("demo") => demo(&args[1..]),
        Some("test") => test(),
        Some("fetch-model") => model::fetch_default().map(drop),
        Some("bench") => bench::run(&args[1..]),
        Some("reliability") => reliability::run(&args[1..]),
        Some("help" | "--help" | "-h") | None => {
            print!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(anyhow::anyhow!("unknown task {other:?}\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The repository root (the parent of `xtask/`).
pub fn root() -> PathBuf {
    manifest_dir()
        .parent()
        .map(Path::to_owned)
        .unwrap_or_default()
}

/// The shared target folder for every build this task starts.
pub fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"));
    home.join(".cache/clinitune/target")
}

/// A `cargo` command in the repository root using the shared target folder.
pub fn cargo(args: &[&str]) -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()));
    cmd.args(args)
        .current_dir(root())
        .env("CARGO_TARGET_DIR", target_dir());
    cmd
}

/// Runs a command, failing with its name when it fails.
pub fn run(mut cmd: Command) -> anyhow::Result<()> {
    let shown = format!("{cmd:?}");
    eprintln!("xtask: running {shown}");
    let status = cmd
        .status()
        .with_context(|| format!("cannot start {shown}"))?;
    if !status.success() {
        bail!("{shown} failed with {status}");
    }
    Ok(())
}

fn has_component(name: &str) -> bool {
    Command::new("cargo")
        .args([name, "--version"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// Installs rustfmt and clippy when missing.
pub fn setup() -> anyhow::Result<()> {
    for (tool, component) in [("fmt", "rustfmt"), ("clippy", "clippy")] {
        if !has_component(tool) {
            let mut cmd = Command::new("rustup");
            cmd.args(["component", "add", component]);
            run(cmd)?;
        }
    }
    Ok(())
}

/// Builds the release CLI and returns its path.
pub fn build_cli() -> anyhow::Result<PathBuf> {
    run(cargo(&[
        "build",
        "--release",
        "--package",
        "cli",
        "--bin",
        "clinitune",
    ]))?;
    Ok(target_dir().join("release").join("clinitune"))
}

/// The demo project `demo/demo.clinitune`, made from 2,000 synthetic notes when missing.
pub fn demo_project() -> anyhow::Result<PathBuf> {
    let project = root().join("demo").join("demo.clinitune");
    if !project.exists() {
        demo(&[])?;
    }
    Ok(project)
}

fn demo(args: &[String]) -> anyhow::Result<()> {
    setup()?;
    model::fetch_default()?;
    let notes = match args.iter().position(|a| a == "--notes") {
        Some(i) => args.get(i + 1).context("--notes needs a number")?.parse()?,
        None => 2000usize,
    };
    let bin = build_cli()?;
    let dir = root().join("demo");
    std::fs::create_dir_all(&dir)?;
    let project = dir.join("demo.clinitune");
    let corpus = dir.join("corpus.jsonl");
    let clinitune = |args: &[&str]| {
        let mut cmd = Command::new(&bin);
        cmd.args(args).env("CLINITUNE_PROJECT", &project);
        cmd
    };
    if !project.exists() {
        run(clinitune(&[
            "init",
            &project.to_string_lossy(),
            "--schema",
            "sdoh",
            "--schema",
            "outcomes",
        ]))?;
    }
    run(clinitune(&[
        "demo-corpus",
        &corpus.to_string_lossy(),
        "--notes",
        &notes.to_string(),
        "--seed",
        "7",
    ]))?;
    run(clinitune(&["import", &corpus.to_string_lossy()]))?;
    println!("\n== Project {} ==", project.display());
    run(clinitune(&["stats"]))?;
    println!("\n== Search: \"lives alone\" in social work notes ==");
    run(clinitune(&[
        "notes",
        "search",
        "lives alone",
        "--category",
        "Social work",
        "--limit",
        "5",
    ]))?;
    println!("\n== Notes labelled HOUSING ==");
    run(clinitune(&[
        "notes", "list", "--label", "HOUSING", "--limit", "5",
    ]))?;
    demo_review::review_loop(&bin, &project, &dir)?;
    println!(
        "\nOpen a note with: CLINITUNE_PROJECT={} {} notes show 1",
        project.display(),
        bin.display()
    );
    Ok(())
}

fn test() -> anyhow::Result<()> {
    setup()?;
    // Tests check the default model against transformers' logits, so it must be present.
    model::fetch_default()?;
    run(cargo(&["fmt", "--all", "--", "--check"]))?;
    let ui_manifest = root().join("ui").join("Cargo.toml");
    let ui_manifest = ui_manifest.to_string_lossy();
    run(cargo(&[
        "fmt",
        "--manifest-path",
        &ui_manifest,
        "--",
        "--check",
    ]))?;
    edges::check()?;
    // The end-to-end tests drive the release app, which embeds the built UI.
    studio::build()?;
    run(cargo(&[
        "clippy",
        "--workspace",
        "--all-targets",
        "--locked",
        "--",
        "-D",
        "warnings",
    ]))?;
    run(cargo(&[
        "clippy",
        "--manifest-path",
        &ui_manifest,
        "--target",
        "wasm32-unknown-unknown",
        "--locked",
        "--",
        "-D",
        "warnings",
    ]))?;
    // The UI's pure logic (text geometry) runs on the host too.
    run(cargo(&[
        "test",
        "--manifest-path",
        &ui_manifest,
        "--locked",
    ]))?;
    let mut tests = cargo(&["test", "--workspace", "--locked"]);
    tests.env("CLINITUNE_STUDIO_BIN", studio::app_binary());
    // The adapter round trip is checked by PEFT itself, from the cached virtualenv.
    tests.env("CLINITUNE_TORCH_PYTHON", torch_env::python()?);
    // The GGUF exports are loaded by llama.cpp itself, from its cached virtualenv.
    tests.env("CLINITUNE_LLAMA_PYTHON", llama_env::python()?);
    run(tests)?;
    Ok(())
}
