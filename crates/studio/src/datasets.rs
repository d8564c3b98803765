//! The datasets reviews make — preference pairs and SFT examples — listed, split by note, and
//! written or read as the JSONL that TRL (and most other trainers) read.
//!
//! TRL's formats (huggingface.co/docs/trl/dataset_formats): a preference line is
//! `{"prompt", "chosen", "rejected"}`, plain strings in the standard form or, in the
//! conversational form, a list of `{"role", "content"}` messages for the prompt and a
//! one-message assistant list for each completion. An SFT line is `{"prompt", "completion"}`
//! (standard) or `{"messages": [...]}` (conversational language modelling, the last message
//! the assistant's). Exports write exactly those fields; imports read all of these forms (and
//! the conversational prompt-completion form), keep the good lines and report the bad ones as
//! `FILE:LINE: reason`.
//!
//! A plain-string prompt is the text the model saw (chat template applied); a conversational
//! prompt is the messages before the template.

use std::io::{BufRead, Write};
use std::path::Path;

use api::{
    ChatMessage, DatasetExportRequest, DatasetExportSummary, DatasetFormat, DatasetImportSummary,
    NoteId, PairOrigin, PreferencePair, Rejection, SftExample, SftOrigin, Split, SplitRequest,
    SplitSummary,
};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use store::{DatasetTable, Tx};

use crate::error::Error;
use crate::project::Project;

/// Preference pairs, oldest first (one split or all).
pub fn pairs(project: &Project, split: Option<Split>) -> Result<Vec<PreferencePair>, Error> {
    Ok(project.store.db().pairs(split)?)
}

/// SFT examples, oldest first (one split or all).
pub fn sft_examples(project: &Project, split: Option<Split>) -> Result<Vec<SftExample>, Error> {
    Ok(project.store.db().sft_examples(split)?)
}

/// What groups rows for splitting: the note, or (no note) the prompt.
pub(crate) fn group_key(note: Option<NoteId>, prompt: &str) -> String {
    match note {
        Some(n) => format!("note:{n}"),
        None => format!("prompt:{}", hex(&Sha256::digest(prompt.as_bytes()))),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A group's position in the seeded order, uniform in [0, 1).
fn group_rank(key: &str, seed: u64) -> f64 {
    let mut h = Sha256::new();
    h.update(seed.to_le_bytes());
    h.update(key.as_bytes());
    let digest = h.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(digest.get(..8).unwrap_or(&[0; 8]));
    (u64::from_be_bytes(first) >> 11) as f64 / (1u64 << 53) as f64
}

/// The split of a group under the settings: the seeded hash of its key against the shares.
pub(crate) fn split_of(key: &str, request: &SplitRequest) -> Split {
    let u = group_rank(key, request.seed);
    if u < request.train {
        Split::Train
    } else if u < request.train + request.validation {
        Split::Validation
    } else {
        Split::Test
    }
}

/// The project's split settings (the last `pairs split`, else seed 42 and 80/10/10).
pub(crate) fn split_settings(tx: &Tx<'_>) -> Result<SplitRequest, Error> {
    let Some(json) = tx.meta("split")? else {
        return Ok(SplitRequest::default());
    };
    Ok(serde_json::from_str(&json).unwrap_or_default())
}

fn check_shares(request: &SplitRequest) -> Result<(), Error> {
    let ok = |x: f64| (0.0..=1.0).contains(&x);
    if !ok(request.train) || !ok(request.validation) || request.train + request.validation > 1.0 {
        return Err(Error::Invalid(format!(
            "split shares train {} and validation {} must be between 0 and 1 and add up to at \
             most 1 (test gets the rest)",
            request.train, request.validation
        )));
    }
    Ok(())
}

/// Splits every pair and SFT example by note (note-less rows by prompt) with a fixed seed:
/// groups are ordered by a seeded hash and cut at the shares, so no note is in two splits and
/// the same seed gives the same assignment. The settings are kept for rows made later.
pub fn split(project: &mut Project, request: &SplitRequest) -> Result<SplitSummary, Error> {
    check_shares(request)?;
    project.store.write(|tx| {
        let rows = tx.split_rows()?;
        let mut groups: Vec<(f64, String)> = rows
            .iter()
            .map(|r| group_key(r.note, &r.prompt))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .map(|k| (group_rank(&k, request.seed), k))
            .collect();
        groups.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
        let n = groups.len();
        let n_train = ((n as f64 * request.train).round() as usize).min(n);
        let n_val = ((n as f64 * request.validation).round() as usize).min(n - n_train);
        let mut summary = SplitSummary::default();
        let assignment: std::collections::HashMap<String, Split> = groups
            .into_iter()
            .enumerate()
            .map(|(i, (_, key))| {
                let split = if i < n_train {
                    Split::Train
                } else if i < n_train + n_val {
                    Split::Validation
                } else {
                    Split::Test
                };
                if let Some(g) = summary.groups.get_mut(index(split)) {
                    *g += 1;
                }
                (key, split)
            })
            .collect();
        for row in &rows {
            let split = assignment
                .get(&group_key(row.note, &row.prompt))
                .copied()
                .unwrap_or(Split::Train);
            tx.set_split(row.table, row.id, split)?;
            let counts = match row.table {
                DatasetTable::Pairs => &mut summary.pairs,
                DatasetTable::Sft => &mut summary.sft_examples,
            };
            if let Some(c) = counts.get_mut(index(split)) {
                *c += 1;
            }
        }
        let settings = serde_json::to_string(request).unwrap_or_default();
        tx.set_meta("split", &settings)?;
        tx.audit(
            "clinitune",
            "split_datasets",
            "preference_pairs",
            None,
            None,
            &serde_json::json!({
                "seed": request.seed, "train": request.train, "validation": request.validation,
                "pairs": summary.pairs, "sft_examples": summary.sft_examples,
                "groups": summary.groups,
            }),
        )?;
        Ok(summary)
    })
}

fn index(split: Split) -> usize {
    match split {
        Split::Train | Split::Unassigned => 0,
        Split::Validation => 1,
        Split::Test => 2,
    }
}

#[derive(Serialize)]
struct PlainPreference<'a> {
    prompt: &'a str,
    chosen: &'a str,
    rejected: &'a str,
}

#[derive(Serialize)]
struct ChatPreference {
    prompt: Vec<ChatMessage>,
    chosen: [ChatMessage; 1],
    rejected: [ChatMessage; 1],
}

#[derive(Serialize)]
struct PlainSft<'a> {
    prompt: &'a str,
    completion: &'a str,
}

