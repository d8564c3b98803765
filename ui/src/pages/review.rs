//! The review page: run a prompt task on the current note of a queue (the Notes page's search
//! and filters, in order) with the model's text streaming in, then correct it in place — an
//! inline word diff against the model's text follows every keystroke — and save the edit,
//! accept, reject, or prefer one of two outputs side by side. Every key is listed under `?`.

use std::collections::HashMap;

use api::{
    ModelChoice, ModelOutput, NoteDetail, NoteId, OutputId, PromptTask, ReviewMark,
    ReviewRunRequest, ReviewedOutput, RunEvent, TaskKind,
};
use leptos::ev;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;

use crate::app::{AppCtx, Page};
use crate::client;
use crate::components::{KeysHelp, WordDiff};
use crate::diff;
use crate::pages::notes::is_typing;

/// New tokens per output unless the clinician asks for more.
const DEFAULT_MAX_TOKENS: usize = 200;

/// Where the generation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Running {
    Idle,
    /// Started; the job id arrives with the first event.
    Starting,
    Loading(u64),
    Generating(u64),
}

impl Running {
    fn job(self) -> Option<u64> {
        match self {
            Running::Loading(j) | Running::Generating(j) => Some(j),
            _ => None,
        }
    }
}

/// Page state shared by its handlers (all signals, so `Copy`).
#[derive(Clone, Copy)]
struct Review {
    ctx: AppCtx,
    tasks: RwSignal<Option<Vec<PromptTask>>>,
    task: RwSignal<String>,
    models: RwSignal<Option<Vec<ModelChoice>>>,
    model: RwSignal<Option<String>>,
    adapter: RwSignal<Option<String>>,
    /// The project's trained adapters (finished runs), newest first.
    trained: RwSignal<Vec<(String, String)>>,
    samples: RwSignal<u32>,
    max_tokens: RwSignal<usize>,
    /// Notes in the queue (the Notes page's query).
    queue_len: RwSignal<Option<u64>>,
    note: RwSignal<Option<NoteDetail>>,
    outputs: RwSignal<Vec<ReviewedOutput>>,
    /// The run whose outputs are shown.
    shown_run: RwSignal<Option<String>>,
    running: RwSignal<Running>,
    /// Each sample's text as it streams in, and how many pieces came.
    streams: RwSignal<Vec<String>>,
    pieces: RwSignal<u32>,
    /// What the editor holds for each output, when changed.
    drafts: RwSignal<HashMap<OutputId, String>>,
    /// Which shown output the keys act on.
    focus: RwSignal<usize>,
    /// The last thing done, in words.
    said: RwSignal<Option<String>>,
    help: RwSignal<bool>,
}

impl Review {
    /// The outputs on screen: the shown run's, for the chosen task, by sample.
    fn cards(self) -> Vec<ReviewedOutput> {
        let task = self.task.get();
        let run = self.shown_run.get();
        let mut cards: Vec<ReviewedOutput> = self.outputs.with(|all| {
            let of_task = all.iter().filter(|o| o.output.task == task);
            let run = run.or_else(|| {
                of_task
                    .clone()
                    .next_back()
                    .and_then(|o| o.output.run.clone())
            });
            of_task.filter(|o| o.output.run == run).cloned().collect()
        });
        cards.sort_by_key(|o| o.output.sample);
        cards
    }

    fn cards_untracked(self) -> Vec<ReviewedOutput> {
        untrack(move || self.cards())
    }

    fn note_id(self) -> Option<NoteId> {
        self.ctx.current.get_untracked().map(|(id, _)| id)
    }

    /// The editor's text of an output: the draft, else the saved edit, else the model's.
    fn draft(self, o: &ReviewedOutput) -> String {
        self.drafts
            .with_untracked(|d| d.get(&o.output.id).cloned())
            .or_else(|| o.edited.clone())
            .unwrap_or_else(|| o.output.text.clone())
    }

    fn reload_outputs(self) {
        let Some(note) = self.note_id() else {
            return;
        };
        spawn_local(async move {
            match client::review_outputs(note).await {
                Ok(list) if self.note_id() == Some(note) => self.outputs.set(list),
                Ok(_) => {}
                Err(e) => self.ctx.fail(e),
            }
        });
    }

