use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use api::{AnnotationStatus, NoteStatus};

use crate::db::Store;
use crate::export::{ExportFormat, ExportOptions, export};
use crate::import::{Control, Format, ImportOptions, import};

// "😀" is two UTF-16 units, "ü" and "肺" one each: the UTF-16 offsets below are those Label
// Studio writes (JavaScript string indices), not code points or bytes.
const TEXT: &str = "Pt 😀 lives alone in Zürich; 肺 mass.";

/// A Label Studio JSON export as its docs describe it: two annotators (one by user id, one as
/// an object), a per-region choice and text area, a note-level choice and text area, a model
/// prediction, and a second task that was skipped.
const EXPORT: &str = r#"[
  {
    "id": 1,
    "data": {"text": "Pt 😀 lives alone in Zürich; 肺 mass.", "id": "n1", "ward": "A"},
    "annotations": [
      {
        "id": 11, "completed_by": 1, "was_cancelled": false, "ground_truth": false,
        "result": [
          {"id": "r1", "from_name": "label", "to_name": "text", "type": "labels",
           "value": {"start": 6, "end": 17, "text": "lives alone", "labels": ["LIVING_ALONE"]}},
          {"id": "r1", "from_name": "certainty", "to_name": "text", "type": "choices",
           "value": {"choices": ["certain"]}},
          {"id": "r1", "from_name": "comment", "to_name": "text", "type": "textarea",
           "value": {"text": ["says so"]}},
          {"id": "r2", "from_name": "label", "to_name": "text", "type": "labels",
           "value": {"start": 21, "end": 27, "text": "Zürich", "labels": ["PLACE"]}},
          {"id": "c1", "from_name": "topic", "to_name": "text", "type": "choices",
           "value": {"choices": ["SOCIAL"]}},
          {"id": "t1", "from_name": "summary", "to_name": "text", "type": "textarea",
           "value": {"text": ["check housing"]}}
        ]
      },
      {
        "id": 12, "completed_by": {"id": 2, "email": "b@example.org"},
        "result": [
          {"id": "x1", "from_name": "label", "to_name": "text", "type": "labels",
           "value": {"start": 29, "end": 30, "text": "肺", "labels": ["ORGAN"]}}
        ]
      }
    ],
    "predictions": [
      {"model_version": "v1", "result": [
        {"id": "p1", "from_name": "label", "to_name": "text", "type": "labels",
         "value": {"start": 31, "end": 35, "text": "mass", "labels": ["FINDING"]}}
      ]}
    ]
  },
  {
    "id": 2,
    "data": {"text": "Seen today."},
    "annotations": [{"id": 13, "completed_by": 1, "was_cancelled": true, "result": []}]
  }
]
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
        &ImportOptions::new(Format::LabelStudio),
        Control {
            progress: &mut |_| {},
            cancelled: &never,
        },
    )
    .unwrap()
}

/// Every annotation as (note text, label, annotator, status, covered text).
fn annotations(store: &Store) -> BTreeSet<(String, String, String, &'static str, String)> {
    let mut out = BTreeSet::new();
    for id in store.db().note_ids().unwrap() {
        let note = store.db().note(id).unwrap();
        for s in &note.spans {
            let covered: Vec<&str> = s
                .fragments
                .iter()
                .map(|f| &note.text[f.start..f.end])
                .collect();
            out.insert((
                note.text.clone(),
                s.label.clone(),
                s.annotator.clone(),
                s.status.as_str(),
                covered.join(" "),
            ));
        }
        for d in &note.doc_labels {
            let doc = (note.text.clone(), d.label.clone(), d.annotator.clone());
            out.insert((doc.0, doc.1, doc.2, d.status.as_str(), String::new()));
        }
    }
    out
}

#[test]
fn utf16_offsets_become_spans_of_each_annotator() {
    let (dir, mut store) = temp_store();
    assert!(EXPORT.contains(TEXT));
    let path = write(dir.path(), "export.json", EXPORT);
    let summary = run(&mut store, &path);
    assert!(summary.rejected.is_empty(), "{:?}", summary.rejected);
    assert_eq!(
        (summary.imported, summary.spans, summary.doc_labels),
        (2, 4, 1)
    );
    assert_eq!(summary.kept_results, 1, "the note-level text area");

    let ids = store.db().note_ids().unwrap();
    let note = store.db().note(ids[0]).unwrap();
    assert_eq!(note.external_id.as_deref(), Some("n1"));
    assert_eq!(note.status, NoteStatus::Done);
    assert_eq!(note.metadata["ward"], "A");
    let covered = |label: &str| {
        let s = note.spans.iter().find(|s| s.label == label).unwrap();
        (
            &note.text[s.start()..s.end()],
            s.annotator.as_str(),
            s.status,
        )
    };
    assert_eq!(
        covered("LIVING_ALONE"),
        ("lives alone", "label-studio-1", AnnotationStatus::Gold)
    );
    assert_eq!(covered("PLACE").0, "Zürich");
    assert_eq!(
        covered("ORGAN"),
        ("肺", "b@example.org", AnnotationStatus::Gold)
    );
    assert_eq!(
        covered("FINDING"),
        (
            "mass",
            "label-studio-prediction:v1",
            AnnotationStatus::Suggested
        )
    );
    let living = note
        .spans
        .iter()
        .find(|s| s.label == "LIVING_ALONE")
        .unwrap();
    assert_eq!(living.attributes["certainty"], "certain");
    assert_eq!(living.comment.as_deref(), Some("says so"));
    assert_eq!(note.doc_labels.len(), 1);
    assert_eq!(note.doc_labels[0].label, "SOCIAL");
    assert_eq!(note.doc_labels[0].annotator, "label-studio-1");
    let kept = note.metadata[super::KEPT_KEY].as_array().unwrap();
    assert_eq!(kept[0]["result"]["value"]["text"][0], "check housing");

    let skipped = store.db().note(ids[1]).unwrap();
    assert_eq!(
        skipped.status,
        NoteStatus::Skipped,
        "a cancelled annotation"
    );

    let again = run(&mut store, &path);
    assert_eq!((again.imported, again.duplicates, again.spans), (0, 2, 0));
}

