//! Ollama's Modelfile for an exported model: `FROM` the base GGUF, `ADAPTER` the LoRA GGUF, the
//! chat template as the Go template Ollama renders (`TEMPLATE`), the template's default system
//! message (`SYSTEM`) and its end-of-turn tokens (`PARAMETER stop`).
//!
//! A Jinja template cannot be translated in general, so it is probed instead: rendered over
//! marker conversations, it must produce ChatML turns (`<|im_start|>ROLE\nTEXT<|im_end|>\n`),
//! with at most a fixed system turn in front when the conversation has none. That one shape is
//! what the Go template reproduces; any other is refused, naming what was found.

use tune::tokenizer::{ChatMessage, Tokenizer};

use crate::error::Error;

const START: &str = "<|im_start|>";
const END: &str = "<|im_end|>";

/// ChatML as Ollama's Go template (Ollama prepends the Modelfile's `SYSTEM` message to
/// `.Messages` when a conversation has no system turn of its own).
pub(crate) const CHATML_TEMPLATE: &str = "{{- range .Messages }}<|im_start|>{{ .Role }}
{{ .Content }}<|im_end|>
{{ end }}<|im_start|>assistant
";

/// The Modelfile for a base GGUF and an adapter GGUF named relative to the Modelfile.
pub(crate) fn modelfile(tok: &Tokenizer, base: &str, adapter: &str) -> Result<String, Error> {
    let system = chatml_default_system(tok)?;
    let mut out = String::new();
    out.push_str("# Made by Clinitune. In this folder: ollama create NAME -f Modelfile\n");
    out.push_str(&format!("FROM ./{base}\n"));
    out.push_str(&format!("ADAPTER ./{adapter}\n"));
    out.push_str(&format!("TEMPLATE \"\"\"{CHATML_TEMPLATE}\"\"\"\n"));
    if let Some(system) = system {
        if system.contains("\"\"\"") {
            return Err(Error::Invalid(
                "the chat template's default system message contains \"\"\", which a Modelfile \
                 cannot quote"
                    .to_owned(),
            ));
        }
        out.push_str(&format!("SYSTEM \"\"\"{system}\"\"\"\n"));
    }
    let mut stops = vec![START.to_owned(), END.to_owned()];
    if let Some(eos) = tok.eos_token()
        && !stops.iter().any(|s| s == eos)
    {
        stops.push(eos.to_owned());
    }
    for stop in stops {
        out.push_str(&format!("PARAMETER stop \"{stop}\"\n"));
    }
    Ok(out)
}

fn turn(role: &str, content: &str) -> String {
    format!("{START}{role}\n{content}{END}\n")
}

fn message(role: &str, content: &str) -> ChatMessage {
    ChatMessage {
        role: role.to_owned(),
        content: content.to_owned(),
    }
}

/// Checks that the model's chat template renders ChatML, and returns the system message it adds
/// to a conversation without one (SmolLM2's "You are a helpful AI assistant named SmolLM…").
pub(crate) fn chatml_default_system(tok: &Tokenizer) -> Result<Option<String>, Error> {
    let refuse = |found: &str| {
        Error::Invalid(format!(
            "the model's chat template is not ChatML (<|im_start|>role … <|im_end|>), which is \
             the one Ollama template Clinitune writes; it renders a test conversation as {:?}",
            found.chars().take(160).collect::<String>()
        ))
    };
    let generation = format!("{START}assistant\n");
    // With its own system turn, the conversation must come out turn by turn.
    let full = [
        message("system", "S-marker"),
        message("user", "U-marker"),
        message("assistant", "A-marker"),
        message("user", "V-marker"),
    ];
    let rendered = tok.apply_chat_template(&full, true)?;
    let expected: String = full
        .iter()
        .map(|m| turn(&m.role, &m.content))
        .chain([generation.clone()])
        .collect();
    if rendered != expected {
        return Err(refuse(&rendered));
    }
    // Without one, anything in front of the user turn must be a single system turn.
    let rendered = tok.apply_chat_template(&[message("user", "U-marker")], true)?;
    let tail = format!("{}{generation}", turn("user", "U-marker"));
    let Some(prefix) = rendered.strip_suffix(&tail) else {
        return Err(refuse(&rendered));
    };
    if prefix.is_empty() {
        return Ok(None);
    }
    let system = prefix
        .strip_prefix(&format!("{START}system\n"))
        .and_then(|s| s.strip_suffix(&format!("{END}\n")))
        .filter(|s| !s.contains(START) && !s.contains(END))
        .ok_or_else(|| refuse(&rendered))?;
    Ok(Some(system.to_owned()))
}

#[cfg(test)]
mod tests;
