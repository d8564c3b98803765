//! Prodigy JSONL, as `prodigy db-in` reads it: one task per line.
//!
//! A note gives one line per annotator and status: gold annotations with `"answer": "accept"`,
//! rejected ones with `"answer": "reject"`, suggestions with no answer (`"ignore"` when the note
//! is skipped, and that line first, so an import marks the note skipped again). Spans are
//! `spans` in code points with their text; document labels are `accept` with matching
//! `options`; the external id is `meta.id`, the note's metadata the rest of `meta`. Span
//! attributes and comments have no place in Prodigy's format and are left out.

use std::collections::BTreeMap;

use api::{AnnotationStatus, ExportSummary, NoteDetail, NoteStatus};
use serde_json::{Value, json};

/// One annotator's spans (as Prodigy JSON) and document labels with one status.
type Group<'n> = (Vec<Value>, Vec<&'n str>);

/// The lines for one note; counts what they hold.
pub(super) fn lines(note: &NoteDetail, summary: &mut ExportSummary) -> Vec<Value> {
    let text = &note.text;
    let cp = |byte| api::offsets::byte_to_char(text, byte).unwrap_or(0);
    // (status order, annotator) → (spans, labels)
    let mut groups: BTreeMap<(u8, &str), Group<'_>> = BTreeMap::new();
    let skipped = note.status == NoteStatus::Skipped;
    let order = |s: AnnotationStatus| match (s, skipped) {
        (AnnotationStatus::Suggested, true) => 0,
        (AnnotationStatus::Gold, _) => 1,
        (AnnotationStatus::Rejected, _) => 2,
        (AnnotationStatus::Suggested, false) => 3,
    };
    for span in &note.spans {
        let group = groups
            .entry((order(span.status), &span.annotator))
            .or_default();
        for f in &span.fragments {
            group.0.push(json!({
                "start": cp(f.start),
                "end": cp(f.end),
                "text": text.get(f.start..f.end).unwrap_or_default(),
                "label": span.label,
            }));
        }
        summary.spans += 1;
    }
    for d in &note.doc_labels {
        groups
            .entry((order(d.status), &d.annotator))
            .or_default()
            .1
            .push(&d.label);
        summary.doc_labels += 1;
    }
    let mut meta = note.metadata.clone();
    if let Some(id) = &note.external_id {
        meta.insert("id".to_owned(), json!(id));
    }
    let line = |answer: Option<&str>, who: Option<&str>, spans: Vec<Value>, labels: &[&str]| {
        let mut task = json!({ "text": text, "meta": meta, "spans": spans });
        if let Value::Object(map) = &mut task {
            if !labels.is_empty() {
                let options: Vec<Value> = labels
                    .iter()
                    .map(|l| json!({ "id": l, "text": l }))
                    .collect();
                map.insert("options".to_owned(), Value::Array(options));
                map.insert("accept".to_owned(), json!(labels));
            }
            if let Some(answer) = answer {
                map.insert("answer".to_owned(), json!(answer));
            }
            if let Some(who) = who {
                map.insert("_annotator_id".to_owned(), json!(who));
            }
        }
        task
    };
    let mut out = Vec::new();
    if skipped && !groups.keys().any(|(o, _)| *o == 0) {
        out.push(line(Some("ignore"), None, Vec::new(), &[]));
    }
    for ((order, who), (spans, labels)) in groups {
        let answer = match order {
            0 => Some("ignore"),
            1 => Some("accept"),
            2 => Some("reject"),
            _ => None,
        };
        out.push(line(answer, Some(who), spans, &labels));
    }
    if out.is_empty() {
        out.push(line(None, None, Vec::new(), &[]));
    }
    out
}
