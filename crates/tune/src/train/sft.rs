//! Supervised fine-tuning: cross-entropy over the completion tokens only, as TRL's
//! `SFTTrainer` with `completion_only_loss`.

use std::collections::BTreeMap;

use super::MicroBatch;
use super::data::Completion;
use super::loss::{Seq, token_logps};
use crate::error::Error;
use crate::llama::{Llama, Run};

/// The mean negative log-likelihood of the completions of `examples[indices]`.
pub(super) fn micro_batch(
    model: &Llama,
    run: &Run,
    examples: &[Completion],
    indices: &[usize],
) -> Result<MicroBatch, Error> {
    let seqs: Vec<Seq> = indices
        .iter()
        .map(|&i| Seq {
            ids: [examples[i].prompt.as_slice(), &examples[i].completion].concat(),
            start: examples[i].prompt.len(),
        })
        .collect();
    causal_lm(model, run, &seqs)
}

/// The mean negative log-likelihood of the scored tokens of `seqs`, weighted by their count.
pub(super) fn causal_lm(model: &Llama, run: &Run, seqs: &[Seq]) -> Result<MicroBatch, Error> {
    let t = token_logps(model, run, seqs)?;
    let n = t.at.len() as f64;
    let loss = (t.logps.sum_all()?.neg()? / n)?;
    Ok(MicroBatch {
        loss,
        metrics: BTreeMap::new(),
        weight: n,
        tokens: t.tokens,
    })
}
