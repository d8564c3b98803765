//! The review loop's rows: prompt task versions, model outputs, edits, rankings, accepts and
//! rejects, preference pairs and SFT examples.

use std::collections::HashMap;

use rusqlite::types::Value;
use rusqlite::{OptionalExtension, params};

use super::Ids;
use super::rows::{self, Source, int, text};
use crate::db::Tx;
use crate::error::{Error, Result};
use api::{MergeSummary, NoteId};

const TASK_COLUMNS: &[&str] = &[
    "id",
    "name",
    "version",
    "kind",
    "template",
    "settings",
    "created_at",
    "description",
    "definition_hash",
];

/// Maps prompt task versions by name and version; adds those we lack.
pub(super) fn merge_tasks(
    tx: &Tx<'_>,
    src: &Source<'_>,
    ids: &mut Ids,
    s: &mut MergeSummary,
) -> Result<()> {
    for row in src.rows("prompt_tasks ORDER BY id", TASK_COLUMNS)? {
        let Some(theirs) = int(&row[0]) else { continue };
        let ours: Option<(i64, String, String)> = tx
            .conn()
            .prepare_cached(
                "SELECT id, kind, template FROM prompt_tasks WHERE name = ?1 AND version = ?2",
            )
            .and_then(|mut st| {
                st.query_row(params![row[1], row[2]], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })
                .optional()
            })
            .map_err(Error::sql("reading prompt tasks"))?;
        match ours {
            Some((id, kind, template))
                if text(&row[3]) == Some(kind.as_str())
                    && text(&row[4]) == Some(template.as_str()) =>
            {
                ids.tasks.insert(theirs, id);
            }
            Some(_) => s.task_conflicts.push(format!(
                "{} v{}",
                text(&row[1]).unwrap_or("?"),
                int(&row[2]).unwrap_or(0)
            )),
            None => {
                let id = rows::insert(tx, "prompt_tasks", TASK_COLUMNS, &row)?;
                s.tasks_added += 1;
                ids.tasks.insert(theirs, id);
            }
        }
    }
    Ok(())
}

const OUTPUT_COLUMNS: &[&str] = &[
    "id",
    "note_id",
    "task_id",
    "batch",
    "sample",
    "model",
    "adapter",
    "params",
    "seed",
    "prompt",
    "text",
    "parsed",
    "parse_error",
    "model_name",
    "model_sha256",
    "prompt_messages",
    "prompt_tokens",
    "completion_tokens",
    "stop",
    "truncated",
    "created_at",
];

/// Adds model outputs of matched notes and tasks; the same run, note, sample and text here
/// is the same output.
pub(super) fn merge_outputs(
    tx: &Tx<'_>,
    src: &Source<'_>,
    ids: &mut Ids,
    s: &mut MergeSummary,
) -> Result<()> {
    for mut row in src.rows("model_outputs ORDER BY id", OUTPUT_COLUMNS)? {
        let (Some(theirs), Some(note), Some(task)) = (int(&row[0]), int(&row[1]), int(&row[2]))
        else {
            continue;
        };
        let (Some(&note), Some(&task)) = (ids.notes.get(&note), ids.tasks.get(&task)) else {
            continue;
        };
        row[1] = Value::Integer(note.0);
        row[2] = Value::Integer(task);
        let same: Option<i64> = tx
            .conn()
            .prepare_cached(
                "SELECT id FROM model_outputs WHERE note_id = ?1 AND task_id = ?2
                 AND batch IS ?3 AND sample = ?4 AND text = ?5 AND model = ?6",
            )
            .and_then(|mut st| {
                st.query_row(
                    params![row[1], row[2], row[3], row[4], row[10], row[5]],
                    |r| r.get(0),
                )
                .optional()
            })
            .map_err(Error::sql("reading model outputs"))?;
        if let Some(id) = same {
            ids.outputs.insert(theirs, id);
            continue;
        }
        let run_taken: bool = tx
            .conn()
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM model_outputs
                                WHERE batch = ?1 AND note_id = ?2 AND sample = ?3)",
            )
            .and_then(|mut st| st.query_row(params![row[3], row[1], row[4]], |r| r.get(0)))
            .map_err(Error::sql("reading model outputs"))?;
        if run_taken {
            s.output_conflicts += 1;
            continue;
        }
        let id = rows::insert(tx, "model_outputs", OUTPUT_COLUMNS, &row)?;
        s.outputs_added += 1;
        ids.outputs.insert(theirs, id);
    }
    Ok(())
}

