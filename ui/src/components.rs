//! Small components every page uses.

use leptos::prelude::*;

use crate::app::AppCtx;
use crate::diff::Piece;
use crate::text::escape_html;

/// The last error, with its hint, until dismissed (Escape or the button).
#[component]
pub fn ErrorBanner() -> impl IntoView {
    let ctx = expect_context::<AppCtx>();
    view! {
        <Show when=move || ctx.error.with(Option::is_some)>
            <div class="error" role="alert" id="error">
                <strong>{move || ctx.error.get().map(|e| sentence(&e.message))}</strong>
                <span class="hint">{move || ctx.error.get().and_then(|e| e.hint)}</span>
                <button aria-label="Dismiss" on:click=move |_| ctx.error.set(None)>"×"</button>
            </div>
        </Show>
    }
}

/// A message as a sentence: library errors start in lower case (Rust's convention), the
/// banner speaks to people.
fn sentence(message: &str) -> String {
    let mut chars = message.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A bar for the running job (demo creation, import), hidden when idle.
#[component]
pub fn ProgressBar() -> impl IntoView {
    let ctx = expect_context::<AppCtx>();
    view! {
        <Show when=move || ctx.progress.with(Option::is_some)>
            {move || {
                ctx.progress
                    .get()
                    .map(|p| {
                        let pct = p.total.filter(|&t| t > 0).map(|t| p.done * 100 / t);
                        view! {
                            <div class="progress" role="status" aria-live="polite">
                                <span>{p.stage.clone()}</span>
                                <progress max="100" value=pct.unwrap_or(0)></progress>
                                <span>
                                    {match p.total {
                                        Some(t) => format!("{} / {} {}", p.done, t, p.unit),
                                        None => format!("{} {}", p.done, p.unit),
                                    }}
                                </span>
                            </div>
                        }
                    })
            }}
        </Show>
    }
}

/// A word diff drawn inline: removed words struck through, added words marked. Drawn as one
/// HTML string, so a keystroke costs one DOM update however long the text.
#[component]
pub fn WordDiff(
    /// The diff, recomputed as the text changes.
    #[prop(into)]
    pieces: Signal<Vec<Piece>>,
    /// The element's id.
    id: String,
) -> impl IntoView {
    let html = move || {
        pieces.with(|pieces| {
            let mut html = String::new();
            for p in pieces {
                match p {
                    Piece::Kept(t) => html.push_str(&escape_html(t)),
                    Piece::Removed(t) => {
                        html.push_str("<del>");
                        html.push_str(&escape_html(t.trim_end()));
                        html.push_str("</del> ");
                    }
                    Piece::Added(t) => {
                        let word = t.trim_end();
                        html.push_str("<ins>");
                        html.push_str(&escape_html(word));
                        html.push_str("</ins>");
                        html.push_str(&escape_html(t.get(word.len()..).unwrap_or_default()));
                    }
                }
            }
            html
        })
    };
    view! { <div class="diff" id=id aria-label="Changes: struck words removed, marked words added" inner_html=html></div> }
}

/// The keys of a page, over it until clicked or closed with `?`/Esc (each page's handler).
#[component]
pub fn KeysHelp(
    /// The page's name, in the title.
    page: &'static str,
    /// Key and what it does, in order.
    keys: &'static [(&'static str, &'static str)],
    /// A closing remark, when the page needs one.
    #[prop(optional)]
    note: Option<&'static str>,
    /// Shown while true; a click sets it false.
    open: RwSignal<bool>,
) -> impl IntoView {
    view! {
        <div class="overlay" role="dialog" aria-modal="true" aria-labelledby="help-title" on:click=move |_| open.set(false)>
            <div class="help">
                <h2 id="help-title">{format!("{page}: keyboard shortcuts")}</h2>
                <dl>
                    {keys.iter().map(|&(key, what)| view! { <dt>{key}</dt><dd>{what}</dd> }).collect_view()}
                </dl>
                {note.map(|n| view! { <p class="muted">{n}</p> })}
            </div>
        </div>
    }
}
