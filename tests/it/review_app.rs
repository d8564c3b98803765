//! Issue 13: the Review and Pairs pages end to end — the release app under Xvfb on a real
//! project file and the tiny fixture model, driven by keyboard as a clinician would: run a task
//! on a note and watch its text stream in, correct it and save with Ctrl+Enter (the pair is in
//! the project file and on the Pairs page), prefer one of two outputs side by side. Screenshots
//! of both pages, light and dark, go to `<target>/e2e-screenshots/`.

use std::path::Path;
use std::time::{Duration, Instant};

use fantoccini::key::Key;

use crate::desktop::App;
use crate::{Sandbox, shared_dir};

/// A project with the SDoH schema and three synthetic notes, made with the CLI.
fn project_with_notes() -> Sandbox {
    let s = Sandbox::new();
    s.ok(&["init", s.project().to_str().unwrap(), "--schema", "sdoh"]);
    let corpus = s.path("corpus.jsonl");
    s.ok(&[
        "demo-corpus",
        corpus.to_str().unwrap(),
        "--notes",
        "3",
        "--seed",
        "5",
    ]);
    s.ok(&["import", corpus.to_str().unwrap()]);
    s
}

fn read_only(project: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open_with_flags(project, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .expect("project opens")
}

/// `(origin, chosen, rejected)` of every preference pair, oldest first, from the file.
fn saved_pairs(project: &Path) -> Vec<(String, String, String)> {
    let db = read_only(project);
    let mut stmt = db
        .prepare("SELECT origin, chosen, rejected FROM preference_pairs ORDER BY id")
        .expect("query");
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .expect("rows")
        .map(|r| r.expect("row"))
        .collect()
}

/// An output's text, from the file.
fn output_text(project: &Path, id: i64) -> String {
    read_only(project)
        .query_row("SELECT text FROM model_outputs WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .expect("output")
}

fn output_count(project: &Path) -> i64 {
    read_only(project)
        .query_row("SELECT count(*) FROM model_outputs", [], |r| r.get(0))
        .expect("count")
}

/// Waits until `check` holds on the project file (10 s at most).
async fn wait_file(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check() {
        assert!(Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn js_string(app: &App, script: &str) -> String {
    app.client
        .execute(script, vec![])
        .await
        .expect("script runs")
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn output_id(app: &App, card: usize) -> i64 {
    app.attr(&format!("#output-{card}"), "data-output")
        .await
        .and_then(|v| v.parse().ok())
        .expect("the card names its output")
}

#[tokio::test(flavor = "current_thread")]
async fn review_page_streams_an_output_saves_an_edit_as_a_pair_and_prefers_one_of_two() {
    let sandbox = project_with_notes();
    let project = sandbox.project();
    let model = shared_dir().join("fixtures/tiny-llama");
    let desktop = crate::desktop::Desktop::new();
    let app = desktop
        .launch_with(
            &["--project", project.to_str().unwrap(), "--page", "review"],
            &[("CLINITUNE_MODEL", model.to_str().unwrap())],
        )
        .await;

    // `--page review` opens the Review page on the first note of the queue (all notes).
    app.wait_until("#review-title", |t| t == "Review").await;
    app.wait_until("#queue-pos", |t| t.starts_with("1 of 3"))
        .await;
    app.wait_until("#outputs-empty", |t| t.contains("Press r"))
        .await;
    assert!(js_string(&app, "return location.hash").await == "#/review");
    // The first summary task is the default.
    let task = js_string(&app, "return document.getElementById('review-task').value").await;
    assert!(task.ends_with("-summary"), "{task}");
    app.screenshot("review-1-no-output.png").await;

    // r: the model drafts; its text streams into the page in pieces, then is saved.
    app.keys("#review-note-text", "r").await;
    app.wait_until("#mark-0", |t| t == "Not reviewed yet").await;
    assert_eq!(output_count(&project), 1);
    let first = output_id(&app, 0).await;
    let original = output_text(&project, first);
    let pieces: u32 = app
        .attr("#outputs", "data-pieces")
        .await
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    assert!(
        pieces >= 2,
        "the text came in {pieces} piece(s), not streamed"
    );
    let streamed = app
        .attr("#output-0", "data-streamed")
        .await
        .unwrap_or_default();
    assert_eq!(streamed, original, "what streamed is what was saved");
    assert_eq!(
        js_string(&app, "return document.getElementById('editor-0').value").await,
        original
    );
    let provenance = app.wait_css("#provenance-0").await.text().await.unwrap();
    assert!(
        provenance.contains("tiny-llama")
            && provenance.contains(&format!("{task} v1"))
            && provenance.contains("greedy")
            && provenance.contains("seed 0"),
        "{provenance}"
    );
    app.screenshot("review-2-output.png").await;

    // e, then type over the text: the diff follows; Ctrl+Enter saves the edit.
    let edited = "Lives alone in an apartment. No car; misses appointments.";
    app.type_keys("e").await;
    app.type_keys(&format!("{}a", Key::Control)).await;
    app.type_keys(edited).await;
    // Keys typed in the editor stay there: the `a` and `x` in the text accepted nothing.
    app.wait_until("#diff-count-0", |t| t.contains("added"))
        .await;
    app.wait_css("#diff-0 ins").await;
    app.wait_until("#mark-0", |t| t.contains("not saved")).await;
    assert!(saved_pairs(&project).is_empty());
    app.screenshot("review-3-editing.png").await;
    app.type_keys(&format!("{}{}", Key::Control, Key::Enter))
        .await;
    app.wait_until("#mark-0", |t| t == "✓ Saved: your edit")
        .await;
    wait_file("the edit's pair is not in the project file", || {
        !saved_pairs(&project).is_empty()
    })
    .await;
    assert_eq!(
        saved_pairs(&project),
        vec![("edit".to_owned(), edited.to_owned(), original.clone())]
    );

    // Alt+P: the Pairs page lists it; Enter opens it with chosen and rejected.
    app.keys("#review-note-text", &format!("{}p", Key::Alt))
        .await;
    app.wait_until("#pairs-title", |t| t == "Training data")
        .await;
    app.wait_until("#pair-counts", |t| t.contains(" 1")).await;
    app.wait_css("#pair-row-0").await;
    app.keys("#pairs-list", &Key::Enter.to_string()).await;
    app.wait_until("#pair-chosen", |t| t == edited).await;
    let rejected = app.wait_css("#pair-rejected").await.text().await.unwrap();
    assert_eq!(rejected.trim(), original.trim());
    app.screenshot("pairs-1-light.png").await;
    app.switch_theme("dark").await;
    app.screenshot("pairs-2-dark.png").await;

    // Alt+R, b (two outputs side by side), r, then 1: A is preferred over B.
    app.keys("#pairs-list", &format!("{}r", Key::Alt)).await;
    app.wait_until("#review-title", |t| t == "Review").await;
    app.wait_until("#mark-0", |t| t == "✓ Saved: your edit")
        .await;
    app.keys("#review-note-text", "b").await;
    app.keys("#review-note-text", "r").await;
    app.wait_until("#mark-1", |t| t == "Not reviewed yet").await;
    let (a, b) = (output_id(&app, 0).await, output_id(&app, 1).await);
    let (text_a, text_b) = (output_text(&project, a), output_text(&project, b));
    assert_ne!(text_a, text_b, "two sampled outputs should differ");
    app.screenshot("review-4-ab-dark.png").await;
    app.keys("#review-note-text", "1").await;
    app.wait_until("#mark-0", |t| t == "✓ Saved: preferred")
        .await;
    app.wait_until("#mark-1", |t| t == "✓ Saved: the other was preferred")
        .await;
    wait_file("the ranking's pair is not in the project file", || {
        saved_pairs(&project).len() == 2
    })
    .await;
    assert_eq!(
        saved_pairs(&project)[1],
        ("ranking".to_owned(), text_a, text_b)
    );

    // ? lists the keys; Esc closes the list.
    app.keys("#review-note-text", "?").await;
    app.wait_until("#help-title", |t| t.contains("Review"))
        .await;
    app.screenshot("review-5-keys-dark.png").await;
    app.keys("#review-note-text", &Key::Escape.to_string())
        .await;
    app.switch_theme("light").await;
    app.screenshot("review-6-ab-light.png").await;
    app.close().await;
}

#[tokio::test(flavor = "current_thread")]
async fn the_demo_opens_with_the_models_drafts_of_its_first_notes_ready_to_review() {
    let s = Sandbox::new();
    let demo = s.path("demo.clinitune");
    let demo_s = demo.to_str().unwrap();
    s.ok(&["init", demo_s, "--schema", "sdoh"]);
    let corpus = s.path("corpus.jsonl");
    s.ok(&[
        "demo-corpus",
        corpus.to_str().unwrap(),
        "--notes",
        "5",
        "--seed",
        "3",
    ]);
    s.ok(&["import", corpus.to_str().unwrap(), "--project", demo_s]);
    let model = shared_dir().join("fixtures/tiny-llama");
    let desktop = crate::desktop::Desktop::new();
    let app = desktop
        .launch_with(
            &["--project", demo_s, "--page", "review"],
            &[
                ("CLINITUNE_MODEL", model.to_str().unwrap()),
                ("CLINITUNE_DEMO", "1"),
            ],
        )
        .await;
    // In the background, without a key pressed: three drafts, one per note of the queue.
    let deadline = Instant::now() + Duration::from_secs(60);
    while output_count(&demo) < 3 {
        assert!(Instant::now() < deadline, "the demo's drafts never came");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The Review page shows the first note's draft for its default task.
    app.wait_until("#review-title", |t| t == "Review").await;
    app.keys("#review-note-text", &format!("{}n", Key::Alt))
        .await;
    app.keys("#note-list", &format!("{}r", Key::Alt)).await;
    app.wait_until("#mark-0", |t| t == "Not reviewed yet").await;
    assert_eq!(
        output_count(&demo),
        3,
        "opening the page drafted nothing more"
    );
    app.screenshot("review-7-demo-drafts.png").await;
    app.close().await;
}
