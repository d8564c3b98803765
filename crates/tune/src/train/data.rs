//! Training data: TRL's JSONL records turned into token ids exactly as TRL builds them.
//!
//! Conversational records (`[{"role", "content"}]`): prompt ids = the chat template over the
//! prompt with the generation prompt; completion ids = the ids of the template over prompt +
//! completion, after their longest common prefix with the prompt's ids. Plain-string records:
//! the same with the raw text, and the EOS token appended to each completion.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use crate::error::Error;
use crate::tokenizer::{ChatMessage, Tokenizer};

/// A prompt + completion, loss on the completion only (SFT).
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    /// Prompt ids (chat template with the generation prompt).
    pub prompt: Vec<u32>,
    /// Completion ids (what the model is trained to produce).
    pub completion: Vec<u32>,
}

/// A prompt with a preferred and a dispreferred completion (DPO, SALT).
#[derive(Debug, Clone, PartialEq)]
pub struct Pair {
    /// Prompt ids.
    pub prompt: Vec<u32>,
    /// The chosen (edited, preferred) completion's ids.
    pub chosen: Vec<u32>,
    /// The rejected (original, dispreferred) completion's ids.
    pub rejected: Vec<u32>,
}

/// Raw text for causal-LM training (domain adaptation): every token is scored.
#[derive(Debug, Clone, PartialEq)]
pub struct Text {
    /// Token ids of one chunk.
    pub ids: Vec<u32>,
}

/// A document with multi-label targets (classification).
#[derive(Debug, Clone, PartialEq)]
pub struct Labelled {
    /// Token ids of the text.
    pub ids: Vec<u32>,
    /// One 0/1 target per label, in [`Dataset::Classify`]'s label order.
    pub targets: Vec<f32>,
}

/// A training set for one objective.
#[derive(Debug, Clone)]
pub enum Dataset {
    /// SFT examples.
    Sft(Vec<Completion>),
    /// Preference pairs (DPO or SALT).
    Pairs(Vec<Pair>),
    /// Raw-text chunks (domain adaptation).
    Text(Vec<Text>),
    /// Labelled documents and the label names.
    Classify {
        /// The examples.
        examples: Vec<Labelled>,
        /// Label names, the order of every target vector.
        labels: Vec<String>,
    },
}

impl Dataset {
    /// Number of examples.
    pub fn len(&self) -> usize {
        match self {
            Dataset::Sft(v) => v.len(),
            Dataset::Pairs(v) => v.len(),
            Dataset::Text(v) => v.len(),
            Dataset::Classify { examples, .. } => examples.len(),
        }
    }

    /// Whether there are no examples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The examples at `indices`, in that order, as a dataset of the same kind.
    pub fn subset(&self, indices: &[usize]) -> Dataset {
        fn pick<T: Clone>(v: &[T], i: &[usize]) -> Vec<T> {
            i.iter().map(|&i| v[i].clone()).collect()
        }
        match self {
            Dataset::Sft(v) => Dataset::Sft(pick(v, indices)),
            Dataset::Pairs(v) => Dataset::Pairs(pick(v, indices)),
            Dataset::Text(v) => Dataset::Text(pick(v, indices)),
            Dataset::Classify { examples, labels } => Dataset::Classify {
                examples: pick(examples, indices),
                labels: labels.clone(),
            },
        }
    }
}

/// What a JSONL file is read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `prompt`/`completion` or `messages`.
    Sft,
    /// `prompt`/`chosen`/`rejected`.
    Pairs,
    /// `text`.
    Text,
    /// `text` + `labels`.
    Classify,
}

/// A record's prompt or completion: plain text or chat messages.
#[derive(Debug, Clone, PartialEq)]
pub enum Turns {
    /// A plain string.
    Plain(String),
    /// `[{"role", "content"}, …]`.
    Chat(Vec<ChatMessage>),
}

impl Turns {
    fn parse(v: &Value, field: &str) -> Result<Turns, String> {
        match v {
            Value::String(s) => Ok(Turns::Plain(s.clone())),
            Value::Array(_) => serde_json::from_value(v.clone())
                .map(Turns::Chat)
                .map_err(|e| {
                    format!("`{field}` must be a list of {{\"role\", \"content\"}} messages: {e}")
                }),
            Value::Null => Err(format!("`{field}` is missing")),
            _ => Err(format!("`{field}` must be a string or a list of messages")),
        }
    }
}

/// Builds prompt and completion ids from TRL-style turns.
pub struct Builder<'a> {
    tokenizer: &'a Tokenizer,
    eos: Option<u32>,
    /// Longest prompt + completion; longer examples are cut (the prompt's start first goes,
    /// then the completion's end).
    pub max_length: usize,
}

