//! A page that is not built yet (Train, Evaluate): says so, and what to do meanwhile.

use leptos::prelude::*;

use crate::app::{AppCtx, Page};

/// Placeholder for a page still to come.
#[component]
pub fn ComingPage(
    /// The page's title.
    name: &'static str,
) -> impl IntoView {
    let ctx = expect_context::<AppCtx>();
    view! {
        <section class="coming" aria-labelledby="coming-title">
            <h1 id="coming-title">{name}</h1>
            <p class="empty">
                {format!(
                    "{name} is coming to the app. Meanwhile, the corrections you save on the Review \
                     page are collected as training data on the Pairs page."
                )}
            </p>
            <button id="coming-to-pairs" on:click=move |_| ctx.page.set(Page::Pairs)>
                "See the training data"
            </button>
        </section>
    }
}
