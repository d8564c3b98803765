//! The fuzz loop: seeds first, then mutations of a growing corpus, each input run in-process
//! under `catch_unwind` with a panic hook recording what panicked and where (on any thread: an
//! importer's writer thread turns its panic into an error, which must still count as a crash),
//! and a watchdog thread that ends the process when one input runs past the time bound.
//!
//! Without coverage instrumentation (that needs a nightly compiler), the corpus grows on a
//! cheaper signal: an input is kept when its outcome — read, or the shape of the reader's
//! error — has not been seen before, so mutations build on inputs that got somewhere new.

use std::collections::{BTreeSet, HashSet};
use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant};

use crate::mutate::{Rng, minimise, mutate};
use crate::targets::{Harness, Target};

/// What one input did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The reader accepted it; what it read.
    Read(String),
    /// The reader refused it with this error (also fine).
    Refused(String),
    /// Something panicked: the message and where (`file:line:column`).
    Crashed {
        /// The panic message.
        message: String,
        /// Where it panicked; crashes at one place are one bug.
        location: String,
    },
}

static PANICS: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());
static HOOK: Once = Once::new();

/// Replaces the panic hook (once per process) by one that records panics instead of printing.
fn install_hook() {
    HOOK.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let payload = info.payload();
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic with a non-string payload".to_owned());
            let location = info
                .location()
                .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()))
                .unwrap_or_default();
            if let Ok(mut panics) = PANICS.lock() {
                panics.push((message, location));
            }
        }));
    });
}

fn take_panics() -> Vec<(String, String)> {
    PANICS
        .lock()
        .map(|mut p| std::mem::take(&mut *p))
        .unwrap_or_default()
}

/// Runs one input through `harness`, catching any panic.
pub fn execute(harness: &mut dyn Harness, input: &[u8]) -> Verdict {
    install_hook();
    take_panics();
    let result = std::panic::catch_unwind(AssertUnwindSafe(|| harness.run(input)));
    let panics = take_panics();
    if let Some((message, location)) = panics.into_iter().next() {
        return Verdict::Crashed { message, location };
    }
    match result {
        Ok(Ok(read)) => Verdict::Read(read),
        Ok(Err(e)) => Verdict::Refused(e),
        Err(_) => Verdict::Crashed {
            message: "panic (no message recorded)".to_owned(),
            location: String::new(),
        },
    }
}

/// How to run one target.
#[derive(Debug, Clone)]
pub struct Settings {
    /// How long to mutate for (seeds and minimisation come on top).
    pub seconds: f64,
    /// The mutation seed: the same seed replays the same inputs.
    pub seed: u64,
    /// Where minimised crashing inputs are written (`DIR/TARGET/NAME.bin`).
    pub regressions: PathBuf,
    /// Each input is written here before it runs, so an input that aborts the process (stack
    /// overflow, failed allocation) is still on disk for the caller.
    pub current: Option<PathBuf>,
    /// One input running longer than this is a hang: saved, reported, and the process exits.
    pub time_limit: Duration,
}

/// One crash found: a panic location, with the minimised input kept for it.
#[derive(Debug, Clone)]
pub struct Crash {
    /// The panic message.
    pub message: String,
    /// Where it panicked.
    pub location: String,
    /// The minimised input's file.
    pub file: PathBuf,
    /// Its size in bytes.
    pub bytes: usize,
}

/// What a run of one target did.
#[derive(Debug, Clone)]
pub struct Report {
    /// Target name.
    pub target: String,
    /// Inputs run (seeds, mutations and minimisation attempts).
    pub executions: u64,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Inputs the reader accepted.
    pub read: u64,
    /// Inputs the reader refused with an error.
    pub refused: u64,
    /// Inputs kept in the corpus at the end.
    pub corpus: usize,
    /// Distinct crashes (by panic location).
    pub crashes: Vec<Crash>,
}

