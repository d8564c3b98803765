//! `clinitune-studio`: the desktop app. A Tauri 2 shell that holds no domain logic: each command
//! in [`commands`] parses, calls a `studio` service and returns `api` types; long jobs stream
//! their progress to the page as `job-progress` events.
//!
//! Invariants: no SQL, tensors or clinical rules here; the page gets no file system, shell or
//! network access (see `capabilities/default.json` and the CSP in `tauri.conf.json`); nothing
//! here logs note text.

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod commands;
mod demo;
mod evaluate;
mod review;
mod state;
mod train;
mod transfer;

use std::path::PathBuf;

use tauri::Manager;

fn main() {
    let mut filter = tracing_subscriber::EnvFilter::try_from_env("CLINITUNE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    // Whatever the user asks for, no dependency logs note text.
    for directive in studio::LOG_DIRECTIVES {
        if let Ok(d) = directive.parse() {
            filter = filter.add_directive(d);
        }
    }
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let startup = startup_project();
    let page = match start_page() {
        Ok(page) => page,
        Err(message) => {
            eprintln!("clinitune-studio: {message}");
            std::process::exit(2);
        }
    };
    let result = tauri::Builder::default()
        .plugin(tauri_plugin_dialog::init())
        .setup(move |app| {
            let state = state::AppState::new(app.handle(), page);
            if let Some(path) = startup {
                // A bad startup path is shown on the projects page, not a crash.
                match state.open_or_create(&path) {
                    Err(e) => {
                        tracing::warn!(kind = ?e.kind, "cannot open the startup project");
                        if e.kind == api::ErrorKind::Locked {
                            // Encrypted: the projects page asks for its passphrase.
                            state.set_locked_startup(path.clone());
                        }
                        state.set_startup_error(e);
                    }
                    // `cargo xtask studio` asks for the demo ready for the loop.
                    Ok(_)
                        if demo::is_demo(&path)
                            && std::env::var_os("CLINITUNE_DEMO").is_some_and(|v| v == "1") =>
                    {
                        let model = state.models().into_iter().next().map(|m| m.path);
                        demo::prepare(app.handle().clone(), path.clone(), model);
                    }
                    Ok(_) => {}
                }
            }
            state.update_title(app.handle());
            app.manage(state);
            Ok(())
        })
        .on_window_event(|window, event| {
            if let tauri::WindowEvent::CloseRequested { api, .. } = event {
                train::on_close(window, api);
            }
        })
        .invoke_handler(commands::handler())
        .run(tauri::generate_context!("../tauri.conf.json"));
    if let Err(e) = result {
        eprintln!("clinitune-studio: {e}");
        std::process::exit(1);
    }
}

/// The project to open at start: `--project PATH`, else `$CLINITUNE_PROJECT`.
fn startup_project() -> Option<PathBuf> {
    let mut args = std::env::args_os().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--project" {
            return args.next().map(PathBuf::from);
        }
    }
    std::env::var_os("CLINITUNE_PROJECT")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
}

/// The pages `--page` can open.
const PAGES: [&str; 9] = [
    "projects",
    "notes",
    "annotate",
    "review",
    "pairs",
    "train",
    "evaluate",
    "schema",
    "agreement",
];

/// The page to open at start: `--page NAME`, else `$CLINITUNE_PAGE`; an unknown name is an
/// error that lists the pages.
fn start_page() -> Result<Option<String>, String> {
    // args_os: a path argument that is not UTF-8 must not stop the app.
    let mut args = std::env::args_os().skip(1);
    let mut page = None;
    while let Some(arg) = args.next() {
        if arg == "--page" {
            page = args.next().map(|p| p.to_string_lossy().into_owned());
        } else if let Some(name) = arg.to_str().and_then(|a| a.strip_prefix("--page=")) {
            page = Some(name.to_owned());
        }
    }
    let page = page.or_else(|| {
        std::env::var("CLINITUNE_PAGE")
            .ok()
            .filter(|p| !p.is_empty())
    });
    match page {
        Some(p) if PAGES.contains(&p.to_lowercase().as_str()) => Ok(Some(p.to_lowercase())),
        Some(p) => Err(format!(
            "there is no page {p:?}; the pages are {}",
            PAGES.join(", ")
        )),
        None => Ok(None),
    }
}
