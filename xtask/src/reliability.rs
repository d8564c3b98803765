//! `cargo xtask reliability <check>`: the proofs of issue 17 that take minutes, outside CI's
//! default path. `kill` SIGKILLs the release CLI at random moments and checks the project after
//! each kill (see `kill.rs`); `fuzz` runs the readers' fuzz targets, crate `fuzz/` (see `fuzz.rs`).

use anyhow::bail;

const USAGE: &str = "usage: cargo xtask reliability [<check> [options]]

Without a check, runs them all: kill and fuzz with their defaults, then proofs (the
end-to-end tests of concurrency, hostile payloads, no network, encryption, the audit chain and
crash recovery, with their figures printed).

checks:
  kill    SIGKILL the release CLI at random moments during import, annotation bursts, review
          saves, a generation run and training; reopen and check the project after each kill
          options: --kills N (default 250, spread over the five operations)
                   --seconds S (default 600: stop starting kills after this long)
                   --seed N (default 17)
                   --only OP (import, annotate, review, generate or train)
  proofs  the end-to-end tests that prove concurrency, payload handling, no network,
          encryption, the audit chain and crash recovery (they also run in CI)
  fuzz    mutation-fuzz each reader of outside input (importers, GGUF, safetensors, adapter
          configs, chat templates, model answers) for a bounded time; keep crashing inputs,
          minimised, under fuzz/regressions/ (replayed by cargo test)
          options: --seconds N (default 60 per target)
                   --target NAME (one target)
                   --seed N (default 1)
";

/// Runs `reliability` with the arguments after it.
pub fn run(args: &[String]) -> anyhow::Result<()> {
    match args.first().map(String::as_str) {
        Some("kill") => crate::kill::run(&crate::kill::Options::parse(&args[1..])?),
        Some("fuzz") => crate::fuzz::run(&args[1..]),
        Some("proofs") => proofs(),
        None => {
            crate::kill::run(&crate::kill::Options::parse(&[])?)?;
            crate::fuzz::run(&[])?;
            proofs()
        }
        Some("help" | "--help" | "-h") => {
            print!("{USAGE}");
            Ok(())
        }
        Some(other) => bail!("unknown reliability check {other:?}\n\n{USAGE}"),
    }
}

/// The end-to-end tests behind issue 17's figures, with their output shown.
fn proofs() -> anyhow::Result<()> {
    crate::setup()?;
    crate::model::fetch_default()?;
    let studio = crate::studio::build()?;
    let mut tests = crate::cargo(&["test", "--locked", "-p", "tests", "--test", "it", "--"]);
    tests
        .args([
            "hostile::",
            "network::",
            "payloads::",
            "encrypt::",
            "audit::",
            "crash::",
            "the_app_and_two_clis",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("CLINITUNE_STUDIO_BIN", studio)
        .env("CLINITUNE_TORCH_PYTHON", crate::torch_env::python()?);
    crate::run(tests)
}
