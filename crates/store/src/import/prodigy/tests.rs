use std::path::{Path, PathBuf};

use api::{AnnotationStatus, NoteStatus};

use crate::db::Store;
use crate::export::{ExportFormat, ExportOptions, export};
use crate::import::{Control, Format, ImportOptions, import};

/// Prodigy tasks as `db-out` writes them (offsets in code points): two annotators' answers on
/// the same text, an ignored task, a choice task and a binary classification.
const TASKS: &str = r#"{"text": "Pt 😀 lives alone in Zürich.", "meta": {"id": "n1", "ward": "A"}, "_input_hash": 1, "_task_hash": 2, "tokens": [], "spans": [{"start": 5, "end": 16, "text": "lives alone", "label": "LIVING_ALONE", "token_start": 2, "token_end": 3}], "answer": "accept", "_annotator_id": "sdoh-alice", "_session_id": "sdoh-alice"}
{"text": "Pt 😀 lives alone in Zürich.", "meta": {"id": "n1", "ward": "A"}, "spans": [{"start": 20, "end": 26, "text": "Zürich", "label": "PLACE"}], "answer": "reject", "_annotator_id": "sdoh-bob"}
{"text": "Ignored: 肺 mass.", "spans": [{"start": 9, "end": 10, "label": "ORGAN"}], "answer": "ignore", "_session_id": "sdoh-alice"}
{"text": "Choice task.", "options": [{"id": "HOUSING", "text": "Housing"}, {"id": "FOOD", "text": "Food"}], "accept": ["HOUSING"], "answer": "accept", "_annotator_id": "sdoh-alice"}
{"text": "Binary task.", "label": "SOCIAL", "answer": "reject", "_annotator_id": "sdoh-bob"}
"#;

fn temp_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::create(&dir.path().join("p.clinitune")).unwrap();
    (dir, store)
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn run(store: &mut Store, path: &Path) -> api::ImportSummary {
    let never = || false;
    import(
        store,
        path,
        &ImportOptions::new(Format::Prodigy),
        Control {
            progress: &mut |_| {},
            cancelled: &never,
        },
    )
    .unwrap()
}

fn notes(store: &Store) -> Vec<api::NoteDetail> {
    let ids = store.db().note_ids().unwrap();
    ids.into_iter()
        .map(|id| store.db().note(id).unwrap())
        .collect()
}

/// Every annotation as (note text, label, annotator, status, start, end) in code points.
fn annotations(store: &Store) -> Vec<(String, String, String, &'static str, usize, usize)> {
    let mut out = Vec::new();
    for note in notes(store) {
        let cp = |b| api::offsets::byte_to_char(&note.text, b).unwrap();
        for s in &note.spans {
            let (start, end) = (cp(s.start()), cp(s.end()));
            let label = (s.label.clone(), s.annotator.clone(), s.status.as_str());
            out.push((note.text.clone(), label.0, label.1, label.2, start, end));
        }
        for d in &note.doc_labels {
            let label = (d.label.clone(), d.annotator.clone(), d.status.as_str());
            out.push((note.text.clone(), label.0, label.1, label.2, 0, 0));
        }
    }
    out.sort();
    out
}

