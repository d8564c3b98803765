//! `cargo xtask bench train`: LoRA SFT and DPO training speed of the release `clinitune train`
//! on the default model against PyTorch + PEFT + TRL (xtask/src/bench_train_torch.py, from the
//! cached virtualenv of `torch_env`) on the same data, CPU threads and settings: r 8, alpha 16,
//! q/k/v/o, sequences of 256 tokens, batch 2, float32.
//!
//! Prints one JSON object on the last line with `sft_tokens_per_s`, `dpo_tokens_per_s`,
//! `torch_sft_tokens_per_s`, `torch_dpo_tokens_per_s`, `sft_ratio_vs_torch`,
//! `dpo_ratio_vs_torch`, `sft_peak_rss_mb`, `dpo_peak_rss_mb` (ours, read from /proc while the
//! run lasts), the torch peaks, the settings and the machine. Throughput counts the tokens fed
//! to the model (prompt + completion, both completions for DPO) over the timed steps, the first
//! step being a warm-up in both.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};

/// Settings shared by both sides.
const MAX_LENGTH: usize = 256;
const BATCH: usize = 2;
const THREADS: usize = 2;

/// Plain-string TRL records from the demo corpus: a prompt of the note's first ~600 characters
/// and a completion of the rest, so every sequence is cut to exactly `MAX_LENGTH` tokens on
/// both sides (TRL drops DPO records whose prompt alone fills the length).
fn write_data(bin: &Path, dir: &Path, records: usize) -> anyhow::Result<()> {
    let corpus = dir.join("corpus.jsonl");
    let mut c = Command::new(bin);
    c.args(["demo-corpus", &corpus.to_string_lossy(), "--notes"])
        .arg(records.to_string())
        .args(["--seed", "5", "--without-labels"]);
    crate::run(c)?;
    let mut sft = String::new();
    let mut dpo = String::new();
    for line in std::fs::read_to_string(&corpus)?.lines() {
        let note: serde_json::Value = serde_json::from_str(line)?;
        let text = note["text"].as_str().context("note text")?;
        let mut cut = 600.min(text.len());
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        let prompt = format!(
            "Summarise the hospital course of this note.\n\n{}",
            &text[..cut]
        );
        let completion = &text[cut..];
        // The rejected answer: the same text with its sentences in reverse order.
        let mut sentences: Vec<&str> = completion.split(". ").collect();
        sentences.reverse();
        let rejected = sentences.join(". ");
        sft.push_str(&serde_json::json!({"prompt": prompt, "completion": completion}).to_string());
        sft.push('\n');
        dpo.push_str(
            &serde_json::json!({"prompt": prompt, "chosen": completion, "rejected": rejected})
                .to_string(),
        );
        dpo.push('\n');
    }
    std::fs::write(dir.join("sft.jsonl"), sft)?;
    std::fs::write(dir.join("dpo.jsonl"), dpo)?;
    Ok(())
}

/// One release `clinitune train` run: (tokens/s over steps 2.., peak RSS in MB).
fn ours(
    bin: &Path,
    model: &Path,
    data: &Path,
    objective: &str,
    steps: usize,
    out: &Path,
) -> anyhow::Result<(f64, f64)> {
    let _ = std::fs::remove_dir_all(out);
    let mut child = Command::new(bin)
        .args(["train", objective, "--model"])
        .arg(model)
        .arg("--data")
        .arg(data)
        .arg("--out")
        .arg(out)
        .args(["--steps", &steps.to_string()])
        .args(["--batch-size", &BATCH.to_string()])
        .args(["--rank", "8", "--alpha", "16", "--dropout", "0"])
        .args(["--targets", "q_proj,k_proj,v_proj,o_proj"])
        .args(["--max-length", &MAX_LENGTH.to_string()])
        .args([
            "--lr",
            "5e-5",
            "--scheduler",
            "constant",
            "--save-steps",
            "0",
            "--json",
        ])
        .env("RAYON_NUM_THREADS", THREADS.to_string())
        .stdout(Stdio::piped())
        .spawn()
        .context("cannot start clinitune train")?;
    let pid = child.id();
    let mut peak_kb = 0u64;
    let stdout = child.stdout.take().context("stdout")?;
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut { stdout }, &mut s).map(|_| s)
    });
    let status = loop {
        if let Some(kb) = crate::bench::vm_hwm_kb(pid) {
            peak_kb = peak_kb.max(kb);
        }
        if let Some(status) = child.try_wait()? {
            break status;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    if !status.success() {
        bail!("clinitune train {objective} failed with {status}");
    }
    let text = reader
        .join()
        .map_err(|_| anyhow::anyhow!("reader panicked"))??;
    let steps: Vec<serde_json::Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v.get("step").is_some())
        .collect();
    let (mut tokens, mut seconds) = (0.0, 0.0);
    for s in steps.iter().skip(1) {
        let t = s["tokens"].as_f64().unwrap_or(0.0);
        tokens += t;
        seconds += t / s["tokens_per_s"].as_f64().unwrap_or(f64::INFINITY);
    }
    if seconds <= 0.0 {
        bail!("no timed steps in clinitune train's output");
    }
    Ok((tokens / seconds, peak_kb as f64 / 1024.0))
}

