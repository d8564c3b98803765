//! Commands of the Train and Evaluate pages: what a run can be (models, devices, defaults, the
//! project's examples), a forecast of its cost, starting, watching, cancelling and resuming the
//! one training job, and the runs history. Same rules as [`crate::commands`].
//!
//! The job trains on its own thread with its own connection to the project file, so the app's
//! other commands answer while it runs. Every event it sends is also kept, so a Train page
//! opened later (or again) replays the run so far and then follows it live.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use api::{
    ApiError, ErrorKind, RunStatus, TrainData, TrainEstimate, TrainEvent, TrainOptions,
    TrainRequest, TrainRun,
};
use tauri::ipc::Channel;
use tauri::{AppHandle, Manager, State};
use tauri_plugin_dialog::{DialogExt, MessageDialogButtons, MessageDialogKind};

use crate::review::for_app;
use crate::state::{AppState, Jobs};

type Reply<T> = Result<T, ApiError>;

/// How often the app checkpoints a run when the page does not say: a killed app loses at most
/// this many steps.
const APP_SAVE_STEPS: usize = 10;

/// The training job: its events so far and the page following it.
#[derive(Default)]
pub struct Training {
    /// The running job's id, while one runs.
    job: Option<u64>,
    /// The running (or last) run's folder.
    run: Option<String>,
    /// Every event of the current (or last) run, for a page that opens later.
    events: Vec<TrainEvent>,
    /// The page following the run.
    watcher: Option<Channel<TrainEvent>>,
}

/// The training job, shared by the commands and the job's thread.
#[derive(Default, Clone)]
pub struct TrainingJob(Arc<Mutex<Training>>);

impl TrainingJob {
    fn lock(&self) -> MutexGuard<'_, Training> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Keeps `event` and sends it to the page following the run.
    fn emit(&self, event: TrainEvent) {
        let mut t = self.lock();
        if let Some(w) = &t.watcher {
            // A closed page is no failure: the run goes on and the next page replays.
            let _ = w.send(event.clone());
        }
        t.events.push(event);
    }

    /// The running job's id and folder.
    pub fn running(&self) -> Option<(u64, String)> {
        let t = self.lock();
        t.job.zip(t.run.clone())
    }
}

fn now_ms() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

/// What the Train page offers: models, devices, each objective's defaults and data.
#[tauri::command(async, rename_all = "snake_case")]
pub fn train_options(state: State<'_, AppState>) -> Reply<TrainOptions> {
    let models = state.models();
    let path = state.project_path()?;
    let data = state
        .with_project(|p| studio::training::history::data_sizes(p))
        .map_err(for_app)?;
    let model = models.first().map_or("model", |m| m.path.as_str());
    Ok(TrainOptions {
        devices: studio::training::history::devices(),
        defaults: studio::training::history::defaults(model, "run"),
        data,
        runs_folder: studio::training::history::runs_folder(&path)
            .display()
            .to_string(),
        models,
    })
}

/// A forecast of the run's peak memory and time per step.
#[tauri::command(async, rename_all = "snake_case")]
pub fn train_estimate(
    state: State<'_, AppState>,
    request: TrainRequest,
    examples: usize,
) -> Reply<TrainEstimate> {
    let _ = state.project_path()?;
    let request = for_project(request, "run");
    studio::training::history::estimate(&request, examples).map_err(for_app)
}

/// The page's request, trained on the open project's data and written to `out`.
fn for_project(mut request: TrainRequest, out: &str) -> TrainRequest {
    request.data = Some(TrainData::Project);
    request.out = out.to_owned();
    request.save_steps = request.save_steps.or(Some(APP_SAVE_STEPS));
    request.eval_data = None;
    request
}