#[test]
fn answers_make_gold_rejected_and_skipped_notes() {
    let (dir, mut store) = temp_store();
    let path = write(dir.path(), "db-out.jsonl", TASKS);
    let summary = run(&mut store, &path);
    assert!(summary.rejected.is_empty(), "{:?}", summary.rejected);
    assert_eq!(
        (summary.imported, summary.duplicates),
        (4, 1),
        "one text, two annotators"
    );
    let all = notes(&store);
    let first = &all[0];
    assert_eq!(first.external_id.as_deref(), Some("n1"));
    assert_eq!(first.metadata["ward"], "A");
    let spans: Vec<(&str, &str, &str, AnnotationStatus)> = first
        .spans
        .iter()
        .map(|s| {
            let text = &first.text[s.start()..s.end()];
            (s.label.as_str(), text, s.annotator.as_str(), s.status)
        })
        .collect();
    assert_eq!(
        spans,
        [
            (
                "LIVING_ALONE",
                "lives alone",
                "sdoh-alice",
                AnnotationStatus::Gold
            ),
            ("PLACE", "Zürich", "sdoh-bob", AnnotationStatus::Rejected),
        ]
    );
    assert_eq!(all[1].status, NoteStatus::Skipped);
    assert_eq!(all[1].spans[0].status, AnnotationStatus::Suggested);
    assert_eq!(
        &all[1].text[all[1].spans[0].start()..all[1].spans[0].end()],
        "肺"
    );
    assert_eq!(all[2].doc_labels[0].label, "HOUSING");
    assert_eq!(all[2].doc_labels[0].status, AnnotationStatus::Gold);
    assert_eq!(all[3].doc_labels[0].status, AnnotationStatus::Rejected);

    let again = run(&mut store, &path);
    assert_eq!((again.imported, again.spans, again.doc_labels), (0, 0, 0));
}

#[test]
fn export_imports_back_to_the_same_spans_and_labels() {
    let (dir, mut store) = temp_store();
    run(&mut store, &write(dir.path(), "db-out.jsonl", TASKS));
    let out = dir.path().join("out.jsonl");
    let options = ExportOptions {
        format: ExportFormat::Prodigy,
        annotator: None,
        annotations: true,
    };
    let summary = export(store.db(), &out, &options, &mut |_| {}).unwrap();
    assert_eq!(
        (summary.notes, summary.spans, summary.doc_labels),
        (4, 3, 2)
    );
    let written = std::fs::read_to_string(&out).unwrap();
    let first: serde_json::Value = serde_json::from_str(written.lines().next().unwrap()).unwrap();
    assert_eq!(first["spans"][0]["start"], 5, "code points");
    assert_eq!(first["answer"], "accept");

    let other = tempfile::tempdir().unwrap();
    let mut copy = Store::create(&other.path().join("q.clinitune")).unwrap();
    let summary = run(&mut copy, &out);
    assert!(summary.rejected.is_empty(), "{:?}", summary.rejected);
    assert_eq!(annotations(&copy), annotations(&store));
    let statuses = |s: &Store| notes(s).iter().map(|n| n.status).collect::<Vec<_>>();
    assert_eq!(statuses(&copy), statuses(&store));
}

#[test]
fn bad_lines_and_spans_are_reported_with_their_line() {
    let (dir, mut store) = temp_store();
    let file = concat!(
        "{\"text\": \"Café 😀 ok\", \"spans\": [{\"start\": 7, \"end\": 9, \"label\": \"X\"}, {\"start\": 7, \"end\": 9, \"text\": \"no\", \"label\": \"X\"}, {\"start\": 7, \"end\": 99, \"label\": \"X\"}], \"answer\": \"accept\"}\n",
        "not json\n",
        "{\"text\": \"Answer unknown.\", \"answer\": \"maybe\"}\n",
        "{\"text\": \"Still imported.\"}\n",
    );
    let summary = run(&mut store, &write(dir.path(), "bad.jsonl", file));
    assert_eq!((summary.imported, summary.spans), (2, 1), "{summary:?}");
    let lines: Vec<(u64, &str)> = summary
        .rejected
        .iter()
        .map(|r| (r.line, r.reason.as_str()))
        .collect();
    assert_eq!(lines.len(), 4, "{lines:?}");
    assert!(lines[0].0 == 1 && lines[0].1.starts_with("span 2 not imported"));
    assert!(lines[0].1.contains("cover different text"));
    assert!(lines[1].0 == 1 && lines[1].1.contains("ends past the text"));
    assert!(lines[2].0 == 2 && lines[2].1.starts_with("not valid JSON"));
    assert!(lines[3].0 == 3 && lines[3].1.contains("not accept, reject or ignore"));
}
