//! Undo history: every annotation change is stored with its inverse, per note and annotator.

use api::{DocLabel, NoteId, Span};
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::annotations::{NewDocLabel, NewSpan};
use crate::db::Tx;
use crate::error::{Error, Result};

/// One reversible change to a note's annotations, with full snapshots so it can be replayed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Change {
    /// A span was added.
    AddSpan {
        /// The span as stored.
        span: Span,
    },
    /// A span was removed.
    RemoveSpan {
        /// The span as it was.
        span: Span,
    },
    /// A span was replaced (label, offsets or attributes changed; same id).
    ReplaceSpan {
        /// Before.
        before: Span,
        /// After.
        after: Span,
    },
    /// A document label was added.
    AddDoc {
        /// The label as stored.
        doc: DocLabel,
    },
    /// A document label was removed.
    RemoveDoc {
        /// The label as it was.
        doc: DocLabel,
    },
    /// A document label's attributes or status changed.
    ReplaceDoc {
        /// Before.
        before: DocLabel,
        /// After.
        after: DocLabel,
    },
}

impl Change {
    /// The change that undoes this one.
    pub fn inverse(&self) -> Change {
        match self.clone() {
            Change::AddSpan { span } => Change::RemoveSpan { span },
            Change::RemoveSpan { span } => Change::AddSpan { span },
            Change::ReplaceSpan { before, after } => Change::ReplaceSpan {
                before: after,
                after: before,
            },
            Change::AddDoc { doc } => Change::RemoveDoc { doc },
            Change::RemoveDoc { doc } => Change::AddDoc { doc },
            Change::ReplaceDoc { before, after } => Change::ReplaceDoc {
                before: after,
                after: before,
            },
        }
    }

    /// A short name for the audit log.
    pub fn action(&self) -> &'static str {
        match self {
            Change::AddSpan { .. } => "add_span",
            Change::RemoveSpan { .. } => "remove_span",
            Change::ReplaceSpan { .. } => "update_span",
            Change::AddDoc { .. } => "add_doc_label",
            Change::RemoveDoc { .. } => "remove_doc_label",
            Change::ReplaceDoc { .. } => "update_doc_label",
        }
    }
}

/// A history row: the change as made and whether it is currently undone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    /// Row id.
    pub id: i64,
    /// The change as originally made.
    pub forward: Change,
}

fn span_row(note: NoteId, span: &Span) -> NewSpan {
    NewSpan {
        note,
        label: span.label.clone(),
        annotator: span.annotator.clone(),
        status: span.status,
        fragments: span.fragments.clone(),
        attributes: span.attributes.clone(),
        comment: span.comment.clone(),
        source_ref: None,
    }
}

fn doc_row(note: NoteId, doc: &DocLabel) -> NewDocLabel {
    NewDocLabel {
        note,
        label: doc.label.clone(),
        annotator: doc.annotator.clone(),
        status: doc.status,
        attributes: doc.attributes.clone(),
    }
}

impl Tx<'_> {
    /// Applies a change to the note's annotations (ids are kept, so replays are exact).
    pub fn apply_change(&self, note: NoteId, change: &Change) -> Result<()> {
        match change {
            Change::AddSpan { span } => {
                self.insert_span(&span_row(note, span), Some(span.id))?;
            }
            Change::RemoveSpan { span } => self.delete_span(span.id)?,
            Change::ReplaceSpan { before, after } => {
                let source_ref: Option<String> = self
                    .conn()
                    .query_row(
                        "SELECT source_ref FROM span_annotations WHERE id = ?1",
                        [before.id.0],
                        |r| r.get(0),
                    )
                    .optional()
                    .map_err(Error::sql("reading a span"))?
                    .flatten();
                self.delete_span(before.id)?;
                let mut row = span_row(note, after);
                row.source_ref = source_ref;
                self.insert_span(&row, Some(after.id))?;
            }
            Change::AddDoc { doc } => {
                self.insert_doc_label(&doc_row(note, doc), Some(doc.id))?;
            }
            Change::RemoveDoc { doc } => self.delete_doc_label(doc.id)?,
            Change::ReplaceDoc { before, after } => {
                self.delete_doc_label(before.id)?;
                self.insert_doc_label(&doc_row(note, after), Some(after.id))?;
            }
        }
        Ok(())
    }

    /// Records a change just made; clears what could have been redone (a new branch of edits).
    pub fn push_history(&self, note: NoteId, annotator: i64, change: &Change) -> Result<()> {
        // A change that cannot be written as JSON is an error, never an empty undo entry.
        let json = |c: &Change| {
            serde_json::to_string(c)
                .map_err(|e| Error::Invalid(format!("cannot record the change for undo: {e}")))
        };
        let (forward, backward) = (json(change)?, json(&change.inverse())?);
        self.conn()
            .prepare_cached(
                "DELETE FROM annotation_history
                 WHERE note_id = ?1 AND annotator_id = ?2 AND undone = 1",
            )
            .and_then(|mut s| s.execute(params![note.0, annotator]))
            .map_err(Error::sql("trimming undo history"))?;
        self.conn()
            .prepare_cached(
                "INSERT INTO annotation_history (note_id, annotator_id, forward, backward)
                 VALUES (?1, ?2, ?3, ?4)",
            )
            .and_then(|mut s| s.execute(params![note.0, annotator, forward, backward]))
            .map_err(Error::sql("recording undo history"))?;
        Ok(())
    }

    /// The most recent change that can be undone, if any.
    pub fn last_undoable(&self, note: NoteId, annotator: i64) -> Result<Option<HistoryEntry>> {
        self.history_entry(
            "SELECT id, forward FROM annotation_history
             WHERE note_id = ?1 AND annotator_id = ?2 AND undone = 0 ORDER BY id DESC LIMIT 1",
            note,
            annotator,
        )
    }

    /// The oldest undone change, which redo applies next, if any.
    pub fn next_redoable(&self, note: NoteId, annotator: i64) -> Result<Option<HistoryEntry>> {
        self.history_entry(
            "SELECT id, forward FROM annotation_history
             WHERE note_id = ?1 AND annotator_id = ?2 AND undone = 1 ORDER BY id ASC LIMIT 1",
            note,
            annotator,
        )
    }

    fn history_entry(
        &self,
        sql: &str,
        note: NoteId,
        annotator: i64,
    ) -> Result<Option<HistoryEntry>> {
        let row: Option<(i64, String)> = self
            .conn()
            .prepare_cached(sql)
            .and_then(|mut s| {
                s.query_row(params![note.0, annotator], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()
            })
            .map_err(Error::sql("reading undo history"))?;
        row.map(|(id, json)| {
            serde_json::from_str(&json)
                .map(|forward| HistoryEntry { id, forward })
                .map_err(|e| Error::Invalid(format!("undo history entry {id} is unreadable: {e}")))
        })
        .transpose()
    }

    /// Marks a history row undone or redone.
    pub fn mark_undone(&self, entry: i64, undone: bool) -> Result<()> {
        self.conn()
            .prepare_cached("UPDATE annotation_history SET undone = ?2 WHERE id = ?1")
            .and_then(|mut s| s.execute(params![entry, undone]))
            .map_err(Error::sql("updating undo history"))?;
        Ok(())
    }
}
