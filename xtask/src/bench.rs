//! `cargo xtask bench store`: import, search and annotation speed on 100,000 generated notes.
//! (`bench generate`, `bench app` and `bench review` are described at their functions.)
//!
//! Prints one JSON object on the last line of stdout with `import_notes_per_s`,
//! `import_peak_rss_mb` (notes and their full-text index), the same with the corpus's gold
//! spans and labels (`import_with_gold_labels_*`), `search_median_ms` and
//! `save_span_median_ms` (on the labelled project), plus the machine.
//! The import runs the release `clinitune import` as a child process (its peak RSS is read from
//! /proc while it runs); search and span saving run in-process in `crates/studio/benches/store.rs`.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

pub fn run(args: &[String]) -> anyhow::Result<()> {
    match args.first().map(String::as_str) {
        Some("store") => store(args.get(1..).unwrap_or_default()),
        Some("generate") => generate(args.get(1..).unwrap_or_default()),
        Some("app") => app(),
        Some("train") => crate::bench_train::run(args.get(1..).unwrap_or_default()),
        Some("review") => review(args.get(1..).unwrap_or_default()),
        other => {
            bail!("unknown benchmark {other:?}; available: store, generate, app, train, review")
        }
    }
}

pub(crate) fn flag(args: &[String], name: &str, default: usize) -> anyhow::Result<usize> {
    match args.iter().position(|a| a == name) {
        Some(i) => Ok(args.get(i + 1).context("flag needs a value")?.parse()?),
        None => Ok(default),
    }
}

/// Writes a demo corpus with the release CLI; returns its size in bytes.
fn make_corpus(bin: &Path, out: &Path, notes: usize, labels: bool) -> anyhow::Result<u64> {
    let mut c = Command::new(bin);
    c.args([
        "demo-corpus",
        &out.to_string_lossy(),
        "--notes",
        &notes.to_string(),
        "--seed",
        "11",
    ]);
    if !labels {
        c.arg("--without-labels");
    }
    crate::run(c)?;
    Ok(std::fs::metadata(out)?.len())
}

/// A new project with the built-in SDoH and outcome schemas, made by the release CLI.
fn init_project(bin: &Path, project: &Path) -> anyhow::Result<()> {
    let mut init = Command::new(bin);
    init.args([
        "init",
        &project.to_string_lossy(),
        "--schema",
        "sdoh",
        "--schema",
        "outcomes",
    ]);
    crate::run(init)
}

