//! Reviewing model outputs: the clinician's corrections become training data as they work.
//!
//! - [`edit`] stores the edited text, annotator, time and a word-level diff, and makes one
//!   preference pair (prompt, chosen = edit, rejected = original) and one SFT example
//!   (prompt, completion = edit). An edit that changes nothing is an acceptance.
//! - [`accept`] makes an SFT example only.
//! - [`rank`] of two outputs of the same prompt makes a pair (chosen = the preferred one).
//! - [`reject`] records that an output is wrong, and makes no training data.
//!
//! Each runs in one transaction with an audit entry (ids and counts, never text). Pairs and
//! examples are de-duplicated by their texts and land in their note's split (see
//! [`crate::datasets`]).

use api::{
    ChatMessage, DiffStats, EditId, NoteId, OutputId, PairOrigin, ReviewMark, ReviewOutcome,
    ReviewedOutput, SftOrigin, Split, TaskId,
};
use serde_json::json;
use similar::DiffTag;
use store::{OutputRecord, Tx};

use crate::error::Error;
use crate::project::Project;

/// One diff operation: tag (equal, delete, insert, replace), original and edited byte range.
pub type DiffOp = (&'static str, (usize, usize), (usize, usize));

/// A word-level diff: operations with byte ranges into the original and the edit (no text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WordDiff {
    /// `(tag, original range, edited range)`, tag one of equal, delete, insert, replace.
    pub ops: Vec<DiffOp>,
    /// Words kept, removed and added.
    pub stats: DiffStats,
}

impl WordDiff {
    /// The stored form: `{"ops": [["replace", [a, b], [c, d]], ...], "kept", "removed", "added"}`.
    pub fn to_json(&self) -> serde_json::Value {
        let ops: Vec<serde_json::Value> = self
            .ops
            .iter()
            .map(|(tag, old, new)| json!([tag, [old.0, old.1], [new.0, new.1]]))
            .collect();
        json!({
            "unit": "words",
            "ops": ops,
            "kept": self.stats.kept,
            "removed": self.stats.removed,
            "added": self.stats.added,
        })
    }
}

/// Byte ranges of the whitespace-separated words of `text`.
fn words(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (c.is_whitespace(), start) {
            (false, None) => start = Some(i),
            (true, Some(s)) => {
                out.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, text.len()));
    }
    out
}

/// The word-level diff of `original` and `edited` (words are whitespace-separated tokens;
/// changes of spacing alone are not edits).
pub fn word_diff(original: &str, edited: &str) -> WordDiff {
    let old_words = words(original);
    let new_words = words(edited);
    let old: Vec<&str> = old_words
        .iter()
        .map(|&(a, b)| original.get(a..b).unwrap_or_default())
        .collect();
    let new: Vec<&str> = new_words
        .iter()
        .map(|&(a, b)| edited.get(a..b).unwrap_or_default())
        .collect();
    let deadline = std::time::Instant::now() + std::time::Duration::from_millis(200);
    let diff = similar::capture_diff_slices_deadline(
        similar::Algorithm::Myers,
        &old,
        &new,
        Some(deadline),
    );
    // Word index range → byte range (an empty range sits where its position is).
    let bytes = |at: &[(usize, usize)], len: usize, r: std::ops::Range<usize>| {
        if r.is_empty() {
            let pos = at.get(r.start).map_or(len, |w| w.0);
            return (pos, pos);
        }
        (
            at.get(r.start).map_or(len, |w| w.0),
            at.get(r.end - 1).map_or(len, |w| w.1),
        )
    };
    let mut stats = DiffStats::default();
    let mut ops = Vec::with_capacity(diff.len());
    for op in &diff {
        let (tag, o, n) = op.as_tag_tuple();
        let name = match tag {
            DiffTag::Equal => {
                stats.kept += o.len() as u64;
                "equal"
            }
            DiffTag::Delete => {
                stats.removed += o.len() as u64;
                "delete"
            }
            DiffTag::Insert => {
                stats.added += n.len() as u64;
                "insert"
            }
            DiffTag::Replace => {
                stats.removed += o.len() as u64;
                stats.added += n.len() as u64;
                "replace"
            }
        };
        ops.push((
            name,
            bytes(&old_words, original.len(), o),
            bytes(&new_words, edited.len(), n),
        ));
    }
    WordDiff { ops, stats }
}

/// Accepts an output unchanged: one SFT example (prompt, completion = the output).
pub fn accept(
    project: &mut Project,
    output: OutputId,
    annotator: &str,
) -> Result<ReviewOutcome, Error> {
    project.store.write(|tx| {
        let record = tx.output(output)?;
        accept_in(tx, &record, annotator)
    })
}

