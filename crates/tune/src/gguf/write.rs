//! Writing GGUF files that llama.cpp loads (version 3, laid out as `gguf-py`'s `GGUFWriter`
//! lays it out): a whole model — llama metadata, the tokenizer and chat template, weights under
//! llama.cpp's names with the query/key rows permuted, stored as f32, f16, q8_0 or q4_1 — or a
//! LoRA adapter alone in llama.cpp's adapter format (`convert_lora_to_gguf.py`).
//!
//! A file is written beside its final name and renamed into place once complete and synced, so
//! a killed export leaves no half file under the name a user or llama.cpp would open.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{DType, Device, Tensor};

use super::{gguf_name, permute};
use crate::config::Config;
use crate::error::Error;
use crate::llama::{Slot, Target};
use crate::lora::Lora;
use crate::tokenizer::Tokenizer;

/// What every tensor's offset, and the data section, is aligned to (`general.alignment`).
const ALIGNMENT: usize = 32;

/// How the weight matrices of an exported model are stored. Norm vectors always stay f32, and a
/// matrix whose rows are not whole 32-value blocks falls back to f16, as llama.cpp's tools do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quant {
    /// 32-bit floats: exact.
    F32,
    /// 16-bit floats.
    F16,
    /// 8-bit blocks of 32 with one f16 scale.
    Q8_0,
    /// 4-bit blocks of 32 with an f16 scale and minimum. The embedding and the output head stay
    /// q8_0, as in the SmolLM2 GGUF Clinitune ships: they dominate the error otherwise.
    Q4_1,
}

impl Quant {
    /// Every format, in the order `--help` lists them.
    pub const ALL: [Quant; 4] = [Quant::F32, Quant::F16, Quant::Q8_0, Quant::Q4_1];

    /// The name llama.cpp's tools use (`f32`, `f16`, `q8_0`, `q4_1`).
    pub fn name(self) -> &'static str {
        match self {
            Quant::F32 => "f32",
            Quant::F16 => "f16",
            Quant::Q8_0 => "q8_0",
            Quant::Q4_1 => "q4_1",
        }
    }

    /// llama.cpp's `llama_ftype` for `general.file_type`.
    fn file_type(self) -> u32 {
        match self {
            Quant::F32 => 0,
            Quant::F16 => 1,
            Quant::Q4_1 => 3,
            Quant::Q8_0 => 7,
        }
    }

    /// The storage of one tensor (`dims` outermost first).
    fn tensor_type(self, gguf_name: &str, dims: &[usize]) -> GgmlDType {
        let [_, cols] = dims else {
            return GgmlDType::F32;
        };
        let whole_blocks = cols.is_multiple_of(32);
        match self {
            Quant::F32 => GgmlDType::F32,
            Quant::F16 => GgmlDType::F16,
            _ if !whole_blocks => GgmlDType::F16,
            Quant::Q8_0 => GgmlDType::Q8_0,
            Quant::Q4_1 if matches!(gguf_name, "token_embd.weight" | "output.weight") => {
                GgmlDType::Q8_0
            }
            Quant::Q4_1 => GgmlDType::Q4_1,
        }
    }
}

/// A merged or converted model to write as one GGUF file.
pub struct ModelFile<'a> {
    /// `general.name`.
    pub name: &'a str,
    /// The architecture, written as `llama.*` metadata.
    pub config: &'a Config,
    /// Written as `tokenizer.ggml.*` and `tokenizer.chat_template`.
    pub tokenizer: &'a Tokenizer,
    /// Every weight under its Hugging Face name, in Hugging Face's query/key row order.
    pub tensors: &'a [(String, Tensor)],
    /// How the matrices are stored.
    pub quant: Quant,
}

