//! What we write, our own loader reads back: metadata, tokenizer ids and logits of the tiny
//! fixture model (against the Hugging Face folder and transformers' reference logits), per
//! storage format; the LoRA file's names, shapes, alpha and permuted rows.

use std::sync::Arc;

use candle_core::quantized::gguf_file::Content;
use candle_core::{DType, IndexOp, Tensor};

use super::*;
use crate::gguf::{Gguf, unpermute};
use crate::llama::{Cache, Llama};
use crate::testing::{default_gguf_path, device, fixtures, ids, json, max_abs_diff, tensors};
use crate::tokenizer::ChatMessage;

fn tiny_folder() -> PathBuf {
    fixtures().join("tiny-llama")
}

fn tiny() -> (Llama, Tokenizer) {
    let model = Llama::from_hf_folder(&tiny_folder(), DType::F32, &device()).unwrap();
    (model, Tokenizer::from_hf_folder(&tiny_folder()).unwrap())
}

/// Writes `model` as `NAME.gguf` in `dir` at `quant`.
fn export(dir: &Path, model: &Llama, tok: &Tokenizer, quant: Quant) -> PathBuf {
    let path = dir.join(format!("tiny-{}.gguf", quant.name()));
    let tensors = model.merged_tensors().unwrap();
    write_model(
        &path,
        &ModelFile {
            name: "tiny-llama",
            config: model.config(),
            tokenizer: tok,
            tensors: &tensors,
            quant,
        },
    )
    .unwrap();
    path
}

fn content(path: &Path) -> Content {
    Content::read(&mut std::fs::File::open(path).unwrap()).unwrap()
}

/// Largest difference over the three reference prompts, every position, between two models.
fn logits_diff(a: &Llama, b: &Llama) -> f32 {
    let r = tensors("tiny-llama/reference_logits.safetensors");
    (0..3)
        .map(|i| {
            let input = r[&format!("input_ids.{i}")]
                .to_dtype(DType::U32)
                .unwrap()
                .unsqueeze(0)
                .unwrap()
                .to_device(&device())
                .unwrap();
            let la = a.forward(&input, &mut Cache::new()).unwrap().i(0).unwrap();
            let lb = b.forward(&input, &mut Cache::new()).unwrap().i(0).unwrap();
            max_abs_diff(&la, &lb)
        })
        .fold(0f32, f32::max)
}

#[test]
fn f32_export_reads_back_with_the_hf_folders_logits() {
    let dir = tempfile::tempdir().unwrap();
    let (model, tok) = tiny();
    let path = export(dir.path(), &model, &tok, Quant::F32);
    let gguf = Gguf::open(&path).unwrap();
    let mut config = gguf.config().unwrap();
    // GGUF holds epsilon as f32, as llama.cpp reads it.
    assert_eq!(config.rms_norm_eps as f32, 1e-5);
    config.rms_norm_eps = model.config().rms_norm_eps;
    assert_eq!(&config, model.config());
    let back = gguf.model(DType::F32, &device()).unwrap();
    let diff = logits_diff(&model, &back);
    eprintln!("tiny-llama f32 GGUF vs HF folder: max abs diff {diff:e}");
    assert!(diff <= 1e-5, "max abs diff {diff}");
    // And against transformers' own numbers, not only ours.
    let r = tensors("tiny-llama/reference_logits.safetensors");
    let input = r["input_ids.2"]
        .to_dtype(DType::U32)
        .unwrap()
        .unsqueeze(0)
        .unwrap()
        .to_device(&device())
        .unwrap();
    let logits = back
        .forward(&input, &mut Cache::new())
        .unwrap()
        .i(0)
        .unwrap();
    assert!(max_abs_diff(&logits, &r["logits.2"]) <= 1e-4);
}

