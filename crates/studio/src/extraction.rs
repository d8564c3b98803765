//! Reading structured answers out of real model output, and finding their evidence in the note.
//!
//! Small models wrap JSON in prose or ```json fences, leave trailing commas, write Python's
//! `True`/`None` or single quotes, forget fields, or stop mid-answer at the token budget.
//! [`parse_extraction`] repairs what it safely can (a cut-off answer keeps its complete
//! mentions) and otherwise says why it could not read the output, which is then stored as
//! unparsed with that reason. [`locate`] finds an evidence string in the note — exactly, or
//! ignoring case, spacing, quotes and a final period — so it can become a suggested span.

use std::collections::BTreeMap;

use api::{Label, NoteDetail};
use serde_json::{Value, json};

/// One mention an `extract` output gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mention {
    /// The category as written (`HOUSING`, `social support`).
    pub category: Option<String>,
    /// Whether the model called it adverse.
    pub adverse: Option<bool>,
    /// The evidence text the model quoted.
    pub evidence: Option<String>,
}

/// What an `extract` output says, and what was missing or repaired in it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Extraction {
    /// The mentions, in output order.
    pub mentions: Vec<Mention>,
    /// Problems that did not stop the reading (missing fields, repairs).
    pub warnings: Vec<String>,
}

impl Extraction {
    /// The stored JSON form: `{"mentions": [...], "warnings": [...]}`.
    pub fn to_json(&self) -> Value {
        let mentions: Vec<Value> = self
            .mentions
            .iter()
            .map(
                |m| json!({ "category": m.category, "adverse": m.adverse, "evidence": m.evidence }),
            )
            .collect();
        json!({ "mentions": mentions, "warnings": self.warnings })
    }
}

/// Reads the mentions of an `extract` output; `Err` says why it is not readable.
pub fn parse_extraction(output: &str) -> Result<Extraction, String> {
    let (value, mut warnings) = find_json(output)?;
    let items: Vec<Value> = match value {
        Value::Array(items) => items,
        Value::Object(map) => {
            let list = [
                "mentions", "sdoh", "results", "entities", "items", "findings",
            ]
            .iter()
            .find_map(|k| map.get(*k).and_then(Value::as_array).cloned())
            .or_else(|| map.values().find_map(|v| v.as_array().cloned()));
            match list {
                Some(items) => items,
                None if ["category", "evidence", "label"]
                    .iter()
                    .any(|k| map.contains_key(*k)) =>
                {
                    vec![Value::Object(map)]
                }
                None => {
                    return Err(
                        "the JSON object has no list of mentions (expected {\"mentions\": [...]})"
                            .to_owned(),
                    );
                }
            }
        }
        other => {
            return Err(format!(
                "expected a JSON object or list of mentions, found {}",
                kind_of(&other)
            ));
        }
    };
    let mut mentions = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let n = i + 1;
        let Value::Object(map) = item else {
            warnings.push(format!("mention {n} is not an object; skipped"));
            continue;
        };
        let text = |keys: &[&str]| {
            keys.iter().find_map(|k| match map.get(*k) {
                Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_owned()),
                _ => None,
            })
        };
        let category = text(&["category", "label", "type", "sdoh"]);
        let evidence = text(&["evidence", "text", "span", "quote", "sentence"]);
        let adverse = match map.get("adverse") {
            Some(Value::Bool(b)) => Some(*b),
            Some(Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "yes" | "adverse" | "1" => Some(true),
                "false" | "no" | "nonadverse" | "non-adverse" | "0" => Some(false),
                _ => None,
            },
            Some(Value::Number(x)) => x.as_i64().map(|x| x != 0),
            _ => None,
        };
        if category.is_none() {
            warnings.push(format!("mention {n} has no category"));
        }
        if evidence.is_none() {
            warnings.push(format!("mention {n} has no evidence"));
        }
        if adverse.is_none() {
            warnings.push(format!("mention {n} has no adverse flag"));
        }
        mentions.push(Mention {
            category,
            adverse,
            evidence,
        });
    }
    Ok(Extraction { mentions, warnings })
}

