//! ROUGE-1, ROUGE-2 and ROUGE-L as Google's `rouge-score` 0.1.2 computes them
//! (`RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=…).score(reference, prediction)`).
//!
//! Its tokenizer lower-cases the text, turns every run of characters other than `a-z0-9`
//! into a space and splits on spaces; with the stemmer on, tokens longer than three letters go
//! through NLTK's Porter stemmer ([`super::porter`]). ROUGE-N counts clipped n-gram overlaps;
//! ROUGE-L uses the longest common subsequence of the whole texts (not `rougeLsum`).

use std::collections::HashMap;

use super::porter;

/// Precision, recall and F-measure of one ROUGE variant, as `rouge_score.scoring.Score`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RougeScore {
    /// Share of the prediction's n-grams (or tokens, for ROUGE-L) found in the reference.
    pub precision: f64,
    /// Share of the reference's n-grams (or tokens) found in the prediction.
    pub recall: f64,
    /// Harmonic mean of the two (0 when both are 0); what papers report as "ROUGE".
    pub fmeasure: f64,
}

/// The three scores of one reference–prediction pair.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Rouge {
    /// Unigram overlap.
    pub rouge1: RougeScore,
    /// Bigram overlap.
    pub rouge2: RougeScore,
    /// Longest common subsequence.
    pub rouge_l: RougeScore,
}

/// Scores `prediction` against `reference`; `stemmer` is rouge-score's `use_stemmer`.
pub fn rouge(reference: &str, prediction: &str, stemmer: bool) -> Rouge {
    let target = tokenize(reference, stemmer);
    let predicted = tokenize(prediction, stemmer);
    Rouge {
        rouge1: rouge_n(&target, &predicted, 1),
        rouge2: rouge_n(&target, &predicted, 2),
        rouge_l: rouge_lcs(&target, &predicted),
    }
}

/// rouge-score's tokens of `text`: lower-cased `a-z0-9` runs, stemmed when longer than 3.
pub fn tokenize(text: &str, stemmer: bool) -> Vec<String> {
    let cleaned: String = text
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() {
                c
            } else {
                ' '
            }
        })
        .collect();
    cleaned
        .split_whitespace()
        .map(|token| {
            if stemmer && token.len() > 3 {
                porter::stem(token)
            } else {
                token.to_owned()
            }
        })
        .filter(|token| !token.is_empty())
        .collect()
}

fn score(overlap: usize, predicted: usize, target: usize) -> RougeScore {
    let precision = overlap as f64 / predicted.max(1) as f64;
    let recall = overlap as f64 / target.max(1) as f64;
    RougeScore {
        precision,
        recall,
        fmeasure: fmeasure(precision, recall),
    }
}

fn fmeasure(precision: f64, recall: f64) -> f64 {
    if precision + recall > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    }
}

fn ngram_counts(tokens: &[String], n: usize) -> HashMap<&[String], usize> {
    let mut counts = HashMap::new();
    for gram in tokens.windows(n) {
        *counts.entry(gram).or_insert(0) += 1;
    }
    counts
}

fn rouge_n(target: &[String], predicted: &[String], n: usize) -> RougeScore {
    let target_grams = ngram_counts(target, n);
    let predicted_grams = ngram_counts(predicted, n);
    let overlap = target_grams
        .iter()
        .map(|(gram, &count)| count.min(predicted_grams.get(gram).copied().unwrap_or(0)))
        .sum();
    score(
        overlap,
        predicted_grams.values().sum(),
        target_grams.values().sum(),
    )
}

fn rouge_lcs(target: &[String], predicted: &[String]) -> RougeScore {
    if target.is_empty() || predicted.is_empty() {
        return RougeScore::default();
    }
    let lcs = lcs_length(target, predicted);
    let precision = lcs as f64 / predicted.len() as f64;
    let recall = lcs as f64 / target.len() as f64;
    RougeScore {
        precision,
        recall,
        fmeasure: fmeasure(precision, recall),
    }
}

/// Length of the longest common subsequence, one row of the table at a time.
fn lcs_length(a: &[String], b: &[String]) -> usize {
    let mut previous = vec![0usize; b.len() + 1];
    let mut current = vec![0usize; b.len() + 1];
    for x in a {
        for (j, y) in b.iter().enumerate() {
            current[j + 1] = if x == y {
                previous[j] + 1
            } else {
                current[j].max(previous[j + 1])
            };
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous.last().copied().unwrap_or(0)
}
