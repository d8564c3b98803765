//! Training runs and adapters as the CLI and the app see them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What the adapter is trained to do.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Objective {
    /// Supervised fine-tuning on prompt/completion (loss on the completion).
    #[default]
    Sft,
    /// Direct preference optimisation on prompt/chosen/rejected.
    Dpo,
    /// Sequence-alignment likelihood/unlikelihood on edit pairs.
    Salt,
    /// Multi-label classification (text + labels).
    Classify,
    /// Causal LM on raw text (domain adaptation).
    Domain,
}

impl Objective {
    /// Every objective, in the order the CLI lists them.
    pub const ALL: [Objective; 5] = [
        Objective::Sft,
        Objective::Dpo,
        Objective::Salt,
        Objective::Classify,
        Objective::Domain,
    ];

    /// The name in requests, settings and `--json` output (`sft`, `dpo`, …).
    pub fn name(self) -> &'static str {
        match self {
            Objective::Sft => "sft",
            Objective::Dpo => "dpo",
            Objective::Salt => "salt",
            Objective::Classify => "classify",
            Objective::Domain => "domain",
        }
    }
}

/// Where a model runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Device {
    /// The CPU (always available).
    #[default]
    Cpu,
    /// The first NVIDIA GPU (a build with the `cuda` feature).
    Cuda,
    /// The Apple GPU (a build with the `metal` feature).
    Metal,
    /// A GPU when one is built in and present, else the CPU.
    Auto,
}

impl Device {
    /// Every choice.
    pub const ALL: [Device; 4] = [Device::Cpu, Device::Cuda, Device::Metal, Device::Auto];

    /// The name in requests and settings (`cpu`, `cuda`, `metal`, `auto`).
    pub fn name(self) -> &'static str {
        match self {
            Device::Cpu => "cpu",
            Device::Cuda => "cuda",
            Device::Metal => "metal",
            Device::Auto => "auto",
        }
    }
}

impl std::str::FromStr for Device {
    type Err = String;

    /// The one reading of a device name (case and surrounding spaces ignored; `gpu` is `cuda`).
    fn from_str(name: &str) -> Result<Device, String> {
        match name.trim().to_ascii_lowercase().as_str() {
            "cpu" => Ok(Device::Cpu),
            "cuda" | "gpu" => Ok(Device::Cuda),
            "metal" => Ok(Device::Metal),
            "auto" => Ok(Device::Auto),
            _ => Err(format!(
                "unknown device {name:?}; expected cpu, cuda, metal or auto"
            )),
        }
    }
}

/// The learning-rate schedule after warm-up (the Hugging Face schedulers).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheduler {
    /// The peak rate throughout.
    Constant,
    /// Linear decay to 0 at the last step (TRL's default).
    #[default]
    Linear,
    /// Half-cosine decay to 0.
    Cosine,
}

impl Scheduler {
    /// The name in requests and settings.
    pub fn name(self) -> &'static str {
        match self {
            Scheduler::Constant => "constant",
            Scheduler::Linear => "linear",
            Scheduler::Cosine => "cosine",
        }
    }
}

/// A projection of a Llama block that a LoRA adapter can adapt (PEFT's module names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoraTarget {
    /// Attention query.
    QProj,
    /// Attention key.
    KProj,
    /// Attention value.
    VProj,
    /// Attention output.
    OProj,
    /// MLP gate.
    GateProj,
    /// MLP up.
    UpProj,
    /// MLP down.
    DownProj,
}

impl LoraTarget {
    /// Every projection, in checkpoint order.
    pub const ALL: [LoraTarget; 7] = [
        LoraTarget::QProj,
        LoraTarget::KProj,
        LoraTarget::VProj,
        LoraTarget::OProj,
        LoraTarget::GateProj,
        LoraTarget::UpProj,
        LoraTarget::DownProj,
    ];

