//! Multi-label classification: a score head over the last token's hidden state, binary
//! cross-entropy per label (PEFT's `SEQ_CLS` adapter on `LlamaForSequenceClassification`).

use std::collections::BTreeMap;

use candle_core::{D, DType, Tensor};

use super::data::Labelled;
use super::loss::{bce_with_logits, pad};
use super::{MicroBatch, Scores};
use crate::error::Error;
use crate::llama::{Cache, Llama, Run};
use crate::lora::Lora;

/// The mean BCE of `examples[indices]` against their targets, `pos_weight` per label.
pub(super) fn micro_batch(
    model: &Llama,
    run: &Run,
    head: &Lora,
    examples: &[Labelled],
    indices: &[usize],
    class_weights: Option<&[f32]>,
) -> Result<MicroBatch, Error> {
    let dev = model.device().clone();
    let views: Vec<&[u32]> = indices
        .iter()
        .map(|&i| examples[i].ids.as_slice())
        .collect();
    let (logits, tokens) = classify_logits(model, run, head, &views)?;
    let labels = logits.dim(1)?;
    let targets: Vec<f32> = indices
        .iter()
        .flat_map(|&i| examples[i].targets.iter().copied())
        .collect();
    let targets = Tensor::from_vec(targets, (indices.len(), labels), &dev)?;
    let pw = class_weights
        .map(|w| Tensor::from_vec(w.to_vec(), labels, &dev))
        .transpose()?;
    let loss = bce_with_logits(&logits, &targets, pw.as_ref())?;
    Ok(MicroBatch {
        loss,
        metrics: BTreeMap::new(),
        weight: indices.len() as f64,
        tokens,
    })
}

/// Classification logits `(b, labels)`: the score head over the final hidden state of each
/// sequence's last token (right padding), as `LlamaForSequenceClassification` pools.
pub fn classify_logits(
    model: &Llama,
    run: &Run,
    head: &Lora,
    seqs: &[&[u32]],
) -> Result<(Tensor, usize), Error> {
    let score = head.score().ok_or_else(|| Error::Train {
        message: "the adapter has no classification head (score)".to_owned(),
    })?;
    let device = model.device().clone();
    let (ids, t) = pad(seqs, &device)?;
    let hidden = model.hidden(&ids, &mut Cache::new(), run)?;
    let h = hidden.dim(D::Minus1)?;
    let rows: Vec<u32> = seqs
        .iter()
        .enumerate()
        .map(|(i, s)| (i * t + s.len().max(1) - 1) as u32)
        .collect();
    let pooled = hidden
        .reshape((seqs.len() * t, h))?
        .index_select(&Tensor::from_vec(rows, seqs.len(), &device)?, 0)?;
    let logits = pooled.matmul(&score.t()?.to_dtype(pooled.dtype())?)?;
    Ok((
        logits.to_dtype(DType::F32)?,
        seqs.iter().map(|s| s.len()).sum(),
    ))
}

/// Sigmoid probabilities `(examples × labels)` of token sequences under `adapters` (the
/// classifier last) with `head`'s score head, `batch_size` sequences per forward pass and no
/// graph: what held-out evaluation scores and what `predict` reports.
pub fn classify_probabilities(
    model: &Llama,
    adapters: &[&Lora],
    head: &Lora,
    seqs: &[&[u32]],
    batch_size: usize,
) -> Result<Scores, Error> {
    let run = Run {
        adapters,
        no_grad: true,
        ..Run::default()
    };
    let mut scores = Vec::with_capacity(seqs.len());
    for chunk in seqs.chunks(batch_size.max(1)) {
        let (logits, _) = classify_logits(model, &run, head, chunk)?;
        for row in logits.detach().to_vec2::<f32>()? {
            scores.push(row.iter().map(|&x| sigmoid(f64::from(x))).collect());
        }
    }
    Ok(scores)
}

/// The logistic function, as torch's `sigmoid` on one value.
fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}
