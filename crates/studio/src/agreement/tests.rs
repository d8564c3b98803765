use std::collections::BTreeMap;

use api::{ImportRequest, NoteDetail};

use super::*;
use crate::annotation::{add_span, set_doc_label, undo};
use crate::{CancelToken, notes, transfer};

// Reference numbers from scikit-learn 1.9.1, printed by:
//
// from sklearn.metrics import cohen_kappa_score, precision_recall_fscore_support
// def table(both, only_a, only_b, neither):
//     a = [1]*both + [1]*only_a + [0]*only_b + [0]*neither
//     b = [1]*both + [0]*only_a + [1]*only_b + [0]*neither
//     return a, b
// for t in [(20, 5, 10, 15), (1, 4, 3, 2), (2, 0, 0, 3), (0, 6, 0, 0), (4, 0, 0, 0)]:
//     print("kappa", t, repr(cohen_kappa_score(*table(*t))))
// # Spans as items of the union of A's and B's spans: y_true = A has it, y_pred = B has it.
// for matched, a_only, b_only in [(3, 1, 2), (2, 5, 1), (0, 2, 0)]:
//     y_true, y_pred = table(matched, a_only, b_only, 0)
//     print("prf", (matched, a_only, b_only), precision_recall_fscore_support(
//         y_true, y_pred, average="binary", zero_division=0)[:3])
//
// kappa (20, 5, 10, 15) 0.4
// kappa (1, 4, 3, 2) -0.3999999999999999
// kappa (2, 0, 0, 3) 1.0
// kappa (0, 6, 0, 0) 0.0
// kappa (4, 0, 0, 0) nan
// prf (3, 1, 2) (0.6, 0.75, 0.6666666666666666)
// prf (2, 5, 1) (0.6666666666666666, 0.2857142857142857, 0.4)
// prf (0, 2, 0) (0.0, 0.0, 0.0)

const TOLERANCE: f64 = 1e-12;

#[test]
fn cohen_kappa_matches_scikit_learn() {
    let check = |table: (u64, u64, u64, u64), expected: Option<f64>| {
        let (both, only_a, only_b, neither) = table;
        let got = cohen_kappa(both, only_a, only_b, neither);
        match (got, expected) {
            (Some(g), Some(e)) => assert!((g - e).abs() < TOLERANCE, "{table:?}: {g} != {e}"),
            (None, None) => {}
            _ => panic!("{table:?}: {got:?} != {expected:?}"),
        }
    };
    check((20, 5, 10, 15), Some(0.4));
    check((1, 4, 3, 2), Some(-0.3999999999999999));
    check((2, 0, 0, 3), Some(1.0));
    check((0, 6, 0, 0), Some(0.0));
    // scikit-learn: nan (undefined: every note got the same answer from both).
    check((4, 0, 0, 0), None);
    check((0, 0, 0, 4), None);
    check((0, 0, 0, 0), None);
}

#[test]
fn f1_matches_scikit_learn_and_defines_empty_shares_as_zero() {
    // (matched, only A, only B): A has matched + only A spans, B has matched + only B.
    let check = |(matched, only_a, only_b): (u64, u64, u64), expected: (f64, f64, f64)| {
        let got = f1(matched, matched + only_b, matched, matched + only_a);
        let (p, r, f) = expected;
        for (name, g, e) in [
            ("precision", got.precision, p),
            ("recall", got.recall, r),
            ("f1", got.f1, f),
        ] {
            assert!(
                (g - e).abs() < TOLERANCE,
                "{matched},{only_a},{only_b} {name}: {g} != {e}"
            );
        }
    };
    check((3, 1, 2), (0.6, 0.75, 0.6666666666666666));
    check((2, 5, 1), (0.6666666666666666, 0.2857142857142857, 0.4));
    check((0, 2, 0), (0.0, 0.0, 0.0));
    check((0, 0, 0), (0.0, 0.0, 0.0));
    // Overlap counts matches per side: 2 of B's 3 spans, both of A's 2.
    let overlap = f1(2, 3, 2, 2);
    assert!((overlap.f1 - 0.8).abs() < TOLERANCE, "{overlap:?}");
}