    /// PEFT's module name (`q_proj`, …).
    pub fn name(self) -> &'static str {
        match self {
            LoraTarget::QProj => "q_proj",
            LoraTarget::KProj => "k_proj",
            LoraTarget::VProj => "v_proj",
            LoraTarget::OProj => "o_proj",
            LoraTarget::GateProj => "gate_proj",
            LoraTarget::UpProj => "up_proj",
            LoraTarget::DownProj => "down_proj",
        }
    }

    /// The projection PEFT calls `name`.
    pub fn from_name(name: &str) -> Option<LoraTarget> {
        LoraTarget::ALL.into_iter().find(|t| t.name() == name)
    }
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrainFinish {
    /// Every planned step ran.
    Completed,
    /// The held-out loss stopped improving.
    EarlyStopped,
    /// Cancelled; a checkpoint was written (resume continues it).
    Cancelled,
}

impl TrainFinish {
    /// The name in `--json` output (`completed`, `early_stopped`, `cancelled`).
    pub fn name(self) -> &'static str {
        match self {
            TrainFinish::Completed => "completed",
            TrainFinish::EarlyStopped => "early_stopped",
            TrainFinish::Cancelled => "cancelled",
        }
    }
}

/// Where a run's examples come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "path")]
pub enum TrainData {
    /// A TRL JSONL file.
    File(String),
    /// The open project (its pairs, SFT examples, notes or document labels).
    Project,
}

/// A training run as asked for; `None` means the objective's default (TRL's where TRL has
/// one). `studio::training::plan::resolve` turns it into [`TrainSettings`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainRequest {
    /// What to train.
    pub objective: Objective,
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
    /// Optimizer steps (wins over `epochs`).
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
    /// Schedule after warm-up.
    pub scheduler: Option<Scheduler>,
    /// Linear warm-up steps.
    pub warmup_steps: Option<usize>,
    /// LoRA rank.
    pub rank: Option<usize>,
    /// LoRA alpha.
    pub alpha: Option<f64>,
    /// LoRA dropout.
    pub dropout: Option<f64>,
    /// Projections to adapt.
    pub targets: Option<Vec<LoraTarget>>,
    /// DPO β.
    pub beta: Option<f64>,
    /// Longest example in tokens.
    pub max_length: Option<usize>,
    /// Seed of initialisation, data order and dropout.
    pub seed: Option<u64>,
    /// Checkpoint every this many steps (0: only on cancel and at the end).
    pub save_steps: Option<usize>,
    /// Continue the run checkpointed in `out`.
    pub resume: bool,
    /// Where to train.
    pub device: Option<Device>,
    /// Classification label names and order (else the labels found in the data).
    pub labels: Option<Vec<String>>,
}

/// How long a run trains: a step budget, or passes over the data.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrainLength {
    /// Exactly this many optimizer steps.
    Steps(usize),
    /// This many passes over the training examples (rounded up to whole steps).
    Epochs(f64),
}

/// The LoRA adapter a run trains.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoraSettings {
    /// Rank.
    pub rank: usize,
    /// Alpha (the update is scaled by alpha / rank).
    pub alpha: f64,
    /// Dropout on the adapter's input.
    pub dropout: f64,
    /// Projections adapted.
    pub targets: Vec<LoraTarget>,
}

/// A request with every default filled in and every value checked: what the run uses, prints
/// at its start and stores beside the adapter (`train_plan.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainSettings {
    /// What to train.
    pub objective: Objective,
    /// Base model.
    pub model: String,
    /// The examples.
    pub data: TrainData,
    /// Held-out examples file.
    pub eval_data: Option<String>,
    /// Share of the data held out (0: none).
    pub eval_fraction: f64,
    /// Evaluate every this many steps (`None` when there is no held-out data).
    pub eval_steps: Option<usize>,
    /// Stop after this many evaluations without improvement.
    pub early_stopping_patience: Option<usize>,
    /// Output folder.
    pub out: String,
    /// The adapter training starts from.
    pub init_adapter: Option<String>,
    /// The frozen adapter underneath.
    pub base_adapter: Option<String>,
    /// Step budget or epochs.
    #[serde(flatten)]
    pub length: TrainLength,
    /// Peak learning rate.
    pub lr: f64,
    /// Examples per micro-batch.
    pub batch_size: usize,
    /// Micro-batches per optimizer step.
    pub grad_accum: usize,
    /// AdamW weight decay.
    pub weight_decay: f64,
    /// AdamW β₁ and β₂.
    pub adam_betas: [f64; 2],
    /// AdamW ε.
    pub adam_eps: f64,
    /// Global grad-norm clipping (`None`: off).
    pub max_grad_norm: Option<f64>,
    /// Schedule after warm-up.
    pub scheduler: Scheduler,
    /// Linear warm-up steps.
    pub warmup_steps: usize,
    /// The adapter (from `init_adapter` when there is one).
    #[serde(flatten)]
    pub lora: LoraSettings,
    /// DPO β (DPO only).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub beta: Option<f64>,
    /// Longest example in tokens.
    pub max_length: usize,
    /// Seed of initialisation, data order and dropout.
    pub seed: u64,
    /// Checkpoint every this many steps (0: only on cancel and at the end).
    pub save_steps: usize,
    /// Continue the run checkpointed in `out`.
    pub resume: bool,
    /// Where to train, as asked.
    pub device: Device,
    /// Classification label names and order (else the labels found in the data).
    pub labels: Option<Vec<String>>,
}

