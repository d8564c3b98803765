//! The training loop: one trainable LoRA adapter (optionally over frozen ones) on a frozen
//! base, an objective, AdamW with a schedule, gradient accumulation and clipping, held-out
//! evaluation, early stopping, progress events, cancellation and resumable checkpoints.
//!
//! Numbers follow TRL so that runs can be compared with it: SFT's loss is the cross-entropy
//! summed over all completion tokens of an optimizer step divided by their count; DPO's is the
//! mean over pairs of `−log σ(β((π_c − ref_c) − (π_r − ref_r)))` with log-probs summed over
//! completion tokens, and its figures carry TRL's names (`rewards/chosen`, …). `grad_norm` is
//! the global norm before clipping.
//!
//! SALT (sequence-alignment loss for edit pairs): the model's output (rejected) and the
//! clinician's edit (chosen) are aligned by a Myers diff on token ids. Chosen tokens kept from
//! the output get likelihood weight [`SaltWeights::kept`], tokens the clinician added
//! [`SaltWeights::added`]; rejected tokens the clinician removed get the unlikelihood term
//! `−log(1 − p)` with weight [`SaltWeights::removed`]. The loss is the weighted sum divided by
//! the number of scored tokens. Defaults 1/1/1 weigh every token of the edit equally.

pub mod data;
pub mod loss;
pub mod metrics;
pub mod optim;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Instant;

use candle_core::{D, DType, Tensor};
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::llama::{Cache, Dropout, Llama, Run};
use crate::lora::{Lora, write_atomic, write_safetensors};
use crate::rng::Rng;
use data::Dataset;
use loss::{Seq, bce_with_logits, log_sigmoid, token_logps};
pub use optim::{AdamW, AdamWConfig, Scheduler};

/// Weights of the three kinds of tokens in SALT (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SaltWeights {
    /// Likelihood weight of chosen tokens kept from the rejected output.
    pub kept: f32,
    /// Likelihood weight of chosen tokens the editor added.
    pub added: f32,
    /// Unlikelihood weight of rejected tokens the editor removed.
    pub removed: f32,
}

impl Default for SaltWeights {
    fn default() -> SaltWeights {
        SaltWeights {
            kept: 1.0,
            added: 1.0,
            removed: 1.0,
        }
    }
}

/// What the adapter is trained to do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "objective", rename_all = "lowercase")]
pub enum Objective {
    /// Causal LM on (prompt, completion), loss on the completion.
    Sft,
    /// Direct preference optimisation, sigmoid loss.
    Dpo {
        /// β (TRL's default 0.1).
        beta: f64,
    },
    /// Sequence-alignment likelihood/unlikelihood on edit pairs.
    Salt(SaltWeights),
    /// Multi-label classification from the last non-pad token, BCE.
    Classify {
        /// Positive-class weight per label (`pos_weight`), e.g. negatives / positives.
        class_weights: Option<Vec<f32>>,
    },
    /// Causal LM on raw text (domain adaptation).
    Domain,
}

impl Objective {
    /// The CLI name.
    pub fn name(&self) -> &'static str {
        match self {
            Objective::Sft => "sft",
            Objective::Dpo { .. } => "dpo",
            Objective::Salt(_) => "salt",
            Objective::Classify { .. } => "classify",
            Objective::Domain => "domain",
        }
    }
}

/// Settings of a run (defaults: TRL's where TRL has one).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainConfig {
    /// The objective.
    pub objective: Objective,
    /// Optimizer steps; when `None`, `epochs` decides.
    pub steps: Option<usize>,
    /// Passes over the data when `steps` is `None`.
    pub epochs: f64,
    /// Peak learning rate.
    pub lr: f64,
    /// Examples per micro-batch.
    pub batch_size: usize,
    /// Micro-batches per optimizer step.
    pub grad_accum: usize,
    /// AdamW settings.
    pub adamw: AdamWConfig,
    /// Global grad-norm clipping (`None`: off).
    pub max_grad_norm: Option<f64>,
    /// Schedule after warm-up.
    pub scheduler: Scheduler,
    /// Linear warm-up steps.
    pub warmup_steps: usize,
    /// Seed of data order and dropout (the adapter's initialisation is seeded by the caller).
    pub seed: u64,
    /// Shuffle the training examples each epoch.
    pub shuffle: bool,
    /// Evaluate on the held-out set every this many steps (and at the end).
    pub eval_every: Option<usize>,
    /// Stop when the held-out loss has not improved for this many evaluations.
    pub patience: Option<usize>,
    /// Write a resumable checkpoint every this many steps (and on cancel and at the end).
    pub checkpoint_every: usize,
}

