//! Training runs and adapters as the CLI and the app see them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Where a run's examples come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "path")]
pub enum TrainData {
    /// A TRL JSONL file.
    File(String),
    /// The open project (its pairs, SFT examples, notes or document labels).
    Project,
}

/// A training run's settings; `None` means the objective's default (TRL's where TRL has one).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainRequest {
    /// `sft`, `dpo`, `salt`, `classify` or `domain`.
    pub objective: String,
    /// Base model: a Hugging Face folder or a GGUF file (dequantised for training).
    pub model: String,
    /// The examples.
    pub data: Option<TrainData>,
    /// Held-out examples (else `eval_fraction` of the data when set).
    pub eval_data: Option<String>,
    /// Share of the data held out for evaluation.
    pub eval_fraction: Option<f64>,
    /// Evaluate every this many steps.
    pub eval_steps: Option<usize>,
    /// Stop after this many evaluations without improvement.
    pub early_stopping_patience: Option<usize>,
    /// Output folder: adapter, `trainer_state.json`, checkpoint.
    pub out: String,
    /// Start the trainable adapter from this PEFT adapter (its r/alpha/targets win).
    pub init_adapter: Option<String>,
    /// A frozen adapter stacked underneath (the two-step method).
    pub base_adapter: Option<String>,
    /// Optimizer steps.
    pub steps: Option<usize>,
    /// Epochs (when `steps` is not given).
    pub epochs: Option<f64>,
    /// Peak learning rate.
    pub lr: Option<f64>,
    /// Examples per micro-batch.
    pub batch_size: Option<usize>,
    /// Micro-batches per optimizer step.
    pub grad_accum: Option<usize>,
    /// AdamW weight decay.
    pub weight_decay: Option<f64>,
    /// Global grad-norm clipping (0: off).
    pub max_grad_norm: Option<f64>,
    /// `constant`, `linear` or `cosine`.
    pub scheduler: Option<String>,
    /// Linear warm-up steps.
    pub warmup_steps: Option<usize>,
    /// LoRA rank.
    pub rank: Option<usize>,
    /// LoRA alpha.
    pub alpha: Option<f64>,
    /// LoRA dropout.
    pub dropout: Option<f64>,
    /// Target projections (`q_proj`, …).
    pub targets: Option<Vec<String>>,
    /// DPO β.
    pub beta: Option<f64>,
    /// Longest example in tokens.
    pub max_length: Option<usize>,
    /// Seed of initialisation, data order and dropout.
    pub seed: Option<u64>,
    /// Checkpoint every this many steps.
    pub save_steps: Option<usize>,
    /// Continue the run checkpointed in `out`.
    pub resume: bool,
    /// `cpu`, `cuda`, `metal` or `auto`.
    pub device: Option<String>,
    /// Classification label names and order (else the labels found in the data).
    pub labels: Option<Vec<String>>,
}

/// The settings a run actually uses, printed at its start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainPlan {
    /// Every setting with its value, defaults filled in.
    pub settings: BTreeMap<String, serde_json::Value>,
    /// Training examples.
    pub train_examples: usize,
    /// Held-out examples.
    pub eval_examples: usize,
    /// Lines of the data that could not be used (`FILE:LINE: reason`).
    pub skipped: Vec<String>,
    /// Trainable weights.
    pub trainable_parameters: usize,
    /// Optimizer steps planned.
    pub total_steps: usize,
    /// Step the run starts from (non-zero when resuming).
    pub start_step: usize,
}

/// One optimizer step's figures, as `--json` prints them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainStep {
    /// 1-based step.
    pub step: usize,
    /// Steps planned.
    pub total_steps: usize,
    /// Loss of the batch before this update.
    pub loss: f64,
    /// Global gradient norm before clipping.
    pub grad_norm: f64,
    /// Learning rate of this update.
    pub learning_rate: f64,
    /// Tokens processed in this step.
    pub tokens: usize,
    /// Throughput of this step.
    pub tokens_per_s: f64,
    /// Seconds since start.
    pub elapsed_s: f64,
    /// Estimated seconds left.
    pub eta_s: f64,
    /// The objective's figures (TRL's names, e.g. `rewards/accuracies`).
    #[serde(flatten)]
    pub metrics: BTreeMap<String, f64>,
    /// Held-out figures when this step evaluated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eval: Option<BTreeMap<String, f64>>,
}

/// How a run ended and where its files are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainSummary {
    /// `completed`, `early_stopped` or `cancelled`.
    pub finish: String,
    /// Steps done.
    pub global_step: usize,
    /// The last step's loss.
    pub final_loss: Option<f64>,
    /// The output folder.
    pub out: String,
    /// Best held-out loss and its step.
    pub best_eval_loss: Option<f64>,
    /// Step of `best_eval_loss`.
    pub best_step: Option<usize>,
}

/// What a saved adapter is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdapterInfo {
    /// Its folder.
    pub path: String,
    /// `LORA`.
    pub peft_type: String,
    /// `CAUSAL_LM` or `SEQ_CLS`.
    pub task_type: String,
    /// Rank.
    pub r: usize,
    /// Alpha.
    pub lora_alpha: f64,
    /// Dropout.
    pub lora_dropout: f64,
    /// Target projections.
    pub target_modules: Vec<String>,
    /// The base model it was trained on, as recorded.
    pub base_model_name_or_path: Option<String>,
    /// Number of adapter weights.
    pub parameters: usize,
    /// Number of tensors.
    pub tensors: usize,
    /// Classification labels, when it has a head.
    pub labels: Option<usize>,
    /// Steps trained, when a `trainer_state.json` is beside it.
    pub global_step: Option<usize>,
}
