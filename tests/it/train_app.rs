//! Issue 13: the Train and Evaluate pages end to end — the release app under Xvfb on a real
//! project file with preference pairs and the tiny fixture model, by keyboard: start a DPO run
//! with Ctrl+Enter and watch the step counter and the loss chart advance; Esc cancels it with a
//! checkpoint on disk; Resume continues from that step; a run killed with the app is listed as
//! interrupted after a restart and resumes from its last checkpoint; the Evaluate page shows the
//! run's figures. Screenshots, light and dark, go to `<target>/e2e-screenshots/`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fantoccini::key::Key;

use crate::desktop::App;
use crate::{Sandbox, shared_dir};

/// A project with 6 preference pairs from the demo corpus, made with the CLI.
fn project_with_pairs() -> Sandbox {
    let s = Sandbox::new();
    s.ok(&["init", s.project().to_str().unwrap()]);
    let dir = s.path("demo");
    s.ok(&["demo-training-data", dir.to_str().unwrap(), "--notes", "30"]);
    let pairs: String = std::fs::read_to_string(dir.join("pairs.jsonl"))
        .unwrap()
        .lines()
        .take(6)
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(s.path("pairs.jsonl"), pairs).unwrap();
    s.ok(&["pairs", "import", s.path("pairs.jsonl").to_str().unwrap()]);
    s
}

/// The run folder the app makes for the first run of `project`.
fn first_run(project: &Path) -> PathBuf {
    let stem = project.file_stem().unwrap().to_string_lossy().into_owned();
    project
        .with_file_name(format!("{stem}-runs"))
        .join("001-dpo")
}

