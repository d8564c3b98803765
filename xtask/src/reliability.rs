//! `cargo xtask reliability <check>`: the proofs of issue 17 that take minutes, outside CI's
//! default path. `kill` SIGKILLs the release CLI at random moments and checks the project after
//! each kill (see `kill.rs`); `fuzz` runs the readers' fuzz targets (built on another branch).

use anyhow::bail;

const USAGE: &str = "usage: cargo xtask reliability <check> [options]

checks:
  kill    SIGKILL the release CLI at random moments during import, annotation bursts, review
          saves, a generation run and training; reopen and check the project after each kill
          options: --kills N (default 250, spread over the five operations)
                   --seconds S (default 600: stop starting kills after this long)
                   --seed N (default 17)
                   --only OP (import, annotate, review, generate or train)
  fuzz    run each reader's fuzz target for a bounded time
";

/// Runs `reliability` with the arguments after it.
pub fn run(args: &[String]) -> anyhow::Result<()> {
    match args.first().map(String::as_str) {
        Some("kill") => crate::kill::run(&crate::kill::Options::parse(&args[1..])?),
        Some("fuzz") => bail!("`reliability fuzz` is not built in this branch"),
        Some("help" | "--help" | "-h") | None => {
            print!("{USAGE}");
            Ok(())
        }
        Some(other) => bail!("unknown reliability check {other:?}\n\n{USAGE}"),
    }
}
