//! The quantised CPU decoder: generation's forward pass for a GGUF model on the CPU with no
//! adapter attached, written over plain slices instead of candle tensors (inference only, no
//! backward pass). Weights stay in their GGUF blocks ([`crate::quant`]); each projection
//! quantises its input once and runs integer dot products; query/key/value and gate/up are one
//! product each; keys and values are appended in place to a cache that grows by doubling;
//! RMSNorm, rotary embedding, softmax and SiLU are loops over buffers reused from token to
//! token. Query/key rows stay in llama.cpp's order, so the rotation is the interleaved one.
//!
//! It computes what [`crate::llama::Llama`] computes for the same weights (the tests compare
//! the two and transformers), only the last position's logits, as generation needs.

use std::collections::HashMap;

use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Tensor};
use pulp::{Simd, WithSimd};
use rayon::prelude::{IndexedParallelIterator, ParallelIterator, ParallelSliceMut};

use crate::config::Config;
use crate::error::Error;
use crate::quant::{BLOCK, Format, Isa, Q8Rows, QMatrix};

/// GGUF tensors gathered for [`QuantizedDecoder::new`], under their GGUF names.
#[derive(Default)]
pub(crate) struct Parts {
    matrices: HashMap<String, QMatrix>,
    vectors: HashMap<String, Vec<f32>>,
}

impl Parts {
    /// Keeps a GGUF tensor: Q4_1 and Q8_0 matrices as they are, other block formats re-encoded
    /// as Q8_0, vectors (norm weights) as f32.
    pub(crate) fn add(&mut self, name: &str, q: &QTensor) -> Result<(), Error> {
        let bad = |message: String| Error::Tensor {
            name: name.to_owned(),
            message,
        };
        match q.shape().dims() {
            [rows, cols] => {
                let matrix = match q.dtype() {
                    GgmlDType::Q4_1 => QMatrix::new(Format::Q4_1, *rows, *cols, &q.data()?),
                    GgmlDType::Q8_0 => QMatrix::new(Format::Q8_0, *rows, *cols, &q.data()?),
                    _ => {
                        let requantized =
                            QTensor::quantize(&q.dequantize(&Device::Cpu)?, GgmlDType::Q8_0)?;
                        QMatrix::new(Format::Q8_0, *rows, *cols, &requantized.data()?)
                    }
                }
                .map_err(bad)?;
                self.matrices.insert(name.to_owned(), matrix);
            }
            [_] => {
                let values = q.dequantize(&Device::Cpu)?.to_vec1::<f32>()?;
                self.vectors.insert(name.to_owned(), values);
            }
            dims => return Err(bad(format!("has unexpected shape {dims:?}"))),
        }
        Ok(())
    }

    fn matrix(&mut self, name: &str, rows: usize, cols: usize) -> Result<QMatrix, Error> {
        let m = self.matrices.remove(name).ok_or_else(|| Error::Tensor {
            name: name.to_owned(),
            message: "missing from the GGUF file".to_owned(),
        })?;
        if (m.rows(), m.cols()) != (rows, cols) {
            return Err(Error::Tensor {
                name: name.to_owned(),
                message: format!(
                    "has shape {:?}; the config implies {:?}",
                    [m.rows(), m.cols()],
                    [rows, cols]
                ),
            });
        }
        Ok(m)
    }

    fn vector(&mut self, name: &str, len: usize) -> Result<Vec<f32>, Error> {
        let v = self.vectors.remove(name).ok_or_else(|| Error::Tensor {
            name: name.to_owned(),
            message: "missing from the GGUF file".to_owned(),
        })?;
        if v.len() != len {
            return Err(Error::Tensor {
                name: name.to_owned(),
                message: format!("has {} values; the config implies {len}", v.len()),
            });
        }
        Ok(v)
    }
}

