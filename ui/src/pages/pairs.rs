//! The pairs page: the preference pairs and SFT examples that reviews made, virtualised like
//! the Notes list, filtered by kind, origin, annotator, task and split, with counts per split.
//! Opening one shows its prompt, chosen and rejected texts and their word diff; it can move to
//! another split or be deleted (with undo). Datasets go out and come in as TRL JSONL through
//! the system's file dialogs.

use api::{
    DatasetDetail, DatasetFilter, DatasetFormat, DatasetItem, DatasetKind, DatasetListing,
    DatasetRow, Split, SplitCounts,
};
use leptos::ev;
use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::app::{AppCtx, Page};
use crate::client;
use crate::components::{KeysHelp, WordDiff};
use crate::diff;
use crate::pages::notes::is_typing;

/// Height of one row in pixels (fixed, so a row's position is its index times this).
const ROW_H: f64 = 58.0;
/// Rows rendered beyond the viewport on each side.
const OVERSCAN: usize = 8;

const SPLITS: [Split; 4] = [
    Split::Train,
    Split::Validation,
    Split::Test,
    Split::Unassigned,
];

/// Page state shared by its handlers.
#[derive(Clone, Copy)]
struct Pairs {
    ctx: AppCtx,
    filter: RwSignal<DatasetFilter>,
    listing: RwSignal<Option<DatasetListing>>,
    selected: RwSignal<usize>,
    detail: RwSignal<Option<DatasetDetail>>,
    said: RwSignal<Option<String>>,
    /// The last deletion, offered for undo.
    undo: RwSignal<Option<DatasetItem>>,
    help: RwSignal<bool>,
    list_ref: NodeRef<html::Div>,
}

impl Pairs {
    fn reload(self) {
        let filter = self.filter.get_untracked();
        spawn_local(async move {
            match client::pairs_list(&filter).await {
                Ok(listing) if self.filter.get_untracked() == filter => {
                    let n = listing.rows.len();
                    self.listing.set(Some(listing));
                    if self.selected.get_untracked() >= n {
                        self.selected.set(n.saturating_sub(1));
                    }
                }
                Ok(_) => {}
                Err(e) => self.ctx.fail(e),
            }
        });
    }

    fn row(self, index: usize) -> Option<DatasetRow> {
        self.listing
            .with_untracked(|l| l.as_ref().and_then(|l| l.rows.get(index).cloned()))
    }

    fn open(self, index: usize) {
        let Some(row) = self.row(index) else { return };
        self.selected.set(index);
        spawn_local(async move {
            match client::pairs_show(row.item).await {
                Ok(d) => self.detail.set(Some(d)),
                Err(e) => self.ctx.fail(e),
            }
        });
    }

    fn delete(self, item: DatasetItem) {
        spawn_local(async move {
            match client::pairs_delete(item).await {
                Ok(()) => {
                    self.undo.set(Some(item));
                    self.said.set(Some(format!(
                        "Deleted {} #{}.",
                        kind_name(item.kind),
                        item.id
                    )));
                    if self.detail.with_untracked(|d| d.as_ref().map(item_of)) == Some(item) {
                        self.detail.set(None);
                    }
                    self.reload();
                }
                Err(e) => self.ctx.fail(e),
            }
        });
    }

    fn undo_delete(self) {
        spawn_local(async move {
            match client::pairs_undo_delete().await {
                Ok(Some(item)) => {
                    self.undo.set(None);
                    self.said.set(Some(format!(
                        "{} #{} is back.",
                        capitalised(kind_name(item.kind)),
                        item.id
                    )));
                    self.reload();
                }
                Ok(None) => self.said.set(Some("Nothing to undo.".into())),
                Err(e) => self.ctx.fail(e),
            }
        });
    }

    fn move_to(self, item: DatasetItem, split: Split) {
        spawn_local(async move {
            match client::pairs_move(item, split).await {
                Ok(moved) => {
                    self.said.set(Some(format!(
                        "Moved to {}: {moved} row(s) of the same note, so that a note is never \
                         in two splits.",
                        split_name(split)
                    )));
                    self.reload();
                    if let Ok(d) = client::pairs_show(item).await {
                        self.detail.set(Some(d));
                    }
                }
                Err(e) => self.ctx.fail(e),
            }
        });
    }

