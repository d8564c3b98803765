//! Training jobs: turn a [`TrainRequest`] into a LoRA run on a local model, with progress,
//! cancellation and resumable checkpoints; describe and merge saved adapters.
//!
//! Defaults follow TRL where TRL has one: learning rate 2e-5 (SFT, SALT, domain) or 1e-6 (DPO),
//! β 0.1, batch 8, 3 epochs, AdamW β 0.9/0.999, ε 1e-8, weight decay 0, grad-norm clip 1.0,
//! linear schedule, max length 1024; LoRA as TRL's `ModelConfig`: r 16, alpha 32, dropout
//! 0.05, on q/k/v/o. Classification uses the Trainer's 5e-5.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use api::{AdapterInfo, TrainData, TrainPlan, TrainRequest, TrainStep, TrainSummary};
use tune::llama::Target;
use tune::lora::{Lora, LoraConfig};
use tune::train::data::{self, Builder, Dataset, Kind};
use tune::train::{AdamWConfig, Finish, Objective, Scheduler, TrainConfig, Trainer};

use crate::error::Error;
use crate::jobs::CancelToken;
use crate::models::{self, DeviceChoice, LoadedModel};
use crate::project::Project;

/// Reads `--device`'s value.
fn device_choice(name: Option<&str>) -> Result<DeviceChoice, Error> {
    match name.unwrap_or("cpu") {
        "cpu" => Ok(DeviceChoice::Cpu),
        "cuda" => Ok(DeviceChoice::Cuda),
        "metal" => Ok(DeviceChoice::Metal),
        "auto" => Ok(DeviceChoice::Auto),
        other => Err(Error::Invalid(format!(
            "unknown device {other:?}; use cpu, cuda, metal or auto"
        ))),
    }
}

fn objective(req: &TrainRequest) -> Result<(Objective, Kind), Error> {
    Ok(match req.objective.as_str() {
        "sft" => (Objective::Sft, Kind::Sft),
        "dpo" => (
            Objective::Dpo {
                beta: req.beta.unwrap_or(0.1),
            },
            Kind::Pairs,
        ),
        "salt" => (Objective::Salt(Default::default()), Kind::Pairs),
        "classify" => (
            Objective::Classify {
                class_weights: None,
            },
            Kind::Classify,
        ),
        "domain" => (Objective::Domain, Kind::Text),
        other => {
            return Err(Error::Invalid(format!(
                "unknown objective {other:?}; use sft, dpo, salt, classify or domain"
            )));
        }
    })
}

fn targets(names: &[String]) -> Result<Vec<Target>, Error> {
    names
        .iter()
        .map(|n| {
            Target::from_name(n.trim()).ok_or_else(|| {
                Error::Invalid(format!(
                    "unknown target {n:?}; use q_proj, k_proj, v_proj, o_proj, gate_proj, \
                     up_proj or down_proj"
                ))
            })
        })
        .collect()
}

/// Loads the training data the request names.
fn load_data(
    project: Option<&Project>,
    req: &TrainRequest,
    kind: Kind,
    builder: &Builder,
) -> Result<data::Loaded, Error> {
    match &req.data {
        Some(TrainData::File(path)) => Ok(data::read_jsonl(
            Path::new(path),
            kind,
            builder,
            req.labels.as_deref(),
        )?),
        Some(TrainData::Project) => {
            let project = project.ok_or_else(|| {
                Error::Invalid("--project: no project is open (give --project PATH)".to_owned())
            })?;
            project_data(project, req, kind, builder)
        }
        None => Err(Error::Invalid(
            "no training data: give --data FILE.jsonl or --project PATH".to_owned(),
        )),
    }
}

