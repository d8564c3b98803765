//! A brat corpus: `.txt` files with `.ann` standoff beside them (code-point offsets).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use api::AnnotationStatus;

use super::{
    ImportOptions, Record, RecordSpan, Sink, file_external_id, files_with_extension,
    fragments_to_bytes, read_text,
};
use crate::brat;
use crate::error::{Error, Result};
use crate::notes::NewNote;

pub(super) fn read(path: &Path, options: &ImportOptions, sink: &mut Sink<'_, '_>) -> Result<()> {
    let (root, texts) = if path.is_dir() {
        (path.to_owned(), files_with_extension(path, &["txt"])?)
    } else {
        let root = path.parent().map(Path::to_owned).unwrap_or_default();
        (root, vec![path.with_extension("txt")])
    };
    if path.is_dir() {
        for ann in files_with_extension(path, &["ann"])? {
            if !ann.with_extension("txt").is_file() {
                sink.reject(
                    &ann,
                    0,
                    "no .txt file beside this .ann; its annotations were not imported",
                );
            }
        }
    }
    sink.begin(
        format!("importing {}", path.display()),
        Some(texts.len() as u64),
        "files",
    );
    for (i, txt) in texts.iter().enumerate() {
        if sink.stopped() {
            break;
        }
        sink.advance_to(i as u64 + 1);
        let text = match read_text(txt, options.lossy) {
            Ok(t) => t,
            Err(Error::NotUtf8 { offset, .. }) => {
                sink.reject(
                    txt,
                    0,
                    format!(
                        "not UTF-8 (bad byte at offset {offset}); use --lossy to replace bad bytes"
                    ),
                );
                continue;
            }
            Err(e) => return Err(e),
        };
        let ann_path = txt.with_extension("ann");
        let ann = if ann_path.is_file() {
            match read_text(&ann_path, options.lossy) {
                Ok(a) => a,
                Err(Error::NotUtf8 { offset, .. }) => {
                    sink.reject(
                        &ann_path,
                        0,
                        format!(
                            "not UTF-8 (bad byte at offset {offset}); the note was not imported"
                        ),
                    );
                    continue;
                }
                Err(e) => return Err(e),
            }
        } else {
            String::new()
        };
        let (spans, extras) = convert(&text, &ann, &ann_path, sink);
        let rel = txt.strip_prefix(&root).unwrap_or(txt);
        sink.push(Record {
            note: NewNote {
                external_id: Some(file_external_id(&root, txt)),
                source: Some(rel.to_string_lossy().into_owned()),
                text,
                ..NewNote::default()
            },
            labels: Vec::new(),
            spans,
            extras,
            prepared: None,
        })?;
    }
    Ok(())
}

fn normalise(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Turns parsed standoff into spans (byte offsets) and verbatim lines, reporting what it refuses.
fn convert(
    text: &str,
    ann: &str,
    ann_path: &Path,
    sink: &mut Sink<'_, '_>,
) -> (Vec<RecordSpan>, Vec<(String, String)>) {
    let line_of: HashMap<&str, u64> = ann
        .lines()
        .enumerate()
        .filter_map(|(i, l)| l.split('\t').next().map(|id| (id, i as u64 + 1)))
        .collect();
    let line = |id: &str| line_of.get(id).copied().unwrap_or(0);
    let (standoff, errors) = brat::parse(ann);
    for e in errors {
        sink.reject(ann_path, e.line, e.reason);
    }
    let mut spans: Vec<RecordSpan> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for t in &standoff.text_bounds {
        let fragments = match fragments_to_bytes(text, &t.fragments) {
            Ok(f) => f,
            Err(reason) => {
                sink.reject(
                    ann_path,
                    line(&t.id),
                    format!("{} not imported: {reason}", t.id),
                );
                continue;
            }
        };
        let covered: Vec<&str> = fragments
            .iter()
            .filter_map(|f| text.get(f.start..f.end))
            .collect();
        if !t.text.is_empty() && normalise(&covered.join(" ")) != normalise(&t.text) {
            sink.reject(
                ann_path,
                line(&t.id),
                format!(
                    "{} not imported: its offsets cover different text than the line gives \
                     (brat offsets are characters, not bytes)",
                    t.id
                ),
            );
            continue;
        }
        index.insert(t.id.clone(), spans.len());
        spans.push(RecordSpan {
            label: t.label.clone(),
            status: AnnotationStatus::Gold,
            fragments,
            attributes: BTreeMap::new(),
            comment: None,
            source_ref: Some(t.id.clone()),
        });
    }
    let mut extras = Vec::new();
    for a in &standoff.attributes {
        match index.get(&a.target).and_then(|&i| spans.get_mut(i)) {
            Some(span) => {
                span.attributes.insert(
                    a.name.clone(),
                    a.value.clone().unwrap_or_else(|| "true".to_owned()),
                );
            }
            None if a.target.starts_with('T') => sink.reject(
                ann_path,
                line(&a.id),
                format!("{} refers to {}, which was not imported", a.id, a.target),
            ),
            // Attributes on events or relations are kept as they are.
            None => extras.push((
                "A".to_owned(),
                ann.lines()
                    .nth(line(&a.id).saturating_sub(1) as usize)
                    .unwrap_or_default()
                    .to_owned(),
            )),
        }
    }
    for n in &standoff.notes {
        match index.get(&n.target).and_then(|&i| spans.get_mut(i)) {
            Some(span) => {
                span.comment = Some(match span.comment.take() {
                    Some(prev) => format!("{prev}\n{}", n.text),
                    None => n.text.clone(),
                });
            }
            None => extras.push((
                "#".to_owned(),
                format!("{}\tAnnotatorNotes {}\t{}", n.id, n.target, n.text),
            )),
        }
    }
    for o in standoff.others {
        extras.push((o.kind.to_string(), o.line));
    }
    (spans, extras)
}
