//! A project's training runs as the app sees them: the runs folder beside the project file,
//! one numbered folder per run, read back into [`TrainRun`]s (settings, status, log) so that
//! the Train page can list, chart and resume them; what each objective would train on; and a
//! rough forecast of a run's memory and time before it starts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use api::{
    Device, DeviceOption, Objective, RunStatus, Split, TrainData, TrainDataSize, TrainEstimate,
    TrainLength, TrainRequest, TrainRun, TrainSettings, TrainStep,
};

use super::plan;
use super::run::{PLAN_FILE, RUNNING_FILE};
use crate::error::Error;
use crate::project::Project;

/// The adapter file a finished run leaves (PEFT's name).
const ADAPTER_FILE: &str = "adapter_model.safetensors";
/// The Trainer's state file.
const STATE_FILE: &str = "trainer_state.json";

/// The folder a project's runs go to: `NAME-runs` beside `NAME.clinitune`.
pub fn runs_folder(project_file: &Path) -> PathBuf {
    let stem = project_file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "project".to_owned());
    project_file.with_file_name(format!("{stem}-runs"))
}

/// Makes the folder for a new run (`004-dpo`: one more than the highest number there).
pub fn new_run(project_file: &Path, objective: Objective) -> Result<PathBuf, Error> {
    let folder = runs_folder(project_file);
    std::fs::create_dir_all(&folder).map_err(|source| Error::Io {
        action: "create",
        path: folder.clone(),
        source,
    })?;
    let highest = run_dirs(&folder)?
        .iter()
        .filter_map(|d| number(d))
        .max()
        .unwrap_or(0);
    // Another window may take the same number between listing and creating: try the next.
    for n in highest + 1..highest + 100 {
        let dir = folder.join(format!("{n:03}-{}", objective.name()));
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(source) => {
                return Err(Error::Io {
                    action: "create",
                    path: dir,
                    source,
                });
            }
        }
    }
    Err(Error::Invalid(format!(
        "no free run number in {}",
        folder.display()
    )))
}

/// The leading number of a run folder's name.
fn number(dir: &Path) -> Option<u32> {
    let name = dir.file_name()?.to_str()?;
    name.split('-').next()?.parse().ok()
}

/// The run folders in `folder` (none when it does not exist yet).
fn run_dirs(folder: &Path) -> Result<Vec<PathBuf>, Error> {
    let entries = match std::fs::read_dir(folder) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
        Err(source) => {
            return Err(Error::Io {
                action: "read",
                path: folder.to_owned(),
                source,
            });
        }
    };
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .filter(|p| number(p).is_some())
        .collect();
    dirs.sort();
    Ok(dirs)
}

/// The runs in `folder`, newest (highest number) first. A run whose files cannot be read is
/// still listed, with what could be read.
pub fn list(folder: &Path) -> Result<Vec<TrainRun>, Error> {
    let mut runs: Vec<TrainRun> = run_dirs(folder)?.iter().map(|d| read(d)).collect();
    runs.reverse();
    Ok(runs)
}

/// One run read from its folder.
pub fn read(dir: &Path) -> TrainRun {
    let settings = read_json::<TrainSettings>(&dir.join(PLAN_FILE));
    let checkpoint = dir.join(tune::train::CHECKPOINT_DIR);
    let has_checkpoint = tune::train::has_checkpoint(dir);
    // The root state is written when a run ends (completed or cancelled); a run killed on
    // the way has only its checkpoint's.
    // The root state is rewritten with every checkpoint; a killed run has only those.
    let state = read_json::<tune::train::TrainerState>(&dir.join(STATE_FILE))
        .or_else(|| read_json(&checkpoint.join(STATE_FILE)))
        .or_else(|| read_json(&dir.join("checkpoint.old").join(STATE_FILE)))
        .unwrap_or_default();
    let trainer = std::fs::read_to_string(dir.join(RUNNING_FILE))
        .ok()
        .map(|pid| pid.trim().parse::<u32>().ok());
    let status = match trainer {
        Some(Some(pid)) if alive(pid) => RunStatus::Running,
        Some(_) if has_checkpoint => RunStatus::Interrupted,
        Some(_) => RunStatus::Empty,
        None if dir.join(ADAPTER_FILE).is_file() => {
            if state.max_steps > 0 && state.global_step < state.max_steps {
                RunStatus::EarlyStopped
            } else {
                RunStatus::Completed
            }
        }
        None if has_checkpoint => RunStatus::Cancelled,
        None => RunStatus::Empty,
    };
    let log = steps_from_log(&state.log_history, state.max_steps);
    let modified_s = std::fs::metadata(dir.join(STATE_FILE))
        .or_else(|_| std::fs::metadata(checkpoint.join(STATE_FILE)))
        .or_else(|_| std::fs::metadata(dir))
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs());
    TrainRun {
        name: dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        path: dir.display().to_string(),
        status,
        settings,
        global_step: state.global_step,
        max_steps: state.max_steps,
        final_loss: log.last().map(|s| s.loss),
        best_eval_loss: state.best_metric,
        modified_s,
        log,
    }
}

