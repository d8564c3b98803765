//! Parity with Hugging Face transformers on the tiny fixture models (../shared/fixtures).

use candle_core::{DType, IndexOp, Tensor};

use super::*;
use crate::testing::{device, fixtures, ids as id_list, json, max_abs_diff};

fn reference(model: &str) -> HashMap<String, Tensor> {
    let path = fixtures().join(model).join("reference_logits.safetensors");
    candle_core::safetensors::load(path, &device()).unwrap()
}

fn ids(t: &Tensor) -> Tensor {
    t.to_dtype(DType::U32)
        .unwrap()
        .unsqueeze(0)
        .unwrap()
        .to_device(&device())
        .unwrap()
}

#[test]
fn tiny_llama_logits_match_transformers() {
    let model =
        Llama::from_hf_folder(&fixtures().join("tiny-llama"), DType::F32, &device()).unwrap();
    let r = reference("tiny-llama");
    for i in 0..3 {
        let logits = model
            .forward(&ids(&r[&format!("input_ids.{i}")]), &mut Cache::new())
            .unwrap();
        let diff = max_abs_diff(&logits.i(0).unwrap(), &r[&format!("logits.{i}")]);
        eprintln!("tiny-llama prompt {i}: max abs diff {diff:e}");
        assert!(diff <= 1e-4, "prompt {i}: max abs diff {diff}");
    }
}

#[test]
fn kv_cache_steps_match_the_full_forward_and_greedy_ids() {
    let model =
        Llama::from_hf_folder(&fixtures().join("tiny-llama"), DType::F32, &device()).unwrap();
    let r = reference("tiny-llama");
    let expected = id_list(&json("tiny-llama/reference.json")["prompts"][0]["greedy_new_ids"]);
    let full = &r["greedy_logits.0"]; // prompt + 16 greedy tokens, one row per position
    let prompt = ids(&r["input_ids.0"]);
    let n = prompt.dim(1).unwrap();
    let mut cache = Cache::new();
    let logits = model.forward(&prompt, &mut cache).unwrap().i(0).unwrap();
    assert!(max_abs_diff(&logits, &full.narrow(0, 0, n).unwrap()) <= 1e-4);
    let mut next = logits
        .i(n - 1)
        .unwrap()
        .argmax(0)
        .unwrap()
        .to_scalar::<u32>()
        .unwrap();
    let mut generated = vec![next];
    for step in 0..expected.len() - 1 {
        let input = Tensor::new(&[[next]], &device()).unwrap();
        let row = model
            .forward(&input, &mut cache)
            .unwrap()
            .i((0, 0))
            .unwrap();
        let diff = max_abs_diff(&row, &full.i(n + step).unwrap());
        assert!(diff <= 1e-4, "step {step}: max abs diff {diff}");
        next = row.argmax(0).unwrap().to_scalar::<u32>().unwrap();
        generated.push(next);
    }
    assert_eq!(generated, expected);
    assert_eq!(cache.len(), n + expected.len() - 1);
}

#[test]
fn llama3_rope_scaling_and_untied_head_match_transformers() {
    let model =
        Llama::from_hf_folder(&fixtures().join("tiny-llama3"), DType::F32, &device()).unwrap();
    assert!(model.config().rope_scaling.is_some() && !model.config().tie_word_embeddings);
    let r = reference("tiny-llama3");
    let logits = model
        .forward(&ids(&r["input_ids.0"]), &mut Cache::new())
        .unwrap();
    let diff = max_abs_diff(&logits.i(0).unwrap(), &r["logits.0"]);
    eprintln!("tiny-llama3: max abs diff {diff:e}");
    assert!(diff <= 1e-4, "max abs diff {diff}");
}

