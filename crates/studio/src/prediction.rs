//! Prediction with a trained classifier: a model with its adapters (the last one carrying the
//! score head and `labels.json`, as `train classify` saves them) applied to a JSONL file or to
//! the project's notes, batch by batch, with progress and cancellation.
//!
//! Probabilities come from `tune::train::classify_probabilities`, the forward pass held-out
//! evaluation scores with, so a prediction equals what training measured. Thresholds are one
//! for all labels, or per label chosen on labelled items to maximise each label's F1 and saved
//! beside the adapter (`thresholds.json`), where later runs find them. Predicted labels can be
//! written as suggested document labels that annotators accept or reject; items with gold
//! labels are scored with [`crate::evaluation::score_labels`].

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use api::{
    ItemId, JobProgress, MetricSettings, NoteId, PredictRequest, PredictSource, PredictSummary,
    Prediction, Split, SuggestionSummary, ThresholdOrigin, ThresholdSource, TunedThresholds,
};
use tune::lora::Lora;
use tune::train::data::{Builder, record_labels};

use crate::error::Error;
use crate::evaluation::{LabelItem, score_labels};
use crate::jobs::CancelToken;
use crate::models::{self, LoadedModel};
use crate::project::Project;
use crate::training::plan;
use crate::training::{PLAN_FILE, reading};

/// The label names of a classifier adapter, in the order of its score head's rows.
pub const LABELS_FILE: &str = "labels.json";
/// Per-label thresholds chosen on labelled items, beside the adapter.
pub const THRESHOLDS_FILE: &str = "thresholds.json";
/// The threshold of every label when none is given or saved.
pub const DEFAULT_THRESHOLD: f64 = 0.5;

/// Runs a prediction: tunes thresholds first when asked, then predicts every item, handing
/// each prediction to `on_prediction` in input order. Checks `cancel` between batches; a
/// cancelled run returns the summary of the items done (`cancelled: true`), their suggestions
/// saved.
pub fn predict(
    mut project: Option<&mut Project>,
    request: &PredictRequest,
    on_prediction: &mut dyn FnMut(&Prediction),
    progress: &mut dyn FnMut(JobProgress),
    cancel: &CancelToken,
) -> Result<PredictSummary, Error> {
    check(project.as_deref(), request)?;
    let classifier = Classifier::load(request)?;
    let builder = Builder::new(&classifier.model.tokenizer, classifier.max_length);
    let (thresholds, threshold_origin, tuned) = match &request.tune_thresholds_on {
        Some(source) => {
            let items: Vec<Item> = match source {
                ThresholdSource::File(path) => read_file(Path::new(path), &builder)?
                    .items
                    .into_iter()
                    .filter(|i| i.gold.is_some())
                    .collect(),
                ThresholdSource::Validation => {
                    let project = project.as_deref().ok_or(Error::Invalid(
                        "thresholds can be tuned on the validation split only with a project"
                            .to_owned(),
                    ))?;
                    project_items(project, Some(Split::Validation), &builder)?
                        .into_iter()
                        .filter(|i| i.gold.is_some())
                        .collect()
                }
            };
            let tuned = classifier.tune(&items, source, request.batch_size, progress, cancel)?;
            classifier.save_thresholds(&tuned)?;
            let thresholds = tuned.thresholds.clone();
            (thresholds, ThresholdOrigin::Tuned, Some(tuned))
        }
        None => {
            let (thresholds, origin) = classifier.thresholds(request.threshold)?;
            (thresholds, origin, None)
        }
    };
    let (items, skipped) = match &request.source {
        PredictSource::File(path) => {
            let read = read_file(Path::new(path), &builder)?;
            (read.items, read.skipped)
        }
        PredictSource::Project { split } => {
            let project = project.as_deref().ok_or(Error::Invalid(
                "predicting the project's notes needs a project".to_owned(),
            ))?;
            (project_items(project, *split, &builder)?, Vec::new())
        }
        PredictSource::Texts(texts) => {
            let mut items = Vec::with_capacity(texts.len());
            for (i, text) in texts.iter().enumerate() {
                items.push(Item {
                    id: ItemId::Number(i as i64),
                    ids: builder.document(text).map_err(Error::Train)?,
                    gold: None,
                });
            }
            (items, Vec::new())
        }
    };
    let mut suggestions = match (&mut project, request.as_suggestions) {
        (Some(p), true) => Some(Suggester::new(p, &classifier)?),
        _ => None,
    };
    let started = Instant::now();
    let total = items.len() as u64;
    let stage = "predicting".to_owned();
    let mut scored: Vec<LabelItem> = Vec::new();
    let mut done = 0u64;
    let mut cancelled = false;
    progress(JobProgress {
        stage: stage.clone(),
        done,
        total: Some(total),
        unit: "items".to_owned(),
    });
    for batch in items.chunks(request.batch_size.max(1)) {
        if cancel.is_cancelled() {
            cancelled = true;
            break;
        }
        let probabilities = classifier.probabilities(batch, request.batch_size)?;
        let mut predictions = Vec::with_capacity(batch.len());
        for (item, row) in batch.iter().zip(probabilities) {
            let prediction = classifier.prediction(item.id.clone(), &row, &thresholds);
            if let Some(gold) = &item.gold {
                scored.push(LabelItem {
                    gold: gold.clone(),
                    predicted: prediction.labels.iter().cloned().collect(),
                    scores: prediction.probabilities.clone(),
                });
            }
            predictions.push(prediction);
        }
        if let (Some(s), Some(p)) = (&mut suggestions, &mut project) {
            s.write(p, batch, &predictions, &thresholds)?;
        }
        for p in &predictions {
            on_prediction(p);
        }
        done += batch.len() as u64;
        progress(JobProgress {
            stage: stage.clone(),
            done,
            total: Some(total),
            unit: "items".to_owned(),
        });
    }
    let seconds = started.elapsed().as_secs_f64();
    tracing::info!(items = done, seconds, cancelled, "predicted");
    let known: BTreeSet<&String> = classifier.labels.iter().collect();
    let unknown_gold_labels: Vec<String> = scored
        .iter()
        .flat_map(|i| i.gold.iter())
        .filter(|l| !known.contains(l))
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let metrics = (!scored.is_empty()).then(|| score_labels(&scored, &MetricSettings::default()));
    Ok(PredictSummary {
        items: done,
        labels: classifier.labels.clone(),
        thresholds,
        threshold_origin,
        tuned,
        skipped,
        metrics,
        unknown_gold_labels,
        suggestions: suggestions.map(|s| s.summary),
        cancelled,
        seconds,
    })
}

