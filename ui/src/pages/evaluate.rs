//! The Evaluate page: pick training runs and compare what they logged — steps, final and best
//! held-out loss, and for DPO the reward accuracy and margin — side by side, with their loss
//! curves on one chart. Scores on the test split appear here as the evaluation services land.

use std::collections::BTreeSet;

use api::{MetricsReport, TrainRun, TrainStep};
use leptos::ev;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::app::{AppCtx, Page};
use crate::chart::{LineChart, Series, short};
use crate::client;
use crate::components::KeysHelp;
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
            <ScoreFiles />
            <Show when=move || help.get()>
                <KeysHelp page="Evaluate" keys=EVALUATE_KEYS open=help />
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

fn pick(target: RwSignal<Option<String>>, ctx: AppCtx) {
    spawn_local(async move {
        match client::choose_file("jsonl").await {
            Ok(Some(path)) => target.set(Some(path)),
            Ok(None) => {}
            Err(e) => ctx.fail(e),
        }
    });
}

fn file_name(path: &Option<String>) -> String {
    path.as_deref()
        .map(|p| p.rsplit(['/', '\\']).next().unwrap_or(p).to_owned())
        .unwrap_or_else(|| "none chosen".to_owned())
}

fn with_ci(v: f64, ci: Option<&[f64; 2]>) -> String {
    match ci {
        Some([lo, hi]) => format!("{v:.3} [{lo:.3}, {hi:.3}]"),
        None => format!("{v:.3}"),
    }
}

/// Scores a predictions file (a model's labels or texts, e.g. from `predict` or exported
/// outputs) against gold: per-label precision, recall, F1 and AUROC, or ROUGE, each with its
/// 95% bootstrap interval.
#[component]
fn ScoreFiles() -> impl IntoView {
    let ctx = expect_context::<AppCtx>();
    let gold = RwSignal::new(None::<String>);
    let predictions = RwSignal::new(None::<String>);
    let report = RwSignal::new(None::<MetricsReport>);
    let busy = RwSignal::new(false);
    let score = move |_| {
        let (Some(g), Some(p)) = (gold.get_untracked(), predictions.get_untracked()) else {
            return;
        };
        busy.set(true);
        spawn_local(async move {
            match client::evaluate_files(&g, &p).await {
                Ok(r) => report.set(Some(r)),
                Err(e) => ctx.fail(e),
            }
            busy.set(false);
        });
    };
    view! {
        <section class="score-files" id="score-files" aria-labelledby="score-title">
            <h2 id="score-title">"Score predictions against gold"</h2>
            <p class="muted">"Two JSON-lines files joined by their \"id\": gold with \"labels\" (or \"text\"), predictions the same, with optional \"scores\" per label for AUROC."</p>
            <div class="row">
                <button id="pick-gold" on:click=move |_| pick(gold, ctx)>"Gold file…"</button>
                <span class="path">{move || file_name(&gold.get())}</span>
                <button id="pick-predictions" on:click=move |_| pick(predictions, ctx)>"Predictions file…"</button>
                <span class="path">{move || file_name(&predictions.get())}</span>
                <button class="primary" id="score" on:click=score
                    prop:disabled=move || busy.get() || gold.with(Option::is_none) || predictions.with(Option::is_none)
                >{move || if busy.get() { "Scoring…" } else { "Score" }}</button>
            </div>
            {move || report.get().map(show_report)}
        </section>
    }
}

fn show_report(report: MetricsReport) -> AnyView {
    match report {
        MetricsReport::Labels(m) => {
            let rows = m
                .per_label
                .iter()
                .map(|(label, f)| {
                    view! {
                        <tr>
                            <th scope="row">{label.clone()}</th>
                            <td class="num">{format!("{:.3}", f.precision)}</td>
                            <td class="num">{format!("{:.3}", f.recall)}</td>
                            <td class="num">{with_ci(f.f1, f.f1_ci95.as_ref())}</td>
                            <td class="num">{f.auroc.map(|a| format!("{a:.3}")).unwrap_or_else(|| "—".to_owned())}</td>
                            <td class="num">{f.support}</td>
                            <td class="num">{f.predicted}</td>
                        </tr>
                    }
                })
                .collect_view();
            let auroc = match m.macro_auroc {
                Some(a) => with_ci(a, m.ci95.get("macro_auroc")),
                None => "—".to_owned(),
            };
            view! {
                <p id="score-headline">
                    {format!(
                        "{} items · macro F1 {} · micro F1 {} · macro AUROC {} (95% intervals from {} bootstrap resamples, seed {})",
                        m.n,
                        with_ci(m.macro_f1, m.ci95.get("macro_f1")),
                        with_ci(m.micro_f1, m.ci95.get("micro_f1")),
                        auroc,
                        m.bootstrap.resamples,
                        m.bootstrap.seed
                    )}
                </p>
                <table class="compare" id="score-table">
                    <thead><tr>
                        <th>"Label"</th><th>"Precision"</th><th>"Recall"</th><th>"F1 [95% CI]"</th>
                        <th>"AUROC"</th><th>"Gold"</th><th>"Predicted"</th>
                    </tr></thead>
                    <tbody>{rows}</tbody>
                </table>
                {unmatched(&m.unmatched)}
            }
            .into_any()
        }
        MetricsReport::Text(t) => view! {
            <p id="score-headline">{format!("{} items · ROUGE F-measure{} (95% intervals from {} bootstrap resamples)", t.n, if t.stemmer { ", Porter-stemmed" } else { "" }, t.bootstrap.resamples)}</p>
            <table class="compare" id="score-table">
                <thead><tr><th>"ROUGE-1"</th><th>"ROUGE-2"</th><th>"ROUGE-L"</th></tr></thead>
                <tbody><tr>
                    <td class="num">{with_ci(t.rouge1, t.ci95.get("rouge1"))}</td>
                    <td class="num">{with_ci(t.rouge2, t.ci95.get("rouge2"))}</td>
                    <td class="num">{with_ci(t.rouge_l, t.ci95.get("rougeL"))}</td>
                </tr></tbody>
            </table>
            {unmatched(&t.unmatched)}
        }
        .into_any(),
    }
}

fn unmatched(u: &api::UnmatchedIds) -> Option<impl IntoView + use<>> {
    (!u.gold_only.is_empty() || !u.pred_only.is_empty()).then(|| {
        view! {
            <p class="warning">
                {format!(
                    "Not scored: {} gold item(s) without a prediction, {} prediction(s) without gold.",
                    u.gold_only.len(),
                    u.pred_only.len()
                )}
            </p>
        }
    })
}

/// Every key of the page, for `?`.
const EVALUATE_KEYS: &[(&str, &str)] = &[
    ("Tab / Space", "move between runs; tick or untick one"),
    ("Alt+E / Alt+T", "this page / the Train page, from anywhere"),
    ("?", "show or hide this list"),
];
