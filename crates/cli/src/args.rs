//! The command line, as clap parses it. The contract scripts rely on is in README.md.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Clinitune: annotate clinical notes, correct a local model, train it on your corrections.
#[derive(Debug, Parser)]
#[command(name = "clinitune", version, about, propagate_version = true)]
pub struct Cli {
    /// Project file (`*.clinitune`).
    #[arg(long, global = true, env = "CLINITUNE_PROJECT", value_name = "PATH")]
    pub project: Option<PathBuf>,
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// Where models run: cpu, cuda, metal (GPU backends need the build's `cuda`/`metal`
    /// feature) or auto (a GPU when available, else the CPU).
    #[arg(
        long,
        global = true,
        env = "CLINITUNE_DEVICE",
        default_value = "cpu",
        value_enum
    )]
    pub device: Device,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a project file, optionally with label schemas (TOML files or built-in: sdoh, outcomes).
    Init {
        /// Where to create it.
        path: PathBuf,
        /// A schema file or built-in schema name; repeat for several.
        #[arg(long = "schema", value_name = "FILE")]
        schemas: Vec<String>,
        /// Encrypt the project (file and write-ahead log) with a passphrase: typed at the
        /// prompt twice, or taken from $CLINITUNE_PASSPHRASE. Without it the project cannot be
        /// opened; it cannot be recovered.
        #[arg(long)]
        encrypt: bool,
    },
    /// Import notes from CSV, JSONL, a folder of .txt files, a brat corpus, a Label Studio JSON
    /// export or Prodigy JSONL.
    Import(ImportArgs),
    /// List, search and show notes.
    #[command(subcommand)]
    Notes(NotesCommand),
    /// Add and list label schemas.
    #[command(subcommand)]
    Schema(SchemaCommand),
    /// Add or remove annotations from the command line (offsets in characters, end-exclusive).
    #[command(subcommand)]
    Annotate(AnnotateCommand),
    /// Export notes and annotations as brat, JSONL, Label Studio JSON or Prodigy JSONL.
    Export {
        /// Output format.
        #[arg(long, value_enum)]
        format: ExportFormat,
        /// Output folder (brat) or file (JSONL, Label Studio, Prodigy).
        out: PathBuf,
        /// Only this annotator's annotations.
        #[arg(long)]
        annotator: Option<String>,
        /// Notes only, without annotations (JSONL).
        #[arg(long)]
        notes_only: bool,
    },
    /// Counts of notes, annotations and labels.
    Stats,
    /// Inter-annotator agreement on the notes two annotators both annotated (gold only):
    /// Cohen's kappa per document label, span F1 per span label with A as the reference.
    Agreement {
        /// The reference annotator.
        #[arg(long = "a", value_name = "ANNOTATOR")]
        annotator_a: String,
        /// The annotator compared with A.
        #[arg(long = "b", value_name = "ANNOTATOR")]
        annotator_b: String,
    },
    /// Merge another project file into this one: annotations, statuses, outputs, reviews and
    /// training pairs of the notes both have (matched by content), each annotator kept apart.
    Merge(crate::merge::MergeArgs),
    /// Generate text with a local model (streams tokens; --json prints ids and text).
    Generate(GenerateArgs),
    /// Token ids of a text.
    Tokenize {
        /// Model folder or .gguf file (default: $CLINITUNE_MODEL).
        #[arg(long, env = "CLINITUNE_MODEL")]
        model: PathBuf,
        /// The text.
        #[arg(long)]
        text: String,
        /// Dequantise GGUF weights to float32 (slower; exact reference numbers).
        #[arg(long)]
        dequantize: bool,
        /// Add the model's special tokens (e.g. BOS) as the tokenizer is configured to.
        #[arg(long)]
        add_special: bool,
    },
    /// Logits of the last position for a prompt (a probe for a model or adapter).
    Logits {
        /// Model folder or .gguf file.
        #[arg(long, env = "CLINITUNE_MODEL")]
        model: PathBuf,
        /// The prompt.
        #[arg(long)]
        prompt: String,
        /// Render the prompt as a user message with the chat template.
        #[arg(long)]
        chat: bool,
        /// Dequantise GGUF weights to float32 (slower; exact reference numbers).
        #[arg(long)]
        dequantize: bool,
        /// A PEFT LoRA adapter folder to apply; repeat to stack (bottom first).
        #[arg(long, value_name = "DIR")]
        adapter: Vec<PathBuf>,
    },
    /// Describe models, or convert one to GGUF.
    #[command(subcommand)]
    Model(ModelCommand),
    /// Train a LoRA adapter: sft, dpo, salt, classify or domain (writes a PEFT adapter,
    /// trainer_state.json and a resumable checkpoint to --out), or write the run as a TRL +
    /// Accelerate job for a bigger machine (--export-job DIR).
    #[command(after_long_help = TRAIN_HELP)]
    Train(Box<TrainArgs>),
    /// Classify texts or the project's notes with a trained classifier adapter: per-label
    /// probabilities and the labels over threshold, one JSON line per item; optionally tune
    /// per-label thresholds, score against gold, or write the labels as suggestions.
    Predict(Box<crate::predict::PredictArgs>),
    /// Describe, merge or export saved adapters (Hugging Face, GGUF, llama.cpp LoRA, Ollama).
    #[command(subcommand)]
    Adapter(AdapterCommand),
    /// Prompt tasks: add a TOML template (new version) or list them.
    #[command(subcommand)]
    Task(crate::review::TaskCommand),
    /// Generate a task's outputs over notes (progress bar; resumable; --json prints them).
    Run(crate::review::RunArgs),
    /// List or show model outputs with what made them.
    #[command(subcommand)]
    Outputs(crate::review::OutputsCommand),
    /// Review outputs: accept, edit from a file, rank two; accept or reject suggested spans.
    #[command(subcommand)]
    Review(crate::review::ReviewCommand),
    /// Preference pairs and SFT examples: list, split by note, export or import TRL JSONL.
    #[command(subcommand)]
    Pairs(crate::review::PairsCommand),
    /// Score predictions against gold: F1 and AUROC for labels, ROUGE for texts, with 95% CIs.
    #[command(subcommand)]
    Eval(crate::eval::EvalCommand),
    /// Change an encrypted project's passphrase (the new one typed twice at the prompt, or
    /// from $CLINITUNE_NEW_PASSPHRASE; the current one as for any command).
    Rekey,
    /// The project's audit trail: who did what and when (never note text), hash-chained.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Write a synthetic, labelled corpus of clinical notes (no real patient data).
    DemoCorpus {
        /// Output file (JSONL) or folder (brat).
        out: PathBuf,
        /// How many notes.
        #[arg(long, default_value_t = 500)]
        notes: usize,
        /// Random seed; the same seed gives the same corpus.
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Output format.
        #[arg(long, value_enum, default_value_t = CorpusFormat::Jsonl)]
        format: CorpusFormat,
        /// Leave out the gold labels and spans (notes only, to annotate from scratch).
        #[arg(long)]
        without_labels: bool,
    },
    /// Write TRL JSONL training sets made from the demo corpus's gold labels (sft.jsonl,
    /// pairs.jsonl, classify.jsonl and whole-note variants) into a folder.
    DemoTrainingData {
        /// Output folder.
        out: PathBuf,
        /// How many demo notes to draw from (those with social history are used).
        #[arg(long, default_value_t = 400)]
        notes: usize,
        /// Corpus seed.
        #[arg(long, default_value_t = 11)]
        seed: u64,
    },
}

