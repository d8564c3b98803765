//! What the app holds between commands: the open project, who is annotating, recent projects.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use api::{ApiError, ProjectInfo, RecentProject};
use studio::Project;
use tauri::{AppHandle, Manager};

/// How many recent projects the projects page lists.
const RECENT_MAX: usize = 10;

/// The app's state, shared by every command.
pub struct AppState {
    project: Mutex<Option<Project>>,
    startup_error: Mutex<Option<ApiError>>,
    /// Who is annotating: `$CLINITUNE_ANNOTATOR`, else the login name.
    pub annotator: String,
    recent_file: Option<PathBuf>,
    data_dir: Option<PathBuf>,
}

impl AppState {
    /// State with no project open.
    pub fn new(app: &AppHandle) -> AppState {
        let annotator = ["CLINITUNE_ANNOTATOR", "USER", "USERNAME"]
            .iter()
            .filter_map(|k| std::env::var(k).ok())
            .find(|v| !v.trim().is_empty())
            .unwrap_or_else(|| "annotator".to_owned());
        AppState {
            project: Mutex::new(None),
            startup_error: Mutex::new(None),
            annotator,
            recent_file: app
                .path()
                .app_config_dir()
                .ok()
                .map(|d| d.join("recent.json")),
            data_dir: app.path().app_data_dir().ok(),
        }
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
        let Some(file) = &self.recent_file else {
            return;
        };
        let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
        let path = path.display().to_string();
        let mut list = self.recent_paths();
        list.retain(|p| p != &path);
        list.insert(0, path);
        list.truncate(RECENT_MAX);
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
