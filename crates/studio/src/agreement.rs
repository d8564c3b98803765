//! Inter-annotator agreement between two annotators, and adjudication of their differences.
//!
//! Only gold annotations count (suggestions and rejected suggestions are not an annotator's
//! judgement), and only on the notes both annotators have annotated, so a note one of them has
//! not reached yet counts against no one. Document labels get Cohen's kappa over those notes
//! (label present or absent per note); span labels get precision, recall and F1 with A as the
//! reference and B as the prediction, matching spans exactly or by any overlap.

use std::collections::{BTreeMap, BTreeSet};

use api::{
    AgreementReport, AgreementRequest, AnnotationStatus, DocLabelAgreement, DocLabelComparison,
    F1Score, Fragment, NoteComparison, NoteId, Span, SpanAgreement, SpanComparison, SpanId,
    SpanLabelAgreement, SpanRequest,
};

use crate::error::Error;
use crate::project::Project;

/// Agreement between two annotators per document label (kappa) and span label (F1).
pub fn report(project: &Project, request: &AgreementRequest) -> Result<AgreementReport, Error> {
    let (a, b) = (request.annotator_a.as_str(), request.annotator_b.as_str());
    check_pair(project, a, b)?;
    let db = project.store.db();
    let of_a: BTreeSet<NoteId> = db
        .notes_annotated_by(a, AnnotationStatus::Gold)?
        .into_iter()
        .collect();
    let notes: Vec<NoteId> = db
        .notes_annotated_by(b, AnnotationStatus::Gold)?
        .into_iter()
        .filter(|n| of_a.contains(n))
        .collect();

    let mut docs: BTreeMap<String, DocTable> = BTreeMap::new();
    let mut spans: BTreeMap<String, SpanCounts> = BTreeMap::new();
    for &note in &notes {
        let gold = Gold::read(project, note, a, b)?;
        for label in gold.doc_a.union(&gold.doc_b) {
            let table = docs.entry(label.clone()).or_default();
            match (gold.doc_a.contains(label), gold.doc_b.contains(label)) {
                (true, true) => table.both += 1,
                (true, false) => table.only_a += 1,
                _ => table.only_b += 1,
            }
        }
        for (side, others, is_a) in [
            (&gold.spans_a, &gold.spans_b, true),
            (&gold.spans_b, &gold.spans_a, false),
        ] {
            for span in side {
                let same_label = others.iter().filter(|o| o.label == span.label);
                let exact = same_label.clone().any(|o| o.fragments == span.fragments);
                let overlap = same_label
                    .clone()
                    .any(|o| overlap_bytes(&o.fragments, &span.fragments) > 0);
                spans
                    .entry(span.label.clone())
                    .or_default()
                    .add(is_a, exact, overlap);
            }
        }
    }

    let compared = notes.len() as u64;
    let order = LabelOrder::of(project)?;
    let mut doc_labels: Vec<DocLabelAgreement> = docs
        .into_iter()
        .map(|(label, t)| {
            let neither = compared.saturating_sub(t.both + t.only_a + t.only_b);
            DocLabelAgreement {
                label,
                both: t.both,
                only_a: t.only_a,
                only_b: t.only_b,
                neither,
                kappa: cohen_kappa(t.both, t.only_a, t.only_b, neither),
            }
        })
        .collect();
    doc_labels.sort_by_key(|d| order.key(&d.label));
    let mut span_labels: Vec<SpanLabelAgreement> = spans
        .into_iter()
        .map(|(label, c)| SpanLabelAgreement {
            label,
            spans_a: c.spans_a,
            spans_b: c.spans_b,
            exact: f1(c.exact_b, c.spans_b, c.exact_a, c.spans_a),
            overlap: f1(c.overlap_b, c.spans_b, c.overlap_a, c.spans_a),
        })
        .collect();
    span_labels.sort_by_key(|s| order.key(&s.label));
    // Counts only: annotator names are personal data and stay out of the log.
    tracing::info!(
        notes_compared = compared,
        doc_labels = doc_labels.len(),
        span_labels = span_labels.len(),
        "agreement report"
    );
    Ok(AgreementReport {
        annotator_a: a.to_owned(),
        annotator_b: b.to_owned(),
        notes_compared: compared,
        doc_labels,
        span_labels,
    })
}

/// One note's gold annotations from `a` and `b` side by side: document labels, and spans paired
/// one to one (identical fragments first, then the largest overlap), in text order.
pub fn compare_note(
    project: &Project,
    note: NoteId,
    a: &str,
    b: &str,
) -> Result<NoteComparison, Error> {
    check_pair(project, a, b)?;
    // An unknown note is an error, not an empty comparison.
    project.store.db().note_status(note)?;
    let gold = Gold::read(project, note, a, b)?;
    let order = LabelOrder::of(project)?;
    let mut doc_labels: Vec<DocLabelComparison> = gold
        .doc_a
        .union(&gold.doc_b)
        .map(|label| DocLabelComparison {
            label: label.clone(),
            a: gold.doc_a.contains(label),
            b: gold.doc_b.contains(label),
        })
        .collect();
    doc_labels.sort_by_key(|d| order.key(&d.label));
    Ok(NoteComparison {
        note,
        doc_labels,
        spans: pair_spans(&gold.spans_a, &gold.spans_b),
    })
}

