//! The Evaluate page: pick training runs and compare what they logged — steps, final and best
//! held-out loss, and for DPO the reward accuracy and margin — side by side, with their loss
//! curves on one chart. Scores on the test split appear here as the evaluation services land.

use std::collections::BTreeSet;

use api::{TrainRun, TrainStep};
use leptos::ev;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::app::{AppCtx, Page};
use crate::chart::{LineChart, Series, short};
use crate::client;
use crate::pages::notes::is_typing;

/// Most runs on one chart (one colour each).
const MAX_SHOWN: usize = 4;

/// The Evaluate page.
#[component]
pub fn EvaluatePage() -> impl IntoView {
    let ctx = expect_context::<AppCtx>();
    let runs: RwSignal<Option<Vec<TrainRun>>> = RwSignal::new(None);
    let picked: RwSignal<BTreeSet<String>> = RwSignal::new(BTreeSet::new());
    let help = RwSignal::new(false);
    Effect::new(move |_| {
        if ctx.project.with(Option::is_none) {
            return;
        }
        spawn_local(async move {
            match client::train_runs().await {
                Ok(list) => {
                    // The newest runs that trained, up to what one chart shows.
                    picked.set(
                        list.iter()
                            .filter(|r| r.global_step > 0)
                            .take(2)
                            .map(|r| r.path.clone())
                            .collect(),
                    );
                    runs.set(Some(list));
                }
                Err(e) => ctx.fail(e),
            }
        });
    });
    let keys = window_event_listener(ev::keydown, move |ev| {
        if is_typing(&ev) || ev.alt_key() || ev.ctrl_key() || ev.meta_key() {
            return;
        }
        match ev.key().as_str() {
            "?" => help.update(|h| *h = !*h),
            "Escape" => help.set(false),
            _ => {}
        }
    });
    on_cleanup(move || keys.remove());
    let chosen = move || {
        let picked = picked.get();
        runs.with(|r| {
            r.as_ref()
                .map(|r| {
                    r.iter()
                        .filter(|r| picked.contains(&r.path))
                        .take(MAX_SHOWN)
                        .cloned()
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
    };
    view! {
        <section class="evaluate" id="evaluate" tabindex="-1" aria-labelledby="evaluate-title">
            <div class="page-head">
                <h1 id="evaluate-title">"Evaluate"</h1>
                <button class="help-button" on:click=move |_| help.set(true)>"? Keys"</button>
            </div>
            {move || match runs.get() {
                None => view! { <p class="muted">"Loading…"</p> }.into_any(),
                Some(list) if list.is_empty() => view! {
                    <div class="empty" id="evaluate-empty">
                        <p>"No training runs yet. Train an adapter first: its figures are compared here."</p>
                        <button id="evaluate-to-train" on:click=move |_| ctx.page.set(Page::Train)>"Go to Train"</button>
                    </div>
                }.into_any(),
                Some(list) => view! {
                    <fieldset class="run-picker">
                        <legend>{format!("Runs to compare (up to {MAX_SHOWN})")}</legend>
                        {list.into_iter().map(|r| {
                            let path = r.path.clone();
                            let path2 = r.path.clone();
                            let id = format!("pick-{}", r.name);
                            let label_for = id.clone();
                            let objective = r.settings.as_ref().map(|s| s.objective.name()).unwrap_or("?");
                            view! {
                                <label class="choice" for=label_for>
                                    <input type="checkbox" id=id
                                        prop:checked=move || picked.with(|p| p.contains(&path))
                                        on:change=move |ev| {
                                            let on = event_target_checked(&ev);
                                            picked.update(|p| { if on { p.insert(path2.clone()); } else { p.remove(&path2); } });
                                        }
                                    />
                                    {format!("{} · {} · {} · {} steps", r.name, objective, r.status.label(), r.global_step)}
                                </label>
                            }
                        }).collect_view()}
                    </fieldset>
                    {move || comparison(chosen())}
                }.into_any(),
            }}
            <p class="muted">"Per-label precision, recall and F1 with confidence intervals, ROC curves and ROUGE on the test split appear here when a run's outputs on it are scored."</p>
            <Show when=move || help.get()>
                <div class="overlay" role="dialog" aria-modal="true" on:click=move |_| help.set(false)>
                    <div class="help">
                        <h2>"Evaluate: keyboard shortcuts"</h2>
                        <dl>
                            <dt>"Tab / Space"</dt><dd>"move between runs; tick or untick one"</dd>
                            <dt>"Alt+E / Alt+T"</dt><dd>"this page / the Train page, from anywhere"</dd>
                            <dt>"?"</dt><dd>"show or hide this list"</dd>
                        </dl>
                    </div>
                </div>
            </Show>
        </section>
    }
}

/// The last value of a logged figure.
fn last(log: &[TrainStep], key: &str) -> Option<f64> {
    log.iter().rev().find_map(|s| s.metrics.get(key).copied())
}

/// The last held-out value of a figure.
fn last_eval(log: &[TrainStep], key: &str) -> Option<f64> {
    log.iter()
        .rev()
        .find_map(|s| s.eval.as_ref().and_then(|e| e.get(key).copied()))
}

fn cell(v: Option<f64>) -> String {
    v.map(short).unwrap_or_else(|| "—".to_owned())
}

/// The table and the loss chart of the chosen runs.
fn comparison(runs: Vec<TrainRun>) -> impl IntoView {
    if runs.is_empty() {
        return view! { <p class="empty">"Tick one or more runs above to compare them."</p> }
            .into_any();
    }
    let rows = runs
        .iter()
        .map(|r| {
            let objective = r
                .settings
                .as_ref()
                .map(|s| s.objective.name())
                .unwrap_or("?");
            view! {
                <tr data-run=r.name.clone()>
                    <th scope="row">{r.name.clone()}</th>
                    <td>{objective}</td>
                    <td>{r.status.label()}</td>
                    <td class="num">{r.global_step}</td>
                    <td class="num">{cell(r.final_loss)}</td>
                    <td class="num">{cell(r.best_eval_loss)}</td>
                    <td class="num">{cell(last(&r.log, "rewards/accuracies"))}</td>
                    <td class="num">{cell(last(&r.log, "rewards/margins"))}</td>
                    <td class="num">{cell(last_eval(&r.log, "eval_rewards/accuracies"))}</td>
                </tr>
            }
        })
        .collect_view();
    let classes = ["s1", "s2", "s3", "s4"];
    let series: Vec<Series> = runs
        .iter()
        .zip(classes)
        .map(|(r, class)| Series {
            name: r.name.clone(),
            class,
            points: RwSignal::new(r.log.iter().map(|s| (s.step as f64, s.loss)).collect()),
        })
        .collect();
    let x_max = runs
        .iter()
        .map(|r| r.max_steps.max(r.global_step))
        .max()
        .unwrap_or(1) as f64;
    view! {
        <table class="compare" id="evaluate-table">
            <thead><tr>
                <th>"Run"</th><th>"Objective"</th><th>"Status"</th><th>"Steps"</th>
                <th>"Last loss"</th><th>"Best held-out loss"</th>
                <th>"Reward accuracy"</th><th>"Reward margin"</th><th>"Held-out reward accuracy"</th>
            </tr></thead>
            <tbody>{rows}</tbody>
        </table>
        <LineChart id="chart-compare" title="Training loss by run" x_label="step" y_label="loss (nats)" x_max=Signal::derive(move || x_max) series=series />
    }
    .into_any()
}
