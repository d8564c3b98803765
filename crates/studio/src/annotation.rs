//! Annotating a note: spans and document labels per annotator, undo/redo, note status.
//!
//! Every change runs in one transaction that validates it against the note and the label
//! schema, applies it, records it in the note's undo history and appends an audit entry — so
//! what the annotator sees saved is on disk, and nothing is half-applied.

use std::collections::BTreeMap;

use api::{
    AttributeKind, DocLabel, DocLabelId, Fragment, Label, NoteId, NoteStatus, Span, SpanId,
    SpanRequest,
};
use store::{Change, Tx};

use crate::error::Error;
use crate::project::Project;

/// Adds a span; returns it as stored (with attributes the schema implies filled in).
pub fn add_span(
    project: &mut Project,
    request: &SpanRequest,
    annotator: &str,
) -> Result<Span, Error> {
    project.store.write(|tx| {
        let (fragments, attributes) = validate_span(tx, request)?;
        let row = store::NewSpan {
            note: request.note,
            label: request.label.clone(),
            annotator: annotator.to_owned(),
            status: api::AnnotationStatus::Gold,
            fragments,
            attributes,
            comment: None,
            source_ref: None,
        };
        let id = tx.insert_span(&row, None)?;
        let (_, span) = tx.span(id)?;
        record(
            tx,
            request.note,
            annotator,
            &Change::AddSpan { span: span.clone() },
        )?;
        Ok(span)
    })
}

/// Replaces a span's label, fragments and attributes (same id; undo restores the old one).
pub fn update_span(
    project: &mut Project,
    id: SpanId,
    request: &SpanRequest,
    annotator: &str,
) -> Result<Span, Error> {
    project.store.write(|tx| {
        let (note, before) = tx.span(id)?;
        if note != request.note {
            return Err(Error::Invalid(format!(
                "span {id} belongs to note {note}, not {}",
                request.note
            )));
        }
        let (fragments, attributes) = validate_span(tx, request)?;
        let after = Span {
            label: request.label.clone(),
            fragments,
            attributes,
            ..before.clone()
        };
        let change = Change::ReplaceSpan { before, after };
        tx.apply_change(note, &change)?;
        let (_, stored) = tx.span(id)?;
        record(tx, note, annotator, &change)?;
        Ok(stored)
    })
}

/// Accepts (it becomes this annotator's gold span) or rejects (kept, as `rejected`, for
/// training) a suggested span; undoable like any change.
pub fn review_suggestion(
    project: &mut Project,
    id: SpanId,
    accept: bool,
    annotator: &str,
) -> Result<Span, Error> {
    project.store.write(|tx| {
        let (note, before) = tx.span(id)?;
        if before.status != api::AnnotationStatus::Suggested {
            return Err(Error::Invalid(format!(
                "span {id} is {}, not a suggestion; only suggested spans are accepted or rejected",
                before.status.as_str()
            )));
        }
        let after = if accept {
            Span {
                status: api::AnnotationStatus::Gold,
                annotator: annotator.to_owned(),
                ..before.clone()
            }
        } else {
            Span {
                status: api::AnnotationStatus::Rejected,
                ..before.clone()
            }
        };
        let change = Change::ReplaceSpan { before, after };
        tx.apply_change(note, &change)?;
        let (_, stored) = tx.span(id)?;
        record(tx, note, annotator, &change)?;
        Ok(stored)
    })
}

/// Stores a model's suggested span (pre-annotation) inside the caller's transaction, checked
/// like any span and audited; not part of anyone's undo history. Returns `None` when the note
/// already has a span of that label on those offsets (suggested, accepted or rejected).
pub(crate) fn insert_suggestion(
    tx: &Tx<'_>,
    request: &SpanRequest,
    model: &str,
) -> Result<Option<Span>, Error> {
    let (fragments, attributes) = validate_span(tx, request)?;
    if tx
        .spans_of_note(request.note)?
        .iter()
        .any(|s| s.label == request.label && s.fragments == fragments)
    {
        return Ok(None);
    }
    tx.ensure_annotator(model, "model")?;
    let row = store::NewSpan {
        note: request.note,
        label: request.label.clone(),
        annotator: model.to_owned(),
        status: api::AnnotationStatus::Suggested,
        fragments,
        attributes,
        comment: None,
        source_ref: None,
    };
    let id = tx.insert_span(&row, None)?;
    let (_, span) = tx.span(id)?;
    audit_change(
        tx,
        request.note,
        model,
        "suggest_span",
        &Change::AddSpan { span: span.clone() },
    )?;
    Ok(Some(span))
}

