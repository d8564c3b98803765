//! Evaluation runs kept in the project: a classifier scored on a split of the project's notes,
//! or two files scored against each other, stored with what was evaluated, the settings, the
//! figures and every item, so that they can be listed, reopened, compared (paired bootstrap and
//! permutation test on the items both share) and plotted (ROC curves) later.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use api::{
    ComparisonReport, EvaluateRequest, Evaluation, EvaluationId, EvaluationItem, EvaluationKind,
    EvaluationSubject, EvaluationSummary, ItemId, ItemValue, JobProgress, MetricSettings,
    MetricsReport, NoteId, Objective, PredictRequest, PredictSource, RocCurve, Split,
};
use serde_json::json;

use crate::Error;
use crate::evaluation::{LabelItem, TextItem, compare_labels, compare_texts, score_labels};
use crate::jobs::CancelToken;
use crate::project::Project;

/// The file a run's saved adapter is in (PEFT's name).
const ADAPTER_FILE: &str = "adapter_model.safetensors";

/// Stores a scored evaluation and its items in one transaction, with an audit entry (ids and
/// counts only); returns it as stored.
pub fn save(
    project: &mut Project,
    actor: &str,
    name: &str,
    subject: &EvaluationSubject,
    settings: &MetricSettings,
    report: &MetricsReport,
    items: &[EvaluationItem],
) -> Result<Evaluation, Error> {
    let name = name.trim();
    if name.is_empty() {
        return Err(Error::Invalid("an evaluation needs a name".to_owned()));
    }
    let id = project.store.write(|tx| {
        let id = tx.insert_evaluation(&store::NewEvaluation {
            name,
            subject,
            settings,
            report,
            items,
        })?;
        tx.audit(
            actor,
            "evaluate",
            "evaluation",
            Some(id.0),
            None,
            &json!({ "kind": report.kind().as_str(), "items": items.len() }),
        )?;
        Ok::<_, Error>(id)
    })?;
    load(project, id)
}

/// The project's stored evaluations, newest first.
pub fn list(project: &Project) -> Result<Vec<EvaluationSummary>, Error> {
    Ok(project.store.db().evaluations()?)
}

/// One stored evaluation with its report and items.
pub fn load(project: &Project, id: EvaluationId) -> Result<Evaluation, Error> {
    Ok(project.store.db().evaluation(id)?)
}

/// Scores a gold and a predictions file (see [`crate::evaluation::metrics_from_files`]) and
/// stores the result, named after the predictions file unless `name` is given.
pub fn save_files(
    project: &mut Project,
    actor: &str,
    gold: &Path,
    pred: &Path,
    settings: &MetricSettings,
    name: Option<&str>,
) -> Result<Evaluation, Error> {
    let (report, items) = crate::evaluation::score_files(gold, pred, settings)?;
    let file_name = |p: &Path| {
        p.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| p.display().to_string())
    };
    let subject = EvaluationSubject {
        model: None,
        adapters: Vec::new(),
        split: None,
        task: None,
        source: format!("{} against {}", pred.display(), gold.display()),
        training_run: None,
    };
    let name = name.map(str::to_owned).unwrap_or_else(|| file_name(pred));
    save(project, actor, &name, &subject, settings, &report, &items)
}

/// Runs a classifier over one split of the project's notes, scores its predictions against
/// the notes' gold document labels and stores the evaluation. Notes without gold document
/// labels are not scored. A cancelled run stores nothing.
pub fn evaluate_classifier(
    project: &mut Project,
    actor: &str,
    request: &EvaluateRequest,
    progress: &mut dyn FnMut(JobProgress),
    cancel: &CancelToken,
) -> Result<Evaluation, Error> {
    let predict = PredictRequest {
        model: request.model.clone(),
        adapters: request.adapters.clone(),
        source: PredictSource::Project {
            split: request.split,
        },
        threshold: request.threshold,
        tune_thresholds_on: None,
        as_suggestions: false,
        batch_size: 8,
        device: request.device,
    };
    let mut predictions = Vec::new();
    let summary = crate::prediction::predict(
        Some(project),
        &predict,
        &mut |p| predictions.push(p.clone()),
        progress,
        cancel,
    )?;
    if summary.cancelled {
        return Err(Error::Cancelled);
    }
    let db = project.store.db();
    let mut scored = Vec::new();
    let mut items = Vec::new();
    for p in predictions {
        let ItemId::Number(n) = p.id else { continue };
        let note = NoteId(n);
        let Some(gold) = crate::training::gold_labels(&db, note)? else {
            continue;
        };
        let item = LabelItem {
            gold,
            predicted: p.labels.iter().cloned().collect(),
            scores: p.probabilities.clone(),
        };
        scored.push(item.clone());
        items.push(label_item(note.to_string(), Some(note), item));
    }
    let split_words = match request.split {
        Some(s) => format!("the project's {} split", s.as_str()),
        None => "the project's notes".to_owned(),
    };
    if scored.is_empty() {
        return Err(Error::Invalid(format!(
            "no note of {split_words} has gold document labels to score against; mark the \
             labels of some of its notes as gold first"
        )));
    }
    let report = MetricsReport::Labels(score_labels(&scored, &request.settings));
    let classifier = request
        .adapters
        .last()
        .map(|a| adapter_name(Path::new(a)))
        .unwrap_or_default();
    let name = request
        .name
        .clone()
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| match request.split {
            Some(s) => format!("{classifier} on {}", s.as_str()),
            None => format!("{classifier} on all notes"),
        });
    let subject = EvaluationSubject {
        model: Some(request.model.clone()),
        adapters: request.adapters.clone(),
        split: request.split,
        task: None,
        source: split_words,
        training_run: request.training_run.clone(),
    };
    save(
        project,
        actor,
        &name,
        &subject,
        &request.settings,
        &report,
        &items,
    )
}

