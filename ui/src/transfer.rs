//! What the Notes page says about imports, exports, searches and an empty list: pure text,
//! tested natively, so the page components only draw it.

use api::{ExportSummary, ImportSummary, SearchQuery, Transferred};

/// Longest search the page sends, in characters (the app refuses longer ones too): a pasted
/// note would otherwise become a query of thousands of words.
pub const MAX_SEARCH_CHARS: usize = 1000;

/// Formats notes can be imported from: the command's name and what a clinician reads.
pub const IMPORT_FORMATS: [(&str, &str); 6] = [
    ("csv", "CSV file (MIMIC NOTEEVENTS)"),
    ("jsonl", "JSON Lines file"),
    ("txt", "Folder of text files"),
    ("brat", "brat folder (.txt + .ann)"),
    ("label-studio", "Label Studio export (.json)"),
    ("prodigy", "Prodigy file (.jsonl)"),
];

/// Formats annotations can be exported to.
pub const EXPORT_FORMATS: [(&str, &str); 4] = [
    ("jsonl", "JSON Lines"),
    ("brat", "brat folder"),
    ("label-studio", "Label Studio JSON"),
    ("prodigy", "Prodigy JSONL"),
];

/// Problems listed on the page; the rest are counted.
const PROBLEMS_SHOWN: usize = 20;

/// Why a search cannot be sent, or `None` when it can.
pub fn search_problem(text: &str) -> Option<String> {
    let chars = text.chars().count();
    (chars > MAX_SEARCH_CHARS).then(|| {
        format!(
            "This search is {} characters long; a search can be at most {} characters. \
             Search for a few words or a phrase.",
            thousands(chars as u64),
            thousands(MAX_SEARCH_CHARS as u64)
        )
    })
}

/// `12345` as `12,345`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `1 note`, `3 notes`.
pub fn count(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{} {many}", thousands(n))
    }
}

/// `1 was`, `3 were`.
fn count_were(n: u64) -> String {
    if n == 1 {
        "1 was".to_owned()
    } else {
        format!("{} were", thousands(n))
    }
}

/// The last part of a path, whichever separator it uses.
pub fn file_name(path: &str) -> &str {
    path.trim_end_matches(['/', '\\'])
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or(path)
}

/// One sentence on what an import did.
pub fn import_headline(done: &Transferred<ImportSummary>) -> String {
    let s = &done.summary;
    let mut text = format!(
        "Imported {} from {}.",
        count(s.imported, "note", "notes"),
        file_name(&done.path)
    );
    if s.duplicates > 0 {
        text.push_str(&format!(
            " {} already in the project, left as {}.",
            count(s.duplicates, "note was", "notes were"),
            if s.duplicates == 1 {
                "it was"
            } else {
                "they were"
            }
        ));
    }
    if s.empty > 0 {
        text.push_str(&format!(
            " {} skipped.",
            count(s.empty, "empty note", "empty notes")
        ));
    }
    if s.spans + s.doc_labels > 0 {
        text.push_str(&format!(
            " With {} and {}.",
            count(s.spans, "span", "spans"),
            count(s.doc_labels, "document label", "document labels")
        ));
    }
    if s.cancelled {
        text.push_str(" The import was stopped; the notes counted here are in the project.");
    }
    if !s.rejected.is_empty() {
        text.push_str(&format!(
            " {} not imported:",
            count(s.rejected.len() as u64, "row was", "rows were")
        ));
    }
    text
}

/// The rows an import refused, as `notes.csv, line 4: reason`, the first few only.
pub fn import_problems(summary: &ImportSummary) -> Vec<String> {
    let mut lines: Vec<String> = summary
        .rejected
        .iter()
        .take(PROBLEMS_SHOWN)
        .map(|r| {
            let file = file_name(&r.file);
            if r.line == 0 {
                format!("{file}: {}", r.reason)
            } else {
                format!("{file}, line {}: {}", r.line, r.reason)
            }
        })
        .collect();
    let more = summary.rejected.len().saturating_sub(PROBLEMS_SHOWN);
    if more > 0 {
        lines.push(format!("and {} more", thousands(more as u64)));
    }
    lines
}

/// One sentence on what an export wrote.
pub fn export_headline(done: &Transferred<ExportSummary>) -> String {
    let s = &done.summary;
    let mut text = format!(
        "Exported {} with {} and {} to {}.",
        count(s.notes, "note", "notes"),
        count(s.spans, "span", "spans"),
        count(s.doc_labels, "document label", "document labels"),
        done.path
    );
    if s.doc_labels_not_exported > 0 {
        text.push_str(&format!(
            " brat has no place for document labels: {} not written (export as JSON Lines to keep them).",
            count_were(s.doc_labels_not_exported)
        ));
    }
    if !s.not_exported.is_empty() {
        text.push_str(&format!(
            " {} could not be written.",
            count(s.not_exported.len() as u64, "note", "notes")
        ));
    }
    text
}

/// What an empty notes list means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Empty {
    /// The project has no notes at all: importing is what helps.
    NoNotes,
    /// Notes exist but the search or filters match none; the text says which.
    NoMatch(String),
}

/// Why the list for `query` is empty, in a project holding `notes` notes.
pub fn empty_state(query: &SearchQuery, notes: u64) -> Empty {
    if notes == 0 {
        return Empty::NoNotes;
    }
    let filtered = query.category.is_some()
        || query.status.is_some()
        || query.label.is_some()
        || query.annotator.is_some();
    let text = query.text.trim();
    let shown: String = text.chars().take(60).collect();
    let ellipsis = if text.chars().count() > 60 { "…" } else { "" };
    Empty::NoMatch(match (text.is_empty(), filtered) {
        (false, false) => format!("No note matches “{shown}{ellipsis}”."),
        (false, true) => format!("No note matches “{shown}{ellipsis}” with these filters."),
        (true, _) => "No note matches these filters.".to_owned(),
    })
}

#[cfg(test)]
mod tests;
