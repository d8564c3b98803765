//! The Train page: choose what to train (objective, base model, an optional adapter to continue,
//! the project's examples), the main settings with the defaults a run would get (the rest under
//! "Advanced") and the device; see a forecast of memory and time; start, then watch the step
//! counter, ETA, tokens/s, memory and the loss (and for DPO, reward) charts; cancel with a
//! checkpoint and resume. The runs history lists every run of the project.

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use api::{
    Device, Objective, RunStatus, TrainEstimate, TrainEvent, TrainLength, TrainOptions, TrainPlan,
    TrainRequest, TrainRun, TrainSummary,
};
use leptos::ev;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::app::{AppCtx, Page};
use crate::chart::{LineChart, Series, short};
use crate::client;
use crate::components::KeysHelp;
use crate::pages::notes::is_typing;

/// Where the page's run stands.
#[derive(Debug, Clone, PartialEq)]
enum Phase {
    /// No run since the app started.
    Idle,
    Loading,
    Training,
    Stopping,
    Finished(TrainSummary),
    Failed(String),
}

/// Page state (all signals, so `Copy`).
#[derive(Clone, Copy)]
struct Train {
    ctx: AppCtx,
    options: RwSignal<Option<TrainOptions>>,
    request: RwSignal<TrainRequest>,
    /// Fields whose text is not a valid value, by id.
    invalid: RwSignal<Vec<&'static str>>,
    estimate: RwSignal<Option<Result<TrainEstimate, String>>>,
    runs: RwSignal<Option<Vec<TrainRun>>>,
    /// The run shown when none has trained since the app started.
    last: RwSignal<Option<TrainRun>>,
    phase: RwSignal<Phase>,
    run: RwSignal<Option<String>>,
    plan: RwSignal<Option<TrainPlan>>,
    step: RwSignal<usize>,
    total: RwSignal<usize>,
    eta_s: RwSignal<f64>,
    tokens_per_s: RwSignal<f64>,
    memory: RwSignal<Option<u64>>,
    /// Milliseconds from the last step's event to its point on the chart.
    latency: RwSignal<Option<f64>>,
    loss: RwSignal<Vec<(f64, f64)>>,
    eval_loss: RwSignal<Vec<(f64, f64)>>,
    margin: RwSignal<Vec<(f64, f64)>>,
    accuracy: RwSignal<Vec<(f64, f64)>>,
    help: RwSignal<bool>,
}

impl Train {
    fn objective(self) -> Objective {
        self.request.with(|r| r.objective)
    }

    /// Examples the chosen objective would train on.
    fn examples(self) -> Option<usize> {
        let objective = self.objective();
        self.options.with(|o| {
            o.as_ref().and_then(|o| {
                o.data
                    .iter()
                    .find(|d| d.objective == objective)
                    .map(|d| d.examples)
            })
        })
    }

    /// Resets the form to `objective`'s defaults, keeping the model, device and adapter.
    fn choose(self, objective: Objective) {
        let defaults = self.options.with_untracked(|o| {
            o.as_ref().and_then(|o| {
                o.defaults
                    .iter()
                    .find(|s| s.objective == objective)
                    .map(|s| s.to_request())
            })
        });
        let previous = self.request.get_untracked();
        let mut next = defaults.unwrap_or_else(|| TrainRequest {
            objective,
            ..TrainRequest::default()
        });
        if !previous.model.is_empty() {
            next.model = previous.model;
        }
        next.device = previous.device.or(next.device);
        next.init_adapter = previous.init_adapter;
        next.base_adapter = previous.base_adapter;
        next.resume = false;
        self.request.set(next);
        self.invalid.set(Vec::new());
    }

    fn running(self) -> bool {
        matches!(
            self.phase.get(),
            Phase::Loading | Phase::Training | Phase::Stopping
        )
    }

    fn reload_runs(self) {
        spawn_local(async move {
            match client::train_runs().await {
                Ok(runs) => {
                    // With nothing training since the app started, the last run is shown.
                    if self.phase.get_untracked() == Phase::Idle {
                        self.show_last(runs.first().cloned());
                    }
                    self.runs.set(Some(runs));
                }
                Err(e) => self.ctx.fail(e),
            }
        });
    }

    /// Shows a finished or stopped run's figures and charts (or nothing).
    fn show_last(self, run: Option<TrainRun>) {
        for s in [self.loss, self.eval_loss, self.margin, self.accuracy] {
            s.set(Vec::new());
        }
        if let Some(run) = &run {
            for s in &run.log {
                self.push(s);
            }
            self.step.set(run.global_step);
            self.total.set(run.max_steps);
            self.run.set(Some(run.path.clone()));
        }
        self.last.set(run);
    }

