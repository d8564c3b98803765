//! Span and document annotations: insert, read, delete, and the annotator registry.

use std::collections::BTreeMap;

use api::{AnnotationStatus, DocLabel, DocLabelId, Fragment, NoteId, Span, SpanId};
use rusqlite::{OptionalExtension, params};

use crate::db::{Db, Tx};
use crate::error::{Error, Result, json_column, known};

/// A span about to be stored. Offsets are UTF-8 byte offsets already checked by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSpan {
    /// The note.
    pub note: NoteId,
    /// Label name.
    pub label: String,
    /// Annotator name (created on first use).
    pub annotator: String,
    /// Gold, suggested or rejected.
    pub status: AnnotationStatus,
    /// Fragments in text order, non-empty.
    pub fragments: Vec<Fragment>,
    /// Attribute values by name.
    pub attributes: BTreeMap<String, String>,
    /// Free-text comment.
    pub comment: Option<String>,
    /// Id in the source file (brat `T3`), kept so exports reuse it.
    pub source_ref: Option<String>,
}

/// The stored fields of a span whose note, label and annotator are resolved to ids.
pub(crate) struct SpanRow<'a> {
    pub status: AnnotationStatus,
    pub fragments: &'a [Fragment],
    pub attributes: &'a BTreeMap<String, String>,
    pub comment: Option<&'a str>,
    pub source_ref: Option<&'a str>,
}

/// A document label about to be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDocLabel {
    /// The note.
    pub note: NoteId,
    /// Label name.
    pub label: String,
    /// Annotator name (created on first use).
    pub annotator: String,
    /// Gold, suggested or rejected.
    pub status: AnnotationStatus,
    /// Attribute values by name.
    pub attributes: BTreeMap<String, String>,
}

fn fragments_json(fragments: &[Fragment]) -> String {
    let pairs: Vec<[usize; 2]> = fragments.iter().map(|f| [f.start, f.end]).collect();
    serde_json::to_string(&pairs).unwrap_or_else(|_| "[]".to_owned())
}

fn attributes_json(attributes: &BTreeMap<String, String>) -> String {
    serde_json::to_string(attributes).unwrap_or_else(|_| "{}".to_owned())
}

fn parse_fragments(id: i64, json: &str) -> rusqlite::Result<Vec<Fragment>> {
    let pairs: Vec<[usize; 2]> = json_column("span_annotations", id, "fragments", json)?;
    Ok(pairs
        .into_iter()
        .map(|[start, end]| Fragment { start, end })
        .collect())
}