/// Notes of the project as training data: their text (domain) or their gold labels — document
/// labels and the span labels found in them — as multi-label targets (classify).
fn project_data(
    project: &Project,
    req: &TrainRequest,
    kind: Kind,
    builder: &Builder,
) -> Result<data::Loaded, Error> {
    let db = project.store.db();
    let ids = db.note_ids()?;
    match kind {
        Kind::Text => {
            let mut texts = Vec::with_capacity(ids.len());
            for id in ids {
                texts.push(db.note_text(id)?);
            }
            Ok(data::Loaded {
                dataset: Dataset::Text(builder.texts(&texts)?),
                skipped: vec![],
            })
        }
        Kind::Classify => {
            let gold = api::AnnotationStatus::Gold;
            let mut rows = Vec::new();
            for id in ids {
                let mut labels: std::collections::BTreeSet<String> = db
                    .doc_labels_of_note(id)?
                    .into_iter()
                    .filter(|d| d.status == gold)
                    .map(|d| d.label)
                    .collect();
                let spans = db.spans_of_note(id)?;
                let annotated = !labels.is_empty() || spans.iter().any(|s| s.status == gold);
                labels.extend(
                    spans
                        .into_iter()
                        .filter(|s| s.status == gold)
                        .map(|s| s.label),
                );
                if annotated || db.note_status(id)? == api::NoteStatus::Done {
                    rows.push((db.note_text(id)?, labels));
                }
            }
            let names: Vec<String> = match &req.labels {
                Some(l) => l.clone(),
                None => rows
                    .iter()
                    .flat_map(|(_, l)| l.iter().cloned())
                    .collect::<std::collections::BTreeSet<_>>()
                    .into_iter()
                    .collect(),
            };
            let mut examples = Vec::with_capacity(rows.len());
            for (text, labels) in rows {
                examples.push(data::Labelled {
                    ids: builder.document(&text)?,
                    targets: names
                        .iter()
                        .map(|n| if labels.contains(n) { 1.0 } else { 0.0 })
                        .collect(),
                });
            }
            if examples.is_empty() {
                return Err(Error::Invalid(
                    "the project has no annotated notes to classify; annotate some or use --data"
                        .to_owned(),
                ));
            }
            Ok(data::Loaded {
                dataset: Dataset::Classify {
                    examples,
                    labels: names,
                },
                skipped: vec![],
            })
        }
        Kind::Sft | Kind::Pairs => {
            // The review loop's pairs or SFT examples, exported as TRL JSONL beside the run and
            // read back like any --data file: the train split (all of them before a split).
            let out = Path::new(&req.out);
            std::fs::create_dir_all(out)
                .map_err(|e| Error::Invalid(format!("cannot create {}: {e}", out.display())))?;
            let format = if kind == Kind::Sft {
                api::DatasetFormat::TrlSft
            } else {
                api::DatasetFormat::TrlPreference
            };
            let export = |split: Option<api::Split>, name: &str| -> Result<(PathBuf, u64), Error> {
                let path = out.join(name);
                let summary = crate::datasets::export(
                    project,
                    &path,
                    &api::DatasetExportRequest {
                        format,
                        conversational: true,
                        split,
                    },
                )?;
                Ok((path, summary.written))
            };
            let (mut path, mut written) = export(Some(api::Split::Train), "project-train.jsonl")?;
            let mut skipped = vec![];
            if written == 0 {
                (path, written) = export(None, "project-train.jsonl")?;
                skipped.push(
                    "no examples are in the train split yet (run `clinitune pairs split`):                      training on all of them"
                        .to_owned(),
                );
            }
            if written == 0 {
                return Err(Error::Invalid(
                    "the project has no preference pairs or SFT examples yet: review some model                      outputs (`clinitune review`) or give --data FILE"
                        .to_owned(),
                ));
            }
            let mut loaded = data::read_jsonl(&path, kind, builder, None)?;
            loaded.skipped.extend(skipped);
            Ok(loaded)
        }
    }
}

/// Splits off `fraction` of the examples (at least one, never all) with a seeded shuffle.
fn hold_out(data: Dataset, fraction: f64, seed: u64) -> (Dataset, Option<Dataset>) {
    let n = data.len();
    if fraction <= 0.0 || n < 2 {
        return (data, None);
    }
    let k = ((n as f64 * fraction).round() as usize).clamp(1, n - 1);
    let mut order: Vec<usize> = (0..n).collect();
    tune::rng::Rng::new(seed ^ 0xE7A1).shuffle(&mut order);
    let (eval, train) = order.split_at(k);
    (data.subset(train), Some(data.subset(eval)))
}

