//! Export of notes and annotations to brat standoff, JSON Lines, Label Studio JSON and Prodigy
//! JSONL.
//!
//! Offsets are Unicode code points, end-exclusive, except in Label Studio's JSON, which counts
//! UTF-16 units as JavaScript does (`label_studio` and `prodigy` say what each format keeps). brat files are named by the note's
//! external id when it has one (`note-<id>` otherwise) with `.txt`/`.ann` appended, so brat
//! import reads the same ids back; ids unsafe as paths are cleaned and given a hash (see
//! `Names`). A note whose files cannot be written is reported in the summary, not counted as
//! exported. brat has no document-level labels, so a brat export counts them as not exported
//! and JSONL keeps them.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::Path;

use api::{
    AnnotationStatus, ExportSummary, JobProgress, NoteDetail, NoteNotExported, Span, SpanId,
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::brat::{self, Standoff};
use crate::db::Db;
use crate::error::{Error, Result};

/// Export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// A folder of `.txt` + `.ann`.
    Brat,
    /// One JSON object per note.
    Jsonl,
    /// A Label Studio JSON export: one array of tasks, one annotation per annotator.
    LabelStudio,
    /// Prodigy JSONL: a task per note, annotator and answer.
    Prodigy,
}

/// What to export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportOptions {
    /// Format.
    pub format: ExportFormat,
    /// Only this annotator's annotations (all when `None`).
    pub annotator: Option<String>,
    /// Include annotations (`false`: notes only, JSONL).
    pub annotations: bool,
}

/// Writes the project's notes to `out` (a folder for brat, a file for JSONL).
pub fn export(
    db: Db<'_>,
    out: &Path,
    options: &ExportOptions,
    progress: &mut dyn FnMut(JobProgress),
) -> Result<ExportSummary> {
    let ids = db.note_ids()?;
    let total = ids.len() as u64;
    let mut summary = ExportSummary::default();
    let io = |action: &'static str, path: &Path| {
        let path = path.to_owned();
        move |source| Error::Io {
            action,
            path,
            source,
        }
    };
    let mut file = match options.format {
        ExportFormat::Jsonl | ExportFormat::LabelStudio | ExportFormat::Prodigy => {
            if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(io("create folder", dir))?;
            }
            let file = std::fs::File::create(out).map_err(io("create", out))?;
            summary.files = 1;
            Some(std::io::BufWriter::new(file))
        }
        ExportFormat::Brat => {
            std::fs::create_dir_all(out).map_err(io("create folder", out))?;
            None
        }
    };
    let mut names = Names::default();
    let mut report = |done: usize| {
        progress(JobProgress {
            stage: format!("exporting to {}", out.display()),
            done: done as u64,
            total: Some(total),
            unit: "notes".to_owned(),
        })
    };
    for (i, id) in ids.iter().enumerate() {
        if i % 256 == 0 {
            report(i);
        }
        let mut note = db.note(*id)?;
        keep_annotations(&mut note, options);
        match (&mut file, options.format) {
            (Some(w), ExportFormat::LabelStudio) => {
                // One task a line, inside one array, so an import can say which line is bad.
                let task = label_studio::task(&note, &db.span_source_refs(note.id)?, &mut summary);
                let sep = if i == 0 { "[" } else { "," };
                writeln!(w, "{sep}{task}").map_err(io("write", out))?;
            }
            (Some(w), ExportFormat::Prodigy) => {
                for line in prodigy::lines(&note, &mut summary) {
                    writeln!(w, "{line}").map_err(io("write", out))?;
                }
            }
            (Some(w), _) => {
                let line = note_json(&note, options.annotations);
                writeln!(w, "{line}").map_err(io("write", out))?;
                summary.spans += note.spans.len() as u64;
                summary.doc_labels += note.doc_labels.len() as u64;
            }
            (None, _) => {
                let base = out.join(names.assign(&note));
                let standoff = to_standoff(
                    &note,
                    &db.span_source_refs(note.id)?,
                    &db.standoff_extras(note.id)?,
                );
                if let Err(reason) = write_brat_pair(&base, &note.text, &brat::write(&standoff)) {
                    summary.not_exported.push(NoteNotExported {
                        note: note.id,
                        external_id: note.external_id.clone(),
                        reason,
                    });
                    continue;
                }
                summary.files += 2;
                summary.spans += standoff.text_bounds.len() as u64;
                summary.doc_labels_not_exported += note.doc_labels.len() as u64;
            }
        }
        summary.notes += 1;
    }
    report(ids.len());
    if let (Some(w), ExportFormat::LabelStudio) = (&mut file, options.format) {
        let end = if ids.is_empty() { "[]" } else { "]" };
        writeln!(w, "{end}").map_err(io("write", out))?;
    }
    if let Some(mut w) = file {
        w.flush().map_err(io("write", out))?;
    }
    Ok(summary)
}