/// Export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// brat standoff: one .txt and one .ann per note.
    Brat,
    /// JSON Lines: one note per line with its labels and spans.
    Jsonl,
    /// Label Studio JSON: an array of tasks, one annotation per annotator (UTF-16 offsets).
    LabelStudio,
    /// Prodigy JSONL: one task per note, annotator and answer (accept, reject, ignore).
    Prodigy,
}

/// Formats the demo corpus is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CorpusFormat {
    /// brat standoff: one .txt and one .ann per note.
    Brat,
    /// JSON Lines: one note per line with its labels and spans.
    Jsonl,
}

/// Arguments of `import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// File or folder to import.
    pub path: PathBuf,
    /// Format; guessed from the path when left out.
    #[arg(long, value_parser = ["csv", "jsonl", "txt", "brat", "label-studio", "prodigy"])]
    pub format: Option<String>,
    /// Column (CSV) or key (JSONL) holding the note text.
    #[arg(long)]
    pub text_col: Option<String>,
    /// Column or key holding the note's id in the source.
    #[arg(long)]
    pub id_col: Option<String>,
    /// Column or key holding the category.
    #[arg(long)]
    pub category_col: Option<String>,
    /// Column or key holding the description.
    #[arg(long)]
    pub description_col: Option<String>,
    /// Column or key holding the patient id.
    #[arg(long)]
    pub subject_col: Option<String>,
    /// Column or key holding the admission id.
    #[arg(long)]
    pub hadm_col: Option<String>,
    /// Column or key holding the chart date.
    #[arg(long)]
    pub date_col: Option<String>,
    /// Column or key holding comma-joined document labels.
    #[arg(long)]
    pub label_col: Option<String>,
    /// Column or key holding the adverse/nonadverse values aligned with the labels.
    #[arg(long)]
    pub adverse_col: Option<String>,
    /// Replace invalid UTF-8 with U+FFFD instead of refusing the file.
    #[arg(long)]
    pub lossy: bool,
    /// Annotator name for imported annotations.
    #[arg(long)]
    pub annotator: Option<String>,
}

