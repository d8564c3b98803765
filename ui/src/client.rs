//! The typed client for the app's commands: one async fn per command in
//! `src-tauri/src/commands.rs`, returning `Result<T, ApiError>`. Components never call
//! `invoke` themselves.

use std::collections::BTreeMap;

use api::{
    AgreementReport, AgreementRequest, ApiError, DatasetDetail, DatasetExportSummary,
    DatasetFilter, DatasetFormat, DatasetImportSummary, DatasetItem, DatasetListing, DocLabel,
    ErrorKind, ExportSummary, ImportSummary, JobProgress, Label, LabelLook, ModelChoice,
    NoteComparison, NoteDetail, NoteId, NoteStatus, NoteSummary, OutputId, ProjectInfo, PromptTask,
    RecentProject, ReviewOutcome, ReviewRunRequest, ReviewedOutput, RunEvent, RunSummary,
    SchemaSummary, SearchQuery, Span, SpanId, SpanRequest, Split, TrainEstimate, TrainEvent,
    TrainOptions, TrainRequest, TrainRun, Transferred,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = ["window", "__TAURI_INTERNALS__"], js_name = invoke, catch)]
    async fn tauri_invoke(cmd: &str, args: JsValue) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(js_namespace = ["window", "__TAURI__", "event"], js_name = listen, catch)]
    async fn tauri_listen(
        event: &str,
        handler: &Closure<dyn FnMut(JsValue)>,
    ) -> Result<JsValue, JsValue>;
}

/// Calls a command and decodes its reply or its [`ApiError`].
///
/// Replies cross as one JSON string (`JSON.stringify`, then serde_json in wasm): walking a
/// large JS object field by field from wasm is many times slower for a long note's spans.
async fn call<T: DeserializeOwned>(cmd: &str, args: impl Serialize) -> Result<T, ApiError> {
    call_with(cmd, args, |_| true).await
}

/// [`call`], letting `extend` add JS values (a channel) to the arguments first.
async fn call_with<T: DeserializeOwned>(
    cmd: &str,
    args: impl Serialize,
    extend: impl FnOnce(&JsValue) -> bool,
) -> Result<T, ApiError> {
    let args = serde_json::to_string(&args)
        .ok()
        .and_then(|text| js_sys::JSON::parse(&text).ok())
        .filter(|args| extend(args))
        .ok_or_else(|| ApiError::internal(format!("cannot encode the {cmd} request")))?;
    let as_text = |value: &JsValue| -> Option<String> {
        if value.is_undefined() {
            return Some("null".to_owned());
        }
        js_sys::JSON::stringify(value)
            .ok()
            .and_then(|s| s.as_string())
    };
    match tauri_invoke(cmd, args).await {
        Ok(value) => as_text(&value)
            .and_then(|text| serde_json::from_str(&text).map_err(|e| e.to_string()).ok())
            .ok_or_else(|| ApiError::internal(format!("cannot read the {cmd} reply"))),
        Err(err) => Err(as_text(&err)
            .and_then(|text| serde_json::from_str::<ApiError>(&text).ok())
            .unwrap_or_else(|| {
                let text = err.as_string().unwrap_or_else(|| format!("{err:?}"));
                ApiError::new(ErrorKind::Internal, format!("{cmd} failed: {text}"))
            })),
    }
}

/// Calls `on_progress` for every `job-progress` event from now on (for the app's lifetime).
pub async fn listen_progress(mut on_progress: impl FnMut(JobProgress) + 'static) {
    let handler = Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
        let payload = js_sys::Reflect::get(&event, &JsValue::from_str("payload")).ok();
        if let Some(p) = payload.and_then(|p| serde_wasm_bindgen::from_value(p).ok()) {
            on_progress(p);
        }
    });
    // Without the event API (a page opened outside the app) there is simply no progress.
    if tauri_listen("job-progress", &handler).await.is_ok() {
        handler.forget();
    }
}

/// The open project, if any.
pub async fn project_current() -> Result<Option<ProjectInfo>, ApiError> {
    call("project_current", json!({})).await
}

/// Opens a project file.
pub async fn project_open(path: String) -> Result<ProjectInfo, ApiError> {
    call("project_open", json!({ "path": path, "passphrase": null })).await
}