/// Writes a model as a GGUF file llama.cpp (and [`super::Gguf`]) loads.
pub fn write_model(path: &Path, model: &ModelFile) -> Result<(), Error> {
    let config = model.config;
    if config.rope_scaling.is_some() {
        return Err(Error::Invalid {
            message: "models with Llama 3 rope scaling cannot be written as GGUF yet \
                      (llama.cpp needs a rope_freqs tensor Clinitune does not read back)"
                .to_owned(),
        });
    }
    let vocab = Vocab::from_tokenizer(model.tokenizer, config.vocab_size)?;
    let mut meta = Metadata::default();
    meta.string("general.architecture", "llama");
    meta.string("general.type", "model");
    meta.string("general.name", model.name);
    meta.u32("general.alignment", ALIGNMENT)?;
    meta.u32("llama.vocab_size", vocab.tokens.len())?;
    meta.u32("llama.context_length", config.max_position_embeddings)?;
    meta.u32("llama.embedding_length", config.hidden_size)?;
    meta.u32("llama.block_count", config.num_layers)?;
    meta.u32("llama.feed_forward_length", config.intermediate_size)?;
    meta.u32("llama.rope.dimension_count", config.head_dim)?;
    meta.u32("llama.attention.head_count", config.num_heads)?;
    meta.u32("llama.attention.head_count_kv", config.num_kv_heads)?;
    if config.head_dim * config.num_heads != config.hidden_size {
        // llama.cpp assumes hidden / heads unless told otherwise.
        meta.u32("llama.attention.key_length", config.head_dim)?;
        meta.u32("llama.attention.value_length", config.head_dim)?;
    }
    meta.f32("llama.rope.freq_base", config.rope_theta as f32);
    meta.f32(
        "llama.attention.layer_norm_rms_epsilon",
        config.rms_norm_eps as f32,
    );
    meta.u32("general.file_type", model.quant.file_type() as usize)?;
    if !matches!(model.quant, Quant::F32 | Quant::F16) {
        meta.u32("general.quantization_version", 2)?;
    }
    vocab.add_to(&mut meta)?;

    let mut tensors = Vec::with_capacity(model.tensors.len());
    for (hf, tensor) in model.tensors {
        let name = gguf_name(hf).ok_or_else(|| Error::Tensor {
            name: hf.clone(),
            message: "has no llama.cpp name; only Llama decoder weights can be exported".to_owned(),
        })?;
        // llama.cpp's interleaved rotary pairs: q by query heads, k by key/value heads.
        let heads = if name.ends_with("attn_q.weight") {
            Some(config.num_heads)
        } else if name.ends_with("attn_k.weight") {
            Some(config.num_kv_heads)
        } else {
            None
        };
        let dims = tensor.dims().to_vec();
        let dtype = model.quant.tensor_type(&name, &dims);
        tensors.push(Planned {
            name,
            tensor,
            heads,
            dims,
            dtype,
        });
    }
    write_file(path, &meta, &tensors)
}

/// Writes one LoRA adapter as llama.cpp's adapter GGUF (`--lora` on the base model's GGUF):
/// `general.type = adapter`, `adapter.type = lora`, `adapter.lora.alpha`, and per projection
/// `blk.N.attn_q.weight.lora_a` `(r, in)` and `.lora_b` `(out, r)`, f32, with the query/key
/// rows of `lora_b` permuted as the base weights are.
pub fn write_lora(path: &Path, name: &str, config: &Config, lora: &Lora) -> Result<(), Error> {
    if lora.score().is_some() {
        return Err(Error::Invalid {
            message: "this is a classification adapter: its score head has no place in a \
                      llama.cpp LoRA file"
                .to_owned(),
        });
    }
    let lora_config = lora.config();
    if lora_config.lora_alpha == 0.0 {
        return Err(Error::Invalid {
            message: "lora_alpha is 0: llama.cpp reads an alpha of 0 as \"unscaled\", which \
                      would apply an adapter that does nothing here"
                .to_owned(),
        });
    }
    // llama.cpp scales by alpha / r; rsLoRA scales by alpha / √r, which is (alpha·√r) / r.
    let r = lora_config.r as f64;
    let alpha = if lora_config.use_rslora {
        lora_config.lora_alpha * r.sqrt()
    } else {
        lora_config.lora_alpha
    };
    let mut meta = Metadata::default();
    meta.string("general.architecture", "llama");
    meta.string("general.type", "adapter");
    meta.string("general.name", name);
    meta.u32("general.alignment", ALIGNMENT)?;
    meta.string("adapter.type", "lora");
    meta.f32("adapter.lora.alpha", alpha as f32);

    let mut pairs: Vec<(String, Tensor, Option<usize>)> = Vec::new();
    for layer in 0..config.num_layers {
        for target in Target::ALL {
            let Some((a, b, _)) = lora.pair(Slot { layer, target }) else {
                continue;
            };
            let hf = format!("model.layers.{layer}.{}.weight", target.path());
            let base = gguf_name(&hf).ok_or_else(|| Error::Tensor {
                name: hf.clone(),
                message: "has no llama.cpp name".to_owned(),
            })?;
            let heads = match target {
                Target::Q => Some(config.num_heads),
                Target::K => Some(config.num_kv_heads),
                _ => None,
            };
            pairs.push((format!("{base}.lora_a"), a, None));
            pairs.push((format!("{base}.lora_b"), b, heads));
        }
    }
    if pairs.is_empty() {
        return Err(Error::Invalid {
            message: "the adapter has no LoRA weights for this model's layers".to_owned(),
        });
    }
    let tensors: Vec<Planned> = pairs
        .iter()
        .map(|(name, t, heads)| Planned {
            name: name.clone(),
            tensor: t,
            heads: *heads,
            dims: t.dims().to_vec(),
            dtype: GgmlDType::F32,
        })
        .collect();
    write_file(path, &meta, &tensors)
}

