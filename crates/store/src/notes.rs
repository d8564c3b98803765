//! Notes: insertion with content-hash de-duplication, lookup, full-text search, statistics.

use api::{Fragment, NoteDetail, NoteId, NoteStatus, NoteSummary, SearchOrder, SearchQuery, Stats};
use rusqlite::{OptionalExtension, params};
use sha2::{Digest, Sha256};

use crate::db::{Db, Tx};
use crate::error::{Error, Result};

/// A note about to be stored.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewNote {
    /// Id in the source file, if it has one.
    pub external_id: Option<String>,
    /// Where it came from (file name), for provenance.
    pub source: Option<String>,
    /// Category (MIMIC CATEGORY).
    pub category: Option<String>,
    /// Short title (MIMIC DESCRIPTION).
    pub description: Option<String>,
    /// Patient id (MIMIC SUBJECT_ID).
    pub subject_id: Option<String>,
    /// Admission id (MIMIC HADM_ID).
    pub hadm_id: Option<String>,
    /// Chart date as written.
    pub chart_date: Option<String>,
    /// The text.
    pub text: String,
    /// Other fields of the source row.
    pub metadata: serde_json::Map<String, serde_json::Value>,
}

/// The de-duplication key: the same text under the same external id is the same note.
pub(crate) fn content_hash(external_id: Option<&str>, text: &str) -> [u8; 32] {
    let mut hasher = Sha256::new();
    match external_id {
        Some(id) => {
            hasher.update((id.len() as u64).to_le_bytes());
            hasher.update(id.as_bytes());
        }
        None => hasher.update(u64::MAX.to_le_bytes()),
    }
    hasher.update(text.as_bytes());
    hasher.finalize().into()
}

/// Start and end markers handed to FTS5's `snippet()`; control characters never typed in notes.
const MARK_START: char = '\u{2}';
const MARK_END: char = '\u{3}';
const DEFAULT_LIMIT: usize = 50;

impl Tx<'_> {
    /// The highest note id so far (0 for none); notes added later have larger ids.
    pub fn max_note_id(&self) -> Result<i64> {
        self.conn()
            .query_row("SELECT coalesce(max(id), 0) FROM notes", [], |r| r.get(0))
            .map_err(Error::sql("reading note ids"))
    }

    /// Adds the notes with ids above `after` to the full-text index, in one statement.
    ///
    /// Every transaction that inserts notes calls this before committing, so the index never
    /// lags the notes; indexing a whole batch at once is what keeps imports fast.
    pub fn index_notes_after(&self, after: i64) -> Result<()> {
        self.conn()
            .prepare_cached(
                "INSERT INTO notes_fts (rowid, text) SELECT id, text FROM notes WHERE id > ?1",
            )
            .and_then(|mut s| s.execute([after]))
            .map_err(Error::sql("indexing notes for search"))?;
        Ok(())
    }

    /// Inserts a note; `None` when a note with the same external id and text is already there.
    ///
    /// The caller indexes it for search with [`Tx::index_notes_after`] before committing.
    pub fn insert_note(&self, note: &NewNote) -> Result<Option<NoteId>> {
        let hash = content_hash(note.external_id.as_deref(), &note.text);
        let metadata = serde_json::Value::Object(note.metadata.clone()).to_string();
        self.insert_note_prepared(note, &hash, &metadata)
    }

    /// [`Tx::insert_note`] with the hash and metadata JSON already computed (by the import's
    /// reading thread, so the writing thread only writes).
    pub(crate) fn insert_note_prepared(
        &self,
        note: &NewNote,
        hash: &[u8; 32],
        metadata: &str,
    ) -> Result<Option<NoteId>> {
        let mut stmt = self
            .conn()
            .prepare_cached(
                "INSERT INTO notes (external_id, source, category, description, subject_id,
                                    hadm_id, chart_date, text, content_hash, metadata)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                 ON CONFLICT (content_hash) DO NOTHING",
            )
            .map_err(Error::sql("adding a note"))?;
        let changed = stmt
            .execute(params![
                note.external_id,
                note.source,
                note.category,
                note.description,
                note.subject_id,
                note.hadm_id,
                note.chart_date,
                note.text,
                &hash[..],
                metadata,
            ])
            .map_err(Error::sql("adding a note"))?;
        Ok((changed == 1).then(|| NoteId(self.conn().last_insert_rowid())))
    }

    /// The note with this content hash (external id and text), if the project has it.
    pub(crate) fn note_by_hash(&self, hash: &[u8; 32]) -> Result<Option<NoteId>> {
        self.conn()
            .prepare_cached("SELECT id FROM notes WHERE content_hash = ?1")
            .and_then(|mut s| {
                s.query_row([&hash[..]], |r| r.get(0).map(NoteId))
                    .optional()
            })
            .map_err(Error::sql("looking up a note"))
    }

    /// Sets a note's workflow status; returns the previous one.
    pub fn set_note_status(&self, note: NoteId, status: NoteStatus) -> Result<NoteStatus> {
        let before = self.note_status(note)?;
        self.conn()
            .prepare_cached("UPDATE notes SET status = ?2 WHERE id = ?1")
            .and_then(|mut s| s.execute(params![note.0, status.as_str()]))
            .map_err(Error::sql("setting a note's status"))?;
        Ok(before)
    }
}

