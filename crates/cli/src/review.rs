//! The review loop on the command line: `task`, `run`, `outputs`, `review` and `pairs`.
//! Arguments as clap parses them, then one call into studio per command, rendered as text or
//! JSON (the contract in README.md).

use std::io::{Read, Write};
use std::path::PathBuf;

use anyhow::Context;
use api::{
    DatasetExportRequest, DatasetFormat, ModelOutput, NoteStatus, OutputId, OutputQuery,
    RunRequest, SamplingParams, SearchQuery, Split, SplitRequest,
};
use clap::{Args, Subcommand, ValueEnum};
use studio::CancelToken;

use crate::progress::Bar;
use crate::{annotator, api as api_err, open, render};

/// `task` subcommands.
#[derive(Debug, Subcommand)]
pub enum TaskCommand {
    /// Add a prompt task from a TOML file (a new version when the name exists).
    Add {
        /// The task file (see assets/prompts/README.md).
        file: PathBuf,
    },
    /// List prompt tasks (latest versions).
    List {
        /// Every version, not only the latest.
        #[arg(long)]
        all_versions: bool,
    },
}

/// Arguments of `run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Task name, or NAME@VERSION.
    #[arg(long)]
    pub task: String,
    /// Model folder or .gguf file.
    #[arg(long, env = "CLINITUNE_MODEL")]
    pub model: PathBuf,
    /// LoRA adapter folder (Hugging Face PEFT layout) applied over the model; repeat to stack
    /// (bottom first).
    #[arg(long, value_name = "DIR")]
    pub adapter: Vec<PathBuf>,
    /// Only notes matching this full-text query (as `notes search`).
    #[arg(long, value_name = "QUERY")]
    pub filter: Option<String>,
    /// Only this note (id or external id); repeat for several.
    #[arg(long = "note", value_name = "ID")]
    pub notes: Vec<String>,
    /// Only this category.
    #[arg(long)]
    pub category: Option<String>,
    /// Only this status (todo, in_progress, done, skipped).
    #[arg(long)]
    pub status: Option<String>,
    /// Only notes with this label.
    #[arg(long)]
    pub label: Option<String>,
    /// At most this many notes (default: every matching note).
    #[arg(long)]
    pub limit: Option<usize>,
    /// Outputs per note (2 for A/B ranking; needs --temperature).
    #[arg(long, default_value_t = 1)]
    pub samples: u32,
    /// Greedy or sampled decoding.
    #[command(flatten)]
    pub sampling: crate::args::SamplingArgs,
    /// Seed of the first sample (sample k uses SEED + k).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// At most this many new tokens per output.
    #[arg(long, default_value_t = 256)]
    pub max_tokens: usize,
    /// Few-shot examples from annotated notes (default: the task's setting).
    #[arg(long)]
    pub few_shot: Option<usize>,
    /// Token budget for the note (default: the task's setting); longer notes are shortened.
    #[arg(long)]
    pub max_note_tokens: Option<usize>,
    /// Dequantise GGUF weights to float32 (slower).
    #[arg(long)]
    pub dequantize: bool,
}

/// `outputs` subcommands.
#[derive(Debug, Subcommand)]
pub enum OutputsCommand {
    /// List model outputs, oldest first.
    List {
        /// Only this note's (id or external id).
        #[arg(long)]
        note: Option<String>,
        /// Only this task's.
        #[arg(long)]
        task: Option<String>,
        /// Only this run's.
        #[arg(long)]
        run: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 0)]
        limit: usize,
    },
    /// Show one output in full, with its provenance.
    Show {
        /// Output id.
        id: i64,
    },
}