    /// `r`: runs the task on the current note, streaming its text.
    fn run(self) {
        if self.running.get_untracked() != Running::Idle {
            return;
        }
        let Some(note) = self.note_id() else {
            self.said.set(Some(
                "Choose a note first (j / k, or the Notes page).".into(),
            ));
            return;
        };
        let task = self.task.get_untracked();
        if task.is_empty() {
            self.said.set(Some("Choose a task first.".into()));
            return;
        }
        let samples = self.samples.get_untracked();
        let request = ReviewRunRequest {
            task,
            note,
            model: self.model.get_untracked(),
            adapter: self.adapter.get_untracked(),
            samples,
            // A new seed per run of this note: each `r` makes new outputs.
            seed: self.outputs.with_untracked(Vec::len) as u64,
            max_tokens: self.max_tokens.get_untracked(),
        };
        self.streams.set(vec![String::new(); samples as usize]);
        self.pieces.set(0);
        self.said.set(None);
        self.running.set(Running::Starting);
        let on_event = move |event: RunEvent| match event {
            RunEvent::Started { job } => self.running.set(Running::Generating(job)),
            RunEvent::Loading => {
                if let Some(job) = self.running.get_untracked().job() {
                    self.running.set(Running::Loading(job));
                }
            }
            RunEvent::Text { sample, text } => {
                if let Running::Loading(job) = self.running.get_untracked() {
                    self.running.set(Running::Generating(job));
                }
                self.pieces.update(|n| *n += 1);
                self.streams.update(|s| {
                    if let Some(slot) = usize::try_from(sample).ok().and_then(|i| s.get_mut(i)) {
                        slot.push_str(&text);
                    }
                });
            }
        };
        spawn_local(async move {
            let result = client::review_run(&request, on_event).await;
            self.running.set(Running::Idle);
            match result {
                Ok(summary) => {
                    if summary.cancelled {
                        self.said.set(Some(
                            "Stopped. Outputs finished before you pressed Esc are kept; the \
                             unfinished one was not saved."
                                .into(),
                        ));
                    }
                    if !summary.outputs.is_empty() {
                        self.shown_run.set(Some(summary.run));
                        self.focus.set(0);
                    }
                    self.reload_outputs();
                }
                Err(e) => self.ctx.fail(e),
            }
        });
    }

    /// Esc while generating: stop.
    fn cancel(self) {
        if let Some(job) = self.running.get_untracked().job() {
            spawn_local(async move {
                if let Err(e) = client::cancel_job(job).await {
                    self.ctx.fail(e);
                }
            });
        }
    }

    fn focused(self) -> Option<(usize, Vec<ReviewedOutput>)> {
        let cards = self.cards_untracked();
        let i = self.focus.get_untracked().min(cards.len().checked_sub(1)?);
        Some((i, cards))
    }

    /// Ctrl+Enter: saves the focused output's edit.
    fn save_edit(self) {
        let Some((i, cards)) = self.focused() else {
            self.said.set(Some(
                "Nothing to save yet: press r for an output first.".into(),
            ));
            return;
        };
        let Some(card) = cards.get(i) else { return };
        let text = self.draft(card);
        if text.trim().is_empty() {
            self.said.set(Some(
                "The edit is empty. To discard this output, press x to reject it.".into(),
            ));
            return;
        }
        let id = card.output.id;
        spawn_local(async move {
            match client::review_edit(id, &text).await {
                Ok(outcome) => {
                    self.said.set(Some(match (outcome.edit, outcome.pair) {
                        (Some(_), Some(_)) => {
                            "Saved your edit: a preference pair (your text over the model's) and \
                             a training example."
                        }
                        (Some(_), None) => "Saved your edit (the same pair was already saved).",
                        (None, _) => "Unchanged, so saved as accepted: a training example.",
                    }
                    .into()));
                    self.drafts.update(|d| {
                        d.remove(&id);
                    });
                    self.reload_outputs();
                }
                Err(e) => self.ctx.fail(e),
            }
        });
    }

    /// `a`: accepts the focused output unchanged.
    fn accept(self) {
        let Some((i, cards)) = self.focused() else {
            return;
        };
        let Some(card) = cards.get(i) else { return };
        if self.draft(card) != card.output.text {
            self.said.set(Some(
                "You changed this output: Ctrl+Enter saves your edit (a accepts only unchanged \
                 text)."
                    .into(),
            ));
            return;
        }
        let id = card.output.id;
        spawn_local(async move {
            match client::review_accept(id).await {
                Ok(_) => {
                    self.said
                        .set(Some("Accepted: saved as a training example.".into()));
                    self.reload_outputs();
                }
                Err(e) => self.ctx.fail(e),
            }
        });
    }

