//! `clinitune-fuzz TARGET [--seconds N] [--seed S] [--regressions DIR] [--current FILE]`:
//! fuzzes one target and prints its report as one JSON line. `clinitune-fuzz --list` names the
//! targets; `clinitune-fuzz --replay DIR` runs every saved input under `DIR/TARGET/`.
//! `cargo xtask reliability fuzz` drives it; run by hand to chase one target.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use fuzz::driver::{Settings, fuzz, replay};
use fuzz::targets::{TARGETS, find};

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("clinitune-fuzz: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<ExitCode, String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut out = std::io::stdout().lock();
    let mut target = None;
    let mut settings = Settings {
        seconds: 10.0,
        seed: 1,
        regressions: fuzz::seeds::regressions(),
        current: None,
        time_limit: Duration::from_secs(2),
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--list" => {
                for t in TARGETS {
                    writeln!(out, "{:<16} {}", t.name, t.entry).map_err(|e| e.to_string())?;
                }
                return Ok(ExitCode::SUCCESS);
            }
            "--replay" => {
                let dir = PathBuf::from(value()?);
                let replayed = replay(&dir)?;
                let (checked, crashes) = (replayed.checked, replayed.crashes);
                for (file, message, location) in &crashes {
                    writeln!(out, "{}: {message} at {location}", file.display())
                        .map_err(|e| e.to_string())?;
                }
                writeln!(out, "{checked} inputs replayed, {} crashed", crashes.len())
                    .map_err(|e| e.to_string())?;
                return Ok(if crashes.is_empty() {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::FAILURE
                });
            }
            "--seconds" => settings.seconds = number(arg, value()?)?,
            "--seed" => settings.seed = number(arg, value()?)?,
            "--time-limit" => settings.time_limit = Duration::from_secs_f64(number(arg, value()?)?),
            "--regressions" => settings.regressions = PathBuf::from(value()?),
            "--current" => settings.current = Some(PathBuf::from(value()?)),
            name if !name.starts_with('-') && target.is_none() => target = Some(name.to_owned()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    let name = target.ok_or("name a target (--list shows them)")?;
    let target =
        find(&name).ok_or_else(|| format!("no target called {name:?} (--list shows them)"))?;
    let report = fuzz(target, &settings)?;
    writeln!(out, "{}", report.to_json()).map_err(|e| e.to_string())?;
    Ok(ExitCode::SUCCESS)
}

fn number<T: std::str::FromStr>(flag: &str, text: &str) -> Result<T, String> {
    text.parse()
        .map_err(|_| format!("{flag} takes a number, not {text:?}"))
}