    fn start(self) {
        if self.running() {
            return;
        }
        if !self.invalid.with_untracked(Vec::is_empty) {
            self.ctx.fail(api::ApiError::new(
                api::ErrorKind::InvalidInput,
                "some settings are not numbers the run can use",
            ));
            return;
        }
        let request = self.request.get_untracked();
        self.phase.set(Phase::Loading);
        spawn_local(async move {
            match client::train_start(&request).await {
                Ok(_) => self.reload_runs(),
                Err(e) => {
                    self.phase.set(Phase::Idle);
                    self.ctx.fail(e);
                }
            }
        });
    }

    fn resume(self, run: String) {
        if self.running() {
            return;
        }
        self.phase.set(Phase::Loading);
        spawn_local(async move {
            match client::train_resume(&run).await {
                Ok(_) => self.reload_runs(),
                Err(e) => {
                    self.phase.set(Phase::Idle);
                    self.ctx.fail(e);
                }
            }
        });
    }

    fn cancel(self) {
        if !self.running() {
            return;
        }
        self.phase.set(Phase::Stopping);
        spawn_local(async move {
            if let Err(e) = client::train_cancel().await {
                self.ctx.fail(e);
            }
        });
    }

    /// Follows the job's events.
    fn on_event(self, event: TrainEvent) {
        match event {
            TrainEvent::Started { run, .. } => {
                self.run.set(Some(run));
                self.plan.set(None);
                for s in [self.loss, self.eval_loss, self.margin, self.accuracy] {
                    s.set(Vec::new());
                }
                self.step.set(0);
                self.total.set(0);
                self.memory.set(None);
                self.phase.set(Phase::Loading);
            }
            TrainEvent::Loading => self.phase.set(Phase::Loading),
            TrainEvent::Earlier { steps } => {
                for s in &steps {
                    self.push(s);
                }
                if let Some(last) = steps.last() {
                    self.step.set(last.step);
                }
            }
            TrainEvent::Plan { plan } => {
                self.total.set(plan.total_steps);
                self.step.set(plan.start_step);
                self.plan.set(Some(*plan));
                if self.phase.get_untracked() != Phase::Stopping {
                    self.phase.set(Phase::Training);
                }
            }
            TrainEvent::Step {
                step,
                memory_bytes,
                at_ms,
            } => {
                self.push(&step);
                self.step.set(step.step);
                self.total.set(step.total_steps);
                self.eta_s.set(step.eta_s);
                self.tokens_per_s.set(step.tokens_per_s);
                self.memory.set(memory_bytes);
                if self.phase.get_untracked() == Phase::Loading {
                    self.phase.set(Phase::Training);
                }
                // The point is in the page now; it is on screen at the next frame.
                let latency = self.latency;
                request_animation_frame(move || {
                    latency.set(Some(js_sys::Date::now() - at_ms));
                });
            }
            TrainEvent::Finished { summary } => {
                self.phase.set(Phase::Finished(summary));
                self.reload_runs();
            }
            TrainEvent::Failed { error } => {
                self.phase.set(Phase::Failed(error.message.clone()));
                self.ctx.fail(error);
                self.reload_runs();
            }
        }
    }

    fn push(self, s: &api::TrainStep) {
        let x = s.step as f64;
        self.loss.update(|p| p.push((x, s.loss)));
        if let Some(l) = s.eval.as_ref().and_then(|e| e.get("eval_loss")) {
            self.eval_loss.update(|p| p.push((x, *l)));
        }
        if let Some(m) = s.metrics.get("rewards/margins") {
            self.margin.update(|p| p.push((x, *m)));
        }
        if let Some(a) = s.metrics.get("rewards/accuracies") {
            self.accuracy.update(|p| p.push((x, *a)));
        }
    }

    fn on_key(self, ev: &ev::KeyboardEvent) {
        if ev.ctrl_key() && ev.key() == "Enter" {
            ev.prevent_default();
            self.start();
            return;
        }
        if ev.key() == "Escape" {
            if self.help.get_untracked() {
                self.help.set(false);
            } else {
                self.cancel();
            }
            return;
        }
        if is_typing(ev) || ev.alt_key() || ev.ctrl_key() || ev.meta_key() {
            return;
        }
        if ev.key() == "?" {
            self.help.update(|h| *h = !*h);
        }
    }
}