    /// `x`: rejects the focused output.
    fn reject(self) {
        let Some((i, cards)) = self.focused() else {
            return;
        };
        let Some(card) = cards.get(i) else { return };
        let id = card.output.id;
        spawn_local(async move {
            match client::review_reject(id).await {
                Ok(()) => {
                    self.said.set(Some(
                        "Rejected: recorded, and not used for training.".into(),
                    ));
                    self.reload_outputs();
                }
                Err(e) => self.ctx.fail(e),
            }
        });
    }

    /// `1` / `2`: prefers output A or B over the other.
    fn prefer(self, which: usize) {
        let cards = self.cards_untracked();
        let (Some(a), Some(b)) = (cards.first(), cards.get(1)) else {
            self.said.set(Some(
                "Preferring needs two outputs side by side: press b, then r.".into(),
            ));
            return;
        };
        let (preferred, other) = if which == 0 { (a, b) } else { (b, a) };
        let (preferred, other) = (preferred.output.id, other.output.id);
        let name = if which == 0 { "A" } else { "B" };
        spawn_local(async move {
            match client::review_rank(preferred, other).await {
                Ok(_) => {
                    self.said.set(Some(format!(
                        "Saved: you preferred {name} (a preference pair for training)."
                    )));
                    self.reload_outputs();
                }
                Err(e) => self.ctx.fail(e),
            }
        });
    }

    /// `j` / `k`: the next or previous note of the queue.
    fn step(self, delta: i64) {
        let Some(len) = self.queue_len.get_untracked() else {
            return;
        };
        let index = self.ctx.current.get_untracked().map_or(0, |(_, i)| i);
        let target = index as i64 + delta;
        if target < 0 || target as u64 >= len {
            self.said.set(Some(if delta > 0 {
                "That was the last note of the queue.".into()
            } else {
                "This is the first note of the queue.".into()
            }));
            return;
        }
        self.go_to(target as usize);
    }

    fn go_to(self, index: usize) {
        let mut query = self.ctx.query.get_untracked();
        query.offset = index;
        query.limit = 1;
        spawn_local(async move {
            match client::search_notes(&query).await {
                Ok(found) => {
                    if let Some(n) = found.first() {
                        self.ctx.current.set(Some((n.id, index)));
                    }
                }
                Err(e) => self.ctx.fail(e),
            }
        });
    }

    /// `e`: puts the cursor in the focused output's editor.
    fn edit(self) {
        let id = format!("editor-{}", self.focus.get_untracked());
        if let Some(el) = document()
            .get_element_by_id(&id)
            .and_then(|el| el.dyn_into::<web_sys::HtmlElement>().ok())
        {
            let _ = el.focus();
        }
    }

    fn on_key(self, ev: &ev::KeyboardEvent) {
        if ev.alt_key() || ev.meta_key() || self.ctx.page.get_untracked() != Page::Review {
            return;
        }
        let key = ev.key();
        let ctrl = ev.ctrl_key();
        let typing = is_typing(ev);
        if key == "Enter" && ctrl {
            ev.prevent_default();
            self.save_edit();
            return;
        }
        if key == "Escape" {
            if self.running.get_untracked() != Running::Idle {
                self.cancel();
            } else if self.help.get_untracked() {
                self.help.set(false);
            } else if typing {
                // Leave the editor so that the page's keys work again.
                if let Some(el) = document()
                    .active_element()
                    .and_then(|el| el.dyn_into::<web_sys::HtmlElement>().ok())
                {
                    let _ = el.blur();
                }
            }
            ev.prevent_default();
            return;
        }
        if typing || ctrl {
            return;
        }
        let handled = match key.as_str() {
            "r" => {
                self.run();
                true
            }
            "a" => {
                self.accept();
                true
            }
            "x" => {
                self.reject();
                true
            }
            "1" => {
                self.prefer(0);
                true
            }
            "2" => {
                self.prefer(1);
                true
            }
            "j" => {
                self.step(1);
                true
            }
            "k" => {
                self.step(-1);
                true
            }
            "b" => {
                self.samples.update(|s| *s = if *s == 1 { 2 } else { 1 });
                true
            }
            "e" => {
                self.edit();
                true
            }
            "ArrowRight" | "ArrowLeft" => {
                let n = self.cards_untracked().len();
                if n > 1 {
                    self.focus.update(|f| {
                        *f = if key == "ArrowRight" {
                            (*f + 1) % n
                        } else {
                            (*f + n - 1) % n
                        }
                    });
                }
                n > 1
            }
            "?" => {
                self.help.update(|h| *h = !*h);
                true
            }
            _ => false,
        };
        if handled {
            ev.prevent_default();
        }
    }
}