/// Starts a run on the project's data in a new folder of its runs folder; follow it with
/// `train_watch`. Settings are checked before anything starts.
#[tauri::command(async, rename_all = "snake_case")]
pub fn train_start(state: State<'_, AppState>, request: TrainRequest) -> Reply<TrainRun> {
    busy(&state)?;
    let project = state.project_path()?;
    // Checked first, so a bad setting leaves no empty run folder behind.
    studio::training::plan::resolve(&for_project(request.clone(), "run")).map_err(for_app)?;
    let dir = studio::training::history::new_run(&project, request.objective).map_err(for_app)?;
    let request = for_project(request, &dir.display().to_string());
    start(&state, project, dir, request, false)
}

/// Continues a cancelled or interrupted run of this project from its last checkpoint.
#[tauri::command(async, rename_all = "snake_case")]
pub fn train_resume(state: State<'_, AppState>, run: String) -> Reply<TrainRun> {
    busy(&state)?;
    let project = state.project_path()?;
    let dir = own_run(&project, &run)?;
    let found = studio::training::history::read(&dir);
    if !found.status.resumable() {
        return Err(ApiError::new(
            ErrorKind::InvalidInput,
            format!(
                "run {} is {}: only a cancelled or interrupted run can continue",
                found.name,
                found.status.label()
            ),
        ));
    }
    let request = studio::training::history::resume_request(&dir).map_err(for_app)?;
    start(&state, project, dir, request, true)
}

/// A run folder of this project's runs folder, by path (the page only sends what it listed).
pub(crate) fn own_run(project: &Path, run: &str) -> Reply<PathBuf> {
    let folder = studio::training::history::runs_folder(project);
    let dir = PathBuf::from(run);
    let inside = dir.parent() == Some(folder.as_path()) && dir.is_dir();
    if !inside {
        return Err(ApiError::new(
            ErrorKind::NotFound,
            "that run is not one of this project's runs",
        )
        .with_hint("Pick a run from the list on this page."));
    }
    Ok(dir)
}

fn busy(state: &AppState) -> Reply<()> {
    match state.training.running() {
        Some((_, run)) => Err(ApiError::new(
            ErrorKind::InvalidInput,
            format!(
                "a run is already training ({})",
                Path::new(&run)
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            ),
        )
        .with_hint("Wait for it to finish, or cancel it, before starting another.")),
        None => Ok(()),
    }
}

fn start(
    state: &AppState,
    project: PathBuf,
    dir: PathBuf,
    request: TrainRequest,
    resumed: bool,
) -> Reply<TrainRun> {
    let (job, cancel) = state.jobs.start();
    let training = state.training.clone();
    let run = dir.display().to_string();
    {
        let mut t = training.lock();
        t.job = Some(job);
        t.run = Some(run.clone());
        t.events.clear();
    }
    training.emit(TrainEvent::Started {
        job,
        run: run.clone(),
    });
    if resumed {
        let earlier = studio::training::history::read(&dir).log;
        training.emit(TrainEvent::Earlier { steps: earlier });
    }
    let jobs: Jobs = state.jobs.clone();
    let thread_training = training.clone();
    let spawned = std::thread::Builder::new()
        .name("training".to_owned())
        .spawn(move || {
            let training = thread_training;
            training.emit(TrainEvent::Loading);
            let result = studio::Project::open(&project).and_then(|p| {
                studio::training::train(
                    Some(&p),
                    &request,
                    &mut |plan| {
                        training.emit(TrainEvent::Plan {
                            plan: Box::new(plan.clone()),
                        })
                    },
                    &mut |step| {
                        training.emit(TrainEvent::Step {
                            step: step.clone(),
                            memory_bytes: studio::training::history::resident_memory(),
                            at_ms: now_ms(),
                        })
                    },
                    &cancel,
                )
            });
            match result {
                Ok(summary) => training.emit(TrainEvent::Finished { summary }),
                Err(e) => {
                    tracing::warn!(cause = ?e.cause(), "training failed");
                    training.emit(TrainEvent::Failed { error: for_app(e) })
                }
            }
            training.lock().job = None;
            jobs.finish(job);
        });
    if let Err(e) = spawned {
        training.lock().job = None;
        state.jobs.finish(job);
        return Err(ApiError::internal(format!("cannot start training: {e}")));
    }
    let mut found = studio::training::history::read(&dir);
    found.status = RunStatus::Running;
    Ok(found)
}