impl<'a> Builder<'a> {
    /// A builder for `tokenizer`, cutting examples to `max_length` tokens.
    pub fn new(tokenizer: &'a Tokenizer, max_length: usize) -> Builder<'a> {
        let eos = tokenizer.eos_token().and_then(|t| tokenizer.token_id(t));
        Builder {
            tokenizer,
            eos,
            max_length,
        }
    }

    /// `(prompt ids, completion ids)` as TRL builds them, cut to `max_length`.
    pub fn completion(&self, prompt: &Turns, completion: &Turns) -> Result<Completion, Error> {
        let (p, c) = self.uncut(prompt, completion)?;
        let (p, keep) = self.cut(p, c.len());
        Ok(Completion {
            prompt: p,
            completion: c[..keep].to_vec(),
        })
    }

    fn uncut(&self, prompt: &Turns, completion: &Turns) -> Result<(Vec<u32>, Vec<u32>), Error> {
        let (p, c) = match (prompt, completion) {
            (Turns::Chat(p), Turns::Chat(c)) => {
                let prompt_text = self.tokenizer.apply_chat_template(p, true)?;
                let all: Vec<ChatMessage> = p.iter().chain(c).cloned().collect();
                let full_text = self.tokenizer.apply_chat_template(&all, false)?;
                let prompt = self.tokenizer.encode(&prompt_text, false)?;
                let full = self.tokenizer.encode(&full_text, false)?;
                let common = prompt.iter().zip(&full).take_while(|(a, b)| a == b).count();
                (prompt, full[common..].to_vec())
            }
            (Turns::Plain(p), Turns::Plain(c)) => {
                let prompt = self.tokenizer.encode(p, false)?;
                let full = self.tokenizer.encode(&format!("{p}{c}"), false)?;
                let common = prompt.iter().zip(&full).take_while(|(a, b)| a == b).count();
                let mut completion = full[common..].to_vec();
                completion.extend(self.eos);
                (prompt, completion)
            }
            _ => {
                return Err(Error::Train {
                    message: "prompt and completion must both be strings or both be lists of \
                              messages"
                        .to_owned(),
                });
            }
        };
        Ok((p, c))
    }

    /// Cuts an example whose longest completion has `completion` tokens to `max_length`: the
    /// completion keeps at least half the budget, the prompt keeps its end (where the
    /// question sits). Returns the prompt and how many completion tokens to keep.
    fn cut(&self, mut prompt: Vec<u32>, completion: usize) -> (Vec<u32>, usize) {
        let max = self.max_length.max(2);
        if prompt.len() + completion <= max {
            return (prompt, completion);
        }
        let keep_prompt = prompt
            .len()
            .min(max.saturating_sub(completion.min(max / 2)));
        prompt.drain(..prompt.len() - keep_prompt);
        let keep = completion.min(max - prompt.len());
        (prompt, keep)
    }

    /// A preference pair as TRL builds it (both completions against the same prompt ids).
    pub fn pair(&self, prompt: &Turns, chosen: &Turns, rejected: &Turns) -> Result<Pair, Error> {
        let (p, c) = self.uncut(prompt, chosen)?;
        let (_, r) = self.uncut(prompt, rejected)?;
        let (p, keep) = self.cut(p, c.len().max(r.len()));
        Ok(Pair {
            prompt: p,
            chosen: c[..keep.min(c.len())].to_vec(),
            rejected: r[..keep.min(r.len())].to_vec(),
        })
    }

    /// Chunks of at most `max_length` tokens from raw texts: short texts are packed together
    /// (separated by EOS), long ones cut into consecutive chunks.
    pub fn texts(&self, texts: &[String]) -> Result<Vec<Text>, Error> {
        let max = self.max_length.max(2);
        let mut chunks = Vec::new();
        let mut current: Vec<u32> = Vec::new();
        for t in texts {
            let mut ids = self.tokenizer.encode(t, false)?;
            ids.extend(self.eos);
            for piece in ids.chunks(max) {
                if current.len() + piece.len() > max {
                    chunks.push(Text {
                        ids: std::mem::take(&mut current),
                    });
                }
                current.extend_from_slice(piece);
            }
        }
        if current.len() > 1 {
            chunks.push(Text { ids: current });
        }
        Ok(chunks)
    }

    /// Token ids of a document to classify, cut to `max_length`.
    pub fn document(&self, text: &str) -> Result<Vec<u32>, Error> {
        let mut ids = self.tokenizer.encode(text, false)?;
        ids.truncate(self.max_length.max(1));
        Ok(ids)
    }
}

/// A JSONL file read as `kind`: good records become examples, bad ones are listed as
/// `FILE:LINE: reason` in `skipped` (an error only when nothing usable is left).
pub struct Loaded {
    /// The examples.
    pub dataset: Dataset,
    /// Lines that could not be used, with the reason.
    pub skipped: Vec<String>,
}

/// Reads TRL JSONL for `kind`. `labels` fixes the classification label order (else the sorted
/// union of the labels seen).
pub fn read_jsonl(
    path: &Path,
    kind: Kind,
    builder: &Builder,
    labels: Option<&[String]>,
) -> Result<Loaded, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })?;
    let mut skipped = Vec::new();
    let mut records: Vec<(usize, Value)> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Value>(line) {
            Ok(v @ Value::Object(_)) => records.push((i + 1, v)),
            Ok(_) => skipped.push(format!("{}:{}: not a JSON object", path.display(), i + 1)),
            Err(e) => skipped.push(format!("{}:{}: {e}", path.display(), i + 1)),
        }
    }
    let at = |line: usize, m: String| format!("{}:{line}: {m}", path.display());
    let dataset = match kind {
        Kind::Sft => {
            let mut out = Vec::new();
            for (line, r) in &records {
                match sft_turns(r)
                    .and_then(|(p, c)| builder.completion(&p, &c).map_err(|e| e.to_string()))
                {
                    Ok(ex) if !ex.completion.is_empty() => out.push(ex),
                    Ok(_) => skipped.push(at(*line, "empty completion".to_owned())),
                    Err(m) => skipped.push(at(*line, m)),
                }
            }
            Dataset::Sft(out)
        }
        Kind::Pairs => {
            let mut out = Vec::new();
            for (line, r) in &records {
                let turns = (|| -> Result<Pair, String> {
                    let p = Turns::parse(&r["prompt"], "prompt")?;
                    let c = Turns::parse(&r["chosen"], "chosen")?;
                    let j = Turns::parse(&r["rejected"], "rejected")?;
                    builder.pair(&p, &c, &j).map_err(|e| e.to_string())
                })();
                match turns {
                    Ok(p) if !p.chosen.is_empty() && !p.rejected.is_empty() => out.push(p),
                    Ok(_) => skipped.push(at(*line, "empty chosen or rejected".to_owned())),
                    Err(m) => skipped.push(at(*line, m)),
                }
            }
            Dataset::Pairs(out)
        }
        Kind::Text => {
            let mut texts = Vec::new();
            for (line, r) in &records {
                match r["text"].as_str() {
                    Some(t) if !t.trim().is_empty() => texts.push(t.to_owned()),
                    _ => skipped.push(at(*line, "`text` must be a non-empty string".to_owned())),
                }
            }
            Dataset::Text(builder.texts(&texts)?)
        }
        Kind::Classify => {
            let mut rows: Vec<(String, BTreeSet<String>)> = Vec::new();
            for (line, r) in &records {
                let text = r["text"].as_str().filter(|t| !t.trim().is_empty());
                match (text, record_labels(&r["labels"])) {
                    (Some(t), Ok(l)) => rows.push((t.to_owned(), l)),
                    (None, _) => {
                        skipped.push(at(*line, "`text` must be a non-empty string".to_owned()))
                    }
                    (_, Err(m)) => skipped.push(at(*line, m)),
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
            let mut examples = Vec::new();
            for (text, l) in rows {
                examples.push(Labelled {
                    ids: builder.document(&text)?,
                    targets: names
                        .iter()
                        .map(|n| if l.contains(n) { 1.0 } else { 0.0 })
                        .collect(),
                });
            }
            Dataset::Classify {
                examples,
                labels: names,
            }
        }
    };
    if dataset.is_empty() {
        let mut message = format!(
            "{}: no usable training examples for this objective ({}).",
            path.display(),
            match kind {
                Kind::Sft => "each line needs `prompt` + `completion`, or `messages`",
                Kind::Pairs => "each line needs `prompt`, `chosen` and `rejected`",
                Kind::Text => "each line needs `text`",
                Kind::Classify => "each line needs `text` and `labels`",
            }
        );
        if let Some(first) = skipped.first() {
            message.push_str(&format!(" First problem: {first}"));
        }
        return Err(Error::Train { message });
    }
    Ok(Loaded { dataset, skipped })
}

/// An SFT record's prompt and completion: `prompt`/`completion`, or `messages` whose last
/// message (from the assistant) is the completion.
fn sft_turns(r: &Value) -> Result<(Turns, Turns), String> {
    if let Some(m) = r.get("messages") {
        let Turns::Chat(mut msgs) = Turns::parse(m, "messages")? else {
            return Err("`messages` must be a list of messages".to_owned());
        };
        match msgs.last() {
            Some(last) if last.role == "assistant" => {
                let last = msgs.pop().expect("non-empty");
                Ok((Turns::Chat(msgs), Turns::Chat(vec![last])))
            }
            _ => Err("the last of `messages` must be the assistant's".to_owned()),
        }
    } else {
        Ok((
            Turns::parse(&r["prompt"], "prompt")?,
            Turns::parse(&r["completion"], "completion")?,
        ))
    }
}

/// A record's `labels`: a list of names or an object of name → 0/1 (or true/false), as
/// `train classify --data` reads it (prediction reads gold labels the same way).
pub fn record_labels(v: &Value) -> Result<BTreeSet<String>, String> {
    match v {
        Value::Array(items) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| "`labels` must list label names".to_owned())
            })
            .collect(),
        Value::Object(m) => Ok(m
            .iter()
            .filter(|(_, v)| v.as_f64().map(|x| x > 0.5).or(v.as_bool()) == Some(true))
            .map(|(k, _)| k.clone())
            .collect()),
        _ => Err("`labels` must be a list of names or an object of name → 0/1".to_owned()),
    }
}
