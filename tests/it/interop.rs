//! Label Studio and Prodigy files through the real binary (issue 14 item 2): import, export,
//! import again to the same spans and labels; bad tasks and lines reported by file and line.

use crate::Sandbox;

/// A Label Studio JSON export as its docs describe it; "😀" is two UTF-16 units, so Label
/// Studio's offsets (6-17, 21-27, 29-30) are not code points (5-16, 20-26, 28-29).
const LABEL_STUDIO: &str = r#"[
{"id": 1, "data": {"text": "Pt 😀 lives alone in Zürich; 肺 mass."},
 "annotations": [
  {"id": 1, "completed_by": 1, "result": [
   {"id": "r1", "from_name": "label", "to_name": "text", "type": "labels",
    "value": {"start": 6, "end": 17, "text": "lives alone", "labels": ["LIVING_ALONE"]}},
   {"id": "r2", "from_name": "label", "to_name": "text", "type": "labels",
    "value": {"start": 21, "end": 27, "text": "Zürich", "labels": ["PLACE"]}},
   {"id": "c1", "from_name": "topic", "to_name": "text", "type": "choices",
    "value": {"choices": ["SOCIAL"]}}]},
  {"id": 2, "completed_by": 2, "result": [
   {"id": "x1", "from_name": "label", "to_name": "text", "type": "labels",
    "value": {"start": 29, "end": 30, "text": "肺", "labels": ["ORGAN"]}}]}]},
{"id": 2, "data": {"text": "broken"}, "annotations": nope},
{"id": 3, "data": {"text": "Café visit."}, "annotations": [{"completed_by": 1, "result": [
   {"id": "y", "type": "labels", "value": {"start": 0, "end": 4, "text": "Cafe", "labels": ["PLACE"]}}]}]}
]
"#;

/// Prodigy tasks as `db-out` writes them (code points).
const PRODIGY: &str = r#"{"text": "Pt 😀 lives alone in Zürich.", "spans": [{"start": 5, "end": 16, "text": "lives alone", "label": "LIVING_ALONE"}], "answer": "accept", "_annotator_id": "sdoh-alice"}
{"text": "Pt 😀 lives alone in Zürich.", "spans": [{"start": 20, "end": 26, "text": "Zürich", "label": "PLACE"}], "answer": "reject", "_annotator_id": "sdoh-bob"}
{"text": "Ignored: 肺 mass.", "spans": [{"start": 9, "end": 10, "label": "ORGAN"}], "answer": "ignore", "_annotator_id": "sdoh-alice"}
{"text": "Choice task.", "accept": ["HOUSING"], "answer": "accept", "_annotator_id": "sdoh-alice"}
{"text": "bad offsets", "spans": [{"start": 4, "end": 40, "label": "X"}], "answer": "accept"}
"#;

/// (note text, label, annotator, status, start, end) of every annotation, from `notes show`.
fn annotations(s: &Sandbox) -> Vec<String> {
    let mut out = Vec::new();
    for note in s.json(&["notes", "list"]).as_array().unwrap() {
        let id = note["id"].to_string();
        let detail = s.json(&["notes", "show", &id]);
        for span in detail["spans"].as_array().unwrap() {
            out.push(format!(
                "{} | {} {} {} {}-{} {}",
                detail["text"],
                span["label"],
                span["annotator"],
                span["status"],
                span["start"],
                span["end"],
                span["text"]
            ));
        }
        for label in detail["doc_labels"].as_array().unwrap() {
            out.push(format!(
                "{} | {} {} {}",
                detail["text"], label["label"], label["annotator"], label["status"]
            ));
        }
    }
    out.sort();
    out
}

fn project_with(file: &str, body: &str, format: &str) -> (Sandbox, String) {
    let s = Sandbox::new();
    s.ok(&["init", s.project().to_str().unwrap()]);
    let path = s.path(file);
    std::fs::write(&path, body).unwrap();
    let out = s.run(&["import", path.to_str().unwrap(), "--format", format]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (s, String::from_utf8(out.stderr).unwrap())
}

#[test]
fn label_studio_import_converts_utf16_offsets_and_reports_bad_tasks_by_line() {
    let (s, stderr) = project_with("export.json", LABEL_STUDIO, "label-studio");
    let path = s.path("export.json");
    assert!(
        stderr.contains(&format!("{}:14: task 2 is not valid JSON", path.display())),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "{}:15: task 3: annotation 1, result 1 (id y): span not imported: offsets 0-4 cover different text than value.text",
            path.display()
        )),
        "{stderr}"
    );
    let got = annotations(&s);
    let text = "\"Pt 😀 lives alone in Zürich; 肺 mass.\"";
    let want = [
        format!("{text} | \"LIVING_ALONE\" \"label-studio-1\" \"gold\" 5-16 \"lives alone\""),
        format!("{text} | \"ORGAN\" \"label-studio-2\" \"gold\" 28-29 \"肺\""),
        format!("{text} | \"PLACE\" \"label-studio-1\" \"gold\" 20-26 \"Zürich\""),
        format!("{text} | \"SOCIAL\" \"label-studio-1\" \"gold\""),
    ];
    assert_eq!(got, want);
}

#[test]
fn label_studio_export_imports_back_to_the_same_spans_and_labels() {
    let (s, _) = project_with("export.json", LABEL_STUDIO, "label-studio");
    let out = s.path("out.json");
    let summary = s.json(&["export", "--format", "label-studio", out.to_str().unwrap()]);
    assert_eq!(summary["spans"], 3);
    let (t, stderr) = project_with(
        "again.json",
        &std::fs::read_to_string(&out).unwrap(),
        "label-studio",
    );
    assert!(stderr.is_empty(), "{stderr}");
    assert_eq!(annotations(&t), annotations(&s));
}

#[test]
fn prodigy_answers_and_round_trip_keep_rejected_spans_out_of_gold() {
    let (s, stderr) = project_with("db-out.jsonl", PRODIGY, "prodigy");
    let path = s.path("db-out.jsonl");
    assert!(
        stderr.contains(&format!(
            "{}:5: span 1 not imported: fragment 4-40 ends past the text (11 characters)",
            path.display()
        )),
        "{stderr}"
    );
    let got = annotations(&s);
    assert!(
        got.iter()
            .any(|a| a.contains("\"PLACE\" \"sdoh-bob\" \"rejected\" 20-26 \"Zürich\"")),
        "{got:?}"
    );
    assert!(
        got.iter()
            .any(|a| a.contains("\"LIVING_ALONE\" \"sdoh-alice\" \"gold\" 5-16")),
        "{got:?}"
    );
    assert!(
        got.iter()
            .any(|a| a.contains("\"ORGAN\" \"sdoh-alice\" \"suggested\" 9-10")),
        "{got:?}"
    );
    let skipped = s.json(&["notes", "list", "--status", "skipped"]);
    assert_eq!(skipped.as_array().unwrap().len(), 1);

    let out = s.path("out.jsonl");
    s.ok(&["export", "--format", "prodigy", out.to_str().unwrap()]);
    let (t, stderr) = project_with(
        "again.jsonl",
        &std::fs::read_to_string(&out).unwrap(),
        "prodigy",
    );
    assert!(stderr.is_empty(), "{stderr}");
    assert_eq!(annotations(&t), annotations(&s));
    assert_eq!(
        t.json_lines(&["notes", "list", "--status", "skipped"])
            .len(),
        1
    );
}