    fn export(self, format: DatasetFormat) {
        let split = self.filter.get_untracked().split;
        spawn_local(async move {
            match client::pairs_export(format, split).await {
                Ok(Some(done)) => self.said.set(Some(format!(
                    "Wrote {} line(s) to {}.",
                    done.written, done.path
                ))),
                Ok(None) => {}
                Err(e) => self.ctx.fail(e),
            }
        });
    }

    fn import(self) {
        spawn_local(async move {
            match client::pairs_import().await {
                Ok(Some(s)) => {
                    let mut text = format!(
                        "Added {} pair(s) and {} training example(s); {} were already here.",
                        s.pairs, s.sft_examples, s.duplicates
                    );
                    if let Some(first) = s.rejected.first() {
                        text.push_str(&format!(
                            " {} line(s) could not be read (the first: line {}).",
                            s.rejected.len(),
                            first.line
                        ));
                    }
                    self.said.set(Some(text));
                    self.reload();
                }
                Ok(None) => {}
                Err(e) => self.ctx.fail(e),
            }
        });
    }

    fn scroll_to(self, index: usize) {
        if let Some(list) = self.list_ref.get_untracked() {
            let top = index as f64 * ROW_H;
            let h = f64::from(list.client_height());
            let cur = f64::from(list.scroll_top());
            if top < cur {
                list.set_scroll_top(top as i32);
            } else if top + ROW_H > cur + h {
                list.set_scroll_top((top + ROW_H - h) as i32);
            }
        }
    }

    fn on_key(self, ev: &ev::KeyboardEvent) {
        if ev.alt_key() || ev.meta_key() || self.ctx.page.get_untracked() != Page::Pairs {
            return;
        }
        let key = ev.key();
        if key == "Escape" {
            self.help.set(false);
            return;
        }
        if is_typing(ev) {
            return;
        }
        if ev.ctrl_key() {
            if key == "z" {
                ev.prevent_default();
                self.undo_delete();
            }
            return;
        }
        let n = self
            .listing
            .with_untracked(|l| l.as_ref().map_or(0, |l| l.rows.len()));
        let cur = self.selected.get_untracked().min(n.saturating_sub(1));
        let next = match key.as_str() {
            "?" => {
                ev.prevent_default();
                self.help.update(|h| *h = !*h);
                return;
            }
            "j" | "ArrowDown" => (cur + 1).min(n.saturating_sub(1)),
            "k" | "ArrowUp" => cur.saturating_sub(1),
            "PageDown" => (cur + 10).min(n.saturating_sub(1)),
            "PageUp" => cur.saturating_sub(10),
            "Home" => 0,
            "End" => n.saturating_sub(1),
            "Enter" | "o" => {
                ev.prevent_default();
                self.open(cur);
                return;
            }
            "Delete" => {
                ev.prevent_default();
                if let Some(row) = self.row(cur) {
                    self.delete(row.item);
                }
                return;
            }
            "u" => {
                ev.prevent_default();
                self.undo_delete();
                return;
            }
            _ => return,
        };
        ev.prevent_default();
        self.selected.set(next);
        self.scroll_to(next);
        self.open(next);
    }
}

fn item_of(d: &DatasetDetail) -> DatasetItem {
    match d {
        DatasetDetail::Pair(p) => DatasetItem {
            kind: DatasetKind::Pair,
            id: p.id.0,
        },
        DatasetDetail::Sft(e) => DatasetItem {
            kind: DatasetKind::Sft,
            id: e.id.0,
        },
    }
}

fn kind_name(kind: DatasetKind) -> &'static str {
    match kind {
        DatasetKind::Pair => "preference pair",
        DatasetKind::Sft => "training example",
    }
}

fn capitalised(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn split_name(split: Split) -> &'static str {
    match split {
        Split::Train => "train",
        Split::Validation => "validation",
        Split::Test => "test",
        Split::Unassigned => "not assigned",
    }
}

fn origin_name(origin: &str) -> &str {
    match origin {
        "edit" => "your edit",
        "ranking" => "A/B preference",
        "accept" => "accepted output",
        "annotation" => "from annotations",
        "synthetic" => "synthetic",
        "import" => "imported",
        other => other,
    }
}