const EDIT_COLUMNS: &[&str] = &[
    "id",
    "output_id",
    "annotator_id",
    "edited_text",
    "diff",
    "created_at",
];
const RANKING_COLUMNS: &[&str] = &[
    "id",
    "note_id",
    "preferred_output",
    "other_output",
    "annotator_id",
    "created_at",
];

/// Adds edits, rankings, accepts and rejects of merged outputs, each by its annotator.
pub(super) fn merge_reviews(
    tx: &Tx<'_>,
    src: &Source<'_>,
    ids: &mut Ids,
    s: &mut MergeSummary,
) -> Result<()> {
    for mut row in src.rows("edits ORDER BY id", EDIT_COLUMNS)? {
        let (Some(theirs), Some(output), Some(annotator)) =
            (int(&row[0]), int(&row[1]), int(&row[2]))
        else {
            continue;
        };
        let Some(&output) = ids.outputs.get(&output) else {
            continue;
        };
        row[1] = Value::Integer(output);
        row[2] = Value::Integer(ids.annotator(tx, annotator, s)?);
        let key = params![row[1], row[2], row[3]];
        let sql = "SELECT id FROM edits
                   WHERE output_id = ?1 AND annotator_id = ?2 AND edited_text = ?3";
        let id = match rows::find(tx, sql, key)? {
            Some(id) => id,
            None => {
                s.reviews_added += 1;
                rows::insert(tx, "edits", EDIT_COLUMNS, &row)?
            }
        };
        ids.edits.insert(theirs, id);
    }
    for mut row in src.rows("rankings ORDER BY id", RANKING_COLUMNS)? {
        let (Some(theirs), Some(note), Some(preferred), Some(other), Some(annotator)) = (
            int(&row[0]),
            int(&row[1]),
            int(&row[2]),
            int(&row[3]),
            int(&row[4]),
        ) else {
            continue;
        };
        let (Some(note), Some(&preferred), Some(&other)) = (
            ids.notes.get(&note),
            ids.outputs.get(&preferred),
            ids.outputs.get(&other),
        ) else {
            continue;
        };
        row[1] = Value::Integer(note.0);
        row[2] = Value::Integer(preferred);
        row[3] = Value::Integer(other);
        row[4] = Value::Integer(ids.annotator(tx, annotator, s)?);
        let sql = "SELECT id FROM rankings
                   WHERE preferred_output = ?1 AND other_output = ?2 AND annotator_id = ?3";
        let id = match rows::find(tx, sql, params![row[2], row[3], row[4]])? {
            Some(id) => id,
            None => {
                s.reviews_added += 1;
                rows::insert(tx, "rankings", RANKING_COLUMNS, &row)?
            }
        };
        ids.rankings.insert(theirs, id);
    }
    // Accepts and rejects live in the audit log, as entries on the output.
    let marks = src.rows(
        "audit_log WHERE entity = 'model_output'
         AND action IN ('accept_output', 'reject_output') ORDER BY id",
        &["actor", "action", "entity_id", "at"],
    )?;
    for row in marks {
        let Some(output) = int(&row[2]).and_then(|o| ids.outputs.get(&o).copied()) else {
            continue;
        };
        let sql = "SELECT id FROM audit_log WHERE entity = 'model_output'
                   AND entity_id = ?1 AND action = ?2 AND actor = ?3";
        if rows::find(tx, sql, params![output, row[1], row[0]])?.is_some() {
            continue;
        }
        let note: i64 = tx
            .conn()
            .query_row(
                "SELECT note_id FROM model_outputs WHERE id = ?1",
                [output],
                |r| r.get(0),
            )
            .map_err(Error::sql("reading model outputs"))?;
        let (Some(actor), Some(action), Some(at)) = (text(&row[0]), text(&row[1]), text(&row[3]))
        else {
            return Err(Error::Invalid(
                "an accept or reject in the other project's audit log cannot be read".to_owned(),
            ));
        };
        tx.audit_at(
            Some(at),
            actor,
            action,
            "model_output",
            Some(output),
            Some(NoteId(note)),
            &serde_json::json!({ "merged": true }),
        )?;
        s.reviews_added += 1;
    }
    Ok(())
}