/// One timed `clinitune import` into a new project: (seconds, peak RSS in KiB, summary).
fn timed_import(
    bin: &Path,
    corpus: &Path,
    project: &Path,
) -> anyhow::Result<(f64, u64, serde_json::Value)> {
    init_project(bin, project)?;
    eprintln!("xtask: importing {}", corpus.display());
    let mut child = Command::new(bin)
        .args(["import", &corpus.to_string_lossy(), "--json"])
        .env("CLINITUNE_PROJECT", project)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .context("cannot start clinitune import")?;
    let started = Instant::now();
    let mut peak_kb = 0u64;
    let status = loop {
        if let Some(kb) = vm_hwm_kb(child.id()) {
            peak_kb = peak_kb.max(kb);
        }
        if let Some(status) = child.try_wait()? {
            break status;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let seconds = started.elapsed().as_secs_f64();
    if !status.success() {
        bail!("clinitune import failed with {status}");
    }
    let mut out = String::new();
    if let Some(mut stdout) = child.stdout.take() {
        std::io::Read::read_to_string(&mut stdout, &mut out)?;
    }
    Ok((seconds, peak_kb, serde_json::from_str(out.trim())?))
}

fn store(args: &[String]) -> anyhow::Result<()> {
    let notes = flag(args, "--notes", 100_000)?;
    let bin = crate::build_cli()?;
    let work = tempfile::tempdir()?;
    // The target's case: notes and their full-text index.
    let plain = work.path().join("plain.jsonl");
    let plain_bytes = make_corpus(&bin, &plain, notes, false)?;
    let (plain_s, plain_kb, plain_summary) =
        timed_import(&bin, &plain, &work.path().join("plain.clinitune"))?;
    std::fs::remove_file(&plain)?;
    // The demo's case: the same notes with their gold spans and document labels.
    let corpus = work.path().join("gold.jsonl");
    make_corpus(&bin, &corpus, notes, true)?;
    let project = work.path().join("gold.clinitune");
    let (import_s, peak_kb, summary) = timed_import(&bin, &corpus, &project)?;
    let imported = summary["imported"].as_u64().unwrap_or(0);
    let plain_imported = plain_summary["imported"].as_u64().unwrap_or(0);

    // Search and span saving in-process: crates/studio/benches/store.rs, optimised.
    let mut inner = crate::cargo(&[
        "bench",
        "--quiet",
        "--package",
        "studio",
        "--bench",
        "store",
        "--",
    ]);
    inner.arg(&project);
    let inner = json_output(inner, "the in-process benchmark")?;

    let mut figures = serde_json::json!({
        "benchmark": "store",
        "notes": plain_imported,
        "mean_note_bytes": plain_bytes as f64 / notes.max(1) as f64,
        "import_s": plain_s,
        "import_notes_per_s": plain_imported as f64 / plain_s,
        "import_peak_rss_mb": plain_kb as f64 / 1024.0,
        "import_with_gold_labels_s": import_s,
        "import_with_gold_labels_notes_per_s": imported as f64 / import_s,
        "import_with_gold_labels_peak_rss_mb": peak_kb as f64 / 1024.0,
        "spans_imported": summary["spans"],
        "doc_labels_imported": summary["doc_labels"],
        "project_mb": std::fs::metadata(&project).map(|m| m.len() as f64 / 1e6).unwrap_or(0.0),
        "machine": machine(),
    });
    if let (Some(obj), Some(extra)) = (figures.as_object_mut(), inner.as_object()) {
        obj.extend(extra.clone());
    }
    println!("{}", serde_json::to_string(&figures)?);
    Ok(())
}

/// Runs `cmd` and returns the JSON object on the last line of its stdout; `what` names it in
/// errors, which carry its stderr and stdout.
pub(crate) fn json_output(mut cmd: Command, what: &str) -> anyhow::Result<serde_json::Value> {
    let out = cmd.output().with_context(|| format!("cannot run {what}"))?;
    if !out.status.success() {
        bail!(
            "{what} failed: {}{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
    }
    last_json_line(&out.stdout)
}

/// `cargo xtask bench review`: the median time to save an edit of a 2,000-character output
/// (word diff, preference pair, SFT example, audit entry) and batch generation throughput of
/// `sdoh-extract` over demo notes with the default model (crates/studio/benches/review.rs).
/// `--notes N` (100), `--tokens N` (32 new tokens per note, greedy), `--edits N` (200).
fn review(args: &[String]) -> anyhow::Result<()> {
    let notes = flag(args, "--notes", 100)?;
    let tokens = flag(args, "--tokens", 32)?;
    let edits = flag(args, "--edits", 200)?;
    let model = crate::model::fetch_default()?;
    let mut inner = crate::cargo(&[
        "bench",
        "--quiet",
        "--package",
        "studio",
        "--bench",
        "review",
        "--",
    ]);
    inner
        .arg(&model)
        .arg(notes.to_string())
        .arg(tokens.to_string())
        .arg(edits.to_string());
    let inner = json_output(inner, "the review benchmark")?;
    let mut figures = serde_json::json!({
        "benchmark": "review",
        "model": model.file_name().map(|n| n.to_string_lossy().into_owned()),
        "build": "release (cargo bench)",
        "machine": machine(),
    });
    if let (Some(obj), Some(extra)) = (figures.as_object_mut(), inner.as_object()) {
        obj.extend(extra.clone());
    }
    println!("{}", serde_json::to_string(&figures)?);
    Ok(())
}

/// A word only the two long notes of the app benchmark contain.
const LONG_NOTE_WORD: &str = "zebrafinch";

/// `cargo xtask bench app`: the release app over WebDriver (tests/benches/app.rs) on 100,000
/// demo notes plus two 20,000-character notes with 200 spans each and the demo's preference
/// pairs, on the default model. Prints `cold_start_ms`, `switch_note_ms`,
/// `keystroke_to_saved_ms`, `list_jump_ms`, `first_token_ms`, `train_event_to_chart_ms` and
/// `input_latency_during_training_ms` (medians) and the machine.
fn app() -> anyhow::Result<()> {
    let app_bin = crate::studio::build()?;
    let bin = crate::build_cli()?;
    let work = tempfile::tempdir()?;
    let project = work.path().join("bench.clinitune");
    let corpus = work.path().join("demo.jsonl");
    make_corpus(&bin, &corpus, 100_000, true)?;
    let long = work.path().join("long.jsonl");
    std::fs::write(&long, long_notes_jsonl(2, 20_000, 200)?)?;
    init_project(&bin, &project)?;
    // Preference pairs for the Train page's run, and the default model to run and train.
    let model = crate::model::fetch_default()?;
    let pairs_dir = work.path().join("pairs");
    let mut demo_pairs = Command::new(&bin);
    demo_pairs.args([
        "demo-training-data",
        &pairs_dir.to_string_lossy(),
        "--notes",
        "30",
    ]);
    crate::run(demo_pairs)?;
    let mut import_pairs = Command::new(&bin);
    import_pairs
        .args([
            "pairs",
            "import",
            &pairs_dir.join("pairs.jsonl").to_string_lossy(),
        ])
        .env("CLINITUNE_PROJECT", &project);
    crate::run(import_pairs)?;
    for file in [&corpus, &long] {
        let mut import = Command::new(&bin);
        import
            .args(["import", &file.to_string_lossy()])
            .env("CLINITUNE_PROJECT", &project);
        crate::run(import)?;
    }
    let mut out = crate::cargo(&[
        "bench",
        "--quiet",
        "--package",
        "tests",
        "--bench",
        "app",
        "--",
    ]);
    out.arg(&project)
        .arg(LONG_NOTE_WORD)
        .arg(&model)
        .env("CLINITUNE_STUDIO_BIN", &app_bin);
    let mut figures = json_output(out, "the app benchmark (tests/benches/app.rs)")?;
    if let Some(obj) = figures.as_object_mut() {
        obj.insert("note_chars".to_owned(), 20_000.into());
        obj.insert("note_spans".to_owned(), 200.into());
        obj.insert("build".to_owned(), "release".into());
        obj.insert("machine".to_owned(), machine());
    }
    println!("{}", serde_json::to_string(&figures)?);
    Ok(())
}

/// `count` notes of `chars` characters (clinical prose, mixed scripts) with `spans` spans each,
/// as import JSONL (code-point offsets).
fn long_notes_jsonl(count: usize, chars: usize, spans: usize) -> anyhow::Result<String> {
    const SENTENCES: &[&str] = &[
        "Pt lives alone in a third-floor walk-up and has no car; daughter visits weekly.",
        "Reports he was laid off in March and is struggling to pay rent.",
        "Hospital course notable for AKI, Cr peaked at 2.1 mg/dL, resolved with IV fluids.",
        "Social work consulted for transportation to dialysis; ride program arranged.",
        "Married, two adult children, retired school teacher, café owner's widow — née Müller.",
        "Denies tobacco, EtOH 1–2 drinks/week; no illicit drug use. 肺炎 ruled out.",
    ];
    const LABELS: &[&str] = &[
        "HOUSING",
        "EMPLOYMENT",
        "TRANSPORTATION",
        "SUPPORT",
        "RELATIONSHIP",
    ];
    let mut out = String::new();
    for n in 0..count {
        let mut text = format!("Long note {} {LONG_NOTE_WORD}. ", n + 1);
        let mut i = n;
        while text.chars().count() < chars {
            text.push_str(SENTENCES[i % SENTENCES.len()]);
            text.push(if i % 4 == 3 { '\n' } else { ' ' });
            i += 1;
        }
        let text: String = text.chars().take(chars).collect();
        // Word starts in code points, then every k-th word (two words long) becomes a span.
        let chars_v: Vec<char> = text.chars().collect();
        let mut words = Vec::new();
        let mut start = None;
        for (k, c) in chars_v.iter().enumerate() {
            match (c.is_alphanumeric(), start) {
                (true, None) => start = Some(k),
                (false, Some(s)) => {
                    words.push((s, k));
                    start = None;
                }
                _ => {}
            }
        }
        let step = (words.len() / (spans + 1)).max(2);
        let spans_json: Vec<serde_json::Value> = (0..spans)
            .filter_map(|s| {
                let (a, _) = *words.get(s * step + 1)?;
                let (_, b) = *words.get(s * step + 2)?;
                Some(serde_json::json!({
                    "start": a, "end": b, "label": LABELS[s % LABELS.len()], "attributes": {}
                }))
            })
            .collect();
        if spans_json.len() < spans {
            bail!("the long note has too few words for {spans} spans");
        }
        let record = serde_json::json!({
            "id": format!("long-{}", n + 1),
            "category": "Discharge summary",
            "text": text,
            "spans": spans_json,
        });
        out.push_str(&serde_json::to_string(&record)?);
        out.push('\n');
    }
    Ok(out)
}

/// Peak resident set of a running process, from /proc (Linux).
pub(crate) fn vm_hwm_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

pub(crate) fn machine() -> serde_json::Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned());
    serde_json::json!({
        "cpu": cpu,
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "os": std::env::consts::OS,
    })
}

/// `bench generate`: our decode speed against llama.cpp on the same GGUF, prompt and threads.
fn generate(args: &[String]) -> anyhow::Result<()> {
    let tokens = flag(args, "--tokens", 128)?;
    let model = crate::model::fetch_default()?;
    let mut ours = crate::cargo(&[
        "bench",
        "--quiet",
        "--package",
        "studio",
        "--bench",
        "generate",
        "--",
    ]);
    ours.arg(&model).arg(tokens.to_string());
    let ours = json_output(ours, "the generate benchmark")?;
    let threads = ours["threads"].as_u64().unwrap_or(2);
    // The same text our benchmark fed the model, chat template included.
    let rendered = ours["rendered_prompt"]
        .as_str()
        .context("no rendered_prompt")?
        .to_owned();
    let python = crate::llama_env::python()?;
    let mut theirs = Command::new(python);
    theirs
        .arg(crate::root().join("xtask/src/bench_llama_cpp.py"))
        .arg(&model)
        .arg(&rendered)
        .arg(tokens.to_string())
        .arg(threads.to_string());
    let theirs = json_output(theirs, "the llama.cpp benchmark")?;
    let ratio = ours["decode_tokens_per_s"].as_f64().unwrap_or(0.0)
        / theirs["llama_cpp_decode_tokens_per_s"]
            .as_f64()
            .unwrap_or(f64::INFINITY);
    let mut figures = serde_json::json!({
        "benchmark": "generate",
        "model": model.file_name().map(|n| n.to_string_lossy().into_owned()),
        "ratio_vs_llama_cpp": ratio,
        "machine": machine(),
    });
    if let Some(obj) = figures.as_object_mut() {
        for part in [&ours, &theirs] {
            if let Some(extra) = part.as_object() {
                obj.extend(extra.clone());
            }
        }
        obj.remove("rendered_prompt");
    }
    println!("{}", serde_json::to_string(&figures)?);
    Ok(())
}

/// The JSON object on the last non-empty line of a benchmark's output.
fn last_json_line(stdout: &[u8]) -> anyhow::Result<serde_json::Value> {
    let line = stdout
        .split(|b| *b == b'\n')
        .rfind(|l| !l.is_empty())
        .unwrap_or_default();
    serde_json::from_slice(line)
        .with_context(|| format!("not JSON: {}", String::from_utf8_lossy(line)))
}
