//! Evaluation of predictions already made: gold and predicted label sets (or texts) joined by
//! item id, scored with `tune::eval` (scikit-learn's F1 and AUROC, rouge-score's ROUGE) and
//! given seeded 95% bootstrap intervals. `clinitune eval metrics` is this over two JSONL
//! files; prediction and study runs call [`score_labels`] and [`score_texts`] in memory.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use api::{
    BootstrapInfo, ComparisonReport, EvaluationItem, FigureComparison, ItemValue, LabelFigures,
    LabelMetrics, MetricSettings, MetricsReport, TextMetrics, UnmatchedIds,
};
use tune::eval::bootstrap::{
    BootstrapConfig, Interval, paired_permutation_p_values, percentile_intervals,
};
use tune::eval::classification::{Counts, f1_summary, label_auroc, label_counts, macro_auroc};
use tune::eval::rouge::rouge;

use crate::Error;
use jsonl::{Row, check_fields, is_text, join, label_items, read_jsonl, text_items};

/// One item's gold and predicted labels, with the predicted score of each label it has one for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LabelItem {
    /// Gold labels.
    pub gold: BTreeSet<String>,
    /// Predicted labels.
    pub predicted: BTreeSet<String>,
    /// Predicted probability (or any score ordered like one) per label.
    pub scores: BTreeMap<String, f64>,
}

/// One item's reference and generated text.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TextItem {
    /// The reference (gold) text.
    pub reference: String,
    /// The model's text.
    pub prediction: String,
}

/// Reads gold and predicted JSONL files, joins their lines by `"id"` and scores them.
///
/// Gold lines are `{"id", "labels": [...]}` or `{"id", "text"}`, which the first gold line
/// decides; predictions the same, with an optional `"scores": {"LABEL": p}`. Ids may be
/// strings or integers. A malformed line fails with its file and line; ids in one file only
/// are listed in the report and not scored.
pub fn metrics_from_files(
    gold_path: &Path,
    pred_path: &Path,
    settings: &MetricSettings,
) -> Result<MetricsReport, Error> {
    Ok(score_files(gold_path, pred_path, settings)?.0)
}

/// Scores two files as [`metrics_from_files`] does and also returns every scored item's gold
/// and prediction (in gold's order), for storing the evaluation with [`runs::save`].
pub fn score_files(
    gold_path: &Path,
    pred_path: &Path,
    settings: &MetricSettings,
) -> Result<(MetricsReport, Vec<EvaluationItem>), Error> {
    let gold = read_jsonl(gold_path)?;
    let pred = read_jsonl(pred_path)?;
    let is_text = is_text(gold_path, &gold)?;
    check_fields(gold_path, &gold, is_text)?;
    check_fields(pred_path, &pred, is_text)?;
    let (pairs, unmatched) = join(&gold, &pred);
    if pairs.is_empty() {
        return Err(Error::Invalid(format!(
            "none of the {} ids in {} is in {}; lines are matched by their \"id\"",
            gold.len(),
            gold_path.display(),
            pred_path.display()
        )));
    }
    let ids = pairs.iter().map(|(g, _)| g.id.clone());
    if is_text {
        let items = text_items(gold_path, pred_path, &pairs)?;
        let mut report = score_texts(&items, settings);
        report.unmatched = unmatched;
        let stored = ids
            .zip(items)
            .map(|(id, i)| EvaluationItem {
                id,
                note: None,
                gold: ItemValue::Text { text: i.reference },
                predicted: ItemValue::Text { text: i.prediction },
            })
            .collect();
        return Ok((MetricsReport::Text(report), stored));
    }
    let items = label_items(gold_path, pred_path, &pairs)?;
    let mut report = score_labels(&items, settings);
    report.unmatched = unmatched;
    let stored = ids
        .zip(items)
        .map(|(id, i)| runs::label_item(id, None, i))
        .collect();
    Ok((MetricsReport::Labels(report), stored))
}

