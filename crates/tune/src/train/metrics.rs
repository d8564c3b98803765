//! Metrics of held-out evaluation: ROC AUC per label (ties counted half, as scikit-learn's
//! `roc_auc_score`) and their macro mean over labels that have both classes.

/// Area under the ROC curve of `scores` against 0/1 `labels`; `None` when one class is absent.
pub fn auroc(scores: &[f64], labels: &[bool]) -> Option<f64> {
    let positives = labels.iter().filter(|&&l| l).count();
    let negatives = labels.len() - positives;
    if positives == 0 || negatives == 0 {
        return None;
    }
    // Mann–Whitney U with average ranks over ties.
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        let average_rank = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            if labels[k] {
                rank_sum += average_rank;
            }
        }
        i = j + 1;
    }
    let p = positives as f64;
    Some((rank_sum - p * (p + 1.0) / 2.0) / (p * negatives as f64))
}

/// Per-label AUROC of a `(examples × labels)` score matrix, and their mean over the labels
/// with both classes present (`None` if there are none).
pub fn macro_auroc(scores: &[Vec<f64>], targets: &[Vec<bool>]) -> (Vec<Option<f64>>, Option<f64>) {
    let labels = scores.first().map_or(0, |r| r.len());
    let per: Vec<Option<f64>> = (0..labels)
        .map(|l| {
            let s: Vec<f64> = scores.iter().map(|r| r[l]).collect();
            let t: Vec<bool> = targets.iter().map(|r| r[l]).collect();
            auroc(&s, &t)
        })
        .collect();
    let defined: Vec<f64> = per.iter().flatten().copied().collect();
    let mean = (!defined.is_empty()).then(|| defined.iter().sum::<f64>() / defined.len() as f64);
    (per, mean)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::json;

    #[test]
    fn auroc_matches_scikit_learn_with_ties_and_a_single_class_label() {
        let m = json("metrics.json");
        let m = &m["multilabel"];
        let scores: Vec<Vec<f64>> = serde_json::from_value(m["scores"].clone()).unwrap();
        let truth: Vec<Vec<u8>> = serde_json::from_value(m["y_true"].clone()).unwrap();
        let truth: Vec<Vec<bool>> = truth
            .iter()
            .map(|r| r.iter().map(|&x| x == 1).collect())
            .collect();
        let (per, mean) = macro_auroc(&scores, &truth);
        for (ours, theirs) in per.iter().zip(m["auroc_per_label"].as_array().unwrap()) {
            match (ours, theirs.as_f64()) {
                (Some(a), Some(b)) => assert!((a - b).abs() < 1e-12, "{a} vs {b}"),
                (None, None) => {}
                other => panic!("defined differently: {other:?}"),
            }
        }
        let expected = m["auroc_macro_skip_single_class"].as_f64().unwrap();
        assert!((mean.unwrap() - expected).abs() < 1e-12);
    }
}