/// Accepts (it becomes this annotator's gold label) or rejects (kept, as `rejected`) a
/// suggested document label, as [`review_suggestion`] does for spans; undoable like any change.
pub fn review_doc_suggestion(
    project: &mut Project,
    id: DocLabelId,
    accept: bool,
    annotator: &str,
) -> Result<DocLabel, Error> {
    project.store.write(|tx| {
        let (note, before) = tx.doc_label(id)?;
        if before.status != api::AnnotationStatus::Suggested {
            return Err(Error::Invalid(format!(
                "document label {id} is {}, not a suggestion; only suggested labels are \
                 accepted or rejected",
                before.status.as_str()
            )));
        }
        let after = if accept {
            let taken = tx
                .doc_labels_of_note(note)?
                .iter()
                .any(|d| d.id != id && d.label == before.label && d.annotator == annotator);
            if taken {
                return Err(Error::Invalid(format!(
                    "note {note} already has label {} from {annotator}; reject the suggestion \
                     instead",
                    before.label
                )));
            }
            DocLabel {
                status: api::AnnotationStatus::Gold,
                annotator: annotator.to_owned(),
                ..before.clone()
            }
        } else {
            DocLabel {
                status: api::AnnotationStatus::Rejected,
                ..before.clone()
            }
        };
        let change = Change::ReplaceDoc { before, after };
        tx.apply_change(note, &change)?;
        let (_, stored) = tx.doc_label(id)?;
        record(tx, note, annotator, &change)?;
        Ok(stored)
    })
}

/// Stores a model's suggested document label inside the caller's transaction, audited (label
/// and attributes only) and in no one's undo history. Returns `false`, adding nothing, when the
/// note already has that label from anyone in any status: gold is never shadowed, and what was
/// accepted or rejected is not suggested again.
pub(crate) fn insert_doc_suggestion(
    tx: &Tx<'_>,
    note: NoteId,
    label: &Label,
    model: &str,
) -> Result<bool, Error> {
    if !label.scope.allows_docs() {
        return Err(Error::WrongScope {
            label: label.name.clone(),
            use_: "documents",
            scope: label.scope.as_str(),
        });
    }
    if tx
        .doc_labels_of_note(note)?
        .iter()
        .any(|d| d.label == label.name)
    {
        return Ok(false);
    }
    tx.ensure_annotator(model, "model")?;
    let id = tx.insert_doc_label(
        &store::NewDocLabel {
            note,
            label: label.name.clone(),
            annotator: model.to_owned(),
            status: api::AnnotationStatus::Suggested,
            attributes: complete_attributes(label, &BTreeMap::new())?,
        },
        None,
    )?;
    let (_, doc) = tx.doc_label(id)?;
    audit_change(
        tx,
        note,
        model,
        "suggest_doc_label",
        &Change::AddDoc { doc },
    )?;
    Ok(true)
}

/// Removes a span.
pub fn remove_span(project: &mut Project, id: SpanId, annotator: &str) -> Result<(), Error> {
    project.store.write(|tx| {
        let (note, span) = tx.span(id)?;
        let change = Change::RemoveSpan { span };
        tx.apply_change(note, &change)?;
        record(tx, note, annotator, &change)
    })
}

/// Finds an annotator's span by label and exact byte fragments (for scripts that name spans).
pub fn find_span(
    project: &Project,
    note: NoteId,
    label: &str,
    fragments: &[Fragment],
    annotator: Option<&str>,
) -> Result<Option<SpanId>, Error> {
    let spans = project.store.db().spans_of_note(note)?;
    Ok(spans
        .into_iter()
        .find(|s| {
            s.label.eq_ignore_ascii_case(label)
                && s.fragments == fragments
                && annotator.is_none_or(|a| s.annotator == a)
        })
        .map(|s| s.id))
}

