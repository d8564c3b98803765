//! ROC curves are checked against scikit-learn (the fixtures' metrics.json: the area under our
//! curve equals its `roc_auc_score` per label) and a case worked by hand; stored evaluations
//! against the file scoring they were made from.

use std::path::PathBuf;

use api::{ItemValue, MetricSettings};
use serde_json::Value;

use super::*;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures")
}

fn metrics_fixture() -> Value {
    let path = fixtures().join("metrics.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (the shared folder beside the checkout)",
            path.display()
        )
    });
    serde_json::from_str(&text).unwrap()
}

fn labelled(id: usize, gold: &[&str], scores: &[(&str, f64)]) -> EvaluationItem {
    EvaluationItem {
        id: id.to_string(),
        note: None,
        gold: ItemValue::Labels {
            labels: gold.iter().map(|l| l.to_string()).collect(),
            scores: BTreeMap::new(),
        },
        predicted: ItemValue::Labels {
            labels: Vec::new(),
            scores: scores.iter().map(|(l, s)| (l.to_string(), *s)).collect(),
        },
    }
}

fn evaluation(items: Vec<EvaluationItem>) -> Evaluation {
    let scored: Vec<LabelItem> = items.iter().map(|i| as_label_item(i).unwrap()).collect();
    Evaluation {
        summary: EvaluationSummary {
            id: EvaluationId(1),
            name: "t".to_owned(),
            created_at: String::new(),
            kind: EvaluationKind::Classification,
            subject: EvaluationSubject {
                model: None,
                adapters: Vec::new(),
                split: None,
                task: None,
                source: String::new(),
                training_run: None,
            },
            items: items.len() as u64,
            headline: BTreeMap::new(),
        },
        settings: MetricSettings::default(),
        report: MetricsReport::Labels(score_labels(&scored, &MetricSettings::default())),
        items,
    }
}

#[test]
fn roc_area_equals_scikit_learns_auroc_on_tied_scores() {
    let m = &metrics_fixture()["multilabel"];
    let rows = |key: &str| -> Vec<Vec<f64>> {
        m[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                r.as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_f64().unwrap())
                    .collect()
            })
            .collect()
    };
    let (truth, scores) = (rows("y_true"), rows("scores"));
    let names: Vec<String> = (0..truth[0].len()).map(|k| format!("l{k}")).collect();
    let items: Vec<EvaluationItem> = truth
        .iter()
        .zip(&scores)
        .enumerate()
        .map(|(i, (t, s))| {
            let gold: Vec<&str> = names
                .iter()
                .zip(t)
                .filter(|(_, y)| **y == 1.0)
                .map(|(n, _)| n.as_str())
                .collect();
            let scored: Vec<(&str, f64)> = names
                .iter()
                .map(String::as_str)
                .zip(s.iter().copied())
                .collect();
            labelled(i, &gold, &scored)
        })
        .collect();
    let curves = roc_curves(&evaluation(items));
    let expected = m["auroc_per_label"].as_array().unwrap();
    let with_area: Vec<(usize, f64)> = expected
        .iter()
        .enumerate()
        .filter_map(|(k, v)| Some((k, v.as_f64()?)))
        .collect();
    // The label without positives has no curve, as scikit-learn has no AUROC for it.
    assert_eq!(curves.len(), with_area.len());
    for (curve, (k, auroc)) in curves.iter().zip(with_area) {
        assert_eq!(curve.label, names[k]);
        assert!(
            (curve.auroc - auroc).abs() < 1e-12,
            "{}: {} vs {auroc}",
            curve.label,
            curve.auroc
        );
        assert_eq!(curve.points.first(), Some(&[0.0, 0.0]));
        assert_eq!(curve.points.last(), Some(&[1.0, 1.0]));
        assert!(
            curve
                .points
                .windows(2)
                .all(|w| w[0][0] <= w[1][0] && w[0][1] <= w[1][1])
        );
    }
}

#[test]
fn roc_points_step_per_distinct_score_with_ties_diagonal() {
    // Scores 0.9 (pos), 0.7 (neg), 0.7 (pos), 0.2 (neg): two positives, two negatives.
    let items = vec![
        labelled(0, &["x"], &[("x", 0.9)]),
        labelled(1, &[], &[("x", 0.7)]),
        labelled(2, &["x"], &[("x", 0.7)]),
        labelled(3, &[], &[("x", 0.2)]),
    ];
    let curves = roc_curves(&evaluation(items));
    assert_eq!(curves.len(), 1);
    let c = &curves[0];
    assert_eq!(
        c.points,
        vec![[0.0, 0.0], [0.0, 0.5], [0.5, 1.0], [1.0, 1.0]]
    );
    // By hand: 0.5·(0.5+1)/2 + 0.5·(1+1)/2 = 0.375 + 0.5.
    assert!((c.auroc - 0.875).abs() < 1e-15);
    assert_eq!((c.positives, c.negatives), (2, 2));
}