impl Default for TrainConfig {
    fn default() -> TrainConfig {
        TrainConfig {
            objective: Objective::Sft,
            steps: None,
            epochs: 1.0,
            lr: 2e-4,
            batch_size: 2,
            grad_accum: 1,
            adamw: AdamWConfig::default(),
            max_grad_norm: Some(1.0),
            scheduler: Scheduler::Linear,
            warmup_steps: 0,
            seed: 42,
            shuffle: true,
            eval_every: None,
            patience: None,
            checkpoint_every: 50,
        }
    }
}

/// One optimizer step's figures: a row of `trainer_state.json`'s `log_history`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StepLog {
    /// 1-based optimizer step.
    pub step: usize,
    /// Loss of the batch before the update.
    pub loss: f64,
    /// Global gradient norm before clipping.
    pub grad_norm: f64,
    /// Learning rate used for this update.
    pub learning_rate: f64,
    /// The objective's figures (`rewards/chosen`, … for DPO), named as TRL names them.
    #[serde(flatten)]
    pub metrics: BTreeMap<String, f64>,
}

/// A progress event, after every optimizer step and evaluation.
#[derive(Debug, Clone, Serialize)]
pub struct Progress {
    /// The step's figures.
    #[serde(flatten)]
    pub log: StepLog,
    /// Steps in the run.
    pub total_steps: usize,
    /// Tokens run through the model in this step.
    pub tokens: usize,
    /// Training throughput of this step.
    pub tokens_per_s: f64,
    /// Seconds since the run (or the resumed run) started.
    pub elapsed_s: f64,
    /// Estimated seconds left.
    pub eta_s: f64,
    /// Held-out figures when this step evaluated (`eval_loss`, …).
    pub eval: Option<BTreeMap<String, f64>>,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Finish {
    /// All steps done.
    Completed,
    /// The held-out loss stopped improving.
    EarlyStopped,
    /// Cancelled; a checkpoint was written.
    Cancelled,
}

/// `trainer_state.json` in the Hugging Face Trainer's shape.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TrainerState {
    /// Optimizer steps done.
    pub global_step: usize,
    /// One row per optimizer step (and per evaluation, with `eval_*` keys).
    pub log_history: Vec<serde_json::Value>,
    /// Steps planned.
    #[serde(default)]
    pub max_steps: usize,
    /// The best held-out loss seen and its step.
    #[serde(default)]
    pub best_metric: Option<f64>,
    /// Step of `best_metric`.
    #[serde(default)]
    pub best_global_step: Option<usize>,
}

/// Saved with each checkpoint: what resuming needs besides the adapter and moments.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct CheckpointState {
    step: usize,
    dropout_rng: u64,
    config: TrainConfig,
    evals_without_improvement: usize,
}

/// Per-example, per-label probabilities.
pub type Scores = Vec<Vec<f64>>;
/// Per-example, per-label 0/1 targets.
pub type Targets = Vec<Vec<bool>>;

/// The name of the checkpoint folder inside the output folder.
pub const CHECKPOINT_DIR: &str = "checkpoint";

/// A training run: the model, the adapters and the optimizer.
pub struct Trainer<'a> {
    model: &'a Llama,
    /// Frozen adapters under the trainable one (the two-step method's domain adapter).
    base: Vec<Lora>,
    adapter: Lora,
    /// DPO's reference adapter when training continues from one (a frozen copy of it).
    reference: Option<Lora>,
    config: TrainConfig,
    optimizer: AdamW,
    dropout: Dropout,
    state: TrainerState,
    evals_without_improvement: usize,
    ref_cache: HashMap<usize, (f64, f64)>,
}