/// Runs a training job: prints its plan through `on_plan`, each step through `on_step`; stops
/// at `cancel` with a checkpoint in `out` (continue with `resume`).
pub fn train(
    project: Option<&Project>,
    req: &TrainRequest,
    on_plan: &mut dyn FnMut(&TrainPlan),
    on_step: &mut dyn FnMut(&TrainStep),
    cancel: &CancelToken,
) -> Result<TrainSummary, Error> {
    let (objective, kind) = objective(req)?;
    let out = PathBuf::from(&req.out);
    if !req.resume && out.join(tune::train::CHECKPOINT_DIR).exists() {
        return Err(Error::Invalid(format!(
            "{} already holds a run; pass --resume to continue it or choose another --out",
            out.display()
        )));
    }
    let device = device_choice(req.device.as_deref())?;
    let m: LoadedModel = models::load_on(Path::new(&req.model), true, device)?;
    let (model, tokenizer) = (&m.model, &m.tokenizer);
    let dev = model.device().clone();
    let max_length = req.max_length.unwrap_or(1024);
    let builder = Builder::new(tokenizer, max_length);
    let loaded = load_data(project, req, kind, &builder)?;
    let seed = req.seed.unwrap_or(42);
    let (train_set, mut eval_set) =
        hold_out(loaded.dataset, req.eval_fraction.unwrap_or(0.0), seed);
    if let Some(path) = &req.eval_data {
        eval_set = Some(
            data::read_jsonl(
                Path::new(path),
                kind,
                &builder,
                labels_of(&train_set).as_deref(),
            )?
            .dataset,
        );
    }
    // Adapters: a frozen base (two-step method) and the trainable one, fresh or continued.
    let base = match &req.base_adapter {
        Some(dir) => vec![Lora::load(Path::new(dir), model.config(), &dev)?],
        None => vec![],
    };
    let mut adapter = match &req.init_adapter {
        Some(dir) => Lora::load(Path::new(dir), model.config(), &dev)?,
        None => {
            let names = req.targets.clone().unwrap_or_else(|| {
                ["q_proj", "k_proj", "v_proj", "o_proj"]
                    .map(str::to_owned)
                    .to_vec()
            });
            let config = LoraConfig::new(
                req.rank.unwrap_or(16),
                req.alpha.unwrap_or(32.0),
                req.dropout.unwrap_or(0.05),
                &targets(&names)?,
            );
            Lora::init(config, model.config(), seed, &dev)?
        }
    };
    if let Dataset::Classify { labels, .. } = &train_set
        && adapter.score().is_none()
    {
        adapter = adapter.with_score_head(labels.len(), model.config().hidden_size, seed, &dev)?;
    }
    adapter.config_mut().base_model_name_or_path = Some(req.model.clone());
    let default_lr = match objective {
        Objective::Dpo { .. } => 1e-6,
        Objective::Classify { .. } => 5e-5,
        _ => 2e-5,
    };
    let scheduler = match req.scheduler.as_deref().unwrap_or("linear") {
        "constant" => Scheduler::Constant,
        "linear" => Scheduler::Linear,
        "cosine" => Scheduler::Cosine,
        other => {
            return Err(Error::Invalid(format!(
                "unknown scheduler {other:?}; use constant, linear or cosine"
            )));
        }
    };
    let config = TrainConfig {
        objective,
        steps: req.steps,
        epochs: req.epochs.unwrap_or(3.0),
        lr: req.lr.unwrap_or(default_lr),
        batch_size: req.batch_size.unwrap_or(8),
        grad_accum: req.grad_accum.unwrap_or(1),
        adamw: AdamWConfig {
            weight_decay: req.weight_decay.unwrap_or(0.0),
            ..AdamWConfig::default()
        },
        max_grad_norm: req.max_grad_norm.or(Some(1.0)).filter(|&x| x > 0.0),
        scheduler,
        warmup_steps: req.warmup_steps.unwrap_or(0),
        seed,
        shuffle: true,
        eval_every: eval_set.as_ref().map(|_| req.eval_steps.unwrap_or(50)),
        patience: req.early_stopping_patience,
        checkpoint_every: req.save_steps.unwrap_or(50),
    };
    let mut trainer = Trainer::new(model, base, adapter, config.clone())?;
    let start_step = if req.resume { trainer.resume(&out)? } else { 0 };
    let mut settings: BTreeMap<String, serde_json::Value> = BTreeMap::new();
    let c = trainer.adapter().config();
    for (k, v) in [
        ("objective", serde_json::json!(req.objective)),
        ("model", serde_json::json!(req.model)),
        ("device", serde_json::json!(super::models::info(&m).device)),
        ("steps", serde_json::json!(config.steps)),
        ("epochs", serde_json::json!(config.epochs)),
        ("lr", serde_json::json!(config.lr)),
        ("batch_size", serde_json::json!(config.batch_size)),
        ("grad_accum", serde_json::json!(config.grad_accum)),
        ("weight_decay", serde_json::json!(config.adamw.weight_decay)),
        (
            "adam_betas",
            serde_json::json!([config.adamw.beta1, config.adamw.beta2]),
        ),
        ("adam_eps", serde_json::json!(config.adamw.eps)),
        ("max_grad_norm", serde_json::json!(config.max_grad_norm)),
        ("scheduler", serde_json::json!(config.scheduler)),
        ("warmup_steps", serde_json::json!(config.warmup_steps)),
        ("rank", serde_json::json!(c.r)),
        ("alpha", serde_json::json!(c.lora_alpha)),
        ("dropout", serde_json::json!(c.lora_dropout)),
        ("targets", serde_json::json!(c.target_modules)),
        ("max_length", serde_json::json!(max_length)),
        ("seed", serde_json::json!(seed)),
        ("save_steps", serde_json::json!(config.checkpoint_every)),
        ("eval_steps", serde_json::json!(config.eval_every)),
    ] {
        settings.insert(k.to_owned(), v);
    }
    if let Objective::Dpo { beta } = config.objective {
        settings.insert("beta".to_owned(), serde_json::json!(beta));
    }
    if let Some(b) = &req.base_adapter {
        settings.insert("base_adapter".to_owned(), serde_json::json!(b));
    }
    if let Some(b) = &req.init_adapter {
        settings.insert("init_adapter".to_owned(), serde_json::json!(b));
    }
    let total_steps = trainer.total_steps(&train_set);
    on_plan(&TrainPlan {
        settings,
        train_examples: train_set.len(),
        eval_examples: eval_set.as_ref().map_or(0, |e| e.len()),
        skipped: loaded.skipped,
        trainable_parameters: trainer.adapter().parameter_count(),
        total_steps,
        start_step,
    });
    tracing::info!(
        objective = %req.objective,
        examples = train_set.len(),
        steps = total_steps,
        "training"
    );
    let mut last_loss = None;
    let finish = trainer.train(
        &train_set,
        eval_set.as_ref(),
        Some(&out),
        &|| cancel.is_cancelled(),
        &mut |p| {
            last_loss = Some(p.log.loss);
            on_step(&TrainStep {
                step: p.log.step,
                total_steps: p.total_steps,
                loss: p.log.loss,
                grad_norm: p.log.grad_norm,
                learning_rate: p.log.learning_rate,
                tokens: p.tokens,
                tokens_per_s: p.tokens_per_s,
                elapsed_s: p.elapsed_s,
                eta_s: p.eta_s,
                metrics: p.log.metrics.clone(),
                eval: p.eval.clone(),
            })
        },
    )?;
    if let Dataset::Classify { labels, .. } = &train_set {
        let text = serde_json::to_string_pretty(labels).expect("labels serialise");
        tune::lora::write_atomic(&out.join("labels.json"), text.as_bytes())?;
    }
    let state = trainer.state();
    Ok(TrainSummary {
        finish: match finish {
            Finish::Completed => "completed",
            Finish::EarlyStopped => "early_stopped",
            Finish::Cancelled => "cancelled",
        }
        .to_owned(),
        global_step: state.global_step,
        final_loss: last_loss,
        out: out.display().to_string(),
        best_eval_loss: state.best_metric,
        best_step: state.best_global_step,
    })
}