/// `notes` subcommands.
#[derive(Debug, Subcommand)]
pub enum NotesCommand {
    /// List notes, filtered.
    List(Filters),
    /// Full-text search: every word must occur; "quoted phrases" and prefix* work.
    Search {
        /// What to look for.
        query: String,
        /// Filters.
        #[command(flatten)]
        filters: Filters,
    },
    /// Show one note with its annotations (by note id or source id).
    Show {
        /// Note id (or external id).
        id: String,
    },
    /// Set a note's status.
    Status {
        /// Note id (or external id).
        id: String,
        /// todo, in_progress, done or skipped.
        status: String,
        /// Who changes it.
        #[arg(long)]
        annotator: Option<String>,
    },
}

/// Filters shared by `notes list` and `notes search`.
#[derive(Debug, Args)]
pub struct Filters {
    /// Only this category.
    #[arg(long)]
    pub category: Option<String>,
    /// Only this status (todo, in_progress, done, skipped).
    #[arg(long)]
    pub status: Option<String>,
    /// Only notes with this label (span or document).
    #[arg(long)]
    pub label: Option<String>,
    /// Only notes this annotator annotated.
    #[arg(long)]
    pub annotator: Option<String>,
    /// At most this many results.
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    /// Skip this many results.
    #[arg(long, default_value_t = 0)]
    pub offset: usize,
    /// Order: by note id (fast), best match first (ranks every match) or least certain first
    /// (the notes a classifier was least sure of, after predict --as-suggestions).
    #[arg(long, value_enum, default_value_t = Order::Id)]
    pub order: Order,
}

/// Result orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Order {
    /// By note id.
    Id,
    /// Best match first (BM25).
    Relevance,
    /// The notes a classifier was least sure about first (after `predict --as-suggestions`).
    Uncertainty,
}

/// `schema` subcommands.
#[derive(Debug, Subcommand)]
pub enum SchemaCommand {
    /// Add a schema (TOML file or built-in name), replacing one of the same name.
    Add {
        /// File or built-in name (sdoh, outcomes).
        file: String,
    },
    /// List schemas and their labels.
    List,
}

/// `annotate` subcommands.
#[derive(Debug, Subcommand)]
pub enum AnnotateCommand {
    /// Add a span.
    Span(SpanArgs),
    /// Add or update a document label.
    Doc(DocArgs),
    /// Remove a span or document label.
    #[command(subcommand)]
    Remove(RemoveCommand),
    /// Remove a span (same as `remove span`).
    RemoveSpan(SpanArgs),
    /// Remove a document label (same as `remove doc`).
    RemoveDoc(DocArgs),
    /// Undo your last change on a note.
    Undo(NoteArgs),
    /// Redo the change you last undid on a note.
    Redo(NoteArgs),
}

/// `annotate remove` subcommands.
#[derive(Debug, Subcommand)]
pub enum RemoveCommand {
    /// Remove a span.
    Span(SpanArgs),
    /// Remove a document label.
    Doc(DocArgs),
}

