//! Import and export jobs: files in, files out, with progress and cancellation.

use std::path::Path;

use api::{ExportSummary, ImportRequest, ImportSummary, JobProgress};
use store::export::{ExportFormat, ExportOptions};
use store::import::{Columns, Control, Format, ImportOptions};

use crate::error::Error;
use crate::jobs::CancelToken;
use crate::project::Project;

/// Imports notes (and the labels they carry) from a file or folder.
///
/// Batches are committed as they go: when cancelled or killed, the project holds every note of
/// the committed batches and nothing of the rest; importing again adds only what is missing.
pub fn import_notes(
    project: &mut Project,
    path: &Path,
    request: &ImportRequest,
    progress: &mut dyn FnMut(JobProgress),
    cancel: &CancelToken,
) -> Result<ImportSummary, Error> {
    if !path.exists() {
        return Err(Error::Store(store::Error::Io {
            action: "read",
            path: path.to_owned(),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        }));
    }
    let format = match &request.format {
        Some(f) => Format::parse(f).ok_or_else(|| {
            Error::Invalid(format!(
                "unknown format {f:?}; use csv, jsonl, txt, brat, label-studio or prodigy"
            ))
        })?,
        None => Format::guess(path).ok_or_else(|| {
            Error::Invalid(format!(
                "cannot tell the format of {} from its name; give --format csv|jsonl|txt|brat",
                path.display()
            ))
        })?,
    };
    let mut options = ImportOptions::new(format);
    options.lossy = request.lossy;
    if let Some(a) = &request.annotator {
        options.annotator = a.clone();
    }
    options.columns = Columns {
        text: request.text_col.clone(),
        id: request.id_col.clone(),
        category: request.category_col.clone(),
        description: request.description_col.clone(),
        subject: request.subject_col.clone(),
        hadm: request.hadm_col.clone(),
        date: request.date_col.clone(),
        label: request.label_col.clone(),
        adverse: request.adverse_col.clone(),
    };
    let cancelled = || cancel.is_cancelled();
    let span = tracing::info_span!("import", format = ?format);
    let _guard = span.enter();
    let summary = store::import::import(
        &mut project.store,
        path,
        &options,
        Control {
            progress,
            cancelled: &cancelled,
        },
    )?;
    tracing::info!(
        imported = summary.imported,
        duplicates = summary.duplicates,
        rejected = summary.rejected.len(),
        "import finished"
    );
    Ok(summary)
}

/// Export formats the user can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Export {
    /// brat `.txt` + `.ann` per note (spans only).
    Brat,
    /// JSON Lines with annotations.
    Jsonl,
    /// JSON Lines, notes only.
    NotesJsonl,
    /// A Label Studio JSON export (tasks with annotations and predictions).
    LabelStudio,
    /// Prodigy JSONL (one task per note, annotator and answer).
    Prodigy,
}

/// Writes the project's notes (and annotations) to `out`.
pub fn export(
    project: &Project,
    out: &Path,
    what: Export,
    annotator: Option<&str>,
    progress: &mut dyn FnMut(JobProgress),
) -> Result<ExportSummary, Error> {
    let options = ExportOptions {
        format: match what {
            Export::Brat => ExportFormat::Brat,
            Export::Jsonl | Export::NotesJsonl => ExportFormat::Jsonl,
            Export::LabelStudio => ExportFormat::LabelStudio,
            Export::Prodigy => ExportFormat::Prodigy,
        },
        annotator: annotator.map(str::to_owned),
        annotations: what != Export::NotesJsonl,
    };
    Ok(store::export::export(
        project.store.db(),
        out,
        &options,
        progress,
    )?)
}
