//! `cargo xtask bench app`: the release desktop app driven over WebDriver, timed from inside
//! the page (performance.now) where the app's own work is measured, and from the driver for
//! the cold start (which so also counts WebKitWebDriver's own start: an upper bound).
//!
//! Usage: `cargo bench -p tests --bench app -- PROJECT LONG_NOTE_WORD` with a project holding
//! two long notes (20,000 characters, 200 spans) that contain LONG_NOTE_WORD. Prints one JSON
//! object on its last line: `cold_start_ms`, `switch_note_ms`, `keystroke_to_saved_ms`
//! (medians) and their samples.

#[path = "../it/desktop.rs"]
#[allow(dead_code)]
mod desktop;

use std::path::{Path, PathBuf};
use std::time::Instant;

use fantoccini::key::Key;
use serde_json::json;

/// The target folder this bench binary was built in (`<target>/<profile>/deps/app-<hash>`).
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("bench executable path");
    exe.ancestors()
        .nth(3)
        .map(Path::to_owned)
        .expect("target dir")
}

const STARTS: usize = 5;
const SWITCHES: usize = 20;
const KEYSTROKES: usize = 20;

/// Presses `j` or `k` in the page and resolves with the ms until the other long note's text
/// (all its highlighted segments) is in the DOM.
const SWITCH_JS: &str = r#"
const [key, minSegments, done] = arguments;
const title = () => document.querySelector('#note-title')?.textContent;
const before = title();
const t0 = performance.now();
window.dispatchEvent(new KeyboardEvent('keydown', { key, bubbles: true }));
const check = () => {
  const segs = document.querySelectorAll('#note-text .seg.labelled').length;
  if (title() !== before && segs >= minSegments) { done(performance.now() - t0); return true; }
  return false;
};
if (!check()) {
  const obs = new MutationObserver(() => { if (check()) obs.disconnect(); });
  obs.observe(document.body, { subtree: true, childList: true, characterData: true });
}
"#;

/// Selects the next word, presses a label key and resolves with the ms until the page says
/// saved (which it does when the command has committed the span to the project file).
const KEYSTROKE_JS: &str = r#"
const [done] = arguments;
const state = () => document.querySelector('#save-state')?.dataset.state;
const spans = () => document.querySelectorAll('#span-list .span-item').length;
const n0 = spans();
window.dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowRight', bubbles: true }));
const t0 = performance.now();
window.dispatchEvent(new KeyboardEvent('keydown', { key: 'e', bubbles: true }));
const check = () => {
  if (state() === 'saved' && spans() > n0) { done(performance.now() - t0); return true; }
  return false;
};
if (!check()) {
  const obs = new MutationObserver(() => { if (check()) obs.disconnect(); });
  obs.observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
}
"#;

/// Scrolls the notes list to `fraction` of its height and resolves with the ms until the
/// first row in view shows its note id.
const SCROLL_JS: &str = r#"
const [fraction, done] = arguments;
const list = document.querySelector('#note-list');
const target = Math.floor((list.scrollHeight - list.clientHeight) * fraction);
const t0 = performance.now();
list.scrollTop = target;
list.dispatchEvent(new Event('scroll'));
const index = Math.floor(list.scrollTop / 58);
const check = () => {
  const row = document.querySelector(`#note-row-${index} .note-id`);
  if (row) { done(performance.now() - t0); return true; }
  return false;
};
if (!check()) {
  const obs = new MutationObserver(() => { if (check()) obs.disconnect(); });
  obs.observe(list, { subtree: true, childList: true });
}
"#;

/// Presses `r` on the Review page and resolves with the ms until the first piece of the
/// model's text is in the page.
const FIRST_TOKEN_JS: &str = r#"
const [done] = arguments;
const pieces = () => Number(document.querySelector('#outputs')?.dataset.pieces || 0);
const t0 = performance.now();
window.dispatchEvent(new KeyboardEvent('keydown', { key: 'r', bubbles: true }));
const check = () => {
  if (pieces() > 0) { done(performance.now() - t0); return true; }
  return false;
};
if (!check()) {
  const obs = new MutationObserver(() => { if (check()) obs.disconnect(); });
  obs.observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
}
"#;

/// Types one character at the end of the first output's editor and resolves with the ms
/// until the word diff under it has changed.
const EDIT_JS: &str = r#"
const [ch, done] = arguments;
const editor = document.querySelector('#editor-0');
const diff = document.querySelector('#diff-0');
const before = diff.innerHTML;
const t0 = performance.now();
editor.value = editor.value + ch;
editor.dispatchEvent(new InputEvent('input', { bubbles: true, data: ch, inputType: 'insertText' }));
const check = () => {
  if (diff.innerHTML !== before) { done(performance.now() - t0); return true; }
  return false;
};
if (!check()) {
  const obs = new MutationObserver(() => { if (check()) obs.disconnect(); });
  obs.observe(diff, { subtree: true, childList: true, characterData: true });
}
"#;

