use std::path::Path;

use api::{AnnotationStatus, Fragment, NoteStatus, OutputId, PairOrigin, Split, TaskKind};

use crate::datasets::NewPair;
use crate::db::Store;
use crate::error::Error;
use crate::notes::NewNote;
use crate::outputs::NewOutput;
use crate::tasks::NewTask;

/// A project with notes `ids` (the same text for the same id in every project).
fn project(dir: &Path, name: &str, ids: &[&str]) -> Store {
    let mut store = Store::create(&dir.join(name)).unwrap();
    store
        .write(|tx| {
            for id in ids {
                tx.insert_note(&NewNote {
                    external_id: Some((*id).to_owned()),
                    text: format!("Text of note {id}."),
                    ..NewNote::default()
                })?;
            }
            let after = 0;
            tx.index_notes_after(after)?;
            tx.create_imported_label("HOUSING")?;
            Ok::<_, Error>(())
        })
        .unwrap();
    store
}

/// Rows per table, to see that a second merge changes nothing.
fn counts(store: &Store) -> Vec<(String, i64)> {
    let tables = [
        "notes",
        "labels",
        "annotators",
        "span_annotations",
        "doc_annotations",
        "prompt_tasks",
        "model_outputs",
        "edits",
        "rankings",
        "preference_pairs",
        "sft_examples",
        "audit_log",
    ];
    tables
        .iter()
        .map(|t| {
            let n: i64 = store
                .db()
                .conn
                .query_row(&format!("SELECT count(*) FROM {t}"), [], |r| r.get(0))
                .unwrap();
            ((*t).to_owned(), n)
        })
        .collect()
}

/// Bob's work in `store`: a span and a status on n1, a document label on n2, an output on n1
/// with an edit, an accept and the pair the edit made.
fn bobs_work(store: &mut Store) {
    store
        .write(|tx| {
            let n1 = tx.note_by_external_id("n1")?.unwrap();
            let n2 = tx.note_by_external_id("n2")?.unwrap();
            tx.insert_span(
                &crate::NewSpan {
                    note: n1,
                    label: "HOUSING".into(),
                    annotator: "bob".into(),
                    status: AnnotationStatus::Gold,
                    fragments: vec![Fragment { start: 0, end: 4 }],
                    attributes: Default::default(),
                    comment: None,
                    source_ref: None,
                },
                None,
            )?;
            tx.insert_doc_label(
                &crate::NewDocLabel {
                    note: n2,
                    label: "HOUSING".into(),
                    annotator: "bob".into(),
                    status: AnnotationStatus::Gold,
                    attributes: Default::default(),
                },
                None,
            )?;
            tx.set_note_status(n1, NoteStatus::Done)?;
            let (task, _) = tx.add_task(&NewTask {
                name: "summary",
                kind: TaskKind::Summarize,
                description: "",
                template: "Summarise: {note}",
                definition_hash: b"h1",
            })?;
            let output = tx.insert_output(&NewOutput {
                note: n1,
                task: task.id,
                run: "run-1",
                sample: 0,
                model: "tiny",
                model_name: None,
                model_sha256: None,
                adapter: None,
                params: &serde_json::json!({}),
                seed: Some(1),
                prompt: "Summarise: note 1",
                prompt_messages: &[],
                text: "A summary.",
                parsed: None,
                parse_error: None,
                prompt_tokens: 3,
                completion_tokens: 2,
                stop: "eos",
                truncated: false,
            })?;
            let bob = tx.ensure_annotator("bob", "human")?;
            let edit = tx.insert_edit(output, bob, "A better summary.", &serde_json::json!([]))?;
            tx.audit(
                "bob",
                "accept_output",
                "model_output",
                Some(output.0),
                Some(n1),
                &serde_json::json!({}),
            )?;
            tx.insert_pair(&NewPair {
                note: Some(n1),
                task: Some(task.id),
                prompt: "Summarise: note 1",
                prompt_messages: None,
                chosen: "A better summary.",
                rejected: "A summary.",
                origin: PairOrigin::Edit,
                annotator: Some(bob),
                edit: Some(edit),
                ranking: None,
                split: Split::Validation,
            })?;
            Ok::<_, Error>(())
        })
        .unwrap();
}

