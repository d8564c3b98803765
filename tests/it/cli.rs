//! The CLI contract of the foundation issue, end to end.

use crate::Sandbox;

fn demo_project(notes: usize) -> Sandbox {
    let s = Sandbox::new();
    let project = s.project();
    s.ok(&[
        "init",
        project.to_str().unwrap(),
        "--schema",
        "sdoh",
        "--schema",
        "outcomes",
    ]);
    let corpus = s.path("corpus.jsonl");
    s.ok(&[
        "demo-corpus",
        corpus.to_str().unwrap(),
        "--notes",
        &notes.to_string(),
        "--seed",
        "3",
    ]);
    let out = s.ok(&["import", corpus.to_str().unwrap()]);
    assert!(out.contains(&format!("Imported {notes} notes")), "{out}");
    s
}

#[test]
fn demo_pipeline_imports_searches_and_counts() {
    let s = demo_project(200);
    let stats = s.json(&["stats"]);
    assert_eq!(stats["notes"], 200);
    assert_eq!(stats["labels"], 14);
    assert!(stats["span_annotations"].as_u64().unwrap() > 100, "{stats}");
    assert!(stats["doc_annotations"].as_u64().unwrap() > 100, "{stats}");

    let found = s.json(&[
        "notes",
        "search",
        "lives alone",
        "--category",
        "Social work",
    ]);
    let list = found.as_array().unwrap();
    assert!(!list.is_empty());
    for n in list {
        assert_eq!(n["category"], "Social work");
        assert!(n["external_id"].as_str().unwrap().starts_with("demo-"));
        assert!(
            n["snippet"]
                .as_str()
                .unwrap()
                .to_lowercase()
                .contains("alone"),
            "{n}"
        );
        assert!(n["id"].is_i64());
    }
    let housing = s.json(&["notes", "list", "--label", "HOUSING", "--limit", "1000"]);
    let stats_housing = s.json(&["stats"])["by_label"]["HOUSING"].as_u64().unwrap();
    assert!(
        !housing.as_array().unwrap().is_empty()
            && (housing.as_array().unwrap().len() as u64) <= stats_housing
    );

    let id = list[0]["id"].as_i64().unwrap().to_string();
    let note = s.json(&["notes", "show", &id]);
    let text = note["text"].as_str().unwrap();
    for span in note["spans"].as_array().unwrap() {
        let (start, end) = (
            span["start"].as_u64().unwrap() as usize,
            span["end"].as_u64().unwrap() as usize,
        );
        let covered: String = text.chars().skip(start).take(end - start).collect();
        assert_eq!(
            covered,
            span["text"].as_str().unwrap(),
            "offsets are code points"
        );
    }
    // Re-importing is a no-op.
    let again = s.ok(&["import", s.path("corpus.jsonl").to_str().unwrap()]);
    assert!(
        again.contains("Imported 0 notes; skipped 200 already in the project"),
        "{again}"
    );
    assert_eq!(s.json(&["stats"]), stats);
}