/// The review page.
#[component]
pub fn ReviewPage() -> impl IntoView {
    let ctx = expect_context::<AppCtx>();
    let rv = Review {
        ctx,
        tasks: RwSignal::new(None),
        task: RwSignal::new(String::new()),
        models: RwSignal::new(None),
        model: RwSignal::new(None),
        adapter: RwSignal::new(ctx.try_adapter.get_untracked()),
        trained: RwSignal::new(Vec::new()),
        samples: RwSignal::new(1),
        max_tokens: RwSignal::new(DEFAULT_MAX_TOKENS),
        queue_len: RwSignal::new(None),
        note: RwSignal::new(None),
        outputs: RwSignal::new(Vec::new()),
        shown_run: RwSignal::new(None),
        running: RwSignal::new(Running::Idle),
        streams: RwSignal::new(Vec::new()),
        pieces: RwSignal::new(0),
        drafts: RwSignal::new(HashMap::new()),
        focus: RwSignal::new(0),
        said: RwSignal::new(None),
        help: RwSignal::new(false),
    };

    // Tasks and models when a project is open; the first summary task is the default.
    Effect::new(move |_| {
        if ctx.project.with(Option::is_none) {
            return;
        }
        spawn_local(load_choices(rv));
    });
    // The queue: the Notes page's query; start on its first note.
    Effect::new(move |_| {
        let query = ctx.query.get();
        if ctx.project.with(Option::is_none) {
            return;
        }
        spawn_local(async move {
            match client::count_notes(&query).await {
                Ok(n) => {
                    rv.queue_len.set(Some(n));
                    if ctx.current.get_untracked().is_none() && n > 0 {
                        rv.go_to(0);
                    }
                }
                Err(e) => ctx.fail(e),
            }
        });
    });
    // The current note and its outputs.
    Effect::new(move |_| {
        let Some((id, _)) = ctx.current.get() else {
            return;
        };
        rv.shown_run.set(None);
        rv.focus.set(0);
        rv.streams.set(Vec::new());
        rv.drafts.set(HashMap::new());
        spawn_local(async move {
            match client::show_note(id).await {
                Ok(n) => rv.note.set(Some(n)),
                Err(e) => ctx.fail(e),
            }
        });
        rv.reload_outputs();
    });
    let keys = window_event_listener(ev::keydown, move |ev| rv.on_key(&ev));
    on_cleanup(move || keys.remove());

    view! {
        <section class="review" id="review" tabindex="-1" aria-labelledby="review-title">
            <div class="review-head">
                <h1 id="review-title">"Review"</h1>
                <Toolbar rv=rv />
                <button class="help-button" on:click=move |_| rv.help.set(true)>"? Keys"</button>
            </div>
            <Show when=move || rv.said.with(Option::is_some)>
                <p class="said" id="review-said" role="status">{move || rv.said.get()}</p>
            </Show>
            {move || body(rv)}
            <Show when=move || rv.help.get()>
                <KeysHelp page="Review" keys=REVIEW_KEYS note="Keys typed in the editor or a field stay there, except Ctrl+Enter and Esc." open=rv.help />
            </Show>
        </section>
    }
}

/// Loads the tasks (choosing the first summary task) and the models.
async fn load_choices(rv: Review) {
    match client::task_list().await {
        Ok(tasks) => {
            let first = tasks
                .iter()
                .find(|t| t.kind == TaskKind::Summarize)
                .or_else(|| tasks.first())
                .map(|t| t.name.clone())
                .unwrap_or_default();
            rv.task.set(first);
            rv.tasks.set(Some(tasks));
        }
        Err(e) => rv.ctx.fail(e),
    }
    match client::model_list().await {
        Ok(models) => rv.models.set(Some(models)),
        Err(e) => rv.ctx.fail(e),
    }
    // Adapters the Train page made, to try on the notes just corrected.
    if let Ok(runs) = client::train_runs().await {
        let finished = runs
            .into_iter()
            .filter(|r| {
                matches!(
                    r.status,
                    api::RunStatus::Completed | api::RunStatus::EarlyStopped
                )
            })
            .filter(|r| {
                r.settings
                    .as_ref()
                    .is_some_and(|s| s.objective != api::Objective::Classify)
            })
            .map(|r| (r.path, r.name))
            .collect();
        rv.trained.set(finished);
    }
}