/// The pairs page.
#[component]
pub fn PairsPage() -> impl IntoView {
    let ctx = expect_context::<AppCtx>();
    let pg = Pairs {
        ctx,
        filter: RwSignal::new(DatasetFilter::default()),
        listing: RwSignal::new(None),
        selected: RwSignal::new(0),
        detail: RwSignal::new(None),
        said: RwSignal::new(None),
        undo: RwSignal::new(None),
        help: RwSignal::new(false),
        list_ref: NodeRef::new(),
    };
    let scroll_top = RwSignal::new(0.0f64);
    let view_h = RwSignal::new(640.0f64);
    Effect::new(move |_| {
        pg.filter.track();
        if ctx.project.with(Option::is_some) {
            pg.reload();
        }
    });
    let keys = window_event_listener(ev::keydown, move |ev| pg.on_key(&ev));
    on_cleanup(move || keys.remove());
    // The list takes the keyboard as soon as it shows.
    Effect::new(move |_| {
        if let Some(list) = pg.list_ref.get() {
            let _ = list.focus();
            view_h.set(f64::from(list.client_height()).max(ROW_H));
        }
    });
    let total = move || pg.listing.with(|l| l.as_ref().map_or(0, |l| l.rows.len()));
    let visible = Memo::new(move |_| {
        let n = total();
        let first = (scroll_top.get() / ROW_H) as usize;
        let shown = (view_h.get() / ROW_H).ceil() as usize;
        first.saturating_sub(OVERSCAN)..(first + shown + OVERSCAN).min(n)
    });
    let set_filter = move |f: fn(&mut DatasetFilter, Option<String>)| {
        move |ev: leptos::ev::Event| {
            let v = event_target_value(&ev);
            pg.filter.update(|q| f(q, (!v.is_empty()).then_some(v)));
            pg.selected.set(0);
            pg.detail.set(None);
        }
    };
    let empty_project = move || {
        pg.listing.with(|l| {
            l.as_ref()
                .is_some_and(|l| counts_total(l.pairs) + counts_total(l.sft) == 0)
        })
    };

    view! {
        <section class="pairs" aria-labelledby="pairs-title">
            <div class="review-head">
                <h1 id="pairs-title">"Training data"</h1>
                <SplitCountsLine pg=pg />
                <button class="help-button" on:click=move |_| pg.help.set(true)>"? Keys"</button>
            </div>
            <div class="toolbar">
                <select aria-label="Kind" id="pairs-kind" on:change={set_filter(|q, v| q.kind = match v.as_deref() { Some("pair") => Some(DatasetKind::Pair), Some("sft") => Some(DatasetKind::Sft), _ => None })}>
                    <option value="">"Pairs and examples"</option>
                    <option value="pair">"Preference pairs"</option>
                    <option value="sft">"Training examples (SFT)"</option>
                </select>
                <select aria-label="Origin" on:change=set_filter(|q, v| q.origin = v)>
                    <option value="">"Any origin"</option>
                    {["edit", "ranking", "accept", "annotation", "synthetic", "import"]
                        .into_iter()
                        .map(|o| view! { <option value=o>{origin_name(o)}</option> })
                        .collect_view()}
                </select>
                <select aria-label="Annotator" on:change=set_filter(|q, v| q.annotator = v)>
                    <option value="">"Anyone"</option>
                    {move || pg.listing.with(|l| l.as_ref().map(|l| l.annotators.clone()).unwrap_or_default())
                        .into_iter()
                        .map(|a| view! { <option value=a.clone()>{a.clone()}</option> })
                        .collect_view()}
                </select>
                <select aria-label="Task" on:change=set_filter(|q, v| q.task = v)>
                    <option value="">"Any task"</option>
                    {move || pg.listing.with(|l| l.as_ref().map(|l| l.tasks.clone()).unwrap_or_default())
                        .into_iter()
                        .map(|t| view! { <option value=t.clone()>{t.clone()}</option> })
                        .collect_view()}
                </select>
                <select aria-label="Split" on:change=set_filter(|q, v| q.split = v.as_deref().and_then(Split::parse))>
                    <option value="">"Any split"</option>
                    {SPLITS.into_iter().map(|s| view! { <option value=s.as_str()>{split_name(s)}</option> }).collect_view()}
                </select>
                <span class="count" id="pairs-count">{move || pg.listing.with(|l| l.as_ref().map(|l| format!("{} shown", l.rows.len())).unwrap_or_else(|| "loading…".into()))}</span>
                <button on:click=move |_| pg.export(DatasetFormat::TrlPreference) title="TRL preference JSONL: prompt, chosen, rejected">"Export pairs…"</button>
                <button on:click=move |_| pg.export(DatasetFormat::TrlSft) title="TRL SFT JSONL: prompt, completion">"Export examples…"</button>
                <button on:click=move |_| pg.import() title="TRL preference or SFT JSONL">"Import…"</button>
            </div>
            <Show when=move || pg.said.with(Option::is_some)>
                <p class="said" id="pairs-said" role="status">
                    {move || pg.said.get()}
                    <Show when=move || pg.undo.with(Option::is_some)>
                        " " <button class="link" id="pairs-undo" on:click=move |_| pg.undo_delete()>"Undo (Ctrl+Z)"</button>
                    </Show>
                </p>
            </Show>
            {move || {
                if ctx.project.with(Option::is_none) {
                    return view! {
                        <div class="empty" id="pairs-empty">
                            <p>"Open a project to see its training data."</p>
                            <button class="primary" on:click=move |_| ctx.page.set(Page::Projects)>"Open a project"</button>
                        </div>
                    }
                    .into_any();
                }
                if empty_project() {
                    return view! {
                        <div class="empty" id="pairs-empty">
                            <p>"No training data yet. On the Review page, every edit you save becomes a preference pair (your text over the model's) and a training example."</p>
                            <button class="primary" on:click=move |_| ctx.page.set(Page::Review)>"Review model outputs"</button>
                        </div>
                    }
                    .into_any();
                }
                if pg.listing.with(|l| l.as_ref().is_some_and(|l| l.rows.is_empty())) {
                    return view! {
                        <div class="empty" id="pairs-empty">
                            <p>"Nothing matches these filters."</p>
                            <button class="primary" on:click=move |_| pg.filter.set(DatasetFilter::default())>"Show everything"</button>
                        </div>
                    }
                    .into_any();
                }
                view! {
                    <div class="pairs-grid">
                        <div
                            class="list"
                            id="pairs-list"
                            tabindex="0"
                            role="listbox"
                            aria-label="Pairs and examples (j/k or arrows move, Enter opens, Delete deletes)"
                            aria-activedescendant=move || format!("pair-row-{}", pg.selected.get())
                            node_ref=pg.list_ref
                            on:scroll=move |_| {
                                if let Some(list) = pg.list_ref.get_untracked() {
                                    scroll_top.set(f64::from(list.scroll_top()));
                                    view_h.set(f64::from(list.client_height()).max(ROW_H));
                                }
                            }
                        >
                            <div class="list-inner" style:height=move || format!("{}px", total() as f64 * ROW_H)>
                                {move || {
                                    let sel = pg.selected.get();
                                    visible
                                        .get()
                                        .filter_map(|i| pg.listing.with(|l| l.as_ref().and_then(|l| l.rows.get(i).cloned())).map(|r| (i, r)))
                                        .map(|(i, r)| view! {
                                            <div
                                                class="row"
                                                id=format!("pair-row-{i}")
                                                role="option"
                                                aria-selected=(i == sel).to_string()
                                                style:top=format!("{}px", i as f64 * ROW_H)
                                                on:click=move |_| pg.open(i)
                                            >
                                                <PairRow row=r />
                                            </div>
                                        })
                                        .collect_view()
                                }}
                            </div>
                        </div>
                        <PairDetail pg=pg />
                    </div>
                }
                .into_any()
            }}
            <Show when=move || pg.help.get()>
                <KeysHelp page="Training data" keys=PAIRS_KEYS open=pg.help />
            </Show>
        </section>
    }
}

