//! `resolve` fills every default once and refuses out-of-range settings before anything is
//! loaded, naming the setting, its value and what is allowed.

use api::{ApiError, ErrorKind, TrainData};

use super::*;

fn request(objective: Objective) -> TrainRequest {
    TrainRequest {
        objective,
        model: "models/tiny".to_owned(),
        data: Some(TrainData::File("train.jsonl".to_owned())),
        out: "run".to_owned(),
        ..TrainRequest::default()
    }
}

#[test]
fn defaults_are_trls_and_filled_once() {
    let s = resolve(&request(Objective::Dpo)).unwrap();
    assert_eq!(s.lr, 1e-6);
    assert_eq!(s.beta, Some(0.1));
    assert_eq!(s.length, TrainLength::Epochs(3.0));
    assert_eq!(s.batch_size, 8);
    assert_eq!(s.grad_accum, 1);
    assert_eq!(s.weight_decay, 0.0);
    assert_eq!(s.adam_betas, [0.9, 0.999]);
    assert_eq!(s.adam_eps, 1e-8);
    assert_eq!(s.max_grad_norm, Some(1.0));
    assert_eq!(s.scheduler, Scheduler::Linear);
    assert_eq!(s.warmup_steps, 0);
    assert_eq!(
        s.lora,
        LoraSettings {
            rank: 16,
            alpha: 32.0,
            dropout: 0.05,
            targets: vec![
                LoraTarget::QProj,
                LoraTarget::KProj,
                LoraTarget::VProj,
                LoraTarget::OProj
            ],
        }
    );
    assert_eq!(s.max_length, 1024);
    assert_eq!(s.seed, 42);
    assert_eq!(s.save_steps, 50);
    assert_eq!(s.eval_steps, None, "no held-out data, no evaluation");
    assert_eq!(s.device, Device::Cpu);
    let sft = resolve(&request(Objective::Sft)).unwrap();
    assert_eq!((sft.lr, sft.beta), (2e-5, None));
    assert_eq!(resolve(&request(Objective::Classify)).unwrap().lr, 5e-5);
}

#[test]
fn steps_replace_epochs_in_the_settings_shown() {
    let mut r = request(Objective::Sft);
    r.steps = Some(6);
    r.epochs = Some(2.0);
    r.eval_fraction = Some(0.25);
    let s = resolve(&r).unwrap();
    assert_eq!(s.length, TrainLength::Steps(6));
    assert_eq!(s.eval_steps, Some(50));
    let json = serde_json::to_value(&s).unwrap();
    assert_eq!(json["steps"], 6);
    assert!(json.get("epochs").is_none(), "{json}");
    assert_eq!(json["objective"], "sft");
    assert_eq!(json["scheduler"], "linear");
    assert_eq!(json["targets"][0], "q_proj");
    assert_eq!(json["rank"], 16);
    assert!(json.get("beta").is_none(), "β is DPO's alone: {json}");
    let back: TrainSettings = serde_json::from_value(json).unwrap();
    assert_eq!(back, s);
}

#[test]
fn targets_are_deduplicated_in_checkpoint_order() {
    let mut r = request(Objective::Sft);
    r.targets = Some(vec![
        LoraTarget::DownProj,
        LoraTarget::QProj,
        LoraTarget::DownProj,
    ]);
    let s = resolve(&r).unwrap();
    assert_eq!(s.lora.targets, [LoraTarget::QProj, LoraTarget::DownProj]);
}

/// A change to a request.
type Change = Box<dyn FnOnce(&mut TrainRequest)>;

/// Resolves `r` after `change` and returns the refused setting and value as the error names them.
fn refused(change: impl FnOnce(&mut TrainRequest)) -> (&'static str, String, String) {
    let mut r = request(Objective::Dpo);
    change(&mut r);
    match resolve(&r) {
        Err(e @ Error::Setting { .. }) => {
            let message = e.to_string();
            let Error::Setting { setting, value, .. } = e else {
                unreachable!()
            };
            (setting, value, message)
        }
        other => panic!("expected a refused setting, got {other:?}"),
    }
}

