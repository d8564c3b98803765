//! A brat corpus: `.txt` files with `.ann` standoff beside them (code-point offsets).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use api::AnnotationStatus;

use super::{
    ImportOptions, Record, RecordSpan, Sink, file_external_id, files_with_extension,
    fragments_to_bytes, read_text, skip_reason,
};
use crate::brat;
use crate::error::Result;
use crate::notes::NewNote;

pub(super) fn read(path: &Path, options: &ImportOptions, sink: &mut Sink<'_, '_>) -> Result<()> {
    let (root, texts) = if path.is_dir() {
        let listing = files_with_extension(path, &["txt"])?;
        for (skipped, reason) in &listing.skipped {
            sink.reject(skipped, 0, reason.clone());
        }
        (path.to_owned(), listing.files)
    } else {
        let root = path.parent().map(Path::to_owned).unwrap_or_default();
        (root, vec![path.with_extension("txt")])
    };
    if path.is_dir() {
        // Skipped entries were reported with the .txt listing.
        for ann in files_with_extension(path, &["ann"])?.files {
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
        // One unreadable file is reported; the others are still imported.
        let text = match read_text(txt, options.lossy) {
            Ok(t) => t,
            Err(e) => {
                sink.reject(txt, 0, skip_reason(&e));
                continue;
            }
        };
        let ann_path = txt.with_extension("ann");
        let ann = if std::fs::symlink_metadata(&ann_path).is_ok() {
            match read_text(&ann_path, options.lossy) {
                Ok(a) => a,
                Err(e) => {
                    sink.reject(
                        &ann_path,
                        0,
                        format!("{}; the note was not imported", skip_reason(&e)),
                    );
                    continue;
                }
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
            status: None,
            add_to_existing: false,
            kept_results: 0,
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
    // The first line of each id: a repeated id is refused on its later lines.
    let mut line_of: HashMap<&str, u64> = HashMap::new();
    for (i, l) in ann.lines().enumerate() {
        if let Some(id) = l.split('\t').next() {
            line_of.entry(id).or_insert(i as u64 + 1);
        }
    }
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
            annotator: None,
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
