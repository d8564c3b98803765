//! GGUF, llama.cpp's model file: the configuration from its metadata, the weights dequantised to
//! float with Hugging Face's query/key layout restored, and the tokenizer rebuilt from
//! `tokenizer.ggml.*` — so a single `.gguf` file is a complete model.
//!
//! llama.cpp's converter permutes the rows of `attn_q`/`attn_k` for its interleaved rotary
//! embedding; [`unpermute`] undoes that (as transformers' GGUF loader does) so the same
//! rotate-half forward pass serves both formats.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Seek};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use candle_core::quantized::gguf_file::{Content, Value};
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{DType, Device, Tensor};
use serde_json::json;

use crate::config::Config;
use crate::decoder::{Parts, QuantizedDecoder};
use crate::error::Error;
use crate::llama::{Llama, Weights};
use crate::tokenizer::Tokenizer;

mod header;
pub mod write;

/// An opened GGUF file (metadata read; tensors read on demand).
pub struct Gguf {
    path: PathBuf,
    content: Content,
}

/// GGUF token types (llama.cpp's `llama_token_type`): control and user-defined tokens are
/// matched whole, like Hugging Face's added special tokens.
const TOKEN_TYPE_CONTROL: i32 = 3;
const TOKEN_TYPE_USER_DEFINED: i32 = 4;

