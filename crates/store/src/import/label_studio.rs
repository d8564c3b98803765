//! A Label Studio JSON export: one JSON array of tasks, each with its `data` and the
//! annotators' `annotations` (`completions` in exports before 1.0) and model `predictions`.
//!
//! The note text is `data.text` (or the `--text-col` key, or the only string field of `data`, or
//! the first one by name); `data.id` is the external id; other `data` fields are metadata.
//! Results are read by type: `labels` become spans (`value.start`/`end` are JavaScript string
//! indices, UTF-16 units, converted to bytes and checked against `value.text`), `choices`
//! document labels (or, when they share a region's id, that span's attributes), `textarea`
//! the span's comment when it shares a region's id. Everything else (note-level text areas,
//! relations, ratings) is kept verbatim in the note's metadata under [`KEPT_KEY`] and written
//! back by the export. Each `completed_by` is an annotator; predictions are suggestions.
//!
//! The array is read one task at a time, so a bad task is reported with its index and line
//! and the others are imported.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader};
use std::path::Path;

use api::{AnnotationStatus, NoteStatus};
use serde_json::{Map, Value};

use super::{
    ImportOptions, MAX_NOTE_FILE_BYTES, Record, RecordLabel, RecordSpan, Sink, Unit, check_utf8,
    fragments_to_bytes_in, merge_labels, regular_file,
};
use crate::error::{Error, Result};
use crate::notes::NewNote;

/// Metadata key holding results Clinitune has no place for: `[{"annotator", "result"}]`.
pub const KEPT_KEY: &str = "label_studio_kept";

/// Annotator name of a Label Studio user known only by number.
pub(crate) fn user_annotator(id: &str) -> String {
    format!("label-studio-{id}")
}

/// Annotator name given to a model version's predictions.
pub(crate) fn prediction_annotator(model_version: Option<&str>) -> String {
    match model_version {
        Some(v) => format!("label-studio-prediction:{v}"),
        None => "label-studio-prediction".to_owned(),
    }
}