/// The page's body: an empty state that says what to do, or the note and its outputs.
fn body(rv: Review) -> AnyView {
    let ctx = rv.ctx;
    if ctx.project.with(Option::is_none) {
        return view! {
            <div class="empty" id="review-empty">
                <p>"Open a project to review model outputs."</p>
                <button class="primary" on:click=move |_| ctx.page.set(Page::Projects)>"Open a project"</button>
            </div>
        }
        .into_any();
    }
    if rv.tasks.with(|t| t.as_ref().is_some_and(Vec::is_empty)) {
        let add = move |_| {
            spawn_local(async move {
                match client::task_add_built_in().await {
                    Ok(tasks) => {
                        rv.task
                            .set(tasks.first().map(|t| t.name.clone()).unwrap_or_default());
                        rv.tasks.set(Some(tasks));
                    }
                    Err(e) => ctx.fail(e),
                }
            });
        };
        return view! {
            <div class="empty" id="review-empty">
                <p>"This project has no task for the model yet (what to write: a summary, the social history, the SDoH mentions)."</p>
                <button class="primary" id="add-tasks" on:click=add>"Add Clinitune's tasks"</button>
            </div>
        }
        .into_any();
    }
    if rv.queue_len.get() == Some(0) {
        return view! {
            <div class="empty" id="review-empty">
                <p>"No note matches the search on the Notes page, so the queue is empty."</p>
                <button class="primary" on:click=move |_| {
                    ctx.query.set(api::SearchQuery::default());
                    ctx.page.set(Page::Notes);
                }>"Clear the search"</button>
            </div>
        }
        .into_any();
    }
    view! {
        <div class="review-grid">
            <NotePane rv=rv />
            <div class="outputs" id="outputs" data-pieces=move || rv.pieces.get().to_string() data-running=move || (rv.running.get() != Running::Idle).to_string()>
                {move || outputs_view(rv)}
            </div>
        </div>
    }
    .into_any()
}

/// Task, model, adapter, number of outputs and length.
#[component]
fn Toolbar(rv: Review) -> impl IntoView {
    let ctx = rv.ctx;
    let choose_adapter = move |_| {
        spawn_local(async move {
            match client::choose_adapter().await {
                Ok(Some(dir)) => rv.adapter.set(Some(dir)),
                Ok(None) => {}
                Err(e) => ctx.fail(e),
            }
        });
    };
    let choose_model = move |_| {
        spawn_local(async move {
            match client::choose_file("model").await {
                Ok(Some(path)) => {
                    let name = path.rsplit(['/', '\\']).next().unwrap_or(&path).to_owned();
                    rv.models.update(|m| {
                        let list = m.get_or_insert_with(Vec::new);
                        if !list.iter().any(|c| c.path == path) {
                            list.push(ModelChoice {
                                path: path.clone(),
                                name,
                            });
                        }
                    });
                    rv.model.set(Some(path));
                }
                Ok(None) => {}
                Err(e) => ctx.fail(e),
            }
        });
    };
    view! {
        <div class="toolbar review-tools">
            <label>
                "Task "
                <select id="review-task" on:change=move |ev| rv.task.set(event_target_value(&ev))>
                    {move || {
                        let chosen = rv.task.get();
                        rv.tasks
                            .get()
                            .unwrap_or_default()
                            .into_iter()
                            .map(|t| {
                                let selected = t.name == chosen;
                                let text = if t.description.is_empty() { t.name.clone() } else { format!("{} — {}", t.name, t.description) };
                                view! { <option value=t.name.clone() selected=selected title=text.clone()>{t.name.clone()}</option> }
                            })
                            .collect_view()
                    }}
                </select>
            </label>
            <label>
                "Model "
                {move || match rv.models.get() {
                    Some(list) if !list.is_empty() => view! {
                        <select id="review-model" on:change=move |ev| rv.model.set(Some(event_target_value(&ev)))>
                            {list
                                .into_iter()
                                .map(|m| {
                                    let selected = rv.model.get_untracked().as_deref() == Some(m.path.as_str());
                                    view! { <option value=m.path.clone() selected=selected title=m.path.clone()>{m.name.clone()}</option> }
                                })
                                .collect_view()}
                        </select>
                    }
                    .into_any(),
                    Some(_) => view! { <span class="warn" id="no-model">"none found"</span> }.into_any(),
                    None => view! { <span class="muted">"…"</span> }.into_any(),
                }}
                <button class="link" on:click=choose_model>"Choose a model file…"</button>
            </label>
            <span>
                {move || match rv.adapter.get() {
                    Some(dir) => {
                        let name = dir.rsplit(['/', '\\']).next().unwrap_or(&dir).to_owned();
                        view! {
                            "Adapter: " <span title=dir.clone()>{name}</span>
                            <button class="link" on:click=move |_| rv.adapter.set(None)>"use the base model"</button>
                        }
                        .into_any()
                    }
                    None => view! {
                        <label>
                            "Adapter "
                            <select id="review-adapter" on:change=move |ev| {
                                let v = event_target_value(&ev);
                                rv.adapter.set((!v.is_empty()).then_some(v));
                            }>
                                <option value="" selected=true>"none (base model)"</option>
                                {move || rv.trained.get().into_iter().map(|(path, name)| view! {
                                    <option value=path.clone() title=path>{format!("trained: {name}")}</option>
                                }).collect_view()}
                            </select>
                        </label>
                        <button class="link" on:click=choose_adapter>"another adapter folder…"</button>
                    }
                    .into_any(),
                }}
            </span>
            <label title="b switches">
                <select
                    id="review-samples"
                    prop:value=move || rv.samples.get().to_string()
                    on:change=move |ev| rv.samples.set(if event_target_value(&ev) == "2" { 2 } else { 1 })
                >
                    <option value="1">"1 output"</option>
                    <option value="2">"2 outputs, A/B (b)"</option>
                </select>
            </label>
            <label>
                "Length "
                <select on:change=move |ev| rv.max_tokens.set(event_target_value(&ev).parse().unwrap_or(DEFAULT_MAX_TOKENS))>
                    {[60usize, 120, 200, 400, 800]
                        .into_iter()
                        .map(|n| view! { <option value=n.to_string() selected={n == DEFAULT_MAX_TOKENS}>{format!("up to {n} tokens")}</option> })
                        .collect_view()}
                </select>
            </label>
        </div>
    }
}

