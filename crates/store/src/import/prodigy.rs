//! Prodigy JSONL (`prodigy db-out`): one annotated task per line.
//!
//! `text` is the note; `meta.id` its external id, the other `meta` fields its metadata.
//! `spans` (`start`/`end` in code points, checked against `text` when a span gives its text)
//! become spans; `accept` (the chosen options of a choice task) and a top-level `label` (a
//! binary classification) become document labels. The `answer` decides what they are:
//! `accept` → gold, `reject` → rejected (kept, never gold), `ignore` → suggestions on a note
//! marked skipped; a task with no answer (unannotated input) gives suggestions. A task's
//! annotator is `_annotator_id`, else `_session_id`, else the import's. Several lines with the
//! same text (one per annotator or answer) are one note holding each line's annotations.

use std::collections::BTreeMap;
use std::path::Path;

use api::{AnnotationStatus, NoteStatus};
use serde_json::Value;

use super::jsonl::{ParsedLine, read_lines};
use super::{
    ImportOptions, Record, RecordLabel, RecordSpan, Sink, fragments_to_bytes, merge_labels,
};
use crate::error::Result;
use crate::notes::NewNote;

pub(super) fn read(path: &Path, options: &ImportOptions, sink: &mut Sink<'_, '_>) -> Result<()> {
    read_lines(path, options, sink, parse_line)
}

fn name(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().to_owned()).filter(|s| !s.is_empty()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn parse_line(line: &str, options: &ImportOptions, source: Option<String>) -> ParsedLine {
    let value: Value = serde_json::from_str(line).map_err(|e| format!("not valid JSON: {e}"))?;
    let Value::Object(mut task) = value else {
        return Err("expected a JSON object (a Prodigy task)".to_owned());
    };
    let text_key = options.columns.text.as_deref().unwrap_or("text");
    let text = match task.remove(text_key) {
        Some(Value::String(s)) => s,
        Some(_) => return Err(format!("\"{text_key}\" must be a string")),
        None => {
            return Err(format!(
                "no \"{text_key}\"; Clinitune imports Prodigy text tasks (NER, spans, \
                 classification)"
            ));
        }
    };
    let (status, note_status) = match task.get("answer") {
        Some(Value::String(a)) => match a.as_str() {
            "accept" => (AnnotationStatus::Gold, Some(NoteStatus::Done)),
            "reject" => (AnnotationStatus::Rejected, Some(NoteStatus::Done)),
            "ignore" => (AnnotationStatus::Suggested, Some(NoteStatus::Skipped)),
            other => {
                return Err(format!("answer {other:?} is not accept, reject or ignore"));
            }
        },
        None | Some(Value::Null) => (AnnotationStatus::Suggested, None),
        Some(other) => return Err(format!("answer {other} is not a string")),
    };
    let annotator = ["_annotator_id", "_session_id"]
        .iter()
        .find_map(|k| task.get(*k).and_then(name));
    let mut metadata = match task.remove("meta") {
        Some(Value::Object(meta)) => meta,
        _ => serde_json::Map::new(),
    };
    let id_key = options.columns.id.as_deref().unwrap_or("id");
    let external_id = metadata.remove(id_key).as_ref().and_then(name);
    let mut problems = Vec::new();
    let mut spans = Vec::new();
    match task.get("spans") {
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                match parse_span(&text, item) {
                    Ok((label, fragments)) => spans.push(RecordSpan {
                        label,
                        status,
                        fragments,
                        attributes: BTreeMap::new(),
                        comment: None,
                        source_ref: None,
                        annotator: annotator.clone(),
                    }),
                    Err(reason) => problems.push(format!("span {} not imported: {reason}", i + 1)),
                }
            }
        }
        None | Some(Value::Null) => {}
        Some(other) => problems.push(format!("\"spans\" must be a list, found {other}")),
    }
    let mut names: Vec<String> = Vec::new();
    match task.get("accept") {
        Some(Value::Array(items)) => {
            for item in items {
                match name(item) {
                    Some(n) => names.push(n),
                    None => problems.push(format!("accepted option {item} is not a name")),
                }
            }
        }
        None | Some(Value::Null) => {}
        Some(other) => problems.push(format!("\"accept\" must be a list, found {other}")),
    }
    if let Some(label) = task.get("label").and_then(name) {
        names.push(label);
    }
    let labels = names
        .into_iter()
        .map(|label| RecordLabel {
            label,
            status,
            attributes: BTreeMap::new(),
            annotator: annotator.clone(),
        })
        .collect();
    Ok((
        Record {
            note: NewNote {
                external_id,
                source,
                text,
                metadata,
                ..NewNote::default()
            },
            labels: merge_labels(labels),
            spans,
            extras: Vec::new(),
            prepared: None,
            status: note_status,
            add_to_existing: true,
            kept_results: 0,
        },
        problems,
    ))
}

/// A span's label and byte fragment; code points checked against the text it gives.
fn parse_span(text: &str, item: &Value) -> Result<(String, Vec<api::Fragment>), String> {
    let Value::Object(o) = item else {
        return Err("expected an object".to_owned());
    };
    let label = o.get("label").and_then(name).ok_or("no \"label\"")?;
    let offset = |k: &str| {
        o.get(k)
            .and_then(Value::as_u64)
            .and_then(|n| usize::try_from(n).ok())
    };
    let (Some(start), Some(end)) = (offset("start"), offset("end")) else {
        return Err("\"start\" and \"end\" must be whole numbers (character offsets)".to_owned());
    };
    let fragments = fragments_to_bytes(text, &[(start, end)])?;
    if let (Some(given), Some(f)) = (o.get("text").and_then(Value::as_str), fragments.first())
        && text.get(f.start..f.end) != Some(given)
    {
        return Err(format!(
            "offsets {start}-{end} cover different text than the span's \"text\" (Prodigy \
             counts characters, not bytes or UTF-16 units)"
        ));
    }
    Ok((label, fragments))
}

#[cfg(test)]
mod tests;
