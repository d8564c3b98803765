//! Text ↔ token ids and chat rendering for a model: the Hugging Face `tokenizer.json` (via the
//! `tokenizers` crate) and the model's own Jinja chat template (via `minijinja`, set up as
//! transformers sets up Jinja: `trim_blocks` and `lstrip_blocks`).

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// One chat turn.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// `system`, `user` or `assistant`.
    pub role: String,
    /// What was said.
    pub content: String,
}

/// A model's tokenizer with its chat template and special tokens.
pub struct Tokenizer {
    inner: tokenizers::Tokenizer,
    chat_template: Option<String>,
    bos_token: Option<String>,
    eos_token: Option<String>,
    pad_token: Option<String>,
    unk_token: Option<String>,
    /// llama.cpp's pre-tokenizer name (`tokenizer.ggml.pre`) when read from a GGUF file.
    gguf_pre: Option<String>,
}

fn special(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Object(o) => {
            o.get("content").and_then(|c| c.as_str()).map(str::to_owned)
        }
        _ => None,
    }
}

impl Tokenizer {
    /// Reads `tokenizer.json`, and the chat template from `chat_template.jinja` or
    /// `tokenizer_config.json`, of a Hugging Face model folder.
    pub fn from_hf_folder(dir: &Path) -> Result<Tokenizer, Error> {
        let path = dir.join("tokenizer.json");
        let inner = tokenizers::Tokenizer::from_file(&path).map_err(|e| Error::Tokenizer {
            path: path.clone(),
            message: e.to_string(),
        })?;
        let config: serde_json::Value =
            match std::fs::read_to_string(dir.join("tokenizer_config.json")) {
                Ok(text) => serde_json::from_str(&text).map_err(|e| Error::Tokenizer {
                    path: dir.join("tokenizer_config.json"),
                    message: e.to_string(),
                })?,
                Err(_) => serde_json::Value::Null,
            };
        let chat_template = match std::fs::read_to_string(dir.join("chat_template.jinja")) {
            Ok(t) => Some(t),
            Err(_) => config
                .get("chat_template")
                .and_then(|t| t.as_str())
                .map(str::to_owned),
        };
        Ok(Tokenizer {
            inner,
            chat_template,
            bos_token: config.get("bos_token").and_then(special),
            eos_token: config.get("eos_token").and_then(special),
            pad_token: config.get("pad_token").and_then(special),
            unk_token: config.get("unk_token").and_then(special),
            gguf_pre: None,
        })
    }

    /// A tokenizer assembled elsewhere (e.g. from GGUF metadata).
    pub(crate) fn from_parts(
        inner: tokenizers::Tokenizer,
        chat_template: Option<String>,
        bos_token: Option<String>,
        eos_token: Option<String>,
    ) -> Tokenizer {
        Tokenizer {
            inner,
            chat_template,
            bos_token,
            eos_token,
            pad_token: None,
            unk_token: None,
            gguf_pre: None,
        }
    }

    /// Adds what a GGUF file says beyond BOS/EOS: padding and unknown tokens and llama.cpp's
    /// pre-tokenizer name, so a GGUF written from this tokenizer carries them over.
    pub(crate) fn with_gguf_extras(
        mut self,
        pad_token: Option<String>,
        unk_token: Option<String>,
        pre: Option<String>,
    ) -> Tokenizer {
        self.pad_token = pad_token;
        self.unk_token = unk_token;
        self.gguf_pre = pre;
        self
    }

    /// The `tokenizers` tokenizer inside (vocabulary, merges, added tokens).
    pub(crate) fn inner(&self) -> &tokenizers::Tokenizer {
        &self.inner
    }

    /// llama.cpp's pre-tokenizer name, when the tokenizer came from a GGUF file.
    pub(crate) fn gguf_pre(&self) -> Option<&str> {
        self.gguf_pre.as_deref()
    }

    /// The chat template (Jinja), if the model ships one.
    pub fn chat_template(&self) -> Option<&str> {
        self.chat_template.as_deref()
    }

    /// The padding token, if the model names one.
    pub fn pad_token(&self) -> Option<&str> {
        self.pad_token.as_deref()
    }

    /// The unknown-token placeholder, if the model names one.
    pub fn unk_token(&self) -> Option<&str> {
        self.unk_token.as_deref()
    }