impl TrainSettings {
    /// The request that resolves to these settings again (to resume a run, or to start the
    /// app's form from an objective's defaults).
    pub fn to_request(&self) -> TrainRequest {
        let s = self;
        let (steps, epochs) = match s.length {
            TrainLength::Steps(n) => (Some(n), None),
            TrainLength::Epochs(e) => (None, Some(e)),
        };
        TrainRequest {
            objective: s.objective,
            model: s.model.clone(),
            data: Some(s.data.clone()),
            eval_data: s.eval_data.clone(),
            eval_fraction: Some(s.eval_fraction),
            eval_steps: s.eval_steps,
            early_stopping_patience: s.early_stopping_patience,
            out: s.out.clone(),
            init_adapter: s.init_adapter.clone(),
            base_adapter: s.base_adapter.clone(),
            steps,
            epochs,
            lr: Some(s.lr),
            batch_size: Some(s.batch_size),
            grad_accum: Some(s.grad_accum),
            weight_decay: Some(s.weight_decay),
            max_grad_norm: s.max_grad_norm,
            scheduler: Some(s.scheduler),
            warmup_steps: Some(s.warmup_steps),
            rank: Some(s.lora.rank),
            alpha: Some(s.lora.alpha),
            dropout: Some(s.lora.dropout),
            targets: Some(s.lora.targets.clone()),
            beta: s.beta,
            max_length: Some(s.max_length),
            seed: Some(s.seed),
            save_steps: Some(s.save_steps),
            resume: s.resume,
            device: Some(s.device),
            labels: s.labels.clone(),
        }
    }
}

/// What a run will do, reported once at its start: the settings and what they came to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainPlan {
    /// Every setting, defaults filled in.
    pub settings: TrainSettings,
    /// The device the model was opened on (`auto` resolved).
    pub device: Device,
    /// Training examples.
    pub train_examples: usize,
    /// Held-out examples.
    pub eval_examples: usize,
    /// Records of the data that could not be used (`FILE:LINE: reason`).
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
    /// How it ended.
    pub finish: TrainFinish,
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

/// Where a training run stands, read from its folder (or the app's running job).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Training now.
    Running,
    /// Every step done; the adapter is saved.
    Completed,
    /// Stopped when the held-out loss stopped improving; the adapter is saved.
    EarlyStopped,
    /// Cancelled with a checkpoint: it can resume.
    Cancelled,
    /// Stopped without finishing (the app or computer went down): it resumes from its last
    /// checkpoint.
    Interrupted,
    /// Nothing trained yet (failed before the first checkpoint).
    Empty,
}

impl RunStatus {
    /// How the status reads on a page.
    pub fn label(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Completed => "completed",
            RunStatus::EarlyStopped => "stopped early",
            RunStatus::Cancelled => "cancelled",
            RunStatus::Interrupted => "interrupted",
            RunStatus::Empty => "not started",
        }
    }

    /// Whether training can continue from a checkpoint.
    pub fn resumable(self) -> bool {
        matches!(self, RunStatus::Cancelled | RunStatus::Interrupted)
    }
}

