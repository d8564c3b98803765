//! The model configuration, read from a Hugging Face `config.json`.

use std::path::Path;

use serde::Deserialize;

use crate::error::Error;

/// `config.json` as Llama-family checkpoints write it (the fields we use).
#[derive(Debug, Clone, Deserialize)]
struct HfConfig {
    model_type: Option<String>,
    #[serde(default)]
    architectures: Vec<String>,
    vocab_size: usize,
    hidden_size: usize,
    intermediate_size: usize,
    num_hidden_layers: usize,
    num_attention_heads: usize,
    num_key_value_heads: Option<usize>,
    head_dim: Option<usize>,
    #[serde(default = "default_act")]
    hidden_act: String,
    #[serde(default = "default_eps")]
    rms_norm_eps: f64,
    #[serde(default = "default_theta")]
    rope_theta: f64,
    rope_scaling: Option<RopeScaling>,
    #[serde(default)]
    tie_word_embeddings: bool,
    #[serde(default)]
    attention_bias: bool,
    #[serde(default)]
    mlp_bias: bool,
    max_position_embeddings: Option<usize>,
}

fn default_act() -> String {
    "silu".to_owned()
}
fn default_eps() -> f64 {
    1e-6
}
fn default_theta() -> f64 {
    10_000.0
}

/// Llama 3.1-style rope scaling (`rope_type: "llama3"`).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct RopeScaling {
    /// Overall scale of long wavelengths.
    pub factor: f64,
    /// Wavelengths longer than `original / low_freq_factor` are fully scaled.
    pub low_freq_factor: f64,
    /// Wavelengths shorter than `original / high_freq_factor` are kept.
    pub high_freq_factor: f64,
    /// Context length the model was pre-trained with.
    pub original_max_position_embeddings: usize,
}

/// A validated Llama-family configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Vocabulary size.
    pub vocab_size: usize,
    /// Width of the residual stream.
    pub hidden_size: usize,
    /// Width of the MLP.
    pub intermediate_size: usize,
    /// Number of decoder blocks.
    pub num_layers: usize,
    /// Query heads.
    pub num_heads: usize,
    /// Key/value heads (fewer than query heads with grouped-query attention).
    pub num_kv_heads: usize,
    /// Width of one head.
    pub head_dim: usize,
    /// RMSNorm epsilon.
    pub rms_norm_eps: f64,
    /// Rotary base.
    pub rope_theta: f64,
    /// Llama 3 rope scaling, if any.
    pub rope_scaling: Option<RopeScaling>,
    /// The LM head reuses the embedding matrix.
    pub tie_word_embeddings: bool,
    /// Longest context the positional tables cover.
    pub max_position_embeddings: usize,
}

impl Config {
    /// A Hugging Face `config.json` (`LlamaForCausalLM`, float32) describing this model, as a
    /// merged export writes it; `bos`/`eos` are the special token ids when known.
    pub fn to_hf_json(&self, bos: Option<u32>, eos: Option<u32>) -> serde_json::Value {
        let rope_scaling = self.rope_scaling.map(|r| {
            serde_json::json!({
                "rope_type": "llama3",
                "factor": r.factor,
                "low_freq_factor": r.low_freq_factor,
                "high_freq_factor": r.high_freq_factor,
                "original_max_position_embeddings": r.original_max_position_embeddings,
            })
        });
        serde_json::json!({
            "architectures": ["LlamaForCausalLM"],
            "model_type": "llama",
            "vocab_size": self.vocab_size,
            "hidden_size": self.hidden_size,
            "intermediate_size": self.intermediate_size,
            "num_hidden_layers": self.num_layers,
            "num_attention_heads": self.num_heads,
            "num_key_value_heads": self.num_kv_heads,
            "head_dim": self.head_dim,
            "hidden_act": "silu",
            "max_position_embeddings": self.max_position_embeddings,
            "rms_norm_eps": self.rms_norm_eps,
            "rope_theta": self.rope_theta,
            "rope_scaling": rope_scaling,
            "tie_word_embeddings": self.tie_word_embeddings,
            "attention_bias": false,
            "mlp_bias": false,
            "bos_token_id": bos,
            "eos_token_id": eos,
            "torch_dtype": "float32",
        })
    }