impl<'a> Trainer<'a> {
    /// A run training `adapter` (made trainable) over `base` (frozen). For DPO, the reference
    /// is the policy at the start: the adapter off when it is fresh (B = 0), else a frozen copy.
    pub fn new(
        model: &'a Llama,
        base: Vec<Lora>,
        mut adapter: Lora,
        config: TrainConfig,
    ) -> Result<Trainer<'a>, Error> {
        for l in &base {
            l.check_fits(model.config())?;
        }
        adapter.check_fits(model.config())?;
        if config.batch_size == 0 || config.grad_accum == 0 {
            return Err(Error::Train {
                message: "--batch-size and --grad-accum must be at least 1".to_owned(),
            });
        }
        if matches!(config.objective, Objective::Classify { .. }) && adapter.score().is_none() {
            return Err(Error::Train {
                message: "a classification run needs an adapter with a score head".to_owned(),
            });
        }
        let mut base = base;
        for l in &mut base {
            l.set_trainable(false);
        }
        adapter.set_trainable(true);
        let reference = match config.objective {
            Objective::Dpo { .. } if !adapter_is_identity(&adapter)? => {
                Some(adapter.frozen_copy()?)
            }
            _ => None,
        };
        let optimizer = AdamW::new(adapter.vars(), config.adamw)?;
        let dropout = Dropout::new(config.seed ^ 0xD0D0);
        Ok(Trainer {
            model,
            base,
            adapter,
            reference,
            config,
            optimizer,
            dropout,
            state: TrainerState::default(),
            evals_without_improvement: 0,
            ref_cache: HashMap::new(),
        })
    }

    /// The trainable adapter.
    pub fn adapter(&self) -> &Lora {
        &self.adapter
    }

    /// The adapter, mutably (to set config fields before saving).
    pub fn adapter_mut(&mut self) -> &mut Lora {
        &mut self.adapter
    }

    /// The state so far (`trainer_state.json`).
    pub fn state(&self) -> &TrainerState {
        &self.state
    }

    /// Optimizer steps the run will take over `train`.
    pub fn total_steps(&self, train: &Dataset) -> usize {
        match self.config.steps {
            Some(s) => s,
            None => {
                let per_step = self.config.batch_size * self.config.grad_accum;
                ((self.config.epochs * train.len() as f64) / per_step as f64)
                    .ceil()
                    .max(1.0) as usize
            }
        }
    }

    /// Example indices of micro-batch `k` of the run: the data is a stream of epochs, each a
    /// permutation seeded by (seed, epoch), cut into consecutive batches.
    fn batch_indices(&self, k: usize, n: usize) -> Vec<usize> {
        let bs = self.config.batch_size;
        let mut out = Vec::with_capacity(bs);
        let mut cached: Option<(usize, Vec<usize>)> = None;
        for pos in k * bs..(k + 1) * bs {
            let (epoch, i) = (pos / n, pos % n);
            if cached.as_ref().is_none_or(|(e, _)| *e != epoch) {
                let mut order: Vec<usize> = (0..n).collect();
                if self.config.shuffle {
                    Rng::new(self.config.seed.wrapping_add(epoch as u64)).shuffle(&mut order);
                }
                cached = Some((epoch, order));
            }
            out.push(cached.as_ref().expect("set above").1[i]);
        }
        out
    }

    fn run_with_adapter(&self) -> Vec<&Lora> {
        self.base.iter().chain([&self.adapter]).collect()
    }

    /// Loss (as a tensor to differentiate), the figures to log, the scoring weight of this
    /// micro-batch (token count for SFT-like losses, example count otherwise) and tokens run.
    fn micro_batch(
        &mut self,
        data: &Dataset,
        indices: &[usize],
        train: bool,
    ) -> Result<(Tensor, BTreeMap<String, f64>, f64, usize), Error> {
        let adapters = self.run_with_adapter();
        let run = Run {
            adapters: &adapters,
            dropout: if train { Some(&self.dropout) } else { None },
            no_grad: !train,
        };
        let mut metrics = BTreeMap::new();
        match (&self.config.objective, data) {
            (Objective::Sft, Dataset::Sft(ex)) => {
                let seqs: Vec<Seq> = indices
                    .iter()
                    .map(|&i| Seq {
                        ids: [ex[i].prompt.as_slice(), &ex[i].completion].concat(),
                        start: ex[i].prompt.len(),
                    })
                    .collect();
                let t = token_logps(self.model, &run, &seqs)?;
                let n = t.at.len() as f64;
                let loss = (t.logps.sum_all()?.neg()? / n)?;
                Ok((loss, metrics, n, t.tokens))
            }
            (Objective::Domain, Dataset::Text(ex)) => {
                let seqs: Vec<Seq> = indices
                    .iter()
                    .map(|&i| Seq {
                        ids: ex[i].ids.clone(),
                        start: 1,
                    })
                    .collect();
                let t = token_logps(self.model, &run, &seqs)?;
                let n = t.at.len() as f64;
                let loss = (t.logps.sum_all()?.neg()? / n)?;
                Ok((loss, metrics, n, t.tokens))
            }
            (Objective::Dpo { beta }, Dataset::Pairs(ex)) => {
                let beta = *beta;
                let b = indices.len();
                let seqs = pair_seqs(ex, indices);
                let policy = token_logps(self.model, &run, &seqs)?;
                let sums = policy.sums(None)?;
                let (pc, pr) = (sums.narrow(0, 0, b)?, sums.narrow(0, b, b)?);
                let refs = self.reference_logps(ex, indices)?;
                let dev = self.model.device();
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
                metrics.insert("rewards/chosen".into(), mean(&cr));
                metrics.insert("rewards/rejected".into(), mean(&rj));
                metrics.insert("rewards/accuracies".into(), acc);
                metrics.insert("rewards/margins".into(), mean(&margins));
                metrics.insert("logps/chosen".into(), mean(&pc.detach().to_vec1::<f32>()?));
                metrics.insert(
                    "logps/rejected".into(),
                    mean(&pr.detach().to_vec1::<f32>()?),
                );
                Ok((loss, metrics, b as f64, policy.tokens))
            }
            (Objective::Salt(w), Dataset::Pairs(ex)) => {
                let w = *w;
                let b = indices.len();
                let seqs = pair_seqs(ex, indices);
                let t = token_logps(self.model, &run, &seqs)?;
                // Per scored token: its weight and whether it is a likelihood term.
                let mut weights = Vec::with_capacity(t.at.len());
                let mut likelihood = Vec::with_capacity(t.at.len());
                let marks: Vec<Vec<Mark>> = indices
                    .iter()
                    .map(|&i| salt_marks(&ex[i].chosen, &ex[i].rejected))
                    .collect();
                for &(s, j) in &t.at {
                    let (row, is_chosen) = if s < b { (s, true) } else { (s - b, false) };
                    let k = j - seqs[s].start;
                    let mark = if is_chosen {
                        marks[row].iter().filter(|m| m.chosen).nth(k)
                    } else {
                        marks[row].iter().filter(|m| !m.chosen).nth(k)
                    };
                    let (wt, like) = match mark.map(|m| m.kind) {
                        Some(MarkKind::Kept) if is_chosen => (w.kept, true),
                        Some(MarkKind::Added) => (w.added, true),
                        Some(MarkKind::Removed) => (w.removed, false),
                        _ => (0.0, true), // rejected tokens kept in the edit: not scored
                    };
                    weights.push(wt);
                    likelihood.push(if like { 1f32 } else { 0.0 });
                }
                let dev = self.model.device();
                let n_scored = weights.iter().filter(|&&x| x > 0.0).count().max(1) as f64;
                let wt = Tensor::from_vec(weights, t.at.len(), dev)?;
                let like = Tensor::from_vec(likelihood, t.at.len(), dev)?;
                let unlike = (like.neg()? + 1.0)?;
                // −log p for likelihood tokens, −log(1 − p) for unlikelihood tokens.
                let nll = t.logps.neg()?;
                let p = t.logps.exp()?.clamp(0.0, 1.0 - 1e-6)?;
                let unl = (p.neg()? + 1.0)?.log()?.neg()?;
                let per_token = ((nll * like)? + (unl * unlike)?)?;
                let loss = ((per_token * wt)?.sum_all()? / n_scored)?;
                metrics.insert("salt/scored_tokens".into(), n_scored);
                Ok((loss, metrics, n_scored, t.tokens))
            }
            (Objective::Classify { class_weights }, Dataset::Classify { examples, .. }) => {
                let dev = self.model.device().clone();
                let views: Vec<&[u32]> = indices
                    .iter()
                    .map(|&i| examples[i].ids.as_slice())
                    .collect();
                let (logits, tokens) = classify_logits(self.model, &run, &self.adapter, &views)?;
                let labels = logits.dim(1)?;
                let targets: Vec<f32> = indices
                    .iter()
                    .flat_map(|&i| examples[i].targets.iter().copied())
                    .collect();
                let targets = Tensor::from_vec(targets, (indices.len(), labels), &dev)?;
                let pw = class_weights
                    .as_ref()
                    .map(|w| Tensor::from_vec(w.clone(), labels, &dev))
                    .transpose()?;
                let loss = bce_with_logits(&logits, &targets, pw.as_ref())?;
                Ok((loss, metrics, indices.len() as f64, tokens))
            }
            (o, _) => Err(Error::Train {
                message: format!("the data does not fit the {} objective", o.name()),
            }),
        }
    }

    /// Reference log-probs `(chosen, rejected)` per pair, computed once and cached.
    fn reference_logps(
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

    /// Adds the gradient of `part` to `grads` and frees its graph.
    fn accumulate(&self, grads: &mut [Option<Tensor>], part: &Tensor) -> Result<(), Error> {
        let g = part.backward()?;
        for (i, (_, v)) in self.optimizer.params().iter().enumerate() {
            if let Some(gi) = g.get(v.as_tensor()) {
                grads[i] = Some(match grads[i].take() {
                    Some(acc) => (acc + gi)?,
                    None => gi.clone(),
                });
            }
        }
        Ok(())
    }

    /// DPO's gradient for one micro-batch with one half of the batch in memory at a time:
    /// the rejected log-probs first without a graph, then the chosen half with its graph and
    /// backward (the loss's derivative per pair is known once both sums are), then the rejected
    /// half again with the same dropout masks. Peak memory is that of an SFT batch of the same
    /// size, for one more forward pass. Returns the loss value, figures and tokens.
    fn dpo_backward(
        &mut self,
        ex: &[data::Pair],
        indices: &[usize],
        beta: f64,
        grads: &mut [Option<Tensor>],
    ) -> Result<(f64, BTreeMap<String, f64>, usize), Error> {
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
        Ok((loss, metrics, tokens))
    }

    /// One optimizer step over `grad_accum` micro-batches starting at micro-batch `first`. Each
    /// micro-batch's graph is freed after its backward pass.
    fn step(&mut self, data: &Dataset, first: usize, lr: f64) -> Result<(StepLog, usize), Error> {
        let accum = self.config.grad_accum;
        let params: Vec<_> = self.optimizer.params().to_vec();
        let mut grads: Vec<Option<Tensor>> = vec![None; params.len()];
        // SFT-like losses are normalised by the step's token count (TRL's num_items_in_batch):
        // each micro-batch's summed loss is back-propagated and the total divided at the end.
        // The others are averaged over micro-batches.
        let token_weighted = matches!(
            self.config.objective,
            Objective::Sft | Objective::Domain | Objective::Salt(_)
        );
        let mut tokens = 0;
        let mut total_weight = 0.0;
        let mut loss_sum = 0.0;
        let mut metric_sums: BTreeMap<String, f64> = BTreeMap::new();
        for k in 0..accum {
            let idx = self.batch_indices(first + k, data.len());
            let (value, metrics, weight, t) = match (&self.config.objective, data) {
                (Objective::Dpo { beta }, Dataset::Pairs(ex)) => {
                    let beta = *beta;
                    let (v, m, t) = self.dpo_backward(ex, &idx, beta, &mut grads)?;
                    (v, m, idx.len() as f64, t)
                }
                _ => {
                    let (loss, metrics, weight, t) = self.micro_batch(data, &idx, true)?;
                    let v = loss.to_dtype(DType::F64)?.to_scalar::<f64>()?;
                    let part = if token_weighted {
                        (loss * weight)?
                    } else {
                        loss
                    };
                    self.accumulate(&mut grads, &part)?;
                    (v, metrics, weight, t)
                }
            };
            tokens += t;
            total_weight += weight;
            loss_sum += if token_weighted {
                value * weight
            } else {
                value
            };
            for (key, v) in metrics {
                *metric_sums.entry(key).or_default() += v / accum as f64;
            }
        }
        let norm = if token_weighted {
            total_weight
        } else {
            accum as f64
        };
        let grads: Vec<Tensor> = grads
            .into_iter()
            .zip(&params)
            .map(|(g, (_, v))| match g {
                Some(g) => g / norm,
                None => v.zeros_like(),
            })
            .collect::<Result<_, _>>()?;
        let (grad_norm, grads) = optim::clip(grads, self.config.max_grad_norm)?;
        self.optimizer.step(&grads, lr)?;
        Ok((
            StepLog {
                step: self.optimizer.steps(),
                loss: loss_sum / norm,
                grad_norm,
                learning_rate: lr,
                metrics: metric_sums,
            },
            tokens,
        ))
    }

    /// Held-out figures: mean loss (and the objective's figures) over `eval`, no dropout.
    pub fn evaluate(&mut self, eval: &Dataset) -> Result<BTreeMap<String, f64>, Error> {
        let bs = self.config.batch_size;
        let mut loss_sum = 0.0;
        let mut weight_sum = 0.0;
        let mut metric_sums: BTreeMap<String, f64> = BTreeMap::new();
        let mut batches = 0.0;
        let all: Vec<usize> = (0..eval.len()).collect();
        // Reference log-probs are cached by index: keep the evaluation's apart.
        let saved = std::mem::take(&mut self.ref_cache);
        for idx in all.chunks(bs) {
            let (loss, metrics, w, _) = self.micro_batch(eval, idx, false)?;
            let loss = loss.detach().to_dtype(DType::F64)?.to_scalar::<f64>()?;
            loss_sum += loss * w;
            weight_sum += w;
            batches += 1.0;
            for (k, v) in metrics {
                *metric_sums.entry(k).or_default() += v;
            }
        }
        self.ref_cache = saved;
        let mut out: BTreeMap<String, f64> = metric_sums
            .into_iter()
            .map(|(k, v)| (format!("eval_{k}"), v / batches))
            .collect();
        out.insert("eval_loss".into(), loss_sum / weight_sum.max(1e-12));
        if let Dataset::Classify { examples, .. } = eval {
            let (scores, targets) = self.classify_scores(examples)?;
            if let (_, Some(auroc)) = metrics::macro_auroc(&scores, &targets) {
                out.insert("eval_macro_auroc".into(), auroc);
            }
        }
        Ok(out)
    }

    /// Sigmoid scores and 0/1 targets of labelled examples under the current adapter.
    pub fn classify_scores(&self, examples: &[data::Labelled]) -> Result<(Scores, Targets), Error> {
        let adapters = self.run_with_adapter();
        let run = Run {
            adapters: &adapters,
            no_grad: true,
            ..Run::default()
        };
        let mut scores = Vec::with_capacity(examples.len());
        for chunk in examples.chunks(self.config.batch_size.max(1)) {
            let views: Vec<&[u32]> = chunk.iter().map(|e| e.ids.as_slice()).collect();
            let (logits, _) = classify_logits(self.model, &run, &self.adapter, &views)?;
            for row in logits.detach().to_vec2::<f32>()? {
                scores.push(
                    row.iter()
                        .map(|&x| 1.0 / (1.0 + (-(x as f64)).exp()))
                        .collect(),
                );
            }
        }
        let targets = examples
            .iter()
            .map(|e| e.targets.iter().map(|&t| t > 0.5).collect())
            .collect();
        Ok((scores, targets))
    }

    /// Trains until the step budget, early stopping or `cancelled()`; after every step calls
    /// `progress`. With `out`, writes checkpoints there every `checkpoint_every` steps, on cancel
    /// and at the end, and the final adapter + `trainer_state.json`.
    pub fn train(
        &mut self,
        train: &Dataset,
        eval: Option<&Dataset>,
        out: Option<&Path>,
        cancelled: &dyn Fn() -> bool,
        progress: &mut dyn FnMut(&Progress),
    ) -> Result<Finish, Error> {
        if train.is_empty() {
            return Err(Error::Train {
                message: "no training examples".to_owned(),
            });
        }
        let total = self.total_steps(train);
        self.state.max_steps = total;
        let started = Instant::now();
        let done_at_start = self.optimizer.steps();
        let mut finish = Finish::Completed;
        while self.optimizer.steps() < total {
            if cancelled() {
                finish = Finish::Cancelled;
                break;
            }
            let step0 = self.optimizer.steps();
            let lr =
                self.config
                    .scheduler
                    .lr(self.config.lr, step0, total, self.config.warmup_steps);
            let t0 = Instant::now();
            let (log, tokens) = self.step(train, step0 * self.config.grad_accum, lr)?;
            let dt = t0.elapsed().as_secs_f64();
            self.state.global_step = log.step;
            self.state
                .log_history
                .push(serde_json::to_value(&log).expect("log serialises"));
            let mut eval_figures = None;
            let step = log.step;
            let evaluate_now = eval.is_some()
                && self
                    .config
                    .eval_every
                    .is_some_and(|n| n > 0 && (step % n == 0 || step == total));
            if evaluate_now && let Some(eval) = eval {
                let figures = self.evaluate(eval)?;
                let l = figures["eval_loss"];
                if self.state.best_metric.is_none_or(|b| l < b) {
                    self.state.best_metric = Some(l);
                    self.state.best_global_step = Some(step);
                    self.evals_without_improvement = 0;
                } else {
                    self.evals_without_improvement += 1;
                }
                let mut row = serde_json::Map::new();
                row.insert("step".into(), step.into());
                for (k, v) in &figures {
                    row.insert(k.clone(), (*v).into());
                }
                self.state.log_history.push(serde_json::Value::Object(row));
                eval_figures = Some(figures);
            }
            let elapsed = started.elapsed().as_secs_f64();
            let done = step - done_at_start;
            let eta = elapsed / done.max(1) as f64 * (total - step) as f64;
            progress(&Progress {
                log,
                total_steps: total,
                tokens,
                tokens_per_s: tokens as f64 / dt.max(1e-9),
                elapsed_s: elapsed,
                eta_s: eta,
                eval: eval_figures,
            });
            if let Some(out) = out
                && self.config.checkpoint_every > 0
                && step % self.config.checkpoint_every == 0
                && step < total
            {
                self.save_checkpoint(out)?;
            }
            if self
                .config
                .patience
                .is_some_and(|p| self.evals_without_improvement >= p)
            {
                finish = Finish::EarlyStopped;
                break;
            }
        }
        if let Some(out) = out {
            self.save_checkpoint(out)?;
            if finish != Finish::Cancelled {
                self.adapter.save(out)?;
            }
            self.write_state(out)?;
        }
        Ok(finish)
    }

    fn write_state(&self, out: &Path) -> Result<(), Error> {
        let json = serde_json::to_string_pretty(&self.state).expect("state serialises");
        write_atomic(&out.join("trainer_state.json"), json.as_bytes())
    }

    /// Writes adapter, optimizer moments, step and RNG state to `out/checkpoint`, replacing the
    /// previous checkpoint only once the new one is complete.
    pub fn save_checkpoint(&self, out: &Path) -> Result<(), Error> {
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| Error::Io { path, source }
        };
        let dir = out.join(CHECKPOINT_DIR);
        let tmp = out.join(format!("{CHECKPOINT_DIR}.tmp"));
        let old = out.join(format!("{CHECKPOINT_DIR}.old"));
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp).map_err(io(&tmp))?;
        }
        std::fs::create_dir_all(&tmp).map_err(io(&tmp))?;
        self.adapter.save(&tmp)?;
        write_safetensors(&tmp.join("optimizer.safetensors"), &self.optimizer.state())?;
        let state = CheckpointState {
            step: self.optimizer.steps(),
            dropout_rng: self.dropout.state(),
            config: self.config.clone(),
            evals_without_improvement: self.evals_without_improvement,
        };
        let json = serde_json::to_string_pretty(&state).expect("state serialises");
        write_atomic(&tmp.join("state.json"), json.as_bytes())?;
        let trainer = serde_json::to_string_pretty(&self.state).expect("state serialises");
        write_atomic(&tmp.join("trainer_state.json"), trainer.as_bytes())?;
        if dir.exists() {
            if old.exists() {
                std::fs::remove_dir_all(&old).map_err(io(&old))?;
            }
            std::fs::rename(&dir, &old).map_err(io(&dir))?;
        }
        std::fs::rename(&tmp, &dir).map_err(io(&tmp))?;
        if old.exists() {
            std::fs::remove_dir_all(&old).map_err(io(&old))?;
        }
        self.write_state(out)
    }

    /// Restores the checkpoint in `out` (adapter weights, moments, step, RNG, log), so the run
    /// continues to the same result as one never interrupted.
    pub fn resume(&mut self, out: &Path) -> Result<usize, Error> {
        let mut dir = out.join(CHECKPOINT_DIR);
        if !dir.is_dir() {
            // Killed between the two renames of save_checkpoint.
            dir = out.join(format!("{CHECKPOINT_DIR}.old"));
        }
        if !dir.is_dir() {
            return Err(Error::Train {
                message: format!(
                    "nothing to resume: {} has no checkpoint (start without --resume)",
                    out.display()
                ),
            });
        }
        let text = std::fs::read_to_string(dir.join("state.json")).map_err(|source| Error::Io {
            path: dir.join("state.json"),
            source,
        })?;
        let state: CheckpointState = serde_json::from_str(&text).map_err(|e| Error::Train {
            message: format!("{}: {e}", dir.join("state.json").display()),
        })?;
        if state.config.objective.name() != self.config.objective.name() {
            return Err(Error::Train {
                message: format!(
                    "the checkpoint in {} is a {} run, not {}",
                    dir.display(),
                    state.config.objective.name(),
                    self.config.objective.name()
                ),
            });
        }
        let saved = Lora::load(&dir, self.model.config(), self.model.device())?;
        let saved: HashMap<String, Tensor> = saved.named_tensors()?.into_iter().collect();
        for (name, var) in self.adapter.vars() {
            let t = saved.get(&name).ok_or_else(|| Error::Tensor {
                name: name.clone(),
                message: "missing from the checkpoint's adapter".to_owned(),
            })?;
            if t.dims() != var.dims() {
                return Err(Error::Tensor {
                    name,
                    message: "the checkpoint's adapter has another shape (different --rank?)"
                        .to_owned(),
                });
            }
            var.set(&t.to_dtype(var.dtype())?)?;
        }
        let moments =
            candle_core::safetensors::load(dir.join("optimizer.safetensors"), self.model.device())?;
        self.optimizer.restore(&moments, state.step)?;
        self.dropout = Dropout::new(0);
        self.dropout.set_state(state.dropout_rng);
        self.evals_without_improvement = state.evals_without_improvement;
        let trainer =
            std::fs::read_to_string(dir.join("trainer_state.json")).map_err(|source| {
                Error::Io {
                    path: dir.join("trainer_state.json"),
                    source,
                }
            })?;
        self.state = serde_json::from_str(&trainer).map_err(|e| Error::Train {
            message: format!("{}: {e}", dir.join("trainer_state.json").display()),
        })?;
        Ok(state.step)
    }
}

