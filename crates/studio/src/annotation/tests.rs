use std::collections::BTreeMap;

use api::{AnnotationStatus, ImportRequest};

use super::*;
use crate::{CancelToken, notes, transfer};

// Accents, µ, CJK and emoji: 1-, 2-, 3- and 4-byte characters.
const TEXT: &str = "José, 72, lives alone; no car → misses µg dosing. 肺炎 history 🫁 stable.";

fn project_with_note() -> (tempfile::TempDir, Project, NoteId) {
    let dir = tempfile::tempdir().unwrap();
    let mut project = Project::create(
        &dir.path().join("p.clinitune"),
        &["sdoh".into(), "outcomes".into()],
    )
    .unwrap();
    let file = dir.path().join("n.jsonl");
    std::fs::write(
        &file,
        serde_json::json!({ "id": "n1", "text": TEXT }).to_string(),
    )
    .unwrap();
    transfer::import_notes(
        &mut project,
        &file,
        &ImportRequest::default(),
        &mut |_| {},
        &CancelToken::new(),
    )
    .unwrap();
    (dir, project, NoteId(1))
}

fn span_on(note: NoteId, label: &str, phrase: &str, attrs: &[(&str, &str)]) -> SpanRequest {
    let start = TEXT.find(phrase).unwrap();
    SpanRequest {
        note,
        label: label.into(),
        fragments: vec![Fragment {
            start,
            end: start + phrase.len(),
        }],
        attributes: attrs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

fn labels_on(project: &Project, note: NoteId) -> Vec<String> {
    notes::show(project, note)
        .unwrap()
        .spans
        .iter()
        .map(|s| s.label.clone())
        .collect()
}

#[test]
fn spans_over_multibyte_characters_keep_their_text() {
    let (_d, mut p, note) = project_with_note();
    for (label, phrase) in [
        ("SUPPORT", "lives alone"),
        ("TRANSPORTATION", "no car → misses"),
        ("HOUSING", "肺炎"),
        ("EMPLOYMENT", "🫁"),
    ] {
        let span = add_span(&mut p, &span_on(note, label, phrase, &[]), "ann").unwrap();
        assert_eq!(&TEXT[span.start()..span.end()], phrase);
    }
    let shown = notes::show(&p, note).unwrap();
    let texts: Vec<&str> = shown
        .spans
        .iter()
        .map(|s| &shown.text[s.start()..s.end()])
        .collect();
    assert_eq!(
        texts,
        vec!["lives alone", "no car → misses", "肺炎", "🫁"],
        "spans come back in text order"
    );
}

#[test]
fn offsets_inside_a_character_are_refused() {
    let (_d, mut p, note) = project_with_note();
    for (phrase, inside) in [("é", 1), ("µ", 1), ("肺", 1), ("肺", 2), ("🫁", 3)] {
        let start = TEXT.find(phrase).unwrap();
        let request = SpanRequest {
            note,
            label: "HOUSING".into(),
            fragments: vec![Fragment {
                start: start + inside,
                end: start + phrase.len(),
            }],
            attributes: BTreeMap::new(),
        };
        let err = add_span(&mut p, &request, "ann").unwrap_err();
        assert!(
            matches!(err, Error::NotOnCharBoundary { offset, .. } if offset == start + inside),
            "{phrase}: {err}"
        );
    }
    let past = SpanRequest {
        fragments: vec![Fragment {
            start: 0,
            end: TEXT.len() + 1,
        }],
        ..span_on(note, "HOUSING", "José", &[])
    };
    assert!(matches!(
        add_span(&mut p, &past, "ann"),
        Err(Error::OutOfRange { .. })
    ));
    assert!(labels_on(&p, note).is_empty(), "nothing half-saved");
}

#[test]
fn schema_defaults_fill_in_the_adverse_flag() {
    let (_d, mut p, note) = project_with_note();
    let undomiciled = add_span(
        &mut p,
        &span_on(note, "HOUSING", "lives alone", &[("type", "undomiciled")]),
        "ann",
    )
    .unwrap();
    assert_eq!(undomiciled.attributes["adverse"], "true");
    let retired = add_span(
        &mut p,
        &span_on(note, "EMPLOYMENT", "José", &[("type", "retired")]),
        "ann",
    )
    .unwrap();
    assert_eq!(retired.attributes["adverse"], "false");
    let explicit = add_span(
        &mut p,
        &span_on(
            note,
            "SUPPORT",
            "stable",
            &[("type", "plus"), ("adverse", "true")],
        ),
        "ann",
    )
    .unwrap();
    assert_eq!(
        explicit.attributes["adverse"], "true",
        "what the annotator sets wins over the default"
    );

    let err = add_span(
        &mut p,
        &span_on(note, "HOUSING", "José", &[("type", "castle")]),
        "ann",
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("poor, undomiciled, other"),
        "{err}"
    );
    let err = add_span(
        &mut p,
        &span_on(note, "HOUSING", "José", &[("color", "red")]),
        "ann",
    )
    .unwrap_err();
    assert!(matches!(err, Error::BadAttribute(_)), "{err}");
    let err = add_span(&mut p, &span_on(note, "MORTALITY", "José", &[]), "ann").unwrap_err();
    assert!(matches!(err, Error::WrongScope { .. }), "{err}");
}

#[test]
fn undo_and_redo_walk_the_history_of_one_annotator() {
    let (_d, mut p, note) = project_with_note();
    let a = add_span(&mut p, &span_on(note, "SUPPORT", "lives alone", &[]), "ann").unwrap();
    add_span(
        &mut p,
        &span_on(note, "TRANSPORTATION", "no car", &[]),
        "ann",
    )
    .unwrap();
    let other = add_span(&mut p, &span_on(note, "HOUSING", "José", &[]), "second").unwrap();

    assert_eq!(undo(&mut p, note, "ann").unwrap(), Some("add_span"));
    assert_eq!(
        labels_on(&p, note),
        vec!["HOUSING", "SUPPORT"],
        "only ann's last span went"
    );
    assert_eq!(redo(&mut p, note, "ann").unwrap(), Some("add_span"));
    assert_eq!(
        labels_on(&p, note),
        vec!["HOUSING", "SUPPORT", "TRANSPORTATION"]
    );
    assert_eq!(redo(&mut p, note, "ann").unwrap(), None);

    // Changing the label of a span, then undoing, restores it under the same id.
    let moved = update_span(
        &mut p,
        a.id,
        &span_on(note, "HOUSING", "lives alone", &[("type", "poor")]),
        "ann",
    )
    .unwrap();
    assert_eq!(
        (
            moved.id,
            moved.label.as_str(),
            moved.attributes["adverse"].as_str()
        ),
        (a.id, "HOUSING", "true")
    );
    undo(&mut p, note, "ann").unwrap();
    let back = notes::show(&p, note).unwrap();
    let restored = back.spans.iter().find(|s| s.id == a.id).unwrap();
    assert_eq!(restored, &a);

    // Removing and undoing brings back the same span, id included.
    remove_span(&mut p, other.id, "second").unwrap();
    undo(&mut p, note, "second").unwrap();
    assert!(notes::show(&p, note).unwrap().spans.contains(&other));

    // A new change after an undo drops what could have been redone.
    undo(&mut p, note, "ann").unwrap();
    add_span(&mut p, &span_on(note, "PARENT", "stable", &[]), "ann").unwrap();
    assert_eq!(redo(&mut p, note, "ann").unwrap(), None);
    while undo(&mut p, note, "ann").unwrap().is_some() {}
    assert_eq!(
        labels_on(&p, note),
        vec!["HOUSING"],
        "all of ann's changes undone, second's kept"
    );
}

#[test]
fn document_labels_are_per_annotator_and_undoable() {
    let (_d, mut p, note) = project_with_note();
    let doc = set_doc_label(
        &mut p,
        note,
        "HOUSING",
        &BTreeMap::from([("type".into(), "poor".into())]),
        "ann",
    )
    .unwrap();
    assert_eq!(doc.attributes["adverse"], "true");
    set_doc_label(&mut p, note, "HOUSING", &BTreeMap::new(), "second").unwrap();
    let changed = set_doc_label(
        &mut p,
        note,
        "HOUSING",
        &BTreeMap::from([("adverse".into(), "false".into())]),
        "ann",
    )
    .unwrap();
    assert_eq!(changed.id, doc.id);
    assert_eq!(changed.attributes["adverse"], "false");
    undo(&mut p, note, "ann").unwrap();
    let shown = notes::show(&p, note).unwrap();
    assert_eq!(shown.doc_labels.len(), 2);
    assert!(shown.doc_labels.contains(&doc));
    assert!(remove_doc_label(&mut p, note, "HOUSING", "ann").unwrap());
    assert!(!remove_doc_label(&mut p, note, "HOUSING", "ann").unwrap());
    assert_eq!(notes::show(&p, note).unwrap().doc_labels.len(), 1);
    let err = set_doc_label(&mut p, note, "NOPE", &BTreeMap::new(), "ann").unwrap_err();
    assert!(err.to_string().contains("label NOPE not found"), "{err}");
    assert_eq!(shown.doc_labels[0].status, AnnotationStatus::Gold);
}

#[test]
fn every_change_is_audited_and_moves_the_note_along() {
    let (_d, mut p, note) = project_with_note();
    let audit = |p: &Project| p.store.db().audit_count(note).unwrap();
    let start = audit(&p); // the import
    assert_eq!(notes::show(&p, note).unwrap().status, NoteStatus::Todo);
    let span = add_span(&mut p, &span_on(note, "SUPPORT", "lives alone", &[]), "ann").unwrap();
    assert_eq!(
        notes::show(&p, note).unwrap().status,
        NoteStatus::InProgress
    );
    remove_span(&mut p, span.id, "ann").unwrap();
    undo(&mut p, note, "ann").unwrap();
    set_status(&mut p, note, NoteStatus::Done, "ann").unwrap();
    assert_eq!(audit(&p) - start, 4);
    assert_eq!(notes::show(&p, note).unwrap().status, NoteStatus::Done);
}

/// A model's suggestion on `phrase`, as pre-annotation will store it.
fn suggest(p: &mut Project, note: NoteId, label: &str, phrase: &str) -> SpanId {
    let start = TEXT.find(phrase).unwrap();
    p.store
        .write(|tx| {
            tx.insert_span(
                &store::NewSpan {
                    note,
                    label: label.into(),
                    annotator: "smollm2".into(),
                    status: AnnotationStatus::Suggested,
                    fragments: vec![Fragment {
                        start,
                        end: start + phrase.len(),
                    }],
                    attributes: BTreeMap::new(),
                    comment: None,
                    source_ref: None,
                },
                None,
            )
        })
        .unwrap()
}

#[test]
fn accepting_a_suggestion_makes_it_gold_and_rejecting_keeps_it_as_rejected() {
    let (_d, mut p, note) = project_with_note();
    let good = suggest(&mut p, note, "SUPPORT", "lives alone");
    let bad = suggest(&mut p, note, "TRANSPORTATION", "stable");
    let accepted = review_suggestion(&mut p, good, true, "ann").unwrap();
    assert_eq!(
        (accepted.status, accepted.annotator.as_str()),
        (AnnotationStatus::Gold, "ann")
    );
    let rejected = review_suggestion(&mut p, bad, false, "ann").unwrap();
    assert_eq!(
        (rejected.status, rejected.annotator.as_str()),
        (AnnotationStatus::Rejected, "smollm2")
    );
    // Both decisions stay in the project; a decided span cannot be decided again.
    let spans = notes::show(&p, note).unwrap().spans;
    assert_eq!(spans.len(), 2);
    let err = review_suggestion(&mut p, good, false, "ann").unwrap_err();
    assert!(err.to_string().contains("not a suggestion"), "{err}");
    // Undo brings the rejected suggestion back to be decided.
    undo(&mut p, note, "ann").unwrap();
    let (_, back) = p.store.db().span(bad).unwrap();
    assert_eq!(back.status, AnnotationStatus::Suggested);
}
