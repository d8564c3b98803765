//! The desktop app end to end: the release `clinitune-studio` under Xvfb, driven over WebDriver
//! (tauri-driver in front of WebKitWebDriver) as a clinician would use it with the keyboard.
//! Screenshots of each page go to `<target>/e2e-screenshots/`.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use fantoccini::key::Key;

use crate::desktop::{App, Desktop};

/// Spans and status of a note straight from the project file (not from the screen).
fn saved_spans(project: &Path, annotator: &str) -> Vec<(i64, String, i64, i64)> {
    let db =
        rusqlite::Connection::open_with_flags(project, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("project opens");
    let mut stmt = db
        .prepare(
            "SELECT s.note_id, l.name, s.start_byte, s.end_byte
             FROM span_annotations s
             JOIN labels l ON l.id = s.label_id
             JOIN annotators a ON a.id = s.annotator_id
             WHERE a.name = ?1 ORDER BY s.id",
        )
        .expect("query");
    stmt.query_map([annotator], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
    })
    .expect("rows")
    .map(|r| r.expect("row"))
    .collect()
}

fn label_hotkey(project: &Path, label: &str) -> Option<String> {
    let db =
        rusqlite::Connection::open_with_flags(project, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("project opens");
    db.query_row("SELECT hotkey FROM labels WHERE name = ?1", [label], |r| {
        r.get(0)
    })
    .expect("label")
}

fn note_status(project: &Path, note: i64) -> String {
    let db =
        rusqlite::Connection::open_with_flags(project, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("project opens");
    db.query_row("SELECT status FROM notes WHERE id = ?1", [note], |r| {
        r.get(0)
    })
    .expect("note status")
}

/// Opens the first note the search finds, by keyboard; returns its id.
async fn open_first_result(app: &App, search: &str) -> i64 {
    app.keys("#search", search).await;
    app.wait_until("#note-count", |t| t.ends_with("notes") && t != "2000 notes")
        .await;
    app.wait_css("#note-row-0 .note-id").await;
    app.keys("#search", &Key::Enter.to_string()).await;
    app.keys("#note-list", &Key::Enter.to_string()).await;
    let title = app
        .wait_until("#note-title", |t| t.starts_with("Note #"))
        .await;
    let text = title.text().await.expect("title");
    text.trim_start_matches("Note #").parse().expect("note id")
}

#[tokio::test(flavor = "current_thread")]
async fn app_annotates_by_keyboard_undoes_redoes_and_keeps_it_after_restart() {
    let desktop = Desktop::new();
    let app = desktop.launch(&[]).await;
    app.wait_until("#projects-title", |t| t == "Projects").await;
    app.screenshot("1-projects.png").await;

    // Open the demo project: the app creates it (2,000 notes) on first use.
    app.click("#open-demo").await;
    app.wait_until("#note-count", |t| t == "2000 notes").await;
    app.wait_css("#note-row-0 .note-id").await;
    app.screenshot("2-notes.png").await;

    // Search, open the first hit.
    let note = open_first_result(&app, "lives alone").await;
    app.screenshot("3-search-opened.png").await;
    let project = desktop.demo_project();
    assert!(saved_spans(&project, "tester").is_empty());

    // Select two words with the keyboard and label them HOUSING (hotkey h).
    // (WebDriver holds Shift down until the end of the call.)
    let keys = format!("{}{}{}{}", Key::Right, Key::Right, Key::Shift, Key::Right);
    app.keys("#note-text", &keys).await;
    app.keys("#note-text", "h").await;
    app.wait_until("#span-list .span-item[data-annotator=\"tester\"]", |t| {
        t.contains("HOUSING")
    })
    .await;
    app.wait_saved().await;
    let spans = saved_spans(&project, "tester");
    assert_eq!(spans.len(), 1, "{spans:?}");
    assert_eq!((spans[0].0, spans[0].1.as_str()), (note, "HOUSING"));
    let saved_span = spans[0].clone();
    app.screenshot("4-annotate.png").await;

    // Undo with u, redo with Ctrl+Shift+Z.
    app.keys("#note-text", "u").await;
    app.wait_saved().await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while !saved_spans(&project, "tester").is_empty() {
        assert!(Instant::now() < deadline, "undo did not remove the span");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let redo = format!("{}{}Z", Key::Control, Key::Shift);
    app.keys("#note-text", &redo).await;
    app.wait_until("#span-list .span-item[data-annotator=\"tester\"]", |t| {
        t.contains("HOUSING")
    })
    .await;
    app.wait_saved().await;
    assert_eq!(saved_spans(&project, "tester"), vec![saved_span.clone()]);

    // Mark done with d.
    app.keys("#note-text", "d").await;
    app.wait_until("#note-status", |t| t == "done").await;
    app.wait_saved().await;
    assert_eq!(note_status(&project, note), "done");

    // The shortcuts overlay, then the other pages.
    app.keys("#note-text", "?").await;
    app.wait_css("#help-title").await;
    app.screenshot("5-shortcuts.png").await;
    app.keys("#note-text", &Key::Escape.to_string()).await;
    app.click("#nav-schema").await;
    app.wait_until("#schema-title", |t| t == "Label schemas")
        .await;
    app.screenshot("6-schema.png").await;
    // Give HOUSING the hotkey g on the schema page; the project file has it at once.
    let edit = "//tr[td/code[text()='HOUSING']]//button[text()='Edit']";
    app.client
        .find(fantoccini::Locator::XPath(edit))
        .await
        .expect("edit button")
        .click()
        .await
        .expect("clicked");
    let key = app.wait_css("input.key-input").await;
    key.clear().await.expect("cleared");
    key.send_keys(&format!("g{}", Key::Enter))
        .await
        .expect("typed");
    let deadline = Instant::now() + Duration::from_secs(10);
    while label_hotkey(&project, "HOUSING").as_deref() != Some("g") {
        assert!(Instant::now() < deadline, "the new hotkey was not saved");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let shown = "//tr[td/code[text()='HOUSING']]//kbd[text()='g']";
    while app
        .client
        .find(fantoccini::Locator::XPath(shown))
        .await
        .is_err()
    {
        assert!(
            Instant::now() < deadline,
            "the schema page does not show the new hotkey"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    app.screenshot("6b-schema-edited.png").await;
    app.click("#nav-agreement").await;
    app.wait_css("#agreement-title").await;
    app.screenshot("7-agreement.png").await;
    // The dark theme, on the notes page.
    app.click("#nav-notes").await;
    app.click("button.theme").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while app
        .client
        .execute("return document.documentElement.dataset.theme", vec![])
        .await
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .as_deref()
        != Some("dark")
    {
        assert!(Instant::now() < deadline, "the theme did not switch");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    app.screenshot("8-notes-dark.png").await;
    app.close().await;

    // Restart: the demo project is in the recent list and the annotation is still there.
    let app = desktop.launch(&[]).await;
    let recent = app
        .wait_until(".recent button", |t| t.ends_with("demo.clinitune"))
        .await;
    recent.click().await.expect("open recent");
    app.wait_until("#note-count", |t| t == "2000 notes").await;
    let again = open_first_result(&app, "lives alone").await;
    assert_eq!(again, note);
    app.wait_until("#span-list .span-item[data-annotator=\"tester\"]", |t| {
        t.contains("HOUSING")
    })
    .await;
    app.wait_until("#note-status", |t| t == "done").await;
    app.close().await;
}

#[tokio::test(flavor = "current_thread")]
async fn app_killed_right_after_an_annotation_keystroke_keeps_the_annotation() {
    let desktop = Desktop::new();
    // Make the demo project through the app once, then start on it by path.
    let app = desktop.launch(&[]).await;
    app.click("#open-demo").await;
    app.wait_until("#note-count", |t| t == "2000 notes").await;
    app.close().await;
    let project = desktop.demo_project();
    let marker = project.to_string_lossy().into_owned();

    let app = desktop.launch(&["--project", &marker]).await;
    app.wait_until("#note-count", |t| t == "2000 notes").await;
    let note = open_first_result(&app, "unemployed").await;
    app.keys("#note-text", &format!("{}e", Key::Right)).await;
    app.wait_saved().await;
    // SIGKILL the app the moment the page says saved: no chance to flush anything.
    let killed = Command::new("pkill")
        .args([
            "-KILL",
            "-f",
            &format!("clinitune-studio --project {marker}"),
        ])
        .status()
        .expect("pkill runs");
    assert!(killed.success(), "the app process was not found");
    drop(app);

    let spans = saved_spans(&project, "tester");
    assert_eq!(spans.len(), 1, "{spans:?}");
    assert_eq!((spans[0].0, spans[0].1.as_str()), (note, "EMPLOYMENT"));
    let integrity: String = rusqlite::Connection::open(&project)
        .expect("opens")
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity check");
    assert_eq!(integrity, "ok");

    // And the restarted app shows it.
    let app = desktop.launch(&["--project", &marker]).await;
    let again = open_first_result(&app, "unemployed").await;
    assert_eq!(again, note);
    app.wait_until("#span-list .span-item[data-annotator=\"tester\"]", |t| {
        t.contains("EMPLOYMENT")
    })
    .await;
    app.close().await;
}

/// Issue 13, item 8: a project whose file was deleted stays in Recent marked as gone, and
/// "Remove from list" takes it off (for good: not back after a restart); the file is never
/// touched.
#[tokio::test(flavor = "current_thread")]
async fn a_deleted_project_can_be_removed_from_the_recent_list() {
    let s = crate::Sandbox::new();
    s.ok(&["init", s.project().to_str().unwrap()]);
    let desktop = Desktop::new();
    let app = desktop
        .launch(&["--project", s.project().to_str().unwrap()])
        .await;
    app.wait_css("#note-count").await;
    app.close().await;
    std::fs::remove_file(s.project()).unwrap();

    let app = desktop.launch(&[]).await;
    app.wait_until("#projects-title", |t| t == "Projects").await;
    app.wait_until(".recent li", |t| t.contains("no longer there"))
        .await;
    app.screenshot("projects-recent-gone-light.png").await;
    app.click(".recent li button.forget").await;
    app.wait_until(".card", |t| t.contains("No recent projects yet."))
        .await;
    app.close().await;
    let app = desktop.launch(&[]).await;
    app.wait_until(".card", |t| t.contains("No recent projects yet."))
        .await;
    app.close().await;
}