impl Tx<'_> {
    /// Records how close a classifier came to its thresholds on `note` (the smallest distance of
    /// a probability from its label's threshold), replacing the last one.
    pub fn set_uncertainty(&self, note: NoteId, margin: f64, adapter: &str) -> Result<()> {
        if !margin.is_finite() || margin < 0.0 {
            return Err(Error::Invalid(format!(
                "an uncertainty margin must be a distance of 0 or more, not {margin}"
            )));
        }
        self.conn()
            .prepare_cached(
                "INSERT INTO note_uncertainty (note_id, margin, adapter) VALUES (?1, ?2, ?3)
                 ON CONFLICT (note_id) DO UPDATE SET margin = excluded.margin,
                     adapter = excluded.adapter,
                     at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
            )
            .and_then(|mut s| s.execute(rusqlite::params![note.0, margin, adapter]))
            .map_err(Error::sql("recording a prediction's uncertainty"))?;
        Ok(())
    }
}

impl Db<'_> {
    /// A note's workflow status.
    pub fn note_status(&self, note: NoteId) -> Result<NoteStatus> {
        let status: Option<String> = self
            .conn
            .prepare_cached("SELECT status FROM notes WHERE id = ?1")
            .and_then(|mut s| s.query_row([note.0], |r| r.get(0)).optional())
            .map_err(Error::sql("reading a note"))?;
        let status = status.ok_or_else(|| Error::NotFound {
            what: "note",
            id: note.to_string(),
        })?;
        NoteStatus::parse(&status)
            .ok_or_else(|| Error::Invalid(format!("note {note} has unknown status {status}")))
    }

    /// A note's text.
    pub fn note_text(&self, note: NoteId) -> Result<String> {
        self.conn
            .prepare_cached("SELECT text FROM notes WHERE id = ?1")
            .and_then(|mut s| s.query_row([note.0], |r| r.get(0)).optional())
            .map_err(Error::sql("reading a note"))?
            .ok_or_else(|| Error::NotFound {
                what: "note",
                id: note.to_string(),
            })
    }

    /// Finds a note by its id in the source (MIMIC ROW_ID, brat stem, JSONL id).
    pub fn note_by_external_id(&self, external_id: &str) -> Result<Option<NoteId>> {
        self.conn
            .prepare_cached("SELECT id FROM notes WHERE external_id = ?1 ORDER BY id LIMIT 1")
            .and_then(|mut s| s.query_row([external_id], |r| r.get(0)).optional())
            .map(|id| id.map(NoteId))
            .map_err(Error::sql("looking up a note"))
    }

    /// A note with its text and all its annotations.
    pub fn note(&self, note: NoteId) -> Result<NoteDetail> {
        let row = self
            .conn
            .prepare_cached(
                "SELECT external_id, category, description, subject_id, hadm_id, chart_date,
                        status, text, metadata
                 FROM notes WHERE id = ?1",
            )
            .and_then(|mut s| {
                s.query_row([note.0], |r| {
                    Ok((
                        r.get::<_, Option<String>>(0)?,
                        r.get::<_, Option<String>>(1)?,
                        r.get::<_, Option<String>>(2)?,
                        r.get::<_, Option<String>>(3)?,
                        r.get::<_, Option<String>>(4)?,
                        r.get::<_, Option<String>>(5)?,
                        r.get::<_, String>(6)?,
                        r.get::<_, String>(7)?,
                        r.get::<_, String>(8)?,
                    ))
                })
                .optional()
            })
            .map_err(Error::sql("reading a note"))?
            .ok_or_else(|| Error::NotFound {
                what: "note",
                id: note.to_string(),
            })?;
        let (
            external_id,
            category,
            description,
            subject_id,
            hadm_id,
            chart_date,
            status,
            text,
            meta,
        ) = row;
        let corrupt = |column: &'static str, reason: &str| Error::Corrupt {
            table: "notes",
            id: note.0,
            column,
            reason: reason.to_owned(),
        };
        let metadata = match serde_json::from_str(&meta) {
            Ok(serde_json::Value::Object(map)) => map,
            _ => return Err(corrupt("metadata", "is not a JSON object")),
        };
        let status = NoteStatus::parse(&status)
            .ok_or_else(|| corrupt("status", "is not one this version knows"))?;
        Ok(NoteDetail {
            id: note,
            external_id,
            category,
            description,
            subject_id,
            hadm_id,
            chart_date,
            status,
            text,
            metadata,
            spans: self.spans_of_note(note)?,
            doc_labels: self.doc_labels_of_note(note)?,
        })
    }

    /// Notes matching `query`, in id order or best match first as the query asks.
    pub fn search_notes(&self, query: &SearchQuery) -> Result<Vec<NoteSummary>> {
        let limit = if query.limit == 0 {
            DEFAULT_LIMIT
        } else {
            query.limit
        };
        let (fts, label_id, annotator_id) = self.search_params(query)?;
        let filters = SEARCH_FILTERS;
        // CROSS JOIN keeps the full-text match as the outer loop: left to itself, SQLite may
        // walk the category index and probe the FTS index per note, a hundred times slower.
        const UNCERTAINTY: &str =
            "(SELECT u.margin FROM note_uncertainty u WHERE u.note_id = n.id)";
        let order = match query.order {
            SearchOrder::Id => "notes_fts.rowid".to_owned(),
            SearchOrder::Relevance => "notes_fts.rank".to_owned(),
            SearchOrder::Uncertainty => format!("{UNCERTAINTY} IS NULL, {UNCERTAINTY}, n.id"),
        };
        let plain_order = match query.order {
            SearchOrder::Uncertainty => format!("{UNCERTAINTY} IS NULL, {UNCERTAINTY}, n.id"),
            _ => "n.id".to_owned(),
        };
        let sql = match &fts {
            Some(_) => format!(
                "SELECT n.id, n.external_id, n.category, n.status,
                        snippet(notes_fts, 0, char(2), char(3), '…', 16), length(n.text)
                 FROM notes_fts CROSS JOIN notes n ON n.id = notes_fts.rowid
                 WHERE notes_fts MATCH ?1 AND {filters}
                 ORDER BY {order} LIMIT ?6 OFFSET ?7"
            ),
            None => format!(
                "SELECT n.id, n.external_id, n.category, n.status,
                        substr(n.text, 1, 160), length(n.text)
                 FROM notes n
                 WHERE ?1 IS NULL AND {filters}
                 ORDER BY {plain_order} LIMIT ?6 OFFSET ?7"
            ),
        };
        let mut stmt = self
            .conn
            .prepare_cached(&sql)
            .map_err(Error::sql("searching notes"))?;
        let rows = stmt
            .query_map(
                params![
                    fts,
                    query.category,
                    query.status.map(NoteStatus::as_str),
                    label_id,
                    annotator_id,
                    limit as i64,
                    query.offset as i64,
                ],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, Option<String>>(1)?,
                        r.get::<_, Option<String>>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, i64>(5)?,
                    ))
                },
            )
            .map_err(Error::sql("searching notes"))?;
        let mut out = Vec::new();
        for row in rows {
            let (id, external_id, category, status, raw_snippet, chars) =
                row.map_err(|e| search_error(&query.text, e))?;
            let (snippet, highlights) = split_marks(&raw_snippet);
            let status = NoteStatus::parse(&status).ok_or_else(|| Error::Corrupt {
                table: "notes",
                id,
                column: "status",
                reason: "is not one this version knows".to_owned(),
            })?;
            out.push(NoteSummary {
                id: NoteId(id),
                external_id,
                category,
                status,
                snippet,
                highlights,
                chars: usize::try_from(chars).unwrap_or(0),
            });
        }
        Ok(out)
    }

    /// How many notes match `query` (its limit and offset aside): the length of a scrolled list.
    pub fn count_notes(&self, query: &SearchQuery) -> Result<u64> {
        let (fts, label_id, annotator_id) = self.search_params(query)?;
        let unfiltered = fts.is_none()
            && query.category.is_none()
            && query.status.is_none()
            && label_id.is_none()
            && annotator_id.is_none();
        if unfiltered {
            // From an index rather than the table of note texts: 100,000 notes in ~1 ms.
            return self
                .conn
                .query_row("SELECT count(*) FROM notes", [], |r| r.get::<_, i64>(0))
                .map(|n| u64::try_from(n).unwrap_or(0))
                .map_err(Error::sql("counting notes"));
        }
        let sql = match &fts {
            Some(_) => format!(
                "SELECT count(*) FROM notes_fts CROSS JOIN notes n ON n.id = notes_fts.rowid
                 WHERE notes_fts MATCH ?1 AND {SEARCH_FILTERS}"
            ),
            None => format!("SELECT count(*) FROM notes n WHERE ?1 IS NULL AND {SEARCH_FILTERS}"),
        };
        let mut stmt = self
            .conn
            .prepare_cached(&sql)
            .map_err(Error::sql("counting notes"))?;
        let n = stmt
            .query_row(
                params![
                    fts,
                    query.category,
                    query.status.map(NoteStatus::as_str),
                    label_id,
                    annotator_id,
                ],
                |r| r.get::<_, i64>(0),
            )
            .map_err(|e| search_error(&query.text, e))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// The bound values a search shares with its count: FTS query, label id, annotator id.
    fn search_params(
        &self,
        query: &SearchQuery,
    ) -> Result<(Option<String>, Option<i64>, Option<i64>)> {
        let fts = fts_query(&query.text);
        let label_id = match &query.label {
            Some(name) => Some(self.label_id(name)?),
            None => None,
        };
        let annotator_id = match &query.annotator {
            Some(name) => Some(self.annotator_id(name)?.ok_or_else(|| Error::NotFound {
                what: "annotator",
                id: name.clone(),
            })?),
            None => None,
        };
        Ok((fts, label_id, annotator_id))
    }

    /// Counts of notes, annotations and labels.
    pub fn stats(&self) -> Result<Stats> {
        let count = |sql: &str| -> Result<u64> {
            self.conn
                .query_row(sql, [], |r| r.get::<_, i64>(0))
                .map(|n| u64::try_from(n).unwrap_or(0))
                .map_err(Error::sql("counting"))
        };
        let grouped = |sql: &str| -> Result<std::collections::BTreeMap<String, u64>> {
            let mut stmt = self.conn.prepare(sql).map_err(Error::sql("counting"))?;
            let rows = stmt
                .query_map([], |r| {
                    Ok((r.get::<_, Option<String>>(0)?, r.get::<_, i64>(1)?))
                })
                .map_err(Error::sql("counting"))?;
            let mut map = std::collections::BTreeMap::new();
            for row in rows {
                let (key, n) = row.map_err(Error::sql("counting"))?;
                *map.entry(key.unwrap_or_default()).or_default() += u64::try_from(n).unwrap_or(0);
            }
            Ok(map)
        };
        Ok(Stats {
            notes: count("SELECT count(*) FROM notes")?,
            span_annotations: count("SELECT count(*) FROM span_annotations")?,
            doc_annotations: count("SELECT count(*) FROM doc_annotations")?,
            labels: count("SELECT count(*) FROM labels")?,
            annotators: count("SELECT count(*) FROM annotators")?,
            by_status: grouped("SELECT status, count(*) FROM notes GROUP BY status")?,
            by_category: grouped("SELECT category, count(*) FROM notes GROUP BY category")?,
            by_label: grouped(
                "SELECT l.name, count(*) FROM span_annotations s JOIN labels l ON l.id = s.label_id
                 GROUP BY l.name
                 UNION ALL
                 SELECT l.name, count(*) FROM doc_annotations d JOIN labels l ON l.id = d.label_id
                 GROUP BY l.name",
            )?,
        })
    }

    /// Ids of all notes, in id order (exports walk them in batches).
    pub fn note_ids(&self) -> Result<Vec<NoteId>> {
        let mut stmt = self
            .conn
            .prepare("SELECT id FROM notes ORDER BY id")
            .map_err(Error::sql("listing"))?;
        let ids = stmt
            .query_map([], |r| r.get(0).map(NoteId))
            .map_err(Error::sql("listing notes"))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(Error::sql("listing notes"))?;
        Ok(ids)
    }
}

