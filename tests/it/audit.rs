//! Issue 17, item 5: the audit trail end to end — every change a user makes through the CLI
//! is one chained entry; `audit verify` proves the log untouched, and after someone edits or
//! deletes a row in the project file with SQLite it fails naming the first broken entry;
//! `audit export` writes every entry, with no note text in it.

use serde_json::Value;

use crate::Sandbox;

const NOTE: &str = "Patient lives alone in a third-floor walk-up and lost her job in May.";

fn annotated() -> Sandbox {
    let s = Sandbox::new();
    s.ok(&["init", s.project().to_str().unwrap(), "--schema", "sdoh"]);
    let notes = s.path("notes.jsonl");
    std::fs::write(
        &notes,
        format!("{}\n", serde_json::json!({"id": "n1", "text": NOTE})),
    )
    .unwrap();
    s.ok(&["import", notes.to_str().unwrap()]);
    s.ok(&["annotate", "doc", "--note", "n1", "--label", "HOUSING"]);
    s.ok(&["annotate", "doc", "--note", "n1", "--label", "EMPLOYMENT"]);
    s.ok(&["notes", "status", "n1", "done"]);
    s
}

fn sqlite(s: &Sandbox, sql: &str) {
    let conn = rusqlite::Connection::open(s.project()).unwrap();
    conn.execute_batch(&format!(
        "DROP TRIGGER IF EXISTS audit_log_no_update; DROP TRIGGER IF EXISTS audit_log_no_delete; {sql}"
    ))
    .unwrap();
}

#[test]
fn the_audit_log_verifies_exports_without_note_text_and_names_a_tampered_entry() {
    let s = annotated();
    let v = s.json(&["audit", "verify"]);
    assert_eq!(v["intact"], true, "{v}");
    let entries = v["entries"].as_u64().unwrap();
    assert!(entries >= 3, "{v}");
    assert_eq!(v["chained"], entries);

    let out = s.path("audit.jsonl");
    s.ok(&["audit", "export", "--out", out.to_str().unwrap()]);
    let text = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len() as u64, entries);
    assert_eq!(lines.last().unwrap()["hash"], v["head"]);
    assert!(
        lines
            .iter()
            .any(|e| e["action"] == "set_doc_label" || e["entity"] == "doc_label"),
        "{text}"
    );
    for word in ["walk-up", "lives alone", "third-floor"] {
        assert!(
            !text.contains(word),
            "note text in the audit export: {word}"
        );
    }

    // Someone edits an entry in the file: verify fails and names it.
    let second = lines[1]["id"].as_i64().unwrap();
    sqlite(
        &s,
        &format!("UPDATE audit_log SET actor = 'mallory' WHERE id = {second}"),
    );
    let failed = s.run(&["audit", "verify"]);
    assert_eq!(failed.status.code(), Some(1));
    let said = String::from_utf8(failed.stdout).unwrap();
    assert!(
        said.contains(&format!("Broken at entry {second}")),
        "{said}"
    );
    assert!(said.contains("changed"), "{said}");

    // Another project: an entry deleted from the middle breaks the chain at the next one.
    let t = annotated();
    let ids: Vec<i64> = {
        let conn = rusqlite::Connection::open(t.project()).unwrap();
        let mut stmt = conn
            .prepare("SELECT id FROM audit_log ORDER BY id")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    sqlite(&t, &format!("DELETE FROM audit_log WHERE id = {}", ids[1]));
    let failed = t.run(&["audit", "verify", "--json"]);
    assert_eq!(failed.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&failed.stdout).unwrap();
    assert_eq!(v["first_broken"]["id"], ids[2]);
    assert!(
        v["first_broken"]["reason"]
            .as_str()
            .unwrap()
            .contains("removed"),
        "{v}"
    );
}