/// `review` subcommands.
#[derive(Debug, Subcommand)]
pub enum ReviewCommand {
    /// Accept an output unchanged (an SFT example).
    Accept {
        /// Output id.
        output: i64,
        /// Who reviews (default: $CLINITUNE_ANNOTATOR, else your user name).
        #[arg(long)]
        annotator: Option<String>,
    },
    /// Save an edit of an output (a preference pair and an SFT example).
    Edit {
        /// Output id.
        output: i64,
        /// File holding the edited text (`-`: standard input).
        #[arg(long, value_name = "FILE")]
        text_file: PathBuf,
        /// Who reviews.
        #[arg(long)]
        annotator: Option<String>,
    },
    /// Prefer one of two outputs of the same note (a preference pair).
    Rank {
        /// First output id.
        output_a: i64,
        /// Second output id.
        output_b: i64,
        /// Which is better.
        #[arg(long, value_enum)]
        prefer: Prefer,
        /// Who reviews.
        #[arg(long)]
        annotator: Option<String>,
    },
    /// Accept or reject a suggested document label (a classifier's prediction written by
    /// `predict --as-suggestions`).
    DocSuggestion {
        /// Document label id (`notes show --json` lists them).
        doc: i64,
        /// accept (it becomes your gold label) or reject (kept as rejected).
        #[arg(value_enum)]
        decision: Decision,
        /// Who reviews.
        #[arg(long)]
        annotator: Option<String>,
    },
    /// Accept or reject a suggested span (pre-annotation from an extract output).
    Suggestion {
        /// Span id (`notes show` lists them).
        span: i64,
        /// accept (it becomes your gold span) or reject (kept as rejected).
        #[arg(value_enum)]
        decision: Decision,
        /// Who reviews.
        #[arg(long)]
        annotator: Option<String>,
    },
}

/// The better of two outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Prefer {
    /// The first.
    A,
    /// The second.
    B,
}

/// A decision on a suggestion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Decision {
    /// Make it gold.
    Accept,
    /// Keep it as rejected.
    Reject,
}

/// `pairs` subcommands.
#[derive(Debug, Subcommand)]
pub enum PairsCommand {
    /// List preference pairs (or SFT examples with --sft).
    List {
        /// SFT examples instead of preference pairs.
        #[arg(long)]
        sft: bool,
        /// Only this split.
        #[arg(long, value_enum)]
        split: Option<SplitArg>,
    },
    /// Write a dataset as TRL JSONL.
    Export {
        /// trl-preference: {"prompt", "chosen", "rejected"}; trl-sft: {"prompt", "completion"}.
        #[arg(long, value_enum)]
        format: FormatArg,
        /// TRL's conversational form ([{"role", "content"}] messages; SFT as {"messages"}).
        #[arg(long)]
        conversational: bool,
        /// Only this split.
        #[arg(long, value_enum)]
        split: Option<SplitArg>,
        /// Output file.
        out: PathBuf,
    },
    /// Read TRL preference or SFT JSONL (plain or conversational); bad lines are reported.
    Import {
        /// The file.
        file: PathBuf,
    },
    /// Assign train/validation/test by note with a fixed seed (no note in two splits).
    Split {
        /// Seed of the assignment.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Share of notes in train.
        #[arg(long, default_value_t = 0.8)]
        train: f64,
        /// Share of notes in validation (test gets the rest).
        #[arg(long, default_value_t = 0.1)]
        validation: f64,
    },
}

/// Dataset splits on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SplitArg {
    /// Training.
    Train,
    /// Validation.
    Validation,
    /// Test.
    Test,
}

impl SplitArg {
    /// The split this names.
    pub(crate) fn split(self) -> Split {
        match self {
            SplitArg::Train => Split::Train,
            SplitArg::Validation => Split::Validation,
            SplitArg::Test => Split::Test,
        }
    }
}

/// Dataset formats on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// TRL preference JSONL.
    TrlPreference,
    /// TRL SFT JSONL.
    TrlSft,
}

/// `clinitune task …`.
pub fn task(
    project: &Option<PathBuf>,
    json: bool,
    cmd: TaskCommand,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    match cmd {
        TaskCommand::Add { file } => {
            let mut project = open(project)?;
            let (task, added) = studio::tasks::add_file(&mut project, &file).map_err(api_err)?;
            if json {
                render::json(out, &task)?;
            } else if added {
                writeln!(
                    out,
                    "Added task {} version {} ({}).",
                    task.name,
                    task.version,
                    task.kind.as_str()
                )?;
            } else {
                writeln!(
                    out,
                    "Task {} version {} already has this definition; nothing added.",
                    task.name, task.version
                )?;
            }
        }
        TaskCommand::List { all_versions } => {
            let project = open(project)?;
            let tasks = studio::tasks::list(&project, all_versions).map_err(api_err)?;
            if json {
                render::json(out, &tasks)?;
            } else {
                for t in &tasks {
                    writeln!(
                        out,
                        "{:<28} v{:<3} {:<10} {}",
                        t.name,
                        t.version,
                        t.kind.as_str(),
                        t.description
                    )?;
                }
            }
        }
    }
    Ok(())
}