fn counts_total(c: SplitCounts) -> u64 {
    c.train + c.validation + c.test + c.unassigned
}

/// Counts per split of pairs and of SFT examples.
#[component]
fn SplitCountsLine(pg: Pairs) -> impl IntoView {
    let line = |c: SplitCounts| {
        format!(
            "train {} · validation {} · test {} · not assigned {}",
            c.train, c.validation, c.test, c.unassigned
        )
    };
    view! {
        <div class="split-counts" id="split-counts">
            {move || pg.listing.get().map(|l| view! {
                <span><strong>"Preference pairs: "</strong><span id="pair-counts">{line(l.pairs)}</span></span>
                <span><strong>"Training examples: "</strong><span id="sft-counts">{line(l.sft)}</span></span>
            })}
        </div>
    }
}

/// One row: kind, id, origin, note, split and the start of its texts.
#[component]
fn PairRow(row: DatasetRow) -> impl IntoView {
    view! {
        <div class="row-head">
            <span class="note-id">{format!("{} #{}", if row.item.kind == DatasetKind::Pair { "Pair" } else { "Example" }, row.item.id)}</span>
            <span class="category">{origin_name(&row.origin).to_owned()}</span>
            <span class="muted">{row.note_id.map(|n| format!("note #{}", n.0)).unwrap_or_default()}</span>
            <span class="muted">{row.task.clone().unwrap_or_default()}</span>
            <span class="muted">{row.annotator.clone().unwrap_or_default()}</span>
            <span class=format!("status split-{}", row.split.as_str())>{split_name(row.split)}</span>
        </div>
        <div class="snippet">
            <span class="chosen-start">{row.chosen_start.clone()}</span>
            {row.rejected_start.map(|r| view! { <span class="muted">" — over: "</span><del>{r}</del> })}
        </div>
    }
}

