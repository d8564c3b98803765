//! A [`TrainRequest`] resolved into [`TrainSettings`]: every default filled in, here and only
//! here, and every value checked against its allowed range before anything is loaded or
//! allocated. The run uses, prints and stores exactly these settings.
//!
//! Defaults follow TRL where TRL has one: learning rate 2e-5 (SFT, SALT, domain) or 1e-6 (DPO),
//! β 0.1, batch 8, 3 epochs, AdamW β 0.9/0.999, ε 1e-8, weight decay 0, grad-norm clip 1.0,
//! linear schedule, max length 1024; LoRA as TRL's `ModelConfig`: r 16, alpha 32, dropout
//! 0.05, on q/k/v/o. Classification uses the Trainer's 5e-5. The optimizer's and schedule's
//! defaults are `tune::train::TrainConfig::default()`'s, read from there.

use std::path::Path;

use api::{
    Device, LoraSettings, LoraTarget, Objective, Scheduler, TrainLength, TrainRequest,
    TrainSettings,
};
use tune::llama::Target;
use tune::lora::LoraConfig;
use tune::train::{AdamWConfig, SaltWeights, TrainConfig};

use crate::error::Error;

/// LoRA rank when the request gives none (TRL's `ModelConfig`).
pub const DEFAULT_RANK: usize = 16;
/// LoRA alpha when the request gives none.
pub const DEFAULT_ALPHA: f64 = 32.0;
/// LoRA dropout when the request gives none.
pub const DEFAULT_DROPOUT: f64 = 0.05;
/// Adapted projections when the request gives none.
pub const DEFAULT_TARGETS: [LoraTarget; 4] = [
    LoraTarget::QProj,
    LoraTarget::KProj,
    LoraTarget::VProj,
    LoraTarget::OProj,
];
/// DPO β when the request gives none (TRL's).
pub const DEFAULT_BETA: f64 = 0.1;
/// Longest example in tokens when the request gives none (TRL's).
pub const DEFAULT_MAX_LENGTH: usize = 1024;
/// Evaluation interval when there is held-out data and the request gives none.
pub const DEFAULT_EVAL_STEPS: usize = 50;

/// The largest LoRA rank accepted (far above any useful one; bounds the adapter's memory).
pub const MAX_RANK: usize = 4096;
/// The largest micro-batch accepted.
pub const MAX_BATCH_SIZE: usize = 4096;
/// The most micro-batches per optimizer step.
pub const MAX_GRAD_ACCUM: usize = 4096;
/// The longest example accepted, in tokens.
pub const MAX_LENGTH: usize = 1 << 20;
/// The most optimizer (or warm-up) steps accepted.
pub const MAX_STEPS: usize = 100_000_000;
/// The most passes over the data accepted.
pub const MAX_EPOCHS: f64 = 10_000.0;

/// The learning rate an objective trains with when the request gives none.
pub fn default_lr(objective: Objective) -> f64 {
    match objective {
        Objective::Dpo => 1e-6,
        Objective::Classify => 5e-5,
        Objective::Sft | Objective::Salt | Objective::Domain => TrainConfig::default().lr,
    }
}

