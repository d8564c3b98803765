//! The app frame: shared state, navigation between pages, the error banner and job progress.

use api::{ApiError, JobProgress, Label, NoteId, ProjectInfo, SearchQuery};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::client;
use crate::components::{ErrorBanner, ProgressBar};
use crate::pages::{
    AgreementPage, AnnotatePage, EvaluatePage, NotesPage, PairsPage, ProjectsPage, ReviewPage,
    SchemaPage, TrainPage,
};

/// The pages of the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    /// Open or create a project.
    Projects,
    /// Search and browse notes.
    Notes,
    /// Annotate one note.
    Annotate,
    /// Run a prompt task on notes and review its outputs.
    Review,
    /// The preference pairs and SFT examples reviews made.
    Pairs,
    /// Train an adapter and watch it learn.
    Train,
    /// Compare runs.
    Evaluate,
    /// The label schemas.
    Schema,
    /// Inter-annotator agreement and adjudication.
    Agreement,
}

impl Page {
    const ALL: [Page; 9] = [
        Page::Projects,
        Page::Notes,
        Page::Annotate,
        Page::Review,
        Page::Pairs,
        Page::Train,
        Page::Evaluate,
        Page::Schema,
        Page::Agreement,
    ];

    fn title(self) -> &'static str {
        match self {
            Page::Projects => "Projects",
            Page::Notes => "Notes",
            Page::Annotate => "Annotate",
            Page::Review => "Review",
            Page::Pairs => "Pairs",
            Page::Train => "Train",
            Page::Evaluate => "Evaluate",
            Page::Schema => "Schema",
            Page::Agreement => "Agreement",
        }
    }

    /// The page's name in routes (`#/review`) and `--page`.
    pub fn name(self) -> &'static str {
        match self {
            Page::Projects => "projects",
            Page::Notes => "notes",
            Page::Annotate => "annotate",
            Page::Review => "review",
            Page::Pairs => "pairs",
            Page::Train => "train",
            Page::Evaluate => "evaluate",
            Page::Schema => "schema",
            Page::Agreement => "agreement",
        }
    }

    /// The page a route or `--page` names.
    pub fn from_name(name: &str) -> Option<Page> {
        let name = name.trim_start_matches('#').trim_start_matches('/');
        Page::ALL.into_iter().find(|p| p.name() == name)
    }

    /// Whether the page draws its own `?` list (the frame draws the others').
    fn has_help_of_its_own(self) -> bool {
        matches!(
            self,
            Page::Annotate | Page::Review | Page::Pairs | Page::Train | Page::Evaluate
        )
    }

    /// The Alt+letter that opens the page from anywhere.
    fn shortcut(self) -> Option<char> {
        match self {
            Page::Projects => Some('o'),
            Page::Notes => Some('n'),
            Page::Annotate => Some('a'),
            Page::Review => Some('r'),
            Page::Pairs => Some('p'),
            Page::Train => Some('t'),
            Page::Evaluate => Some('e'),
            Page::Schema => Some('s'),
            Page::Agreement => Some('g'),
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
    /// An adapter the Train page hands to the Review page to try.
    pub try_adapter: RwSignal<Option<String>>,
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
        // A page asked for at start (`--page`, a route) stays; the projects page moves on.
        if ctx.page.get_untracked() == Page::Projects {
            ctx.page.set(Page::Notes);
        }
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
        try_adapter: RwSignal::new(None),
    };
    provide_context(ctx);
    // The route (`#/review`) wins over `--page`; the page shown is always in the route.
    let routed = route();
    if let Some(page) = routed {
        ctx.page.set(page);
    }
    spawn_local(async move {
        client::listen_progress(move |p| {
            // A finished job's bar goes away after a moment.
            if p.total.is_some_and(|t| p.done >= t) {
                set_timeout(
                    move || {
                        if ctx.progress.with_untracked(|now| {
                            now.as_ref()
                                .is_some_and(|n| n.total.is_some_and(|t| n.done >= t))
                        }) {
                            ctx.progress.set(None);
                        }
                    },
                    std::time::Duration::from_millis(1500),
                );
            }
            ctx.progress.set(Some(p));
        })
        .await;
        if routed.is_none()
            && let Ok(Some(page)) = client::start_page().await
            && let Some(page) = Page::from_name(&page)
        {
            ctx.page.set(page);
        }
        match client::project_current().await {
            Ok(Some(info)) => ctx.opened(info),
            Ok(None) => {}
            Err(e) => ctx.fail(e),
        }
    });
    Effect::new(move |_| {
        let name = format!("#/{}", ctx.page.get().name());
        let location = window().location();
        if location.hash().ok().as_deref() != Some(name.as_str()) {
            let _ = location.set_hash(&name);
        }
    });
    let routes = window_event_listener(leptos::ev::hashchange, move |_| {
        if let Some(page) = route()
            && page != ctx.page.get_untracked()
        {
            ctx.page.set(page);
        }
    });
    on_cleanup(move || routes.remove());
    // Alt+letter opens a page from anywhere, even from a text field.
    let shortcuts = window_event_listener(leptos::ev::keydown, move |ev| {
        if !ev.alt_key() || ev.ctrl_key() || ev.meta_key() {
            return;
        }
        let key = ev.key().to_lowercase();
        let target = Page::ALL
            .into_iter()
            .find(|p| p.shortcut().is_some_and(|c| key == c.to_string()));
        if let Some(page) = target
            && (page == Page::Projects || ctx.project.with_untracked(Option::is_some))
        {
            ev.prevent_default();
            ctx.page.set(page);
        }
    });
    on_cleanup(move || shortcuts.remove());
    // `?` lists the keys of pages that have no list of their own (the others draw theirs).
    let help = RwSignal::new(false);
    let help_keys = window_event_listener(leptos::ev::keydown, move |ev| {
        if !ctx.page.get_untracked().has_help_of_its_own() && !crate::pages::is_typing(&ev) {
            match ev.key().as_str() {
                "?" => {
                    ev.prevent_default();
                    help.update(|h| *h = !*h);
                }
                "Escape" => help.set(false),
                _ => {}
            }
        }
    });
    on_cleanup(move || help_keys.remove());
    Effect::new(move |_| {
        ctx.page.track();
        help.set(false);
    });
    // The theme chosen last time, else the system's.
    let storage = window().local_storage().ok().flatten();
    let saved = storage
        .as_ref()
        .and_then(|s| s.get_item(THEME_KEY).ok().flatten());
    let dark = RwSignal::new(match saved.as_deref() {
        Some("dark") => true,
        Some("light") => false,
        _ => prefers_dark(),
    });
    Effect::new(move |_| {
        let theme = if dark.get() { "dark" } else { "light" };
        if let Some(root) = document().document_element() {
            let _ = root.set_attribute("data-theme", theme);
        }
    });
    let chose = move || {
        dark.update(|d| *d = !*d);
        let theme = if dark.get_untracked() {
            "dark"
        } else {
            "light"
        };
        if let Some(s) = window().local_storage().ok().flatten() {
            let _ = s.set_item(THEME_KEY, theme);
        }
    };
    // An error belongs to the page it happened on.
    Effect::new(move |previous: Option<Page>| {
        let page = ctx.page.get();
        if previous.is_some_and(|p| p != page) {
            ctx.error.set(None);
        }
        page
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
                                id=format!("nav-{}", page.name())
                                title=page.shortcut().map(|c| format!("{} (Alt+{})", page.title(), c.to_ascii_uppercase()))
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
                on:click=move |_| chose()
            >
                {move || if dark.get() { "☀" } else { "☾" }}
            </button>
        </header>
        <ErrorBanner />
        <ProgressBar />
        <main id="page" data-page=move || ctx.page.get().name()>
            {move || match ctx.page.get() {
                Page::Projects => view! { <ProjectsPage /> }.into_any(),
                Page::Notes => view! { <NotesPage /> }.into_any(),
                Page::Annotate => view! { <AnnotatePage /> }.into_any(),
                Page::Review => view! { <ReviewPage /> }.into_any(),
                Page::Pairs => view! { <PairsPage /> }.into_any(),
                Page::Train => view! { <TrainPage /> }.into_any(),
                Page::Evaluate => view! { <EvaluatePage /> }.into_any(),
                Page::Schema => view! { <SchemaPage /> }.into_any(),
                Page::Agreement => view! { <AgreementPage /> }.into_any(),
            }}
        </main>
        <Show when=move || help.get()>
            <div class="overlay" role="dialog" aria-modal="true" aria-labelledby="help-title" on:click=move |_| help.set(false)>
                <div class="help">
                    <h2 id="help-title">{move || format!("{}: keyboard shortcuts", ctx.page.get().title())}</h2>
                    <dl>
                        {move || page_keys(ctx.page.get())
                            .iter()
                            .map(|(k, what)| view! { <dt>{*k}</dt><dd>{*what}</dd> })
                            .collect_view()}
                        <dt>"Alt+letter"</dt><dd>"open a page: O Projects, N Notes, A Annotate, R Review, P Pairs, T Train, E Evaluate, S Schema, G Agreement"</dd>
                        <dt>"?"</dt><dd>"show or hide this list (Esc closes it)"</dd>
                    </dl>
                </div>
            </div>
        </Show>
    }
}

/// The keys of a page whose list the frame draws (see [`Page::has_help_of_its_own`]).
fn page_keys(page: Page) -> &'static [(&'static str, &'static str)] {
    match page {
        Page::Notes => &[
            ("/", "search (Enter or ↓ goes to the list)"),
            ("↑ ↓ or j k", "move in the list"),
            ("PageUp PageDown Home End", "move faster"),
            ("Enter", "open the note to annotate it"),
            ("i", "import notes from a file or folder"),
        ],
        Page::Projects => &[
            ("Tab", "move between the buttons and recent projects"),
            ("Enter", "open the project typed or chosen"),
        ],
        Page::Schema => &[
            ("Tab", "move to a label's Edit button"),
            ("Enter", "save a label's name, colour and key"),
        ],
        Page::Agreement => &[
            ("Tab", "choose the two annotators"),
            ("Enter", "compare them on the note typed"),
        ],
        _ => &[],
    }
}

/// Where the chosen theme is kept (the page's local storage, inside the app's data folder).
const THEME_KEY: &str = "clinitune-theme";

/// The page the location's hash names (`#/review`).
fn route() -> Option<Page> {
    window()
        .location()
        .hash()
        .ok()
        .and_then(|h| Page::from_name(&h))
}

fn prefers_dark() -> bool {
    window()
        .match_media("(prefers-color-scheme: dark)")
        .ok()
        .flatten()
        .is_some_and(|m| m.matches())
}
