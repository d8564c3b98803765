//! `clinitune`: the command-line face of the studio. It parses arguments, calls `studio`
//! services and renders their results as text or JSON; it holds no domain logic.

mod args;
mod eval;
mod hints;
mod job;
mod merge;
mod passphrase;
mod predict;
mod progress;
mod render;
mod review;
mod train;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use api::{ApiError, Fragment, ImportRequest, NoteStatus, SearchQuery, SpanRequest};
use clap::Parser;
use studio::{CancelToken, Project};

use crate::args::{
    AnnotateCommand, Cli, Command, CorpusFormat, DocArgs, ExportFormat, NotesCommand,
    RemoveCommand, SchemaCommand, SpanArgs,
};
use crate::progress::Bar;

fn main() -> ExitCode {
    let mut filter = tracing_subscriber::EnvFilter::try_from_env("CLINITUNE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    // Whatever the user asks for, no dependency logs note text.
    for directive in studio::LOG_DIRECTIVES {
        if let Ok(d) = directive.parse() {
            filter = filter.add_directive(d);
        }
    }
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let json = cli.json;
    match run(cli) {
        Ok(code) => code,
        // A closed pipe (`clinitune notes show 1 | head`) is the reader's choice, not an error.
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            report(&err, json);
            ExitCode::FAILURE
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || e.downcast_ref::<serde_json::Error>()
                .is_some_and(|j| j.io_error_kind() == Some(std::io::ErrorKind::BrokenPipe))
    })
}

/// Prints an error: an [`ApiError`] with its hint, or the cause chain of anything else.
fn report(err: &anyhow::Error, json: bool) {
    let api = err.downcast_ref::<ApiError>();
    if json {
        let value = match api {
            Some(e) => serde_json::json!({ "error": e }),
            None => {
                serde_json::json!({ "error": { "kind": "internal", "message": format!("{err:#}") } })
            }
        };
        eprintln!("{value}");
        return;
    }
    match api {
        Some(e) => {
            eprintln!("error: {}", e.message);
            if let Some(hint) = &e.hint {
                eprintln!("hint: {hint}");
            }
        }
        None => eprintln!("error: {err:#}"),
    }
}

/// Converts a service error to the API error shown to the user.
pub(crate) fn api(e: studio::Error) -> anyhow::Error {
    let hint = hints::hint(&e);
    let mut err = ApiError::from(e);
    if let Some(hint) = hint {
        err.hint = Some(hint);
    }
    anyhow::Error::new(err)
}

fn project_path(cli_project: &Option<PathBuf>) -> anyhow::Result<PathBuf> {
    cli_project.clone().ok_or_else(|| {
        anyhow::Error::new(
            ApiError::new(api::ErrorKind::InvalidInput, "no project given")
                .with_hint("Pass --project PATH or set CLINITUNE_PROJECT; create one with `clinitune init PATH`."),
        )
    })
}

fn open(cli_project: &Option<PathBuf>) -> anyhow::Result<Project> {
    Project::open(&project_path(cli_project)?).map_err(api)
}

/// Exports leave the encryption behind: say so, every time.
pub(crate) fn warn_if_encrypted(project: &Project) {
    if project.is_encrypted().unwrap_or(false) {
        eprintln!(
            "warning: {} is encrypted, but what is exported here is not; keep it where the \
             project's data may be",
            project.path().display()
        );
    }
}

/// The annotator: the flag, else `$CLINITUNE_ANNOTATOR`, else the user name.
fn annotator(given: &Option<String>) -> String {
    given
        .clone()
        .or_else(|| std::env::var("CLINITUNE_ANNOTATOR").ok())
        .or_else(|| std::env::var("USER").ok())
        .or_else(|| std::env::var("USERNAME").ok())
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| "annotator".to_owned())
}

