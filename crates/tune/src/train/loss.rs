//! Objectives over the trainable forward pass: token log-probabilities of scored positions, and
//! the losses built on them (SFT cross-entropy, DPO's sigmoid loss, SALT, BCE for labels).
//! Only the scored positions go through the LM head, which is most of a step's work otherwise.

use candle_core::{D, DType, Device, Tensor};

use crate::error::Error;
use crate::llama::{Cache, Llama, Run};

/// A token sequence whose positions `start..` are scored (each predicted from the one before).
#[derive(Debug, Clone)]
pub struct Seq {
    /// Token ids.
    pub ids: Vec<u32>,
    /// First scored position (≥ 1).
    pub start: usize,
}

/// Log-probabilities of the scored tokens of a batch.
pub struct TokenLogps {
    /// `(n,)`: `log p(token | prefix)` per scored token, sequence after sequence.
    pub logps: Tensor,
    /// For each scored token: its sequence and its position in that sequence.
    pub at: Vec<(usize, usize)>,
    /// Number of sequences.
    pub sequences: usize,
    /// Tokens run through the model (all positions of all sequences, padding excluded).
    pub tokens: usize,
}

impl TokenLogps {
    /// `(sequences,)`: each sequence's summed log-probability, weighted per token by `weights`
    /// (`None`: all 1).
    pub fn sums(&self, weights: Option<&[f32]>) -> Result<Tensor, Error> {
        let n = self.at.len();
        let mut seg = vec![0f32; self.sequences * n];
        for (k, &(s, _)) in self.at.iter().enumerate() {
            seg[s * n + k] = weights.map_or(1.0, |w| w[k]);
        }
        let seg = Tensor::from_vec(seg, (self.sequences, n), self.logps.device())?;
        Ok(seg.matmul(&self.logps.unsqueeze(1)?)?.squeeze(1)?)
    }
}

/// Pads `seqs` on the right into one `(b, t)` batch of ids.
pub fn pad(seqs: &[&[u32]], device: &Device) -> Result<(Tensor, usize), Error> {
    let t = seqs.iter().map(|s| s.len()).max().unwrap_or(1).max(1);
    let mut flat = Vec::with_capacity(seqs.len() * t);
    for s in seqs {
        flat.extend_from_slice(s);
        flat.extend(std::iter::repeat_n(0u32, t - s.len()));
    }
    Ok((Tensor::from_vec(flat, (seqs.len(), t), device)?, t))
}

/// `log_softmax` over the last dimension from differentiable operations.
pub fn log_softmax(x: &Tensor) -> Result<Tensor, Error> {
    let max = x.max_keepdim(D::Minus1)?.detach();
    let shifted = x.broadcast_sub(&max)?;
    let lse = shifted.exp()?.sum_keepdim(D::Minus1)?.log()?;
    Ok(shifted.broadcast_sub(&lse)?)
}

/// Runs the batch (right-padded; causal attention keeps padding out of real positions) and
/// returns the log-probabilities of every scored token.
pub fn token_logps(model: &Llama, run: &Run, seqs: &[Seq]) -> Result<TokenLogps, Error> {
    let device = model.device().clone();
    let views: Vec<&[u32]> = seqs.iter().map(|s| s.ids.as_slice()).collect();
    let (ids, t) = pad(&views, &device)?;
    let hidden = model.hidden(&ids, &mut Cache::new(), run)?;
    let h = hidden.dim(D::Minus1)?;
    let mut rows = Vec::new();
    let mut targets = Vec::new();
    let mut at = Vec::new();
    for (i, s) in seqs.iter().enumerate() {
        for j in s.start.max(1)..s.ids.len() {
            rows.push((i * t + j - 1) as u32);
            targets.push(s.ids[j]);
            at.push((i, j));
        }
    }
    if rows.is_empty() {
        return Err(Error::Train {
            message: "a batch has no tokens to score (empty completions?)".to_owned(),
        });
    }
    let n = rows.len();
    let picked = hidden
        .reshape((seqs.len() * t, h))?
        .index_select(&Tensor::from_vec(rows, n, &device)?, 0)?;
    let logits = model.logits(&picked)?.to_dtype(DType::F32)?;
    let logp = log_softmax(&logits)?;
    let targets = Tensor::from_vec(targets, (n, 1), &device)?;
    let logps = logp.gather(&targets, 1)?.squeeze(1)?;
    Ok(TokenLogps {
        logps,
        at,
        sequences: seqs.len(),
        tokens: seqs.iter().map(|s| s.ids.len()).sum(),
    })
}

/// `log σ(x) = −log(1 + e^{−x})`. Written without `abs`/`relu`, whose subgradients at exactly 0
/// (which DPO's first step hits: every margin is 0) would triple the gradient there; `x` is
/// held at ≥ −80 so `e^{−x}` stays finite in f32 (beyond that the loss is saturated anyway).
pub fn log_sigmoid(x: &Tensor) -> Result<Tensor, Error> {
    let x = x.clamp(-80f32, f32::MAX)?;
    Ok((x.neg()?.exp()? + 1.0)?.log()?.neg()?)
}

/// Binary cross-entropy with logits, mean over all elements, optional positive-class weights
/// per label (`BCEWithLogitsLoss(pos_weight=…)`): `(1 − y)·x − (1 + (pw − 1)·y)·log σ(x)`.
pub fn bce_with_logits(
    logits: &Tensor,
    targets: &Tensor,
    pos_weight: Option<&Tensor>,
) -> Result<Tensor, Error> {
    let one_minus_y = (targets.neg()? + 1.0)?;
    let w = match pos_weight {
        Some(pw) => (targets.broadcast_mul(&(pw - 1.0)?)? + 1.0)?,
        None => targets.ones_like()?,
    };
    let loss = ((one_minus_y * logits)? - (w * log_sigmoid(logits)?)?)?;
    Ok(loss.mean_all()?)
}