/// Copies A's or B's span as the adjudicator's gold span, through [`crate::annotation::add_span`]
/// so that it is audited and undoable; an identical gold span the adjudicator already has is
/// returned as it is, so choosing twice adds nothing.
pub fn adjudicate(
    project: &mut Project,
    note: NoteId,
    span_of_a_or_b: SpanId,
    adjudicator: &str,
) -> Result<Span, Error> {
    let (owner, chosen) = project.store.db().span(span_of_a_or_b)?;
    if owner != note {
        return Err(Error::Invalid(format!(
            "span {span_of_a_or_b} belongs to note {owner}, not {note}"
        )));
    }
    if chosen.status != AnnotationStatus::Gold {
        return Err(Error::Invalid(format!(
            "span {span_of_a_or_b} is a {} suggestion, not an annotator's gold span; \
             only gold spans can be adjudicated",
            chosen.status.as_str()
        )));
    }
    let existing = project
        .store
        .db()
        .spans_of_note(note)?
        .into_iter()
        .find(|s| {
            s.annotator == adjudicator
                && s.status == AnnotationStatus::Gold
                && s.label == chosen.label
                && s.fragments == chosen.fragments
        });
    if let Some(span) = existing {
        return Ok(span);
    }
    let request = SpanRequest {
        note,
        label: chosen.label,
        fragments: chosen.fragments,
        attributes: chosen.attributes,
    };
    crate::annotation::add_span(project, &request, adjudicator)
}

/// Refuses comparing an annotator with themselves, and names that are not in the project.
fn check_pair(project: &Project, a: &str, b: &str) -> Result<(), Error> {
    if a.trim().is_empty() || b.trim().is_empty() {
        return Err(Error::Invalid(
            "choose two annotators to compare (A and B)".to_owned(),
        ));
    }
    if a == b {
        return Err(Error::Invalid(format!(
            "both sides are {a}; choose two different annotators to compare"
        )));
    }
    let db = project.store.db();
    for name in [a, b] {
        if db.annotator_id(name)?.is_none() {
            return Err(Error::Store(store::Error::NotFound {
                what: "annotator",
                id: name.to_owned(),
            }));
        }
    }
    Ok(())
}

/// The gold annotations of two annotators on one note.
struct Gold {
    doc_a: BTreeSet<String>,
    doc_b: BTreeSet<String>,
    spans_a: Vec<Span>,
    spans_b: Vec<Span>,
}

impl Gold {
    fn read(project: &Project, note: NoteId, a: &str, b: &str) -> Result<Gold, Error> {
        let db = project.store.db();
        let mut gold = Gold {
            doc_a: BTreeSet::new(),
            doc_b: BTreeSet::new(),
            spans_a: Vec::new(),
            spans_b: Vec::new(),
        };
        for doc in db.doc_labels_of_note(note)? {
            if doc.status != AnnotationStatus::Gold {
                continue;
            }
            if doc.annotator == a {
                gold.doc_a.insert(doc.label);
            } else if doc.annotator == b {
                gold.doc_b.insert(doc.label);
            }
        }
        for span in db.spans_of_note(note)? {
            if span.status != AnnotationStatus::Gold {
                continue;
            }
            if span.annotator == a {
                gold.spans_a.push(span);
            } else if span.annotator == b {
                gold.spans_b.push(span);
            }
        }
        Ok(gold)
    }
}

/// Where a label stands in the project's schemas, so tables list labels as the schema does.
struct LabelOrder(BTreeMap<String, usize>);

impl LabelOrder {
    fn of(project: &Project) -> Result<LabelOrder, Error> {
        let labels = project.store.db().labels()?;
        Ok(LabelOrder(
            labels
                .into_iter()
                .enumerate()
                .map(|(i, l)| (l.name, i))
                .collect(),
        ))
    }

    /// Schema position, then name (labels no schema lists come last, alphabetically).
    fn key(&self, label: &str) -> (usize, String) {
        (
            self.0.get(label).copied().unwrap_or(usize::MAX),
            label.to_owned(),
        )
    }
}

/// A document label's 2×2 table before `neither` is known.
#[derive(Default)]
struct DocTable {
    both: u64,
    only_a: u64,
    only_b: u64,
}

/// A span label's counts: spans per side, and how many of them match the other side.
#[derive(Default)]
struct SpanCounts {
    spans_a: u64,
    spans_b: u64,
    exact_a: u64,
    exact_b: u64,
    overlap_a: u64,
    overlap_b: u64,
}

impl SpanCounts {
    fn add(&mut self, is_a: bool, exact: bool, overlap: bool) {
        let (spans, exacts, overlaps) = if is_a {
            (&mut self.spans_a, &mut self.exact_a, &mut self.overlap_a)
        } else {
            (&mut self.spans_b, &mut self.exact_b, &mut self.overlap_b)
        };
        *spans += 1;
        *exacts += u64::from(exact);
        *overlaps += u64::from(overlap);
    }
}