#[test]
fn overlap_counts_shared_bytes_of_discontinuous_spans() {
    let frags = |pairs: &[(usize, usize)]| -> Vec<Fragment> {
        pairs
            .iter()
            .map(|&(start, end)| Fragment { start, end })
            .collect()
    };
    assert_eq!(overlap_bytes(&frags(&[(0, 5)]), &frags(&[(5, 9)])), 0);
    assert_eq!(overlap_bytes(&frags(&[(0, 5)]), &frags(&[(4, 9)])), 1);
    assert_eq!(
        overlap_bytes(&frags(&[(0, 3), (10, 20)]), &frags(&[(2, 12)])),
        3
    );
    assert_eq!(
        overlap_bytes(&frags(&[(0, 3), (10, 20)]), &frags(&[(3, 10)])),
        0
    );
}

const NOTE_1: &str = "Pt lives alone in a shelter; no car, misses rides. Retired teacher, widowed.";
const NOTE_2: &str = "Daughter visits daily. Works part-time at a bakery.";
const NOTE_3: &str = "Lives with wife in own home; drives himself.";

/// A project with the SDoH schema and three notes, `n1`..`n3`.
fn project_with_notes() -> (tempfile::TempDir, Project, [NoteId; 3]) {
    let dir = tempfile::tempdir().unwrap();
    let mut project = Project::create(&dir.path().join("p.clinitune"), &["sdoh".into()]).unwrap();
    let file = dir.path().join("n.jsonl");
    let lines: Vec<String> = [("n1", NOTE_1), ("n2", NOTE_2), ("n3", NOTE_3)]
        .iter()
        .map(|(id, text)| serde_json::json!({ "id": id, "text": text }).to_string())
        .collect();
    std::fs::write(&file, lines.join("\n")).unwrap();
    transfer::import_notes(
        &mut project,
        &file,
        &ImportRequest::default(),
        &mut |_| {},
        &CancelToken::new(),
    )
    .unwrap();
    let ids = ["n1", "n2", "n3"].map(|id| notes::resolve(&project, id).unwrap());
    (dir, project, ids)
}

fn span(note: NoteId, text: &str, label: &str, phrase: &str) -> SpanRequest {
    let start = text.find(phrase).unwrap();
    SpanRequest {
        note,
        label: label.into(),
        fragments: vec![Fragment {
            start,
            end: start + phrase.len(),
        }],
        attributes: BTreeMap::new(),
    }
}

/// alice (A) and bob (B) annotate notes 1 and 2; only alice annotates note 3.
fn annotated() -> (tempfile::TempDir, Project, [NoteId; 3]) {
    let (dir, mut p, [n1, n2, n3]) = project_with_notes();
    let spans = [
        (n1, NOTE_1, "alice", "SUPPORT", "lives alone"),
        (n1, NOTE_1, "bob", "SUPPORT", "Pt lives alone"),
        (n1, NOTE_1, "alice", "HOUSING", "in a shelter"),
        (n1, NOTE_1, "bob", "HOUSING", "in a shelter"),
        (n1, NOTE_1, "alice", "TRANSPORTATION", "no car"),
        (n1, NOTE_1, "bob", "TRANSPORTATION", "misses rides"),
        (n1, NOTE_1, "alice", "EMPLOYMENT", "Retired teacher"),
        (n1, NOTE_1, "bob", "EMPLOYMENT", "Retired"),
        (n2, NOTE_2, "alice", "SUPPORT", "Daughter visits daily"),
        (n2, NOTE_2, "bob", "SUPPORT", "Daughter visits daily"),
        (n2, NOTE_2, "bob", "SUPPORT", "bakery"),
        (n3, NOTE_3, "alice", "HOUSING", "own home"),
    ];
    for (note, text, who, label, phrase) in spans {
        add_span(&mut p, &span(note, text, label, phrase), who).unwrap();
    }
    let docs = [
        (n1, "alice", "HOUSING"),
        (n1, "bob", "HOUSING"),
        (n1, "alice", "TRANSPORTATION"),
        (n2, "alice", "HOUSING"),
        (n2, "bob", "HOUSING"),
        (n2, "bob", "EMPLOYMENT"),
        (n3, "alice", "TRANSPORTATION"),
    ];
    for (note, who, label) in docs {
        set_doc_label(&mut p, note, label, &BTreeMap::new(), who).unwrap();
    }
    // A suggestion under bob's name is not bob's judgement: it must not count.
    p.store
        .write(|tx| -> Result<_, Error> {
            let start = NOTE_1.find("widowed").unwrap();
            Ok(tx.insert_span(
                &store::NewSpan {
                    note: n1,
                    label: "RELATIONSHIP".into(),
                    annotator: "bob".into(),
                    status: AnnotationStatus::Suggested,
                    fragments: vec![Fragment {
                        start,
                        end: start + "widowed".len(),
                    }],
                    attributes: BTreeMap::new(),
                    comment: None,
                    source_ref: None,
                },
                None,
            )?)
        })
        .unwrap();
    (dir, p, [n1, n2, n3])
}

