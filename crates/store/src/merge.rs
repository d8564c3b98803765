//! Team projects: bringing another project file's work into this one.
//!
//! The other file is opened read-only and never changed. Its notes are matched to ours by
//! content hash (source id and text, as imports de-duplicate them); labels, annotators and
//! prompt task versions by name; every other row by a natural key of what it says (a span's
//! note, label, annotator and fragments; an output's run, note, sample and text; a pair's hash
//! of its texts), never by row id. A row already here is never overwritten, so merging twice
//! adds nothing the second time. Everything happens in one transaction: all or nothing.

mod review;
mod rows;

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use api::{
    AttributeDef, LabelConflict, LabelScope, MergeSummary, NoteId, NoteStatus, UnmatchedNote,
};
use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use crate::db::{Store, Tx, schema_version};
use crate::error::{Error, Result};
use review::{merge_datasets, merge_outputs, merge_reviews, merge_tasks};
use rows::{Source, int, text};

impl Store {
    /// Merges the project at `other` into this one (see the module documentation), recording
    /// one audit entry by `actor` when anything was added.
    ///
    /// Refuses this project itself, a file that is not a project, and a project whose schema
    /// is newer or older than this build's.
    pub fn merge_from(&mut self, other: &Path, actor: &str) -> Result<MergeSummary> {
        let same = match (
            std::fs::canonicalize(other),
            std::fs::canonicalize(self.path()),
        ) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        };
        if same {
            return Err(Error::Invalid(format!(
                "{} is the open project itself; a project cannot be merged into itself",
                other.display()
            )));
        }
        let source = open_read_only(other)?;
        let source = Source::new(&source);
        let name = other.display().to_string();
        self.write(|tx| {
            let summary = merge(tx, &source, name)?;
            if changed(&summary) {
                tx.audit(
                    actor,
                    "merge_project",
                    "project",
                    None,
                    None,
                    &audit_detail(&summary),
                )?;
            }
            Ok(summary)
        })
    }
}

/// Opens a project file for reading only, checking it is a project of this schema version.
fn open_read_only(path: &Path) -> Result<Connection> {
    if !path.is_file() {
        return Err(Error::NoProject {
            path: path.to_owned(),
        });
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|source| Error::Open {
        path: path.to_owned(),
        source,
    })?;
    let not_a_project = |_| Error::NotAProject {
        path: path.to_owned(),
    };
    let app_id: i64 = conn
        .pragma_query_value(None, "application_id", |r| r.get(0))
        .map_err(not_a_project)?;
    if app_id != crate::db::APPLICATION_ID {
        return Err(Error::NotAProject {
            path: path.to_owned(),
        });
    }
    let found: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(not_a_project)?;
    let supported = schema_version();
    if found > supported {
        return Err(Error::NewerSchema {
            path: path.to_owned(),
            found,
            supported,
        });
    }
    if found < supported {
        return Err(Error::OlderSchema {
            path: path.to_owned(),
            found,
            supported,
        });
    }
    Ok(conn)
}

fn changed(s: &MergeSummary) -> bool {
    s.annotators_added
        + s.labels_added.len() as u64
        + s.tasks_added
        + s.annotations_added
        + s.statuses_updated
        + s.outputs_added
        + s.reviews_added
        + s.pairs_added
        + s.sft_added
        > 0
}

/// The audit entry: counts only (the file name, never note text).
fn audit_detail(s: &MergeSummary) -> serde_json::Value {
    serde_json::json!({
        "other": s.other,
        "notes_matched": s.notes_matched,
        "notes_not_matched": s.notes_not_matched,
        "annotators_added": s.annotators_added,
        "labels_added": s.labels_added.len(),
        "label_conflicts": s.label_conflicts.len(),
        "tasks_added": s.tasks_added,
        "spans_added": s.spans_added,
        "doc_labels_added": s.doc_labels_added,
        "statuses_updated": s.statuses_updated,
        "outputs_added": s.outputs_added,
        "reviews_added": s.reviews_added,
        "pairs_added": s.pairs_added,
        "sft_added": s.sft_added,
    })
}