const PAIR_COLUMNS: &[&str] = &[
    "id",
    "note_id",
    "task_id",
    "annotator_id",
    "prompt",
    "prompt_messages",
    "chosen",
    "rejected",
    "origin",
    "edit_id",
    "ranking_id",
    "split",
    "dedup_hash",
    "created_at",
];
const SFT_COLUMNS: &[&str] = &[
    "id",
    "note_id",
    "task_id",
    "annotator_id",
    "prompt",
    "prompt_messages",
    "completion",
    "origin",
    "output_id",
    "edit_id",
    "split",
    "dedup_hash",
    "created_at",
];

/// Adds preference pairs and SFT examples not already here (by their hash of texts); a note's
/// rows join the split its rows here are in, so no note is in two splits.
pub(super) fn merge_datasets(
    tx: &Tx<'_>,
    src: &Source<'_>,
    ids: &mut Ids,
    s: &mut MergeSummary,
) -> Result<()> {
    for (table, columns) in [
        ("preference_pairs", PAIR_COLUMNS),
        ("sft_examples", SFT_COLUMNS),
    ] {
        let pairs = table == "preference_pairs";
        let hash = columns.len() - 2;
        let split = columns.len() - 3;
        for mut row in src.rows(&format!("{table} ORDER BY id"), columns)? {
            let note = match int(&row[1]) {
                None => None,
                Some(n) => match ids.notes.get(&n) {
                    Some(&ours) => Some(ours),
                    // Its note is not here: reported with the unmatched notes.
                    None => continue,
                },
            };
            let sql = if pairs {
                "SELECT id FROM preference_pairs WHERE dedup_hash = ?1"
            } else {
                "SELECT id FROM sft_examples WHERE dedup_hash = ?1"
            };
            if rows::find(tx, sql, params![row[hash]])?.is_some() {
                continue;
            }
            row[1] = note.map_or(Value::Null, |n| Value::Integer(n.0));
            row[2] = mapped(&row[2], &ids.tasks);
            row[3] = ids.optional_annotator(tx, &row[3], s)?;
            if let Some(note) = note
                && let Some(here) = tx.note_split(note)?
            {
                row[split] = Value::Text(here.as_str().to_owned());
            }
            if pairs {
                row[9] = mapped(&row[9], &ids.edits);
                row[10] = mapped(&row[10], &ids.rankings);
            } else {
                row[8] = mapped(&row[8], &ids.outputs);
                row[9] = mapped(&row[9], &ids.edits);
            }
            rows::insert(tx, table, columns, &row)?;
            if pairs {
                s.pairs_added += 1;
            } else {
                s.sft_added += 1;
            }
        }
    }
    Ok(())
}

/// Our id for an optional id of theirs; none when it was not merged.
fn mapped(theirs: &Value, map: &HashMap<i64, i64>) -> Value {
    match int(theirs).and_then(|id| map.get(&id)) {
        Some(&ours) => Value::Integer(ours),
        None => Value::Null,
    }
}