/// Steps whose event-to-chart time is sampled while training.
const TRAIN_STEPS: usize = 8;
/// Keystrokes timed in the Review editor while training.
const EDITS: usize = 20;

fn median(samples: &mut [f64]) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let [project, word, model] = args.as_slice() else {
        panic!("usage: app PROJECT LONG_NOTE_WORD MODEL");
    };
    let desktop = desktop::Desktop::new();
    let launch_args = ["--project", project.as_str()];

    let mut cold = Vec::new();
    let mut app = None;
    for _ in 0..STARTS {
        if let Some(previous) = app.take() {
            desktop::App::close(previous).await;
        }
        let started = Instant::now();
        let a = desktop
            .launch_with(&launch_args, &[("CLINITUNE_MODEL", model.as_str())])
            .await;
        a.wait_css("#note-row-0 .note-id").await;
        cold.push(started.elapsed().as_secs_f64() * 1e3);
        app = Some(a);
    }
    let app = app.expect("launched");

    // Scrolling the whole list: jump to the middle and the end, time until the rows there
    // are loaded and drawn (each jump fetches one page of 100 over IPC).
    let mut scroll = Vec::new();
    for fraction in [0.5, 1.0, 0.25, 0.75] {
        let ms = app
            .client
            .execute_async(SCROLL_JS, vec![json!(fraction)])
            .await
            .expect("scroll timed");
        scroll.push(ms.as_f64().expect("ms"));
    }
    let notes_listed = app
        .wait_until("#note-count", |t| t.ends_with(" notes"))
        .await
        .text()
        .await
        .expect("count");

    // Open the first long note from a search for its word.
    app.keys("#search", word).await;
    app.wait_until("#note-count", |t| t == "2 notes").await;
    app.wait_css("#note-row-0 .note-id").await;
    app.keys("#search", &Key::Enter.to_string()).await;
    app.keys("#note-list", &Key::Enter.to_string()).await;
    app.wait_until("#note-title", |t| t.starts_with("Note #"))
        .await;
    let min_segments = 150;

    let mut switch = Vec::new();
    for i in 0..SWITCHES {
        let key = if i % 2 == 0 { "j" } else { "k" };
        let ms = app
            .client
            .execute_async(SWITCH_JS, vec![json!(key), json!(min_segments)])
            .await
            .expect("switch timed");
        switch.push(ms.as_f64().expect("ms"));
    }
    // Where the switch time goes: the show_note command (IPC + SQLite) and the page's render.
    let timings = app
        .client
        .execute("return window.__clinituneTimings || []", vec![])
        .await
        .expect("timings");
    let mut ipc: Vec<f64> = timings
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["ipc_ms"].as_f64())
        .collect();
    let mut render: Vec<f64> = timings
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["render_ms"].as_f64())
        .collect();
    let mut keystroke = Vec::new();
    for _ in 0..KEYSTROKES {
        let ms = app
            .client
            .execute_async(KEYSTROKE_JS, vec![])
            .await
            .expect("keystroke timed");
        keystroke.push(ms.as_f64().expect("ms"));
    }
    let loop_figures = review_and_train(&app).await;
    app.close().await;

    // The spans are in the file, not only on screen.
    let db =
        rusqlite::Connection::open_with_flags(project, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("project opens");
    let saved: i64 = db
        .query_row(
            "SELECT count(*) FROM span_annotations s JOIN annotators a ON a.id = s.annotator_id
             WHERE a.name = 'tester'",
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(
        saved as usize, KEYSTROKES,
        "every keystroke's span is in the project file"
    );

    let figures = json!({
        "benchmark": "app",
        "cold_start_ms": median(&mut cold.clone()),
        "switch_note_ms": median(&mut switch.clone()),
        "keystroke_to_saved_ms": median(&mut keystroke.clone()),
        "switch_note_ipc_ms": if ipc.is_empty() { 0.0 } else { median(&mut ipc) },
        "switch_note_render_ms": if render.is_empty() { 0.0 } else { median(&mut render) },
        "cold_start_samples_ms": cold,
        "switch_note_samples_ms": switch,
        "keystroke_to_saved_samples_ms": keystroke,
        "spans_saved": saved,
        "list_jump_ms": median(&mut scroll.clone()),
        "list_jump_samples_ms": scroll,
        "notes_listed": notes_listed,
    });
    let mut figures = figures;
    if let (Some(all), Some(more)) = (figures.as_object_mut(), loop_figures.as_object()) {
        all.extend(more.clone());
    }
    println!("{figures}");
}

/// Attribute `name` of `css` as a number (0 when absent).
async fn number(app: &desktop::App, css: &str, name: &str) -> f64 {
    app.attr(css, name)
        .await
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

/// The review loop under load: the first streamed token after `r` (cold: the model loads;
/// warm: it is loaded), then a DPO run on the project's pairs with the Train page's
/// event-to-chart time per step, and keystrokes in the Review editor while it trains.
async fn review_and_train(app: &desktop::App) -> serde_json::Value {
    let wait_ms = |ms| tokio::time::sleep(std::time::Duration::from_millis(ms));
    app.keys("#note-text", &format!("{}r", Key::Alt)).await;
    app.wait_until("#review-title", |t| t == "Review").await;
    app.wait_until("#review-task", |_| true).await;
    let mut first = Vec::new();
    for _ in 0..3 {
        let ms = app
            .client
            .execute_async(FIRST_TOKEN_JS, vec![])
            .await
            .expect("first token timed");
        first.push(ms.as_f64().expect("ms"));
        // The run ends when its output is saved and shown for review.
        let deadline = Instant::now() + std::time::Duration::from_secs(300);
        while app.attr("#outputs", "data-running").await.as_deref() != Some("false") {
            assert!(Instant::now() < deadline, "the run did not finish");
            wait_ms(200).await;
        }
        app.wait_css("#editor-0").await;
    }
    let cold = first[0];
    let mut warm = first[1..].to_vec();

    // A long DPO run (stopped at the end), small enough per step to sample several steps.
    app.keys("#review-note-text", &format!("{}t", Key::Alt))
        .await;
    app.wait_until("#train-title", |t| t == "Train").await;
    app.wait_until("#train-data", |t| t.contains("preference pairs"))
        .await;
    for (id, value) in [
        ("train-steps", "500"),
        ("train-batch", "1"),
        ("train-max-length", "256"),
    ] {
        // Two sequences: a modifier stays down until its sequence ends.
        let el = app.wait_css(&format!("#{id}")).await;
        el.send_keys(&format!("{}a{}", Key::Control, Key::Backspace))
            .await
            .expect("cleared");
        el.send_keys(&format!("{value}{}", Key::Tab))
            .await
            .expect("typed");
    }
    app.keys("#train-steps", &format!("{}{}", Key::Control, Key::Enter))
        .await;
    let mut chart = Vec::new();
    let mut seen = 0.0;
    let deadline = Instant::now() + std::time::Duration::from_secs(600);
    while chart.len() < TRAIN_STEPS {
        if Instant::now() > deadline {
            app.screenshot("bench-train-stalled.png").await;
            panic!("training did not advance (see e2e-screenshots/bench-train-stalled.png)");
        }
        let step = number(app, "#train-live", "data-step").await;
        let latency = app.attr("#train-live", "data-latency-ms").await;
        if step > seen
            && let Some(l) = latency.and_then(|l| l.parse::<f64>().ok())
        {
            seen = step;
            chart.push(l);
        }
        wait_ms(20).await;
    }

    // Keystrokes in the Review editor while the run goes on.
    app.keys("#train", &format!("{}r", Key::Alt)).await;
    app.wait_until("#review-title", |t| t == "Review").await;
    app.wait_css("#editor-0").await;
    let mut edits = Vec::new();
    for i in 0..EDITS {
        let ch = if i % 5 == 4 { " " } else { "x" };
        let ms = app
            .client
            .execute_async(EDIT_JS, vec![json!(ch)])
            .await
            .expect("edit timed");
        edits.push(ms.as_f64().expect("ms"));
    }
    let still_training = app
        .client
        .find(fantoccini::Locator::Css("#review-title"))
        .await
        .is_ok();
    app.keys("#review-note-text", &format!("{}t", Key::Alt))
        .await;
    app.wait_until("#train-title", |t| t == "Train").await;
    // Stop the run with its Cancel button (a step of the default model takes seconds).
    app.keys("#train-cancel", &Key::Enter.to_string()).await;
    let stop_deadline = Instant::now() + std::time::Duration::from_secs(120);
    let mut stopped = false;
    while Instant::now() < stop_deadline && !stopped {
        let status = app.wait_css("#train-status").await.text().await;
        stopped = status.is_ok_and(|t| t.starts_with("Cancelled") || t.starts_with("Completed"));
        wait_ms(500).await;
    }
    json!({
        "train_cancelled_in_time": stopped,
        "first_token_ms": median(&mut warm),
        "first_token_cold_ms": cold,
        "first_token_samples_ms": first,
        "train_event_to_chart_ms": median(&mut chart.clone()),
        "train_event_to_chart_samples_ms": chart,
        "input_latency_during_training_ms": median(&mut edits.clone()),
        "input_latency_during_training_samples_ms": edits,
        "edits_during_training": still_training,
    })
}