/// The other project's ids mapped to ours, filled as the merge goes.
#[derive(Default)]
struct Ids {
    notes: HashMap<i64, NoteId>,
    /// Labels we can take annotations for, with our scope.
    labels: HashMap<i64, (i64, LabelScope)>,
    /// The other project's annotators: name and kind, and our id once used.
    annotator_names: HashMap<i64, (String, String)>,
    annotators: HashMap<i64, i64>,
    tasks: HashMap<i64, i64>,
    outputs: HashMap<i64, i64>,
    edits: HashMap<i64, i64>,
    rankings: HashMap<i64, i64>,
}

impl Ids {
    /// Our id for the other project's annotator, registering the name on first use.
    fn annotator(&mut self, tx: &Tx<'_>, theirs: i64, s: &mut MergeSummary) -> Result<i64> {
        if let Some(&id) = self.annotators.get(&theirs) {
            return Ok(id);
        }
        let (name, kind) = self.annotator_names.get(&theirs).ok_or_else(|| {
            Error::Invalid(format!(
                "the other project refers to annotator {theirs}, which it does not have"
            ))
        })?;
        let id = match tx.annotator_id(name)? {
            Some(id) => id,
            None => {
                s.annotators_added += 1;
                tx.ensure_annotator(name, kind)?
            }
        };
        self.annotators.insert(theirs, id);
        Ok(id)
    }

    fn optional_annotator(
        &mut self,
        tx: &Tx<'_>,
        theirs: &Value,
        s: &mut MergeSummary,
    ) -> Result<Value> {
        Ok(match int(theirs) {
            Some(a) => Value::Integer(self.annotator(tx, a, s)?),
            None => Value::Null,
        })
    }
}

fn merge(tx: &Tx<'_>, src: &Source<'_>, other: String) -> Result<MergeSummary> {
    let mut s = MergeSummary {
        other,
        ..MergeSummary::default()
    };
    let mut ids = Ids::default();
    for row in src.rows("annotators", &["id", "name", "kind"])? {
        if let (Some(id), Some(name), Some(kind)) = (int(&row[0]), text(&row[1]), text(&row[2])) {
            ids.annotator_names
                .insert(id, (name.to_owned(), kind.to_owned()));
        }
    }
    merge_labels(tx, src, &mut ids, &mut s)?;
    match_notes(tx, src, &mut ids, &mut s)?;
    merge_tasks(tx, src, &mut ids, &mut s)?;
    merge_outputs(tx, src, &mut ids, &mut s)?;
    merge_reviews(tx, src, &mut ids, &mut s)?;
    merge_annotations(tx, src, &mut ids, &mut s)?;
    merge_datasets(tx, src, &mut ids, &mut s)?;
    s.annotations_added = s.spans_added + s.doc_labels_added;
    tracing::info!(
        notes_matched = s.notes_matched,
        notes_not_matched = s.notes_not_matched,
        annotations = s.annotations_added,
        outputs = s.outputs_added,
        pairs = s.pairs_added,
        "merged a project"
    );
    Ok(s)
}

