//! `cargo xtask reliability kill`: the crash harness of issue 17. It SIGKILLs the release CLI at
//! random moments (a seeded RNG; delays spread log-uniformly from 2 ms to a little past the
//! operation's measured length) during five operations, then reopens the project and checks:
//! `PRAGMA integrity_check`, the FTS index against the notes, `audit verify`, and the
//! operation's own invariants (every command that exited 0 is there in full; imports hold
//! whole batches; runs and training resume where they were; every safetensors file parses).
//! Prints a table and, on the last line, JSON with kills attempted and survived per operation.

mod annotate;
mod generate;
mod import;
mod review;
mod train;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};

/// Harness options.
pub struct Options {
    kills: usize,
    seconds: u64,
    seed: u64,
    only: Option<String>,
}

impl Options {
    /// Parses `--kills N --seconds S --seed N --only OP`.
    pub fn parse(args: &[String]) -> anyhow::Result<Options> {
        let mut o = Options {
            kills: 250,
            seconds: 600,
            seed: 17,
            only: None,
        };
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
            match flag.as_str() {
                "--kills" => o.kills = value()?.parse().context("--kills")?,
                "--seconds" => o.seconds = value()?.parse().context("--seconds")?,
                "--seed" => o.seed = value()?.parse().context("--seed")?,
                "--only" => o.only = Some(value()?.clone()),
                other => bail!("unknown option {other:?} of `reliability kill`"),
            }
        }
        Ok(o)
    }
}

/// One operation the harness kills: set up once, then killed again and again.
trait Operation {
    /// Its name in the report (`import`, `annotate`, ...).
    fn name(&self) -> &'static str;
    /// Its share of the kills.
    fn weight(&self) -> usize;
    /// Starts the operation, SIGKILLs it at a random moment and checks the project. Returns
    /// whether a kill was delivered (the process may have finished first: then it is an
    /// acknowledged command, checked the same way). An error is a broken invariant.
    fn kill_once(&mut self, kit: &mut Kit) -> anyhow::Result<bool>;
    /// Starts again from a fresh project after a broken invariant.
    fn reset(&mut self, kit: &mut Kit) -> anyhow::Result<()>;
}

/// Kills attempted and survived of one operation.
#[derive(Default)]
struct Tally {
    kills: usize,
    survived: usize,
    finished_first: usize,
    failures: Vec<String>,
}

/// Runs the harness.
pub fn run(options: &Options) -> anyhow::Result<()> {
    let bin = crate::build_cli()?;
    let work = tempfile::Builder::new()
        .prefix("clinitune-kill-")
        .tempdir()
        .context("cannot make a work folder")?;
    let mut kit = Kit {
        bin,
        work: work.path().to_owned(),
        rng: Rng(options.seed),
        spawned: 0,
    };
    let started = Instant::now();
    eprintln!(
        "reliability kill: seed {}, up to {} kills in {} s, work folder {}",
        options.seed,
        options.kills,
        options.seconds,
        kit.work.display()
    );
    let mut ops: Vec<Box<dyn Operation>> = Vec::new();
    let wanted = |name: &str| options.only.as_deref().is_none_or(|o| o == name);
    if wanted("import") {
        ops.push(Box::new(import::Import::setup(&mut kit)?));
    }
    if wanted("annotate") {
        ops.push(Box::new(annotate::Annotate::setup(&mut kit)?));
    }
    if wanted("review") {
        ops.push(Box::new(review::Review::setup(&mut kit)?));
    }
    if wanted("generate") {
        ops.push(Box::new(generate::Generate::setup(&mut kit)?));
    }
    if wanted("train") {
        ops.push(Box::new(train::Train::setup(&mut kit)?));
    }
    ensure!(!ops.is_empty(), "--only names no operation");
    let weights: usize = ops.iter().map(|o| o.weight()).sum();
    let quota: Vec<usize> = ops
        .iter()
        .map(|o| (options.kills * o.weight()).div_ceil(weights))
        .collect();
    let mut tallies: Vec<Tally> = ops.iter().map(|_| Tally::default()).collect();
    let setup_seconds = started.elapsed().as_secs_f64();
    let deadline = Instant::now() + Duration::from_secs(options.seconds);
    // Round robin, so a time limit cuts every operation short alike.
    let mut attempts_without_kill = 0usize;
    let mut reported = 0;
    loop {
        let mut progressed = false;
        for (i, op) in ops.iter_mut().enumerate() {
            if tallies[i].kills >= quota[i] || Instant::now() >= deadline {
                continue;
            }
            progressed = true;
            let tally = &mut tallies[i];
            match op.kill_once(&mut kit) {
                Ok(true) => {
                    tally.kills += 1;
                    tally.survived += 1;
                }
                Ok(false) => {
                    tally.finished_first += 1;
                    attempts_without_kill += 1;
                }
                Err(e) => {
                    tally.kills += 1;
                    let message = format!("{} kill {}: {e:#}", op.name(), tally.kills);
                    eprintln!("reliability kill: BROKEN {message}");
                    tally.failures.push(message);
                    op.reset(&mut kit)?;
                }
            }
            ensure!(
                attempts_without_kill < 10_000,
                "the operations keep finishing before the kill"
            );
        }
        if !progressed {
            break;
        }
        let done: usize = tallies.iter().map(|t| t.kills).sum();
        if done >= reported + 25 {
            reported = done;
            eprintln!(
                "reliability kill: {done} kills, {:.0} s",
                started.elapsed().as_secs_f64()
            );
        }
    }
    report(&ops, &tallies, started.elapsed(), setup_seconds, &kit);
    let broken: usize = tallies.iter().map(|t| t.failures.len()).sum();
    if broken > 0 {
        for t in &tallies {
            for f in &t.failures {
                eprintln!("reliability kill: {f}");
            }
        }
        bail!("{broken} kills broke an invariant");
    }
    Ok(())
}