/// Cohen's kappa for two raters' yes/no answers over the same items, from the 2×2 table;
/// `None` when it is undefined: no items, or chance agreement of 1 (each rater always gave the
/// same answer, and the same one).
fn cohen_kappa(both: u64, only_a: u64, only_b: u64, neither: u64) -> Option<f64> {
    // κ = (p_o − p_e) / (1 − p_e) = 2(ad − bc) / ((a+b)(b+d) + (a+c)(c+d)) with a = both,
    // b = only_a, c = only_b, d = neither. In integers, "p_e = 1" is an exact test.
    let (a, b, c, d) = (
        i128::from(both),
        i128::from(only_a),
        i128::from(only_b),
        i128::from(neither),
    );
    let denominator = (a + b) * (b + d) + (a + c) * (c + d);
    if denominator == 0 {
        return None;
    }
    Some((2 * (a * d - b * c)) as f64 / denominator as f64)
}

/// Precision over B's spans and recall over A's, and their harmonic mean; a share of nothing
/// is 0 (scikit-learn's `zero_division=0`), and F1 is 0 when precision and recall both are.
fn f1(matched_b: u64, spans_b: u64, matched_a: u64, spans_a: u64) -> F1Score {
    let share = |matched: u64, all: u64| {
        if all == 0 {
            0.0
        } else {
            matched as f64 / all as f64
        }
    };
    let precision = share(matched_b, spans_b);
    let recall = share(matched_a, spans_a);
    let f1 = if precision + recall > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    };
    F1Score {
        precision,
        recall,
        f1,
    }
}

/// Bytes two spans share (fragments may be discontinuous).
fn overlap_bytes(x: &[Fragment], y: &[Fragment]) -> usize {
    x.iter()
        .flat_map(|f| {
            y.iter()
                .map(move |g| f.end.min(g.end).saturating_sub(f.start.max(g.start)))
        })
        .sum()
}

/// Pairs A's and B's spans of the same label one to one: identical fragments first, then each
/// remaining A span (in text order) with the unpaired B span it overlaps most; the rest stand
/// alone. Rows come back in text order.
fn pair_spans(spans_a: &[Span], spans_b: &[Span]) -> Vec<SpanComparison> {
    let mut taken = vec![false; spans_b.len()];
    let mut pairs: Vec<(&Span, Option<(&Span, SpanAgreement)>)> = Vec::new();
    let mut unpaired_a = Vec::new();
    for sa in spans_a {
        let exact = spans_b
            .iter()
            .enumerate()
            .find(|(j, sb)| !taken[*j] && sb.label == sa.label && sb.fragments == sa.fragments);
        match exact {
            Some((j, sb)) => {
                taken[j] = true;
                pairs.push((sa, Some((sb, SpanAgreement::Exact))));
            }
            None => unpaired_a.push(sa),
        }
    }
    for sa in unpaired_a {
        let best = spans_b
            .iter()
            .enumerate()
            .filter(|(j, sb)| !taken[*j] && sb.label == sa.label)
            .map(|(j, sb)| (j, sb, overlap_bytes(&sa.fragments, &sb.fragments)))
            .filter(|(_, _, shared)| *shared > 0)
            // The largest overlap; on a tie, the earliest B span.
            .max_by_key(|(j, _, shared)| (*shared, std::cmp::Reverse(*j)));
        match best {
            Some((j, sb, _)) => {
                taken[j] = true;
                pairs.push((sa, Some((sb, SpanAgreement::Overlap))));
            }
            None => pairs.push((sa, None)),
        }
    }
    let mut rows: Vec<SpanComparison> = pairs
        .into_iter()
        .map(|(sa, paired)| SpanComparison {
            label: sa.label.clone(),
            fragments_a: Some(sa.fragments.clone()),
            fragments_b: paired.map(|(sb, _)| sb.fragments.clone()),
            span_a: Some(sa.id),
            span_b: paired.map(|(sb, _)| sb.id),
            agreement: paired.map_or(SpanAgreement::OnlyA, |(_, how)| how),
        })
        .collect();
    rows.extend(
        spans_b
            .iter()
            .zip(&taken)
            .filter(|(_, taken)| !**taken)
            .map(|(sb, _)| SpanComparison {
                label: sb.label.clone(),
                fragments_a: None,
                fragments_b: Some(sb.fragments.clone()),
                span_a: None,
                span_b: Some(sb.id),
                agreement: SpanAgreement::OnlyB,
            }),
    );
    rows.sort_by_key(|row| {
        let start = |f: &Option<Vec<Fragment>>| {
            f.as_ref()
                .and_then(|f| f.first())
                .map_or(usize::MAX, |f| f.start)
        };
        (
            start(&row.fragments_a).min(start(&row.fragments_b)),
            row.span_a.or(row.span_b),
        )
    });
    rows
}

#[cfg(test)]
mod tests;