/// Maps the other project's labels to ours by name; adds those we lack (with their schema),
/// and reports those defined differently.
fn merge_labels(tx: &Tx<'_>, src: &Source<'_>, ids: &mut Ids, s: &mut MergeSummary) -> Result<()> {
    let schemas: HashMap<i64, Vec<Value>> = src
        .rows(
            "label_schemas",
            &[
                "id",
                "name",
                "version",
                "description",
                "source",
                "definition",
            ],
        )?
        .into_iter()
        .filter_map(|r| int(&r[0]).map(|id| (id, r)))
        .collect();
    let columns = [
        "id",
        "schema_id",
        "name",
        "display",
        "scope",
        "color",
        "hotkey",
        "description",
        "attributes",
    ];
    for row in src.rows("labels ORDER BY schema_id, position", &columns)? {
        let (Some(theirs), Some(name), Some(scope)) = (int(&row[0]), text(&row[2]), text(&row[4]))
        else {
            continue;
        };
        let their_scope =
            LabelScope::parse(scope).ok_or_else(|| unreadable("labels", theirs, "scope", scope))?;
        let their_attributes = attributes(text(&row[8]).unwrap_or("[]"))
            .map_err(|e| unreadable("labels", theirs, "attributes", &e))?;
        let ours: Option<(i64, String, String)> = tx
            .conn()
            .prepare_cached("SELECT id, scope, attributes FROM labels WHERE name = ?1")
            .and_then(|mut st| {
                st.query_row([name], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                    .optional()
            })
            .map_err(Error::sql("reading labels"))?;
        match ours {
            Some((id, scope, attrs)) => {
                let our_attributes = attributes(&attrs).map_err(|e| {
                    Error::Invalid(format!("label {name} has unreadable attributes here ({e})"))
                })?;
                let our_scope = LabelScope::parse(&scope).ok_or_else(|| {
                    Error::Invalid(format!("label {name} has an unknown scope here: {scope}"))
                })?;
                match label_conflict(our_scope, their_scope, &our_attributes, &their_attributes) {
                    Some(reason) => s.label_conflicts.push(LabelConflict {
                        label: name.to_owned(),
                        reason,
                    }),
                    None => {
                        ids.labels.insert(theirs, (id, our_scope));
                    }
                }
            }
            None => {
                let schema = int(&row[1]).and_then(|id| schemas.get(&id));
                let id = add_label(tx, schema, &row)?;
                s.labels_added.push(name.to_owned());
                ids.labels.insert(theirs, (id, their_scope));
            }
        }
    }
    Ok(())
}

/// Why a label defined both here and there cannot take the other project's annotations.
fn label_conflict(
    ours: LabelScope,
    theirs: LabelScope,
    our_attributes: &[AttributeDef],
    their_attributes: &[AttributeDef],
) -> Option<String> {
    let fits = (!theirs.allows_spans() || ours.allows_spans())
        && (!theirs.allows_docs() || ours.allows_docs());
    if !fits {
        return Some(format!(
            "its scope is {} here and {} in the other project",
            ours.as_str(),
            theirs.as_str()
        ));
    }
    for attribute in their_attributes {
        let Some(mine) = our_attributes.iter().find(|a| a.name == attribute.name) else {
            return Some(format!(
                "attribute {} exists only in the other project",
                attribute.name
            ));
        };
        let values: BTreeSet<&str> = mine.values.iter().map(|v| v.name.as_str()).collect();
        let missing = attribute
            .values
            .iter()
            .find(|v| !values.contains(v.name.as_str()));
        if mine.kind != attribute.kind {
            return Some(format!(
                "attribute {} is a {:?} here and a {:?} in the other project",
                attribute.name, mine.kind, attribute.kind
            ));
        }
        if let Some(v) = missing {
            return Some(format!(
                "attribute {} has value {} only in the other project",
                attribute.name, v.name
            ));
        }
    }
    None
}

fn attributes(json: &str) -> Result<Vec<AttributeDef>, String> {
    serde_json::from_str(json).map_err(|e| e.to_string())
}

fn unreadable(table: &str, id: i64, column: &str, what: &str) -> Error {
    Error::Invalid(format!(
        "the other project's {table} row {id} has an unreadable {column} ({what})"
    ))
}

/// Adds one of the other project's labels, in our schema of the same name (created from
/// theirs when we have none); a hotkey already taken here is left off.
fn add_label(tx: &Tx<'_>, schema: Option<&Vec<Value>>, label: &[Value]) -> Result<i64> {
    let schema_name = schema
        .and_then(|r| text(&r[1]))
        .unwrap_or(crate::schema::IMPORTED_SCHEMA);
    let conn = tx.conn();
    let existing: Option<i64> = conn
        .query_row(
            "SELECT id FROM label_schemas WHERE name = ?1",
            [schema_name],
            |r| r.get(0),
        )
        .optional()
        .map_err(Error::sql("reading schemas"))?;
    let schema_id = match (existing, schema) {
        (Some(id), _) => id,
        (None, Some(r)) => {
            conn.execute(
                "INSERT INTO label_schemas (name, version, description, source, definition)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![r[1], r[2], r[3], r[4], r[5]],
            )
            .map_err(Error::sql("adding a schema"))?;
            conn.last_insert_rowid()
        }
        (None, None) => {
            conn.execute(
                "INSERT INTO label_schemas (name) VALUES (?1)",
                [schema_name],
            )
            .map_err(Error::sql("adding a schema"))?;
            conn.last_insert_rowid()
        }
    };
    let hotkey_taken: bool = conn
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM labels WHERE hotkey = ?1)",
            [&label[6]],
            |r| r.get(0),
        )
        .map_err(Error::sql("reading labels"))?;
    let hotkey = if hotkey_taken {
        Value::Null
    } else {
        label[6].clone()
    };
    conn.execute(
        "INSERT INTO labels (schema_id, position, name, display, scope, color, hotkey,
                             description, attributes)
         VALUES (?1, (SELECT coalesce(max(position) + 1, 0) FROM labels WHERE schema_id = ?1),
                 ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            schema_id, label[2], label[3], label[4], label[5], hotkey, label[7], label[8]
        ],
    )
    .map_err(Error::sql("adding a label"))?;
    Ok(conn.last_insert_rowid())
}

