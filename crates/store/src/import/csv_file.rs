//! CSV with a header row; MIMIC-III NOTEEVENTS columns are recognised by name.

use std::collections::VecDeque;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use serde_json::Value;

use super::{ImportOptions, Record, Sink, check_utf8, labels_from_cells, regular_file};
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
        // The first line may be a note rather than a header: its cells are never echoed.
        Some(name) => headers
            .iter()
            .position(|h| h.eq_ignore_ascii_case(name))
            .map(Some)
            .ok_or_else(|| Error::BadHeader {
                path: path.to_owned(),
                message: format!(
                    "{flag} {name:?} is not a column; line 1 (the header) has {} columns and \
                     none is named so",
                    headers.len()
                ),
            }),
        None => Ok(names
            .iter()
            .find_map(|n| headers.iter().position(|h| h.eq_ignore_ascii_case(n)))),
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
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .buffer_capacity(1 << 16)
        .from_reader(Watched::new(file).map_err(io)?);
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
                "no text column: line 1 should be a header, and none of its {} columns is named \
                 {}. Add a header row, or name the text column with --text-col",
                headers.len(),
                TEXT.join(", ")
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
        Some(size),
        "bytes",
    );
    let mut row = csv::ByteRecord::new();
    loop {
        if sink.stopped() {
            break;
        }
        let result = reader.read_byte_record(&mut row);
        let start = match &result {
            Ok(_) => row.position(),
            Err(e) => e.position(),
        }
        .cloned()
        .unwrap_or_else(csv::Position::new);
        let end = reader.position().byte();
        if reader.get_mut().fault_within(start.byte(), end) {
            sink.reject(
                path,
                start.line(),
                "a quoted field is not closed properly (a stray or missing \"); this row was \
                 not imported",
            );
            // The rows its quote swallowed are read again from the next line.
            if let Some(next) = reader.get_ref().line_start_after(start.byte())
                && next < end
            {
                let mut resume = csv::Position::new();
                resume.set_byte(next).set_line(start.line() + 1);
                reader.seek(resume).map_err(|e| Error::Io {
                    action: "read",
                    path: path.to_owned(),
                    source: std::io::Error::other(e.to_string()),
                })?;
            }
            continue;
        }
        match result {
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

/// Where an RFC 4180 reader is in the bytes, as far as quotes go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Quoting {
    /// At the start of a field (or record).
    FieldStart,
    /// In a field that did not start with a quote: quotes are plain characters.
    Unquoted,
    /// Inside a quoted field.
    Quoted,
    /// Just after a quote inside a quoted field: a second quote escapes it, a comma or line end
    /// closes the field, and anything else means the quoting went wrong.
    QuoteInQuoted,
}

/// The CSV file as the parser reads it, watched for quotes that go wrong.
///
/// The csv crate accepts a quoted field that never closes (it runs to the end of the file) and
/// text after a closing quote; either way a missing quote silently merges the rows after it
/// into one note. This wrapper follows the same quoting rules over the same bytes and notes
/// where they break (`faults`) and where lines start, so that the reader can refuse the broken
/// row and read the rows it swallowed again. A UTF-8 byte-order mark at the start is skipped;
/// offsets are those the parser sees.
struct Watched {
    file: std::fs::File,
    /// Bytes skipped at the start of the file (a byte-order mark).
    skipped: u64,
    /// Offset of the next byte handed to the parser.
    offset: u64,
    quoting: Quoting,
    faults: VecDeque<u64>,
    line_starts: VecDeque<u64>,
}

impl Watched {
    fn new(mut file: std::fs::File) -> std::io::Result<Watched> {
        let mut head = [0u8; 3];
        let mut got = 0;
        while got < head.len() {
            match file.read(&mut head[got..])? {
                0 => break,
                n => got += n,
            }
        }
        let skipped = if head[..got] == [0xEF, 0xBB, 0xBF] {
            3
        } else {
            0
        };
        file.seek(SeekFrom::Start(skipped))?;
        Ok(Watched {
            file,
            skipped,
            offset: 0,
            quoting: Quoting::FieldStart,
            faults: VecDeque::new(),
            line_starts: VecDeque::new(),
        })
    }

    fn watch(&mut self, byte: u8) {
        let at = self.offset;
        self.offset += 1;
        if byte == b'\n' {
            self.line_starts.push_back(at + 1);
        }
        let end_of_field = byte == b',' || byte == b'\n' || byte == b'\r';
        self.quoting = match (self.quoting, byte) {
            (Quoting::FieldStart, b'"') => Quoting::Quoted,
            (Quoting::FieldStart | Quoting::Unquoted, _) if end_of_field => Quoting::FieldStart,
            (Quoting::FieldStart | Quoting::Unquoted, _) => Quoting::Unquoted,
            (Quoting::Quoted, b'"') => Quoting::QuoteInQuoted,
            (Quoting::Quoted, _) => Quoting::Quoted,
            (Quoting::QuoteInQuoted, b'"') => Quoting::Quoted,
            (Quoting::QuoteInQuoted, _) if end_of_field => Quoting::FieldStart,
            (Quoting::QuoteInQuoted, _) => {
                self.faults.push_back(at);
                Quoting::Unquoted
            }
        };
    }

    /// Whether a fault lies in the bytes `start..end` (one record); forgets faults before `end`
    /// and line starts before `start`.
    fn fault_within(&mut self, start: u64, end: u64) -> bool {
        let mut found = false;
        while let Some(&at) = self.faults.front() {
            if at >= end {
                break;
            }
            found |= at >= start;
            self.faults.pop_front();
        }
        while self.line_starts.front().is_some_and(|&at| at <= start) {
            self.line_starts.pop_front();
        }
        found
    }

    /// The first line start after `offset`, if it is still remembered.
    fn line_start_after(&self, offset: u64) -> Option<u64> {
        self.line_starts.iter().copied().find(|&at| at > offset)
    }
}

impl Read for Watched {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.file.read(buf)?;
        if n == 0 && self.quoting == Quoting::Quoted {
            // The file ended inside quotes: the quote was never closed.
            self.faults.push_back(self.offset.saturating_sub(1));
            self.quoting = Quoting::FieldStart;
        }
        for &byte in buf.get(..n).unwrap_or_default() {
            self.watch(byte);
        }
        Ok(n)
    }
}

impl Seek for Watched {
    /// Only seeks to the start of a record, as the csv reader does.
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        let SeekFrom::Start(to) = pos else {
            return Err(std::io::Error::other("CSV rows are only read forward"));
        };
        self.file.seek(SeekFrom::Start(to + self.skipped))?;
        self.offset = to;
        self.quoting = Quoting::FieldStart;
        self.faults.clear();
        self.line_starts.clear();
        Ok(to)
    }
}
