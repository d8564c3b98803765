//! `clinitune train` end to end on the tiny fixture model: a run killed with SIGKILL and resumed
//! ends with the same adapter as an uninterrupted one; saved adapters load in `generate` and
//! `logits`, and a merged export gives the same logits as the adapter on the base.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::{Sandbox, clinitune_bin, shared_dir};

fn tiny() -> String {
    shared_dir()
        .join("fixtures/tiny-llama")
        .to_string_lossy()
        .into_owned()
}

/// Twelve conversational SFT records (TRL format) about social history.
fn sft_data(s: &Sandbox) -> String {
    let path = s.path("sft.jsonl");
    let facts = [
        ("Lives alone in a walk-up.", "Housing: lives alone."),
        ("Lost his job in May.", "Employment: unemployed."),
        ("No car; takes the bus.", "Transportation: no car."),
        ("Staying in a shelter.", "Housing: shelter."),
        ("Divorced last year.", "Relationship: divorced."),
        ("Two children at home.", "Parent: 2 children."),
    ];
    let mut lines = String::new();
    for round in 0..2 {
        for (note, answer) in facts {
            let record = serde_json::json!({
                "prompt": [{"role": "user", "content": format!("List the social determinants ({round}).\n{note}")}],
                "completion": [{"role": "assistant", "content": answer}],
            });
            lines.push_str(&record.to_string());
            lines.push('\n');
        }
    }
    std::fs::write(&path, lines).unwrap();
    path.to_string_lossy().into_owned()
}

fn train_args<'a>(data: &'a str, model: &'a str, out: &'a str, steps: &'a str) -> Vec<&'a str> {
    vec![
        "train",
        "sft",
        "--model",
        model,
        "--data",
        data,
        "--out",
        out,
        "--steps",
        steps,
        "--batch-size",
        "2",
        "--lr",
        "5e-3",
        "--rank",
        "4",
        "--alpha",
        "8",
        "--dropout",
        "0.1",
        "--seed",
        "5",
        "--save-steps",
        "1",
        "--scheduler",
        "cosine",
        "--warmup-steps",
        "2",
        "--weight-decay",
        "0.01",
    ]
}

/// `adapter merge` of `adapter` onto `model` into the sandbox's `merged/`; returns that path.
fn merge(s: &Sandbox, model: &str, adapter: &str) -> String {
    let merged = s.path("merged").to_string_lossy().into_owned();
    s.ok(&[
        "adapter",
        "merge",
        "--model",
        model,
        "--adapter",
        adapter,
        "--out",
        &merged,
    ]);
    merged
}

fn checkpoint_step(out: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(out.join("checkpoint/state.json")).ok()?;
    serde_json::from_str::<serde_json::Value>(&text).ok()?["step"].as_u64()
}

