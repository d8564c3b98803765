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
//! One module per objective computes its micro-batch loss: `sft`, `domain`, `dpo`, `salt`
//! (sequence-alignment likelihood/unlikelihood on edit pairs) and `classify`.

mod classify;
pub mod data;
mod domain;
mod dpo;
pub mod loss;
pub mod metrics;
pub mod optim;
mod salt;
mod sft;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Instant;

use candle_core::{DType, Tensor};
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::llama::{Dropout, Llama, Run};
use crate::lora::{Lora, write_atomic, write_safetensors};
use crate::rng::Rng;
pub use classify::{classify_logits, classify_probabilities};
use data::Dataset;
#[cfg(test)]
use loss::bce_with_logits;
pub use optim::{AdamW, AdamWConfig, Scheduler};

/// Weights of the three kinds of tokens in SALT: kept and added tokens of the edit
/// (likelihood), tokens the edit removed from the output (unlikelihood).
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

/// Settings of a run. The defaults are TRL's (`SFTConfig`'s): the values a run takes when a
/// request leaves them unset (`studio::training::plan` reads them from here).
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
            epochs: 3.0,
            lr: 2e-5,
            batch_size: 8,
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

/// One micro-batch's result: what every objective's module returns.
struct MicroBatch {
    /// The loss to differentiate: the mean over the batch's scoring units.
    loss: Tensor,
    /// The objective's figures, named as TRL names them.
    metrics: BTreeMap<String, f64>,
    /// The batch's scoring weight: scored tokens (SFT, domain, SALT) or examples.
    weight: f64,
    /// Tokens run through the model.
    tokens: usize,
}

/// A micro-batch whose gradient is already in the step's sum (DPO's halves), or any
/// micro-batch once back-propagated: its loss value and figures.
struct Accumulated {
    /// The loss value.
    loss: f64,
    /// The objective's figures.
    metrics: BTreeMap<String, f64>,
    /// Scoring weight, as [`MicroBatch::weight`].
    weight: f64,
    /// Tokens run through the model.
    tokens: usize,
}

