//! A killed import leaves a consistent project, complete up to its last committed batch.

use std::time::{Duration, Instant};

use crate::{Sandbox, clinitune_bin};

#[test]
fn killed_import_keeps_whole_batches_and_resumes() {
    let s = Sandbox::new();
    s.ok(&[
        "init",
        s.project().to_str().unwrap(),
        "--schema",
        "sdoh",
        "--schema",
        "outcomes",
    ]);
    let corpus = s.path("big.jsonl");
    let total = 20_000u64;
    s.ok(&[
        "demo-corpus",
        corpus.to_str().unwrap(),
        "--notes",
        &total.to_string(),
    ]);

    let mut child = std::process::Command::new(clinitune_bin())
        .args(["import", corpus.to_str().unwrap()])
        .env("CLINITUNE_PROJECT", s.project())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Kill it as soon as the first batch is visible to a reader.
    let reader = rusqlite::Connection::open_with_flags(
        s.project(),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let n: i64 = reader
            .query_row("SELECT count(*) FROM notes", [], |r| r.get(0))
            .unwrap_or(0);
        if n > 0 {
            break;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "import finished before it could be killed"
        );
        assert!(Instant::now() < deadline, "no batch committed in time");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL: no chance to clean up
    child.wait().unwrap();
    drop(reader);

    let db = rusqlite::Connection::open(s.project()).unwrap();
    let check: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    // rank 1: the search index must match the notes table exactly, note for note.
    db.execute(
        "INSERT INTO notes_fts (notes_fts, rank) VALUES ('integrity-check', 1)",
        [],
    )
    .unwrap();
    let notes: u64 = db
        .query_row("SELECT count(*) FROM notes", [], |r| r.get::<_, i64>(0))
        .unwrap() as u64;
    assert!(notes > 0 && notes < total, "killed mid-way: {notes}");
    assert_eq!(
        notes % 5000,
        0,
        "only whole batches of 5000 are committed: {notes}"
    );
    // The audit log accounts for every committed note, batch by batch.
    let audited: i64 = db
        .query_row(
            "SELECT sum(json_extract(detail, '$.notes')) FROM audit_log WHERE action = 'import_notes'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(audited as u64, notes);
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&corpus)
        .unwrap()
        .lines()
        .take(notes as usize)
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let expected_spans: usize = lines
        .iter()
        .map(|l| l["spans"].as_array().unwrap().len())
        .sum();
    let spans: i64 = db
        .query_row("SELECT count(*) FROM span_annotations", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        spans as usize, expected_spans,
        "the committed notes have exactly their spans"
    );
    drop(db);

    // Importing again adds exactly what is missing.
    let out = s.ok(&["import", corpus.to_str().unwrap()]);
    assert!(
        out.contains(&format!(
            "Imported {} notes; skipped {notes} already",
            total - notes
        )),
        "{out}"
    );
    assert_eq!(s.json(&["stats"])["notes"], total);
}

/// Starts `cmd`, SIGKILLs it after `delay` unless it has exited; true when it was killed.
fn kill_after(mut cmd: std::process::Command, delay: Duration) -> bool {
    let mut child = cmd
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while started.elapsed() < delay {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "{cmd:?} failed on its own");
            return false;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    assert!(status.code().is_none_or(|c| c == 0), "{cmd:?} failed");
    status.code().is_none()
}

/// What every kill must leave: integrity, the FTS index row for row, an intact audit chain.
fn check_project(s: &Sandbox) -> u64 {
    let db = rusqlite::Connection::open(s.project()).unwrap();
    let check: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    db.execute(
        "INSERT INTO notes_fts (notes_fts, rank) VALUES ('integrity-check', 1)",
        [],
    )
    .unwrap();
    let notes: i64 = db
        .query_row("SELECT count(*) FROM notes", [], |r| r.get(0))
        .unwrap();
    let indexed: i64 = db
        .query_row("SELECT count(*) FROM notes_fts_docsize", [], |r| r.get(0))
        .unwrap();
    assert_eq!(notes, indexed, "every note is in the FTS index");
    drop(db);
    assert_eq!(s.json(&["audit", "verify"])["intact"], true);
    notes as u64
}

/// A safetensors file is whole: its header parses and its tensors fill the rest exactly.
fn assert_whole_safetensors(path: &std::path::Path) {
    let bytes = std::fs::read(path).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    let end = header
        .iter()
        .filter(|(k, _)| *k != "__metadata__")
        .map(|(_, t)| t["data_offsets"][1].as_u64().unwrap() as usize)
        .max()
        .unwrap_or(0);
    assert_eq!(end, bytes.len() - 8 - n, "{} is cut short", path.display());
}

// Issue 17, item 1: the invariants `cargo xtask reliability kill` checks over hundreds of kills,
// CI-sized: an import killed ten times keeps whole batches, its last note searchable, and
// resumes; a training run killed five times resumes from its checkpoint to the same adapter.
#[test]
fn repeated_kills_keep_whole_import_batches_and_training_resumes_to_the_same_adapter() {
    let s = Sandbox::new();
    s.ok(&["init", s.project().to_str().unwrap(), "--schema", "sdoh"]);
    let corpus = s.path("big.jsonl");
    let total = 10_000usize;
    s.ok(&["demo-corpus", corpus.to_str().unwrap(), "--notes", "10000"]);
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&corpus)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let import = || {
        let mut cmd = std::process::Command::new(clinitune_bin());
        cmd.args(["import", corpus.to_str().unwrap()])
            .env("CLINITUNE_PROJECT", s.project());
        cmd
    };
    // The length of a whole import, in a project of its own.
    let timing = Sandbox::new();
    timing.ok(&["init", timing.project().to_str().unwrap()]);
    let started = Instant::now();
    timing.ok(&["import", corpus.to_str().unwrap()]);
    let typical = started.elapsed();
    let mut kills = 0;
    for k in 1..=10u32 {
        let killed = kill_after(import(), typical * k / 10);
        kills += usize::from(killed);
        let notes = check_project(&s) as usize;
        assert_eq!(notes % 5000, 0, "only whole batches: {notes}");
        assert!(killed || notes == total, "an import exited 0 with {notes}");
        let shown = s.json(&["notes", "list", "--limit", "100000"]);
        let ids: Vec<&str> = shown
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["external_id"].as_str().unwrap())
            .collect();
        let expected: Vec<&str> = lines[..notes]
            .iter()
            .map(|l| l["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, expected, "the file's first {notes} notes");
        if let Some(last) = lines[..notes].last() {
            let words: Vec<&str> = last["text"]
                .as_str()
                .unwrap()
                .split_whitespace()
                .filter(|w| w.len() > 3 && w.chars().all(|c| c.is_ascii_alphabetic()))
                .take(5)
                .collect();
            let found = s.json(&["notes", "search", &words.join(" "), "--limit", "100000"]);
            assert!(
                found
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|n| n["external_id"] == last["id"]),
                "the last imported note is not found by its words"
            );
        }
        if notes == total {
            break;
        }
    }
    assert!(kills > 0, "no import was killed");
    s.ok(&["import", corpus.to_str().unwrap()]);
    assert_eq!(check_project(&s) as usize, total);

    // Training: killed five times, resumed each time, finished: the uninterrupted adapter.
    let t = Sandbox::new();
    let data = t.path("sft.jsonl");
    let record = |i: usize| {
        serde_json::json!({
            "prompt": [{"role": "user", "content": format!("Social history {i}: lives alone.")}],
            "completion": [{"role": "assistant", "content": "Housing: lives alone."}],
        })
        .to_string()
    };
    std::fs::write(&data, (0..8).map(|i| record(i) + "\n").collect::<String>()).unwrap();
    let model = crate::shared_dir().join("fixtures/tiny-llama");
    let train = |out: &std::path::Path, resume: bool| {
        let mut cmd = std::process::Command::new(clinitune_bin());
        cmd.args(["train", "sft", "--model", model.to_str().unwrap()])
            .args([
                "--data",
                data.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
            ])
            .args([
                "--steps",
                "6",
                "--batch-size",
                "2",
                "--lr",
                "5e-3",
                "--rank",
                "4",
            ])
            .args(["--seed", "5", "--save-steps", "1", "--json"]);
        if resume {
            cmd.arg("--resume");
        }
        cmd
    };
    let whole = t.path("whole");
    let started = Instant::now();
    assert!(train(&whole, false).output().unwrap().status.success());
    let typical = started.elapsed();
    let run = t.path("killed");
    let mut last_step = 0;
    let (mut kills, mut finished) = (0, false);
    for k in 1..=5u32 {
        let resume = run.join("checkpoint").is_dir() || run.join("checkpoint.old").is_dir();
        let killed = kill_after(train(&run, resume), typical * k / 6);
        kills += usize::from(killed);
        for dir in [run.clone(), run.join("checkpoint")] {
            for name in ["adapter_model.safetensors", "optimizer.safetensors"] {
                if dir.join(name).is_file() {
                    assert_whole_safetensors(&dir.join(name));
                }
            }
            if dir.join("adapter_model.safetensors").is_file() {
                t.ok(&["adapter", "info", dir.to_str().unwrap()]);
            }
        }
        let step = checkpoint_step(&run).unwrap_or(0);
        assert!(step >= last_step, "the checkpoint went back to {step}");
        last_step = step;
        if !killed {
            finished = true;
            break;
        }
    }
    assert!(kills > 0, "no training run was killed");
    if !finished {
        let resume = run.join("checkpoint").is_dir() || run.join("checkpoint.old").is_dir();
        assert!(train(&run, resume).output().unwrap().status.success());
    }
    assert!(
        std::fs::read(whole.join("adapter_model.safetensors")).unwrap()
            == std::fs::read(run.join("adapter_model.safetensors")).unwrap(),
        "the resumed adapter differs from the uninterrupted one"
    );
}

fn checkpoint_step(out: &std::path::Path) -> Option<u64> {
    let text = std::fs::read_to_string(out.join("checkpoint/state.json")).ok()?;
    serde_json::from_str::<serde_json::Value>(&text).ok()?["step"].as_u64()
}
