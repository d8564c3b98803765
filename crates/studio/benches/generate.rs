//! In-process half of `cargo xtask bench generate`: load time, prompt and decode speed and peak
//! memory of the default model on the CPU (quantised fast path). Prints one JSON object.
//!
//! By hand: `cargo bench -p studio --bench generate -- MODEL.gguf TOKENS`; `CLINITUNE_DEVICE=cuda`
//! (with `--features studio/cuda`) measures a GPU, where GGUF weights are dequantised.

#![allow(clippy::print_stdout)] // a benchmark binary reports on stdout

use std::path::PathBuf;
use std::time::Instant;

use api::{ApiError, GenerateRequest};

/// A clinical prompt of about 200 tokens, rendered through the chat template.
const PROMPT: &str = "Summarise the social history for the discharge team. Patient is a 72 year-old man \
with congestive heart failure (EF 25%), type 2 diabetes and chronic kidney disease stage 3, admitted \
for volume overload. He lives alone in a third-floor walk-up apartment and has no car; he missed two \
cardiology appointments last month because the bus route near his home was cut. His daughter lives \
two hours away and calls weekly but cannot help with daily tasks. He retired from his job as a \
machinist and lives on a fixed income; he reports skipping doses of furosemide when money is tight. \
He denies alcohol or drug use. Social work was consulted for transportation and medication \
assistance before discharge.";

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|n| n.parse::<f64>().ok())
            })
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn main() -> Result<(), ApiError> {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let Some(model_path) = args.first().map(PathBuf::from) else {
        eprintln!("usage: cargo bench -p studio --bench generate -- MODEL TOKENS");
        return Ok(());
    };
    let tokens: usize = args.get(1).and_then(|t| t.parse().ok()).unwrap_or(128);
    let device_name = std::env::var("CLINITUNE_DEVICE").unwrap_or_else(|_| "cpu".to_owned());
    let device: api::Device = device_name.parse().map_err(|message: String| {
        ApiError::new(
            api::ErrorKind::InvalidInput,
            format!("CLINITUNE_DEVICE: {message}"),
        )
    })?;
    let device = studio::training::plan::device_choice(device);
    let started = Instant::now();
    let model = studio::models::load_on(&model_path, false, device)?;
    let load_s = started.elapsed().as_secs_f64();
    let cancel = studio::CancelToken::new();

    // Prompt processing: one forward pass over the rendered prompt.
    let prompt_ids = studio::models::tokenize(&model, PROMPT, false)?.len();
    let t = Instant::now();
    studio::models::last_logits(&model, PROMPT, true)?;
    let prompt_s = t.elapsed().as_secs_f64();

    // Decode: greedy, a fixed number of new tokens (no EOS stop: stop ids never match).
    let request = GenerateRequest {
        prompt: PROMPT.to_owned(),
        chat: true,
        max_tokens: 1,
        temperature: 0.0,
        top_p: 1.0,
        top_k: 0,
        repetition_penalty: 1.0,
        seed: 0,
        stop: vec![],
    };
    let t = Instant::now();
    let first = studio::models::generate(&model, &request, &mut |_| {}, &cancel)?;
    let one = t.elapsed().as_secs_f64();
    let request = GenerateRequest {
        max_tokens: tokens + 1,
        ..request
    };
    let t = Instant::now();
    let out = studio::models::generate(&model, &request, &mut |_| {}, &cancel)?;
    let all = t.elapsed().as_secs_f64();
    let decoded = out.token_ids.len().saturating_sub(1);
    // The exact text the model saw, so a peer (llama.cpp) can be fed the same prompt.
    let rendered = studio::models::render_chat(&model, PROMPT)?;
    let figures = serde_json::json!({
        "rendered_prompt": rendered,
        "load_s": load_s,
        "prompt_tokens": first.prompt_token_ids.len(),
        "prompt_text_tokens": prompt_ids,
        "prompt_tokens_per_s": first.prompt_token_ids.len() as f64 / prompt_s,
        "decode_tokens": decoded,
        "decode_tokens_per_s": decoded as f64 / (all - one).max(1e-9),
        "stopped": out.stop,
        "peak_rss_mb": peak_rss_mb(),
        "device": studio::models::info(&model).device,
        "threads": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
    });
    let mut figures = figures;
    // `CLINITUNE_BENCH_BATCH=N`: N sampled continuations of the prompt through
    // `generate_batch` (one padded batch on dense models), counting every generated token.
    if let Some(rows) = std::env::var("CLINITUNE_BENCH_BATCH")
        .ok()
        .and_then(|n| n.parse::<u64>().ok())
        .filter(|n| *n > 0)
    {
        let requests: Vec<GenerateRequest> = (0..rows)
            .map(|seed| GenerateRequest {
                max_tokens: tokens,
                temperature: 0.7,
                seed,
                ..request.clone()
            })
            .collect();
        let t = Instant::now();
        let outs = studio::models::generate_batch(&model, &requests, &mut |_| {}, &cancel)?;
        let seconds = t.elapsed().as_secs_f64();
        let generated: usize = outs.iter().map(|o| o.token_ids.len()).sum();
        figures["batch_rows"] = rows.into();
        figures["batch_generated_tokens"] = generated.into();
        figures["batch_tokens_per_s"] = (generated as f64 / seconds).into();
    }
    println!("{figures}");
    Ok(())
}