fn search_error(text: &str, source: rusqlite::Error) -> Error {
    match &source {
        rusqlite::Error::SqliteFailure(_, Some(msg)) if msg.contains("fts5") => Error::Invalid(
            format!("cannot search for {text:?}: {msg}; use plain words or \"quoted phrases\""),
        ),
        _ => Error::Sqlite {
            context: "searching notes",
            source,
        },
    }
}

/// Turns what a user typed into an FTS5 query: every word or `"phrase"` must occur; a trailing
/// `*` keeps prefix search. Everything is quoted, so `s/p`, `µg` or `-` never become syntax.
pub(crate) fn fts_query(text: &str) -> Option<String> {
    let mut terms = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let (term, tail) = if let Some(after) = rest.strip_prefix('"') {
            match after.find('"') {
                Some(end) => (&after[..end], &after[end + 1..]),
                None => (after, ""),
            }
        } else {
            match rest.find(char::is_whitespace) {
                Some(end) => (&rest[..end], &rest[end..]),
                None => (rest, ""),
            }
        };
        rest = tail.trim_start();
        let (word, prefix) = match term.strip_suffix('*') {
            Some(w) => (w, true),
            None => (term, false),
        };
        // Only letters and digits reach the index; a term of punctuation alone matches nothing.
        if !word.chars().any(char::is_alphanumeric) {
            continue;
        }
        let quoted = format!(
            "\"{}\"{}",
            word.replace('"', "\"\""),
            if prefix { "*" } else { "" }
        );
        terms.push(quoted);
    }
    (!terms.is_empty()).then(|| terms.join(" "))
}

