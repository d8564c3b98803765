//! The review loop's types: prompt tasks, model outputs with what made them, clinicians'
//! reviews (accept, edit, rank), and the datasets they become (preference pairs, SFT examples).

use serde::{Deserialize, Serialize};

use crate::notes::{NoteId, Rejection, SearchQuery};

id_type!(
    /// A prompt task version's id in its project.
    TaskId
);
id_type!(
    /// A model output's id in its project.
    OutputId
);
id_type!(
    /// A saved edit of a model output.
    EditId
);
id_type!(
    /// An A/B ranking of two outputs.
    RankingId
);
id_type!(
    /// A preference pair's id.
    PairId
);
id_type!(
    /// A supervised (SFT) example's id.
    SftId
);

/// What a prompt task asks of the model, which decides how its output is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    /// Free text: a brief hospital course, a social history, a problem list.
    Summarize,
    /// Structured JSON (e.g. SDoH mentions with evidence), turned into suggested spans.
    Extract,
    /// Document labels.
    Classify,
}

impl TaskKind {
    /// The name stored and printed.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskKind::Summarize => "summarize",
            TaskKind::Extract => "extract",
            TaskKind::Classify => "classify",
        }
    }

    /// Parses a stored or typed name.
    pub fn parse(s: &str) -> Option<TaskKind> {
        match s {
            "summarize" => Some(TaskKind::Summarize),
            "extract" => Some(TaskKind::Extract),
            "classify" => Some(TaskKind::Classify),
            _ => None,
        }
    }
}

/// One version of a prompt task as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromptTask {
    /// Id of this version.
    pub id: TaskId,
    /// Task name (`sdoh-extract`); a name has versions 1, 2, …
    pub name: String,
    /// Version of the name, from 1.
    pub version: i64,
    /// What the output is.
    pub kind: TaskKind,
    /// One line on what it is for.
    pub description: String,
    /// When this version was added (UTC, ISO 8601).
    pub created_at: String,
}

/// One chat turn, as chat templates and TRL's conversational datasets have them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ChatMessage {
    /// `system`, `user` or `assistant`.
    pub role: String,
    /// What was said.
    pub content: String,
}

/// How tokens were chosen (stored with every output).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SamplingParams {
    /// 0: greedy.
    pub temperature: f64,
    /// Nucleus threshold (1: off).
    pub top_p: f64,
    /// Keep the k most likely tokens (0: off).
    pub top_k: usize,
    /// Penalty for repeated tokens (1: off).
    pub repetition_penalty: f32,
    /// At most this many new tokens.
    pub max_tokens: usize,
}

/// What to generate: a task over one note or a filtered set, with a model and sampling.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRequest {
    /// Task name, optionally `name@version` (default: the latest version).
    pub task: String,
    /// LoRA adapter folders (PEFT layout) applied over the model, bottom first; the model
    /// must have been loaded with them.
    pub adapters: Vec<String>,
    /// Which notes (all words, with filters); its limit 0 means every matching note.
    pub query: SearchQuery,
    /// These notes only (instead of the query) when not empty.
    pub notes: Vec<NoteId>,
    /// Outputs per note (2 for A/B ranking); sampled outputs need a temperature above 0.
    pub samples: u32,
    /// Token choice and budget.
    pub sampling: SamplingParams,
    /// Seed of the first sample; sample k uses `seed + k`.
    pub seed: u64,
    /// Few-shot examples from annotated notes (default: the task's own setting).
    pub few_shot: Option<usize>,
    /// Token budget for the note in the prompt (default: the task's own setting).
    pub max_note_tokens: Option<usize>,
}

/// A model output with everything that made it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelOutput {
    /// Its id.
    pub id: OutputId,
    /// The note it is about.
    pub note_id: NoteId,
    /// Task name.
    pub task: String,
    /// Task version.
    pub task_version: i64,
    /// Task kind.
    pub kind: TaskKind,
    /// The generation run that made it (same request, same run: reruns resume it).
    pub run: Option<String>,
    /// Which of the run's samples for this note (from 0).
    pub sample: i64,
    /// The generated text.
    pub text: String,
    /// Model path as given.
    pub model: String,
    /// Model file or folder name.
    pub model_name: Option<String>,
    /// SHA-256 of the model's weights file(s).
    pub model_sha256: Option<String>,
    /// Adapter folder(s) applied, `+`-joined bottom first; none for the base model.
    pub adapter: Option<String>,
    /// Sampling parameters.
    pub params: serde_json::Value,
    /// Seed used for this output.
    pub seed: Option<i64>,
    /// Why generation stopped: `eos`, `stop_string`, `max_tokens` or `cancelled`.
    pub stop: Option<String>,
    /// Tokens in the prompt the model saw.
    pub prompt_tokens: Option<i64>,
    /// Tokens generated.
    pub completion_tokens: Option<i64>,
    /// The note was shortened to fit the prompt budget (a marker shows where).
    pub truncated: bool,
    /// Structured reading of an `extract` (or `classify`) output.
    pub parsed: Option<serde_json::Value>,
    /// Why the output could not be read as structured data.
    pub parse_error: Option<String>,
    /// When it was made (UTC).
    pub created_at: String,
}