/// The note being reviewed, its place in the queue, and its suggested spans marked.
#[component]
fn NotePane(rv: Review) -> impl IntoView {
    view! {
        <div class="review-note">
            <div class="note-head">
                <h2 id="review-note-title">
                    {move || rv.note.with(|n| n.as_ref().map(|n| format!("Note #{}", n.id.0)).unwrap_or_else(|| "Loading the note…".into()))}
                </h2>
                <span class="category">{move || rv.note.with(|n| n.as_ref().and_then(|n| n.category.clone()).unwrap_or_default())}</span>
                <span class="muted" id="queue-pos">
                    {move || {
                        let index = rv.ctx.current.get().map_or(0, |(_, i)| i);
                        match rv.queue_len.get() {
                            Some(n) => format!("{} of {n} in the queue (j / k)", index + 1),
                            None => String::new(),
                        }
                    }}
                </span>
            </div>
            <div class="note-text review-text" id="review-note-text" tabindex="0" aria-label="The note">
                {move || rv.note.with(|n| n.as_ref().map(note_with_suggestions).unwrap_or_default())}
            </div>
        </div>
    }
}

/// The note's text with the spans a model suggested (and nobody reviewed yet) marked.
fn note_with_suggestions(n: &NoteDetail) -> Vec<AnyView> {
    let mut marks: Vec<(usize, usize)> = n
        .spans
        .iter()
        .filter(|s| s.status == api::AnnotationStatus::Suggested)
        .flat_map(|s| s.fragments.iter().map(|f| (f.start, f.end)))
        .collect();
    marks.sort_unstable();
    let mut out = Vec::new();
    let mut at = 0;
    for (start, end) in marks {
        if start < at {
            continue;
        }
        let (Some(before), Some(inside)) = (n.text.get(at..start), n.text.get(start..end)) else {
            continue;
        };
        out.push(before.to_owned().into_any());
        out.push(view! { <mark class="suggested" title="suggested by the model">{inside.to_owned()}</mark> }.into_any());
        at = end;
    }
    out.push(n.text.get(at..).unwrap_or_default().to_owned().into_any());
    out
}