/// One tensor waiting to be encoded: its data is made only when its turn comes to be written.
struct Planned<'a> {
    name: String,
    tensor: &'a Tensor,
    /// Permute the rows for llama.cpp's rotary layout over this many heads.
    heads: Option<usize>,
    /// Outermost first (the reverse of GGUF's order).
    dims: Vec<usize>,
    dtype: GgmlDType,
}

impl Planned<'_> {
    fn bytes(&self) -> usize {
        let elements: usize = self.dims.iter().product();
        elements / self.dtype.block_size() * self.dtype.type_size()
    }

    fn encode(&self) -> Result<Vec<u8>, Error> {
        let mut t = self
            .tensor
            .to_device(&Device::Cpu)?
            .to_dtype(DType::F32)?
            .contiguous()?;
        if let Some(heads) = self.heads {
            t = permute(&t, heads)?;
        }
        let q = QTensor::quantize(&t, self.dtype).map_err(|e| Error::Tensor {
            name: self.name.clone(),
            message: format!("cannot store as {:?}: {e}", self.dtype),
        })?;
        let data = q.data()?.into_owned();
        if data.len() != self.bytes() {
            return Err(Error::Tensor {
                name: self.name.clone(),
                message: format!("encoded to {} bytes, expected {}", data.len(), self.bytes()),
            });
        }
        Ok(data)
    }
}

/// A metadata value of the kinds Clinitune writes (GGUF value types in comments).
enum Value {
    U32(u32),
    F32(f32),
    Bool(bool),
    String(String),
    Strings(Vec<String>),
    I32s(Vec<i32>),
}

/// Metadata in the order it is written.
#[derive(Default)]
struct Metadata(Vec<(String, Value)>);

impl Metadata {
    fn string(&mut self, key: &str, value: &str) {
        self.0
            .push((key.to_owned(), Value::String(value.to_owned())));
    }

    fn u32(&mut self, key: &str, value: usize) -> Result<(), Error> {
        let v = u32::try_from(value).map_err(|_| Error::Invalid {
            message: format!("{key} = {value} does not fit GGUF's 32-bit field"),
        })?;
        self.0.push((key.to_owned(), Value::U32(v)));
        Ok(())
    }

    fn f32(&mut self, key: &str, value: f32) {
        self.0.push((key.to_owned(), Value::F32(value)));
    }

    fn bool(&mut self, key: &str, value: bool) {
        self.0.push((key.to_owned(), Value::Bool(value)));
    }
}

/// GGUF value type codes (`gguf-py/gguf/constants.py` `GGUFValueType`).
const TYPE_U32: u32 = 4;
const TYPE_I32: u32 = 5;
const TYPE_F32: u32 = 6;
const TYPE_BOOL: u32 = 7;
const TYPE_STRING: u32 = 8;
const TYPE_ARRAY: u32 = 9;

fn put_string(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u64).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

impl Value {
    fn put(&self, out: &mut Vec<u8>) {
        match self {
            Value::U32(v) => {
                out.extend_from_slice(&TYPE_U32.to_le_bytes());
                out.extend_from_slice(&v.to_le_bytes());
            }
            Value::F32(v) => {
                out.extend_from_slice(&TYPE_F32.to_le_bytes());
                out.extend_from_slice(&v.to_le_bytes());
            }
            Value::Bool(v) => {
                out.extend_from_slice(&TYPE_BOOL.to_le_bytes());
                out.push(u8::from(*v));
            }
            Value::String(s) => {
                out.extend_from_slice(&TYPE_STRING.to_le_bytes());
                put_string(out, s);
            }
            Value::Strings(items) => {
                out.extend_from_slice(&TYPE_ARRAY.to_le_bytes());
                out.extend_from_slice(&TYPE_STRING.to_le_bytes());
                out.extend_from_slice(&(items.len() as u64).to_le_bytes());
                for s in items {
                    put_string(out, s);
                }
            }
            Value::I32s(items) => {
                out.extend_from_slice(&TYPE_ARRAY.to_le_bytes());
                out.extend_from_slice(&TYPE_I32.to_le_bytes());
                out.extend_from_slice(&(items.len() as u64).to_le_bytes());
                for v in items {
                    out.extend_from_slice(&v.to_le_bytes());
                }
            }
        }
    }
}