/// Opens an encrypted project with its passphrase.
pub async fn project_unlock(path: String, passphrase: String) -> Result<ProjectInfo, ApiError> {
    call(
        "project_open",
        json!({ "path": path, "passphrase": passphrase }),
    )
    .await
}

/// Creates a project file with the built-in schemas.
pub async fn project_create(path: String) -> Result<ProjectInfo, ApiError> {
    call(
        "project_create",
        json!({ "path": path, "passphrase": null }),
    )
    .await
}

/// Creates a project encrypted with `passphrase`, and opens it.
pub async fn project_create_encrypted(
    path: String,
    passphrase: String,
) -> Result<ProjectInfo, ApiError> {
    call(
        "project_create",
        json!({ "path": path, "passphrase": passphrase }),
    )
    .await
}

/// Opens (creating on first use) the demo project.
pub async fn project_demo() -> Result<ProjectInfo, ApiError> {
    call("project_demo", json!({})).await
}

/// Projects opened before.
pub async fn recent_projects() -> Result<Vec<RecentProject>, ApiError> {
    call("recent_projects", json!({})).await
}

/// The encrypted project the app was started on, waiting for its passphrase (asked once).
pub async fn locked_startup_project() -> Result<Option<String>, ApiError> {
    call("locked_startup_project", json!({})).await
}

/// Takes a project off the recent list (its file is left alone).
pub async fn forget_recent_project(path: &str) -> Result<Vec<RecentProject>, ApiError> {
    call("forget_recent_project", json!({ "path": path })).await
}

/// One page of matching notes.
pub async fn search_notes(query: &SearchQuery) -> Result<Vec<NoteSummary>, ApiError> {
    call("search_notes", json!({ "query": query })).await
}

/// How many notes match.
pub async fn count_notes(query: &SearchQuery) -> Result<u64, ApiError> {
    call("count_notes", json!({ "query": query })).await
}

/// A note with text and annotations.
pub async fn show_note(note: NoteId) -> Result<NoteDetail, ApiError> {
    call("show_note", json!({ "note": note })).await
}

/// The project's labels.
pub async fn labels() -> Result<Vec<Label>, ApiError> {
    call("labels", json!({})).await
}

/// The project's schemas.
pub async fn schemas() -> Result<Vec<SchemaSummary>, ApiError> {
    call("schemas", json!({})).await
}

/// Adds a schema TOML file.
pub async fn schema_import(path: String) -> Result<SchemaSummary, ApiError> {
    call("schema_import", json!({ "path": path })).await
}

/// Adds a span (saved when this returns).
pub async fn add_span(request: &SpanRequest) -> Result<Span, ApiError> {
    call("add_span", json!({ "request": request })).await
}

/// Replaces a span.
pub async fn update_span(span: SpanId, request: &SpanRequest) -> Result<Span, ApiError> {
    call("update_span", json!({ "span": span, "request": request })).await
}

/// Accepts or rejects a suggested document label.
pub async fn review_doc_suggestion(
    id: api::DocLabelId,
    accept: bool,
) -> Result<api::DocLabel, ApiError> {
    call(
        "review_doc_suggestion",
        json!({ "id": id, "accept": accept }),
    )
    .await
}

/// Accepts or rejects a suggested span.
pub async fn review_suggestion(span: SpanId, accept: bool) -> Result<Span, ApiError> {
    call(
        "review_suggestion",
        json!({ "span": span, "accept": accept }),
    )
    .await
}

/// Changes a label's display name, colour and hotkey.
pub async fn update_label(label: &str, look: &LabelLook) -> Result<Label, ApiError> {
    call("update_label", json!({ "label": label, "look": look })).await
}

/// Removes a span.
pub async fn remove_span(span: SpanId) -> Result<(), ApiError> {
    call("remove_span", json!({ "span": span })).await
}

/// Sets a document label.
pub async fn set_doc_label(
    note: NoteId,
    label: &str,
    attributes: &BTreeMap<String, String>,
) -> Result<DocLabel, ApiError> {
    call(
        "set_doc_label",
        json!({ "note": note, "label": label, "attributes": attributes }),
    )
    .await
}

/// Removes a document label.
pub async fn remove_doc_label(note: NoteId, label: &str) -> Result<bool, ApiError> {
    call("remove_doc_label", json!({ "note": note, "label": label })).await
}

