//! The runs folder read back: a real run of the tiny fixture model, cancelled after one step,
//! reads as cancelled with its first step logged; resumed from what the folder says, it ends
//! completed with every step; a run killed before it ended reads as interrupted.

use std::path::PathBuf;

use api::{Objective, RunStatus, TrainData, TrainRequest};

use super::*;
use crate::jobs::CancelToken;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures")
}

fn dpo_file(dir: &Path) -> PathBuf {
    let path = dir.join("pairs.jsonl");
    let records: Vec<serde_json::Value> = (0..4)
        .map(|i| {
            serde_json::json!({
                "prompt": format!("Does the patient smoke? Note {i}."),
                "chosen": "Current smoker, one pack a day.",
                "rejected": "No tobacco use documented.",
            })
        })
        .collect();
    crate::training::write_jsonl(&path, &records).unwrap();
    path
}

fn request(dir: &Path, data: &Path, out: &Path) -> TrainRequest {
    let _ = dir;
    TrainRequest {
        objective: Objective::Dpo,
        model: fixtures().join("tiny-llama").display().to_string(),
        data: Some(TrainData::File(data.display().to_string())),
        out: out.display().to_string(),
        steps: Some(3),
        batch_size: Some(2),
        max_length: Some(64),
        save_steps: Some(1),
        ..TrainRequest::default()
    }
}

#[test]
fn run_folders_are_numbered_beside_the_project() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("ward.clinitune");
    assert_eq!(runs_folder(&project), dir.path().join("ward-runs"));
    let a = new_run(&project, Objective::Dpo).unwrap();
    let b = new_run(&project, Objective::Sft).unwrap();
    assert_eq!(a.file_name().unwrap(), "001-dpo");
    assert_eq!(b.file_name().unwrap(), "002-sft");
    std::fs::remove_dir(&a).unwrap();
    // Numbers are never reused below the highest one left.
    assert_eq!(
        new_run(&project, Objective::Salt)
            .unwrap()
            .file_name()
            .unwrap(),
        "003-salt"
    );
    let runs = list(&runs_folder(&project)).unwrap();
    let names: Vec<_> = runs.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["003-salt", "002-sft"]);
    assert!(runs.iter().all(|r| r.status == RunStatus::Empty));
}

#[test]
fn a_cancelled_run_reads_back_and_resumes_to_completion() {
    let dir = tempfile::tempdir().unwrap();
    let data = dpo_file(dir.path());
    let out = dir.path().join("runs/001-dpo");
    let cancel = CancelToken::new();
    let mut steps = vec![];
    let summary = crate::training::train(
        None,
        &request(dir.path(), &data, &out),
        &mut |_| {},
        &mut |s| {
            steps.push(s.clone());
            cancel.cancel();
        },
        &cancel,
    )
    .unwrap();
    assert_eq!(summary.finish, api::TrainFinish::Cancelled);
    let run = read(&out);
    assert_eq!(run.status, RunStatus::Cancelled);
    assert!(run.status.resumable());
    assert_eq!(run.global_step, 1);
    assert_eq!(run.max_steps, 3);
    assert_eq!(run.log.len(), 1);
    assert_eq!(run.log[0].loss, steps[0].loss);
    assert_eq!(
        run.log[0].metrics.get("rewards/margins"),
        steps[0].metrics.get("rewards/margins")
    );
    let settings = run.settings.expect("the plan is stored");
    assert_eq!(settings.objective, Objective::Dpo);

    // Resume from what the folder says, with nothing else known.
    let again = resume_request(&out).unwrap();
    assert!(again.resume);
    assert_eq!(again.steps, Some(3));
    let summary = crate::training::train(
        None,
        &again,
        &mut |p| assert_eq!(p.start_step, 1),
        &mut |s| steps.push(s.clone()),
        &CancelToken::new(),
    )
    .unwrap();
    assert_eq!(summary.finish, api::TrainFinish::Completed);
    let run = read(&out);
    assert_eq!(run.status, RunStatus::Completed);
    assert_eq!(run.global_step, 3);
    let logged: Vec<usize> = run.log.iter().map(|s| s.step).collect();
    assert_eq!(logged, [1, 2, 3]);
    let seen: Vec<usize> = steps.iter().map(|s| s.step).collect();
    assert_eq!(seen, [1, 2, 3]);
}