fn keep_annotations(note: &mut NoteDetail, options: &ExportOptions) {
    if !options.annotations {
        note.spans.clear();
        note.doc_labels.clear();
        return;
    }
    if let Some(who) = &options.annotator {
        note.spans.retain(|s| &s.annotator == who);
        note.doc_labels.retain(|d| &d.annotator == who);
    }
    if options.format == ExportFormat::Brat {
        // brat has no notion of suggestions: only gold annotations are written.
        note.spans.retain(|s| s.status == AnnotationStatus::Gold);
    }
}

/// Writes a note's `.txt` and `.ann` beside each other (`<base>.txt`, `<base>.ann`); on failure
/// removes what it wrote, so no note is left half-exported, and says why.
fn write_brat_pair(base: &Path, text: &str, ann: &str) -> std::result::Result<(), String> {
    let with = |ext: &str| {
        let mut name = base.as_os_str().to_owned();
        name.push(ext);
        std::path::PathBuf::from(name)
    };
    let (txt, ann_path) = (with(".txt"), with(".ann"));
    let result = base
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| std::fs::write(&txt, text))
        .and_then(|()| std::fs::write(&ann_path, ann));
    result.map_err(|e| {
        // Best effort: a file that could not be written may not exist at all.
        let _ = std::fs::remove_file(&txt);
        let _ = std::fs::remove_file(&ann_path);
        format!("cannot write {}: {e}", txt.display())
    })
}

/// Longest file-name part used as it is; longer ones are shortened (file systems allow 255
/// bytes, and `.txt` must fit too).
const MAX_PART_BYTES: usize = 120;
/// Longest relative path used as it is (well under the 4,096 bytes Linux allows in all).
const MAX_NAME_BYTES: usize = 1000;

/// The file names given so far in one brat export.
///
/// A note's files are its external id with `.txt` and `.ann` appended (never replacing
/// anything after a dot, so `visit.1` and `visit.2` stay apart and brat import gives the same
/// ids back). An id that is not safe as a path (other characters, a part starting with a dot,
/// too long) is cleaned and gets `~` and a hash of the whole id, so two ids never share a name;
/// names are compared case-insensitively, as macOS and Windows compare them.
#[derive(Default)]
struct Names {
    files: HashSet<String>,
    folders: HashSet<String>,
}

impl Names {
    /// A relative base path (without `.txt`/`.ann`) for the note, unique in this export.
    fn assign(&mut self, note: &NoteDetail) -> String {
        let id = note
            .external_id
            .clone()
            .unwrap_or_else(|| format!("note-{}", note.id));
        let (clean, hash) = (cleaned(&id), short_hash(&id));
        let hashed = format!("{clean}~{hash}");
        // Flat, so that a file already named like one of its folders cannot block it.
        let flat = format!(
            "{}~{hash}~{}",
            truncate(&clean.replace('/', "_"), MAX_PART_BYTES),
            note.id
        );
        let mut candidates = [
            Some(id.clone()).filter(|id| usable_as_is(id)),
            Some(hashed),
            Some(flat.clone()),
        ]
        .into_iter()
        .flatten();
        let mut attempt = 0u64;
        loop {
            let name = candidates
                .next()
                .unwrap_or_else(|| format!("{flat}-{attempt}"));
            attempt += 1;
            if self.claim(&name) {
                return name;
            }
        }
    }

    /// Takes `name` if neither its files nor its folders clash with names already given.
    fn claim(&mut self, name: &str) -> bool {
        let key = name.to_lowercase();
        let files = [format!("{key}.txt"), format!("{key}.ann")];
        let folders: Vec<&str> = key
            .match_indices('/')
            .map(|(i, _)| key.get(..i).unwrap_or_default())
            .collect();
        let clash = files
            .iter()
            .any(|f| self.files.contains(f) || self.folders.contains(f))
            || folders.iter().any(|d| self.files.contains(*d));
        if clash {
            return false;
        }
        self.files.extend(files);
        self.folders.extend(folders.into_iter().map(str::to_owned));
        true
    }
}

/// Whether an id can be a relative path as it is: ASCII letters, digits, `-_.` in parts joined
/// by `/`, no part empty or starting with a dot, nothing too long.
fn usable_as_is(id: &str) -> bool {
    id.len() <= MAX_NAME_BYTES
        && id.split('/').all(|part| {
            !part.is_empty()
                && !part.starts_with('.')
                && part.len() <= MAX_PART_BYTES
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        })
}