/// Undoes the last change on a note; the note as it is now, `None` if nothing to undo.
pub async fn undo(note: NoteId) -> Result<Option<NoteDetail>, ApiError> {
    call("undo", json!({ "note": note })).await
}

/// Redoes the last undone change.
pub async fn redo(note: NoteId) -> Result<Option<NoteDetail>, ApiError> {
    call("redo", json!({ "note": note })).await
}

/// Sets a note's status.
pub async fn set_status(note: NoteId, status: NoteStatus) -> Result<(), ApiError> {
    call("set_status", json!({ "note": note, "status": status })).await
}

/// Everyone who has annotated.
pub async fn annotators() -> Result<Vec<String>, ApiError> {
    call("annotators", json!({})).await
}

/// Agreement between two annotators.
pub async fn agreement(request: &AgreementRequest) -> Result<AgreementReport, ApiError> {
    call("agreement", json!({ "request": request })).await
}

/// Two annotators' work on one note.
pub async fn compare_note(note: NoteId, a: &str, b: &str) -> Result<NoteComparison, ApiError> {
    call(
        "compare_note",
        json!({ "note": note, "annotator_a": a, "annotator_b": b }),
    )
    .await
}

/// Keeps a span as the adjudicated one.
pub async fn adjudicate(note: NoteId, span: SpanId) -> Result<Span, ApiError> {
    call("adjudicate", json!({ "note": note, "span": span })).await
}

/// Asks for a file with the system dialog (`open_project`, `new_project`, `schema`).
pub async fn choose_file(purpose: &str) -> Result<Option<String>, ApiError> {
    call("choose_file", json!({ "purpose": purpose })).await
}

/// The project's prompt tasks.
pub async fn task_list() -> Result<Vec<PromptTask>, ApiError> {
    call("task_list", json!({})).await
}

/// Adds the prompt tasks Clinitune ships; the tasks as they are now.
pub async fn task_add_built_in() -> Result<Vec<PromptTask>, ApiError> {
    call("task_add_built_in", json!({})).await
}

/// The models the app found (the first is the default).
pub async fn model_list() -> Result<Vec<ModelChoice>, ApiError> {
    call("model_list", json!({})).await
}

/// Runs a task on one note; `on_event` gets the job id, then each piece of text as it is
/// generated. Resolves when the outputs are saved (or the run was cancelled).
pub async fn review_run(
    request: &ReviewRunRequest,
    on_event: impl FnMut(RunEvent) + 'static,
) -> Result<RunSummary, ApiError> {
    let channel = Channel::new(on_event)?;
    let reply = call_with("review_run", json!({ "request": request }), |args| {
        js_sys::Reflect::set(args, &JsValue::from_str("on_event"), &channel.js).is_ok()
    })
    .await;
    channel.close();
    reply
}

/// Asks a running job to stop; `false` when it had finished.
pub async fn cancel_job(job: u64) -> Result<bool, ApiError> {
    call("cancel_job", json!({ "job": job })).await
}

/// A note's outputs with what was done with each.
pub async fn review_outputs(note: NoteId) -> Result<Vec<ReviewedOutput>, ApiError> {
    call("review_outputs", json!({ "note": note })).await
}

/// Saves an edit of an output (a pair and an SFT example).
pub async fn review_edit(output: OutputId, text: &str) -> Result<ReviewOutcome, ApiError> {
    call("review_edit", json!({ "output": output, "text": text })).await
}

/// Accepts an output unchanged.
pub async fn review_accept(output: OutputId) -> Result<ReviewOutcome, ApiError> {
    call("review_accept", json!({ "output": output })).await
}

/// Rejects an output (no training data).
pub async fn review_reject(output: OutputId) -> Result<(), ApiError> {
    call("review_reject", json!({ "output": output })).await
}

/// Prefers one output over another of the same note.
pub async fn review_rank(preferred: OutputId, other: OutputId) -> Result<ReviewOutcome, ApiError> {
    call(
        "review_rank",
        json!({ "preferred": preferred, "other": other }),
    )
    .await
}

/// Pairs and SFT examples matching a filter, with counts per split.
pub async fn pairs_list(filter: &DatasetFilter) -> Result<DatasetListing, ApiError> {
    call("pairs_list", json!({ "filter": filter })).await
}

/// One pair or SFT example in full.
pub async fn pairs_show(item: DatasetItem) -> Result<DatasetDetail, ApiError> {
    call("pairs_show", json!({ "item": item })).await
}