impl Gguf {
    /// Reads the header and metadata of a GGUF file.
    pub fn open(path: &Path) -> Result<Gguf, Error> {
        let file = File::open(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        let not_gguf = |message: String| Error::Config {
            path: path.to_owned(),
            message: format!("not a readable GGUF file: {message}"),
        };
        let len = file
            .metadata()
            .map_err(|source| Error::Io {
                path: path.to_owned(),
                source,
            })?
            .len();
        let mut reader = BufReader::new(file);
        // Values candle's reader would panic on are refused first.
        header::check(&mut reader, len).map_err(not_gguf)?;
        reader.rewind().map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        let content = Content::read(&mut reader).map_err(|e| not_gguf(e.to_string()))?;
        // A tensor with no elements (or more than memory can address) is a damaged file;
        // refused here, before any reader divides by or allocates for its shape.
        for (name, info) in &content.tensor_infos {
            let dims = info.shape.dims();
            let elements = dims.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
            if dims.contains(&0) || elements.is_none() {
                return Err(Error::Tensor {
                    name: name.clone(),
                    message: format!(
                        "has shape {dims:?} in {}; the GGUF file is damaged",
                        path.display()
                    ),
                });
            }
            // A shape that promises more bytes than the file holds is refused here, before
            // its size is computed (it could overflow) or allocated.
            let block = info.ggml_dtype.block_size();
            let bytes = elements
                .map(|n| n / block.max(1))
                .and_then(|blocks| blocks.checked_mul(info.ggml_dtype.type_size()));
            if bytes.is_none_or(|b| b as u64 > len) {
                return Err(Error::Tensor {
                    name: name.clone(),
                    message: format!(
                        "has shape {dims:?}, more than the {len} bytes of {}; the GGUF file is damaged",
                        path.display()
                    ),
                });
            }
        }
        Ok(Gguf {
            path: path.to_owned(),
            content,
        })
    }

    fn meta(&self, key: &str) -> Result<&Value, Error> {
        self.content.metadata.get(key).ok_or_else(|| Error::Config {
            path: self.path.clone(),
            message: format!("metadata key {key} is missing"),
        })
    }

    fn meta_usize(&self, key: &str) -> Result<usize, Error> {
        let v = self.meta(key)?;
        let n = v
            .to_u64()
            .or_else(|_| v.to_u32().map(u64::from))
            .map_err(|e| self.bad(key, e))?;
        usize::try_from(n).map_err(|e| self.bad(key, e))
    }

    fn meta_f64(&self, key: &str, default: f64) -> Result<f64, Error> {
        match self.content.metadata.get(key) {
            Some(v) => v.to_f32().map(f64::from).map_err(|e| self.bad(key, e)),
            None => Ok(default),
        }
    }

    fn bad(&self, key: &str, e: impl std::fmt::Display) -> Error {
        Error::Config {
            path: self.path.clone(),
            message: format!("metadata {key}: {e}"),
        }
    }

    fn strings(&self, key: &str) -> Result<Vec<String>, Error> {
        self.meta(key)?
            .to_vec()
            .map_err(|e| self.bad(key, e))?
            .iter()
            .map(|v| v.to_string().cloned().map_err(|e| self.bad(key, e)))
            .collect()
    }

    /// The model configuration; architectures other than `llama` are refused.
    pub fn config(&self) -> Result<Config, Error> {
        let arch = self
            .meta("general.architecture")?
            .to_string()
            .map_err(|e| self.bad("general.architecture", e))?;
        if arch != "llama" {
            return Err(self.bad(
                "general.architecture",
                format!("{arch:?} is not supported (llama)"),
            ));
        }
        if self.content.tensor_infos.contains_key("rope_freqs.weight") {
            return Err(self.bad(
                "rope_freqs.weight",
                "per-frequency rope scaling is not supported yet",
            ));
        }
        let hidden = self.meta_usize("llama.embedding_length")?;
        let heads = self.meta_usize("llama.attention.head_count")?;
        let kv_heads = match self.content.metadata.get("llama.attention.head_count_kv") {
            Some(_) => self.meta_usize("llama.attention.head_count_kv")?,
            None => heads,
        };
        // The same checks as a config.json's: these values divide shapes later on.
        if heads == 0 || kv_heads == 0 || !heads.is_multiple_of(kv_heads) {
            return Err(self.bad(
                "llama.attention.head_count",
                format!("{heads} heads is not a multiple of {kv_heads} key/value heads"),
            ));
        }
        let head_dim = match self.content.metadata.get("llama.rope.dimension_count") {
            Some(_) => self.meta_usize("llama.rope.dimension_count")?,
            None => hidden / heads,
        };
        if !head_dim.is_multiple_of(2) {
            return Err(self.bad(
                "llama.rope.dimension_count",
                format!("head dimension {head_dim} must be even for rotary embeddings"),
            ));
        }
        let vocab = self.strings("tokenizer.ggml.tokens")?.len();
        Ok(Config {
            vocab_size: vocab,
            hidden_size: hidden,
            intermediate_size: self.meta_usize("llama.feed_forward_length")?,
            num_layers: self.meta_usize("llama.block_count")?,
            num_heads: heads,
            num_kv_heads: kv_heads,
            head_dim,
            rms_norm_eps: self.meta_f64("llama.attention.layer_norm_rms_epsilon", 1e-5)?,
            rope_theta: self.meta_f64("llama.rope.freq_base", 10_000.0)?,
            rope_scaling: None,
            tie_word_embeddings: !self.content.tensor_infos.contains_key("output.weight"),
            max_position_embeddings: self.meta_usize("llama.context_length").unwrap_or(2048),
        })
    }

    /// Every tensor dequantised to `dtype`, under its Hugging Face name.
    pub fn weights(
        &self,
        config: &Config,
        dtype: DType,
        device: &Device,
    ) -> Result<Weights, Error> {
        let file = File::open(&self.path).map_err(|source| Error::Io {
            path: self.path.clone(),
            source,
        })?;
        let mut reader = BufReader::new(file);
        let mut tensors = HashMap::new();
        for name in self.content.tensor_infos.keys() {
            let Some(hf) = hf_name(name) else {
                return Err(Error::Tensor {
                    name: name.clone(),
                    message: "unknown GGUF tensor".to_owned(),
                });
            };
            let q = self.content.tensor(&mut reader, name, device)?;
            let mut t = q.dequantize(device)?;
            if name.ends_with("attn_q.weight") {
                t = unpermute(&t, config.num_heads)?;
            } else if name.ends_with("attn_k.weight") {
                t = unpermute(&t, config.num_kv_heads)?;
            }
            tensors.insert(hf, t);
        }
        Ok(Weights::new(tensors, dtype))
    }

    /// The model with its projections kept quantised (fast inference, no training): norms and
    /// embeddings are dequantised, query/key rows stay in llama.cpp's order and the rotary
    /// embedding follows that order. On the CPU it also carries the quantised decoder
    /// (`crate::decoder`) that [`Llama::last_logits`] runs while no adapter is attached.
    pub fn model_quantized(&self, device: &Device) -> Result<Llama, Error> {
        self.load_quantized(device, true, None)
    }

    /// [`Gguf::model_quantized`]; `reencode: false` keeps every block format as it is in the
    /// candle forward pass too (slow for Q4_1, whose candle kernel is scalar), and `layers`
    /// keeps only the first decoder layers: tests compare the decoder with candle this way.
    pub(crate) fn load_quantized(
        &self,
        device: &Device,
        reencode: bool,
        layers: Option<usize>,
    ) -> Result<Llama, Error> {
        let mut config = self.config()?;
        if let Some(n) = layers {
            config.num_layers = config.num_layers.min(n);
        }
        let file = File::open(&self.path).map_err(|source| Error::Io {
            path: self.path.clone(),
            source,
        })?;
        let mut reader = BufReader::new(file);
        let mut dense = HashMap::new();
        let mut quantized = HashMap::new();
        let mut parts = device.is_cpu().then(Parts::default);
        for (name, info) in &self.content.tensor_infos {
            let Some(hf) = hf_name(name) else {
                return Err(Error::Tensor {
                    name: name.clone(),
                    message: "unknown GGUF tensor".to_owned(),
                });
            };
            let q = self.content.tensor(&mut reader, name, device)?;
            if let Some(parts) = parts.as_mut() {
                parts.add(name, &q)?;
            }
            if info.shape.rank() == 2 {
                if name == "token_embd.weight" {
                    dense.insert(hf.clone(), q.dequantize(device)?);
                }
                let q = if reencode { fast_format(q, device)? } else { q };
                quantized.insert(hf, Arc::new(q));
            } else {
                dense.insert(hf, q.dequantize(device)?);
            }
        }
        let mut weights = Weights::new(dense, DType::F32).with_quantized(quantized);
        weights.interleaved_rope = true;
        weights.fused_kernels = true;
        let model = Llama::load(&config, &weights, device)?;
        match parts {
            Some(parts) => {
                let decoder = QuantizedDecoder::new(&config, parts)?;
                tracing::info!(
                    weight_mb = decoder.weight_bytes() / (1 << 20),
                    "quantised CPU decoder ready"
                );
                Ok(model.with_decoder(decoder))
            }
            None => Ok(model),
        }
    }

    /// The dequantised model.
    pub fn model(&self, dtype: DType, device: &Device) -> Result<Llama, Error> {
        let config = self.config()?;
        let weights = self.weights(&config, dtype, device)?;
        Llama::load(&config, &weights, device)
    }

    /// The tokenizer rebuilt from `tokenizer.ggml.*` (byte-level BPE, special tokens, BOS/EOS,
    /// chat template), as transformers rebuilds it from the same file.
    pub fn tokenizer(&self) -> Result<Tokenizer, Error> {
        let model = self
            .meta("tokenizer.ggml.model")?
            .to_string()
            .map_err(|e| self.bad("tokenizer.ggml.model", e))?;
        if model != "gpt2" {
            return Err(self.bad(
                "tokenizer.ggml.model",
                format!("{model:?} is not supported (gpt2 byte-level BPE)"),
            ));
        }
        let tokens = self.strings("tokenizer.ggml.tokens")?;
        let merges: Vec<[String; 2]> = self
            .strings("tokenizer.ggml.merges")?
            .into_iter()
            .map(|m| match m.split_once(' ') {
                Some((a, b)) => Ok([a.to_owned(), b.to_owned()]),
                None => Err(self.bad(
                    "tokenizer.ggml.merges",
                    format!("merge {m:?} is not two tokens"),
                )),
            })
            .collect::<Result<_, _>>()?;
        let types: Vec<i32> = match self.content.metadata.get("tokenizer.ggml.token_type") {
            Some(v) => v
                .to_vec()
                .map_err(|e| self.bad("tokenizer.ggml.token_type", e))?
                .iter()
                .map(|t| {
                    t.to_i32()
                        .map_err(|e| self.bad("tokenizer.ggml.token_type", e))
                })
                .collect::<Result<_, _>>()?,
            None => vec![1; tokens.len()],
        };
        let vocab: serde_json::Map<String, serde_json::Value> = tokens
            .iter()
            .enumerate()
            .map(|(i, t)| (t.clone(), json!(i)))
            .collect();
        let added: Vec<serde_json::Value> = tokens
            .iter()
            .zip(&types)
            .enumerate()
            .filter(|(_, (_, t))| **t == TOKEN_TYPE_CONTROL || **t == TOKEN_TYPE_USER_DEFINED)
            .map(|(i, (content, _))| {
                json!({ "id": i, "content": content, "single_word": false, "lstrip": false,
                        "rstrip": false, "normalized": false, "special": true })
            })
            .collect();
        let token = |key: &str| -> Option<String> {
            let id = self.content.metadata.get(key)?.to_u32().ok()?;
            tokens.get(usize::try_from(id).ok()?).cloned()
        };
        let (bos, eos) = (
            token("tokenizer.ggml.bos_token_id"),
            token("tokenizer.ggml.eos_token_id"),
        );
        let add_bos = self
            .content
            .metadata
            .get("tokenizer.ggml.add_bos_token")
            .and_then(|v| v.to_bool().ok())
            .unwrap_or(false);
        let single: Vec<serde_json::Value> = match (&bos, add_bos) {
            (Some(b), true) => vec![
                json!({"SpecialToken": {"id": b, "type_id": 0}}),
                json!({"Sequence": {"id": "A", "type_id": 0}}),
            ],
            _ => vec![json!({"Sequence": {"id": "A", "type_id": 0}})],
        };
        let special_tokens = match (&bos, add_bos) {
            (Some(b), true) => {
                json!({ b.clone(): { "id": b, "ids": [tokens.iter().position(|t| t == b)], "tokens": [b] } })
            }
            _ => json!({}),
        };
        let spec = json!({
            "version": "1.0",
            "truncation": null,
            "padding": null,
            "added_tokens": added,
            "normalizer": null,
            "pre_tokenizer": { "type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true },
            "post_processor": { "type": "TemplateProcessing", "single": single, "pair": single, "special_tokens": special_tokens },
            "decoder": { "type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true },
            "model": {
                "type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": "",
                "end_of_word_suffix": "", "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
                "vocab": vocab, "merges": merges,
            },
        });
        let inner: tokenizers::Tokenizer =
            spec.to_string()
                .parse()
                .map_err(|e: tokenizers::Error| Error::Tokenizer {
                    path: self.path.clone(),
                    message: format!("cannot rebuild the tokenizer from GGUF metadata: {e}"),
                })?;
        let template = self
            .content
            .metadata
            .get("tokenizer.chat_template")
            .and_then(|v| v.to_string().ok())
            .cloned();
        let pre = self
            .content
            .metadata
            .get("tokenizer.ggml.pre")
            .and_then(|v| v.to_string().ok())
            .cloned();
        Ok(
            Tokenizer::from_parts(inner, template, bos, eos).with_gguf_extras(
                token("tokenizer.ggml.padding_token_id"),
                token("tokenizer.ggml.unknown_token_id"),
                pre,
            ),
        )
    }
}

/// Block formats whose CPU matmul candle runs with SIMD; others are re-encoded as Q8_0, which
/// keeps every 4- or 5-bit level exactly representable up to one 8-bit step of its block.
fn fast_format(q: QTensor, device: &Device) -> Result<QTensor, Error> {
    match q.dtype() {
        GgmlDType::Q4_1 | GgmlDType::Q5_0 | GgmlDType::Q5_1 => {
            Ok(QTensor::quantize(&q.dequantize(device)?, GgmlDType::Q8_0)?)
        }
        _ => Ok(q),
    }
}

/// llama.cpp's names of a decoder block's tensors beside Hugging Face's (`blk.N.` and
/// `model.layers.N.` omitted), as `gguf-py/gguf/constants.py` and `tensor_mapping.py` pair them.
const BLOCK_NAMES: [(&str, &str); 9] = [
    ("attn_norm.weight", "input_layernorm.weight"),
    ("ffn_norm.weight", "post_attention_layernorm.weight"),
    ("attn_q.weight", "self_attn.q_proj.weight"),
    ("attn_k.weight", "self_attn.k_proj.weight"),
    ("attn_v.weight", "self_attn.v_proj.weight"),
    ("attn_output.weight", "self_attn.o_proj.weight"),
    ("ffn_gate.weight", "mlp.gate_proj.weight"),
    ("ffn_up.weight", "mlp.up_proj.weight"),
    ("ffn_down.weight", "mlp.down_proj.weight"),
];

/// The same pairs for the tensors outside the blocks.
const MODEL_NAMES: [(&str, &str); 3] = [
    ("token_embd.weight", "model.embed_tokens.weight"),
    ("output_norm.weight", "model.norm.weight"),
    ("output.weight", "lm_head.weight"),
];

/// The Hugging Face name of a llama.cpp tensor name.
fn hf_name(gguf: &str) -> Option<String> {
    if let Some((_, hf)) = MODEL_NAMES.iter().find(|(g, _)| *g == gguf) {
        return Some((*hf).to_owned());
    }
    let rest = gguf.strip_prefix("blk.")?;
    let (layer, part) = rest.split_once('.')?;
    let layer: usize = layer.parse().ok()?;
    let (_, hf) = BLOCK_NAMES.iter().find(|(g, _)| *g == part)?;
    Some(format!("model.layers.{layer}.{hf}"))
}

/// The llama.cpp name of a Hugging Face tensor name (the inverse of [`hf_name`]).
fn gguf_name(hf: &str) -> Option<String> {
    if let Some((gguf, _)) = MODEL_NAMES.iter().find(|(_, h)| *h == hf) {
        return Some((*gguf).to_owned());
    }
    let rest = hf.strip_prefix("model.layers.")?;
    let (layer, part) = rest.split_once('.')?;
    let layer: usize = layer.parse().ok()?;
    let (gguf, _) = BLOCK_NAMES.iter().find(|(_, h)| *h == part)?;
    Some(format!("blk.{layer}.{gguf}"))
}

/// Undoes llama.cpp's row permutation of a query/key projection `(heads·head_dim, in)`.
pub fn unpermute(w: &Tensor, heads: usize) -> Result<Tensor, Error> {
    let (out, inp) = w.dims2()?;
    if heads == 0 || !out.is_multiple_of(2 * heads) {
        return Err(Error::Invalid {
            message: format!("cannot split {out} projection rows into {heads} heads of pairs"),
        });
    }
    let half = out / heads / 2;
    // (heads, half, 2, in) → (heads, 2, half, in) → (out, in)
    Ok(w.reshape((heads, half, 2, inp))?
        .transpose(1, 2)?
        .contiguous()?
        .reshape((out, inp))?)
}

/// llama.cpp's row permutation of a query/key projection `(heads·head_dim, in)`, as its
/// converter applies it (`LlamaModel.permute`) so that rotary pairs sit side by side.
pub fn permute(w: &Tensor, heads: usize) -> Result<Tensor, Error> {
    let (out, inp) = w.dims2()?;
    if heads == 0 || !out.is_multiple_of(2 * heads) {
        return Err(Error::Invalid {
            message: format!("cannot split {out} projection rows into {heads} heads of pairs"),
        });
    }
    let half = out / heads / 2;
    // (heads, 2, half, in) → (heads, half, 2, in) → (out, in)
    Ok(w.reshape((heads, 2, half, inp))?
        .transpose(1, 2)?
        .contiguous()?
        .reshape((out, inp))?)
}

#[cfg(test)]
mod tests;
