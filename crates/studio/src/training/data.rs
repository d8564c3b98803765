//! A run's examples as token ids: a TRL JSONL file read by `tune`, or the open project's rows
//! — review pairs, SFT examples, note texts, gold labels — turned into examples here, in
//! memory. The project's pairs and SFT examples are also written beside the run
//! (`project-train.jsonl`) as a record of what was trained on; that file is never read back.

use std::collections::BTreeSet;
use std::path::Path;

use api::{DatasetExportRequest, DatasetFormat, Objective, Split, TrainData, TrainSettings};
use tune::tokenizer::ChatMessage;
use tune::train::data::{self, Builder, Dataset, Kind, Loaded, Turns};

use crate::error::Error;
use crate::project::Project;

/// The record of the project's examples written beside the run.
pub const PROJECT_RECORD: &str = "project-train.jsonl";

/// What the objective reads its examples as.
pub(crate) fn kind(objective: Objective) -> Kind {
    match objective {
        Objective::Sft => Kind::Sft,
        Objective::Dpo | Objective::Salt => Kind::Pairs,
        Objective::Classify => Kind::Classify,
        Objective::Domain => Kind::Text,
    }
}

/// The training examples `settings` names.
pub(crate) fn load(
    project: Option<&Project>,
    settings: &TrainSettings,
    builder: &Builder,
) -> Result<Loaded, Error> {
    let kind = kind(settings.objective);
    match &settings.data {
        TrainData::File(path) => {
            read_file(Path::new(path), kind, builder, settings.labels.as_deref())
        }
        TrainData::Project => {
            let project = project.ok_or(Error::NoTrainingData)?;
            match kind {
                Kind::Text => texts(project, builder),
                Kind::Classify => labelled(project, settings.labels.as_deref(), builder),
                Kind::Sft | Kind::Pairs => {
                    reviewed(project, kind, Path::new(&settings.out), builder)
                }
            }
        }
    }
}

/// A TRL JSONL file read as `kind`; a missing file is an I/O error naming it.
pub(crate) fn read_file(
    path: &Path,
    kind: Kind,
    builder: &Builder,
    labels: Option<&[String]>,
) -> Result<Loaded, Error> {
    data::read_jsonl(path, kind, builder, labels).map_err(|e| match e {
        tune::Error::Io { path, source } => Error::Io {
            action: "read",
            path,
            source,
        },
        e => Error::Train(e),
    })
}

/// Every note's text, packed into chunks (domain adaptation).
fn texts(project: &Project, builder: &Builder) -> Result<Loaded, Error> {
    let db = project.store.db();
    let ids = db.note_ids()?;
    let mut texts = Vec::with_capacity(ids.len());
    for id in ids {
        texts.push(db.note_text(id)?);
    }
    let chunks = builder.texts(&texts).map_err(Error::Train)?;
    if chunks.is_empty() {
        return Err(Error::NothingToTrain { what: "notes" });
    }
    Ok(Loaded {
        dataset: Dataset::Text(chunks),
        skipped: vec![],
    })
}

/// Notes with gold labels — document labels and the span labels found in them — and notes
/// marked done (no labels), as multi-label targets over `labels` (else every label seen).
fn labelled(
    project: &Project,
    labels: Option<&[String]>,
    builder: &Builder,
) -> Result<Loaded, Error> {
    let db = project.store.db();
    let mut rows = Vec::new();
    for id in db.note_ids()? {
        if let Some(found) = gold_labels(&db, id)? {
            rows.push((db.note_text(id)?, found));
        }
    }
    let names: Vec<String> = match labels {
        Some(l) => l.to_vec(),
        None => rows
            .iter()
            .flat_map(|(_, l)| l.iter().cloned())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect(),
    };
    let mut examples = Vec::with_capacity(rows.len());
    for (text, found) in rows {
        examples.push(data::Labelled {
            ids: builder.document(&text).map_err(Error::Train)?,
            targets: names
                .iter()
                .map(|n| if found.contains(n) { 1.0 } else { 0.0 })
                .collect(),
        });
    }
    if examples.is_empty() {
        return Err(Error::NothingToTrain {
            what: "annotated notes",
        });
    }
    Ok(Loaded {
        dataset: Dataset::Classify {
            examples,
            labels: names,
        },
        skipped: vec![],
    })
}

