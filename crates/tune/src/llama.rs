//! The Llama decoder (Touvron et al. 2023; transformers' `modeling_llama.py` is the reference),
//! written twice over the same weights: from differentiable candle operations only (softmax,
//! RMSNorm and rotary embeddings spelled out, as candle's fused kernels have no backward pass)
//! for training, and with those fused kernels for generation (`forward`, `forward_padded`).
//! Tensor names follow the Hugging Face checkpoint.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use std::sync::Arc;

use candle_core::quantized::{QMatMul, QTensor};
use candle_core::{D, DType, Device, Module, Tensor};

use crate::config::Config;
use crate::decoder::{DecodeState, QuantizedDecoder};
use crate::error::Error;
use crate::lora::Lora;

/// Inputs with at least this many rows are multiplied in float (see [`Linear::forward`]).
const PREFILL_ROWS: usize = 16;

fn rows(x: &Tensor) -> usize {
    let dims = x.dims();
    dims.iter().take(dims.len().saturating_sub(1)).product()
}

/// The weight of a linear projection `y = x Wᵀ`, `W` shaped `(out, in)` as in the checkpoint:
/// dense (trainable adapters on top) or kept quantised (GGUF inference, no backward pass).
#[derive(Debug, Clone)]
pub enum LinearWeight {
    /// A float weight.
    Dense(Tensor),
    /// A quantised weight multiplied in its block format.
    Quantized(QMatMul),
}

/// A linear projection of the model and the LoRA slot it offers (`None` for the LM head).
#[derive(Debug, Clone)]
pub struct Linear {
    weight: LinearWeight,
    slot: Option<Slot>,
}

impl Linear {
    fn new(weight: LinearWeight, slot: Option<Slot>) -> Linear {
        Linear { weight, slot }
    }

    /// The frozen weight.
    pub fn weight(&self) -> &LinearWeight {
        &self.weight
    }

    /// `(b, s, in)` → `(b, s, out)` with the base weight only.
    fn forward_base(&self, x: &Tensor) -> Result<Tensor, Error> {
        match &self.weight {
            LinearWeight::Dense(w) => frozen_matmul(x, w),
            LinearWeight::Quantized(QMatMul::QTensor(q)) if rows(x) >= PREFILL_ROWS => {
                // Many rows (a prompt): a float GEMM beats row-by-row block dot products, even
                // counting the dequantisation.
                let w = q.dequantize(x.device())?;
                Ok(x.broadcast_matmul(&w.t()?)?)
            }
            LinearWeight::Quantized(q) => Ok(q.forward(x)?),
        }
    }

    /// `(b, s, in)` → `(b, s, out)`: the base projection plus every adapter of `run` that
    /// targets this projection, `scale · dropout(x) Aᵀ Bᵀ` each (Hu et al. 2021).
    pub fn forward(&self, x: &Tensor, run: &Run) -> Result<Tensor, Error> {
        let mut y = self.forward_base(x)?;
        if let Some(slot) = self.slot {
            for lora in run.adapters {
                if let Some((a, b, scale)) = lora.pair(slot) {
                    let (a, b) = if run.no_grad {
                        (a.detach(), b.detach())
                    } else {
                        (a, b)
                    };
                    let x = match run.dropout {
                        Some(d) if lora.config().lora_dropout > 0.0 => {
                            d.apply(x, lora.config().lora_dropout)?
                        }
                        _ => x.clone(),
                    };
                    let delta = x.broadcast_matmul(&a.t()?)?.broadcast_matmul(&b.t()?)?;
                    y = (y + (delta * scale)?)?;
                }
            }
        }
        Ok(y)
    }

    /// Number of weights.
    pub fn elem_count(&self) -> usize {
        match &self.weight {
            LinearWeight::Dense(w) => w.elem_count(),
            LinearWeight::Quantized(QMatMul::QTensor(q)) => q.shape().elem_count(),
            LinearWeight::Quantized(QMatMul::Tensor(w) | QMatMul::TensorF16(w)) => w.elem_count(),
        }
    }
}

/// `x Wᵀ` for a frozen `W` `(out, in)`. candle's matmul backward also computes the gradient of
/// the weight, a GEMM as large as the forward one that training throws away; on the CPU in f32
/// this custom op gives only the input's gradient (`grad · W`).
fn frozen_matmul(x: &Tensor, w: &Tensor) -> Result<Tensor, Error> {
    if x.device().is_cpu() && x.dtype() == DType::F32 && w.dtype() == DType::F32 {
        let x = x.contiguous()?;
        Ok(x.apply_op1_arc(Arc::new(Box::new(FrozenMatmul { w: w.clone() })))?)
    } else {
        Ok(x.broadcast_matmul(&w.t()?)?)
    }
}

/// The custom op of [`frozen_matmul`].
struct FrozenMatmul {
    w: Tensor,
}