/// The Train page.
#[component]
pub fn TrainPage() -> impl IntoView {
    let ctx = expect_context::<AppCtx>();
    let tr = Train {
        ctx,
        options: RwSignal::new(None),
        request: RwSignal::new(TrainRequest {
            objective: Objective::Dpo,
            ..TrainRequest::default()
        }),
        invalid: RwSignal::new(Vec::new()),
        estimate: RwSignal::new(None),
        runs: RwSignal::new(None),
        last: RwSignal::new(None),
        phase: RwSignal::new(Phase::Idle),
        run: RwSignal::new(None),
        plan: RwSignal::new(None),
        step: RwSignal::new(0),
        total: RwSignal::new(0),
        eta_s: RwSignal::new(0.0),
        tokens_per_s: RwSignal::new(0.0),
        memory: RwSignal::new(None),
        latency: RwSignal::new(None),
        loss: RwSignal::new(Vec::new()),
        eval_loss: RwSignal::new(Vec::new()),
        margin: RwSignal::new(Vec::new()),
        accuracy: RwSignal::new(Vec::new()),
        help: RwSignal::new(false),
    };
    // Events of a page that is gone must not touch its signals.
    let alive = Arc::new(AtomicBool::new(true));
    let still = Arc::clone(&alive);
    on_cleanup(move || still.store(false, Ordering::Relaxed));
    Effect::new(move |_| {
        if ctx.project.with(Option::is_none) {
            return;
        }
        spawn_local(async move {
            match client::train_options().await {
                Ok(options) => {
                    let first_model = options.models.first().map(|m| m.path.clone());
                    tr.options.set(Some(options));
                    tr.choose(Objective::Dpo);
                    if let Some(m) = first_model {
                        tr.request.update(|r| r.model = m);
                    }
                }
                Err(e) => ctx.fail(e),
            }
        });
        tr.reload_runs();
        let alive = Arc::clone(&alive);
        spawn_local(async move {
            let watching = client::train_watch(move |e| {
                if alive.load(Ordering::Relaxed) {
                    tr.on_event(e);
                }
            })
            .await;
            if let Err(e) = watching {
                ctx.fail(e);
            }
        });
    });
    // The forecast follows the settings (the latest answer wins).
    let asked = RwSignal::new(0u64);
    Effect::new(move |_| {
        let request = tr.request.get();
        let examples = tr.examples();
        if request.model.is_empty() {
            return;
        }
        let Some(examples) = examples else { return };
        let n = asked.get_untracked() + 1;
        asked.set(n);
        spawn_local(async move {
            let result = client::train_estimate(&request, examples).await;
            if asked.get_untracked() == n {
                tr.estimate.set(Some(result.map_err(|e| e.message)));
            }
        });
    });
    let keys = window_event_listener(ev::keydown, move |ev| tr.on_key(&ev));
    on_cleanup(move || keys.remove());

    view! {
        <section class="train" id="train" tabindex="-1" aria-labelledby="train-title">
            <div class="page-head">
                <h1 id="train-title">"Train"</h1>
                <button class="help-button" on:click=move |_| tr.help.set(true)>"? Keys"</button>
            </div>
            {move || match tr.options.get() {
                None => view! { <p class="muted">"Loading…"</p> }.into_any(),
                Some(_) => view! {
                    <div class="train-grid">
                        <Settings tr=tr />
                        <Live tr=tr />
                    </div>
                }
                .into_any(),
            }}
            <Runs tr=tr />
            <Show when=move || tr.help.get()>
                <KeysHelp page="Train" keys=TRAIN_KEYS open=tr.help />
            </Show>
        </section>
    }
}

/// What each objective does, in a clinician's words.
fn objective_text(o: Objective) -> (&'static str, &'static str) {
    match o {
        Objective::Sft => (
            "Imitate corrections (SFT)",
            "learns to write what clinicians saved and accepted",
        ),
        Objective::Dpo => (
            "Prefer corrections (DPO)",
            "learns to prefer each corrected text over the model's draft",
        ),
        Objective::Salt => (
            "Prefer corrected words (SALT)",
            "like DPO, weighting the words the clinician changed",
        ),
        Objective::Classify => (
            "Classify notes",
            "learns the document and span labels of annotated notes",
        ),
        Objective::Domain => (
            "Adapt to the notes (domain)",
            "continues pre-training on the project's note text",
        ),
    }
}

