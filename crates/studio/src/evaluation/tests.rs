use std::path::PathBuf;

use api::{MetricSettings, MetricsReport};

use super::metrics_from_files;
use crate::Error;

struct Files {
    dir: tempfile::TempDir,
}

impl Files {
    fn new() -> Files {
        Files {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn write(&self, name: &str, lines: &[&str]) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, lines.join("\n")).unwrap();
        path
    }
}

fn labels(report: MetricsReport) -> api::LabelMetrics {
    match report {
        MetricsReport::Labels(l) => l,
        MetricsReport::Text(_) => panic!("expected label figures"),
    }
}

fn close(ours: f64, theirs: f64) {
    assert!(
        (ours - theirs).abs() < 1e-12,
        "ours {ours}, expected {theirs}"
    );
}

#[test]
fn no_label_class_is_scored_like_any_label_on_empty_sets() {
    // Hand-worked: A has 1 TP, 1 FP, 1 FN → F1 ½. With the class NONE on empty sets, NONE has
    // TP 2 (items 2, 5), FP 1 (item 4), FN 1 (item 3) → F1 ⅔; macro (½ + ⅔)/2, micro
    // 2·3 / (2·3 + 2 + 2) = 0.6.
    let f = Files::new();
    let gold = f.write(
        "gold.jsonl",
        &[
            r#"{"id": 1, "labels": ["A"]}"#,
            r#"{"id": 2, "labels": []}"#,
            r#"{"id": 3, "labels": []}"#,
            r#"{"id": 4, "labels": ["A"]}"#,
            r#"{"id": 5, "labels": []}"#,
        ],
    );
    let pred = f.write(
        "pred.jsonl",
        &[
            r#"{"id": 5, "labels": []}"#,
            r#"{"id": 1, "labels": ["A"]}"#,
            r#"{"id": 2, "labels": []}"#,
            r#"{"id": 3, "labels": ["A"]}"#,
            r#"{"id": 4, "labels": []}"#,
        ],
    );
    let with = MetricSettings {
        no_label_class: Some("NONE".to_owned()),
        resamples: 50,
        ..MetricSettings::default()
    };
    let report = labels(metrics_from_files(&gold, &pred, &with).unwrap());
    assert_eq!(report.n, 5);
    close(report.per_label["A"].f1, 0.5);
    close(report.per_label["NONE"].f1, 2.0 / 3.0);
    assert_eq!(report.per_label["NONE"].support, 3);
    close(report.macro_f1, (0.5 + 2.0 / 3.0) / 2.0);
    close(report.micro_f1, 0.6);
    assert_eq!(report.macro_auroc, None, "no scores, no AUROC");

    let without = MetricSettings {
        resamples: 50,
        ..MetricSettings::default()
    };
    let report = labels(metrics_from_files(&gold, &pred, &without).unwrap());
    assert_eq!(report.per_label.len(), 1);
    close(report.macro_f1, 0.5);
    close(report.micro_f1, 0.5);
}

#[test]
fn ids_in_one_file_only_are_listed_and_not_scored() {
    let f = Files::new();
    let gold = f.write(
        "gold.jsonl",
        &[
            r#"{"id": "a", "labels": ["X"]}"#,
            "",
            r#"{"id": "b", "labels": ["X"]}"#,
        ],
    );
    let pred = f.write(
        "pred.jsonl",
        &[
            r#"{"id": "a", "labels": ["X"], "scores": {"X": 0.9}}"#,
            r#"{"id": "z", "labels": [], "scores": {"X": 0.1}}"#,
        ],
    );
    let report = labels(metrics_from_files(&gold, &pred, &MetricSettings::default()).unwrap());
    assert_eq!(report.n, 1);
    assert_eq!(report.unmatched.gold_only, ["b"]);
    assert_eq!(report.unmatched.pred_only, ["z"]);
    close(report.per_label["X"].f1, 1.0);
    // One class in gold: no AUROC for X.
    assert_eq!(report.per_label["X"].auroc, None);
}

fn refs(lines: &[String]) -> Vec<&str> {
    lines.iter().map(String::as_str).collect()
}

fn bad_line(gold: &[&str], pred: &[&str]) -> (String, usize, String) {
    let f = Files::new();
    let gold = f.write("gold.jsonl", gold);
    let pred = f.write("pred.jsonl", pred);
    match metrics_from_files(&gold, &pred, &MetricSettings::default()) {
        Err(Error::BadLine {
            path,
            line,
            message,
        }) => (
            path.file_name().unwrap().to_string_lossy().into_owned(),
            line,
            message,
        ),
        other => panic!("expected a bad line, got {other:?}"),
    }
}

