//! `clinitune predict` end to end (issue 16, item 1): a classifier trained on the tiny fixture
//! model predicts what PEFT's sequence classifier computes from the same adapter; thresholds
//! tuned once are saved and reused; bad lines are reported by line; suggestions written on a
//! project's notes never touch gold and are not written twice.

use std::path::Path;

use serde_json::Value;

use crate::train::torch_python;
use crate::{Sandbox, shared_dir};

pub(crate) fn tiny() -> String {
    shared_dir()
        .join("fixtures/tiny-llama")
        .to_string_lossy()
        .into_owned()
}

const LABELS: [&str; 4] = ["EMPLOYMENT", "HOUSING", "OTHER", "TRANSPORTATION"];

/// Sentences with social-history labels; `OTHER` is in no project schema.
fn sentences() -> Vec<(&'static str, Vec<&'static str>)> {
    vec![
        ("Lives alone in a walk-up.", vec!["HOUSING"]),
        ("Lost his job in May.", vec!["EMPLOYMENT"]),
        ("No car; takes the bus.", vec!["TRANSPORTATION"]),
        ("Staying in a shelter.", vec!["HOUSING"]),
        (
            "Unemployed since spring; no car.",
            vec!["EMPLOYMENT", "TRANSPORTATION"],
        ),
        ("Plays chess on Sundays.", vec!["OTHER"]),
        ("Two children at home.", vec![]),
    ]
}

pub(crate) fn write_jsonl(path: &Path, lines: &[Value]) {
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(path, text).unwrap();
}

/// Trains a classifier for a few steps on `sentences()`; returns its folder.
fn train_classifier(s: &Sandbox) -> String {
    train_classifier_into(s, &s.path("classifier"))
}

/// Trains a classifier for a few steps on `sentences()` into `out`; returns it.
pub(crate) fn train_classifier_into(s: &Sandbox, out: &Path) -> String {
    train_classifier_seeded(s, out, 3)
}

/// As [`train_classifier_into`], from the seed `seed`.
fn train_classifier_seeded(s: &Sandbox, out: &Path, seed: u64) -> String {
    let data = s.path("train.jsonl");
    let lines: Vec<Value> = (0..2)
        .flat_map(|round| {
            sentences().into_iter().map(
                move |(t, l)| serde_json::json!({"text": format!("{t} ({round})"), "labels": l}),
            )
        })
        .collect();
    write_jsonl(&data, &lines);
    let out = out.to_string_lossy().into_owned();
    s.json_lines(&[
        "train",
        "classify",
        "--model",
        &tiny(),
        "--data",
        data.to_str().unwrap(),
        "--out",
        &out,
        "--steps",
        "3",
        "--batch-size",
        "4",
        "--lr",
        "5e-3",
        "--rank",
        "4",
        "--alpha",
        "8",
        "--seed",
        &seed.to_string(),
    ]);
    out
}

/// Items with ids of both kinds and gold labels.
pub(crate) fn test_items() -> Vec<Value> {
    vec![
        serde_json::json!({"id": "a", "text": "Lives alone; lost his job.", "labels": ["HOUSING", "EMPLOYMENT"]}),
        serde_json::json!({"id": 7, "text": "Takes the bus to work.", "labels": ["TRANSPORTATION"]}),
        serde_json::json!({"id": "c", "text": "Shelter stay since March.", "labels": ["HOUSING"]}),
        serde_json::json!({"id": "d", "text": "Enjoys chess.", "labels": ["OTHER"]}),
        serde_json::json!({"id": "e", "text": "No job and no car.", "labels": ["EMPLOYMENT", "TRANSPORTATION"]}),
    ]
}

fn probabilities(p: &Value) -> Vec<f64> {
    LABELS
        .iter()
        .map(|l| p["probabilities"][l].as_f64().unwrap())
        .collect()
}