/// `clinitune run …`.
pub fn run(
    project: &Option<PathBuf>,
    json: bool,
    device: studio::models::DeviceChoice,
    a: RunArgs,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let mut project = open(project)?;
    let status = match a.status.as_deref() {
        Some(s) => Some(NoteStatus::parse(s).with_context(|| {
            format!("unknown status {s:?}; use todo, in_progress, done or skipped")
        })?),
        None => None,
    };
    let notes = a
        .notes
        .iter()
        .map(|n| studio::notes::resolve(&project, n))
        .collect::<Result<Vec<_>, _>>()
        .map_err(api_err)?;
    let request = RunRequest {
        task: a.task,
        adapters: a.adapter.iter().map(|p| p.display().to_string()).collect(),
        query: SearchQuery {
            text: a.filter.unwrap_or_default(),
            category: a.category,
            status,
            label: a.label,
            annotator: None,
            limit: a.limit.unwrap_or(0),
            offset: 0,
            order: api::SearchOrder::Id,
        },
        notes,
        samples: a.samples,
        sampling: SamplingParams {
            temperature: a.sampling.temperature(),
            top_p: a.sampling.top_p,
            top_k: a.sampling.top_k,
            repetition_penalty: a.sampling.repetition_penalty,
            max_tokens: a.max_tokens,
        },
        seed: a.seed,
        few_shot: a.few_shot,
        max_note_tokens: a.max_note_tokens,
    };
    // Refuse a bad request before spending time on loading the model.
    studio::runs::check_request(&request).map_err(api_err)?;
    studio::tasks::get(&project, &request.task).map_err(api_err)?;
    let model = studio::runs::load_model(&a.model, &request.adapters, a.dequantize, device)
        .map_err(api_err)?;
    let mut bar = Bar::new();
    let cancel = CancelToken::new();
    let summary = studio::runs::run(
        &mut project,
        &model,
        &request,
        &mut |p| bar.update(&p),
        &cancel,
    )
    .map_err(api_err)?;
    bar.finish();
    if json {
        render::json(out, &summary.outputs)?;
        return Ok(());
    }
    for o in &summary.outputs {
        output_line(out, o)?;
    }
    writeln!(
        out,
        "Run {}: {} new outputs of {}@{} for {} notes ({} already done), {} tokens in {:.1} s{}.",
        summary.run,
        summary.outputs.len(),
        summary.task,
        summary.task_version,
        summary.notes,
        summary.already_done,
        summary.generated_tokens,
        summary.seconds,
        if summary.suggested_spans > 0 {
            format!("; {} suggested spans", summary.suggested_spans)
        } else {
            String::new()
        }
    )?;
    Ok(())
}

fn output_line(out: &mut impl Write, o: &ModelOutput) -> anyhow::Result<()> {
    let preview: String = o
        .text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(70)
        .collect();
    writeln!(
        out,
        "{:>6}  note {:<6} {}@{} #{}  {}{}",
        o.id,
        o.note_id,
        o.task,
        o.task_version,
        o.sample,
        preview,
        if o.parse_error.is_some() {
            "  [unparsed]"
        } else {
            ""
        }
    )?;
    Ok(())
}