/// Scores two prediction files against one gold file and tests their differences: each
/// headline figure of A and B on the ids all three files share, a paired bootstrap interval
/// of A − B and a paired permutation p-value. Lines are read as [`metrics_from_files`] reads
/// them.
pub fn compare_files(
    gold_path: &Path,
    a_path: &Path,
    b_path: &Path,
    settings: &MetricSettings,
) -> Result<ComparisonReport, Error> {
    let gold = read_jsonl(gold_path)?;
    let a = read_jsonl(a_path)?;
    let b = read_jsonl(b_path)?;
    let is_text = is_text(gold_path, &gold)?;
    check_fields(gold_path, &gold, is_text)?;
    check_fields(a_path, &a, is_text)?;
    check_fields(b_path, &b, is_text)?;
    let (a_pairs, a_unmatched) = join(&gold, &a);
    let b_ids: BTreeSet<&str> = b.iter().map(|r| r.id.as_str()).collect();
    let a_pairs: Vec<(&Row, &Row)> = a_pairs
        .into_iter()
        .filter(|(g, _)| b_ids.contains(g.id.as_str()))
        .collect();
    let (b_pairs, b_unmatched) = join(&gold, &b);
    let a_ids: BTreeSet<&str> = a_pairs.iter().map(|(g, _)| g.id.as_str()).collect();
    let b_pairs: Vec<(&Row, &Row)> = b_pairs
        .into_iter()
        .filter(|(g, _)| a_ids.contains(g.id.as_str()))
        .collect();
    if a_pairs.is_empty() {
        return Err(Error::Invalid(format!(
            "no id is in all of {}, {} and {}; lines are matched by their \"id\"",
            gold_path.display(),
            a_path.display(),
            b_path.display()
        )));
    }
    let unmatched: BTreeSet<String> = [a_unmatched, b_unmatched]
        .into_iter()
        .flat_map(|u| u.gold_only.into_iter().chain(u.pred_only))
        .collect();
    let mut report = if is_text {
        compare_texts(
            &text_items(gold_path, a_path, &a_pairs)?,
            &text_items(gold_path, b_path, &b_pairs)?,
            settings,
        )
    } else {
        compare_labels(
            &label_items(gold_path, a_path, &a_pairs)?,
            &label_items(gold_path, b_path, &b_pairs)?,
            settings,
        )
    };
    report.unmatched = unmatched.into_iter().collect();
    Ok(report)
}

/// Compares two runs' predictions for the same items (`a[i]` and `b[i]` share gold).
pub fn compare_labels(
    a: &[LabelItem],
    b: &[LabelItem],
    settings: &MetricSettings,
) -> ComparisonReport {
    let no_label = settings.no_label_class.as_deref();
    let names = LabelTable::names(&[a, b], no_label);
    let a = LabelTable::new(a, names.clone(), no_label);
    let b = LabelTable::new(b, names, no_label);
    let n = a.gold.len().min(b.gold.len());
    let keys = ["macro_f1", "micro_f1", "macro_auroc"];
    comparison(
        n,
        &keys,
        settings,
        |rows| a.headline(rows),
        |rows| b.headline(rows),
        |swapped| {
            let rows: Vec<usize> = (0..n).collect();
            (
                LabelTable::mixed(&a, &b, swapped).headline(&rows),
                LabelTable::mixed(&b, &a, swapped).headline(&rows),
            )
        },
    )
}