impl candle_core::CustomOp1 for FrozenMatmul {
    fn name(&self) -> &'static str {
        "frozen-matmul"
    }

    fn cpu_fwd(
        &self,
        storage: &candle_core::CpuStorage,
        layout: &candle_core::Layout,
    ) -> candle_core::Result<(candle_core::CpuStorage, candle_core::Shape)> {
        let (candle_core::CpuStorage::F32(data), Some((start, end))) =
            (storage, layout.contiguous_offsets())
        else {
            candle_core::bail!("frozen-matmul needs a contiguous f32 input")
        };
        let dims = layout.shape().dims();
        let inp = *dims.last().unwrap_or(&1);
        let rows = dims.iter().rev().skip(1).product::<usize>();
        let x = Tensor::from_slice(&data[start..end], (rows, inp), &Device::Cpu)?;
        let y = x.matmul(&self.w.t()?)?;
        let out = self.w.dim(0)?;
        let mut shape = dims.to_vec();
        if let Some(last) = shape.last_mut() {
            *last = out;
        }
        Ok((
            candle_core::CpuStorage::F32(y.flatten_all()?.to_vec1::<f32>()?),
            candle_core::Shape::from(shape),
        ))
    }

    fn bwd(
        &self,
        _arg: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        Ok(Some(grad.broadcast_matmul(&self.w)?))
    }
}

/// Where a LoRA pair attaches: decoder layer and projection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Slot {
    /// Decoder layer index.
    pub layer: usize,
    /// The projection.
    pub target: Target,
}

/// The seven projections of a Llama block, named as PEFT's `target_modules` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    /// Attention query.
    Q,
    /// Attention key.
    K,
    /// Attention value.
    V,
    /// Attention output.
    O,
    /// MLP gate.
    Gate,
    /// MLP up.
    Up,
    /// MLP down.
    Down,
}

impl Target {
    /// All projections in checkpoint order.
    pub const ALL: [Target; 7] = [
        Target::Q,
        Target::K,
        Target::V,
        Target::O,
        Target::Gate,
        Target::Up,
        Target::Down,
    ];

    /// PEFT's module name (`q_proj`, …).
    pub fn name(self) -> &'static str {
        match self {
            Target::Q => "q_proj",
            Target::K => "k_proj",
            Target::V => "v_proj",
            Target::O => "o_proj",
            Target::Gate => "gate_proj",
            Target::Up => "up_proj",
            Target::Down => "down_proj",
        }
    }

    /// The projection called `name` (`q_proj` …), if any.
    pub fn from_name(name: &str) -> Option<Target> {
        Target::ALL.into_iter().find(|t| t.name() == name)
    }

    /// The module path under a decoder layer (`self_attn.q_proj`, `mlp.up_proj`).
    pub fn path(self) -> &'static str {
        match self {
            Target::Q => "self_attn.q_proj",
            Target::K => "self_attn.k_proj",
            Target::V => "self_attn.v_proj",
            Target::O => "self_attn.o_proj",
            Target::Gate => "mlp.gate_proj",
            Target::Up => "mlp.up_proj",
            Target::Down => "mlp.down_proj",
        }
    }
}

/// What a forward pass runs with besides the frozen base: the adapters (bottom to top; none is
/// the plain model) and, when training, the dropout generator.
#[derive(Clone, Copy, Default)]
pub struct Run<'a> {
    /// Adapters added to the base projections, in order.
    pub adapters: &'a [&'a Lora],
    /// LoRA dropout when training; `None` at inference.
    pub dropout: Option<&'a Dropout>,
    /// Treat trainable adapters as constants (a forward pass whose values are needed but
    /// whose graph would only cost memory).
    pub no_grad: bool,
}

/// LoRA dropout with its own seeded generator, so a seed means the same masks on every run.
pub struct Dropout(std::cell::RefCell<crate::rng::Rng>);

impl Dropout {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Dropout {
        Dropout(std::cell::RefCell::new(crate::rng::Rng::new(seed)))
    }

    /// The generator's state (checkpoints).
    pub fn state(&self) -> u64 {
        self.0.borrow().state()
    }

    /// Continues the sequence from a saved [`Dropout::state`].
    pub fn set_state(&self, state: u64) {
        *self.0.borrow_mut() = crate::rng::Rng::new(state);
    }

    /// Zeroes each element with probability `p` and scales the rest by `1 / (1 - p)`.
    fn apply(&self, x: &Tensor, p: f64) -> Result<Tensor, Error> {
        let n = x.elem_count();
        let keep = 1.0 / (1.0 - p);
        let mut rng = self.0.borrow_mut();
        let mask: Vec<f32> = (0..n)
            .map(|_| if rng.next_f64() < p { 0.0 } else { keep as f32 })
            .collect();
        let mask = Tensor::from_vec(mask, x.shape(), x.device())?.to_dtype(x.dtype())?;
        Ok((x * mask)?)
    }
}

/// Named tensors of a checkpoint, taken by name with their shapes checked.
pub struct Weights {
    tensors: HashMap<String, Tensor>,
    quantized: HashMap<String, Arc<QTensor>>,
    dtype: DType,
    /// Query/key rows are in llama.cpp's interleaved order (quantised GGUF weights).
    pub(crate) interleaved_rope: bool,
    /// Inference only: use candle's fused softmax, RMSNorm and rotary kernels (no backward).
    pub(crate) fused_kernels: bool,
}

impl Weights {
    /// Wraps loaded tensors; they are converted to `dtype` as they are taken.
    pub fn new(tensors: HashMap<String, Tensor>, dtype: DType) -> Weights {
        Weights {
            tensors,
            quantized: HashMap::new(),
            dtype,
            interleaved_rope: false,
            fused_kernels: false,
        }
    }

