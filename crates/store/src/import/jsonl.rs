//! JSON Lines: one object per line with at least `text`; other keys are kept as metadata.
//!
//! Recognised keys: `id`, `text`, `category`, `description`, `subject_id`, `hadm_id`,
//! `chart_date`; labels as `label` (comma-joined, with an aligned `adverse`) or `labels`
//! (`["HOUSING", …]` or `[{"label": …, "attributes": {…}}, …]`); spans as `spans`
//! (`[{"start", "end", "label", "attributes", "fragments": [[s, e], …]}]`, code points, as
//! Clinitune's own JSONL export writes them).

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::Path;

use api::AnnotationStatus;
use serde_json::{Map, Value};

use super::{
    ImportOptions, Record, RecordLabel, RecordSpan, Sink, check_utf8, fragments_to_bytes,
    labels_from_cells, merge_labels, regular_file,
};
use crate::error::{Error, Result};
use crate::notes::NewNote;

pub(super) fn read(path: &Path, options: &ImportOptions, sink: &mut Sink<'_, '_>) -> Result<()> {
    read_lines(path, options, sink, parse_line)
}

/// A line's record and the annotations refused on it; `Err` refuses the whole line.
pub(super) type ParsedLine = Result<(Record, Vec<String>), String>;

/// Reads a JSON Lines file, one record per line through `parse`; refused lines are reported
/// with their line number (Prodigy's reader shares this).
pub(super) fn read_lines(
    path: &Path,
    options: &ImportOptions,
    sink: &mut Sink<'_, '_>,
    parse: fn(&str, &ImportOptions, Option<String>) -> ParsedLine,
) -> Result<()> {
    regular_file(path)?;
    check_utf8(path, options.lossy)?;
    let io = |source| Error::Io {
        action: "read",
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let size = file.metadata().map(|m| m.len()).ok();
    let mut reader = std::io::BufReader::with_capacity(1 << 16, file);
    let source = path.file_name().map(|n| n.to_string_lossy().into_owned());
    sink.begin(
        format!("importing {}", source.as_deref().unwrap_or("JSONL")),
        size,
        "bytes",
    );
    let mut buf = Vec::new();
    let mut line_no = 0u64;
    let mut read_bytes = 0u64;
    while !sink.stopped() {
        buf.clear();
        let n = reader.read_until(b'\n', &mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        line_no += 1;
        read_bytes += n as u64;
        let line = String::from_utf8_lossy(&buf);
        // Editors on Windows start UTF-8 files with a byte-order mark; it is not part of the JSON.
        let line = match line_no {
            1 => line.strip_prefix('\u{feff}').unwrap_or(&line),
            _ => &line,
        };
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        sink.advance_to(read_bytes);
        match parse(line, options, source.clone()) {
            Ok((record, problems)) => {
                for p in problems {
                    sink.reject(path, line_no, p);
                }
                sink.push(record)?;
            }
            Err(reason) => sink.reject(path, line_no, reason),
        }
    }
    Ok(())
}

fn key<'a>(given: &'a Option<String>, default: &'a str) -> &'a str {
    given.as_deref().unwrap_or(default)
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().to_owned()).filter(|s| !s.is_empty()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn attributes(v: Option<&Value>) -> BTreeMap<String, String> {
    match v {
        Some(Value::Object(map)) => map
            .iter()
            .filter_map(|(k, v)| scalar(v).map(|s| (k.clone(), s)))
            .collect(),
        _ => BTreeMap::new(),
    }
}

/// An annotation's status: gold when the line gives none; a status this version does not know
/// refuses the annotation (it must never become gold by default).
fn status(v: Option<&Value>) -> Result<AnnotationStatus, String> {
    match v {
        None | Some(Value::Null) => Ok(AnnotationStatus::Gold),
        Some(Value::String(s)) => AnnotationStatus::parse(s)
            .ok_or_else(|| format!("\"status\" must be gold, suggested or rejected, not {s:?}")),
        Some(other) => Err(format!("\"status\" must be a string, found {other}")),
    }
}

/// One line into a record; `Err` refuses the line, the `Vec` lists annotations refused.
fn parse_line(line: &str, options: &ImportOptions, source: Option<String>) -> ParsedLine {
    let value: Value = serde_json::from_str(line).map_err(|e| format!("not valid JSON: {e}"))?;
    let Value::Object(mut obj) = value else {
        return Err("expected a JSON object".to_owned());
    };
    let c = &options.columns;
    let text_key = key(&c.text, "text");
    let text = match obj.remove(text_key) {
        Some(Value::String(s)) => s,
        Some(_) => return Err(format!("\"{text_key}\" must be a string")),
        None => {
            return Err(format!(
                "no \"{text_key}\" key; name the text key with --text-col"
            ));
        }
    };
    let mut take = |name: &str| obj.remove(name).as_ref().and_then(scalar);
    let external_id = take(key(&c.id, "id"));
    let category = take(key(&c.category, "category"));
    let description = take(key(&c.description, "description"));
    let subject_id = take(key(&c.subject, "subject_id"));
    let hadm_id = take(key(&c.hadm, "hadm_id"));
    let chart_date = take(key(&c.date, "chart_date")).or_else(|| take("chartdate"));
    let adverse = take(key(&c.adverse, "adverse"));
    let mut problems = Vec::new();
    let mut labels = Vec::new();
    if let Some(v) = obj.remove(key(&c.label, "label")) {
        match scalar(&v) {
            Some(cell) => match labels_from_cells(&cell, adverse.as_deref()) {
                Ok(l) => labels.extend(l),
                Err(reason) => problems.push(format!("labels not imported: {reason}")),
            },
            None => problems.push("\"label\" must be a string".to_owned()),
        }
    }
    if let Some(list) = obj.remove("labels") {
        match list {
            Value::Array(items) => {
                for item in items {
                    match &item {
                        Value::String(name) => labels.push(RecordLabel {
                            label: name.trim().to_owned(),
                            status: AnnotationStatus::Gold,
                            attributes: BTreeMap::new(),
                            annotator: None,
                        }),
                        Value::Object(o) => match o.get("label").and_then(Value::as_str) {
                            Some(name) => match status(o.get("status")) {
                                Ok(status) => labels.push(RecordLabel {
                                    label: name.trim().to_owned(),
                                    status,
                                    attributes: attributes(o.get("attributes")),
                                    annotator: None,
                                }),
                                Err(reason) => {
                                    problems.push(format!("label {name:?} not imported: {reason}"))
                                }
                            },
                            None => {
                                problems.push(format!("label without a \"label\" name: {item}"))
                            }
                        },
                        other => problems.push(format!("label {other} is not a name or object")),
                    }
                }
            }
            Value::String(cell) => match labels_from_cells(&cell, None) {
                Ok(l) => labels.extend(l),
                Err(reason) => problems.push(reason),
            },
            other => problems.push(format!("\"labels\" must be a list, found {other}")),
        }
    }
    labels.retain(|l| !l.label.is_empty());
    let mut spans = Vec::new();
    if let Some(list) = obj.remove("spans") {
        match list {
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    match parse_span(&text, item) {
                        Ok(span) => spans.push(span),
                        Err(reason) => {
                            problems.push(format!("span {} not imported: {reason}", i + 1))
                        }
                    }
                }
            }
            other => problems.push(format!("\"spans\" must be a list, found {other}")),
        }
    }
    let metadata: Map<String, Value> = obj;
    Ok((
        Record {
            note: NewNote {
                external_id,
                source,
                category,
                description,
                subject_id,
                hadm_id,
                chart_date,
                text,
                metadata,
            },
            labels: merge_labels(labels),
            spans,
            extras: Vec::new(),
            prepared: None,
            status: None,
            add_to_existing: false,
            kept_results: 0,
        },
        problems,
    ))
}

fn parse_span(text: &str, item: &Value) -> Result<RecordSpan, String> {
    let Value::Object(o) = item else {
        return Err("expected an object".to_owned());
    };
    let label = o
        .get("label")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or("no \"label\"")?;
    let as_offset = |v: Option<&Value>| {
        v.and_then(Value::as_u64)
            .and_then(|n| usize::try_from(n).ok())
    };
    let fragments: Vec<(usize, usize)> = match o.get("fragments") {
        Some(Value::Array(parts)) => parts
            .iter()
            .map(|p| match p.as_array().map(Vec::as_slice) {
                Some([s, e]) => as_offset(Some(s)).zip(as_offset(Some(e))),
                _ => None,
            })
            .collect::<Option<Vec<_>>>()
            .ok_or("\"fragments\" must be [[start, end], …] in characters")?,
        _ => vec![
            as_offset(o.get("start"))
                .zip(as_offset(o.get("end")))
                .ok_or("\"start\" and \"end\" must be character offsets")?,
        ],
    };
    if fragments.is_empty() {
        return Err("no fragments".to_owned());
    }
    Ok(RecordSpan {
        label: label.to_owned(),
        status: status(o.get("status"))?,
        fragments: fragments_to_bytes(text, &fragments)?,
        attributes: attributes(o.get("attributes")),
        comment: o.get("comment").and_then(Value::as_str).map(str::to_owned),
        source_ref: o.get("ref").and_then(Value::as_str).map(str::to_owned),
        annotator: None,
    })
}