#[test]
fn annotate_from_the_command_line_with_character_offsets() {
    let s = Sandbox::new();
    s.ok(&["init", s.project().to_str().unwrap(), "--schema", "sdoh"]);
    let file = s.path("n.jsonl");
    let text = "Zoë (肺炎 hx) → lives alone 🫁, no car.";
    std::fs::write(
        &file,
        serde_json::json!({"id": "z1", "text": text}).to_string(),
    )
    .unwrap();
    s.ok(&["import", file.to_str().unwrap()]);
    let start = text.chars().position(|c| c == 'l').unwrap();
    let (a, b) = (start.to_string(), (start + 11).to_string());
    let span = s.json(&[
        "annotate",
        "span",
        "--note",
        "z1",
        "--label",
        "SUPPORT",
        "--start",
        &a,
        "--end",
        &b,
        "--attr",
        "type=minus",
    ]);
    assert_eq!(span["text"], "lives alone");
    assert_eq!(
        span["attributes"]["adverse"], "true",
        "minus support is adverse by default"
    );
    s.ok(&[
        "annotate",
        "doc",
        "--note",
        "z1",
        "--label",
        "TRANSPORTATION",
        "--attr",
        "adverse",
    ]);
    let note = s.json(&["notes", "show", "z1"]);
    assert_eq!(note["spans"][0]["start"], start);
    assert_eq!(note["doc_labels"][0]["attributes"]["adverse"], "true");
    assert_eq!(note["status"], "in_progress");

    let past = s.run(&[
        "annotate", "span", "--note", "z1", "--label", "HOUSING", "--start", "0", "--end", "999",
    ]);
    assert!(!past.status.success());
    assert!(String::from_utf8_lossy(&past.stderr).contains("past the end of note 1"));

    s.ok(&[
        "annotate", "remove", "span", "--note", "z1", "--label", "SUPPORT", "--start", &a, "--end",
        &b,
    ]);
    s.ok(&[
        "annotate",
        "remove-doc",
        "--note",
        "z1",
        "--label",
        "TRANSPORTATION",
    ]);
    let empty = s.json(&["notes", "show", "z1"]);
    assert!(
        empty["spans"].as_array().unwrap().is_empty()
            && empty["doc_labels"].as_array().unwrap().is_empty()
    );
    let undone = s.json(&["annotate", "undo", "--note", "z1"]);
    assert_eq!(undone["undo"], "remove_doc_label");
    assert_eq!(s.json(&["stats"])["doc_annotations"], 1);
}

#[test]
fn import_reports_rejected_rows_as_file_and_line() {
    let s = Sandbox::new();
    s.ok(&["init", s.project().to_str().unwrap()]);
    let csv = s.path("notes.csv");
    std::fs::write(
        &csv,
        "id,text,category\n1,\"first\nnote\",A\n2,second\n3,third,B\n4,,B\n",
    )
    .unwrap();
    let out = s.run(&["import", csv.to_str().unwrap()]);
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stdout.contains(
            "Imported 2 notes; skipped 0 already in the project and 1 empty; rejected 1."
        ),
        "{stdout}"
    );
    assert!(
        stderr.contains(&format!(
            "{}:4: row has 2 columns; expected 3",
            csv.display()
        )),
        "{stderr}"
    );
}

