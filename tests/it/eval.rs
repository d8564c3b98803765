//! `clinitune eval metrics` end to end: files written from the fixtures' metrics.json
//! (scikit-learn 1.9.1, rouge-score 0.1.2), figures checked against its values.

use serde_json::{Value, json};

use crate::{Sandbox, shared_dir};

fn metrics_fixture() -> Value {
    let text = std::fs::read_to_string(shared_dir().join("fixtures/metrics.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn write_jsonl(s: &Sandbox, name: &str, rows: &[Value]) -> String {
    let text: String = rows.iter().map(|r| format!("{r}\n")).collect();
    let path = s.path(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

fn close(ours: &Value, theirs: &Value, what: &str) {
    let (a, b) = (ours.as_f64().unwrap(), theirs.as_f64().unwrap());
    assert!((a - b).abs() < 1e-9, "{what}: ours {a}, scikit-learn {b}");
}

fn within(ci: &Value, value: &Value) {
    let (lo, hi, v) = (
        ci[0].as_f64().unwrap(),
        ci[1].as_f64().unwrap(),
        value.as_f64().unwrap(),
    );
    assert!(
        lo <= v && v <= hi && (0.0..=1.0).contains(&lo) && hi <= 1.0,
        "{ci} around {v}"
    );
}

#[test]
fn eval_metrics_matches_scikit_learn_on_the_multilabel_fixture() {
    let m = &metrics_fixture()["multilabel"];
    let names = [
        "ALCOHOL",
        "EMPLOYMENT",
        "HOUSING",
        "PARENT",
        "RELATIONSHIP",
        "SUPPORT",
    ];
    let set = |row: &Value| -> Vec<&str> {
        names
            .iter()
            .zip(row.as_array().unwrap())
            .filter(|(_, x)| x.as_u64() == Some(1))
            .map(|(n, _)| *n)
            .collect()
    };
    let n = m["y_true"].as_array().unwrap().len();
    let gold: Vec<Value> = (0..n)
        .map(|i| json!({"id": format!("s{i}"), "labels": set(&m["y_true"][i])}))
        .collect();
    // Predictions in reverse order, so only the ids can pair them up.
    let pred: Vec<Value> = (0..n)
        .rev()
        .map(|i| {
            let scores: serde_json::Map<String, Value> = names
                .iter()
                .zip(m["scores"][i].as_array().unwrap())
                .map(|(n, s)| ((*n).to_owned(), s.clone()))
                .collect();
            json!({"id": format!("s{i}"), "labels": set(&m["y_pred"][i]), "scores": scores})
        })
        .collect();
    let s = Sandbox::new();
    let gold = write_jsonl(&s, "gold.jsonl", &gold);
    let pred = write_jsonl(&s, "pred.jsonl", &pred);
    let r = s.json(&["eval", "metrics", "--gold", &gold, "--pred", &pred]);

    assert_eq!(r["n"], n);
    close(&r["macro_f1"], &m["f1_macro"], "macro F1");
    close(&r["micro_f1"], &m["f1_micro"], "micro F1");
    close(
        &r["macro_auroc"],
        &m["auroc_macro_skip_single_class"],
        "macro AUROC",
    );
    assert_eq!(r["per_label"].as_object().unwrap().len(), names.len());
    for (l, name) in names.iter().enumerate() {
        let f = &r["per_label"][name];
        close(&f["precision"], &m["precision"][l], "precision");
        close(&f["recall"], &m["recall"][l], "recall");
        close(&f["f1"], &m["f1"][l], "f1");
        assert_eq!(f["support"], m["support"][l], "{name}");
        match m["auroc_per_label"][l].as_f64() {
            Some(_) => close(&f["auroc"], &m["auroc_per_label"][l], "auroc"),
            // No positives in gold: no AUROC key at all.
            None => assert!(f.get("auroc").is_none(), "{f}"),
        }
    }
    for key in ["macro_f1", "micro_f1", "macro_auroc"] {
        within(&r["ci95"][key], &r[key]);
    }
    assert_eq!(r["bootstrap"]["resamples"], 1000);
    assert_eq!(r["unmatched"]["gold_only"], json!([]));

    // Against a run that predicts nothing: A's figures are the fixture's, B's macro F1 is 0,
    // and a gap that large is far beyond chance.
    let empty: Vec<Value> = (0..n)
        .map(|i| json!({"id": format!("s{i}"), "labels": []}))
        .collect();
    let empty = write_jsonl(&s, "empty.jsonl", &empty);
    let c = s.json(&[
        "eval", "compare", "--gold", &gold, "--a", &pred, "--b", &empty,
    ]);
    assert_eq!(c["n"], n);
    let f = &c["figures"]["macro_f1"];
    close(&f["a"], &m["f1_macro"], "A's macro F1");
    assert_eq!(f["b"], 0.0);
    close(&f["difference"], &m["f1_macro"], "A - B");
    assert!(f["p_value"].as_f64().unwrap() < 0.01, "{f}");
    assert!(f["ci95"][0].as_f64().unwrap() > 0.0, "{f}");

    // The same seed gives the same intervals; the text table shows the figures.
    let again = s.json(&["eval", "metrics", "--gold", &gold, "--pred", &pred]);
    assert_eq!(again["ci95"], r["ci95"]);
    let table = s.ok(&["eval", "metrics", "--gold", &gold, "--pred", &pred]);
    assert!(table.contains("macro F1     0.570"), "{table}");
    assert!(table.contains("1000 resamples"), "{table}");
}

#[test]
fn eval_metrics_gives_rouge_for_texts_as_rouge_score_without_stemmer() {
    let cases = metrics_fixture()["rouge"].as_array().unwrap().clone();
    let s = Sandbox::new();
    let rows = |field: &str| -> Vec<Value> {
        cases
            .iter()
            .enumerate()
            .map(|(i, c)| json!({"id": i, "text": c[field]}))
            .collect()
    };
    let gold = write_jsonl(&s, "gold.jsonl", &rows("reference"));
    let pred = write_jsonl(&s, "pred.jsonl", &rows("prediction"));
    let r = s.json(&[
        "eval",
        "metrics",
        "--gold",
        &gold,
        "--pred",
        &pred,
        "--no-stemmer",
    ]);
    assert_eq!(r["n"], cases.len());
    assert_eq!(r["stemmer"], false);
    for key in ["rouge1", "rouge2", "rougeL"] {
        let mean = cases
            .iter()
            .map(|c| c[key]["f"].as_f64().unwrap())
            .sum::<f64>()
            / cases.len() as f64;
        close(&r[key], &json!(mean), key);
        within(&r["ci95"][key], &r[key]);
    }
}

#[test]
fn eval_metrics_names_file_and_line_of_a_malformed_prediction() {
    let s = Sandbox::new();
    let gold = write_jsonl(&s, "gold.jsonl", &[json!({"id": 1, "labels": ["A"]})]);
    let pred = s.path("pred.jsonl");
    std::fs::write(
        &pred,
        "{\"id\": 1, \"labels\": [\"A\"]}\n\n{\"id\": 2, \"labels\": [3]}\n",
    )
    .unwrap();
    let err = s.fails(&[
        "eval",
        "metrics",
        "--gold",
        &gold,
        "--pred",
        pred.to_str().unwrap(),
    ]);
    assert!(err.contains("pred.jsonl:3:"), "{err}");
}
