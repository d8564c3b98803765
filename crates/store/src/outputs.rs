//! Model outputs (never overwritten: a new run adds rows), the edits clinicians save over them
//! and their A/B rankings.

use std::collections::HashSet;

use api::{
    ChatMessage, EditId, ModelOutput, NoteId, OutputId, OutputQuery, RankingId, SpanId, TaskId,
    TaskKind,
};
use rusqlite::{OptionalExtension, params};

use crate::db::{Db, Tx};
use crate::error::{Error, Result, json_column, known};

/// An output about to be stored, with what made it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewOutput<'a> {
    /// The note.
    pub note: NoteId,
    /// The task version.
    pub task: TaskId,
    /// The run's key.
    pub run: &'a str,
    /// Which sample of the run for this note.
    pub sample: i64,
    /// Model path.
    pub model: &'a str,
    /// Model file or folder name.
    pub model_name: Option<&'a str>,
    /// SHA-256 of the weights.
    pub model_sha256: Option<&'a str>,
    /// Adapter folder.
    pub adapter: Option<&'a str>,
    /// Sampling parameters (JSON).
    pub params: &'a serde_json::Value,
    /// Seed.
    pub seed: Option<i64>,
    /// The prompt exactly as the model saw it.
    pub prompt: &'a str,
    /// The prompt's chat messages.
    pub prompt_messages: &'a [ChatMessage],
    /// The generated text.
    pub text: &'a str,
    /// Structured reading.
    pub parsed: Option<&'a serde_json::Value>,
    /// Why it could not be read.
    pub parse_error: Option<&'a str>,
    /// Prompt length in tokens.
    pub prompt_tokens: i64,
    /// Generated tokens.
    pub completion_tokens: i64,
    /// Why generation stopped.
    pub stop: &'a str,
    /// The note was shortened.
    pub truncated: bool,
}

/// An output with the ids and prompt a review needs.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputRecord {
    /// The output as listed.
    pub output: ModelOutput,
    /// Its task version.
    pub task_id: TaskId,
    /// The prompt exactly as the model saw it.
    pub prompt: String,
    /// The prompt's chat messages (empty when not recorded).
    pub prompt_messages: Vec<ChatMessage>,
}

/// What clinicians did with one output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputReview {
    /// The output.
    pub output: OutputId,
    /// The text of its latest edit.
    pub edited: Option<String>,
    /// Accepted unchanged.
    pub accepted: bool,
    /// Preferred in an A/B ranking.
    pub preferred: bool,
    /// Another output was preferred over it.
    pub not_preferred: bool,
    /// Rejected.
    pub rejected: bool,
}

const OUTPUT_COLUMNS: &str = "o.id, o.note_id, t.name, t.version, t.kind, o.batch, o.sample,
    o.text, o.model, o.model_name, o.model_sha256, o.adapter, o.params, o.seed, o.stop,
    o.prompt_tokens, o.completion_tokens, o.truncated, o.parsed, o.parse_error, o.created_at,
    o.task_id, o.prompt, o.prompt_messages";

fn output_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<OutputRecord> {
    let kind: String = r.get(4)?;
    let params: String = r.get(12)?;
    let parsed: Option<String> = r.get(18)?;
    let messages: String = r.get(23)?;
    let id: i64 = r.get(0)?;
    let table = "model_outputs";
    Ok(OutputRecord {
        output: ModelOutput {
            id: OutputId(id),
            note_id: NoteId(r.get(1)?),
            task: r.get(2)?,
            task_version: r.get(3)?,
            kind: known("prompt_tasks", id, "kind", &kind, TaskKind::parse)?,
            run: r.get(5)?,
            sample: r.get(6)?,
            text: r.get(7)?,
            model: r.get(8)?,
            model_name: r.get(9)?,
            model_sha256: r.get(10)?,
            adapter: r.get(11)?,
            params: json_column(table, id, "params", &params)?,
            seed: r.get(13)?,
            stop: r.get(14)?,
            prompt_tokens: r.get(15)?,
            completion_tokens: r.get(16)?,
            truncated: r.get::<_, i64>(17)? != 0,
            parsed: parsed
                .map(|p| json_column(table, id, "parsed", &p))
                .transpose()?,
            parse_error: r.get(19)?,
            created_at: r.get(20)?,
        },
        task_id: TaskId(r.get(21)?),
        prompt: r.get(22)?,
        prompt_messages: json_column(table, id, "prompt_messages", &messages)?,
    })
}