/// Resolves `request` into the settings a run uses: defaults filled in, every value checked.
/// With an `init_adapter`, its `adapter_config.json` is read: its rank, alpha, dropout and
/// targets are the ones trained, whatever the request says.
pub fn resolve(request: &TrainRequest) -> Result<TrainSettings, Error> {
    let base = TrainConfig::default();
    let objective = request.objective;
    let data = request.data.clone().ok_or(Error::NoTrainingData)?;
    if request.model.trim().is_empty() {
        return Err(Error::Setting {
            setting: "model",
            value: String::new(),
            allowed: "a model folder or .gguf file".to_owned(),
        });
    }
    if request.out.trim().is_empty() {
        return Err(Error::Setting {
            setting: "out",
            value: String::new(),
            allowed: "an output folder".to_owned(),
        });
    }
    let length = match (request.steps, request.epochs) {
        (Some(steps), _) => TrainLength::Steps(count("steps", steps, 1, MAX_STEPS)?),
        (None, Some(epochs)) => TrainLength::Epochs(positive("epochs", epochs, MAX_EPOCHS)?),
        (None, None) => TrainLength::Epochs(base.epochs),
    };
    let eval_fraction = match request.eval_fraction {
        Some(f) if !(0.0..1.0).contains(&f) => {
            return Err(Error::Setting {
                setting: "eval_fraction",
                value: f.to_string(),
                allowed: "0 or more and below 1".to_owned(),
            });
        }
        Some(f) => f,
        None => 0.0,
    };
    let evaluates = request.eval_data.is_some() || eval_fraction > 0.0;
    let eval_steps = match request.eval_steps {
        Some(n) => Some(count("eval_steps", n, 1, MAX_STEPS)?),
        None => Some(DEFAULT_EVAL_STEPS),
    }
    .filter(|_| evaluates);
    let early_stopping_patience = request
        .early_stopping_patience
        .map(|p| count("early_stopping_patience", p, 1, MAX_STEPS))
        .transpose()?;
    let lr = match request.lr {
        Some(lr) => positive("lr", lr, 1.0)?,
        None => default_lr(objective),
    };
    let batch_size = count(
        "batch_size",
        request.batch_size.unwrap_or(base.batch_size),
        1,
        MAX_BATCH_SIZE,
    )?;
    let grad_accum = count(
        "grad_accum",
        request.grad_accum.unwrap_or(base.grad_accum),
        1,
        MAX_GRAD_ACCUM,
    )?;
    let weight_decay = unit(
        "weight_decay",
        request.weight_decay.unwrap_or(base.adamw.weight_decay),
        true,
    )?;
    let max_grad_norm = match request.max_grad_norm {
        Some(n) if !n.is_finite() || n < 0.0 => {
            return Err(Error::Setting {
                setting: "max_grad_norm",
                value: n.to_string(),
                allowed: "0 (off) or a positive number".to_owned(),
            });
        }
        Some(n) => Some(n).filter(|&n| n > 0.0),
        None => base.max_grad_norm,
    };
    let warmup_steps = count(
        "warmup_steps",
        request.warmup_steps.unwrap_or(base.warmup_steps),
        0,
        MAX_STEPS,
    )?;
    let lora = match &request.init_adapter {
        Some(dir) => adapter_settings(Path::new(dir))?,
        None => {
            let targets = request
                .targets
                .clone()
                .unwrap_or_else(|| DEFAULT_TARGETS.to_vec());
            let mut sorted = targets.clone();
            sorted.sort();
            sorted.dedup();
            if sorted.is_empty() {
                return Err(Error::Setting {
                    setting: "targets",
                    value: String::new(),
                    allowed: "one or more of q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, \
                              down_proj"
                        .to_owned(),
                });
            }
            LoraSettings {
                rank: count("rank", request.rank.unwrap_or(DEFAULT_RANK), 1, MAX_RANK)?,
                alpha: positive("alpha", request.alpha.unwrap_or(DEFAULT_ALPHA), 1e6)?,
                dropout: unit("dropout", request.dropout.unwrap_or(DEFAULT_DROPOUT), false)?,
                targets: sorted,
            }
        }
    };
    let beta = match objective {
        Objective::Dpo => Some(positive(
            "beta",
            request.beta.unwrap_or(DEFAULT_BETA),
            1000.0,
        )?),
        _ => None,
    };
    let max_length = count(
        "max_length",
        request.max_length.unwrap_or(DEFAULT_MAX_LENGTH),
        2,
        MAX_LENGTH,
    )?;
    let save_steps = count(
        "save_steps",
        request.save_steps.unwrap_or(base.checkpoint_every),
        0,
        MAX_STEPS,
    )?;
    let labels = match &request.labels {
        Some(labels) => {
            let mut seen = std::collections::BTreeSet::new();
            for l in labels {
                if l.trim().is_empty() || !seen.insert(l.as_str()) {
                    return Err(Error::Setting {
                        setting: "labels",
                        value: labels.join(","),
                        allowed: "distinct, non-empty label names".to_owned(),
                    });
                }
            }
            if labels.is_empty() {
                None
            } else {
                Some(labels.clone())
            }
        }
        None => None,
    };
    Ok(TrainSettings {
        objective,
        model: request.model.clone(),
        data,
        eval_data: request.eval_data.clone(),
        eval_fraction,
        eval_steps,
        early_stopping_patience,
        out: request.out.clone(),
        init_adapter: request.init_adapter.clone(),
        base_adapter: request.base_adapter.clone(),
        length,
        lr,
        batch_size,
        grad_accum,
        weight_decay,
        adam_betas: [base.adamw.beta1, base.adamw.beta2],
        adam_eps: base.adamw.eps,
        max_grad_norm,
        scheduler: request.scheduler.unwrap_or_default(),
        warmup_steps,
        lora,
        beta,
        max_length,
        seed: request.seed.unwrap_or(base.seed),
        save_steps,
        resume: request.resume,
        device: request.device.unwrap_or_default(),
        labels,
    })
}