/// Which outputs to list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputQuery {
    /// Only this note's.
    pub note: Option<NoteId>,
    /// Only this task's (any version).
    pub task: Option<String>,
    /// Only this run's.
    pub run: Option<String>,
    /// At most this many, newest last (0: all).
    pub limit: usize,
}

/// The outcome of a generation run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    /// The run's key (a rerun of the same request has the same key and resumes).
    pub run: String,
    /// Task name and version used.
    pub task: String,
    /// Task version.
    pub task_version: i64,
    /// Notes the run covers.
    pub notes: u64,
    /// Outputs the run already had (skipped on this call).
    pub already_done: u64,
    /// Outputs made now.
    pub outputs: Vec<ModelOutput>,
    /// Suggested spans made from `extract` outputs.
    pub suggested_spans: u64,
    /// Tokens generated now.
    pub generated_tokens: u64,
    /// Seconds spent generating.
    pub seconds: f64,
    /// The run was cancelled; everything listed here was saved.
    pub cancelled: bool,
}

/// Counts of a token-level (word) diff between an output and its edit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiffStats {
    /// Words kept.
    pub kept: u64,
    /// Words removed from the original.
    pub removed: u64,
    /// Words added by the editor.
    pub added: u64,
}

/// What a review (accept, edit or rank) saved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewOutcome {
    /// The output reviewed (the preferred one for a ranking).
    pub output: OutputId,
    /// The saved edit, for an edit that changed the text.
    pub edit: Option<EditId>,
    /// The saved ranking.
    pub ranking: Option<RankingId>,
    /// The preference pair made (none when an identical pair already existed).
    pub pair: Option<PairId>,
    /// The SFT example made (none when an identical example already existed).
    pub sft: Option<SftId>,
    /// Word diff of an edit.
    pub diff: Option<DiffStats>,
}

/// Where a preference pair came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PairOrigin {
    /// A clinician's edit (chosen: the edit; rejected: the model's original).
    Edit,
    /// An A/B ranking of two outputs.
    Ranking,
    /// Made by a program (augmentation).
    Synthetic,
    /// Read from a dataset file.
    Import,
}

impl PairOrigin {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            PairOrigin::Edit => "edit",
            PairOrigin::Ranking => "ranking",
            PairOrigin::Synthetic => "synthetic",
            PairOrigin::Import => "import",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<PairOrigin> {
        match s {
            "edit" => Some(PairOrigin::Edit),
            "ranking" => Some(PairOrigin::Ranking),
            "synthetic" => Some(PairOrigin::Synthetic),
            "import" => Some(PairOrigin::Import),
            _ => None,
        }
    }
}

/// Where an SFT example came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SftOrigin {
    /// A clinician's edit of an output.
    Edit,
    /// An output accepted unchanged.
    Accept,
    /// Built from gold annotations.
    Annotation,
    /// Made by a program.
    Synthetic,
    /// Read from a dataset file.
    Import,
}

impl SftOrigin {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            SftOrigin::Edit => "edit",
            SftOrigin::Accept => "accept",
            SftOrigin::Annotation => "annotation",
            SftOrigin::Synthetic => "synthetic",
            SftOrigin::Import => "import",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<SftOrigin> {
        match s {
            "edit" => Some(SftOrigin::Edit),
            "accept" => Some(SftOrigin::Accept),
            "annotation" => Some(SftOrigin::Annotation),
            "synthetic" => Some(SftOrigin::Synthetic),
            "import" => Some(SftOrigin::Import),
            _ => None,
        }
    }
}

/// Dataset split; every note's examples are in one split only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Split {
    /// Training.
    Train,
    /// Model selection.
    Validation,
    /// Final evaluation.
    Test,
    /// Not assigned yet.
    Unassigned,
}

impl Split {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Validation => "validation",
            Split::Test => "test",
            Split::Unassigned => "unassigned",
        }
    }

    /// Parses a stored or typed name.
    pub fn parse(s: &str) -> Option<Split> {
        match s {
            "train" => Some(Split::Train),
            "validation" => Some(Split::Validation),
            "test" => Some(Split::Test),
            "unassigned" => Some(Split::Unassigned),
            _ => None,
        }
    }
}