/// Parses `--attr NAME` (a flag set to true) and `--attr NAME=VALUE`.
fn attributes(raw: &[String]) -> BTreeMap<String, String> {
    raw.iter()
        .map(|a| match a.split_once('=') {
            Some((k, v)) => (k.trim().to_owned(), v.trim().to_owned()),
            None => (a.trim().to_owned(), "true".to_owned()),
        })
        .collect()
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let json = cli.json;
    let device = studio::training::plan::device_choice(cli.device.into());
    let mut out = std::io::stdout().lock();
    // An encrypted project asks for its passphrase once, before any command opens it.
    if let Some(path) = &cli.project
        && !matches!(cli.command, Command::Init { .. })
    {
        passphrase::unlock(path)?;
    }
    match cli.command {
        Command::Init {
            path,
            schemas,
            encrypt,
        } => {
            let key = if encrypt {
                Some(passphrase::new_passphrase(
                    passphrase::ENV,
                    "Passphrase for the new project",
                )?)
            } else {
                None
            };
            let project = Project::create_with_key(&path, &schemas, key).map_err(api)?;
            let labels = studio::schemas::labels(&project).map_err(api)?;
            if json {
                render::json(
                    &mut out,
                    &serde_json::json!({
                        "project": path, "labels": labels.len(),
                    }),
                )?;
            } else {
                writeln!(
                    out,
                    "Created {} with {} labels.",
                    path.display(),
                    labels.len()
                )?;
            }
        }
        Command::Import(a) => {
            let mut project = open(&cli.project)?;
            let request = ImportRequest {
                format: a.format,
                text_col: a.text_col,
                id_col: a.id_col,
                category_col: a.category_col,
                description_col: a.description_col,
                subject_col: a.subject_col,
                hadm_col: a.hadm_col,
                date_col: a.date_col,
                label_col: a.label_col,
                adverse_col: a.adverse_col,
                lossy: a.lossy,
                annotator: a.annotator,
            };
            let mut bar = Bar::new();
            let cancel = CancelToken::new();
            let summary = studio::transfer::import_notes(
                &mut project,
                &a.path,
                &request,
                &mut |p| bar.update(&p),
                &cancel,
            )
            .map_err(api)?;
            bar.finish();
            let mut err = std::io::stderr().lock();
            for r in &summary.rejected {
                writeln!(err, "{r}")?;
            }
            if json {
                render::json(&mut out, &summary)?;
            } else {
                render::import_summary(&mut out, &summary)?;
            }
            if summary.imported == 0 && summary.duplicates == 0 {
                return Ok(ExitCode::from(1));
            }
        }
        Command::Notes(cmd) => notes(&cli.project, json, cmd, &mut out)?,
        Command::Schema(cmd) => match cmd {
            SchemaCommand::Add { file } => {
                let mut project = open(&cli.project)?;
                let summary = studio::schemas::add(&mut project, &file).map_err(api)?;
                if json {
                    render::json(&mut out, &summary)?;
                } else {
                    writeln!(
                        out,
                        "Added schema {} ({} labels).",
                        summary.name,
                        summary.labels.len()
                    )?;
                }
            }
            SchemaCommand::List => {
                let project = open(&cli.project)?;
                let labels = studio::schemas::labels(&project).map_err(api)?;
                if json {
                    let schemas = studio::schemas::list(&project).map_err(api)?;
                    render::json(
                        &mut out,
                        &serde_json::json!({ "schemas": schemas, "labels": labels }),
                    )?;
                } else {
                    render::labels(&mut out, &labels)?;
                }
            }
        },
        Command::Annotate(cmd) => annotate(&cli.project, json, cmd, &mut out)?,
        Command::Export {
            format,
            out: path,
            annotator,
            notes_only,
        } => {
            let project = open(&cli.project)?;
            warn_if_encrypted(&project);
            let what = match (format, notes_only) {
                (ExportFormat::Brat, false) => studio::transfer::Export::Brat,
                (ExportFormat::Brat, true) => bail!("--notes-only needs --format jsonl"),
                (ExportFormat::Jsonl, false) => studio::transfer::Export::Jsonl,
                (ExportFormat::Jsonl, true) => studio::transfer::Export::NotesJsonl,
                (ExportFormat::LabelStudio, false) => studio::transfer::Export::LabelStudio,
                (ExportFormat::Prodigy, false) => studio::transfer::Export::Prodigy,
                (ExportFormat::LabelStudio | ExportFormat::Prodigy, true) => {
                    bail!("--notes-only needs --format jsonl")
                }
            };
            let mut bar = Bar::new();
            let summary =
                studio::transfer::export(&project, &path, what, annotator.as_deref(), &mut |p| {
                    bar.update(&p)
                })
                .map_err(api)?;
            bar.finish();
            if json {
                render::json(&mut out, &summary)?;
            } else {
                writeln!(
                    out,
                    "Exported {} notes, {} spans, {} document labels to {}.",
                    summary.notes,
                    summary.spans,
                    summary.doc_labels,
                    path.display()
                )?;
                if summary.doc_labels_not_exported + summary.spans_not_exported > 0 {
                    let place = match format {
                        ExportFormat::LabelStudio => "Label Studio (rejected annotations)",
                        _ => "brat",
                    };
                    writeln!(
                        out,
                        "{} spans and {} document labels have no place in {place}; export JSONL to keep them.",
                        summary.spans_not_exported, summary.doc_labels_not_exported
                    )?;
                }
            }
            if !summary.not_exported.is_empty() {
                let mut err = std::io::stderr().lock();
                for n in &summary.not_exported {
                    writeln!(err, "{n}")?;
                }
                writeln!(
                    err,
                    "{} notes were not exported; free space or fix the folder's permissions and export again.",
                    summary.not_exported.len()
                )?;
                return Ok(ExitCode::from(1));
            }
        }
        Command::Generate(a) => {
            let model = if a.adapter.is_empty() {
                studio::models::load_on(&a.model, a.dequantize, device)
            } else {
                studio::training::load_with_adapters(&a.model, &a.adapter, device)
            }
            .map_err(api)?;
            let request = api::GenerateRequest {
                prompt: a.prompt,
                chat: a.chat,
                max_tokens: a.max_tokens,
                temperature: a.sampling.temperature(),
                top_p: a.sampling.top_p,
                top_k: a.sampling.top_k,
                repetition_penalty: a.sampling.repetition_penalty,
                seed: a.seed,
                stop: a.stop,
            };
            let cancel = CancelToken::new();
            let result = if json {
                studio::models::generate(&model, &request, &mut |_| {}, &cancel).map_err(api)?
            } else {
                let mut stream_error = None;
                let result = studio::models::generate(
                    &model,
                    &request,
                    &mut |piece| {
                        if stream_error.is_none() {
                            stream_error = write!(out, "{piece}").and_then(|()| out.flush()).err();
                        }
                    },
                    &cancel,
                )
                .map_err(api)?;
                if let Some(e) = stream_error {
                    return Err(e.into());
                }
                writeln!(out)?;
                result
            };
            if json {
                render::json(
                    &mut out,
                    &serde_json::json!({
                        "prompt_token_ids": result.prompt_token_ids,
                        "token_ids": result.token_ids,
                        "text": result.text,
                        "stop": result.stop,
                    }),
                )?;
            }
        }
        Command::Tokenize {
            model,
            text,
            add_special,
            dequantize,
        } => {
            let model = studio::models::load_on(&model, dequantize, device).map_err(api)?;
            let ids = studio::models::tokenize(&model, &text, add_special).map_err(api)?;
            if json {
                render::json(&mut out, &serde_json::json!({ "ids": ids }))?;
            } else {
                writeln!(out, "{ids:?}")?;
            }
        }
        Command::Logits {
            model,
            prompt,
            chat,
            dequantize,
            adapter,
        } => {
            let model = if adapter.is_empty() {
                studio::models::load_on(&model, dequantize, device)
            } else {
                studio::training::load_with_adapters(&model, &adapter, device)
            }
            .map_err(api)?;
            let logits = studio::models::last_logits(&model, &prompt, chat).map_err(api)?;
            if json {
                render::json(&mut out, &serde_json::json!({ "logits": logits }))?;
            } else {
                let mut top: Vec<(usize, f32)> = logits.iter().copied().enumerate().collect();
                top.sort_by(|a, b| b.1.total_cmp(&a.1));
                for (id, logit) in top.iter().take(10) {
                    writeln!(out, "{id:>8} {logit:>10.4}")?;
                }
            }
        }
        Command::Train(a) => {
            return train::run(*a, &cli.project, cli.device.into(), json, &mut out);
        }
        Command::Predict(a) => {
            return predict::run(*a, &cli.project, cli.device.into(), json, &mut out);
        }
        Command::Adapter(args::AdapterCommand::Info { dir }) => {
            let info = studio::training::adapter_info(&dir).map_err(api)?;
            if json {
                render::json(&mut out, &info)?;
            } else {
                train::print_adapter(&mut out, &info)?;
            }
        }
        Command::Adapter(args::AdapterCommand::Merge {
            model,
            adapter,
            format,
            quant,
            out: dest,
        }) => {
            let path = match (format, quant) {
                (args::MergeFormat::Hf, Some(_)) => {
                    bail!("--quant applies to --format gguf; a Hugging Face folder is float32")
                }
                (args::MergeFormat::Hf, None) => {
                    studio::training::merge(&model, &adapter, &dest).map_err(api)?
                }
                (args::MergeFormat::Gguf, quant) => {
                    let quant = quant.unwrap_or(args::Quant::F16).into();
                    studio::training::export_gguf(&model, &adapter, &dest, quant).map_err(api)?
                }
            };
            if json {
                render::json(&mut out, &serde_json::json!({ "out": path }))?;
            } else {
                writeln!(out, "merged model written to {}", path.display())?;
            }
        }
        Command::Adapter(args::AdapterCommand::Export {
            format,
            model,
            quant,
            adapter,
            out: dest,
        }) => match format {
            args::AdapterExportFormat::GgufLora => {
                let path =
                    studio::training::export_lora_gguf(&model, &adapter, &dest).map_err(api)?;
                if json {
                    render::json(&mut out, &serde_json::json!({ "out": path }))?;
                } else {
                    writeln!(out, "LoRA adapter written to {}", path.display())?;
                    writeln!(
                        out,
                        "use it with: llama-cli -m BASE.gguf --lora {}",
                        path.display()
                    )?;
                }
            }
            args::AdapterExportFormat::Ollama => {
                let files = studio::training::export_ollama(&model, &adapter, &dest, quant.into())
                    .map_err(api)?;
                if json {
                    render::json(
                        &mut out,
                        &serde_json::json!({
                            "out": dest,
                            "base": files.base,
                            "adapter": files.adapter,
                            "modelfile": files.modelfile,
                        }),
                    )?;
                } else {
                    writeln!(out, "Ollama files written to {}", dest.display())?;
                    writeln!(
                        out,
                        "import with: cd {} && ollama create NAME -f Modelfile",
                        dest.display()
                    )?;
                }
            }
        },
        Command::Model(args::ModelCommand::Export {
            model,
            format: args::ModelExportFormat::Gguf,
            quant,
            out: dest,
        }) => {
            let path =
                studio::training::export_gguf(&model, &[], &dest, quant.into()).map_err(api)?;
            if json {
                render::json(&mut out, &serde_json::json!({ "out": path }))?;
            } else {
                writeln!(out, "model written to {}", path.display())?;
            }
        }
        Command::Model(args::ModelCommand::Info { model, dequantize }) => {
            let loaded = studio::models::load_on(&model, dequantize, device).map_err(api)?;
            let info = studio::models::info(&loaded);
            if json {
                render::json(&mut out, &info)?;
            } else {
                writeln!(out, "{} ({})", info.path, info.format)?;
                writeln!(
                    out,
                    "{} parameters · {} layers · hidden {} · heads {}/{} kv · head dim {} · vocab {}{}",
                    info.parameters,
                    info.layers,
                    info.hidden_size,
                    info.heads,
                    info.kv_heads,
                    info.head_dim,
                    info.vocab_size,
                    if info.tied_embeddings {
                        " · tied embeddings"
                    } else {
                        ""
                    }
                )?;
                writeln!(
                    out,
                    "end of sequence: {} · chat template: {}",
                    info.eos_token.as_deref().unwrap_or("none"),
                    if info.chat_template { "yes" } else { "no" }
                )?;
            }
        }
        Command::Stats => {
            let project = open(&cli.project)?;
            let stats = studio::notes::stats(&project).map_err(api)?;
            if json {
                render::json(&mut out, &stats)?;
            } else {
                render::stats(&mut out, &stats)?;
            }
        }
        Command::Agreement {
            annotator_a,
            annotator_b,
        } => {
            let project = open(&cli.project)?;
            let request = api::AgreementRequest {
                annotator_a,
                annotator_b,
            };
            let report = studio::agreement::report(&project, &request).map_err(api)?;
            if json {
                render::json(&mut out, &report)?;
            } else {
                render::agreement(&mut out, &report)?;
            }
        }
        Command::DemoTrainingData {
            out: dir,
            notes,
            seed,
        } => {
            let n = studio::training::write_demo_data(&dir, notes, seed).map_err(api)?;
            if json {
                render::json(&mut out, &serde_json::json!({ "examples": n, "out": dir }))?;
            } else {
                writeln!(out, "{n} examples per file written to {}", dir.display())?;
            }
        }
        Command::Merge(a) => merge::run(&cli.project, json, a, &mut out)?,
        Command::Task(cmd) => review::task(&cli.project, json, cmd, &mut out)?,
        Command::Run(a) => review::run(&cli.project, json, device, a, &mut out)?,
        Command::Outputs(cmd) => review::outputs(&cli.project, json, cmd, &mut out)?,
        Command::Review(cmd) => review::review(&cli.project, json, cmd, &mut out)?,
        Command::Pairs(cmd) => review::pairs(&cli.project, json, cmd, &mut out)?,
        Command::Eval(cmd) => {
            let cx = eval::Context {
                project: &cli.project,
                device: cli.device.into(),
                actor: annotator(&None),
            };
            return eval::eval(json, cmd, &cx, &mut out);
        }
        Command::Audit(args::AuditCommand::Verify) => {
            let project = open(&cli.project)?;
            let v = studio::audit::verify(&project).map_err(api)?;
            if json {
                render::json(&mut out, &v)?;
            } else {
                writeln!(
                    out,
                    "{} audit entries; {} covered by the hash chain{}.",
                    v.entries,
                    v.chained,
                    if v.before_chain > 0 {
                        format!(
                            ", {} written before it (an older version) and not covered",
                            v.before_chain
                        )
                    } else {
                        String::new()
                    }
                )?;
                match (&v.first_broken, &v.head) {
                    (Some(b), _) => writeln!(out, "Broken at entry {}: {}.", b.id, b.reason)?,
                    (None, Some(head)) => writeln!(
                        out,
                        "Intact. Last hash {head}: keep it to notice entries removed from the end later."
                    )?,
                    (None, None) => writeln!(out, "Intact.")?,
                }
            }
            if !v.intact {
                return Ok(ExitCode::from(1));
            }
        }
        Command::Audit(args::AuditCommand::Export { out: file }) => {
            let project = open(&cli.project)?;
            warn_if_encrypted(&project);
            let count = match &file {
                Some(path) => {
                    let mut name = path.as_os_str().to_owned();
                    name.push(".part");
                    let part = PathBuf::from(name);
                    let mut w =
                        std::io::BufWriter::new(std::fs::File::create(&part).map_err(|e| {
                            anyhow::anyhow!("cannot create {}: {e}", part.display())
                        })?);
                    let count = studio::audit::export(&project, &mut w).map_err(api)?;
                    w.into_inner()
                        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", part.display()))?
                        .sync_all()?;
                    std::fs::rename(&part, path)
                        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
                    count
                }
                None => studio::audit::export(&project, &mut out).map_err(api)?,
            };
            if let Some(path) = &file {
                eprintln!("{count} audit entries written to {}", path.display());
            }
        }
        Command::Rekey => {
            let mut project = open(&cli.project)?;
            if !project.is_encrypted().map_err(api)? {
                bail!(
                    "{} is not encrypted; create an encrypted project (init --encrypt) and \
                     import into it",
                    project.path().display()
                );
            }
            let new = passphrase::new_passphrase(passphrase::NEW_ENV, "New passphrase")?;
            project.rekey(new, &annotator(&None)).map_err(api)?;
            writeln!(
                out,
                "The passphrase of {} is changed; the old one no longer opens it.",
                project.path().display()
            )?;
        }
        Command::DemoCorpus {
            out: path,
            notes,
            seed,
            format,
            without_labels,
        } => {
            let format = match format {
                CorpusFormat::Brat => studio::corpus::CorpusFormat::Brat,
                CorpusFormat::Jsonl => studio::corpus::CorpusFormat::Jsonl,
            };
            let mut bar = Bar::new();
            let written = studio::corpus::write_corpus(
                &path,
                &studio::corpus::CorpusOptions {
                    notes,
                    seed,
                    format,
                    labels: !without_labels,
                },
                &mut |p| bar.update(&p),
            )
            .map_err(api)?;
            bar.finish();
            if json {
                render::json(
                    &mut out,
                    &serde_json::json!({ "notes": written, "out": path }),
                )?;
            } else {
                writeln!(
                    out,
                    "Wrote {written} synthetic notes to {} (seed {seed}).",
                    path.display()
                )?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn notes(
    project: &Option<PathBuf>,
    json: bool,
    cmd: NotesCommand,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let project = open(project)?;
    let query = |text: String, f: args::Filters| -> anyhow::Result<SearchQuery> {
        let status = match f.status.as_deref() {
            Some(s) => Some(NoteStatus::parse(s).with_context(|| {
                format!("unknown status {s:?}; use todo, in_progress, done or skipped")
            })?),
            None => None,
        };
        Ok(SearchQuery {
            text,
            category: f.category,
            status,
            label: f.label,
            annotator: f.annotator,
            limit: f.limit,
            offset: f.offset,
            order: match f.order {
                args::Order::Id => api::SearchOrder::Id,
                args::Order::Relevance => api::SearchOrder::Relevance,
                args::Order::Uncertainty => api::SearchOrder::Uncertainty,
            },
        })
    };
    match cmd {
        NotesCommand::List(f) => {
            let found = studio::notes::search(&project, &query(String::new(), f)?).map_err(api)?;
            render::note_list(out, &found, json)?;
        }
        NotesCommand::Search {
            query: text,
            filters,
        } => {
            let found = studio::notes::search(&project, &query(text, filters)?).map_err(api)?;
            render::note_list(out, &found, json)?;
        }
        NotesCommand::Show { id } => {
            let note = studio::notes::resolve(&project, &id).map_err(api)?;
            let detail = studio::notes::show(&project, note).map_err(api)?;
            render::note(out, &detail, json)?;
        }
        NotesCommand::Status {
            id,
            status,
            annotator: who,
        } => {
            let mut project = project;
            let note = studio::notes::resolve(&project, &id).map_err(api)?;
            let status = NoteStatus::parse(&status).with_context(|| {
                format!("unknown status {status:?}; use todo, in_progress, done or skipped")
            })?;
            studio::annotation::set_status(&mut project, note, status, &annotator(&who))
                .map_err(api)?;
            if json {
                render::json(out, &serde_json::json!({ "note": note, "status": status }))?;
            } else {
                writeln!(out, "Note {note} is now {}.", status.as_str())?;
            }
        }
    }
    Ok(())
}

/// Converts command-line character offsets into a byte-offset span request.
fn span_request(project: &Project, a: &SpanArgs) -> anyhow::Result<SpanRequest> {
    let note = studio::notes::resolve(project, &a.note).map_err(api)?;
    let text = studio::notes::show(project, note).map_err(api)?.text;
    let chars = text.chars().count();
    let to_byte = |cp: usize| {
        api::offsets::char_to_byte(&text, cp).ok_or_else(|| {
            anyhow::Error::new(
                ApiError::new(
                    api::ErrorKind::InvalidInput,
                    format!(
                        "offset {cp} is past the end of note {note}, which has {chars} characters"
                    ),
                )
                .with_hint("Offsets count characters from 0; the end is exclusive."),
            )
        })
    };
    if a.start >= a.end {
        return Err(anyhow::Error::new(ApiError::new(
            api::ErrorKind::InvalidInput,
            format!("--start {} must be less than --end {}", a.start, a.end),
        )));
    }
    Ok(SpanRequest {
        note,
        label: a.label.clone(),
        fragments: vec![Fragment {
            start: to_byte(a.start)?,
            end: to_byte(a.end)?,
        }],
        attributes: attributes(&a.attrs),
    })
}

fn remove_span(
    project: &mut Project,
    a: &SpanArgs,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let who = annotator(&a.annotator);
    let request = span_request(project, a)?;
    let found = studio::annotation::find_span(
        project,
        request.note,
        &a.label,
        &request.fragments,
        Some(&who),
    )
    .map_err(api)?;
    let Some(id) = found else {
        return Err(anyhow::Error::new(
            ApiError::new(
                api::ErrorKind::NotFound,
                format!(
                    "{who} has no {} span at {}..{} in note {}",
                    a.label, a.start, a.end, request.note
                ),
            )
            .with_hint("See the note's spans with `clinitune notes show ID`."),
        ));
    };
    studio::annotation::remove_span(project, id, &who).map_err(api)?;
    if json {
        render::json(out, &serde_json::json!({ "removed": id }))?;
    } else {
        writeln!(out, "Removed span {id}.")?;
    }
    Ok(())
}

fn remove_doc(
    project: &mut Project,
    a: &DocArgs,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let who = annotator(&a.annotator);
    let note = studio::notes::resolve(project, &a.note).map_err(api)?;
    let removed =
        studio::annotation::remove_doc_label(project, note, &a.label, &who).map_err(api)?;
    if !removed {
        return Err(anyhow::Error::new(ApiError::new(
            api::ErrorKind::NotFound,
            format!("{who} has no label {} on note {note}", a.label),
        )));
    }
    if json {
        render::json(
            out,
            &serde_json::json!({ "removed": a.label, "note": note }),
        )?;
    } else {
        writeln!(out, "Removed {} from note {note}.", a.label)?;
    }
    Ok(())
}

fn annotate(
    project: &Option<PathBuf>,
    json: bool,
    cmd: AnnotateCommand,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let mut project = open(project)?;
    match cmd {
        AnnotateCommand::Span(a) => {
            let request = span_request(&project, &a)?;
            let span =
                studio::annotation::add_span(&mut project, &request, &annotator(&a.annotator))
                    .map_err(api)?;
            let text = studio::notes::show(&project, request.note)
                .map_err(api)?
                .text;
            if json {
                render::json(out, &render::span_json(&text, &span))?;
            } else {
                writeln!(
                    out,
                    "Added span {} ({}) to note {}.",
                    span.id, span.label, request.note
                )?;
            }
        }
        AnnotateCommand::Doc(a) => {
            let note = studio::notes::resolve(&project, &a.note).map_err(api)?;
            let doc = studio::annotation::set_doc_label(
                &mut project,
                note,
                &a.label,
                &attributes(&a.attrs),
                &annotator(&a.annotator),
            )
            .map_err(api)?;
            if json {
                render::json(out, &doc)?;
            } else {
                writeln!(out, "Note {note} has label {}.", doc.label)?;
            }
        }
        AnnotateCommand::Remove(RemoveCommand::Span(a)) | AnnotateCommand::RemoveSpan(a) => {
            remove_span(&mut project, &a, json, out)?;
        }
        AnnotateCommand::Remove(RemoveCommand::Doc(a)) | AnnotateCommand::RemoveDoc(a) => {
            remove_doc(&mut project, &a, json, out)?;
        }
        AnnotateCommand::Undo(a) => {
            let note = studio::notes::resolve(&project, &a.note).map_err(api)?;
            let done = studio::annotation::undo(&mut project, note, &annotator(&a.annotator))
                .map_err(api)?;
            render::history(out, "undo", done, json)?;
        }
        AnnotateCommand::Redo(a) => {
            let note = studio::notes::resolve(&project, &a.note).map_err(api)?;
            let done = studio::annotation::redo(&mut project, note, &annotator(&a.annotator))
                .map_err(api)?;
            render::history(out, "redo", done, json)?;
        }
    }
    Ok(())
}