/// The GGUF header: magic, version 3, counts, metadata, tensor infos, padding to the data.
fn header(meta: &Metadata, tensors: &[Planned]) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    out.extend_from_slice(b"GGUF");
    out.extend_from_slice(&3u32.to_le_bytes());
    out.extend_from_slice(&(tensors.len() as u64).to_le_bytes());
    out.extend_from_slice(&(meta.0.len() as u64).to_le_bytes());
    for (key, value) in &meta.0 {
        put_string(&mut out, key);
        value.put(&mut out);
    }
    let mut offset = 0usize;
    for t in tensors {
        put_string(&mut out, &t.name);
        let n_dims = u32::try_from(t.dims.len()).map_err(|_| Error::Tensor {
            name: t.name.clone(),
            message: "has too many dimensions".to_owned(),
        })?;
        out.extend_from_slice(&n_dims.to_le_bytes());
        // GGUF lists dimensions innermost first (ggml's ne[0] is the row length).
        for d in t.dims.iter().rev() {
            out.extend_from_slice(&(*d as u64).to_le_bytes());
        }
        out.extend_from_slice(&ggml_type(&t.name, t.dtype)?.to_le_bytes());
        out.extend_from_slice(&(offset as u64).to_le_bytes());
        offset += t.bytes().next_multiple_of(ALIGNMENT);
    }
    out.resize(out.len().next_multiple_of(ALIGNMENT), 0);
    Ok(out)
}

/// ggml's type code (`GGMLQuantizationType`) of the four formats this module plans.
fn ggml_type(name: &str, dtype: GgmlDType) -> Result<u32, Error> {
    match dtype {
        GgmlDType::F32 => Ok(0),
        GgmlDType::F16 => Ok(1),
        GgmlDType::Q4_1 => Ok(3),
        GgmlDType::Q8_0 => Ok(8),
        other => Err(Error::Tensor {
            name: name.to_owned(),
            message: format!("cannot be written as {other:?}"),
        }),
    }
}

