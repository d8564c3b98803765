use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// A note's id in its project.
    NoteId
);
id_type!(
    /// A span annotation's id in its project.
    SpanId
);
id_type!(
    /// A document-label annotation's id in its project.
    DocLabelId
);

/// Where a note stands in the annotation workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoteStatus {
    /// Not yet opened.
    Todo,
    /// Someone has started annotating it.
    InProgress,
    /// Annotation finished.
    Done,
    /// Deliberately left out.
    Skipped,
}

impl NoteStatus {
    /// All statuses, in workflow order.
    pub const ALL: [NoteStatus; 4] = [
        NoteStatus::Todo,
        NoteStatus::InProgress,
        NoteStatus::Done,
        NoteStatus::Skipped,
    ];

    /// The name stored in the project and used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            NoteStatus::Todo => "todo",
            NoteStatus::InProgress => "in_progress",
            NoteStatus::Done => "done",
            NoteStatus::Skipped => "skipped",
        }
    }

    /// Parses a stored or typed name (`in-progress` is accepted too).
    pub fn parse(s: &str) -> Option<NoteStatus> {
        match s {
            "todo" => Some(NoteStatus::Todo),
            "in_progress" | "in-progress" => Some(NoteStatus::InProgress),
            "done" => Some(NoteStatus::Done),
            "skipped" => Some(NoteStatus::Skipped),
            _ => None,
        }
    }
}

/// Whether an annotation is gold, a model suggestion, or a rejected suggestion (kept as data).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnnotationStatus {
    /// Made or accepted by an annotator.
    Gold,
    /// Proposed by pre-annotation, awaiting a decision.
    Suggested,
    /// A suggestion the annotator rejected.
    Rejected,
}

impl AnnotationStatus {
    /// The name stored in the project.
    pub fn as_str(self) -> &'static str {
        match self {
            AnnotationStatus::Gold => "gold",
            AnnotationStatus::Suggested => "suggested",
            AnnotationStatus::Rejected => "rejected",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<AnnotationStatus> {
        match s {
            "gold" => Some(AnnotationStatus::Gold),
            "suggested" => Some(AnnotationStatus::Suggested),
            "rejected" => Some(AnnotationStatus::Rejected),
            _ => None,
        }
    }
}

/// One contiguous piece of a span, UTF-8 byte offsets into the note text, end-exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fragment {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

/// A labelled stretch of note text; discontinuous spans have several fragments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    /// Its id.
    pub id: SpanId,
    /// Label name.
    pub label: String,
    /// Who made it.
    pub annotator: String,
    /// Gold, suggested or rejected.
    pub status: AnnotationStatus,
    /// The fragments in text order (at least one).
    pub fragments: Vec<Fragment>,
    /// Attribute values by name (`adverse = "true"`).
    pub attributes: BTreeMap<String, String>,
    /// A free-text comment (brat's AnnotatorNotes).
    pub comment: Option<String>,
}

impl Span {
    /// Byte offset where the first fragment starts.
    pub fn start(&self) -> usize {
        self.fragments.first().map_or(0, |f| f.start)
    }

    /// Byte offset where the last fragment ends.
    pub fn end(&self) -> usize {
        self.fragments.last().map_or(0, |f| f.end)
    }
}

/// A document-level label on a note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocLabel {
    /// Its id.
    pub id: DocLabelId,
    /// Label name.
    pub label: String,
    /// Who set it.
    pub annotator: String,
    /// Gold, suggested or rejected.
    pub status: AnnotationStatus,
    /// Attribute values by name.
    pub attributes: BTreeMap<String, String>,
}

/// A note as a list or search result shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoteSummary {
    /// Its id.
    pub id: NoteId,
    /// Id in the source (MIMIC ROW_ID, brat file stem, JSONL `id`).
    pub external_id: Option<String>,
    /// Note category (`Discharge summary`).
    pub category: Option<String>,
    /// Workflow status.
    pub status: NoteStatus,
    /// A short excerpt; for a search, around the matches.
    pub snippet: String,
    /// Byte ranges of `snippet` that matched the query, for highlighting.
    pub highlights: Vec<Fragment>,
    /// Length of the text in characters.
    pub chars: usize,
}

/// A note with its text and annotations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoteDetail {
    /// Its id.
    pub id: NoteId,
    /// Id in the source.
    pub external_id: Option<String>,
    /// Note category.
    pub category: Option<String>,
    /// Short title (MIMIC DESCRIPTION).
    pub description: Option<String>,
    /// Patient id in the source (MIMIC SUBJECT_ID).
    pub subject_id: Option<String>,
    /// Admission id in the source (MIMIC HADM_ID).
    pub hadm_id: Option<String>,
    /// Chart date as written in the source.
    pub chart_date: Option<String>,
    /// Workflow status.
    pub status: NoteStatus,
    /// The note text.
    pub text: String,
    /// Other source fields, kept as they came.
    pub metadata: serde_json::Map<String, serde_json::Value>,
    /// Span annotations, in text order.
    pub spans: Vec<Span>,
    /// Document labels.
    pub doc_labels: Vec<DocLabel>,
}