#[test]
fn quantised_exports_read_back_within_their_tolerances() {
    let dir = tempfile::tempdir().unwrap();
    let (model, tok) = tiny();
    // The fixture's random weights (std 0.1) amplify rounding: its logits span about ±4.5
    // (std 0.85) and a relative weight error e moves them by about 15·e at worst over the three
    // prompts. Measured: f16 5.5e-3, q8_0 0.11, q4_1 1.3; the bounds leave about 2× room. The
    // blocks themselves are checked exactly in `blocks_round_each_weight_by_at_most_half_a_step`.
    for (quant, tolerance) in [(Quant::F16, 1e-2), (Quant::Q8_0, 0.2), (Quant::Q4_1, 2.5)] {
        let path = export(dir.path(), &model, &tok, quant);
        let back = Gguf::open(&path)
            .unwrap()
            .model(DType::F32, &device())
            .unwrap();
        let diff = logits_diff(&model, &back);
        eprintln!(
            "tiny-llama {} GGUF vs HF folder: max abs diff {diff:e}",
            quant.name()
        );
        assert!(diff <= tolerance, "{}: max abs diff {diff}", quant.name());
    }
}

#[test]
fn blocks_round_each_weight_by_at_most_half_a_step() {
    let dir = tempfile::tempdir().unwrap();
    let (model, tok) = tiny();
    let original: HashMap<String, Tensor> = model.merged_tensors().unwrap().into_iter().collect();
    for quant in [Quant::F16, Quant::Q8_0, Quant::Q4_1] {
        let path = export(dir.path(), &model, &tok, quant);
        let gguf = Gguf::open(&path).unwrap();
        let config = gguf.config().unwrap();
        let back = gguf.weights(&config, DType::F32, &device()).unwrap();
        for (name, w) in &original {
            let got = back.get(name, w.dims()).unwrap();
            let values = w.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            let amax = values.iter().fold(0f32, |m, v| m.max(v.abs()));
            let range = values.iter().fold(f32::MIN, |m, v| m.max(*v))
                - values.iter().fold(f32::MAX, |m, v| m.min(*v));
            let stored = content(&path).tensor_infos[&gguf_name(name).unwrap()].ggml_dtype;
            // Half a step of the coarsest block, plus the f16 rounding of its scale/minimum.
            let bound = match stored {
                GgmlDType::F32 => 0.0,
                GgmlDType::F16 => amax * 2f32.powi(-11),
                GgmlDType::Q8_0 => amax / 127.0 * 0.5 * 1.01,
                GgmlDType::Q4_1 => range / 15.0 * 0.5 * 1.01 + amax * 2f32.powi(-10),
                other => panic!("{name}: unexpected {other:?}"),
            };
            let diff = max_abs_diff(&got, w);
            assert!(
                diff <= bound,
                "{} {name} ({stored:?}): {diff} > {bound}",
                quant.name()
            );
        }
    }
}

#[test]
fn tensors_have_llama_cpp_names_types_and_alignment() {
    let dir = tempfile::tempdir().unwrap();
    let (model, tok) = tiny();
    let path = export(dir.path(), &model, &tok, Quant::Q4_1);
    let c = content(&path);
    let types: HashMap<&str, GgmlDType> = c
        .tensor_infos
        .iter()
        .map(|(n, i)| (n.as_str(), i.ggml_dtype))
        .collect();
    // Tied embeddings: no output tensor, as llama.cpp expects.
    assert!(!types.contains_key("output.weight"));
    assert_eq!(types["token_embd.weight"], GgmlDType::Q8_0);
    assert_eq!(types["output_norm.weight"], GgmlDType::F32);
    for layer in 0..2 {
        for part in ["attn_norm", "ffn_norm"] {
            assert_eq!(
                types[format!("blk.{layer}.{part}.weight").as_str()],
                GgmlDType::F32
            );
        }
        for part in [
            "attn_q",
            "attn_k",
            "attn_v",
            "attn_output",
            "ffn_gate",
            "ffn_up",
            "ffn_down",
        ] {
            let name = format!("blk.{layer}.{part}.weight");
            assert_eq!(types[name.as_str()], GgmlDType::Q4_1, "{name}");
        }
    }
    assert_eq!(c.tensor_infos.len(), 1 + 1 + 2 * 9);
    assert_eq!(c.tensor_data_offset % 32, 0);
    assert!(c.tensor_infos.values().all(|i| i.offset % 32 == 0));
    // (out, in) as candle lists it; the file holds ggml's [in, out].
    assert_eq!(
        c.tensor_infos["blk.0.ffn_down.weight"].shape.dims(),
        &[64, 128]
    );
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(&bytes[..8], b"GGUF\x03\0\0\0");
}

