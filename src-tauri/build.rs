//! Reads the app config from the repository root (`../tauri.conf.json`) and declares the app's
//! commands, so each needs an explicit permission in `capabilities/`.

fn main() {
    ensure_ui_placeholder();
    let manifest = tauri_build::AppManifest::new().commands(COMMANDS);
    let attributes = tauri_build::Attributes::new()
        .config_path("../tauri.conf.json")
        .app_manifest(manifest);
    if let Err(e) = tauri_build::try_build(attributes) {
        // A build script's only channel: cargo shows this and stops.
        panic!("tauri-build failed: {e:#}");
    }
}

/// Every command `src/commands.rs` registers; `capabilities/default.json` allows them.
const COMMANDS: &[&str] = &[
    "project_current",
    "project_open",
    "project_create",
    "project_demo",
    "recent_projects",
    "forget_recent_project",
    "locked_startup_project",
    "search_notes",
    "count_notes",
    "show_note",
    "labels",
    "schemas",
    "schema_import",
    "add_span",
    "update_span",
    "remove_span",
    "set_doc_label",
    "remove_doc_label",
    "undo",
    "redo",
    "set_status",
    "annotators",
    "agreement",
    "compare_note",
    "adjudicate",
    "choose_file",
    "update_label",
    "review_suggestion",
    "review_doc_suggestion",
    "task_list",
    "task_add_built_in",
    "model_list",
    "review_run",
    "cancel_job",
    "review_outputs",
    "review_edit",
    "review_accept",
    "review_reject",
    "review_rank",
    "pairs_list",
    "pairs_show",
    "pairs_move",
    "pairs_delete",
    "pairs_undo_delete",
    "pairs_export",
    "pairs_import",
    "choose_adapter",
    "start_page",
    "train_options",
    "train_estimate",
    "train_start",
    "train_resume",
    "train_watch",
    "train_cancel",
    "train_runs",
    "open_run_folder",
    "evaluate_files",
    "evaluations_list",
    "evaluation_detail",
    "evaluation_compare",
    "evaluation_run",
    "evaluation_save_files",
    "bias_audit",
    "notes_import",
    "notes_export",
];

/// Tauri embeds `ui/dist` at compile time; before `cargo xtask studio` has built the UI, a
/// page that says how to build it keeps `cargo build`/`clippy` of the workspace working.
fn ensure_ui_placeholder() {
    let dist = std::path::Path::new("../ui/dist");
    println!("cargo:rerun-if-changed=../ui/dist");
    if dist.join("index.html").exists() {
        return;
    }
    let page = "<!doctype html><html><head><meta charset=\"utf-8\"><title>Clinitune</title></head>\
                <body><p>The UI is not built. Run <code>cargo xtask studio</code>.</p></body></html>";
    if let Err(e) =
        std::fs::create_dir_all(dist).and_then(|()| std::fs::write(dist.join("index.html"), page))
    {
        panic!("cannot write the UI placeholder in ui/dist: {e}");
    }
}