/// Whether process `pid` is this one or still runs (Linux; elsewhere only this one is known).
/// A killed process whose parent has not reaped it yet is a zombie: not running.
fn alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // `pid (name) S …`: the state follows the last ')' (the name may hold one).
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next());
    !matches!(state, None | Some("Z") | Some("X"))
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Option<T> {
    let text = std::fs::read_to_string(path).ok()?;
    serde_json::from_str(&text).ok()
}

/// `trainer_state.json`'s `log_history` as steps: each training row becomes a step, and an
/// evaluation row (`eval_*` keys) is attached to the step it followed.
pub fn steps_from_log(rows: &[serde_json::Value], total_steps: usize) -> Vec<TrainStep> {
    let mut steps: Vec<TrainStep> = Vec::new();
    for row in rows {
        let Some(map) = row.as_object() else { continue };
        let number = |k: &str| map.get(k).and_then(serde_json::Value::as_f64);
        let Some(step) = map.get("step").and_then(serde_json::Value::as_u64) else {
            continue;
        };
        let step = step as usize;
        let figures = |keep: &dyn Fn(&str) -> bool| -> BTreeMap<String, f64> {
            map.iter()
                .filter(|(k, _)| keep(k))
                .filter_map(|(k, v)| Some((k.clone(), v.as_f64()?)))
                .collect()
        };
        if let Some(loss) = number("loss") {
            steps.push(TrainStep {
                step,
                total_steps,
                loss,
                grad_norm: number("grad_norm").unwrap_or(0.0),
                learning_rate: number("learning_rate").unwrap_or(0.0),
                tokens: 0,
                tokens_per_s: 0.0,
                elapsed_s: 0.0,
                eta_s: 0.0,
                metrics: figures(&|k| {
                    !matches!(k, "step" | "loss" | "grad_norm" | "learning_rate" | "epoch")
                }),
                eval: None,
            });
        } else if map.keys().any(|k| k.starts_with("eval_"))
            && let Some(last) = steps.iter_mut().rev().find(|s| s.step == step)
        {
            last.eval = Some(figures(&|k| k.starts_with("eval_")));
        }
    }
    steps
}

/// The request that continues a cancelled or interrupted run with the settings it started
/// with.
pub fn resume_request(dir: &Path) -> Result<TrainRequest, Error> {
    let path = dir.join(PLAN_FILE);
    let text = std::fs::read_to_string(&path).map_err(|source| Error::Io {
        action: "read",
        path: path.clone(),
        source,
    })?;
    let settings: TrainSettings = serde_json::from_str(&text).map_err(|e| {
        Error::Invalid(format!(
            "{} is not a run's settings file ({e})",
            path.display()
        ))
    })?;
    let mut request = settings.to_request();
    request.resume = true;
    Ok(request)
}

/// The settings each objective gets when the page changes nothing, for `model`.
pub fn defaults(model: &str, out: &str) -> Vec<TrainSettings> {
    Objective::ALL
        .iter()
        .filter_map(|&objective| {
            plan::resolve(&TrainRequest {
                objective,
                model: model.to_owned(),
                data: Some(TrainData::Project),
                out: out.to_owned(),
                ..TrainRequest::default()
            })
            .ok()
        })
        .collect()
}

/// How many of the project's examples each objective would train on.
pub fn data_sizes(project: &Project) -> Result<Vec<TrainDataSize>, Error> {
    let train = Some(Split::Train);
    let (mut sft, mut sft_what) = (
        crate::datasets::sft_examples(project, train)?.len(),
        "SFT examples of the train split",
    );
    if sft == 0 {
        sft = crate::datasets::sft_examples(project, None)?.len();
        sft_what = "SFT examples (no train split yet: all of them)";
    }
    let (mut pairs, mut pairs_what) = (
        crate::datasets::pairs(project, train)?.len(),
        "preference pairs of the train split",
    );
    if pairs == 0 {
        pairs = crate::datasets::pairs(project, None)?.len();
        pairs_what = "preference pairs (no train split yet: all of them)";
    }
    let db = project.store.db();
    let ids = db.note_ids()?;
    let gold = api::AnnotationStatus::Gold;
    let mut annotated = 0;
    for &id in &ids {
        let labelled = db.doc_labels_of_note(id)?.iter().any(|d| d.status == gold)
            || db.spans_of_note(id)?.iter().any(|s| s.status == gold)
            || db.note_status(id)? == api::NoteStatus::Done;
        annotated += usize::from(labelled);
    }
    let size = |objective, examples, what: &str| TrainDataSize {
        objective,
        examples,
        what: what.to_owned(),
    };
    Ok(vec![
        size(Objective::Sft, sft, sft_what),
        size(Objective::Dpo, pairs, pairs_what),
        size(Objective::Salt, pairs, pairs_what),
        size(
            Objective::Classify,
            annotated,
            "notes with gold labels or marked done",
        ),
        size(Objective::Domain, ids.len(), "notes"),
    ])
}