/// A span on the command line.
#[derive(Debug, Args)]
pub struct SpanArgs {
    /// Note id (or external id).
    #[arg(long)]
    pub note: String,
    /// Label name.
    #[arg(long)]
    pub label: String,
    /// Start, in characters from the beginning of the note.
    #[arg(long)]
    pub start: usize,
    /// End (exclusive), in characters.
    #[arg(long)]
    pub end: usize,
    /// Attribute: NAME (a flag set to true) or NAME=VALUE; repeat for several.
    #[arg(long = "attr", value_name = "NAME[=VALUE]")]
    pub attrs: Vec<String>,
    /// Annotator (default: $CLINITUNE_ANNOTATOR, else your user name).
    #[arg(long)]
    pub annotator: Option<String>,
}

/// A document label on the command line.
#[derive(Debug, Args)]
pub struct DocArgs {
    /// Note id (or external id).
    #[arg(long)]
    pub note: String,
    /// Label name.
    #[arg(long)]
    pub label: String,
    /// Attribute: NAME or NAME=VALUE; repeat for several.
    #[arg(long = "attr", value_name = "NAME[=VALUE]")]
    pub attrs: Vec<String>,
    /// Annotator.
    #[arg(long)]
    pub annotator: Option<String>,
}

/// A note and an annotator.
#[derive(Debug, Args)]
pub struct NoteArgs {
    /// Note id (or external id).
    #[arg(long)]
    pub note: String,
    /// Annotator.
    #[arg(long)]
    pub annotator: Option<String>,
}

/// `model` subcommands.
#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Architecture, size and tokenizer of a model.
    Info {
        /// Model folder or .gguf file.
        #[arg(long, env = "CLINITUNE_MODEL")]
        model: PathBuf,
        /// Dequantise GGUF weights to float32.
        #[arg(long)]
        dequantize: bool,
    },
    /// Convert a model folder, or a GGUF file, into one GGUF file llama.cpp loads (llama
    /// metadata, tokenizer, chat template). A GGUF source is dequantised first.
    Export {
        /// Model folder or .gguf file.
        #[arg(long, env = "CLINITUNE_MODEL")]
        model: PathBuf,
        /// Output format.
        #[arg(long, value_enum)]
        format: ModelExportFormat,
        /// How the weight matrices are stored (norms stay f32).
        #[arg(long, value_enum, default_value = "f16")]
        quant: Quant,
        /// The FILE.gguf to write.
        #[arg(long)]
        out: PathBuf,
    },
}

/// Arguments of `generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Model folder (config.json, *.safetensors, tokenizer.json) or .gguf file.
    #[arg(long, env = "CLINITUNE_MODEL")]
    pub model: PathBuf,
    /// The prompt.
    #[arg(long)]
    pub prompt: String,
    /// Render the prompt as one user message through the model's chat template.
    #[arg(long)]
    pub chat: bool,
    /// At most this many new tokens.
    #[arg(long, default_value_t = 256)]
    pub max_tokens: usize,
    /// Greedy or sampled decoding.
    #[command(flatten)]
    pub sampling: SamplingArgs,
    /// Random seed for sampling.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Stop when this string appears; repeat for several.
    #[arg(long)]
    pub stop: Vec<String>,
    /// Dequantise GGUF weights to float32 (slower; reproduces the float reference exactly).
    #[arg(long)]
    pub dequantize: bool,
    /// A PEFT LoRA adapter folder to apply; repeat to stack (bottom first).
    #[arg(long, value_name = "DIR")]
    pub adapter: Vec<PathBuf>,
}

/// How tokens are chosen, shared by `generate` and `run`.
#[derive(Debug, Args)]
pub struct SamplingArgs {
    /// Always take the most likely token (the default unless --temperature is given).
    #[arg(long, conflicts_with_all = ["temperature", "top_p", "top_k"])]
    pub greedy: bool,
    /// Sampling temperature (> 0 samples).
    #[arg(long)]
    pub temperature: Option<f64>,
    /// Nucleus sampling: keep the most likely tokens up to this total probability.
    #[arg(long, default_value_t = 1.0)]
    pub top_p: f64,
    /// Keep only the k most likely tokens (0: all).
    #[arg(long, default_value_t = 0)]
    pub top_k: usize,
    /// Penalise tokens already in the sequence (1: off).
    #[arg(long, default_value_t = 1.0)]
    pub repetition_penalty: f32,
}

impl SamplingArgs {
    /// The temperature to use: 0 (greedy) unless --temperature asks for sampling.
    pub fn temperature(&self) -> f64 {
        if self.greedy {
            0.0
        } else {
            self.temperature.unwrap_or(0.0)
        }
    }
}