#[test]
fn metadata_carries_architecture_tokenizer_and_chat_template() {
    let dir = tempfile::tempdir().unwrap();
    let (model, tok) = tiny();
    let path = export(dir.path(), &model, &tok, Quant::F16);
    let m = content(&path).metadata;
    let u = |k: &str| m[k].to_u32().unwrap();
    let s = |k: &str| m[k].to_string().unwrap().clone();
    assert_eq!(s("general.architecture"), "llama");
    assert_eq!(u("general.alignment"), 32);
    assert_eq!(u("general.file_type"), 1);
    for (key, value) in [
        ("llama.vocab_size", 49152),
        ("llama.context_length", 512),
        ("llama.embedding_length", 64),
        ("llama.block_count", 2),
        ("llama.feed_forward_length", 128),
        ("llama.rope.dimension_count", 16),
        ("llama.attention.head_count", 4),
        ("llama.attention.head_count_kv", 2),
        ("tokenizer.ggml.bos_token_id", 1),
        ("tokenizer.ggml.eos_token_id", 2),
        ("tokenizer.ggml.padding_token_id", 2),
        ("tokenizer.ggml.unknown_token_id", 0),
    ] {
        assert_eq!(u(key), value, "{key}");
    }
    assert_eq!(m["llama.rope.freq_base"].to_f32().unwrap(), 1e5);
    assert_eq!(
        m["llama.attention.layer_norm_rms_epsilon"]
            .to_f32()
            .unwrap(),
        1e-5
    );
    assert_eq!(s("tokenizer.ggml.model"), "gpt2");
    // Recognised by llama.cpp's probe hash, as its converter names SmolLM2's tokenizer.
    assert_eq!(s("tokenizer.ggml.pre"), "smollm");
    assert!(!m["tokenizer.ggml.add_bos_token"].to_bool().unwrap());
    let template = std::fs::read_to_string(tiny_folder().join("chat_template.jinja")).unwrap();
    assert_eq!(s("tokenizer.chat_template"), template);
    let types = m["tokenizer.ggml.token_type"].to_vec().unwrap();
    assert_eq!(types[1].to_i32().unwrap(), 3); // <|im_start|>: control
    assert_eq!(types[100].to_i32().unwrap(), 1);
}

#[test]
fn tokenizer_read_back_gives_transformers_ids_and_chat_text() {
    let dir = tempfile::tempdir().unwrap();
    let (model, tok) = tiny();
    let path = export(dir.path(), &model, &tok, Quant::Q8_0);
    let back = Gguf::open(&path).unwrap().tokenizer().unwrap();
    let cases = json("tokenizer_cases.json");
    for case in cases["encode"].as_array().unwrap() {
        let text = case["text"].as_str().unwrap();
        assert_eq!(
            back.encode(text, false).unwrap(),
            ids(&case["ids"]),
            "{text:?}"
        );
        assert_eq!(
            back.encode(text, true).unwrap(),
            tok.encode(text, true).unwrap()
        );
    }
    for case in cases["chat"].as_array().unwrap() {
        let messages: Vec<ChatMessage> = serde_json::from_value(case["messages"].clone()).unwrap();
        let text = back.apply_chat_template(&messages, true).unwrap();
        assert_eq!(text, case["text"].as_str().unwrap());
        assert_eq!(back.encode(&text, false).unwrap(), ids(&case["ids"]));
    }
    assert_eq!(back.eos_token(), Some("<|im_end|>"));
    assert_eq!(back.bos_token(), Some("<|im_start|>"));
}

