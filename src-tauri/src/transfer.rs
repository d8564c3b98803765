//! Import and export of notes from the app: the file or folder is chosen through the system
//! dialog on the Rust side, and the job runs on its own thread and its own connection to the
//! project file (SQLite in WAL mode), so search, paging and the other pages keep answering while
//! a large file is read. Progress goes out as `job-progress` events, counted in notes.

use std::path::{Path, PathBuf};

use api::{ApiError, ErrorKind, ExportSummary, ImportRequest, ImportSummary, JobProgress};
use tauri::{AppHandle, Emitter, State};
use tauri_plugin_dialog::DialogExt;

use crate::commands::PROGRESS_EVENT;
use crate::review::for_app;
use crate::state::AppState;

type Reply<T> = Result<T, ApiError>;

/// TEST ONLY: a path the file dialogs return instead of opening (WebDriver cannot drive a
/// native dialog). Read by the Rust side only; nothing the page sends can set it.
pub const TEST_PICK_ENV: &str = "CLINITUNE_TEST_PICK";

/// What the dialog asks for.
pub(crate) enum Pick<'a> {
    /// An existing file, offered with these extensions.
    File {
        filter: &'a str,
        extensions: &'a [&'a str],
    },
    /// A file to write, suggested under this name.
    Save {
        filter: &'a str,
        extensions: &'a [&'a str],
        name: &'a str,
    },
    /// A folder.
    Folder,
}

/// Asks the user for a path with the system dialog; `None` when they cancel.
pub(crate) fn pick(app: &AppHandle, what: Pick<'_>) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(TEST_PICK_ENV).filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    let dialog = app.dialog().file();
    let picked = match what {
        Pick::File { filter, extensions } => {
            dialog.add_filter(filter, extensions).blocking_pick_file()
        }
        Pick::Save {
            filter,
            extensions,
            name,
        } => dialog
            .add_filter(filter, extensions)
            .set_file_name(name)
            .blocking_save_file(),
        Pick::Folder => dialog.blocking_pick_folder(),
    };
    picked.and_then(|f| f.into_path().ok())
}

/// The import formats, as the page names them.
const IMPORT_FORMATS: &[&str] = &["csv", "jsonl", "txt", "brat", "label-studio", "prodigy"];

/// Imports notes (with the labels they carry) from a file or folder the clinician chooses:
/// `csv` (MIMIC NOTEEVENTS and others), `jsonl`, `txt` (a folder of text files), `brat` (a
/// folder of `.txt` + `.ann`), `label-studio` (JSON export) or `prodigy` (JSONL). `None` when
/// they cancel the dialog. Rows that cannot be read are listed in the summary.
#[tauri::command(rename_all = "snake_case")]
pub async fn notes_import(
    app: AppHandle,
    state: State<'_, AppState>,
    format: String,
) -> Reply<Option<api::Transferred<ImportSummary>>> {
    if !IMPORT_FORMATS.contains(&format.as_str()) {
        return Err(ApiError::new(
            ErrorKind::InvalidInput,
            format!("cannot import notes as {format:?}"),
        ));
    }
    let project_path = state.project_path()?;
    let what = match format.as_str() {
        "csv" => Pick::File {
            filter: "Notes as CSV (MIMIC NOTEEVENTS)",
            extensions: &["csv"],
        },
        "jsonl" => Pick::File {
            filter: "Notes as JSON Lines",
            extensions: &["jsonl", "ndjson"],
        },
        "label-studio" => Pick::File {
            filter: "Label Studio export",
            extensions: &["json"],
        },
        "prodigy" => Pick::File {
            filter: "Prodigy JSON Lines",
            extensions: &["jsonl"],
        },
        _ => Pick::Folder,
    };
    let request = ImportRequest {
        format: Some(format),
        ..ImportRequest::default()
    };
    let (job, cancel) = state.jobs.start();
    let result = blocking(move || {
        let Some(source) = pick(&app, what) else {
            return Ok(None);
        };
        let name = file_name(&source);
        let mut progress = |mut p: JobProgress| {
            p.stage = format!("Importing {name}");
            let _ = app.emit(PROGRESS_EVENT, p);
        };
        let mut project = studio::Project::open(&project_path).map_err(for_app)?;
        let summary =
            studio::transfer::import_notes(&mut project, &source, &request, &mut progress, &cancel)
                .map_err(for_app)?;
        tracing::info!(
            job,
            imported = summary.imported,
            duplicates = summary.duplicates,
            "import from the app finished"
        );
        Ok(Some(api::Transferred {
            path: source.display().to_string(),
            summary,
        }))
    })
    .await;
    state.jobs.finish(job);
    result
}

/// Runs `f` on a blocking thread, so a long job holds none of the async runtime's workers.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Reply<T> + Send + 'static,
) -> Reply<T> {
    tauri::async_runtime::spawn_blocking(f)
        .await
        .map_err(|_| ApiError::internal("The job stopped unexpectedly."))?
}

/// Exports the project's notes with their annotations: `brat` (a folder of `.txt` + `.ann`,
/// made inside the folder chosen), `jsonl`, `label-studio` (JSON) or `prodigy` (JSONL). `None`
/// when the clinician cancels the dialog.
#[tauri::command(rename_all = "snake_case")]
pub async fn notes_export(
    app: AppHandle,
    state: State<'_, AppState>,
    format: String,
) -> Reply<Option<api::Transferred<ExportSummary>>> {
    let project_path = state.project_path()?;
    let stem = project_path
        .file_stem()
        .map_or_else(|| "notes".to_owned(), |s| s.to_string_lossy().into_owned());
    let (what, export) = match format.as_str() {
        "brat" => (Pick::Folder, studio::transfer::Export::Brat),
        "jsonl" => (
            Pick::Save {
                filter: "JSON Lines",
                extensions: &["jsonl"],
                name: "annotations.jsonl",
            },
            studio::transfer::Export::Jsonl,
        ),
        "label-studio" => (
            Pick::Save {
                filter: "Label Studio JSON",
                extensions: &["json"],
                name: "label-studio.json",
            },
            studio::transfer::Export::LabelStudio,
        ),
        "prodigy" => (
            Pick::Save {
                filter: "Prodigy JSON Lines",
                extensions: &["jsonl"],
                name: "prodigy.jsonl",
            },
            studio::transfer::Export::Prodigy,
        ),
        other => {
            return Err(ApiError::new(
                ErrorKind::InvalidInput,
                format!("cannot export annotations as {other:?}"),
            ));
        }
    };
    blocking(move || {
        let Some(picked) = pick(&app, what) else {
            return Ok(None);
        };
        // brat writes two files per note: they go in a folder of their own, never loose among
        // whatever the chosen folder holds.
        let out = if export == studio::transfer::Export::Brat {
            picked.join(format!("{stem}-brat"))
        } else {
            picked
        };
        let name = file_name(&out);
        let mut progress = |mut p: JobProgress| {
            p.stage = format!("Exporting to {name}");
            let _ = app.emit(PROGRESS_EVENT, p);
        };
        let summary = studio::Project::open(&project_path)
            .and_then(|project| {
                studio::transfer::export(&project, &out, export, None, &mut progress)
            })
            .map_err(for_app)?;
        Ok(Some(api::Transferred {
            path: out.display().to_string(),
            summary,
        }))
    })
    .await
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}
