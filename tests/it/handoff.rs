//! Hand-off to a bigger engine (issue 14, item 4): `clinitune train … --export-job DIR` writes
//! a TRL + Accelerate job; it trains a step with TRL in the cached PyTorch virtualenv on CPU,
//! and the PEFT adapter it writes loads back here with the logits PEFT gives.

use std::path::Path;

use crate::train::torch_python;
use crate::{Sandbox, shared_dir};

fn tiny() -> String {
    shared_dir()
        .join("fixtures/tiny-llama")
        .to_string_lossy()
        .into_owned()
}

/// Conversational TRL records: prompt/completion for SFT, prompt/chosen/rejected for DPO.
fn data(s: &Sandbox, objective: &str) -> String {
    let path = s.path(&format!("{objective}.jsonl"));
    let facts = [
        (
            "Lives alone in a walk-up.",
            "Housing: lives alone.",
            "Housing: none.",
        ),
        (
            "Lost his job in May.",
            "Employment: unemployed.",
            "Employment: none.",
        ),
        (
            "No car; takes the bus.",
            "Transportation: no car.",
            "Transportation: none.",
        ),
        (
            "Staying in a shelter.",
            "Housing: shelter.",
            "Housing: none.",
        ),
    ];
    let mut lines = String::new();
    for (note, good, bad) in facts {
        let prompt = serde_json::json!([{"role": "user", "content": format!("List the social determinants.\n{note}")}]);
        let record = if objective == "sft" {
            serde_json::json!({"prompt": prompt, "completion": [{"role": "assistant", "content": good}]})
        } else {
            serde_json::json!({
                "prompt": prompt,
                "chosen": [{"role": "assistant", "content": good}],
                "rejected": [{"role": "assistant", "content": bad}],
            })
        };
        lines.push_str(&format!("{record}\n"));
    }
    std::fs::write(&path, lines).unwrap();
    path.to_string_lossy().into_owned()
}