/// The opened row: prompt, chosen and rejected (with their diff), split and delete.
#[component]
fn PairDetail(pg: Pairs) -> impl IntoView {
    view! {
        <div class="pair-detail" id="pair-detail">
            {move || match pg.detail.get() {
                None => view! { <p class="empty">"Open a row (Enter) to read it in full."</p> }.into_any(),
                Some(d) => {
                    let item = item_of(&d);
                    let (prompt, chosen, rejected, split, origin, note) = match &d {
                        DatasetDetail::Pair(p) => (p.prompt.clone(), p.chosen.clone(), Some(p.rejected.clone()), p.split, p.origin.as_str(), p.note_id),
                        DatasetDetail::Sft(e) => (e.prompt.clone(), e.completion.clone(), None, e.split, e.origin.as_str(), e.note_id),
                    };
                    let pieces = Signal::derive({
                        let (chosen, rejected) = (chosen.clone(), rejected.clone());
                        move || diff::word_diff(rejected.as_deref().unwrap_or_default(), &chosen)
                    });
                    view! {
                        <div class="detail-head">
                            <h2 id="pair-title">{format!("{} #{}", capitalised(kind_name(item.kind)), item.id)}</h2>
                            <span class="muted">{format!("{} · {}", origin_name(origin), note.map(|n| format!("note #{}", n.0)).unwrap_or_else(|| "no note".into()))}</span>
                            <label>
                                "Split "
                                <select id="pair-split" on:change=move |ev| {
                                    if let Some(s) = Split::parse(&event_target_value(&ev)) {
                                        pg.move_to(item, s);
                                    }
                                }>
                                    {SPLITS.into_iter().map(|s| view! { <option value=s.as_str() selected={s == split}>{split_name(s)}</option> }).collect_view()}
                                </select>
                            </label>
                            <button id="pair-delete" on:click=move |_| pg.delete(item)>"Delete"</button>
                        </div>
                        <details class="prompt">
                            <summary>"Prompt (what the model was asked)"</summary>
                            <pre id="pair-prompt">{prompt}</pre>
                        </details>
                        <h3>{if rejected.is_some() { "Chosen (better)" } else { "Completion" }}</h3>
                        <div class="text-block chosen" id="pair-chosen">{chosen}</div>
                        {rejected.map(|r| view! {
                            <h3>"Rejected (worse)"</h3>
                            <div class="text-block rejected" id="pair-rejected">{r}</div>
                            <h3>"What changed"</h3>
                            <WordDiff pieces=pieces id="pair-diff".to_owned() />
                        })}
                    }
                    .into_any()
                }
            }}
        </div>
    }
}

/// Every key of the page, for `?`.
const PAIRS_KEYS: &[(&str, &str)] = &[
    ("j / k, ↓ / ↑", "next / previous row (it opens)"),
    ("Enter", "open the row"),
    ("Delete", "delete the row"),
    ("u, Ctrl+Z", "undo the deletion"),
    ("Esc", "close this"),
    ("?", "show or hide this list"),
];