/// The form.
#[component]
fn Settings(tr: Train) -> impl IntoView {
    let objectives = Objective::ALL
        .into_iter()
        .map(|o| {
            let (name, what) = objective_text(o);
            view! {
                <label class="choice">
                    <input
                        type="radio"
                        name="objective"
                        id=format!("objective-{}", o.name())
                        prop:checked=move || tr.objective() == o
                        prop:disabled=move || tr.running()
                        on:change=move |_| tr.choose(o)
                    />
                    <span><strong>{name}</strong>" — "{what}</span>
                </label>
            }
        })
        .collect_view();
    let data_line = move || {
        let objective = tr.objective();
        tr.options.with(|o| {
            o.as_ref()
                .and_then(|o| o.data.iter().find(|d| d.objective == objective).cloned())
        })
    };
    let pairs_like = move || {
        matches!(
            tr.objective(),
            Objective::Sft | Objective::Dpo | Objective::Salt
        )
    };
    let models = move || {
        let chosen = tr.request.with(|r| r.model.clone());
        let mut list = tr
            .options
            .with(|o| o.as_ref().map(|o| o.models.clone()).unwrap_or_default());
        if !chosen.is_empty() && !list.iter().any(|m| m.path == chosen) {
            let name = chosen
                .rsplit(['/', '\\'])
                .next()
                .unwrap_or(&chosen)
                .to_owned();
            list.push(api::ModelChoice {
                path: chosen.clone(),
                name,
            });
        }
        list.into_iter()
            .map(|m| {
                let selected = m.path == chosen;
                view! { <option value=m.path.clone() selected=selected>{m.name}</option> }
            })
            .collect_view()
    };
    let pick_model = move |folder: bool| {
        spawn_local(async move {
            let picked = if folder {
                client::choose_adapter().await
            } else {
                client::choose_file("model").await
            };
            match picked {
                Ok(Some(path)) => tr.request.update(|r| r.model = path),
                Ok(None) => {}
                Err(e) => tr.ctx.fail(e),
            }
        });
    };
    let pick_adapter = move |domain: bool| {
        spawn_local(async move {
            match client::choose_adapter().await {
                Ok(Some(path)) if domain => tr.request.update(|r| r.base_adapter = Some(path)),
                Ok(Some(path)) => tr.request.update(|r| r.init_adapter = Some(path)),
                Ok(None) => {}
                Err(e) => tr.ctx.fail(e),
            }
        });
    };
    let devices = move || {
        let chosen = tr.request.with(|r| r.device.unwrap_or(Device::Cpu));
        tr.options
            .with(|o| o.as_ref().map(|o| o.devices.clone()).unwrap_or_default())
            .into_iter()
            .map(|d| {
                let label = match (&d.reason, d.available) {
                    (_, true) => d.device.name().to_uppercase(),
                    (Some(why), false) => format!("{} (not available: {why})", d.device.name().to_uppercase()),
                    (None, false) => format!("{} (not available)", d.device.name().to_uppercase()),
                };
                view! {
                    <option value=d.device.name() selected=d.device == chosen disabled=!d.available>{label}</option>
                }
            })
            .collect_view()
    };
    view! {
        <form class="train-settings" id="train-settings" on:submit=move |ev| { ev.prevent_default(); tr.start(); }>
            <fieldset>
                <legend>"What to train"</legend>
                {objectives}
            </fieldset>
            <div class="train-data" id="train-data">
                {move || match data_line() {
                    Some(d) if d.examples > 0 => view! {
                        <p><strong>{d.examples}</strong>" "{d.what}</p>
                    }.into_any(),
                    Some(d) => view! {
                        <div class="empty">
                            <p>{format!("No {} yet.", d.what)}</p>
                            {if pairs_like() {
                                view! {
                                    <p>"Correct a few model outputs on the Review page: each saved correction becomes an example here."</p>
                                    <button type="button" id="train-to-review" on:click=move |_| tr.ctx.page.set(Page::Review)>"Go to Review"</button>
                                }.into_any()
                            } else {
                                view! {
                                    <p>"Annotate notes (or mark them done) on the Annotate page first."</p>
                                    <button type="button" on:click=move |_| tr.ctx.page.set(Page::Notes)>"Go to Notes"</button>
                                }.into_any()
                            }}
                        </div>
                    }.into_any(),
                    None => view! { <p class="muted">"Counting examples…"</p> }.into_any(),
                }}
            </div>
            <fieldset>
                <legend>"Model"</legend>
                <label for="train-model">"Base model"</label>
                <div class="row">
                    <select id="train-model" prop:disabled=move || tr.running() on:change=move |ev| {
                        let v = event_target_value(&ev);
                        tr.request.update(|r| r.model = v);
                    }>
                        {models}
                    </select>
                    <button type="button" on:click=move |_| pick_model(false)>"Model file…"</button>
                    <button type="button" on:click=move |_| pick_model(true)>"Model folder…"</button>
                </div>
                <Show when=move || tr.options.with(|o| o.as_ref().is_some_and(|o| o.models.is_empty())) && tr.request.with(|r| r.model.is_empty())>
                    <p class="empty">"No model was found on this computer. Choose a model file (.gguf) or a model folder."</p>
                </Show>
                <label>"Continue from an adapter (optional)"</label>
                <div class="row">
                    <span class="path" id="train-init-adapter">
                        {move || tr.request.with(|r| r.init_adapter.clone()).unwrap_or_else(|| "none: a new adapter".to_owned())}
                    </span>
                    <button type="button" on:click=move |_| pick_adapter(false)>"Choose…"</button>
                    <Show when=move || tr.request.with(|r| r.init_adapter.is_some())>
                        <button type="button" on:click=move |_| tr.request.update(|r| r.init_adapter = None)>"Clear"</button>
                    </Show>
                </div>
                <label title="Two-step training: a domain adapter trained on clinical text stays frozen under the new one">"On top of a domain adapter (optional)"</label>
                <div class="row">
                    <span class="path" id="train-base-adapter">
                        {move || tr.request.with(|r| r.base_adapter.clone()).unwrap_or_else(|| "none".to_owned())}
                    </span>
                    <button type="button" on:click=move |_| pick_adapter(true)>"Choose…"</button>
                    <Show when=move || tr.request.with(|r| r.base_adapter.is_some())>
                        <button type="button" on:click=move |_| tr.request.update(|r| r.base_adapter = None)>"Clear"</button>
                    </Show>
                </div>
            </fieldset>
            <fieldset>
                <legend>"Settings"</legend>
                <div class="fields">
                    {num_field(tr, "train-epochs", "Epochs", "passes over the examples", |r| r.epochs, |r, v| r.epochs = v)}
                    {num_field(tr, "train-steps", "Steps", "optimizer steps; when set, instead of epochs", |r| r.steps, |r, v| r.steps = v)}
                    {num_field(tr, "train-lr", "Learning rate", "step size of each update", |r| r.lr, |r, v| r.lr = v)}
                    {num_field(tr, "train-batch", "Batch size", "examples per step", |r| r.batch_size, |r, v| r.batch_size = v)}
                    {num_field(tr, "train-rank", "LoRA rank", "adapter size", |r| r.rank, |r, v| r.rank = v)}
                    <Show when=move || matches!(tr.objective(), Objective::Dpo | Objective::Salt)>
                        {num_field(tr, "train-beta", "β", "how far from the base model it may move", |r| r.beta, |r, v| r.beta = v)}
                    </Show>
                    {num_field(tr, "train-max-length", "Max length", "tokens per example", |r| r.max_length, |r, v| r.max_length = v)}
                    <label for="train-device">"Device"</label>
                    <select id="train-device" on:change=move |ev| {
                        let v = event_target_value(&ev);
                        tr.request.update(|r| r.device = Device::from_str(&v).ok());
                    }>
                        {devices}
                    </select>
                </div>
                <details class="advanced">
                    <summary>"Advanced"</summary>
                    <div class="fields">
                        {num_field(tr, "train-grad-accum", "Gradient accumulation", "batches per step", |r| r.grad_accum, |r, v| r.grad_accum = v)}
                        {num_field(tr, "train-warmup", "Warm-up steps", "steps of rising learning rate", |r| r.warmup_steps, |r, v| r.warmup_steps = v)}
                        {num_field(tr, "train-weight-decay", "Weight decay", "", |r| r.weight_decay, |r, v| r.weight_decay = v)}
                        {num_field(tr, "train-alpha", "LoRA alpha", "adapter scale", |r| r.alpha, |r, v| r.alpha = v)}
                        {num_field(tr, "train-dropout", "LoRA dropout", "", |r| r.dropout, |r, v| r.dropout = v)}
                        {num_field(tr, "train-eval-fraction", "Held out", "share of examples kept aside for the held-out loss, e.g. 0.1", |r| r.eval_fraction, |r, v| r.eval_fraction = v)}
                        {num_field(tr, "train-save-steps", "Checkpoint every", "steps (what a crash can lose at most)", |r| r.save_steps, |r, v| r.save_steps = v)}
                        {num_field(tr, "train-seed", "Seed", "same seed, same run", |r| r.seed, |r, v| r.seed = v)}
                    </div>
                </details>
            </fieldset>
            <Forecast tr=tr />
            <div class="row">
                <button type="submit" id="train-start" class="primary"
                    prop:disabled=move || tr.running() || tr.examples() == Some(0) || tr.request.with(|r| r.model.is_empty())
                >"Start training (Ctrl+Enter)"</button>
            </div>
        </form>
    }
}