fn alice_vs_bob() -> AgreementRequest {
    AgreementRequest {
        annotator_a: "alice".into(),
        annotator_b: "bob".into(),
    }
}

fn score(precision: f64, recall: f64, f1: f64) -> F1Score {
    F1Score {
        precision,
        recall,
        f1,
    }
}

fn assert_close(got: F1Score, expected: F1Score, what: &str) {
    for (name, g, e) in [
        ("precision", got.precision, expected.precision),
        ("recall", got.recall, expected.recall),
        ("f1", got.f1, expected.f1),
    ] {
        assert!((g - e).abs() < TOLERANCE, "{what} {name}: {g} != {e}");
    }
}

#[test]
fn report_counts_gold_annotations_on_notes_both_annotated() {
    let (_d, p, _) = annotated();
    let report = report(&p, &alice_vs_bob()).unwrap();
    assert_eq!(
        (report.annotator_a.as_str(), report.annotator_b.as_str()),
        ("alice", "bob")
    );
    assert_eq!(report.notes_compared, 2, "note 3 has only alice's work");

    let tables: Vec<_> = report
        .doc_labels
        .iter()
        .map(|d| {
            (
                d.label.as_str(),
                d.both,
                d.only_a,
                d.only_b,
                d.neither,
                d.kappa,
            )
        })
        .collect();
    assert_eq!(
        tables,
        vec![
            // Schema order; kappa from the 2×2 tables (see cohen_kappa_matches_scikit_learn).
            ("EMPLOYMENT", 0, 0, 1, 1, Some(0.0)),
            ("HOUSING", 2, 0, 0, 0, None),
            ("TRANSPORTATION", 0, 1, 0, 1, Some(0.0)),
        ]
    );

    let labels: Vec<(&str, u64, u64)> = report
        .span_labels
        .iter()
        .map(|s| (s.label.as_str(), s.spans_a, s.spans_b))
        .collect();
    assert_eq!(
        labels,
        vec![
            ("EMPLOYMENT", 1, 1),
            ("HOUSING", 1, 1),
            ("TRANSPORTATION", 1, 1),
            ("SUPPORT", 2, 3),
        ],
        "bob's suggested RELATIONSHIP span and alice's note-3 HOUSING span do not count"
    );
    let expected = [
        // "Retired teacher" vs "Retired": overlap only.
        (score(0.0, 0.0, 0.0), score(1.0, 1.0, 1.0)),
        (score(1.0, 1.0, 1.0), score(1.0, 1.0, 1.0)),
        // "no car" vs "misses rides": no shared byte.
        (score(0.0, 0.0, 0.0), score(0.0, 0.0, 0.0)),
        // 1 of bob's 3 identical to 1 of alice's 2; 2 of bob's 3 overlap, both of alice's do.
        (score(1.0 / 3.0, 0.5, 0.4), score(2.0 / 3.0, 1.0, 0.8)),
    ];
    for (s, (exact, overlap)) in report.span_labels.iter().zip(expected) {
        assert_close(s.exact, exact, &format!("{} exact", s.label));
        assert_close(s.overlap, overlap, &format!("{} overlap", s.label));
    }
}

fn fragments_of(text: &str, phrase: &str) -> Option<Vec<Fragment>> {
    let start = text.find(phrase).unwrap();
    Some(vec![Fragment {
        start,
        end: start + phrase.len(),
    }])
}