impl Tx<'_> {
    /// Returns the annotator's id, registering the name on first use.
    pub fn ensure_annotator(&self, name: &str, kind: &str) -> Result<i64> {
        if let Some(id) = self.annotator_id(name)? {
            return Ok(id);
        }
        self.conn()
            .prepare_cached("INSERT INTO annotators (name, kind) VALUES (?1, ?2)")
            .and_then(|mut s| s.execute(params![name, kind]))
            .map_err(Error::sql("adding an annotator"))?;
        Ok(self.conn().last_insert_rowid())
    }

    /// Stores a span, under `id` when given (redo restores a deleted span under its old id).
    pub fn insert_span(&self, span: &NewSpan, id: Option<SpanId>) -> Result<SpanId> {
        let label = self.label_id(&span.label)?;
        let annotator = self.ensure_annotator(&span.annotator, "human")?;
        let row = SpanRow {
            status: span.status,
            fragments: &span.fragments,
            attributes: &span.attributes,
            comment: span.comment.as_deref(),
            source_ref: span.source_ref.as_deref(),
        };
        self.insert_span_row(span.note, label, annotator, &row, id)
    }

    /// Stores a span whose label and annotator ids are already known (bulk import).
    pub(crate) fn insert_span_row(
        &self,
        note: NoteId,
        label: i64,
        annotator: i64,
        span: &SpanRow<'_>,
        id: Option<SpanId>,
    ) -> Result<SpanId> {
        let (Some(first), Some(last)) = (span.fragments.first(), span.fragments.last()) else {
            return Err(Error::Invalid(
                "a span needs at least one fragment".to_owned(),
            ));
        };
        self.conn()
            .prepare_cached(
                "INSERT INTO span_annotations (id, note_id, label_id, annotator_id, status,
                     start_byte, end_byte, fragments, comment, source_ref, attributes)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    id.map(|i| i.0),
                    note.0,
                    label,
                    annotator,
                    span.status.as_str(),
                    first.start as i64,
                    last.end as i64,
                    fragments_json(span.fragments),
                    span.comment,
                    span.source_ref,
                    attributes_json(span.attributes),
                ])
            })
            .map_err(Error::sql("saving a span"))?;
        Ok(SpanId(self.conn().last_insert_rowid()))
    }

    /// Deletes a span (its attributes go with it).
    pub fn delete_span(&self, id: SpanId) -> Result<()> {
        let n = self
            .conn()
            .prepare_cached("DELETE FROM span_annotations WHERE id = ?1")
            .and_then(|mut s| s.execute([id.0]))
            .map_err(Error::sql("deleting a span"))?;
        if n == 0 {
            return Err(Error::NotFound {
                what: "span",
                id: id.to_string(),
            });
        }
        Ok(())
    }

    /// Stores a document label, under `id` when given.
    pub fn insert_doc_label(
        &self,
        doc: &NewDocLabel,
        id: Option<DocLabelId>,
    ) -> Result<DocLabelId> {
        let label = self.label_id(&doc.label)?;
        let annotator = self.ensure_annotator(&doc.annotator, "human")?;
        self.insert_doc_row(doc.note, label, annotator, doc.status, &doc.attributes, id)
            .map_err(|e| match e {
                Error::Conflict(_) => Error::Conflict(format!(
                    "note {} already has label {} from {}",
                    doc.note, doc.label, doc.annotator
                )),
                e => e,
            })
    }

    /// Stores a document label whose label and annotator ids are already known (bulk import).
    pub(crate) fn insert_doc_row(
        &self,
        note: NoteId,
        label: i64,
        annotator: i64,
        status: AnnotationStatus,
        attributes: &BTreeMap<String, String>,
        id: Option<DocLabelId>,
    ) -> Result<DocLabelId> {
        self.conn()
            .prepare_cached(
                "INSERT INTO doc_annotations (id, note_id, label_id, annotator_id, status, attributes)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    id.map(|i| i.0),
                    note.0,
                    label,
                    annotator,
                    status.as_str(),
                    attributes_json(attributes),
                ])
            })
            .map_err(|e| match e {
                rusqlite::Error::SqliteFailure(f, _)
                    if f.code == rusqlite::ErrorCode::ConstraintViolation =>
                {
                    Error::Conflict(format!(
                        "note {note} already has this label from this annotator"
                    ))
                }
                e => Error::Sqlite {
                    context: "saving a document label",
                    source: e,
                },
            })?;
        Ok(DocLabelId(self.conn().last_insert_rowid()))
    }

    /// Deletes a document label.
    pub fn delete_doc_label(&self, id: DocLabelId) -> Result<()> {
        let n = self
            .conn()
            .prepare_cached("DELETE FROM doc_annotations WHERE id = ?1")
            .and_then(|mut s| s.execute([id.0]))
            .map_err(Error::sql("deleting a document label"))?;
        if n == 0 {
            return Err(Error::NotFound {
                what: "document label",
                id: id.to_string(),
            });
        }
        Ok(())
    }

    /// Whether the annotator already has this document label on the note, in any status
    /// (an import adding to a note it already holds skips it).
    pub(crate) fn has_doc_label(&self, note: NoteId, label: i64, annotator: i64) -> Result<bool> {
        self.conn()
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM doc_annotations
                                WHERE note_id = ?1 AND label_id = ?2 AND annotator_id = ?3)",
            )
            .and_then(|mut s| s.query_row(params![note.0, label, annotator], |r| r.get(0)))
            .map_err(Error::sql("reading document labels"))
    }

    /// Whether the annotator already has a span with this label and these fragments on the
    /// note, in any status (an import adding to a note it already holds skips it).
    pub(crate) fn has_span(
        &self,
        note: NoteId,
        label: i64,
        annotator: i64,
        fragments: &[Fragment],
    ) -> Result<bool> {
        self.conn()
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM span_annotations
                                WHERE note_id = ?1 AND label_id = ?2 AND annotator_id = ?3
                                  AND fragments = ?4)",
            )
            .and_then(|mut s| {
                s.query_row(
                    params![note.0, label, annotator, fragments_json(fragments)],
                    |r| r.get(0),
                )
            })
            .map_err(Error::sql("reading spans"))
    }

    /// Keeps a brat line that has no Clinitune counterpart (relation, event, normalisation).
    pub fn insert_standoff_extra(&self, note: NoteId, kind: &str, line: &str) -> Result<()> {
        self.conn()
            .prepare_cached("INSERT INTO standoff_extras (note_id, kind, line) VALUES (?1, ?2, ?3)")
            .and_then(|mut s| s.execute(params![note.0, kind, line]))
            .map_err(Error::sql("keeping a standoff line"))?;
        Ok(())
    }
}

