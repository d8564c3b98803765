//! Seed inputs: small valid files of every format (`fuzz/seeds/TARGET/`), and a tiny llama GGUF
//! made here with candle's writer (a real model file is megabytes; this one is a few kilobytes
//! with every section a reader walks: metadata of each type, a BPE vocabulary, f32 and f16
//! tensors).

use std::io::Cursor;
use std::path::PathBuf;

use candle_core::quantized::gguf_file::Value;
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Tensor};

/// The `fuzz/seeds` folder of this checkout.
pub fn folder() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("seeds")
}

/// The `fuzz/regressions` folder: minimised inputs that once crashed a target.
pub fn regressions() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("regressions")
}

/// Every file in `dir` (sorted by name), or nothing when it does not exist.
pub fn files_in(dir: &std::path::Path) -> Vec<(PathBuf, Vec<u8>)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    paths
        .into_iter()
        .filter_map(|p| std::fs::read(&p).ok().map(|bytes| (p, bytes)))
        .collect()
}

/// The seeds of target `name`.
pub fn for_target(name: &str) -> Result<Vec<Vec<u8>>, String> {
    let mut seeds: Vec<Vec<u8>> = files_in(&folder().join(name))
        .into_iter()
        .map(|(_, bytes)| bytes)
        .collect();
    if name == "gguf" {
        seeds.push(tiny_gguf().map_err(|e| format!("cannot write the GGUF seed: {e}"))?);
    }
    if seeds.is_empty() {
        return Err(format!("no seeds for {name} in {}", folder().display()));
    }
    Ok(seeds)
}

/// A one-layer llama (hidden 8, 2 heads, 1 KV head, vocabulary of 8) as a GGUF file in memory.
pub fn tiny_gguf() -> candle_core::Result<Vec<u8>> {
    let (vocab, hidden, ff, kv) = (8usize, 8usize, 16usize, 4usize);
    let tokens = ["<unk>", "<s>", "</s>", "a", "b", "ab", "Ġ", "Ġa"];
    let strings =
        |xs: &[&str]| Value::Array(xs.iter().map(|s| Value::String((*s).to_owned())).collect());
    let metadata: Vec<(&str, Value)> = vec![
        ("general.architecture", Value::String("llama".to_owned())),
        ("general.name", Value::String("fuzz-seed".to_owned())),
        ("general.alignment", Value::U32(32)),
        ("llama.context_length", Value::U32(64)),
        ("llama.embedding_length", Value::U32(hidden as u32)),
        ("llama.feed_forward_length", Value::U32(ff as u32)),
        ("llama.block_count", Value::U32(1)),
        ("llama.attention.head_count", Value::U32(2)),
        ("llama.attention.head_count_kv", Value::U32(1)),
        ("llama.rope.dimension_count", Value::U32(4)),
        ("llama.rope.freq_base", Value::F32(10_000.0)),
        ("llama.attention.layer_norm_rms_epsilon", Value::F32(1e-5)),
        ("tokenizer.ggml.model", Value::String("gpt2".to_owned())),
        ("tokenizer.ggml.pre", Value::String("smollm".to_owned())),
        ("tokenizer.ggml.tokens", strings(&tokens)),
        ("tokenizer.ggml.merges", strings(&["a b", "Ġ a"])),
        (
            "tokenizer.ggml.token_type",
            Value::Array(
                [3, 3, 3, 1, 1, 1, 1, 1]
                    .into_iter()
                    .map(Value::I32)
                    .collect(),
            ),
        ),
        ("tokenizer.ggml.bos_token_id", Value::U32(1)),
        ("tokenizer.ggml.eos_token_id", Value::U32(2)),
        ("tokenizer.ggml.add_bos_token", Value::Bool(true)),
        (
            "tokenizer.chat_template",
            Value::String("{% for m in messages %}{{ m['content'] }}{% endfor %}".to_owned()),
        ),
    ];
    let device = Device::Cpu;
    let matrix = |rows: usize, cols: usize, dtype: GgmlDType| -> candle_core::Result<QTensor> {
        let values: Vec<f32> = (0..rows * cols)
            .map(|i| (i % 7) as f32 * 0.1 - 0.3)
            .collect();
        QTensor::quantize(&Tensor::from_vec(values, (rows, cols), &device)?, dtype)
    };
    let vector = |n: usize| {
        QTensor::quantize(
            &Tensor::ones(n, candle_core::DType::F32, &device)?,
            GgmlDType::F32,
        )
    };
    let tensors: Vec<(&str, QTensor)> = vec![
        ("token_embd.weight", matrix(vocab, hidden, GgmlDType::F32)?),
        ("output_norm.weight", vector(hidden)?),
        ("blk.0.attn_norm.weight", vector(hidden)?),
        ("blk.0.ffn_norm.weight", vector(hidden)?),
        (
            "blk.0.attn_q.weight",
            matrix(hidden, hidden, GgmlDType::F16)?,
        ),
        ("blk.0.attn_k.weight", matrix(kv, hidden, GgmlDType::F32)?),
        ("blk.0.attn_v.weight", matrix(kv, hidden, GgmlDType::F32)?),
        (
            "blk.0.attn_output.weight",
            matrix(hidden, hidden, GgmlDType::F32)?,
        ),
        ("blk.0.ffn_gate.weight", matrix(ff, hidden, GgmlDType::F32)?),
        ("blk.0.ffn_up.weight", matrix(ff, hidden, GgmlDType::F32)?),
        ("blk.0.ffn_down.weight", matrix(hidden, ff, GgmlDType::F32)?),
    ];
    let metadata: Vec<(&str, &Value)> = metadata.iter().map(|(k, v)| (*k, v)).collect();
    let tensors: Vec<(&str, &QTensor)> = tensors.iter().map(|(k, t)| (*k, t)).collect();
    let mut out = Cursor::new(Vec::new());
    candle_core::quantized::gguf_file::write(&mut out, &metadata, &tensors)?;
    Ok(out.into_inner())
}
