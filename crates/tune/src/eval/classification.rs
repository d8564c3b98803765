//! Multi-label classification figures with scikit-learn's semantics: per-label precision,
//! recall and F1 (`zero_division=0`: a share of nothing is 0), their macro mean, micro F1 over
//! the pooled counts, AUROC per label with ties counted half and its macro mean over the labels
//! that have both classes, and Cohen's kappa between two raters.

use std::collections::BTreeMap;

use crate::train::metrics::auroc;

/// True positives, false positives and false negatives of one label.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Items with the label in both gold and prediction.
    pub true_positives: u64,
    /// Items predicted with the label that gold does not have.
    pub false_positives: u64,
    /// Items gold has the label on that the prediction missed.
    pub false_negatives: u64,
}

impl Counts {
    /// Gold items with the label (scikit-learn's `support`).
    pub fn support(&self) -> u64 {
        self.true_positives + self.false_negatives
    }

    /// Precision, recall and F1 of these counts, each 0 where its denominator is 0.
    pub fn scores(&self) -> Prf {
        let tp = self.true_positives as f64;
        let fp = self.false_positives as f64;
        let fn_ = self.false_negatives as f64;
        Prf {
            precision: ratio(tp, tp + fp),
            recall: ratio(tp, tp + fn_),
            // scikit-learn's form, 2tp / (2tp + fp + fn), equal to the harmonic mean.
            f1: ratio(2.0 * tp, 2.0 * tp + fp + fn_),
        }
    }

    fn add(&mut self, other: Counts) {
        self.true_positives += other.true_positives;
        self.false_positives += other.false_positives;
        self.false_negatives += other.false_negatives;
    }
}

fn ratio(numerator: f64, denominator: f64) -> f64 {
    if denominator > 0.0 {
        numerator / denominator
    } else {
        0.0
    }
}

/// Precision, recall and F1, each in [0, 1].
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Prf {
    /// Share of predicted positives that are right (0 when nothing was predicted).
    pub precision: f64,
    /// Share of gold positives that were found (0 when gold has none).
    pub recall: f64,
    /// Harmonic mean of precision and recall (0 when both are 0).
    pub f1: f64,
}

/// Per-label counts over items given as `(gold, predicted)` rows of `labels` flags each; a
/// row shorter than `labels` counts its missing flags as unset.
pub fn label_counts<'a>(
    rows: impl IntoIterator<Item = (&'a [bool], &'a [bool])>,
    labels: usize,
) -> Vec<Counts> {
    let mut counts = vec![Counts::default(); labels];
    for (gold, predicted) in rows {
        for (l, c) in counts.iter_mut().enumerate() {
            let g = gold.get(l).copied().unwrap_or(false);
            let p = predicted.get(l).copied().unwrap_or(false);
            match (g, p) {
                (true, true) => c.true_positives += 1,
                (false, true) => c.false_positives += 1,
                (true, false) => c.false_negatives += 1,
                (false, false) => {}
            }
        }
    }
    counts
}

/// The F1 figures of a multi-label table.
#[derive(Debug, Clone, PartialEq)]
pub struct F1Summary {
    /// Per label, in the order of the counts.
    pub per_label: Vec<Prf>,
    /// Unweighted mean of the per-label F1 (0 with no labels).
    pub macro_f1: f64,
    /// F1 of the counts summed over labels.
    pub micro_f1: f64,
}

/// Per-label, macro and micro F1 of `counts` (scikit-learn's `average="macro"`/`"micro"`).
pub fn f1_summary(counts: &[Counts]) -> F1Summary {
    let per_label: Vec<Prf> = counts.iter().map(Counts::scores).collect();
    let macro_f1 = mean(per_label.iter().map(|s| s.f1)).unwrap_or(0.0);
    let mut pooled = Counts::default();
    for c in counts {
        pooled.add(*c);
    }
    F1Summary {
        per_label,
        macro_f1,
        micro_f1: pooled.scores().f1,
    }
}

/// The mean of some values, `None` when there are none.
pub fn mean(values: impl IntoIterator<Item = f64>) -> Option<f64> {
    let (sum, n) = values
        .into_iter()
        .fold((0.0, 0usize), |(sum, n), v| (sum + v, n + 1));
    (n > 0).then(|| sum / n as f64)
}

/// AUROC of one label over items given as `(gold, score)`; `None` unless both classes occur.
pub fn label_auroc(items: impl IntoIterator<Item = (bool, f64)>) -> Option<f64> {
    let (gold, scores): (Vec<bool>, Vec<f64>) = items.into_iter().unzip();
    auroc(&scores, &gold)
}

/// The mean of the defined per-label AUROCs (the labels with both classes), `None` if none is.
pub fn macro_auroc(per_label: &[Option<f64>]) -> Option<f64> {
    mean(per_label.iter().flatten().copied())
}

/// The threshold that maximises one label's F1 when an item is predicted positive at
/// `score >= threshold`, and that F1: every distinct score is tried as the cut, and the
/// threshold returned is the midpoint between the best cut and the next lower score (or 0 when
/// the cut is the lowest score), so that a score recomputed a rounding error away falls the
/// same way. Ties keep the higher cut (fewer positives). `None` when gold has no positive
/// (every cut gives F1 0).
pub fn best_f1_threshold(scores: &[f64], gold: &[bool]) -> Option<(f64, f64)> {
    let positives = gold.iter().filter(|&&g| g).count() as u64;
    if positives == 0 {
        return None;
    }
    let mut order: Vec<(f64, bool)> = scores.iter().copied().zip(gold.iter().copied()).collect();
    // Highest first: lowering the cut past a run of equal scores adds them all.
    order.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut best: Option<(f64, f64, usize)> = None;
    let mut counts = Counts {
        true_positives: 0,
        false_positives: 0,
        false_negatives: positives,
    };
    let mut i = 0;
    while i < order.len() {
        let cut = order[i].0;
        while i < order.len() && order[i].0 == cut {
            if order[i].1 {
                counts.true_positives += 1;
                counts.false_negatives -= 1;
            } else {
                counts.false_positives += 1;
            }
            i += 1;
        }
        let f1 = counts.scores().f1;
        if best.is_none_or(|(_, b, _)| f1 > b) {
            best = Some((cut, f1, i));
        }
    }
    let (cut, f1, next) = best?;
    let lower = order.get(next).map_or(0.0, |&(lower, _)| lower);
    Some(((cut + lower) / 2.0, f1))
}

/// Cohen's kappa of two raters' answers on the same items, over every answer either gave;
/// `None` when the lists differ in length, are empty, or chance agreement is 1 (undefined).
pub fn cohen_kappa<T: Ord>(a: &[T], b: &[T]) -> Option<f64> {
    if a.len() != b.len() || a.is_empty() {
        return None;
    }
    let n = a.len() as f64;
    let mut marginal_a: BTreeMap<&T, f64> = BTreeMap::new();
    let mut marginal_b: BTreeMap<&T, f64> = BTreeMap::new();
    let mut agreed = 0.0;
    for (x, y) in a.iter().zip(b) {
        *marginal_a.entry(x).or_insert(0.0) += 1.0;
        *marginal_b.entry(y).or_insert(0.0) += 1.0;
        if x == y {
            agreed += 1.0;
        }
    }
    let observed = agreed / n;
    let chance: f64 = marginal_a
        .iter()
        .map(|(k, ca)| ca / n * marginal_b.get(k).copied().unwrap_or(0.0) / n)
        .sum();
    (chance < 1.0).then(|| (observed - chance) / (1.0 - chance))
}
