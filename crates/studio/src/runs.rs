//! Generation runs: a prompt task over one note or a filtered set, as a job with progress and
//! cancellation. Every output is saved in its own transaction with what made it (model path,
//! name and SHA-256, adapter, task version, sampling parameters, seed); outputs are never
//! overwritten. A run's key is a hash of the request, so running the same request again
//! resumes it: notes and samples already done are skipped. `extract` outputs are parsed and
//! their evidence becomes suggested spans, in the transaction that saves the output.

use std::io::Read;
use std::path::Path;

use api::{
    JobProgress, ModelOutput, NoteId, OutputQuery, RunRequest, RunSummary, SpanRequest, TaskKind,
};
use sha2::{Digest, Sha256};

use crate::error::Error;
use crate::jobs::CancelToken;
use crate::models::LoadedModel;
use crate::project::Project;
use crate::tasks::{self, TaskDefinition};

/// Where a model came from, recorded with each output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelProvenance {
    /// Path as loaded.
    pub path: String,
    /// File or folder name.
    pub name: String,
    /// SHA-256 of the GGUF file, or of a folder's `*.safetensors` files in name order.
    pub sha256: String,
}

/// Hashes the model's weights (a GGUF file, or a folder's safetensors files).
pub fn model_provenance(path: &Path) -> Result<ModelProvenance, Error> {
    let io = |source: std::io::Error, p: &Path| {
        Error::Store(store::Error::Io {
            action: "read",
            path: p.to_owned(),
            source,
        })
    };
    let mut files = Vec::new();
    if path.is_dir() {
        for entry in std::fs::read_dir(path).map_err(|e| io(e, path))? {
            let p = entry.map_err(|e| io(e, path))?.path();
            if p.extension().is_some_and(|x| x == "safetensors") {
                files.push(p);
            }
        }
        files.sort();
    } else {
        files.push(path.to_owned());
    }
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    for file in &files {
        let mut f = std::fs::File::open(file).map_err(|e| io(e, file))?;
        loop {
            let n = f.read(&mut buf).map_err(|e| io(e, file))?;
            if n == 0 {
                break;
            }
            hasher.update(buf.get(..n).unwrap_or_default());
        }
    }
    Ok(ModelProvenance {
        path: path.display().to_string(),
        name: path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        sha256: hex(&hasher.finalize()),
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks a request before anything is loaded or generated.
pub fn check_request(request: &RunRequest) -> Result<(), Error> {
    if request.samples == 0 {
        return Err(Error::Invalid("--samples must be at least 1".to_owned()));
    }
    if request.samples > 1 && request.sampling.temperature <= 0.0 {
        return Err(Error::Invalid(format!(
            "{} samples per note with greedy decoding would all be the same text; give a \
             temperature above 0 (e.g. --temperature 0.7 --top-p 0.9)",
            request.samples
        )));
    }
    if request.sampling.max_tokens == 0 {
        return Err(Error::Invalid("--max-tokens must be at least 1".to_owned()));
    }
    Ok(())
}

/// Loads the model a run needs: the base model, with the request's adapters attached (GGUF
/// weights are then dequantised, as adapters were trained on float weights).
pub fn load_model(
    model: &Path,
    adapters: &[String],
    dequantize: bool,
    device: crate::models::DeviceChoice,
) -> Result<LoadedModel, Error> {
    if adapters.is_empty() {
        return crate::models::load_on(model, dequantize, device);
    }
    let dirs: Vec<std::path::PathBuf> = adapters.iter().map(std::path::PathBuf::from).collect();
    crate::training::load_with_adapters(model, &dirs, device)
}

/// SHA-256 of an adapter folder's `adapter_config.json` and `adapter_model.safetensors`.
fn adapter_sha256(dir: &str) -> Result<String, Error> {
    let mut hasher = Sha256::new();
    for file in ["adapter_config.json", "adapter_model.safetensors"] {
        let path = Path::new(dir).join(file);
        let bytes = std::fs::read(&path).map_err(|source| {
            Error::Store(store::Error::Io {
                action: "read",
                path: path.clone(),
                source,
            })
        })?;
        hasher.update(&bytes);
    }
    Ok(hex(&hasher.finalize()))
}

/// Generates the task's outputs for the requested notes (× samples) with `model` (loaded with
/// the request's adapters, see [`load_model`]), saving each as it is made; reports progress
/// per output and stops between outputs when cancelled.
pub fn run(
    project: &mut Project,
    model: &LoadedModel,
    request: &RunRequest,
    progress: &mut dyn FnMut(JobProgress),
    cancel: &CancelToken,
) -> Result<RunSummary, Error> {
    run_streaming(project, model, request, progress, &mut |_, _, _| {}, cancel)
}

/// [`run`], also calling `on_text(note, sample, piece)` with each piece of text as it is
/// generated (the Review page shows it as it comes).
pub fn run_streaming(
    project: &mut Project,
    model: &LoadedModel,
    request: &RunRequest,
    progress: &mut dyn FnMut(JobProgress),
    on_text: &mut dyn FnMut(NoteId, i64, &str),
    cancel: &CancelToken,
) -> Result<RunSummary, Error> {
    check_request(request)?;
    let (task, def) = tasks::get(project, &request.task)?;
    let notes = notes_of(project, request)?;
    let provenance = model_provenance(crate::models::source(model))?;
    let few_shot = request.few_shot.unwrap_or(def.few_shot);
    let budget = request.max_note_tokens.unwrap_or(def.max_note_tokens);
    let adapter_hashes = request
        .adapters
        .iter()
        .map(|a| adapter_sha256(a))
        .collect::<Result<Vec<_>, _>>()?;
    let adapter = Some(request.adapters.join(" + ")).filter(|a| !a.is_empty());
    let params = serde_json::json!({
        "adapter_sha256": adapter_hashes,
        "temperature": request.sampling.temperature,
        "top_p": request.sampling.top_p,
        "top_k": request.sampling.top_k,
        "repetition_penalty": request.sampling.repetition_penalty,
        "max_tokens": request.sampling.max_tokens,
        "few_shot": few_shot,
        "max_note_tokens": budget,
    });
    let key = serde_json::json!({
        "task": task.id,
        "model": provenance.sha256,
        "params": params,
        "seed": request.seed,
    });
    let run_key = format!(
        "run-{}",
        hex(Sha256::digest(key.to_string().as_bytes())
            .get(..6)
            .unwrap_or_default())
    );
    let done = project.store.db().run_outputs(&run_key)?;
    let samples = i64::from(request.samples);
    let todo: Vec<(NoteId, i64)> = notes
        .iter()
        .flat_map(|&n| (0..samples).map(move |s| (n, s)))
        .filter(|job| !done.contains(job))
        .collect();
    let already_done = (notes.len() as u64 * u64::from(request.samples)) - todo.len() as u64;
    let span =
        tracing::info_span!("run_task", task = %task.name, version = task.version, run = %run_key);
    let _guard = span.enter();
    tracing::info!(
        notes = notes.len(),
        todo = todo.len(),
        already_done,
        "generation run"
    );
    let labels = project.store.db().labels()?;
    let total = todo.len() as u64;
    let stage = format!("{} on {} notes", task.name, notes.len());
    progress(JobProgress {
        stage: stage.clone(),
        done: 0,
        total: Some(total),
        unit: "outputs".to_owned(),
    });
    let started = std::time::Instant::now();
    let mut summary = RunSummary {
        run: run_key.clone(),
        task: task.name.clone(),
        task_version: task.version,
        notes: notes.len() as u64,
        already_done,
        outputs: Vec::new(),
        suggested_spans: 0,
        generated_tokens: 0,
        seconds: 0.0,
        cancelled: false,
    };
    let count = |text: &str| -> Result<usize, Error> {
        Ok(crate::models::tokenize(model, text, false)?.len())
    };
    let mut prompt_cache: Option<(NoteId, Prompt)> = None;
    for (i, &(note, sample)) in todo.iter().enumerate() {
        if cancel.is_cancelled() {
            summary.cancelled = true;
            break;
        }
        let prompt = match &prompt_cache {
            Some((n, p)) if *n == note => p.clone(),
            _ => {
                let p = build_prompt(project, model, &task, &def, note, few_shot, budget, &count)?;
                prompt_cache = Some((note, p.clone()));
                p
            }
        };
        let seed = request.seed.wrapping_add(sample as u64);
        let generate = api::GenerateRequest {
            prompt: prompt.text.clone(),
            chat: false,
            max_tokens: request.sampling.max_tokens,
            temperature: request.sampling.temperature,
            top_p: request.sampling.top_p,
            top_k: request.sampling.top_k,
            repetition_penalty: request.sampling.repetition_penalty,
            seed,
            stop: Vec::new(),
        };
        let result = crate::models::generate(
            model,
            &generate,
            &mut |piece| on_text(note, sample, piece),
            cancel,
        )?;
        if result.stop == "cancelled" {
            summary.cancelled = true;
            break;
        }
        let (parsed, parse_error, suggestions) =
            read_output(task.kind, &result.text, &prompt.note_text, &labels);
        let completion_tokens = result.token_ids.len() as i64;
        let new = store::NewOutput {
            note,
            task: task.id,
            run: &run_key,
            sample,
            model: &provenance.path,
            model_name: Some(&provenance.name),
            model_sha256: Some(&provenance.sha256),
            adapter: adapter.as_deref(),
            params: &params,
            seed: i64::try_from(seed).ok(),
            prompt: &prompt.text,
            prompt_messages: &prompt.messages,
            text: &result.text,
            parsed: parsed.as_ref(),
            parse_error: parse_error.as_deref(),
            prompt_tokens: result.prompt_token_ids.len() as i64,
            completion_tokens,
            stop: &result.stop,
            truncated: prompt.truncated,
        };
        let model_name = format!("model:{}", provenance.name);
        let (id, suggested) = save_output(project, &new, &suggestions, &model_name)?;
        summary.suggested_spans += suggested;
        summary.generated_tokens += completion_tokens as u64;
        summary.outputs.push(project.store.db().output(id)?.output);
        progress(JobProgress {
            stage: stage.clone(),
            done: i as u64 + 1,
            total: Some(total),
            unit: "outputs".to_owned(),
        });
    }
    summary.seconds = started.elapsed().as_secs_f64();
    tracing::info!(
        outputs = summary.outputs.len(),
        tokens = summary.generated_tokens,
        seconds = summary.seconds,
        cancelled = summary.cancelled,
        "generation run finished"
    );
    Ok(summary)
}

/// Saves an output and the spans its extraction suggests, in one transaction with an audit
/// entry; returns the output's id and how many suggestions were stored.
pub(crate) fn save_output(
    project: &mut Project,
    new: &store::NewOutput<'_>,
    suggestions: &[crate::extraction::Suggestion],
    model_name: &str,
) -> Result<(api::OutputId, u64), Error> {
    project.store.write(|tx| -> Result<_, Error> {
        let id = tx.insert_output(new)?;
        let mut suggested = 0u64;
        for s in suggestions {
            let request = SpanRequest {
                note: new.note,
                label: s.label.clone(),
                fragments: vec![api::Fragment {
                    start: s.start,
                    end: s.end,
                }],
                attributes: s.attributes.clone(),
            };
            // A suggestion the schema refuses is left out; the output keeps the mention.
            match crate::annotation::insert_suggestion(tx, &request, model_name) {
                Ok(Some(span)) => {
                    tx.set_span_origin(span.id, id)?;
                    suggested += 1;
                }
                Ok(None) => {}
                Err(Error::Store(e)) => return Err(Error::Store(e)),
                Err(e) => tracing::warn!(output = id.0, error = %e, "suggestion refused"),
            }
        }
        tx.audit(
            model_name,
            "generate",
            "model_output",
            Some(id.0),
            Some(new.note),
            &serde_json::json!({
                "task": new.task, "run": new.run, "sample": new.sample,
                "tokens": new.completion_tokens, "suggested_spans": suggested,
            }),
        )?;
        Ok((id, suggested))
    })
}

/// A note's rendered prompt.
#[derive(Debug, Clone)]
struct Prompt {
    text: String,
    messages: Vec<api::ChatMessage>,
    truncated: bool,
    note_text: String,
}

#[allow(clippy::too_many_arguments)]
fn build_prompt(
    project: &Project,
    model: &LoadedModel,
    task: &api::PromptTask,
    def: &TaskDefinition,
    note: NoteId,
    few_shot: usize,
    budget: usize,
    count: &dyn Fn(&str) -> Result<usize, Error>,
) -> Result<Prompt, Error> {
    let detail = project.store.db().note(note)?;
    let examples = tasks::examples(project, task, note, few_shot)?;
    let rendered = tasks::render(
        def,
        &detail.text,
        detail.category.as_deref(),
        &examples,
        budget,
        count,
    )?;
    let text = crate::models::render_messages(model, &rendered.messages)?;
    Ok(Prompt {
        text,
        messages: rendered.messages,
        truncated: rendered.truncated,
        note_text: detail.text,
    })
}

pub(crate) type Reading = (
    Option<serde_json::Value>,
    Option<String>,
    Vec<crate::extraction::Suggestion>,
);

/// Parses an output by kind: suggestions from an `extract` output's evidence.
pub(crate) fn read_output(
    kind: TaskKind,
    text: &str,
    note: &str,
    labels: &[api::Label],
) -> Reading {
    match kind {
        TaskKind::Summarize => (None, None, Vec::new()),
        TaskKind::Extract => match crate::extraction::parse_extraction(text) {
            Ok(extraction) => {
                let (suggestions, skipped) =
                    crate::extraction::suggestions(&extraction, note, labels);
                let mut parsed = extraction.to_json();
                if let Some(obj) = parsed.as_object_mut() {
                    obj.insert("not_suggested".to_owned(), skipped.into());
                }
                (Some(parsed), None, suggestions)
            }
            Err(reason) => (None, Some(reason), Vec::new()),
        },
        TaskKind::Classify => match crate::extraction::parse_labels(text) {
            Ok(labels) => (
                Some(serde_json::json!({ "labels": labels })),
                None,
                Vec::new(),
            ),
            Err(reason) => (None, Some(reason), Vec::new()),
        },
    }
}

/// The notes a request covers: the listed ones, or every note the query matches.
fn notes_of(project: &Project, request: &RunRequest) -> Result<Vec<NoteId>, Error> {
    if !request.notes.is_empty() {
        for &n in &request.notes {
            project.store.db().note_status(n)?;
        }
        return Ok(request.notes.clone());
    }
    let db = project.store.db();
    let mut query = request.query.clone();
    if query.limit == 0 {
        query.limit = usize::try_from(db.count_notes(&query)?).unwrap_or(usize::MAX);
        if query.limit == 0 {
            return Err(Error::Invalid(
                "no note matches the filter; check it with `clinitune notes search`".to_owned(),
            ));
        }
    }
    query.order = api::SearchOrder::Id;
    let notes: Vec<NoteId> = db.search_notes(&query)?.into_iter().map(|n| n.id).collect();
    if notes.is_empty() {
        return Err(Error::Invalid(
            "no note matches the filter; check it with `clinitune notes search`".to_owned(),
        ));
    }
    Ok(notes)
}

/// Outputs, oldest first.
pub fn outputs(project: &Project, query: &OutputQuery) -> Result<Vec<ModelOutput>, Error> {
    Ok(project.store.db().outputs(query)?)
}

/// One output.
pub fn output(project: &Project, id: api::OutputId) -> Result<ModelOutput, Error> {
    Ok(project.store.db().output(id)?.output)
}

#[cfg(test)]
mod tests;
