//! SALT's weighting on a hand-worked edit: the output "1 2 3 4" edited to "1 2 5 4".

use candle_core::{Device, Tensor};

use super::*;

/// Weights a hand calculation can tell apart: kept 0.5, added 2, removed 3.
const W: SaltWeights = SaltWeights {
    kept: 0.5,
    added: 2.0,
    removed: 3.0,
};

#[test]
fn a_replaced_token_is_removed_from_the_output_and_added_to_the_edit() {
    let a = align(&[1, 2, 5, 4], &[1, 2, 3, 4]);
    assert_eq!(a.chosen, [Edit::Kept, Edit::Kept, Edit::Added, Edit::Kept]);
    assert_eq!(
        a.rejected,
        [Edit::Kept, Edit::Kept, Edit::Removed, Edit::Kept]
    );
    let only_added = align(&[7, 1, 2], &[1, 2]);
    assert_eq!(only_added.chosen, [Edit::Added, Edit::Kept, Edit::Kept]);
    assert_eq!(only_added.rejected, [Edit::Kept, Edit::Kept]);
    let only_removed = align(&[1], &[1, 9]);
    assert_eq!(only_removed.chosen, [Edit::Kept]);
    assert_eq!(only_removed.rejected, [Edit::Kept, Edit::Removed]);
}

#[test]
fn kept_output_tokens_are_not_scored_and_removed_ones_are_unlikely() {
    assert_eq!(token_weight(Some(Edit::Kept), true, W), (0.5, true));
    assert_eq!(token_weight(Some(Edit::Added), true, W), (2.0, true));
    assert_eq!(token_weight(Some(Edit::Removed), false, W), (3.0, false));
    assert_eq!(token_weight(Some(Edit::Kept), false, W), (0.0, true));
    assert_eq!(token_weight(None, true, W), (0.0, true));
}

#[test]
fn the_loss_is_the_weighted_sum_over_scored_tokens() {
    // Chosen "1 2 5 4" with p = 0.5, 0.25, 0.1, 0.8 (kept, kept, added, kept); rejected
    // "1 2 3 4" with p = 0.5, 0.5, 0.6, 0.9 (kept, kept, removed, kept).
    let a = align(&[1, 2, 5, 4], &[1, 2, 3, 4]);
    let p = [0.5f32, 0.25, 0.1, 0.8, 0.5, 0.5, 0.6, 0.9];
    let edits = a.chosen.iter().map(|&e| (e, true));
    let edits = edits.chain(a.rejected.iter().map(|&e| (e, false)));
    let (weights, likelihood): (Vec<f32>, Vec<f32>) = edits
        .map(|(e, chosen)| {
            let (w, like) = token_weight(Some(e), chosen, W);
            (w, if like { 1.0 } else { 0.0 })
        })
        .unzip();
    assert_eq!(weights, [0.5, 0.5, 2.0, 0.5, 0.0, 0.0, 3.0, 0.0]);
    let logps = Tensor::from_vec(p.map(f32::ln).to_vec(), 8, &Device::Cpu).unwrap();
    let (loss, scored) = weighted_loss(&logps, weights, likelihood, &Device::Cpu).unwrap();
    // Five scored tokens (four chosen, one removed):
    //   0.5·−ln 0.5 = 0.346574   0.5·−ln 0.25 = 0.693147   2·−ln 0.1 = 4.605170
    //   0.5·−ln 0.8 = 0.111572   3·−ln(1 − 0.6) = 3·0.916291 = 2.748872
    //   sum 8.505335, / 5 = 1.701067
    assert_eq!(scored, 5.0);
    let loss = loss.to_scalar::<f32>().unwrap() as f64;
    assert!((loss - 1.701067).abs() < 1e-5, "{loss}");
}