#[derive(Serialize)]
struct ChatSft {
    messages: Vec<ChatMessage>,
}

fn assistant(content: &str) -> ChatMessage {
    ChatMessage {
        role: "assistant".to_owned(),
        content: content.to_owned(),
    }
}

fn prompt_messages(messages: &Option<Vec<ChatMessage>>, prompt: &str) -> Vec<ChatMessage> {
    match messages {
        Some(m) if !m.is_empty() => m.clone(),
        _ => vec![ChatMessage {
            role: "user".to_owned(),
            content: prompt.to_owned(),
        }],
    }
}

/// Writes pairs (`trl-preference`) or SFT examples (`trl-sft`) as TRL JSONL, one per line.
pub fn export(
    project: &Project,
    out: &Path,
    request: &DatasetExportRequest,
) -> Result<DatasetExportSummary, Error> {
    let io = |source: std::io::Error| {
        Error::Store(store::Error::Io {
            action: "write",
            path: out.to_owned(),
            source,
        })
    };
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let mut file = std::io::BufWriter::new(std::fs::File::create(out).map_err(io)?);
    let mut written = 0u64;
    match request.format {
        DatasetFormat::TrlPreference => {
            for p in project.store.db().pairs(request.split)? {
                if request.conversational {
                    let line = ChatPreference {
                        prompt: prompt_messages(&p.prompt_messages, &p.prompt),
                        chosen: [assistant(&p.chosen)],
                        rejected: [assistant(&p.rejected)],
                    };
                    write_line(&mut file, &line).map_err(io)?;
                } else {
                    let line = PlainPreference {
                        prompt: &p.prompt,
                        chosen: &p.chosen,
                        rejected: &p.rejected,
                    };
                    write_line(&mut file, &line).map_err(io)?;
                }
                written += 1;
            }
        }
        DatasetFormat::TrlSft => {
            for e in project.store.db().sft_examples(request.split)? {
                if request.conversational {
                    let mut messages = prompt_messages(&e.prompt_messages, &e.prompt);
                    messages.push(assistant(&e.completion));
                    write_line(&mut file, &ChatSft { messages }).map_err(io)?;
                } else {
                    let line = PlainSft {
                        prompt: &e.prompt,
                        completion: &e.completion,
                    };
                    write_line(&mut file, &line).map_err(io)?;
                }
                written += 1;
            }
        }
    }
    file.flush().map_err(io)?;
    tracing::info!(written, "exported dataset");
    Ok(DatasetExportSummary {
        written,
        path: out.display().to_string(),
    })
}

