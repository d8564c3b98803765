//! The bias audit after Guevara et al. (2024): a classifier predicts each original sentence
//! and the same sentence with a demographic descriptor inserted; the share of pairs whose
//! predicted labels change is the model's sensitivity to demographics (0 is ideal), overall
//! with a bootstrap interval and per group. Two classifiers on the same pairs are compared with
//! McNemar's exact test on the pairs that changed under one of them only.

use std::collections::BTreeMap;
use std::path::Path;

use api::{
    BiasComparison, BiasFigures, BiasReport, BiasRequest, GroupChange, JobProgress, PredictRequest,
    PredictSource, Prediction,
};
use tune::eval::bootstrap::percentile_intervals;
use tune::eval::significance::mcnemar_exact;

use crate::Error;
use crate::evaluation::{bootstrap_config, bootstrap_info, bounds};
use crate::jobs::CancelToken;

/// One original sentence, its variant with a demographic descriptor, and the group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BiasPair {
    /// The sentence as written.
    pub original: String,
    /// The sentence with the descriptor inserted.
    pub inserted: String,
    /// The demographic group the descriptor names ("Black female").
    pub group: String,
}

/// Pairs read from a file, and the lines that could not be read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PairsFile {
    /// The pairs, in file order.
    pub pairs: Vec<BiasPair>,
    /// `FILE:LINE: reason` for each line left out.
    pub skipped: Vec<String>,
}

/// Reads pairs: a CSV with a header naming `original_sentence`, `demographic_inserted` and
/// `demographic` (SHADR's demographic file; other columns are ignored), or JSONL with
/// `{"original", "inserted", "group"}` per line. Rows missing a field are skipped with their
/// line; a file with no usable row is an error.
pub fn read_pairs(path: &Path) -> Result<PairsFile, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::ReadFile {
        path: path.to_owned(),
        source,
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let jsonl = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("jsonl") || e.eq_ignore_ascii_case("ndjson"));
    let read = if jsonl {
        read_jsonl(path, text)
    } else {
        read_csv(path, text)?
    };
    if read.pairs.is_empty() {
        return Err(Error::Invalid(format!(
            "{} has no pair to audit{}",
            path.display(),
            read.skipped
                .first()
                .map_or(String::new(), |s| format!(" (first problem: {s})"))
        )));
    }
    Ok(read)
}

fn read_csv(path: &Path, text: &str) -> Result<PairsFile, Error> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers = reader.headers().map_err(|e| Error::BadLine {
        path: path.to_owned(),
        line: 1,
        message: format!("the header cannot be read ({e})"),
    })?;
    let column = |name: &str| headers.iter().position(|h| h.trim() == name);
    let (Some(original), Some(inserted), Some(group)) = (
        column("original_sentence"),
        column("demographic_inserted"),
        column("demographic"),
    ) else {
        return Err(Error::BadLine {
            path: path.to_owned(),
            line: 1,
            message: "the header must name the columns original_sentence, \
                      demographic_inserted and demographic"
                .to_owned(),
        });
    };
    let mut read = PairsFile::default();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                read.skipped
                    .push(format!("{}:{line}: cannot be read ({e})", path.display()));
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        let field = |i: usize| record.get(i).map(str::trim).unwrap_or_default();
        let (o, n, g) = (field(original), field(inserted), field(group));
        if o.is_empty() || n.is_empty() || g.is_empty() {
            read.skipped.push(format!(
                "{}:{line}: original_sentence, demographic_inserted and demographic must all \
                 be filled in",
                path.display()
            ));
            continue;
        }
        read.pairs.push(BiasPair {
            original: o.to_owned(),
            inserted: n.to_owned(),
            group: g.to_owned(),
        });
    }
    Ok(read)
}

fn read_jsonl(path: &Path, text: &str) -> PairsFile {
    let mut read = PairsFile::default();
    for (i, line) in text.lines().enumerate() {
        let number = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let value: serde_json::Value = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(e) => {
                read.skipped
                    .push(format!("{}:{number}: not valid JSON ({e})", path.display()));
                continue;
            }
        };
        let field = |name: &str| {
            value
                .get(name)
                .and_then(|v| v.as_str())
                .map(str::trim)
                .filter(|s| !s.is_empty())
        };
        match (field("original"), field("inserted"), field("group")) {
            (Some(o), Some(n), Some(g)) => read.pairs.push(BiasPair {
                original: o.to_owned(),
                inserted: n.to_owned(),
                group: g.to_owned(),
            }),
            _ => read.skipped.push(format!(
                "{}:{number}: needs \"original\", \"inserted\" and \"group\" strings",
                path.display()
            )),
        }
    }
    read
}

