//! Issue 13, items 7 and 8: a new project is never a dead end. The release app under Xvfb
//! opens a project with no notes, says so with one Import button, imports a small CSV through
//! it by keyboard (the notes are in the project file; progress and a summary show), refuses a
//! 100,000-character search with a message while other pages keep answering, and exports the
//! annotations. The native file dialog cannot be driven over WebDriver, so
//! `CLINITUNE_TEST_PICK` (test only, read by the Rust side) stands in for it.

use std::path::Path;
use std::time::{Duration, Instant};

use fantoccini::key::Key;

use crate::Sandbox;
use crate::desktop::{App, Desktop};

fn notes_in(project: &Path) -> Vec<(String, String)> {
    let db =
        rusqlite::Connection::open_with_flags(project, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("project opens");
    let mut stmt = db
        .prepare("SELECT external_id, text FROM notes ORDER BY id")
        .expect("query");
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("rows")
        .map(|r| r.expect("row"))
        .collect()
}

async fn focused_id(app: &App) -> String {
    app.client
        .execute(
            "return document.activeElement && document.activeElement.id",
            vec![],
        )
        .await
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

#[tokio::test(flavor = "current_thread")]
async fn new_project_imports_notes_from_its_empty_state_and_bounds_a_pasted_search() {
    let sandbox = Sandbox::new();
    let project = sandbox.path("new.clinitune");
    let csv = sandbox.path("notes.csv");
    std::fs::write(
        &csv,
        "ROW_ID,CATEGORY,TEXT\n\
         101,Nursing,Lives alone in a flat; daughter visits weekly.\n\
         102,Discharge summary,Unemployed since March. Smokes ten a day.\n\
         103,Social Work,Homeless shelter resident; no car.\n",
    )
    .expect("csv written");
    let desktop = Desktop::new();
    let app = desktop
        .launch_with(
            &["--project", project.to_str().unwrap()],
            &[("CLINITUNE_TEST_PICK", csv.to_str().unwrap())],
        )
        .await;

    // A new project says what to do, and the keyboard is on the button that does it.
    app.wait_until("#notes-empty", |t| {
        t.contains("This project has no notes yet")
    })
    .await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while focused_id(&app).await != "empty-import" {
        assert!(
            Instant::now() < deadline,
            "the Import button does not have the focus"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    app.screenshot("import-1-empty-project.png").await;
    assert!(notes_in(&project).is_empty());

    // Enter imports the CSV (the dialog's answer comes from CLINITUNE_TEST_PICK).
    app.type_keys(&Key::Enter.to_string()).await;
    app.wait_until(".progress", |t| {
        t.contains("notes.csv") && t.contains("notes")
    })
    .await;
    let summary = app
        .wait_until("#import-summary", |t| t.contains("Imported"))
        .await;
    let said = summary.text().await.expect("summary text");
    assert!(said.contains("Imported 3 notes from notes.csv."), "{said}");
    app.wait_until("#note-count", |t| t == "3 notes").await;
    app.wait_css("#note-row-0 .note-id").await;
    app.screenshot("import-2-imported.png").await;
    let saved = notes_in(&project);
    assert_eq!(saved.len(), 3, "{saved:?}");
    assert_eq!(saved[0].0, "101");
    assert!(saved[2].1.contains("Homeless shelter"));

    // `?` lists the Notes page's keys, Escape closes the list.
    app.keys("#note-list", "?").await;
    app.wait_until("#help-title", |t| t.starts_with("Notes"))
        .await;
    app.screenshot("import-3-notes-keys.png").await;
    app.type_keys(&Key::Escape.to_string()).await;

    // Typing `i` in the search is a search, not an import; no match offers the way out.
    app.keys("#search", &format!("zebra{}", Key::Enter)).await;
    app.wait_until("#notes-empty", |t| t.contains("No note matches “zebra”"))
        .await;
    app.keys("#search", "i").await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        notes_in(&project).len(),
        3,
        "a key typed in the search imported"
    );
    // (Importing the same file again would have said "Imported 0 notes".)
    app.wait_until("#import-summary", |t| t.contains("Imported 3 notes"))
        .await;
    app.screenshot("import-4-no-match.png").await;
    app.keys("#clear-search", &Key::Enter.to_string()).await;
    app.wait_until("#note-count", |t| t == "3 notes").await;

    // A pasted 100,000-character search is refused with a message, and the app answers.
    let length = app
        .client
        .execute(
            "const s = document.getElementById('search'); s.value = 'x'.repeat(100000); \
             s.dispatchEvent(new Event('input', { bubbles: true })); return s.value.length;",
            vec![],
        )
        .await
        .expect("search pasted");
    assert_eq!(length.as_u64(), Some(100_000));
    app.wait_until("#search-problem", |t| {
        t.contains("100,000 characters") && t.contains("at most 1,000")
    })
    .await;
    app.screenshot("import-5-search-too-long.png").await;
    // The backend refuses it too, at once, and keeps answering other commands meanwhile.
    let refused = app
        .client
        .execute_async(
            "const done = arguments[0]; \
             const query = { text: 'x'.repeat(100000), category: null, status: null, label: null, \
                             annotator: null, limit: 0, offset: 0 }; \
             window.__TAURI_INTERNALS__.invoke('count_notes', { query }) \
               .then(() => done('answered'), e => done(JSON.stringify(e)));",
            vec![],
        )
        .await
        .expect("count_notes answers");
    let refused = refused.as_str().unwrap_or_default().to_owned();
    assert!(refused.contains("at most 1000"), "{refused}");
    app.click("#nav-schema").await;
    app.wait_until("#schema-title", |t| t == "Label schemas")
        .await;
    // Agreement in a project with one annotator says what it needs; Compute with nobody
    // chosen says whom to choose (it once said "both sides are ;").
    app.click("#nav-agreement").await;
    app.wait_until("#agreement-empty", |t| t.contains("two annotators"))
        .await;
    app.click("#compute-agreement").await;
    app.wait_until("#agreement-problem", |t| {
        t == "Choose the two annotators to compare, A and B."
    })
    .await;
    app.screenshot("import-6a-agreement.png").await;
    app.click("#nav-notes").await;
    app.wait_css("#note-list").await;
    app.switch_theme("dark").await;
    app.wait_until("#note-count", |t| t == "3 notes").await;
    app.screenshot("import-6-notes-dark.png").await;
    app.close().await;

    // Export: the annotations as JSON Lines, through the save dialog's stand-in.
    let out = sandbox.path("out.jsonl");
    let app = desktop
        .launch_with(
            &["--project", project.to_str().unwrap()],
            &[("CLINITUNE_TEST_PICK", out.to_str().unwrap())],
        )
        .await;
    app.wait_until("#note-count", |t| t == "3 notes").await;
    app.keys("#export-notes", &Key::Enter.to_string()).await;
    let summary = app
        .wait_until("#export-summary", |t| t.contains("Exported"))
        .await;
    let said = summary.text().await.expect("summary text");
    assert!(said.contains("Exported 3 notes"), "{said}");
    app.screenshot("import-7-exported.png").await;
    let written = std::fs::read_to_string(&out).expect("export written");
    assert_eq!(written.lines().count(), 3, "{written}");
    app.close().await;
}