/// A number setting: empty means the default; text that is not a number is marked.
fn num_field<T>(
    tr: Train,
    id: &'static str,
    label: &'static str,
    what: &'static str,
    get: fn(&TrainRequest) -> Option<T>,
    set: fn(&mut TrainRequest, Option<T>),
) -> impl IntoView
where
    T: FromStr + ToString + Copy + Send + Sync + 'static,
{
    let invalid = move || tr.invalid.with(|v| v.contains(&id));
    view! {
        <label for=id title=what>{label}</label>
        <span class="field">
            <input
                id=id
                inputmode="decimal"
                aria-invalid=move || invalid().then_some("true")
                prop:value=move || tr.request.with(|r| get(r).map(|v| v.to_string()).unwrap_or_default())
                prop:disabled=move || tr.running()
                placeholder="default"
                on:change=move |ev| {
                    let text = event_target_value(&ev);
                    let text = text.trim();
                    let parsed = if text.is_empty() { Some(None) } else { text.parse::<T>().ok().map(Some) };
                    match parsed {
                        Some(v) => {
                            tr.request.update(|r| set(r, v));
                            tr.invalid.update(|i| i.retain(|x| *x != id));
                        }
                        None => tr.invalid.update(|i| if !i.contains(&id) { i.push(id) }),
                    }
                }
            />
            <Show when=invalid>
                <span class="field-error">"not a number"</span>
            </Show>
            {(!what.is_empty()).then(|| view! { <span class="muted">{what}</span> })}
        </span>
    }
}

