//! Writing the synthetic demo corpus ([`crate::demo`]) to files Clinitune (and brat) can import.

use std::io::Write;
use std::path::Path;

use api::JobProgress;
use serde_json::{Value, json};

use crate::demo::{DemoConfig, DemoNote};
use crate::error::Error;

/// File formats for the corpus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CorpusFormat {
    /// One JSON object per note with `labels` and `spans` (code points), as `import` reads.
    Jsonl,
    /// A folder of `.txt` + `.ann` (spans with attributes); document labels, which brat cannot
    /// hold, go in `labels.csv` (`id,labels`) beside them.
    Brat,
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.to_owned();
    move |source| {
        Error::Store(store::Error::Io {
            action,
            path,
            source,
        })
    }
}

fn cp(text: &str, byte: usize) -> usize {
    api::offsets::byte_to_char(text, byte).unwrap_or(0)
}

/// The JSONL record of a demo note: what `clinitune import` reads back, gold labels included.
pub fn note_json(note: &DemoNote) -> Value {
    let attrs = |a: &[(String, String)]| -> Value {
        Value::Object(
            a.iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect(),
        )
    };
    json!({
        "id": note.external_id,
        "category": note.category,
        "description": note.description,
        "text": note.text,
        "labels": note.doc_labels.iter()
            .map(|d| json!({ "label": d.label, "attributes": attrs(&d.attributes) }))
            .collect::<Vec<_>>(),
        "spans": note.spans.iter()
            .map(|s| json!({
                "start": cp(&note.text, s.start),
                "end": cp(&note.text, s.end),
                "label": s.label,
                "attributes": attrs(&s.attributes),
            }))
            .collect::<Vec<_>>(),
    })
}

/// What corpus to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CorpusOptions {
    /// How many notes.
    pub notes: usize,
    /// Random seed; the same seed gives the same notes.
    pub seed: u64,
    /// File format.
    pub format: CorpusFormat,
    /// Include the gold labels and spans (`false`: notes only).
    pub labels: bool,
}

/// Writes the synthetic corpus `options` describe; returns how many notes were written.
pub fn write_corpus(
    out: &Path,
    options: &CorpusOptions,
    progress: &mut dyn FnMut(JobProgress),
) -> Result<u64, Error> {
    let CorpusOptions {
        notes,
        seed,
        format,
        labels: with_labels,
    } = *options;
    let report = |done: usize, progress: &mut dyn FnMut(JobProgress)| {
        progress(JobProgress {
            stage: "generating demo notes".to_owned(),
            done: done as u64,
            total: Some(notes as u64),
            unit: "notes".to_owned(),
        })
    };
    let generated = crate::demo::generate(DemoConfig { notes, seed }).map(|mut note| {
        if !with_labels {
            note.spans.clear();
            note.doc_labels.clear();
        }
        note
    });
    match format {
        CorpusFormat::Jsonl => {
            if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(io("create folder", dir))?;
            }
            let file = std::fs::File::create(out).map_err(io("create", out))?;
            let mut w = std::io::BufWriter::new(file);
            for (i, note) in generated.enumerate() {
                serde_json::to_writer(&mut w, &note_json(&note))
                    .map_err(|e| io("write", out)(std::io::Error::other(e)))?;
                w.write_all(b"\n").map_err(io("write", out))?;
                if i % 1000 == 0 {
                    report(i, progress);
                }
            }
            w.flush().map_err(io("write", out))?;
        }
        CorpusFormat::Brat => {
            std::fs::create_dir_all(out).map_err(io("create folder", out))?;
            let labels_path = out.join("labels.csv");
            let mut labels = std::io::BufWriter::new(
                std::fs::File::create(&labels_path).map_err(io("create", &labels_path))?,
            );
            writeln!(labels, "id,labels").map_err(io("write", &labels_path))?;
            for (i, note) in generated.enumerate() {
                let base = out.join(&note.external_id);
                let txt = base.with_extension("txt");
                std::fs::write(&txt, &note.text).map_err(io("write", &txt))?;
                let mut ann = String::new();
                let mut a = 1;
                for (t, s) in note.spans.iter().enumerate() {
                    let covered = note
                        .text
                        .get(s.start..s.end)
                        .unwrap_or_default()
                        .replace('\n', " ");
                    ann.push_str(&format!(
                        "T{}\t{} {} {}\t{}\n",
                        t + 1,
                        s.label,
                        cp(&note.text, s.start),
                        cp(&note.text, s.end),
                        covered
                    ));
                    for (k, v) in &s.attributes {
                        ann.push_str(&format!("A{a}\t{k} T{} {v}\n", t + 1));
                        a += 1;
                    }
                }
                let ann_path = base.with_extension("ann");
                std::fs::write(&ann_path, ann).map_err(io("write", &ann_path))?;
                let names: Vec<&str> = note.doc_labels.iter().map(|d| d.label.as_str()).collect();
                writeln!(labels, "{},\"{}\"", note.external_id, names.join(","))
                    .map_err(io("write", &labels_path))?;
                if i % 1000 == 0 {
                    report(i, progress);
                }
            }
            labels.flush().map_err(io("write", &labels_path))?;
        }
    }
    report(notes, progress);
    Ok(notes as u64)
}

/// Creates the demo project at `path` (the built-in SDoH and outcome schemas, `notes`
/// synthetic notes with their gold labels) through the normal import, so it is what
/// `cargo xtask demo` makes. The corpus file is written beside the project and removed after.
pub fn create_demo_project(
    path: &Path,
    notes: usize,
    seed: u64,
    progress: &mut dyn FnMut(JobProgress),
    cancel: &crate::CancelToken,
) -> Result<crate::Project, Error> {
    let corpus = path.with_extension("corpus.jsonl");
    let options = CorpusOptions {
        notes,
        seed,
        format: CorpusFormat::Jsonl,
        labels: true,
    };
    write_corpus(&corpus, &options, progress)?;
    let schemas = ["sdoh".to_owned(), "outcomes".to_owned()];
    let mut project = crate::Project::create(path, &schemas)?;
    let imported = crate::transfer::import_notes(
        &mut project,
        &corpus,
        &api::ImportRequest::default(),
        progress,
        cancel,
    );
    // The corpus is a by-product; a failure to remove it loses nothing.
    let _ = std::fs::remove_file(&corpus);
    imported?;
    Ok(project)
}
