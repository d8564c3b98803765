//! The review loop of `cargo xtask demo`, driven through the CLI as a lab's script would:
//! the default model extracts SDoH mentions from a few social work notes (two samples each),
//! a scripted "clinician" corrects them from the corpus's gold labels (edit sample 1 into the
//! gold answer, prefer the closer of the two samples, accept or reject the suggested spans),
//! and the resulting preference pairs are split, listed and exported as TRL JSONL.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, bail};
use serde_json::{Value, json};

/// Notes the demo generates for, and the token budget per output: a few minutes on 2 cores.
const NOTES: &str = "6";
const MAX_TOKENS: &str = "96";
const CLINICIAN: &str = "demo-clinician";

/// Runs `clinitune ARGS --json` on the project and parses its output (progress bars stay on
/// the terminal's stderr).
fn json(bin: &Path, project: &Path, args: &[&str]) -> anyhow::Result<Value> {
    let out = Command::new(bin)
        .args(args)
        .arg("--json")
        .env("CLINITUNE_PROJECT", project)
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("cannot run clinitune {args:?}"))?;
    if !out.status.success() {
        bail!("clinitune {args:?} failed");
    }
    serde_json::from_slice(&out.stdout)
        .with_context(|| format!("clinitune {args:?} printed no JSON"))
}

/// The answer the gold spans give, in the format the sdoh-extract task asks for.
fn gold_answer(note: &Value) -> String {
    let mentions: Vec<Value> = note["spans"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["status"] == "gold")
        .map(|s| {
            json!({
                "category": s["label"],
                "adverse": s["attributes"]["adverse"].as_str().map(|a| a == "true"),
                "evidence": s["text"],
            })
        })
        .collect();
    json!({ "mentions": mentions }).to_string()
}

/// How close an output is to the gold labels: two points per gold (label, evidence) mention it
/// gets right, one for being readable JSON at all.
fn score(output: &Value, note: &Value) -> usize {
    let gold: BTreeSet<(String, String)> = note["spans"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["status"] == "gold")
        .filter_map(|s| {
            Some((
                s["label"].as_str()?.to_uppercase(),
                s["text"].as_str()?.to_lowercase(),
            ))
        })
        .collect();
    let readable = usize::from(output["parse_error"].is_null());
    readable
        + 2 * output["parsed"]["mentions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|m| {
                let (Some(c), Some(e)) = (m["category"].as_str(), m["evidence"].as_str()) else {
                    return false;
                };
                let e = e.trim().trim_end_matches('.').to_lowercase();
                e.len() >= 8
                    && gold.iter().any(|(gc, ge)| {
                        c.to_uppercase().contains(gc.as_str())
                            && (ge.contains(&e) || e.contains(ge.as_str()))
                    })
            })
            .count()
}

/// The review loop on the demo project; `dir` receives the exported datasets.
pub fn review_loop(bin: &Path, project: &Path, dir: &Path) -> anyhow::Result<()> {
    let model = crate::model::fetch_default()?;
    let model = model.to_string_lossy();
    println!(
        "\n== Review loop: sdoh-extract on {NOTES} social work notes, 2 samples each ({model}) =="
    );
    // A rerun of the demo resumes this run: notes already done are skipped.
    json(
        bin,
        project,
        &[
            "run",
            "--task",
            "sdoh-extract",
            "--model",
            &model,
            "--category",
            "Social work",
            "--label",
            "SUPPORT",
            "--limit",
            NOTES,
            "--samples",
            "2",
            "--temperature",
            "0.7",
            "--top-p",
            "0.9",
            "--seed",
            "7",
            "--max-tokens",
            MAX_TOKENS,
        ],
    )?;
    let outputs = json(bin, project, &["outputs", "list", "--task", "sdoh-extract"])?;
    let outputs = outputs.as_array().context("outputs list is not a list")?;
    let notes: BTreeSet<i64> = outputs
        .iter()
        .filter_map(|o| o["note_id"].as_i64())
        .collect();
    let (mut edits, mut ranks, mut accepted, mut rejected) = (0, 0, 0, 0);
    let scratch = tempfile::tempdir()?;
    for note_id in notes {
        let note = json(bin, project, &["notes", "show", &note_id.to_string()])?;
        let mine: Vec<&Value> = outputs
            .iter()
            .filter(|o| o["note_id"].as_i64() == Some(note_id))
            .collect();
        let (Some(first), second) = (mine.first(), mine.get(1)) else {
            continue;
        };
        let unparsed = mine.iter().filter(|o| o["parse_error"].is_string()).count();
        println!(
            "note {note_id}: {} outputs ({unparsed} unparsed), {} gold spans",
            mine.len(),
            note["spans"]
                .as_array()
                .map_or(0, |s| s.iter().filter(|s| s["status"] == "gold").count())
        );
        // 1. The clinician rewrites the first sample into what the note supports.
        let fixed = scratch.path().join(format!("note-{note_id}.json"));
        std::fs::write(&fixed, gold_answer(&note))?;
        json(
            bin,
            project,
            &[
                "review",
                "edit",
                &first["id"].to_string(),
                "--text-file",
                &fixed.to_string_lossy(),
                "--annotator",
                CLINICIAN,
            ],
        )?;
        edits += 1;
        // 2. Of two samples, the one closer to the gold labels is preferred (a tie: no ranking).
        if let Some(second) = second
            && score(first, &note) != score(second, &note)
        {
            let prefer = if score(second, &note) > score(first, &note) {
                "b"
            } else {
                "a"
            };
            json(
                bin,
                project,
                &[
                    "review",
                    "rank",
                    &first["id"].to_string(),
                    &second["id"].to_string(),
                    "--prefer",
                    prefer,
                    "--annotator",
                    CLINICIAN,
                ],
            )?;
            ranks += 1;
        }
        // 3. Suggested spans: accepted where they match a gold span, rejected otherwise.
        let spans = note["spans"].as_array().cloned().unwrap_or_default();
        for s in spans.iter().filter(|s| s["status"] == "suggested") {
            let matches_gold = spans.iter().any(|g| {
                g["status"] == "gold"
                    && g["label"] == s["label"]
                    && g["start"] == s["start"]
                    && g["end"] == s["end"]
            });
            let decision = if matches_gold { "accept" } else { "reject" };
            json(
                bin,
                project,
                &[
                    "review",
                    "suggestion",
                    &s["id"].to_string(),
                    decision,
                    "--annotator",
                    CLINICIAN,
                ],
            )?;
            if matches_gold {
                accepted += 1;
            } else {
                rejected += 1;
            }
        }
    }
    println!(
        "Scripted review: {edits} edits, {ranks} rankings, {accepted} suggested spans accepted, {rejected} rejected."
    );
    let split = json(bin, project, &["pairs", "split", "--seed", "7"])?;
    println!(
        "Split by note (train/validation/test notes): {}",
        split["groups"]
    );
    println!("\n== Preference pairs ==");
    crate::run({
        let mut c = Command::new(bin);
        c.args(["pairs", "list"]).env("CLINITUNE_PROJECT", project);
        c
    })?;
    for (format, file, extra) in [
        ("trl-preference", "pairs.jsonl", None),
        ("trl-sft", "sft.jsonl", Some("--conversational")),
    ] {
        let out = dir.join(file);
        let mut args = vec!["pairs", "export", "--format", format];
        args.extend(extra);
        let out_s = out.to_string_lossy();
        args.push(&out_s);
        let summary = json(bin, project, &args)?;
        println!(
            "Wrote {} {format} lines to {}",
            summary["written"],
            out.display()
        );
    }
    Ok(())
}