fn bytes(n: u64) -> String {
    let n = n as f64;
    if n >= 1e9 {
        format!("{:.1} GB", n / 1e9)
    } else {
        format!("{:.0} MB", n / 1e6)
    }
}

fn duration(s: f64) -> String {
    if !s.is_finite() {
        return "—".to_owned();
    }
    if s < 0.95 {
        return format!("{:.1} s", s.max(0.1));
    }
    let s = s.max(0.0).round() as u64;
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min {:02} s", s / 60, s % 60),
        _ => format!("{} h {:02} min", s / 3600, s % 3600 / 60),
    }
}

/// The forecast of memory and time for the settings.
#[component]
fn Forecast(tr: Train) -> impl IntoView {
    view! {
        <div class="forecast" id="train-forecast" role="status" aria-live="polite">
            {move || match tr.estimate.get() {
                None => view! { <p class="muted">"Choose a model to see what the run will need."</p> }.into_any(),
                Some(Err(message)) => view! { <p class="warning">{message}</p> }.into_any(),
                Some(Ok(e)) => {
                    let memory = match e.available_memory_bytes {
                        Some(a) => format!("about {} of memory ({} free now)", bytes(e.peak_memory_bytes), bytes(a)),
                        None => format!("about {} of memory", bytes(e.peak_memory_bytes)),
                    };
                    let time = format!(
                        "roughly {} per step, {} steps: {}",
                        duration(e.seconds_per_step),
                        e.steps,
                        duration(e.seconds_per_step * e.steps as f64)
                    );
                    view! {
                        <p class:warning=!e.fits>
                            {format!("Forecast: {memory}; {time}.")}
                            {(!e.fits).then_some(" This will not fit: lower the batch size or the max length, or choose another device.")}
                        </p>
                    }.into_any()
                }
            }}
        </div>
    }
}