fn labels_of(d: &Dataset) -> Option<Vec<String>> {
    match d {
        Dataset::Classify { labels, .. } => Some(labels.clone()),
        _ => None,
    }
}

/// Describes a saved adapter folder (any PEFT LoRA adapter, not only ours).
pub fn adapter_info(dir: &Path) -> Result<AdapterInfo, Error> {
    let config_path = dir.join(tune::lora::CONFIG_FILE);
    let text = std::fs::read_to_string(&config_path).map_err(|e| {
        Error::Invalid(format!(
            "{}: {e} (is {} a PEFT adapter folder?)",
            config_path.display(),
            dir.display()
        ))
    })?;
    let config: LoraConfig = serde_json::from_str(&text)
        .map_err(|e| Error::Invalid(format!("{}: {e}", config_path.display())))?;
    let weights = dir.join(tune::lora::WEIGHTS_FILE);
    let tensors = tune::lora::tensor_shapes(&weights)?;
    let parameters = tensors
        .iter()
        .map(|(_, s)| s.iter().product::<usize>())
        .sum();
    let labels = tensors
        .iter()
        .find(|(k, _)| k.ends_with("score.weight"))
        .map(|(_, s)| s[0]);
    let global_step = std::fs::read_to_string(dir.join("trainer_state.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v["global_step"].as_u64())
        .map(|s| s as usize);
    let target_modules = match config.targets() {
        Ok(t) => t.iter().map(|t| t.name().to_owned()).collect(),
        Err(_) => match &config.target_modules {
            tune::lora::TargetModules::List(l) => l.clone(),
            tune::lora::TargetModules::One(s) => vec![s.clone()],
        },
    };
    Ok(AdapterInfo {
        path: dir.display().to_string(),
        peft_type: config.peft_type,
        task_type: config.task_type,
        r: config.r,
        lora_alpha: config.lora_alpha,
        lora_dropout: config.lora_dropout,
        target_modules,
        base_model_name_or_path: config.base_model_name_or_path,
        parameters,
        tensors: tensors.len(),
        labels,
        global_step,
    })
}

/// Loads a model with adapters attached (bottom first). GGUF weights are dequantised, as the
/// adapters were trained on the float weights in Hugging Face's layout.
pub fn load_with_adapters(
    model: &Path,
    adapters: &[PathBuf],
    device: DeviceChoice,
) -> Result<LoadedModel, Error> {
    let mut m = models::load_on(model, !adapters.is_empty(), device)?;
    for dir in adapters {
        let dev = m.model.device().clone();
        let lora = Lora::load(dir, m.model.config(), &dev)?;
        m.model.attach(Arc::new(lora))?;
    }
    Ok(m)
}

/// Merges `adapters` into the base weights and writes a Hugging Face folder transformers
/// loads: `config.json`, `model.safetensors`, the tokenizer and `generation_config.json`.
pub fn merge(model: &Path, adapters: &[PathBuf], out: &Path) -> Result<PathBuf, Error> {
    let m = load_with_adapters(model, adapters, DeviceChoice::Cpu)?;
    std::fs::create_dir_all(out)
        .map_err(|e| Error::Invalid(format!("cannot create {}: {e}", out.display())))?;
    let tensors = m.model.merged_tensors()?;
    tune::lora::write_safetensors(&out.join("model.safetensors"), &tensors)?;
    let tok = &m.tokenizer;
    let bos = tok.bos_token().and_then(|t| tok.token_id(t));
    let eos = tok.eos_token().and_then(|t| tok.token_id(t));
    let config = m.model.config().to_hf_json(bos, eos);
    let write_json = |name: &str, v: &serde_json::Value| -> Result<(), Error> {
        let text = serde_json::to_string_pretty(v).expect("JSON serialises");
        Ok(tune::lora::write_atomic(&out.join(name), text.as_bytes())?)
    };
    write_json("config.json", &config)?;
    write_json(
        "generation_config.json",
        &serde_json::json!({"bos_token_id": bos, "eos_token_id": eos}),
    )?;
    if model.is_dir() {
        for name in [
            "tokenizer.json",
            "tokenizer_config.json",
            "special_tokens_map.json",
            "chat_template.jinja",
            "generation_config.json",
        ] {
            let from = model.join(name);
            if from.is_file() {
                let to = out.join(name);
                let bytes = std::fs::read(&from)
                    .map_err(|e| Error::Invalid(format!("cannot read {}: {e}", from.display())))?;
                tune::lora::write_atomic(&to, &bytes)?;
            }
        }
    } else {
        tok.save_hf(out)?;
    }
    Ok(out.to_owned())
}

#[cfg(test)]
mod tests;

/// Training sets made from the synthetic demo corpus's gold labels, as TRL JSONL records:
/// the social-history paragraph of each note that has one, and the SDoH it mentions.
pub struct DemoData {
    /// `{"prompt", "completion"}` (conversational): the paragraph → its SDoH list.
    pub sft: Vec<serde_json::Value>,
    /// `{"prompt", "chosen", "rejected"}`: the right list against one with a wrong category.
    pub pairs: Vec<serde_json::Value>,
    /// `{"text", "labels"}`: the paragraph and the SDoH categories it mentions.
    pub classify: Vec<serde_json::Value>,
    /// Plain-string `{"prompt", "completion"}` over the whole note (long contexts:
    /// benchmarks cut them to a fixed length).
    pub sft_long: Vec<serde_json::Value>,
    /// Plain-string `{"prompt", "chosen", "rejected"}` over the whole note.
    pub pairs_long: Vec<serde_json::Value>,
}

/// The SDoH categories of the demo corpus, in the order lists are written.
const SDOH: [&str; 6] = [
    "EMPLOYMENT",
    "HOUSING",
    "TRANSPORTATION",
    "PARENT",
    "RELATIONSHIP",
    "SUPPORT",
];

fn title(label: &str) -> String {
    let lower = label.to_lowercase();
    let mut c = lower.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

/// Builds [`DemoData`] from `notes` demo notes of corpus `seed`.
pub fn demo_data(notes: usize, seed: u64) -> DemoData {
    let mut data = DemoData {
        sft: vec![],
        pairs: vec![],
        classify: vec![],
        sft_long: vec![],
        pairs_long: vec![],
    };
    let instruction = "List the social determinants of health in this social history, one \
                       `Category: evidence` per line.";
    for note in crate::demo::generate(crate::demo::DemoConfig { notes, seed }) {
        let Some(first) = note.spans.first() else {
            continue;
        };
        // The paragraph holding the first gold span.
        let start = note.text[..first.start].rfind("\n\n").map_or(0, |i| i + 2);
        let end = note.text[first.start..]
            .find("\n\n")
            .map_or(note.text.len(), |i| first.start + i);
        let paragraph = note.text[start..end].trim();
        let spans: Vec<_> = note
            .spans
            .iter()
            .filter(|s| s.start >= start && s.end <= end)
            .collect();
        let lines: Vec<String> = spans
            .iter()
            .map(|s| format!("{}: {}", title(&s.label), &note.text[s.start..s.end]))
            .collect();
        let prompt = serde_json::json!([{
            "role": "user",
            "content": format!("{instruction}\n\n{paragraph}"),
        }]);
        let answer = |lines: &[String]| serde_json::json!([{"role": "assistant", "content": lines.join("\n")}]);
        data.sft
            .push(serde_json::json!({"prompt": prompt, "completion": answer(&lines)}));
        // Rejected: the first item filed under the next category — the kind of slip a model
        // makes and a clinician corrects.
        let wrong = SDOH
            .iter()
            .position(|l| *l == spans[0].label)
            .map_or(SDOH[0], |i| SDOH[(i + 1) % SDOH.len()]);
        let mut rejected = lines.clone();
        rejected[0] = format!(
            "{}: {}",
            title(wrong),
            &note.text[spans[0].start..spans[0].end]
        );
        data.pairs.push(serde_json::json!({
            "prompt": prompt, "chosen": answer(&lines), "rejected": answer(&rejected),
        }));
        let long_prompt = format!("{instruction}\n\n{}\n\nAnswer:\n", note.text);
        data.sft_long.push(serde_json::json!({
            "prompt": long_prompt, "completion": lines.join("\n"),
        }));
        data.pairs_long.push(serde_json::json!({
            "prompt": long_prompt, "chosen": lines.join("\n"), "rejected": rejected.join("\n"),
        }));
        let mut labels: Vec<&str> = spans.iter().map(|s| s.label.as_str()).collect();
        labels.sort();
        labels.dedup();
        data.classify
            .push(serde_json::json!({"text": paragraph, "labels": labels}));
    }
    data
}

/// Writes [`DemoData`] into `dir` as `sft.jsonl`, `pairs.jsonl`, `classify.jsonl`,
/// `sft_long.jsonl` and `pairs_long.jsonl`; returns the number of notes used.
pub fn write_demo_data(dir: &Path, notes: usize, seed: u64) -> Result<usize, Error> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::Invalid(format!("cannot create {}: {e}", dir.display())))?;
    let d = demo_data(notes, seed);
    write_jsonl(&dir.join("sft.jsonl"), &d.sft)?;
    write_jsonl(&dir.join("pairs.jsonl"), &d.pairs)?;
    write_jsonl(&dir.join("classify.jsonl"), &d.classify)?;
    write_jsonl(&dir.join("sft_long.jsonl"), &d.sft_long)?;
    write_jsonl(&dir.join("pairs_long.jsonl"), &d.pairs_long)?;
    Ok(d.sft.len())
}

/// Writes records as JSON Lines.
pub fn write_jsonl(path: &Path, records: &[serde_json::Value]) -> Result<(), Error> {
    let mut text = String::new();
    for r in records {
        text.push_str(&r.to_string());
        text.push('\n');
    }
    Ok(tune::lora::write_atomic(path, text.as_bytes())?)
}