/// Reads the labels of a `classify` output: `{"labels": [...]}`, a list, or one string.
pub fn parse_labels(output: &str) -> Result<Vec<String>, String> {
    let (value, _) = find_json(output)?;
    let list = match value {
        Value::Object(map) => map
            .get("labels")
            .or_else(|| map.get("label"))
            .cloned()
            .ok_or_else(|| "the JSON object has no \"labels\"".to_owned())?,
        other => other,
    };
    match list {
        Value::Array(items) => Ok(items
            .into_iter()
            .filter_map(|v| v.as_str().map(|s| s.trim().to_owned()))
            .filter(|s| !s.is_empty())
            .collect()),
        Value::String(s) => Ok(vec![s.trim().to_owned()]),
        other => Err(format!(
            "expected a list of labels, found {}",
            kind_of(&other)
        )),
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// The first JSON value in `output` (inside a ```json fence if there is one), repaired;
/// with warnings about repairs.
fn find_json(output: &str) -> Result<(Value, Vec<String>), String> {
    let body = match output.find("```") {
        Some(open) => {
            let after = output.get(open + 3..).unwrap_or_default();
            // Skip the info string (`json`) up to the end of the line.
            let after = after
                .find('\n')
                .map_or("", |nl| after.get(nl + 1..).unwrap_or_default());
            match after.find("```") {
                Some(close) => after.get(..close).unwrap_or_default(),
                None => after,
            }
        }
        None => output,
    };
    let start = body
        .find(['{', '['])
        .ok_or_else(|| "no JSON object or list in the output".to_owned())?;
    let candidate = body.get(start..).unwrap_or_default();
    if let Some(Ok(value)) = serde_json::Deserializer::from_str(candidate)
        .into_iter::<Value>()
        .next()
    {
        return Ok((value, Vec::new()));
    }
    let (repaired, notes) = repair(candidate);
    serde_json::from_str::<Value>(&repaired)
        .map(|v| (v, notes))
        .map_err(|e| format!("the JSON in the output is malformed even after repair: {e}"))
}

/// Rewrites near-JSON into JSON: drops trailing commas, turns single-quoted strings and Python
/// literals into JSON, quotes bare keys, stops after the first complete value, and closes a
/// value cut off mid-way at its last complete element.
fn repair(input: &str) -> (String, Vec<String>) {
    let mut out = String::with_capacity(input.len() + 8);
    let mut notes = Vec::new();
    let mut stack: Vec<char> = Vec::new();
    // (length of `out`, stack) after each complete element: where a cut-off value can end.
    let mut safe: Option<(usize, Vec<char>)> = None;
    let mut chars = input.char_indices().peekable();
    let mut complete = false;
    while let Some((i, c)) = chars.next() {
        match c {
            '"' | '\'' => {
                let quote = c;
                out.push('"');
                let mut closed = false;
                while let Some((_, d)) = chars.next() {
                    match d {
                        '\\' => {
                            out.push('\\');
                            if let Some((_, e)) = chars.next() {
                                out.push(e);
                            }
                        }
                        d if d == quote => {
                            closed = true;
                            break;
                        }
                        '"' => out.push_str("\\\""),
                        '\n' => out.push_str("\\n"),
                        d => out.push(d),
                    }
                }
                if !closed {
                    break;
                }
                out.push('"');
                if quote == '\'' && !notes.iter().any(|n: &String| n.contains("single")) {
                    notes.push("single-quoted strings read as JSON strings".to_owned());
                }
            }
            '{' | '[' => {
                stack.push(if c == '{' { '}' } else { ']' });
                out.push(c);
            }
            '}' | ']' => {
                // A trailing comma before the close is dropped.
                let trimmed = out.trim_end().len();
                if out.get(..trimmed).is_some_and(|s| s.ends_with(',')) {
                    out.truncate(trimmed - 1);
                    if !notes.iter().any(|n| n.contains("trailing")) {
                        notes.push("trailing commas removed".to_owned());
                    }
                }
                if stack.last() == Some(&c) {
                    stack.pop();
                }
                out.push(c);
                if stack.is_empty() {
                    complete = true;
                    break;
                }
                safe = Some((out.len(), stack.clone()));
            }
            ',' => {
                safe = Some((out.len(), stack.clone()));
                out.push(c);
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let mut word = String::from(c);
                while let Some(&(_, d)) = chars.peek() {
                    if d.is_ascii_alphanumeric() || d == '_' {
                        word.push(d);
                        chars.next();
                    } else {
                        break;
                    }
                }
                let rest = input.get(i + word.len()..).unwrap_or_default();
                match word.as_str() {
                    "true" | "false" | "null" => out.push_str(&word),
                    "True" => out.push_str("true"),
                    "False" => out.push_str("false"),
                    "None" => out.push_str("null"),
                    _ if rest.trim_start().starts_with(':') => {
                        out.push('"');
                        out.push_str(&word);
                        out.push('"');
                    }
                    _ => out.push_str(&word),
                }
            }
            c => out.push(c),
        }
    }
    if !complete && !stack.is_empty() {
        notes.push("the answer was cut off; kept its complete part".to_owned());
        if let Some((len, at)) = safe {
            out.truncate(len);
            stack = at;
        }
        let trimmed = out.trim_end().trim_end_matches(',').len();
        out.truncate(trimmed);
        while let Some(close) = stack.pop() {
            out.push(close);
        }
    }
    (out, notes)
}

/// Where `evidence` is in `text`: byte offsets of an exact match, else of a match that ignores
/// case, runs of whitespace, surrounding quotes and a final period. `used` ranges are skipped
/// when another occurrence exists.
pub fn locate(text: &str, evidence: &str, used: &[(usize, usize)]) -> Option<(usize, usize)> {
    let needle = evidence
        .trim()
        .trim_matches(|c| matches!(c, '"' | '\'' | '“' | '”' | '‘' | '’' | '`'))
        .trim_end_matches(['…'])
        .trim_end_matches("...")
        .trim_end_matches(['.', ';', ','])
        .trim();
    if needle.is_empty() {
        return None;
    }
    let exact: Vec<(usize, usize)> = text
        .match_indices(needle)
        .map(|(s, m)| (s, s + m.len()))
        .collect();
    // Normalised: lower case, one space for any whitespace run; each normalised char keeps
    // the byte range of the source char it came from.
    let (hay, map) = normalise(text);
    let (pin, _) = normalise(needle);
    let pin = pin.trim();
    let loose: Vec<(usize, usize)> = if pin.is_empty() {
        Vec::new()
    } else {
        hay.match_indices(pin)
            .filter_map(|(s, m)| {
                let first = map.get(hay.get(..s)?.chars().count())?;
                let last = map.get(hay.get(..s + m.len())?.chars().count().checked_sub(1)?)?;
                Some((first.0, last.1))
            })
            .collect()
    };
    let unused = |found: &[(usize, usize)]| found.iter().find(|r| !used.contains(r)).copied();
    unused(&exact)
        .or_else(|| unused(&loose))
        .or_else(|| exact.first().copied())
        .or_else(|| loose.first().copied())
}

/// Lower-cased text with whitespace runs as one space, and each char's source byte range.
fn normalise(text: &str) -> (String, Vec<(usize, usize)>) {
    let mut out = String::with_capacity(text.len());
    let mut map = Vec::with_capacity(text.len());
    let mut in_space = false;
    for (i, c) in text.char_indices() {
        let range = (i, i + c.len_utf8());
        if c.is_whitespace() {
            if !in_space {
                out.push(' ');
                map.push(range);
            }
            in_space = true;
            continue;
        }
        in_space = false;
        let c = match c {
            '“' | '”' => '"',
            '‘' | '’' => '\'',
            c => c,
        };
        for l in c.to_lowercase() {
            out.push(l);
            map.push(range);
        }
    }
    (out, map)
}

/// The project's span label a model's category names: the same name ignoring case and
/// punctuation, or a label whose name the category contains (`social support` → SUPPORT).
pub fn match_label<'l>(category: &str, labels: &'l [Label]) -> Option<&'l Label> {
    let key = |s: &str| -> String {
        s.chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_uppercase())
            .collect()
    };
    let wanted = key(category);
    if wanted.is_empty() {
        return None;
    }
    let spans = || labels.iter().filter(|l| l.scope.allows_spans());
    spans().find(|l| key(&l.name) == wanted).or_else(|| {
        spans()
            .filter(|l| key(&l.name).len() >= 4 && wanted.contains(&key(&l.name)))
            .max_by_key(|l| l.name.len())
    })
}