/// Writes `value` as one line of JSON.
fn write_line(w: &mut impl Write, value: &impl Serialize) -> std::io::Result<()> {
    serde_json::to_writer(&mut *w, value).map_err(std::io::Error::other)?;
    w.write_all(b"\n")
}

/// One line of a dataset file, read.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Record {
    Pair {
        prompt: String,
        messages: Option<Vec<ChatMessage>>,
        chosen: String,
        rejected: String,
    },
    Sft {
        prompt: String,
        messages: Option<Vec<ChatMessage>>,
        completion: String,
    },
}

/// Reads TRL preference or SFT JSONL (standard or conversational) into the project; every
/// good line is imported, bad ones are reported with file and line.
pub fn import(project: &mut Project, path: &Path) -> Result<DatasetImportSummary, Error> {
    let file = std::fs::File::open(path).map_err(|source| {
        Error::Store(store::Error::Io {
            action: "read",
            path: path.to_owned(),
            source,
        })
    })?;
    let name = path.display().to_string();
    let mut records = Vec::new();
    let mut summary = DatasetImportSummary::default();
    for (i, line) in std::io::BufReader::new(file).split(b'\n').enumerate() {
        let number = i as u64 + 1;
        let reject = |reason: String| Rejection {
            file: name.clone(),
            line: number,
            reason,
        };
        let bytes = line.map_err(|source| {
            Error::Store(store::Error::Io {
                action: "read",
                path: path.to_owned(),
                source,
            })
        })?;
        let Ok(text) = std::str::from_utf8(&bytes) else {
            summary
                .rejected
                .push(reject("the line is not valid UTF-8".to_owned()));
            continue;
        };
        if text.trim().is_empty() {
            continue;
        }
        match parse_line(text) {
            Ok(record) => records.push(record),
            Err(reason) => summary.rejected.push(reject(reason)),
        }
    }
    project.store.write(|tx| -> Result<(), Error> {
        let settings = split_settings(tx)?;
        for record in &records {
            match record {
                Record::Pair {
                    prompt,
                    messages,
                    chosen,
                    rejected,
                } => {
                    let added = tx.insert_pair(&store::NewPair {
                        note: None,
                        task: None,
                        prompt,
                        prompt_messages: messages.as_deref(),
                        chosen,
                        rejected,
                        origin: PairOrigin::Import,
                        annotator: None,
                        edit: None,
                        ranking: None,
                        split: split_of(&group_key(None, prompt), &settings),
                    })?;
                    match added {
                        Some(_) => summary.pairs += 1,
                        None => summary.duplicates += 1,
                    }
                }
                Record::Sft {
                    prompt,
                    messages,
                    completion,
                } => {
                    let added = tx.insert_sft(&store::NewSft {
                        note: None,
                        task: None,
                        prompt,
                        prompt_messages: messages.as_deref(),
                        completion,
                        origin: SftOrigin::Import,
                        annotator: None,
                        output: None,
                        edit: None,
                        split: split_of(&group_key(None, prompt), &settings),
                    })?;
                    match added {
                        Some(_) => summary.sft_examples += 1,
                        None => summary.duplicates += 1,
                    }
                }
            }
        }
        tx.audit(
            "clinitune",
            "import_dataset",
            "preference_pairs",
            None,
            None,
            &serde_json::json!({
                "pairs": summary.pairs, "sft_examples": summary.sft_examples,
                "duplicates": summary.duplicates, "rejected": summary.rejected.len(),
            }),
        )?;
        Ok(())
    })?;
    Ok(summary)
}