/// Refuses requests that cannot run, before the model loads.
fn check(project: Option<&Project>, request: &PredictRequest) -> Result<(), Error> {
    if request.adapters.is_empty() {
        return Err(Error::Invalid(
            "prediction needs a classifier adapter (the folder a classification run wrote)"
                .to_owned(),
        ));
    }
    if let Some(t) = request.threshold
        && !(0.0..=1.0).contains(&t)
    {
        return Err(Error::Setting {
            setting: "threshold",
            value: t.to_string(),
            allowed: "a probability from 0 to 1".to_owned(),
        });
    }
    if request.batch_size == 0 {
        return Err(Error::Setting {
            setting: "batch_size",
            value: "0".to_owned(),
            allowed: "at least 1".to_owned(),
        });
    }
    let on_notes = matches!(request.source, PredictSource::Project { .. });
    if request.as_suggestions && !on_notes {
        return Err(Error::Invalid(
            "suggestions are written on the project's notes; predict the project's notes to \
             write them"
                .to_owned(),
        ));
    }
    if project.is_none()
        && (on_notes || request.tune_thresholds_on == Some(ThresholdSource::Validation))
    {
        return Err(Error::Invalid(
            "the project's notes were asked for, but no project is open".to_owned(),
        ));
    }
    Ok(())
}

/// One text to classify.
struct Item {
    id: ItemId,
    /// Token ids, cut to the length the classifier was trained with.
    ids: Vec<u32>,
    /// Gold labels, when the item has them.
    gold: Option<BTreeSet<String>>,
}

/// A model with a classifier adapter on top, its labels and where it lives.
struct Classifier {
    model: LoadedModel,
    /// Frozen adapters under the classifier (bottom first).
    base: Vec<Lora>,
    /// The adapter with the score head.
    head: Lora,
    /// Its folder.
    dir: PathBuf,
    /// `labels.json`, one per row of the score head.
    labels: Vec<String>,
    /// The longest document, in tokens, the classifier was trained on.
    max_length: usize,
}

