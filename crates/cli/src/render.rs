//! Text and JSON output. JSON offsets are Unicode code points, as on the command line.

use std::io::Write;

use api::{AgreementReport, ImportSummary, Label, NoteDetail, NoteSummary, Span, Stats};
use serde::Serialize;
use serde_json::{Value, json};

/// Prints one JSON value on a line.
pub fn json(out: &mut impl Write, value: &impl Serialize) -> anyhow::Result<()> {
    serde_json::to_writer(&mut *out, value)?;
    writeln!(out)?;
    Ok(())
}

fn cp(text: &str, byte: usize) -> usize {
    api::offsets::byte_to_char(text, byte).unwrap_or(0)
}

/// A span as JSON with code-point offsets.
pub fn span_json(text: &str, s: &Span) -> Value {
    serde_json::to_value(api::SpanRecord::new(text, s)).unwrap_or(Value::Null)
}

/// The import summary line.
pub fn import_summary(out: &mut impl Write, s: &ImportSummary) -> anyhow::Result<()> {
    writeln!(
        out,
        "Imported {} notes; skipped {} already in the project and {} empty; rejected {}.",
        s.imported,
        s.duplicates,
        s.empty,
        s.rejected.len()
    )?;
    if s.spans + s.doc_labels > 0 {
        writeln!(
            out,
            "Added {} spans and {} document labels.",
            s.spans, s.doc_labels
        )?;
    }
    if !s.labels_created.is_empty() {
        writeln!(
            out,
            "New labels (not in any schema, put in schema \"imported\"): {}",
            s.labels_created.join(", ")
        )?;
    }
    if s.kept_standoff_lines > 0 {
        writeln!(
            out,
            "Kept {} brat relation/event/normalisation lines for export.",
            s.kept_standoff_lines
        )?;
    }
    if s.kept_results > 0 {
        writeln!(
            out,
            "Kept {} Label Studio results with no Clinitune counterpart (text areas, relations) \
             in the notes' metadata for export.",
            s.kept_results
        )?;
    }
    if s.cancelled {
        writeln!(
            out,
            "Cancelled: everything above was saved; import again to add the rest."
        )?;
    }
    Ok(())
}

/// Labels, schema by schema.
pub fn labels(out: &mut impl Write, labels: &[Label]) -> anyhow::Result<()> {
    if labels.is_empty() {
        writeln!(
            out,
            "No labels yet; add a schema with `clinitune schema add FILE`."
        )?;
    }
    let mut schema = "";
    for l in labels {
        if l.schema != schema {
            schema = &l.schema;
            writeln!(out, "{schema}")?;
        }
        let key = l.hotkey.as_deref().unwrap_or(" ");
        let attrs: Vec<String> = l
            .attributes
            .iter()
            .map(|a| match a.values.is_empty() {
                true => a.name.clone(),
                false => format!(
                    "{}={}",
                    a.name,
                    a.values
                        .iter()
                        .map(|v| v.name.as_str())
                        .collect::<Vec<_>>()
                        .join("|")
                ),
            })
            .collect();
        writeln!(
            out,
            "  [{key}] {:<16} {:<5} {}  {}",
            l.name,
            l.scope.as_str(),
            l.color,
            attrs.join(" ")
        )?;
    }
    Ok(())
}

/// Project counts.
pub fn stats(out: &mut impl Write, s: &Stats) -> anyhow::Result<()> {
    writeln!(out, "notes              {}", s.notes)?;
    writeln!(out, "span annotations   {}", s.span_annotations)?;
    writeln!(out, "document labels    {}", s.doc_annotations)?;
    writeln!(out, "labels             {}", s.labels)?;
    writeln!(out, "annotators         {}", s.annotators)?;
    for (status, n) in &s.by_status {
        writeln!(out, "  status {status:<12} {n}")?;
    }
    for (category, n) in &s.by_category {
        let name = if category.is_empty() {
            "(none)"
        } else {
            category
        };
        writeln!(out, "  category {name:<20} {n}")?;
    }
    for (label, n) in &s.by_label {
        writeln!(out, "  label {label:<20} {n}")?;
    }
    Ok(())
}

