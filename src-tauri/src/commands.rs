//! The commands the page may call (each allowed in `capabilities/default.json`). Each one is a
//! thin wrapper: parse, call a `studio` service, return `api` types or an [`ApiError`].
//!
//! All run off the main thread (`async`), so a slow disk never freezes the window.

use std::collections::BTreeMap;
use std::path::PathBuf;

use api::{
    AgreementReport, AgreementRequest, ApiError, DocLabel, DocLabelId, JobProgress, Label,
    LabelLook, NoteComparison, NoteDetail, NoteId, NoteStatus, NoteSummary, ProjectInfo,
    RecentProject, SchemaSummary, SearchQuery, Span, SpanId, SpanRequest,
};
use tauri::{AppHandle, Emitter, State};

use crate::state::AppState;

/// Notes in the demo project the app creates.
const DEMO_NOTES: usize = 2000;

/// The event long jobs report progress on.
pub const PROGRESS_EVENT: &str = "job-progress";

/// Every command, for the builder.
pub fn handler() -> impl Fn(tauri::ipc::Invoke) -> bool + Send + Sync + 'static {
    tauri::generate_handler![
        project_current,
        project_open,
        project_create,
        project_demo,
        recent_projects,
        forget_recent_project,
        locked_startup_project,
        search_notes,
        count_notes,
        show_note,
        labels,
        schemas,
        schema_import,
        add_span,
        update_span,
        remove_span,
        set_doc_label,
        remove_doc_label,
        undo,
        redo,
        set_status,
        annotators,
        agreement,
        compare_note,
        adjudicate,
        choose_file,
        update_label,
        review_suggestion,
        review_doc_suggestion,
        crate::review::task_list,
        crate::review::task_add_built_in,
        crate::review::model_list,
        crate::review::review_run,
        crate::review::cancel_job,
        crate::review::review_outputs,
        crate::review::review_edit,
        crate::review::review_accept,
        crate::review::review_reject,
        crate::review::review_rank,
        crate::review::pairs_list,
        crate::review::pairs_show,
        crate::review::pairs_move,
        crate::review::pairs_delete,
        crate::review::pairs_undo_delete,
        crate::review::pairs_export,
        crate::review::pairs_import,
        crate::review::choose_adapter,
        crate::review::start_page,
        crate::train::train_options,
        crate::train::train_estimate,
        crate::train::train_start,
        crate::train::train_resume,
        crate::train::train_watch,
        crate::train::train_cancel,
        crate::train::train_runs,
        crate::train::open_run_folder,
        crate::train::evaluate_files,
        crate::evaluate::evaluations_list,
        crate::evaluate::evaluation_detail,
        crate::evaluate::evaluation_compare,
        crate::evaluate::evaluation_run,
        crate::evaluate::evaluation_save_files,
        crate::evaluate::bias_audit,
        crate::transfer::notes_import,
        crate::transfer::notes_export,
    ]
}

type Reply<T> = Result<T, ApiError>;

/// The open project, if any (an error if the startup project could not be opened).
#[tauri::command(async, rename_all = "snake_case")]
pub fn project_current(state: State<'_, AppState>) -> Reply<Option<ProjectInfo>> {
    state.current()
}

/// Opens an existing project file.
#[tauri::command(async, rename_all = "snake_case")]
pub fn project_open(
    app: AppHandle,
    state: State<'_, AppState>,
    path: String,
    passphrase: Option<String>,
) -> Reply<ProjectInfo> {
    let path = PathBuf::from(path);
    if let Some(p) = passphrase.filter(|p| !p.is_empty()) {
        studio::keys::remember_passphrase(&path, studio::keys::Passphrase::new(p));
    }
    let project = match studio::Project::open(&path) {
        Ok(p) => p,
        Err(e) => {
            // A wrong passphrase is not kept for the next try.
            studio::keys::forget_passphrase(&path);
            return Err(e.into());
        }
    };
    let info = state.install(project)?;
    state.update_title(&app);
    Ok(info)
}

/// Creates a project file with the built-in SDoH and outcome schemas, and opens it.
#[tauri::command(async, rename_all = "snake_case")]
pub fn project_create(
    app: AppHandle,
    state: State<'_, AppState>,
    path: String,
    passphrase: Option<String>,
) -> Reply<ProjectInfo> {
    let path = PathBuf::from(path);
    if path.exists() {
        return Err(ApiError::new(
            api::ErrorKind::Conflict,
            format!("{} already exists", path.display()),
        )
        .with_hint("open it instead, or choose another name"));
    }
    let info = match passphrase.filter(|p| !p.is_empty()) {
        Some(p) => {
            let project = studio::Project::create_with_key(
                &path,
                &["sdoh".to_owned(), "outcomes".to_owned()],
                Some(studio::keys::Passphrase::new(p)),
            )?;
            state.install(project)?
        }
        None => state.open_or_create(&path)?,
    };
    state.update_title(&app);
    Ok(info)
}

