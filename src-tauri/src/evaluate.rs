//! The Evaluate page's kept evaluations: a classifier run scored on the project's held-out
//! notes (on its own thread and connection, with progress and cancel), files scored and kept,
//! the list, one evaluation's figures and ROC curves, and two compared.

use std::path::Path;

use api::{
    ApiError, BiasReport, BiasRequest, ComparisonReport, ErrorKind, EvaluateProgress,
    EvaluationDetail, EvaluationId, EvaluationSummary, MetricSettings, Split,
};
use tauri::ipc::Channel;
use tauri::{AppHandle, State};

use crate::review::for_app;
use crate::state::AppState;
use crate::train::own_run;
use crate::transfer::{Pick, blocking, pick};

type Reply<T> = Result<T, ApiError>;

/// The project's kept evaluations, newest first.
#[tauri::command(async, rename_all = "snake_case")]
pub fn evaluations_list(state: State<'_, AppState>) -> Reply<Vec<EvaluationSummary>> {
    state.with_project(|p| studio::evaluation::runs::list(p))
}

/// One kept evaluation's figures and ROC curves.
#[tauri::command(async, rename_all = "snake_case")]
pub fn evaluation_detail(state: State<'_, AppState>, id: EvaluationId) -> Reply<EvaluationDetail> {
    state.with_project(|p| {
        let e = studio::evaluation::runs::load(p, id)?;
        let roc_curves = studio::evaluation::runs::roc_curves(&e);
        Ok(EvaluationDetail {
            summary: e.summary,
            settings: e.settings,
            report: e.report,
            roc_curves,
        })
    })
}

/// Two kept evaluations compared on the items both scored: A, B, A − B with its paired
/// bootstrap interval and a permutation p-value per headline figure.
#[tauri::command(async, rename_all = "snake_case")]
pub fn evaluation_compare(
    state: State<'_, AppState>,
    a: EvaluationId,
    b: EvaluationId,
) -> Reply<ComparisonReport> {
    state.with_project(|p| studio::evaluation::runs::compare(p, a, b, &MetricSettings::default()))
}

/// Scores a classifier run of this project on `split` of its notes (all notes when `None`)
/// and keeps the evaluation. Progress goes to `on_progress` with the job id that cancels it;
/// a cancelled run keeps nothing.
#[tauri::command(rename_all = "snake_case")]
pub async fn evaluation_run(
    state: State<'_, AppState>,
    run: String,
    split: Option<Split>,
    on_progress: Channel<EvaluateProgress>,
) -> Reply<EvaluationSummary> {
    let project_path = state.project_path()?;
    let dir = own_run(&project_path, &run)?;
    let request = studio::evaluation::runs::run_request(&dir, split).map_err(for_app)?;
    let actor = state.annotator.clone();
    let (job, cancel) = state.jobs.start();
    let result = blocking(move || {
        let mut progress = |progress| {
            let _ = on_progress.send(EvaluateProgress { job, progress });
        };
        let mut project = studio::Project::open(&project_path).map_err(for_app)?;
        let e = studio::evaluation::runs::evaluate_classifier(
            &mut project,
            &actor,
            &request,
            &mut progress,
            &cancel,
        )
        .map_err(for_app)?;
        tracing::info!(job, evaluation = %e.summary.id, "evaluation from the app finished");
        Ok(e.summary)
    })
    .await;
    state.jobs.finish(job);
    result
}

/// Scores a predictions file against a gold file (both chosen through the dialog) and keeps
/// the evaluation in the project.
#[tauri::command(async, rename_all = "snake_case")]
pub fn evaluation_save_files(
    state: State<'_, AppState>,
    gold: String,
    predictions: String,
) -> Reply<EvaluationSummary> {
    let actor = state.annotator.clone();
    state.with_project(|p| {
        studio::evaluation::runs::save_files(
            p,
            &actor,
            Path::new(&gold),
            Path::new(&predictions),
            &MetricSettings::default(),
            None,
        )
        .map(|e| e.summary)
    })
}

/// The bias audit of a classifier run (and, to compare, a second run on the same model): the
/// pairs file (SHADR's demographic CSV, or JSONL of original, inserted and group) is chosen
/// through the dialog; `None` when the clinician cancels it. Progress goes to `on_progress`
/// with the job id that cancels it.
#[tauri::command(rename_all = "snake_case")]
pub async fn bias_audit(
    app: AppHandle,
    state: State<'_, AppState>,
    run: String,
    compare_run: Option<String>,
    on_progress: Channel<EvaluateProgress>,
) -> Reply<Option<BiasReport>> {
    let project_path = state.project_path()?;
    let first = studio::evaluation::runs::run_request(&own_run(&project_path, &run)?, None)
        .map_err(for_app)?;
    let second = match compare_run.filter(|r| !r.is_empty()) {
        Some(other) => Some(
            studio::evaluation::runs::run_request(&own_run(&project_path, &other)?, None)
                .map_err(for_app)?,
        ),
        None => None,
    };
    if let Some(second) = &second
        && second.model != first.model
    {
        return Err(ApiError::new(
            ErrorKind::InvalidInput,
            "the two runs were trained on different base models; compare runs of the same model",
        ));
    }
    let (job, cancel) = state.jobs.start();
    let result = blocking(move || {
        let Some(pairs) = pick(
            &app,
            Pick::File {
                filter: "Sentence pairs (CSV or JSON Lines)",
                extensions: &["csv", "jsonl"],
            },
        ) else {
            return Ok(None);
        };
        let request = BiasRequest {
            model: first.model,
            adapters: first.adapters,
            compare_adapters: second.map(|s| s.adapters).unwrap_or_default(),
            pairs: pairs.display().to_string(),
            threshold: None,
            settings: MetricSettings::default(),
            device: first.device,
        };
        let mut progress = |progress| {
            let _ = on_progress.send(EvaluateProgress { job, progress });
        };
        studio::evaluation::bias::audit(&request, &mut progress, &cancel)
            .map(Some)
            .map_err(for_app)
    })
    .await;
    state.jobs.finish(job);
    result
}
