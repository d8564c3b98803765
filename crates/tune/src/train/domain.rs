//! Domain adaptation: causal language modelling on raw text, every token after the first
//! scored.

use super::MicroBatch;
use super::data::Text;
use super::loss::Seq;
use super::sft::causal_lm;
use crate::error::Error;
use crate::llama::{Llama, Run};

/// The mean negative log-likelihood of the chunks `examples[indices]`.
pub(super) fn micro_batch(
    model: &Llama,
    run: &Run,
    examples: &[Text],
    indices: &[usize],
) -> Result<MicroBatch, Error> {
    let seqs: Vec<Seq> = indices
        .iter()
        .map(|&i| Seq {
            ids: examples[i].ids.clone(),
            start: 1,
        })
        .collect();
    causal_lm(model, run, &seqs)
}