impl Classifier {
    /// Loads the model and adapters; the last adapter must be a classifier whose
    /// `labels.json` names every row of its score head.
    fn load(request: &PredictRequest) -> Result<Classifier, Error> {
        let model = models::load_on(
            Path::new(&request.model),
            true,
            plan::device_choice(request.device),
        )?;
        let dev = model.model.device().clone();
        let mut adapters = Vec::with_capacity(request.adapters.len());
        for dir in &request.adapters {
            adapters.push(Lora::load(Path::new(dir), model.model.config(), &dev).map_err(reading)?);
        }
        let (head, dir) = match (adapters.pop(), request.adapters.last()) {
            (Some(head), Some(dir)) => (head, PathBuf::from(dir)),
            _ => return Err(Error::Invalid("no adapter was given".to_owned())),
        };
        let Some(score) = head.score() else {
            return Err(Error::NotAClassifier {
                path: dir.join(tune::lora::WEIGHTS_FILE),
                missing: "score head (base_model.model.score.weight)",
            });
        };
        let labels = read_labels(&dir)?;
        let rows = score.dims().first().copied().unwrap_or(0);
        if labels.len() != rows {
            return Err(Error::Adapter {
                path: dir.join(LABELS_FILE),
                message: format!(
                    "lists {} labels but the score head has {rows} rows; the two files come \
                     from different runs",
                    labels.len()
                ),
            });
        }
        Ok(Classifier {
            max_length: trained_max_length(&dir),
            model,
            base: adapters,
            head,
            dir,
            labels,
        })
    }

    /// Per item of `batch`, per label, the probability.
    fn probabilities(&self, batch: &[Item], batch_size: usize) -> Result<Vec<Vec<f64>>, Error> {
        let adapters: Vec<&Lora> = self.base.iter().chain([&self.head]).collect();
        let views: Vec<&[u32]> = batch.iter().map(|i| i.ids.as_slice()).collect();
        tune::train::classify_probabilities(
            &self.model.model,
            &adapters,
            &self.head,
            &views,
            batch_size,
        )
        .map_err(Error::Train)
    }

    /// An item's prediction from its probabilities: the labels at or over their threshold.
    fn prediction(
        &self,
        id: ItemId,
        row: &[f64],
        thresholds: &BTreeMap<String, f64>,
    ) -> Prediction {
        let probabilities: BTreeMap<String, f64> = self
            .labels
            .iter()
            .cloned()
            .zip(row.iter().copied())
            .collect();
        let labels = self
            .labels
            .iter()
            .zip(row)
            .filter(|(l, p)| **p >= thresholds.get(*l).copied().unwrap_or(DEFAULT_THRESHOLD))
            .map(|(l, _)| l.clone())
            .collect();
        Prediction {
            id,
            labels,
            scores: probabilities.clone(),
            probabilities,
        }
    }

    /// The thresholds when none are tuned: the given one, else `thresholds.json`, else 0.5.
    fn thresholds(
        &self,
        given: Option<f64>,
    ) -> Result<(BTreeMap<String, f64>, ThresholdOrigin), Error> {
        let uniform = |t: f64| self.labels.iter().map(|l| (l.clone(), t)).collect();
        if let Some(t) = given {
            return Ok((uniform(t), ThresholdOrigin::Given));
        }
        let path = self.dir.join(THRESHOLDS_FILE);
        if !path.is_file() {
            return Ok((uniform(DEFAULT_THRESHOLD), ThresholdOrigin::Default));
        }
        let text = std::fs::read_to_string(&path).map_err(|source| Error::Io {
            action: "read",
            path: path.clone(),
            source,
        })?;
        let saved: TunedThresholds = serde_json::from_str(&text).map_err(|e| Error::Adapter {
            path: path.clone(),
            message: format!("not a thresholds file: {e}"),
        })?;
        let mut thresholds = BTreeMap::new();
        for label in &self.labels {
            let Some(&t) = saved.thresholds.get(label) else {
                return Err(Error::Adapter {
                    path,
                    message: format!(
                        "has no threshold for label {label}; choose the thresholds again"
                    ),
                });
            };
            thresholds.insert(label.clone(), t);
        }
        Ok((thresholds, ThresholdOrigin::Saved))
    }

