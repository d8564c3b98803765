//! Hand-off to a bigger engine: a run's resolved plan written as a self-contained Hugging Face
//! TRL + Accelerate job instead of trained here.
//!
//! The folder holds the TRL JSONL data (`data/`), `job.json` (the settings [`plan::resolve`]
//! chose, translated once, here, into the argument names of TRL's `SFTConfig` / `DPOConfig` and
//! transformers' `TrainingArguments`, and PEFT's `LoraConfig`), a generic `train.py` that reads
//! it, `requirements.txt` pinned to the versions our reference numbers come from,
//! `accelerate.yaml` (one GPU) and a README. SALT has no TRL trainer and is refused, as is a
//! frozen base adapter underneath (the two-step method), which one TRL script cannot stack.

use std::path::{Path, PathBuf};

use api::{
    ChatMessage, Objective, Scheduler, Split, TrainData, TrainJobExport, TrainLength, TrainRequest,
    TrainSettings,
};
use serde_json::{Value, json};

use super::plan;
use crate::error::Error;
use crate::project::Project;

/// The script the job runs (`accelerate launch … train.py`).
pub const TRAIN_SCRIPT: &str = include_str!("job/train.py");
/// The pinned Python environment: the same file `cargo xtask` builds the reference
/// virtualenv from, so a job runs on the versions our tests compare against.
pub const REQUIREMENTS: &str = include_str!("../../../../xtask/torch-requirements.txt");
/// `job.json`'s format version, checked by `train.py`.
pub const JOB_FORMAT: u64 = 1;
/// Where `train.py` writes the adapter, relative to the job folder.
pub const OUTPUT_DIR: &str = "output";

/// Resolves `request` and writes the job into `dir` (created; refused if it already holds a
/// job). `hf_model` is the base model's Hugging Face folder when the plan's model is a GGUF
/// file (TRL trains on the Hugging Face weights); without one the job is still written and its
/// script asks for the folder. The request's `out` is ignored: the adapter goes to
/// `DIR/output`.
pub fn export_job(
    project: Option<&Project>,
    request: &TrainRequest,
    dir: &Path,
    hf_model: Option<&Path>,
) -> Result<TrainJobExport, Error> {
    let mut request = request.clone();
    request.out = dir.join(OUTPUT_DIR).display().to_string();
    let settings = plan::resolve(&request)?;
    check_exportable(&settings)?;
    if dir.join("job.json").exists() {
        return Err(Error::NotExportable(format!(
            "{} already holds a job; choose an empty folder",
            dir.display()
        )));
    }
    let hf = hf_folder(&settings, hf_model)?;
    create(&dir.join("data"))?;
    let mut files = vec![];
    let data = write_data(project, &settings, dir)?;
    files.push("data/train.jsonl".to_owned());
    let eval_examples = match &settings.eval_data {
        Some(path) => {
            let n = copy_jsonl(Path::new(path), &dir.join("data/eval.jsonl"))?;
            files.push("data/eval.jsonl".to_owned());
            Some(n)
        }
        None => None,
    };
    if let Some(adapter) = &settings.init_adapter {
        copy_adapter(Path::new(adapter), &dir.join("init_adapter"))?;
        files.push("init_adapter/".to_owned());
    }
    let job = job_json(&settings, hf.as_deref(), data.labels.as_deref());
    let text = serde_json::to_string_pretty(&job).map_err(|e| {
        Error::NotExportable(format!("the job's settings could not be written: {e}"))
    })?;
    write(&dir.join("job.json"), &text)?;
    write(&dir.join("train.py"), TRAIN_SCRIPT)?;
    write(&dir.join("requirements.txt"), &requirements())?;
    write(&dir.join("accelerate.yaml"), ACCELERATE_CONFIG)?;
    write(
        &dir.join("README.md"),
        &readme(&settings, hf.as_deref(), data.examples),
    )?;
    files.extend(
        [
            "job.json",
            "train.py",
            "requirements.txt",
            "accelerate.yaml",
            "README.md",
        ]
        .map(str::to_owned),
    );
    tracing::info!(
        objective = settings.objective.name(),
        examples = data.examples,
        "exported a training job"
    );
    Ok(TrainJobExport {
        dir: dir.display().to_string(),
        files,
        examples: data.examples,
        eval_examples,
        hf_model: hf.map(|p| p.display().to_string()),
        settings,
    })
}

