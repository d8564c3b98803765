use api::{LoraTarget, Objective, Scheduler, TrainData, TrainRequest};
use serde_json::json;

use super::*;

fn request(objective: Objective, dir: &Path) -> TrainRequest {
    let data = dir.join("train.jsonl");
    std::fs::write(&data, "{\"prompt\": \"a\", \"completion\": \"b\"}\n\n{\"prompt\": \"c\", \"completion\": \"d\"}\n").unwrap();
    let model = dir.join("model");
    std::fs::create_dir_all(&model).unwrap();
    std::fs::write(model.join("config.json"), "{}").unwrap();
    TrainRequest {
        objective,
        model: model.display().to_string(),
        data: Some(TrainData::File(data.display().to_string())),
        out: "ignored".to_owned(),
        ..TrainRequest::default()
    }
}

#[test]
fn job_arguments_are_the_resolved_plan() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = request(Objective::Dpo, dir.path());
    r.steps = Some(7);
    r.lr = Some(3e-4);
    r.batch_size = Some(3);
    r.grad_accum = Some(5);
    r.weight_decay = Some(0.01);
    r.max_grad_norm = Some(0.5);
    r.scheduler = Some(Scheduler::Cosine);
    r.warmup_steps = Some(2);
    r.rank = Some(8);
    r.alpha = Some(16.0);
    r.dropout = Some(0.1);
    r.targets = Some(vec![
        LoraTarget::VProj,
        LoraTarget::QProj,
        LoraTarget::GateProj,
    ]);
    r.beta = Some(0.25);
    r.max_length = Some(256);
    r.seed = Some(9);
    r.save_steps = Some(0);
    r.eval_fraction = Some(0.2);
    r.eval_steps = Some(4);
    let s = plan::resolve(&r).unwrap();
    let job = job_json(&s, Some(Path::new("/m")), None);
    let args = &job["args"];
    let expected = json!({
        "learning_rate": s.lr,
        "lr_scheduler_type": "cosine",
        "warmup_steps": s.warmup_steps,
        "weight_decay": s.weight_decay,
        "adam_beta1": s.adam_betas[0],
        "adam_beta2": s.adam_betas[1],
        "adam_epsilon": s.adam_eps,
        "max_grad_norm": 0.5,
        "per_device_train_batch_size": 3,
        "per_device_eval_batch_size": 3,
        "gradient_accumulation_steps": 5,
        "max_steps": 7,
        "seed": 9,
        "data_seed": 9,
        "save_strategy": "no",
        "eval_strategy": "steps",
        "eval_steps": 4,
        "bf16": false,
        "fp16": false,
        "logging_steps": 1,
        "report_to": "none",
        "max_length": 256,
        "beta": 0.25,
    });
    assert_eq!(args, &expected);
    assert_eq!(
        job["lora"],
        json!({
            "r": 8, "lora_alpha": 16.0, "lora_dropout": 0.1,
            "target_modules": ["q_proj", "v_proj", "gate_proj"],
            "bias": "none", "task_type": "CAUSAL_LM",
        })
    );
    assert_eq!(job["eval_fraction"], json!(0.2));
    assert_eq!(job["settings"], serde_json::to_value(&s).unwrap());
    assert_eq!(job["model"], "/m");
    // The script hands these to TRL and PEFT unchanged.
    for call in [
        "SFTConfig(**args)",
        "DPOConfig(**args)",
        "TrainingArguments(**args)",
        "LoraConfig(**job[\"lora\"])",
    ] {
        assert!(TRAIN_SCRIPT.contains(call), "train.py lacks {call}");
    }
}

#[test]
fn defaults_and_schedules_map_onto_transformers_names() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = request(Objective::Sft, dir.path());
    r.max_grad_norm = Some(0.0);
    r.scheduler = Some(Scheduler::Constant);
    let s = plan::resolve(&r).unwrap();
    let job = job_json(&s, None, None);
    let args = &job["args"];
    assert_eq!(args["num_train_epochs"], json!(3.0));
    assert_eq!(args["max_steps"], json!(-1));
    assert_eq!(args["max_grad_norm"], json!(0.0), "clipping off");
    assert_eq!(args["lr_scheduler_type"], "constant_with_warmup");
    assert_eq!(args["learning_rate"], json!(2e-5));
    assert_eq!(args["save_strategy"], "steps");
    assert_eq!(args["save_steps"], json!(50));
    assert_eq!(args["eval_strategy"], "no");
    assert_eq!(args["packing"], json!(false));
    assert!(args.get("beta").is_none());
    assert_eq!(job["model"], Value::Null);
}

#[test]
fn export_writes_a_self_contained_job_folder() {
    let dir = tempfile::tempdir().unwrap();
    let r = request(Objective::Sft, dir.path());
    let job_dir = dir.path().join("job");
    let done = export_job(None, &r, &job_dir, None).unwrap();
    assert_eq!(done.examples, 2);
    assert!(done.hf_model.is_some());
    for f in [
        "data/train.jsonl",
        "job.json",
        "train.py",
        "requirements.txt",
        "accelerate.yaml",
        "README.md",
    ] {
        assert!(job_dir.join(f).is_file(), "{f} missing");
    }
    let requirements = std::fs::read_to_string(job_dir.join("requirements.txt")).unwrap();
    assert!(requirements.contains("trl==") && requirements.contains("peft=="));
    let readme = std::fs::read_to_string(job_dir.join("README.md")).unwrap();
    assert!(readme.contains("accelerate launch --config_file accelerate.yaml train.py"));
    assert!(readme.contains("clinitune adapter info output"));
    assert_eq!(
        done.settings.out,
        job_dir.join("output").display().to_string()
    );
    let again = export_job(None, &r, &job_dir, None);
    assert!(matches!(again, Err(Error::NotExportable(m)) if m.contains("already holds a job")));
}

#[test]
fn a_gguf_model_without_its_hugging_face_folder_is_named_in_the_readme() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = request(Objective::Sft, dir.path());
    r.model = dir.path().join("model.Q4_1.gguf").display().to_string();
    let done = export_job(None, &r, &dir.path().join("job"), None).unwrap();
    assert_eq!(done.hf_model, None);
    let readme = std::fs::read_to_string(dir.path().join("job/README.md")).unwrap();
    assert!(readme.contains("a GGUF file, and TRL trains on the Hugging Face weights"));
    let wrong = export_job(None, &r, &dir.path().join("job2"), Some(dir.path()));
    assert!(matches!(wrong, Err(Error::NotExportable(m)) if m.contains("no config.json")));
}

#[test]
fn salt_and_a_frozen_base_adapter_are_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let salt = export_job(
        None,
        &request(Objective::Salt, dir.path()),
        &dir.path().join("j"),
        None,
    );
    assert!(matches!(salt, Err(Error::NotExportable(m)) if m.contains("no SALT trainer")));
    let mut r = request(Objective::Sft, dir.path());
    r.base_adapter = Some("runs/domain".to_owned());
    let two_step = export_job(None, &r, &dir.path().join("j"), None);
    assert!(matches!(two_step, Err(Error::NotExportable(m)) if m.contains("two-step")));
    assert!(!dir.path().join("j").exists(), "nothing written");
}