/// What to look for in a project's notes; all filters are combined with AND.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchQuery {
    /// Words to find (all of them); `"quoted phrases"` and `prefix*` work. Empty: list all.
    pub text: String,
    /// Only this category.
    pub category: Option<String>,
    /// Only this status.
    pub status: Option<NoteStatus>,
    /// Only notes with a span or document label of this name.
    pub label: Option<String>,
    /// Only notes this annotator has annotated.
    pub annotator: Option<String>,
    /// At most this many results (0: a default of 50).
    pub limit: usize,
    /// Skip this many results (paging).
    pub offset: usize,
    /// Result order: note id (fast and stable for paging) or best match first.
    #[serde(default)]
    pub order: SearchOrder,
}

/// How search results are ordered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SearchOrder {
    /// By note id, as imported: constant time per page however many notes match.
    #[default]
    Id,
    /// Best match first (BM25): ranks every match, so slower on common words.
    Relevance,
    /// The notes a classifier was least sure about first (its probability closest to a
    /// threshold, from the last prediction written as suggestions); notes it never saw last.
    Uncertainty,
}

/// Counts over a project.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Number of notes.
    pub notes: u64,
    /// Number of span annotations (all statuses).
    pub span_annotations: u64,
    /// Number of document-label annotations.
    pub doc_annotations: u64,
    /// Number of labels in the project's schemas.
    pub labels: u64,
    /// Number of annotators.
    pub annotators: u64,
    /// Notes per status name.
    pub by_status: BTreeMap<String, u64>,
    /// Notes per category (`""` for none).
    pub by_category: BTreeMap<String, u64>,
    /// Span and document annotations per label name.
    pub by_label: BTreeMap<String, u64>,
}

/// A row or line an import refused, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    /// The file it came from.
    pub file: String,
    /// 1-based line number where the row starts (0 when the whole file was refused).
    pub line: u64,
    /// What was wrong, and what to do.
    pub reason: String,
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.reason)
    }
}

/// The outcome of an import.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportSummary {
    /// Notes added.
    pub imported: u64,
    /// Notes already in the project (same content hash), left as they were.
    pub duplicates: u64,
    /// Notes skipped because their text was empty.
    pub empty: u64,
    /// Rows, lines or annotations refused, with file, line and reason.
    pub rejected: Vec<Rejection>,
    /// Span annotations added.
    pub spans: u64,
    /// Document labels added.
    pub doc_labels: u64,
    /// Labels that were not in the project's schemas and were created (schema `imported`).
    pub labels_created: Vec<String>,
    /// brat relations, events, normalisations and other lines kept verbatim.
    pub kept_standoff_lines: u64,
    /// Label Studio results with no Clinitune counterpart (note-level text areas, relations,
    /// ratings) kept verbatim in the note's metadata, so an export writes them back.
    #[serde(default)]
    pub kept_results: u64,
    /// The import was cancelled; everything counted here was committed.
    pub cancelled: bool,
}

/// Progress of a long job, sent to a progress bar.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobProgress {
    /// What is being done (`"importing notes.csv"`).
    pub stage: String,
    /// Units done.
    pub done: u64,
    /// Units in all, when known.
    pub total: Option<u64>,
    /// What a unit is (`"notes"`, `"bytes"`).
    pub unit: String,
}

/// The outcome of an export.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportSummary {
    /// Notes written.
    pub notes: u64,
    /// Span annotations written.
    pub spans: u64,
    /// Document labels written (brat has no place for them: 0 there).
    pub doc_labels: u64,
    /// Document labels a brat export could not write (use JSONL to keep them).
    pub doc_labels_not_exported: u64,
    /// Spans the format has no place for (Label Studio: rejected ones), so not written.
    #[serde(default)]
    pub spans_not_exported: u64,
    /// Files written.
    pub files: u64,
    /// Notes a brat export could not write, each with why; every other note was written.
    #[serde(default)]
    pub not_exported: Vec<NoteNotExported>,
}

/// What an import or export started in the app did, and with which file or folder.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transferred<T> {
    /// The file or folder read or written.
    pub path: String,
    /// What was imported or exported.
    pub summary: T,
}

/// A note an export could not write, and why (its files were removed, not left half-written).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoteNotExported {
    /// The note.
    pub note: NoteId,
    /// Its external id, when it has one.
    pub external_id: Option<String>,
    /// What went wrong (the file and the system's reason).
    pub reason: String,
}

impl std::fmt::Display for NoteNotExported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.external_id {
            Some(id) => write!(f, "note {} ({id}) not exported: {}", self.note, self.reason),
            None => write!(f, "note {} not exported: {}", self.note, self.reason),
        }
    }
}

/// A span to create or to replace an existing one with (offsets in UTF-8 bytes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpanRequest {
    /// The note.
    pub note: NoteId,
    /// Label name.
    pub label: String,
    /// Fragments in text order, UTF-8 byte offsets on character boundaries.
    pub fragments: Vec<Fragment>,
    /// Attribute values by name; values a schema implies are filled in.
    pub attributes: BTreeMap<String, String>,
}

