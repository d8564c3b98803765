//! Training sets made from the demo corpus's gold labels (TRL JSONL records), for benchmarks
//! and the `demo-training-data` command.

use std::path::Path;

use crate::error::Error;

/// Training sets made from the synthetic demo corpus's gold labels, as TRL JSONL records:
/// the social-history paragraph of each note that has one, and the SDoH it mentions.
pub struct DemoData {
    /// `{"prompt", "completion"}` (conversational): the paragraph → its SDoH list.
    pub sft: Vec<serde_json::Value>,
    /// `{"prompt", "chosen", "rejected"}`: the right list against one with a wrong category.
    pub pairs: Vec<serde_json::Value>,
    /// `{"text", "labels"}`: the paragraph and the SDoH categories it mentions.
    pub classify: Vec<serde_json::Value>,
    /// Plain-string `{"prompt", "completion"}` over the whole note (long contexts:
    /// benchmarks cut them to a fixed length).
    pub sft_long: Vec<serde_json::Value>,
    /// Plain-string `{"prompt", "chosen", "rejected"}` over the whole note.
    pub pairs_long: Vec<serde_json::Value>,
}

/// The SDoH categories of the demo corpus, in the order lists are written.
const SDOH: [&str; 6] = [
    "EMPLOYMENT",
    "HOUSING",
    "TRANSPORTATION",
    "PARENT",
    "RELATIONSHIP",
    "SUPPORT",
];

fn title(label: &str) -> String {
    let lower = label.to_lowercase();
    let mut c = lower.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

/// Builds [`DemoData`] from `notes` demo notes of corpus `seed`.
pub fn demo_data(notes: usize, seed: u64) -> DemoData {
    let mut data = DemoData {
        sft: vec![],
        pairs: vec![],
        classify: vec![],
        sft_long: vec![],
        pairs_long: vec![],
    };
    let instruction = "List the social determinants of health in this social history, one \
                       `Category: evidence` per line.";
    for note in crate::demo::generate(crate::demo::DemoConfig { notes, seed }) {
        let Some(first) = note.spans.first() else {
            continue;
        };
        // The paragraph holding the first gold span.
        let start = note.text[..first.start].rfind("\n\n").map_or(0, |i| i + 2);
        let end = note.text[first.start..]
            .find("\n\n")
            .map_or(note.text.len(), |i| first.start + i);
        let paragraph = note.text[start..end].trim();
        let spans: Vec<_> = note
            .spans
            .iter()
            .filter(|s| s.start >= start && s.end <= end)
            .collect();
        let lines: Vec<String> = spans
            .iter()
            .map(|s| format!("{}: {}", title(&s.label), &note.text[s.start..s.end]))
            .collect();
        let prompt = serde_json::json!([{
            "role": "user",
            "content": format!("{instruction}\n\n{paragraph}"),
        }]);
        let answer = |lines: &[String]| serde_json::json!([{"role": "assistant", "content": lines.join("\n")}]);
        data.sft
            .push(serde_json::json!({"prompt": prompt, "completion": answer(&lines)}));
        // Rejected: the first item filed under the next category — the kind of slip a model
        // makes and a clinician corrects.
        let wrong = SDOH
            .iter()
            .position(|l| *l == spans[0].label)
            .map_or(SDOH[0], |i| SDOH[(i + 1) % SDOH.len()]);
        let mut rejected = lines.clone();
        rejected[0] = format!(
            "{}: {}",
            title(wrong),
            &note.text[spans[0].start..spans[0].end]
        );
        data.pairs.push(serde_json::json!({
            "prompt": prompt, "chosen": answer(&lines), "rejected": answer(&rejected),
        }));
        let long_prompt = format!("{instruction}\n\n{}\n\nAnswer:\n", note.text);
        data.sft_long.push(serde_json::json!({
            "prompt": long_prompt, "completion": lines.join("\n"),
        }));
        data.pairs_long.push(serde_json::json!({
            "prompt": long_prompt, "chosen": lines.join("\n"), "rejected": rejected.join("\n"),
        }));
        let mut labels: Vec<&str> = spans.iter().map(|s| s.label.as_str()).collect();
        labels.sort();
        labels.dedup();
        data.classify
            .push(serde_json::json!({"text": paragraph, "labels": labels}));
    }
    data
}

/// Writes [`DemoData`] into `dir` as `sft.jsonl`, `pairs.jsonl`, `classify.jsonl`,
/// `sft_long.jsonl` and `pairs_long.jsonl`; returns the number of notes used.
pub fn write_demo_data(dir: &Path, notes: usize, seed: u64) -> Result<usize, Error> {
    std::fs::create_dir_all(dir).map_err(|source| Error::Io {
        action: "create",
        path: dir.to_owned(),
        source,
    })?;
    let d = demo_data(notes, seed);
    write_jsonl(&dir.join("sft.jsonl"), &d.sft)?;
    write_jsonl(&dir.join("pairs.jsonl"), &d.pairs)?;
    write_jsonl(&dir.join("classify.jsonl"), &d.classify)?;
    write_jsonl(&dir.join("sft_long.jsonl"), &d.sft_long)?;
    write_jsonl(&dir.join("pairs_long.jsonl"), &d.pairs_long)?;
    Ok(d.sft.len())
}

/// Writes records as JSON Lines.
pub fn write_jsonl(path: &Path, records: &[serde_json::Value]) -> Result<(), Error> {
    let mut text = String::new();
    for r in records {
        text.push_str(&r.to_string());
        text.push('\n');
    }
    tune::lora::write_atomic(path, text.as_bytes()).map_err(super::run::writing)
}