    /// Adds quantised projections, used as they are by [`LinearWeight::Quantized`].
    pub(crate) fn with_quantized(mut self, quantized: HashMap<String, Arc<QTensor>>) -> Weights {
        self.quantized = quantized;
        self
    }

    /// Reads the weights of a Hugging Face model folder: the shards that
    /// `model.safetensors.index.json` lists when it is there, else `model.safetensors`, else
    /// the folder's one `*.safetensors`. Other tensor files (reference outputs, adapters) are
    /// not weights and are never read; a tensor given by two files is refused, naming both.
    pub fn from_hf_folder(dir: &Path, dtype: DType, device: &Device) -> Result<Weights, Error> {
        let files = weight_files(dir)?;
        let mut tensors = HashMap::new();
        let mut origin: HashMap<String, PathBuf> = HashMap::new();
        for file in files {
            for (name, tensor) in candle_core::safetensors::load(&file, device)? {
                if let Some(first) = origin.get(&name) {
                    return Err(Error::Tensor {
                        name,
                        message: format!(
                            "is in both {} and {}; keep one of the files (or list the shards in \
                             model.safetensors.index.json)",
                            first.display(),
                            file.display()
                        ),
                    });
                }
                origin.insert(name.clone(), file.clone());
                tensors.insert(name, tensor);
            }
        }
        Ok(Weights::new(tensors, dtype))
    }

    /// The tensor `name`, checked to have `shape`.
    pub fn get(&self, name: &str, shape: &[usize]) -> Result<Tensor, Error> {
        let t = self.tensors.get(name).ok_or_else(|| Error::Tensor {
            name: name.to_owned(),
            message: "missing from the checkpoint".to_owned(),
        })?;
        if t.dims() != shape {
            return Err(Error::Tensor {
                name: name.to_owned(),
                message: format!("has shape {:?}; the config implies {shape:?}", t.dims()),
            });
        }
        Ok(t.to_dtype(self.dtype)?)
    }

    fn linear(&self, name: &str, out: usize, inp: usize) -> Result<LinearWeight, Error> {
        let key = format!("{name}.weight");
        if let Some(q) = self.quantized.get(&key) {
            if q.shape().dims() != [out, inp] {
                return Err(Error::Tensor {
                    name: key,
                    message: format!(
                        "has shape {:?}; the config implies {:?}",
                        q.shape().dims(),
                        [out, inp]
                    ),
                });
            }
            return Ok(LinearWeight::Quantized(QMatMul::from_arc(q.clone())?));
        }
        Ok(LinearWeight::Dense(self.get(&key, &[out, inp])?))
    }
}

/// Keys and values of earlier positions, per layer, for generation one token at a time.
/// Filled either by the candle forward pass or by the quantised decoder, never both.
#[derive(Debug, Clone, Default)]
pub struct Cache {
    kvs: Vec<Option<(Tensor, Tensor)>>,
    len: usize,
    /// Padded batches only: per row, whether each cached position is a real token.
    keep: Option<Vec<Vec<bool>>>,
    decoded: Option<DecodeState>,
}

impl Cache {
    /// An empty cache.
    pub fn new() -> Cache {
        Cache::default()
    }

    /// Positions already in the cache.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing has been fed yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

fn rms_norm(x: &Tensor, weight: &Tensor, eps: f64, fused: bool) -> Result<Tensor, Error> {
    if fused {
        return Ok(candle_nn::ops::rms_norm(
            &x.contiguous()?,
            weight,
            eps as f32,
        )?);
    }
    let dtype = x.dtype();
    let x = x.to_dtype(DType::F32)?;
    let variance = x.sqr()?.mean_keepdim(D::Minus1)?;
    let x = x.broadcast_div(&(variance + eps)?.sqrt()?)?;
    Ok(x.to_dtype(dtype)?.broadcast_mul(weight)?)
}

/// Softmax over the last dimension from differentiable ops (the max shift is a constant).
fn softmax_last_dim(x: &Tensor) -> Result<Tensor, Error> {
    let max = x.max_keepdim(D::Minus1)?.detach();
    let e = x.broadcast_sub(&max)?.exp()?;
    Ok(e.broadcast_div(&e.sum_keepdim(D::Minus1)?)?)
}

/// Rotates `x` `(b, heads, s, head_dim)` by the angles in `cos`/`sin` `(s, head_dim)`.
/// Per-row tables `(b, s, w)` broadcast over the heads of `x` `(b, heads, s, hd)`.
fn per_head(table: &Tensor) -> Result<Tensor, Error> {
    Ok(if table.rank() == 3 {
        table.unsqueeze(1)?
    } else {
        table.clone()
    })
}

fn apply_rope(x: &Tensor, cos: &Tensor, sin: &Tensor) -> Result<Tensor, Error> {
    let (cos, sin) = (&per_head(cos)?, &per_head(sin)?);
    let half = x.dim(D::Minus1)? / 2;
    let x1 = x.narrow(D::Minus1, 0, half)?;
    let x2 = x.narrow(D::Minus1, half, half)?;
    let rotated = Tensor::cat(&[&x2.neg()?, &x1], D::Minus1)?;
    Ok((x.broadcast_mul(cos)? + rotated.broadcast_mul(sin)?)?)
}

/// The same rotation for llama.cpp's layout, where each rotated pair is adjacent:
/// `x` `(b, heads, s, head_dim)`, `cos`/`sin` `(s, head_dim / 2)` or per row `(b, s, head_dim / 2)`.
fn apply_rope_interleaved(x: &Tensor, cos: &Tensor, sin: &Tensor) -> Result<Tensor, Error> {
    let (b, h, s, d) = x.dims4()?;
    // (b, h, s, d/2, 2): element 0 of each pair plays x1, element 1 plays x2.
    let pairs = x.reshape((b, h, s, d / 2, 2))?;
    let x1 = pairs.narrow(D::Minus1, 0, 1)?;
    let x2 = pairs.narrow(D::Minus1, 1, 1)?;
    let (cos, sin) = if cos.rank() == 3 {
        (
            cos.reshape((b, 1, s, d / 2, 1))?,
            sin.reshape((b, 1, s, d / 2, 1))?,
        )
    } else {
        (cos.reshape((s, d / 2, 1))?, sin.reshape((s, d / 2, 1))?)
    };
    let r1 = (x1.broadcast_mul(&cos)? - x2.broadcast_mul(&sin)?)?;
    let r2 = (x2.broadcast_mul(&cos)? + x1.broadcast_mul(&sin)?)?;
    Ok(Tensor::cat(&[&r1, &r2], D::Minus1)?.reshape((b, h, s, d))?)
}

fn fused_rope_interleaved(x: &Tensor, cos: &Tensor, sin: &Tensor) -> Result<Tensor, Error> {
    Ok(candle_nn::rotary_emb::rope_i(&x.contiguous()?, cos, sin)?)
}

/// candle's rotate-half kernel; `cos`/`sin` hold each angle once (`(s, head_dim / 2)`).
fn fused_rope(x: &Tensor, cos: &Tensor, sin: &Tensor) -> Result<Tensor, Error> {
    Ok(candle_nn::rotary_emb::rope(&x.contiguous()?, cos, sin)?)
}

/// What every layer's attention needs about the positions of one call.
struct Positions<'a> {
    /// Rotary tables.
    cos: &'a Tensor,
    sin: &'a Tensor,
    /// Additive attention mask; `None` when every earlier position may be attended.
    mask: Option<&'a Tensor>,
    /// candle's fused kernels (inference only).
    fused: bool,
}

