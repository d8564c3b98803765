//! CSV with a header row; MIMIC-III NOTEEVENTS columns are recognised by name.

use std::path::Path;

use serde_json::Value;

use super::{ImportOptions, Record, Sink, check_utf8, labels_from_cells};
use crate::error::{Error, Result};
use crate::notes::NewNote;

/// Names each field is recognised by, case-insensitively, when no column is given.
const TEXT: &[&str] = &["text", "note_text", "note", "body"];
const ID: &[&str] = &["row_id", "id", "note_id"];
const CATEGORY: &[&str] = &["category", "note_type"];
const DESCRIPTION: &[&str] = &["description", "title"];
const SUBJECT: &[&str] = &["subject_id", "patient_id"];
const HADM: &[&str] = &["hadm_id", "admission_id"];
const DATE: &[&str] = &["chartdate", "chart_date", "date"];
const LABEL: &[&str] = &["label", "labels"];
const ADVERSE: &[&str] = &["adverse"];

struct Layout {
    text: usize,
    id: Option<usize>,
    category: Option<usize>,
    description: Option<usize>,
    subject: Option<usize>,
    hadm: Option<usize>,
    date: Option<usize>,
    label: Option<usize>,
    adverse: Option<usize>,
    headers: Vec<String>,
}

impl Layout {
    fn known(&self, i: usize) -> bool {
        i == self.text
            || [
                self.id,
                self.category,
                self.description,
                self.subject,
                self.hadm,
                self.date,
                self.label,
                self.adverse,
            ]
            .contains(&Some(i))
    }
}

fn find(
    headers: &[String],
    given: Option<&String>,
    names: &[&str],
    flag: &str,
    path: &Path,
) -> Result<Option<usize>> {
    match given {
        Some(name) => headers
            .iter()
            .position(|h| h.eq_ignore_ascii_case(name))
            .map(Some)
            .ok_or_else(|| Error::BadHeader {
                path: path.to_owned(),
                message: format!(
                    "{flag} {name:?} is not a column; the header has: {}",
                    headers.join(", ")
                ),
            }),
        None => Ok(names
            .iter()
            .find_map(|n| headers.iter().position(|h| h.eq_ignore_ascii_case(n)))),
    }
}

pub(super) fn read(path: &Path, options: &ImportOptions, sink: &mut Sink<'_, '_>) -> Result<()> {
    check_utf8(path, options.lossy)?;
    let io = |source| Error::Io {
        action: "read",
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let size = file.metadata().map(|m| m.len()).ok();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .buffer_capacity(1 << 16)
        .from_reader(std::io::BufReader::with_capacity(1 << 16, file));
    let headers: Vec<String> = reader
        .byte_headers()
        .map_err(|e| Error::BadHeader {
            path: path.to_owned(),
            message: e.to_string(),
        })?
        .iter()
        .map(|h| String::from_utf8_lossy(h).trim().to_owned())
        .collect();
    let c = &options.columns;
    let text = find(&headers, c.text.as_ref(), TEXT, "--text-col", path)?.ok_or_else(|| {
        Error::BadHeader {
            path: path.to_owned(),
            message: format!(
                "no text column (looked for {}); the header has: {}. Name it with --text-col",
                TEXT.join(", "),
                headers.join(", ")
            ),
        }
    })?;
    let layout = Layout {
        text,
        id: find(&headers, c.id.as_ref(), ID, "--id-col", path)?,
        category: find(
            &headers,
            c.category.as_ref(),
            CATEGORY,
            "--category-col",
            path,
        )?,
        description: find(
            &headers,
            c.description.as_ref(),
            DESCRIPTION,
            "--description-col",
            path,
        )?,
        subject: find(&headers, c.subject.as_ref(), SUBJECT, "--subject-col", path)?,
        hadm: find(&headers, c.hadm.as_ref(), HADM, "--hadm-col", path)?,
        date: find(&headers, c.date.as_ref(), DATE, "--date-col", path)?,
        label: find(&headers, c.label.as_ref(), LABEL, "--label-col", path)?,
        adverse: find(&headers, c.adverse.as_ref(), ADVERSE, "--adverse-col", path)?,
        headers,
    };
    let source = path.file_name().map(|n| n.to_string_lossy().into_owned());
    sink.begin(
        format!("importing {}", source.as_deref().unwrap_or("CSV")),
        size,
        "bytes",
    );
    let mut row = csv::ByteRecord::new();
    loop {
        if sink.stopped() {
            break;
        }
        match reader.read_byte_record(&mut row) {
            Ok(false) => break,
            Ok(true) => {
                let line = row.position().map_or(0, csv::Position::line);
                let field = |i: usize| -> String {
                    row.get(i)
                        .map(|b| String::from_utf8_lossy(b).into_owned())
                        .unwrap_or_default()
                };
                let opt = |i: Option<usize>| -> Option<String> {
                    i.map(|i| field(i).trim().to_owned())
                        .filter(|s| !s.is_empty())
                };
                let mut metadata = serde_json::Map::new();
                for (i, name) in layout.headers.iter().enumerate() {
                    if !layout.known(i) {
                        metadata.insert(name.clone(), Value::String(field(i).trim().to_owned()));
                    }
                }
                let labels = match opt(layout.label) {
                    Some(cell) => match labels_from_cells(&cell, opt(layout.adverse).as_deref()) {
                        Ok(labels) => labels,
                        Err(reason) => {
                            sink.reject(path, line, format!("labels not imported: {reason}"));
                            Vec::new()
                        }
                    },
                    None => Vec::new(),
                };
                let record = Record {
                    note: NewNote {
                        external_id: opt(layout.id),
                        source: source.clone(),
                        category: opt(layout.category),
                        description: opt(layout.description),
                        subject_id: opt(layout.subject),
                        hadm_id: opt(layout.hadm),
                        chart_date: opt(layout.date),
                        text: field(layout.text),
                        metadata,
                    },
                    labels,
                    ..Record::default()
                };
                sink.advance_to(row.position().map_or(0, csv::Position::byte));
                sink.push(record)?;
            }
            Err(e) => {
                let line = e.position().map_or(0, csv::Position::line);
                match e.kind() {
                    csv::ErrorKind::UnequalLengths {
                        expected_len, len, ..
                    } => sink.reject(
                        path,
                        line,
                        format!("row has {len} columns; expected {expected_len} as in the header"),
                    ),
                    csv::ErrorKind::Io(_) => {
                        return Err(Error::Io {
                            action: "read",
                            path: path.to_owned(),
                            source: std::io::Error::other(e.to_string()),
                        });
                    }
                    _ => sink.reject(path, line, e.to_string()),
                }
            }
        }
    }
    Ok(())
}