/// Where models run (`--device`), one to one with [`api::Device`].
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Device {
    /// The CPU.
    Cpu,
    /// The first NVIDIA GPU (a build with the `cuda` feature).
    Cuda,
    /// The Apple GPU (a build with the `metal` feature).
    Metal,
    /// A GPU when available, else the CPU.
    Auto,
}

impl From<Device> for api::Device {
    fn from(d: Device) -> api::Device {
        match d {
            Device::Cpu => api::Device::Cpu,
            Device::Cuda => api::Device::Cuda,
            Device::Metal => api::Device::Metal,
            Device::Auto => api::Device::Auto,
        }
    }
}

/// Learning-rate schedules (`--scheduler`), one to one with [`api::Scheduler`].
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Scheduler {
    /// The peak rate throughout.
    Constant,
    /// Linear decay to 0.
    Linear,
    /// Half-cosine decay to 0.
    Cosine,
}

impl From<Scheduler> for api::Scheduler {
    fn from(s: Scheduler) -> api::Scheduler {
        match s {
            Scheduler::Constant => api::Scheduler::Constant,
            Scheduler::Linear => api::Scheduler::Linear,
            Scheduler::Cosine => api::Scheduler::Cosine,
        }
    }
}

/// Projections a LoRA adapter adapts (`--targets`), one to one with [`api::LoraTarget`].
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Target {
    /// Attention query.
    #[value(name = "q_proj")]
    Q,
    /// Attention key.
    #[value(name = "k_proj")]
    K,
    /// Attention value.
    #[value(name = "v_proj")]
    V,
    /// Attention output.
    #[value(name = "o_proj")]
    O,
    /// MLP gate.
    #[value(name = "gate_proj")]
    Gate,
    /// MLP up.
    #[value(name = "up_proj")]
    Up,
    /// MLP down.
    #[value(name = "down_proj")]
    Down,
}

impl From<Target> for api::LoraTarget {
    fn from(t: Target) -> api::LoraTarget {
        match t {
            Target::Q => api::LoraTarget::QProj,
            Target::K => api::LoraTarget::KProj,
            Target::V => api::LoraTarget::VProj,
            Target::O => api::LoraTarget::OProj,
            Target::Gate => api::LoraTarget::GateProj,
            Target::Up => api::LoraTarget::UpProj,
            Target::Down => api::LoraTarget::DownProj,
        }
    }
}

