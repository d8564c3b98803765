//! Commands of the Review and Pairs pages: run a prompt task on a note with its tokens streamed
//! to the page, review the outputs (edit, accept, reject, prefer), and curate the pairs and SFT
//! examples that reviews make. Same rules as [`crate::commands`]: parse, call one `studio`
//! service, return `api` types.
//!
//! A run works on its own connection to the project file (SQLite in WAL mode), on a blocking
//! thread, so the page's other commands are never queued behind a generation.

use std::path::PathBuf;
use std::sync::Arc;

use api::{
    ApiError, DatasetDetail, DatasetExportRequest, DatasetExportSummary, DatasetFilter,
    DatasetFormat, DatasetImportSummary, DatasetItem, DatasetListing, ErrorKind, ModelChoice,
    NoteId, OutputId, PromptTask, ReviewOutcome, ReviewRunRequest, ReviewedOutput, RunEvent,
    RunRequest, RunSummary, SamplingParams, SearchQuery, Split,
};
use tauri::ipc::Channel;
use tauri::{AppHandle, State};

use crate::state::{AppState, LoadedModel};
use crate::transfer::{Pick, pick};

type Reply<T> = Result<T, ApiError>;

/// Most outputs side by side one run may make.
const MAX_SAMPLES: u32 = 4;

/// An error as the app shows it: the services' hints may name command-line options or
/// developer commands, which mean nothing in the app, so those are replaced.
pub(crate) fn for_app(e: impl Into<ApiError>) -> ApiError {
    let mut e = e.into();
    let developer = |t: &str| t.contains('`') || t.contains("--") || t.contains("xtask");
    if e.hint.as_deref().is_some_and(developer) {
        e.hint = Some(
            match e.kind {
                ErrorKind::NotFound => "Check that the file or folder is still there.",
                ErrorKind::InvalidInput => "Check the choices on this page and try again.",
                _ => "Try again; if it keeps failing, tell whoever supports Clinitune.",
            }
            .to_owned(),
        );
    }
    if developer(&e.message) {
        e.message = e
            .message
            .split("; ")
            .next()
            .unwrap_or_default()
            .replace('`', "");
    }
    e
}

fn with<T>(
    state: &AppState,
    f: impl FnOnce(&mut studio::Project) -> Result<T, studio::Error>,
) -> Reply<T> {
    state.with_project(f).map_err(for_app)
}

/// The project's prompt tasks (latest version of each).
#[tauri::command(async, rename_all = "snake_case")]
pub fn task_list(state: State<'_, AppState>) -> Reply<Vec<PromptTask>> {
    with(&state, |p| studio::tasks::list(p, false))
}

/// Adds the prompt tasks Clinitune ships (summaries, SDoH extraction) to the project.
#[tauri::command(async, rename_all = "snake_case")]
pub fn task_add_built_in(state: State<'_, AppState>) -> Reply<Vec<PromptTask>> {
    with(&state, |p| {
        studio::tasks::add_built_in(p)?;
        studio::tasks::list(p, false)
    })
}

/// The models the app found (the first is the default).
#[tauri::command(async, rename_all = "snake_case")]
pub fn model_list(state: State<'_, AppState>) -> Vec<ModelChoice> {
    state.models()
}

