//! Text generation: greedy or sampled (temperature, top-k, top-p, repetition penalty, seed),
//! stopping at end-of-sequence ids, stop strings or a token budget, with a per-token callback
//! and cancellation. The same seed gives the same tokens on the same machine.

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
    let mut rng = Rng::new(config.sampling.seed);
    let mut seen: Vec<u32> = prompt.to_vec();
    let mut new: Vec<u32> = Vec::new();
    let mut emitted = 0usize; // bytes of text already passed to on_text
    let mut text = String::new();
    let mut input: Vec<u32> = prompt.to_vec();
    let mut stop = StopReason::MaxTokens;
    while new.len() < config.max_tokens {
        if cancelled() {
            stop = StopReason::Cancelled;
            break;
        }
        let last = model.last_logits(&input, &mut cache)?;
        let next = choose(&last, &seen, &config.sampling, &mut rng);
        new.push(next);
        seen.push(next);
        if config.stop_ids.contains(&next) {
            stop = StopReason::Eos;
            break;
        }
        text = tokenizer.decode(&new, true)?;
        if let Some(cut) = config
            .stop_strings
            .iter()
            .filter_map(|s| text.find(s.as_str()))
            .min()
        {
            text.truncate(cut);
            stop = StopReason::StopString;
        }
        // Hold back a trailing partial UTF-8 character until the next token completes it.
        let ready = text.trim_end_matches('\u{fffd}').len();
        if ready > emitted {
            on_text(text.get(emitted..ready).unwrap_or_default());
            emitted = ready;
        }
        if stop == StopReason::StopString {
            break;
        }
        input.clear();
        input.push(next);
    }
    if stop != StopReason::StopString {
        let ids: Vec<u32> = new
            .iter()
            .copied()
            .filter(|id| !config.stop_ids.contains(id))
            .collect();
        text = tokenizer.decode(&ids, true)?;
        if text.len() > emitted {
            on_text(text.get(emitted..).unwrap_or_default());
        }
    }
    Ok(Generation {
        token_ids: new,
        text,
        stop,
    })
}

#[cfg(test)]
mod tests;
