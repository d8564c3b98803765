//! Evaluation runs kept in the project: what was evaluated (model, adapters, split, task), how
//! it was scored, the figures and every item's prediction, so that runs can be listed,
//! compared and plotted later (`clinitune eval list|show|compare-runs`, the Evaluate page).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::evaluation::{MetricSettings, MetricsReport};
use crate::notes::NoteId;
use crate::review::Split;
use crate::training::Device;

id_type!(
    /// A stored evaluation's id in its project.
    EvaluationId
);

/// What an evaluation scored: label sets or texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvaluationKind {
    /// Label sets (a classifier's predictions, or predicted labels read from a file).
    Classification,
    /// Texts (generated summaries or answers) against reference texts.
    Generation,
}

impl EvaluationKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            EvaluationKind::Classification => "classification",
            EvaluationKind::Generation => "generation",
        }
    }

    /// Reads a stored name.
    pub fn parse(s: &str) -> Option<EvaluationKind> {
        match s {
            "classification" => Some(EvaluationKind::Classification),
            "generation" => Some(EvaluationKind::Generation),
            _ => None,
        }
    }
}

/// What was evaluated, and on what.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvaluationSubject {
    /// The base model (path), when a model of ours made the predictions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Adapter folders, bottom first (the classifier last).
    #[serde(default)]
    pub adapters: Vec<String>,
    /// The project split that was predicted, when the items are the project's notes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<Split>,
    /// The prompt task, for generation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<String>,
    /// Where the items came from, in words ("the project's test split", or the two files).
    pub source: String,
    /// The training run folder whose adapter was evaluated, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub training_run: Option<String>,
}

/// One stored evaluation as listed: enough to choose and compare runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvaluationSummary {
    /// Its id.
    pub id: EvaluationId,
    /// A short name (the adapter's run and the split, unless given).
    pub name: String,
    /// When it was stored (UTC, ISO 8601).
    pub created_at: String,
    /// Label sets or texts.
    pub kind: EvaluationKind,
    /// What was evaluated.
    pub subject: EvaluationSubject,
    /// Items scored.
    pub items: u64,
    /// The headline figures (`macro_f1`, `micro_f1`, `macro_auroc`, or `rouge1`, `rouge2`,
    /// `rougeL`) with their 95% intervals where computed.
    pub headline: BTreeMap<String, Headline>,
}

/// One headline figure and its interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Headline {
    /// The figure.
    pub value: f64,
    /// Its 95% percentile bootstrap interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci95: Option<[f64; 2]>,
}

/// A stored evaluation in full.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// As listed.
    pub summary: EvaluationSummary,
    /// How it was scored.
    pub settings: MetricSettings,
    /// The figures.
    pub report: MetricsReport,
    /// Every item's gold and prediction, in the order they were scored.
    pub items: Vec<EvaluationItem>,
}

/// One scored item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvaluationItem {
    /// The item's id (the note id for the project's notes, else the file's `id`).
    pub id: String,
    /// The note, when the item is one of the project's notes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<NoteId>,
    /// The gold answer.
    pub gold: ItemValue,
    /// The prediction.
    pub predicted: ItemValue,
}

/// A gold answer or a prediction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ItemValue {
    /// A label set, with the per-label scores a classifier gave (empty for gold).
    Labels {
        /// The labels.
        labels: Vec<String>,
        /// Per label, the predicted probability.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        scores: BTreeMap<String, f64>,
    },
    /// A text.
    Text {
        /// The text.
        text: String,
    },
}

/// One label's ROC curve from an evaluation's scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RocCurve {
    /// The label.
    pub label: String,
    /// Points (false positive rate, true positive rate) from (0, 0) to (1, 1), one per
    /// distinct score (ties make one diagonal step, as scikit-learn's `roc_curve`).
    pub points: Vec<[f64; 2]>,
    /// The area under the curve (trapezoidal; equal to the report's AUROC).
    pub auroc: f64,
    /// Items with the label in gold.
    pub positives: u64,
    /// Items without it.
    pub negatives: u64,
}

/// A request to evaluate a classifier on the project's notes and keep the result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvaluateRequest {
    /// The base model: a Hugging Face folder or a GGUF file.
    pub model: String,
    /// Adapter folders, bottom first; the last carries the score head and `labels.json`.
    pub adapters: Vec<String>,
    /// The split to predict; `None` predicts every note (those with gold labels are scored),
    /// for projects whose notes have no split.
    pub split: Option<Split>,
    /// One threshold for every label; `None` uses the adapter's `thresholds.json`, else 0.5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    /// How to score.
    pub settings: MetricSettings,
    /// A short name; `None` names it after the adapter's folder and the split.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The training run folder the adapter came from, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub training_run: Option<String>,
    /// Where the model runs.
    #[serde(default)]
    pub device: Device,
}

