//! SALT (sequence-alignment loss for edit pairs): the model's output (rejected) and the
//! clinician's edit (chosen) are aligned by a Myers diff on token ids. Chosen tokens kept from
//! the output get likelihood weight [`SaltWeights::kept`], tokens the clinician added
//! [`SaltWeights::added`]; rejected tokens the clinician removed get the unlikelihood term
//! `−log(1 − p)` with weight [`SaltWeights::removed`]; rejected tokens the edit kept are not
//! scored. The loss is the weighted sum divided by the number of scored tokens (weight > 0).

use std::collections::BTreeMap;

use candle_core::{Device, Tensor};

use super::data::Pair;
use super::dpo::pair_seqs;
use super::loss::token_logps;
use super::{MicroBatch, SaltWeights};
use crate::error::Error;
use crate::llama::{Llama, Run};

/// What the edit did to a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Edit {
    /// In both the output and the edit.
    Kept,
    /// Only in the edit (chosen).
    Added,
    /// Only in the output (rejected).
    Removed,
}

/// One pair's alignment: what the edit did to each chosen and each rejected token, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Alignment {
    /// Per chosen token: kept or added.
    chosen: Vec<Edit>,
    /// Per rejected token: kept or removed.
    rejected: Vec<Edit>,
}

/// Aligns rejected → chosen with a Myers diff on token ids.
fn align(chosen: &[u32], rejected: &[u32]) -> Alignment {
    use similar::{Algorithm, DiffOp, capture_diff_slices};
    let mut a = Alignment {
        chosen: Vec::with_capacity(chosen.len()),
        rejected: Vec::with_capacity(rejected.len()),
    };
    let repeat = |v: &mut Vec<Edit>, e: Edit, n: usize| v.extend(std::iter::repeat_n(e, n));
    for op in capture_diff_slices(Algorithm::Myers, rejected, chosen) {
        match op {
            DiffOp::Equal { len, .. } => {
                repeat(&mut a.chosen, Edit::Kept, len);
                repeat(&mut a.rejected, Edit::Kept, len);
            }
            DiffOp::Delete { old_len, .. } => repeat(&mut a.rejected, Edit::Removed, old_len),
            DiffOp::Insert { new_len, .. } => repeat(&mut a.chosen, Edit::Added, new_len),
            DiffOp::Replace {
                old_len, new_len, ..
            } => {
                repeat(&mut a.rejected, Edit::Removed, old_len);
                repeat(&mut a.chosen, Edit::Added, new_len);
            }
        }
    }
    a
}

/// A scored token's weight and whether its term is the likelihood (else the unlikelihood).
fn token_weight(edit: Option<Edit>, chosen: bool, w: SaltWeights) -> (f32, bool) {
    match edit {
        Some(Edit::Kept) if chosen => (w.kept, true),
        Some(Edit::Added) => (w.added, true),
        Some(Edit::Removed) => (w.removed, false),
        // Rejected tokens kept in the edit (and, defensively, tokens past the alignment).
        _ => (0.0, true),
    }
}

/// The SALT loss of `pairs[indices]`: chosen sequences then rejected ones in one batch.
pub(super) fn micro_batch(
    model: &Llama,
    run: &Run,
    pairs: &[Pair],
    indices: &[usize],
    w: SaltWeights,
) -> Result<MicroBatch, Error> {
    let b = indices.len();
    let seqs = pair_seqs(pairs, indices);
    let t = token_logps(model, run, &seqs)?;
    let alignments: Vec<Alignment> = indices
        .iter()
        .map(|&i| align(&pairs[i].chosen, &pairs[i].rejected))
        .collect();
    let mut weights = Vec::with_capacity(t.at.len());
    let mut likelihood = Vec::with_capacity(t.at.len());
    for &(s, j) in &t.at {
        // Sequences 0..b are the chosen completions, b..2b the rejected ones.
        let (row, is_chosen) = if s < b { (s, true) } else { (s - b, false) };
        let k = j - seqs[s].start;
        let edits = alignments
            .get(row)
            .map(|a| if is_chosen { &a.chosen } else { &a.rejected });
        let (wt, like) = token_weight(edits.and_then(|e| e.get(k)).copied(), is_chosen, w);
        weights.push(wt);
        likelihood.push(if like { 1f32 } else { 0.0 });
    }
    let (loss, n_scored) = weighted_loss(&t.logps, weights, likelihood, model.device())?;
    let mut metrics = BTreeMap::new();
    metrics.insert("salt/scored_tokens".into(), n_scored);
    Ok(MicroBatch {
        loss,
        metrics,
        weight: n_scored,
        tokens: t.tokens,
    })
}

/// `Σ wᵢ·(−log pᵢ or −log(1 − pᵢ)) / #{wᵢ > 0}` over tokens with log-probs `logps`, and that
/// count.
fn weighted_loss(
    logps: &Tensor,
    weights: Vec<f32>,
    likelihood: Vec<f32>,
    dev: &Device,
) -> Result<(Tensor, f64), Error> {
    let n = weights.len();
    let n_scored = weights.iter().filter(|&&x| x > 0.0).count().max(1) as f64;
    let wt = Tensor::from_vec(weights, n, dev)?;
    let like = Tensor::from_vec(likelihood, n, dev)?;
    let unlike = (like.neg()? + 1.0)?;
    // −log p for likelihood tokens, −log(1 − p) for unlikelihood tokens.
    let nll = logps.neg()?;
    let p = logps.exp()?.clamp(0.0, 1.0 - 1e-6)?;
    let unl = (p.neg()? + 1.0)?.log()?.neg()?;
    let per_token = ((nll * like)? + (unl * unlike)?)?;
    let loss = ((per_token * wt)?.sum_all()? / n_scored)?;
    Ok((loss, n_scored))
}

#[cfg(test)]
mod tests;