/// Training objectives, one to one with [`api::Objective`].
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Objective {
    /// Supervised fine-tuning on prompt/completion (loss on the completion).
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

impl From<Objective> for api::Objective {
    fn from(o: Objective) -> api::Objective {
        match o {
            Objective::Sft => api::Objective::Sft,
            Objective::Dpo => api::Objective::Dpo,
            Objective::Salt => api::Objective::Salt,
            Objective::Classify => api::Objective::Classify,
            Objective::Domain => api::Objective::Domain,
        }
    }
}

/// Arguments of `train`. Unset values take the objective's defaults (TRL's where it has one),
/// printed at the start of the run.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// What to train.
    #[arg(value_enum)]
    pub objective: Objective,
    /// Base model: Hugging Face folder or .gguf file (dequantised for training).
    #[arg(long, env = "CLINITUNE_MODEL")]
    pub model: PathBuf,
    /// TRL JSONL: prompt/completion or messages (sft), prompt/chosen/rejected (dpo, salt),
    /// text (domain), text + labels (classify). Without it, the --project's data.
    #[arg(long, value_name = "FILE")]
    pub data: Option<PathBuf>,
    /// Output folder: adapter files, trainer_state.json, checkpoint/.
    #[arg(long, required_unless_present = "export_job")]
    pub out: Option<PathBuf>,
    /// Instead of training here, write a TRL + Accelerate job to this folder (data, job.json
    /// with these settings, train.py, requirements.txt, accelerate.yaml, README.md) to run on
    /// a bigger machine; its adapter imports back.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["out", "resume"])]
    pub export_job: Option<PathBuf>,
    /// With --export-job: the base model's Hugging Face folder for TRL, when --model is a
    /// .gguf file (TRL trains on the Hugging Face weights).
    #[arg(long, value_name = "DIR", requires = "export_job")]
    pub hf_model: Option<PathBuf>,
    /// Continue from a saved PEFT adapter (its r, alpha and targets win over the flags).
    #[arg(long, value_name = "DIR")]
    pub init_adapter: Option<PathBuf>,
    /// A frozen adapter underneath the trained one (two-step method).
    #[arg(long, value_name = "DIR")]
    pub base_adapter: Option<PathBuf>,
    /// Optimizer steps (else --epochs).
    #[arg(long, conflicts_with = "epochs")]
    pub steps: Option<usize>,
    /// Passes over the data [default: 3].
    #[arg(long)]
    pub epochs: Option<f64>,
    /// Peak learning rate [default: 2e-5; dpo 1e-6; classify 5e-5].
    #[arg(long)]
    pub lr: Option<f64>,
    /// Examples per micro-batch [default: 8].
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Micro-batches per optimizer step [default: 1].
    #[arg(long)]
    pub grad_accum: Option<usize>,
    /// AdamW weight decay [default: 0].
    #[arg(long)]
    pub weight_decay: Option<f64>,
    /// Clip the global gradient norm (0: off) [default: 1].
    #[arg(long)]
    pub max_grad_norm: Option<f64>,
    /// Learning-rate schedule after warm-up [default: linear].
    #[arg(long, value_enum)]
    pub scheduler: Option<Scheduler>,
    /// Linear warm-up steps [default: 0].
    #[arg(long)]
    pub warmup_steps: Option<usize>,
    /// LoRA rank [default: 16].
    #[arg(long)]
    pub rank: Option<usize>,
    /// LoRA alpha [default: 32].
    #[arg(long)]
    pub alpha: Option<f64>,
    /// LoRA dropout [default: 0.05].
    #[arg(long)]
    pub dropout: Option<f64>,
    /// Projections to adapt [default: q_proj,k_proj,v_proj,o_proj].
    #[arg(long, value_enum, value_delimiter = ',')]
    pub targets: Option<Vec<Target>>,
    /// DPO β [default: 0.1].
    #[arg(long)]
    pub beta: Option<f64>,
    /// Longest example in tokens [default: 1024].
    #[arg(long)]
    pub max_length: Option<usize>,
    /// Seed of initialisation, data order and dropout [default: 42].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Continue the run checkpointed in --out (after a kill or a cancel).
    #[arg(long)]
    pub resume: bool,
    /// Held-out examples for evaluation (same format as --data).
    #[arg(long, value_name = "FILE")]
    pub eval_data: Option<PathBuf>,
    /// Hold out this share of --data for evaluation.
    #[arg(long)]
    pub eval_fraction: Option<f64>,
    /// Evaluate every N steps [default: 50 when there is held-out data].
    #[arg(long)]
    pub eval_steps: Option<usize>,
    /// Stop after N evaluations without a better held-out loss.
    #[arg(long)]
    pub early_stopping_patience: Option<usize>,
    /// Write a checkpoint every N steps [default: 50].
    #[arg(long)]
    pub save_steps: Option<usize>,
    /// Classification labels in order (else those found in the data).
    #[arg(long, value_delimiter = ',')]
    pub labels: Option<Vec<String>>,
}

/// What `train --help` adds about each objective's data and outputs.
const TRAIN_HELP: &str = "\
Classification (classify):
  Data: one JSON object per line, {\"text\": \"...\", \"labels\": [\"HOUSING\", ...]}; an empty
  list is a text with none of the labels. From a project: each annotated note's gold document
  labels and span labels.
  Labels: --labels A,B,C fixes their order; else those found in the data, sorted. The order is
  saved as labels.json beside the adapter (one label per row of the score head); continuing a
  classifier (--init-adapter) needs the same labels in the same order.
  Pooling: the score head reads the hidden state of each text's last token (as transformers'
  LlamaForSequenceClassification), so a classifier sees the end of what it reads.
  Thresholds: not chosen here. `clinitune predict --tune-thresholds-on validation` picks one
  per label on held-out data and saves thresholds.json beside the adapter.
  Held-out figures: loss and macro AUROC every --eval-steps on --eval-data or --eval-fraction.