/// The devices this build includes, and whether each can be opened here.
pub fn devices() -> Vec<DeviceOption> {
    let built = tune::device::backends();
    [Device::Cpu, Device::Cuda, Device::Metal]
        .into_iter()
        .filter(|d| built.contains(&d.name()))
        .map(
            |device| match tune::device::select(plan::device_choice(device)) {
                Ok(_) => DeviceOption {
                    device,
                    available: true,
                    reason: None,
                },
                Err(e) => DeviceOption {
                    device,
                    available: false,
                    reason: Some(e.to_string()),
                },
            },
        )
        .collect()
}

/// Forecasts a run's peak memory and time per step from the model's shape and the settings:
/// float32 weights, the adapter with its gradient and AdamW moments, and one micro-batch of
/// `max_length`-token sequences (two per example for DPO and SALT). Time assumes a sustained
/// rate per CPU core (or per GPU), so it is a rough figure: the run then shows the real one.
pub fn estimate(request: &TrainRequest, examples: usize) -> Result<TrainEstimate, Error> {
    let mut resolvable = request.clone();
    if resolvable.out.trim().is_empty() {
        resolvable.out = "run".to_owned();
    }
    let settings = plan::resolve(&resolvable)?;
    let model = Path::new(&settings.model);
    let config = if model.is_dir() {
        tune::config::Config::from_file(&model.join("config.json"))?
    } else {
        tune::gguf::Gguf::open(model)?.config()?
    };
    let c = &config;
    let (h, inter, layers) = (
        c.hidden_size as u64,
        c.intermediate_size as u64,
        c.num_layers as u64,
    );
    let q = (c.num_heads * c.head_dim) as u64;
    let kv = (c.num_kv_heads * c.head_dim) as u64;
    let per_layer = h * q * 2 + h * kv * 2 + 3 * h * inter + 2 * h;
    let embed = c.vocab_size as u64 * h;
    let head = if c.tie_word_embeddings { 0 } else { embed };
    let parameters = embed + head + layers * per_layer + h;
    let lora_per_layer: u64 = settings
        .lora
        .targets
        .iter()
        .map(|t| {
            let (i, o) = match t {
                api::LoraTarget::QProj => (h, q),
                api::LoraTarget::KProj | api::LoraTarget::VProj => (h, kv),
                api::LoraTarget::OProj => (q, h),
                api::LoraTarget::GateProj | api::LoraTarget::UpProj => (h, inter),
                api::LoraTarget::DownProj => (inter, h),
            };
            settings.lora.rank as u64 * (i + o)
        })
        .sum();
    let lora = lora_per_layer * layers;
    let pairs = matches!(settings.objective, Objective::Dpo | Objective::Salt);
    let seqs_per_example = if pairs { 2 } else { 1 };
    let seq = settings.max_length as u64;
    let tokens = settings.batch_size as u64 * seqs_per_example * seq;
    // Kept for the backward pass, per token and layer: the projections' inputs and outputs,
    // norms and activations (~12 hidden + 4 intermediate wide), and the attention weights.
    let per_token_layer = 4 * (12 * h + 4 * inter + 2 * c.num_heads as u64 * seq);
    let logits = tokens * c.vocab_size as u64 * 4 * 3;
    let activations = tokens * layers * per_token_layer + logits;
    let peak = 4 * parameters + 16 * lora + activations;
    let peak = peak + peak / 10;
    let available = if settings.device == Device::Cpu || settings.device == Device::Auto {
        available_memory()
    } else {
        None
    };
    // Forward, backward through the activations, and for DPO a reference forward pass.
    let passes = if pairs { 4.0 } else { 3.0 };
    let flops = 2.0 * parameters as f64 * tokens as f64 * passes * settings.grad_accum as f64;
    let rate = match settings.device {
        Device::Cpu | Device::Auto => {
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            CPU_FLOPS_PER_CORE * cores as f64
        }
        Device::Cuda => 2e13,
        Device::Metal => 3e12,
    };
    // As the trainer counts them.
    let steps = match settings.length {
        TrainLength::Steps(n) => n,
        TrainLength::Epochs(e) => {
            let per_step = (settings.batch_size * settings.grad_accum) as f64;
            (e * examples as f64 / per_step).ceil().max(1.0) as usize
        }
    };
    Ok(TrainEstimate {
        parameters,
        peak_memory_bytes: peak,
        available_memory_bytes: available,
        fits: available.is_none_or(|a| peak <= a),
        seconds_per_step: flops / rate,
        steps,
    })
}

/// A sustained float32 rate of one CPU core in training, for the forecast.
const CPU_FLOPS_PER_CORE: f64 = 1.5e10;

/// Memory the system can give a new workload now (Linux: `MemAvailable`).
pub fn available_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Resident memory of this process (Linux), shown while training.
pub fn resident_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = text.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

#[cfg(test)]
mod tests;