/// The streaming text while the model writes, else the shown outputs.
fn outputs_view(rv: Review) -> AnyView {
    let running = rv.running.get();
    if running != Running::Idle {
        let status = match running {
            Running::Loading(_) | Running::Starting => "Loading the model… (Esc stops)",
            _ => "The model is writing… (Esc stops)",
        };
        return view! {
            <p class="running" id="run-status" role="status">{status}</p>
            <div class="cards">
                {move || {
                    rv.streams
                        .get()
                        .into_iter()
                        .enumerate()
                        .map(|(i, text)| view! {
                            <article class="output-card streaming">
                                <h3>{sample_name(i)}</h3>
                                <div class="stream" id=format!("stream-{i}") aria-live="polite">{text}<span class="caret">"▍"</span></div>
                            </article>
                        })
                        .collect_view()
                }}
            </div>
        }
        .into_any();
    }
    let cards = rv.cards();
    if cards.is_empty() {
        let has_model = rv.models.with(|m| m.as_ref().is_none_or(|m| !m.is_empty()));
        let text = if has_model {
            "No output of this task for this note yet. Press r and the model drafts one."
        } else {
            "No model was found on this computer. Choose a model file (.gguf) above, then press r."
        };
        return view! {
            <div class="empty" id="outputs-empty">
                <p>{text}</p>
                <button class="primary" on:click=move |_| rv.run() disabled={!has_model}>"Draft one (r)"</button>
            </div>
        }
        .into_any();
    }
    let streamed = rv.streams.get_untracked();
    let earlier = rv
        .outputs
        .with_untracked(|all| {
            let task = rv.task.get_untracked();
            all.iter().filter(|o| o.output.task == task).count()
        })
        .saturating_sub(cards.len());
    let pair = cards.len() > 1;
    view! {
        <div class=if pair { "cards side-by-side" } else { "cards" }>
            {cards
                .into_iter()
                .enumerate()
                .map(|(i, o)| {
                    let streamed = streamed.get(i).cloned().unwrap_or_default();
                    view! { <OutputCard rv=rv index=i reviewed=o streamed=streamed pair=pair /> }
                })
                .collect_view()}
        </div>
        {(earlier > 0).then(|| view! { <p class="muted">{format!("{earlier} earlier output(s) of this task on this note are kept with their reviews.")}</p> })}
    }
    .into_any()
}

fn sample_name(i: usize) -> String {
    match i {
        0 => "Output A".into(),
        1 => "Output B".into(),
        n => format!("Output {}", n + 1),
    }
}

/// One output: what made it, whether it is saved, the editor and the diff.
#[component]
fn OutputCard(
    rv: Review,
    /// Position on screen (A = 0).
    index: usize,
    /// The output and its review.
    reviewed: ReviewedOutput,
    /// The text streamed for it, when it was made on this page.
    streamed: String,
    /// Shown beside another (A/B).
    pair: bool,
) -> impl IntoView {
    let o = reviewed.output.clone();
    let id = o.id;
    let original = o.text.clone();
    let saved_text = reviewed.edited.clone().unwrap_or_else(|| o.text.clone());
    let initial = rv.draft(&reviewed);
    let current = RwSignal::new(initial.clone());
    let pieces = Memo::new({
        let original = original.clone();
        move |_| current.with(|t| diff::word_diff(&original, t))
    });
    let unsaved = {
        let saved_text = saved_text.clone();
        move || current.with(|t| *t != saved_text)
    };
    let mark = reviewed.mark;
    view! {
        <article
            class="output-card"
            id=format!("output-{index}")
            data-output=id.0.to_string()
            data-streamed=streamed
            aria-current=move || (rv.focus.get() == index).then_some("true")
        >
            <header class="card-head">
                <h3>{sample_name(index)}{pair.then(|| view! { <kbd>{(index + 1).to_string()}</kbd> })}</h3>
                <span class=format!("mark mark-{}", mark_class(mark)) id=format!("mark-{index}") role="status">
                    {move || if unsaved() { "● Edited, not saved — Ctrl+Enter saves".to_owned() } else { mark_text(mark).to_owned() }}
                </span>
            </header>
            <p class="provenance" id=format!("provenance-{index}")>{provenance(&o)}</p>
            <textarea
                class="editor"
                id=format!("editor-{index}")
                aria-label=format!("{}: edit the text, Ctrl+Enter saves, Esc leaves", sample_name(index))
                rows="6"
                prop:value=initial
                on:focus=move |_| rv.focus.set(index)
                on:input=move |ev| {
                    let text = event_target_value(&ev);
                    current.set(text.clone());
                    rv.drafts.update(|d| {
                        d.insert(id, text);
                    });
                }
            ></textarea>
            <div class="diff-head">
                <span class="muted">"Changes from the model's text: "</span>
                <span id=format!("diff-count-{index}")>
                    {move || {
                        let (removed, added) = pieces.with(|p| diff::counts(p));
                        if removed + added == 0 { "none".to_owned() } else { format!("{removed} word(s) removed, {added} added") }
                    }}
                </span>
            </div>
            <WordDiff pieces=pieces id=format!("diff-{index}") />
            {(o.kind == TaskKind::Extract).then(|| view! { <Extraction output=o.clone() /> })}
        </article>
    }
}

fn mark_class(mark: ReviewMark) -> &'static str {
    match mark {
        ReviewMark::Pending => "pending",
        ReviewMark::Accepted => "accepted",
        ReviewMark::Edited => "edited",
        ReviewMark::Preferred => "preferred",
        ReviewMark::NotPreferred => "not-preferred",
        ReviewMark::Rejected => "rejected",
    }
}

