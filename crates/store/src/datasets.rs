//! Training data made from reviews: preference pairs and SFT examples, de-duplicated by a hash
//! of their texts, each in one split; and the project settings that choose splits.

use api::{
    ChatMessage, EditId, NoteId, OutputId, PairId, PairOrigin, PreferencePair, RankingId,
    SftExample, SftId, SftOrigin, Split, TaskId,
};
use rusqlite::{OptionalExtension, params};
use sha2::{Digest, Sha256};

use crate::db::{Db, Tx};
use crate::error::{Error, Result, json_column, known};

/// A preference pair about to be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPair<'a> {
    /// The note (none for imported pairs).
    pub note: Option<NoteId>,
    /// The task version whose output it came from.
    pub task: Option<TaskId>,
    /// The prompt exactly as the model saw it.
    pub prompt: &'a str,
    /// The prompt's chat messages, when known.
    pub prompt_messages: Option<&'a [ChatMessage]>,
    /// The better completion.
    pub chosen: &'a str,
    /// The worse completion.
    pub rejected: &'a str,
    /// Where it came from.
    pub origin: PairOrigin,
    /// Annotator id.
    pub annotator: Option<i64>,
    /// The edit that made it.
    pub edit: Option<EditId>,
    /// The ranking that made it.
    pub ranking: Option<RankingId>,
    /// Its split.
    pub split: Split,
}

/// An SFT example about to be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSft<'a> {
    /// The note (none for imported examples).
    pub note: Option<NoteId>,
    /// The task version whose output it came from.
    pub task: Option<TaskId>,
    /// The prompt exactly as the model saw it.
    pub prompt: &'a str,
    /// The prompt's chat messages, when known.
    pub prompt_messages: Option<&'a [ChatMessage]>,
    /// The completion.
    pub completion: &'a str,
    /// Where it came from.
    pub origin: SftOrigin,
    /// Annotator id.
    pub annotator: Option<i64>,
    /// The output it came from.
    pub output: Option<OutputId>,
    /// The edit that made it.
    pub edit: Option<EditId>,
    /// Its split.
    pub split: Split,
}

/// Which table a split row is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatasetTable {
    /// `preference_pairs`.
    Pairs,
    /// `sft_examples`.
    Sft,
}

impl DatasetTable {
    fn name(self) -> &'static str {
        match self {
            DatasetTable::Pairs => "preference_pairs",
            DatasetTable::Sft => "sft_examples",
        }
    }

    fn noun(self) -> &'static str {
        match self {
            DatasetTable::Pairs => "preference pair",
            DatasetTable::Sft => "SFT example",
        }
    }
}

/// A deleted pair or SFT example, every column as stored, kept for undo.
#[derive(Debug, Clone, PartialEq)]
pub struct DeletedRow {
    table: DatasetTable,
    id: i64,
    columns: Vec<String>,
    values: Vec<rusqlite::types::Value>,
}

impl DeletedRow {
    /// Which table it was in.
    pub fn table(&self) -> DatasetTable {
        self.table
    }

    /// Its id.
    pub fn id(&self) -> i64 {
        self.id
    }
}

/// A row's id, note and prompt, for assigning splits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitRow {
    /// Which table.
    pub table: DatasetTable,
    /// Row id.
    pub id: i64,
    /// Its note.
    pub note: Option<NoteId>,
    /// Its prompt (groups note-less rows).
    pub prompt: String,
}

/// Hash of texts joined by a separator no text contains (NUL), for de-duplication.
fn dedup_hash(parts: &[&str]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0u8]);
    }
    h.finalize().into()
}

fn messages_json(m: Option<&[ChatMessage]>) -> Option<String> {
    m.and_then(|m| serde_json::to_string(m).ok())
}

fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if f.code == rusqlite::ErrorCode::ConstraintViolation
            && f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE)
}

