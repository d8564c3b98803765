//! Direct preference optimisation (Rafailov et al. 2023) with TRL's sigmoid loss: the mean
//! over pairs of `−log σ(β((π_c − ref_c) − (π_r − ref_r)))`, log-probs summed over completion
//! tokens, the reference being the policy at the start (cached per pair). Figures carry TRL's
//! names (`rewards/chosen`, …).

use std::collections::BTreeMap;

use candle_core::Tensor;

use super::data::{self, Pair};
use super::loss::{Seq, TokenLogps, log_sigmoid, token_logps};
use super::{Accumulated, MicroBatch, Trainer};
use crate::error::Error;
use crate::llama::{Llama, Run};
use crate::lora::Lora;

/// Chosen sequences of the pairs, then rejected ones (TRL's concatenated batch).
pub(super) fn pair_seqs(ex: &[Pair], indices: &[usize]) -> Vec<Seq> {
    let chosen = indices.iter().map(|&i| Seq {
        ids: [ex[i].prompt.as_slice(), &ex[i].chosen].concat(),
        start: ex[i].prompt.len(),
    });
    let rejected = indices.iter().map(|&i| Seq {
        ids: [ex[i].prompt.as_slice(), &ex[i].rejected].concat(),
        start: ex[i].prompt.len(),
    });
    chosen.chain(rejected).collect()
}

/// The policy's log-probs of `pairs[indices]`, chosen then rejected, in one batch.
pub(super) fn policy(
    model: &Llama,
    run: &Run,
    pairs: &[Pair],
    indices: &[usize],
) -> Result<TokenLogps, Error> {
    token_logps(model, run, &pair_seqs(pairs, indices))
}

/// The DPO loss of a batch from the policy's log-probs and the reference's `(chosen,
/// rejected)` sums per pair.
pub(super) fn micro_batch(
    policy: &TokenLogps,
    refs: &[(f64, f64)],
    beta: f64,
) -> Result<MicroBatch, Error> {
    let b = refs.len();
    let sums = policy.sums(None)?;
    let (pc, pr) = (sums.narrow(0, 0, b)?, sums.narrow(0, b, b)?);
    let dev = sums.device();
    let rc = Tensor::from_vec(refs.iter().map(|r| r.0 as f32).collect(), b, dev)?;
    let rr = Tensor::from_vec(refs.iter().map(|r| r.1 as f32).collect(), b, dev)?;
    let chosen_rewards = ((&pc - &rc)? * beta)?;
    let rejected_rewards = ((&pr - &rr)? * beta)?;
    let logits = (&chosen_rewards - &rejected_rewards)?;
    let loss = log_sigmoid(&logits)?.neg()?.mean_all()?;
    let cr = chosen_rewards.detach().to_vec1::<f32>()?;
    let rj = rejected_rewards.detach().to_vec1::<f32>()?;
    let mean = |v: &[f32]| v.iter().map(|&x| x as f64).sum::<f64>() / v.len() as f64;
    let acc = cr.iter().zip(&rj).filter(|(c, r)| c > r).count() as f64 / b as f64;
    let margins: Vec<f32> = cr.iter().zip(&rj).map(|(c, r)| c - r).collect();
    let mut metrics = BTreeMap::new();
    metrics.insert("rewards/chosen".into(), mean(&cr));
    metrics.insert("rewards/rejected".into(), mean(&rj));
    metrics.insert("rewards/accuracies".into(), acc);
    metrics.insert("rewards/margins".into(), mean(&margins));
    metrics.insert("logps/chosen".into(), mean(&pc.detach().to_vec1::<f32>()?));
    metrics.insert(
        "logps/rejected".into(),
        mean(&pr.detach().to_vec1::<f32>()?),
    );
    Ok(MicroBatch {
        loss,
        metrics,
        weight: b as f64,
        tokens: policy.tokens,
    })
}