#[test]
fn a_gguf_tokenizer_is_written_back_as_it_was_read() {
    let source = Gguf::open(&default_gguf_path()).unwrap();
    let tok = source.tokenizer().unwrap();
    let vocab = Vocab::from_tokenizer(&tok, 49152).unwrap();
    let m = &source.content.metadata;
    let strings = |k: &str| -> Vec<String> {
        m[k].to_vec()
            .unwrap()
            .iter()
            .map(|v| v.to_string().unwrap().clone())
            .collect()
    };
    assert_eq!(vocab.tokens, strings("tokenizer.ggml.tokens"));
    assert_eq!(vocab.merges, strings("tokenizer.ggml.merges"));
    assert_eq!(vocab.pre, "smollm");
    assert_eq!(
        (vocab.bos, vocab.eos, vocab.unk, vocab.pad),
        (Some(1), Some(2), Some(0), Some(2))
    );
    assert!(!vocab.add_bos && !vocab.add_eos);
    assert_eq!(
        vocab.chat_template.as_deref(),
        m["tokenizer.chat_template"]
            .to_string()
            .ok()
            .map(String::as_str)
    );
}

#[test]
fn rows_that_are_not_whole_blocks_fall_back_to_f16_and_vectors_stay_f32() {
    assert_eq!(
        Quant::Q8_0.tensor_type("blk.0.attn_q.weight", &[64, 48]),
        GgmlDType::F16
    );
    assert_eq!(
        Quant::Q4_1.tensor_type("blk.0.attn_q.weight", &[64, 48]),
        GgmlDType::F16
    );
    assert_eq!(
        Quant::Q4_1.tensor_type("blk.0.attn_q.weight", &[64, 64]),
        GgmlDType::Q4_1
    );
    assert_eq!(
        Quant::Q4_1.tensor_type("output.weight", &[64, 64]),
        GgmlDType::Q8_0
    );
    assert_eq!(
        Quant::F16.tensor_type("blk.0.attn_norm.weight", &[64]),
        GgmlDType::F32
    );
    assert_eq!(
        Quant::F32.tensor_type("blk.0.attn_q.weight", &[64, 48]),
        GgmlDType::F32
    );
}

#[test]
fn permute_is_the_inverse_of_unpermute() {
    let w = Tensor::arange(0f32, 8.0 * 3.0, &device())
        .unwrap()
        .reshape((8, 3))
        .unwrap();
    let there = permute(&w, 2).unwrap();
    assert_ne!(there.to_vec2::<f32>().unwrap(), w.to_vec2::<f32>().unwrap());
    let back = unpermute(&there, 2).unwrap();
    assert_eq!(back.to_vec2::<f32>().unwrap(), w.to_vec2::<f32>().unwrap());
    // llama.cpp's order within a head of 4 rows: 0, 2, 1, 3 (pairs of the two halves).
    let rows: Vec<f32> = there.i((.., 0)).unwrap().to_vec1().unwrap();
    assert_eq!(rows, [0.0, 6.0, 3.0, 9.0, 12.0, 18.0, 15.0, 21.0]);
    assert!(permute(&w, 3).is_err());
}

#[test]
fn lora_file_has_llama_cpp_adapter_names_shapes_alpha_and_permuted_rows() {
    let dir = tempfile::tempdir().unwrap();
    let (model, _) = tiny();
    let config = model.config();
    let lora = Lora::load(&fixtures().join("peft-lora"), config, &device()).unwrap();
    let path = dir.path().join("adapter.gguf");
    write_lora(&path, "peft-lora", config, &lora).unwrap();
    let mut file = std::fs::File::open(&path).unwrap();
    let c = Content::read(&mut file).unwrap();
    let s = |k: &str| c.metadata[k].to_string().unwrap().clone();
    assert_eq!(s("general.type"), "adapter");
    assert_eq!(s("general.architecture"), "llama");
    assert_eq!(s("adapter.type"), "lora");
    assert_eq!(c.metadata["adapter.lora.alpha"].to_f32().unwrap(), 8.0);
    // 2 layers × 7 projections × (A, B).
    assert_eq!(c.tensor_infos.len(), 28);
    let dims = |n: &str| c.tensor_infos[n].shape.dims().to_vec();
    // A (r, in) and B (out, r), as candle lists dimensions (outermost first; the file holds
    // ggml's order, lora_a [in, r] and lora_b [r, out], which llama.cpp checks against the base).
    assert_eq!(dims("blk.0.attn_q.weight.lora_a"), [4, 64]);
    assert_eq!(dims("blk.0.attn_q.weight.lora_b"), [64, 4]);
    assert_eq!(dims("blk.1.attn_k.weight.lora_b"), [32, 4]);
    assert_eq!(dims("blk.1.ffn_down.weight.lora_a"), [4, 128]);
    let (_, b, _) = lora
        .pair(Slot {
            layer: 1,
            target: Target::K,
        })
        .unwrap();
    let written = c
        .tensor(&mut file, "blk.1.attn_k.weight.lora_b", &device())
        .unwrap()
        .dequantize(&device())
        .unwrap();
    let expected = permute(&b, config.num_kv_heads).unwrap();
    assert_eq!(max_abs_diff(&written, &expected), 0.0);
}