/// Replays the current (or last) run's events to `on_event`, then sends it the new ones as
/// they come. Answers whether a run is training now.
#[tauri::command(async, rename_all = "snake_case")]
pub fn train_watch(state: State<'_, AppState>, on_event: Channel<TrainEvent>) -> bool {
    let mut t = state.training.lock();
    for e in &t.events {
        let _ = on_event.send(e.clone());
    }
    t.watcher = Some(on_event);
    t.job.is_some()
}

/// Asks the running job to stop after its current step, writing a checkpoint; `false` when
/// none runs.
#[tauri::command(async, rename_all = "snake_case")]
pub fn train_cancel(state: State<'_, AppState>) -> bool {
    match state.training.running() {
        Some((job, _)) => state.jobs.cancel(job),
        None => false,
    }
}

/// The project's runs, newest first; the one training now says so.
#[tauri::command(async, rename_all = "snake_case")]
pub fn train_runs(state: State<'_, AppState>) -> Reply<Vec<TrainRun>> {
    let project = state.project_path()?;
    let folder = studio::training::history::runs_folder(&project);
    let mut runs = studio::training::history::list(&folder).map_err(for_app)?;
    if let Some((_, running)) = state.training.running() {
        for r in runs.iter_mut().filter(|r| r.path == running) {
            r.status = RunStatus::Running;
        }
    }
    Ok(runs)
}

/// Shows a run's folder in the system's file manager.
#[tauri::command(async, rename_all = "snake_case")]
pub fn open_run_folder(state: State<'_, AppState>, run: String) -> Reply<()> {
    let project = state.project_path()?;
    let dir = own_run(&project, &run)?;
    let program = if cfg!(target_os = "macos") {
        "open"
    } else if cfg!(target_os = "windows") {
        "explorer"
    } else {
        "xdg-open"
    };
    std::process::Command::new(program)
        .arg(&dir)
        .spawn()
        .map(|_| ())
        .map_err(|e| {
            ApiError::new(
                ErrorKind::Internal,
                format!("cannot open the file manager: {e}"),
            )
            .with_hint(format!("The run is in {}", dir.display()))
        })
}

/// Scores a predictions file against a gold file (JSONL joined by `id`; label sets or texts),
/// both chosen through the dialog: per-label figures and ROUGE with bootstrap intervals.
#[tauri::command(async, rename_all = "snake_case")]
pub fn evaluate_files(gold: String, predictions: String) -> Reply<api::MetricsReport> {
    studio::evaluation::metrics_from_files(
        Path::new(&gold),
        Path::new(&predictions),
        &api::MetricSettings::default(),
    )
    .map_err(for_app)
}

/// Asked when the window closes: while a run trains, the clinician chooses between stopping it
/// (a checkpoint is written first, so it can resume) and keeping the app open.
pub fn on_close(window: &tauri::Window, api: &tauri::CloseRequestApi) {
    let app: AppHandle = window.app_handle().clone();
    let state = app.state::<AppState>();
    let Some((job, _)) = state.training.running() else {
        return;
    };
    api.prevent_close();
    let jobs = state.jobs.clone();
    let training = state.training.clone();
    let closing = app.clone();
    app.dialog()
        .message(
            "A training run is in progress. Stop it and close? It is saved at its last step \
             and can continue from the Train page.",
        )
        .title("Training is running")
        .kind(MessageDialogKind::Warning)
        .buttons(MessageDialogButtons::OkCancelCustom(
            "Stop and close".to_owned(),
            "Keep training".to_owned(),
        ))
        .show(move |stop| {
            if !stop {
                return;
            }
            jobs.cancel(job);
            // The step in progress ends and the checkpoint is written before the app goes.
            std::thread::spawn(move || {
                while training.running().is_some() {
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                closing.exit(0);
            });
        });
}