/// Opens the demo project (2,000 synthetic notes with gold labels), creating it on first use;
/// creation streams progress events.
#[tauri::command(async, rename_all = "snake_case")]
pub fn project_demo(app: AppHandle, state: State<'_, AppState>) -> Reply<ProjectInfo> {
    let path = state.demo_path()?;
    let project = if path.exists() {
        studio::Project::open(&path)?
    } else {
        let mut progress = |p: JobProgress| {
            let _ = app.emit(PROGRESS_EVENT, p);
        };
        studio::corpus::create_demo_project(
            &path,
            DEMO_NOTES,
            7,
            &mut progress,
            &studio::CancelToken::new(),
        )?
    };
    let info = state.install(project)?;
    state.update_title(&app);
    Ok(info)
}

/// The project the app was started on when it is encrypted and waits for its passphrase (the
/// projects page then asks for it); `None` otherwise. Answered once.
#[tauri::command(async, rename_all = "snake_case")]
pub fn locked_startup_project(state: State<'_, AppState>) -> Option<String> {
    state.take_locked_startup().map(|p| p.display().to_string())
}

/// Projects opened before, newest first.
#[tauri::command(async, rename_all = "snake_case")]
pub fn recent_projects(state: State<'_, AppState>) -> Vec<RecentProject> {
    state.recent()
}

/// Takes a project off the recent list (its file is left alone); the list as it is now.
#[tauri::command(async, rename_all = "snake_case")]
pub fn forget_recent_project(state: State<'_, AppState>, path: String) -> Vec<RecentProject> {
    state.forget(&path)
}

/// One page of notes matching the query. Searches run on their own connection and thread, so a
/// slow one never queues the other commands behind it.
#[tauri::command(rename_all = "snake_case")]
pub async fn search_notes(
    state: State<'_, AppState>,
    query: SearchQuery,
) -> Reply<Vec<NoteSummary>> {
    studio::notes::check_query(&query)?;
    let path = state.project_path()?;
    crate::transfer::blocking(move || {
        let project = studio::Project::open(&path)?;
        Ok(studio::notes::search(&project, &query)?)
    })
    .await
}

/// How many notes match the query (the list's length); on its own connection, as a search.
#[tauri::command(rename_all = "snake_case")]
pub async fn count_notes(state: State<'_, AppState>, query: SearchQuery) -> Reply<u64> {
    studio::notes::check_query(&query)?;
    let path = state.project_path()?;
    crate::transfer::blocking(move || {
        let project = studio::Project::open(&path)?;
        Ok(studio::notes::count(&project, &query)?)
    })
    .await
}

/// A note with its text and annotations.
#[tauri::command(async, rename_all = "snake_case")]
pub fn show_note(state: State<'_, AppState>, note: NoteId) -> Reply<NoteDetail> {
    state.with_project(|p| studio::notes::show(p, note))
}

/// Every label of the project's schemas.
#[tauri::command(async, rename_all = "snake_case")]
pub fn labels(state: State<'_, AppState>) -> Reply<Vec<Label>> {
    state.with_project(|p| studio::schemas::labels(p))
}

/// The project's schemas.
#[tauri::command(async, rename_all = "snake_case")]
pub fn schemas(state: State<'_, AppState>) -> Reply<Vec<SchemaSummary>> {
    state.with_project(|p| studio::schemas::list(p))
}

/// Adds a schema from a TOML file (or a built-in name).
#[tauri::command(async, rename_all = "snake_case")]
pub fn schema_import(state: State<'_, AppState>, path: String) -> Reply<SchemaSummary> {
    state.with_project(|p| studio::schemas::add(p, &path))
}

/// Adds a span as the current annotator; it is in the project file when this returns.
#[tauri::command(async, rename_all = "snake_case")]
pub fn add_span(state: State<'_, AppState>, request: SpanRequest) -> Reply<Span> {
    let who = state.annotator.clone();
    state.with_project(|p| studio::annotation::add_span(p, &request, &who))
}

/// Replaces a span's label, fragments or attributes.
#[tauri::command(async, rename_all = "snake_case")]
pub fn update_span(state: State<'_, AppState>, span: SpanId, request: SpanRequest) -> Reply<Span> {
    let who = state.annotator.clone();
    state.with_project(|p| studio::annotation::update_span(p, span, &request, &who))
}

/// Accepts (`true`: it becomes the annotator's gold span) or rejects a suggested span.
#[tauri::command(async, rename_all = "snake_case")]
pub fn review_suggestion(state: State<'_, AppState>, span: SpanId, accept: bool) -> Reply<Span> {
    let who = state.annotator.clone();
    state.with_project(|p| studio::annotation::review_suggestion(p, span, accept, &who))
}

/// Accepts (it becomes gold, as the reviewer's) or rejects (kept, never gold) a suggested
/// document label, e.g. one a classifier predicted.
#[tauri::command(async, rename_all = "snake_case")]
pub fn review_doc_suggestion(
    state: State<'_, AppState>,
    id: DocLabelId,
    accept: bool,
) -> Reply<DocLabel> {
    let who = state.annotator.clone();
    state.with_project(|p| studio::annotation::review_doc_suggestion(p, id, accept, &who))
}