impl Report {
    /// Executions per second.
    pub fn exec_per_s(&self) -> f64 {
        self.executions as f64 / self.seconds.max(1e-9)
    }

    /// The report as one JSON object.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "target": self.target,
            "executions": self.executions,
            "seconds": (self.seconds * 10.0).round() / 10.0,
            "exec_per_s": self.exec_per_s().round(),
            "read": self.read,
            "refused": self.refused,
            "corpus": self.corpus,
            "crashes": self.crashes.iter().map(|c| serde_json::json!({
                "message": c.message,
                "location": c.location,
                "file": c.file.display().to_string(),
                "bytes": c.bytes,
            })).collect::<Vec<_>>(),
        })
    }
}

/// Most inputs kept in the corpus (seeds included).
const MAX_CORPUS: usize = 512;

/// Attempts at removing chunks from a crashing input.
const MINIMISE_BUDGET: usize = 2_000;

/// A short name for bytes (FNV-1a), for file names.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The shape of an outcome, for the corpus: digits and quoted text removed from errors, so a
/// new number or snippet is not a new outcome but a new kind of refusal is.
fn signature(verdict: &Verdict) -> String {
    match verdict {
        Verdict::Crashed { location, .. } => format!("crash {location}"),
        Verdict::Read(what) | Verdict::Refused(what) => {
            let mut out = String::from(if matches!(verdict, Verdict::Read(_)) {
                "ok "
            } else {
                "err "
            });
            let mut quoted = false;
            for c in what.chars().take(240) {
                match c {
                    '"' | '`' => quoted = !quoted,
                    _ if quoted => {}
                    '0'..='9' => {
                        if !out.ends_with('#') {
                            out.push('#');
                        }
                    }
                    _ => out.push(c),
                }
            }
            out
        }
    }
}

/// The input running now, for the watchdog.
type Running = Arc<Mutex<Option<(Instant, Vec<u8>)>>>;

/// Starts the watchdog: when one input runs past `limit`, it is saved under `dir` as
/// `hang-HASH.bin`, a report line is printed and the process exits with status 3 (the stuck
/// thread cannot be stopped from outside).
fn watchdog(target: &'static str, running: Running, limit: Duration, dir: PathBuf) {
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(Duration::from_millis(50));
            let Ok(now) = running.lock() else { return };
            let Some((started, input)) = now.as_ref() else {
                continue;
            };
            if started.elapsed() < limit {
                continue;
            }
            let file = dir.join(format!("hang-{:016x}.bin", fnv(input)));
            let _ = std::fs::create_dir_all(&dir);
            let _ = std::fs::write(&file, input);
            let line = serde_json::json!({
                "target": target,
                "hang": file.display().to_string(),
                "bytes": input.len(),
                "limit_s": limit.as_secs_f64(),
            });
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
            std::process::exit(3);
        }
    });
}