/// Runs a prompt task on one note, streaming each sample's text to `on_event` as it is
/// generated; outputs are saved as each finishes. Cancel with `cancel_job` and the job id of
/// the first event.
#[tauri::command(rename_all = "snake_case")]
pub async fn review_run(
    state: State<'_, AppState>,
    request: ReviewRunRequest,
    on_event: Channel<RunEvent>,
) -> Reply<RunSummary> {
    if !(1..=MAX_SAMPLES).contains(&request.samples) {
        return Err(ApiError::new(
            ErrorKind::InvalidInput,
            format!("ask for 1 to {MAX_SAMPLES} outputs at a time"),
        ));
    }
    let model_path = match request.model.clone() {
        Some(m) => m,
        None => state
            .models()
            .into_iter()
            .next()
            .map(|m| m.path)
            .ok_or_else(|| {
                ApiError::new(ErrorKind::NotFound, "no model was found on this computer")
                    .with_hint("Put a model (.gguf file) in the models folder, then run again.")
            })?,
    };
    let path = state.project_path()?;
    let (job, cancel) = state.jobs.start();
    let jobs = state.jobs.clone();
    let cache = Arc::clone(&state.model);
    // If the window is gone, events are dropped and the run goes on.
    let _ = on_event.send(RunEvent::Started { job });
    let run = RunRequest {
        task: request.task.clone(),
        adapters: request.adapter.clone().into_iter().collect(),
        query: SearchQuery::default(),
        notes: vec![request.note],
        samples: request.samples,
        sampling: sampling(request.samples, request.max_tokens),
        seed: request.seed,
        few_shot: None,
        max_note_tokens: None,
    };
    let result = tauri::async_runtime::spawn_blocking(move || {
        let model = {
            let mut cached = cache.lock().unwrap_or_else(|p| p.into_inner());
            let key = (model_path.clone(), request.adapter.clone());
            match cached.as_ref() {
                Some(m) if m.key == key => Arc::clone(&m.model),
                _ => {
                    let _ = on_event.send(RunEvent::Loading);
                    *cached = None;
                    let loaded = Arc::new(studio::runs::load_model(
                        &PathBuf::from(&model_path),
                        &run.adapters,
                        false,
                        studio::models::DeviceChoice::Cpu,
                    )?);
                    *cached = Some(LoadedModel {
                        key,
                        model: Arc::clone(&loaded),
                    });
                    loaded
                }
            }
        };
        let mut project = studio::Project::open(&path)?;
        let mut on_text = |_: NoteId, sample: i64, piece: &str| {
            let _ = on_event.send(RunEvent::Text {
                sample,
                text: piece.to_owned(),
            });
        };
        studio::runs::run_streaming(
            &mut project,
            &model,
            &run,
            &mut |_| {},
            &mut on_text,
            &cancel,
        )
    })
    .await;
    jobs.finish(job);
    result
        .map_err(|_| ApiError::internal("The model stopped unexpectedly."))?
        .map_err(for_app)
}

/// Greedy decoding for one output; two or more side by side are sampled, so they differ.
fn sampling(samples: u32, max_tokens: usize) -> SamplingParams {
    let sampled = samples > 1;
    SamplingParams {
        temperature: if sampled { 0.8 } else { 0.0 },
        top_p: if sampled { 0.95 } else { 1.0 },
        top_k: 0,
        repetition_penalty: 1.1,
        max_tokens: max_tokens.clamp(1, 2048),
    }
}

/// Asks a running job to stop; `false` when it has already finished.
#[tauri::command(async, rename_all = "snake_case")]
pub fn cancel_job(state: State<'_, AppState>, job: u64) -> bool {
    state.jobs.cancel(job)
}

/// A note's outputs, oldest first, with what was done with each.
#[tauri::command(async, rename_all = "snake_case")]
pub fn review_outputs(state: State<'_, AppState>, note: NoteId) -> Reply<Vec<ReviewedOutput>> {
    with(&state, |p| studio::review::reviewed_outputs(p, note))
}

/// Saves the clinician's edit of an output: a preference pair (chosen: the edit, rejected: the
/// output) and an SFT example, in one transaction.
#[tauri::command(async, rename_all = "snake_case")]
pub fn review_edit(
    state: State<'_, AppState>,
    output: OutputId,
    text: String,
) -> Reply<ReviewOutcome> {
    let who = state.annotator.clone();
    with(&state, |p| studio::review::edit(p, output, &text, &who))
}

/// Accepts an output unchanged (an SFT example).
#[tauri::command(async, rename_all = "snake_case")]
pub fn review_accept(state: State<'_, AppState>, output: OutputId) -> Reply<ReviewOutcome> {
    let who = state.annotator.clone();
    with(&state, |p| studio::review::accept(p, output, &who))
}

/// Rejects an output (recorded; no training data).
#[tauri::command(async, rename_all = "snake_case")]
pub fn review_reject(state: State<'_, AppState>, output: OutputId) -> Reply<()> {
    let who = state.annotator.clone();
    with(&state, |p| studio::review::reject(p, output, &who))
}

/// Prefers one of two outputs of the same note (a preference pair).
#[tauri::command(async, rename_all = "snake_case")]
pub fn review_rank(
    state: State<'_, AppState>,
    preferred: OutputId,
    other: OutputId,
) -> Reply<ReviewOutcome> {
    let who = state.annotator.clone();
    with(&state, |p| studio::review::rank(p, preferred, other, &who))
}