/// The objective with its examples, checked to fit each other once, when a run or an
/// evaluation starts: past that point no objective can meet the wrong kind of data.
enum Task<'d> {
    /// SFT on completions.
    Sft(&'d [data::Completion]),
    /// Causal LM on raw-text chunks.
    Domain(&'d [data::Text]),
    /// DPO on preference pairs.
    Dpo { beta: f64, pairs: &'d [data::Pair] },
    /// SALT on edit pairs.
    Salt {
        weights: SaltWeights,
        pairs: &'d [data::Pair],
    },
    /// Classification of labelled documents.
    Classify {
        class_weights: Option<Vec<f32>>,
        examples: &'d [data::Labelled],
    },
}

impl<'d> Task<'d> {
    /// `objective` over `data`, or an error when the data is for another objective.
    fn new(objective: &Objective, data: &'d Dataset) -> Result<Task<'d>, Error> {
        Ok(match (objective, data) {
            (Objective::Sft, Dataset::Sft(ex)) => Task::Sft(ex),
            (Objective::Domain, Dataset::Text(ex)) => Task::Domain(ex),
            (Objective::Dpo { beta }, Dataset::Pairs(pairs)) => Task::Dpo { beta: *beta, pairs },
            (Objective::Salt(weights), Dataset::Pairs(pairs)) => Task::Salt {
                weights: *weights,
                pairs,
            },
            (Objective::Classify { class_weights }, Dataset::Classify { examples, .. }) => {
                Task::Classify {
                    class_weights: class_weights.clone(),
                    examples,
                }
            }
            (o, _) => {
                return Err(Error::Train {
                    message: format!("the data does not fit the {} objective", o.name()),
                });
            }
        })
    }

    /// Whether the loss is normalised by the step's scored tokens (TRL's
    /// `num_items_in_batch`) rather than averaged over micro-batches.
    fn token_weighted(&self) -> bool {
        matches!(self, Task::Sft(_) | Task::Domain(_) | Task::Salt { .. })
    }
}

/// Per-example, per-label probabilities.
pub type Scores = Vec<Vec<f64>>;
/// Per-example, per-label 0/1 targets.
pub type Targets = Vec<Vec<bool>>;

/// The name of the checkpoint folder inside the output folder.
pub const CHECKPOINT_DIR: &str = "checkpoint";

/// Whether `out` holds a checkpoint `Trainer::resume` continues from: `checkpoint/`, or
/// `checkpoint.old/` alone when a run was killed between the two renames that replace it.
pub fn has_checkpoint(out: &Path) -> bool {
    out.join(CHECKPOINT_DIR).is_dir() || out.join(format!("{CHECKPOINT_DIR}.old")).is_dir()
}

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
                message: "the batch size and the gradient accumulation must be at least 1"
                    .to_owned(),
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

    /// One micro-batch of `task`: its loss (a tensor to differentiate), figures, scoring
    /// weight and tokens. With `train`, dropout is on and the graph is kept.
    fn micro_batch(
        &mut self,
        task: &Task,
        indices: &[usize],
        train: bool,
    ) -> Result<MicroBatch, Error> {
        let adapters = self.run_with_adapter();
        let run = Run {
            adapters: &adapters,
            dropout: if train { Some(&self.dropout) } else { None },
            no_grad: !train,
        };
        match task {
            Task::Sft(ex) => sft::micro_batch(self.model, &run, ex, indices),
            Task::Domain(ex) => domain::micro_batch(self.model, &run, ex, indices),
            Task::Salt { weights, pairs } => {
                salt::micro_batch(self.model, &run, pairs, indices, *weights)
            }
            Task::Classify {
                class_weights,
                examples,
            } => classify::micro_batch(
                self.model,
                &run,
                &self.adapter,
                examples,
                indices,
                class_weights.as_deref(),
            ),
            Task::Dpo { beta, pairs } => {
                let policy = dpo::policy(self.model, &run, pairs, indices)?;
                let refs = self.reference_logps(pairs, indices)?;
                dpo::micro_batch(&policy, &refs, *beta)
            }
        }
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

    /// One optimizer step over `grad_accum` micro-batches starting at micro-batch `first`. Each
    /// micro-batch's graph is freed after its backward pass.
    fn step(
        &mut self,
        task: &Task,
        examples: usize,
        first: usize,
        lr: f64,
    ) -> Result<(StepLog, usize), Error> {
        let accum = self.config.grad_accum;
        let params: Vec<_> = self.optimizer.params().to_vec();
        let mut grads: Vec<Option<Tensor>> = vec![None; params.len()];
        // SFT-like losses are normalised by the step's token count (TRL's num_items_in_batch):
        // each micro-batch's summed loss is back-propagated and the total divided at the end.
        // The others are averaged over micro-batches.
        let token_weighted = task.token_weighted();
        let mut tokens = 0;
        let mut total_weight = 0.0;
        let mut loss_sum = 0.0;
        let mut metric_sums: BTreeMap<String, f64> = BTreeMap::new();
        for k in 0..accum {
            let idx = self.batch_indices(first + k, examples);
            let done = match task {
                Task::Dpo { beta, pairs } => self.dpo_backward(pairs, &idx, *beta, &mut grads)?,
                _ => {
                    let batch = self.micro_batch(task, &idx, true)?;
                    let loss = batch.loss.to_dtype(DType::F64)?.to_scalar::<f64>()?;
                    let part = if token_weighted {
                        (batch.loss * batch.weight)?
                    } else {
                        batch.loss
                    };
                    self.accumulate(&mut grads, &part)?;
                    Accumulated {
                        loss,
                        metrics: batch.metrics,
                        weight: batch.weight,
                        tokens: batch.tokens,
                    }
                }
            };
            tokens += done.tokens;
            total_weight += done.weight;
            loss_sum += if token_weighted {
                done.loss * done.weight
            } else {
                done.loss
            };
            for (key, v) in done.metrics {
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
        let task = Task::new(&self.config.objective, eval)?;
        let saved = std::mem::take(&mut self.ref_cache);
        for idx in all.chunks(bs) {
            let batch = self.micro_batch(&task, idx, false)?;
            let loss = batch
                .loss
                .detach()
                .to_dtype(DType::F64)?
                .to_scalar::<f64>()?;
            loss_sum += loss * batch.weight;
            weight_sum += batch.weight;
            batches += 1.0;
            for (k, v) in batch.metrics {
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
        let views: Vec<&[u32]> = examples.iter().map(|e| e.ids.as_slice()).collect();
        let scores = classify_probabilities(
            self.model,
            &adapters,
            &self.adapter,
            &views,
            self.config.batch_size,
        )?;
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
        let task = Task::new(&self.config.objective, train)?;
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
            let (log, tokens) =
                self.step(&task, train.len(), step0 * self.config.grad_accum, lr)?;
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
                    "nothing to resume: {} has no checkpoint (start a new run instead)",
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
                    message: "the checkpoint's adapter has another shape (a different rank?)"
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