/// Sets a document label for this annotator, adding it or replacing its attributes.
pub fn set_doc_label(
    project: &mut Project,
    note: NoteId,
    label: &str,
    attributes: &BTreeMap<String, String>,
    annotator: &str,
) -> Result<DocLabel, Error> {
    project.store.write(|tx| {
        tx.note_status(note)?;
        let def = tx.label(label)?;
        if !def.scope.allows_docs() {
            return Err(Error::WrongScope {
                label: def.name,
                use_: "documents",
                scope: def.scope.as_str(),
            });
        }
        let attributes = complete_attributes(&def, attributes)?;
        let existing = tx
            .doc_labels_of_note(note)?
            .into_iter()
            .find(|d| d.label == def.name && d.annotator == annotator);
        match existing {
            Some(before) => {
                let after = DocLabel {
                    attributes,
                    status: api::AnnotationStatus::Gold,
                    ..before.clone()
                };
                if after == before {
                    return Ok(before);
                }
                let change = Change::ReplaceDoc {
                    before,
                    after: after.clone(),
                };
                tx.apply_change(note, &change)?;
                record(tx, note, annotator, &change)?;
                Ok(after)
            }
            None => {
                let id = tx.insert_doc_label(
                    &store::NewDocLabel {
                        note,
                        label: def.name.clone(),
                        annotator: annotator.to_owned(),
                        status: api::AnnotationStatus::Gold,
                        attributes,
                    },
                    None,
                )?;
                let (_, doc) = tx.doc_label(id)?;
                record(tx, note, annotator, &Change::AddDoc { doc: doc.clone() })?;
                Ok(doc)
            }
        }
    })
}

/// Removes this annotator's document label from a note; `false` if it had none.
pub fn remove_doc_label(
    project: &mut Project,
    note: NoteId,
    label: &str,
    annotator: &str,
) -> Result<bool, Error> {
    project.store.write(|tx| {
        let existing = tx
            .doc_labels_of_note(note)?
            .into_iter()
            .find(|d| d.label.eq_ignore_ascii_case(label) && d.annotator == annotator);
        let Some(doc) = existing else {
            return Ok(false);
        };
        let change = Change::RemoveDoc { doc };
        tx.apply_change(note, &change)?;
        record(tx, note, annotator, &change)?;
        Ok(true)
    })
}

/// Undoes this annotator's last change on the note; returns what was undone (`"add_span"`…).
pub fn undo(
    project: &mut Project,
    note: NoteId,
    annotator: &str,
) -> Result<Option<&'static str>, Error> {
    step_history(project, note, annotator, History::Undo)
}

/// Redoes the change this annotator last undid on the note; returns what was redone.
pub fn redo(
    project: &mut Project,
    note: NoteId,
    annotator: &str,
) -> Result<Option<&'static str>, Error> {
    step_history(project, note, annotator, History::Redo)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum History {
    Undo,
    Redo,
}

/// One step back or forward in the note's history, audited, in one transaction.
fn step_history(
    project: &mut Project,
    note: NoteId,
    annotator: &str,
    direction: History,
) -> Result<Option<&'static str>, Error> {
    project.store.write(|tx| {
        let Some(who) = tx.annotator_id(annotator)? else {
            return Ok(None);
        };
        let entry = match direction {
            History::Undo => tx.last_undoable(note, who)?,
            History::Redo => tx.next_redoable(note, who)?,
        };
        let Some(entry) = entry else {
            return Ok(None);
        };
        let (change, what) = match direction {
            History::Undo => (entry.forward.inverse(), "undo"),
            History::Redo => (entry.forward.clone(), "redo"),
        };
        tx.apply_change(note, &change).map_err(|e| stale(e, what))?;
        tx.mark_undone(entry.id, direction == History::Undo)?;
        audit_change(tx, note, annotator, what, &entry.forward)?;
        Ok(Some(entry.forward.action()))
    })
}

/// Sets a note's workflow status (todo, in progress, done, skipped).
pub fn set_status(
    project: &mut Project,
    note: NoteId,
    status: NoteStatus,
    annotator: &str,
) -> Result<(), Error> {
    project.store.write(|tx| {
        let before = tx.set_note_status(note, status)?;
        tx.audit(
            annotator,
            "set_status",
            "note",
            Some(note.0),
            Some(note),
            &serde_json::json!({ "from": before.as_str(), "to": status.as_str() }),
        )
    })?;
    Ok(())
}

fn stale(e: store::Error, what: &str) -> Error {
    match e {
        store::Error::NotFound { .. } | store::Error::Conflict(_) => Error::Invalid(format!(
            "cannot {what}: the annotation was changed since (by another annotator or an import)"
        )),
        other => Error::Store(other),
    }
}

/// Records a change in the undo history and the audit log, and moves a `todo` note along.
fn record(tx: &Tx<'_>, note: NoteId, annotator: &str, change: &Change) -> Result<(), Error> {
    let who = tx.ensure_annotator(annotator, "human")?;
    tx.push_history(note, who, change)?;
    audit_change(tx, note, annotator, change.action(), change)?;
    if tx.note_status(note)? == NoteStatus::Todo {
        tx.set_note_status(note, NoteStatus::InProgress)?;
    }
    Ok(())
}