/// The request that scores a training run's classifier on `split` of the project's notes:
/// the model of the run's plan, its frozen base adapter under it and the run's adapter on top.
/// Refuses runs that are not classifiers or have not saved an adapter yet.
pub fn run_request(run: &Path, split: Option<Split>) -> Result<EvaluateRequest, Error> {
    let plan = crate::training::history::resume_request(run)?;
    let name = adapter_name(run);
    if plan.objective != Objective::Classify {
        return Err(Error::Invalid(format!(
            "{name} trained {}; only classifier runs are scored on the project's notes",
            plan.objective.name()
        )));
    }
    if !run.join(ADAPTER_FILE).is_file() {
        return Err(Error::Invalid(format!(
            "{name} has not saved its adapter yet; let it finish, or resume it on the Train page"
        )));
    }
    let run_path = run.display().to_string();
    Ok(EvaluateRequest {
        model: plan.model,
        adapters: plan
            .base_adapter
            .into_iter()
            .chain([run_path.clone()])
            .collect(),
        split,
        threshold: None,
        settings: MetricSettings::default(),
        name: Some(match split {
            Some(s) => format!("{name} on {}", s.as_str()),
            None => format!("{name} on all notes"),
        }),
        training_run: Some(run_path),
        device: plan.device.unwrap_or_default(),
    })
}

/// Compares two stored evaluations on the items both scored (matched by item id, which must
/// have the same gold in both): each headline figure of A and B, a paired bootstrap 95%
/// interval of A − B and a paired permutation p-value.
pub fn compare(
    project: &Project,
    a: EvaluationId,
    b: EvaluationId,
    settings: &MetricSettings,
) -> Result<ComparisonReport, Error> {
    let (ea, eb) = (load(project, a)?, load(project, b)?);
    if ea.summary.kind != eb.summary.kind {
        return Err(Error::Invalid(format!(
            "evaluation {a} scored {} and evaluation {b} {}; only evaluations of the same kind \
             can be compared",
            kind_words(ea.summary.kind),
            kind_words(eb.summary.kind)
        )));
    }
    let by_id: BTreeMap<&str, &EvaluationItem> =
        eb.items.iter().map(|i| (i.id.as_str(), i)).collect();
    let mut pairs = Vec::new();
    let mut unmatched: BTreeSet<String> = BTreeSet::new();
    for item in &ea.items {
        match by_id.get(item.id.as_str()) {
            Some(other) if other.gold == item.gold => pairs.push((item, *other)),
            Some(_) => {
                return Err(Error::Invalid(format!(
                    "item {} has different gold in evaluations {a} and {b}; they did not score \
                     the same answers and cannot be compared",
                    item.id
                )));
            }
            None => {
                unmatched.insert(item.id.clone());
            }
        }
    }
    let in_a: BTreeSet<&str> = ea.items.iter().map(|i| i.id.as_str()).collect();
    unmatched.extend(
        eb.items
            .iter()
            .filter(|i| !in_a.contains(i.id.as_str()))
            .map(|i| i.id.clone()),
    );
    if pairs.is_empty() {
        return Err(Error::Invalid(format!(
            "evaluations {a} and {b} share no item; compare runs scored on the same split or file"
        )));
    }
    let mut report = match ea.summary.kind {
        EvaluationKind::Classification => {
            let (xa, xb): (Vec<LabelItem>, Vec<LabelItem>) = pairs
                .iter()
                .map(|(x, y)| Ok((as_label_item(x)?, as_label_item(y)?)))
                .collect::<Result<Vec<_>, Error>>()?
                .into_iter()
                .unzip();
            compare_labels(&xa, &xb, settings)
        }
        EvaluationKind::Generation => {
            let (xa, xb): (Vec<TextItem>, Vec<TextItem>) = pairs
                .iter()
                .map(|(x, y)| Ok((as_text_item(x)?, as_text_item(y)?)))
                .collect::<Result<Vec<_>, Error>>()?
                .into_iter()
                .unzip();
            compare_texts(&xa, &xb, settings)
        }
    };
    report.unmatched = unmatched.into_iter().collect();
    Ok(report)
}