pub(super) fn read(path: &Path, options: &ImportOptions, sink: &mut Sink<'_, '_>) -> Result<()> {
    let size = regular_file(path)?;
    check_utf8(path, options.lossy)?;
    let io = |source| Error::Io {
        action: "read",
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let source = path.file_name().map(|n| n.to_string_lossy().into_owned());
    sink.begin(
        format!(
            "importing {}",
            source.as_deref().unwrap_or("Label Studio tasks")
        ),
        Some(size),
        "bytes",
    );
    let mut tasks = Tasks::new(BufReader::with_capacity(1 << 16, file));
    while !sink.stopped() {
        let task = match tasks.next_task() {
            Ok(Some(task)) => task,
            Ok(None) => break,
            Err(Scan::Io(e)) => return Err(io(e)),
            Err(Scan::Broken { line, reason }) => {
                sink.reject(
                    path,
                    line,
                    format!("{reason}; the rest of the file was not read"),
                );
                break;
            }
        };
        sink.advance_to(tasks.bytes_read);
        let where_ = format!("task {}", task.index + 1);
        if task.too_large {
            sink.reject(
                path,
                task.line,
                format!("{where_} is larger than {MAX_NOTE_FILE_BYTES} bytes; not imported"),
            );
            continue;
        }
        let json = String::from_utf8_lossy(&task.bytes);
        let value: Value = match serde_json::from_str(&json) {
            Ok(v) => v,
            Err(e) => {
                // serde counts lines from the task's first line.
                let line = task.line + (e.line() as u64).saturating_sub(1);
                sink.reject(path, line, format!("{where_} is not valid JSON: {e}"));
                continue;
            }
        };
        match parse_task(value, options, source.clone()) {
            Ok((record, problems)) => {
                for p in problems {
                    sink.reject(path, task.line, format!("{where_}: {p}"));
                }
                sink.push(record)?;
            }
            Err(reason) => sink.reject(path, task.line, format!("{where_} not imported: {reason}")),
        }
    }
    Ok(())
}

/// One element of the top-level array, as bytes, with where it starts.
struct RawTask {
    index: usize,
    line: u64,
    bytes: Vec<u8>,
    too_large: bool,
}

enum Scan {
    Io(std::io::Error),
    /// The array itself is broken (not an array, unterminated): nothing after can be trusted.
    Broken {
        line: u64,
        reason: String,
    },
}

/// Splits the top-level JSON array into its elements without parsing them, tracking strings
/// and nesting, so one malformed task does not stop the others and memory holds one task.
struct Tasks<R> {
    reader: R,
    line: u64,
    bytes_read: u64,
    index: usize,
    state: ArrayState,
}

#[derive(PartialEq, Eq)]
enum ArrayState {
    Before,
    Inside,
    Done,
}

impl<R: BufRead> Tasks<R> {
    fn new(reader: R) -> Self {
        Tasks {
            reader,
            line: 1,
            bytes_read: 0,
            index: 0,
            state: ArrayState::Before,
        }
    }

    fn byte(&mut self) -> std::result::Result<Option<u8>, Scan> {
        let mut b = [0u8];
        loop {
            return match self.reader.read(&mut b) {
                Ok(0) => Ok(None),
                Ok(_) => {
                    self.bytes_read += 1;
                    if b[0] == b'\n' {
                        self.line += 1;
                    }
                    Ok(Some(b[0]))
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => Err(Scan::Io(e)),
            };
        }
    }

    /// The next byte that is not whitespace (nor a byte-order mark before the array).
    fn significant(&mut self) -> std::result::Result<Option<u8>, Scan> {
        while let Some(b) = self.byte()? {
            let bom = self.state == ArrayState::Before && matches!(b, 0xEF | 0xBB | 0xBF);
            if !b.is_ascii_whitespace() && !bom {
                return Ok(Some(b));
            }
        }
        Ok(None)
    }

    fn next_task(&mut self) -> std::result::Result<Option<RawTask>, Scan> {
        if self.state == ArrayState::Before {
            match self.significant()? {
                Some(b'[') => self.state = ArrayState::Inside,
                Some(b'{') => {
                    return Err(Scan::Broken {
                        line: self.line,
                        reason: "the file is one JSON object, not an array of tasks; export \
                                 the project from Label Studio as JSON (not JSON-MIN or a \
                                 single task)"
                            .to_owned(),
                    });
                }
                Some(_) => {
                    return Err(Scan::Broken {
                        line: self.line,
                        reason: "not a Label Studio JSON export (expected a JSON array of tasks)"
                            .to_owned(),
                    });
                }
                None => {
                    return Err(Scan::Broken {
                        line: self.line,
                        reason: "the file is empty".to_owned(),
                    });
                }
            }
        }
        if self.state == ArrayState::Done {
            return Ok(None);
        }
        let first = loop {
            match self.significant()? {
                Some(b',') => continue,
                Some(b']') => {
                    self.close()?;
                    return Ok(None);
                }
                Some(b) => break b,
                None => {
                    return Err(Scan::Broken {
                        line: self.line,
                        reason: "the file ends before the array is closed (is it cut short?)"
                            .to_owned(),
                    });
                }
            }
        };
        let start_line = self.line;
        let index = self.index;
        self.index += 1;
        let limit = usize::try_from(MAX_NOTE_FILE_BYTES).unwrap_or(usize::MAX);
        let mut task = RawTask {
            index,
            line: start_line,
            bytes: Vec::new(),
            too_large: false,
        };
        let cut_short = |line| Scan::Broken {
            line,
            reason: format!(
                "task {} is not closed before the file ends (is the file cut short?)",
                index + 1
            ),
        };
        let (mut depth, mut in_string, mut escaped) = (0u32, false, false);
        let mut b = first;
        loop {
            if task.bytes.len() < limit {
                task.bytes.push(b);
            } else {
                task.too_large = true;
            }
            if in_string {
                match (escaped, b) {
                    (true, _) => escaped = false,
                    (false, b'\\') => escaped = true,
                    (false, b'"') => in_string = false,
                    _ => {}
                }
            } else {
                match b {
                    b'"' => in_string = true,
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => depth = depth.saturating_sub(1),
                    _ => {}
                }
            }
            if depth == 0 && !in_string {
                let bare = !matches!(first, b'{' | b'[' | b'"');
                if !bare {
                    break;
                }
                // A bare scalar (refused later as "not an object") runs to `,`, `]` or a space.
                match self.byte()? {
                    Some(b',') => return Ok(Some(task)),
                    Some(b']') => {
                        self.close()?;
                        return Ok(Some(task));
                    }
                    Some(next) if next.is_ascii_whitespace() => break,
                    Some(next) => {
                        b = next;
                        continue;
                    }
                    None => return Err(cut_short(start_line)),
                }
            }
            b = match self.byte()? {
                Some(next) => next,
                None => return Err(cut_short(start_line)),
            };
        }
        match self.significant()? {
            Some(b',') => Ok(Some(task)),
            Some(b']') => {
                self.close()?;
                Ok(Some(task))
            }
            Some(_) => Err(Scan::Broken {
                line: self.line,
                reason: format!("a comma or ] was expected after task {}", index + 1),
            }),
            None => Err(Scan::Broken {
                line: self.line,
                reason: "the file ends before the array is closed (is it cut short?)".to_owned(),
            }),
        }
    }

    /// After the closing `]`: only whitespace may follow.
    fn close(&mut self) -> std::result::Result<(), Scan> {
        self.state = ArrayState::Done;
        match self.significant()? {
            Some(_) => Err(Scan::Broken {
                line: self.line,
                reason: "text after the end of the array".to_owned(),
            }),
            None => Ok(()),
        }
    }
}

/// The name a `completed_by` gives: an e-mail or a name when there is one, else the user id.
fn annotator_name(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::Number(n) => Some(user_annotator(&n.to_string())),
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Object(o) => ["email", "username", "name"]
            .iter()
            .find_map(|k| o.get(*k).and_then(Value::as_str))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .or_else(|| annotator_name(o.get("id"))),
        _ => None,
    }
}

fn strings(v: Option<&Value>) -> Option<Vec<String>> {
    match v? {
        Value::Array(items) => items
            .iter()
            .map(|i| match i {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .collect(),
        Value::String(s) => Some(vec![s.clone()]),
        _ => None,
    }
}

/// The note text of a task's `data`, and the key it was under.
fn task_text(
    data: &Map<String, Value>,
    options: &ImportOptions,
) -> Result<(String, String), String> {
    if let Some(key) = &options.columns.text {
        return match data.get(key) {
            Some(Value::String(s)) => Ok((key.clone(), s.clone())),
            Some(_) => Err(format!("data.{key} is not a string")),
            None => Err(format!("no data.{key}")),
        };
    }
    if let Some(Value::String(s)) = data.get("text") {
        return Ok(("text".to_owned(), s.clone()));
    }
    // serde_json keeps keys sorted, so "first" is the first by name.
    data.iter()
        .find_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_owned())))
        .ok_or_else(|| {
            "data has no text field (Clinitune imports text tasks; name the field with \
             --text-col)"
                .to_owned()
        })
}

