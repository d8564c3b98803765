//! A training job: resolve the request, load the model and the examples, report the plan,
//! train with progress and cancellation, and save the adapter, its state and the plan.

use std::path::{Path, PathBuf};

use api::{Device, TrainFinish, TrainPlan, TrainRequest, TrainSettings, TrainStep, TrainSummary};
use tune::lora::{Lora, LoraConfig};
use tune::train::data::{Builder, Dataset};
use tune::train::{Finish, Trainer};

use super::data;
use super::plan;
use crate::error::Error;
use crate::jobs::CancelToken;
use crate::models;
use crate::project::Project;

/// The settings of a run, stored beside its adapter.
pub const PLAN_FILE: &str = "train_plan.json";
/// Present while a run trains, with the training process's id: left behind by a run that was
/// killed, so the run reads as interrupted.
pub const RUNNING_FILE: &str = "training.pid";

/// Writes [`RUNNING_FILE`] and removes it when dropped (the run ended, failed or panicked).
struct Running(PathBuf);

impl Running {
    fn mark(out: &Path) -> Result<Running, Error> {
        let path = out.join(RUNNING_FILE);
        tune::lora::write_atomic(&path, std::process::id().to_string().as_bytes())
            .map_err(writing)?;
        Ok(Running(path))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Runs a training job: reports its plan through `on_plan`, each step through `on_step`;
/// stops at `cancel` with a checkpoint in the output folder (continue with `resume`).
pub fn train(
    project: Option<&Project>,
    request: &TrainRequest,
    on_plan: &mut dyn FnMut(&TrainPlan),
    on_step: &mut dyn FnMut(&TrainStep),
    cancel: &CancelToken,
) -> Result<TrainSummary, Error> {
    let settings = plan::resolve(request)?;
    let out = PathBuf::from(&settings.out);
    // A run killed between the two renames that replace its checkpoint has only
    // `checkpoint.old`: it is a run to resume all the same, never one to overwrite.
    if !settings.resume && tune::train::has_checkpoint(&out) {
        return Err(Error::RunExists { out });
    }
    let m = models::load_on(
        Path::new(&settings.model),
        true,
        plan::device_choice(settings.device),
    )?;
    let (model, tokenizer) = (&m.model, &m.tokenizer);
    let dev = model.device().clone();
    let builder = Builder::new(tokenizer, settings.max_length);
    let loaded = data::load(project, &settings, &builder)?;
    let (train_set, mut eval_set) =
        data::hold_out(loaded.dataset, settings.eval_fraction, settings.seed);
    if let Some(path) = &settings.eval_data {
        let labels = match &train_set {
            Dataset::Classify { labels, .. } => Some(labels.as_slice()),
            _ => None,
        };
        let kind = data::kind(settings.objective);
        eval_set = Some(data::read_file(Path::new(path), kind, &builder, labels)?.dataset);
    }
    // Adapters: a frozen base (two-step method) and the trainable one, fresh or continued.
    let base = match &settings.base_adapter {
        Some(dir) => vec![Lora::load(Path::new(dir), model.config(), &dev).map_err(reading)?],
        None => vec![],
    };
    let mut adapter = match &settings.init_adapter {
        Some(dir) => Lora::load(Path::new(dir), model.config(), &dev).map_err(reading)?,
        None => {
            let lora = &settings.lora;
            let targets: Vec<_> = lora.targets.iter().map(|&t| plan::target(t)).collect();
            let config = LoraConfig::new(lora.rank, lora.alpha, lora.dropout, &targets);
            Lora::init(config, model.config(), settings.seed, &dev).map_err(Error::Train)?
        }
    };
    if let (Dataset::Classify { labels, .. }, Some(dir)) = (&train_set, &settings.init_adapter)
        && adapter.score().is_some()
    {
        check_init_labels(Path::new(dir), &adapter, labels)?;
    }
    if let Dataset::Classify { labels, .. } = &train_set
        && adapter.score().is_none()
    {
        adapter = adapter
            .with_score_head(
                labels.len(),
                model.config().hidden_size,
                settings.seed,
                &dev,
            )
            .map_err(Error::Train)?;
    }
    adapter.config_mut().base_model_name_or_path = Some(settings.model.clone());
    let config = plan::trainer_config(&settings, eval_set.is_some());
    let mut trainer = Trainer::new(model, base, adapter, config).map_err(Error::Train)?;
    let start_step = if settings.resume {
        trainer.resume(&out).map_err(reading)?
    } else {
        0
    };
    let total_steps = trainer.total_steps(&train_set);
    let plan = TrainPlan {
        device: device_of(model.device()),
        train_examples: train_set.len(),
        eval_examples: eval_set.as_ref().map_or(0, |e| e.len()),
        skipped: loaded.skipped,
        trainable_parameters: trainer.adapter().parameter_count(),
        total_steps,
        start_step,
        settings,
    };
    write_plan(&out, &plan.settings)?;
    let _running = Running::mark(&out)?;
    on_plan(&plan);
    tracing::info!(
        objective = plan.settings.objective.name(),
        examples = plan.train_examples,
        steps = total_steps,
        "training"
    );
    let mut last_loss = None;
    let finish = trainer
        .train(
            &train_set,
            eval_set.as_ref(),
            Some(&out),
            &|| cancel.is_cancelled(),
            &mut |p| {
                last_loss = Some(p.log.loss);
                on_step(&TrainStep {
                    step: p.log.step,
                    total_steps: p.total_steps,
                    loss: p.log.loss,
                    grad_norm: p.log.grad_norm,
                    learning_rate: p.log.learning_rate,
                    tokens: p.tokens,
                    tokens_per_s: p.tokens_per_s,
                    elapsed_s: p.elapsed_s,
                    eta_s: p.eta_s,
                    metrics: p.log.metrics.clone(),
                    eval: p.eval.clone(),
                })
            },
        )
        .map_err(writing)?;
    if let Dataset::Classify { labels, .. } = &train_set {
        let text = serde_json::to_string_pretty(labels).expect("a list of strings serialises");
        tune::lora::write_atomic(&out.join("labels.json"), text.as_bytes()).map_err(writing)?;
    }
    let state = trainer.state();
    Ok(TrainSummary {
        finish: match finish {
            Finish::Completed => TrainFinish::Completed,
            Finish::EarlyStopped => TrainFinish::EarlyStopped,
            Finish::Cancelled => TrainFinish::Cancelled,
        },
        global_step: state.global_step,
        final_loss: last_loss,
        out: out.display().to_string(),
        best_eval_loss: state.best_metric,
        best_step: state.best_global_step,
    })
}

/// Stores the settings beside the run, so what an adapter was trained with can be read back.
fn write_plan(out: &Path, settings: &TrainSettings) -> Result<(), Error> {
    std::fs::create_dir_all(out).map_err(|source| Error::Io {
        action: "create",
        path: out.to_owned(),
        source,
    })?;
    let text = serde_json::to_string_pretty(settings).expect("settings serialise");
    tune::lora::write_atomic(&out.join(PLAN_FILE), text.as_bytes()).map_err(writing)
}

/// The device a model runs on.
fn device_of(device: &tune::Device) -> Device {
    match device {
        tune::Device::Cpu => Device::Cpu,
        tune::Device::Cuda(_) => Device::Cuda,
        tune::Device::Metal(_) => Device::Metal,
    }
}

/// A `tune` failure while reading files (data, adapters, a checkpoint).
pub(crate) fn reading(e: tune::Error) -> Error {
    match e {
        tune::Error::Io { path, source } => Error::Io {
            action: "read",
            path,
            source,
        },
        e => Error::Train(e),
    }
}

/// A `tune` failure while training and writing (checkpoints, the adapter).
pub(crate) fn writing(e: tune::Error) -> Error {
    match e {
        tune::Error::Io { path, source } => Error::Io {
            action: "write",
            path,
            source,
        },
        e => Error::Train(e),
    }
}

/// A classifier continued from `dir` must be trained on the labels its score head was made
/// for, in the same order: otherwise rows would silently swap meaning (a run "completes" with
/// its labels permuted) or the shapes would not fit.
fn check_init_labels(dir: &Path, adapter: &Lora, labels: &[String]) -> Result<(), Error> {
    let path = dir.join(crate::prediction::LABELS_FILE);
    let rows = adapter
        .score()
        .and_then(|s| s.dims().first().copied())
        .unwrap_or(0);
    let theirs: Vec<String> = match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text).map_err(|e| Error::Adapter {
            path: path.clone(),
            message: format!("is not a list of label names ({e})"),
        })?,
        Err(_) => {
            return Err(Error::Adapter {
                path,
                message: format!(
                    "is missing: the adapter's score head has {rows} rows but nothing says which \
                     label each row is, so it cannot be continued on these labels"
                ),
            });
        }
    };
    if theirs == labels {
        return Ok(());
    }
    let same_set = {
        let mut a = theirs.clone();
        let mut b = labels.to_vec();
        a.sort();
        b.sort();
        a == b
    };
    let message = if same_set {
        format!(
            "lists the labels in the order {}, but this run's data gives {}; list the labels in \
             the adapter's order so each row keeps its meaning",
            theirs.join(", "),
            labels.join(", ")
        )
    } else {
        let only_adapter: Vec<&str> = theirs
            .iter()
            .filter(|l| !labels.contains(l))
            .map(String::as_str)
            .collect();
        let only_data: Vec<&str> = labels
            .iter()
            .filter(|l| !theirs.contains(l))
            .map(String::as_str)
            .collect();
        format!(
            "was trained on {} labels ({}); this run's data has {} ({}). Only in the adapter: \
             {}; only in the data: {}. Continue it on data with the adapter's labels, or train \
             a new classifier",
            theirs.len(),
            theirs.join(", "),
            labels.len(),
            labels.join(", "),
            if only_adapter.is_empty() {
                "none".to_owned()
            } else {
                only_adapter.join(", ")
            },
            if only_data.is_empty() {
                "none".to_owned()
            } else {
                only_data.join(", ")
            },
        )
    };
    Err(Error::Adapter { path, message })
}