/// Compares two runs' texts for the same references (`a[i]` and `b[i]` share a reference).
pub fn compare_texts(
    a: &[TextItem],
    b: &[TextItem],
    settings: &MetricSettings,
) -> ComparisonReport {
    let per_item = |items: &[TextItem]| -> Vec<[f64; 3]> {
        items
            .iter()
            .map(|i| {
                let r = rouge(&i.reference, &i.prediction, settings.stemmer);
                [r.rouge1.fmeasure, r.rouge2.fmeasure, r.rouge_l.fmeasure]
            })
            .collect()
    };
    let (a, b) = (per_item(a), per_item(b));
    let n = a.len().min(b.len());
    let means = |rows: &mut dyn Iterator<Item = &[f64; 3]>| -> [Option<f64>; 3] {
        let mut sum = [0.0; 3];
        let mut count = 0usize;
        for scores in rows {
            for (s, v) in sum.iter_mut().zip(scores) {
                *s += v;
            }
            count += 1;
        }
        sum.map(|s| (count > 0).then(|| s / count as f64))
    };
    let keys = ["rouge1", "rouge2", "rougeL"];
    comparison(
        n,
        &keys,
        settings,
        |rows| means(&mut rows.iter().filter_map(|&r| a.get(r))),
        |rows| means(&mut rows.iter().filter_map(|&r| b.get(r))),
        |swapped| {
            let pick = |x: &[[f64; 3]], y: &[[f64; 3]]| -> [Option<f64>; 3] {
                means(
                    &mut x
                        .iter()
                        .zip(y)
                        .zip(swapped)
                        .map(|((x, y), &s)| if s { y } else { x }),
                )
            };
            (pick(&a, &b), pick(&b, &a))
        },
    )
}

/// The comparison of three figures of runs A and B on `n` items: `figures_a`/`figures_b` on a
/// resample's rows, `permuted` gives both sides after swapping the marked items.
fn comparison(
    n: usize,
    keys: &[&str; 3],
    settings: &MetricSettings,
    figures_a: impl Fn(&[usize]) -> [Option<f64>; 3],
    figures_b: impl Fn(&[usize]) -> [Option<f64>; 3],
    permuted: impl Fn(&[bool]) -> ([Option<f64>; 3], [Option<f64>; 3]),
) -> ComparisonReport {
    let config = bootstrap_config(settings);
    let all: Vec<usize> = (0..n).collect();
    let (a, b) = (figures_a(&all), figures_b(&all));
    let intervals = percentile_intervals(n, &config, |rows| {
        let (a, b) = (figures_a(rows), figures_b(rows));
        a.iter().zip(&b).map(|(x, y)| Some((*x)? - (*y)?)).collect()
    });
    let p_values = paired_permutation_p_values(n, &config, |swapped| {
        let (x, y) = permuted(swapped);
        x.iter().zip(&y).map(|(x, y)| Some((*x)? - (*y)?)).collect()
    });
    let mut figures = BTreeMap::new();
    for (k, key) in keys.iter().enumerate() {
        let (Some(&Some(va)), Some(&Some(vb)), Some(&Some(p_value))) =
            (a.get(k), b.get(k), p_values.get(k))
        else {
            continue;
        };
        let comparison = FigureComparison {
            a: va,
            b: vb,
            difference: va - vb,
            ci95: intervals.get(k).copied().flatten().map(bounds),
            p_value,
        };
        figures.insert((*key).to_owned(), comparison);
    }
    ComparisonReport {
        n: n as u64,
        figures,
        bootstrap: bootstrap_info(settings),
        unmatched: Vec::new(),
    }
}

