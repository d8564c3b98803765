//! What the app holds between commands: the open project, who is annotating, recent projects,
//! the running jobs (so that `cancel_job` can reach them), the loaded model and the rows the
//! Pairs page deleted (for undo).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use api::{ApiError, ProjectInfo, RecentProject};
use studio::Project;
use tauri::{AppHandle, Manager};

/// How many recent projects the projects page lists.
const RECENT_MAX: usize = 10;

/// The app's state, shared by every command.
pub struct AppState {
    project: Mutex<Option<Project>>,
    startup_error: Mutex<Option<ApiError>>,
    /// The startup project, when it is encrypted and waits for its passphrase.
    locked_startup: Mutex<Option<PathBuf>>,
    /// Who is annotating: `$CLINITUNE_ANNOTATOR`, else the login name.
    pub annotator: String,
    recent_file: Option<PathBuf>,
    data_dir: Option<PathBuf>,
    /// Running jobs by id.
    pub jobs: Jobs,
    /// The model the last run used, kept loaded for the next (loading takes seconds).
    pub model: Arc<Mutex<Option<LoadedModel>>>,
    /// Rows the Pairs page deleted, newest last, for undo.
    pub deleted: Mutex<Vec<studio::pairs::Deleted>>,
    /// The page to open on (`--page`, `$CLINITUNE_PAGE`).
    pub start_page: Option<String>,
    /// The training job (one at a time) and its events so far.
    pub training: crate::train::TrainingJob,
}

/// A model in memory and what it was loaded from.
pub struct LoadedModel {
    /// Model path and adapter folder.
    pub key: (String, Option<String>),
    /// The model.
    pub model: Arc<studio::models::LoadedModel>,
}

/// Cancel tokens of running jobs, by id.
#[derive(Default, Clone)]
pub struct Jobs {
    next: Arc<AtomicU64>,
    running: Arc<Mutex<HashMap<u64, studio::CancelToken>>>,
}

impl Jobs {
    /// Registers a new job; returns its id and the token it must poll.
    pub fn start(&self) -> (u64, studio::CancelToken) {
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let token = studio::CancelToken::new();
        self.lock().insert(id, token.clone());
        (id, token)
    }

    /// Forgets a finished job.
    pub fn finish(&self, id: u64) {
        self.lock().remove(&id);
    }

    /// Asks a job to stop; `false` when it is not running.
    pub fn cancel(&self, id: u64) -> bool {
        match self.lock().get(&id) {
            Some(token) => {
                token.cancel();
                true
            }
            None => false,
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<u64, studio::CancelToken>> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl AppState {
    /// State with no project open.
    pub fn new(app: &AppHandle, start_page: Option<String>) -> AppState {
        let annotator = ["CLINITUNE_ANNOTATOR", "USER", "USERNAME"]
            .iter()
            .filter_map(|k| std::env::var(k).ok())
            .find(|v| !v.trim().is_empty())
            .unwrap_or_else(|| "annotator".to_owned());
        AppState {
            project: Mutex::new(None),
            startup_error: Mutex::new(None),
            locked_startup: Mutex::new(None),
            annotator,
            recent_file: app
                .path()
                .app_config_dir()
                .ok()
                .map(|d| d.join("recent.json")),
            data_dir: app.path().app_data_dir().ok(),
            jobs: Jobs::default(),
            model: Arc::new(Mutex::new(None)),
            deleted: Mutex::new(Vec::new()),
            start_page,
            training: crate::train::TrainingJob::default(),
        }
    }

    /// The open project's file.
    pub fn project_path(&self) -> Result<PathBuf, ApiError> {
        let guard = self.project();
        let project = guard.as_ref().ok_or_else(no_project)?;
        Ok(project.path().to_owned())
    }

    /// Models the app can run: `$CLINITUNE_MODEL`, then the `.gguf` files and model folders
    /// of the models folders (`$CLINITUNE_MODELS_DIR`, `models/` here and beside the app, the
    /// app's data folder), each once.
    pub fn models(&self) -> Vec<api::ModelChoice> {
        let mut found: Vec<PathBuf> = std::env::var_os("CLINITUNE_MODEL")
            .filter(|m| !m.is_empty())
            .map(PathBuf::from)
            .into_iter()
            .collect();
        let mut dirs: Vec<PathBuf> = std::env::var_os("CLINITUNE_MODELS_DIR")
            .filter(|m| !m.is_empty())
            .map(PathBuf::from)
            .into_iter()
            .collect();
        dirs.push(PathBuf::from("models"));
        if let Some(dir) = std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(|d| d.join("models")))
        {
            dirs.push(dir);
        }
        if let Some(dir) = &self.data_dir {
            dirs.push(dir.join("models"));
        }
        for dir in dirs {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            let mut here: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.extension()
                        .is_some_and(|x| x.eq_ignore_ascii_case("gguf"))
                        || p.join("config.json").is_file()
                })
                .collect();
            here.sort();
            found.extend(here);
        }
        let mut seen = std::collections::HashSet::new();
        found
            .into_iter()
            .filter(|p| p.exists())
            .map(|p| std::fs::canonicalize(&p).unwrap_or(p))
            .filter(|p| seen.insert(p.clone()))
            .map(|p| api::ModelChoice {
                name: p
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                path: p.display().to_string(),
            })
            .collect()
    }