impl Tx<'_> {
    /// Stores an output; a run already holding this note and sample is refused (no overwrite).
    pub fn insert_output(&self, o: &NewOutput<'_>) -> Result<OutputId> {
        let messages = serde_json::to_string(o.prompt_messages).unwrap_or_else(|_| "[]".into());
        self.conn()
            .prepare_cached(
                "INSERT INTO model_outputs (note_id, task_id, batch, sample, model, model_name,
                     model_sha256, adapter, params, seed, prompt, prompt_messages, text, parsed,
                     parse_error, prompt_tokens, completion_tokens, stop, truncated)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
                     ?17, ?18, ?19)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    o.note.0,
                    o.task.0,
                    o.run,
                    o.sample,
                    o.model,
                    o.model_name,
                    o.model_sha256,
                    o.adapter,
                    o.params.to_string(),
                    o.seed,
                    o.prompt,
                    messages,
                    o.text,
                    o.parsed.map(|p| p.to_string()),
                    o.parse_error,
                    o.prompt_tokens,
                    o.completion_tokens,
                    o.stop,
                    i64::from(o.truncated),
                ])
            })
            .map_err(|e| match e {
                rusqlite::Error::SqliteFailure(f, _)
                    if f.code == rusqlite::ErrorCode::ConstraintViolation =>
                {
                    Error::Conflict(format!(
                        "run {} already has sample {} of note {}; outputs are never overwritten",
                        o.run, o.sample, o.note
                    ))
                }
                other => Error::Sqlite {
                    context: "saving a model output",
                    source: other,
                },
            })?;
        Ok(OutputId(self.conn().last_insert_rowid()))
    }

    /// Records which output suggested a span (pre-annotation).
    pub fn set_span_origin(&self, span: SpanId, output: OutputId) -> Result<()> {
        self.conn()
            .prepare_cached("UPDATE span_annotations SET origin_id = ?2 WHERE id = ?1")
            .and_then(|mut s| s.execute(params![span.0, output.0]))
            .map_err(Error::sql("linking a suggestion to its output"))?;
        Ok(())
    }

    /// Stores an edit of an output: the edited text and its word diff (JSON offsets only).
    pub fn insert_edit(
        &self,
        output: OutputId,
        annotator: i64,
        edited_text: &str,
        diff: &serde_json::Value,
    ) -> Result<EditId> {
        self.conn()
            .prepare_cached(
                "INSERT INTO edits (output_id, annotator_id, edited_text, diff)
                 VALUES (?1, ?2, ?3, ?4)",
            )
            .and_then(|mut s| {
                s.execute(params![output.0, annotator, edited_text, diff.to_string()])
            })
            .map_err(Error::sql("saving an edit"))?;
        Ok(EditId(self.conn().last_insert_rowid()))
    }

    /// Stores an A/B ranking of two outputs of one note.
    pub fn insert_ranking(
        &self,
        note: NoteId,
        preferred: OutputId,
        other: OutputId,
        annotator: i64,
    ) -> Result<RankingId> {
        self.conn()
            .prepare_cached(
                "INSERT INTO rankings (note_id, preferred_output, other_output, annotator_id)
                 VALUES (?1, ?2, ?3, ?4)",
            )
            .and_then(|mut s| s.execute(params![note.0, preferred.0, other.0, annotator]))
            .map_err(Error::sql("saving a ranking"))?;
        Ok(RankingId(self.conn().last_insert_rowid()))
    }
}