    /// Reads and checks `config.json`; unknown architectures are refused with the field named.
    pub fn from_file(path: &Path) -> Result<Config, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        Config::from_json(path, &text)
    }

    /// Parses `config.json` text; `path` names it in errors.
    pub fn from_json(path: &Path, text: &str) -> Result<Config, Error> {
        let bad = |message: String| Error::Config {
            path: path.to_owned(),
            message,
        };
        let hf: HfConfig = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
        let llama_like = hf
            .model_type
            .as_deref()
            .is_some_and(|t| matches!(t, "llama" | "mistral"))
            || hf
                .architectures
                .iter()
                .any(|a| a == "LlamaForCausalLM" || a == "MistralForCausalLM");
        if !llama_like {
            return Err(bad(format!(
                "model_type {:?} is not a Llama-family model (llama, mistral)",
                hf.model_type.unwrap_or_default()
            )));
        }
        if hf.hidden_act != "silu" {
            return Err(bad(format!(
                "hidden_act {:?} is not supported (silu)",
                hf.hidden_act
            )));
        }
        if hf.attention_bias || hf.mlp_bias {
            return Err(bad("attention_bias / mlp_bias are not supported".to_owned()));
        }
        let num_kv_heads = hf.num_key_value_heads.unwrap_or(hf.num_attention_heads);
        if hf.num_attention_heads == 0
            || num_kv_heads == 0
            || !hf.num_attention_heads.is_multiple_of(num_kv_heads)
        {
            return Err(bad(format!(
                "num_attention_heads {} is not a multiple of num_key_value_heads {num_kv_heads}",
                hf.num_attention_heads
            )));
        }
        let head_dim = hf
            .head_dim
            .unwrap_or(hf.hidden_size / hf.num_attention_heads);
        if !head_dim.is_multiple_of(2) {
            return Err(bad(format!(
                "head_dim {head_dim} must be even for rotary embeddings"
            )));
        }
        Ok(Config {
            vocab_size: hf.vocab_size,
            hidden_size: hf.hidden_size,
            intermediate_size: hf.intermediate_size,
            num_layers: hf.num_hidden_layers,
            num_heads: hf.num_attention_heads,
            num_kv_heads,
            head_dim,
            rms_norm_eps: hf.rms_norm_eps,
            rope_theta: hf.rope_theta,
            rope_scaling: hf.rope_scaling,
            tie_word_embeddings: hf.tie_word_embeddings,
            max_position_embeddings: hf.max_position_embeddings.unwrap_or(4096),
        })
    }

    /// Rotary inverse frequencies, one per pair of head dimensions, with Llama 3 scaling applied.
    ///
    /// Computed in f32 as transformers does, so positions rotate by the same angles.
    pub fn inv_freq(&self) -> Vec<f32> {
        let half = self.head_dim / 2;
        let base = self.rope_theta as f32;
        (0..half)
            .map(|i| {
                let f = 1.0 / base.powf((2 * i) as f32 / self.head_dim as f32);
                match &self.rope_scaling {
                    Some(s) => llama3_scale(f, s),
                    None => f,
                }
            })
            .collect()
    }
}

/// Llama 3.1's frequency-dependent scaling of one inverse frequency (as transformers does it).
fn llama3_scale(inv_freq: f32, s: &RopeScaling) -> f32 {
    let original = s.original_max_position_embeddings as f32;
    let (factor, low, high) = (
        s.factor as f32,
        s.low_freq_factor as f32,
        s.high_freq_factor as f32,
    );
    let low_freq_wavelen = original / low;
    let high_freq_wavelen = original / high;
    let wavelen = 2.0 * std::f32::consts::PI / inv_freq;
    if wavelen < high_freq_wavelen {
        inv_freq
    } else if wavelen > low_freq_wavelen {
        inv_freq / factor
    } else {
        let smooth = (original / wavelen - low) / (high - low);
        (1.0 - smooth) * inv_freq / factor + smooth * inv_freq
    }
}