struct Attention {
    q: Linear,
    k: Linear,
    v: Linear,
    o: Linear,
    num_heads: usize,
    num_kv_heads: usize,
    head_dim: usize,
    interleaved_rope: bool,
}

impl Attention {
    fn forward(
        &self,
        x: &Tensor,
        at: &Positions,
        kv: &mut Option<(Tensor, Tensor)>,
        run: &Run,
    ) -> Result<Tensor, Error> {
        let Positions {
            cos,
            sin,
            mask,
            fused,
        } = *at;
        let (b, s, _) = x.dims3()?;
        let (nh, nkv, hd) = (self.num_heads, self.num_kv_heads, self.head_dim);
        // (b, s, heads * hd) → (b, heads, s, hd)
        let q = self
            .q
            .forward(x, run)?
            .reshape((b, s, nh, hd))?
            .transpose(1, 2)?
            .contiguous()?;
        let k = self
            .k
            .forward(x, run)?
            .reshape((b, s, nkv, hd))?
            .transpose(1, 2)?
            .contiguous()?;
        let v = self
            .v
            .forward(x, run)?
            .reshape((b, s, nkv, hd))?
            .transpose(1, 2)?
            .contiguous()?;
        let rope = match (fused, self.interleaved_rope) {
            (true, true) => fused_rope_interleaved,
            (false, true) => apply_rope_interleaved,
            (true, false) => fused_rope,
            (false, false) => apply_rope,
        };
        let q = rope(&q, cos, sin)?;
        let k = rope(&k, cos, sin)?;
        let (k, v) = match kv.take() {
            Some((pk, pv)) => (Tensor::cat(&[&pk, &k], 2)?, Tensor::cat(&[&pv, &v], 2)?),
            None => (k, v),
        };
        *kv = Some((k.clone(), v.clone()));
        // Grouped-query attention without copying keys and values per query head: the `rep`
        // query heads that share a key/value head are stacked along the sequence axis.
        // (b, nh, s, hd) → (b, nkv, rep·s, hd)
        let rep = nh / nkv;
        let q = q.reshape((b, nkv, rep * s, hd))?;
        // (b, nkv, rep·s, t)
        let scores = (q.matmul(&k.t()?)? / (hd as f64).sqrt())?;
        let scores = match mask {
            // (s, t) or per row (b, 1, s, t): repeated along the query axis like `q`.
            Some(m) if rep > 1 => {
                scores.broadcast_add(&Tensor::cat(&vec![m; rep], m.rank() - 2)?)?
            }
            Some(m) => scores.broadcast_add(m)?,
            None => scores,
        };
        let probs = if fused {
            candle_nn::ops::softmax_last_dim(&scores)?
        } else {
            softmax_last_dim(&scores)?
        };
        // (b, nkv, rep·s, hd) → (b, nh, s, hd) → (b, s, nh · hd)
        let out = probs
            .matmul(&v)?
            .reshape((b, nh, s, hd))?
            .transpose(1, 2)?
            .reshape((b, s, nh * hd))?;
        self.o.forward(&out, run)
    }
}

struct Mlp {
    gate: Linear,
    up: Linear,
    down: Linear,
}