/// The trainer's configuration for `settings`; `has_eval` says whether held-out data exists.
pub(crate) fn trainer_config(settings: &TrainSettings, has_eval: bool) -> TrainConfig {
    let objective = match settings.objective {
        Objective::Sft => tune::train::Objective::Sft,
        Objective::Dpo => tune::train::Objective::Dpo {
            beta: settings.beta.unwrap_or(DEFAULT_BETA),
        },
        Objective::Salt => tune::train::Objective::Salt(SaltWeights::default()),
        Objective::Classify => tune::train::Objective::Classify {
            class_weights: None,
        },
        Objective::Domain => tune::train::Objective::Domain,
    };
    let (steps, epochs) = match settings.length {
        TrainLength::Steps(s) => (Some(s), TrainConfig::default().epochs),
        TrainLength::Epochs(e) => (None, e),
    };
    TrainConfig {
        objective,
        steps,
        epochs,
        lr: settings.lr,
        batch_size: settings.batch_size,
        grad_accum: settings.grad_accum,
        adamw: AdamWConfig {
            beta1: settings.adam_betas[0],
            beta2: settings.adam_betas[1],
            eps: settings.adam_eps,
            weight_decay: settings.weight_decay,
        },
        max_grad_norm: settings.max_grad_norm,
        scheduler: match settings.scheduler {
            Scheduler::Constant => tune::train::Scheduler::Constant,
            Scheduler::Linear => tune::train::Scheduler::Linear,
            Scheduler::Cosine => tune::train::Scheduler::Cosine,
        },
        warmup_steps: settings.warmup_steps,
        seed: settings.seed,
        shuffle: true,
        eval_every: settings.eval_steps.filter(|_| has_eval),
        patience: settings.early_stopping_patience,
        checkpoint_every: settings.save_steps,
    }
}

/// The model projection an adapter target names.
pub(crate) fn target(t: LoraTarget) -> Target {
    match t {
        LoraTarget::QProj => Target::Q,
        LoraTarget::KProj => Target::K,
        LoraTarget::VProj => Target::V,
        LoraTarget::OProj => Target::O,
        LoraTarget::GateProj => Target::Gate,
        LoraTarget::UpProj => Target::Up,
        LoraTarget::DownProj => Target::Down,
    }
}

/// The adapter target a model projection is.
fn lora_target(t: Target) -> LoraTarget {
    match t {
        Target::Q => LoraTarget::QProj,
        Target::K => LoraTarget::KProj,
        Target::V => LoraTarget::VProj,
        Target::O => LoraTarget::OProj,
        Target::Gate => LoraTarget::GateProj,
        Target::Up => LoraTarget::UpProj,
        Target::Down => LoraTarget::DownProj,
    }
}

/// The device the model is opened on for `device`.
pub fn device_choice(device: Device) -> tune::device::DeviceChoice {
    match device {
        Device::Cpu => tune::device::DeviceChoice::Cpu,
        Device::Cuda => tune::device::DeviceChoice::Cuda,
        Device::Metal => tune::device::DeviceChoice::Metal,
        Device::Auto => tune::device::DeviceChoice::Auto,
    }
}

/// The LoRA settings of the PEFT adapter in `dir`.
fn adapter_settings(dir: &Path) -> Result<LoraSettings, Error> {
    let path = dir.join(tune::lora::CONFIG_FILE);
    let text = std::fs::read_to_string(&path).map_err(|source| Error::Io {
        action: "read",
        path: path.clone(),
        source,
    })?;
    let config: LoraConfig = serde_json::from_str(&text).map_err(|e| Error::Adapter {
        path: path.clone(),
        message: e.to_string(),
    })?;
    let targets = config
        .targets()
        .map_err(|message| Error::Adapter {
            path: path.clone(),
            message,
        })?
        .into_iter()
        .map(lora_target)
        .collect();
    Ok(LoraSettings {
        rank: config.r,
        alpha: config.lora_alpha,
        dropout: config.lora_dropout,
        targets,
    })
}

/// `value` if it lies in `min..=max`.
fn count(setting: &'static str, value: usize, min: usize, max: usize) -> Result<usize, Error> {
    if (min..=max).contains(&value) {
        return Ok(value);
    }
    Err(Error::Setting {
        setting,
        value: value.to_string(),
        allowed: format!("{min} to {max}"),
    })
}

/// `value` if it is a finite number above 0 and at most `max`.
fn positive(setting: &'static str, value: f64, max: f64) -> Result<f64, Error> {
    if value.is_finite() && value > 0.0 && value <= max {
        return Ok(value);
    }
    Err(Error::Setting {
        setting,
        value: value.to_string(),
        allowed: format!("a number above 0 and at most {max}"),
    })
}

/// `value` if it lies in `0..1` (or `0..=1` when `one` is allowed).
fn unit(setting: &'static str, value: f64, one: bool) -> Result<f64, Error> {
    if value >= 0.0 && (value < 1.0 || (one && value <= 1.0)) {
        return Ok(value);
    }
    Err(Error::Setting {
        setting,
        value: value.to_string(),
        allowed: if one {
            "0 to 1"
        } else {
            "0 or more and below 1"
        }
        .to_owned(),
    })
}

#[cfg(test)]
mod tests;