fn mark_text(mark: ReviewMark) -> &'static str {
    match mark {
        ReviewMark::Pending => "Not reviewed yet",
        ReviewMark::Accepted => "✓ Saved: accepted",
        ReviewMark::Edited => "✓ Saved: your edit",
        ReviewMark::Preferred => "✓ Saved: preferred",
        ReviewMark::NotPreferred => "✓ Saved: the other was preferred",
        ReviewMark::Rejected => "✓ Saved: rejected",
    }
}

/// What made an output, in one line.
fn provenance(o: &ModelOutput) -> String {
    let model = o.model_name.clone().unwrap_or_else(|| {
        o.model
            .rsplit(['/', '\\'])
            .next()
            .unwrap_or(&o.model)
            .to_owned()
    });
    let adapter = match &o.adapter {
        Some(a) => format!("adapter {}", a.rsplit(['/', '\\']).next().unwrap_or(a)),
        None => "no adapter".to_owned(),
    };
    let number = |k: &str| o.params.get(k).and_then(serde_json::Value::as_f64);
    let sampling = match number("temperature") {
        Some(t) if t > 0.0 => format!(
            "sampled (temperature {t}, top-p {})",
            number("top_p").unwrap_or(1.0)
        ),
        Some(_) => "greedy".to_owned(),
        None => "sampling not recorded".to_owned(),
    };
    let seed = o
        .seed
        .map_or_else(|| "no seed".to_owned(), |s| format!("seed {s}"));
    let stop = match o.stop.as_deref() {
        Some("eos") => "finished",
        Some("max_tokens") => "stopped at the length limit",
        Some("cancelled") => "stopped",
        _ => "",
    };
    let tokens = o
        .completion_tokens
        .map(|t| format!("{t} tokens {stop}"))
        .unwrap_or_default();
    let shortened = if o.truncated {
        " · the note was shortened to fit"
    } else {
        ""
    };
    format!(
        "{model} · {adapter} · task {} v{} · {sampling} · {seed} · {tokens}{shortened}",
        o.task, o.task_version
    )
}

/// An extraction output's fields and the evidence it quoted.
#[component]
fn Extraction(output: ModelOutput) -> impl IntoView {
    if let Some(reason) = output.parse_error.clone() {
        return view! {
            <p class="warn">{format!("The model's answer could not be read as fields ({reason}); edit it into the expected form, or reject it.")}</p>
        }
        .into_any();
    }
    let mentions: Vec<serde_json::Value> = output
        .parsed
        .as_ref()
        .and_then(|p| p.get("mentions"))
        .and_then(serde_json::Value::as_array)
        .cloned()
        .unwrap_or_default();
    if mentions.is_empty() {
        return view! { <p class="muted">"The model found nothing to extract."</p> }.into_any();
    }
    let text = |m: &serde_json::Value, k: &str| {
        m.get(k)
            .map(|v| match v {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Bool(b) => {
                    if *b {
                        "yes".into()
                    } else {
                        "no".into()
                    }
                }
                serde_json::Value::Null => "—".into(),
                other => other.to_string(),
            })
            .unwrap_or_else(|| "—".into())
    };
    view! {
        <table class="fields">
            <caption>"Fields the model extracted (its evidence is marked in the note; accept or reject it on the Annotate page)"</caption>
            <thead><tr><th>"Category"</th><th>"Adverse"</th><th>"Evidence"</th></tr></thead>
            <tbody>
                {mentions
                    .iter()
                    .map(|m| view! { <tr><td>{text(m, "category")}</td><td>{text(m, "adverse")}</td><td class="quote">{text(m, "evidence")}</td></tr> })
                    .collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

/// Every key of the page, for `?`.
const REVIEW_KEYS: &[(&str, &str)] = &[
    ("r", "run the task on this note (the text streams in)"),
    ("Esc", "stop the model; leave the editor; close this"),
    ("e", "edit the output (the diff follows your typing)"),
    (
        "Ctrl+Enter",
        "save your edit (a preference pair and a training example)",
    ),
    ("a", "accept the output unchanged"),
    ("x", "reject it (recorded, not used for training)"),
    ("b", "one output, or two side by side (A/B)"),
    ("1 / 2", "prefer output A / B"),
    ("← / →", "act on output A / B"),
    ("j / k", "next / previous note of the queue"),
    ("Alt+R / Alt+P", "this page / the Pairs page, from anywhere"),
    ("?", "show or hide this list"),
];
