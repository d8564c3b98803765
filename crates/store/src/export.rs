//! Export of notes and annotations to brat standoff and to JSON Lines.
//!
//! Offsets in both are Unicode code points, end-exclusive. brat files are named by the note's
//! external id when it has one (`note-<id>` otherwise); brat has no document-level labels, so a
//! brat export counts them as not exported and JSONL keeps them.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use api::{AnnotationStatus, ExportSummary, JobProgress, NoteDetail, Span, SpanId};
use serde_json::{Value, json};

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
    let mut jsonl = match options.format {
        ExportFormat::Jsonl => {
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
    let mut used_names = HashSet::new();
    for (i, id) in ids.iter().enumerate() {
        let mut note = db.note(*id)?;
        keep_annotations(&mut note, options);
        match &mut jsonl {
            Some(w) => {
                let line = note_json(&note, options.annotations);
                writeln!(w, "{line}").map_err(io("write", out))?;
                summary.spans += note.spans.len() as u64;
                summary.doc_labels += note.doc_labels.len() as u64;
            }
            None => {
                let name = file_name(&note, &mut used_names);
                let base = out.join(&name);
                if let Some(dir) = base.parent() {
                    std::fs::create_dir_all(dir).map_err(io("create folder", dir))?;
                }
                let txt = base.with_extension("txt");
                std::fs::write(&txt, &note.text).map_err(io("write", &txt))?;
                let refs = db.span_source_refs(note.id)?;
                let standoff = to_standoff(&note, &refs, &db.standoff_extras(note.id)?);
                let ann = base.with_extension("ann");
                std::fs::write(&ann, brat::write(&standoff)).map_err(io("write", &ann))?;
                summary.files += 2;
                summary.spans += standoff.text_bounds.len() as u64;
                summary.doc_labels_not_exported += note.doc_labels.len() as u64;
            }
        }
        summary.notes += 1;
        if i % 256 == 0 || i + 1 == ids.len() {
            progress(JobProgress {
                stage: format!("exporting to {}", out.display()),
                done: i as u64 + 1,
                total: Some(total),
                unit: "notes".to_owned(),
            });
        }
    }
    if let Some(mut w) = jsonl {
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

/// A safe relative path for the note's files: external id parts, or `note-<id>`.
fn file_name(note: &NoteDetail, used: &mut HashSet<PathBuf>) -> PathBuf {
    let clean = |part: &str| -> String {
        part.chars()
            .map(|c| {
                if c.is_alphanumeric() || "-_.".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect::<String>()
            .trim_start_matches('.')
            .to_owned()
    };
    let from_id = note.external_id.as_deref().map(|id| {
        id.split('/')
            .map(clean)
            .filter(|p| !p.is_empty())
            .collect::<PathBuf>()
    });
    let mut name = match from_id {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => PathBuf::from(format!("note-{}", note.id)),
    };
    if !used.insert(name.clone()) {
        let mut alt = name.clone().into_os_string();
        alt.push(format!("-{}", note.id));
        name = PathBuf::from(alt);
        used.insert(name.clone());
    }
    name
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