/// The answer a careful annotator's gold spans give for the SDoH extraction task, in the
/// format the task asks for (few-shot examples, scripted demo corrections).
pub fn gold_answer(note: &NoteDetail) -> String {
    let mentions: Vec<Value> = note
        .spans
        .iter()
        .filter(|s| s.status == api::AnnotationStatus::Gold)
        .map(|s| {
            let evidence: Vec<&str> = s
                .fragments
                .iter()
                .filter_map(|f| note.text.get(f.start..f.end))
                .collect();
            json!({
                "category": s.label,
                "adverse": s.attributes.get("adverse").map(|a| a == "true"),
                "evidence": evidence.join(" "),
            })
        })
        .collect();
    json!({ "mentions": mentions }).to_string()
}

/// The answer gold document labels give for a `classify` task: `{"labels": [...]}`.
pub fn gold_labels_answer(note: &NoteDetail) -> String {
    let labels: Vec<&str> = note
        .doc_labels
        .iter()
        .filter(|d| d.status == api::AnnotationStatus::Gold)
        .map(|d| d.label.as_str())
        .collect();
    json!({ "labels": labels }).to_string()
}

/// A span an extraction suggests: label, byte range and attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suggestion {
    /// Label name.
    pub label: String,
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
    /// `adverse` when the label has that attribute and the model said.
    pub attributes: BTreeMap<String, String>,
}

