//! Text generation: greedy or sampled (temperature, top-k, top-p, repetition penalty, seed),
//! stopping at end-of-sequence ids, stop strings or a token budget, with a per-token callback
//! and cancellation. The same seed gives the same tokens on the same machine.

use candle_core::{DType, Tensor};

use crate::error::Error;
use crate::llama::{Cache, Llama};
use crate::rng::Rng;
use crate::tokenizer::Tokenizer;

/// How the next token is chosen.
#[derive(Debug, Clone, PartialEq)]
pub struct Sampling {
    /// 0 picks the most likely token (greedy); higher values flatten the distribution.
    pub temperature: f64,
    /// Keep only the `top_k` most likely tokens (0: all).
    pub top_k: usize,
    /// Keep the smallest set of tokens whose probability reaches `top_p` (1: all).
    pub top_p: f64,
    /// Divide (or, for negative logits, multiply) the logits of tokens already seen; 1: off.
    pub repetition_penalty: f32,
    /// Random seed.
    pub seed: u64,
}

impl Sampling {
    /// Always the most likely token.
    pub fn greedy() -> Sampling {
        Sampling {
            temperature: 0.0,
            top_k: 0,
            top_p: 1.0,
            repetition_penalty: 1.0,
            seed: 0,
        }
    }
}

/// What to generate and when to stop.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerateConfig {
    /// At most this many new tokens.
    pub max_tokens: usize,
    /// Token choice.
    pub sampling: Sampling,
    /// Ids that end generation (the model's end-of-sequence tokens); kept as the last id.
    pub stop_ids: Vec<u32>,
    /// Strings that end generation; the text is cut before them.
    pub stop_strings: Vec<String>,
}

/// Why generation stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// An end-of-sequence id was generated.
    Eos,
    /// A stop string appeared.
    StopString,
    /// `max_tokens` were generated.
    MaxTokens,
    /// The caller cancelled.
    Cancelled,
}

/// The generated part of a sequence.
#[derive(Debug, Clone, PartialEq)]
pub struct Generation {
    /// New ids; a generated end-of-sequence id is the last one, as transformers reports it.
    pub token_ids: Vec<u32>,
    /// Their text, without the end-of-sequence token and cut before any stop string.
    pub text: String,
    /// Why it stopped.
    pub stop: StopReason,
}

/// Picks the next token from last-position logits, given the ids seen so far.
fn choose(logits: &[f32], seen: &[u32], s: &Sampling, rng: &mut Rng) -> u32 {
    let mut logits = logits.to_vec();
    if s.repetition_penalty != 1.0 {
        for &id in seen {
            if let Some(l) = logits.get_mut(id as usize) {
                *l = if *l < 0.0 {
                    *l * s.repetition_penalty
                } else {
                    *l / s.repetition_penalty
                };
            }
        }
    }
    let argmax = |v: &[f32]| -> u32 {
        v.iter()
            .enumerate()
            .fold((0usize, f32::NEG_INFINITY), |best, (i, &x)| {
                if x > best.1 { (i, x) } else { best }
            })
            .0 as u32
    };
    if s.temperature <= 0.0 {
        return argmax(&logits);
    }
    let mut order: Vec<usize> = (0..logits.len()).collect();
    order.sort_unstable_by(|&a, &b| logits[b].total_cmp(&logits[a]));
    if s.top_k > 0 {
        order.truncate(s.top_k);
    }
    let max = order.first().map_or(0.0, |&i| logits[i]);
    let mut probs: Vec<f64> = order
        .iter()
        .map(|&i| (f64::from(logits[i] - max) / s.temperature).exp())
        .collect();
    let total: f64 = probs.iter().sum();
    probs.iter_mut().for_each(|p| *p /= total);
    if s.top_p < 1.0 {
        let mut cumulative = 0.0;
        let keep = probs
            .iter()
            .position(|p| {
                cumulative += p;
                cumulative >= s.top_p
            })
            .map_or(probs.len(), |i| i + 1);
        probs.truncate(keep);
        order.truncate(keep);
        let total: f64 = probs.iter().sum();
        probs.iter_mut().for_each(|p| *p /= total);
    }
    let mut draw = rng.next_f64();
    for (p, &i) in probs.iter().zip(&order) {
        if draw < *p {
            return i as u32;
        }
        draw -= p;
    }
    order.last().map_or_else(|| argmax(&logits), |&i| i as u32)
}

