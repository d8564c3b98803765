//! Issue 17, item 7: every command of the desktop app answers malformed input with an error
//! and keeps working — never a crash, a hang or a changed project. The commands are read from
//! `src-tauri/build.rs` (the list the capabilities are generated from), so a new command is
//! covered without touching this test. Each gets the same hostile payloads: nothing, ids that
//! do not exist, negative and huge numbers, wrong types, paths outside the project, a
//! megabyte of text, offsets past the end and inside a character.

use std::time::Duration;

use serde_json::{Value, json};

use crate::Sandbox;
use crate::desktop::Desktop;

/// Commands left out, and why.
const SKIPPED: &[(&str, &str)] = &[
    // Creates the 2,000-note demo project (minutes); takes no arguments to get wrong.
    ("project_demo", "no arguments; slow by design"),
];

fn commands() -> Vec<String> {
    let build = std::fs::read_to_string(crate::manifest_dir().join("../src-tauri/build.rs"))
        .expect("src-tauri/build.rs");
    let list = build
        .split("const COMMANDS: &[&str] = &[")
        .nth(1)
        .and_then(|rest| rest.split("];").next())
        .expect("COMMANDS in build.rs");
    list.lines()
        .map(|l| l.trim().trim_end_matches(',').trim_matches('"').to_owned())
        .filter(|l| !l.is_empty() && !l.starts_with("//"))
        .collect()
}

/// The hostile payloads every command gets.
fn payloads(outside: &str) -> Vec<Value> {
    let huge = "x".repeat(1 << 20);
    vec![
        json!({}),
        json!({ "id": -1, "note": -1, "span": -1, "output": -1, "job": u64::MAX, "a": -1, "b": -1 }),
        json!({ "id": i64::MAX, "note": i64::MAX, "span": i64::MAX, "output": i64::MAX }),
        json!({ "id": "seven", "note": [1], "span": {"x": 1}, "output": null, "accept": "yes" }),
        json!({ "path": outside, "run": outside, "gold": outside, "predictions": outside,
                "format": "../../etc", "label": huge, "text": huge, "purpose": outside }),
        json!({ "note": 1, "request": { "note": 1, "label": "HOUSING",
                "fragments": [{ "start": 1, "end": 0 }, { "start": 99999999, "end": 100000000 }],
                "attributes": {} } }),
        json!({ "note": 1, "request": { "note": 1, "label": "HOUSING",
                "fragments": [{ "start": 1, "end": 2 }], "attributes": {} } }),
        json!({ "query": { "text": huge, "category": null, "status": null, "label": null,
                "annotator": null, "limit": usize::MAX, "offset": usize::MAX } }),
    ]
}

#[tokio::test(flavor = "current_thread")]
async fn every_command_answers_hostile_payloads_with_an_error_and_keeps_working() {
    let s = Sandbox::new();
    s.ok(&["init", s.project().to_str().unwrap(), "--schema", "sdoh"]);
    let notes = s.path("notes.jsonl");
    // One note whose second character is two bytes long: offset 2 falls inside it.
    std::fs::write(
        &notes,
        format!("{}\n", json!({"id": "n1", "text": "Çafé: lives alone."})),
    )
    .unwrap();
    s.ok(&["import", notes.to_str().unwrap()]);
    let before = std::fs::read(s.project()).map(|b| b.len()).unwrap_or(0);
    let spans_before = s.json(&["notes", "show", "n1"])["spans"].clone();

    let desktop = Desktop::new();
    // Dialogs return this path instead of opening (WebDriver cannot drive them).
    let outside = "/etc/passwd";
    let app = desktop
        .launch_with(
            &["--project", s.project().to_str().unwrap()],
            &[("CLINITUNE_TEST_PICK", outside)],
        )
        .await;
    app.wait_css("#note-count").await;

    let skipped: Vec<&str> = SKIPPED.iter().map(|(c, _)| *c).collect();
    let mut tried = 0usize;
    let mut answered_ok: Vec<String> = Vec::new();
    for command in commands() {
        if skipped.contains(&command.as_str()) {
            continue;
        }
        for payload in payloads(outside) {
            let reply = tokio::time::timeout(
                Duration::from_secs(60),
                app.client.execute_async(
                    "const [cmd, args, done] = arguments; \
                     window.__TAURI_INTERNALS__.invoke(cmd, args) \
                       .then(v => done({ ok: true }), e => done({ ok: false, error: e }));",
                    vec![json!(command), payload.clone()],
                ),
            )
            .await
            .unwrap_or_else(|_| panic!("{command} did not answer within 60 s: {payload}"))
            .unwrap_or_else(|e| panic!("{command} broke the page: {e}; {payload}"));
            tried += 1;
            if reply["ok"] == true {
                answered_ok.push(command.clone());
            } else {
                let error = &reply["error"];
                // Our own errors are ApiError objects with a message; arguments that do not
                // deserialise are refused by Tauri before the command runs, with a string.
                let readable = error["message"].as_str().is_some_and(|m| !m.is_empty())
                    || error.as_str().is_some_and(|m| !m.is_empty());
                assert!(readable, "{command} answered {error} to {payload}");
                // A file named in the payload is never echoed back.
                assert!(
                    !error.to_string().contains("root:x:0"),
                    "{command} echoed the file it was pointed at: {error}"
                );
            }
            // Still alive and answering.
            let alive = app
                .client
                .execute_async(
                    "const done = arguments[0]; \
                     window.__TAURI_INTERNALS__.invoke('project_current', {}) \
                       .then(v => done(v ? 'open' : 'none'), e => done('error'));",
                    vec![],
                )
                .await
                .expect("the app still answers");
            assert_eq!(alive, json!("open"), "after {command} with {payload}");
        }
    }
    eprintln!(
        "{tried} hostile payloads to {} commands; accepted (harmless reads or no-ops): {:?}",
        commands().len() - skipped.len(),
        answered_ok
            .iter()
            .collect::<std::collections::BTreeSet<_>>()
    );
    app.close().await;
    // Nothing hostile reached the project: the note's spans are as before, and the file did
    // not grow by the megabyte payloads.
    assert_eq!(s.json(&["notes", "show", "n1"])["spans"], spans_before);
    let after = std::fs::read(s.project()).map(|b| b.len()).unwrap_or(0);
    assert!(
        after < before + (1 << 20),
        "the project grew from {before} to {after} bytes"
    );
    assert!(tried >= 8 * 50, "only {tried} payloads were tried");
}