/// Each label's ROC curve from an evaluation's stored scores: labels scored on every item
/// whose gold has both classes (the labels that have an AUROC).
pub fn roc_curves(evaluation: &Evaluation) -> Vec<RocCurve> {
    let mut items = Vec::new();
    for i in &evaluation.items {
        match as_label_item(i) {
            Ok(item) => items.push(item),
            Err(_) => return Vec::new(),
        }
    }
    let labels: BTreeSet<&String> = items.iter().flat_map(|i| i.scores.keys()).collect();
    labels
        .into_iter()
        .filter_map(|label| {
            let scored: Option<Vec<(f64, bool)>> = items
                .iter()
                .map(|i| Some((*i.scores.get(label)?, i.gold.contains(label))))
                .collect();
            roc_curve(label, scored?)
        })
        .collect()
}

/// One label's ROC curve: one point per distinct score, from the highest down, so tied
/// scores make one diagonal step (as scikit-learn's `roc_curve` with all thresholds kept).
fn roc_curve(label: &str, mut scored: Vec<(f64, bool)>) -> Option<RocCurve> {
    if scored.iter().any(|(s, _)| !s.is_finite()) {
        return None;
    }
    let positives = scored.iter().filter(|(_, p)| *p).count();
    let negatives = scored.len() - positives;
    if positives == 0 || negatives == 0 {
        return None;
    }
    scored.sort_by(|x, y| y.0.total_cmp(&x.0));
    let (p, n) = (positives as f64, negatives as f64);
    let mut points = vec![[0.0, 0.0]];
    let (mut tp, mut fp) = (0usize, 0usize);
    let mut auroc = 0.0;
    let mut at = 0;
    while at < scored.len() {
        let score = scored[at].0;
        while at < scored.len() && scored[at].0 == score {
            if scored[at].1 {
                tp += 1;
            } else {
                fp += 1;
            }
            at += 1;
        }
        let point = [fp as f64 / n, tp as f64 / p];
        if let Some(last) = points.last() {
            auroc += (point[0] - last[0]) * (point[1] + last[1]) / 2.0;
        }
        points.push(point);
    }
    Some(RocCurve {
        label: label.to_owned(),
        points,
        auroc,
        positives: positives as u64,
        negatives: negatives as u64,
    })
}

/// A scored label item as stored.
pub(crate) fn label_item(id: String, note: Option<NoteId>, item: LabelItem) -> EvaluationItem {
    EvaluationItem {
        id,
        note,
        gold: ItemValue::Labels {
            labels: item.gold.into_iter().collect(),
            scores: BTreeMap::new(),
        },
        predicted: ItemValue::Labels {
            labels: item.predicted.into_iter().collect(),
            scores: item.scores,
        },
    }
}

fn as_label_item(item: &EvaluationItem) -> Result<LabelItem, Error> {
    match (&item.gold, &item.predicted) {
        (
            ItemValue::Labels { labels: gold, .. },
            ItemValue::Labels {
                labels: predicted,
                scores,
            },
        ) => Ok(LabelItem {
            gold: gold.iter().cloned().collect(),
            predicted: predicted.iter().cloned().collect(),
            scores: scores.clone(),
        }),
        _ => Err(Error::Invalid(format!(
            "item {} of a classification evaluation holds texts, not labels",
            item.id
        ))),
    }
}

fn as_text_item(item: &EvaluationItem) -> Result<TextItem, Error> {
    match (&item.gold, &item.predicted) {
        (ItemValue::Text { text: reference }, ItemValue::Text { text: prediction }) => {
            Ok(TextItem {
                reference: reference.clone(),
                prediction: prediction.clone(),
            })
        }
        _ => Err(Error::Invalid(format!(
            "item {} of a generation evaluation holds labels, not texts",
            item.id
        ))),
    }
}

fn kind_words(kind: EvaluationKind) -> &'static str {
    match kind {
        EvaluationKind::Classification => "label sets",
        EvaluationKind::Generation => "texts",
    }
}

/// A short name for an adapter: its run folder's name when it is a run's `adapter` folder.
fn adapter_name(path: &Path) -> String {
    let name = |p: &Path| p.file_name().map(|n| n.to_string_lossy().into_owned());
    match name(path) {
        Some(n) if n == "adapter" => path.parent().and_then(name).unwrap_or(n),
        Some(n) => n,
        None => path.display().to_string(),
    }
}

#[cfg(test)]
mod tests;