/// `clinitune outputs …`.
pub fn outputs(
    project: &Option<PathBuf>,
    json: bool,
    cmd: OutputsCommand,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let project = open(project)?;
    match cmd {
        OutputsCommand::List {
            note,
            task,
            run,
            limit,
        } => {
            let note = note
                .map(|n| studio::notes::resolve(&project, &n))
                .transpose()
                .map_err(api_err)?;
            let query = OutputQuery {
                note,
                task,
                run,
                limit,
            };
            let list = studio::runs::outputs(&project, &query).map_err(api_err)?;
            if json {
                render::json(out, &list)?;
            } else {
                for o in &list {
                    output_line(out, o)?;
                }
            }
        }
        OutputsCommand::Show { id } => {
            let o = studio::runs::output(&project, OutputId(id)).map_err(api_err)?;
            if json {
                render::json(out, &o)?;
            } else {
                writeln!(
                    out,
                    "Output {} · note {} · {}@{} ({}) · sample {} · run {}",
                    o.id,
                    o.note_id,
                    o.task,
                    o.task_version,
                    o.kind.as_str(),
                    o.sample,
                    o.run.as_deref().unwrap_or("-")
                )?;
                writeln!(
                    out,
                    "model {} (sha256 {}) · adapter {} · seed {} · params {}",
                    o.model,
                    o.model_sha256.as_deref().unwrap_or("-"),
                    o.adapter.as_deref().unwrap_or("none"),
                    o.seed.map_or("-".to_owned(), |s| s.to_string()),
                    o.params
                )?;
                if let Some(e) = &o.parse_error {
                    writeln!(out, "unparsed: {e}")?;
                }
                writeln!(out, "\n{}", o.text)?;
            }
        }
    }
    Ok(())
}

/// `clinitune review …`.
pub fn review(
    project: &Option<PathBuf>,
    json: bool,
    cmd: ReviewCommand,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let mut project = open(project)?;
    let outcome = match cmd {
        ReviewCommand::Accept {
            output,
            annotator: who,
        } => studio::review::accept(&mut project, OutputId(output), &annotator(&who)),
        ReviewCommand::Edit {
            output,
            text_file,
            annotator: who,
        } => {
            let text = read_text(&text_file)?;
            studio::review::edit(&mut project, OutputId(output), &text, &annotator(&who))
        }
        ReviewCommand::Rank {
            output_a,
            output_b,
            prefer,
            annotator: who,
        } => {
            let (preferred, other) = match prefer {
                Prefer::A => (output_a, output_b),
                Prefer::B => (output_b, output_a),
            };
            studio::review::rank(
                &mut project,
                OutputId(preferred),
                OutputId(other),
                &annotator(&who),
            )
        }
        ReviewCommand::DocSuggestion {
            doc,
            decision,
            annotator: who,
        } => {
            let doc = studio::annotation::review_doc_suggestion(
                &mut project,
                api::DocLabelId(doc),
                decision == Decision::Accept,
                &annotator(&who),
            )
            .map_err(api_err)?;
            if json {
                render::json(out, &doc)?;
            } else {
                writeln!(
                    out,
                    "Document label {} ({}) is now {}.",
                    doc.id,
                    doc.label,
                    doc.status.as_str()
                )?;
            }
            return Ok(());
        }
        ReviewCommand::Suggestion {
            span,
            decision,
            annotator: who,
        } => {
            let span = studio::annotation::review_suggestion(
                &mut project,
                api::SpanId(span),
                decision == Decision::Accept,
                &annotator(&who),
            )
            .map_err(api_err)?;
            if json {
                render::json(out, &span)?;
            } else {
                writeln!(
                    out,
                    "Span {} ({}) is now {}.",
                    span.id,
                    span.label,
                    span.status.as_str()
                )?;
            }
            return Ok(());
        }
    }
    .map_err(api_err)?;
    if json {
        render::json(out, &outcome)?;
        return Ok(());
    }
    let made: Vec<String> = [
        outcome.edit.map(|e| format!("edit {e}")),
        outcome.ranking.map(|r| format!("ranking {r}")),
        outcome.pair.map(|p| format!("preference pair {p}")),
        outcome.sft.map(|s| format!("SFT example {s}")),
    ]
    .into_iter()
    .flatten()
    .collect();
    writeln!(
        out,
        "Output {}: saved {}{}.",
        outcome.output,
        if made.is_empty() {
            "nothing new (an identical pair or example exists)".to_owned()
        } else {
            made.join(", ")
        },
        outcome.diff.map_or(String::new(), |d| format!(
            " (words kept {}, removed {}, added {})",
            d.kept, d.removed, d.added
        ))
    )?;
    Ok(())
}

