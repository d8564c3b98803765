//! Evaluation runs: what was evaluated, how it was scored, the report and every item's gold
//! and prediction, written once in one transaction and read back whole or as a list.

use api::{
    Evaluation, EvaluationId, EvaluationItem, EvaluationKind, EvaluationSubject, EvaluationSummary,
    MetricSettings, MetricsReport, NoteId, Split,
};
use rusqlite::{OptionalExtension, params};

use crate::db::{Db, Tx};
use crate::error::{Error, Result};

/// An evaluation about to be stored.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvaluation<'a> {
    /// A short name.
    pub name: &'a str,
    /// What was evaluated.
    pub subject: &'a EvaluationSubject,
    /// How it was scored.
    pub settings: &'a MetricSettings,
    /// The figures.
    pub report: &'a MetricsReport,
    /// Every item, in the order scored.
    pub items: &'a [EvaluationItem],
}

const SUMMARY_COLUMNS: &str = "id, name, created_at, kind, model, adapters, split, task, source, training_run, items, \
     metrics";

/// Reads a JSON column, naming the row when it cannot be read: stored data that does not
/// parse is an error, never a default.
fn json<T: serde::de::DeserializeOwned>(text: &str, column: &str, id: i64) -> Result<T> {
    serde_json::from_str(text).map_err(|e| {
        Error::Invalid(format!(
            "evaluation {id} cannot be read: its {column} is not valid ({e}); the project file \
             may be damaged"
        ))
    })
}

/// A row of `evaluations` before its JSON is read.
struct SummaryRow {
    id: i64,
    name: String,
    created_at: String,
    kind: String,
    model: Option<String>,
    adapters: String,
    split: Option<String>,
    task: Option<String>,
    source: String,
    training_run: Option<String>,
    items: i64,
    metrics: String,
}

impl SummaryRow {
    fn read(r: &rusqlite::Row<'_>) -> rusqlite::Result<SummaryRow> {
        Ok(SummaryRow {
            id: r.get(0)?,
            name: r.get(1)?,
            created_at: r.get(2)?,
            kind: r.get(3)?,
            model: r.get(4)?,
            adapters: r.get(5)?,
            split: r.get(6)?,
            task: r.get(7)?,
            source: r.get(8)?,
            training_run: r.get(9)?,
            items: r.get(10)?,
            metrics: r.get(11)?,
        })
    }

    fn summary(self) -> Result<(EvaluationSummary, MetricsReport)> {
        let id = self.id;
        let kind = EvaluationKind::parse(&self.kind).ok_or_else(|| {
            Error::Invalid(format!(
                "evaluation {id} cannot be read: its kind {:?} is not one this version knows",
                self.kind
            ))
        })?;
        let split = match self.split.as_deref() {
            None => None,
            Some(s) => Some(Split::parse(s).ok_or_else(|| {
                Error::Invalid(format!(
                    "evaluation {id} cannot be read: its split {s:?} is not a split"
                ))
            })?),
        };
        let report: MetricsReport = json(&self.metrics, "report", id)?;
        let summary = EvaluationSummary {
            id: EvaluationId(id),
            name: self.name,
            created_at: self.created_at,
            kind,
            subject: EvaluationSubject {
                model: self.model,
                adapters: json(&self.adapters, "adapter list", id)?,
                split,
                task: self.task,
                source: self.source,
                training_run: self.training_run,
            },
            items: u64::try_from(self.items).unwrap_or(0),
            headline: report.headline(),
        };
        Ok((summary, report))
    }
}