/// The suggested spans of an extraction on a note: mentions whose category is a span label
/// and whose evidence is found; the rest are counted in the returned reasons.
pub fn suggestions(
    extraction: &Extraction,
    text: &str,
    labels: &[Label],
) -> (Vec<Suggestion>, Vec<String>) {
    let mut out: Vec<Suggestion> = Vec::new();
    let mut skipped = Vec::new();
    let mut used: Vec<(usize, usize)> = Vec::new();
    for (i, m) in extraction.mentions.iter().enumerate() {
        let n = i + 1;
        let (Some(category), Some(evidence)) = (&m.category, &m.evidence) else {
            continue;
        };
        let Some(label) = match_label(category, labels) else {
            skipped.push(format!("mention {n}: no span label matches {category:?}"));
            continue;
        };
        let Some((start, end)) = locate(text, evidence, &used) else {
            skipped.push(format!("mention {n}: evidence not found in the note"));
            continue;
        };
        let mut attributes = BTreeMap::new();
        if let Some(adverse) = m.adverse
            && label.attributes.iter().any(|a| a.name == "adverse")
        {
            attributes.insert("adverse".to_owned(), adverse.to_string());
        }
        if out
            .iter()
            .any(|s| s.label == label.name && s.start == start && s.end == end)
        {
            continue;
        }
        used.push((start, end));
        out.push(Suggestion {
            label: label.name.clone(),
            start,
            end,
            attributes,
        });
    }
    (out, skipped)
}

#[cfg(test)]
mod tests;
