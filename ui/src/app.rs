//! The app frame: shared state, navigation between pages, the error banner and job progress.

use api::{ApiError, JobProgress, Label, NoteId, ProjectInfo, SearchQuery};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::client;
use crate::components::{ErrorBanner, ProgressBar};
use crate::pages::{AgreementPage, AnnotatePage, NotesPage, ProjectsPage, SchemaPage};

/// The pages of the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    /// Open or create a project.
    Projects,
    /// Search and browse notes.
    Notes,
    /// Annotate one note.
    Annotate,
    /// The label schemas.
    Schema,
    /// Inter-annotator agreement and adjudication.
    Agreement,
}

impl Page {
    const ALL: [Page; 5] = [
        Page::Projects,
        Page::Notes,
        Page::Annotate,
        Page::Schema,
        Page::Agreement,
    ];

    fn title(self) -> &'static str {
        match self {
            Page::Projects => "Projects",
            Page::Notes => "Notes",
            Page::Annotate => "Annotate",
            Page::Schema => "Schema",
            Page::Agreement => "Agreement",
        }
    }
}

/// State every page shares (signals are `Copy`, so is this).
#[derive(Clone, Copy)]
pub struct AppCtx {
    /// The open project.
    pub project: RwSignal<Option<ProjectInfo>>,
    /// Its labels, loaded when it opens.
    pub labels: RwSignal<Vec<Label>>,
    /// The page shown.
    pub page: RwSignal<Page>,
    /// The last error, shown in the banner until dismissed.
    pub error: RwSignal<Option<ApiError>>,
    /// The notes list's query; `j`/`k` walk its results.
    pub query: RwSignal<SearchQuery>,
    /// The note being annotated and its position in the query's results.
    pub current: RwSignal<Option<(NoteId, usize)>>,
    /// Progress of a running job.
    pub progress: RwSignal<Option<JobProgress>>,
}

impl AppCtx {
    /// Shows `e` in the banner.
    pub fn fail(&self, e: ApiError) {
        self.error.set(Some(e));
    }

    /// Makes `info` the open project: loads its labels and shows the notes.
    pub fn opened(&self, info: ProjectInfo) {
        let ctx = *self;
        ctx.project.set(Some(info));
        ctx.current.set(None);
        ctx.query.set(SearchQuery::default());
        spawn_local(async move {
            match client::labels().await {
                Ok(labels) => ctx.labels.set(labels),
                Err(e) => ctx.fail(e),
            }
        });
        ctx.page.set(Page::Notes);
    }

    /// Opens a note on the annotate page.
    pub fn open_note(&self, note: NoteId, index: usize) {
        self.current.set(Some((note, index)));
        self.page.set(Page::Annotate);
    }
}

/// The whole app.
#[component]
pub fn App() -> impl IntoView {
    let ctx = AppCtx {
        project: RwSignal::new(None),
        labels: RwSignal::new(Vec::new()),
        page: RwSignal::new(Page::Projects),
        error: RwSignal::new(None),
        query: RwSignal::new(SearchQuery::default()),
        current: RwSignal::new(None),
        progress: RwSignal::new(None),
    };
    provide_context(ctx);
    spawn_local(async move {
        client::listen_progress(move |p| ctx.progress.set(Some(p))).await;
        match client::project_current().await {
            Ok(Some(info)) => ctx.opened(info),
            Ok(None) => {}
            Err(e) => ctx.fail(e),
        }
    });
    let dark = RwSignal::new(prefers_dark());
    Effect::new(move |_| {
        let theme = if dark.get() { "dark" } else { "light" };
        if let Some(root) = document().document_element() {
            let _ = root.set_attribute("data-theme", theme);
        }
    });

    view! {
        <header class="topbar">
            <span class="brand" aria-hidden="true">"Clinitune"</span>
            <nav aria-label="Pages">
                {Page::ALL
                    .into_iter()
                    .map(|page| {
                        let needs_project = page != Page::Projects;
                        view! {
                            <button
                                class="nav"
                                id=format!("nav-{}", page.title().to_lowercase())
                                aria-current=move || (ctx.page.get() == page).then_some("page")
                                disabled=move || needs_project && ctx.project.with(Option::is_none)
                                on:click=move |_| ctx.page.set(page)
                            >
                                {page.title()}
                            </button>
                        }
                    })
                    .collect_view()}
            </nav>
            <span class="project-name" id="project-name">
                {move || {
                    ctx.project
                        .get()
                        .map(|p| format!("{} · {}", p.name, p.annotator))
                        .unwrap_or_else(|| "no project open".to_owned())
                }}
            </span>
            <button
                class="theme"
                title="Switch light or dark theme"
                aria-label="Switch light or dark theme"
                on:click=move |_| dark.update(|d| *d = !*d)
            >
                {move || if dark.get() { "☀" } else { "☾" }}
            </button>
        </header>
        <ErrorBanner />
        <ProgressBar />
        <main id="page" data-page=move || ctx.page.get().title().to_lowercase()>
            {move || match ctx.page.get() {
                Page::Projects => view! { <ProjectsPage /> }.into_any(),
                Page::Notes => view! { <NotesPage /> }.into_any(),
                Page::Annotate => view! { <AnnotatePage /> }.into_any(),
                Page::Schema => view! { <SchemaPage /> }.into_any(),
                Page::Agreement => view! { <AgreementPage /> }.into_any(),
            }}
        </main>
    }
}

fn prefers_dark() -> bool {
    window()
        .match_media("(prefers-color-scheme: dark)")
        .ok()
        .flatten()
        .is_some_and(|m| m.matches())
}