/// Classification figures of joined items (no unmatched ids).
///
/// The labels are those in any gold or predicted set, counting `settings.no_label_class` as
/// the label of every empty set. A label gets an AUROC when every item scores it and gold has
/// both classes.
pub fn score_labels(items: &[LabelItem], settings: &MetricSettings) -> LabelMetrics {
    let no_label = settings.no_label_class.as_deref();
    let table = LabelTable::new(items, LabelTable::names(&[items], no_label), no_label);
    let all: Vec<usize> = (0..items.len()).collect();
    let (counts, aurocs) = table.figures(&all);
    let summary = f1_summary(&counts);

    let intervals = percentile_intervals(items.len(), &bootstrap_config(settings), |rows| {
        let (counts, aurocs) = table.figures(rows);
        let s = f1_summary(&counts);
        let mut values = vec![Some(s.macro_f1), Some(s.micro_f1), macro_auroc(&aurocs)];
        values.extend(s.per_label.iter().map(|p| Some(p.f1)));
        values
    });
    let interval = |i: usize| intervals.get(i).copied().flatten().map(bounds);
    let mut ci95 = BTreeMap::new();
    for (i, key) in ["macro_f1", "micro_f1", "macro_auroc"]
        .into_iter()
        .enumerate()
    {
        if let Some(b) = interval(i) {
            ci95.insert(key.to_owned(), b);
        }
    }
    let per_label = table
        .names
        .iter()
        .zip(counts.iter().zip(&summary.per_label))
        .zip(&aurocs)
        .enumerate()
        .map(|(l, ((name, (c, prf)), auroc))| {
            let figures = LabelFigures {
                precision: prf.precision,
                recall: prf.recall,
                f1: prf.f1,
                auroc: *auroc,
                support: c.support(),
                predicted: c.true_positives + c.false_positives,
                f1_ci95: interval(3 + l),
            };
            (name.clone(), figures)
        })
        .collect();
    LabelMetrics {
        n: items.len() as u64,
        macro_f1: summary.macro_f1,
        micro_f1: summary.micro_f1,
        macro_auroc: macro_auroc(&aurocs),
        per_label,
        ci95,
        bootstrap: bootstrap_info(settings),
        no_label_class: settings.no_label_class.clone(),
        unmatched: UnmatchedIds::default(),
    }
}

/// Items as flags over a fixed, sorted list of label names.
struct LabelTable {
    names: Vec<String>,
    /// Per item, per label.
    gold: Vec<Vec<bool>>,
    /// Per item, per label.
    predicted: Vec<Vec<bool>>,
    /// Per label, every item's score, when every item has one.
    scores: Vec<Option<Vec<f64>>>,
}

impl LabelTable {
    /// The labels of some runs' items: every gold or predicted label, and the no-label class
    /// where a set is empty.
    fn names(runs: &[&[LabelItem]], no_label_class: Option<&str>) -> Vec<String> {
        let mut names = BTreeSet::new();
        for item in runs.iter().flat_map(|items| items.iter()) {
            names.extend(item.gold.iter().chain(&item.predicted).cloned());
            if let Some(name) = no_label_class
                && (item.gold.is_empty() || item.predicted.is_empty())
            {
                names.insert(name.to_owned());
            }
        }
        names.into_iter().collect()
    }

    /// The table of `items` over `names`; the no-label class is set on empty sets.
    fn new(items: &[LabelItem], names: Vec<String>, no_label_class: Option<&str>) -> LabelTable {
        let flags = |set: &BTreeSet<String>| -> Vec<bool> {
            names
                .iter()
                .map(|name| {
                    set.contains(name) || (set.is_empty() && no_label_class == Some(name.as_str()))
                })
                .collect()
        };
        LabelTable {
            gold: items.iter().map(|i| flags(&i.gold)).collect(),
            predicted: items.iter().map(|i| flags(&i.predicted)).collect(),
            scores: names
                .iter()
                .map(|name| items.iter().map(|i| i.scores.get(name).copied()).collect())
                .collect(),
            names,
        }
    }

    /// A's row where `swapped` is false, B's where it is true (the tables have the same items,
    /// gold and names); a label keeps its scores when both tables have them.
    fn mixed(a: &LabelTable, b: &LabelTable, swapped: &[bool]) -> LabelTable {
        let pick = |x: &[Vec<bool>], y: &[Vec<bool>]| -> Vec<Vec<bool>> {
            x.iter()
                .zip(y)
                .zip(swapped)
                .map(|((x, y), &s)| if s { y.clone() } else { x.clone() })
                .collect()
        };
        let scores = a
            .scores
            .iter()
            .zip(&b.scores)
            .map(|(x, y)| {
                let (x, y) = (x.as_ref()?, y.as_ref()?);
                Some(
                    x.iter()
                        .zip(y)
                        .zip(swapped)
                        .map(|((x, y), &s)| if s { *y } else { *x })
                        .collect(),
                )
            })
            .collect();
        LabelTable {
            names: a.names.clone(),
            gold: a.gold.clone(),
            predicted: pick(&a.predicted, &b.predicted),
            scores,
        }
    }