/// One sequence being generated: its sampler state, tokens and text so far.
struct Stream<'a> {
    config: &'a GenerateConfig,
    rng: Rng,
    seen: Vec<u32>,
    new: Vec<u32>,
    /// Bytes of text already passed to the callback.
    emitted: usize,
    text: String,
    stop: Option<StopReason>,
}

impl<'a> Stream<'a> {
    fn new(prompt: &[u32], config: &'a GenerateConfig) -> Stream<'a> {
        Stream {
            config,
            rng: Rng::new(config.sampling.seed),
            seen: prompt.to_vec(),
            new: Vec::new(),
            emitted: 0,
            text: String::new(),
            stop: (config.max_tokens == 0).then_some(StopReason::MaxTokens),
        }
    }

    /// Chooses the next token from the last position's logits and streams its text; the
    /// token is returned while the sequence goes on.
    fn step(
        &mut self,
        logits: &[f32],
        tokenizer: &Tokenizer,
        on_text: &mut dyn FnMut(&str),
    ) -> Result<Option<u32>, Error> {
        let config = self.config;
        let next = choose(logits, &self.seen, &config.sampling, &mut self.rng);
        self.new.push(next);
        self.seen.push(next);
        if config.stop_ids.contains(&next) {
            self.stop = Some(StopReason::Eos);
            return Ok(None);
        }
        self.text = tokenizer.decode(&self.new, true)?;
        if let Some(cut) = config
            .stop_strings
            .iter()
            .filter_map(|s| self.text.find(s.as_str()))
            .min()
        {
            self.text.truncate(cut);
            self.stop = Some(StopReason::StopString);
        }
        // Hold back a trailing partial UTF-8 character until the next token completes it.
        let ready = self.text.trim_end_matches('\u{fffd}').len();
        if ready > self.emitted {
            on_text(self.text.get(self.emitted..ready).unwrap_or_default());
            self.emitted = ready;
        }
        if self.stop.is_none() && self.new.len() >= config.max_tokens {
            self.stop = Some(StopReason::MaxTokens);
        }
        Ok(self.stop.is_none().then_some(next))
    }

    /// The finished generation; the rest of the text goes to the callback.
    fn finish(
        mut self,
        stop: StopReason,
        tokenizer: &Tokenizer,
        on_text: &mut dyn FnMut(&str),
    ) -> Result<Generation, Error> {
        let stop = self.stop.unwrap_or(stop);
        if stop != StopReason::StopString {
            let ids: Vec<u32> = self
                .new
                .iter()
                .copied()
                .filter(|id| !self.config.stop_ids.contains(id))
                .collect();
            self.text = tokenizer.decode(&ids, true)?;
            if self.text.len() > self.emitted {
                on_text(self.text.get(self.emitted..).unwrap_or_default());
            }
        }
        Ok(Generation {
            token_ids: self.new,
            text: self.text,
            stop,
        })
    }
}

/// Generates a continuation of `prompt`, calling `on_text` with each new piece of text.
pub fn generate(
    model: &Llama,
    tokenizer: &Tokenizer,
    prompt: &[u32],
    config: &GenerateConfig,
    on_text: &mut dyn FnMut(&str),
    cancelled: &dyn Fn() -> bool,
) -> Result<Generation, Error> {
    let mut cache = Cache::new();
    let mut stream = Stream::new(prompt, config);
    let mut input: Vec<u32> = prompt.to_vec();
    let mut stop = StopReason::MaxTokens;
    while stream.stop.is_none() {
        if cancelled() {
            stop = StopReason::Cancelled;
            break;
        }
        let last = model.last_logits(&input, &mut cache)?;
        match stream.step(&last, tokenizer, on_text)? {
            Some(next) => {
                input.clear();
                input.push(next);
            }
            None => break,
        }
    }
    stream.finish(stop, tokenizer, on_text)
}

/// Generates continuations of several prompts at once: the prompts are left-padded into one
/// batch (padding masked, see [`Llama::forward_padded`]) and decoded together, one token per
/// row per step, each row with its own settings, sampler seed and stop (so a row gets what
/// [`generate`] alone would, up to float rounding). `on_done(i, g)` is called as soon as row
/// `i` finishes; after cancellation the unfinished rows end `Cancelled`.
pub fn generate_batch(
    model: &Llama,
    tokenizer: &Tokenizer,
    rows: &[(Vec<u32>, GenerateConfig)],
    on_done: &mut dyn FnMut(usize, &Generation),
    cancelled: &dyn Fn() -> bool,
) -> Result<Vec<Generation>, Error> {
    let prompts: Vec<&Vec<u32>> = rows.iter().map(|(p, _)| p).collect();
    let device = model.device().clone();
    let width = prompts.iter().map(|p| p.len()).max().unwrap_or(0);
    if prompts.iter().any(|p| p.is_empty()) {
        return Err(Error::Invalid {
            message: "every prompt of a batch needs at least one token".to_owned(),
        });
    }
    let n = prompts.len();
    let mut streams: Vec<Option<Stream>> = rows
        .iter()
        .map(|(p, config)| Some(Stream::new(p, config)))
        .collect();
    let mut out: Vec<Option<Generation>> = vec![None; n];
    let mut finish = |i: usize, stream: Stream, stop: StopReason| -> Result<(), Error> {
        let g = stream.finish(stop, tokenizer, &mut |_| {})?;
        on_done(i, &g);
        out[i] = Some(g);
        Ok(())
    };
    // Rows with nothing to generate (max_tokens 0) finish at once.
    for (i, slot) in streams.iter_mut().enumerate() {
        if slot.as_ref().is_some_and(|s| s.stop.is_some())
            && let Some(stream) = slot.take()
        {
            finish(i, stream, StopReason::MaxTokens)?;
        }
    }
    let mut ids: Vec<u32> = Vec::with_capacity(n * width);
    let mut keep: Vec<Vec<bool>> = Vec::with_capacity(n);
    for p in &prompts {
        // Padding takes a real id (0) that the mask hides.
        ids.extend(std::iter::repeat_n(0, width - p.len()).chain(p.iter().copied()));
        keep.push((0..width).map(|i| i >= width - p.len()).collect());
    }
    let mut input = Tensor::from_vec(ids, (n, width), &device)?;
    let mut cache = Cache::new();
    while streams.iter().any(Option::is_some) && !cancelled() {
        let logits = model.forward_padded(&input, &keep, &mut cache)?;
        let steps = logits.dim(1)?;
        let last: Vec<Vec<f32>> = logits
            .narrow(1, steps - 1, 1)?
            .squeeze(1)?
            .to_dtype(DType::F32)?
            .to_vec2()?;
        let mut next_ids = vec![0u32; n];
        keep = vec![vec![false]; n];
        for (i, slot) in streams.iter_mut().enumerate() {
            let Some(stream) = slot.as_mut() else {
                continue; // a finished row rides along as masked padding
            };
            match stream.step(&last[i], tokenizer, &mut |_| {})? {
                Some(next) => {
                    next_ids[i] = next;
                    keep[i][0] = true;
                }
                None => {
                    if let Some(stream) = slot.take() {
                        finish(i, stream, StopReason::MaxTokens)?;
                    }
                }
            }
        }
        input = Tensor::from_vec(next_ids, (n, 1), &device)?;
    }
    for (i, slot) in streams.iter_mut().enumerate() {
        if let Some(stream) = slot.take() {
            finish(i, stream, StopReason::Cancelled)?;
        }
    }
    let out: Vec<Generation> = out.into_iter().flatten().collect();
    Ok(out)
}

#[cfg(test)]
mod tests;