/// A note's gold labels — its gold document labels and the labels of its gold spans — or
/// `None` when no one has annotated it (no gold annotation, and not marked done): what
/// classification trains on and what predictions are scored against.
pub(crate) fn gold_labels(
    db: &store::Db<'_>,
    note: api::NoteId,
) -> Result<Option<BTreeSet<String>>, Error> {
    let gold = api::AnnotationStatus::Gold;
    let mut found: BTreeSet<String> = db
        .doc_labels_of_note(note)?
        .into_iter()
        .filter(|d| d.status == gold)
        .map(|d| d.label)
        .collect();
    let spans = db.spans_of_note(note)?;
    let annotated = !found.is_empty() || spans.iter().any(|s| s.status == gold);
    found.extend(
        spans
            .into_iter()
            .filter(|s| s.status == gold)
            .map(|s| s.label),
    );
    Ok((annotated || db.note_status(note)? == api::NoteStatus::Done).then_some(found))
}

/// The review loop's preference pairs (`Kind::Pairs`) or SFT examples (`Kind::Sft`) of the
/// train split (all of them before the project is split), built as TRL builds its
/// conversational records, and written to `out` as a record.
fn reviewed(project: &Project, kind: Kind, out: &Path, builder: &Builder) -> Result<Loaded, Error> {
    let (what, format) = if kind == Kind::Sft {
        ("SFT examples", DatasetFormat::TrlSft)
    } else {
        ("preference pairs", DatasetFormat::TrlPreference)
    };
    let count = |split: Option<Split>| -> Result<usize, Error> {
        Ok(if kind == Kind::Sft {
            crate::datasets::sft_examples(project, split)?.len()
        } else {
            crate::datasets::pairs(project, split)?.len()
        })
    };
    let mut skipped = vec![];
    let mut split = Some(Split::Train);
    if count(split)? == 0 {
        split = None;
        skipped.push("no examples are in the train split yet: training on all of them".to_owned());
    }
    let mut examples = 0;
    let dataset = if kind == Kind::Sft {
        let mut out = Vec::new();
        for e in crate::datasets::sft_examples(project, split)? {
            examples += 1;
            let prompt = prompt_turns(&e.prompt_messages, &e.prompt);
            match builder.completion(&prompt, &assistant(&e.completion)) {
                Ok(c) if !c.completion.is_empty() => out.push(c),
                Ok(_) => skipped.push(format!("SFT example {}: empty completion", e.id)),
                Err(err) => skipped.push(format!("SFT example {}: {err}", e.id)),
            }
        }
        Dataset::Sft(out)
    } else {
        let mut out = Vec::new();
        for p in crate::datasets::pairs(project, split)? {
            examples += 1;
            let prompt = prompt_turns(&p.prompt_messages, &p.prompt);
            match builder.pair(&prompt, &assistant(&p.chosen), &assistant(&p.rejected)) {
                Ok(pair) if !pair.chosen.is_empty() && !pair.rejected.is_empty() => out.push(pair),
                Ok(_) => skipped.push(format!("pair {}: empty chosen or rejected", p.id)),
                Err(err) => skipped.push(format!("pair {}: {err}", p.id)),
            }
        }
        Dataset::Pairs(out)
    };
    if examples == 0 || dataset.is_empty() {
        return Err(Error::NothingToTrain { what });
    }
    std::fs::create_dir_all(out).map_err(|source| Error::Io {
        action: "create",
        path: out.to_owned(),
        source,
    })?;
    crate::datasets::export(
        project,
        &out.join(PROJECT_RECORD),
        &DatasetExportRequest {
            format,
            conversational: true,
            split,
        },
    )?;
    Ok(Loaded { dataset, skipped })
}

/// The prompt as chat messages: the stored messages, else the prompt as one user message.
fn prompt_turns(messages: &Option<Vec<api::ChatMessage>>, prompt: &str) -> Turns {
    let messages = match messages {
        Some(m) if !m.is_empty() => m
            .iter()
            .map(|m| ChatMessage {
                role: m.role.clone(),
                content: m.content.clone(),
            })
            .collect(),
        _ => vec![ChatMessage {
            role: "user".to_owned(),
            content: prompt.to_owned(),
        }],
    };
    Turns::Chat(messages)
}

/// One assistant message.
fn assistant(content: &str) -> Turns {
    Turns::Chat(vec![ChatMessage {
        role: "assistant".to_owned(),
        content: content.to_owned(),
    }])
}

/// Splits off `fraction` of the examples (at least one, never all) with a seeded shuffle.
pub(crate) fn hold_out(data: Dataset, fraction: f64, seed: u64) -> (Dataset, Option<Dataset>) {
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