/// Moves a row (and its note's other rows) to a split; how many moved.
pub async fn pairs_move(item: DatasetItem, split: Split) -> Result<u64, ApiError> {
    call("pairs_move", json!({ "item": item, "split": split })).await
}

/// Deletes a row (undo with [`pairs_undo_delete`]).
pub async fn pairs_delete(item: DatasetItem) -> Result<(), ApiError> {
    call("pairs_delete", json!({ "item": item })).await
}

/// Brings back the last deleted row.
pub async fn pairs_undo_delete() -> Result<Option<DatasetItem>, ApiError> {
    call("pairs_undo_delete", json!({})).await
}

/// Exports TRL JSONL to a file chosen in the save dialog; `None` if cancelled.
pub async fn pairs_export(
    format: DatasetFormat,
    split: Option<Split>,
) -> Result<Option<DatasetExportSummary>, ApiError> {
    call("pairs_export", json!({ "format": format, "split": split })).await
}

/// Imports notes in `format` (`csv`, `jsonl`, `txt`, `brat`, `label-studio`, `prodigy`) from a
/// file or folder chosen in the system dialog; `None` if cancelled. Progress comes as
/// `job-progress` events.
pub async fn notes_import(format: &str) -> Result<Option<Transferred<ImportSummary>>, ApiError> {
    call("notes_import", json!({ "format": format })).await
}

/// Exports the notes with their annotations in `format` (`brat`, `jsonl`, `label-studio`,
/// `prodigy`) to a file or folder chosen in the system dialog; `None` if cancelled.
pub async fn notes_export(format: &str) -> Result<Option<Transferred<ExportSummary>>, ApiError> {
    call("notes_export", json!({ "format": format })).await
}

/// Imports TRL JSONL chosen in the open dialog; `None` if cancelled.
pub async fn pairs_import() -> Result<Option<DatasetImportSummary>, ApiError> {
    call("pairs_import", json!({})).await
}

/// Asks for an adapter folder.
pub async fn choose_adapter() -> Result<Option<String>, ApiError> {
    call("choose_adapter", json!({})).await
}

/// The page the app was started on, if one was asked for.
pub async fn start_page() -> Result<Option<String>, ApiError> {
    call("start_page", json!({})).await
}

/// What the Train page offers for the open project.
pub async fn train_options() -> Result<TrainOptions, ApiError> {
    call("train_options", json!({})).await
}

/// A forecast of a run's memory and time per step on `examples` examples.
pub async fn train_estimate(
    request: &TrainRequest,
    examples: usize,
) -> Result<TrainEstimate, ApiError> {
    call(
        "train_estimate",
        json!({ "request": request, "examples": examples }),
    )
    .await
}

/// Starts a run on the project's data; follow it with [`train_watch`].
pub async fn train_start(request: &TrainRequest) -> Result<TrainRun, ApiError> {
    call("train_start", json!({ "request": request })).await
}

/// Continues a cancelled or interrupted run from its last checkpoint.
pub async fn train_resume(run: &str) -> Result<TrainRun, ApiError> {
    call("train_resume", json!({ "run": run })).await
}

/// Replays the current run's events to `on_event`, then follows it live (until the page calls
/// again). Answers whether a run is training now.
pub async fn train_watch(on_event: impl FnMut(TrainEvent) + 'static) -> Result<bool, ApiError> {
    let channel = Channel::new(on_event)?;
    call_with("train_watch", json!({}), |args| {
        js_sys::Reflect::set(args, &JsValue::from_str("on_event"), &channel.js).is_ok()
    })
    .await
}

/// Stops the running job after its current step, with a checkpoint.
pub async fn train_cancel() -> Result<bool, ApiError> {
    call("train_cancel", json!({})).await
}

/// The project's runs, newest first.
pub async fn train_runs() -> Result<Vec<TrainRun>, ApiError> {
    call("train_runs", json!({})).await
}

/// Scores a predictions file against a gold file.
pub async fn evaluate_files(gold: &str, predictions: &str) -> Result<api::MetricsReport, ApiError> {
    call(
        "evaluate_files",
        json!({ "gold": gold, "predictions": predictions }),
    )
    .await
}

/// Shows a run's folder in the file manager.
pub async fn open_run_folder(run: &str) -> Result<(), ApiError> {
    call("open_run_folder", json!({ "run": run })).await
}

