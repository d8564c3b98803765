//! Inter-annotator agreement: how far two annotators' gold annotations agree, per label and per
//! note, for the Agreement page and `clinitune agreement`.

use serde::{Deserialize, Serialize};

use crate::notes::{Fragment, NoteId, SpanId};

/// Which two annotators to compare; A is the reference and B the prediction for span scores.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgreementRequest {
    /// The reference annotator's name.
    pub annotator_a: String,
    /// The other annotator's name.
    pub annotator_b: String,
}

/// Agreement between two annotators over the notes both annotated (gold annotations only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgreementReport {
    /// The reference annotator.
    pub annotator_a: String,
    /// The other annotator.
    pub annotator_b: String,
    /// Notes where both have at least one gold span or document label; every count below is
    /// over these notes only, so a note one of them has not reached yet counts against no one.
    pub notes_compared: u64,
    /// Cohen's kappa per document label either annotator set, in schema order.
    pub doc_labels: Vec<DocLabelAgreement>,
    /// Span F1 per span label either annotator used, in schema order.
    pub span_labels: Vec<SpanLabelAgreement>,
}

/// Agreement on one document label: a 2×2 table over the compared notes, and Cohen's kappa.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocLabelAgreement {
    /// Label name.
    pub label: String,
    /// Notes where both set the label.
    pub both: u64,
    /// Notes where only A set it.
    pub only_a: u64,
    /// Notes where only B set it.
    pub only_b: u64,
    /// Notes where neither set it.
    pub neither: u64,
    /// Cohen's kappa (1: perfect, 0: chance); `None` when undefined, i.e. when the chance
    /// agreement is 1 because both annotators gave every note the same answer.
    pub kappa: Option<f64>,
}

/// Agreement on one span label, with A's spans as the reference and B's as the prediction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpanLabelAgreement {
    /// Label name.
    pub label: String,
    /// A's gold spans with this label on the compared notes.
    pub spans_a: u64,
    /// B's gold spans with this label on the compared notes.
    pub spans_b: u64,
    /// Spans match when their fragments are identical.
    pub exact: F1Score,
    /// Spans match when they share at least one byte.
    pub overlap: F1Score,
}

/// Precision, recall and F1, each between 0 and 1.
///
/// Precision is the share of B's spans that match one of A's, recall the share of A's spans
/// that match one of B's. A share of nothing is 0 (scikit-learn's `zero_division=0`): precision
/// is 0 when B has no spans, recall 0 when A has none, and F1 is 0 when both are 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct F1Score {
    /// Share of B's spans that match (0 when B has none).
    pub precision: f64,
    /// Share of A's spans that match (0 when A has none).
    pub recall: f64,
    /// Harmonic mean of precision and recall (0 when both are 0).
    pub f1: f64,
}

/// One note's gold annotations from two annotators side by side, for adjudication.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoteComparison {
    /// The note.
    pub note: NoteId,
    /// Each document label either annotator set, in schema order.
    pub doc_labels: Vec<DocLabelComparison>,
    /// A's and B's spans paired one to one, in text order.
    pub spans: Vec<SpanComparison>,
}

/// Whether each annotator set one document label on the note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocLabelComparison {
    /// Label name.
    pub label: String,
    /// A set it.
    pub a: bool,
    /// B set it.
    pub b: bool,
}

/// One row of the side-by-side view: A's span, B's span with the same label, or a pair.
///
/// Pairs are one to one: a span overlapping two of the other annotator's spans pairs with one
/// of them, and the other shows as only A's or only B's (the report counts every overlap).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpanComparison {
    /// Label name (shared by both sides).
    pub label: String,
    /// A's fragments (UTF-8 byte offsets, as in [`crate::Span`]); `None` when A has no span here.
    pub fragments_a: Option<Vec<Fragment>>,
    /// B's fragments; `None` when B has no span here.
    pub fragments_b: Option<Vec<Fragment>>,
    /// A's span, to adjudicate with.
    pub span_a: Option<SpanId>,
    /// B's span, to adjudicate with.
    pub span_b: Option<SpanId>,
    /// How the two sides relate.
    pub agreement: SpanAgreement,
}

/// How A's and B's spans in one row relate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpanAgreement {
    /// Same label, identical fragments.
    Exact,
    /// Same label, overlapping but different fragments.
    Overlap,
    /// Only A has a span here.
    OnlyA,
    /// Only B has a span here.
    OnlyB,
}