/// Refuses what TRL cannot run as planned.
fn check_exportable(settings: &TrainSettings) -> Result<(), Error> {
    if settings.objective == Objective::Salt {
        return Err(Error::NotExportable(
            "TRL has no SALT trainer (likelihood on kept and added tokens, unlikelihood on \
             removed ones, over aligned edit pairs); train SALT here, or export a DPO job on the \
             same pairs"
                .to_owned(),
        ));
    }
    if settings.base_adapter.is_some() {
        return Err(Error::NotExportable(
            "a frozen base adapter under the trained one (the two-step method) cannot be \
             stacked in one TRL script; merge the base adapter into the model first and export \
             the job with the merged model"
                .to_owned(),
        ));
    }
    if settings.resume {
        return Err(Error::NotExportable(
            "a resumed run continues here from its checkpoint; export a new job instead".to_owned(),
        ));
    }
    Ok(())
}

/// The Hugging Face folder TRL trains on: the one given, else the plan's model when it is one.
fn hf_folder(settings: &TrainSettings, given: Option<&Path>) -> Result<Option<PathBuf>, Error> {
    let is_hf = |p: &Path| p.join("config.json").is_file();
    let folder = match given {
        Some(p) if is_hf(p) => p.to_owned(),
        Some(p) => {
            return Err(Error::NotExportable(format!(
                "{} is not a Hugging Face model folder (it has no config.json)",
                p.display()
            )));
        }
        None if is_hf(Path::new(&settings.model)) => PathBuf::from(&settings.model),
        None => return Ok(None),
    };
    Ok(Some(std::path::absolute(&folder).unwrap_or(folder)))
}

/// `job.json`: the plan as the arguments TRL, transformers and PEFT take, plus the plan itself
/// as a record. Every value comes from `settings`; nothing is defaulted here.
pub fn job_json(
    settings: &TrainSettings,
    hf_model: Option<&Path>,
    labels: Option<&[String]>,
) -> Value {
    let s = settings;
    let mut args = serde_json::Map::new();
    let mut set = |k: &str, v: Value| {
        args.insert(k.to_owned(), v);
    };
    set("learning_rate", json!(s.lr));
    set("lr_scheduler_type", json!(scheduler_name(s.scheduler)));
    set("warmup_steps", json!(s.warmup_steps));
    set("weight_decay", json!(s.weight_decay));
    set("adam_beta1", json!(s.adam_betas[0]));
    set("adam_beta2", json!(s.adam_betas[1]));
    set("adam_epsilon", json!(s.adam_eps));
    // The Trainer clips only above 0; our "off" is no clipping.
    set("max_grad_norm", json!(s.max_grad_norm.unwrap_or(0.0)));
    set("per_device_train_batch_size", json!(s.batch_size));
    set("per_device_eval_batch_size", json!(s.batch_size));
    set("gradient_accumulation_steps", json!(s.grad_accum));
    match s.length {
        TrainLength::Steps(n) => {
            set("max_steps", json!(n));
        }
        TrainLength::Epochs(e) => {
            set("num_train_epochs", json!(e));
            set("max_steps", json!(-1));
        }
    }
    set("seed", json!(s.seed));
    set("data_seed", json!(s.seed));
    if s.save_steps > 0 {
        set("save_strategy", json!("steps"));
        set("save_steps", json!(s.save_steps));
    } else {
        set("save_strategy", json!("no"));
    }
    match s.eval_steps {
        Some(n) => {
            set("eval_strategy", json!("steps"));
            set("eval_steps", json!(n));
        }
        None => set("eval_strategy", json!("no")),
    }
    // The plan trains in float32 (TRL's configs default to bf16).
    set("bf16", json!(false));
    set("fp16", json!(false));
    set("logging_steps", json!(1));
    set("report_to", json!("none"));
    match s.objective {
        Objective::Sft => {
            set("max_length", json!(s.max_length));
            set("packing", json!(false));
        }
        Objective::Domain => {
            set("max_length", json!(s.max_length));
            set("dataset_text_field", json!("text"));
            set("packing", json!(true));
        }
        Objective::Dpo => {
            set("max_length", json!(s.max_length));
            set("beta", json!(s.beta.unwrap_or(plan::DEFAULT_BETA)));
        }
        Objective::Classify | Objective::Salt => {}
    }
    let task_type = match s.objective {
        Objective::Classify => "SEQ_CLS",
        _ => "CAUSAL_LM",
    };
    json!({
        "format": JOB_FORMAT,
        "objective": s.objective.name(),
        "model": hf_model.map(|p| p.display().to_string()),
        "model_used_here": s.model,
        "train_file": "data/train.jsonl",
        "eval_file": s.eval_data.as_ref().map(|_| "data/eval.jsonl"),
        "eval_fraction": s.eval_fraction,
        "early_stopping_patience": s.early_stopping_patience,
        "output_dir": OUTPUT_DIR,
        "init_adapter": s.init_adapter.as_ref().map(|_| "init_adapter"),
        "labels": labels.map(<[String]>::to_vec).or_else(|| s.labels.clone()),
        "max_length": s.max_length,
        "lora": {
            "r": s.lora.rank,
            "lora_alpha": s.lora.alpha,
            "lora_dropout": s.lora.dropout,
            "target_modules": s.lora.targets.iter().map(|t| t.name()).collect::<Vec<_>>(),
            "bias": "none",
            "task_type": task_type,
        },
        "args": args,
        "settings": s,
    })
}