#[test]
fn a_run_killed_before_it_ended_reads_as_interrupted() {
    let dir = tempfile::tempdir().unwrap();
    let data = dpo_file(dir.path());
    let out = dir.path().join("001-dpo");
    let cancel = CancelToken::new();
    crate::training::train(
        None,
        &request(dir.path(), &data, &out),
        &mut |_| {},
        &mut |_| cancel.cancel(),
        &cancel,
    )
    .unwrap();
    assert_eq!(read(&out).status, RunStatus::Cancelled);
    // What a kill leaves: the mark of a training process that is gone.
    std::fs::write(out.join(RUNNING_FILE), u32::MAX.to_string()).unwrap();
    let run = read(&out);
    assert_eq!(run.status, RunStatus::Interrupted);
    assert_eq!(run.global_step, 1);
    // While this process trains it, the run reads as running.
    std::fs::write(out.join(RUNNING_FILE), std::process::id().to_string()).unwrap();
    assert_eq!(read(&out).status, RunStatus::Running);

    // Resumed, it ends and its mark goes.
    crate::training::train(
        None,
        &resume_request(&out).unwrap(),
        &mut |p| assert_eq!(p.start_step, 1),
        &mut |_| {},
        &CancelToken::new(),
    )
    .unwrap();
    assert!(!out.join(RUNNING_FILE).exists());
    let run = read(&out);
    assert_eq!(run.status, RunStatus::Completed);
    assert_eq!(run.log.len(), 3);
}

#[test]
fn evaluation_rows_attach_to_their_step() {
    let rows = vec![
        serde_json::json!({"step": 1, "loss": 0.7, "grad_norm": 1.0, "learning_rate": 1e-4, "rewards/margins": 0.1}),
        serde_json::json!({"step": 1, "eval_loss": 0.69, "eval_rewards/accuracies": 0.5}),
        serde_json::json!({"step": 2, "loss": 0.6, "grad_norm": 0.9, "learning_rate": 5e-5}),
        serde_json::json!({"note": "not a step"}),
    ];
    let steps = steps_from_log(&rows, 2);
    assert_eq!(steps.len(), 2);
    assert_eq!(steps[0].metrics.get("rewards/margins"), Some(&0.1));
    let eval = steps[0].eval.as_ref().unwrap();
    assert_eq!(eval.get("eval_loss"), Some(&0.69));
    assert!(steps[1].eval.is_none());
    assert!(!steps[0].metrics.contains_key("loss"));
}

#[test]
fn the_forecast_grows_with_the_batch_and_warns_when_memory_is_short() {
    let dir = tempfile::tempdir().unwrap();
    let data = dpo_file(dir.path());
    let mut small = request(dir.path(), &data, &dir.path().join("x"));
    let e1 = estimate(&small, 4).unwrap();
    small.batch_size = Some(8);
    let e2 = estimate(&small, 4).unwrap();
    assert!(e2.peak_memory_bytes > e1.peak_memory_bytes);
    assert!(e2.seconds_per_step > e1.seconds_per_step);
    // The tiny model's parameter count, from its config, is what its weights hold.
    let model = crate::models::load(&fixtures().join("tiny-llama"), true).unwrap();
    assert_eq!(e1.parameters, model.model.parameter_count());
    // 4 examples, batch 2, 3 steps asked for.
    assert_eq!(e1.steps, 3);
    // Two epochs of 4 examples in batches of 8, as the trainer counts them.
    small.steps = None;
    small.epochs = Some(2.0);
    assert_eq!(estimate(&small, 4).unwrap().steps, 1);
    small.batch_size = Some(2);
    assert_eq!(estimate(&small, 5).unwrap().steps, 5);
    assert!(available_memory().is_none_or(|m| m > 0));
}