fn torch(
    model: &Path,
    data: &Path,
    objective: &str,
    steps: usize,
) -> anyhow::Result<serde_json::Value> {
    let python = crate::torch_env::python()?;
    let mut c = Command::new(python);
    c.arg(crate::root().join(crate::torch_env::BENCH_TRAIN_SCRIPT))
        .arg("--model")
        .arg(model)
        .arg("--data")
        .arg(data)
        .args(["--objective", objective, "--steps", &steps.to_string()])
        .args([
            "--batch-size",
            &BATCH.to_string(),
            "--threads",
            &THREADS.to_string(),
        ])
        .args(["--max-length", &MAX_LENGTH.to_string()]);
    crate::bench::json_output(c, "the PyTorch baseline")
}

/// `bench train [--steps N]`.
pub fn run(args: &[String]) -> anyhow::Result<()> {
    let steps = crate::bench::flag(args, "--steps", 5)?.max(2);
    let model = crate::model::fetch_default()?;
    let bin = crate::build_cli()?;
    let dir = crate::target_dir().join("bench-train");
    std::fs::create_dir_all(&dir)?;
    write_data(&bin, &dir, steps * BATCH * 2)?;
    let mut figures = serde_json::json!({
        "benchmark": "train",
        "model": model.file_name().map(|n| n.to_string_lossy().into_owned()),
        "max_length": MAX_LENGTH, "batch_size": BATCH, "threads": THREADS, "steps": steps,
        "lora": {"r": 8, "alpha": 16, "targets": ["q_proj", "k_proj", "v_proj", "o_proj"]},
        "dtype": "f32",
        "machine": crate::bench::machine(),
    });
    for objective in ["sft", "dpo"] {
        let data = dir.join(format!("{objective}.jsonl"));
        eprintln!("xtask: clinitune train {objective}");
        let (tps, rss) = ours(
            &bin,
            &model,
            &data,
            objective,
            steps,
            &dir.join(format!("out-{objective}")),
        )?;
        eprintln!("xtask: PyTorch + PEFT + TRL {objective}");
        let theirs = torch(&model, &data, objective, steps)?;
        let their_tps = theirs["tokens_per_s"].as_f64().unwrap_or(f64::NAN);
        let o = figures.as_object_mut().expect("object");
        o.insert(format!("{objective}_tokens_per_s"), tps.into());
        o.insert(format!("{objective}_peak_rss_mb"), rss.into());
        o.insert(format!("torch_{objective}_tokens_per_s"), their_tps.into());
        o.insert(
            format!("{objective}_ratio_vs_torch"),
            (tps / their_tps).into(),
        );
        o.insert(
            format!("torch_{objective}_peak_rss_mb"),
            theirs["peak_rss_mb"].clone(),
        );
        o.insert(format!("torch_{objective}"), theirs);
    }
    let sft_rss = figures["sft_peak_rss_mb"].as_f64().unwrap_or(0.0);
    let dpo_rss = figures["dpo_peak_rss_mb"].as_f64().unwrap_or(0.0);
    figures["dpo_over_sft_rss"] = (dpo_rss / sft_rss).into();
    println!("{}", serde_json::to_string(&figures)?);
    Ok(())
}