/// Changes a label's display name, colour and hotkey.
#[tauri::command(async, rename_all = "snake_case")]
pub fn update_label(state: State<'_, AppState>, label: String, look: LabelLook) -> Reply<Label> {
    let who = state.annotator.clone();
    state.with_project(|p| studio::schemas::update_label(p, &label, &look, &who))
}

/// Removes a span.
#[tauri::command(async, rename_all = "snake_case")]
pub fn remove_span(state: State<'_, AppState>, span: SpanId) -> Reply<()> {
    let who = state.annotator.clone();
    state.with_project(|p| studio::annotation::remove_span(p, span, &who))
}

/// Sets a document label (with attributes) as the current annotator.
#[tauri::command(async, rename_all = "snake_case")]
pub fn set_doc_label(
    state: State<'_, AppState>,
    note: NoteId,
    label: String,
    attributes: BTreeMap<String, String>,
) -> Reply<DocLabel> {
    let who = state.annotator.clone();
    state.with_project(|p| studio::annotation::set_doc_label(p, note, &label, &attributes, &who))
}

/// Removes the current annotator's document label; `false` if there was none.
#[tauri::command(async, rename_all = "snake_case")]
pub fn remove_doc_label(state: State<'_, AppState>, note: NoteId, label: String) -> Reply<bool> {
    let who = state.annotator.clone();
    state.with_project(|p| studio::annotation::remove_doc_label(p, note, &label, &who))
}

/// Undoes the annotator's last change on the note; returns the note as it is now.
#[tauri::command(async, rename_all = "snake_case")]
pub fn undo(state: State<'_, AppState>, note: NoteId) -> Reply<Option<NoteDetail>> {
    let who = state.annotator.clone();
    state.with_project(|p| match studio::annotation::undo(p, note, &who)? {
        Some(_) => studio::notes::show(p, note).map(Some),
        None => Ok(None),
    })
}

/// Redoes the annotator's last undone change; returns the note as it is now.
#[tauri::command(async, rename_all = "snake_case")]
pub fn redo(state: State<'_, AppState>, note: NoteId) -> Reply<Option<NoteDetail>> {
    let who = state.annotator.clone();
    state.with_project(|p| match studio::annotation::redo(p, note, &who)? {
        Some(_) => studio::notes::show(p, note).map(Some),
        None => Ok(None),
    })
}

/// Sets a note's workflow status.
#[tauri::command(async, rename_all = "snake_case")]
pub fn set_status(state: State<'_, AppState>, note: NoteId, status: NoteStatus) -> Reply<()> {
    let who = state.annotator.clone();
    state.with_project(|p| studio::annotation::set_status(p, note, status, &who))
}

/// Everyone who has annotated in the project.
#[tauri::command(async, rename_all = "snake_case")]
pub fn annotators(state: State<'_, AppState>) -> Reply<Vec<String>> {
    state.with_project(|p| studio::notes::annotators(p))
}

/// Cohen's κ per document label and span F1 per span label between two annotators.
#[tauri::command(async, rename_all = "snake_case")]
pub fn agreement(state: State<'_, AppState>, request: AgreementRequest) -> Reply<AgreementReport> {
    state.with_project(|p| studio::agreement::report(p, &request))
}

/// Two annotators' work on one note side by side.
#[tauri::command(async, rename_all = "snake_case")]
pub fn compare_note(
    state: State<'_, AppState>,
    note: NoteId,
    annotator_a: String,
    annotator_b: String,
) -> Reply<NoteComparison> {
    state.with_project(|p| studio::agreement::compare_note(p, note, &annotator_a, &annotator_b))
}

/// Keeps one annotator's span as the current annotator's adjudicated gold span.
#[tauri::command(async, rename_all = "snake_case")]
pub fn adjudicate(state: State<'_, AppState>, note: NoteId, span: SpanId) -> Reply<Span> {
    let who = state.annotator.clone();
    state.with_project(|p| studio::agreement::adjudicate(p, note, span, &who))
}

/// Asks the user for a file with the system dialog: a project to open (`"open_project"`), a
/// new project (`"new_project"`), a schema (`"schema"`) or a model (`"model"`). `None` when
/// they cancel.
#[tauri::command(async, rename_all = "snake_case")]
pub fn choose_file(app: AppHandle, purpose: String) -> Reply<Option<String>> {
    use crate::transfer::{Pick, pick};
    let what = match purpose.as_str() {
        "open_project" => Pick::File {
            filter: "Clinitune project",
            extensions: &["clinitune"],
        },
        "new_project" => Pick::Save {
            filter: "Clinitune project",
            extensions: &["clinitune"],
            name: "notes.clinitune",
        },
        "schema" => Pick::File {
            filter: "Label schema",
            extensions: &["toml"],
        },
        "model" => Pick::File {
            filter: "Language model",
            extensions: &["gguf"],
        },
        "jsonl" => Pick::File {
            filter: "JSON lines",
            extensions: &["jsonl", "json"],
        },
        other => {
            return Err(ApiError::new(
                api::ErrorKind::InvalidInput,
                format!("unknown file purpose {other:?}"),
            ));
        }
    };
    Ok(pick(&app, what).map(|p| p.display().to_string()))
}
