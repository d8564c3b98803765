//! The Evaluate page: pick training runs and compare what they logged — steps, final and best
//! held-out loss, and for DPO the reward accuracy and margin — side by side, with their loss
//! curves on one chart; score a classifier run on the project's held-out notes and keep the
//! result (per-label figures with intervals, ROC curves), compare two kept scores, and score
//! prediction files against gold.

use std::collections::BTreeSet;

use api::{
    BiasFigures, BiasReport, ComparisonReport, EvaluationDetail, EvaluationId, EvaluationSummary,
    MetricsReport, Objective, RunStatus, Split, TrainRun, TrainStep,
};
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
    let kept_elsewhere: RwSignal<Option<EvaluationId>> = RwSignal::new(None);
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
            <KeptScores runs=runs kept_elsewhere=kept_elsewhere />
            <BiasAudit runs=runs />
            <ScoreFiles kept_elsewhere=kept_elsewhere />
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
fn ScoreFiles(kept_elsewhere: RwSignal<Option<EvaluationId>>) -> impl IntoView {
    let ctx = expect_context::<AppCtx>();
    let gold = RwSignal::new(None::<String>);
    let predictions = RwSignal::new(None::<String>);
    let report = RwSignal::new(None::<MetricsReport>);
    let busy = RwSignal::new(false);
    let kept = RwSignal::new(false);
    let keep = move |_| {
        let (Some(g), Some(p)) = (gold.get_untracked(), predictions.get_untracked()) else {
            return;
        };
        busy.set(true);
        spawn_local(async move {
            match client::evaluation_save_files(&g, &p).await {
                Ok(summary) => {
                    kept.set(true);
                    kept_elsewhere.set(Some(summary.id));
                }
                Err(e) => ctx.fail(e),
            }
            busy.set(false);
        });
    };
    let score = move |_| {
        let (Some(g), Some(p)) = (gold.get_untracked(), predictions.get_untracked()) else {
            return;
        };
        busy.set(true);
        spawn_local(async move {
            match client::evaluate_files(&g, &p).await {
                Ok(r) => {
                    kept.set(false);
                    report.set(Some(r));
                }
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
            {move || report.get().map(|r| view! {
                {show_report(r, "score")}
                <button id="score-keep" on:click=keep prop:disabled=move || busy.get() || kept.get()>
                    {move || if kept.get() { "Kept in the project" } else { "Keep this score in the project" }}
                </button>
            })}
        </section>
    }
}

fn show_report(report: MetricsReport, id: &'static str) -> AnyView {
    let headline_id = format!("{id}-headline");
    let table_id = format!("{id}-table");
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
                <p id=headline_id>
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
                <table class="compare" id=table_id>
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
            <p id=headline_id>{format!("{} items · ROUGE F-measure{} (95% intervals from {} bootstrap resamples)", t.n, if t.stemmer { ", Porter-stemmed" } else { "" }, t.bootstrap.resamples)}</p>
            <table class="compare" id=table_id>
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

/// Whether a run is a classifier with a saved adapter: what can be scored on notes.
fn scorable(r: &TrainRun) -> bool {
    r.settings
        .as_ref()
        .is_some_and(|s| s.objective == Objective::Classify)
        && matches!(r.status, RunStatus::Completed | RunStatus::EarlyStopped)
}

/// A scoring in progress: the job (to cancel) and the notes done of all.
#[derive(Debug, Clone, Copy, Default)]
struct Scoring {
    job: Option<u64>,
    done: u64,
    total: Option<u64>,
}

/// Scores kept in the project: score a classifier run on held-out notes (with progress and
/// Cancel), the list of kept scores, the first ticked one's figures and ROC curves, and two
/// ticked ones compared.
#[component]
fn KeptScores(
    runs: RwSignal<Option<Vec<TrainRun>>>,
    kept_elsewhere: RwSignal<Option<EvaluationId>>,
) -> impl IntoView {
    let ctx = expect_context::<AppCtx>();
    let kept: RwSignal<Option<Vec<EvaluationSummary>>> = RwSignal::new(None);
    let ticked: RwSignal<Vec<EvaluationId>> = RwSignal::new(Vec::new());
    let detail: RwSignal<Option<EvaluationDetail>> = RwSignal::new(None);
    let compared: RwSignal<Option<ComparisonReport>> = RwSignal::new(None);
    let run_choice = RwSignal::new(String::new());
    let split_choice = RwSignal::new("test".to_owned());
    let scoring: RwSignal<Option<Scoring>> = RwSignal::new(None);
    let refresh = move |select: Option<EvaluationId>| {
        spawn_local(async move {
            match client::evaluations_list().await {
                Ok(list) => {
                    let first = select.or_else(|| list.first().map(|e| e.id));
                    ticked.set(first.into_iter().collect());
                    kept.set(Some(list));
                }
                Err(e) => ctx.fail(e),
            }
        });
    };
    Effect::new(move |_| {
        if ctx.project.with(Option::is_some) {
            refresh(kept_elsewhere.get());
        }
    });
    // The newest scorable run is offered first.
    Effect::new(move |_| {
        let first = runs.with(|r| {
            r.as_ref()
                .and_then(|r| r.iter().find(|r| scorable(r)).map(|r| r.path.clone()))
        });
        if let Some(path) = first
            && run_choice.with_untracked(String::is_empty)
        {
            run_choice.set(path);
        }
    });
    Effect::new(move |_| {
        let ids = ticked.get();
        detail.set(None);
        compared.set(None);
        let Some(&first) = ids.first() else { return };
        spawn_local(async move {
            match client::evaluation_detail(first).await {
                Ok(d) => detail.set(Some(d)),
                Err(e) => ctx.fail(e),
            }
        });
        if let [a, b] = ids[..] {
            spawn_local(async move {
                match client::evaluation_compare(a, b).await {
                    Ok(c) => compared.set(Some(c)),
                    Err(e) => ctx.fail(e),
                }
            });
        }
    });
    let score = move |_| {
        let run = run_choice.get_untracked();
        if run.is_empty() || scoring.with_untracked(Option::is_some) {
            return;
        }
        let split = match split_choice.get_untracked().as_str() {
            "validation" => Some(Split::Validation),
            "all" => None,
            _ => Some(Split::Test),
        };
        ctx.error.set(None);
        scoring.set(Some(Scoring::default()));
        spawn_local(async move {
            let result = client::evaluation_run(&run, split, move |p| {
                scoring.set(Some(Scoring {
                    job: Some(p.job),
                    done: p.progress.done,
                    total: p.progress.total,
                }));
            })
            .await;
            scoring.set(None);
            match result {
                Ok(summary) => refresh(Some(summary.id)),
                Err(e) if e.kind == api::ErrorKind::Cancelled => {}
                Err(e) => ctx.fail(e),
            }
        });
    };
    let cancel = move |_| {
        if let Some(Scoring { job: Some(job), .. }) = scoring.get_untracked() {
            spawn_local(async move {
                if let Err(e) = client::cancel_job(job).await {
                    ctx.fail(e);
                }
            });
        }
    };
    let scorable_runs = move || {
        runs.with(|r| {
            r.as_ref()
                .map(|r| {
                    r.iter()
                        .filter(|r| scorable(r))
                        .cloned()
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
    };
    let score_row = move || {
        let list = scorable_runs();
        if list.is_empty() {
            return view! {
                <p class="empty" id="kept-no-classifier">
                    "No classifier has finished training yet. Train one on the Train page (Classify) to score it on notes it did not learn from."
                </p>
            }
            .into_any();
        }
        view! {
            <div class="row">
                <label for="kept-run">"Classifier run"</label>
                <select id="kept-run" on:change=move |ev| run_choice.set(event_target_value(&ev)) prop:value=move || run_choice.get()>
                    {list.into_iter().map(|r| {
                        let label = format!("{} · {} steps", r.name, r.global_step);
                        view! { <option value=r.path.clone()>{label}</option> }
                    }).collect_view()}
                </select>
                <label for="kept-split">"Notes"</label>
                <select id="kept-split" on:change=move |ev| split_choice.set(event_target_value(&ev)) prop:value=move || split_choice.get()>
                    <option value="test">"Test split"</option>
                    <option value="validation">"Validation split"</option>
                    <option value="all">"All annotated notes (includes training notes)"</option>
                </select>
                <button class="primary" id="kept-score" on:click=score prop:disabled=move || scoring.with(Option::is_some)>
                    {move || if scoring.with(Option::is_some) { "Scoring…" } else { "Score" }}
                </button>
                <Show when=move || scoring.with(|s| s.is_some_and(|s| s.job.is_some()))>
                    <button id="kept-cancel" on:click=cancel>"Cancel"</button>
                </Show>
                <span class="muted" id="kept-progress" aria-live="polite">
                    {move || scoring.get().map(|s| match s.total {
                        Some(t) => format!("{} of {t} notes", s.done),
                        None => "Loading the model…".to_owned(),
                    })}
                </span>
            </div>
        }
        .into_any()
    };
    let list = move || {
        match kept.get() {
        None => view! { <p class="muted">"Loading…"</p> }.into_any(),
        Some(list) if list.is_empty() => view! {
            <p class="empty" id="kept-empty">
                "No scores kept yet. Score a classifier run above, or keep a scored pair of files below."
            </p>
        }
        .into_any(),
        Some(list) => {
            let rows = list
                .into_iter()
                .map(|e| {
                    let id = e.id;
                    let check_id = format!("kept-{id}");
                    let label_for = check_id.clone();
                    let figures = HEADLINE_ORDER
                        .iter()
                        .filter_map(|k| e.headline.get(*k).map(|h| (k, h)))
                        .map(|(k, h)| format!("{} {}", figure_name(k), with_ci(h.value, h.ci95.as_ref())))
                        .collect::<Vec<_>>()
                        .join(" · ");
                    let when = e.created_at.chars().take(16).collect::<String>().replace('T', " ");
                    view! {
                        <tr data-evaluation=id.0>
                            <td>
                                <input type="checkbox" id=check_id
                                    prop:checked=move || ticked.with(|t| t.contains(&id))
                                    on:change=move |ev| {
                                        let on = event_target_checked(&ev);
                                        ticked.update(|t| {
                                            t.retain(|x| *x != id);
                                            if on {
                                                t.push(id);
                                                if t.len() > 2 { t.remove(0); }
                                            }
                                        });
                                    }
                                />
                            </td>
                            <th scope="row"><label for=label_for>{e.name.clone()}</label></th>
                            <td>{when}</td>
                            <td>{e.subject.source.clone()}</td>
                            <td class="num">{e.items}</td>
                            <td>{figures}</td>
                        </tr>
                    }
                })
                .collect_view();
            view! {
                <table class="compare" id="kept-table">
                    <caption class="muted">"Tick one to see its figures, two to compare them."</caption>
                    <thead><tr><th><span class="sr-only">"Show"</span></th><th>"Score"</th><th>"When"</th><th>"Notes scored"</th><th>"Items"</th><th>"Headline [95% CI]"</th></tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            }
            .into_any()
        }
    }
    };
    view! {
        <section class="kept-scores" id="kept-scores" aria-labelledby="kept-title">
            <h2 id="kept-title">"Scores on held-out notes"</h2>
            <p class="muted">"A classifier run predicts notes it did not train on; its labels are scored against their gold document labels and the score is kept in the project."</p>
            {score_row}
            {list}
            {move || compared.get().map(show_comparison)}
            {move || detail.get().map(show_detail)}
        </section>
    }
}

/// The headline figures in the order the page lists them.
const HEADLINE_ORDER: [&str; 6] = [
    "macro_f1",
    "micro_f1",
    "macro_auroc",
    "rouge1",
    "rouge2",
    "rougeL",
];

/// The bias audit (Guevara et al.): a classifier run on sentences with and without a
/// demographic descriptor; the share of pairs whose labels change, overall and per group, and
/// against a second run with McNemar's test.
#[component]
fn BiasAudit(runs: RwSignal<Option<Vec<TrainRun>>>) -> impl IntoView {
    let ctx = expect_context::<AppCtx>();
    let run_choice = RwSignal::new(String::new());
    let other_choice = RwSignal::new(String::new());
    let auditing: RwSignal<Option<Scoring>> = RwSignal::new(None);
    let report: RwSignal<Option<BiasReport>> = RwSignal::new(None);
    let classifiers = move || {
        runs.with(|r| {
            r.as_ref()
                .map(|r| {
                    r.iter()
                        .filter(|r| scorable(r))
                        .cloned()
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
    };
    Effect::new(move |_| {
        if let Some(first) = classifiers().first()
            && run_choice.with_untracked(String::is_empty)
        {
            run_choice.set(first.path.clone());
        }
    });
    let audit = move |_| {
        let run = run_choice.get_untracked();
        if run.is_empty() || auditing.with_untracked(Option::is_some) {
            return;
        }
        let other = other_choice.get_untracked();
        ctx.error.set(None);
        auditing.set(Some(Scoring::default()));
        spawn_local(async move {
            let other = (!other.is_empty()).then_some(other);
            let result = client::bias_audit(&run, other.as_deref(), move |p| {
                auditing.set(Some(Scoring {
                    job: Some(p.job),
                    done: p.progress.done,
                    total: p.progress.total,
                }));
            })
            .await;
            auditing.set(None);
            match result {
                Ok(Some(r)) => report.set(Some(r)),
                Ok(None) => {}
                Err(e) if e.kind == api::ErrorKind::Cancelled => {}
                Err(e) => ctx.fail(e),
            }
        });
    };
    let cancel = move |_| {
        if let Some(Scoring { job: Some(job), .. }) = auditing.get_untracked() {
            spawn_local(async move {
                if let Err(e) = client::cancel_job(job).await {
                    ctx.fail(e);
                }
            });
        }
    };
    view! {
        <section class="bias-audit" id="bias-audit" aria-labelledby="bias-title">
            <h2 id="bias-title">"Bias audit"</h2>
            <p class="muted">"Each sentence is classified as written and with a demographic descriptor inserted (\"Black woman …\"); a fair classifier gives both the same labels. The SHADR demographic file, or JSON lines with \"original\", \"inserted\" and \"group\"."</p>
            {move || {
                let list = classifiers();
                if list.is_empty() {
                    return view! { <p class="empty">"Train a classifier first (Classify on the Train page) to audit it."</p> }.into_any();
                }
                let others = list.clone();
                view! {
                    <div class="row">
                        <label for="bias-run">"Classifier run"</label>
                        <select id="bias-run" on:change=move |ev| run_choice.set(event_target_value(&ev)) prop:value=move || run_choice.get()>
                            {list.into_iter().map(|r| view! { <option value=r.path.clone()>{r.name.clone()}</option> }).collect_view()}
                        </select>
                        <label for="bias-other">"Compare with"</label>
                        <select id="bias-other" on:change=move |ev| other_choice.set(event_target_value(&ev)) prop:value=move || other_choice.get()>
                            <option value="">"nothing"</option>
                            {others.into_iter().map(|r| view! { <option value=r.path.clone()>{r.name.clone()}</option> }).collect_view()}
                        </select>
                        <button class="primary" id="bias-start" on:click=audit prop:disabled=move || auditing.with(Option::is_some)>
                            {move || if auditing.with(Option::is_some) { "Auditing…" } else { "Choose the pairs file and audit…" }}
                        </button>
                        <Show when=move || auditing.with(|s| s.is_some_and(|s| s.job.is_some()))>
                            <button id="bias-cancel" on:click=cancel>"Cancel"</button>
                        </Show>
                        <span class="muted" aria-live="polite">
                            {move || auditing.get().and_then(|s| s.total.map(|t| format!("{} of {t} sentences", s.done)))}
                        </span>
                    </div>
                }
                .into_any()
            }}
            {move || report.get().map(show_bias)}
        </section>
    }
}

fn show_bias(r: BiasReport) -> impl IntoView {
    let name = |f: &BiasFigures| {
        f.adapters
            .last()
            .map(|a| base_name(a.trim_end_matches("/adapter")))
            .unwrap_or_default()
    };
    let line = |f: &BiasFigures| {
        format!(
            "{}: labels changed on {} of {} pairs — {}",
            name(f),
            f.changed,
            r.n,
            with_ci(f.change_rate, f.ci95.as_ref())
        )
    };
    let mut groups: Vec<(String, api::GroupChange)> = r
        .model
        .per_group
        .iter()
        .map(|(g, c)| (g.clone(), *c))
        .collect();
    groups.sort_by(|a, b| b.1.n.cmp(&a.1.n).then_with(|| a.0.cmp(&b.0)));
    let other = r.comparison.as_ref().map(|c| c.other.per_group.clone());
    let rows = groups
        .into_iter()
        .map(|(g, c)| {
            let theirs = other
                .as_ref()
                .and_then(|o| o.get(&g))
                .map(|o| format!("{:.3}", o.rate));
            view! {
                <tr>
                    <th scope="row">{g}</th>
                    <td class="num">{c.n}</td>
                    <td class="num">{c.changed}</td>
                    <td class="num">{format!("{:.3}", c.rate)}</td>
                    {theirs.map(|t| view! { <td class="num">{t}</td> })}
                </tr>
            }
        })
        .collect_view();
    let comparison = r.comparison.as_ref().map(|c| {
        view! {
            <p id="bias-compare">{format!(
                "{} · changed under the first only: {}, the second only: {}; McNemar exact p = {:.4}",
                line(&c.other),
                c.changed_only_first,
                c.changed_only_other,
                c.mcnemar_p
            )}</p>
        }
    });
    let other_name = r.comparison.as_ref().map(|c| name(&c.other));
    view! {
        <div class="kept-detail" id="bias-result">
            <p id="bias-headline"><strong>{line(&r.model)}</strong></p>
            {comparison}
            <table class="compare" id="bias-table">
                <thead><tr>
                    <th>"Group"</th><th>"Pairs"</th><th>"Changed"</th><th>"Rate"</th>
                    {other_name.map(|n| view! { <th>{format!("Rate ({n})")}</th> })}
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
            <p class="muted">{format!(
                "95% interval: percentile bootstrap over pairs, {} resamples. {} line(s) of the file could not be read.",
                r.model.bootstrap.resamples,
                r.skipped.len()
            )}</p>
        </div>
    }
}

/// A headline figure's name as the page writes it.
fn figure_name(key: &str) -> &str {
    match key {
        "macro_f1" => "macro F1",
        "micro_f1" => "micro F1",
        "macro_auroc" => "macro AUROC",
        "rouge1" => "ROUGE-1",
        "rouge2" => "ROUGE-2",
        "rougeL" => "ROUGE-L",
        other => other,
    }
}

/// A kept score: what was scored, its figures and its ROC curves.
fn show_detail(d: EvaluationDetail) -> impl IntoView {
    let classes = ["s1", "s2", "s3", "s4"];
    let shown = d.roc_curves.len().min(classes.len());
    let series: Vec<Series> = d
        .roc_curves
        .iter()
        .zip(classes)
        .map(|(c, class)| Series {
            name: format!("{} (AUROC {:.3})", c.label, c.auroc),
            class,
            points: RwSignal::new(c.points.iter().map(|p| (p[0], p[1])).collect()),
        })
        .collect();
    let more = d.roc_curves.len() - shown;
    let what = match (&d.summary.subject.model, d.summary.subject.adapters.last()) {
        (Some(model), Some(adapter)) => format!(
            "{} · model {} · adapter {}",
            d.summary.subject.source,
            base_name(model),
            base_name(adapter)
        ),
        _ => d.summary.subject.source.clone(),
    };
    view! {
        <div class="kept-detail" id="kept-detail">
            <h3>{d.summary.name.clone()}</h3>
            <p class="muted">{what}</p>
            {show_report(d.report, "kept")}
            {(!series.is_empty()).then(|| view! {
                <LineChart id="chart-roc" title="ROC curves" x_label="false positive rate" y_label="true positive rate" x_max=Signal::derive(|| 1.0) series=series hide_last=true fractional_x=true />
            })}
            {(more > 0).then(|| view! { <p class="muted">{format!("{more} more label(s) have ROC curves; the chart shows the first {shown}.")}</p> })}
        </div>
    }
}

/// Two kept scores side by side: A, B, the difference with its paired interval and p-value.
fn show_comparison(c: ComparisonReport) -> impl IntoView {
    let rows = c
        .figures
        .iter()
        .map(|(k, f)| {
            let ci = f
                .ci95
                .map(|[lo, hi]| format!("[{lo:+.3}, {hi:+.3}]"))
                .unwrap_or_else(|| "—".to_owned());
            view! {
                <tr>
                    <th scope="row">{figure_name(k).to_owned()}</th>
                    <td class="num">{format!("{:.3}", f.a)}</td>
                    <td class="num">{format!("{:.3}", f.b)}</td>
                    <td class="num">{format!("{:+.3}", f.difference)}</td>
                    <td class="num">{ci}</td>
                    <td class="num">{format!("{:.4}", f.p_value)}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="kept-compare" id="kept-compare">
            <h3>"The two ticked scores compared"</h3>
            <p class="muted">{format!(
                "On the {} notes both scored (A: the first ticked). Interval: paired bootstrap, {} resamples; p: paired permutation test.",
                c.n, c.bootstrap.resamples
            )}</p>
            <table class="compare" id="kept-compare-table">
                <thead><tr><th>"Figure"</th><th>"A"</th><th>"B"</th><th>"A − B"</th><th>"95% CI of A − B"</th><th>"p"</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}

fn base_name(path: &str) -> String {
    let trimmed = path.trim_end_matches(['/', '\\']);
    trimmed
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or(trimmed)
        .to_owned()
}

/// Every key of the page, for `?`.
const EVALUATE_KEYS: &[(&str, &str)] = &[
    ("Tab / Space", "move between runs; tick or untick one"),
    ("Alt+E / Alt+T", "this page / the Train page, from anywhere"),
    ("?", "show or hide this list"),
];