#[test]
fn killed_training_resumes_to_the_same_adapter() {
    let s = Sandbox::new();
    let data = sft_data(&s);
    let model = tiny();
    let whole = s.path("whole");
    let whole_s = whole.to_string_lossy().into_owned();
    let steps = s.json_lines(&train_args(&data, &model, &whole_s, "6"));
    assert_eq!(steps.len(), 7, "six steps and a summary");
    // Warm-up then cosine: the rate rises, then falls.
    let lr: Vec<f64> = steps[..6]
        .iter()
        .map(|v| v["learning_rate"].as_f64().unwrap())
        .collect();
    assert!(lr[0] < lr[1] && lr[2] > lr[5], "{lr:?}");

    let killed = s.path("killed");
    let killed_s = killed.to_string_lossy().into_owned();
    let mut child = std::process::Command::new(clinitune_bin())
        .args(train_args(&data, &model, &killed_s, "6"))
        .arg("--json")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(300);
    while checkpoint_step(&killed).is_none_or(|s| s < 2) {
        assert!(
            child.try_wait().unwrap().is_none(),
            "training ended before the kill"
        );
        assert!(Instant::now() < deadline, "no checkpoint in time");
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let at = checkpoint_step(&killed).unwrap();
    assert!(at < 6, "killed at step {at}");

    // Without --resume the folder is refused rather than overwritten.
    let err = s.fails(&train_args(&data, &model, &killed_s, "6"));
    assert!(err.contains("--resume"), "{err}");

    let mut resume = train_args(&data, &model, &killed_s, "6");
    resume.push("--resume");
    let resumed = s.json_lines(&resume);
    assert_eq!(resumed.first().unwrap()["step"].as_u64().unwrap(), at + 1);

    let a = std::fs::read(whole.join("adapter_model.safetensors")).unwrap();
    let b = std::fs::read(killed.join("adapter_model.safetensors")).unwrap();
    assert!(
        a == b,
        "the resumed adapter differs from the uninterrupted one"
    );
    let log = |dir: &Path| -> serde_json::Value {
        serde_json::from_str::<serde_json::Value>(
            &std::fs::read_to_string(dir.join("trainer_state.json")).unwrap(),
        )
        .unwrap()["log_history"]
            .clone()
    };
    assert_eq!(log(&whole), log(&killed));
    assert_eq!(log(&whole).as_array().unwrap().len(), 6);
}

#[test]
fn trained_adapters_load_in_generate_logits_and_merge() {
    let s = Sandbox::new();
    let data = sft_data(&s);
    let model = tiny();
    let out = s.path("run");
    let out_s = out.to_string_lossy().into_owned();
    let args = train_args(&data, &model, &out_s, "3");
    s.json_lines(&args);
    let info = s.json(&["adapter", "info", &out_s]);
    assert_eq!(info["r"], 4);
    assert_eq!(info["global_step"], 3);
    assert_eq!(info["tensors"], 16);

    let prompt = ["--prompt", "Lives alone in a walk-up.", "--chat"];
    let logits = |extra: &[&str]| -> Vec<f64> {
        let mut a = vec!["logits"];
        a.extend(extra);
        a.extend(prompt);
        s.json(&a)["logits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect()
    };
    let base = logits(&["--model", &model]);
    let adapted = logits(&["--model", &model, "--adapter", &out_s]);
    let max_diff = |a: &[f64], b: &[f64]| {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f64::max)
    };
    assert!(
        max_diff(&base, &adapted) > 1e-3,
        "the adapter changes nothing"
    );

    let merged_s = merge(&s, &model, &out_s);
    let from_merged = logits(&["--model", &merged_s]);
    assert!(max_diff(&adapted, &from_merged) <= 1e-4);

    let g = s.json(&[
        "generate",
        "--model",
        &model,
        "--adapter",
        &out_s,
        "--prompt",
        "Lives alone.",
        "--chat",
        "--max-tokens",
        "4",
        "--greedy",
    ]);
    assert_eq!(g["token_ids"].as_array().unwrap().len(), 4);
}

/// The Python interpreter of the cached PyTorch + PEFT virtualenv (`cargo xtask test` sets it).
pub(crate) fn torch_python() -> std::path::PathBuf {
    let python = std::env::var_os("CLINITUNE_TORCH_PYTHON")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            crate::target_dir()
                .parent()
                .expect("cache folder")
                .join("torch-venv/bin/python")
        });
    assert!(
        python.is_file(),
        "no PyTorch virtualenv at {}: run `cargo xtask test` (it creates one) or set \
         CLINITUNE_TORCH_PYTHON",
        python.display()
    );
    python
}