/// Matches notes by content hash, and moves a note's status forward to the other project's.
fn match_notes(tx: &Tx<'_>, src: &Source<'_>, ids: &mut Ids, s: &mut MergeSummary) -> Result<()> {
    let rows = src.rows(
        "notes ORDER BY id",
        &["id", "content_hash", "external_id", "status"],
    )?;
    for row in rows {
        let Some(theirs) = int(&row[0]) else { continue };
        let hash: [u8; 32] = match &row[1] {
            Value::Blob(b) => b
                .as_slice()
                .try_into()
                .map_err(|_| unreadable("notes", theirs, "content hash", "not 32 bytes"))?,
            _ => return Err(unreadable("notes", theirs, "content hash", "not a hash")),
        };
        let Some(ours) = tx.note_by_hash(&hash)? else {
            s.notes_not_matched += 1;
            s.unmatched_notes.push(UnmatchedNote {
                note: NoteId(theirs),
                external_id: text(&row[2]).map(str::to_owned),
            });
            continue;
        };
        s.notes_matched += 1;
        ids.notes.insert(theirs, ours);
        let status = text(&row[3]).unwrap_or("todo");
        let their_status = NoteStatus::parse(status)
            .ok_or_else(|| unreadable("notes", theirs, "status", status))?;
        let our_status = tx.note_status(ours)?;
        match status_merge(our_status, their_status) {
            StatusMerge::Keep => {}
            StatusMerge::Take => {
                tx.set_note_status(ours, their_status)?;
                s.statuses_updated += 1;
            }
            StatusMerge::Conflict => s.status_conflicts += 1,
        }
    }
    Ok(())
}

enum StatusMerge {
    Keep,
    Take,
    Conflict,
}

/// Statuses only move forward (todo, in progress, done), so merging either way round, or
/// twice, gives the same; a todo note takes `skipped`, but skipped against started is a
/// disagreement, and this project's status stays.
fn status_merge(ours: NoteStatus, theirs: NoteStatus) -> StatusMerge {
    let rank = |s| match s {
        NoteStatus::Todo => Some(0),
        NoteStatus::InProgress => Some(1),
        NoteStatus::Done => Some(2),
        NoteStatus::Skipped => None,
    };
    match (rank(ours), rank(theirs)) {
        _ if ours == theirs => StatusMerge::Keep,
        (Some(o), Some(t)) if t > o => StatusMerge::Take,
        (Some(_), Some(_)) | (None, Some(0)) => StatusMerge::Keep,
        (Some(0), None) => StatusMerge::Take,
        _ => StatusMerge::Conflict,
    }
}

