//! `cargo xtask reliability fuzz [--seconds N] [--target NAME] [--seed S]`: runs the
//! `clinitune-fuzz` binary (crate `fuzz/`) once per target for a bounded time, each in its own
//! process with its address space capped, so an input that aborts the process (a stack
//! overflow, an allocation over the cap) is caught too: the binary writes each input to a file
//! before running it, and that file is kept as the crashing input. Prints a table and, on the
//! last line, the figures as JSON (like the benches). Not part of `cargo xtask test`; the inputs
//! it keeps under `fuzz/regressions/` are, through the fuzz crate's tests.

use std::process::Command;
use std::time::Instant;

use anyhow::{Context, bail};
use serde_json::{Value, json};

/// The address-space cap of a fuzz process: a reader that allocates what a header promises
/// (gigabytes) fails here instead of taking the machine's memory.
const ADDRESS_SPACE_KIB: u64 = 4 * 1024 * 1024;

/// One input running longer than this is a hang.
const TIME_LIMIT_S: f64 = 2.0;

/// Figures for one target over all its processes.
#[derive(Default)]
struct Tally {
    executions: u64,
    seconds: f64,
    read: u64,
    refused: u64,
    crashes: Vec<Value>,
}

/// Parses the arguments, builds the fuzz binary and runs every (or the named) target.
pub fn run(args: &[String]) -> anyhow::Result<()> {
    let mut seconds = 60.0_f64;
    let mut seed = 1_u64;
    let mut only: Option<String> = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || it.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--seconds" => seconds = value()?.parse().context("--seconds takes a number")?,
            "--seed" => seed = value()?.parse().context("--seed takes a number")?,
            "--target" => only = Some(value()?.clone()),
            other => bail!(
                "unknown argument {other:?}; usage: cargo xtask reliability fuzz [--seconds N] [--target NAME] [--seed S]"
            ),
        }
    }
    // The dev profile keeps overflow checks and debug assertions on, as cargo-fuzz does.
    crate::run(crate::cargo(&[
        "build",
        "--package",
        "fuzz",
        "--bin",
        "clinitune-fuzz",
    ]))?;
    let binary = crate::target_dir().join("debug").join("clinitune-fuzz");
    let listing = Command::new(&binary)
        .arg("--list")
        .output()
        .with_context(|| format!("cannot run {}", binary.display()))?;
    let names: Vec<String> = String::from_utf8_lossy(&listing.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .filter(|n| only.as_deref().is_none_or(|o| o == n))
        .collect();
    if names.is_empty() {
        bail!("no fuzz target called {:?}", only.unwrap_or_default());
    }
    let work = tempfile::tempdir()?;
    let regressions = crate::root().join("fuzz").join("regressions");
    let mut results = Vec::new();
    for name in &names {
        eprintln!("xtask: fuzzing {name} for {seconds} s");
        let tally = fuzz_target(&binary, name, seconds, seed, work.path(), &regressions)?;
        results.push((name.clone(), tally));
    }
    eprintln!(
        "\n{:<16} {:>10} {:>8} {:>9} {:>8}",
        "target", "execs", "seconds", "exec/s", "crashes"
    );
    let mut rows = Vec::new();
    for (name, t) in &results {
        let rate = t.executions as f64 / t.seconds.max(1e-9);
        eprintln!(
            "{name:<16} {:>10} {:>8.1} {:>9.0} {:>8}",
            t.executions,
            t.seconds,
            rate,
            t.crashes.len()
        );
        for crash in &t.crashes {
            eprintln!("    {crash}");
        }
        rows.push(json!({
            "target": name,
            "executions": t.executions,
            "seconds": (t.seconds * 10.0).round() / 10.0,
            "exec_per_s": rate.round(),
            "read": t.read,
            "refused": t.refused,
            "crashes": t.crashes,
        }));
    }
    let crashes: usize = results.iter().map(|(_, t)| t.crashes.len()).sum();
    #[allow(clippy::print_stdout)] // the figures, for scripts: JSON on the last line
    {
        println!(
            "{}",
            json!({ "fuzz": rows, "seed": seed, "crashes": crashes })
        );
    }
    if crashes > 0 {
        bail!(
            "{crashes} crash(es); the inputs are under {} (fix, then `cargo test -p fuzz` replays them)",
            regressions.display()
        );
    }
    Ok(())
}

/// Runs `name` until `seconds` are spent, restarting the process after a hang or an abort
/// (with the next seed, so it does not walk into the same input again).
fn fuzz_target(
    binary: &std::path::Path,
    name: &str,
    seconds: f64,
    seed: u64,
    work: &std::path::Path,
    regressions: &std::path::Path,
) -> anyhow::Result<Tally> {
    let started = Instant::now();
    let mut tally = Tally::default();
    let current = work.join(format!("{name}.current"));
    let mut attempt = 0;
    loop {
        let left = seconds - started.elapsed().as_secs_f64();
        if left < 0.5 && attempt > 0 {
            break;
        }
        let run_started = Instant::now();
        let output = Command::new("sh")
            .arg("-c")
            .arg(format!("ulimit -v {ADDRESS_SPACE_KIB}; exec \"$0\" \"$@\""))
            .arg(binary)
            .arg(name)
            .args(["--seconds", &format!("{:.1}", left.max(0.5))])
            .args(["--seed", &(seed + attempt).to_string()])
            .args(["--time-limit", &TIME_LIMIT_S.to_string()])
            .arg("--regressions")
            .arg(regressions)
            .arg("--current")
            .arg(&current)
            .output()
            .with_context(|| format!("cannot run {}", binary.display()))?;
        attempt += 1;
        let stdout = String::from_utf8_lossy(&output.stdout);
        let report: Option<Value> = stdout
            .lines()
            .last()
            .and_then(|l| serde_json::from_str(l).ok());
        match report {
            Some(r) if r.get("hang").is_some() => {
                tally.seconds += run_started.elapsed().as_secs_f64();
                tally.crashes.push(json!({
                    "message": format!("one input ran past {TIME_LIMIT_S} s"),
                    "file": r["hang"],
                    "bytes": r["bytes"],
                }));
            }
            Some(r) if output.status.success() => {
                tally.executions += r["executions"].as_u64().unwrap_or(0);
                tally.seconds += r["seconds"].as_f64().unwrap_or(0.0);
                tally.read += r["read"].as_u64().unwrap_or(0);
                tally.refused += r["refused"].as_u64().unwrap_or(0);
                tally
                    .crashes
                    .extend(r["crashes"].as_array().into_iter().flatten().cloned());
            }
            _ => {
                // The process died under one input: keep that input.
                tally.seconds += run_started.elapsed().as_secs_f64();
                let input = std::fs::read(&current).unwrap_or_default();
                let dir = regressions.join(name);
                std::fs::create_dir_all(&dir)?;
                let file = dir.join(format!("abort-{:016x}.bin", fnv(&input)));
                std::fs::write(&file, &input)?;
                let stderr = String::from_utf8_lossy(&output.stderr);
                tally.crashes.push(json!({
                    "message": format!("the process ended with {}: {}", output.status,
                        stderr.lines().last().unwrap_or_default()),
                    "file": file.display().to_string(),
                    "bytes": input.len(),
                }));
            }
        }
    }
    Ok(tally)
}

/// FNV-1a, to name a kept input by its bytes.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}
