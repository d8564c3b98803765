//! Issue 13, item 8 on the Annotate page: another annotator's document labels are listed; the
//! blind view (`b`) hides everyone else's spans and labels; the selected span shows its
//! attributes with their keys and the meaning of each value (what `y` cycles through); a span
//! deleted with Delete can be brought back from the notice it leaves.

use std::process::Command;
use std::time::{Duration, Instant};

use fantoccini::key::Key;

use crate::Sandbox;
use crate::desktop::Desktop;

const NOTE: &str = "Staying in a shelter since March; takes the bus to the clinic.";

fn span_count(s: &Sandbox, annotator: &str) -> usize {
    let shown = s.json(&["notes", "show", "n1"]);
    shown["spans"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["annotator"] == annotator)
        .count()
}

#[tokio::test(flavor = "current_thread")]
async fn annotate_page_shows_others_labels_hides_them_when_blind_explains_attributes_and_undoes_a_delete()
 {
    let s = Sandbox::new();
    s.ok(&["init", s.project().to_str().unwrap(), "--schema", "sdoh"]);
    let notes = s.path("notes.jsonl");
    std::fs::write(
        &notes,
        format!("{}\n", serde_json::json!({"id": "n1", "text": NOTE})),
    )
    .unwrap();
    s.ok(&["import", notes.to_str().unwrap()]);
    // Bob labelled the note before: a span on "shelter" and the document label TRANSPORTATION.
    let start = NOTE.find("shelter").unwrap();
    let (a, b) = (start.to_string(), (start + "shelter".len()).to_string());
    let bob = ["--annotator", "bob"];
    s.ok(&[
        &[
            "annotate", "span", "--note", "n1", "--label", "HOUSING", "--start", &a, "--end", &b,
        ][..],
        &bob[..],
    ]
    .concat());
    s.ok(&[
        &[
            "annotate",
            "doc",
            "--note",
            "n1",
            "--label",
            "TRANSPORTATION",
        ][..],
        &bob[..],
    ]
    .concat());

    let desktop = Desktop::new();
    let app = desktop
        .launch(&[
            "--project",
            s.project().to_str().unwrap(),
            "--page",
            "notes",
        ])
        .await;
    app.wait_css("#note-row-0 .note-id").await;
    app.click("#note-row-0 .note-id").await;
    app.wait_until("#note-title", |t| t.starts_with("Note #"))
        .await;
    app.wait_until("#doc-others", |t| {
        t.contains("Transportation") && t.contains("bob")
    })
    .await;
    app.wait_css("#span-list .span-item[data-annotator=\"bob\"]")
        .await;

    // b: blind — Bob's span and label disappear; b again brings them back.
    app.keys("#note-text", "b").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while app
        .client
        .find(fantoccini::Locator::Css(
            "#span-list .span-item[data-annotator=\"bob\"]",
        ))
        .await
        .is_ok()
        || app
            .client
            .find(fantoccini::Locator::Css("#doc-others"))
            .await
            .is_ok()
    {
        assert!(
            Instant::now() < deadline,
            "the blind view still shows bob's work"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    app.screenshot("annotate-blind-light.png").await;
    app.keys("#note-text", "b").await;
    app.wait_css("#span-list .span-item[data-annotator=\"bob\"]")
        .await;

    // Label the first word HOUSING (h): it becomes the selected span, whose panel lists the
    // attribute keys and what each value of `type` means.
    app.keys("#note-text", &Key::Right.to_string()).await;
    app.keys("#note-text", "h").await;
    app.wait_saved().await;
    let panel = app
        .wait_until("#active-span", |t| {
            t.contains("Housing") && t.contains("undomiciled")
        })
        .await
        .text()
        .await
        .unwrap();
    assert!(panel.contains("no stable housing"), "{panel}");
    app.keys("#note-text", "y").await;
    app.wait_saved().await;
    app.wait_until("#active-span", |t| t.contains("type: poor"))
        .await;
    app.screenshot("annotate-active-span-light.png").await;
    assert_eq!(span_count(&s, "tester"), 1);

    // Delete removes it and leaves a notice whose Undo brings it back.
    app.keys("#note-text", &Key::Delete.to_string()).await;
    app.wait_until("#undo-notice", |t| t.contains("Deleted Housing"))
        .await;
    app.wait_saved().await;
    assert_eq!(span_count(&s, "tester"), 0);
    app.screenshot("annotate-undo-notice-light.png").await;
    app.click("#undo-delete").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while span_count(&s, "tester") != 1 {
        assert!(
            Instant::now() < deadline,
            "undo did not bring the span back"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        app.client
            .find(fantoccini::Locator::Css("#undo-notice"))
            .await
            .is_err()
    );
    app.close().await;
}

/// Issue 17, item 2: the app and the CLI write to one project at once — the app labelling
/// words by keyboard while two CLI processes add spans to other notes. Every write lands, no
/// process sees "database is locked", and the app never shows a failed save.
#[tokio::test(flavor = "current_thread")]
async fn the_app_and_two_clis_write_one_project_at_once_and_lose_nothing() {
    let s = Sandbox::new();
    s.ok(&["init", s.project().to_str().unwrap(), "--schema", "sdoh"]);
    let notes = s.path("notes.jsonl");
    let lines: String = (0..3)
        .map(|i| {
            format!(
                "{}\n",
                serde_json::json!({"id": format!("n{i}"), "text": "Lives alone in a walk-up; no car; retired teacher who smokes daily."})
            )
        })
        .collect();
    std::fs::write(&notes, lines).unwrap();
    s.ok(&["import", notes.to_str().unwrap()]);

    let desktop = Desktop::new();
    let app = desktop
        .launch(&[
            "--project",
            s.project().to_str().unwrap(),
            "--page",
            "notes",
        ])
        .await;
    app.wait_css("#note-row-0 .note-id").await;
    app.click("#note-row-0 .note-id").await;
    app.wait_until("#note-title", |t| t.starts_with("Note #"))
        .await;

    // Two CLI writers, 15 spans each, on notes n1 and n2, started together.
    let per_writer = 15;
    let mut children = Vec::new();
    for w in 1..=2 {
        let mut script = String::new();
        for k in 0..per_writer {
            script.push_str(&format!(
                "{bin:?} annotate span --note n{w} --label HOUSING --start {k} --end {}\n",
                k + 1,
                bin = crate::clinitune_bin()
            ));
        }
        children.push(
            Command::new("sh")
                .args(["-e", "-c", &script])
                .env("CLINITUNE_PROJECT", s.project())
                .env("CLINITUNE_ANNOTATOR", format!("writer{w}"))
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap(),
        );
    }
    // Meanwhile the app labels five words of n0, one keystroke each.
    for _ in 0..5 {
        app.keys("#note-text", &Key::Right.to_string()).await;
        app.keys("#note-text", "h").await;
        app.wait_saved().await;
    }
    for child in children {
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "a CLI writer failed: {err}");
        assert!(!err.contains("locked"), "{err}");
    }
    let saved = app
        .attr("#save-state", "data-state")
        .await
        .unwrap_or_default();
    assert_eq!(saved, "saved", "the app does not show its changes saved");
    app.close().await;
    assert_eq!(span_count_of(&s, "n0", "tester"), 5);
    for w in 1..=2 {
        assert_eq!(
            span_count_of(&s, &format!("n{w}"), &format!("writer{w}")),
            per_writer
        );
    }
}

fn span_count_of(s: &Sandbox, note: &str, annotator: &str) -> usize {
    let shown = s.json(&["notes", "show", note]);
    shown["spans"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["annotator"] == annotator)
        .count()
}