/// A training run in the project's runs folder: its settings, how far it got and its log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainRun {
    /// The folder's name (`003-dpo`).
    pub name: String,
    /// The run's folder: adapter, `trainer_state.json`, `train_plan.json`, checkpoint.
    pub path: String,
    /// Where it stands.
    pub status: RunStatus,
    /// The settings it was started with, when `train_plan.json` could be read.
    pub settings: Option<TrainSettings>,
    /// Steps done.
    pub global_step: usize,
    /// Steps planned (0 when unknown).
    pub max_steps: usize,
    /// The last step's loss.
    pub final_loss: Option<f64>,
    /// Best held-out loss.
    pub best_eval_loss: Option<f64>,
    /// When it was last written, seconds since the Unix epoch.
    pub modified_s: u64,
    /// One row per step (held-out figures on the steps that evaluated), from
    /// `trainer_state.json`.
    pub log: Vec<TrainStep>,
}

/// A device the Train page offers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceOption {
    /// The device.
    pub device: Device,
    /// Whether this build includes it and this computer has it.
    pub available: bool,
    /// Why not, when it is not available.
    pub reason: Option<String>,
}

/// What the Train page offers for a project: models, devices, the defaults of each objective
/// and how many examples each would train on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainOptions {
    /// Models found (the first is the default).
    pub models: Vec<crate::ModelChoice>,
    /// CPU always; CUDA and Metal when built in (available when present).
    pub devices: Vec<DeviceOption>,
    /// The settings a run of each objective gets when nothing is changed.
    pub defaults: Vec<TrainSettings>,
    /// The project's examples for each objective.
    pub data: Vec<TrainDataSize>,
    /// The folder runs are written to.
    pub runs_folder: String,
}

/// How many examples an objective would train on in this project.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainDataSize {
    /// The objective.
    pub objective: Objective,
    /// Examples it would use.
    pub examples: usize,
    /// What they are ("preference pairs of the train split", …).
    pub what: String,
}

/// A rough forecast of a run's cost on a device, shown before it starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainEstimate {
    /// The model's parameters.
    pub parameters: u64,
    /// Peak memory: weights, adapter and optimizer state, activations of one micro-batch.
    pub peak_memory_bytes: u64,
    /// Memory free on this computer now, when it can be read.
    pub available_memory_bytes: Option<u64>,
    /// Whether the peak fits in what is free (true when unknown).
    pub fits: bool,
    /// Seconds per optimizer step, from the step's arithmetic and this computer's cores.
    pub seconds_per_step: f64,
    /// Steps the run would take.
    pub steps: usize,
}

/// What the app's training job reports to the Train page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "event")]
pub enum TrainEvent {
    /// The job started; `run` is its folder.
    Started {
        /// The job id (for cancel).
        job: u64,
        /// The run's folder.
        run: String,
    },
    /// Loading the model and the examples.
    Loading,
    /// Steps the run did before (a resumed run), for the charts.
    Earlier {
        /// The earlier steps.
        steps: Vec<TrainStep>,
    },
    /// The resolved plan.
    Plan {
        /// The plan.
        plan: Box<TrainPlan>,
    },
    /// One optimizer step done.
    Step {
        /// Its figures.
        step: TrainStep,
        /// Resident memory of the app now, when it can be read.
        memory_bytes: Option<u64>,
        /// When it was sent, milliseconds since the Unix epoch (the page measures how long it
        /// takes to reach the chart).
        at_ms: f64,
    },
    /// The run ended (completed, stopped early or cancelled with a checkpoint).
    Finished {
        /// How.
        summary: TrainSummary,
    },
    /// The run failed.
    Failed {
        /// Why.
        error: crate::ApiError,
    },
}

/// A training job written for another engine (`clinitune train … --export-job DIR`): TRL
/// JSONL data, `job.json` (the settings the plan resolved, as TRL's argument names), `train.py`,
/// `requirements.txt`, `accelerate.yaml` and a README, to run on a bigger machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainJobExport {
    /// The job folder.
    pub dir: String,
    /// The files written, relative to `dir`.
    pub files: Vec<String>,
    /// Training examples written.
    pub examples: u64,
    /// Held-out examples written (a separate evaluation file), if any.
    pub eval_examples: Option<u64>,
    /// The Hugging Face model folder the job trains on; `None` when the plan's model is a GGUF
    /// file and no Hugging Face folder was given (the script then asks for one).
    pub hf_model: Option<String>,
    /// The settings the plan resolved, which the job reproduces.
    pub settings: TrainSettings,
}