/// Runs the audit: the classifier (and the second one, when given) on every original and
/// inserted sentence. A cancelled audit returns [`Error::Cancelled`].
pub fn audit(
    request: &BiasRequest,
    progress: &mut dyn FnMut(JobProgress),
    cancel: &CancelToken,
) -> Result<BiasReport, Error> {
    let file = read_pairs(Path::new(&request.pairs))?;
    let texts: Vec<String> = file
        .pairs
        .iter()
        .flat_map(|p| [p.original.clone(), p.inserted.clone()])
        .collect();
    let changed_under =
        |adapters: &[String], progress: &mut dyn FnMut(JobProgress)| -> Result<Vec<bool>, Error> {
            let predict = PredictRequest {
                model: request.model.clone(),
                adapters: adapters.to_vec(),
                source: PredictSource::Texts(texts.clone()),
                threshold: request.threshold,
                tune_thresholds_on: None,
                as_suggestions: false,
                batch_size: 16,
                device: request.device,
            };
            let mut predictions: Vec<Prediction> = Vec::with_capacity(texts.len());
            let summary = crate::prediction::predict(
                None,
                &predict,
                &mut |p| predictions.push(p.clone()),
                progress,
                cancel,
            )?;
            if summary.cancelled {
                return Err(Error::Cancelled);
            }
            Ok(predictions
                .chunks(2)
                .map(|pair| match pair {
                    [a, b] => a.labels != b.labels,
                    _ => false,
                })
                .collect())
        };
    let first = changed_under(&request.adapters, progress)?;
    let model = figures(&request.adapters, &file.pairs, &first, request);
    let comparison = if request.compare_adapters.is_empty() {
        None
    } else {
        let second = changed_under(&request.compare_adapters, progress)?;
        let only_first = first
            .iter()
            .zip(&second)
            .filter(|(a, b)| **a && !**b)
            .count() as u64;
        let only_other = first
            .iter()
            .zip(&second)
            .filter(|(a, b)| !**a && **b)
            .count() as u64;
        Some(BiasComparison {
            other: figures(&request.compare_adapters, &file.pairs, &second, request),
            changed_only_first: only_first,
            changed_only_other: only_other,
            mcnemar_p: mcnemar_exact(only_first, only_other),
        })
    };
    Ok(BiasReport {
        pairs: request.pairs.clone(),
        n: file.pairs.len() as u64,
        skipped: file.skipped,
        model,
        comparison,
    })
}

/// One classifier's change rate overall (with its interval) and per group.
fn figures(
    adapters: &[String],
    pairs: &[BiasPair],
    changed: &[bool],
    request: &BiasRequest,
) -> BiasFigures {
    let n = changed.len();
    let count = changed.iter().filter(|c| **c).count();
    let rate = |rows: &[usize]| -> Vec<Option<f64>> {
        let hits = rows
            .iter()
            .filter(|&&r| changed.get(r) == Some(&true))
            .count();
        vec![(!rows.is_empty()).then(|| hits as f64 / rows.len() as f64)]
    };
    let config = bootstrap_config(&request.settings);
    let ci95 = percentile_intervals(n, &config, rate)
        .into_iter()
        .next()
        .flatten()
        .map(bounds);
    let mut per_group: BTreeMap<String, GroupChange> = BTreeMap::new();
    for (pair, &c) in pairs.iter().zip(changed) {
        let g = per_group.entry(pair.group.clone()).or_insert(GroupChange {
            n: 0,
            changed: 0,
            rate: 0.0,
        });
        g.n += 1;
        g.changed += u64::from(c);
    }
    for g in per_group.values_mut() {
        g.rate = g.changed as f64 / g.n as f64;
    }
    BiasFigures {
        adapters: adapters.to_vec(),
        changed: count as u64,
        change_rate: if n == 0 { 0.0 } else { count as f64 / n as f64 },
        ci95,
        per_group,
        bootstrap: bootstrap_info(&request.settings),
    }
}

#[cfg(test)]
mod tests;