impl MetricsReport {
    /// The headline figures with their intervals: macro/micro F1 and macro AUROC for label
    /// sets, ROUGE-1/2/L for texts.
    pub fn headline(&self) -> BTreeMap<String, Headline> {
        let (figures, ci95) = match self {
            MetricsReport::Labels(m) => (
                [
                    ("macro_f1", Some(m.macro_f1)),
                    ("micro_f1", Some(m.micro_f1)),
                    ("macro_auroc", m.macro_auroc),
                ],
                &m.ci95,
            ),
            MetricsReport::Text(m) => (
                [
                    ("rouge1", Some(m.rouge1)),
                    ("rouge2", Some(m.rouge2)),
                    ("rougeL", Some(m.rouge_l)),
                ],
                &m.ci95,
            ),
        };
        figures
            .into_iter()
            .filter_map(|(name, value)| {
                let value = value?;
                let ci95 = ci95.get(name).copied();
                Some((name.to_owned(), Headline { value, ci95 }))
            })
            .collect()
    }

    /// Items scored.
    pub fn items(&self) -> u64 {
        match self {
            MetricsReport::Labels(m) => m.n,
            MetricsReport::Text(m) => m.n,
        }
    }

    /// Label sets or texts.
    pub fn kind(&self) -> EvaluationKind {
        match self {
            MetricsReport::Labels(_) => EvaluationKind::Classification,
            MetricsReport::Text(_) => EvaluationKind::Generation,
        }
    }
}

/// A stored evaluation as the Evaluate page shows it: the figures and ROC curves, without
/// the items.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvaluationDetail {
    /// As listed.
    pub summary: EvaluationSummary,
    /// How it was scored.
    pub settings: MetricSettings,
    /// The figures.
    pub report: MetricsReport,
    /// Each label's ROC curve (labels with scores and both classes in gold).
    pub roc_curves: Vec<RocCurve>,
}

/// Progress of an evaluation started from the app, with the job id that cancels it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvaluateProgress {
    /// The job (for `cancel_job`).
    pub job: u64,
    /// Items predicted so far.
    pub progress: crate::JobProgress,
}

/// A bias audit after Guevara et al.: the same classifier on each original sentence and on
/// the sentence with a demographic descriptor inserted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BiasRequest {
    /// The base model: a Hugging Face folder or a GGUF file.
    pub model: String,
    /// Adapter folders, bottom first; the last carries the score head.
    pub adapters: Vec<String>,
    /// A second classifier (adapter folders on the same model) audited on the same pairs and
    /// tested against the first (e.g. the base classifier against the fine-tuned one).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub compare_adapters: Vec<String>,
    /// The pairs: a CSV with `original_sentence`, `demographic_inserted` and `demographic`
    /// columns (SHADR's demographic file) or JSONL `{"original", "inserted", "group"}`.
    pub pairs: String,
    /// One threshold for every label; `None` uses the adapter's `thresholds.json`, else 0.5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    /// Bootstrap resamples and seed for the change rate's interval.
    pub settings: MetricSettings,
    /// Where the model runs.
    #[serde(default)]
    pub device: Device,
}

/// How often a classifier's predicted labels change when a demographic descriptor is
/// inserted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BiasReport {
    /// Where the pairs came from.
    pub pairs: String,
    /// Pairs audited.
    pub n: u64,
    /// Lines that could not be read (`FILE:LINE: reason`), not audited.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<String>,
    /// The audited classifier.
    pub model: BiasFigures,
    /// The second classifier, when one was given, and the test between the two.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comparison: Option<BiasComparison>,
}

/// One classifier's change rates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BiasFigures {
    /// Its adapters, bottom first.
    pub adapters: Vec<String>,
    /// Pairs whose predicted label set differs between original and inserted sentence.
    pub changed: u64,
    /// `changed / n`.
    pub change_rate: f64,
    /// 95% percentile bootstrap interval of the change rate.
    pub ci95: Option<[f64; 2]>,
    /// Per demographic group (as the pairs name them): pairs, changed, rate.
    pub per_group: BTreeMap<String, GroupChange>,
    /// How the interval was drawn.
    pub bootstrap: crate::BootstrapInfo,
}

/// The change rate within one demographic group.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GroupChange {
    /// Pairs of the group.
    pub n: u64,
    /// Of them, pairs whose prediction changed.
    pub changed: u64,
    /// `changed / n`.
    pub rate: f64,
}

/// Two classifiers' change on the same pairs, tested with McNemar's exact test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BiasComparison {
    /// The second classifier's figures.
    pub other: BiasFigures,
    /// Pairs whose prediction changed under the audited classifier only.
    pub changed_only_first: u64,
    /// Pairs whose prediction changed under the second classifier only.
    pub changed_only_other: u64,
    /// Two-sided exact McNemar p-value on those discordant pairs.
    pub mcnemar_p: f64,
}
