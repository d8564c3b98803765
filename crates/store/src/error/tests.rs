//! Issue 17, item 8: stored values this version cannot read are errors naming the table, row
//! and column — never defaults (an unreadable status must not read as "gold").

use std::collections::BTreeMap;

use api::{AnnotationStatus, Fragment, NoteId};

use super::*;
use crate::{NewDocLabel, NewNote, NewSpan, Store};

fn project() -> (tempfile::TempDir, Store, NoteId) {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::create(&dir.path().join("p.clinitune")).unwrap();
    let schema = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/schemas/sdoh.toml"),
    )
    .unwrap();
    let (file, labels) = crate::schema::parse_schema("sdoh.toml", &schema).unwrap();
    let note = store
        .write(|tx| {
            tx.add_schema(&file, &labels, &schema)?;
            let note = tx
                .insert_note(&NewNote {
                    external_id: Some("n1".to_owned()),
                    text: "Lives alone in a shelter.".to_owned(),
                    ..NewNote::default()
                })?
                .unwrap();
            tx.insert_span(
                &NewSpan {
                    note,
                    label: "HOUSING".to_owned(),
                    annotator: "ana".to_owned(),
                    status: AnnotationStatus::Suggested,
                    fragments: vec![Fragment { start: 17, end: 24 }],
                    attributes: BTreeMap::new(),
                    comment: None,
                    source_ref: None,
                },
                None,
            )?;
            tx.insert_doc_label(
                &NewDocLabel {
                    note,
                    label: "HOUSING".to_owned(),
                    annotator: "ana".to_owned(),
                    status: AnnotationStatus::Rejected,
                    attributes: BTreeMap::new(),
                },
                None,
            )?;
            Ok::<_, Error>(note)
        })
        .unwrap();
    (dir, store, note)
}

/// Writes a value past the CHECK constraints, as a damaged file or another program would.
fn damage(store: &mut Store, sql: &str) {
    store
        .write(|tx| {
            tx.conn()
                .execute_batch(&format!("PRAGMA ignore_check_constraints = ON; {sql}"))
                .map_err(Error::sql("damaging"))
        })
        .unwrap();
}

fn corrupt(err: Error, table: &str, column: &str) {
    match &err {
        Error::Corrupt {
            table: t,
            column: c,
            ..
        } => assert_eq!((*t, *c), (table, column), "{err}"),
        other => panic!("expected a corrupt {table}.{column}, got {other}"),
    }
    assert!(err.to_string().contains("row"), "{err}");
}

#[test]
fn unreadable_statuses_and_json_are_errors_naming_the_row_never_defaults() {
    let (_dir, mut store, note) = project();
    // Readable as written: the span is a suggestion and the label rejected — not gold.
    let spans = store.db().spans_of_note(note).unwrap();
    assert_eq!(spans[0].status, AnnotationStatus::Suggested);

    damage(&mut store, "UPDATE span_annotations SET status = 'maybe'");
    corrupt(
        store.db().spans_of_note(note).unwrap_err(),
        "span_annotations",
        "status",
    );
    damage(
        &mut store,
        "UPDATE span_annotations SET status = 'suggested', fragments = '[[1,'",
    );
    corrupt(
        store.db().spans_of_note(note).unwrap_err(),
        "span_annotations",
        "fragments",
    );
    damage(
        &mut store,
        "UPDATE span_annotations SET fragments = '[[17,24]]', attributes = 'x'",
    );
    corrupt(
        store.db().spans_of_note(note).unwrap_err(),
        "span_annotations",
        "attributes",
    );
    damage(&mut store, "UPDATE span_annotations SET attributes = '{}'");

    damage(&mut store, "UPDATE doc_annotations SET status = 'golden'");
    corrupt(
        store.db().doc_labels_of_note(note).unwrap_err(),
        "doc_annotations",
        "status",
    );
    damage(&mut store, "UPDATE doc_annotations SET status = 'rejected'");

    damage(&mut store, "UPDATE notes SET status = 'finished'");
    corrupt(store.db().note(note).unwrap_err(), "notes", "status");
    damage(
        &mut store,
        "UPDATE notes SET status = 'todo', metadata = '[1]'",
    );
    corrupt(store.db().note(note).unwrap_err(), "notes", "metadata");
    damage(&mut store, "UPDATE notes SET metadata = '{}'");

    damage(
        &mut store,
        "UPDATE labels SET scope = 'everywhere' WHERE name = 'HOUSING'",
    );
    corrupt(store.db().labels().unwrap_err(), "labels", "scope");
    damage(&mut store, "UPDATE labels SET scope = 'both'");

    // Everything readable again reads as before.
    assert_eq!(store.db().note(note).unwrap().spans.len(), 1);
}