fn accept_in(tx: &Tx<'_>, record: &OutputRecord, annotator: &str) -> Result<ReviewOutcome, Error> {
    let who = tx.ensure_annotator(annotator, "human")?;
    let o = &record.output;
    let split = split_for(tx, o.note_id)?;
    let sft = tx.insert_sft(&store::NewSft {
        note: Some(o.note_id),
        task: Some(record.task_id),
        prompt: &record.prompt,
        prompt_messages: messages(record),
        completion: &o.text,
        origin: SftOrigin::Accept,
        annotator: Some(who),
        output: Some(o.id),
        edit: None,
        split,
    })?;
    tx.audit(
        annotator,
        "accept_output",
        "model_output",
        Some(o.id.0),
        Some(o.note_id),
        &json!({ "sft": sft }),
    )?;
    Ok(ReviewOutcome {
        output: o.id,
        edit: None,
        ranking: None,
        pair: None,
        sft,
        diff: None,
    })
}

/// Saves a clinician's edit of an output: the edit (text, annotator, time, word diff), one
/// preference pair and one SFT example, in one transaction. Unchanged text is an acceptance.
pub fn edit(
    project: &mut Project,
    output: OutputId,
    edited: &str,
    annotator: &str,
) -> Result<ReviewOutcome, Error> {
    if edited.trim().is_empty() {
        return Err(Error::Invalid(format!(
            "the edit of output {output} is empty; to discard an output, rank another above it"
        )));
    }
    project.store.write(|tx| {
        let record = tx.output(output)?;
        let o = &record.output;
        if edited == o.text {
            return accept_in(tx, &record, annotator);
        }
        let who = tx.ensure_annotator(annotator, "human")?;
        let diff = word_diff(&o.text, edited);
        let edit_id: EditId = tx.insert_edit(o.id, who, edited, &diff.to_json())?;
        let split = split_for(tx, o.note_id)?;
        let pair = tx.insert_pair(&store::NewPair {
            note: Some(o.note_id),
            task: Some(record.task_id),
            prompt: &record.prompt,
            prompt_messages: messages(&record),
            chosen: edited,
            rejected: &o.text,
            origin: PairOrigin::Edit,
            annotator: Some(who),
            edit: Some(edit_id),
            ranking: None,
            split,
        })?;
        let sft = tx.insert_sft(&store::NewSft {
            note: Some(o.note_id),
            task: Some(record.task_id),
            prompt: &record.prompt,
            prompt_messages: messages(&record),
            completion: edited,
            origin: SftOrigin::Edit,
            annotator: Some(who),
            output: Some(o.id),
            edit: Some(edit_id),
            split,
        })?;
        tx.audit(
            annotator,
            "edit_output",
            "edit",
            Some(edit_id.0),
            Some(o.note_id),
            &json!({
                "output": o.id, "pair": pair, "sft": sft,
                "kept": diff.stats.kept, "removed": diff.stats.removed, "added": diff.stats.added,
            }),
        )?;
        Ok(ReviewOutcome {
            output: o.id,
            edit: Some(edit_id),
            ranking: None,
            pair,
            sft,
            diff: Some(diff.stats),
        })
    })
}

/// Ranks two outputs of the same note and prompt: a pair with the preferred one as chosen.
pub fn rank(
    project: &mut Project,
    preferred: OutputId,
    other: OutputId,
    annotator: &str,
) -> Result<ReviewOutcome, Error> {
    if preferred == other {
        return Err(Error::Invalid(format!(
            "output {preferred} cannot be ranked against itself; give two different outputs"
        )));
    }
    project.store.write(|tx| {
        let a = tx.output(preferred)?;
        let b = tx.output(other)?;
        if a.output.note_id != b.output.note_id {
            return Err(Error::Invalid(format!(
                "outputs {preferred} and {other} are about different notes ({} and {}); rank \
                 outputs of the same note",
                a.output.note_id, b.output.note_id
            )));
        }
        if a.prompt != b.prompt {
            return Err(Error::Invalid(format!(
                "outputs {preferred} and {other} answer different prompts (task {}@{} and {}@{}); \
                 rank outputs of the same run or task version",
                a.output.task, a.output.task_version, b.output.task, b.output.task_version
            )));
        }
        if a.output.text == b.output.text {
            return Err(Error::Invalid(format!(
                "outputs {preferred} and {other} have the same text; there is nothing to prefer"
            )));
        }
        let who = tx.ensure_annotator(annotator, "human")?;
        let note = a.output.note_id;
        let ranking = tx.insert_ranking(note, preferred, other, who)?;
        let split = split_for(tx, note)?;
        let pair = tx.insert_pair(&store::NewPair {
            note: Some(note),
            task: Some(a.task_id),
            prompt: &a.prompt,
            prompt_messages: messages(&a),
            chosen: &a.output.text,
            rejected: &b.output.text,
            origin: PairOrigin::Ranking,
            annotator: Some(who),
            edit: None,
            ranking: Some(ranking),
            split,
        })?;
        tx.audit(
            annotator,
            "rank_outputs",
            "ranking",
            Some(ranking.0),
            Some(note),
            &json!({ "preferred": preferred, "other": other, "pair": pair }),
        )?;
        Ok(ReviewOutcome {
            output: preferred,
            edit: None,
            ranking: Some(ranking),
            pair,
            sft: None,
            diff: None,
        })
    })
}