    /// Token ids of `text`; special tokens written in the text are recognised as such.
    pub fn encode(&self, text: &str, add_special_tokens: bool) -> Result<Vec<u32>, Error> {
        let encoding =
            self.inner
                .encode(text, add_special_tokens)
                .map_err(|e| Error::Tokenizer {
                    path: "tokenizer.json".into(),
                    message: e.to_string(),
                })?;
        Ok(encoding.get_ids().to_vec())
    }

    /// Text of `ids`, optionally without special tokens.
    pub fn decode(&self, ids: &[u32], skip_special_tokens: bool) -> Result<String, Error> {
        self.inner
            .decode(ids, skip_special_tokens)
            .map_err(|e| Error::Tokenizer {
                path: "tokenizer.json".into(),
                message: e.to_string(),
            })
    }

    /// Writes `tokenizer.json` and `tokenizer_config.json` (special tokens, chat template) into
    /// `dir`, so a Hugging Face folder made from a GGUF file carries its tokenizer.
    pub fn save_hf(&self, dir: &Path) -> Result<(), Error> {
        let path = dir.join("tokenizer.json");
        let json = self.inner.to_string(false).map_err(|e| Error::Tokenizer {
            path: path.clone(),
            message: e.to_string(),
        })?;
        crate::lora::write_atomic(&path, json.as_bytes())?;
        let mut config = serde_json::json!({
            "tokenizer_class": "PreTrainedTokenizerFast",
            "bos_token": self.bos_token,
            "eos_token": self.eos_token,
            "chat_template": self.chat_template,
            "clean_up_tokenization_spaces": false,
            "model_max_length": 8192,
        });
        for (key, token) in [
            ("pad_token", &self.pad_token),
            ("unk_token", &self.unk_token),
        ] {
            if let (Some(token), Some(map)) = (token, config.as_object_mut()) {
                map.insert(key.to_owned(), serde_json::json!(token));
            }
        }
        let text = serde_json::to_string_pretty(&config).expect("config serialises");
        crate::lora::write_atomic(&dir.join("tokenizer_config.json"), text.as_bytes())
    }

    /// The id of a token, e.g. `<|im_end|>`.
    pub fn token_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

    /// Whether the model ships a chat template.
    pub fn has_chat_template(&self) -> bool {
        self.chat_template.is_some()
    }

    /// The beginning-of-sequence token, if the model names one.
    pub fn bos_token(&self) -> Option<&str> {
        self.bos_token.as_deref()
    }

    /// The end-of-sequence token, if the model names one.
    pub fn eos_token(&self) -> Option<&str> {
        self.eos_token.as_deref()
    }

    /// Renders a conversation with the model's chat template, as transformers'
    /// `apply_chat_template(..., tokenize=False)` does.
    pub fn apply_chat_template(
        &self,
        messages: &[ChatMessage],
        add_generation_prompt: bool,
    ) -> Result<String, Error> {
        let template = self
            .chat_template
            .as_deref()
            .ok_or_else(|| Error::Template {
                message: "the model has no chat template (tokenizer_config.json chat_template)"
                    .to_owned(),
            })?;
        render_chat(
            template,
            messages,
            add_generation_prompt,
            self.bos_token.as_deref(),
            self.eos_token.as_deref(),
        )
    }
}

/// Template instructions one render may run: real chat templates need a few hundred per
/// message, so a conversation of thousands of messages fits; a runaway loop does not.
const TEMPLATE_FUEL: u64 = 5_000_000;

/// Renders `template` over `messages` with Jinja set up as transformers does.
pub fn render_chat(
    template: &str,
    messages: &[ChatMessage],
    add_generation_prompt: bool,
    bos_token: Option<&str>,
    eos_token: Option<&str>,
) -> Result<String, Error> {
    let mut env = minijinja::Environment::new();
    // A template comes with a downloaded model: one that loops without end (found by
    // `cargo xtask reliability fuzz`) stops with an error instead of hanging generation.
    env.set_fuel(Some(TEMPLATE_FUEL));
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.add_function(
        "raise_exception",
        |message: String| -> Result<String, minijinja::Error> {
            Err(minijinja::Error::new(
                minijinja::ErrorKind::InvalidOperation,
                message,
            ))
        },
    );
    let bad = |e: minijinja::Error| Error::Template {
        message: e.to_string(),
    };
    let tmpl = env.template_from_str(template).map_err(bad)?;
    tmpl.render(minijinja::context! {
        messages => messages,
        add_generation_prompt => add_generation_prompt,
        bos_token => bos_token.unwrap_or_default(),
        eos_token => eos_token.unwrap_or_default(),
    })
    .map_err(bad)
}

#[cfg(test)]
mod tests;