#[test]
fn peft_loads_our_adapter_and_transformers_our_merged_model_to_our_logits() {
    let s = Sandbox::new();
    let data = sft_data(&s);
    let model = tiny();
    let out = s.path("run");
    let out_s = out.to_string_lossy().into_owned();
    let mut args = train_args(&data, &model, &out_s, "2");
    args.extend([
        "--targets",
        "q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj",
    ]);
    s.json_lines(&args);
    let merged_s = merge(&s, &model, &out_s);

    let text = "Lives alone in a walk-up; lost his job in May.";
    let ids = s.json(&["tokenize", "--model", &model, "--text", text]);
    let ids = ids["ids"].clone();
    let ours: Vec<f64> = s.json(&[
        "logits",
        "--model",
        &model,
        "--adapter",
        &out_s,
        "--prompt",
        text,
    ])["logits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let script = crate::manifest_dir().join("../xtask/src/peft_check.py");
    let peft = |extra: &[&str]| -> serde_json::Value {
        let o = std::process::Command::new(torch_python())
            .arg(&script)
            .args(extra)
            .args(["--ids", &format!("[{ids}]")])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let stdout = String::from_utf8(o.stdout).unwrap();
        serde_json::from_str(stdout.lines().last().unwrap()).unwrap()
    };
    let max_diff = |theirs: &serde_json::Value| {
        theirs["logits"][0]
            .as_array()
            .unwrap()
            .iter()
            .zip(&ours)
            .map(|(t, o)| (t.as_f64().unwrap() - o).abs())
            .fold(0.0, f64::max)
    };
    let with_adapter = peft(&["--base", &model, "--adapter", &out_s]);
    assert_eq!(with_adapter["keys"].as_array().unwrap().len(), 28);
    let d = max_diff(&with_adapter);
    assert!(d <= 1e-4, "PEFT's logits with our adapter differ by {d}");
    let d = max_diff(&peft(&["--merged", &merged_s]));
    assert!(
        d <= 1e-4,
        "transformers' logits of our merged model differ by {d}"
    );
}

#[test]
fn dpo_trains_on_the_projects_preference_pairs() {
    let s = Sandbox::new();
    let project = s.project();
    s.ok(&["init", project.to_str().unwrap()]);
    let dir = s.path("demo");
    let dir_s = dir.to_string_lossy().into_owned();
    s.ok(&["demo-training-data", &dir_s, "--notes", "30"]);
    let pairs: String = std::fs::read_to_string(dir.join("pairs.jsonl"))
        .unwrap()
        .lines()
        .take(6)
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(s.path("pairs.jsonl"), pairs).unwrap();
    s.ok(&["pairs", "import", s.path("pairs.jsonl").to_str().unwrap()]);
    let out = s.path("run");
    let lines = s.json_lines(&[
        "train",
        "dpo",
        "--model",
        &tiny(),
        "--out",
        out.to_str().unwrap(),
        "--steps",
        "2",
        "--batch-size",
        "3",
        "--lr",
        "1e-3",
    ]);
    assert_eq!(lines.len(), 3);
    assert!((lines[0]["loss"].as_f64().unwrap() - std::f64::consts::LN_2).abs() < 1e-6);
    assert!(lines[1].get("rewards/margins").is_some());
    // The exported training file is kept beside the run: what was trained on is inspectable.
    let exported = std::fs::read_to_string(out.join("project-train.jsonl")).unwrap();
    assert_eq!(exported.lines().count(), 6);
}

// See: issue 17 item 4 — absurd settings reached the allocator (a rank of 10⁸, a batch of 10⁸)
// or the optimizer (NaN); issue 15: they are refused with the setting, its value and its range,
// before the model is loaded or anything is written.
#[test]
fn out_of_range_settings_are_refused_before_anything_is_loaded() {
    let s = Sandbox::new();
    let data = sft_data(&s);
    let model = tiny();
    let out = s.path("run");
    let out_s = out.to_string_lossy().into_owned();
    for (flag, value, message) in [
        (
            "--rank",
            "100000000",
            "rank 100000000 is not allowed: use 1 to 4096",
        ),
        (
            "--rank",
            "18446744073709551615",
            "rank 18446744073709551615 is not allowed",
        ),
        (
            "--batch-size",
            "100000000",
            "batch_size 100000000 is not allowed: use 1 to 4096",
        ),
        ("--lr", "NaN", "lr NaN is not allowed"),
        ("--lr", "-1e-4", "lr -0.0001 is not allowed"),
        ("--alpha", "NaN", "alpha NaN is not allowed"),
        (
            "--dropout",
            "1.5",
            "dropout 1.5 is not allowed: use 0 or more and below 1",
        ),
        ("--max-length", "0", "max_length 0 is not allowed"),
    ] {
        let setting = format!("{flag}={value}");
        let err = s.fails(&[
            "train", "sft", "--model", &model, "--data", &data, "--out", &out_s, &setting,
        ]);
        assert!(err.contains(message), "{setting}: {err}");
        assert!(
            err.contains(&format!("hint: Pass {flag}")),
            "{setting}: {err}"
        );
        assert!(!out.exists(), "{setting}: the run folder was created");
    }
    // With --json the error is machine-readable and its kind says the input is at fault.
    let json = s.fails(&[
        "train", "sft", "--model", &model, "--data", &data, "--out", &out_s, "--rank", "0",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
    assert_eq!(v["error"]["kind"], "invalid_input", "{json}");
}

// See: issue 15 — a missing data file and a folder that cannot be written were reported as
// "model not found" with a hint to fetch the model.
#[test]
fn a_missing_data_file_or_unwritable_output_is_not_a_missing_model() {
    let s = Sandbox::new();
    let data = sft_data(&s);
    let model = tiny();
    let missing = s.path("missing.jsonl").to_string_lossy().into_owned();
    let out_s = s.path("run").to_string_lossy().into_owned();
    let err = s.fails(&[
        "train", "sft", "--model", &model, "--data", &missing, "--out", &out_s, "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(err.trim()).unwrap();
    assert_eq!(v["error"]["kind"], "io", "{err}");
    let message = v["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("cannot read") && message.contains("missing.jsonl"),
        "{err}"
    );
    assert!(
        !err.contains("fetch-model") && !err.contains("model folder"),
        "{err}"
    );

    // The output folder would be inside a regular file: nothing can be saved there.
    std::fs::write(s.path("file"), "not a folder").unwrap();
    let blocked = s.path("file").join("run").to_string_lossy().into_owned();
    let err = s.fails(&[
        "train", "sft", "--model", &model, "--data", &data, "--out", &blocked, "--steps", "1",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(err.trim()).unwrap();
    assert_eq!(v["error"]["kind"], "io", "{err}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains(&blocked),
        "{err}"
    );
    assert!(
        !err.contains("fetch-model") && !err.contains("model folder"),
        "{err}"
    );
}

#[test]
fn the_plan_printed_and_stored_is_the_one_trained_with() {
    let s = Sandbox::new();
    let data = sft_data(&s);
    let model = tiny();
    let out = s.path("run");
    let out_s = out.to_string_lossy().into_owned();
    let o = s.run(&train_args(&data, &model, &out_s, "2"));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stderr = String::from_utf8_lossy(&o.stderr);
    let settings = stderr
        .lines()
        .find(|l| l.starts_with("settings: "))
        .unwrap_or_else(|| panic!("no settings line: {stderr}"));
    for expected in [
        " steps=2",
        " rank=4",
        " alpha=8.0",
        " scheduler=cosine",
        " lr=0.005",
        " device=cpu",
        " targets=q_proj,k_proj,v_proj,o_proj",
        " objective=sft",
    ] {
        assert!(settings.contains(expected), "{expected}: {settings}");
    }
    assert!(
        !settings.contains("epochs="),
        "steps were given: {settings}"
    );
    let stored: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("train_plan.json")).unwrap())
            .unwrap();
    assert_eq!(stored["steps"], 2);
    assert_eq!(stored["rank"], 4);
    assert_eq!(stored["scheduler"], "cosine");
    assert_eq!(stored["objective"], "sft");
}

// Issue 17, item 1 (found while building the kill harness): a run killed between the two
// renames that replace its checkpoint has only `checkpoint.old`; a new run without --resume
// then trained from scratch over it. It is refused like any checkpointed run, and resumes.
#[test]
fn run_killed_between_checkpoint_renames_is_refused_without_resume_and_resumes() {
    let s = Sandbox::new();
    let data = sft_data(&s);
    let model = tiny();
    let out = s.path("killed");
    let out_s = out.to_string_lossy().into_owned();
    s.json_lines(&train_args(&data, &model, &out_s, "2"));
    // What a kill between `rename(checkpoint, checkpoint.old)` and the next rename leaves.
    std::fs::rename(out.join("checkpoint"), out.join("checkpoint.old")).unwrap();
    let err = s.fails(&train_args(&data, &model, &out_s, "4"));
    assert!(err.contains("--resume"), "{err}");
    let mut resume = train_args(&data, &model, &out_s, "4");
    resume.push("--resume");
    let resumed = s.json_lines(&resume);
    assert_eq!(resumed.first().unwrap()["step"], 3);
    assert_eq!(s.json(&["adapter", "info", &out_s])["global_step"], 4);
}