#[test]
fn rslora_alpha_is_rescaled_for_llama_cpp() {
    let dir = tempfile::tempdir().unwrap();
    let (model, _) = tiny();
    let mut lora = Lora::load(&fixtures().join("peft-lora"), model.config(), &device()).unwrap();
    lora.config_mut().use_rslora = true;
    let path = dir.path().join("adapter.gguf");
    write_lora(&path, "rslora", model.config(), &lora).unwrap();
    let alpha = content(&path).metadata["adapter.lora.alpha"]
        .to_f32()
        .unwrap();
    // llama.cpp scales by alpha / r = 16 / 4 = 8 / √4, rsLoRA's scale.
    assert_eq!(alpha, 16.0);
}

#[test]
fn a_refused_export_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let (model, tok) = tiny();
    let mut tensors = model.merged_tensors().unwrap();
    tensors.push((
        "model.vision_tower.weight".to_owned(),
        Tensor::zeros((4, 4), DType::F32, &device()).unwrap(),
    ));
    let path = dir.path().join("out.gguf");
    let err = write_model(
        &path,
        &ModelFile {
            name: "bad",
            config: model.config(),
            tokenizer: &tok,
            tensors: &tensors,
            quant: Quant::F16,
        },
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("model.vision_tower.weight"), "{err}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn merged_adapter_export_keeps_the_adapters_logits() {
    let dir = tempfile::tempdir().unwrap();
    let (mut model, tok) = tiny();
    let lora = Lora::load(&fixtures().join("peft-lora"), model.config(), &device()).unwrap();
    model.attach(Arc::new(lora)).unwrap();
    let path = export(dir.path(), &model, &tok, Quant::F32);
    let back = Gguf::open(&path)
        .unwrap()
        .model(DType::F32, &device())
        .unwrap();
    let r = tensors("peft-lora/reference_logits.safetensors");
    for i in 0..3 {
        let input = r[&format!("input_ids.{i}")]
            .to_dtype(DType::U32)
            .unwrap()
            .unsqueeze(0)
            .unwrap()
            .to_device(&device())
            .unwrap();
        let logits = back
            .forward(&input, &mut Cache::new())
            .unwrap()
            .i(0)
            .unwrap();
        let diff = max_abs_diff(&logits, &r[&format!("logits.{i}")]);
        assert!(diff <= 1e-4, "prompt {i}: max abs diff {diff} against PEFT");
    }
}

#[test]
fn llama3_rope_scaling_is_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let folder = fixtures().join("tiny-llama3");
    let model = Llama::from_hf_folder(&folder, DType::F32, &device()).unwrap();
    let tok = Tokenizer::from_hf_folder(&tiny_folder()).unwrap();
    let tensors = model.merged_tensors().unwrap();
    let path = dir.path().join("llama3.gguf");
    let err = write_model(
        &path,
        &ModelFile {
            name: "tiny-llama3",
            config: model.config(),
            tokenizer: &tok,
            tensors: &tensors,
            quant: Quant::F32,
        },
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("rope scaling"), "{err}");
    assert!(!path.exists());
}
