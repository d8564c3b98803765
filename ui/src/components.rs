//! Small components every page uses.

use leptos::prelude::*;

use crate::app::AppCtx;

/// The last error, with its hint, until dismissed (Escape or the button).
#[component]
pub fn ErrorBanner() -> impl IntoView {
    let ctx = expect_context::<AppCtx>();
    view! {
        <Show when=move || ctx.error.with(Option::is_some)>
            <div class="error" role="alert" id="error">
                <strong>{move || ctx.error.get().map(|e| e.message)}</strong>
                <span class="hint">{move || ctx.error.get().and_then(|e| e.hint)}</span>
                <button aria-label="Dismiss" on:click=move |_| ctx.error.set(None)>"×"</button>
            </div>
        </Show>
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