impl Db<'_> {
    /// Names of the people and models that have annotated in this project, alphabetically.
    pub fn annotator_names(&self) -> Result<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT name FROM annotators ORDER BY name")
            .map_err(Error::sql("listing annotators"))?;
        let names = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(Error::sql("listing annotators"))?;
        Ok(names)
    }

    /// The id of an annotator, if the name is known.
    pub fn annotator_id(&self, name: &str) -> Result<Option<i64>> {
        self.conn
            .prepare_cached("SELECT id FROM annotators WHERE name = ?1")
            .and_then(|mut s| s.query_row([name], |r| r.get(0)).optional())
            .map_err(Error::sql("looking up an annotator"))
    }

    /// One span.
    pub fn span(&self, id: SpanId) -> Result<(NoteId, Span)> {
        self.spans_where("s.id = ?1", id.0)?
            .pop()
            .ok_or_else(|| Error::NotFound {
                what: "span",
                id: id.to_string(),
            })
    }

    /// A note's spans in text order.
    pub fn spans_of_note(&self, note: NoteId) -> Result<Vec<Span>> {
        Ok(self
            .spans_where("s.note_id = ?1", note.0)?
            .into_iter()
            .map(|(_, s)| s)
            .collect())
    }

    fn spans_where(&self, condition: &str, value: i64) -> Result<Vec<(NoteId, Span)>> {
        let sql = format!(
            "SELECT s.id, s.note_id, l.name, a.name, s.status, s.fragments, s.comment,
s.attributes
             FROM span_annotations s
             JOIN labels l ON l.id = s.label_id
             JOIN annotators a ON a.id = s.annotator_id
             WHERE {condition}
             ORDER BY s.start_byte, s.end_byte, s.id"
        );
        let mut stmt = self
            .conn
            .prepare_cached(&sql)
            .map_err(Error::sql("reading spans"))?;
        let rows = stmt
            .query_map([value], |r| {
                let id: i64 = r.get(0)?;
                let table = "span_annotations";
                Ok((
                    NoteId(r.get(1)?),
                    Span {
                        id: SpanId(id),
                        label: r.get(2)?,
                        annotator: r.get(3)?,
                        status: known(table, id, "status", &r.get::<_, String>(4)?, |s| {
                            AnnotationStatus::parse(s)
                        })?,
                        fragments: parse_fragments(id, &r.get::<_, String>(5)?)?,
                        comment: r.get(6)?,
                        attributes: json_column(table, id, "attributes", &r.get::<_, String>(7)?)?,
                    },
                ))
            })
            .map_err(Error::sql("reading spans"))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(Error::sql("reading spans"))
    }

    /// One document label.
    pub fn doc_label(&self, id: DocLabelId) -> Result<(NoteId, DocLabel)> {
        self.doc_labels_where("d.id = ?1", id.0)?
            .pop()
            .ok_or_else(|| Error::NotFound {
                what: "document label",
                id: id.to_string(),
            })
    }

    /// A note's document labels in label order.
    pub fn doc_labels_of_note(&self, note: NoteId) -> Result<Vec<DocLabel>> {
        Ok(self
            .doc_labels_where("d.note_id = ?1", note.0)?
            .into_iter()
            .map(|(_, d)| d)
            .collect())
    }

    fn doc_labels_where(&self, condition: &str, value: i64) -> Result<Vec<(NoteId, DocLabel)>> {
        let sql = format!(
            "SELECT d.id, d.note_id, l.name, a.name, d.status,
d.attributes
             FROM doc_annotations d
             JOIN labels l ON l.id = d.label_id
             JOIN annotators a ON a.id = d.annotator_id
             WHERE {condition}
             ORDER BY l.position, l.id, d.id"
        );
        let mut stmt = self
            .conn
            .prepare_cached(&sql)
            .map_err(Error::sql("reading labels"))?;
        let rows = stmt
            .query_map([value], |r| {
                let id: i64 = r.get(0)?;
                let table = "doc_annotations";
                Ok((
                    NoteId(r.get(1)?),
                    DocLabel {
                        id: DocLabelId(id),
                        label: r.get(2)?,
                        annotator: r.get(3)?,
                        status: known(table, id, "status", &r.get::<_, String>(4)?, |s| {
                            AnnotationStatus::parse(s)
                        })?,
                        attributes: json_column(table, id, "attributes", &r.get::<_, String>(5)?)?,
                    },
                ))
            })
            .map_err(Error::sql("reading labels"))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(Error::sql("reading labels"))
    }

    /// Notes where this annotator has a span or document label of this status, in id order
    /// (agreement compares only the notes two annotators both worked on, without a pass over
    /// every note).
    pub fn notes_annotated_by(
        &self,
        annotator: &str,
        status: AnnotationStatus,
    ) -> Result<Vec<NoteId>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT s.note_id FROM span_annotations s
                 JOIN annotators a ON a.id = s.annotator_id
                 WHERE a.name = ?1 AND s.status = ?2
                 UNION
                 SELECT d.note_id FROM doc_annotations d
                 JOIN annotators a ON a.id = d.annotator_id
                 WHERE a.name = ?1 AND d.status = ?2
                 ORDER BY 1",
            )
            .map_err(Error::sql("listing annotated notes"))?;
        let ids = stmt
            .query_map(params![annotator, status.as_str()], |r| {
                r.get(0).map(NoteId)
            })
            .map_err(Error::sql("listing annotated notes"))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(Error::sql("listing annotated notes"))?;
        Ok(ids)
    }

    /// Source-file ids (brat `T3`) of a note's spans that came from a file with one.
    pub fn span_source_refs(
        &self,
        note: NoteId,
    ) -> Result<std::collections::HashMap<SpanId, String>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, source_ref FROM span_annotations
                 WHERE note_id = ?1 AND source_ref IS NOT NULL",
            )
            .map_err(Error::sql("reading spans"))?;
        let refs = stmt
            .query_map([note.0], |r| Ok((SpanId(r.get(0)?), r.get(1)?)))
            .map_err(Error::sql("reading spans"))?
            .collect::<Result<_, _>>()
            .map_err(Error::sql("reading spans"))?;
        Ok(refs)
    }

    /// The brat lines kept verbatim for a note.
    pub fn standoff_extras(&self, note: NoteId) -> Result<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT line FROM standoff_extras WHERE note_id = ?1 ORDER BY id")
            .map_err(Error::sql("reading standoff lines"))?;
        let lines = stmt
            .query_map([note.0], |r| r.get(0))
            .map_err(Error::sql("reading standoff lines"))?
            .collect::<Result<Vec<String>, _>>()
            .map_err(Error::sql("reading standoff lines"))?;
        Ok(lines)
    }

    /// Number of audit entries about a note (tests and the UI's history panel).
    pub fn audit_count(&self, note: NoteId) -> Result<u64> {
        self.conn
            .prepare_cached("SELECT count(*) FROM audit_log WHERE note_id = ?1")
            .and_then(|mut s| s.query_row([note.0], |r| r.get::<_, i64>(0)))
            .map(|n| u64::try_from(n).unwrap_or(0))
            .map_err(Error::sql("reading the audit log"))
    }
}