async fn number_attr(app: &App, css: &str, name: &str) -> usize {
    app.attr(css, name)
        .await
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Waits (60 s at most: training shares two cores with the other tests) until `attr` of
/// `css` reads a number of at least `least`.
async fn wait_number(app: &App, css: &str, name: &str, least: usize) -> usize {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let n = number_attr(app, css, name).await;
        if n >= least {
            return n;
        }
        if Instant::now() >= deadline {
            app.screenshot("train-failure.png").await;
            panic!("{css} {name} stayed at {n}, below {least}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits for a longer job than `App::wait_until` allows (60 s).
async fn wait_text(app: &App, css: &str, ok: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(el) = app.client.find(fantoccini::Locator::Css(css)).await
            && let Ok(text) = el.text().await
            && ok(&text)
        {
            return text;
        }
        if Instant::now() >= deadline {
            app.screenshot("train-failure.png").await;
            let text = match app.client.find(fantoccini::Locator::Css(css)).await {
                Ok(el) => el.text().await.unwrap_or_default(),
                Err(_) => "(not found)".to_owned(),
            };
            panic!("{css} never matched; last text {text:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Types `text` into a setting and leaves it (Tab), as a clinician would.
async fn set_field(app: &App, id: &str, text: &str) {
    let el = app.wait_css(&format!("#{id}")).await;
    el.send_keys(&format!("{}a{}", Key::Control, Key::Backspace))
        .await
        .expect("field cleared");
    el.send_keys(&format!("{text}{}", Key::Tab))
        .await
        .expect("field typed");
}

#[tokio::test(flavor = "current_thread")]
async fn train_page_runs_cancels_resumes_survives_a_kill_and_evaluate_shows_the_run() {
    let sandbox = project_with_pairs();
    let project = sandbox.project();
    let run = first_run(&project);
    let model = shared_dir().join("fixtures/tiny-llama");
    let model_env = [("CLINITUNE_MODEL", model.to_str().unwrap())];
    let args = ["--project", project.to_str().unwrap(), "--page", "train"];
    let desktop = crate::desktop::Desktop::new();
    let app = desktop.launch_with(&args, &model_env).await;

    // The page offers DPO on the project's 6 pairs, with a forecast, and no run yet.
    app.wait_until("#train-title", |t| t == "Train").await;
    app.wait_until("#train-data", |t| t.contains("6 preference pairs"))
        .await;
    app.wait_until("#train-forecast", |t| t.contains("Forecast"))
        .await;
    app.wait_until("#runs-empty", |t| t.contains("No runs yet"))
        .await;
    app.screenshot("train-1-settings-light.png").await;

    // A long run (stopped by hand), checkpointed every step, in small batches.
    set_field(&app, "train-steps", "2000").await;
    set_field(&app, "train-batch", "2").await;
    set_field(&app, "train-max-length", "64").await;
    app.keys("details.advanced summary", &Key::Enter.to_string())
        .await;
    set_field(&app, "train-save-steps", "1").await;
    app.wait_until("#train-forecast", |t| t.contains("2000 steps"))
        .await;

    // Ctrl+Enter starts it: the step counter and the loss chart advance.
    app.keys("#train-steps", &format!("{}{}", Key::Control, Key::Enter))
        .await;
    wait_number(&app, "#train-live", "data-step", 3).await;
    wait_number(&app, "#chart-loss", "data-points", 3).await;
    wait_text(&app, "#train-status", |t| t.starts_with("Step ")).await;
    assert!(app.attr("#train-live", "data-latency-ms").await.is_some());
    app.screenshot("train-2-running-light.png").await;

    // Esc cancels after the current step, with a checkpoint on disk.
    app.keys("#train", &Key::Escape.to_string()).await;
    let said = wait_text(&app, "#train-status", |t| {
        t.starts_with("Cancelled at step")
    })
    .await;
    let cancelled_at: usize = said
        .trim_start_matches("Cancelled at step ")
        .split('.')
        .next()
        .and_then(|n| n.parse().ok())
        .expect("the status names the step");
    assert!(cancelled_at >= 3, "{said}");
    assert!(
        run.join("checkpoint").is_dir(),
        "no checkpoint in {}",
        run.display()
    );
    app.wait_css("tr[data-run='001-dpo'][data-status='cancelled']")
        .await;
    app.screenshot("train-3-cancelled-light.png").await;

    // Resume (Enter on its button): the run continues from that step, its earlier steps kept.
    app.keys(
        "tr[data-run='001-dpo'] button.resume",
        &Key::Enter.to_string(),
    )
    .await;
    wait_number(&app, "#train-live", "data-step", cancelled_at + 3).await;
    let points = wait_number(&app, "#chart-loss", "data-points", cancelled_at + 3).await;
    assert!(points > cancelled_at);
    let first_loss_logged = std::fs::read_to_string(run.join("train_plan.json")).is_ok();
    assert!(first_loss_logged, "the plan is beside the run");
    app.switch_theme("dark").await;
    app.screenshot("train-4-resumed-dark.png").await;

    // Killed while training: the checkpoint on disk is ahead of the cancel's.
    let killed = std::process::Command::new("pkill")
        .args(["-KILL", "-f", "--", project.to_str().unwrap()])
        .status()
        .expect("pkill runs");
    assert!(killed.success(), "the app was not found to kill");
    drop(app);

    // What the kill left: the running run's mark, and a checkpoint past the cancel's.
    let global_step = |file: PathBuf| -> usize {
        let text =
            std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let state: serde_json::Value = serde_json::from_str(&text).unwrap();
        state["global_step"].as_u64().unwrap() as usize
    };
    let checkpoint_step = global_step(run.join("checkpoint/trainer_state.json"));
    assert!(run.join("training.pid").is_file(), "the run's mark is gone");
    assert!(
        checkpoint_step > cancelled_at,
        "checkpoint at {checkpoint_step}, cancelled at {cancelled_at}"
    );

    // Restarted: the run is listed as interrupted, and Resume continues from its checkpoint.
    let app = desktop.launch_with(&args, &model_env).await;
    app.wait_until("#train-status", |t| {
        t.starts_with("Last run 001-dpo: interrupted")
    })
    .await;
    app.wait_until("#runs-interrupted", |t| t.contains("interrupted"))
        .await;
    let row = "tr[data-run='001-dpo'][data-status='interrupted']";
    app.wait_css(row).await;
    app.screenshot("train-5-interrupted-light.png").await;
    app.keys("#train-resume-last", &Key::Enter.to_string())
        .await;
    let step_of = |t: &str| -> usize {
        t.strip_prefix("Step ")
            .and_then(|t| t.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    // The plan says where it starts; the steps then go on from there.
    wait_text(&app, "#train-status", |t| step_of(t) > checkpoint_step).await;
    let resumed_from = number_attr(&app, "#chart-loss", "data-points").await;
    assert!(
        resumed_from > checkpoint_step,
        "the earlier steps are charted"
    );
    app.keys("#train", &Key::Escape.to_string()).await;
    wait_text(&app, "#train-status", |t| {
        t.starts_with("Cancelled at step")
    })
    .await;

    // Alt+E: the Evaluate page compares what the run logged.
    app.keys("#train", &format!("{}e", Key::Alt)).await;
    app.wait_until("#evaluate-title", |t| t == "Evaluate").await;
    let row = app
        .wait_css("#evaluate-table tr[data-run='001-dpo']")
        .await
        .text()
        .await
        .unwrap();
    assert!(row.contains("dpo"), "{row}");
    wait_number(&app, "#chart-compare", "data-points", checkpoint_step).await;
    app.screenshot("evaluate-1-light.png").await;
    app.switch_theme("dark").await;
    app.screenshot("evaluate-2-dark.png").await;
    app.keys("#evaluate", &format!("{}t", Key::Alt)).await;
    app.wait_until("#train-title", |t| t == "Train").await;
    app.wait_css("tr[data-run='001-dpo']").await;
    app.screenshot("train-6-history-dark.png").await;
    app.close().await;
}