#[test]
fn merge_brings_each_annotators_work_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut ours = project(dir.path(), "ours.clinitune", &["n1", "n2"]);
    let mut theirs = project(dir.path(), "theirs.clinitune", &["n1", "n2", "n3"]);
    bobs_work(&mut theirs);
    let other = theirs.path().to_owned();
    drop(theirs);

    let s = ours.merge_from(&other, "tester").unwrap();
    assert_eq!((s.notes_matched, s.notes_not_matched), (2, 1));
    assert_eq!(s.unmatched_notes[0].external_id.as_deref(), Some("n3"));
    assert_eq!(
        (s.spans_added, s.doc_labels_added, s.annotations_added),
        (1, 1, 2)
    );
    assert_eq!((s.outputs_added, s.reviews_added, s.pairs_added), (1, 2, 1));
    assert_eq!(
        (s.statuses_updated, s.annotators_added, s.tasks_added),
        (1, 1, 1)
    );
    assert!(s.label_conflicts.is_empty() && s.labels_added.is_empty());
    let db = ours.db();
    let n1 = db.note_by_external_id("n1").unwrap().unwrap();
    assert_eq!(db.note_status(n1).unwrap(), NoteStatus::Done);
    let spans = db.spans_of_note(n1).unwrap();
    assert_eq!(spans[0].annotator, "bob");
    let reviews = db.output_reviews(n1).unwrap();
    assert!(reviews[0].accepted);
    assert_eq!(reviews[0].edited.as_deref(), Some("A better summary."));
    let pairs = db.pairs(None).unwrap();
    assert_eq!(pairs[0].split, Split::Validation);
    let record = db.output(OutputId(reviews[0].output.0)).unwrap();
    assert_eq!(record.output.note_id, n1);

    let before = counts(&ours);
    let again = ours.merge_from(&other, "tester").unwrap();
    assert_eq!(counts(&ours), before, "a second merge adds no row");
    assert_eq!(
        again.annotations_added + again.outputs_added + again.reviews_added,
        0
    );
    assert_eq!(
        again.pairs_added + again.statuses_updated + again.annotators_added,
        0
    );
    assert_eq!(again.notes_matched, 2);
    assert!(ours.db().integrity_problems().unwrap().is_empty());
}

#[test]
fn merge_reports_a_label_of_another_scope_and_skips_its_annotations() {
    let dir = tempfile::tempdir().unwrap();
    let mut ours = project(dir.path(), "ours.clinitune", &["n1", "n2"]);
    ours.write(|tx| {
        tx.conn()
            .execute(
                "UPDATE labels SET scope = 'span' WHERE name = 'HOUSING'",
                [],
            )
            .map_err(Error::sql("test"))
    })
    .unwrap();
    let mut theirs = project(dir.path(), "theirs.clinitune", &["n1", "n2"]);
    bobs_work(&mut theirs);
    let other = theirs.path().to_owned();
    drop(theirs);
    let s = ours.merge_from(&other, "tester").unwrap();
    assert_eq!(s.label_conflicts.len(), 1, "{s:?}");
    assert_eq!(s.label_conflicts[0].label, "HOUSING");
    assert!(s.label_conflicts[0].reason.contains("scope"), "{s:?}");
    assert_eq!((s.annotations_added, s.annotations_skipped), (0, 2));
}

#[test]
fn merge_refuses_itself_and_files_that_are_not_projects() {
    let dir = tempfile::tempdir().unwrap();
    let mut ours = project(dir.path(), "ours.clinitune", &["n1"]);
    let itself = ours.path().to_owned();
    assert!(matches!(
        ours.merge_from(&itself, "t"),
        Err(Error::Invalid(_))
    ));
    let junk = dir.path().join("junk.clinitune");
    std::fs::write(&junk, "not a database, just text ".repeat(100)).unwrap();
    assert!(matches!(
        ours.merge_from(&junk, "t"),
        Err(Error::NotAProject { .. })
    ));
    let missing = dir.path().join("missing.clinitune");
    assert!(matches!(
        ours.merge_from(&missing, "t"),
        Err(Error::NoProject { .. })
    ));
}
