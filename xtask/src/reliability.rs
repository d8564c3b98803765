//! `cargo xtask reliability <check>`: the proofs of issue 17 that take minutes, outside CI's
//! default path. `kill` SIGKILLs the release CLI at random moments and checks the project after
//! each kill (see `kill.rs`); `fuzz` runs the readers' fuzz targets, crate `fuzz/` (see `fuzz.rs`).

use anyhow::bail;

const USAGE: &str = "usage: cargo xtask reliability <check> [options]

checks:
  kill    SIGKILL the release CLI at random moments during import, annotation bursts, review
          saves, a generation run and training; reopen and check the project after each kill
          options: --kills N (default 250, spread over the five operations)
                   --seconds S (default 600: stop starting kills after this long)
                   --seed N (default 17)
                   --only OP (import, annotate, review, generate or train)
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
        Some("help" | "--help" | "-h") | None => {
            print!("{USAGE}");
            Ok(())
        }
        Some(other) => bail!("unknown reliability check {other:?}\n\n{USAGE}"),
    }
}