    /// Per-label thresholds that maximise each label's F1 on labelled `items`.
    fn tune(
        &self,
        items: &[Item],
        source: &ThresholdSource,
        batch_size: usize,
        progress: &mut dyn FnMut(JobProgress),
        cancel: &CancelToken,
    ) -> Result<TunedThresholds, Error> {
        let tuned_on = match source {
            ThresholdSource::File(path) => path.clone(),
            ThresholdSource::Validation => "validation split".to_owned(),
        };
        if items.is_empty() {
            return Err(Error::Invalid(format!(
                "no labelled items to choose thresholds on in {tuned_on}: lines need `text` and \
                 `labels`, notes gold labels"
            )));
        }
        let mut scores: Vec<Vec<f64>> = Vec::with_capacity(items.len());
        for batch in items.chunks(batch_size.max(1)) {
            if cancel.is_cancelled() {
                return Err(Error::Cancelled);
            }
            scores.extend(self.probabilities(batch, batch_size)?);
            progress(JobProgress {
                stage: "choosing thresholds".to_owned(),
                done: scores.len() as u64,
                total: Some(items.len() as u64),
                unit: "items".to_owned(),
            });
        }
        let mut thresholds = BTreeMap::new();
        let mut f1 = BTreeMap::new();
        for (l, label) in self.labels.iter().enumerate() {
            let column: Vec<f64> = scores
                .iter()
                .map(|r| r.get(l).copied().unwrap_or(0.0))
                .collect();
            let gold: Vec<bool> = items
                .iter()
                .map(|i| i.gold.as_ref().is_some_and(|g| g.contains(label)))
                .collect();
            let (t, f) = tune::eval::classification::best_f1_threshold(&column, &gold)
                .unwrap_or((DEFAULT_THRESHOLD, 0.0));
            thresholds.insert(label.clone(), t);
            f1.insert(label.clone(), f);
        }
        Ok(TunedThresholds {
            thresholds,
            f1,
            tuned_on,
            items: items.len() as u64,
        })
    }

    fn save_thresholds(&self, tuned: &TunedThresholds) -> Result<(), Error> {
        let text = serde_json::to_string_pretty(tuned).expect("thresholds serialise");
        tune::lora::write_atomic(&self.dir.join(THRESHOLDS_FILE), text.as_bytes())
            .map_err(crate::training::writing)
    }

    /// `model:<adapter folder name>`: whose suggestions these are.
    fn annotator(&self) -> String {
        let dir = std::fs::canonicalize(&self.dir).unwrap_or_else(|_| self.dir.clone());
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "classifier".to_owned());
        format!("model:{name}")
    }
}

/// `labels.json` of a classifier adapter folder.
fn read_labels(dir: &Path) -> Result<Vec<String>, Error> {
    let path = dir.join(LABELS_FILE);
    if !path.is_file() {
        return Err(Error::NotAClassifier {
            path,
            missing: "label list (labels.json, the label names in the score head's order)",
        });
    }
    let text = std::fs::read_to_string(&path).map_err(|source| Error::Io {
        action: "read",
        path: path.clone(),
        source,
    })?;
    let labels: Vec<String> = serde_json::from_str(&text).map_err(|e| Error::Adapter {
        path: path.clone(),
        message: format!("must be a JSON list of label names: {e}"),
    })?;
    let distinct: BTreeSet<&String> = labels.iter().collect();
    if labels.is_empty() || distinct.len() != labels.len() {
        return Err(Error::Adapter {
            path,
            message: "must list each label name once".to_owned(),
        });
    }
    Ok(labels)
}

/// The `max_length` of the run that trained the adapter (`train_plan.json`), else the default.
fn trained_max_length(dir: &Path) -> usize {
    std::fs::read_to_string(dir.join(PLAN_FILE))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v["max_length"].as_u64())
        .and_then(|n| usize::try_from(n).ok())
        .filter(|&n| n > 0)
        .unwrap_or(plan::DEFAULT_MAX_LENGTH)
}

/// The good lines of a JSONL file, tokenized, and the bad ones as `FILE:LINE: reason`.
struct ReadItems {
    items: Vec<Item>,
    skipped: Vec<String>,
}

/// Reads `{"text", "id"?, "labels"?}` lines (`train classify --data`'s format); a bad line is
/// reported and the others kept. An error when no line is usable.
fn read_file(path: &Path, builder: &Builder) -> Result<ReadItems, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::ReadFile {
        path: path.to_owned(),
        source,
    })?;
    let mut items = Vec::new();
    let mut skipped = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let number = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        match parse_line(line, number, builder) {
            Ok(item) => items.push(item),
            Err(reason) => skipped.push(format!("{}:{number}: {reason}", path.display())),
        }
    }
    if items.is_empty() {
        return Err(Error::Invalid(format!(
            "{} has no line to predict: each line needs a `text`{}",
            path.display(),
            skipped
                .first()
                .map_or(String::new(), |s| format!(" (first problem: {s})"))
        )));
    }
    Ok(ReadItems { items, skipped })
}