/// The run being watched: progress, figures and charts.
#[component]
fn Live(tr: Train) -> impl IntoView {
    let x_max = Signal::derive(move || tr.total.get() as f64);
    let status = move || {
        let step = tr.step.get();
        let total = tr.total.get();
        match tr.phase.get() {
            Phase::Idle => tr
                .last
                .get()
                .map(|r| {
                    let hint = match r.status {
                        RunStatus::Interrupted => " It stopped when the app or computer did: resume it to go on from its last checkpoint.",
                        RunStatus::Cancelled => " Resume it to go on from its checkpoint.",
                        _ => "",
                    };
                    format!(
                        "Last run {}: {} at step {} of {}.{hint}",
                        r.name,
                        r.status.label(),
                        r.global_step,
                        r.max_steps
                    )
                })
                .unwrap_or_default(),
            Phase::Loading => "Loading the model and the examples…".to_owned(),
            Phase::Training => format!("Step {step} of {total}"),
            Phase::Stopping => format!(
                "Stopping after step {}… a checkpoint is being saved",
                step + 1
            ),
            Phase::Finished(s) => match s.finish {
                api::TrainFinish::Completed => {
                    format!("Completed: {} steps. The adapter is saved.", s.global_step)
                }
                api::TrainFinish::EarlyStopped => format!(
                    "Stopped early at step {}: the held-out loss stopped improving. The adapter is saved.",
                    s.global_step
                ),
                api::TrainFinish::Cancelled => format!(
                    "Cancelled at step {}. A checkpoint is saved: resume it from the list below.",
                    s.global_step
                ),
            },
            Phase::Failed(m) => format!("The run failed: {m}"),
        }
    };
    let dpo = move || {
        tr.plan.with(|p| {
            p.as_ref()
                .is_some_and(|p| matches!(p.settings.objective, Objective::Dpo | Objective::Salt))
        }) || !tr.margin.with(Vec::is_empty)
    };
    let loss = vec![
        Series {
            name: "training loss".to_owned(),
            class: "s1",
            points: tr.loss,
        },
        Series {
            name: "held-out loss".to_owned(),
            class: "s2",
            points: tr.eval_loss,
        },
    ];
    let rewards = vec![
        Series {
            name: "reward margin".to_owned(),
            class: "s3",
            points: tr.margin,
        },
        Series {
            name: "reward accuracy".to_owned(),
            class: "s4",
            points: tr.accuracy,
        },
    ];
    let (loss, rewards) = (StoredValue::new(loss), StoredValue::new(rewards));
    view! {
        <div class="live" id="train-live" data-step=move || tr.step.get() data-latency-ms=move || tr.latency.get().map(|l| format!("{l:.1}"))>
            <Show
                when=move || tr.phase.get() != Phase::Idle || tr.last.with(Option::is_some)
                fallback=|| view! {
                    <div class="empty">
                        <p>"No run is training. Choose what to train and press Start: the loss chart appears here as the steps go by."</p>
                    </div>
                }
            >
                <p class="run-status" id="train-status" role="status" aria-live="polite">{status}</p>
                <p class="muted" id="train-run-name">{move || tr.run.get().map(|r| r.rsplit(['/', '\\']).next().unwrap_or_default().to_owned())}</p>
                <progress id="train-progress" max=move || tr.total.get().max(1) value=move || tr.step.get()></progress>
                <dl class="figures">
                    <dt>"Step"</dt><dd id="train-step">{move || format!("{} / {}", tr.step.get(), tr.total.get())}</dd>
                    <dt>"Time left"</dt><dd>{move || if tr.phase.get() == Phase::Training { duration(tr.eta_s.get()) } else { "—".to_owned() }}</dd>
                    <dt>"Tokens/s"</dt><dd>{move || match tr.tokens_per_s.get() { t if t > 0.0 => format!("{t:.0}"), _ => "—".to_owned() }}</dd>
                    <dt>"Memory"</dt><dd>{move || tr.memory.get().map(bytes).unwrap_or_else(|| "—".to_owned())}</dd>
                    <dt>"Loss"</dt><dd id="train-loss">{move || tr.loss.with(|p| p.last().map(|&(_, l)| short(l))).unwrap_or_else(|| "—".to_owned())}</dd>
                </dl>
                {move || match tr.phase.get() {
                    Phase::Finished(s) if s.finish != api::TrainFinish::Cancelled => Some(view! {
                        <button id="train-try" class="primary" on:click=move |_| {
                            tr.ctx.try_adapter.set(Some(s.out.clone()));
                            tr.ctx.page.set(Page::Review);
                        }>"Try it on the Review page"</button>
                    }),
                    _ => None,
                }}
                {move || {
                    let last = tr.last.get().filter(|r| r.status.resumable() && tr.phase.get() == Phase::Idle);
                    last.map(|r| view! {
                        <button id="train-resume-last" class="primary" on:click=move |_| tr.resume(r.path.clone())>"Resume this run"</button>
                    })
                }}
                <Show when=move || tr.running()>
                    <button id="train-cancel" on:click=move |_| tr.cancel() prop:disabled=move || tr.phase.get() == Phase::Stopping>"Cancel (Esc)"</button>
                </Show>
            </Show>
            <Show when=move || tr.phase.get() != Phase::Idle || tr.last.with(Option::is_some)>
                <LineChart id="chart-loss" title="Loss" x_label="step" y_label="loss (nats)" x_max=x_max series=loss.get_value() />
                <Show when=dpo>
                    <LineChart id="chart-rewards" title="Rewards (DPO): margin and accuracy" x_label="step" y_label="nats · share" x_max=x_max series=rewards.get_value() />
                </Show>
            </Show>
        </div>
    }
}