/// Fuzzes `target` for `settings.seconds`.
pub fn fuzz(target: &'static Target, settings: &Settings) -> Result<Report, String> {
    let started = Instant::now();
    let dir = settings.regressions.join(target.name);
    let running: Running = Arc::new(Mutex::new(None));
    watchdog(
        target.name,
        running.clone(),
        settings.time_limit,
        dir.clone(),
    );
    let current = match &settings.current {
        Some(path) => Some(File::create(path).map_err(|e| format!("{}: {e}", path.display()))?),
        None => None,
    };
    let mut harness = target.harness()?;
    let mut report = Report {
        target: target.name.to_owned(),
        executions: 0,
        seconds: 0.0,
        read: 0,
        refused: 0,
        corpus: 0,
        crashes: Vec::new(),
    };
    let mut seen_outcomes: HashSet<String> = HashSet::new();
    let mut seen_crashes: BTreeSet<String> = BTreeSet::new();
    let mut corpus: Vec<Vec<u8>> = Vec::new();
    let run = |harness: &mut Box<dyn Harness>, input: &[u8], report: &mut Report| {
        if let Some(file) = &current {
            let _ = file.set_len(0);
            let _ = file.write_all_at(input, 0);
        }
        if let Ok(mut now) = running.lock() {
            *now = Some((Instant::now(), input.to_vec()));
        }
        let verdict = execute(harness.as_mut(), input);
        if let Ok(mut now) = running.lock() {
            *now = None;
        }
        report.executions += 1;
        match &verdict {
            Verdict::Read(_) => report.read += 1,
            Verdict::Refused(_) => report.refused += 1,
            Verdict::Crashed { .. } => {}
        }
        verdict
    };
    let seeds = crate::seeds::for_target(target.name)?;
    let mut rng = Rng::new(settings.seed);
    let deadline = Duration::from_secs_f64(settings.seconds);
    // The seeds come first in the corpus (a crashing seed is left out).
    let mut pending: Vec<Vec<u8>> = seeds;
    let seeds = pending.len();
    pending.reverse();
    while started.elapsed() < deadline || !pending.is_empty() {
        let (input, is_seed) = match pending.pop() {
            Some(seed) => (seed, true),
            None if corpus.is_empty() => {
                return Err("every seed crashed; nothing to mutate".to_owned());
            }
            None => {
                // Half the time from a seed: inputs kept for a new error are mostly broken
                // already, and one more change to a valid file reaches deeper code.
                let a = if rng.one_in(2) {
                    &corpus[rng.below(seeds.min(corpus.len()))]
                } else {
                    &corpus[rng.below(corpus.len())]
                };
                let b = &corpus[rng.below(corpus.len())];
                (mutate(&mut rng, a, b), false)
            }
        };
        let verdict = run(&mut harness, &input, &mut report);
        if let Verdict::Crashed { message, location } = &verdict {
            // A panic may leave the harness half-way (a project mid-import): start afresh.
            harness = target.harness()?;
            if seen_crashes.insert(location.clone()) {
                let small = minimise(&input, MINIMISE_BUDGET, |candidate| {
                    matches!(run(&mut harness, candidate, &mut report),
                        Verdict::Crashed { location: l, .. } if &l == location)
                });
                harness = target.harness()?;
                std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
                let file = dir.join(format!("crash-{:016x}.bin", fnv(location.as_bytes())));
                std::fs::write(&file, &small).map_err(|e| format!("{}: {e}", file.display()))?;
                report.crashes.push(Crash {
                    message: message.clone(),
                    location: location.clone(),
                    file,
                    bytes: small.len(),
                });
            }
            continue;
        }
        let novel = seen_outcomes.insert(signature(&verdict));
        if (novel || is_seed) && corpus.len() < MAX_CORPUS {
            corpus.push(input);
        }
    }
    report.corpus = corpus.len();
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// What replaying the kept inputs found.
#[derive(Debug, Default)]
pub struct Replayed {
    /// Inputs run.
    pub checked: usize,
    /// Those that still crash: file, panic message and location.
    pub crashes: Vec<(PathBuf, String, String)>,
}

/// Runs every file under `dir` (`dir/TARGET/*`) through its target. A folder named after no
/// target is an error.
pub fn replay(dir: &Path) -> Result<Replayed, String> {
    let mut replayed = Replayed::default();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(replayed);
    };
    let mut folders: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    folders.sort();
    for folder in folders {
        let name = folder
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let target = crate::targets::find(name)
            .ok_or_else(|| format!("{}: no target called {name:?}", folder.display()))?;
        let mut harness = target.harness()?;
        for (path, bytes) in crate::seeds::files_in(&folder) {
            replayed.checked += 1;
            if let Verdict::Crashed { message, location } = execute(harness.as_mut(), &bytes) {
                replayed.crashes.push((path, message, location));
                harness = target.harness()?;
            }
        }
    }
    Ok(replayed)
}