impl Mlp {
    fn forward(&self, x: &Tensor, run: &Run) -> Result<Tensor, Error> {
        let gated = (self.gate.forward(x, run)?.silu()? * self.up.forward(x, run)?)?;
        self.down.forward(&gated, run)
    }
}

struct Block {
    input_norm: Tensor,
    attn: Attention,
    post_norm: Tensor,
    mlp: Mlp,
}

/// A Llama-family causal language model.
pub struct Llama {
    config: Config,
    embed: Tensor,
    blocks: Vec<Block>,
    norm: Tensor,
    lm_head: Option<Linear>,
    inv_freq: Vec<f32>,
    interleaved_rope: bool,
    fused: bool,
    device: Device,
    attached: Vec<Arc<Lora>>,
    /// The quantised CPU decoder of a GGUF model, used by [`Llama::last_logits`].
    decoder: Option<Arc<QuantizedDecoder>>,
}

impl Llama {
    /// The device the weights live on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Builds the model from checkpoint weights; a missing or misshapen tensor is named.
    pub fn load(config: &Config, weights: &Weights, device: &Device) -> Result<Llama, Error> {
        let c = config;
        let (h, hd) = (c.hidden_size, c.head_dim);
        let blocks = (0..c.num_layers)
            .map(|layer| {
                let p = format!("model.layers.{layer}");
                let linear = |target: Target, out: usize, inp: usize| -> Result<Linear, Error> {
                    Ok(Linear::new(
                        weights.linear(&format!("{p}.{}", target.path()), out, inp)?,
                        Some(Slot { layer, target }),
                    ))
                };
                Ok(Block {
                    input_norm: weights.get(&format!("{p}.input_layernorm.weight"), &[h])?,
                    attn: Attention {
                        q: linear(Target::Q, c.num_heads * hd, h)?,
                        k: linear(Target::K, c.num_kv_heads * hd, h)?,
                        v: linear(Target::V, c.num_kv_heads * hd, h)?,
                        o: linear(Target::O, h, c.num_heads * hd)?,
                        num_heads: c.num_heads,
                        num_kv_heads: c.num_kv_heads,
                        head_dim: hd,
                        interleaved_rope: weights.interleaved_rope,
                    },
                    post_norm: weights
                        .get(&format!("{p}.post_attention_layernorm.weight"), &[h])?,
                    mlp: Mlp {
                        gate: linear(Target::Gate, c.intermediate_size, h)?,
                        up: linear(Target::Up, c.intermediate_size, h)?,
                        down: linear(Target::Down, h, c.intermediate_size)?,
                    },
                })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        let lm_head = if !c.tie_word_embeddings {
            Some(Linear::new(
                weights.linear("lm_head", c.vocab_size, h)?,
                None,
            ))
        } else if weights.quantized.contains_key("model.embed_tokens.weight") {
            // A tied head over quantised embeddings multiplies in the block format too.
            Some(Linear::new(
                weights.linear("model.embed_tokens", c.vocab_size, h)?,
                None,
            ))
        } else {
            None
        };
        Ok(Llama {
            config: c.clone(),
            embed: weights.get("model.embed_tokens.weight", &[c.vocab_size, h])?,
            blocks,
            norm: weights.get("model.norm.weight", &[h])?,
            lm_head,
            inv_freq: c.inv_freq(),
            interleaved_rope: weights.interleaved_rope,
            fused: weights.fused_kernels,
            device: device.clone(),
            attached: Vec::new(),
            decoder: None,
        })
    }

    /// Adds the quantised CPU decoder built from the same weights.
    pub(crate) fn with_decoder(mut self, decoder: QuantizedDecoder) -> Llama {
        self.decoder = Some(Arc::new(decoder));
        self
    }

    /// Whether [`Llama::last_logits`] runs the quantised CPU decoder (a GGUF model kept
    /// quantised on the CPU, with no adapter attached).
    pub fn uses_quantized_decoder(&self) -> bool {
        self.decoder.is_some() && self.attached.is_empty()
    }

    /// Logits of the last of `ids` fed after the positions in `cache` (which grows), with the
    /// attached adapters: one generation step. The quantised decoder runs it when
    /// [`Llama::uses_quantized_decoder`], the forward pass otherwise; only the last position
    /// goes through the LM head.
    pub fn last_logits(&self, ids: &[u32], cache: &mut Cache) -> Result<Vec<f32>, Error> {
        let filled_by_forward = cache.kvs.iter().any(Option::is_some);
        if let (Some(decoder), true, false) =
            (&self.decoder, self.attached.is_empty(), filled_by_forward)
        {
            let state = cache.decoded.get_or_insert_with(DecodeState::default);
            let logits = decoder.forward(ids, state)?.to_vec();
            cache.len = state.len();
            return Ok(logits);
        }
        let input = Tensor::new(ids, &self.device)?.unsqueeze(0)?;
        let adapters: Vec<&Lora> = self.attached.iter().map(|a| a.as_ref()).collect();
        let run = Run {
            adapters: &adapters,
            ..Run::default()
        };
        let hidden = self.hidden_padded(&input, None, cache, &run, true)?;
        // (1, s, hidden) → (1, hidden)
        let last = hidden
            .narrow(1, ids.len().saturating_sub(1), 1)?
            .squeeze(1)?;
        Ok(self
            .logits(&last)?
            .squeeze(0)?
            .to_dtype(DType::F32)?
            .to_vec1()?)
    }

    /// Loads `config.json` and the safetensors of a Hugging Face model folder.
    pub fn from_hf_folder(dir: &Path, dtype: DType, device: &Device) -> Result<Llama, Error> {
        let config = Config::from_file(&dir.join("config.json"))?;
        let weights = Weights::from_hf_folder(dir, dtype, device)?;
        Llama::load(&config, &weights, device)
    }

    /// Whether the projections are kept quantised (GGUF fast inference), where one sequence at
    /// a time is fastest on the CPU.
    pub fn is_quantized(&self) -> bool {
        self.blocks
            .first()
            .is_some_and(|b| matches!(b.attn.q.weight, LinearWeight::Quantized(_)))
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Number of parameters (the tied head counted once).
    pub fn parameter_count(&self) -> u64 {
        let linears = |b: &Block| {
            [
                &b.attn.q,
                &b.attn.k,
                &b.attn.v,
                &b.attn.o,
                &b.mlp.gate,
                &b.mlp.up,
                &b.mlp.down,
            ]
            .iter()
            .map(|l| l.elem_count())
            .sum::<usize>()
                + b.input_norm.elem_count()
                + b.post_norm.elem_count()
        };
        let blocks: usize = self.blocks.iter().map(linears).sum();
        let head = match &self.lm_head {
            Some(h) if !self.config.tie_word_embeddings => h.elem_count(),
            _ => 0,
        };
        (self.embed.elem_count() + blocks + self.norm.elem_count() + head) as u64
    }

    /// cos and sin tables `(s, head_dim)` for positions `offset..offset + s`.
    fn rotary(&self, offset: usize, s: usize, dtype: DType) -> Result<(Tensor, Tensor), Error> {
        let positions: Vec<usize> = (offset..offset + s).collect();
        let (cos, sin) = self.rotary_table(&positions)?;
        let width = cos.len() / s.max(1);
        let cos = Tensor::from_vec(cos, (s, width), &self.device)?.to_dtype(dtype)?;
        let sin = Tensor::from_vec(sin, (s, width), &self.device)?.to_dtype(dtype)?;
        Ok((cos, sin))
    }

    /// Per-row tables `(b, s, head_dim)` for the positions of each row.
    fn rotary_rows(
        &self,
        positions: &[Vec<usize>],
        dtype: DType,
    ) -> Result<(Tensor, Tensor), Error> {
        let (b, s) = (positions.len(), positions.first().map_or(0, Vec::len));
        let (mut cos, mut sin) = (Vec::new(), Vec::new());
        for row in positions {
            let (c, s) = self.rotary_table(row)?;
            cos.extend(c);
            sin.extend(s);
        }
        let width = cos.len() / (b * s).max(1);
        let cos = Tensor::from_vec(cos, (b, s, width), &self.device)?.to_dtype(dtype)?;
        let sin = Tensor::from_vec(sin, (b, s, width), &self.device)?.to_dtype(dtype)?;
        Ok((cos, sin))
    }

    /// cos and sin values, one row of the table per position.
    fn rotary_table(&self, positions: &[usize]) -> Result<(Vec<f32>, Vec<f32>), Error> {
        let half = self.inv_freq.len();
        let s = positions.len();
        let mut cos = Vec::with_capacity(s * half * 2);
        let mut sin = Vec::with_capacity(s * half * 2);
        for &pos in positions {
            // Angles in f32, as transformers computes them: position × inverse frequency.
            let angles: Vec<f32> = self.inv_freq.iter().map(|f| pos as f32 * f).collect();
            // rotate-half layout repeats the angles for both halves; interleaved uses them once.
            let copies = if self.interleaved_rope { 1 } else { 2 };
            for _ in 0..copies {
                cos.extend(angles.iter().map(|a| a.cos()));
                sin.extend(angles.iter().map(|a| a.sin()));
            }
        }
        Ok((cos, sin))
    }

    /// Adds an adapter on top of those already attached; [`Llama::forward`] (generation)
    /// runs with every attached adapter.
    pub fn attach(&mut self, lora: Arc<Lora>) -> Result<(), Error> {
        lora.check_fits(&self.config)?;
        self.attached.push(lora);
        Ok(())
    }

    /// The adapters [`Llama::forward`] runs with, bottom first.
    pub fn attached(&self) -> &[Arc<Lora>] {
        &self.attached
    }

    /// Logits `(b, s, vocab)` for token ids `(b, s)`, continuing from `cache` (which grows),
    /// with the attached adapters.
    pub fn forward(&self, ids: &Tensor, cache: &mut Cache) -> Result<Tensor, Error> {
        let adapters: Vec<&Lora> = self.attached.iter().map(|a| a.as_ref()).collect();
        let run = Run {
            adapters: &adapters,
            ..Run::default()
        };
        let hidden = self.hidden_padded(ids, None, cache, &run, true)?;
        self.logits(&hidden)
    }

    /// Final hidden states `(b, s, hidden)` (after the last RMSNorm) for token ids `(b, s)`,
    /// with exactly the adapters in `run`. Training takes these and projects only the positions
    /// it scores.
    pub fn hidden(&self, ids: &Tensor, cache: &mut Cache, run: &Run) -> Result<Tensor, Error> {
        self.hidden_padded(ids, None, cache, run, self.fused)
    }

    /// Logits `(b, s, vocab)` for a padded batch: `keep[r][i]` says whether token `i` of row
    /// `r` is real. Padding is attended by no token and takes no position, the way
    /// transformers reads an attention mask (positions = running count of real tokens − 1), so
    /// left-padded rows of different lengths give each row's own logits. Later calls continue
    /// the same rows (`keep` of their tokens too), with the attached adapters.
    pub fn forward_padded(
        &self,
        ids: &Tensor,
        keep: &[Vec<bool>],
        cache: &mut Cache,
    ) -> Result<Tensor, Error> {
        let adapters: Vec<&Lora> = self.attached.iter().map(|a| a.as_ref()).collect();
        let run = Run {
            adapters: &adapters,
            ..Run::default()
        };
        let hidden = self.hidden_padded(ids, Some(keep), cache, &run, true)?;
        self.logits(&hidden)
    }

    /// [`Llama::hidden`], with padding flags for the new tokens (`None`: all real); `fused`
    /// takes candle's softmax, RMSNorm and rotary kernels, which have no backward pass (fewer,
    /// larger operations: what generation wants, on a GPU above all).
    fn hidden_padded(
        &self,
        ids: &Tensor,
        keep: Option<&[Vec<bool>]>,
        cache: &mut Cache,
        run: &Run,
        fused: bool,
    ) -> Result<Tensor, Error> {
        let (b, s) = ids.dims2()?;
        if cache.decoded.as_ref().is_some_and(|d| d.len() > 0) {
            return Err(Error::Tensor {
                name: "cache".to_owned(),
                message: "was filled by the quantised decoder; start a new cache for the \
                          forward pass (e.g. after attaching an adapter)"
                    .to_owned(),
            });
        }
        let offset = cache.len;
        if cache.kvs.len() != self.blocks.len() {
            cache.kvs = vec![None; self.blocks.len()];
        }
        let mut x = self.embed.index_select(&ids.flatten_all()?, 0)?.reshape((
            b,
            s,
            self.config.hidden_size,
        ))?;
        let ((cos, sin), mask) = if keep.is_some() || cache.keep.is_some() {
            let rows = cache
                .keep
                .get_or_insert_with(|| vec![vec![true; offset]; b]);
            if rows.len() != b
                || keep.is_some_and(|k| k.len() != b || k.iter().any(|r| r.len() != s))
            {
                return Err(Error::Invalid {
                    message: format!(
                        "padding flags must be {b} rows of {s} (the ids' shape) for a cache of {} rows",
                        rows.len()
                    ),
                });
            }
            let mut positions = Vec::with_capacity(b);
            for (r, row) in rows.iter_mut().enumerate() {
                let mut count = row.iter().filter(|k| **k).count();
                let mut pos = Vec::with_capacity(s);
                for i in 0..s {
                    let real = keep.is_none_or(|k| k[r][i]);
                    row.push(real);
                    count += usize::from(real);
                    pos.push(if real { count - 1 } else { 0 });
                }
                positions.push(pos);
            }
            (
                self.rotary_rows(&positions, x.dtype())?,
                Some(padded_mask(rows, s, x.dtype(), &self.device)?),
            )
        } else {
            (
                self.rotary(offset, s, x.dtype())?,
                causal_mask(s, offset, x.dtype(), &self.device)?,
            )
        };
        let (cos, sin) = if fused && !self.interleaved_rope {
            // candle's rotate-half kernel takes each angle once.
            let half = cos.dim(D::Minus1)? / 2;
            (
                cos.narrow(D::Minus1, 0, half)?.contiguous()?,
                sin.narrow(D::Minus1, 0, half)?.contiguous()?,
            )
        } else {
            (cos, sin)
        };
        let at = Positions {
            cos: &cos,
            sin: &sin,
            mask: mask.as_ref(),
            fused,
        };
        for (block, kv) in self.blocks.iter().zip(cache.kvs.iter_mut()) {
            let residual = x.clone();
            let h = rms_norm(&x, &block.input_norm, self.config.rms_norm_eps, fused)?;
            let h = block.attn.forward(&h, &at, kv, run)?;
            let x1 = (residual + h)?;
            let h = rms_norm(&x1, &block.post_norm, self.config.rms_norm_eps, fused)?;
            x = (&x1 + block.mlp.forward(&h, run)?)?;
        }
        cache.len += s;
        rms_norm(&x, &self.norm, self.config.rms_norm_eps, fused)
    }

    /// The language-model head: `(…, hidden)` → `(…, vocab)`.
    pub fn logits(&self, hidden: &Tensor) -> Result<Tensor, Error> {
        match &self.lm_head {
            Some(head) => head.forward(hidden, &Run::default()),
            None => frozen_matmul(hidden, &self.embed),
        }
    }

    /// The dense weight of a projection, for merging an adapter into it.
    pub fn dense_weight(&self, slot: Slot) -> Option<&Tensor> {
        let block = self.blocks.get(slot.layer)?;
        let linear = match slot.target {
            Target::Q => &block.attn.q,
            Target::K => &block.attn.k,
            Target::V => &block.attn.v,
            Target::O => &block.attn.o,
            Target::Gate => &block.mlp.gate,
            Target::Up => &block.mlp.up,
            Target::Down => &block.mlp.down,
        };
        match &linear.weight {
            LinearWeight::Dense(w) => Some(w),
            LinearWeight::Quantized(_) => None,
        }
    }

    /// Every float tensor of the model under its Hugging Face name (the tied head omitted),
    /// with the attached adapters merged into their projections: what a merged export writes.
    pub fn merged_tensors(&self) -> Result<Vec<(String, Tensor)>, Error> {
        let mut out = vec![("model.embed_tokens.weight".to_owned(), self.embed.clone())];
        for (layer, block) in self.blocks.iter().enumerate() {
            let p = format!("model.layers.{layer}");
            out.push((
                format!("{p}.input_layernorm.weight"),
                block.input_norm.clone(),
            ));
            out.push((
                format!("{p}.post_attention_layernorm.weight"),
                block.post_norm.clone(),
            ));
            for target in Target::ALL {
                let slot = Slot { layer, target };
                let mut w = self
                    .dense_weight(slot)
                    .ok_or_else(|| Error::Tensor {
                        name: format!("{p}.{}.weight", target.path()),
                        message: "is quantised; load the model dequantised to merge".to_owned(),
                    })?
                    .clone();
                for lora in &self.attached {
                    if let Some(delta) = lora.delta(slot)? {
                        let delta = delta.to_dtype(w.dtype())?;
                        w = (w + delta)?;
                    }
                }
                out.push((format!("{p}.{}.weight", target.path()), w));
            }
        }
        out.push(("model.norm.weight".to_owned(), self.norm.clone()));
        if !self.config.tie_word_embeddings
            && let Some(Linear {
                weight: LinearWeight::Dense(w),
                ..
            }) = &self.lm_head
        {
            out.push(("lm_head.weight".to_owned(), w.clone()));
        }
        Ok(out)
    }
}

/// Additive mask `(s, offset + s)`: 0 where a position may attend, −∞ where it is in the future.
fn causal_mask(
    s: usize,
    offset: usize,
    dtype: DType,
    device: &Device,
) -> Result<Option<Tensor>, Error> {
    if s == 1 {
        return Ok(None);
    }
    let t = offset + s;
    let values: Vec<f32> = (0..s)
        .flat_map(|i| {
            (0..t).map(move |j| {
                if j > offset + i {
                    f32::NEG_INFINITY
                } else {
                    0.0
                }
            })
        })
        .collect();
    Ok(Some(
        Tensor::from_vec(values, (s, t), device)?.to_dtype(dtype)?,
    ))
}

/// Additive mask `(b, 1, s, t)` for the last `s` of `t` positions of padded rows: 0 where a
/// position may attend (a real token, not in the future), the lowest float elsewhere (as
/// transformers masks, so a row of padding alone stays finite rather than NaN).
fn padded_mask(
    keep: &[Vec<bool>],
    s: usize,
    dtype: DType,
    device: &Device,
) -> Result<Tensor, Error> {
    let b = keep.len();
    let t = keep.first().map_or(0, Vec::len);
    let offset = t - s;
    let mut values = Vec::with_capacity(b * s * t);
    for row in keep {
        for i in 0..s {
            values.extend(row.iter().enumerate().map(|(j, real)| {
                if *real && j <= offset + i {
                    0.0
                } else {
                    f32::MIN
                }
            }));
        }
    }
    Ok(Tensor::from_vec(values, (b, 1, s, t), device)?.to_dtype(dtype)?)
}

/// The safetensors files holding a model folder's weights (see [`Weights::from_hf_folder`]).
fn weight_files(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let index = dir.join("model.safetensors.index.json");
    if index.is_file() {
        let bad = |message: String| Error::Config {
            path: index.clone(),
            message,
        };
        let text = std::fs::read_to_string(&index).map_err(|source| Error::Io {
            path: index.clone(),
            source,
        })?;
        let json: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| bad(format!("not valid JSON: {e}")))?;
        let map = json
            .get("weight_map")
            .and_then(serde_json::Value::as_object)
            .ok_or_else(|| bad("has no \"weight_map\" object".to_owned()))?;
        let mut names: Vec<&str> = Vec::new();
        for file in map.values() {
            let name = file
                .as_str()
                .ok_or_else(|| bad("a \"weight_map\" value is not a file name".to_owned()))?;
            // Shards live in the folder itself: a path elsewhere is refused.
            if Path::new(name).file_name() != Some(std::ffi::OsStr::new(name)) {
                return Err(bad(format!("shard {name:?} is not a file in the folder")));
            }
            names.push(name);
        }
        names.sort_unstable();
        names.dedup();
        if names.is_empty() {
            return Err(bad("lists no shards".to_owned()));
        }
        return Ok(names.into_iter().map(|n| dir.join(n)).collect());
    }
    let single = dir.join("model.safetensors");
    if single.is_file() {
        return Ok(vec![single]);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|source| Error::Io {
            path: dir.to_owned(),
            source,
        })?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "safetensors"))
        .collect();
    files.sort();
    match files.len() {
        0 => Err(Error::Tensor {
            name: "*.safetensors".to_owned(),
            message: format!("no weights in {}", dir.display()),
        }),
        1 => Ok(files),
        n => Err(Error::Tensor {
            name: "*.safetensors".to_owned(),
            message: format!(
                "{} has {n} safetensors files but no model.safetensors or \
                 model.safetensors.index.json to say which hold the weights",
                dir.display()
            ),
        }),
    }
}

#[cfg(test)]
mod tests;
