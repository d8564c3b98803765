use std::path::{Path, PathBuf};

use super::*;

/// This package's folder: from cargo at run time (so artifacts reused by another checkout of
/// the same sources look in the right place), else as compiled.
fn manifest_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}

fn tiny() -> LoadedModel {
    let dir = manifest_dir().join("../../../shared/fixtures/tiny-llama");
    assert!(
        dir.is_dir(),
        "fixture model missing: expected {}",
        dir.display()
    );
    load(&dir, false).unwrap()
}

fn request(prompt: &str, seed: u64) -> GenerateRequest {
    GenerateRequest {
        prompt: prompt.to_owned(),
        chat: false,
        max_tokens: 6,
        temperature: 0.9,
        top_p: 0.9,
        top_k: 40,
        repetition_penalty: 1.0,
        seed,
        stop: vec![],
    }
}

#[test]
fn batch_generation_equals_one_by_one_and_reports_progress() {
    let model = tiny();
    let requests = [
        request("Pt lives alone.", 1),
        request("No car; misses visits.", 2),
        request("Retired teacher.", 3),
    ];
    let cancel = CancelToken::new();
    let mut seen = Vec::new();
    let batch = generate_batch(
        &model,
        &requests,
        &mut |p| seen.push((p.done, p.total)),
        &cancel,
    )
    .unwrap();
    let single: Vec<GenerateResult> = requests
        .iter()
        .map(|r| generate(&model, r, &mut |_| {}, &cancel).unwrap())
        .collect();
    assert_eq!(batch, single);
    assert_eq!(seen, vec![(1, Some(3)), (2, Some(3)), (3, Some(3))]);

    cancel.cancel();
    assert!(
        generate_batch(&model, &requests, &mut |_| {}, &cancel)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn chat_prompts_are_rendered_with_the_model_template() {
    let model = tiny();
    let text = render_chat(&model, "Hi").unwrap();
    assert!(
        text.ends_with("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"),
        "{text:?}"
    );
    let err = load(Path::new("/nonexistent/model.gguf"), false)
        .err()
        .unwrap();
    assert!(
        err.to_string()
            .contains("cannot read /nonexistent/model.gguf"),
        "{err}"
    );
    let not_a_model = manifest_dir().join("Cargo.toml");
    let err = load(&not_a_model, false).err().unwrap();
    assert!(
        err.to_string()
            .contains("neither a model folder nor a .gguf file"),
        "{err}"
    );
}
