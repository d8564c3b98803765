//! Prediction with a trained classifier: what `clinitune predict` is asked for, the one line
//! it writes per item, and the summary of a run (thresholds used, metrics against gold,
//! suggestions written).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::evaluation::LabelMetrics;
use crate::review::Split;
use crate::training::Device;

/// A prediction job: a model with its adapters (the classifier last) over texts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PredictRequest {
    /// The base model: a Hugging Face folder or a GGUF file.
    pub model: String,
    /// Adapter folders, bottom first; the last carries the score head and `labels.json`.
    pub adapters: Vec<String>,
    /// What to predict.
    pub source: PredictSource,
    /// One threshold for every label; `None` uses the adapter's `thresholds.json`, else 0.5.
    pub threshold: Option<f64>,
    /// Choose per-label thresholds on this labelled set first, and save them beside the adapter.
    pub tune_thresholds_on: Option<ThresholdSource>,
    /// Write the predicted labels as suggestions on the project's notes.
    pub as_suggestions: bool,
    /// Texts per forward pass.
    pub batch_size: usize,
    /// Where the model runs.
    pub device: Device,
}

/// The items a prediction runs over.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PredictSource {
    /// A JSONL file of `{"text", "id"?, "labels"?}`, the format `train classify --data` reads.
    File(String),
    /// The open project's notes, all of them or one split's.
    Project {
        /// Only the notes of this split.
        split: Option<Split>,
    },
    /// Texts held in memory (the bias audit's sentences); their ids are their positions.
    Texts(Vec<String>),
}

/// The labelled items per-label thresholds are chosen on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThresholdSource {
    /// A JSONL file with gold `labels`.
    File(String),
    /// The project's validation notes with their gold labels.
    Validation,
}

/// An item's id: the JSONL line's `id` (string or integer), its line number, or the note id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ItemId {
    /// An integer id (line numbers and note ids too).
    Number(i64),
    /// A string id.
    Text(String),
}

impl std::fmt::Display for ItemId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ItemId::Number(n) => write!(f, "{n}"),
            ItemId::Text(s) => f.write_str(s),
        }
    }
}

/// One item's prediction: one JSON line of `clinitune predict`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    /// The item.
    pub id: ItemId,
    /// The labels whose probability reaches their threshold, in the head's order.
    pub labels: Vec<String>,
    /// Per label, the sigmoid of the score head's logit.
    pub probabilities: BTreeMap<String, f64>,
    /// The same values under the name `clinitune eval metrics` reads predictions' scores by.
    pub scores: BTreeMap<String, f64>,
}

/// Per-label thresholds chosen on labelled items (`thresholds.json` beside the adapter).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TunedThresholds {
    /// Per label, the threshold that maximised its F1 (0.5 where the set has no positive).
    pub thresholds: BTreeMap<String, f64>,
    /// Per label, the F1 reached at that threshold on the tuning set.
    pub f1: BTreeMap<String, f64>,
    /// What they were chosen on (a file path, or `validation split`).
    pub tuned_on: String,
    /// Items in the tuning set.
    pub items: u64,
}

/// Where the thresholds of a prediction run came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThresholdOrigin {
    /// The `threshold` of the request.
    Given,
    /// The default, 0.5: no threshold given and no `thresholds.json`.
    Default,
    /// The adapter's `thresholds.json` (chosen by an earlier run).
    Saved,
    /// Chosen by this run (and saved).
    Tuned,
}

/// What `--as-suggestions` wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuggestionSummary {
    /// The annotator the suggestions are under (`model:<adapter folder>`).
    pub annotator: String,
    /// Suggested document labels added.
    pub added: u64,
    /// Predicted labels the note already had, from anyone and in any status (not added again).
    pub already_present: u64,
    /// Predicted labels the project's schema has no document label for (never suggested).
    pub not_in_schema: Vec<String>,
}

/// The outcome of a prediction run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PredictSummary {
    /// Items predicted.
    pub items: u64,
    /// The head's labels, in order (`labels.json`).
    pub labels: Vec<String>,
    /// The threshold of each label.
    pub thresholds: BTreeMap<String, f64>,
    /// Where they came from.
    pub threshold_origin: ThresholdOrigin,
    /// The thresholds this run chose, when it was asked to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tuned: Option<TunedThresholds>,
    /// Input lines that could not be predicted, as `FILE:LINE: reason`.
    pub skipped: Vec<String>,
    /// Figures against the items' gold labels, when every item has them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<LabelMetrics>,
    /// Gold labels the classifier has no output for (scored as never predicted).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unknown_gold_labels: Vec<String>,
    /// What `as_suggestions` wrote.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suggestions: Option<SuggestionSummary>,
    /// Whether the run was cancelled (the items before are predicted).
    pub cancelled: bool,
    /// Wall time of the predictions, model loading excluded.
    pub seconds: f64,
}
