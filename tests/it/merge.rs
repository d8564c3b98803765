//! Team projects (issue 14, item 3): `clinitune merge OTHER` brings a colleague's work into
//! this project, each annotator kept apart, so the agreement report sees both.

use std::path::{Path, PathBuf};

use crate::Sandbox;

const NOTES: [&str; 5] = [
    "Patient lives alone in a shelter.",
    "Works as a bus driver, housing stable.",
    "Evicted last month, staying with a friend.",
    "Unemployed since March, no car.",
    "Retired teacher, owns a house.",
];

/// One annotation a person makes on the command line.
enum Work {
    Doc(&'static str, &'static str),
    Span(&'static str, &'static str, usize, usize),
}

/// Alice's work: HOUSING on n1–n3, EMPLOYMENT spans on n4 and n5.
const ALICE: &[Work] = &[
    Work::Doc("n1", "HOUSING"),
    Work::Doc("n2", "HOUSING"),
    Work::Doc("n3", "HOUSING"),
    Work::Span("n4", "EMPLOYMENT", 0, 5),
    Work::Span("n5", "EMPLOYMENT", 0, 5),
];

/// Bob's work: HOUSING on n1, n2 and n4, EMPLOYMENT spans on n4 (same as Alice's) and n5
/// (overlapping hers), ALCOHOL (a label only his project has) on n5.
const BOB: &[Work] = &[
    Work::Doc("n1", "HOUSING"),
    Work::Doc("n2", "HOUSING"),
    Work::Doc("n4", "HOUSING"),
    Work::Span("n4", "EMPLOYMENT", 0, 5),
    Work::Span("n5", "EMPLOYMENT", 2, 8),
    Work::Doc("n5", "ALCOHOL"),
];

/// A label only Alice's project has (SMOKING on spans) and Bob's defines for documents.
const MINE: &str = "name = \"mine\"\nversion = 1\n\n[[labels]]\nname = \"SMOKING\"\nscope = \"span\"\ncolor = \"#123456\"\n";
const THEIRS: &str = "name = \"theirs\"\nversion = 1\n\n[[labels]]\nname = \"SMOKING\"\nscope = \"doc\"\ncolor = \"#123456\"\n\n[[labels]]\nname = \"ALCOHOL\"\nscope = \"doc\"\ncolor = \"#654321\"\n";

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A project at `name` with the SDoH schema and `extra`, holding the five notes.
fn project(s: &Sandbox, name: &str, extra: &str, notes: &Path) -> PathBuf {
    let file = s.path(name);
    let schema = s.path(&format!("{name}.toml"));
    std::fs::write(&schema, extra).unwrap();
    s.ok(&[
        "init",
        path(&file),
        "--schema",
        "sdoh",
        "--schema",
        path(&schema),
    ]);
    s.ok(&["--project", path(&file), "import", path(notes)]);
    file
}

fn annotate(s: &Sandbox, project: &Path, who: &str, work: &[Work]) {
    for w in work {
        let p = path(project);
        match *w {
            Work::Doc(note, label) => s.ok(&[
                "--project",
                p,
                "annotate",
                "doc",
                "--note",
                note,
                "--label",
                label,
                "--annotator",
                who,
            ]),
            Work::Span(note, label, start, end) => s.ok(&[
                "--project",
                p,
                "annotate",
                "span",
                "--note",
                note,
                "--label",
                label,
                "--start",
                &start.to_string(),
                "--end",
                &end.to_string(),
                "--annotator",
                who,
            ]),
        };
    }
}

/// Rows per table of a project file, read directly.
fn row_counts(project: &Path) -> Vec<(String, i64)> {
    let conn = rusqlite::Connection::open(project).unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'notes_fts%' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    tables
        .into_iter()
        .map(|t| {
            let n: i64 = conn
                .query_row(&format!("SELECT count(*) FROM \"{t}\""), [], |r| r.get(0))
                .unwrap();
            (t, n)
        })
        .collect()
}

struct Team {
    s: Sandbox,
    alice: PathBuf,
    bob: PathBuf,
}