fn report(ops: &[Box<dyn Operation>], tallies: &[Tally], wall: Duration, setup: f64, kit: &Kit) {
    println!(
        "\n{:<10} {:>7} {:>9} {:>15}",
        "operation", "kills", "survived", "finished first"
    );
    let mut json = serde_json::Map::new();
    let (mut kills, mut survived) = (0, 0);
    for (op, t) in ops.iter().zip(tallies) {
        println!(
            "{:<10} {:>7} {:>9} {:>15}",
            op.name(),
            t.kills,
            t.survived,
            t.finished_first
        );
        json.insert(format!("{}_kills", op.name()), t.kills.into());
        json.insert(format!("{}_survived", op.name()), t.survived.into());
        json.insert(
            format!("{}_finished_first", op.name()),
            t.finished_first.into(),
        );
        kills += t.kills;
        survived += t.survived;
    }
    println!("{:<10} {:>7} {:>9}", "total", kills, survived);
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_default();
    println!(
        "wall {:.0} s (set-up {:.0} s), {} CLI processes, load average {load}",
        wall.as_secs_f64(),
        setup,
        kit.spawned
    );
    json.insert("total_kills".into(), kills.into());
    json.insert("total_survived".into(), survived.into());
    json.insert("seconds".into(), wall.as_secs().into());
    println!("{}", serde_json::Value::Object(json));
}

/// What a started command came to.
enum Ending {
    /// It exited by itself before the kill.
    Exited { ok: bool, stdout: String },
    /// It was SIGKILLed; what it printed until then.
    Killed { stdout: String },
}

/// The harness's tools: the CLI, a work folder and the seeded RNG.
struct Kit {
    bin: PathBuf,
    work: PathBuf,
    rng: Rng,
    spawned: u64,
}

impl Kit {
    /// A CLI command on `project`.
    fn cli(&self, project: &Path, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.args(args)
            .env("CLINITUNE_PROJECT", project)
            .env("CLINITUNE_ANNOTATOR", "harness")
            .env_remove("CLINITUNE_LOG")
            .current_dir(&self.work);
        cmd
    }