/// transformers' `lr_scheduler_type` for a schedule: each warms up linearly over
/// `warmup_steps` first, as ours do.
fn scheduler_name(s: Scheduler) -> &'static str {
    match s {
        Scheduler::Constant => "constant_with_warmup",
        Scheduler::Linear => "linear",
        Scheduler::Cosine => "cosine",
    }
}

/// What was written as training data.
struct Written {
    examples: u64,
    /// The classification labels in head order, when the project chose them.
    labels: Option<Vec<String>>,
}

/// Writes `data/train.jsonl`: the given file as it is, or the project's rows as TRL reads them.
fn write_data(
    project: Option<&Project>,
    settings: &TrainSettings,
    dir: &Path,
) -> Result<Written, Error> {
    let out = dir.join("data/train.jsonl");
    let project = match &settings.data {
        TrainData::File(path) => {
            let examples = copy_jsonl(Path::new(path), &out)?;
            return Ok(Written {
                examples,
                labels: None,
            });
        }
        TrainData::Project => project.ok_or(Error::NoTrainingData)?,
    };
    let mut labels = None;
    let records: Vec<Value> = match settings.objective {
        Objective::Sft => {
            let split = train_split(crate::datasets::sft_examples(project, Some(Split::Train))?);
            crate::datasets::sft_examples(project, split)?
                .iter()
                .map(|e| {
                    json!({
                        "prompt": prompt(&e.prompt_messages, &e.prompt),
                        "completion": [assistant(&e.completion)],
                    })
                })
                .collect()
        }
        Objective::Dpo => {
            let split = train_split(crate::datasets::pairs(project, Some(Split::Train))?);
            crate::datasets::pairs(project, split)?
                .iter()
                .map(|p| {
                    json!({
                        "prompt": prompt(&p.prompt_messages, &p.prompt),
                        "chosen": [assistant(&p.chosen)],
                        "rejected": [assistant(&p.rejected)],
                    })
                })
                .collect()
        }
        Objective::Domain => {
            let db = project.store.db();
            let mut texts = vec![];
            for id in db.note_ids()? {
                texts.push(json!({ "text": db.note_text(id)? }));
            }
            texts
        }
        Objective::Classify => {
            let db = project.store.db();
            let mut rows = vec![];
            for id in db.note_ids()? {
                if let Some(found) = super::gold_labels(&db, id)? {
                    rows.push(json!({ "text": db.note_text(id)?, "labels": found }));
                }
            }
            let names: std::collections::BTreeSet<String> = rows
                .iter()
                .flat_map(|r| r["labels"].as_array().cloned().unwrap_or_default())
                .filter_map(|l| l.as_str().map(str::to_owned))
                .collect();
            labels = Some(
                settings
                    .labels
                    .clone()
                    .unwrap_or_else(|| names.into_iter().collect()),
            );
            rows
        }
        Objective::Salt => vec![],
    };
    if records.is_empty() {
        return Err(Error::NothingToTrain {
            what: match settings.objective {
                Objective::Sft => "SFT examples",
                Objective::Dpo => "preference pairs",
                Objective::Domain => "notes",
                _ => "annotated notes",
            },
        });
    }
    super::write_jsonl(&out, &records)?;
    Ok(Written {
        examples: records.len() as u64,
        labels,
    })
}

/// The train split when it has rows, else every row (as a run here trains).
fn train_split<T>(in_train: Vec<T>) -> Option<Split> {
    (!in_train.is_empty()).then_some(Split::Train)
}

