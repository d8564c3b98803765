//! Issue 13, item 8 on the Annotate page: another annotator's document labels are listed; the
//! blind view (`b`) hides everyone else's spans and labels; the selected span shows its
//! attributes with their keys and the meaning of each value (what `y` cycles through); a span
//! deleted with Delete can be brought back from the notice it leaves.

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