/// Reads one JSONL line in any of TRL's preference or SFT forms.
fn parse_line(text: &str) -> Result<Record, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| format!("not a JSON object: {e}"))?;
    let Value::Object(map) = value else {
        return Err("not a JSON object".to_owned());
    };
    if map.contains_key("chosen") || map.contains_key("rejected") {
        let (Some(chosen), Some(rejected)) = (map.get("chosen"), map.get("rejected")) else {
            return Err("a preference line needs both \"chosen\" and \"rejected\"".to_owned());
        };
        let Some(prompt) = map.get("prompt") else {
            return Err(
                "no \"prompt\": implicit-prompt preference data is not supported; \
                 give the prompt separately"
                    .to_owned(),
            );
        };
        let (prompt, messages) = read_prompt(prompt)?;
        return Ok(Record::Pair {
            prompt,
            messages,
            chosen: read_completion(chosen, "chosen")?,
            rejected: read_completion(rejected, "rejected")?,
        });
    }
    if let Some(all) = map.get("messages") {
        let mut messages = read_messages(all, "messages")?;
        let last = messages
            .pop()
            .filter(|m| m.role == "assistant")
            .ok_or_else(|| "\"messages\" must end with the assistant's message".to_owned())?;
        if messages.is_empty() {
            return Err("\"messages\" needs a prompt before the assistant's message".to_owned());
        }
        return Ok(Record::Sft {
            prompt: plain_prompt(&messages),
            messages: Some(messages),
            completion: last.content,
        });
    }
    if let (Some(prompt), Some(completion)) = (map.get("prompt"), map.get("completion")) {
        let (prompt, messages) = read_prompt(prompt)?;
        return Ok(Record::Sft {
            prompt,
            messages,
            completion: read_completion(completion, "completion")?,
        });
    }
    let keys: Vec<&str> = map.keys().map(String::as_str).collect();
    Err(format!(
        "expected TRL fields \"prompt\", \"chosen\", \"rejected\" (preference) or \"prompt\", \
         \"completion\" / \"messages\" (SFT); found {}",
        if keys.is_empty() {
            "none".to_owned()
        } else {
            keys.join(", ")
        }
    ))
}

fn read_prompt(value: &Value) -> Result<(String, Option<Vec<ChatMessage>>), String> {
    match value {
        Value::String(s) => Ok((s.clone(), None)),
        Value::Array(_) => {
            let messages = read_messages(value, "prompt")?;
            if messages.is_empty() {
                return Err("\"prompt\" is an empty list".to_owned());
            }
            Ok((plain_prompt(&messages), Some(messages)))
        }
        _ => Err("\"prompt\" must be a string or a list of messages".to_owned()),
    }
}

fn read_completion(value: &Value, field: &str) -> Result<String, String> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Array(_) => {
            let mut messages = read_messages(value, field)?;
            match (messages.pop(), messages.is_empty()) {
                (Some(m), true) if m.role == "assistant" => Ok(m.content),
                _ => Err(format!(
                    "\"{field}\" must be one assistant message, [{{\"role\": \"assistant\", \
                     \"content\": ...}}]"
                )),
            }
        }
        _ => Err(format!(
            "\"{field}\" must be a string or a list of messages"
        )),
    }
}

fn read_messages(value: &Value, field: &str) -> Result<Vec<ChatMessage>, String> {
    let Value::Array(items) = value else {
        return Err(format!("\"{field}\" must be a list of messages"));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let role = m.get("role").and_then(Value::as_str);
            let content = m.get("content").and_then(Value::as_str);
            match (role, content) {
                (Some(role), Some(content)) => Ok(ChatMessage {
                    role: role.to_owned(),
                    content: content.to_owned(),
                }),
                _ => Err(format!(
                    "message {} of \"{field}\" needs string \"role\" and \"content\"",
                    i + 1
                )),
            }
        })
        .collect()
}

/// The plain-text form of a conversational prompt: one user message is its content; more are
/// written as `role: content` paragraphs.
fn plain_prompt(messages: &[ChatMessage]) -> String {
    match messages {
        [only] if only.role == "user" => only.content.clone(),
        _ => messages
            .iter()
            .map(|m| format!("{}: {}", m.role, m.content))
            .collect::<Vec<_>>()
            .join("\n\n"),
    }
}

#[cfg(test)]
mod tests;
