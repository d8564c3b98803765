//! Reading gold and prediction JSONL: one object per line with an `"id"`, checked field by
//! field so that a malformed line is reported as `FILE:LINE: reason`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use api::UnmatchedIds;
use serde_json::{Map, Value};

use super::{LabelItem, TextItem};
use crate::Error;

/// One JSONL line: its number, id and fields.
pub(super) struct Row {
    pub(super) line: usize,
    pub(super) id: String,
    pub(super) fields: Map<String, Value>,
}

pub(super) fn read_jsonl(path: &Path) -> Result<Vec<Row>, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::ReadFile {
        path: path.to_owned(),
        source,
    })?;
    let bad = |line: usize, message: String| Error::BadLine {
        path: path.to_owned(),
        line,
        message,
    };
    let mut rows = Vec::new();
    let mut first_line: HashMap<String, usize> = HashMap::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        if raw.trim().is_empty() {
            continue;
        }
        let fields = match serde_json::from_str::<Value>(raw) {
            Ok(Value::Object(fields)) => fields,
            Ok(_) => return Err(bad(line, "not a JSON object".to_owned())),
            Err(e) => return Err(bad(line, format!("not valid JSON ({e})"))),
        };
        let id = match fields.get("id") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) if n.is_i64() || n.is_u64() => n.to_string(),
            Some(_) => {
                return Err(bad(
                    line,
                    "\"id\" must be a string or an integer".to_owned(),
                ));
            }
            None => return Err(bad(line, "no \"id\"".to_owned())),
        };
        if let Some(first) = first_line.insert(id.clone(), line) {
            return Err(bad(line, format!("id {id:?} is already on line {first}")));
        }
        rows.push(Row { line, id, fields });
    }
    Ok(rows)
}

/// Gold rows with their predictions, in gold's order, and the ids on one side only.
pub(super) fn join<'a>(
    gold: &'a [Row],
    pred: &'a [Row],
) -> (Vec<(&'a Row, &'a Row)>, UnmatchedIds) {
    let by_id: HashMap<&str, &Row> = pred.iter().map(|r| (r.id.as_str(), r)).collect();
    let gold_ids: BTreeSet<&str> = gold.iter().map(|r| r.id.as_str()).collect();
    let mut pairs = Vec::new();
    let mut unmatched = UnmatchedIds::default();
    for g in gold {
        match by_id.get(g.id.as_str()) {
            Some(p) => pairs.push((g, *p)),
            None => unmatched.gold_only.push(g.id.clone()),
        }
    }
    unmatched.pred_only = pred
        .iter()
        .filter(|p| !gold_ids.contains(p.id.as_str()))
        .map(|p| p.id.clone())
        .collect();
    (pairs, unmatched)
}

fn text_field(path: &Path, row: &Row) -> Result<String, Error> {
    match row.fields.get("text") {
        Some(Value::String(s)) => Ok(s.clone()),
        _ => Err(Error::BadLine {
            path: path.to_owned(),
            line: row.line,
            message:
                "\"text\" must be a string (the first gold line has text, so every line needs it)"
                    .to_owned(),
        }),
    }
}

fn labels_field(path: &Path, row: &Row) -> Result<BTreeSet<String>, Error> {
    let bad = || Error::BadLine {
        path: path.to_owned(),
        line: row.line,
        message: "\"labels\" must be a list of label names, e.g. [\"HOUSING\"] or []".to_owned(),
    };
    let Some(Value::Array(values)) = row.fields.get("labels") else {
        return Err(bad());
    };
    values
        .iter()
        .map(|v| v.as_str().map(str::to_owned).ok_or_else(bad))
        .collect()
}

fn scores_field(path: &Path, row: &Row) -> Result<BTreeMap<String, f64>, Error> {
    let bad = |message: String| Error::BadLine {
        path: path.to_owned(),
        line: row.line,
        message,
    };
    let scores = match row.fields.get("scores") {
        None | Some(Value::Null) => return Ok(BTreeMap::new()),
        Some(Value::Object(scores)) => scores,
        Some(_) => {
            return Err(bad(
                "\"scores\" must be an object of label → number, e.g. {\"HOUSING\": 0.83}"
                    .to_owned(),
            ));
        }
    };
    scores
        .iter()
        .map(|(label, v)| match v.as_f64().filter(|x| x.is_finite()) {
            Some(x) => Ok((label.clone(), x)),
            None => Err(bad(format!(
                "the score of {label:?} is not a finite number"
            ))),
        })
        .collect()
}

/// A label scored on some predictions must be scored on all, or its AUROC would silently
/// cover a subset; the first prediction without it is reported.
fn check_scores_complete(
    path: &Path,
    pairs: &[(&Row, &Row)],
    items: &[LabelItem],
) -> Result<(), Error> {
    let scored: BTreeSet<&String> = items.iter().flat_map(|i| i.scores.keys()).collect();
    for label in scored {
        let missing = pairs
            .iter()
            .zip(items)
            .find(|(_, item)| !item.scores.contains_key(label));
        if let Some(((_, p), _)) = missing {
            return Err(Error::BadLine {
                path: path.to_owned(),
                line: p.line,
                message: format!(
                    "no score for {label:?}, which other lines score; give every line the same labels in \"scores\""
                ),
            });
        }
    }
    Ok(())
}

pub(super) fn is_text(path: &Path, gold: &[Row]) -> Result<bool, Error> {
    let first = gold.first().ok_or_else(|| Error::BadLine {
        path: path.to_owned(),
        line: 1,
        message: "the file holds no items".to_owned(),
    })?;
    Ok(!first.fields.contains_key("labels") && first.fields.contains_key("text"))
}

/// Every line, matched or not, has the fields of its kind: a malformed line is reported even
/// when its id is in one file only.
pub(super) fn check_fields(path: &Path, rows: &[Row], is_text: bool) -> Result<(), Error> {
    for row in rows {
        if is_text {
            text_field(path, row)?;
        } else {
            labels_field(path, row)?;
            scores_field(path, row)?;
        }
    }
    Ok(())
}

pub(super) fn text_items(
    gold_path: &Path,
    pred_path: &Path,
    pairs: &[(&Row, &Row)],
) -> Result<Vec<TextItem>, Error> {
    pairs
        .iter()
        .map(|(g, p)| {
            Ok(TextItem {
                reference: text_field(gold_path, g)?,
                prediction: text_field(pred_path, p)?,
            })
        })
        .collect()
}

pub(super) fn label_items(
    gold_path: &Path,
    pred_path: &Path,
    pairs: &[(&Row, &Row)],
) -> Result<Vec<LabelItem>, Error> {
    let mut items = Vec::with_capacity(pairs.len());
    for (g, p) in pairs {
        items.push(LabelItem {
            gold: labels_field(gold_path, g)?,
            predicted: labels_field(pred_path, p)?,
            scores: scores_field(pred_path, p)?,
        });
    }
    check_scores_complete(pred_path, pairs, &items)?;
    Ok(items)
}