/// One task into a record; `Err` refuses the task, the `Vec` lists results refused.
fn parse_task(
    value: Value,
    options: &ImportOptions,
    source: Option<String>,
) -> Result<(Record, Vec<String>), String> {
    let Value::Object(mut task) = value else {
        return Err("expected a JSON object".to_owned());
    };
    let Some(Value::Object(mut data)) = task.remove("data") else {
        return Err("no \"data\" object".to_owned());
    };
    let (text_key, text) = task_text(&data, options)?;
    data.remove(&text_key);
    let id_key = options.columns.id.as_deref().unwrap_or("id");
    let external_id = match data.remove(id_key) {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let mut metadata = data;
    // Kept results written by our own export come back with the rest.
    let mut kept: Vec<Value> = match metadata.remove(KEPT_KEY) {
        Some(Value::Array(items)) => items,
        _ => Vec::new(),
    };
    let already_kept = kept.len();
    let mut problems = Vec::new();
    let mut spans = Vec::new();
    let mut labels = Vec::new();
    let annotations = match task
        .remove("annotations")
        .or_else(|| task.remove("completions"))
    {
        Some(Value::Array(items)) => items,
        Some(Value::Null) | None => Vec::new(),
        Some(_) => return Err("\"annotations\" is not a list".to_owned()),
    };
    let (mut done, mut cancelled) = (0usize, 0usize);
    for (i, annotation) in annotations.iter().enumerate() {
        let Value::Object(a) = annotation else {
            problems.push(format!("annotation {} is not an object; skipped", i + 1));
            continue;
        };
        if a.get("was_cancelled").and_then(Value::as_bool) == Some(true) {
            cancelled += 1;
            continue;
        }
        done += 1;
        let who = annotator_name(a.get("completed_by"));
        let mut read = Results {
            text: &text,
            annotator: who.clone(),
            status: AnnotationStatus::Gold,
            spans: &mut spans,
            labels: &mut labels,
            problems: &mut problems,
            kept: Some(&mut kept),
        };
        read.all(a.get("result"), &format!("annotation {}", i + 1));
    }
    if let Some(Value::Array(predictions)) = task.get("predictions") {
        for (i, prediction) in predictions.iter().enumerate() {
            let Value::Object(p) = prediction else {
                problems.push(format!("prediction {} is not an object; skipped", i + 1));
                continue;
            };
            let version = p.get("model_version").and_then(|v| match v {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            });
            let mut read = Results {
                text: &text,
                annotator: Some(prediction_annotator(version.as_deref())),
                status: AnnotationStatus::Suggested,
                spans: &mut spans,
                labels: &mut labels,
                problems: &mut problems,
                kept: None,
            };
            read.all(p.get("result"), &format!("prediction {}", i + 1));
        }
    }
    let kept_results = (kept.len() - already_kept) as u64;
    if !kept.is_empty() {
        metadata.insert(KEPT_KEY.to_owned(), Value::Array(kept));
    }
    let status = if done > 0 {
        Some(NoteStatus::Done)
    } else if cancelled > 0 {
        Some(NoteStatus::Skipped)
    } else {
        None
    };
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
            status,
            add_to_existing: true,
            kept_results,
        },
        problems,
    ))
}

