//! Import and export on the Notes page: the format pickers and buttons, the summary of the
//! last job, and the state they share with the page's empty state. The file or folder is
//! chosen in the system dialog (Rust side); progress shows in the app's progress bar.

use api::{ExportSummary, ImportSummary, Transferred};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::app::AppCtx;
use crate::client;
use crate::transfer::{
    EXPORT_FORMATS, IMPORT_FORMATS, export_headline, import_headline, import_problems,
};

/// What the last import or export did.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Notes read into the project.
    Imported(Transferred<ImportSummary>),
    /// Annotations written out.
    Exported(Transferred<ExportSummary>),
}

/// The import/export state of the Notes page (signals, so `Copy`).
#[derive(Clone, Copy)]
pub struct Transfer {
    /// The format the next import reads.
    pub import_format: RwSignal<String>,
    /// The format the next export writes.
    pub export_format: RwSignal<String>,
    /// A job is running (the buttons wait).
    pub busy: RwSignal<bool>,
    /// The last job's summary, until dismissed.
    pub outcome: RwSignal<Option<Outcome>>,
}

impl Transfer {
    /// Import as CSV, export as JSON Lines, nothing done yet.
    pub fn new() -> Transfer {
        Transfer {
            import_format: RwSignal::new("csv".to_owned()),
            export_format: RwSignal::new("jsonl".to_owned()),
            busy: RwSignal::new(false),
            outcome: RwSignal::new(None),
        }
    }

    /// Asks for a file or folder and imports it; then the counts and the list show the notes.
    pub fn import(self, ctx: AppCtx) {
        if self.busy.get_untracked() {
            return;
        }
        self.busy.set(true);
        let format = self.import_format.get_untracked();
        spawn_local(async move {
            let result = client::notes_import(&format).await;
            self.busy.set(false);
            settle_progress(ctx);
            match result {
                Ok(Some(done)) => {
                    ctx.error.set(None);
                    self.outcome.set(Some(Outcome::Imported(done)));
                    refresh(ctx).await;
                }
                Ok(None) => {}
                Err(e) => ctx.fail(e),
            }
        });
    }

    /// Asks where to write and exports the annotations there.
    pub fn export(self, ctx: AppCtx) {
        if self.busy.get_untracked() {
            return;
        }
        self.busy.set(true);
        let format = self.export_format.get_untracked();
        spawn_local(async move {
            let result = client::notes_export(&format).await;
            self.busy.set(false);
            settle_progress(ctx);
            match result {
                Ok(Some(done)) => {
                    ctx.error.set(None);
                    self.outcome.set(Some(Outcome::Exported(done)));
                }
                Ok(None) => {}
                Err(e) => ctx.fail(e),
            }
        });
    }
}

/// Takes the finished job's bar down after a moment (a job that ended early never reports
/// `done == total`, which is what hides the bar otherwise).
fn settle_progress(ctx: AppCtx) {
    set_timeout(
        move || ctx.progress.set(None),
        std::time::Duration::from_millis(1500),
    );
}

/// Reloads the project's counts and runs the list's query again.
async fn refresh(ctx: AppCtx) {
    match client::project_current().await {
        Ok(Some(info)) => ctx.project.set(Some(info)),
        Ok(None) => {}
        Err(e) => ctx.fail(e),
    }
    ctx.query.update(|_| {});
    // The Import button of an empty project is gone: the keyboard goes to the list.
    request_animation_frame(|| {
        use wasm_bindgen::JsCast;
        if let Some(list) = document()
            .get_element_by_id("note-list")
            .and_then(|l| l.dyn_into::<web_sys::HtmlElement>().ok())
        {
            let _ = list.focus();
        }
    });
}

/// A format picker bound to `value`.
#[component]
pub fn FormatSelect(
    /// The element's id.
    id: &'static str,
    /// What it chooses, for screen readers.
    label: &'static str,
    /// The formats: command name and display name.
    formats: &'static [(&'static str, &'static str)],
    /// The chosen format.
    value: RwSignal<String>,
) -> impl IntoView {
    view! {
        <select
            id=id
            aria-label=label
            prop:value=move || value.get()
            on:change=move |ev| value.set(event_target_value(&ev))
        >
            {formats
                .iter()
                .map(|(name, shown)| view! { <option value=*name>{*shown}</option> })
                .collect_view()}
        </select>
    }
}

/// The Notes page's import and export controls.
#[component]
pub fn TransferBar(
    /// The page's import/export state.
    transfer: Transfer,
) -> impl IntoView {
    let ctx = expect_context::<AppCtx>();
    view! {
        <div class="toolbar transfer-bar" role="group" aria-label="Import and export">
            <FormatSelect
                id="import-format"
                label="Import notes from"
                formats=&IMPORT_FORMATS
                value=transfer.import_format
            />
            <button
                id="import-notes"
                title="Import notes (i)"
                disabled=move || transfer.busy.get()
                on:click=move |_| transfer.import(ctx)
            >
                "Import notes…"
            </button>
            <span class="spacer"></span>
            <FormatSelect
                id="export-format"
                label="Export annotations as"
                formats=&EXPORT_FORMATS
                value=transfer.export_format
            />
            <button
                id="export-notes"
                disabled=move || transfer.busy.get()
                on:click=move |_| transfer.export(ctx)
            >
                "Export annotations…"
            </button>
        </div>
    }
}

/// The last import's or export's summary, with the problems by file and line.
#[component]
pub fn TransferSummary(
    /// The page's import/export state.
    transfer: Transfer,
) -> impl IntoView {
    move || {
        transfer.outcome.get().map(|outcome| {
            let (id, headline, problems) = match &outcome {
                Outcome::Imported(done) => (
                    "import-summary",
                    import_headline(done),
                    import_problems(&done.summary),
                ),
                Outcome::Exported(done) => ("export-summary", export_headline(done), Vec::new()),
            };
            view! {
                <div class="summary" id=id role="status">
                    <div class="summary-head">
                        <span>{headline}</span>
                        <button aria-label="Dismiss" on:click=move |_| transfer.outcome.set(None)>"×"</button>
                    </div>
                    {(!problems.is_empty()).then(|| view! {
                        <ul class="problems">
                            {problems.into_iter().map(|p| view! { <li>{p}</li> }).collect_view()}
                        </ul>
                    })}
                </div>
            }
        })
    }
}
