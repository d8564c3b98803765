//! Label Studio JSON: the array of tasks its "JSON" export writes and its import reads.
//!
//! One task per note: `data.text`, `data.id` (the external id) and the note's other metadata;
//! one annotation per annotator with gold annotations: a `labels` region per span fragment
//! (UTF-16 offsets, `value.text` the covered text, the span's source id kept as the region id),
//! span attributes as per-region `choices` and a comment as a per-region `textarea`, document
//! labels as one `choices` result, and the results the import kept verbatim. Suggestions are
//! `predictions`; rejected annotations have no place in Label Studio and are counted as not
//! exported.

use std::collections::{BTreeMap, HashMap, HashSet};

use api::{AnnotationStatus, ExportSummary, NoteDetail, NoteStatus, SpanId};
use serde_json::{Map, Value, json};

use crate::import::label_studio::{KEPT_KEY, prediction_annotator, user_annotator};

/// What one annotator (or model) contributes to a task.
#[derive(Default)]
struct Group {
    results: Vec<Value>,
    used_ids: HashSet<String>,
}

/// The task for one note; counts what it writes and what it cannot.
pub(super) fn task(
    note: &NoteDetail,
    refs: &HashMap<SpanId, String>,
    summary: &mut ExportSummary,
) -> Value {
    let text = &note.text;
    let mut annotations: BTreeMap<Option<String>, Group> = BTreeMap::new();
    let mut predictions: BTreeMap<String, Group> = BTreeMap::new();
    for span in &note.spans {
        let group = match span.status {
            AnnotationStatus::Gold => annotations.entry(Some(span.annotator.clone())).or_default(),
            AnnotationStatus::Suggested => predictions.entry(span.annotator.clone()).or_default(),
            AnnotationStatus::Rejected => {
                summary.spans_not_exported += 1;
                continue;
            }
        };
        summary.spans += 1;
        for (k, f) in span.fragments.iter().enumerate() {
            let wanted = refs
                .get(&span.id)
                .filter(|_| k == 0)
                .cloned()
                .unwrap_or_else(|| format!("ct-{}-{k}", span.id));
            let id = if group.used_ids.insert(wanted.clone()) {
                wanted
            } else {
                let fresh = format!("ct-{}-{k}", span.id);
                group.used_ids.insert(fresh.clone());
                fresh
            };
            let units = |byte| api::offsets::byte_to_utf16(text, byte).unwrap_or(0);
            group.results.push(json!({
                "id": id,
                "from_name": "label",
                "to_name": "text",
                "type": "labels",
                "origin": "manual",
                "value": {
                    "start": units(f.start),
                    "end": units(f.end),
                    "text": text.get(f.start..f.end).unwrap_or_default(),
                    "labels": [span.label],
                },
            }));
            for (name, value) in &span.attributes {
                group.results.push(json!({
                    "id": id,
                    "from_name": name,
                    "to_name": "text",
                    "type": "choices",
                    "value": { "choices": value.split(", ").collect::<Vec<_>>() },
                }));
            }
            if let Some(comment) = &span.comment {
                group.results.push(json!({
                    "id": id,
                    "from_name": "comment",
                    "to_name": "text",
                    "type": "textarea",
                    "value": { "text": comment.split('\n').collect::<Vec<_>>() },
                }));
            }
        }
    }
    let mut choices: BTreeMap<(bool, String), Vec<&str>> = BTreeMap::new();
    for d in &note.doc_labels {
        match d.status {
            AnnotationStatus::Gold => choices
                .entry((true, d.annotator.clone()))
                .or_default()
                .push(&d.label),
            AnnotationStatus::Suggested => choices
                .entry((false, d.annotator.clone()))
                .or_default()
                .push(&d.label),
            AnnotationStatus::Rejected => {
                summary.doc_labels_not_exported += 1;
                continue;
            }
        }
        summary.doc_labels += 1;
    }
    for ((gold, who), labels) in choices {
        let group = if gold {
            annotations.entry(Some(who.clone())).or_default()
        } else {
            predictions.entry(who.clone()).or_default()
        };
        group.results.push(json!({
            "id": format!("ct-doc-{}", group.results.len()),
            "from_name": "choice",
            "to_name": "text",
            "type": "choices",
            "value": { "choices": labels },
        }));
    }
    let mut data = Map::new();
    for (k, v) in &note.metadata {
        if k == KEPT_KEY {
            // Results kept by the import go back to their annotator's annotation.
            for kept in v.as_array().into_iter().flatten() {
                let who = kept
                    .get("annotator")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                if let Some(result) = kept.get("result") {
                    annotations
                        .entry(who)
                        .or_default()
                        .results
                        .push(result.clone());
                }
            }
        } else {
            data.insert(k.clone(), v.clone());
        }
    }
    data.insert("text".to_owned(), json!(text));
    if let Some(id) = &note.external_id {
        data.insert("id".to_owned(), json!(id));
    }
    let mut out: Vec<Value> = annotations
        .into_iter()
        .enumerate()
        .map(|(i, (who, group))| {
            let mut a = json!({
                "id": i + 1,
                "result": group.results,
                "was_cancelled": false,
                "ground_truth": false,
            });
            if let (Some(who), Value::Object(map)) = (who, &mut a) {
                map.insert("completed_by".to_owned(), completed_by(&who));
            }
            a
        })
        .collect();
    if out.is_empty() && note.status == NoteStatus::Skipped {
        // A skipped note: Label Studio's "skip" is a cancelled annotation.
        out.push(json!({ "id": 1, "result": [], "was_cancelled": true }));
    }
    let predictions: Vec<Value> = predictions
        .into_iter()
        .map(|(who, group)| {
            let version = who
                .strip_prefix(&prediction_annotator(None))
                .and_then(|v| v.strip_prefix(':'))
                .unwrap_or(&who)
                .to_owned();
            json!({ "model_version": version, "result": group.results })
        })
        .collect();
    json!({
        "id": note.id.0,
        "data": data,
        "annotations": out,
        "predictions": predictions,
    })
}

/// `completed_by` for an annotator: the user id for names the import made from one, else an
/// object with the name as e-mail (the form older Label Studio exports use).
fn completed_by(name: &str) -> Value {
    let prefix = user_annotator("");
    match name
        .strip_prefix(&prefix)
        .and_then(|id| id.parse::<u64>().ok())
    {
        Some(id) => json!(id),
        None => json!({ "email": name }),
    }
}