/// One line as an item, or what is wrong with it.
fn parse_line(line: &str, number: usize, builder: &Builder) -> Result<Item, String> {
    let value: serde_json::Value =
        serde_json::from_str(line).map_err(|e| format!("not valid JSON: {e}"))?;
    let serde_json::Value::Object(record) = value else {
        return Err("not a JSON object".to_owned());
    };
    let text = match record.get("text") {
        Some(serde_json::Value::String(t)) if !t.trim().is_empty() => t,
        _ => return Err("`text` must be a non-empty string".to_owned()),
    };
    let id = match record.get("id") {
        None | Some(serde_json::Value::Null) => {
            ItemId::Number(i64::try_from(number).unwrap_or(i64::MAX))
        }
        Some(serde_json::Value::String(s)) => ItemId::Text(s.clone()),
        Some(v) => match v.as_i64() {
            Some(n) => ItemId::Number(n),
            None => return Err("`id` must be a string or an integer".to_owned()),
        },
    };
    let gold = match record.get("labels") {
        None | Some(serde_json::Value::Null) => None,
        Some(v) => Some(record_labels(v)?),
    };
    let ids = builder.document(text).map_err(|e| e.to_string())?;
    Ok(Item { id, ids, gold })
}

/// The project's notes (one split's, or all), with their gold labels where a person has
/// annotated them, as classification training reads them.
fn project_items(
    project: &Project,
    split: Option<Split>,
    builder: &Builder,
) -> Result<Vec<Item>, Error> {
    let db = project.store.db();
    let mut items = Vec::new();
    for note in db.note_ids()? {
        if let Some(split) = split
            && db.note_split(note)?.unwrap_or(Split::Unassigned) != split
        {
            continue;
        }
        items.push(Item {
            id: ItemId::Number(note.0),
            ids: builder
                .document(&db.note_text(note)?)
                .map_err(Error::Train)?,
            gold: crate::training::gold_labels(&db, note)?,
        });
    }
    if items.is_empty() {
        return Err(Error::Invalid(match split {
            Some(s) => format!(
                "the project has no notes in the {} split; a note takes the split of its \
                 preference pairs and SFT examples once they are split (Pairs page), or \
                 use every annotated note instead",
                s.as_str()
            ),
            None => "the project has no notes".to_owned(),
        }));
    }
    Ok(items)
}

/// Writes predicted labels as suggested document labels, one transaction per batch.
struct Suggester {
    annotator: String,
    /// The project's document labels by name.
    labels: BTreeMap<String, api::Label>,
    summary: SuggestionSummary,
}

impl Suggester {
    fn new(project: &Project, classifier: &Classifier) -> Result<Suggester, Error> {
        let labels: BTreeMap<String, api::Label> = project
            .store
            .db()
            .labels()?
            .into_iter()
            .filter(|l| l.scope.allows_docs())
            .map(|l| (l.name.clone(), l))
            .collect();
        let not_in_schema = classifier
            .labels
            .iter()
            .filter(|l| !labels.contains_key(*l))
            .cloned()
            .collect();
        let annotator = classifier.annotator();
        Ok(Suggester {
            summary: SuggestionSummary {
                annotator: annotator.clone(),
                not_in_schema,
                ..SuggestionSummary::default()
            },
            annotator,
            labels,
        })
    }

    /// Suggests each note's predicted labels the schema has, and records how close the
    /// classifier came to its thresholds on the note (for ordering by uncertainty), in one
    /// transaction.
    fn write(
        &mut self,
        project: &mut Project,
        batch: &[Item],
        predictions: &[Prediction],
        thresholds: &BTreeMap<String, f64>,
    ) -> Result<(), Error> {
        let (added, present) = project.store.write(|tx| {
            let (mut added, mut present) = (0u64, 0u64);
            for (item, prediction) in batch.iter().zip(predictions) {
                let ItemId::Number(n) = item.id else {
                    continue;
                };
                let margin = prediction
                    .probabilities
                    .iter()
                    .map(|(label, p)| {
                        (p - thresholds.get(label).copied().unwrap_or(DEFAULT_THRESHOLD)).abs()
                    })
                    .fold(f64::INFINITY, f64::min);
                if margin.is_finite() {
                    tx.set_uncertainty(NoteId(n), margin, &self.annotator)?;
                }
                for name in &prediction.labels {
                    let Some(label) = self.labels.get(name) else {
                        continue;
                    };
                    if crate::annotation::insert_doc_suggestion(
                        tx,
                        NoteId(n),
                        label,
                        &self.annotator,
                    )? {
                        added += 1;
                    } else {
                        present += 1;
                    }
                }
            }
            Ok::<_, Error>((added, present))
        })?;
        self.summary.added += added;
        self.summary.already_present += present;
        Ok(())
    }
}
