//! `clinitune generate / tokenize / logits / model info` on the fixture model and the default
//! GGUF, against transformers' reference ids (../shared/fixtures).

use crate::{Sandbox, manifest_dir, shared_dir};

fn reference(path: &str) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(shared_dir().join(path)).unwrap()).unwrap()
}

fn default_gguf() -> String {
    let path = manifest_dir().join("../models/SmolLM2-135M-Instruct.Q4_1.gguf");
    assert!(
        path.is_file(),
        "{} is missing: run `cargo xtask fetch-model`",
        path.display()
    );
    path.to_string_lossy().into_owned()
}

#[test]
fn greedy_generate_tokenize_and_logits_match_transformers_on_the_tiny_model() {
    let s = Sandbox::new();
    let model = shared_dir().join("fixtures/tiny-llama");
    let model = model.to_str().unwrap();
    let prompt = &reference("fixtures/tiny-llama/reference.json")["prompts"][0];
    let text = prompt["text"].as_str().unwrap();
    let out = s.json(&[
        "generate",
        "--model",
        model,
        "--prompt",
        text,
        "--greedy",
        "--max-tokens",
        "16",
    ]);
    assert_eq!(out["prompt_token_ids"], prompt["input_ids"]);
    assert_eq!(out["token_ids"], prompt["greedy_new_ids"]);

    let ids = s.json(&["tokenize", "--model", model, "--text", text]);
    assert_eq!(ids["ids"], prompt["input_ids"]);

    let logits = s.json(&["logits", "--model", model, "--prompt", text]);
    let logits: Vec<f64> = logits["logits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let mut order: Vec<usize> = (0..logits.len()).collect();
    order.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]));
    let top5: Vec<u64> = order.iter().take(5).map(|&i| i as u64).collect();
    let expected: Vec<u64> = prompt["last_logits_top5"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(top5, expected);
}

#[test]
fn chat_generation_with_the_default_gguf_matches_transformers_and_stops_at_eos() {
    let s = Sandbox::new();
    let model = default_gguf();
    let case = &reference("fixtures/smollm2-gguf/reference.json")["cases"][0];
    // The reference prompt is one user message rendered by the model's template.
    let rendered = case["text"].as_str().unwrap();
    let user = rendered
        .split("<|im_start|>user\n")
        .nth(1)
        .unwrap()
        .split("<|im_end|>")
        .next()
        .unwrap();
    // The reference continuation is cut at its length; ours must match it token for token.
    let n = case["greedy_new_ids"].as_array().unwrap().len().to_string();
    let out = s.json(&[
        "generate",
        "--model",
        &model,
        "--chat",
        "--prompt",
        user,
        "--max-tokens",
        &n,
    ]);
    assert_eq!(out["prompt_token_ids"], case["input_ids"]);
    assert_eq!(out["token_ids"], case["greedy_new_ids"]);
    assert_eq!(out["text"], case["greedy_new_text"]);
    // Left to run, it ends at <|im_end|>: the last id, not part of the text.
    let long = s.json(&[
        "generate",
        "--model",
        &model,
        "--chat",
        "--prompt",
        user,
        "--max-tokens",
        "200",
    ]);
    let ids = long["token_ids"].as_array().unwrap();
    assert_eq!(long["stop"], "eos");
    assert_eq!(ids.last().unwrap(), 2);
    assert!(!long["text"].as_str().unwrap().contains("<|im_end|>"));
    assert!(
        long["text"]
            .as_str()
            .unwrap()
            .starts_with(case["greedy_new_text"].as_str().unwrap())
    );

    // The quantised fast path (the default for GGUF) starts the same way.
    let fast = s.json(&[
        "generate",
        "--model",
        &model,
        "--chat",
        "--prompt",
        user,
        "--max-tokens",
        "4",
    ]);
    assert_eq!(
        fast["token_ids"].as_array().unwrap()[..],
        case["greedy_new_ids"].as_array().unwrap()[..4]
    );
    let info = s.json(&["model", "info", "--model", &model]);
    assert_eq!(info["format"], "gguf");
    assert_eq!(info["layers"], 30);
    assert_eq!(info["eos_token"], "<|im_end|>");
    let missing = s.run(&["model", "info", "--model", "/nonexistent/model.gguf"]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("fetch-model"));
}

#[test]
fn device_choice_runs_on_the_cpu_and_refuses_a_gpu_backend_the_build_lacks() {
    let s = Sandbox::new();
    let model = shared_dir().join("fixtures/tiny-llama");
    let model = model.to_str().unwrap();
    let info = s.json(&["model", "info", "--model", model, "--device", "auto"]);
    assert_eq!(info["device"], "cpu");
    let out = s.run(&["--device", "cuda", "model", "info", "--model", model]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--features cuda"), "{err}");
    let out = s.run(&["model", "info", "--model", model, "--device", "tpu"]);
    assert!(!out.status.success());
}