fn prompt(messages: &Option<Vec<ChatMessage>>, prompt: &str) -> Vec<Value> {
    match messages {
        Some(m) if !m.is_empty() => m
            .iter()
            .map(|m| json!({ "role": m.role, "content": m.content }))
            .collect(),
        _ => vec![json!({ "role": "user", "content": prompt })],
    }
}

fn assistant(content: &str) -> Value {
    json!({ "role": "assistant", "content": content })
}

/// Copies a JSONL file; returns its number of non-blank lines.
fn copy_jsonl(from: &Path, to: &Path) -> Result<u64, Error> {
    let text = std::fs::read_to_string(from).map_err(|source| Error::Io {
        action: "read",
        path: from.to_owned(),
        source,
    })?;
    write(to, &text)?;
    Ok(text.lines().filter(|l| !l.trim().is_empty()).count() as u64)
}

/// Copies a PEFT adapter's two files (the job continues training it).
fn copy_adapter(from: &Path, to: &Path) -> Result<(), Error> {
    create(to)?;
    for name in [tune::lora::CONFIG_FILE, "adapter_model.safetensors"] {
        std::fs::copy(from.join(name), to.join(name)).map_err(|source| Error::Io {
            action: "read",
            path: from.join(name),
            source,
        })?;
    }
    Ok(())
}

fn create(dir: &Path) -> Result<(), Error> {
    std::fs::create_dir_all(dir).map_err(|source| Error::Io {
        action: "create",
        path: dir.to_owned(),
        source,
    })
}

fn write(path: &Path, text: &str) -> Result<(), Error> {
    tune::lora::write_atomic(path, text.as_bytes()).map_err(super::run::writing)
}