/// Runs `train.py` as the README says, through `accelerate launch`, on the CPU.
fn run_job(dir: &Path) {
    let out = std::process::Command::new(torch_python())
        .args([
            "-m",
            "accelerate.commands.launch",
            "--config_file",
            "accelerate.yaml",
        ])
        .args(["train.py", "--max-steps", "1"])
        .current_dir(dir)
        .env("CUDA_VISIBLE_DEVICES", "")
        .env("HF_HUB_OFFLINE", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "train.py failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn logits(s: &Sandbox, args: &[&str]) -> Vec<f64> {
    s.json(args)["logits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

fn max_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

/// Exports a job for `objective`, runs one TRL step, and checks the adapter here against PEFT.
fn check_job(objective: &str, extra: &[&str]) {
    let s = Sandbox::new();
    let model = tiny();
    let data = data(&s, objective);
    let dir = s.path("job");
    let dir_s = dir.to_string_lossy().into_owned();
    let mut args = vec![
        "train",
        objective,
        "--model",
        &model,
        "--data",
        &data,
        "--export-job",
        &dir_s,
        "--steps",
        "1",
        "--batch-size",
        "2",
        "--lr",
        "5e-3",
        "--rank",
        "4",
        "--alpha",
        "8",
        "--targets",
        "q_proj,v_proj,up_proj",
        "--max-length",
        "128",
        "--seed",
        "5",
    ];
    args.extend(extra);
    let export = s.json(&args);
    assert_eq!(export["examples"], 4, "{export}");
    assert!(export["hf_model"].as_str().unwrap().ends_with("tiny-llama"));
    let settings = &export["settings"];
    run_job(&dir);

    // The trainer ran with the plan's settings (its own record of its arguments).
    let out = dir.join("output");
    let trl: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("trl_args.json")).unwrap()).unwrap();
    assert_eq!(trl["learning_rate"], settings["lr"]);
    assert_eq!(trl["per_device_train_batch_size"], settings["batch_size"]);
    assert_eq!(trl["gradient_accumulation_steps"], settings["grad_accum"]);
    assert_eq!(trl["seed"], settings["seed"]);
    assert_eq!(trl["max_length"], settings["max_length"]);
    assert_eq!(trl["warmup_steps"], settings["warmup_steps"]);
    assert_eq!(trl["lr_scheduler_type"], "linear");
    assert_eq!(trl["max_grad_norm"], settings["max_grad_norm"]);
    assert_eq!(trl["weight_decay"], settings["weight_decay"]);
    if objective == "dpo" {
        assert_eq!(trl["beta"], settings["beta"]);
    }

    // The adapter imports back: described, generated with, and its logits are PEFT's.
    let out_s = out.to_string_lossy().into_owned();
    let info = s.json(&["adapter", "info", &out_s]);
    assert_eq!(info["r"], 4, "{info}");
    assert_eq!(info["lora_alpha"], 8.0, "{info}");
    let mut targets: Vec<&str> = info["target_modules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    targets.sort();
    assert_eq!(targets, ["q_proj", "up_proj", "v_proj"]);
    s.json(&[
        "generate",
        "--model",
        &model,
        "--adapter",
        &out_s,
        "--prompt",
        "Housing:",
        "--max-tokens",
        "3",
    ]);

    let text = "Lives alone in a walk-up; lost his job in May.";
    let ids = s.json(&["tokenize", "--model", &model, "--text", text])["ids"].clone();
    let ours = logits(
        &s,
        &[
            "logits",
            "--model",
            &model,
            "--adapter",
            &out_s,
            "--prompt",
            text,
        ],
    );
    let base = logits(&s, &["logits", "--model", &model, "--prompt", text]);
    let script = crate::manifest_dir().join("../xtask/src/peft_check.py");
    let o = std::process::Command::new(torch_python())
        .arg(&script)
        .args([
            "--base",
            &model,
            "--adapter",
            &out_s,
            "--ids",
            &format!("[{ids}]"),
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8(o.stdout).unwrap();
    let peft: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    let peft: Vec<f64> = peft["logits"][0]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let d = max_diff(&ours, &peft);
    assert!(
        d <= 1e-4,
        "our logits with the TRL adapter differ from PEFT's by {d}"
    );
    let moved = max_diff(&ours, &base);
    assert!(
        moved > 1e-3,
        "the TRL step left the adapter a no-op ({moved})"
    );
}

#[test]
fn exported_sft_job_trains_with_trl_and_its_adapter_gives_pefts_logits_here() {
    check_job("sft", &[]);
}

#[test]
fn exported_dpo_job_trains_with_trl_and_its_adapter_gives_pefts_logits_here() {
    check_job("dpo", &["--beta", "0.2"]);
}

#[test]
fn export_job_refuses_salt_and_names_the_missing_hugging_face_folder_of_a_gguf() {
    let s = Sandbox::new();
    let data = data(&s, "dpo");
    let dir = s.path("job");
    let dir_s = dir.to_string_lossy().into_owned();
    let err = s.fails(&[
        "train",
        "salt",
        "--model",
        &tiny(),
        "--data",
        &data,
        "--export-job",
        &dir_s,
    ]);
    assert!(err.contains("TRL has no SALT trainer"), "{err}");
    assert!(!dir.exists());

    let gguf = s.path("model.Q8_0.gguf");
    std::fs::write(&gguf, b"GGUF").unwrap();
    let out = s.ok(&[
        "train",
        "dpo",
        "--model",
        gguf.to_str().unwrap(),
        "--data",
        &data,
        "--export-job",
        &dir_s,
    ]);
    assert!(
        out.contains("is a GGUF file, and TRL trains on the Hugging Face weights"),
        "{out}"
    );
    let o = std::process::Command::new(torch_python())
        .arg(dir.join("train.py"))
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("TRL needs the base model's Hugging Face weights"),
        "{err}"
    );
    assert!(err.contains("--model HF_FOLDER"), "{err}");
}