/// Whether every `B` of the adapter is zero (a fresh adapter: the model as the base).
fn adapter_is_identity(lora: &Lora) -> Result<bool, Error> {
    for (name, v) in lora.vars() {
        if name.contains("lora_B") && v.abs()?.sum_all()?.to_scalar::<f32>()? != 0.0 {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Chosen sequences of the pairs, then rejected ones (TRL's concatenated batch).
fn pair_seqs(ex: &[data::Pair], indices: &[usize]) -> Vec<Seq> {
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

#[derive(Debug, Clone, Copy, PartialEq)]
enum MarkKind {
    Kept,
    Added,
    Removed,
}

/// A token of the chosen or the rejected completion and what the edit did to it.
#[derive(Debug, Clone, Copy)]
struct Mark {
    chosen: bool,
    kind: MarkKind,
}

/// Aligns rejected → chosen with a Myers diff on token ids: every chosen token is kept or
/// added, every rejected token kept or removed (kept rejected tokens are marked `Kept` too).
fn salt_marks(chosen: &[u32], rejected: &[u32]) -> Vec<Mark> {
    use similar::{Algorithm, DiffOp, capture_diff_slices};
    let mut marks = Vec::new();
    for op in capture_diff_slices(Algorithm::Myers, rejected, chosen) {
        match op {
            DiffOp::Equal { len, .. } => {
                for _ in 0..len {
                    marks.push(Mark {
                        chosen: true,
                        kind: MarkKind::Kept,
                    });
                    marks.push(Mark {
                        chosen: false,
                        kind: MarkKind::Kept,
                    });
                }
            }
            DiffOp::Delete { old_len, .. } => {
                for _ in 0..old_len {
                    marks.push(Mark {
                        chosen: false,
                        kind: MarkKind::Removed,
                    });
                }
            }
            DiffOp::Insert { new_len, .. } => {
                for _ in 0..new_len {
                    marks.push(Mark {
                        chosen: true,
                        kind: MarkKind::Added,
                    });
                }
            }
            DiffOp::Replace {
                old_len, new_len, ..
            } => {
                for _ in 0..old_len {
                    marks.push(Mark {
                        chosen: false,
                        kind: MarkKind::Removed,
                    });
                }
                for _ in 0..new_len {
                    marks.push(Mark {
                        chosen: true,
                        kind: MarkKind::Added,
                    });
                }
            }
        }
    }
    marks
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
    let (ids, t) = loss::pad(seqs, &device)?;
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

/// Where `clinitune train` writes: the adapter files, `trainer_state.json`, `checkpoint/`.
pub fn output_files(out: &Path) -> Vec<PathBuf> {
    vec![
        out.join(crate::lora::CONFIG_FILE),
        out.join(crate::lora::WEIGHTS_FILE),
        out.join("trainer_state.json"),
        out.join(CHECKPOINT_DIR),
    ]
}

#[cfg(test)]
mod tests;