/// The id made safe as a path: other characters become `_`, leading dots go, parts and the
/// whole are shortened on character boundaries.
fn cleaned(id: &str) -> String {
    let part = |p: &str| -> String {
        let safe: String = p
            .chars()
            .map(|c| {
                if c.is_alphanumeric() || "-_.".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        truncate(safe.trim_start_matches('.'), MAX_PART_BYTES).to_owned()
    };
    let mut out = String::new();
    for p in id.split('/').map(part).filter(|p| !p.is_empty()) {
        if out.len() + p.len() + 1 > MAX_NAME_BYTES {
            break;
        }
        if !out.is_empty() {
            out.push('/');
        }
        out.push_str(&p);
    }
    if out.is_empty() {
        out.push_str("note");
    }
    out
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
fn truncate(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or_default()
}

/// Eight hex digits of the id's SHA-256: stable across exports and machines.
fn short_hash(id: &str) -> String {
    Sha256::digest(id.as_bytes())
        .iter()
        .take(4)
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn cp(text: &str, byte: usize) -> usize {
    api::offsets::byte_to_char(text, byte).unwrap_or(0)
}

fn to_standoff(note: &NoteDetail, refs: &HashMap<SpanId, String>, extras: &[String]) -> Standoff {
    let mut standoff = Standoff::default();
    // Spans keep the ids they had in their source file, so kept relations still point right;
    // the others get the next free `T` number.
    let mut taken: HashSet<&str> = HashSet::new();
    let own: Vec<Option<&str>> = note
        .spans
        .iter()
        .map(|s| {
            refs.get(&s.id)
                .map(String::as_str)
                .filter(|r| taken.insert(r))
        })
        .collect();
    let mut next_t = 1usize;
    let mut next_a = 1usize;
    let mut next_note = 1usize;
    for (span, own) in note.spans.iter().zip(own) {
        let id = match own {
            Some(r) => r.to_owned(),
            None => loop {
                let candidate = format!("T{next_t}");
                next_t += 1;
                if !taken.contains(candidate.as_str()) {
                    break candidate;
                }
            },
        };
        push_span(&mut standoff, note, span, id, &mut next_a, &mut next_note);
    }
    for line in extras {
        let kind = line.chars().next().unwrap_or('*');
        standoff.others.push(brat::Other {
            kind,
            line: line.clone(),
        });
    }
    standoff
}

fn push_span(
    standoff: &mut Standoff,
    note: &NoteDetail,
    span: &Span,
    id: String,
    next_a: &mut usize,
    next_note: &mut usize,
) {
    let text = &note.text;
    let covered: Vec<String> = span
        .fragments
        .iter()
        .map(|f| {
            text.get(f.start..f.end)
                .unwrap_or_default()
                .replace(['\n', '\r', '\t'], " ")
        })
        .collect();
    standoff.text_bounds.push(brat::TextBound {
        id: id.clone(),
        label: span.label.clone(),
        fragments: span
            .fragments
            .iter()
            .map(|f| (cp(text, f.start), cp(text, f.end)))
            .collect(),
        text: covered.join(" "),
    });
    for (name, value) in &span.attributes {
        standoff.attributes.push(brat::Attribute {
            id: format!("A{next_a}"),
            name: name.clone(),
            target: id.clone(),
            value: (value != "true").then(|| value.replace(char::is_whitespace, "_")),
        });
        *next_a += 1;
    }
    if let Some(comment) = &span.comment {
        standoff.notes.push(brat::Note {
            id: format!("#{next_note}"),
            target: id,
            text: comment.replace(['\n', '\r', '\t'], " "),
        });
        *next_note += 1;
    }
}

fn note_json(note: &NoteDetail, annotations: bool) -> Value {
    let mut obj = json!({
        "id": note.external_id.clone().unwrap_or_else(|| format!("note-{}", note.id)),
        "text": note.text,
        "category": note.category,
        "description": note.description,
        "subject_id": note.subject_id,
        "hadm_id": note.hadm_id,
        "chart_date": note.chart_date,
        "status": note.status.as_str(),
    });
    if let Value::Object(map) = &mut obj {
        map.retain(|_, v| !v.is_null());
        if !note.metadata.is_empty() {
            map.insert("metadata".to_owned(), Value::Object(note.metadata.clone()));
        }
        if annotations {
            let spans: Vec<api::SpanRecord> = note
                .spans
                .iter()
                .map(|s| api::SpanRecord::new(&note.text, s))
                .collect();
            let labels: Vec<Value> = note
                .doc_labels
                .iter()
                .map(|d| {
                    json!({
                        "label": d.label,
                        "attributes": d.attributes,
                        "annotator": d.annotator,
                        "status": d.status.as_str(),
                    })
                })
                .collect();
            map.insert("labels".to_owned(), Value::Array(labels));
            map.insert("spans".to_owned(), json!(spans));
        }
    }
    obj
}

mod label_studio;
mod prodigy;

#[cfg(test)]
mod tests;
