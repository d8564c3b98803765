//! The conference demo, ready for the loop: when a demo project opens, the default model drafts a
//! summary of each of its first notes that has no output yet, in the background (progress in the
//! app's bar), so the Review page has outputs to correct at once.

use std::path::{Path, PathBuf};

use api::{JobProgress, NoteId, RunRequest, SamplingParams, SearchQuery};
use tauri::{AppHandle, Emitter};

use crate::commands::PROGRESS_EVENT;

/// Notes the model drafts before the presenter starts.
const QUEUE: usize = 3;

/// Whether `path` is a demo project (the app's own or `cargo xtask demo`'s).
pub fn is_demo(path: &Path) -> bool {
    path.file_name().is_some_and(|n| n == "demo.clinitune")
}

/// Drafts outputs for the demo project's first notes that have none, on its own thread.
pub fn prepare(app: AppHandle, project: PathBuf, model: Option<String>) {
    let spawned = std::thread::Builder::new()
        .name("demo".to_owned())
        .spawn(move || {
            if let Err(e) = run(&app, &project, model) {
                tracing::warn!(cause = ?e.cause(), "the demo's drafts were not made");
            }
        });
    if let Err(e) = spawned {
        tracing::warn!("cannot prepare the demo: {e}");
    }
}

fn run(app: &AppHandle, project: &Path, model: Option<String>) -> Result<(), studio::Error> {
    let mut p = studio::Project::open(project)?;
    let Some(model) = model else {
        return Ok(());
    };
    let notes: Vec<NoteId> = studio::notes::search(&p, &SearchQuery::default())?
        .into_iter()
        .take(QUEUE)
        .map(|n| n.id)
        .collect();
    // Only the first notes that have no output yet (prepared before, or already reviewed).
    let mut bare = Vec::new();
    for note in notes {
        if studio::review::reviewed_outputs(&p, note)?.is_empty() {
            bare.push(note);
        }
    }
    if bare.is_empty() {
        return Ok(());
    }
    let notes = bare;
    studio::tasks::add_built_in(&mut p)?;
    // The task the Review page opens on: the first summary task.
    let tasks = studio::tasks::list(&p, false)?;
    let Some(task) = tasks
        .iter()
        .find(|t| t.kind == api::TaskKind::Summarize)
        .or_else(|| tasks.first())
        .map(|t| t.name.clone())
    else {
        return Ok(());
    };
    let total = notes.len() as u64;
    let stage = "Preparing the demo: the model drafts summaries";
    let say = |done: u64| {
        let _ = app.emit(
            PROGRESS_EVENT,
            JobProgress {
                stage: stage.to_owned(),
                done,
                total: Some(total),
                unit: "notes".to_owned(),
            },
        );
    };
    say(0);
    let loaded = studio::runs::load_model(
        Path::new(&model),
        &[],
        false,
        studio::models::DeviceChoice::Cpu,
    )?;
    let request = RunRequest {
        task,
        adapters: vec![],
        query: SearchQuery::default(),
        samples: 1,
        sampling: SamplingParams {
            temperature: 0.0,
            top_p: 1.0,
            top_k: 0,
            repetition_penalty: 1.1,
            max_tokens: 200,
        },
        seed: 0,
        few_shot: None,
        max_note_tokens: None,
        notes,
    };
    studio::runs::run_streaming(
        &mut p,
        &loaded,
        &request,
        &mut |progress| say(progress.done),
        &mut |_, _, _| {},
        &studio::CancelToken::new(),
    )?;
    say(total);
    Ok(())
}