// See: issue 17 item 4 — absurd values reached the allocator or the optimizer.
#[test]
fn out_of_range_settings_are_refused_with_their_name_value_and_range() {
    let cases: Vec<(Change, &str, &str)> = vec![
        (
            Box::new(|r| r.rank = Some(100_000_000)),
            "rank",
            "100000000",
        ),
        (
            Box::new(|r| r.rank = Some(usize::MAX)),
            "rank",
            "18446744073709551615",
        ),
        (Box::new(|r| r.rank = Some(0)), "rank", "0"),
        (
            Box::new(|r| r.batch_size = Some(100_000_000)),
            "batch_size",
            "100000000",
        ),
        (Box::new(|r| r.batch_size = Some(0)), "batch_size", "0"),
        (Box::new(|r| r.grad_accum = Some(0)), "grad_accum", "0"),
        (Box::new(|r| r.lr = Some(f64::NAN)), "lr", "NaN"),
        (Box::new(|r| r.lr = Some(-1e-4)), "lr", "-0.0001"),
        (Box::new(|r| r.lr = Some(0.0)), "lr", "0"),
        (Box::new(|r| r.alpha = Some(f64::NAN)), "alpha", "NaN"),
        (Box::new(|r| r.dropout = Some(1.5)), "dropout", "1.5"),
        (Box::new(|r| r.dropout = Some(1.0)), "dropout", "1"),
        (Box::new(|r| r.max_length = Some(0)), "max_length", "0"),
        (
            Box::new(|r| r.epochs = Some(f64::INFINITY)),
            "epochs",
            "inf",
        ),
        (Box::new(|r| r.steps = Some(0)), "steps", "0"),
        (Box::new(|r| r.beta = Some(0.0)), "beta", "0"),
        (
            Box::new(|r| r.weight_decay = Some(-0.1)),
            "weight_decay",
            "-0.1",
        ),
        (
            Box::new(|r| r.max_grad_norm = Some(f64::NAN)),
            "max_grad_norm",
            "NaN",
        ),
        (
            Box::new(|r| r.eval_fraction = Some(1.0)),
            "eval_fraction",
            "1",
        ),
        (
            Box::new(|r| r.early_stopping_patience = Some(0)),
            "early_stopping_patience",
            "0",
        ),
        (Box::new(|r| r.targets = Some(vec![])), "targets", ""),
        (
            Box::new(|r| r.labels = Some(vec!["A".into(), "A".into()])),
            "labels",
            "A,A",
        ),
    ];
    for (change, setting, value) in cases {
        let (s, v, message) = refused(change);
        assert_eq!((s, v.as_str()), (setting, value), "{message}");
        assert!(
            message.starts_with(&format!("{setting} {value} is not allowed: use ")),
            "{message}"
        );
    }
    let (_, _, message) = refused(|r| r.rank = Some(100_000_000));
    assert_eq!(message, "rank 100000000 is not allowed: use 1 to 4096");
}

#[test]
fn a_refused_setting_is_invalid_input_without_a_flag_in_the_apps_hint() {
    let mut r = request(Objective::Sft);
    r.lr = Some(f64::NAN);
    let e = resolve(&r).unwrap_err();
    assert_eq!(e.cause(), crate::Cause::Setting("lr"));
    let api = ApiError::from(e);
    assert_eq!(api.kind, ErrorKind::InvalidInput);
    assert!(api.hint.is_none_or(|h| !h.contains("--")));
}

#[test]
fn a_request_without_data_is_refused_before_loading() {
    let mut r = request(Objective::Sft);
    r.data = None;
    let e = resolve(&r).unwrap_err();
    assert!(matches!(e, Error::NoTrainingData), "{e:?}");
    let api = ApiError::from(e);
    assert!(!api.hint.unwrap_or_default().contains("--"));
}

#[test]
fn a_missing_init_adapter_is_a_read_error_not_a_missing_model() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = request(Objective::Sft);
    r.init_adapter = Some(dir.path().join("nope").display().to_string());
    let e = resolve(&r).unwrap_err();
    assert!(matches!(e, Error::Io { action: "read", .. }), "{e:?}");
    let api = ApiError::from(e);
    assert_eq!(api.kind, ErrorKind::Io);
    assert!(
        api.message.contains("adapter_config.json"),
        "{}",
        api.message
    );
    assert!(!api.hint.unwrap_or_default().contains("model"));
}

#[test]
fn an_init_adapters_own_rank_alpha_and_targets_are_the_plans() {
    let dir = tempfile::tempdir().unwrap();
    let config = LoraConfig::new(4, 8.0, 0.1, &[Target::V, Target::Q]);
    std::fs::write(
        dir.path().join(tune::lora::CONFIG_FILE),
        serde_json::to_string(&config).unwrap(),
    )
    .unwrap();
    let mut r = request(Objective::Sft);
    r.init_adapter = Some(dir.path().display().to_string());
    r.rank = Some(64);
    let s = resolve(&r).unwrap();
    assert_eq!(
        s.lora,
        LoraSettings {
            rank: 4,
            alpha: 8.0,
            dropout: 0.1,
            targets: vec![LoraTarget::QProj, LoraTarget::VProj],
        }
    );
}