fn audit_change(
    tx: &Tx<'_>,
    note: NoteId,
    annotator: &str,
    action: &str,
    change: &Change,
) -> Result<(), Error> {
    // Ids, labels and offsets only: never the covered text.
    let (entity, id, detail) = match change {
        Change::AddSpan { span }
        | Change::RemoveSpan { span }
        | Change::ReplaceSpan { after: span, .. } => (
            "span",
            span.id.0,
            serde_json::json!({
                "label": span.label,
                "fragments": span.fragments.iter().map(|f| [f.start, f.end]).collect::<Vec<_>>(),
                "attributes": span.attributes,
                "change": change.action(),
            }),
        ),
        Change::AddDoc { doc }
        | Change::RemoveDoc { doc }
        | Change::ReplaceDoc { after: doc, .. } => (
            "doc_label",
            doc.id.0,
            serde_json::json!({ "label": doc.label, "attributes": doc.attributes, "change": change.action() }),
        ),
    };
    Ok(tx.audit(annotator, action, entity, Some(id), Some(note), &detail)?)
}

type Checked = (Vec<Fragment>, BTreeMap<String, String>);

fn validate_span(tx: &Tx<'_>, request: &SpanRequest) -> Result<Checked, Error> {
    let text = tx.note_text(request.note)?;
    let label = tx.label(&request.label)?;
    if !label.scope.allows_spans() {
        return Err(Error::WrongScope {
            label: label.name,
            use_: "spans",
            scope: label.scope.as_str(),
        });
    }
    let fragments = check_fragments(request.note, &text, &request.fragments)?;
    let attributes = complete_attributes(&label, &request.attributes)?;
    Ok((fragments, attributes))
}

/// Fragments must be non-empty, inside the text, on char boundaries and not overlapping.
pub(crate) fn check_fragments(
    note: NoteId,
    text: &str,
    fragments: &[Fragment],
) -> Result<Vec<Fragment>, Error> {
    if fragments.is_empty() {
        return Err(Error::Invalid(
            "a span needs at least one fragment".to_owned(),
        ));
    }
    let mut sorted = fragments.to_vec();
    sorted.sort_by_key(|f| (f.start, f.end));
    for f in &sorted {
        if f.start >= f.end || f.end > text.len() {
            return Err(Error::OutOfRange {
                note,
                start: f.start,
                end: f.end,
                len: text.len(),
            });
        }
        for offset in [f.start, f.end] {
            if !text.is_char_boundary(offset) {
                return Err(Error::NotOnCharBoundary { note, offset });
            }
        }
    }
    if sorted
        .windows(2)
        .any(|w| matches!(w, [a, b] if b.start < a.end))
    {
        return Err(Error::Invalid(
            "the fragments of a span must not overlap".to_owned(),
        ));
    }
    Ok(sorted)
}

/// Checks attributes against the label's definitions and fills in defaults: first what a chosen
/// value implies (`type = undomiciled` → `adverse = true`), then each attribute's own default.
pub(crate) fn complete_attributes(
    label: &Label,
    given: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, Error> {
    if label.attributes.is_empty() {
        // Labels created by an import carry whatever their source had.
        return Ok(given.clone());
    }
    let mut out = given.clone();
    for (name, value) in given {
        let Some(def) = label.attributes.iter().find(|a| &a.name == name) else {
            let known: Vec<&str> = label.attributes.iter().map(|a| a.name.as_str()).collect();
            return Err(Error::BadAttribute(format!(
                "label {} has no attribute {name:?}; it has: {}",
                label.name,
                known.join(", ")
            )));
        };
        match def.kind {
            AttributeKind::Flag if value != "true" && value != "false" => {
                return Err(Error::BadAttribute(format!(
                    "attribute {name} of {} is a flag: true or false, not {value:?}",
                    label.name
                )));
            }
            AttributeKind::Choice => {
                let Some(chosen) = def.values.iter().find(|v| &v.name == value) else {
                    let allowed: Vec<&str> = def.values.iter().map(|v| v.name.as_str()).collect();
                    return Err(Error::BadAttribute(format!(
                        "{value:?} is not a value of {} {name}; choose one of: {}",
                        label.name,
                        allowed.join(", ")
                    )));
                };
                for (k, v) in &chosen.defaults {
                    out.entry(k.clone()).or_insert_with(|| v.clone());
                }
            }
            AttributeKind::Flag => {}
        }
    }
    for def in &label.attributes {
        if let Some(default) = &def.default {
            out.entry(def.name.clone())
                .or_insert_with(|| default.clone());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