impl Db<'_> {
    /// One output with its prompt.
    pub fn output(&self, id: OutputId) -> Result<OutputRecord> {
        let sql = format!(
            "SELECT {OUTPUT_COLUMNS} FROM model_outputs o JOIN prompt_tasks t ON t.id = o.task_id
             WHERE o.id = ?1"
        );
        self.conn
            .prepare_cached(&sql)
            .and_then(|mut s| s.query_row([id.0], output_row).optional())
            .map_err(Error::sql("reading a model output"))?
            .ok_or_else(|| Error::NotFound {
                what: "model output",
                id: id.to_string(),
            })
    }

    /// Outputs matching the query, oldest first.
    pub fn outputs(&self, query: &OutputQuery) -> Result<Vec<ModelOutput>> {
        let sql = format!(
            "SELECT {OUTPUT_COLUMNS} FROM model_outputs o JOIN prompt_tasks t ON t.id = o.task_id
             WHERE (?1 IS NULL OR o.note_id = ?1) AND (?2 IS NULL OR t.name = ?2)
               AND (?3 IS NULL OR o.batch = ?3)
             ORDER BY o.id LIMIT ?4"
        );
        let limit = if query.limit == 0 {
            -1
        } else {
            i64::try_from(query.limit).unwrap_or(i64::MAX)
        };
        let mut stmt = self
            .conn
            .prepare_cached(&sql)
            .map_err(Error::sql("listing model outputs"))?;
        let rows = stmt
            .query_map(
                params![query.note.map(|n| n.0), query.task, query.run, limit],
                output_row,
            )
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(Error::sql("listing model outputs"))?;
        Ok(rows.into_iter().map(|r| r.output).collect())
    }

    /// Number of outputs in the project.
    pub fn outputs_count(&self) -> Result<u64> {
        self.conn
            .prepare_cached("SELECT count(*) FROM model_outputs")
            .and_then(|mut s| s.query_row([], |r| r.get::<_, i64>(0)))
            .map(|n| u64::try_from(n).unwrap_or(0))
            .map_err(Error::sql("counting model outputs"))
    }

    /// What clinicians did with each of a note's outputs, oldest output first: its latest edit's
    /// text, and whether it was accepted, preferred, not preferred or rejected (from the audit
    /// log and the rankings).
    pub fn output_reviews(&self, note: NoteId) -> Result<Vec<OutputReview>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT o.id,
                    (SELECT e.edited_text FROM edits e WHERE e.output_id = o.id
                     ORDER BY e.id DESC LIMIT 1),
                    EXISTS (SELECT 1 FROM audit_log a WHERE a.action = 'accept_output'
                            AND a.entity = 'model_output' AND a.entity_id = o.id),
                    EXISTS (SELECT 1 FROM rankings r WHERE r.preferred_output = o.id),
                    EXISTS (SELECT 1 FROM rankings r WHERE r.other_output = o.id),
                    EXISTS (SELECT 1 FROM audit_log a WHERE a.action = 'reject_output'
                            AND a.entity = 'model_output' AND a.entity_id = o.id)
                 FROM model_outputs o WHERE o.note_id = ?1 ORDER BY o.id",
            )
            .map_err(Error::sql("reading reviews"))?;
        let rows = stmt
            .query_map([note.0], |r| {
                Ok(OutputReview {
                    output: OutputId(r.get(0)?),
                    edited: r.get(1)?,
                    accepted: r.get(2)?,
                    preferred: r.get(3)?,
                    not_preferred: r.get(4)?,
                    rejected: r.get(5)?,
                })
            })
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(Error::sql("reading reviews"))?;
        Ok(rows)
    }

    /// The (note, sample) pairs a run has already made, so a rerun can skip them.
    pub fn run_outputs(&self, run: &str) -> Result<HashSet<(NoteId, i64)>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT note_id, sample FROM model_outputs WHERE batch = ?1")
            .map_err(Error::sql("reading a run"))?;
        let rows = stmt
            .query_map([run], |r| Ok((NoteId(r.get(0)?), r.get::<_, i64>(1)?)))
            .and_then(|rows| rows.collect::<rusqlite::Result<HashSet<_>>>())
            .map_err(Error::sql("reading a run"))?;
        Ok(rows)
    }

    /// The texts of SFT examples of a task name (any version) on other notes than `except`:
    /// `(user message, completion)`, newest first, for few-shot prompts.
    pub fn task_examples(
        &self,
        task: &str,
        except: NoteId,
        limit: usize,
    ) -> Result<Vec<(Vec<ChatMessage>, String)>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT e.prompt_messages, e.completion FROM sft_examples e
                 JOIN prompt_tasks t ON t.id = e.task_id
                 WHERE t.name = ?1 AND e.note_id IS NOT NULL AND e.note_id <> ?2
                   AND e.prompt_messages IS NOT NULL
                 ORDER BY e.id DESC LIMIT ?3",
            )
            .map_err(Error::sql("reading examples"))?;
        let rows = stmt
            .query_map(
                params![task, except.0, i64::try_from(limit).unwrap_or(0)],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
            )
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(Error::sql("reading examples"))?;
        Ok(rows
            .into_iter()
            .filter_map(|(m, c)| Some((serde_json::from_str(&m).ok()?, c)))
            .collect())
    }

    /// Notes other than `except` with gold spans (or, with `documents`, gold document labels),
    /// lowest id first, for few-shot prompts.
    pub fn annotated_notes(
        &self,
        except: NoteId,
        documents: bool,
        limit: usize,
    ) -> Result<Vec<NoteId>> {
        let sql = if documents {
            "SELECT DISTINCT note_id FROM doc_annotations
             WHERE status = 'gold' AND note_id <> ?1 ORDER BY note_id LIMIT ?2"
        } else {
            "SELECT DISTINCT note_id FROM span_annotations
             WHERE status = 'gold' AND note_id <> ?1 ORDER BY note_id LIMIT ?2"
        };
        let mut stmt = self
            .conn
            .prepare_cached(sql)
            .map_err(Error::sql("finding annotated notes"))?;
        let rows = stmt
            .query_map(params![except.0, i64::try_from(limit).unwrap_or(0)], |r| {
                Ok(NoteId(r.get(0)?))
            })
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(Error::sql("finding annotated notes"))?;
        Ok(rows)
    }
}