/// The runs history.
#[component]
fn Runs(tr: Train) -> impl IntoView {
    let rows = move || {
        tr.runs.get().map(|runs| {
            if runs.is_empty() {
                return view! {
                    <p class="empty" id="runs-empty">"No runs yet. Each run you start is listed here with its settings, figures and adapter folder."</p>
                }
                .into_any();
            }
            let rows = runs
                .into_iter()
                .map(|r| {
                    let objective = r.settings.as_ref().map(|s| s.objective.name()).unwrap_or("?");
                    let resumable = r.status.resumable();
                    let (path, path2) = (r.path.clone(), r.path.clone());
                    let steps = if r.max_steps > 0 {
                        format!("{} / {}", r.global_step, r.max_steps)
                    } else {
                        r.global_step.to_string()
                    };
                    let settings = r.settings.as_ref().map(|s| {
                        let length = match s.length {
                            TrainLength::Steps(n) => format!("{n} steps"),
                            TrainLength::Epochs(e) => format!("{e} epochs"),
                        };
                        format!("{length}, lr {}, batch {}, rank {}, {}", s.lr, s.batch_size, s.lora.rank, s.device.name())
                    });
                    view! {
                        <tr data-run=r.name.clone() data-status=format!("{:?}", r.status).to_lowercase()>
                            <td>{r.name.clone()}</td>
                            <td>{objective}</td>
                            <td class=format!("status {}", r.status.label().replace(' ', "-"))>{r.status.label()}</td>
                            <td>{steps}</td>
                            <td>{r.final_loss.map(short).unwrap_or_default()}</td>
                            <td>{r.best_eval_loss.map(short).unwrap_or_default()}</td>
                            <td class="muted">{settings}</td>
                            <td class="actions">
                                {resumable.then(|| view! {
                                    <button class="resume" prop:disabled=move || tr.running() on:click=move |_| tr.resume(path.clone())>"Resume"</button>
                                })}
                                <button on:click=move |_| {
                                    let p = path2.clone();
                                    spawn_local(async move {
                                        if let Err(e) = client::open_run_folder(&p).await {
                                            tr.ctx.fail(e);
                                        }
                                    });
                                }>"Show folder"</button>
                            </td>
                        </tr>
                    }
                })
                .collect_view();
            view! {
                <table class="runs">
                    <thead><tr>
                        <th>"Run"</th><th>"Objective"</th><th>"Status"</th><th>"Steps"</th>
                        <th>"Last loss"</th><th>"Best held-out"</th><th>"Settings"</th><th></th>
                    </tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            }
            .into_any()
        })
    };
    view! {
        <section class="runs-history" id="train-runs" aria-labelledby="runs-title">
            <h2 id="runs-title">"Runs"</h2>
            {rows}
            {move || tr.runs.with(|r| r.as_ref().is_some_and(|r| r.iter().any(|r| r.status == RunStatus::Interrupted))).then(|| view! {
                <p class="warning" id="runs-interrupted">"A run was interrupted (the app or computer stopped while it trained). Press Resume to continue it from its last checkpoint."</p>
            })}
        </section>
    }
}

/// Every key of the page, for `?`.
const TRAIN_KEYS: &[(&str, &str)] = &[
    ("Ctrl+Enter", "start training with these settings"),
    ("Esc", "cancel the run (a checkpoint is saved); close this"),
    (
        "Tab",
        "move between settings; Space or Enter presses a button",
    ),
    (
        "Alt+T / Alt+E",
        "this page / the Evaluate page, from anywhere",
    ),
    ("?", "show or hide this list"),
];