#[test]
fn stored_evaluations_compare_like_the_files_they_were_scored_from() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, lines: &[&str]| {
        let path = dir.path().join(name);
        std::fs::write(&path, lines.join("\n")).unwrap();
        path
    };
    let gold = write(
        "gold.jsonl",
        &[
            r#"{"id": 1, "labels": ["housing"]}"#,
            r#"{"id": 2, "labels": []}"#,
            r#"{"id": 3, "labels": ["housing", "tobacco"]}"#,
            r#"{"id": 4, "labels": ["tobacco"]}"#,
        ],
    );
    let a = write(
        "a.jsonl",
        &[
            r#"{"id": 1, "labels": ["housing"], "scores": {"housing": 0.8, "tobacco": 0.1}}"#,
            r#"{"id": 2, "labels": [], "scores": {"housing": 0.3, "tobacco": 0.2}}"#,
            r#"{"id": 3, "labels": ["housing"], "scores": {"housing": 0.9, "tobacco": 0.4}}"#,
            r#"{"id": 4, "labels": ["tobacco"], "scores": {"housing": 0.2, "tobacco": 0.7}}"#,
        ],
    );
    let b = write(
        "b.jsonl",
        &[
            r#"{"id": 1, "labels": [], "scores": {"housing": 0.4, "tobacco": 0.5}}"#,
            r#"{"id": 2, "labels": ["housing"], "scores": {"housing": 0.6, "tobacco": 0.2}}"#,
            r#"{"id": 3, "labels": ["tobacco"], "scores": {"housing": 0.3, "tobacco": 0.8}}"#,
            r#"{"id": 5, "labels": [], "scores": {"housing": 0.1, "tobacco": 0.1}}"#,
        ],
    );
    let mut project = Project::create(&dir.path().join("p.clinitune"), &[]).unwrap();
    let settings = MetricSettings {
        resamples: 200,
        ..MetricSettings::default()
    };
    let ea = save_files(&mut project, "tester", &gold, &a, &settings, None).unwrap();
    let eb = save_files(
        &mut project,
        "tester",
        &gold,
        &b,
        &settings,
        Some("baseline"),
    )
    .unwrap();
    assert_eq!(ea.summary.name, "a.jsonl");
    assert_eq!(eb.summary.name, "baseline");
    assert_eq!(
        ea.report,
        crate::evaluation::metrics_from_files(&gold, &a, &settings).unwrap()
    );
    assert_eq!(ea.items.len(), 4);
    assert_eq!(eb.items.len(), 3);
    let listed = list(&project).unwrap();
    assert_eq!(
        listed.iter().map(|e| e.id).collect::<Vec<_>>(),
        vec![eb.summary.id, ea.summary.id]
    );

    let stored = compare(&project, ea.summary.id, eb.summary.id, &settings).unwrap();
    let files = crate::evaluation::compare_files(&gold, &a, &b, &settings).unwrap();
    assert_eq!(stored.figures, files.figures);
    assert_eq!(stored.n, 3);
    // B's line 5 has no gold, so it was never stored; A's item 4 is missing from B.
    assert_eq!(stored.unmatched, vec!["4".to_owned()]);

    // Different gold for a shared id: not the same answers, refused.
    let other_gold = write("other.jsonl", &[r#"{"id": 1, "labels": ["tobacco"]}"#]);
    let ec = save_files(&mut project, "tester", &other_gold, &a, &settings, None).unwrap();
    let err = compare(&project, ea.summary.id, ec.summary.id, &settings)
        .unwrap_err()
        .to_string();
    assert!(err.contains("different gold"), "{err}");
    // Texts and labels are not compared.
    let ref_text = write("ref.jsonl", &[r#"{"id": 1, "text": "lives alone"}"#]);
    let gen_text = write("gen.jsonl", &[r#"{"id": 1, "text": "alone"}"#]);
    let et = save_files(
        &mut project,
        "tester",
        &ref_text,
        &gen_text,
        &settings,
        None,
    )
    .unwrap();
    assert_eq!(et.summary.kind, EvaluationKind::Generation);
    assert!(compare(&project, ea.summary.id, et.summary.id, &settings).is_err());
    assert!(roc_curves(&et).is_empty());
}
