//! Prompt tasks: named, versioned templates (TOML) that turn a note — and optional few-shot
//! examples from annotated notes — into chat messages for the model's chat template.
//!
//! A task file has `name`, `kind` (`summarize`, `extract`, `classify`), `description`, an
//! optional `system` message, a `prompt` with `{{note}}` (and optionally `{{category}}`),
//! `few_shot` (examples, default 0) and `max_note_tokens` (default 1024). A note longer than
//! its budget keeps its start and end around a visible marker. The shipped tasks
//! (`assets/prompts/`) are in every new project.

use std::path::Path;

use api::{ChatMessage, NoteId, PromptTask, TaskKind};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::Error;
use crate::project::Project;

/// The tasks every project starts with: (file name, TOML).
const BUILT_IN: &[(&str, &str)] = &[
    (
        "sdoh-extract.toml",
        include_str!("../../../assets/prompts/sdoh-extract.toml"),
    ),
    (
        "discharge-summary.toml",
        include_str!("../../../assets/prompts/discharge-summary.toml"),
    ),
    (
        "social-history-summary.toml",
        include_str!("../../../assets/prompts/social-history-summary.toml"),
    ),
];

/// Placeholders a prompt may use.
const PLACEHOLDERS: &[&str] = &["note", "category"];

/// A task definition as written in its TOML file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskDefinition {
    /// Task name; adding it again makes a new version.
    pub name: String,
    /// `summarize`, `extract` or `classify`.
    pub kind: String,
    /// One line on what it is for.
    #[serde(default)]
    pub description: String,
    /// The system message, if any (else the chat template's default).
    #[serde(default)]
    pub system: Option<String>,
    /// The user message, with `{{note}}` where the note goes.
    pub prompt: String,
    /// Few-shot examples from annotated notes.
    #[serde(default)]
    pub few_shot: usize,
    /// Token budget for the note; longer notes are shortened with a marker.
    #[serde(default = "default_note_tokens")]
    pub max_note_tokens: usize,
}

fn default_note_tokens() -> usize {
    1024
}

impl TaskDefinition {
    /// The task's kind (checked when the definition was parsed).
    pub fn task_kind(&self) -> TaskKind {
        TaskKind::parse(&self.kind).unwrap_or(TaskKind::Summarize)
    }
}

/// Parses and checks a task definition; `origin` names the file in errors.
pub fn parse(text: &str, origin: &str) -> Result<TaskDefinition, Error> {
    let bad = |message: String| Error::Invalid(format!("prompt task {origin}: {message}"));
    let def: TaskDefinition = toml::from_str(text).map_err(|e| bad(e.to_string()))?;
    if def.name.trim().is_empty()
        || !def
            .name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(bad(format!(
            "name {:?} must be letters, digits, '-', '_' or '.'",
            def.name
        )));
    }
    if TaskKind::parse(&def.kind).is_none() {
        return Err(bad(format!(
            "kind {:?} is not one of summarize, extract, classify",
            def.kind
        )));
    }
    let mut rest = def.prompt.as_str();
    let mut has_note = false;
    while let Some(open) = rest.find("{{") {
        let after = rest.get(open + 2..).unwrap_or_default();
        let Some(close) = after.find("}}") else {
            return Err(bad("a `{{` in the prompt has no closing `}}`".to_owned()));
        };
        let name = after.get(..close).unwrap_or_default().trim();
        if !PLACEHOLDERS.contains(&name) {
            return Err(bad(format!(
                "unknown placeholder {{{{{name}}}}}; use {{{{note}}}} and {{{{category}}}}"
            )));
        }
        has_note |= name == "note";
        rest = after.get(close + 2..).unwrap_or_default();
    }
    if !has_note {
        return Err(bad(
            "the prompt has no {{note}}: write where the note goes".to_owned()
        ));
    }
    if def.max_note_tokens < 16 {
        return Err(bad("max_note_tokens must be at least 16".to_owned()));
    }
    Ok(def)
}

/// Hash of a definition's meaning (not its formatting or comments).
fn definition_hash(def: &TaskDefinition) -> [u8; 32] {
    let canonical = serde_json::to_string(def).unwrap_or_default();
    Sha256::digest(canonical.as_bytes()).into()
}