#[test]
fn non_utf8_input_is_refused_with_its_byte_offset() {
    let s = Sandbox::new();
    s.ok(&["init", s.project().to_str().unwrap()]);
    let file = s.path("latin1.jsonl");
    std::fs::write(&file, b"{\"text\": \"ok\"}\n{\"text\": \"caf\xe9\"}\n").unwrap();
    let out = s.run(&["import", file.to_str().unwrap()]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bad byte sequence at byte 28"), "{stderr}");
    assert!(stderr.contains("--lossy"), "{stderr}");
    assert_eq!(s.json(&["stats"])["notes"], 0);
    s.ok(&["import", file.to_str().unwrap(), "--lossy"]);
    assert_eq!(s.json(&["stats"])["notes"], 2);
}

#[test]
fn export_brat_and_jsonl_round_trip_the_demo_corpus() {
    let s = demo_project(60);
    let brat = s.path("brat");
    s.ok(&["export", "--format", "brat", brat.to_str().unwrap()]);
    let jsonl = s.path("out.jsonl");
    s.ok(&["export", "--format", "jsonl", jsonl.to_str().unwrap()]);
    let original = s.json(&["stats"]);

    let t = Sandbox::new();
    t.ok(&[
        "init",
        t.project().to_str().unwrap(),
        "--schema",
        "sdoh",
        "--schema",
        "outcomes",
    ]);
    t.ok(&["import", brat.to_str().unwrap()]);
    assert_eq!(
        t.json(&["stats"])["span_annotations"],
        original["span_annotations"]
    );
    let u = Sandbox::new();
    u.ok(&[
        "init",
        u.project().to_str().unwrap(),
        "--schema",
        "sdoh",
        "--schema",
        "outcomes",
    ]);
    u.ok(&["import", jsonl.to_str().unwrap()]);
    let back = u.json(&["stats"]);
    assert_eq!(back["span_annotations"], original["span_annotations"]);
    assert_eq!(back["doc_annotations"], original["doc_annotations"]);
    assert_eq!(back["by_label"], original["by_label"]);
    let a = s.json(&["notes", "show", "demo-000007"]);
    let b = u.json(&["notes", "show", "demo-000007"]);
    assert_eq!(a["text"], b["text"]);
    assert_eq!(
        a["spans"].as_array().unwrap().len(),
        b["spans"].as_array().unwrap().len()
    );
}

#[test]
fn helpful_errors_without_a_project() {
    let s = Sandbox::new();
    let out = s.run(&["stats"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no project at") && stderr.contains("clinitune init"),
        "{stderr}"
    );
    let json = s.run(&["stats", "--json"]);
    let err: serde_json::Value = serde_json::from_slice(&json.stderr).unwrap();
    assert_eq!(err["error"]["kind"], "not_found");
}

#[test]
fn agreement_compares_two_annotators_per_label() {
    let s = Sandbox::new();
    s.ok(&["init", s.project().to_str().unwrap(), "--schema", "sdoh"]);
    let file = s.path("n.jsonl");
    let notes = [
        ("a1", "Lives alone in a shelter; no car."),
        ("a2", "Retired teacher, lives with wife."),
    ];
    let lines: Vec<String> = notes
        .iter()
        .map(|(id, text)| serde_json::json!({"id": id, "text": text}).to_string())
        .collect();
    std::fs::write(&file, lines.join("\n")).unwrap();
    s.ok(&["import", file.to_str().unwrap()]);
    let span = |who: &str, note: &str, label: &str, phrase: &str| {
        let text = notes.iter().find(|(id, _)| *id == note).unwrap().1;
        let start = text.find(phrase).unwrap();
        let (a, b) = (start.to_string(), (start + phrase.len()).to_string());
        s.ok(&[
            "annotate",
            "span",
            "--note",
            note,
            "--label",
            label,
            "--start",
            &a,
            "--end",
            &b,
            "--annotator",
            who,
        ]);
    };
    span("alice", "a1", "HOUSING", "in a shelter");
    span("bob", "a1", "HOUSING", "a shelter");
    span("alice", "a2", "EMPLOYMENT", "Retired teacher");
    span("bob", "a2", "EMPLOYMENT", "Retired teacher");
    for (who, note) in [("alice", "a1"), ("bob", "a1"), ("alice", "a2")] {
        s.ok(&[
            "annotate",
            "doc",
            "--note",
            note,
            "--label",
            "HOUSING",
            "--annotator",
            who,
        ]);
    }

    let report = s.json(&["agreement", "--a", "alice", "--b", "bob"]);
    assert_eq!(report["annotator_a"], "alice");
    assert_eq!(report["notes_compared"], 2);
    let housing = &report["doc_labels"][0];
    assert_eq!(
        (
            &housing["label"],
            &housing["both"],
            &housing["only_a"],
            &housing["only_b"],
            &housing["neither"],
            &housing["kappa"]
        ),
        (
            &"HOUSING".into(),
            &1.into(),
            &1.into(),
            &0.into(),
            &0.into(),
            &0.0.into()
        ),
        "{report}"
    );
    let spans = report["span_labels"].as_array().unwrap();
    let f1 = |label: &str, how: &str| {
        spans.iter().find(|s| s["label"] == label).unwrap()[how]["f1"]
            .as_f64()
            .unwrap()
    };
    assert_eq!(f1("EMPLOYMENT", "exact"), 1.0, "{report}");
    assert_eq!(f1("HOUSING", "exact"), 0.0, "{report}");
    assert_eq!(f1("HOUSING", "overlap"), 1.0, "{report}");

    let text = s.ok(&["agreement", "--a", "alice", "--b", "bob"]);
    assert!(
        text.contains("alice (A) vs bob (B); notes annotated by both: 2."),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("HOUSING") && l.ends_with("0.000")),
        "{text}"
    );

    let typo = s.run(&["agreement", "--a", "alice", "--b", "Bob"]);
    assert!(!typo.status.success());
    assert!(
        String::from_utf8_lossy(&typo.stderr).contains("annotator Bob not found"),
        "{}",
        String::from_utf8_lossy(&typo.stderr)
    );
}