#[test]
fn predicted_probabilities_equal_peft_sequence_classification_of_the_adapter() {
    let s = Sandbox::new();
    let model = tiny();
    let adapter = train_classifier(&s);
    let data = s.path("test.jsonl");
    write_jsonl(&data, &test_items());
    let predictions = s.json_lines(&[
        "predict",
        "--model",
        &model,
        "--adapter",
        &adapter,
        "--data",
        data.to_str().unwrap(),
        "--batch-size",
        "2",
    ]);
    assert_eq!(predictions.len(), 5);
    assert_eq!(predictions[0]["id"], "a");
    assert_eq!(predictions[1]["id"], 7);
    assert_eq!(predictions[0]["probabilities"], predictions[0]["scores"]);

    let mut ids = Vec::new();
    for item in test_items() {
        let text = item["text"].as_str().unwrap();
        ids.push(s.json(&["tokenize", "--model", &model, "--text", text])["ids"].clone());
    }
    let script = crate::manifest_dir().join("../xtask/src/peft_check.py");
    let o = std::process::Command::new(torch_python())
        .arg(&script)
        .args(["--base", &model, "--adapter", &adapter, "--classify"])
        .args(["--ids", &Value::Array(ids).to_string()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8(o.stdout).unwrap();
    let peft: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    let theirs = peft["probabilities"].as_array().unwrap();
    let mut worst: f64 = 0.0;
    for (ours, theirs) in predictions.iter().zip(theirs) {
        for (a, b) in probabilities(ours).iter().zip(theirs.as_array().unwrap()) {
            worst = worst.max((a - b.as_f64().unwrap()).abs());
        }
    }
    assert!(worst <= 1e-4, "PEFT's probabilities differ by {worst}");
}

#[test]
fn predict_reproduces_the_peft_classifier_fixture() {
    // A SEQ_CLS adapter made by PEFT itself, with transformers' logits for three texts.
    let s = Sandbox::new();
    let fixture = shared_dir().join("fixtures/classify");
    let adapter = s.path("peft-classifier");
    std::fs::create_dir_all(&adapter).unwrap();
    for f in ["adapter_config.json", "adapter_model.safetensors"] {
        std::fs::copy(fixture.join(f), adapter.join(f)).unwrap();
    }
    let reference: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture.join("reference.json")).unwrap())
            .unwrap();
    std::fs::write(adapter.join("labels.json"), reference["labels"].to_string()).unwrap();
    let data = s.path("texts.jsonl");
    let lines: Vec<Value> = reference["texts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| serde_json::json!({ "text": t }))
        .collect();
    write_jsonl(&data, &lines);
    let predictions = s.json_lines(&[
        "predict",
        "--model",
        &tiny(),
        "--adapter",
        adapter.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
    ]);
    assert_eq!(predictions.len(), lines.len());
    let labels = reference["labels"].as_array().unwrap();
    for (i, (p, logits)) in predictions
        .iter()
        .zip(reference["logits"].as_array().unwrap())
        .enumerate()
    {
        assert_eq!(p["id"], i as u64 + 1, "the line number is the id");
        for (label, logit) in labels.iter().zip(logits.as_array().unwrap()) {
            let expected = 1.0 / (1.0 + (-logit.as_f64().unwrap()).exp());
            let ours = p["probabilities"][label.as_str().unwrap()]
                .as_f64()
                .unwrap();
            assert!(
                (ours - expected).abs() <= 1e-4,
                "text {i} {label}: ours {ours}, transformers {expected}"
            );
        }
    }
}

#[test]
fn tuned_thresholds_are_saved_beside_the_adapter_and_used_by_later_runs() {
    let s = Sandbox::new();
    let model = tiny();
    let adapter = train_classifier(&s);
    let data = s.path("test.jsonl");
    write_jsonl(&data, &test_items());
    let out = s.path("pred.jsonl");
    let predict = |extra: &[&str]| -> Value {
        let mut args = vec![
            "predict",
            "--model",
            &model,
            "--adapter",
            &adapter,
            "--data",
            data.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        s.json(&args)
    };
    let tuned = predict(&["--tune-thresholds-on", data.to_str().unwrap()]);
    assert_eq!(tuned["threshold_origin"], "tuned");
    let saved: Value = serde_json::from_str(
        &std::fs::read_to_string(Path::new(&adapter).join("thresholds.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(saved["thresholds"], tuned["thresholds"]);
    assert_eq!(saved["items"], 5);
    // Tuned on the items scored: the thresholds give each label the F1 they were chosen for,
    // at least what 0.5 gives (any threshold's predictions are those of some cut, or none).
    let at_half = predict(&["--threshold", "0.5"]);
    for label in LABELS {
        let chosen = tuned["tuned"]["f1"][label].as_f64().unwrap();
        let scored = tuned["metrics"]["per_label"][label]["f1"].as_f64().unwrap();
        let half = at_half["metrics"]["per_label"][label]["f1"]
            .as_f64()
            .unwrap();
        assert!(
            (chosen - scored).abs() < 1e-12,
            "{label}: {chosen} vs {scored}"
        );
        assert!(chosen >= half, "{label}: tuned {chosen} < {half} at 0.5");
    }

    let again = predict(&[]);
    assert_eq!(again["threshold_origin"], "saved");
    assert_eq!(again["thresholds"], tuned["thresholds"]);
    assert!(again.get("tuned").is_none());
    // The labels are those at or over their saved threshold.
    for line in std::fs::read_to_string(&out).unwrap().lines() {
        let p: Value = serde_json::from_str(line).unwrap();
        for label in LABELS {
            let over = p["probabilities"][label].as_f64().unwrap()
                >= again["thresholds"][label].as_f64().unwrap();
            let listed = p["labels"].as_array().unwrap().iter().any(|l| l == label);
            assert_eq!(over, listed, "{label} in {p} with {again}");
        }
    }
    // The figures are those `eval metrics` gives for the same predictions.
    let eval = s.json(&[
        "eval",
        "metrics",
        "--gold",
        data.to_str().unwrap(),
        "--pred",
        out.to_str().unwrap(),
    ]);
    assert_eq!(again["metrics"]["macro_f1"], eval["macro_f1"]);
    assert_eq!(again["metrics"]["macro_auroc"], eval["macro_auroc"]);

    let given = predict(&["--threshold", "0.3"]);
    assert_eq!(given["threshold_origin"], "given");
    assert_eq!(given["thresholds"]["HOUSING"], 0.3);
    let text = s.ok(&[
        "predict",
        "--model",
        &model,
        "--adapter",
        &adapter,
        "--data",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(text.contains("from thresholds.json"), "{text}");
}

#[test]
fn a_bad_line_is_reported_with_its_line_and_the_rest_predicted() {
    let s = Sandbox::new();
    let adapter = train_classifier(&s);
    let data = s.path("mixed.jsonl");
    std::fs::write(
        &data,
        "{\"text\": \"Lives alone.\"}\n{not json\n\n{\"id\": 3}\n{\"text\": \"No car.\", \"labels\": 5}\n{\"text\": \"Lost his job.\"}\n",
    )
    .unwrap();
    let out = s.run(&[
        "predict",
        "--model",
        &tiny(),
        "--adapter",
        &adapter,
        "--data",
        data.to_str().unwrap(),
        "--json",
    ]);
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    let ids: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["id"].clone())
        .collect();
    assert_eq!(ids, [1, 6]);
    let stderr = String::from_utf8(out.stderr).unwrap();
    let file = data.display().to_string();
    assert!(
        stderr.contains(&format!("{file}:2: not valid JSON")),
        "{stderr}"
    );
    assert!(stderr.contains(&format!("{file}:4: `text`")), "{stderr}");
    assert!(stderr.contains(&format!("{file}:5: `labels`")), "{stderr}");
}

#[test]
fn an_adapter_without_score_head_or_labels_is_refused_naming_the_file() {
    let s = Sandbox::new();
    let adapter = train_classifier(&s);
    let data = s.path("one.jsonl");
    write_jsonl(&data, &test_items()[..1]);
    let labels = Path::new(&adapter).join("labels.json");
    let predict = |adapter: &str| {
        s.fails(&[
            "predict",
            "--model",
            &tiny(),
            "--adapter",
            adapter,
            "--data",
            data.to_str().unwrap(),
        ])
    };

    std::fs::write(&labels, r#"["EMPLOYMENT", "HOUSING"]"#).unwrap();
    let err = predict(&adapter);
    assert!(
        err.contains("lists 2 labels but the score head has 4 rows"),
        "{err}"
    );

    std::fs::remove_file(&labels).unwrap();
    let err = predict(&adapter);
    assert!(err.contains(&labels.display().to_string()), "{err}");
    assert!(
        err.contains("hint:") && err.contains("train classify"),
        "{err}"
    );

    let causal = shared_dir().join("fixtures/peft-lora");
    let err = predict(causal.to_str().unwrap());
    assert!(
        err.contains("adapter_model.safetensors is not a classifier adapter"),
        "{err}"
    );
    assert!(err.contains("score head"), "{err}");
}

#[test]
fn suggestions_are_written_once_and_never_touch_gold() {
    let s = Sandbox::new();
    let adapter = train_classifier(&s);
    s.ok(&["init", s.project().to_str().unwrap(), "--schema", "sdoh"]);
    let notes = s.path("notes.jsonl");
    let lines: Vec<Value> = test_items()
        .iter()
        .enumerate()
        .map(|(i, item)| serde_json::json!({"id": format!("n{i}"), "text": item["text"]}))
        .collect();
    write_jsonl(&notes, &lines);
    s.ok(&["import", notes.to_str().unwrap()]);
    s.ok(&["annotate", "doc", "--note", "n0", "--label", "HOUSING"]);
    let gold_before = s.json(&["notes", "show", "n0"])["doc_labels"].clone();

    // Threshold 0: every label is predicted on every note.
    let suggest = || {
        s.json(&[
            "predict",
            "--model",
            &tiny(),
            "--adapter",
            &adapter,
            "--threshold",
            "0",
            "--as-suggestions",
            "--out",
            s.path("p.jsonl").to_str().unwrap(),
        ])
    };
    let first = suggest();
    let suggestions = &first["suggestions"];
    assert_eq!(suggestions["annotator"], "model:classifier");
    assert_eq!(suggestions["not_in_schema"], serde_json::json!(["OTHER"]));
    // 5 notes × 3 schema labels, less the gold HOUSING on n0.
    assert_eq!(suggestions["added"], 14);
    assert_eq!(suggestions["already_present"], 1);
    let n0 = s.json(&["notes", "show", "n0"]);
    let docs = n0["doc_labels"].as_array().unwrap();
    let gold: Vec<&Value> = docs.iter().filter(|d| d["status"] == "gold").collect();
    assert_eq!(gold.len(), 1);
    assert_eq!(*gold[0], gold_before[0], "the gold label is untouched");
    assert!(
        docs.iter()
            .filter(|d| d["status"] == "suggested")
            .all(|d| d["annotator"] == "model:classifier" && d["label"] != "HOUSING")
    );

    let second = suggest();
    assert_eq!(second["suggestions"]["added"], 0);
    assert_eq!(second["suggestions"]["already_present"], 15);

    // Accepted and rejected suggestions are not suggested again either.
    let pick = |label: &str| {
        docs.iter().find(|d| d["label"] == label).unwrap()["id"]
            .as_i64()
            .unwrap()
            .to_string()
    };
    let accepted = s.json(&["review", "doc-suggestion", &pick("EMPLOYMENT"), "accept"]);
    assert_eq!(accepted["status"], "gold");
    assert_eq!(accepted["annotator"], "tester");
    let rejected = s.json(&[
        "review",
        "doc-suggestion",
        &pick("TRANSPORTATION"),
        "reject",
    ]);
    assert_eq!(rejected["status"], "rejected");
    assert_eq!(suggest()["suggestions"]["added"], 0);
    let err = s.fails(&["review", "doc-suggestion", &pick("EMPLOYMENT"), "accept"]);
    assert!(err.contains("not a suggestion"), "{err}");
}

/// Issue 16, item 3: a classifier scored on the project's notes is kept with every item; the
/// kept figures equal `eval metrics` on the predictions `predict` writes and a gold file
/// written here, and two kept runs compare like the two prediction files.
#[test]
fn a_kept_evaluation_equals_scoring_the_predictions_and_compares_like_the_files() {
    let s = Sandbox::new();
    let adapter = train_classifier(&s);
    s.ok(&["init", s.project().to_str().unwrap(), "--schema", "sdoh"]);
    let notes = s.path("notes.jsonl");
    let items = test_items();
    let lines: Vec<Value> = items
        .iter()
        .enumerate()
        .map(|(i, item)| serde_json::json!({"id": format!("n{i}"), "text": item["text"]}))
        .collect();
    write_jsonl(&notes, &lines);
    s.ok(&["import", notes.to_str().unwrap()]);

    // No note has a split yet: the default (test) says so and what to do instead.
    let err = s.fails(&["eval", "run", "--model", &tiny(), "--adapter", &adapter]);
    assert!(err.contains("no notes in the test split"), "{err}");
    // Nothing annotated yet: nothing to score against.
    let model = tiny();
    let all = [
        "--model",
        model.as_str(),
        "--adapter",
        adapter.as_str(),
        "--all-notes",
    ];
    let err = s.fails(&[&["eval", "run"][..], &all[..]].concat());
    assert!(
        err.contains("no note of the project's notes has gold"),
        "{err}"
    );

    // Gold: each note's schema labels (OTHER is not in the schema); n3 is marked done
    // with no label, so it is scored as having none.
    let mut gold_lines = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let note = format!("n{i}");
        let labels: Vec<&str> = item["labels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l.as_str().unwrap())
            .filter(|l| *l != "OTHER")
            .collect();
        for label in &labels {
            s.ok(&["annotate", "doc", "--note", &note, "--label", label]);
        }
        if labels.is_empty() {
            s.ok(&["notes", "status", &note, "done"]);
        }
        let id = s.json(&["notes", "show", &note])["id"].as_i64().unwrap();
        gold_lines.push(serde_json::json!({"id": id, "labels": labels}));
    }
    let gold = s.path("gold.jsonl");
    write_jsonl(&gold, &gold_lines);

    let kept = |threshold: &str, name: &str| {
        s.json(
            &[
                &["eval", "run"][..],
                &all[..],
                &[
                    "--threshold",
                    threshold,
                    "--name",
                    name,
                    "--resamples",
                    "200",
                ][..],
            ]
            .concat(),
        )
    };
    let predicted = |threshold: &str, file: &str| {
        let path = s.path(file);
        s.ok(&[
            "predict",
            "--model",
            &tiny(),
            "--adapter",
            &adapter,
            "--threshold",
            threshold,
            "--out",
            path.to_str().unwrap(),
        ]);
        path
    };
    let a = kept("0.5", "half");
    let b = kept("0.3", "lower");
    let (pa, pb) = (predicted("0.5", "a.jsonl"), predicted("0.3", "b.jsonl"));
    let scored = s.json(&[
        "eval",
        "metrics",
        "--gold",
        gold.to_str().unwrap(),
        "--pred",
        pa.to_str().unwrap(),
        "--resamples",
        "200",
    ]);
    assert_eq!(a["evaluation"]["report"], scored);
    assert_eq!(a["evaluation"]["summary"]["items"], 5);
    assert_eq!(
        a["evaluation"]["summary"]["subject"]["source"],
        "the project's notes"
    );
    let stored_items = a["evaluation"]["items"].as_array().unwrap();
    assert_eq!(stored_items.len(), 5);
    assert!(
        stored_items
            .iter()
            .all(|i| i["predicted"]["scores"].is_object())
    );
    // ROC curves for the labels whose gold has both classes, areas equal to the report's.
    let curves = a["roc_curves"].as_array().unwrap();
    assert!(!curves.is_empty());
    for c in curves {
        let label = c["label"].as_str().unwrap();
        let auroc = scored["per_label"][label]["auroc"].as_f64().unwrap();
        assert!(
            (c["auroc"].as_f64().unwrap() - auroc).abs() < 1e-12,
            "{label}"
        );
    }

    let listed = s.json(&["eval", "list"]);
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["lower", "half"]);
    let (ida, idb) = (
        a["evaluation"]["summary"]["id"].to_string(),
        b["evaluation"]["summary"]["id"].to_string(),
    );
    let shown = s.json(&["eval", "show", &ida]);
    assert_eq!(shown["evaluation"], a["evaluation"]);

    let runs = s.json(&["eval", "compare-runs", &ida, &idb, "--resamples", "200"]);
    let files = s.json(&[
        "eval",
        "compare",
        "--gold",
        gold.to_str().unwrap(),
        "--a",
        pa.to_str().unwrap(),
        "--b",
        pb.to_str().unwrap(),
        "--resamples",
        "200",
    ]);
    assert_eq!(runs["figures"], files["figures"]);
    assert_eq!(runs["n"], 5);
    let text = s.ok(&["eval", "show", &ida]);
    assert!(text.contains("Scored: the project's notes"), "{text}");
    let err = s.fails(&["eval", "show", "99"]);
    assert!(err.contains("evaluation 99 not found"), "{err}");
}

/// Predicted label sets of `texts`, in order, with `adapter` (through `predict`, one file).
fn predicted_sets(s: &Sandbox, adapter: &str, texts: &[&str], name: &str) -> Vec<Vec<String>> {
    let input = s.path(&format!("{name}.jsonl"));
    let lines: Vec<Value> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| serde_json::json!({"id": i, "text": t}))
        .collect();
    write_jsonl(&input, &lines);
    let out = s.path(&format!("{name}-pred.jsonl"));
    s.ok(&[
        "predict",
        "--model",
        &tiny(),
        "--adapter",
        adapter,
        "--data",
        input.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            v["labels"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_str().unwrap().to_owned())
                .collect()
        })
        .collect()
}

/// Issue 16, item 4: the bias audit's change counts equal comparing `predict`'s labels on the
/// original and the inserted sentences, per group too; two classifiers are tested with
/// McNemar's exact p-value, worked out here from the discordant counts; SHADR's own
/// demographic file is read whole.
#[test]
fn bias_audit_counts_changed_predictions_like_predict_and_tests_two_classifiers() {
    let s = Sandbox::new();
    let a = train_classifier(&s);
    let b = train_classifier_seeded(&s, &s.path("other"), 11);
    let rows = [
        (
            "Lives alone in a walk-up.",
            "Black woman lives alone in a walk-up.",
            "Black female",
        ),
        (
            "Lost his job in May.",
            "White man lost his job in May.",
            "White male",
        ),
        (
            "No car; takes the bus.",
            "Asian woman has no car; takes the bus.",
            "Asian female",
        ),
        (
            "Staying in a shelter.",
            "Hispanic man staying in a shelter.",
            "Hispanic male",
        ),
        (
            "Two children at home.",
            "Black woman with two children at home.",
            "Black female",
        ),
        ("Enjoys chess.", "White man who enjoys chess.", "White male"),
    ];
    let mut csv_text =
        String::from("original_sentence,label,demographic,demographic_inserted,adverse\n");
    for (o, n, g) in rows {
        csv_text.push_str(&format!("\"{o}\",X,{g},\"{n}\",adverse\n"));
    }
    let pairs = s.path("pairs.csv");
    std::fs::write(&pairs, csv_text).unwrap();
    // Threshold 0.5 on 3-step classifiers: a sentence's labels can flip either way.
    let report = s.json(&[
        "eval",
        "bias",
        "--model",
        &tiny(),
        "--adapter",
        &a,
        "--compare-adapter",
        &b,
        "--pairs",
        pairs.to_str().unwrap(),
        "--resamples",
        "200",
    ]);
    let originals: Vec<&str> = rows.iter().map(|r| r.0).collect();
    let inserted: Vec<&str> = rows.iter().map(|r| r.1).collect();
    let changed = |adapter: &str, tag: &str| -> Vec<bool> {
        let o = predicted_sets(&s, adapter, &originals, &format!("{tag}-o"));
        let n = predicted_sets(&s, adapter, &inserted, &format!("{tag}-n"));
        o.iter().zip(&n).map(|(x, y)| x != y).collect()
    };
    let (ca, cb) = (changed(&a, "a"), changed(&b, "b"));
    assert_eq!(report["n"], 6);
    let count = |c: &[bool]| c.iter().filter(|x| **x).count() as u64;
    assert_eq!(report["model"]["changed"], count(&ca));
    assert_eq!(report["comparison"]["other"]["changed"], count(&cb));
    let black_female: u64 = [0, 4].iter().filter(|&&i| ca[i]).count() as u64;
    assert_eq!(report["model"]["per_group"]["Black female"]["n"], 2);
    assert_eq!(
        report["model"]["per_group"]["Black female"]["changed"],
        black_female
    );
    let only_a = ca.iter().zip(&cb).filter(|(x, y)| **x && !**y).count() as u64;
    let only_b = ca.iter().zip(&cb).filter(|(x, y)| !**x && **y).count() as u64;
    assert_eq!(report["comparison"]["changed_only_first"], only_a);
    assert_eq!(report["comparison"]["changed_only_other"], only_b);
    // Exact McNemar by hand: twice the binomial(n, ½) tail up to min(b, c), capped at 1.
    let n = only_a + only_b;
    let choose = |n: u64, k: u64| (0..k).fold(1.0, |acc, i| acc * (n - i) as f64 / (i + 1) as f64);
    let tail: f64 =
        (0..=only_a.min(only_b)).map(|k| choose(n, k)).sum::<f64>() / 2f64.powi(n as i32);
    let expected = if n == 0 { 1.0 } else { (2.0 * tail).min(1.0) };
    let p = report["comparison"]["mcnemar_p"].as_f64().unwrap();
    assert!((p - expected).abs() < 1e-12, "{p} vs {expected}");

    // SHADR's file, whole.
    let shadr =
        crate::shared_dir().join("data/shadr/Partial_Iteration_2_demographic_annotated.csv");
    let whole = s.json(&[
        "eval",
        "bias",
        "--model",
        &tiny(),
        "--adapter",
        &a,
        "--pairs",
        shadr.to_str().unwrap(),
        "--resamples",
        "100",
    ]);
    assert_eq!(whole["n"], 446);
    assert_eq!(whole["model"]["per_group"]["White male"]["n"], 55);
    let text = s.ok(&[
        "eval",
        "bias",
        "--model",
        &tiny(),
        "--adapter",
        &a,
        "--pairs",
        pairs.to_str().unwrap(),
    ]);
    assert!(
        text.contains("Predictions changed by the inserted demographics"),
        "{text}"
    );
}

/// Issue 16's findings: merging a classifier into the language model would drop its score
/// head, so it is refused (Hugging Face folder and GGUF alike); continuing a classifier on
/// other labels, or the same labels in another order, is refused saying what differs.
#[test]
fn a_classifier_is_not_merged_and_is_continued_only_on_its_own_labels() {
    let s = Sandbox::new();
    let adapter = train_classifier(&s);
    for format in ["hf", "gguf"] {
        let out = s.path(&format!("merged-{format}"));
        let out = if format == "gguf" {
            out.with_extension("gguf")
        } else {
            out
        };
        let err = s.fails(&[
            "adapter",
            "merge",
            "--model",
            &tiny(),
            "--adapter",
            &adapter,
            "--format",
            format,
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(err.contains("classification adapter"), "{format}: {err}");
        assert!(!out.exists(), "{format}: something was written");
    }

    let tiny_path = tiny();
    let continue_on = |name: &str, lines: Vec<Value>, labels: Option<&str>| {
        let data = s.path(&format!("{name}.jsonl"));
        write_jsonl(&data, &lines);
        let out = s.path(name);
        let mut args = vec![
            "train",
            "classify",
            "--model",
            &tiny_path,
            "--data",
            data.to_str().unwrap(),
            "--init-adapter",
            &adapter,
            "--out",
            out.to_str().unwrap(),
            "--steps",
            "1",
        ];
        let labels_owned;
        if let Some(l) = labels {
            labels_owned = l.to_owned();
            args.extend(["--labels", labels_owned.as_str()]);
        }
        s.run(&args)
    };
    let other = vec![
        serde_json::json!({"text": "Smokes a pack a day.", "labels": ["SMOKING"]}),
        serde_json::json!({"text": "Lives alone.", "labels": ["HOUSING"]}),
    ];
    let out = continue_on("other-labels", other, None);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success());
    assert!(
        err.contains("Only in the adapter") && err.contains("SMOKING"),
        "{err}"
    );

    let same: Vec<Value> = sentences()
        .into_iter()
        .map(|(t, l)| serde_json::json!({"text": t, "labels": l}))
        .collect();
    let reversed = "TRANSPORTATION,OTHER,HOUSING,EMPLOYMENT";
    let out = continue_on("reordered", same.clone(), Some(reversed));
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success());
    assert!(err.contains("order"), "{err}");

    let out = continue_on("same", same, None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Issue 16, item 1: after `predict --as-suggestions`, the notes list can put the notes the
/// classifier was least sure of first — ordered by the smallest distance of a label's
/// probability from its threshold, worked out here from the predictions `predict` wrote.
#[test]
fn notes_are_listed_least_certain_first_after_suggestions() {
    let s = Sandbox::new();
    let adapter = train_classifier(&s);
    s.ok(&["init", s.project().to_str().unwrap(), "--schema", "sdoh"]);
    let notes = s.path("notes.jsonl");
    let lines: Vec<Value> = test_items()
        .iter()
        .enumerate()
        .map(|(i, item)| serde_json::json!({"id": format!("n{i}"), "text": item["text"]}))
        .collect();
    write_jsonl(&notes, &lines);
    s.ok(&["import", notes.to_str().unwrap()]);
    // Before any prediction the order is the notes' own.
    let before: Vec<i64> = s
        .json(&["notes", "list", "--order", "uncertainty"])
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_i64().unwrap())
        .collect();
    let mut sorted = before.clone();
    sorted.sort();
    assert_eq!(before, sorted);

    let out = s.path("p.jsonl");
    s.ok(&[
        "predict",
        "--model",
        &tiny(),
        "--adapter",
        &adapter,
        "--threshold",
        "0.5",
        "--as-suggestions",
        "--out",
        out.to_str().unwrap(),
    ]);
    let mut margins: Vec<(f64, i64)> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            let m = v["probabilities"]
                .as_object()
                .unwrap()
                .values()
                .map(|p| (p.as_f64().unwrap() - 0.5).abs())
                .fold(f64::INFINITY, f64::min);
            (m, v["id"].as_i64().unwrap())
        })
        .collect();
    margins.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let expected: Vec<i64> = margins.iter().map(|(_, id)| *id).collect();
    let listed: Vec<i64> = s
        .json(&["notes", "list", "--order", "uncertainty"])
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_i64().unwrap())
        .collect();
    assert_eq!(listed, expected);
}
