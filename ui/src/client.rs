//! The typed client for the app's commands: one async fn per command in
//! `src-tauri/src/commands.rs`, returning `Result<T, ApiError>`. Components never call
//! `invoke` themselves.

use std::collections::BTreeMap;

use api::{
    AgreementReport, AgreementRequest, ApiError, DocLabel, ErrorKind, JobProgress, Label,
    LabelLook, NoteComparison, NoteDetail, NoteId, NoteStatus, NoteSummary, ProjectInfo,
    RecentProject, SchemaSummary, SearchQuery, Span, SpanId, SpanRequest,
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
    let args = serde_json::to_string(&args)
        .ok()
        .and_then(|text| js_sys::JSON::parse(&text).ok())
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
    call("project_open", json!({ "path": path })).await
}

/// Creates a project file with the built-in schemas.
pub async fn project_create(path: String) -> Result<ProjectInfo, ApiError> {
    call("project_create", json!({ "path": path })).await
}

/// Opens (creating on first use) the demo project.
pub async fn project_demo() -> Result<ProjectInfo, ApiError> {
    call("project_demo", json!({})).await
}

/// Projects opened before.
pub async fn recent_projects() -> Result<Vec<RecentProject>, ApiError> {
    call("recent_projects", json!({})).await
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