/// `requirements.txt`: the pins of the reference environment, without its comments.
fn requirements() -> String {
    let mut out = String::from(
        "# The versions Clinitune's PEFT and TRL reference numbers were made with.\n\
         # Install: python -m venv .venv && .venv/bin/pip install -r requirements.txt\n\
         # (on a GPU node, install the torch wheel for its CUDA version first if needed).\n",
    );
    for line in REQUIREMENTS.lines() {
        let line = line.trim();
        if !line.is_empty() && !line.starts_with('#') {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// One process on one GPU (or the CPU when there is none); the README shows the multi-GPU,
/// DeepSpeed and FSDP variants.
const ACCELERATE_CONFIG: &str = "\
# Accelerate config for train.py: one process, one GPU (the CPU when there is none).
# `accelerate launch --config_file accelerate.yaml train.py`
compute_environment: LOCAL_MACHINE
distributed_type: 'NO'
num_machines: 1
num_processes: 1
machine_rank: 0
mixed_precision: 'no'
use_cpu: false
# Several GPUs on one node (data parallel): replace the two lines above
#   distributed_type: 'NO'
#   num_processes: 1
# with
#   distributed_type: MULTI_GPU
#   num_processes: 4          # one per GPU
# DeepSpeed ZeRO and FSDP: see README.md.
";

fn readme(settings: &TrainSettings, hf: Option<&Path>, examples: u64) -> String {
    let s = settings;
    let trainer = match s.objective {
        Objective::Sft => "TRL's `SFTTrainer` (loss on the completion)",
        Objective::Domain => "TRL's `SFTTrainer` on plain text (causal LM, packed)",
        Objective::Dpo => {
            "TRL's `DPOTrainer` (sigmoid loss; the reference is the model with the adapter switched off)"
        }
        Objective::Classify => {
            "transformers' `Trainer` with `AutoModelForSequenceClassification` (multi-label, BCE) and a PEFT LoRA adapter"
        }
        Objective::Salt => "",
    };
    let model = match hf {
        Some(p) => format!("`{}` (a Hugging Face folder)", p.display()),
        None => format!(
            "none yet: this job was made from `{}`, a GGUF file, and TRL trains on the Hugging \
             Face weights. Pass the same model's Hugging Face folder: `train.py --model \
             HF_FOLDER` (or set `\"model\"` in `job.json`); the script stops with this message \
             until then",
            s.model
        ),
    };
    let length = match s.length {
        TrainLength::Steps(n) => format!("{n} optimizer steps"),
        TrainLength::Epochs(e) => format!("{e} epochs"),
    };
    let classify_note = if s.objective == Objective::Classify {
        "\n`labels.json` (the label names in head order) is written beside the adapter, as \
         `clinitune predict` reads it.\n"
    } else {
        ""
    };
    format!(
        "# Clinitune training job: {objective}\n\
         \n\
         Made by `clinitune train {objective} … --export-job`: the run Clinitune planned, handed \
         to Hugging Face TRL and Accelerate to train on a bigger machine. It trains with \
         {trainer}.\n\
         \n\
         - Base model: {model}.\n\
         - Data: `data/train.jsonl`, {examples} examples (TRL JSONL).\n\
         - Length: {length}; batch {batch} × {accum} accumulation per device; lr {lr} \
         ({scheduler}, {warmup} warm-up steps); seed {seed}.\n\
         - LoRA: r {r}, alpha {alpha}, dropout {dropout}, on {targets}.\n\
         \n\
         Every setting is in `job.json`: `args` go unchanged to TRL's config (transformers' \
         `TrainingArguments` for classification), `lora` to PEFT's `LoraConfig`, and \
         `settings` is Clinitune's resolved plan, for the record. Edit `job.json`, not \
         `train.py`, to change a setting.\n\
         \n\
         ## Run\n\
         \n\
         ```sh\n\
         python -m venv .venv && . .venv/bin/activate\n\
         pip install -r requirements.txt\n\
         accelerate launch --config_file accelerate.yaml train.py\n\
         ```\n\
         \n\
         `train.py --max-steps 1` is a quick check that everything loads; `--output-dir DIR` \
         writes elsewhere; `--model HF_FOLDER` points at the base model where it lives on this \
         machine.\n\
         \n\
         ### Several GPUs, DeepSpeed, FSDP\n\
         \n\
         `accelerate.yaml` runs one process. For data parallelism over the GPUs of one node, \
         set `distributed_type: MULTI_GPU` and `num_processes` to the number of GPUs (the \
         commented lines in the file); the batch in `job.json` is per device, so the effective \
         batch grows with the GPUs: divide `gradient_accumulation_steps` to keep the plan's. \
         For DeepSpeed ZeRO (install `deepspeed`):\n\
         \n\
         ```yaml\n\
         distributed_type: DEEPSPEED\n\
         num_processes: 4\n\
         deepspeed_config:\n\
         \x20 zero_stage: 2\n\
         \x20 gradient_accumulation_steps: {accum}\n\
         \x20 offload_optimizer_device: none\n\
         ```\n\
         \n\
         For PyTorch FSDP:\n\
         \n\
         ```yaml\n\
         distributed_type: FSDP\n\
         num_processes: 4\n\
         fsdp_config:\n\
         \x20 fsdp_version: 2\n\
         \x20 fsdp_auto_wrap_policy: TRANSFORMER_BASED_WRAP\n\
         \x20 fsdp_transformer_layer_cls_to_wrap: LlamaDecoderLayer\n\
         \x20 fsdp_state_dict_type: FULL_STATE_DICT\n\
         ```\n\
         \n\
         `accelerate config` writes such a file interactively. A bigger GPU trains faster in \
         bf16: set `\"bf16\": true` in `args` (the plan trains in float32).\n\
         \n\
         ## What comes out\n\
         \n\
         `output/` holds the PEFT adapter (`adapter_config.json`, `adapter_model.safetensors`), \
         the Trainer's checkpoints, and `trl_args.json`, every argument the trainer ran with (a DPO \
         job that continues an adapter also leaves `ref/`, TRL's frozen copy of the starting \
         adapter, its reference model).\n\
         {classify_note}\n\
         ## Back in Clinitune\n\
         \n\
         ```sh\n\
         clinitune adapter info output\n\
         clinitune generate --model BASE --adapter output --chat --prompt \"...\"\n\
         clinitune logits --model BASE --adapter output --prompt \"...\"\n\
         clinitune predict --model BASE --adapter output --split test   # a classify job\n\
         ```\n\
         \n\
         `BASE` is the model the job was made from (`{used}`), a Hugging Face folder or the \
         GGUF file of the same weights. Evaluate the adapter as one trained here: \
         generate over the held-out notes with `clinitune run … --adapter output`, review, and \
         score with `clinitune eval metrics`.\n",
        objective = s.objective.name(),
        batch = s.batch_size,
        accum = s.grad_accum,
        lr = s.lr,
        scheduler = s.scheduler.name(),
        warmup = s.warmup_steps,
        seed = s.seed,
        r = s.lora.rank,
        alpha = s.lora.alpha,
        dropout = s.lora.dropout,
        targets = s
            .lora
            .targets
            .iter()
            .map(|t| t.name())
            .collect::<Vec<_>>()
            .join(", "),
        used = s.model,
    )
}

#[cfg(test)]
mod tests;
