//! The Modelfile follows Ollama's documented syntax, and its Go template, rendered as Ollama
//! renders it (Go `text/template` semantics for the constructs it uses, the default system
//! message prepended), gives the text transformers renders for the same conversations
//! (`tokenizer_cases.json`, SmolLM2's template).

use std::path::PathBuf;

use super::*;

fn fixtures() -> PathBuf {
    let dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
        .join("../../../shared/fixtures");
    assert!(dir.is_dir(), "fixtures missing at {}", dir.display());
    dir
}

fn smollm2() -> Tokenizer {
    Tokenizer::from_hf_folder(&fixtures().join("tiny-llama")).unwrap()
}

/// A piece of a Go template: text, or an action with its trim markers.
#[derive(Debug)]
enum Piece {
    Text(String),
    Action(String),
}

/// Splits a Go template as `text/template`'s lexer does for `{{`, `{{- `, ` -}}` and `}}`: a
/// trim marker removes all whitespace on that side of the action.
fn lex(template: &str) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        let mut text = rest[..open].to_owned();
        let after = &rest[open + 2..];
        let close = after.find("}}").expect("unclosed action");
        let mut action = &after[..close];
        if let Some(a) = action.strip_prefix("- ") {
            text = text.trim_end().to_owned();
            action = a;
        }
        let mut trim_next = false;
        if let Some(a) = action.strip_suffix(" -") {
            trim_next = true;
            action = a;
        }
        pieces.push(Piece::Text(text));
        pieces.push(Piece::Action(action.trim().to_owned()));
        rest = &after[close + 2..];
        if trim_next {
            rest = rest.trim_start();
        }
    }
    pieces.push(Piece::Text(rest.to_owned()));
    pieces
}

/// Renders the pieces over `messages`: `range .Messages`/`end`, `.Role`, `.Content`. Anything
/// else fails the test, so the template cannot grow past what this checks.
fn render(pieces: &[Piece], messages: &[ChatMessage]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < pieces.len() {
        match &pieces[i] {
            Piece::Text(t) => out.push_str(t),
            Piece::Action(a) if a == "range .Messages" => {
                let end = pieces[i..]
                    .iter()
                    .position(|p| matches!(p, Piece::Action(a) if a == "end"))
                    .expect("range without end")
                    + i;
                for m in messages {
                    for p in &pieces[i + 1..end] {
                        match p {
                            Piece::Text(t) => out.push_str(t),
                            Piece::Action(a) if a == ".Role" => out.push_str(&m.role),
                            Piece::Action(a) if a == ".Content" => out.push_str(&m.content),
                            Piece::Action(a) => panic!("unchecked action {a:?} in range"),
                        }
                    }
                }
                i = end;
            }
            Piece::Action(a) => panic!("unchecked action {a:?}"),
        }
        i += 1;
    }
    out
}

/// The Modelfile's `KEY """value"""` or `KEY value` instructions, in order.
fn instructions(modelfile: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = modelfile;
    while !rest.is_empty() {
        let (line, after) = rest.split_once('\n').unwrap_or((rest, ""));
        if line.starts_with('#') || line.trim().is_empty() {
            rest = after;
            continue;
        }
        let (key, value) = line.split_once(' ').expect("INSTRUCTION arguments");
        if let Some(quoted) = rest[key.len() + 1..].strip_prefix("\"\"\"") {
            let end = quoted.find("\"\"\"").expect("closing \"\"\"");
            out.push((key.to_owned(), quoted[..end].to_owned()));
            rest = quoted[end + 3..].trim_start_matches('\n');
        } else {
            out.push((key.to_owned(), value.to_owned()));
            rest = after;
        }
    }
    out
}

#[test]
fn modelfile_uses_ollamas_instructions() {
    let text = modelfile(&smollm2(), "model.gguf", "adapter.gguf").unwrap();
    let found = instructions(&text);
    let keys: Vec<&str> = found.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "FROM",
            "ADAPTER",
            "TEMPLATE",
            "SYSTEM",
            "PARAMETER",
            "PARAMETER"
        ]
    );
    // Instructions Ollama documents: FROM (required, first), ADAPTER, TEMPLATE, SYSTEM, PARAMETER.
    assert_eq!(found[0].1, "./model.gguf");
    assert_eq!(found[1].1, "./adapter.gguf");
    assert_eq!(found[2].1, CHATML_TEMPLATE);
    assert_eq!(
        found[3].1,
        "You are a helpful AI assistant named SmolLM, trained by Hugging Face"
    );
    assert_eq!(found[4].1, "stop \"<|im_start|>\"");
    assert_eq!(found[5].1, "stop \"<|im_end|>\"");
}

#[test]
fn go_template_renders_the_chat_templates_text() {
    let tok = smollm2();
    let system = chatml_default_system(&tok).unwrap().unwrap();
    let pieces = lex(CHATML_TEMPLATE);
    let text = std::fs::read_to_string(fixtures().join("tokenizer_cases.json")).unwrap();
    let cases: serde_json::Value = serde_json::from_str(&text).unwrap();
    let chats = cases["chat"].as_array().unwrap();
    assert!(!chats.is_empty());
    for case in chats {
        assert!(case["add_generation_prompt"].as_bool().unwrap());
        let mut messages: Vec<ChatMessage> =
            serde_json::from_value(case["messages"].clone()).unwrap();
        // What Ollama does with the Modelfile's SYSTEM when a chat has no system turn.
        if messages.first().is_none_or(|m| m.role != "system") {
            messages.insert(0, message("system", &system));
        }
        assert_eq!(
            render(&pieces, &messages),
            case["text"].as_str().unwrap(),
            "{:?}",
            case["messages"]
        );
    }
}

#[test]
fn go_template_trim_markers_are_read_as_go_reads_them() {
    let pieces = lex("a \n{{- range .Messages }}[{{ .Role }}]{{ end -}}\n b");
    let m = [message("user", "x"), message("assistant", "y")];
    assert_eq!(render(&pieces, &m), "a[user][assistant]b");
}

#[test]
fn a_template_that_is_not_chatml_is_refused_with_what_it_renders() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["tokenizer.json", "tokenizer_config.json"] {
        std::fs::copy(
            fixtures().join("tiny-llama").join(name),
            dir.path().join(name),
        )
        .unwrap();
    }
    std::fs::write(
        dir.path().join("chat_template.jinja"),
        "{% for m in messages %}[INST] {{ m['content'] }} [/INST]{% endfor %}",
    )
    .unwrap();
    let tok = Tokenizer::from_hf_folder(dir.path()).unwrap();
    let err = modelfile(&tok, "model.gguf", "adapter.gguf")
        .unwrap_err()
        .to_string();
    assert!(err.contains("not ChatML"), "{err}");
    assert!(err.contains("[INST]"), "{err}");
}