/// Removes the snippet markers and returns where they were.
fn split_marks(raw: &str) -> (String, Vec<Fragment>) {
    let mut out = String::with_capacity(raw.len());
    let mut highlights = Vec::new();
    let mut open = None;
    for c in raw.chars() {
        match c {
            MARK_START => open = Some(out.len()),
            MARK_END => {
                if let Some(start) = open.take() {
                    highlights.push(Fragment {
                        start,
                        end: out.len(),
                    });
                }
            }
            c => out.push(c),
        }
    }
    (out, highlights)
}

#[cfg(test)]
mod tests;

/// The filters of a note search (`?2`..`?5`), shared by the search and its count.
const SEARCH_FILTERS: &str = "(?2 IS NULL OR n.category = ?2)
             AND (?3 IS NULL OR n.status = ?3)
             AND (?4 IS NULL OR EXISTS (SELECT 1 FROM span_annotations s
                                        WHERE s.note_id = n.id AND s.label_id = ?4
                                          AND s.status <> 'rejected')
                             OR EXISTS (SELECT 1 FROM doc_annotations d
                                        WHERE d.note_id = n.id AND d.label_id = ?4
                                          AND d.status <> 'rejected'))
             AND (?5 IS NULL OR EXISTS (SELECT 1 FROM span_annotations s
                                        WHERE s.note_id = n.id AND s.annotator_id = ?5)
                             OR EXISTS (SELECT 1 FROM doc_annotations d
                                        WHERE d.note_id = n.id AND d.annotator_id = ?5))";