/// Adds a task from TOML text: a new version of its name, or nothing when the latest version
/// is the same definition. Returns the task and whether a version was added.
pub fn add(project: &mut Project, text: &str, origin: &str) -> Result<(PromptTask, bool), Error> {
    let def = parse(text, origin)?;
    let hash = definition_hash(&def);
    project.store.write(|tx| {
        let (task, added) = tx.add_task(&store::NewTask {
            name: &def.name,
            kind: def.task_kind(),
            description: &def.description,
            template: text,
            definition_hash: &hash,
        })?;
        if added {
            tx.audit(
                "clinitune",
                "add_task",
                "prompt_task",
                Some(task.id.0),
                None,
                &serde_json::json!({ "name": task.name, "version": task.version }),
            )?;
        }
        Ok((task, added))
    })
}

/// Adds a task from a TOML file.
pub fn add_file(project: &mut Project, path: &Path) -> Result<(PromptTask, bool), Error> {
    let text = std::fs::read_to_string(path).map_err(|source| {
        Error::Store(store::Error::Io {
            action: "read",
            path: path.to_owned(),
            source,
        })
    })?;
    add(project, &text, &path.display().to_string())
}

/// Adds the shipped tasks that are missing or changed (new projects get all of them).
pub fn add_built_in(project: &mut Project) -> Result<(), Error> {
    for (file, text) in BUILT_IN {
        add(project, text, &format!("assets/prompts/{file}"))?;
    }
    Ok(())
}

/// The tasks: each name's latest version, or every version.
pub fn list(project: &Project, all_versions: bool) -> Result<Vec<PromptTask>, Error> {
    Ok(project.store.db().tasks(all_versions)?)
}

/// A task by `name` or `name@version`, with its parsed definition.
pub fn get(project: &Project, spec: &str) -> Result<(PromptTask, TaskDefinition), Error> {
    let (name, version) = match spec.rsplit_once('@') {
        Some((name, v)) => {
            let v = v.parse::<i64>().map_err(|_| {
                Error::Invalid(format!(
                    "task {spec:?}: the version after '@' must be a number, e.g. {name}@2"
                ))
            })?;
            (name, Some(v))
        }
        None => (spec, None),
    };
    let (task, text) = project.store.db().task(name, version)?;
    let def = parse(&text, &format!("{}@{}", task.name, task.version))?;
    Ok((task, def))
}

/// A rendered prompt: chat messages, and whether the note had to be shortened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// System (optional), few-shot turns, then the user message with the note.
    pub messages: Vec<ChatMessage>,
    /// The note was longer than the budget.
    pub truncated: bool,
}

/// A few-shot example: a note and the answer wanted for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    /// The example note's text.
    pub note: String,
    /// Its category.
    pub category: Option<String>,
    /// The assistant's answer.
    pub answer: String,
    /// `note` is already the whole user message (a saved example's prompt), not a note.
    pub rendered: bool,
}

/// Fills the task's prompt with a note (shortened to `budget` tokens as `count` counts them)
/// after its few-shot examples.
pub fn render(
    def: &TaskDefinition,
    note: &str,
    category: Option<&str>,
    examples: &[Example],
    budget: usize,
    count: &dyn Fn(&str) -> Result<usize, Error>,
) -> Result<Rendered, Error> {
    let mut messages = Vec::new();
    if let Some(system) = def.system.as_deref().filter(|s| !s.trim().is_empty()) {
        messages.push(ChatMessage {
            role: "system".to_owned(),
            content: system.to_owned(),
        });
    }
    for ex in examples {
        let content = if ex.rendered {
            ex.note.clone()
        } else {
            let (text, _) = fit(&ex.note, budget, count)?;
            fill(&def.prompt, &text, ex.category.as_deref())
        };
        messages.push(ChatMessage {
            role: "user".to_owned(),
            content,
        });
        messages.push(ChatMessage {
            role: "assistant".to_owned(),
            content: ex.answer.clone(),
        });
    }
    let (text, truncated) = fit(note, budget, count)?;
    messages.push(ChatMessage {
        role: "user".to_owned(),
        content: fill(&def.prompt, &text, category),
    });
    Ok(Rendered {
        messages,
        truncated,
    })
}