/// Rejects an output: recorded (audit log) and shown as rejected, but no training data.
pub fn reject(project: &mut Project, output: OutputId, annotator: &str) -> Result<(), Error> {
    project.store.write(|tx| {
        let record = tx.output(output)?;
        tx.ensure_annotator(annotator, "human")?;
        tx.audit(
            annotator,
            "reject_output",
            "model_output",
            Some(output.0),
            Some(record.output.note_id),
            &json!({}),
        )?;
        Ok(())
    })
}

/// A note's outputs, oldest first, each with what was done with it (the latest of edited,
/// accepted, preferred or not, rejected — in that order of precedence).
pub fn reviewed_outputs(project: &Project, note: NoteId) -> Result<Vec<ReviewedOutput>, Error> {
    let db = project.store.db();
    let outputs = db.outputs(&api::OutputQuery {
        note: Some(note),
        ..api::OutputQuery::default()
    })?;
    let reviews = db.output_reviews(note)?;
    Ok(outputs
        .into_iter()
        .map(|output| {
            let review = reviews.iter().find(|r| r.output == output.id);
            let mark = match review {
                Some(r) if r.edited.is_some() => ReviewMark::Edited,
                Some(r) if r.accepted => ReviewMark::Accepted,
                Some(r) if r.preferred => ReviewMark::Preferred,
                Some(r) if r.not_preferred => ReviewMark::NotPreferred,
                Some(r) if r.rejected => ReviewMark::Rejected,
                _ => ReviewMark::Pending,
            };
            ReviewedOutput {
                edited: review.and_then(|r| r.edited.clone()),
                output,
                mark,
            }
        })
        .collect())
}

fn messages(record: &OutputRecord) -> Option<&[ChatMessage]> {
    Some(record.prompt_messages.as_slice()).filter(|m| !m.is_empty())
}

/// The split of a note's new pair or example: the one its others are in, else the project's
/// split settings applied to the note.
fn split_for(tx: &Tx<'_>, note: NoteId) -> Result<Split, Error> {
    if let Some(split) = tx.note_split(note)? {
        return Ok(split);
    }
    let request = crate::datasets::split_settings(tx)?;
    Ok(crate::datasets::split_of(
        &crate::datasets::group_key(Some(note), ""),
        &request,
    ))
}

/// Stores an output made outside Clinitune (another runtime, a script, a benchmark), with the
/// provenance given, so that it can be reviewed like a generated one.
pub fn record_output(
    project: &mut Project,
    note: NoteId,
    task: TaskId,
    prompt: &str,
    text: &str,
    model: &str,
) -> Result<OutputId, Error> {
    project.store.write(|tx| {
        let run = format!("external-{}", tx.outputs_count()?);
        let id = tx.insert_output(&store::NewOutput {
            note,
            task,
            run: &run,
            sample: 0,
            model,
            model_name: None,
            model_sha256: None,
            adapter: None,
            params: &json!({}),
            seed: None,
            prompt,
            prompt_messages: &[ChatMessage {
                role: "user".to_owned(),
                content: prompt.to_owned(),
            }],
            text,
            parsed: None,
            parse_error: None,
            prompt_tokens: 0,
            completion_tokens: 0,
            stop: "external",
            truncated: false,
        })?;
        tx.audit(
            "clinitune",
            "record_output",
            "model_output",
            Some(id.0),
            Some(note),
            &json!({ "task": task }),
        )?;
        Ok(id)
    })
}

#[cfg(test)]
pub(crate) mod tests;
