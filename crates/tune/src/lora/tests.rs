//! PEFT adapters: the fixture adapter made by Python gives transformers + PEFT's logits; what
//! we save has PEFT's keys, shapes, dtypes and config fields.

use std::sync::Arc;

use candle_core::{DType, IndexOp, Tensor};

use super::*;
use crate::llama::{Cache, Llama, Weights};
use crate::testing::{device, fixtures, max_abs_diff, tensors};

fn tiny() -> Llama {
    Llama::from_hf_folder(&fixtures().join("tiny-llama"), DType::F32, &device()).unwrap()
}

fn ids(t: &Tensor) -> Tensor {
    t.to_dtype(DType::U32)
        .unwrap()
        .unsqueeze(0)
        .unwrap()
        .to_device(&device())
        .unwrap()
}

fn logits(model: &Llama, prompt: usize) -> Tensor {
    let r = tensors("peft-lora/reference_logits.safetensors");
    model
        .forward(&ids(&r[&format!("input_ids.{prompt}")]), &mut Cache::new())
        .unwrap()
        .i(0)
        .unwrap()
}

/// The header of a safetensors file: key → (dtype, shape), and the metadata.
fn header(path: &Path) -> serde_json::Map<String, serde_json::Value> {
    let bytes = std::fs::read(path).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let mut h: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    for v in h.values_mut() {
        if let Some(o) = v.as_object_mut() {
            o.remove("data_offsets");
        }
    }
    h
}

#[test]
fn peft_adapter_gives_peft_logits() {
    let mut model = tiny();
    let lora = Lora::load(&fixtures().join("peft-lora"), model.config(), &device()).unwrap();
    assert_eq!(lora.config().r, 4);
    assert_eq!(lora.config().targets().unwrap(), Target::ALL.to_vec());
    let base = logits(&model, 0);
    model.attach(Arc::new(lora)).unwrap();
    let r = tensors("peft-lora/reference_logits.safetensors");
    for i in 0..3 {
        let diff = max_abs_diff(&logits(&model, i), &r[&format!("logits.{i}")]);
        eprintln!("peft-lora prompt {i}: max abs diff {diff:e}");
        assert!(diff <= 1e-4, "prompt {i}: {diff}");
    }
    // The adapter changes the output (B is non-zero), so the match above is not the base's.
    assert!(max_abs_diff(&base, &r["logits.0"]) > 1e-2);
}

#[test]
fn merged_weights_give_the_same_logits() {
    let mut model = tiny();
    let lora = Lora::load(&fixtures().join("peft-lora"), model.config(), &device()).unwrap();
    model.attach(Arc::new(lora)).unwrap();
    let merged: std::collections::HashMap<String, Tensor> =
        model.merged_tensors().unwrap().into_iter().collect();
    let merged = Llama::load(model.config(), &Weights::new(merged, DType::F32), &device()).unwrap();
    let r = tensors("peft-lora/reference_logits.safetensors");
    for i in 0..3 {
        let diff = max_abs_diff(&logits(&merged, i), &r[&format!("logits.{i}")]);
        assert!(diff <= 1e-4, "merged, prompt {i}: {diff}");
    }
}

#[test]
fn saved_adapter_has_pefts_layout_and_loads_back_to_the_same_logits() {
    let model = tiny();
    let dir = tempfile::tempdir().unwrap();
    let lora = Lora::load(&fixtures().join("peft-lora"), model.config(), &device()).unwrap();
    lora.save(dir.path()).unwrap();
    // Same keys, dtypes, shapes and metadata as the file PEFT wrote.
    assert_eq!(
        header(&dir.path().join(WEIGHTS_FILE)),
        header(&fixtures().join("peft-lora").join(WEIGHTS_FILE))
    );
    let ours: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join(CONFIG_FILE)).unwrap())
            .unwrap();
    let theirs: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures().join("peft-lora").join(CONFIG_FILE)).unwrap(),
    )
    .unwrap();
    assert_eq!(ours, theirs);

    let mut a = tiny();
    a.attach(Arc::new(lora)).unwrap();
    let mut b = tiny();
    b.attach(Arc::new(
        Lora::load(dir.path(), b.config(), &device()).unwrap(),
    ))
    .unwrap();
    assert_eq!(max_abs_diff(&logits(&a, 1), &logits(&b, 1)), 0.0);
}

