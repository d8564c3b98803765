//! Evaluation figures of a set of predictions against gold: what `clinitune eval metrics
//! --json` prints and what the Evaluate page reads.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// How to compute the figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetricSettings {
    /// A class given to every item whose label set is empty (the SDoH paper's `<NO_SDOH>`),
    /// so that "nothing to report" is scored like any other label; `None` leaves it out.
    pub no_label_class: Option<String>,
    /// Porter stemming in ROUGE, as rouge-score's `use_stemmer=True` (what most papers report).
    pub stemmer: bool,
    /// Bootstrap resamples behind each 95% interval.
    pub resamples: u32,
    /// Seed of the bootstrap; the same seed and files give the same intervals.
    pub seed: u64,
}

impl Default for MetricSettings {
    fn default() -> Self {
        MetricSettings {
            no_label_class: None,
            stemmer: true,
            resamples: 1000,
            seed: 0,
        }
    }
}

/// The figures of one evaluation: label sets (classification) or texts (generation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MetricsReport {
    /// Gold and predictions were label sets.
    Labels(LabelMetrics),
    /// Gold and predictions were texts.
    Text(TextMetrics),
}

/// Classification figures with scikit-learn's semantics (`zero_division=0`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelMetrics {
    /// Items scored: the ids found in both files.
    pub n: u64,
    /// Unweighted mean of the per-label F1.
    pub macro_f1: f64,
    /// F1 of the true/false positive and false negative counts pooled over labels.
    pub micro_f1: f64,
    /// Mean AUROC over the labels that have one; `None` when none has.
    pub macro_auroc: Option<f64>,
    /// Per label seen in gold or predictions (with the no-label class, when asked for, on
    /// empty sets).
    pub per_label: BTreeMap<String, LabelFigures>,
    /// 95% percentile bootstrap intervals of `macro_f1`, `micro_f1` and `macro_auroc`.
    pub ci95: BTreeMap<String, [f64; 2]>,
    /// How the intervals were drawn.
    pub bootstrap: BootstrapInfo,
    /// The no-label class used, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_label_class: Option<String>,
    /// Ids found in only one of the two files (not scored).
    pub unmatched: UnmatchedIds,
}

/// One label's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelFigures {
    /// Share of items predicted with the label that gold has it on (0 if none predicted).
    pub precision: f64,
    /// Share of gold items with the label that were predicted (0 if gold has none).
    pub recall: f64,
    /// Harmonic mean of precision and recall (0 when both are 0).
    pub f1: f64,
    /// Area under the ROC curve of the predicted scores; present only when every prediction
    /// scores this label and gold has both classes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auroc: Option<f64>,
    /// Gold items with the label.
    pub support: u64,
    /// Items predicted with the label.
    pub predicted: u64,
    /// 95% bootstrap interval of `f1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub f1_ci95: Option<[f64; 2]>,
}

/// ROUGE F-measures averaged over items, as Google's rouge-score 0.1.2 computes them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextMetrics {
    /// Items scored: the ids found in both files.
    pub n: u64,
    /// Mean ROUGE-1 F-measure (unigrams).
    pub rouge1: f64,
    /// Mean ROUGE-2 F-measure (bigrams).
    pub rouge2: f64,
    /// Mean ROUGE-L F-measure (longest common subsequence; not the summary-level `rougeLsum`).
    #[serde(rename = "rougeL")]
    pub rouge_l: f64,
    /// Whether tokens were Porter-stemmed (`use_stemmer`).
    pub stemmer: bool,
    /// 95% percentile bootstrap intervals of `rouge1`, `rouge2` and `rougeL`.
    pub ci95: BTreeMap<String, [f64; 2]>,
    /// How the intervals were drawn.
    pub bootstrap: BootstrapInfo,
    /// Ids found in only one of the two files (not scored).
    pub unmatched: UnmatchedIds,
}

/// The resampling behind the confidence intervals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BootstrapInfo {
    /// Resamples of the items, drawn with replacement.
    pub resamples: u32,
    /// The generator's seed.
    pub seed: u64,
    /// `"percentile"`: the 2.5th and 97.5th percentiles of the resampled figure.
    pub method: String,
}

/// Item ids present in one file but not the other.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnmatchedIds {
    /// In gold only: items the predictions skipped.
    pub gold_only: Vec<String>,
    /// In predictions only: items gold does not have.
    pub pred_only: Vec<String>,
}

/// Two sets of predictions for the same gold items, figure by figure: is A better than B?
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComparisonReport {
    /// Items scored: the ids found in gold and both prediction files.
    pub n: u64,
    /// Per headline figure (`macro_f1`, `micro_f1`, `macro_auroc`, or `rouge1`, `rouge2`,
    /// `rougeL`), A's and B's values and their difference.
    pub figures: BTreeMap<String, FigureComparison>,
    /// The resampling behind intervals and p-values (the same seed for both).
    pub bootstrap: BootstrapInfo,
    /// Ids missing from at least one of the three files (not scored).
    pub unmatched: Vec<String>,
}

/// One figure of two runs on the same items.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FigureComparison {
    /// Run A's value.
    pub a: f64,
    /// Run B's value.
    pub b: f64,
    /// A minus B.
    pub difference: f64,
    /// 95% paired bootstrap interval of the difference (both runs resampled on the same items).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci95: Option<[f64; 2]>,
    /// Two-sided p-value of a paired permutation test (each item's two predictions swapped at
    /// random): how often chance alone gives a difference this large.
    pub p_value: f64,
}
