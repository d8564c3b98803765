//! Issue 17, item 6: no network, proven. Import, generation with a model, training and
//! prediction run under `strace`, which records every `socket` and `connect` call of the
//! process and its threads; the test fails if any socket other than a local (AF_UNIX) one is
//! opened. The desktop app runs under strace too, through every page while annotating: its only
//! network-family connections are to the loopback port of its own WebDriver automation.

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

/// The app through every page, annotating a word, under strace: every `connect` to an
/// internet address goes to 127.0.0.1 (the WebDriver automation this test drives it with);
/// nothing else, no name lookup, no other host.
#[tokio::test(flavor = "current_thread")]
async fn the_app_connects_to_nothing_but_its_own_automation() {
    use fantoccini::key::Key;
    let s = Sandbox::new();
    s.ok(&["init", s.project().to_str().unwrap(), "--schema", "sdoh"]);
    let notes = s.path("notes.jsonl");
    write_jsonl(
        &notes,
        &[serde_json::json!({"id": "n1", "text": "Lives alone in a walk-up; takes the bus."})],
    );
    s.ok(&["import", notes.to_str().unwrap()]);
    let log = s.path("app-strace.log");
    let wrapper = s.path("traced-studio.sh");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nexec strace -f -qq -e trace=socket,connect -o {log:?} {bin:?} \"$@\"\n",
            bin = crate::desktop::app_bin()
        ),
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let desktop = crate::desktop::Desktop::new();
    let app = desktop
        .launch_program(&wrapper, &["--project", s.project().to_str().unwrap()], &[])
        .await;
    app.wait_css("#note-row-0 .note-id").await;
    app.click("#note-row-0 .note-id").await;
    app.wait_until("#note-title", |t| t.starts_with("Note #"))
        .await;
    app.keys("#note-text", &Key::Right.to_string()).await;
    app.keys("#note-text", "h").await;
    app.wait_saved().await;
    for page in ["r", "p", "t", "e", "s", "g", "o", "n"] {
        app.keys("body", &format!("{}{page}", Key::Alt)).await;
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
    app.close().await;
    let trace = std::fs::read_to_string(&log).expect("strace wrote its log");
    // The trace saw the app's own connections (its display, its automation), so it was on.
    assert!(trace.contains("connect("), "nothing traced: {trace}");
    let outside: Vec<&str> = trace
        .lines()
        .filter(|l| l.contains("connect(") && (l.contains("AF_INET") || l.contains("AF_INET6")))
        .filter(|l| !l.contains("inet_addr(\"127.0.0.1\")"))
        .collect();
    assert!(
        outside.is_empty(),
        "the app connected outside this machine: {outside:#?}"
    );
    assert!(
        !trace.contains("AF_PACKET"),
        "the app opened a raw packet socket"
    );
}
