//! Parity with transformers' tokenizer on SmolLM2's vocabulary (../shared/fixtures).

use super::*;
use crate::testing::{fixtures, ids, json};

fn cases() -> serde_json::Value {
    json("tokenizer_cases.json")
}

#[test]
fn encodes_every_case_as_transformers_does() {
    // tiny-llama ships SmolLM2's tokenizer.json; the cases were made from the same vocabulary.
    let tok = Tokenizer::from_hf_folder(&fixtures().join("tiny-llama")).unwrap();
    let cases = cases();
    for case in cases["encode"].as_array().unwrap() {
        let text = case["text"].as_str().unwrap();
        assert_eq!(
            tok.encode(text, false).unwrap(),
            ids(&case["ids"]),
            "{text:?}"
        );
    }
    let (bos, id) = (
        cases["special_tokens"]["eos"][0].as_str().unwrap(),
        cases["special_tokens"]["eos"][1].as_u64().unwrap(),
    );
    assert_eq!(tok.token_id(bos), Some(id as u32));
}

#[test]
fn chat_conversations_render_to_the_same_text_and_ids() {
    let tok = Tokenizer::from_hf_folder(&fixtures().join("tiny-llama")).unwrap();
    for case in cases()["chat"].as_array().unwrap() {
        let messages: Vec<ChatMessage> = serde_json::from_value(case["messages"].clone()).unwrap();
        let text = tok
            .apply_chat_template(&messages, case["add_generation_prompt"].as_bool().unwrap())
            .unwrap();
        assert_eq!(text, case["text"].as_str().unwrap());
        assert_eq!(tok.encode(&text, false).unwrap(), ids(&case["ids"]));
    }
}

#[test]
fn template_errors_are_reported() {
    let err = render_chat(
        "{{ raise_exception('roles must alternate') }}",
        &[],
        false,
        None,
        None,
    )
    .unwrap_err();
    assert!(err.to_string().contains("roles must alternate"), "{err}");
    let err = render_chat("{% for m in messages %}", &[], false, None, None).unwrap_err();
    assert!(err.to_string().starts_with("chat template:"), "{err}");
}

// Issue 17, item 3 (found by `cargo xtask reliability fuzz`): a template that loops without end
// stops with an error; a long conversation through a real template still renders.
#[test]
fn runaway_template_stops_and_long_conversations_still_render() {
    let endless =
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}";
    let err = render_chat(endless, &[], false, None, None).unwrap_err();
    assert!(err.to_string().contains("fuel"), "{err}");

    let template =
        std::fs::read_to_string(fixtures().join("tiny-llama/chat_template.jinja")).unwrap();
    let messages: Vec<ChatMessage> = (0..5000)
        .map(|i| ChatMessage {
            role: if i % 2 == 0 { "user" } else { "assistant" }.to_owned(),
            content: format!("message {i}"),
        })
        .collect();
    let text = render_chat(&template, &messages, true, None, None).unwrap();
    assert!(text.contains("message 4999"));
}