/// Alice and Bob annotate the same notes in two project files; Bob's also has a note Alice's
/// lacks, a label hers lacks, and a label both define differently.
fn team() -> Team {
    let s = Sandbox::new();
    let notes = s.path("notes.jsonl");
    let lines: Vec<String> = NOTES
        .iter()
        .enumerate()
        .map(|(i, t)| serde_json::json!({"id": format!("n{}", i + 1), "text": t}).to_string())
        .collect();
    std::fs::write(&notes, lines.join("\n")).unwrap();
    let alice = project(&s, "alice.clinitune", MINE, &notes);
    let bob = project(&s, "bob.clinitune", THEIRS, &notes);
    let extra = s.path("extra.jsonl");
    std::fs::write(&extra, r#"{"id": "x9", "text": "Only in Bob's project."}"#).unwrap();
    s.ok(&["--project", path(&bob), "import", path(&extra)]);
    annotate(&s, &alice, "alice", ALICE);
    annotate(&s, &bob, "bob", BOB);
    s.ok(&[
        "--project",
        path(&bob),
        "annotate",
        "doc",
        "--note",
        "n1",
        "--label",
        "SMOKING",
        "--annotator",
        "bob",
    ]);
    s.ok(&[
        "--project",
        path(&bob),
        "notes",
        "status",
        "n1",
        "done",
        "--annotator",
        "bob",
    ]);
    // Bob also drafts a summary of n1 with the tiny model and edits it: an output, an edit, a
    // preference pair and an SFT example.
    let model = crate::shared_dir().join("fixtures/tiny-llama");
    let made = s.json(&[
        "--project",
        path(&bob),
        "run",
        "--task",
        "social-history-summary",
        "--model",
        path(&model),
        "--note",
        "n1",
        "--max-tokens",
        "4",
    ]);
    let output = made[0]["id"].as_i64().unwrap().to_string();
    let edit = s.path("edit.txt");
    std::fs::write(&edit, "Lives alone in a shelter.").unwrap();
    s.ok(&[
        "--project",
        path(&bob),
        "review",
        "edit",
        &output,
        "--text-file",
        path(&edit),
        "--annotator",
        "bob",
    ]);
    // ... and accepts it too: a mark kept in the audit log, which must stay a valid chain
    // once merged.
    s.ok(&[
        "--project",
        path(&bob),
        "review",
        "accept",
        &output,
        "--annotator",
        "bob",
    ]);
    Team { s, alice, bob }
}

fn agreement(s: &Sandbox, project: &Path) -> serde_json::Value {
    s.json(&[
        "--project",
        path(project),
        "agreement",
        "--a",
        "alice",
        "--b",
        "bob",
    ])
}

#[test]
fn merged_team_projects_agree_as_one_project_and_a_second_merge_changes_nothing() {
    let Team { s, alice, bob } = team();
    let summary = s.json(&["--project", path(&alice), "merge", path(&bob)]);
    assert_eq!(summary["notes_matched"], 5, "{summary}");
    assert_eq!(summary["notes_not_matched"], 1, "{summary}");
    assert_eq!(summary["unmatched_notes"][0]["external_id"], "x9");
    // Bob's 6 annotations but SMOKING, which Alice's project defines for spans only.
    assert_eq!(summary["annotations_added"], 6, "{summary}");
    assert_eq!(summary["annotations_skipped"], 1, "{summary}");
    assert_eq!(summary["statuses_updated"], 1, "{summary}");
    assert_eq!(summary["labels_added"], serde_json::json!(["ALCOHOL"]));
    assert_eq!(summary["outputs_added"], 1, "{summary}");
    assert_eq!(summary["reviews_added"], 2, "{summary}");
    assert_eq!(
        s.json(&["--project", path(&alice), "audit", "verify"])["intact"],
        true
    );
    assert_eq!(summary["pairs_added"], 1, "{summary}");
    // The edit's SFT example and the accepted original's.
    assert_eq!(summary["sft_added"], 2, "{summary}");
    let pairs = s.json(&["--project", path(&alice), "pairs", "list"]);
    assert_eq!(pairs[0]["annotator"], "bob", "{pairs}");
    assert_eq!(pairs[0]["chosen"], "Lives alone in a shelter.");
    assert_eq!(
        summary["label_conflicts"][0]["label"], "SMOKING",
        "{summary}"
    );

    let merged = agreement(&s, &alice);
    // The same work done by both in one project (the reference the merge must reproduce).
    let notes = s.path("notes.jsonl");
    let one = project(&s, "one.clinitune", THEIRS, &notes);
    annotate(&s, &one, "alice", ALICE);
    annotate(&s, &one, "bob", BOB);
    assert_eq!(merged, agreement(&s, &one));

    // And worked by hand: compared notes n1, n2, n4, n5 (Bob never annotated n3).
    assert_eq!(merged["notes_compared"], 4, "{merged}");
    let doc = |label: &str| {
        merged["doc_labels"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["label"] == label)
            .unwrap_or_else(|| panic!("no {label} in {merged}"))
            .clone()
    };
    // HOUSING: both n1, n2; only Bob n4; neither n5. p_o = 3/4, p_e = 1/2·3/4 + 1/2·1/4 = 1/2,
    // kappa = (3/4 − 1/2) / (1 − 1/2) = 1/2.
    let housing = doc("HOUSING");
    assert_eq!(
        (
            &housing["both"],
            &housing["only_a"],
            &housing["only_b"],
            &housing["neither"]
        ),
        (&2.into(), &0.into(), &1.into(), &1.into())
    );
    assert!(
        (housing["kappa"].as_f64().unwrap() - 0.5).abs() < 1e-12,
        "{housing}"
    );
    // ALCOHOL: only Bob on n5: p_o = 3/4 = p_e, kappa 0.
    assert!(doc("ALCOHOL")["kappa"].as_f64().unwrap().abs() < 1e-12);
    // EMPLOYMENT spans: n4 identical, n5 [0,5) vs [2,8): exact P = R = F1 = 1/2; overlap 1.
    let spans = &merged["span_labels"][0];
    assert_eq!(spans["label"], "EMPLOYMENT");
    assert!(
        (spans["exact"]["f1"].as_f64().unwrap() - 0.5).abs() < 1e-12,
        "{spans}"
    );
    assert!(
        (spans["overlap"]["f1"].as_f64().unwrap() - 1.0).abs() < 1e-12,
        "{spans}"
    );

    // Merging again changes no row, and the report stays the same.
    let before = row_counts(&alice);
    let again = s.json(&["--project", path(&alice), "merge", path(&bob)]);
    assert_eq!(row_counts(&alice), before);
    assert_eq!(again["annotations_added"], 0, "{again}");
    assert_eq!(again["statuses_updated"], 0, "{again}");
    assert_eq!(again["outputs_added"], 0, "{again}");
    assert_eq!(again["pairs_added"], 0, "{again}");
    assert_eq!(again["notes_matched"], 5, "{again}");
    assert_eq!(
        s.json(&["--project", path(&alice), "audit", "verify"])["intact"],
        true
    );
    assert_eq!(agreement(&s, &alice), merged);
    // Bob's file was only read.
    assert_eq!(
        s.json(&["--project", path(&bob), "stats"])["doc_annotations"],
        5
    );
}

#[test]
fn merge_text_names_unmatched_notes_by_id_and_conflicting_labels() {
    let Team { s, alice, bob } = team();
    let out = s.ok(&["--project", path(&alice), "merge", path(&bob)]);
    assert!(out.contains("5 matched, 1 not matched"), "{out}");
    assert!(out.contains("x9"), "{out}");
    assert!(!out.contains("Only in Bob"), "no note text: {out}");
    assert!(out.contains("Label conflict: SMOKING"), "{out}");
    assert!(
        out.contains("scope is span here and doc in the other project"),
        "{out}"
    );
}

#[test]
fn merge_refuses_a_non_project_a_newer_project_and_itself_and_changes_nothing() {
    let Team { s, alice, bob } = team();
    let before = row_counts(&alice);
    let junk = s.path("junk.clinitune");
    std::fs::write(&junk, "id,text\n1,hello\n".repeat(200)).unwrap();
    let err = s.fails(&["--project", path(&alice), "merge", path(&junk)]);
    assert!(err.contains("is not a Clinitune project"), "{err}");

    let plain = s.path("plain.sqlite");
    rusqlite::Connection::open(&plain)
        .unwrap()
        .execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
        .unwrap();
    let err = s.fails(&["--project", path(&alice), "merge", path(&plain)]);
    assert!(err.contains("is not a Clinitune project"), "{err}");

    let newer = s.path("newer.clinitune");
    std::fs::copy(&bob, &newer).unwrap();
    rusqlite::Connection::open(&newer)
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    let err = s.fails(&["--project", path(&alice), "merge", path(&newer)]);
    assert!(err.contains("schema version 99"), "{err}");

    let err = s.fails(&["--project", path(&alice), "merge", path(&alice)]);
    assert!(err.contains("merged into itself"), "{err}");
    let err = s.fails(&[
        "--project",
        path(&alice),
        "merge",
        path(&s.path("none.clinitune")),
    ]);
    assert!(err.contains("no project at"), "{err}");
    assert_eq!(row_counts(&alice), before);
}
