//! Span-level precision, recall and F1, exact and overlapping, per label and pooled.
//!
//! Spans are compared within one document and one label. A predicted span is right when some
//! gold span matches it, and a gold span is found when some predicted span matches it, so
//! precision and recall each count their own side (as brat-eval and our agreement report do);
//! "exact" needs equal offsets, "overlap" at least one shared position of the half-open ranges.

use std::collections::BTreeMap;

use super::classification::Prf;

/// One labelled, half-open range of a document (`start..end`, in whatever unit the caller
/// uses throughout).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelledSpan {
    /// The span's label.
    pub label: String,
    /// First position.
    pub start: usize,
    /// One past the last position.
    pub end: usize,
}

/// Matched and total spans on each side for one label (or pooled).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SpanCounts {
    /// Predicted spans.
    pub predicted: u64,
    /// Predicted spans that match a gold span.
    pub predicted_matched: u64,
    /// Gold spans.
    pub gold: u64,
    /// Gold spans that match a predicted span.
    pub gold_matched: u64,
}

impl SpanCounts {
    /// Precision, recall and F1 (harmonic mean), each 0 where undefined.
    pub fn scores(&self) -> Prf {
        let precision = share(self.predicted_matched, self.predicted);
        let recall = share(self.gold_matched, self.gold);
        let f1 = if precision + recall > 0.0 {
            2.0 * precision * recall / (precision + recall)
        } else {
            0.0
        };
        Prf {
            precision,
            recall,
            f1,
        }
    }

    fn add(&mut self, other: SpanCounts) {
        self.predicted += other.predicted;
        self.predicted_matched += other.predicted_matched;
        self.gold += other.gold;
        self.gold_matched += other.gold_matched;
    }
}

fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// Counts under both matching rules.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SpanMatch {
    /// Equal start and end.
    pub exact: SpanCounts,
    /// At least one shared position.
    pub overlap: SpanCounts,
}

/// Span scores per label and pooled over labels (micro).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SpanReport {
    /// Per label name.
    pub per_label: BTreeMap<String, SpanMatch>,
    /// Every label together.
    pub all: SpanMatch,
}

/// Compares documents' gold and predicted spans; `documents` pairs each document's gold
/// spans with its predicted ones.
pub fn span_report<'a>(
    documents: impl IntoIterator<Item = (&'a [LabelledSpan], &'a [LabelledSpan])>,
) -> SpanReport {
    let mut report = SpanReport::default();
    for (gold, predicted) in documents {
        for (label, counts) in document_counts(gold, predicted) {
            report.all.exact.add(counts.exact);
            report.all.overlap.add(counts.overlap);
            let entry = report.per_label.entry(label).or_default();
            entry.exact.add(counts.exact);
            entry.overlap.add(counts.overlap);
        }
    }
    report
}

fn document_counts(
    gold: &[LabelledSpan],
    predicted: &[LabelledSpan],
) -> BTreeMap<String, SpanMatch> {
    let exact = |a: &LabelledSpan, b: &LabelledSpan| a.start == b.start && a.end == b.end;
    let overlap = |a: &LabelledSpan, b: &LabelledSpan| a.start < b.end && b.start < a.end;
    let mut counts: BTreeMap<String, SpanMatch> = BTreeMap::new();
    for g in gold {
        let same_label = || predicted.iter().filter(|p| p.label == g.label);
        let entry = counts.entry(g.label.clone()).or_default();
        entry.exact.gold += 1;
        entry.overlap.gold += 1;
        entry.exact.gold_matched += u64::from(same_label().any(|p| exact(g, p)));
        entry.overlap.gold_matched += u64::from(same_label().any(|p| overlap(g, p)));
    }
    for p in predicted {
        let same_label = || gold.iter().filter(|g| g.label == p.label);
        let entry = counts.entry(p.label.clone()).or_default();
        entry.exact.predicted += 1;
        entry.overlap.predicted += 1;
        entry.exact.predicted_matched += u64::from(same_label().any(|g| exact(g, p)));
        entry.overlap.predicted_matched += u64::from(same_label().any(|g| overlap(g, p)));
    }
    counts
}