/// Reads one annotation's (or prediction's) `result` list.
struct Results<'a> {
    text: &'a str,
    annotator: Option<String>,
    status: AnnotationStatus,
    spans: &'a mut Vec<RecordSpan>,
    labels: &'a mut Vec<RecordLabel>,
    problems: &'a mut Vec<String>,
    /// Where results with no Clinitune counterpart go (`None`: predictions, dropped).
    kept: Option<&'a mut Vec<Value>>,
}

impl Results<'_> {
    fn all(&mut self, results: Option<&Value>, whose: &str) {
        let results = match results {
            Some(Value::Array(items)) => items.as_slice(),
            Some(Value::Null) | None => &[],
            Some(_) => {
                self.problems
                    .push(format!("{whose}: \"result\" is not a list; skipped"));
                return;
            }
        };
        // Regions first, so per-region choices and text areas find their span.
        let mut regions: HashMap<String, Vec<usize>> = HashMap::new();
        for (j, r) in results.iter().enumerate() {
            if r.get("type").and_then(Value::as_str) != Some("labels") {
                continue;
            }
            let first = self.spans.len();
            match self.region(r) {
                Ok(()) => {
                    if let Some(id) = r.get("id").and_then(Value::as_str) {
                        regions
                            .entry(id.to_owned())
                            .or_default()
                            .extend(first..self.spans.len());
                    }
                }
                Err(reason) => self.problems.push(format!(
                    "{whose}, result {}{}: span not imported: {reason}",
                    j + 1,
                    result_id(r)
                )),
            }
        }
        for (j, r) in results.iter().enumerate() {
            let kind = r.get("type").and_then(Value::as_str).unwrap_or_default();
            let region = r
                .get("id")
                .and_then(Value::as_str)
                .and_then(|id| regions.get(id));
            let value = r.get("value");
            match (kind, region) {
                ("labels", _) => {}
                ("choices", Some(region)) => match strings(value.and_then(|v| v.get("choices"))) {
                    Some(choices) => {
                        let name = from_name(r);
                        for &k in region {
                            if let Some(span) = self.spans.get_mut(k) {
                                span.attributes.insert(name.clone(), choices.join(", "));
                            }
                        }
                    }
                    None => self.problems.push(format!(
                        "{whose}, result {}{}: value.choices is not a list of names",
                        j + 1,
                        result_id(r)
                    )),
                },
                ("choices", None) => match strings(value.and_then(|v| v.get("choices"))) {
                    Some(choices) => {
                        for c in choices.into_iter().filter(|c| !c.trim().is_empty()) {
                            self.labels.push(RecordLabel {
                                label: c.trim().to_owned(),
                                status: self.status,
                                attributes: BTreeMap::new(),
                                annotator: self.annotator.clone(),
                            });
                        }
                    }
                    None => self.problems.push(format!(
                        "{whose}, result {}{}: value.choices is not a list of names",
                        j + 1,
                        result_id(r)
                    )),
                },
                ("textarea", Some(region)) => {
                    let lines = strings(value.and_then(|v| v.get("text"))).unwrap_or_default();
                    for &k in region {
                        if let Some(span) = self.spans.get_mut(k) {
                            span.comment = Some(lines.join("\n"));
                        }
                    }
                }
                _ => {
                    if let Some(kept) = self.kept.as_deref_mut() {
                        kept.push(serde_json::json!({
                            "annotator": self.annotator,
                            "result": r,
                        }));
                    }
                }
            }
        }
    }

    /// One `labels` result: a span per label, offsets checked against the text.
    fn region(&mut self, r: &Value) -> Result<(), String> {
        let value = r.get("value").ok_or("no \"value\"")?;
        let offset = |k: &str| {
            value
                .get(k)
                .and_then(Value::as_u64)
                .and_then(|n| usize::try_from(n).ok())
        };
        let (Some(start), Some(end)) = (offset("start"), offset("end")) else {
            return Err(
                "value.start and value.end must be whole numbers (character offsets)".to_owned(),
            );
        };
        let names = strings(value.get("labels")).ok_or("value.labels is not a list of names")?;
        if names.is_empty() {
            return Err("value.labels is empty".to_owned());
        }
        let fragments = fragments_to_bytes_in(self.text, &[(start, end)], Unit::Utf16)?;
        if let (Some(given), Some(f)) =
            (value.get("text").and_then(Value::as_str), fragments.first())
            && self.text.get(f.start..f.end) != Some(given)
        {
            let as_chars = fragments_to_bytes_in(self.text, &[(start, end)], Unit::Chars)
                .ok()
                .and_then(|f| f.first().copied())
                .is_some_and(|f| self.text.get(f.start..f.end) == Some(given));
            return Err(if as_chars {
                format!(
                    "offsets {start}-{end} cover different text than value.text as UTF-16 \
                     units, but match it as code points: the file was not written by Label \
                     Studio's JSON export (which counts UTF-16 units)"
                )
            } else {
                format!(
                    "offsets {start}-{end} cover different text than value.text (was the task \
                     text changed after annotation?)"
                )
            });
        }
        let id = r.get("id").and_then(Value::as_str).map(str::to_owned);
        for name in names.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
            self.spans.push(RecordSpan {
                label: name.to_owned(),
                status: self.status,
                fragments: fragments.clone(),
                attributes: BTreeMap::new(),
                comment: None,
                source_ref: id.clone(),
                annotator: self.annotator.clone(),
            });
        }
        Ok(())
    }
}

fn from_name(r: &Value) -> String {
    r.get("from_name")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .unwrap_or("choice")
        .to_owned()
}

fn result_id(r: &Value) -> String {
    r.get("id")
        .and_then(Value::as_str)
        .map(|id| format!(" (id {id})"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