#[test]
fn export_imports_back_to_the_same_spans_and_labels() {
    let (dir, mut store) = temp_store();
    run(&mut store, &write(dir.path(), "export.json", EXPORT));
    let out = dir.path().join("out.json");
    let options = ExportOptions {
        format: ExportFormat::LabelStudio,
        annotator: None,
        annotations: true,
    };
    let summary = export(store.db(), &out, &options, &mut |_| {}).unwrap();
    assert_eq!(
        (summary.notes, summary.spans, summary.doc_labels),
        (2, 4, 1)
    );
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let place = &written[0]["annotations"][1]["result"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "r2")
        .unwrap()["value"];
    assert_eq!(
        (place["start"].as_u64(), place["end"].as_u64()),
        (Some(21), Some(27))
    );

    let other = tempfile::tempdir().unwrap();
    let mut copy = Store::create(&other.path().join("q.clinitune")).unwrap();
    let summary = run(&mut copy, &out);
    assert!(summary.rejected.is_empty(), "{:?}", summary.rejected);
    assert_eq!(annotations(&copy), annotations(&store));
    let note = copy.db().note(copy.db().note_ids().unwrap()[0]).unwrap();
    assert_eq!(note.external_id.as_deref(), Some("n1"));
    let twice = dir.path().join("twice.json");
    export(copy.db(), &twice, &options, &mut |_| {}).unwrap();
    assert_eq!(
        std::fs::read_to_string(&twice).unwrap(),
        std::fs::read_to_string(&out).unwrap(),
        "a second round trip writes the same file"
    );
}

#[test]
fn bad_task_is_reported_by_index_and_line_and_the_rest_imported() {
    let (dir, mut store) = temp_store();
    let file = concat!(
        "[\n",
        "{\"data\": {\"text\": \"Pt 😀 ok\"}, \"annotations\": [{\"completed_by\": 1, \"result\": [\n",
        "  {\"id\": \"a\", \"type\": \"labels\", \"value\": {\"start\": 4, \"end\": 6, \"labels\": [\"X\"]}},\n",
        "  {\"id\": \"b\", \"type\": \"labels\", \"value\": {\"start\": 6, \"end\": 8, \"text\": \"no\", \"labels\": [\"X\"]}},\n",
        "  {\"id\": \"c\", \"type\": \"labels\", \"value\": {\"start\": 6, \"end\": 8, \"text\": \"ok\", \"labels\": [\"X\"]}}\n",
        "]}]},\n",
        "{\"data\": {\"text\": \"broken\"},\n",
        "  \"annotations\": oops},\n",
        "{\"data\": {\"text\": \"Kept after the bad one.\"}}\n",
        "]\n"
    );
    let summary = run(&mut store, &write(dir.path(), "bad.json", file));
    assert_eq!(summary.imported, 2, "{summary:?}");
    assert_eq!(summary.spans, 1, "only the span that matches its text");
    let reasons: Vec<(u64, &str)> = summary
        .rejected
        .iter()
        .map(|r| (r.line, r.reason.as_str()))
        .collect();
    assert_eq!(reasons.len(), 3, "{reasons:?}");
    assert_eq!(reasons[0].0, 2);
    assert!(
        reasons[0]
            .1
            .starts_with("task 1: annotation 1, result 1 (id a)")
    );
    assert!(
        reasons[0].1.contains("inside a character"),
        "{}",
        reasons[0].1
    );
    assert!(
        reasons[1]
            .1
            .contains("cover different text than value.text")
    );
    assert_eq!(reasons[2].0, 8, "serde's line, counted in the file");
    assert!(
        reasons[2].1.starts_with("task 2 is not valid JSON"),
        "{}",
        reasons[2].1
    );
    assert!(
        summary
            .rejected
            .iter()
            .all(|r| r.file.ends_with("bad.json"))
    );
}

#[test]
fn cut_short_file_keeps_the_tasks_before_and_says_where() {
    let (dir, mut store) = temp_store();
    let file = "[\n{\"data\": {\"text\": \"First.\"}},\n{\"data\": {\"text\": \"Sec";
    let summary = run(&mut store, &write(dir.path(), "cut.json", file));
    assert_eq!(summary.imported, 1);
    assert_eq!(summary.rejected.len(), 1);
    assert_eq!(summary.rejected[0].line, 3);
    assert!(summary.rejected[0].reason.contains("task 2 is not closed"));

    let object = run(&mut store, &write(dir.path(), "one.json", "{\"data\": {}}"));
    assert!(object.rejected[0].reason.contains("not an array of tasks"));
}

#[test]
fn code_point_offsets_are_told_apart_from_utf16_ones() {
    let (dir, mut store) = temp_store();
    // Another tool wrote code points (5-16) where Label Studio writes UTF-16 units (6-17).
    let task = r#"[{"data": {"text": "Pt 😀 lives alone"}, "annotations": [{"result": [
        {"type": "labels", "value": {"start": 5, "end": 16, "text": "lives alone", "labels": ["L"]}}
    ]}]}]"#;
    let summary = run(&mut store, &write(dir.path(), "cp.json", task));
    assert_eq!(summary.spans, 0);
    assert!(
        summary.rejected[0]
            .reason
            .contains("match it as code points"),
        "{}",
        summary.rejected[0].reason
    );
}