Preferences (dpo, salt): {\"prompt\", \"chosen\", \"rejected\"} per line.
Generation (sft): {\"prompt\", \"completion\"} or {\"messages\": [...]} per line.
Domain adaptation (domain): {\"text\"} per line.";

/// `audit` subcommands.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check that no entry was changed or removed since it was written; exits 1 and names the
    /// first broken entry when one was.
    Verify,
    /// Write every entry (with its hashes) as JSON Lines.
    Export {
        /// Output file (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// `adapter` subcommands.
#[derive(Debug, Subcommand)]
pub enum AdapterCommand {
    /// Rank, alpha, targets, size and training steps of a PEFT adapter folder.
    Info {
        /// The adapter folder.
        dir: PathBuf,
    },
    /// Merge adapters into the base weights and write a Hugging Face folder (`--format hf`,
    /// the default) or one GGUF file llama.cpp, LM Studio and Ollama load (`--format gguf`).
    Merge {
        /// Base model folder or .gguf file.
        #[arg(long, env = "CLINITUNE_MODEL")]
        model: PathBuf,
        /// Adapter folder; repeat to merge several (bottom first).
        #[arg(long, required = true, value_name = "DIR")]
        adapter: Vec<PathBuf>,
        /// What to write.
        #[arg(long, value_enum, default_value = "hf")]
        format: MergeFormat,
        /// How a GGUF stores its weight matrices (norms stay f32; rows that are not whole
        /// 32-value blocks fall back to f16). Only with `--format gguf`.
        #[arg(long, value_enum)]
        quant: Option<Quant>,
        /// Output folder (hf) or FILE.gguf (gguf).
        #[arg(long)]
        out: PathBuf,
    },
    /// Export one adapter for another runtime.
    ///
    /// gguf-lora: OUT is a .gguf file in llama.cpp's LoRA adapter format, for
    /// `llama-cli -m BASE.gguf --lora OUT`; BASE must be the model the adapter was trained on,
    /// as a GGUF (`clinitune model export` makes one from a model folder).
    ///
    /// ollama: OUT is a folder that receives model.gguf (the base: a .gguf --model is copied
    /// unchanged, a model folder is converted at --quant), adapter.gguf (the LoRA) and a
    /// Modelfile (FROM ./model.gguf, ADAPTER ./adapter.gguf, the chat template as TEMPLATE, its
    /// default system message as SYSTEM, PARAMETER stop lines); then, in OUT, run
    /// `ollama create NAME -f Modelfile`. The chat template must be ChatML-style (SmolLM2).
    #[command(verbatim_doc_comment)]
    Export {
        /// Output format.
        #[arg(long, value_enum)]
        format: AdapterExportFormat,
        /// The base model the adapter was trained on (folder or .gguf file): its head counts
        /// decide the query/key row order, and for ollama it is the FROM model.
        #[arg(long, env = "CLINITUNE_MODEL")]
        model: PathBuf,
        /// How the base model's matrices are stored when a model folder is converted (ollama).
        #[arg(long, value_enum, default_value = "f16")]
        quant: Quant,
        /// The adapter folder.
        adapter: PathBuf,
        /// FILE.gguf (gguf-lora) or a folder (ollama).
        out: PathBuf,
    },
}

/// What `adapter merge` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MergeFormat {
    /// A Hugging Face folder: config.json, model.safetensors, tokenizer (float32).
    Hf,
    /// One GGUF file with llama metadata, tokenizer and chat template.
    Gguf,
}

/// What `adapter export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AdapterExportFormat {
    /// llama.cpp's LoRA adapter GGUF (`--lora`).
    GgufLora,
    /// A folder Ollama imports: base GGUF, adapter GGUF and Modelfile.
    Ollama,
}

/// What `model export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModelExportFormat {
    /// One GGUF file with llama metadata, tokenizer and chat template.
    Gguf,
}

/// How GGUF weight matrices are stored (llama.cpp's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Quant {
    /// 32-bit floats (exact).
    F32,
    /// 16-bit floats.
    F16,
    /// 8-bit blocks of 32 with a scale.
    #[value(name = "q8_0")]
    Q8_0,
    /// 4-bit blocks of 32 with a scale and minimum (embedding and output head stay q8_0).
    #[value(name = "q4_1")]
    Q4_1,
}

impl From<Quant> for studio::training::GgufQuant {
    fn from(q: Quant) -> Self {
        match q {
            Quant::F32 => studio::training::GgufQuant::F32,
            Quant::F16 => studio::training::GgufQuant::F16,
            Quant::Q8_0 => studio::training::GgufQuant::Q8_0,
            Quant::Q4_1 => studio::training::GgufQuant::Q4_1,
        }
    }
}