/// Writes header and tensors to `PATH.tmp`, syncs, and renames it over `path`; on failure the
/// temporary file is removed and `path` is untouched.
fn write_file(path: &Path, meta: &Metadata, tensors: &[Planned]) -> Result<(), Error> {
    let tmp: PathBuf = {
        let mut name = path.file_name().unwrap_or_default().to_owned();
        name.push(".tmp");
        path.with_file_name(name)
    };
    let io = |source| Error::Io {
        path: path.to_owned(),
        source,
    };
    let written = (|| -> Result<(), Error> {
        let file = File::create(&tmp).map_err(io)?;
        let mut w = BufWriter::new(file);
        w.write_all(&header(meta, tensors)?).map_err(io)?;
        for t in tensors {
            let data = t.encode()?;
            w.write_all(&data).map_err(io)?;
            let pad = data.len().next_multiple_of(ALIGNMENT) - data.len();
            w.write_all(&[0u8; ALIGNMENT][..pad]).map_err(io)?;
        }
        let file = w.into_inner().map_err(|e| io(e.into_error()))?;
        file.sync_all().map_err(io)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, path).map_err(io)
}

/// llama.cpp's token types (`llama_token_type`).
const TOKEN_NORMAL: i32 = 1;
const TOKEN_CONTROL: i32 = 3;
const TOKEN_USER_DEFINED: i32 = 4;
const TOKEN_UNUSED: i32 = 5;

/// The text llama.cpp's converter tokenizes to recognise a BPE pre-tokenizer: the sha256 of the
/// ids (as Python prints a list) names it (`convert_hf_to_gguf.py`, `get_vocab_base_pre`).
const PRE_TOKENIZER_PROBE: &str = "\n \n\n \n\n\n \t \t\t \t\n  \n   \n    \n     \n\u{1f680} (normal) \
\u{1f636}\u{200d}\u{1f32b}\u{fe0f} (multiple emojis concatenated) \u{2705} \u{1f999}\u{1f999} 3 33 333 \
3333 33333 333333 3333333 33333333 3.3 3..3 3...3 \u{1780}\u{17b6}\u{1793}\u{17cb}\u{178f}\u{17c2}\
\u{1796}\u{17b7}\u{179f}\u{17c1}\u{179f}\u{17a2}\u{17b6}\u{1785}\u{1f601} ?\u{6211}\u{60f3}\u{5728}apple\
\u{5de5}\u{4f5c}1314151\u{5929}\u{ff5e} ------======= \u{43d}\u{435}\u{449}\u{43e} \u{43d}\u{430} \
\u{411}\u{44a}\u{43b}\u{433}\u{430}\u{440}\u{441}\u{43a}\u{438} ''''''```````\"\"\"\"......!!!!!!?????? \
I've been 'told he's there, 'RE you sure? 'M not sure I'll make it, 'D you like some tea? We'Ve a'lL";

/// Probe hashes of the byte-level BPE pre-tokenizers llama.cpp knows, for Llama-family models.
const PRE_TOKENIZERS: [(&str, &str); 5] = [
    (
        "855059429035d75a914d1eda9f10a876752e281a054a7a3d421ef0533e5b6249",
        "smollm",
    ),
    (
        "0ef9807a4087ebef797fc749390439009c3b9eda9ad1a097abbe738f486c01e5",
        "llama-bpe",
    ),
    (
        "3ce83efda5659b07b1ad37ca97ca5797ea4285d9b9ab0dc679e4a720c9da7454",
        "gpt-2",
    ),
    (
        "e636dc30a262dcc0d8c323492e32ae2b70728f4df7dfe9737d9f920a282b8aea",
        "qwen2",
    ),
    (
        "c136ed14d01c2745d4f60a9596ae66800e2b61fa45643e72436041855ad4089d",
        "smaug-bpe",
    ),
];

/// A tokenizer as GGUF's `tokenizer.ggml.*` metadata holds it (byte-level BPE, "gpt2").
#[derive(Debug)]
pub(crate) struct Vocab {
    pub(crate) pre: String,
    pub(crate) tokens: Vec<String>,
    pub(crate) token_types: Vec<i32>,
    pub(crate) merges: Vec<String>,
    pub(crate) bos: Option<u32>,
    pub(crate) eos: Option<u32>,
    pub(crate) unk: Option<u32>,
    pub(crate) pad: Option<u32>,
    pub(crate) add_bos: bool,
    pub(crate) add_eos: bool,
    pub(crate) chat_template: Option<String>,
}

impl Vocab {
    /// The metadata of `tok` for a model whose embedding has `rows` rows: ids the tokenizer
    /// does not use become `[PADn]` placeholders, as llama.cpp's converter writes them.
    pub(crate) fn from_tokenizer(tok: &Tokenizer, rows: usize) -> Result<Vocab, Error> {
        let bad = |message: String| Error::Tokenizer {
            path: "tokenizer.json".into(),
            message,
        };
        let inner = tok.inner();
        let spec: serde_json::Value = inner
            .to_string(false)
            .map_err(|e| bad(e.to_string()))
            .and_then(|s| serde_json::from_str(&s).map_err(|e| bad(e.to_string())))?;
        let model = &spec["model"];
        let byte_level = spec["pre_tokenizer"].to_string().contains("ByteLevel");
        if model["type"] != "BPE" || !byte_level || model["byte_fallback"] == true {
            return Err(bad(
                "only byte-level BPE tokenizers (GPT-2 style, as SmolLM2 and Llama 3 use) can be \
                 written to GGUF"
                    .to_owned(),
            ));
        }
        let merges: Vec<String> = model["merges"]
            .as_array()
            .ok_or_else(|| bad("the BPE model has no merges".to_owned()))?
            .iter()
            .map(|m| match m {
                serde_json::Value::String(s) => Ok(s.clone()),
                serde_json::Value::Array(pair) => match pair.as_slice() {
                    [serde_json::Value::String(a), serde_json::Value::String(b)] => {
                        Ok(format!("{a} {b}"))
                    }
                    _ => Err(bad(format!("merge {m} is not two tokens"))),
                },
                _ => Err(bad(format!("merge {m} is not two tokens"))),
            })
            .collect::<Result<_, _>>()?;

        let vocab = inner.get_vocab(true);
        let added = inner.get_added_tokens_decoder();
        let used = vocab.values().max().map_or(0, |m| *m as usize + 1);
        if used > rows {
            return Err(bad(format!(
                "the tokenizer has ids up to {used} but the model's embedding has {rows} rows"
            )));
        }
        let by_id: HashMap<u32, &String> = vocab.iter().map(|(t, id)| (*id, t)).collect();
        let mut tokens = Vec::with_capacity(rows);
        let mut token_types = Vec::with_capacity(rows);
        for id in 0..rows {
            let id32 = u32::try_from(id).map_err(|_| bad(format!("id {id} is too large")))?;
            match by_id.get(&id32) {
                None => {
                    tokens.push(format!("[PAD{id}]"));
                    token_types.push(TOKEN_UNUSED);
                }
                Some(t) => {
                    tokens.push((*t).clone());
                    token_types.push(match added.get(&id32) {
                        Some(a) if a.special => TOKEN_CONTROL,
                        Some(_) => TOKEN_USER_DEFINED,
                        None => TOKEN_NORMAL,
                    });
                }
            }
        }
        let id_of = |t: Option<&str>| t.and_then(|t| tok.token_id(t));
        let (bos, eos) = (id_of(tok.bos_token()), id_of(tok.eos_token()));
        // What the tokenizer adds around a text is what llama.cpp must add.
        let framing = tok.encode("", true)?;
        let add_bos = bos.is_some() && framing.first().copied() == bos;
        let add_eos =
            eos.is_some() && framing.len() > usize::from(add_bos) && framing.last().copied() == eos;
        let pre = match tok.gguf_pre() {
            Some(pre) => pre.to_owned(),
            None => pre_tokenizer_name(tok)?,
        };
        Ok(Vocab {
            pre,
            tokens,
            token_types,
            merges,
            bos,
            eos,
            unk: id_of(tok.unk_token()),
            pad: id_of(tok.pad_token()),
            add_bos,
            add_eos,
            chat_template: tok.chat_template().map(str::to_owned),
        })
    }

    fn add_to(&self, meta: &mut Metadata) -> Result<(), Error> {
        meta.string("tokenizer.ggml.model", "gpt2");
        meta.string("tokenizer.ggml.pre", &self.pre);
        meta.0.push((
            "tokenizer.ggml.tokens".to_owned(),
            Value::Strings(self.tokens.clone()),
        ));
        meta.0.push((
            "tokenizer.ggml.token_type".to_owned(),
            Value::I32s(self.token_types.clone()),
        ));
        meta.0.push((
            "tokenizer.ggml.merges".to_owned(),
            Value::Strings(self.merges.clone()),
        ));
        for (key, id) in [
            ("tokenizer.ggml.bos_token_id", self.bos),
            ("tokenizer.ggml.eos_token_id", self.eos),
            ("tokenizer.ggml.unknown_token_id", self.unk),
            ("tokenizer.ggml.padding_token_id", self.pad),
        ] {
            if let Some(id) = id {
                meta.u32(key, id as usize)?;
            }
        }
        meta.bool("tokenizer.ggml.add_bos_token", self.add_bos);
        meta.bool("tokenizer.ggml.add_eos_token", self.add_eos);
        if let Some(template) = &self.chat_template {
            meta.string("tokenizer.chat_template", template);
        }
        Ok(())
    }
}

/// llama.cpp's name for the tokenizer's pre-tokenizer, recognised by the probe's hash; an
/// unknown one is written as `default` (llama.cpp then warns and splits as GPT-2 does).
fn pre_tokenizer_name(tok: &Tokenizer) -> Result<String, Error> {
    use sha2::Digest;
    let ids = tok.encode(PRE_TOKENIZER_PROBE, true)?;
    let printed = format!(
        "[{}]",
        ids.iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    );
    let hash = sha2::Sha256::digest(printed.as_bytes());
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    match PRE_TOKENIZERS.iter().find(|(h, _)| *h == hex) {
        Some((_, name)) => Ok((*name).to_owned()),
        None => {
            tracing::warn!(
                probe_hash = %hex,
                "pre-tokenizer not recognised; the GGUF says \"default\""
            );
            Ok("default".to_owned())
        }
    }
}

#[cfg(test)]
mod tests;
