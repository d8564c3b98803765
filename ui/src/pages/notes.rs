//! The notes list: full-text search with highlights, filters and counts, virtualised so that
//! 100,000 notes scroll smoothly (only the rows in view exist; pages of rows load on demand).

use std::collections::{HashMap, HashSet};

use api::{NoteStatus, NoteSummary, SearchOrder, SearchQuery};
use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::app::AppCtx;
use crate::client;
use crate::pages::import::{FormatSelect, Transfer, TransferBar, TransferSummary};
use crate::transfer::{Empty, IMPORT_FORMATS, empty_state, search_problem};

/// Height of one row in pixels (fixed, so a row's position is its index times this).
const ROW_H: f64 = 58.0;
/// Rows fetched per request.
const PAGE: usize = 100;
/// Rows rendered beyond the viewport on each side.
const OVERSCAN: usize = 8;

/// The notes page.
#[component]
pub fn NotesPage() -> impl IntoView {
    let ctx = expect_context::<AppCtx>();
    let text = RwSignal::new(ctx.query.get_untracked().text);
    let total = RwSignal::new(None::<u64>);
    let rows: RwSignal<HashMap<usize, NoteSummary>> = RwSignal::new(HashMap::new());
    let requested: StoredValue<HashSet<usize>> = StoredValue::new(HashSet::new());
    let generation = StoredValue::new(0u64);
    let scroll_top = RwSignal::new(0.0f64);
    let view_h = RwSignal::new(640.0f64);
    let selected = RwSignal::new(ctx.current.get_untracked().map_or(0, |(_, i)| i));
    let list_ref = NodeRef::<html::Div>::new();
    let search_ref = NodeRef::<html::Input>::new();
    let annotators = LocalResource::new(client::annotators);
    let transfer = Transfer::new();
    // Why the typed search was not sent (too long), shown under the field.
    let problem = RwSignal::new(None::<String>);

    // Fetches the page holding row `index` unless it is loaded or on its way.
    let fetch_page = move |page: usize| {
        if !requested.with_value(|r| r.contains(&page)) {
            requested.update_value(|r| {
                r.insert(page);
            });
            let asked = generation.get_value();
            let mut query = ctx.query.get_untracked();
            query.limit = PAGE;
            query.offset = page * PAGE;
            spawn_local(async move {
                match client::search_notes(&query).await {
                    Ok(found) if generation.get_value() == asked => rows.update(|rows| {
                        for (i, note) in found.into_iter().enumerate() {
                            rows.insert(page * PAGE + i, note);
                        }
                    }),
                    Ok(_) => {}
                    Err(e) => ctx.fail(e),
                }
            });
        }
    };

    // A new query: forget the rows, count again, go to the top.
    Effect::new(move |_| {
        let query = ctx.query.get();
        generation.update_value(|g| *g += 1);
        requested.update_value(HashSet::clear);
        rows.set(HashMap::new());
        total.set(None);
        let asked = generation.get_value();
        spawn_local(async move {
            match client::count_notes(&query).await {
                Ok(n) if generation.get_value() == asked => total.set(Some(n)),
                Ok(_) => {}
                Err(e) => ctx.fail(e),
            }
        });
    });

    let visible = Memo::new(move |_| {
        let n = total.get().unwrap_or(0) as usize;
        let first = (scroll_top.get() / ROW_H) as usize;
        let shown = (view_h.get() / ROW_H).ceil() as usize;
        let start = first.saturating_sub(OVERSCAN);
        let end = (first + shown + OVERSCAN).min(n);
        start..end
    });
    Effect::new(move |_| {
        let range = visible.get();
        if total.get().is_none() || range.is_empty() {
            return;
        }
        for page in range.start / PAGE..=(range.end - 1) / PAGE {
            fetch_page(page);
        }
    });

    // Debounced search as the user types.
    let typed = move |value: String| {
        text.set(value.clone());
        problem.set(search_problem(&value));
        if problem.with_untracked(Option::is_some) {
            return;
        }
        set_timeout(
            move || {
                if text.get_untracked() == value && ctx.query.with_untracked(|q| q.text != value) {
                    ctx.query.update(|q| q.text = value);
                    selected.set(0);
                }
            },
            std::time::Duration::from_millis(160),
        );
    };

    let open = move |index: usize| {
        if let Some(note) = rows.with_untracked(|r| r.get(&index).map(|n| n.id)) {
            ctx.open_note(note, index);
        }
    };
    let scroll_to = move |index: usize| {
        if let Some(list) = list_ref.get_untracked() {
            let top = index as f64 * ROW_H;
            let h = f64::from(list.client_height());
            let cur = list.scroll_top() as f64;
            if top < cur {
                list.set_scroll_top(top as i32);
            } else if top + ROW_H > cur + h {
                list.set_scroll_top((top + ROW_H - h) as i32);
            }
        }
    };
    let on_list_key = move |ev: leptos::ev::KeyboardEvent| {
        let n = total.get_untracked().unwrap_or(0) as usize;
        if n == 0 {
            return;
        }
        let cur = selected.get_untracked().min(n - 1);
        let next = match ev.key().as_str() {
            "ArrowDown" | "j" => (cur + 1).min(n - 1),
            "ArrowUp" | "k" => cur.saturating_sub(1),
            "PageDown" => (cur + 10).min(n - 1),
            "PageUp" => cur.saturating_sub(10),
            "Home" => 0,
            "End" => n - 1,
            "Enter" => {
                open(cur);
                ev.prevent_default();
                return;
            }
            _ => return,
        };
        ev.prevent_default();
        selected.set(next);
        scroll_to(next);
    };
    let on_page_key = move |ev: leptos::ev::KeyboardEvent| {
        if is_typing(&ev) || ev.alt_key() || ev.ctrl_key() || ev.meta_key() {
            return;
        }
        match ev.key().as_str() {
            "/" => {
                ev.prevent_default();
                if let Some(input) = search_ref.get_untracked() {
                    let _ = input.focus();
                }
            }
            "i" => {
                ev.prevent_default();
                transfer.import(ctx);
            }
            _ => {}
        }
    };
    // Clears the search and the filters: the way out of a list with no match.
    let clear = move || {
        text.set(String::new());
        problem.set(None);
        ctx.query.set(SearchQuery::default());
        selected.set(0);
    };
    let empty = move || {
        (total.get() == Some(0)).then(|| {
            let notes = ctx
                .project
                .with(|p| p.as_ref().map_or(0, |p| p.stats.notes));
            ctx.query.with(|q| empty_state(q, notes))
        })
    };
    // A project with no notes: the keyboard lands on the button that imports some.
    Effect::new(move |_| {
        if empty() == Some(Empty::NoNotes) {
            request_animation_frame(|| {
                use wasm_bindgen::JsCast;
                if let Some(button) = document()
                    .get_element_by_id("empty-import")
                    .and_then(|b| b.dyn_into::<web_sys::HtmlElement>().ok())
                {
                    let _ = button.focus();
                }
            });
        }
    });
    // The list takes the keyboard as soon as the page shows.
    Effect::new(move |_| {
        if let Some(list) = list_ref.get() {
            let _ = list.focus();
            view_h.set(f64::from(list.client_height()).max(ROW_H));
            let index = selected.get_untracked();
            list.set_scroll_top((index as f64 * ROW_H - 2.0 * ROW_H).max(0.0) as i32);
        }
    });

    let categories = move || {
        ctx.project
            .get()
            .map(|p| {
                p.stats
                    .by_category
                    .keys()
                    .filter(|c| !c.is_empty())
                    .cloned()
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    };
    let set_filter = move |f: fn(&mut SearchQuery, Option<String>)| {
        move |ev: leptos::ev::Event| {
            let v = event_target_value(&ev);
            ctx.query.update(|q| f(q, (!v.is_empty()).then_some(v)));
            selected.set(0);
        }
    };

    view! {
        <section class="notes" on:keydown=on_page_key aria-labelledby="notes-title">
            <h1 id="notes-title" class="visually-hidden">"Notes"</h1>
            <div class="toolbar" role="search">
                <input
                    id="search"
                    type="search"
                    node_ref=search_ref
                    placeholder="Search notes (/) — words, \"phrases\", prefix*"
                    aria-label="Search notes"
                    prop:value=move || text.get()
                    on:input=move |ev| typed(event_target_value(&ev))
                    on:keydown=move |ev| {
                        if ev.key() == "Enter" || ev.key() == "ArrowDown" {
                            ev.prevent_default();
                            let value = text.get_untracked();
                            if search_problem(&value).is_some() {
                                return;
                            }
                            if ctx.query.with_untracked(|q| q.text != value) {
                                ctx.query.update(|q| q.text = value);
                            }
                            if let Some(list) = list_ref.get_untracked() {
                                let _ = list.focus();
                            }
                        }
                    }
                />
                <select
                    aria-label="Category"
                    prop:value=move || ctx.query.with(|q| q.category.clone().unwrap_or_default())
                    on:change=set_filter(|q, v| q.category = v)>
                    <option value="">"All categories"</option>
                    {move || {
                        categories()
                            .into_iter()
                            .map(|c| {
                                let selected = ctx.query.with_untracked(|q| q.category.as_deref() == Some(c.as_str()));
                                view! { <option value=c.clone() selected=selected>{c.clone()}</option> }
                            })
                            .collect_view()
                    }}
                </select>
                <select
                    aria-label="Status"
                    prop:value=move || ctx.query.with(|q| q.status.map(|s| s.as_str()).unwrap_or_default())
                    on:change=set_filter(|q, v| q.status = v.as_deref().and_then(NoteStatus::parse))
                >
                    <option value="">"Any status"</option>
                    {NoteStatus::ALL
                        .into_iter()
                        .map(|s| view! { <option value=s.as_str()>{status_text(s)}</option> })
                        .collect_view()}
                </select>
                <select
                    aria-label="Label"
                    prop:value=move || ctx.query.with(|q| q.label.clone().unwrap_or_default())
                    on:change=set_filter(|q, v| q.label = v)>
                    <option value="">"Any label"</option>
                    {move || {
                        ctx.labels
                            .get()
                            .into_iter()
                            .map(|l| view! { <option value=l.name.clone()>{l.display.clone()}</option> })
                            .collect_view()
                    }}
                </select>
                <select
                    aria-label="Annotator"
                    prop:value=move || ctx.query.with(|q| q.annotator.clone().unwrap_or_default())
                    on:change=set_filter(|q, v| q.annotator = v)>
                    <option value="">"Any annotator"</option>
                    {move || {
                        annotators
                            .get()
                            .and_then(Result::ok)
                            .unwrap_or_default()
                            .into_iter()
                            .map(|a| view! { <option value=a.clone()>{a.clone()}</option> })
                            .collect_view()
                    }}
                </select>
                <select
                    id="note-order"
                    aria-label="Order"
                    title="Least certain first: the notes a classifier was least sure of (after it suggested labels), so annotating them teaches it most"
                    prop:value=move || ctx.query.with(|q| order_name(q.order))
                    on:change=move |ev| {
                        let order = match event_target_value(&ev).as_str() {
                            "relevance" => SearchOrder::Relevance,
                            "uncertainty" => SearchOrder::Uncertainty,
                            _ => SearchOrder::Id,
                        };
                        ctx.query.update(|q| q.order = order);
                        selected.set(0);
                    }>
                    <option value="id">"In note order"</option>
                    <option value="relevance">"Best match first"</option>
                    <option value="uncertainty">"Least certain first"</option>
                </select>
                <span class="count" id="note-count" aria-live="polite">
                    {move || match total.get() {
                        Some(1) => "1 note".to_owned(),
                        Some(n) => format!("{n} notes"),
                        None if problem.with(Option::is_some) => String::new(),
                        None => "counting…".to_owned(),
                    }}
                </span>
            </div>
            {move || problem.get().map(|p| view! { <p class="inline-error" id="search-problem" role="alert">{p}</p> })}
            <TransferBar transfer=transfer />
            <TransferSummary transfer=transfer />
            {move || empty().map(|why| match why {
                Empty::NoNotes => view! {
                    <div class="empty empty-state" id="notes-empty">
                        <h2>"This project has no notes yet."</h2>
                        <p>"Import notes to start: a CSV file (MIMIC NOTEEVENTS as it is), JSON Lines, a folder of text files, a brat folder, or a Label Studio or Prodigy export."</p>
                        <div class="toolbar">
                            <FormatSelect
                                id="empty-import-format"
                                label="Import notes from"
                                formats=&IMPORT_FORMATS
                                value=transfer.import_format
                            />
                            <button
                                id="empty-import"
                                class="primary"
                                autofocus=true
                                disabled=move || transfer.busy.get()
                                on:click=move |_| transfer.import(ctx)
                            >
                                "Import notes…"
                            </button>
                        </div>
                    </div>
                }.into_any(),
                Empty::NoMatch(said) => view! {
                    <div class="empty empty-state" id="notes-empty">
                        <p>{said}</p>
                        <button id="clear-search" class="primary" on:click=move |_| clear()>
                            "Clear the search"
                        </button>
                    </div>
                }.into_any(),
            })}
            <div
                class="list"
                id="note-list"
                style:display=move || if total.get() == Some(0) { "none" } else { "block" }
                tabindex="0"
                role="listbox"
                aria-label="Notes (arrows or j/k to move, Enter to open)"
                aria-activedescendant=move || format!("note-row-{}", selected.get())
                node_ref=list_ref
                on:keydown=on_list_key
                on:scroll=move |_| {
                    if let Some(list) = list_ref.get_untracked() {
                        scroll_top.set(f64::from(list.scroll_top()));
                        view_h.set(f64::from(list.client_height()).max(ROW_H));
                    }
                }
            >
                <div
                    class="list-inner"
                    style:height=move || format!("{}px", total.get().unwrap_or(0) as f64 * ROW_H)
                >
                    {move || {
                        let sel = selected.get();
                        visible
                            .get()
                            .map(|i| {
                                let row = rows.with(|r| r.get(&i).cloned());
                                view! {
                                    <div
                                        class="row"
                                        id=format!("note-row-{i}")
                                        role="option"
                                        aria-selected=(i == sel).to_string()
                                        style:top=format!("{}px", i as f64 * ROW_H)
                                        on:click=move |_| {
                                            selected.set(i);
                                            open(i);
                                        }
                                    >
                                        {row.map(|n| view! { <NoteRow note=n /> }.into_any())
                                            .unwrap_or_else(|| view! { <span class="muted">"…"</span> }.into_any())}
                                    </div>
                                }
                            })
                            .collect_view()
                    }}
                </div>
            </div>
            <p class="keys muted">"/ search · ↑↓ or j k move · Enter open · i import · ? all keys"</p>
        </section>
    }
}

/// One row: id, category, status and the snippet with the matches highlighted.
#[component]
fn NoteRow(note: NoteSummary) -> impl IntoView {
    let mut parts = Vec::new();
    let mut at = 0;
    for h in &note.highlights {
        if h.start >= at
            && h.end <= note.snippet.len()
            && note.snippet.is_char_boundary(h.start)
            && note.snippet.is_char_boundary(h.end)
        {
            parts.push((note.snippet[at..h.start].to_owned(), false));
            parts.push((note.snippet[h.start..h.end].to_owned(), true));
            at = h.end;
        }
    }
    parts.push((note.snippet.get(at..).unwrap_or_default().to_owned(), false));
    view! {
        <div class="row-head">
            <span class="note-id">{format!("#{}", note.id.0)}</span>
            <span class="category">{note.category.clone().unwrap_or_default()}</span>
            <span class=format!("status status-{}", note.status.as_str())>{status_text(note.status)}</span>
            <span class="muted">{format!("{} chars", note.chars)}</span>
        </div>
        <div class="snippet">
            {parts
                .into_iter()
                .map(|(t, hit)| if hit { view! { <mark>{t}</mark> }.into_any() } else { t.into_any() })
                .collect_view()}
        </div>
    }
}

/// A status as people say it.
pub fn status_text(s: NoteStatus) -> &'static str {
    match s {
        NoteStatus::Todo => "to do",
        NoteStatus::InProgress => "in progress",
        NoteStatus::Done => "done",
        NoteStatus::Skipped => "skipped",
    }
}

/// Whether a key went to a text field (so page shortcuts leave it alone).
pub fn is_typing(ev: &leptos::ev::KeyboardEvent) -> bool {
    use wasm_bindgen::JsCast;
    ev.target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .is_some_and(|el| matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT"))
}

/// The order select's value for `order`.
fn order_name(order: SearchOrder) -> &'static str {
    match order {
        SearchOrder::Id => "id",
        SearchOrder::Relevance => "relevance",
        SearchOrder::Uncertainty => "uncertainty",
    }
}
