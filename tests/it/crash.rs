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