/// Pairs and SFT examples matching the filter, with counts per split.
#[tauri::command(async, rename_all = "snake_case")]
pub fn pairs_list(state: State<'_, AppState>, filter: DatasetFilter) -> Reply<DatasetListing> {
    with(&state, |p| studio::pairs::list(p, &filter))
}

/// One pair or SFT example in full.
#[tauri::command(async, rename_all = "snake_case")]
pub fn pairs_show(state: State<'_, AppState>, item: DatasetItem) -> Reply<DatasetDetail> {
    with(&state, |p| studio::pairs::show(p, item))
}

/// Moves a row, with the other rows of its note, to a split; returns how many moved.
#[tauri::command(async, rename_all = "snake_case")]
pub fn pairs_move(state: State<'_, AppState>, item: DatasetItem, split: Split) -> Reply<u64> {
    let who = state.annotator.clone();
    with(&state, |p| {
        studio::pairs::move_to_split(p, item, split, &who)
    })
}

/// Deletes a pair or SFT example; `pairs_undo_delete` brings it back.
#[tauri::command(async, rename_all = "snake_case")]
pub fn pairs_delete(state: State<'_, AppState>, item: DatasetItem) -> Reply<()> {
    let who = state.annotator.clone();
    let deleted = with(&state, |p| studio::pairs::delete(p, item, &who))?;
    state
        .deleted
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(deleted);
    Ok(())
}

/// Brings back the last deleted row; `None` when nothing is left to undo.
#[tauri::command(async, rename_all = "snake_case")]
pub fn pairs_undo_delete(state: State<'_, AppState>) -> Reply<Option<DatasetItem>> {
    let who = state.annotator.clone();
    let last = state
        .deleted
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .pop();
    let Some(deleted) = last else {
        return Ok(None);
    };
    let restored = with(&state, |p| studio::pairs::restore(p, &deleted, &who));
    if let Err(e) = restored {
        // Keep it for another try.
        state
            .deleted
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(deleted);
        return Err(e);
    }
    Ok(Some(deleted.item))
}

/// Writes the pairs (`trl-preference`) or SFT examples (`trl-sft`) as TRL JSONL to a file the
/// clinician chooses; `None` when they cancel the dialog.
#[tauri::command(async, rename_all = "snake_case")]
pub fn pairs_export(
    app: AppHandle,
    state: State<'_, AppState>,
    format: DatasetFormat,
    split: Option<Split>,
) -> Reply<Option<DatasetExportSummary>> {
    let name = match format {
        DatasetFormat::TrlPreference => "preference-pairs.jsonl",
        DatasetFormat::TrlSft => "sft-examples.jsonl",
    };
    let picked = pick(
        &app,
        Pick::Save {
            filter: "JSON Lines",
            extensions: &["jsonl"],
            name,
        },
    );
    let Some(out) = picked else {
        return Ok(None);
    };
    let request = DatasetExportRequest {
        format,
        conversational: false,
        split,
    };
    with(&state, |p| studio::datasets::export(p, &out, &request)).map(Some)
}

/// Reads TRL preference or SFT JSONL from a file the clinician chooses; bad lines are listed
/// in the summary. `None` when they cancel the dialog.
#[tauri::command(async, rename_all = "snake_case")]
pub fn pairs_import(
    app: AppHandle,
    state: State<'_, AppState>,
) -> Reply<Option<DatasetImportSummary>> {
    let picked = pick(
        &app,
        Pick::File {
            filter: "JSON Lines",
            extensions: &["jsonl"],
        },
    );
    let Some(file) = picked else {
        return Ok(None);
    };
    with(&state, |p| studio::datasets::import(p, &file)).map(Some)
}

/// Asks for an adapter folder (a trained LoRA adapter) with the system dialog.
#[tauri::command(async, rename_all = "snake_case")]
pub fn choose_adapter(app: AppHandle) -> Option<String> {
    pick(&app, Pick::Folder).map(|p| p.display().to_string())
}

/// The page the app was asked to open on (`--page`, `$CLINITUNE_PAGE`).
#[tauri::command(async, rename_all = "snake_case")]
pub fn start_page(state: State<'_, AppState>) -> Option<String> {
    state.start_page.clone()
}