/// How to read a file of notes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportRequest {
    /// `csv`, `jsonl`, `txt`, `brat`, `label-studio` or `prodigy`; guessed from the path when
    /// `None` (Label Studio and Prodigy files are never guessed: they are JSON and JSONL).
    pub format: Option<String>,
    /// Column (CSV) or key (JSONL) of the text; recognised by name when `None`.
    pub text_col: Option<String>,
    /// Column or key of the external id.
    pub id_col: Option<String>,
    /// Column or key of the category.
    pub category_col: Option<String>,
    /// Column or key of the description.
    pub description_col: Option<String>,
    /// Column or key of the patient id.
    pub subject_col: Option<String>,
    /// Column or key of the admission id.
    pub hadm_col: Option<String>,
    /// Column or key of the chart date.
    pub date_col: Option<String>,
    /// Column or key of comma-joined document labels.
    pub label_col: Option<String>,
    /// Column or key of the aligned adverse/nonadverse values.
    pub adverse_col: Option<String>,
    /// Replace invalid UTF-8 instead of refusing the file.
    pub lossy: bool,
    /// Annotator name for imported labels (default `import`).
    pub annotator: Option<String>,
}

/// A span as exported and printed: code-point offsets into the note text, as brat and the
/// command line count them (`fragments` only when the span is discontinuous).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpanRecord {
    /// Span id in the project.
    pub id: SpanId,
    /// Label name.
    pub label: String,
    /// First code point.
    pub start: usize,
    /// One past the last code point.
    pub end: usize,
    /// The fragments, when there are several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fragments: Option<Vec<[usize; 2]>>,
    /// The covered text (fragments joined by a space).
    pub text: String,
    /// Attribute values.
    pub attributes: BTreeMap<String, String>,
    /// Who made it.
    pub annotator: String,
    /// Gold, suggested or rejected.
    pub status: AnnotationStatus,
    /// Comment, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

impl SpanRecord {
    /// Converts a stored span (byte offsets) of `text` into code-point form.
    pub fn new(text: &str, span: &Span) -> SpanRecord {
        let cp = |byte: usize| crate::offsets::byte_to_char(text, byte).unwrap_or(0);
        let covered: Vec<&str> = span
            .fragments
            .iter()
            .map(|f| text.get(f.start..f.end).unwrap_or_default())
            .collect();
        SpanRecord {
            id: span.id,
            label: span.label.clone(),
            start: cp(span.start()),
            end: cp(span.end()),
            fragments: (span.fragments.len() > 1).then(|| {
                span.fragments
                    .iter()
                    .map(|f| [cp(f.start), cp(f.end)])
                    .collect()
            }),
            text: covered.join(" "),
            attributes: span.attributes.clone(),
            annotator: span.annotator.clone(),
            status: span.status,
            comment: span.comment.clone(),
        }
    }
}

/// What to generate from a prompt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerateRequest {
    /// The prompt text.
    pub prompt: String,
    /// Render the prompt as one user message through the model's chat template.
    pub chat: bool,
    /// At most this many new tokens.
    pub max_tokens: usize,
    /// 0 for greedy decoding.
    pub temperature: f64,
    /// Nucleus sampling threshold (1: off).
    pub top_p: f64,
    /// Keep only the k most likely tokens (0: off).
    pub top_k: usize,
    /// Penalty for repeating tokens (1: off).
    pub repetition_penalty: f32,
    /// Random seed for sampling.
    pub seed: u64,
    /// Strings that end generation.
    pub stop: Vec<String>,
}

/// The generated part of a sequence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenerateResult {
    /// Ids of the prompt as the model saw it.
    pub prompt_token_ids: Vec<u32>,
    /// New ids; a generated end-of-sequence id is the last one.
    pub token_ids: Vec<u32>,
    /// Their text, without the end-of-sequence token.
    pub text: String,
    /// Why generation stopped: `eos`, `stop_string`, `max_tokens` or `cancelled`.
    pub stop: String,
}

/// What a model file or folder holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelInfo {
    /// Where it was loaded from.
    pub path: String,
    /// `gguf` or `hf` (a Hugging Face folder).
    pub format: String,
    /// Vocabulary size.
    pub vocab_size: usize,
    /// Residual width.
    pub hidden_size: usize,
    /// Decoder blocks.
    pub layers: usize,
    /// Query heads.
    pub heads: usize,
    /// Key/value heads.
    pub kv_heads: usize,
    /// Width of a head.
    pub head_dim: usize,
    /// Whether the LM head shares the embedding matrix.
    pub tied_embeddings: bool,
    /// Parameters in the (dequantised) model.
    pub parameters: u64,
    /// The end-of-sequence token.
    pub eos_token: Option<String>,
    /// Whether the model has a chat template.
    pub chat_template: bool,
    /// Where its weights live: `cpu`, `cuda` or `metal`.
    #[serde(default)]
    pub device: String,
}
