//! Issue 17, item 6: no network, proven. Import, generation with a model, training and
//! prediction run under `strace`, which records every `socket` and `connect` call of the
//! process and its threads; the test fails if any socket other than a local (AF_UNIX) one is
//! opened. (The desktop app is not traced here: its WebDriver automation itself talks over a
//! loopback socket; its boundary is the strict CSP and the capabilities file.)

use std::path::Path;
use std::process::Command;

use crate::predict::{tiny, write_jsonl};
use crate::{Sandbox, clinitune_bin};

/// Runs clinitune under strace; returns the traced calls that open or reach a network socket.
fn network_calls(s: &Sandbox, args: &[&str]) -> Vec<String> {
    let log = s.path("strace.log");
    let out = Command::new("strace")
        .args(["-f", "-qq", "-e", "trace=socket,connect", "-o"])
        .arg(&log)
        .arg(clinitune_bin())
        .args(args)
        .env("CLINITUNE_PROJECT", s.project())
        .env("CLINITUNE_ANNOTATOR", "tester")
        .current_dir(s.path(""))
        .output()
        .expect("strace runs (the xtask installs it)");
    assert!(
        out.status.success(),
        "clinitune {args:?} failed under strace: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let trace = std::fs::read_to_string(&log).expect("strace wrote its log");
    trace
        .lines()
        .filter(|l| l.contains("AF_INET") || l.contains("AF_INET6") || l.contains("AF_PACKET"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn import_generation_training_and_prediction_open_no_network_socket() {
    let s = Sandbox::new();
    let project = s.project();
    let notes = s.path("notes.jsonl");
    let lines: Vec<serde_json::Value> = (0..6)
        .map(|i| {
            serde_json::json!({
                "id": format!("n{i}"),
                "text": format!("Lives alone in a walk-up; takes the bus ({i})."),
                "labels": if i % 2 == 0 { vec!["HOUSING"] } else { vec!["TRANSPORTATION"] },
            })
        })
        .collect();
    write_jsonl(&notes, &lines);
    let model = tiny();
    let run_dir = s.path("cls");
    let predictions = s.path("pred.jsonl");
    let steps: [Vec<&str>; 5] = [
        vec!["init", project.to_str().unwrap(), "--schema", "sdoh"],
        vec!["import", notes.to_str().unwrap()],
        vec![
            "run",
            "--task",
            "social-history-summary",
            "--model",
            &model,
            "--note",
            "n0",
            "--max-tokens",
            "4",
        ],
        vec![
            "train",
            "classify",
            "--model",
            &model,
            "--data",
            notes.to_str().unwrap(),
            "--out",
            run_dir.to_str().unwrap(),
            "--steps",
            "2",
            "--batch-size",
            "2",
        ],
        vec![
            "predict",
            "--model",
            &model,
            "--adapter",
            run_dir.to_str().unwrap(),
            "--data",
            notes.to_str().unwrap(),
            "--out",
            predictions.to_str().unwrap(),
        ],
    ];
    for args in &steps {
        let calls = network_calls(&s, args);
        assert!(
            calls.is_empty(),
            "clinitune {args:?} opened network sockets: {calls:#?}"
        );
    }
    assert!(Path::new(&predictions).is_file());
}