impl Tx<'_> {
    /// Stores an evaluation and its items; returns its id.
    pub fn insert_evaluation(&self, e: &NewEvaluation<'_>) -> Result<EvaluationId> {
        let to_json = |what: &'static str, v: serde_json::Result<String>| {
            v.map_err(|err| Error::Invalid(format!("cannot store the evaluation's {what}: {err}")))
        };
        let adapters = to_json("adapters", serde_json::to_string(&e.subject.adapters))?;
        let settings = to_json("settings", serde_json::to_string(e.settings))?;
        let report = to_json("report", serde_json::to_string(e.report))?;
        self.conn()
            .prepare_cached(
                "INSERT INTO evaluations (kind, split, model, adapter, metrics, name, adapters,
                     task, source, settings, training_run, items)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    e.report.kind().as_str(),
                    e.subject.split.map(Split::as_str),
                    e.subject.model,
                    e.subject.adapters.last(),
                    report,
                    e.name,
                    adapters,
                    e.subject.task,
                    e.subject.source,
                    settings,
                    e.subject.training_run,
                    e.items.len() as i64,
                ])
            })
            .map_err(Error::sql("saving an evaluation"))?;
        let id = self.conn().last_insert_rowid();
        let mut insert = self
            .conn()
            .prepare_cached(
                "INSERT INTO evaluation_items (evaluation_id, position, item, note_id, gold,
                     predicted)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .map_err(Error::sql("saving an evaluation's items"))?;
        for (position, item) in e.items.iter().enumerate() {
            let gold = to_json("gold", serde_json::to_string(&item.gold))?;
            let predicted = to_json("predictions", serde_json::to_string(&item.predicted))?;
            insert
                .execute(params![
                    id,
                    position as i64,
                    item.id,
                    item.note.map(|n| n.0),
                    gold,
                    predicted
                ])
                .map_err(Error::sql("saving an evaluation's items"))?;
        }
        Ok(EvaluationId(id))
    }
}

impl Db<'_> {
    /// The stored evaluations, newest first.
    pub fn evaluations(&self) -> Result<Vec<EvaluationSummary>> {
        let sql = format!("SELECT {SUMMARY_COLUMNS} FROM evaluations ORDER BY id DESC");
        let rows = self
            .conn
            .prepare_cached(&sql)
            .and_then(|mut s| {
                s.query_map([], SummaryRow::read)?
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .map_err(Error::sql("listing evaluations"))?;
        rows.into_iter()
            .map(|r| r.summary().map(|(summary, _)| summary))
            .collect()
    }

    /// One stored evaluation with its settings, report and items.
    pub fn evaluation(&self, id: EvaluationId) -> Result<Evaluation> {
        let sql = format!("SELECT {SUMMARY_COLUMNS}, settings FROM evaluations WHERE id = ?1");
        let row = self
            .conn
            .prepare_cached(&sql)
            .and_then(|mut s| {
                s.query_row([id.0], |r| {
                    Ok((SummaryRow::read(r)?, r.get::<_, String>(12)?))
                })
                .optional()
            })
            .map_err(Error::sql("reading an evaluation"))?
            .ok_or_else(|| Error::NotFound {
                what: "evaluation",
                id: id.to_string(),
            })?;
        let (summary_row, settings) = row;
        let settings: MetricSettings = json(&settings, "settings", id.0)?;
        let (summary, report) = summary_row.summary()?;
        let rows = self
            .conn
            .prepare_cached(
                "SELECT item, note_id, gold, predicted FROM evaluation_items
                 WHERE evaluation_id = ?1 ORDER BY position",
            )
            .and_then(|mut s| {
                s.query_map([id.0], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, Option<i64>>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                    ))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()
            })
            .map_err(Error::sql("reading an evaluation's items"))?;
        let items = rows
            .into_iter()
            .map(|(item, note, gold, predicted)| {
                Ok(EvaluationItem {
                    gold: json(&gold, &format!("gold for item {item}"), id.0)?,
                    predicted: json(&predicted, &format!("prediction for item {item}"), id.0)?,
                    note: note.map(NoteId),
                    id: item,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Evaluation {
            summary,
            settings,
            report,
            items,
        })
    }
}

#[cfg(test)]
mod tests;