/// Rows stacked into one product; parts of different formats are all re-encoded as Q8_0.
fn stack(name: &str, parts: Vec<QMatrix>) -> Result<QMatrix, Error> {
    if let Some(m) = QMatrix::stack(&parts) {
        return Ok(m);
    }
    let as_q8 = parts
        .iter()
        .map(|m| {
            let mut values = vec![0f32; m.rows() * m.cols()];
            for (r, row) in values.chunks_exact_mut(m.cols()).enumerate() {
                m.dequantize_row(r, row);
            }
            let t = Tensor::from_vec(values, (m.rows(), m.cols()), &Device::Cpu)?;
            let q = QTensor::quantize(&t, GgmlDType::Q8_0)?;
            QMatrix::new(Format::Q8_0, m.rows(), m.cols(), &q.data()?).map_err(|message| {
                Error::Tensor {
                    name: name.to_owned(),
                    message,
                }
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    QMatrix::stack(&as_q8).ok_or_else(|| Error::Tensor {
        name: name.to_owned(),
        message: "projections of different widths cannot be fused".to_owned(),
    })
}

struct Layer {
    attn_norm: Vec<f32>,
    /// Query, key and value rows stacked: `((heads + 2·kv_heads)·head_dim, hidden)`.
    qkv: QMatrix,
    o: QMatrix,
    ffn_norm: Vec<f32>,
    /// Gate and up rows stacked: `(2·intermediate, hidden)`.
    gate_up: QMatrix,
    down: QMatrix,
}

/// A Llama-family model's weights for the quantised CPU forward pass.
pub(crate) struct QuantizedDecoder {
    hidden: usize,
    heads: usize,
    kv_heads: usize,
    head_dim: usize,
    intermediate: usize,
    vocab: usize,
    eps: f32,
    inv_freq: Vec<f32>,
    layers: Vec<Layer>,
    norm: Vec<f32>,
    embed: QMatrix,
    /// `None`: tied to the embedding.
    head: Option<QMatrix>,
    isa: Isa,
}

/// Keys, values and scratch buffers of one sequence, reused from token to token.
#[derive(Debug, Clone, Default)]
pub(crate) struct DecodeState {
    len: usize,
    /// Per layer, `(position, kv_heads·head_dim)`.
    keys: Vec<Vec<f32>>,
    values: Vec<Vec<f32>>,
    x: Vec<f32>,
    normed: Vec<f32>,
    qkv: Vec<f32>,
    attended: Vec<f32>,
    projected: Vec<f32>,
    gate_up: Vec<f32>,
    mlp: Vec<f32>,
    scores: Vec<f32>,
    rope: Vec<(f32, f32)>,
    act: Q8Rows,
    logits: Vec<f32>,
}

impl DecodeState {
    /// Positions already cached.
    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

impl QuantizedDecoder {
    /// Builds the decoder from the tensors of a GGUF file (llama.cpp names).
    pub(crate) fn new(config: &Config, mut parts: Parts) -> Result<QuantizedDecoder, Error> {
        let c = config;
        let (h, hd) = (c.hidden_size, c.head_dim);
        let cols_ok = [h, c.intermediate_size, c.num_heads * hd]
            .iter()
            .all(|n| n.is_multiple_of(BLOCK));
        if !cols_ok || c.num_kv_heads == 0 || !c.num_heads.is_multiple_of(c.num_kv_heads) {
            return Err(Error::Tensor {
                name: "blk.0".to_owned(),
                message: "shapes the quantised CPU decoder cannot run".to_owned(),
            });
        }
        let layers = (0..c.num_layers)
            .map(|l| {
                let p = format!("blk.{l}");
                let q = parts.matrix(&format!("{p}.attn_q.weight"), c.num_heads * hd, h)?;
                let k = parts.matrix(&format!("{p}.attn_k.weight"), c.num_kv_heads * hd, h)?;
                let v = parts.matrix(&format!("{p}.attn_v.weight"), c.num_kv_heads * hd, h)?;
                let gate = parts.matrix(&format!("{p}.ffn_gate.weight"), c.intermediate_size, h)?;
                let up = parts.matrix(&format!("{p}.ffn_up.weight"), c.intermediate_size, h)?;
                Ok(Layer {
                    attn_norm: parts.vector(&format!("{p}.attn_norm.weight"), h)?,
                    qkv: stack(&format!("{p}.attn_q/k/v.weight"), vec![q, k, v])?,
                    o: parts.matrix(&format!("{p}.attn_output.weight"), h, c.num_heads * hd)?,
                    ffn_norm: parts.vector(&format!("{p}.ffn_norm.weight"), h)?,
                    gate_up: stack(&format!("{p}.ffn_gate/up.weight"), vec![gate, up])?,
                    down: parts.matrix(&format!("{p}.ffn_down.weight"), h, c.intermediate_size)?,
                })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        let embed = parts.matrix("token_embd.weight", c.vocab_size, h)?;
        let head = if c.tie_word_embeddings {
            None
        } else {
            Some(parts.matrix("output.weight", c.vocab_size, h)?)
        };
        Ok(QuantizedDecoder {
            hidden: h,
            heads: c.num_heads,
            kv_heads: c.num_kv_heads,
            head_dim: hd,
            intermediate: c.intermediate_size,
            vocab: c.vocab_size,
            eps: c.rms_norm_eps as f32,
            inv_freq: c.inv_freq(),
            layers,
            norm: parts.vector("output_norm.weight", h)?,
            embed,
            head,
            isa: Isa::detect(),
        })
    }

    /// The same weights run with the scalar kernels (tests compare the two).
    #[cfg(test)]
    pub(crate) fn with_isa(mut self, isa: Isa) -> QuantizedDecoder {
        self.isa = isa;
        self
    }

    /// Bytes of weights one token reads (every matrix once).
    pub(crate) fn weight_bytes(&self) -> usize {
        let layers: usize = self
            .layers
            .iter()
            .map(|l| l.qkv.bytes() + l.o.bytes() + l.gate_up.bytes() + l.down.bytes())
            .sum();
        layers + self.head.as_ref().unwrap_or(&self.embed).bytes()
    }

    /// Feeds `tokens` after the positions already in `state` and returns the logits of the
    /// last one. Runs on rayon's pool, whose threads split every product.
    pub(crate) fn forward<'s>(
        &self,
        tokens: &[u32],
        state: &'s mut DecodeState,
    ) -> Result<&'s [f32], Error> {
        if tokens.is_empty() {
            return Err(Error::Tensor {
                name: "input ids".to_owned(),
                message: "no tokens to run".to_owned(),
            });
        }
        if let Some(bad) = tokens.iter().find(|&&t| t as usize >= self.vocab) {
            return Err(Error::Tensor {
                name: "input ids".to_owned(),
                message: format!(
                    "token id {bad} is outside the vocabulary of {} tokens",
                    self.vocab
                ),
            });
        }
        // On a pool thread, so the caller's thread is one of the workers the products use.
        rayon::scope(|_| self.run(tokens, state));
        Ok(&state.logits)
    }

    fn run(&self, tokens: &[u32], s: &mut DecodeState) {
        let (h, hd, n) = (self.hidden, self.head_dim, tokens.len());
        let (q_dim, kv_dim) = (self.heads * hd, self.kv_heads * hd);
        let qkv_dim = q_dim + 2 * kv_dim;
        if s.keys.len() != self.layers.len() {
            s.keys = vec![Vec::new(); self.layers.len()];
            s.values = vec![Vec::new(); self.layers.len()];
        }
        s.x.resize(n * h, 0.0);
        for (t, x) in tokens.iter().zip(s.x.chunks_exact_mut(h)) {
            self.embed.dequantize_row(*t as usize, x);
        }
        // Rotation angles of each new position: (cos, sin) per rotated pair.
        let half = hd / 2;
        s.rope.clear();
        for pos in s.len..s.len + n {
            s.rope.extend(self.inv_freq.iter().map(|f| {
                let angle = pos as f32 * f;
                (angle.cos(), angle.sin())
            }));
        }
        for (l, layer) in self.layers.iter().enumerate() {
            rms_norm(&s.x, &layer.attn_norm, self.eps, &mut s.normed);
            s.act.quantize(&s.normed, h);
            s.qkv.resize(n * qkv_dim, 0.0);
            layer.qkv.mul(self.isa, &s.act, &mut s.qkv);
            let (keys, values) = (&mut s.keys[l], &mut s.values[l]);
            reserve_doubling(keys, n * kv_dim);
            reserve_doubling(values, n * kv_dim);
            for (row, angles) in s
                .qkv
                .chunks_exact_mut(qkv_dim)
                .zip(s.rope.chunks_exact(half))
            {
                let (qk, v) = row.split_at_mut(q_dim + kv_dim);
                for head in qk.chunks_exact_mut(hd) {
                    rotate_interleaved(head, angles);
                }
                keys.extend_from_slice(&qk[q_dim..]);
                values.extend_from_slice(v);
            }
            self.attend(s, l, n);
            s.act.quantize(&s.attended, q_dim);
            s.projected.resize(n * h, 0.0);
            layer.o.mul(self.isa, &s.act, &mut s.projected);
            add_assign(&mut s.x, &s.projected);

            rms_norm(&s.x, &layer.ffn_norm, self.eps, &mut s.normed);
            s.act.quantize(&s.normed, h);
            let i = self.intermediate;
            s.gate_up.resize(n * 2 * i, 0.0);
            layer.gate_up.mul(self.isa, &s.act, &mut s.gate_up);
            s.mlp.resize(n * i, 0.0);
            for (gu, out) in s.gate_up.chunks_exact(2 * i).zip(s.mlp.chunks_exact_mut(i)) {
                let (gate, up) = gu.split_at(i);
                for ((o, g), u) in out.iter_mut().zip(gate).zip(up) {
                    *o = g / (1.0 + (-g).exp()) * u;
                }
            }
            s.act.quantize(&s.mlp, i);
            layer.down.mul(self.isa, &s.act, &mut s.projected);
            add_assign(&mut s.x, &s.projected);
        }
        s.len += n;
        // Only the last position goes through the head.
        let last = &s.x[(n - 1) * h..];
        rms_norm(last, &self.norm, self.eps, &mut s.normed);
        s.act.quantize(&s.normed, h);
        s.logits.resize(self.vocab, 0.0);
        let head = self.head.as_ref().unwrap_or(&self.embed);
        head.mul(self.isa, &s.act, &mut s.logits);
    }

    /// Causal grouped-query attention of the `n` new positions of layer `l` over every cached
    /// one, into `s.attended` `(n, heads·head_dim)`; (position, head) pairs split across threads.
    fn attend(&self, s: &mut DecodeState, l: usize, n: usize) {
        let hd = self.head_dim;
        let (q_dim, kv_dim) = (self.heads * hd, self.kv_heads * hd);
        let qkv_dim = q_dim + 2 * kv_dim;
        let total = s.len + n;
        let first = s.len;
        let group = self.heads / self.kv_heads;
        let scale = 1.0 / (hd as f32).sqrt();
        s.attended.resize(n * q_dim, 0.0);
        s.scores.resize(n * self.heads * total, 0.0);
        let (keys, values, qkv) = (&s.keys[l], &s.values[l], &s.qkv);
        let heads = self.heads;
        let arch = pulp::Arch::new();
        s.attended
            .par_chunks_mut(hd)
            .zip(s.scores.par_chunks_mut(total))
            .enumerate()
            .for_each(|(i, (out, scores))| {
                let (t, head) = (i / heads, i % heads);
                let q = &qkv[t * qkv_dim + head * hd..][..hd];
                arch.dispatch(AttendHead {
                    q,
                    keys,
                    values,
                    stride: kv_dim,
                    offset: head / group * hd,
                    scale,
                    scores: &mut scores[..first + t + 1],
                    out,
                });
            });
    }
}

/// Grows `v` so `extra` more values fit, at least doubling: appending a token rarely allocates.
fn reserve_doubling(v: &mut Vec<f32>, extra: usize) {
    if v.capacity() - v.len() < extra {
        v.reserve((v.len() + extra).max(2 * v.capacity()) - v.len());
    }
}

/// RMSNorm of each `weight.len()`-wide row of `x` into `out`.
fn rms_norm(x: &[f32], weight: &[f32], eps: f32, out: &mut Vec<f32>) {
    let w = weight.len();
    out.resize(x.len(), 0.0);
    for (x, out) in x.chunks_exact(w).zip(out.chunks_exact_mut(w)) {
        let mean = x.iter().map(|v| v * v).sum::<f32>() / w as f32;
        let inv = 1.0 / (mean + eps).sqrt();
        for ((o, v), g) in out.iter_mut().zip(x).zip(weight) {
            *o = v * inv * g;
        }
    }
}

fn add_assign(x: &mut [f32], y: &[f32]) {
    for (x, y) in x.iter_mut().zip(y) {
        *x += y;
    }
}

/// Rotates each adjacent pair `(x[2i], x[2i+1])` of one head by its angle (llama.cpp's layout).
fn rotate_interleaved(head: &mut [f32], angles: &[(f32, f32)]) {
    for (pair, (cos, sin)) in head.chunks_exact_mut(2).zip(angles) {
        if let [a, b] = pair {
            let (x0, x1) = (*a, *b);
            *a = x0 * cos - x1 * sin;
            *b = x0 * sin + x1 * cos;
        }
    }
}

/// One query head over the visible positions: scores, softmax, weighted sum of values.
struct AttendHead<'a> {
    q: &'a [f32],
    keys: &'a [f32],
    values: &'a [f32],
    /// Values per cached position (`kv_heads·head_dim`).
    stride: usize,
    /// Where this head's key/value head starts within a position.
    offset: usize,
    scale: f32,
    /// One per visible position.
    scores: &'a mut [f32],
    out: &'a mut [f32],
}

impl WithSimd for AttendHead<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) {
        let AttendHead {
            q,
            keys,
            values,
            stride,
            offset,
            scale,
            scores,
            out,
        } = self;
        let hd = q.len();
        let mut max = f32::NEG_INFINITY;
        for (s, k) in scores.iter_mut().zip(head_rows(keys, stride, offset, hd)) {
            *s = dot(simd, q, k) * scale;
            max = max.max(*s);
        }
        let mut sum = 0.0;
        for s in scores.iter_mut() {
            *s = (*s - max).exp();
            sum += *s;
        }
        let inv = 1.0 / sum;
        out.fill(0.0);
        for (p, v) in scores.iter().zip(head_rows(values, stride, offset, hd)) {
            axpy(simd, out, p * inv, v);
        }
    }
}

/// The `width` values at `offset` of every `stride`-wide row: one key/value head's cache.
#[inline(always)]
fn head_rows(
    data: &[f32],
    stride: usize,
    offset: usize,
    width: usize,
) -> impl Iterator<Item = &[f32]> {
    data.chunks_exact(stride)
        .map(move |row| &row[offset..offset + width])
}

#[inline(always)]
fn dot<S: Simd>(simd: S, a: &[f32], b: &[f32]) -> f32 {
    let (a8, a1) = S::as_simd_f32s(a);
    let (b8, b1) = S::as_simd_f32s(b);
    let (mut acc, mut other) = (simd.splat_f32s(0.0), simd.splat_f32s(0.0));
    for (x, y) in a8.iter().zip(b8) {
        let next = simd.mul_add_f32s(*x, *y, other);
        (other, acc) = (acc, next);
    }
    let mut sum = simd.reduce_sum_f32s(simd.add_f32s(acc, other));
    for (x, y) in a1.iter().zip(b1) {
        sum += x * y;
    }
    sum
}

/// `out += a · x`.
#[inline(always)]
fn axpy<S: Simd>(simd: S, out: &mut [f32], a: f32, x: &[f32]) {
    let (o8, o1) = S::as_mut_simd_f32s(out);
    let (x8, x1) = S::as_simd_f32s(x);
    let a8 = simd.splat_f32s(a);
    for (o, x) in o8.iter_mut().zip(x8) {
        *o = simd.mul_add_f32s(a8, *x, *o);
    }
    for (o, x) in o1.iter_mut().zip(x1) {
        *o += a * x;
    }
}

#[cfg(test)]
mod tests;