    /// Macro F1, micro F1 and macro AUROC over the items at `rows`.
    fn headline(&self, rows: &[usize]) -> [Option<f64>; 3] {
        let (counts, aurocs) = self.figures(rows);
        let s = f1_summary(&counts);
        [Some(s.macro_f1), Some(s.micro_f1), macro_auroc(&aurocs)]
    }

    /// Per-label counts and AUROCs over the items at `rows` (repeats count again).
    fn figures(&self, rows: &[usize]) -> (Vec<Counts>, Vec<Option<f64>>) {
        let counts = label_counts(
            rows.iter().filter_map(|&r| {
                Some((
                    self.gold.get(r)?.as_slice(),
                    self.predicted.get(r)?.as_slice(),
                ))
            }),
            self.names.len(),
        );
        let aurocs = self
            .scores
            .iter()
            .enumerate()
            .map(|(l, column)| {
                let column = column.as_ref()?;
                label_auroc(
                    rows.iter()
                        .filter_map(|&r| Some((*self.gold.get(r)?.get(l)?, *column.get(r)?))),
                )
            })
            .collect();
        (counts, aurocs)
    }
}

/// ROUGE-1/2/L F-measures of joined items, averaged, with bootstrap intervals.
pub fn score_texts(items: &[TextItem], settings: &MetricSettings) -> TextMetrics {
    let per_item: Vec<[f64; 3]> = items
        .iter()
        .map(|i| {
            let r = rouge(&i.reference, &i.prediction, settings.stemmer);
            [r.rouge1.fmeasure, r.rouge2.fmeasure, r.rouge_l.fmeasure]
        })
        .collect();
    let means = |rows: &mut dyn Iterator<Item = usize>| -> [f64; 3] {
        let mut sum = [0.0; 3];
        let mut n = 0usize;
        for scores in rows.filter_map(|r| per_item.get(r)) {
            for (s, v) in sum.iter_mut().zip(scores) {
                *s += v;
            }
            n += 1;
        }
        sum.map(|s| if n == 0 { 0.0 } else { s / n as f64 })
    };
    let [rouge1, rouge2, rouge_l] = means(&mut (0..items.len()));
    let intervals = percentile_intervals(items.len(), &bootstrap_config(settings), |rows| {
        means(&mut rows.iter().copied()).map(Some).to_vec()
    });
    let mut ci95 = BTreeMap::new();
    for (key, interval) in ["rouge1", "rouge2", "rougeL"].into_iter().zip(intervals) {
        if let Some(i) = interval {
            ci95.insert(key.to_owned(), bounds(i));
        }
    }
    TextMetrics {
        n: items.len() as u64,
        rouge1,
        rouge2,
        rouge_l,
        stemmer: settings.stemmer,
        ci95,
        bootstrap: bootstrap_info(settings),
        unmatched: UnmatchedIds::default(),
    }
}

pub(crate) fn bootstrap_config(settings: &MetricSettings) -> BootstrapConfig {
    BootstrapConfig {
        resamples: settings.resamples as usize,
        seed: settings.seed,
    }
}

pub(crate) fn bootstrap_info(settings: &MetricSettings) -> BootstrapInfo {
    BootstrapInfo {
        resamples: settings.resamples,
        seed: settings.seed,
        method: "percentile".to_owned(),
    }
}

pub(crate) fn bounds(i: Interval) -> [f64; 2] {
    [i.low, i.high]
}

pub mod bias;
mod jsonl;
pub mod runs;
#[cfg(test)]
mod tests;
