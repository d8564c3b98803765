use std::collections::BTreeMap;

use api::{BootstrapInfo, ItemValue, LabelFigures, LabelMetrics, TextMetrics, UnmatchedIds};

use super::*;
use crate::Store;

fn labels(labels: &[&str], scores: &[(&str, f64)]) -> ItemValue {
    ItemValue::Labels {
        labels: labels.iter().map(|l| l.to_string()).collect(),
        scores: scores.iter().map(|(l, s)| (l.to_string(), *s)).collect(),
    }
}

fn label_report() -> MetricsReport {
    let figures = LabelFigures {
        precision: 0.5,
        recall: 1.0,
        f1: 2.0 / 3.0,
        auroc: Some(0.75),
        support: 1,
        predicted: 2,
        f1_ci95: Some([0.0, 1.0]),
    };
    MetricsReport::Labels(LabelMetrics {
        n: 2,
        macro_f1: 2.0 / 3.0,
        micro_f1: 2.0 / 3.0,
        macro_auroc: Some(0.75),
        per_label: BTreeMap::from([("housing".to_owned(), figures)]),
        ci95: BTreeMap::from([("macro_f1".to_owned(), [0.0, 1.0])]),
        bootstrap: BootstrapInfo {
            resamples: 1000,
            seed: 0,
            method: "percentile".to_owned(),
        },
        no_label_class: None,
        unmatched: UnmatchedIds::default(),
    })
}

#[test]
fn an_evaluation_reads_back_as_it_was_stored_and_lists_newest_first() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::create(&dir.path().join("p.clinitune")).unwrap();
    let subject = EvaluationSubject {
        model: Some("models/m.gguf".to_owned()),
        adapters: vec!["domain".to_owned(), "runs/001-classify/adapter".to_owned()],
        split: Some(Split::Test),
        task: None,
        source: "the project's test split".to_owned(),
        training_run: Some("runs/001-classify".to_owned()),
    };
    let items = vec![
        EvaluationItem {
            id: "a".to_owned(),
            note: None,
            gold: labels(&["housing"], &[]),
            predicted: labels(&["housing"], &[("housing", 0.9)]),
        },
        EvaluationItem {
            id: "b".to_owned(),
            note: None,
            gold: labels(&[], &[]),
            predicted: labels(&["housing"], &[("housing", 0.6)]),
        },
    ];
    let report = label_report();
    let settings = MetricSettings::default();
    let first = store
        .write(|tx| {
            tx.insert_evaluation(&NewEvaluation {
                name: "classifier on test",
                subject: &subject,
                settings: &settings,
                report: &report,
                items: &items,
            })
        })
        .unwrap();
    let text = MetricsReport::Text(TextMetrics {
        n: 1,
        rouge1: 0.5,
        rouge2: 0.25,
        rouge_l: 0.5,
        stemmer: true,
        ci95: BTreeMap::new(),
        bootstrap: BootstrapInfo {
            resamples: 10,
            seed: 1,
            method: "percentile".to_owned(),
        },
        unmatched: UnmatchedIds::default(),
    });
    let plain = EvaluationSubject {
        model: None,
        adapters: vec![],
        split: None,
        task: None,
        source: "gold.jsonl vs pred.jsonl".to_owned(),
        training_run: None,
    };
    let text_items = vec![EvaluationItem {
        id: "1".to_owned(),
        note: None,
        gold: ItemValue::Text {
            text: "lives alone".to_owned(),
        },
        predicted: ItemValue::Text {
            text: "alone".to_owned(),
        },
    }];
    let second = store
        .write(|tx| {
            tx.insert_evaluation(&NewEvaluation {
                name: "summaries",
                subject: &plain,
                settings: &settings,
                report: &text,
                items: &text_items,
            })
        })
        .unwrap();

    let listed = store.db().evaluations().unwrap();
    assert_eq!(
        listed.iter().map(|e| e.id).collect::<Vec<_>>(),
        vec![second, first]
    );
    assert_eq!(listed[1].kind, EvaluationKind::Classification);
    assert_eq!(listed[1].items, 2);
    assert_eq!(listed[1].subject, subject);
    assert_eq!(listed[1].headline["macro_f1"].ci95, Some([0.0, 1.0]));
    assert_eq!(listed[0].kind, EvaluationKind::Generation);
    assert_eq!(listed[0].headline["rougeL"].value, 0.5);

    let back = store.db().evaluation(first).unwrap();
    assert_eq!(back.items, items);
    assert_eq!(back.report, report);
    assert_eq!(back.settings, settings);
    assert_eq!(store.db().evaluation(second).unwrap().items, text_items);
    assert!(matches!(
        store.db().evaluation(EvaluationId(99)),
        Err(Error::NotFound { .. })
    ));
}

#[test]
fn a_damaged_evaluation_row_is_an_error_naming_it_not_a_default() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::create(&dir.path().join("p.clinitune")).unwrap();
    let subject = EvaluationSubject {
        model: None,
        adapters: vec![],
        split: None,
        task: None,
        source: "files".to_owned(),
        training_run: None,
    };
    let id = store
        .write(|tx| {
            tx.insert_evaluation(&NewEvaluation {
                name: "x",
                subject: &subject,
                settings: &MetricSettings::default(),
                report: &label_report(),
                items: &[],
            })
        })
        .unwrap();
    for (column, value) in [("metrics", "{\"kind\":"), ("kind", "ranking")] {
        let sql = format!("UPDATE evaluations SET {column} = ?1 WHERE id = ?2");
        store
            .write(|tx| {
                tx.conn()
                    .execute(&sql, params![value, id.0])
                    .map_err(Error::sql("damaging"))
            })
            .unwrap();
        let err = store.db().evaluations().unwrap_err().to_string();
        assert!(err.contains(&format!("evaluation {id}")), "{err}");
        assert!(store.db().evaluation(id).is_err());
    }
}