#[test]
fn compare_note_pairs_spans_in_text_order() {
    let (_d, p, [n1, _, _]) = annotated();
    let cmp = compare_note(&p, n1, "alice", "bob").unwrap();
    assert_eq!(cmp.note, n1);
    assert_eq!(
        cmp.doc_labels,
        vec![
            DocLabelComparison {
                label: "HOUSING".into(),
                a: true,
                b: true
            },
            DocLabelComparison {
                label: "TRANSPORTATION".into(),
                a: true,
                b: false
            },
        ]
    );
    let rows: Vec<_> = cmp
        .spans
        .iter()
        .map(|s| {
            (
                s.label.as_str(),
                s.fragments_a.clone(),
                s.fragments_b.clone(),
                s.agreement,
            )
        })
        .collect();
    let at = |phrase| fragments_of(NOTE_1, phrase);
    assert_eq!(
        rows,
        vec![
            (
                "SUPPORT",
                at("lives alone"),
                at("Pt lives alone"),
                SpanAgreement::Overlap
            ),
            (
                "HOUSING",
                at("in a shelter"),
                at("in a shelter"),
                SpanAgreement::Exact
            ),
            ("TRANSPORTATION", at("no car"), None, SpanAgreement::OnlyA),
            (
                "TRANSPORTATION",
                None,
                at("misses rides"),
                SpanAgreement::OnlyB
            ),
            (
                "EMPLOYMENT",
                at("Retired teacher"),
                at("Retired"),
                SpanAgreement::Overlap
            ),
        ],
        "bob's suggestion is not shown"
    );
    for row in &cmp.spans {
        assert_eq!(row.span_a.is_some(), row.fragments_a.is_some());
        assert_eq!(row.span_b.is_some(), row.fragments_b.is_some());
    }
}

fn carol_spans(p: &Project, note: NoteId) -> Vec<Span> {
    let detail: NoteDetail = notes::show(p, note).unwrap();
    detail
        .spans
        .into_iter()
        .filter(|s| s.annotator == "carol")
        .collect()
}

#[test]
fn adjudicate_copies_the_chosen_span_as_undoable_gold() {
    let (_d, mut p, [n1, n2, _]) = annotated();
    let cmp = compare_note(&p, n1, "alice", "bob").unwrap();
    let chosen = cmp.spans[0].span_b.unwrap();
    let gold = adjudicate(&mut p, n1, chosen, "carol").unwrap();
    assert_eq!(
        (
            gold.label.as_str(),
            gold.annotator.as_str(),
            gold.status,
            Some(gold.fragments.clone())
        ),
        (
            "SUPPORT",
            "carol",
            AnnotationStatus::Gold,
            fragments_of(NOTE_1, "Pt lives alone")
        )
    );
    assert_eq!(carol_spans(&p, n1), vec![gold.clone()]);
    assert_eq!(
        adjudicate(&mut p, n1, chosen, "carol").unwrap().id,
        gold.id,
        "choosing twice adds nothing"
    );
    assert_eq!(carol_spans(&p, n1).len(), 1);

    assert_eq!(undo(&mut p, n1, "carol").unwrap(), Some("add_span"));
    assert!(carol_spans(&p, n1).is_empty());
    assert_eq!(undo(&mut p, n1, "carol").unwrap(), None);

    let err = adjudicate(&mut p, n2, chosen, "carol").unwrap_err();
    assert!(matches!(err, Error::Invalid(_)), "{err}");
    let suggestion = notes::show(&p, n1)
        .unwrap()
        .spans
        .into_iter()
        .find(|s| s.status == AnnotationStatus::Suggested)
        .unwrap();
    let err = adjudicate(&mut p, n1, suggestion.id, "carol").unwrap_err();
    assert!(err.to_string().contains("only gold spans"), "{err}");
}

#[test]
fn comparing_unknown_or_identical_annotators_is_refused() {
    let (_d, p, [n1, _, _]) = annotated();
    let same = AgreementRequest {
        annotator_a: "alice".into(),
        annotator_b: "alice".into(),
    };
    assert!(matches!(report(&p, &same), Err(Error::Invalid(_))));
    let typo = AgreementRequest {
        annotator_a: "alice".into(),
        annotator_b: "Bob".into(),
    };
    let err = report(&p, &typo).unwrap_err();
    assert_eq!(err.to_string(), "annotator Bob not found");
    let err = compare_note(&p, NoteId(999), "alice", "bob").unwrap_err();
    assert_eq!(err.to_string(), "note 999 not found");
    assert!(compare_note(&p, n1, "nobody", "bob").is_err());
}

// See: issue 13, item 8 (with nobody chosen the app said "both sides are ; choose two …").
#[test]
fn comparing_with_no_annotator_chosen_says_to_choose_two() {
    let (_d, p, _) = annotated();
    let none = AgreementRequest {
        annotator_a: String::new(),
        annotator_b: String::new(),
    };
    let err = report(&p, &none).unwrap_err();
    assert_eq!(
        err.to_string(),
        "choose two annotators to compare (A and B)"
    );
}