#[test]
fn missing_or_misshapen_tensors_are_named() {
    let dir = fixtures().join("tiny-llama");
    let config = Config::from_file(&dir.join("config.json")).unwrap();
    let mut tensors =
        candle_core::safetensors::load(dir.join("model.safetensors"), &device()).unwrap();
    tensors.remove("model.layers.1.mlp.up_proj.weight");
    let err = Llama::load(
        &config,
        &Weights::new(tensors.clone(), DType::F32),
        &device(),
    )
    .err()
    .unwrap();
    assert_eq!(
        err.to_string(),
        "tensor model.layers.1.mlp.up_proj.weight: missing from the checkpoint"
    );
    tensors.insert(
        "model.layers.1.mlp.up_proj.weight".into(),
        Tensor::zeros((3, 3), DType::F32, &device()).unwrap(),
    );
    let err = Llama::load(&config, &Weights::new(tensors, DType::F32), &device())
        .err()
        .unwrap();
    assert!(
        err.to_string()
            .contains("has shape [3, 3]; the config implies [128, 64]"),
        "{err}"
    );
    let err = Config::from_json(Path::new("c.json"), r#"{"model_type": "gpt2", "vocab_size": 1, "hidden_size": 1, "intermediate_size": 1, "num_hidden_layers": 1, "num_attention_heads": 1}"#).unwrap_err();
    assert!(
        err.to_string().contains("not a Llama-family model"),
        "{err}"
    );
}

/// Writes one safetensors file of F32 vectors named as given.
fn write_tensors(path: &std::path::Path, tensors: &[(&str, &[f32])]) {
    let map: HashMap<String, Tensor> = tensors
        .iter()
        .map(|(name, values)| {
            let t = Tensor::from_slice(values, values.len(), &candle_core::Device::Cpu).unwrap();
            ((*name).to_owned(), t)
        })
        .collect();
    candle_core::safetensors::save(&map, path).unwrap();
}

fn values(weights: &Weights, name: &str, len: usize) -> Vec<f32> {
    weights.get(name, &[len]).unwrap().to_vec1::<f32>().unwrap()
}

// Issue 17, item 6: every *.safetensors was read and a later file replaced the model's weights.
#[test]
fn model_folder_reads_model_safetensors_and_ignores_other_tensor_files() {
    let dir = tempfile::tempdir().unwrap();
    write_tensors(&dir.path().join("model.safetensors"), &[("w", &[1.0, 2.0])]);
    write_tensors(
        &dir.path().join("zz_reference.safetensors"),
        &[("w", &[9.0, 9.0])],
    );
    let weights =
        Weights::from_hf_folder(dir.path(), DType::F32, &candle_core::Device::Cpu).unwrap();
    assert_eq!(values(&weights, "w", 2), vec![1.0, 2.0]);
}

// Issue 17, item 6: shards come from the index, and a tensor in two shards is refused.
#[test]
fn model_folder_reads_the_shards_its_index_lists_and_refuses_a_tensor_given_twice() {
    let dir = tempfile::tempdir().unwrap();
    let shard = |n: u32| {
        dir.path()
            .join(format!("model-0000{n}-of-00002.safetensors"))
    };
    write_tensors(&shard(1), &[("a", &[1.0])]);
    write_tensors(&shard(2), &[("b", &[2.0, 3.0])]);
    write_tensors(&dir.path().join("stray.safetensors"), &[("a", &[7.0])]);
    let index = serde_json::json!({
        "metadata": {"total_size": 12},
        "weight_map": {
            "a": "model-00001-of-00002.safetensors",
            "b": "model-00002-of-00002.safetensors",
        }
    });
    let index_path = dir.path().join("model.safetensors.index.json");
    std::fs::write(&index_path, index.to_string()).unwrap();
    let cpu = candle_core::Device::Cpu;
    let weights = Weights::from_hf_folder(dir.path(), DType::F32, &cpu).unwrap();
    assert_eq!(values(&weights, "a", 1), vec![1.0]);
    assert_eq!(values(&weights, "b", 2), vec![2.0, 3.0]);

    // The second shard now also has `a`: refused, naming both files.
    write_tensors(&shard(2), &[("a", &[5.0]), ("b", &[2.0, 3.0])]);
    let message = Weights::from_hf_folder(dir.path(), DType::F32, &cpu)
        .err()
        .unwrap()
        .to_string();
    assert!(message.contains("model-00001-of-00002"), "{message}");
    assert!(message.contains("model-00002-of-00002"), "{message}");

    // Without index or model.safetensors, several files say nothing about which are weights.
    std::fs::remove_file(&index_path).unwrap();
    assert!(Weights::from_hf_folder(dir.path(), DType::F32, &cpu).is_err());
}