fn read_text(path: &PathBuf) -> anyhow::Result<String> {
    if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("cannot read the edited text from standard input")?;
        return Ok(text);
    }
    std::fs::read_to_string(path).map_err(|e| {
        anyhow::Error::new(
            api::ApiError::new(
                api::ErrorKind::Io,
                format!("cannot read {}: {e}", path.display()),
            )
            .with_hint("Give a UTF-8 text file with the edited output, or - for standard input."),
        )
    })
}

/// `clinitune pairs …`.
pub fn pairs(
    project: &Option<PathBuf>,
    json: bool,
    cmd: PairsCommand,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    match cmd {
        PairsCommand::List { sft, split } => {
            let project = open(project)?;
            let split = split.map(SplitArg::split);
            if sft {
                let list = studio::datasets::sft_examples(&project, split).map_err(api_err)?;
                if json {
                    return render::json(out, &list);
                }
                for e in &list {
                    writeln!(
                        out,
                        "{:>5}  note {:<6} {:<10} {:<10} {:<12} completion: {}",
                        e.id,
                        e.note_id.map_or("-".to_owned(), |n| n.to_string()),
                        e.split.as_str(),
                        origin_sft(e.origin),
                        e.annotator.as_deref().unwrap_or("-"),
                        preview(&e.completion, 60)
                    )?;
                }
            } else {
                let list = studio::datasets::pairs(&project, split).map_err(api_err)?;
                if json {
                    return render::json(out, &list);
                }
                for p in &list {
                    writeln!(
                        out,
                        "{:>5}  note {:<6} {:<10} {:<8} {:<12}\n       chosen:   {}\n       rejected: {}",
                        p.id,
                        p.note_id.map_or("-".to_owned(), |n| n.to_string()),
                        p.split.as_str(),
                        p.origin.as_str(),
                        p.annotator.as_deref().unwrap_or("-"),
                        preview(&p.chosen, 90),
                        preview(&p.rejected, 90)
                    )?;
                }
            }
        }
        PairsCommand::Export {
            format,
            conversational,
            split,
            out: path,
        } => {
            let project = open(project)?;
            crate::warn_if_encrypted(&project);
            let request = DatasetExportRequest {
                format: match format {
                    FormatArg::TrlPreference => DatasetFormat::TrlPreference,
                    FormatArg::TrlSft => DatasetFormat::TrlSft,
                },
                conversational,
                split: split.map(SplitArg::split),
            };
            let summary = studio::datasets::export(&project, &path, &request).map_err(api_err)?;
            if json {
                render::json(out, &summary)?;
            } else {
                writeln!(out, "Wrote {} lines to {}.", summary.written, summary.path)?;
            }
        }
        PairsCommand::Import { file } => {
            let mut project = open(project)?;
            let summary = studio::datasets::import(&mut project, &file).map_err(api_err)?;
            let mut err = std::io::stderr().lock();
            for r in &summary.rejected {
                writeln!(err, "{r}")?;
            }
            if json {
                render::json(out, &summary)?;
            } else {
                writeln!(
                    out,
                    "Imported {} preference pairs and {} SFT examples; {} already in the project; rejected {}.",
                    summary.pairs,
                    summary.sft_examples,
                    summary.duplicates,
                    summary.rejected.len()
                )?;
            }
        }
        PairsCommand::Split {
            seed,
            train,
            validation,
        } => {
            let mut project = open(project)?;
            let request = SplitRequest {
                seed,
                train,
                validation,
            };
            let summary = studio::datasets::split(&mut project, &request).map_err(api_err)?;
            if json {
                render::json(out, &summary)?;
            } else {
                writeln!(
                    out,
                    "Split by note (seed {seed}): train {} / validation {} / test {} notes; \
                     pairs {}/{}/{}; SFT examples {}/{}/{}.",
                    summary.groups[0],
                    summary.groups[1],
                    summary.groups[2],
                    summary.pairs[0],
                    summary.pairs[1],
                    summary.pairs[2],
                    summary.sft_examples[0],
                    summary.sft_examples[1],
                    summary.sft_examples[2]
                )?;
            }
        }
    }
    Ok(())
}

fn origin_sft(o: api::SftOrigin) -> &'static str {
    o.as_str()
}

fn preview(text: &str, chars: usize) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= chars {
        return flat;
    }
    let mut cut: String = flat.chars().take(chars).collect();
    cut.push('…');
    cut
}