    /// The open project, locked for one command.
    pub fn project(&self) -> MutexGuard<'_, Option<Project>> {
        self.project
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `f` on the open project, or says that none is open.
    pub fn with_project<T>(
        &self,
        f: impl FnOnce(&mut Project) -> Result<T, studio::Error>,
    ) -> Result<T, ApiError> {
        let mut guard = self.project();
        let project = guard.as_mut().ok_or_else(no_project)?;
        f(project).map_err(ApiError::from)
    }

    /// Opens `path`, creating it with the built-in schemas when it does not exist.
    pub fn open_or_create(&self, path: &Path) -> Result<ProjectInfo, ApiError> {
        let project = if path.exists() {
            Project::open(path)?
        } else {
            Project::create(path, &["sdoh".to_owned(), "outcomes".to_owned()])?
        };
        self.install(project)
    }

    /// Makes `project` the open one and remembers it as recent.
    pub fn install(&self, project: Project) -> Result<ProjectInfo, ApiError> {
        let path = project.path().to_owned();
        *self.project() = Some(project);
        *self.startup_error.lock().unwrap_or_else(|p| p.into_inner()) = None;
        self.remember(&path);
        self.info()
    }

    /// What the page shows about the open project.
    pub fn info(&self) -> Result<ProjectInfo, ApiError> {
        let guard = self.project();
        let project = guard.as_ref().ok_or_else(no_project)?;
        let path = project.path();
        Ok(ProjectInfo {
            path: path.display().to_string(),
            name: path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
            annotator: self.annotator.clone(),
            stats: studio::notes::stats(project)?,
        })
    }

    /// The open project, or the error that kept the startup project from opening.
    pub fn current(&self) -> Result<Option<ProjectInfo>, ApiError> {
        if let Some(e) = self
            .startup_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            return Err(e);
        }
        if self.project().is_none() {
            return Ok(None);
        }
        self.info().map(Some)
    }

    /// Remembers that the startup project is encrypted and waits for its passphrase.
    pub fn set_locked_startup(&self, path: PathBuf) {
        *self
            .locked_startup
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(path);
    }

    /// The startup project waiting for its passphrase, if any (asked once).
    pub fn take_locked_startup(&self) -> Option<PathBuf> {
        self.locked_startup
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }

    /// Keeps an error from opening the startup project for the page to show.
    pub fn set_startup_error(&self, e: ApiError) {
        *self.startup_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
    }

    /// Where the demo project lives: the app's data folder.
    pub fn demo_path(&self) -> Result<PathBuf, ApiError> {
        let dir = self.data_dir.clone().ok_or_else(|| {
            ApiError::new(api::ErrorKind::Io, "cannot find the app's data folder")
                .with_hint("set $XDG_DATA_HOME or $HOME")
        })?;
        std::fs::create_dir_all(&dir).map_err(|e| {
            ApiError::new(
                api::ErrorKind::Io,
                format!("cannot create {}: {e}", dir.display()),
            )
        })?;
        Ok(dir.join("demo.clinitune"))
    }

    /// Recent projects, newest first.
    pub fn recent(&self) -> Vec<RecentProject> {
        self.recent_paths()
            .into_iter()
            .map(|p| RecentProject {
                exists: Path::new(&p).exists(),
                path: p,
            })
            .collect()
    }

    fn recent_paths(&self) -> Vec<String> {
        let Some(file) = &self.recent_file else {
            return Vec::new();
        };
        std::fs::read_to_string(file)
            .ok()
            .and_then(|s| serde_json::from_str::<Vec<String>>(&s).ok())
            .unwrap_or_default()
    }

    /// Puts `path` first in the recent list; failing to write it loses nothing that matters.
    fn remember(&self, path: &Path) {
        let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
        let path = path.display().to_string();
        let mut list = self.recent_paths();
        list.retain(|p| p != &path);
        list.insert(0, path);
        list.truncate(RECENT_MAX);
        self.save_recent(&list);
    }

    /// Takes `path` off the recent list (the file itself is not touched); the list as it is now.
    pub fn forget(&self, path: &str) -> Vec<RecentProject> {
        let mut list = self.recent_paths();
        list.retain(|p| p != path);
        self.save_recent(&list);
        self.recent()
    }

    fn save_recent(&self, list: &[String]) {
        let Some(file) = &self.recent_file else {
            return;
        };
        let written = file
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| {
                let tmp = file.with_extension("json.tmp");
                std::fs::write(&tmp, serde_json::to_vec(&list).unwrap_or_default())?;
                std::fs::rename(&tmp, file)
            });
        if let Err(e) = written {
            tracing::warn!(error = %e, "cannot save the recent projects list");
        }
    }

    /// Sets the window title to "Clinitune — <project>".
    pub fn update_title(&self, app: &AppHandle) {
        let title = match self.info() {
            Ok(info) => format!("Clinitune — {}", info.name),
            Err(_) => "Clinitune".to_owned(),
        };
        if let Some(window) = app.get_webview_window("main") {
            let _ = window.set_title(&title);
        }
    }
}

fn no_project() -> ApiError {
    ApiError::new(api::ErrorKind::NotFound, "no project is open")
        .with_hint("open or create a project on the Projects page")
}