impl Trainer<'_> {
    /// Reference log-probs `(chosen, rejected)` per pair, computed once and cached.
    pub(super) fn reference_logps(
        &mut self,
        ex: &[data::Pair],
        indices: &[usize],
    ) -> Result<Vec<(f64, f64)>, Error> {
        let missing: Vec<usize> = indices
            .iter()
            .copied()
            .filter(|i| !self.ref_cache.contains_key(i))
            .collect();
        if !missing.is_empty() {
            let adapters: Vec<&Lora> = self.base.iter().chain(self.reference.as_ref()).collect();
            let run = Run {
                adapters: &adapters,
                ..Run::default()
            };
            let ref_seqs = pair_seqs(ex, &missing);
            let sums = token_logps(self.model, &run, &ref_seqs)?
                .sums(None)?
                .detach()
                .to_vec1::<f32>()?;
            let m = missing.len();
            for (k, &i) in missing.iter().enumerate() {
                self.ref_cache
                    .insert(i, (sums[k] as f64, sums[m + k] as f64));
            }
        }
        Ok(indices.iter().map(|i| self.ref_cache[i]).collect())
    }

    /// DPO's gradient for one micro-batch with one half of the batch in memory at a time:
    /// the rejected log-probs first without a graph, then the chosen half with its graph and
    /// backward (the loss's derivative per pair is known once both sums are), then the rejected
    /// half again with the same dropout masks. Peak memory is that of an SFT batch of the same
    /// size, for one more forward pass. Returns the loss value, figures and tokens.
    pub(super) fn dpo_backward(
        &mut self,
        ex: &[data::Pair],
        indices: &[usize],
        beta: f64,
        grads: &mut [Option<Tensor>],
    ) -> Result<Accumulated, Error> {
        let b = indices.len();
        let seqs = pair_seqs(ex, indices);
        let (chosen, rejected) = seqs.split_at(b);
        let refs = self.reference_logps(ex, indices)?;
        let s0 = self.dropout.state();
        let adapters = self.run_with_adapter();
        let pr: Vec<f64> = {
            let run = Run {
                adapters: &adapters,
                dropout: Some(&self.dropout),
                no_grad: true,
            };
            let t = token_logps(self.model, &run, rejected)?;
            t.sums(None)?
                .to_vec1::<f32>()?
                .iter()
                .map(|&x| x as f64)
                .collect()
        };
        let s1 = self.dropout.state();
        let run = Run {
            adapters: &adapters,
            dropout: Some(&self.dropout),
            no_grad: false,
        };
        let tc = token_logps(self.model, &run, chosen)?;
        let mut tokens = tc.tokens;
        let pc_t = tc.sums(None)?;
        let pc: Vec<f64> = pc_t.to_vec1::<f32>()?.iter().map(|&x| x as f64).collect();
        let chosen_rewards: Vec<f64> = (0..b).map(|i| beta * (pc[i] - refs[i].0)).collect();
        let rejected_rewards: Vec<f64> = (0..b).map(|i| beta * (pr[i] - refs[i].1)).collect();
        let mut loss = 0.0;
        // dL/dπ_c = −β σ(−z)/b and dL/dπ_r = +β σ(−z)/b, z = chosen − rejected reward.
        let mut coef = Vec::with_capacity(b);
        for i in 0..b {
            let z = chosen_rewards[i] - rejected_rewards[i];
            loss += (1.0 + (-z).exp()).ln() / b as f64;
            coef.push((beta / (1.0 + z.exp()) / b as f64) as f32);
        }
        let dev = self.model.device().clone();
        let c = Tensor::from_vec(coef.iter().map(|x| -x).collect::<Vec<f32>>(), b, &dev)?;
        self.accumulate(grads, &(pc_t * c)?.sum_all()?)?;
        drop(tc);
        let s2 = self.dropout.state();
        self.dropout.set_state(s0);
        let tr = token_logps(self.model, &run, rejected)?;
        debug_assert_eq!(self.dropout.state(), s1);
        self.dropout.set_state(s2);
        tokens += tr.tokens;
        let c = Tensor::from_vec(coef, b, &dev)?;
        self.accumulate(grads, &(tr.sums(None)? * c)?.sum_all()?)?;
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        let mut metrics = BTreeMap::new();
        let acc = (0..b)
            .filter(|&i| chosen_rewards[i] > rejected_rewards[i])
            .count() as f64
            / b as f64;
        let margins: Vec<f64> = (0..b)
            .map(|i| chosen_rewards[i] - rejected_rewards[i])
            .collect();
        metrics.insert("rewards/chosen".into(), mean(&chosen_rewards));
        metrics.insert("rewards/rejected".into(), mean(&rejected_rewards));
        metrics.insert("rewards/accuracies".into(), acc);
        metrics.insert("rewards/margins".into(), mean(&margins));
        metrics.insert("logps/chosen".into(), mean(&pc));
        metrics.insert("logps/rejected".into(), mean(&pr));
        Ok(Accumulated {
            loss,
            metrics,
            weight: b as f64,
            tokens,
        })
    }
}