#[test]
fn malformed_lines_are_reported_with_file_and_line() {
    let ok = r#"{"id": 1, "labels": ["A"]}"#;
    let (file, line, message) = bad_line(&[ok, "{not json"], &[ok]);
    assert_eq!((file.as_str(), line), ("gold.jsonl", 2), "{message}");

    let (file, line, message) = bad_line(&[ok], &[ok, r#"{"id": 1, "labels": []}"#]);
    assert_eq!((file.as_str(), line), ("pred.jsonl", 2));
    assert!(message.contains("already on line 1"), "{message}");

    let (file, line, message) = bad_line(&[ok], &[r#"{"id": 1, "labels": "A"}"#]);
    assert_eq!((file.as_str(), line), ("pred.jsonl", 1));
    assert!(message.contains("list of label names"), "{message}");

    let (file, line, _) = bad_line(&[ok, r#"{"labels": []}"#], &[ok]);
    assert_eq!((file.as_str(), line), ("gold.jsonl", 2));

    // A label scored on one prediction but not the next.
    let two = [ok, r#"{"id": 2, "labels": []}"#];
    let (file, line, message) = bad_line(
        &two,
        &[
            r#"{"id": 1, "labels": ["A"], "scores": {"A": 0.7}}"#,
            r#"{"id": 2, "labels": [], "scores": {}}"#,
        ],
    );
    assert_eq!((file.as_str(), line), ("pred.jsonl", 2));
    assert!(message.contains("\"A\""), "{message}");
}

#[test]
fn texts_are_scored_with_rouge_and_the_stemmer_by_default() {
    // rouge-score 0.1.2 on this pair: rouge1 F 0.6666666666666666 with use_stemmer=True
    // (xtask/src/rouge_stemmer_reference.py, fifth pair), 0.1111111111111111 without.
    let f = Files::new();
    let gold = f.write(
        "gold.jsonl",
        &[r#"{"id": 1, "text": "Denies difficulties affording medications; transportation arranged by the clinic."}"#],
    );
    let pred = f.write(
        "pred.jsonl",
        &[r#"{"id": 1, "text": "Denied difficulty with affordability of medication and arranged transport."}"#],
    );
    let text = |settings: &MetricSettings| match metrics_from_files(&gold, &pred, settings).unwrap()
    {
        MetricsReport::Text(t) => t,
        MetricsReport::Labels(_) => panic!("expected ROUGE"),
    };
    let stemmed = text(&MetricSettings::default());
    assert!(stemmed.stemmer);
    close(stemmed.rouge1, 0.6666666666666666);
    close(stemmed.rouge_l, 0.5555555555555556);
    let plain = text(&MetricSettings {
        stemmer: false,
        ..MetricSettings::default()
    });
    close(plain.rouge1, 0.1111111111111111);
    // One item: every resample is that item, so the interval is the point.
    assert_eq!(plain.ci95["rouge1"], [plain.rouge1, plain.rouge1]);
}

#[test]
fn unreadable_gold_file_names_the_path() {
    let f = Files::new();
    let pred = f.write("pred.jsonl", &[r#"{"id": 1, "labels": []}"#]);
    let missing = f.dir.path().join("missing.jsonl");
    let err = metrics_from_files(&missing, &pred, &MetricSettings::default()).unwrap_err();
    assert!(err.to_string().contains("missing.jsonl"), "{err}");
    assert_eq!(api::ApiError::from(err).kind, api::ErrorKind::NotFound);
}

#[test]
fn comparison_of_a_perfect_and_an_empty_run_matches_the_exact_permutation_p_value() {
    // Hand-worked: gold has A on 5 items; run A predicts it on all (F1 1), run B on none
    // (F1 0). Swapping k items gives |difference| = 1 only for k = 0 or 5, so the exact
    // two-sided p-value is 2/32 = 0.0625. An id missing from B is listed and not scored.
    let f = Files::new();
    let gold_lines: Vec<String> = (1..=6)
        .map(|i| format!(r#"{{"id": {i}, "labels": ["A"]}}"#))
        .collect();
    let a_lines: Vec<String> = (1..=6)
        .map(|i| format!(r#"{{"id": {i}, "labels": ["A"]}}"#))
        .collect();
    let b_lines: Vec<String> = (1..=5)
        .map(|i| format!(r#"{{"id": {i}, "labels": []}}"#))
        .collect();
    let gold = f.write("gold.jsonl", &refs(&gold_lines));
    let a = f.write("a.jsonl", &refs(&a_lines));
    let b = f.write("b.jsonl", &refs(&b_lines));
    let settings = MetricSettings {
        resamples: 4000,
        seed: 5,
        ..MetricSettings::default()
    };
    let report = super::compare_files(&gold, &a, &b, &settings).unwrap();
    assert_eq!(report.n, 5);
    assert_eq!(report.unmatched, ["6"]);
    let macro_f1 = &report.figures["macro_f1"];
    assert_eq!(
        (macro_f1.a, macro_f1.b, macro_f1.difference),
        (1.0, 0.0, 1.0)
    );
    assert!((macro_f1.p_value - 0.0625).abs() < 0.02, "{macro_f1:?}");
    // Every resample keeps A perfect and B empty: the interval is the point.
    assert_eq!(macro_f1.ci95, Some([1.0, 1.0]));
    assert!(
        !report.figures.contains_key("macro_auroc"),
        "no scores given"
    );
}