    /// Runs a CLI command to its end and returns its standard output; fails when it fails.
    fn ok(&mut self, project: &Path, args: &[&str]) -> anyhow::Result<String> {
        self.spawned += 1;
        let out = self
            .cli(project, args)
            .output()
            .with_context(|| format!("cannot start clinitune {args:?}"))?;
        ensure!(
            out.status.success(),
            "clinitune {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Runs a CLI command with `--json` and parses its output.
    fn json(&mut self, project: &Path, args: &[&str]) -> anyhow::Result<serde_json::Value> {
        let mut all = args.to_vec();
        all.push("--json");
        let out = self.ok(project, &all)?;
        serde_json::from_str(out.trim()).with_context(|| format!("{args:?} printed {out}"))
    }

    /// A random delay: log-uniform from 2 ms to 1.2 × `typical`, so kills land early, late
    /// and, now and then, after the command has finished.
    fn delay(&mut self, typical: Duration) -> Duration {
        let low = 2e-3f64.ln();
        let high = (typical.as_secs_f64() * 1.2).max(3e-3).ln();
        Duration::from_secs_f64((low + (high - low) * self.rng.unit()).exp())
    }

    /// Starts `cmd`, SIGKILLs it after `delay` unless it has exited, and says which.
    fn kill_after(&mut self, mut cmd: Command, delay: Duration) -> anyhow::Result<Ending> {
        self.spawned += 1;
        let out_path = self.work.join("stdout.txt");
        let out = File::create(&out_path)?;
        let mut child = cmd
            .stdout(out)
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start clinitune")?;
        let started = Instant::now();
        loop {
            if let Some(status) = child.try_wait()? {
                let stdout = std::fs::read_to_string(&out_path).unwrap_or_default();
                return Ok(Ending::Exited {
                    ok: status.success(),
                    stdout,
                });
            }
            if started.elapsed() >= delay {
                break;
            }
            std::thread::sleep(Duration::from_micros(500));
        }
        child.kill()?; // SIGKILL: no destructor, no flush, no cleanup
        let status = child.wait()?;
        let stdout = std::fs::read_to_string(&out_path).unwrap_or_default();
        if status.code().is_some() {
            // It exited on its own between the last poll and the signal.
            return Ok(Ending::Exited {
                ok: status.success(),
                stdout,
            });
        }
        Ok(Ending::Killed { stdout })
    }

    /// Times a command run to its end (the operation's typical length).
    fn time(&mut self, project: &Path, args: &[&str]) -> anyhow::Result<Duration> {
        let started = Instant::now();
        self.ok(project, args)?;
        Ok(started.elapsed())
    }

    /// A fresh project with the built-in schemas at `path` (any old one removed).
    fn init(&mut self, path: &Path) -> anyhow::Result<()> {
        remove_project(path);
        let p = path.to_string_lossy().into_owned();
        self.ok(
            path,
            &["init", &p, "--schema", "sdoh", "--schema", "outcomes"],
        )?;
        Ok(())
    }

    /// The checks every kill ends with: SQLite's integrity check, the FTS index against the
    /// notes (row for row), and the audit chain (`audit verify`). Returns the audit entries.
    fn check_project(&mut self, project: &Path) -> anyhow::Result<u64> {
        {
            let db = open(project)?;
            let check: String = db.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
            ensure!(check == "ok", "integrity_check says {check}");
            // rank 1: every indexed row must match the notes table's text.
            db.execute(
                "INSERT INTO notes_fts (notes_fts, rank) VALUES ('integrity-check', 1)",
                [],
            )
            .context("the FTS index does not match the notes")?;
            let notes: i64 = db.query_row("SELECT count(*) FROM notes", [], |r| r.get(0))?;
            let indexed: i64 =
                db.query_row("SELECT count(*) FROM notes_fts_docsize", [], |r| r.get(0))?;
            ensure!(
                notes == indexed,
                "{notes} notes but {indexed} in the FTS index"
            );
        }
        let v = self.json(project, &["audit", "verify"])?;
        ensure!(v["intact"] == true, "audit verify: {v}");
        v["entries"].as_u64().context("audit verify: entries")
    }
}

/// Opens a project file as SQLite (recovering its WAL, as the CLI would).
fn open(project: &Path) -> anyhow::Result<rusqlite::Connection> {
    rusqlite::Connection::open(project)
        .with_context(|| format!("cannot open {}", project.display()))
}

/// Removes a project file with its WAL and shared-memory files.
fn remove_project(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(name));
    }
}

/// A count from SQL with parameters.
fn count(
    db: &rusqlite::Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> anyhow::Result<i64> {
    db.query_row(sql, params, |r| r.get(0))
        .with_context(|| format!("query {sql}"))
}

/// SplitMix64: small, seeded, and the same on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [0, n); 0 when n is 0.
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        (self.next() % n as u64) as usize
    }
}