/// A preference pair: for this prompt, `chosen` is better than `rejected`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreferencePair {
    /// Its id.
    pub id: PairId,
    /// The note it is about (none for imported pairs).
    pub note_id: Option<NoteId>,
    /// Task name, when it came from a task's output.
    pub task: Option<String>,
    /// The prompt exactly as the model saw it (chat template applied).
    pub prompt: String,
    /// The prompt as chat messages, when known.
    pub prompt_messages: Option<Vec<ChatMessage>>,
    /// The better completion (a clinician's edit, or the preferred output).
    pub chosen: String,
    /// The worse completion (the model's original, or the other output).
    pub rejected: String,
    /// Where it came from.
    pub origin: PairOrigin,
    /// Who made it.
    pub annotator: Option<String>,
    /// Its split.
    pub split: Split,
    /// When it was made (UTC).
    pub created_at: String,
}

/// A supervised example: for this prompt, this completion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SftExample {
    /// Its id.
    pub id: SftId,
    /// The note it is about (none for imported examples).
    pub note_id: Option<NoteId>,
    /// Task name, when it came from a task's output.
    pub task: Option<String>,
    /// The prompt exactly as the model saw it.
    pub prompt: String,
    /// The prompt as chat messages, when known.
    pub prompt_messages: Option<Vec<ChatMessage>>,
    /// The completion the clinician saved (edited or accepted).
    pub completion: String,
    /// Where it came from.
    pub origin: SftOrigin,
    /// Who made it.
    pub annotator: Option<String>,
    /// Its split.
    pub split: Split,
    /// When it was made (UTC).
    pub created_at: String,
}

/// Dataset file formats other trainers read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DatasetFormat {
    /// TRL preference JSONL: `prompt`, `chosen`, `rejected`.
    TrlPreference,
    /// TRL SFT JSONL: `prompt`, `completion` (or `messages`, conversational).
    TrlSft,
}

/// What to export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasetExportRequest {
    /// File format.
    pub format: DatasetFormat,
    /// TRL's conversational form (`[{"role", "content"}]`) instead of plain strings.
    pub conversational: bool,
    /// Only this split.
    pub split: Option<Split>,
}

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasetExportSummary {
    /// Lines written.
    pub written: u64,
    /// The file.
    pub path: String,
}

/// What an import of a dataset file added.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasetImportSummary {
    /// Preference pairs added.
    pub pairs: u64,
    /// SFT examples added.
    pub sft_examples: u64,
    /// Lines already in the project.
    pub duplicates: u64,
    /// Lines refused, as `FILE:LINE: reason`.
    pub rejected: Vec<Rejection>,
}

/// How to split pairs and SFT examples by note.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitRequest {
    /// Seed of the note-to-split assignment (same seed, same assignment).
    pub seed: u64,
    /// Share of notes in train.
    pub train: f64,
    /// Share of notes in validation (test gets the rest).
    pub validation: f64,
}

impl Default for SplitRequest {
    fn default() -> SplitRequest {
        SplitRequest {
            seed: 42,
            train: 0.8,
            validation: 0.1,
        }
    }
}

/// Counts after splitting.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SplitSummary {
    /// Preference pairs per split: train, validation, test.
    pub pairs: [u64; 3],
    /// SFT examples per split: train, validation, test.
    pub sft_examples: [u64; 3],
    /// Notes (or, for imported data, distinct prompts) per split.
    pub groups: [u64; 3],
}

/// What a clinician has done with a model output, as the Review page shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewMark {
    /// Nothing yet.
    Pending,
    /// Accepted unchanged (an SFT example).
    Accepted,
    /// Edited and saved (a preference pair and an SFT example).
    Edited,
    /// Preferred over another output (a preference pair).
    Preferred,
    /// Another output was preferred over it.
    NotPreferred,
    /// Rejected: recorded, no training data.
    Rejected,
}

/// A model output with what the clinician did with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewedOutput {
    /// The output and what made it.
    pub output: ModelOutput,
    /// The latest review of it.
    pub mark: ReviewMark,
    /// The text of its latest saved edit.
    pub edited: Option<String>,
}

/// A model the app can run, found in the models folders or named by `$CLINITUNE_MODEL`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelChoice {
    /// Path of the model file or folder.
    pub path: String,
    /// Its file or folder name, for the picker.
    pub name: String,
}

/// What the Review page asks for when it runs a task on one note.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewRunRequest {
    /// Task name, optionally `name@version`.
    pub task: String,
    /// The note.
    pub note: NoteId,
    /// Model path (default: the first model the app finds).
    pub model: Option<String>,
    /// LoRA adapter folder applied over the model.
    pub adapter: Option<String>,
    /// Outputs side by side (2 for A/B); more than one samples with a temperature.
    pub samples: u32,
    /// Seed of the first sample.
    pub seed: u64,
    /// At most this many new tokens per output.
    pub max_tokens: usize,
}

/// What a run streams to the page while it generates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RunEvent {
    /// The run started; `job` is what cancelling it needs.
    Started {
        /// The job's id.
        job: u64,
    },
    /// The model is loading (the first run, or another model).
    Loading,
    /// New text of one sample's output.
    Text {
        /// Which sample (from 0).
        sample: i64,
        /// The text generated since the last event.
        text: String,
    },
}