impl Tx<'_> {
    /// Stores a pair; `None` when the same prompt, chosen and rejected are already stored.
    pub fn insert_pair(&self, p: &NewPair<'_>) -> Result<Option<PairId>> {
        let hash = dedup_hash(&[p.prompt, p.chosen, p.rejected]);
        let inserted = self
            .conn()
            .prepare_cached(
                "INSERT INTO preference_pairs (note_id, task_id, prompt, prompt_messages, chosen,
                     rejected, origin, annotator_id, edit_id, ranking_id, split, dedup_hash)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    p.note.map(|n| n.0),
                    p.task.map(|t| t.0),
                    p.prompt,
                    messages_json(p.prompt_messages),
                    p.chosen,
                    p.rejected,
                    p.origin.as_str(),
                    p.annotator,
                    p.edit.map(|e| e.0),
                    p.ranking.map(|r| r.0),
                    p.split.as_str(),
                    hash.as_slice(),
                ])
            });
        match inserted {
            Ok(_) => Ok(Some(PairId(self.conn().last_insert_rowid()))),
            Err(e) if is_unique_violation(&e) => Ok(None),
            Err(source) => Err(Error::Sqlite {
                context: "saving a preference pair",
                source,
            }),
        }
    }

    /// Stores an SFT example; `None` when the same prompt and completion are already stored.
    pub fn insert_sft(&self, e: &NewSft<'_>) -> Result<Option<SftId>> {
        let hash = dedup_hash(&[e.prompt, e.completion]);
        let inserted = self
            .conn()
            .prepare_cached(
                "INSERT INTO sft_examples (note_id, task_id, prompt, prompt_messages, completion,
                     origin, annotator_id, output_id, edit_id, split, dedup_hash)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    e.note.map(|n| n.0),
                    e.task.map(|t| t.0),
                    e.prompt,
                    messages_json(e.prompt_messages),
                    e.completion,
                    e.origin.as_str(),
                    e.annotator,
                    e.output.map(|o| o.0),
                    e.edit.map(|x| x.0),
                    e.split.as_str(),
                    hash.as_slice(),
                ])
            });
        match inserted {
            Ok(_) => Ok(Some(SftId(self.conn().last_insert_rowid()))),
            Err(err) if is_unique_violation(&err) => Ok(None),
            Err(source) => Err(Error::Sqlite {
                context: "saving an SFT example",
                source,
            }),
        }
    }

    /// Moves a pair or SFT example to a split.
    pub fn set_split(&self, table: DatasetTable, id: i64, split: Split) -> Result<()> {
        let sql = match table {
            DatasetTable::Pairs => "UPDATE preference_pairs SET split = ?2 WHERE id = ?1",
            DatasetTable::Sft => "UPDATE sft_examples SET split = ?2 WHERE id = ?1",
        };
        self.conn()
            .prepare_cached(sql)
            .and_then(|mut s| s.execute(params![id, split.as_str()]))
            .map_err(Error::sql("assigning a split"))?;
        Ok(())
    }

    /// Deletes a pair or SFT example and returns the row as it was, so that
    /// [`Tx::restore_dataset_row`] can put it back (same id, same links); `None` if absent.
    pub fn delete_dataset_row(&self, table: DatasetTable, id: i64) -> Result<Option<DeletedRow>> {
        let name = table.name();
        let mut stmt = self
            .conn()
            .prepare_cached(&format!("SELECT * FROM {name} WHERE id = ?1"))
            .map_err(Error::sql("reading a row to delete"))?;
        let columns: Vec<String> = stmt.column_names().map(str::to_owned).collect();
        let values = stmt
            .query_row([id], |r| {
                (0..columns.len())
                    .map(|i| r.get::<_, rusqlite::types::Value>(i))
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .optional()
            .map_err(Error::sql("reading a row to delete"))?;
        let Some(values) = values else {
            return Ok(None);
        };
        self.conn()
            .prepare_cached(&format!("DELETE FROM {name} WHERE id = ?1"))
            .and_then(|mut s| s.execute([id]))
            .map_err(Error::sql("deleting a row"))?;
        Ok(Some(DeletedRow {
            table,
            id,
            columns,
            values,
        }))
    }

    /// Puts a deleted pair or SFT example back as it was; a conflict if the same texts were
    /// stored again since.
    pub fn restore_dataset_row(&self, row: &DeletedRow) -> Result<()> {
        let names = row.columns.join(", ");
        let marks = vec!["?"; row.columns.len()].join(", ");
        let sql = format!(
            "INSERT INTO {} ({names}) VALUES ({marks})",
            row.table.name()
        );
        let inserted = self
            .conn()
            .prepare_cached(&sql)
            .and_then(|mut s| s.execute(rusqlite::params_from_iter(row.values.iter())));
        match inserted {
            Ok(_) => Ok(()),
            Err(e) if is_unique_violation(&e) => Err(Error::Conflict(format!(
                "{} {} cannot come back: the same texts were saved again since",
                row.table.noun(),
                row.id
            ))),
            Err(source) => Err(Error::Sqlite {
                context: "restoring a row",
                source,
            }),
        }
    }

    /// Sets a project setting.
    pub fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        self.conn()
            .prepare_cached(
                "INSERT INTO project_meta (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )
            .and_then(|mut s| s.execute(params![key, value]))
            .map_err(Error::sql("saving a project setting"))?;
        Ok(())
    }
}

const PAIR_COLUMNS: &str = "p.id, p.note_id, t.name, p.prompt, p.prompt_messages, p.chosen,
    p.rejected, p.origin, a.name, p.split, p.created_at";
const SFT_COLUMNS: &str = "e.id, e.note_id, t.name, e.prompt, e.prompt_messages, e.completion,
    e.origin, a.name, e.split, e.created_at";

fn parse_messages(
    table: &'static str,
    id: i64,
    json: Option<String>,
) -> rusqlite::Result<Option<Vec<ChatMessage>>> {
    json.map(|m| json_column(table, id, "prompt_messages", &m))
        .transpose()
}

impl Db<'_> {
    /// Preference pairs, oldest first, of one split or all.
    pub fn pairs(&self, split: Option<Split>) -> Result<Vec<PreferencePair>> {
        let sql = format!(
            "SELECT {PAIR_COLUMNS} FROM preference_pairs p
             LEFT JOIN prompt_tasks t ON t.id = p.task_id
             LEFT JOIN annotators a ON a.id = p.annotator_id
             WHERE ?1 IS NULL OR p.split = ?1 ORDER BY p.id"
        );
        let mut stmt = self
            .conn
            .prepare_cached(&sql)
            .map_err(Error::sql("listing preference pairs"))?;
        let rows = stmt
            .query_map([split.map(Split::as_str)], |r| {
                let id: i64 = r.get(0)?;
                let table = "preference_pairs";
                Ok(PreferencePair {
                    id: PairId(id),
                    note_id: r.get::<_, Option<i64>>(1)?.map(NoteId),
                    task: r.get(2)?,
                    prompt: r.get(3)?,
                    prompt_messages: parse_messages(table, id, r.get(4)?)?,
                    chosen: r.get(5)?,
                    rejected: r.get(6)?,
                    origin: known(
                        table,
                        id,
                        "origin",
                        &r.get::<_, String>(7)?,
                        PairOrigin::parse,
                    )?,
                    annotator: r.get(8)?,
                    split: known(table, id, "split", &r.get::<_, String>(9)?, Split::parse)?,
                    created_at: r.get(10)?,
                })
            })
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(Error::sql("listing preference pairs"))?;
        Ok(rows)
    }

    /// SFT examples, oldest first, of one split or all.
    pub fn sft_examples(&self, split: Option<Split>) -> Result<Vec<SftExample>> {
        let sql = format!(
            "SELECT {SFT_COLUMNS} FROM sft_examples e
             LEFT JOIN prompt_tasks t ON t.id = e.task_id
             LEFT JOIN annotators a ON a.id = e.annotator_id
             WHERE ?1 IS NULL OR e.split = ?1 ORDER BY e.id"
        );
        let mut stmt = self
            .conn
            .prepare_cached(&sql)
            .map_err(Error::sql("listing SFT examples"))?;
        let rows = stmt
            .query_map([split.map(Split::as_str)], |r| {
                let id: i64 = r.get(0)?;
                let table = "sft_examples";
                Ok(SftExample {
                    id: SftId(id),
                    note_id: r.get::<_, Option<i64>>(1)?.map(NoteId),
                    task: r.get(2)?,
                    prompt: r.get(3)?,
                    prompt_messages: parse_messages(table, id, r.get(4)?)?,
                    completion: r.get(5)?,
                    origin: known(
                        table,
                        id,
                        "origin",
                        &r.get::<_, String>(6)?,
                        SftOrigin::parse,
                    )?,
                    annotator: r.get(7)?,
                    split: known(table, id, "split", &r.get::<_, String>(8)?, Split::parse)?,
                    created_at: r.get(9)?,
                })
            })
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(Error::sql("listing SFT examples"))?;
        Ok(rows)
    }

    /// Every pair and SFT example with its note and prompt, for splitting.
    pub fn split_rows(&self) -> Result<Vec<SplitRow>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT 0, id, note_id, prompt FROM preference_pairs
                 UNION ALL SELECT 1, id, note_id, prompt FROM sft_examples",
            )
            .map_err(Error::sql("reading splits"))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(SplitRow {
                    table: if r.get::<_, i64>(0)? == 0 {
                        DatasetTable::Pairs
                    } else {
                        DatasetTable::Sft
                    },
                    id: r.get(1)?,
                    note: r.get::<_, Option<i64>>(2)?.map(NoteId),
                    prompt: r.get(3)?,
                })
            })
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(Error::sql("reading splits"))?;
        Ok(rows)
    }

    /// The split a note's pairs or SFT examples are already in, if any.
    pub fn note_split(&self, note: NoteId) -> Result<Option<Split>> {
        let found: Option<String> = self
            .conn
            .prepare_cached(
                "SELECT split FROM preference_pairs WHERE note_id = ?1 AND split <> 'unassigned'
                 UNION ALL
                 SELECT split FROM sft_examples WHERE note_id = ?1 AND split <> 'unassigned'
                 LIMIT 1",
            )
            .and_then(|mut s| s.query_row([note.0], |r| r.get(0)).optional())
            .map_err(Error::sql("reading a note's split"))?;
        Ok(found.as_deref().and_then(Split::parse))
    }

    /// A project setting.
    pub fn meta(&self, key: &str) -> Result<Option<String>> {
        self.conn
            .prepare_cached("SELECT value FROM project_meta WHERE key = ?1")
            .and_then(|mut s| s.query_row([key], |r| r.get(0)).optional())
            .map_err(Error::sql("reading a project setting"))
    }
}
