//! In-process half of `cargo xtask bench review`: the median time to save an edit (word diff,
//! preference pair, SFT example and audit entry, one transaction) of a 2,000-character output,
//! and batch generation throughput of a prompt task over demo notes. Prints one JSON object.
//!
//! By hand: `cargo bench -p studio --bench review -- MODEL.gguf [NOTES] [MAX_TOKENS] [EDITS]`.

#![allow(clippy::print_stdout)] // a benchmark binary reports on stdout

use std::path::PathBuf;
use std::time::Instant;

use api::{ApiError, NoteId, RunRequest, SamplingParams, SearchQuery};
use studio::CancelToken;

const SENTENCES: &[&str] = &[
    "Patient is a 72 year-old man admitted for volume overload in the setting of heart failure.",
    "He was diuresed with IV furosemide with a net negative balance of 6 litres.",
    "Creatinine peaked at 2.1 mg/dL and returned to baseline before discharge.",
    "He lives alone in a third-floor walk-up apartment and has no car.",
    "Social work arranged transportation to cardiology follow-up next week.",
    "His daughter calls weekly but lives two hours away and cannot help daily.",
    "Discharged home on furosemide 40 mg daily, metoprolol and lisinopril.",
];

/// A deterministic clinical summary of exactly `chars` characters (ASCII).
fn output_text(chars: usize) -> String {
    let mut text = String::new();
    let mut i = 0;
    while text.len() < chars {
        text.push_str(SENTENCES[i % SENTENCES.len()]);
        text.push(' ');
        i += 1;
    }
    text.truncate(chars);
    text
}

/// The clinician's edit: a few words changed, different on each iteration (no duplicates).
fn edited(original: &str, i: usize) -> String {
    original
        .replacen("no car", &format!("no car (checked {i})"), 1)
        .replacen("weekly", "every few days", 1)
        .replacen("40 mg", "20 mg", 1)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

fn main() -> Result<(), ApiError> {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let Some(model_path) = args.first().map(PathBuf::from) else {
        eprintln!(
            "usage: cargo bench -p studio --bench review -- MODEL [NOTES] [MAX_TOKENS] [EDITS]"
        );
        return Ok(());
    };
    let arg =
        |i: usize, default: usize| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    let notes = arg(1, 100);
    let max_tokens = arg(2, 32);
    let edits = arg(3, 200);
    let dir = tempfile::tempdir().map_err(|e| ApiError::internal(e.to_string()))?;
    let cancel = CancelToken::new();
    let mut project = studio::corpus::create_demo_project(
        &dir.path().join("bench.clinitune"),
        notes,
        11,
        &mut |_| {},
        &cancel,
    )?;

    // Saving an edit: the 2,000-character output is stored first (not timed).
    let chars = 2000;
    let original = output_text(chars);
    let (task, _) = studio::tasks::get(&project, "discharge-summary")?;
    let mut times = Vec::with_capacity(edits);
    for i in 0..edits {
        let note = NoteId((i % notes.max(1)) as i64 + 1);
        let output = studio::review::record_output(
            &mut project,
            note,
            task.id,
            "Write a brief hospital course.",
            &original,
            "bench",
        )?;
        let text = edited(&original, i);
        let t = Instant::now();
        let outcome = studio::review::edit(&mut project, output, &text, "bench-clinician")?;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        if outcome.pair.is_none() || outcome.sft.is_none() {
            return Err(ApiError::internal("an edit made no pair or SFT example"));
        }
    }
    let pairs = studio::datasets::pairs(&project, None)?.len();

    // Batch generation over the demo notes with the default model (quantised, CPU).
    let t = Instant::now();
    let model = studio::models::load(&model_path, false)?;
    let load_s = t.elapsed().as_secs_f64();
    let request = RunRequest {
        task: "sdoh-extract".to_owned(),
        adapters: Vec::new(),
        query: SearchQuery::default(),
        notes: (1..=notes as i64).map(NoteId).collect(),
        samples: 1,
        sampling: SamplingParams {
            temperature: 0.0,
            top_p: 1.0,
            top_k: 0,
            repetition_penalty: 1.0,
            max_tokens,
        },
        seed: 0,
        few_shot: Some(0),
        max_note_tokens: None,
    };
    let summary = studio::runs::run(&mut project, &model, &request, &mut |_| {}, &cancel)?;
    let prompt_tokens: i64 = summary.outputs.iter().filter_map(|o| o.prompt_tokens).sum();
    let p90 = {
        let mut t = times.clone();
        t.sort_by(f64::total_cmp);
        t.get(t.len() * 9 / 10).copied().unwrap_or(0.0)
    };
    let figures = serde_json::json!({
        "edit_output_chars": chars,
        "edit_chars_changed": original.len().abs_diff(edited(&original, 0).len()),
        "edits_timed": edits,
        "save_edit_median_ms": median(times),
        "save_edit_p90_ms": p90,
        "pairs_made": pairs,
        "generation_task": "sdoh-extract",
        "generation_notes": summary.outputs.len(),
        "generation_max_tokens": max_tokens,
        "generation_sampling": "greedy",
        "model_load_s": load_s,
        "generation_s": summary.seconds,
        "generation_notes_per_s": summary.outputs.len() as f64 / summary.seconds.max(1e-9),
        "generated_tokens": summary.generated_tokens,
        "generation_tokens_per_s": summary.generated_tokens as f64 / summary.seconds.max(1e-9),
        "prompt_tokens": prompt_tokens,
        "mean_prompt_tokens": prompt_tokens as f64 / summary.outputs.len().max(1) as f64,
        "prompt_and_generated_tokens_per_s":
            (prompt_tokens as f64 + summary.generated_tokens as f64) / summary.seconds.max(1e-9),
        "unparsed_outputs": summary.outputs.iter().filter(|o| o.parse_error.is_some()).count(),
        "suggested_spans": summary.suggested_spans,
        "threads": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
    });
    println!("{figures}");
    Ok(())
}