#[test]
fn a_fresh_adapter_has_pefts_fields_and_starts_at_the_base_model() {
    let mut model = tiny();
    let base = logits(&model, 2);
    let config = LoraConfig::new(8, 16.0, 0.0, &[Target::Q, Target::K, Target::V, Target::O]);
    let lora = Lora::init(config, model.config(), 7, &device()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    lora.save(dir.path()).unwrap();
    // The fixture's fresh adapter was made by PEFT with the same settings: same file layout.
    let sft_initial = fixtures().join("sft/adapter_initial");
    assert_eq!(
        header(&dir.path().join(WEIGHTS_FILE)),
        header(&sft_initial.join(WEIGHTS_FILE))
    );
    let ours: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join(CONFIG_FILE)).unwrap())
            .unwrap();
    let mut theirs: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(sft_initial.join(CONFIG_FILE)).unwrap())
            .unwrap();
    theirs["base_model_name_or_path"] = serde_json::Value::Null;
    assert_eq!(ours, theirs);
    // Kaiming-uniform A within PEFT's bound 1/sqrt(in); B zero, so the logits are the base's.
    let a = lora.vars()[0].1.as_tensor().clone();
    let bound = 1.0 / (model.config().hidden_size as f32).sqrt();
    let max = a.abs().unwrap().flatten_all().unwrap().max(0).unwrap();
    assert!(max.to_scalar::<f32>().unwrap() <= bound);
    model.attach(Arc::new(lora)).unwrap();
    assert_eq!(max_abs_diff(&base, &logits(&model, 2)), 0.0);
}

#[test]
fn malformed_adapters_are_refused_by_name() {
    let model = tiny();
    let copy = |edit: &dyn Fn(&Path)| {
        let dir = tempfile::tempdir().unwrap();
        for f in [CONFIG_FILE, WEIGHTS_FILE] {
            std::fs::copy(fixtures().join("peft-lora").join(f), dir.path().join(f)).unwrap();
        }
        edit(dir.path());
        let err = Lora::load(dir.path(), model.config(), &device()).unwrap_err();
        err.to_string()
    };
    let set_config = |key: &'static str, value: serde_json::Value| {
        move |dir: &Path| {
            let p = dir.join(CONFIG_FILE);
            let mut c: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
            c[key] = value.clone();
            std::fs::write(&p, c.to_string()).unwrap();
        }
    };
    let e = copy(&set_config("use_dora", serde_json::json!(true)));
    assert!(e.contains("DoRA"), "{e}");
    let e = copy(&set_config("r", serde_json::json!(8)));
    assert!(e.contains("has shape") && e.contains("r 8"), "{e}");
    let e = copy(&set_config("target_modules", serde_json::json!(["qkv"])));
    assert!(e.contains("\"qkv\""), "{e}");
    let e = copy(&|dir: &Path| std::fs::write(dir.join(CONFIG_FILE), "{").unwrap());
    assert!(e.contains(CONFIG_FILE), "{e}");
    let e = copy(&|dir: &Path| {
        let mut t = candle_core::safetensors::load(dir.join(WEIGHTS_FILE), &device()).unwrap();
        t.insert(
            "base_model.model.lm_head.lora_A.weight".to_owned(),
            Tensor::zeros((4, 64), DType::F32, &device()).unwrap(),
        );
        candle_core::safetensors::save(&t, dir.join(WEIGHTS_FILE)).unwrap();
    });
    assert!(e.contains("lm_head.lora_A"), "{e}");
    let e = copy(&|dir: &Path| std::fs::remove_file(dir.join(WEIGHTS_FILE)).unwrap());
    assert!(e.contains("missing"), "{e}");
}