/// The agreement tables: kappa per document label, F1 per span label.
pub fn agreement(out: &mut impl Write, r: &AgreementReport) -> anyhow::Result<()> {
    writeln!(
        out,
        "{} (A) vs {} (B); notes annotated by both: {}.",
        r.annotator_a, r.annotator_b, r.notes_compared
    )?;
    if r.notes_compared == 0 {
        writeln!(
            out,
            "Nothing to compare: no note has gold annotations from both."
        )?;
        return Ok(());
    }
    if !r.doc_labels.is_empty() {
        writeln!(out)?;
        writeln!(
            out,
            "{:<20} {:>6} {:>6} {:>6} {:>7} {:>7}",
            "document label", "both", "only A", "only B", "neither", "kappa"
        )?;
        for d in &r.doc_labels {
            // Undefined when both gave every note the same answer.
            let kappa = d
                .kappa
                .map_or_else(|| "-".to_owned(), |k| format!("{k:.3}"));
            writeln!(
                out,
                "{:<20} {:>6} {:>6} {:>6} {:>7} {:>7}",
                d.label, d.both, d.only_a, d.only_b, d.neither, kappa
            )?;
        }
    }
    if !r.span_labels.is_empty() {
        writeln!(out)?;
        writeln!(
            out,
            "{:<20} {:>6} {:>6} {:>10} {:>6} {:>6} {:>10} {:>6} {:>6}",
            "span label", "A", "B", "exact F1", "P", "R", "overlap F1", "P", "R"
        )?;
        for s in &r.span_labels {
            writeln!(
                out,
                "{:<20} {:>6} {:>6} {:>10.3} {:>6.3} {:>6.3} {:>10.3} {:>6.3} {:>6.3}",
                s.label,
                s.spans_a,
                s.spans_b,
                s.exact.f1,
                s.exact.precision,
                s.exact.recall,
                s.overlap.f1,
                s.overlap.precision,
                s.overlap.recall
            )?;
        }
        writeln!(
            out,
            "F1 with A as reference: P = share of B's spans matched, R = share of A's."
        )?;
    }
    Ok(())
}

/// A list of notes; in JSON, highlight offsets are code points into the snippet.
pub fn note_list(out: &mut impl Write, notes: &[NoteSummary], as_json: bool) -> anyhow::Result<()> {
    if as_json {
        let list: Vec<Value> = notes
            .iter()
            .map(|n| {
                json!({
                    "id": n.id,
                    "external_id": n.external_id,
                    "category": n.category,
                    "status": n.status,
                    "snippet": n.snippet,
                    "highlights": n.highlights.iter()
                        .map(|h| [cp(&n.snippet, h.start), cp(&n.snippet, h.end)])
                        .collect::<Vec<_>>(),
                    "chars": n.chars,
                })
            })
            .collect();
        return json(out, &list);
    }
    if notes.is_empty() {
        writeln!(out, "No notes found.")?;
    }
    for n in notes {
        let mut snippet = String::new();
        let mut at = 0;
        for h in &n.highlights {
            snippet.push_str(n.snippet.get(at..h.start).unwrap_or_default());
            snippet.push('[');
            snippet.push_str(n.snippet.get(h.start..h.end).unwrap_or_default());
            snippet.push(']');
            at = h.end;
        }
        snippet.push_str(n.snippet.get(at..).unwrap_or_default());
        let snippet = snippet.replace(['\n', '\r', '\t'], " ");
        writeln!(
            out,
            "{:>7}  {:<12} {:<18} {:<11} {}",
            n.id.0,
            n.external_id.as_deref().unwrap_or("-"),
            n.category.as_deref().unwrap_or("-"),
            n.status.as_str(),
            snippet
        )?;
    }
    Ok(())
}

/// One note with its annotations.
pub fn note(out: &mut impl Write, n: &NoteDetail, as_json: bool) -> anyhow::Result<()> {
    let spans: Vec<Value> = n.spans.iter().map(|s| span_json(&n.text, s)).collect();
    if as_json {
        return json(
            out,
            &json!({
                "id": n.id,
                "external_id": n.external_id,
                "category": n.category,
                "description": n.description,
                "subject_id": n.subject_id,
                "hadm_id": n.hadm_id,
                "chart_date": n.chart_date,
                "status": n.status,
                "metadata": n.metadata,
                "text": n.text,
                "spans": spans,
                "doc_labels": n.doc_labels,
            }),
        );
    }
    writeln!(
        out,
        "Note {} ({}) · {} · {}",
        n.id,
        n.external_id.as_deref().unwrap_or("no source id"),
        n.category.as_deref().unwrap_or("no category"),
        n.status.as_str()
    )?;
    writeln!(out, "{}", "-".repeat(72))?;
    writeln!(out, "{}", n.text)?;
    writeln!(out, "{}", "-".repeat(72))?;
    for (s, v) in n.spans.iter().zip(&spans) {
        let attrs: Vec<String> = s
            .attributes
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        writeln!(
            out,
            "span {:>5} {:<16} {}..{} {:?} {} [{}]",
            s.id.0,
            s.label,
            v["start"],
            v["end"],
            v["text"].as_str().unwrap_or_default(),
            attrs.join(" "),
            s.annotator
        )?;
    }
    for d in &n.doc_labels {
        let attrs: Vec<String> = d
            .attributes
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let status = match d.status {
            api::AnnotationStatus::Gold => String::new(),
            other => format!(" ({}, id {})", other.as_str(), d.id),
        };
        writeln!(
            out,
            "label {:<16} {} [{}]{status}",
            d.label,
            attrs.join(" "),
            d.annotator
        )?;
    }
    Ok(())
}

/// What undo or redo did (`what` is "undo" or "redo").
pub fn history(
    out: &mut impl Write,
    what: &str,
    action: Option<&str>,
    as_json: bool,
) -> anyhow::Result<()> {
    if as_json {
        return json(out, &json!({ what: action }));
    }
    match action {
        Some(a) => writeln!(
            out,
            "{}: {}.",
            if what == "undo" { "Undone" } else { "Redone" },
            a.replace('_', " ")
        )?,
        None => writeln!(out, "Nothing to {what}.")?,
    }
    Ok(())
}