fn fill(prompt: &str, note: &str, category: Option<&str>) -> String {
    let category = category
        .filter(|c| !c.trim().is_empty())
        .unwrap_or("Clinical");
    // One pass, so a note that contains "{{category}}" is left as it is.
    let mut out = String::with_capacity(prompt.len() + note.len());
    let mut rest = prompt;
    while let Some(open) = rest.find("{{") {
        out.push_str(rest.get(..open).unwrap_or_default());
        let after = rest.get(open + 2..).unwrap_or_default();
        let Some(close) = after.find("}}") else {
            out.push_str(rest.get(open..).unwrap_or_default());
            return out;
        };
        match after.get(..close).unwrap_or_default().trim() {
            "note" => out.push_str(note),
            "category" => out.push_str(category),
            _ => out.push_str(rest.get(open..open + 4 + close).unwrap_or_default()),
        }
        rest = after.get(close + 2..).unwrap_or_default();
    }
    out.push_str(rest);
    out
}

/// The marker put where a shortened note's middle was.
pub fn omission_marker(chars: usize) -> String {
    format!("\n[… {chars} characters omitted to fit the prompt …]\n")
}

/// Shortens `text` to at most `budget` tokens (as `count` counts them, marker included),
/// keeping about two thirds from the start and one third from the end, cut at whitespace.
/// Returns the text and whether it was shortened.
pub fn fit(
    text: &str,
    budget: usize,
    count: &dyn Fn(&str) -> Result<usize, Error>,
) -> Result<(String, bool), Error> {
    let total = count(text)?;
    if total <= budget {
        return Ok((text.to_owned(), false));
    }
    let chars_per_token = text.len() as f64 / total.max(1) as f64;
    let mut keep = (budget as f64 * chars_per_token) as usize;
    loop {
        let head_len = keep * 2 / 3;
        let tail_len = keep - head_len;
        let head_end = cut_back(text, head_len);
        let tail_start = cut_forward(text, text.len().saturating_sub(tail_len)).max(head_end);
        let head = text.get(..head_end).unwrap_or_default();
        let tail = text.get(tail_start..).unwrap_or_default();
        let omitted = text
            .get(head_end..tail_start)
            .unwrap_or_default()
            .chars()
            .count();
        let shortened = format!(
            "{}{}{}",
            head.trim_end(),
            omission_marker(omitted),
            tail.trim_start()
        );
        if count(&shortened)? <= budget || keep == 0 {
            return Ok((shortened, true));
        }
        keep = keep * 9 / 10;
    }
}

/// The last whitespace boundary at or before byte `at` (or the char boundary there).
fn cut_back(text: &str, at: usize) -> usize {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let head = text.get(..at).unwrap_or_default();
    match head.rfind(char::is_whitespace) {
        Some(ws) if ws > at / 2 => ws,
        _ => at,
    }
}

/// The first whitespace boundary at or after byte `at` (or the char boundary there).
fn cut_forward(text: &str, at: usize) -> usize {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at += 1;
    }
    let tail = text.get(at..).unwrap_or_default();
    match tail.find(char::is_whitespace) {
        Some(ws) if ws < tail.len() / 2 => at + ws,
        _ => at,
    }
}

/// Few-shot examples for a task on `note`: gold spans (extract) or gold document labels
/// (classify) of other annotated notes, or saved SFT examples of the same task (summarize).
pub(crate) fn examples(
    project: &Project,
    task: &PromptTask,
    note: NoteId,
    wanted: usize,
) -> Result<Vec<Example>, Error> {
    if wanted == 0 {
        return Ok(Vec::new());
    }
    let db = project.store.db();
    let mut out = Vec::new();
    match task.kind {
        TaskKind::Extract | TaskKind::Classify => {
            let documents = task.kind == TaskKind::Classify;
            for id in db.annotated_notes(note, documents, wanted)? {
                let detail = db.note(id)?;
                let answer = if documents {
                    crate::extraction::gold_labels_answer(&detail)
                } else {
                    crate::extraction::gold_answer(&detail)
                };
                out.push(Example {
                    note: detail.text,
                    category: detail.category,
                    answer,
                    rendered: false,
                });
            }
        }
        TaskKind::Summarize => {
            for (messages, completion) in db.task_examples(&task.name, note, wanted)? {
                // The last user message holds the example's note as it was rendered.
                if let Some(user) = messages.iter().rev().find(|m| m.role == "user") {
                    out.push(Example {
                        note: user.content.clone(),
                        category: None,
                        answer: completion,
                        rendered: true,
                    });
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