/// A Tauri IPC channel (`window.__TAURI__.core.Channel`) whose messages go to a Rust closure
/// until [`Channel::close`].
struct Channel {
    js: JsValue,
    open: std::rc::Rc<std::cell::Cell<bool>>,
}

impl Channel {
    fn new<T: DeserializeOwned>(
        mut on_message: impl FnMut(T) + 'static,
    ) -> Result<Channel, ApiError> {
        let unavailable = || ApiError::internal("the app's message channel is not available");
        let get = |obj: &JsValue, key: &str| js_sys::Reflect::get(obj, &JsValue::from_str(key));
        let ctor = get(&window_js(), "__TAURI__")
            .and_then(|t| get(&t, "core"))
            .and_then(|c| get(&c, "Channel"))
            .map_err(|_| unavailable())?;
        let ctor: js_sys::Function = ctor.dyn_into().map_err(|_| unavailable())?;
        let js =
            js_sys::Reflect::construct(&ctor, &js_sys::Array::new()).map_err(|_| unavailable())?;
        let open = std::rc::Rc::new(std::cell::Cell::new(true));
        let still_open = std::rc::Rc::clone(&open);
        let handler = Closure::<dyn FnMut(JsValue)>::new(move |message: JsValue| {
            if !still_open.get() {
                return;
            }
            if let Ok(event) = serde_wasm_bindgen::from_value::<T>(message) {
                on_message(event);
            }
        });
        js_sys::Reflect::set(&js, &JsValue::from_str("onmessage"), handler.as_ref())
            .map_err(|_| unavailable())?;
        // Late messages may still arrive after the reply; the closure outlives the call and
        // ignores them once closed.
        handler.forget();
        Ok(Channel { js, open })
    }

    fn close(&self) {
        self.open.set(false);
    }
}

fn window_js() -> JsValue {
    js_sys::global().into()
}

/// The project's kept evaluations, newest first.
pub async fn evaluations_list() -> Result<Vec<api::EvaluationSummary>, ApiError> {
    call("evaluations_list", json!({})).await
}

/// One kept evaluation's figures and ROC curves.
pub async fn evaluation_detail(id: api::EvaluationId) -> Result<api::EvaluationDetail, ApiError> {
    call("evaluation_detail", json!({ "id": id })).await
}

/// Two kept evaluations compared on the items both scored.
pub async fn evaluation_compare(
    a: api::EvaluationId,
    b: api::EvaluationId,
) -> Result<api::ComparisonReport, ApiError> {
    call("evaluation_compare", json!({ "a": a, "b": b })).await
}

/// Scores a classifier run on a split of the project's notes (all notes when `None`) and keeps
/// the evaluation; `on_progress` gets the job id (to cancel) and the items done.
pub async fn evaluation_run(
    run: &str,
    split: Option<api::Split>,
    on_progress: impl FnMut(api::EvaluateProgress) + 'static,
) -> Result<api::EvaluationSummary, ApiError> {
    let channel = Channel::new(on_progress)?;
    let reply = call_with(
        "evaluation_run",
        json!({ "run": run, "split": split }),
        |args| js_sys::Reflect::set(args, &JsValue::from_str("on_progress"), &channel.js).is_ok(),
    )
    .await;
    channel.close();
    reply
}

/// Scores a predictions file against a gold file and keeps the evaluation in the project.
pub async fn evaluation_save_files(
    gold: &str,
    predictions: &str,
) -> Result<api::EvaluationSummary, ApiError> {
    call(
        "evaluation_save_files",
        json!({ "gold": gold, "predictions": predictions }),
    )
    .await
}

/// The bias audit of a classifier run (and a second one to compare): the pairs file is chosen
/// through the dialog (`None` when cancelled); `on_progress` gets the job id and the progress.
pub async fn bias_audit(
    run: &str,
    compare_run: Option<&str>,
    on_progress: impl FnMut(api::EvaluateProgress) + 'static,
) -> Result<Option<api::BiasReport>, ApiError> {
    let channel = Channel::new(on_progress)?;
    let reply = call_with(
        "bias_audit",
        json!({ "run": run, "compare_run": compare_run }),
        |args| js_sys::Reflect::set(args, &JsValue::from_str("on_progress"), &channel.js).is_ok(),
    )
    .await;
    channel.close();
    reply
}