const SPAN_COLUMNS: &[&str] = &[
    "id",
    "note_id",
    "label_id",
    "annotator_id",
    "status",
    "start_byte",
    "end_byte",
    "fragments",
    "attributes",
    "comment",
    "source_ref",
    "origin_id",
    "created_at",
    "updated_at",
];
const DOC_COLUMNS: &[&str] = &[
    "id",
    "note_id",
    "label_id",
    "annotator_id",
    "status",
    "attributes",
    "origin_id",
    "created_at",
    "updated_at",
];

/// Adds span and document annotations of matched notes, each under its own annotator; the
/// same note, label, annotator (and fragments, for spans) here is the same annotation.
fn merge_annotations(
    tx: &Tx<'_>,
    src: &Source<'_>,
    ids: &mut Ids,
    s: &mut MergeSummary,
) -> Result<()> {
    for (table, columns, spans) in [
        ("span_annotations", SPAN_COLUMNS, true),
        ("doc_annotations", DOC_COLUMNS, false),
    ] {
        for mut row in src.rows(&format!("{table} ORDER BY id"), columns)? {
            let (Some(note), Some(label), Some(annotator)) =
                (int(&row[1]), int(&row[2]), int(&row[3]))
            else {
                continue;
            };
            let Some(&note) = ids.notes.get(&note) else {
                continue;
            };
            let Some(&(label, scope)) = ids.labels.get(&label) else {
                s.annotations_skipped += 1;
                continue;
            };
            if !(if spans {
                scope.allows_spans()
            } else {
                scope.allows_docs()
            }) {
                s.annotations_skipped += 1;
                continue;
            }
            row[1] = Value::Integer(note.0);
            row[2] = Value::Integer(label);
            row[3] = Value::Integer(ids.annotator(tx, annotator, s)?);
            let origin = if spans { 11 } else { 6 };
            row[origin] = match int(&row[origin]).and_then(|o| ids.outputs.get(&o)) {
                Some(&o) => Value::Integer(o),
                None => Value::Null,
            };
            let exists = if spans {
                let sql = "SELECT id FROM span_annotations WHERE note_id = ?1 AND label_id = ?2
                           AND annotator_id = ?3 AND fragments = ?4";
                rows::find(tx, sql, params![row[1], row[2], row[3], row[7]])?
            } else {
                let sql = "SELECT id FROM doc_annotations
                           WHERE note_id = ?1 AND label_id = ?2 AND annotator_id = ?3";
                rows::find(tx, sql, params![row[1], row[2], row[3]])?
            };
            if exists.is_some() {
                continue;
            }
            rows::insert(tx, table, columns, &row)?;
            if spans {
                s.spans_added += 1;
            } else {
                s.doc_labels_added += 1;
            }
        }
    }
    for row in src.rows(
        "standoff_extras ORDER BY id",
        &["id", "note_id", "kind", "line"],
    )? {
        let Some(&note) = int(&row[1]).and_then(|n| ids.notes.get(&n)) else {
            continue;
        };
        let sql = "SELECT id FROM standoff_extras WHERE note_id = ?1 AND kind = ?2 AND line = ?3";
        if rows::find(tx, sql, params![note.0, row[2], row[3]])?.is_none() {
            tx.conn()
                .execute(
                    "INSERT INTO standoff_extras (note_id, kind, line) VALUES (?1, ?2, ?3)",
                    params![note.0, row[2], row[3]],
                )
                .map_err(Error::sql("keeping a standoff line"))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
