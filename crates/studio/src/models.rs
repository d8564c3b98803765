//! Local models: load one (a Hugging Face folder or a GGUF file), describe it, tokenize, probe
//! its logits and generate text. Nothing here touches the network.

use std::path::{Path, PathBuf};

use api::{GenerateRequest, GenerateResult, ModelInfo};
pub use tune::device::DeviceChoice;
use tune::generate::{GenerateConfig, Sampling, StopReason};
use tune::llama::{Cache, Llama};
use tune::tokenizer::{ChatMessage, Tokenizer};

use crate::error::Error;
use crate::jobs::CancelToken;

/// A model ready to run: weights, tokenizer and where they came from.
pub struct LoadedModel {
    pub(crate) model: Llama,
    pub(crate) tokenizer: Tokenizer,
    path: PathBuf,
    format: &'static str,
}

/// Loads a model from a Hugging Face folder (`config.json`, `*.safetensors`, `tokenizer.json`)
/// or a `.gguf` file, on the CPU. GGUF projections stay quantised (fast inference) unless
/// `dequantize` asks for float32 everywhere (exact reference numbers, training).
pub fn load(path: &Path, dequantize: bool) -> Result<LoadedModel, Error> {
    load_on(path, dequantize, DeviceChoice::Cpu)
}

/// [`load`] on the device the user chose (`--device`). On a GPU, GGUF weights are
/// dequantised: the fused quantised kernels are CPU code.
pub fn load_on(path: &Path, dequantize: bool, device: DeviceChoice) -> Result<LoadedModel, Error> {
    let device = tune::device::select(device)?;
    let dequantize = dequantize || !device.is_cpu();
    if !path.exists() {
        return Err(Error::Model(tune::Error::Io {
            path: path.to_owned(),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        }));
    }
    let span = tracing::info_span!("load_model", path = %path.display());
    let _guard = span.enter();
    if path.is_dir() {
        let model = Llama::from_hf_folder(path, tune_dtype(), &device)?;
        let tokenizer = Tokenizer::from_hf_folder(path)?;
        return Ok(LoadedModel {
            model,
            tokenizer,
            path: path.to_owned(),
            format: "hf",
        });
    }
    if path
        .extension()
        .is_some_and(|x| x.eq_ignore_ascii_case("gguf"))
    {
        let gguf = tune::gguf::Gguf::open(path)?;
        let model = if dequantize {
            gguf.model(tune_dtype(), &device)?
        } else {
            gguf.model_quantized(&device)?
        };
        let tokenizer = gguf.tokenizer()?;
        return Ok(LoadedModel {
            model,
            tokenizer,
            path: path.to_owned(),
            format: "gguf",
        });
    }
    Err(Error::Invalid(format!(
        "{} is neither a model folder nor a .gguf file",
        path.display()
    )))
}

fn tune_dtype() -> tune::DType {
    tune::DType::F32
}

/// What the model is.
pub fn info(m: &LoadedModel) -> ModelInfo {
    let c = m.model.config();
    ModelInfo {
        path: m.path.display().to_string(),
        format: m.format.to_owned(),
        vocab_size: c.vocab_size,
        hidden_size: c.hidden_size,
        layers: c.num_layers,
        heads: c.num_heads,
        kv_heads: c.num_kv_heads,
        head_dim: c.head_dim,
        tied_embeddings: c.tie_word_embeddings,
        parameters: m.model.parameter_count(),
        eos_token: m.tokenizer.eos_token().map(str::to_owned),
        chat_template: m.tokenizer.has_chat_template(),
        device: device_name(m.model.device()).to_owned(),
    }
}

fn device_name(device: &tune::Device) -> &'static str {
    match device {
        tune::Device::Cpu => "cpu",
        tune::Device::Cuda(_) => "cuda",
        tune::Device::Metal(_) => "metal",
    }
}

/// Token ids of `text` (special tokens added only when asked).
pub fn tokenize(m: &LoadedModel, text: &str, add_special_tokens: bool) -> Result<Vec<u32>, Error> {
    Ok(m.tokenizer.encode(text, add_special_tokens)?)
}

/// `prompt` as one user message rendered through the model's chat template, with the
/// generation prompt added (whatever the template adds, e.g. SmolLM2's system message).
pub fn render_chat(m: &LoadedModel, prompt: &str) -> Result<String, Error> {
    let messages = [ChatMessage {
        role: "user".to_owned(),
        content: prompt.to_owned(),
    }];
    Ok(m.tokenizer.apply_chat_template(&messages, true)?)
}

/// A conversation (system, few-shot turns, user) rendered through the model's chat template,
/// with the generation prompt added: the exact text the model is given.
pub fn render_messages(m: &LoadedModel, messages: &[api::ChatMessage]) -> Result<String, Error> {
    let messages: Vec<ChatMessage> = messages
        .iter()
        .map(|x| ChatMessage {
            role: x.role.clone(),
            content: x.content.clone(),
        })
        .collect();
    Ok(m.tokenizer.apply_chat_template(&messages, true)?)
}

/// The folder or file the model was loaded from.
pub fn source(m: &LoadedModel) -> &Path {
    &m.path
}

/// The prompt ids a request feeds the model: the raw text or its chat rendering.
fn prompt_ids(m: &LoadedModel, prompt: &str, chat: bool) -> Result<Vec<u32>, Error> {
    let text = if chat {
        render_chat(m, prompt)?
    } else {
        prompt.to_owned()
    };
    let ids = m.tokenizer.encode(&text, false)?;
    if ids.is_empty() {
        return Err(Error::Invalid("the prompt is empty".to_owned()));
    }
    Ok(ids)
}

/// Logits of the last position for a prompt (a probe for checking a model or adapter).
pub fn last_logits(m: &LoadedModel, prompt: &str, chat: bool) -> Result<Vec<f32>, Error> {
    let ids = prompt_ids(m, prompt, chat)?;
    Ok(m.model.last_logits(&ids, &mut Cache::new())?)
}

/// Generates a continuation, calling `on_text` with each new piece of text.
pub fn generate(
    m: &LoadedModel,
    request: &GenerateRequest,
    on_text: &mut dyn FnMut(&str),
    cancel: &CancelToken,
) -> Result<GenerateResult, Error> {
    let prompt = prompt_ids(m, &request.prompt, request.chat)?;
    let config = config_of(m, request);
    let started = std::time::Instant::now();
    let out = tune::generate::generate(&m.model, &m.tokenizer, &prompt, &config, on_text, &|| {
        cancel.is_cancelled()
    })?;
    tracing::info!(
        prompt_tokens = prompt.len(),
        new_tokens = out.token_ids.len(),
        seconds = started.elapsed().as_secs_f64(),
        "generated"
    );
    Ok(result_of(prompt, out))
}

/// A request's generation settings; the model's end-of-sequence token stops it.
fn config_of(m: &LoadedModel, request: &GenerateRequest) -> GenerateConfig {
    let stop_ids: Vec<u32> = m
        .tokenizer
        .eos_token()
        .and_then(|t| m.tokenizer.token_id(t))
        .into_iter()
        .collect();
    GenerateConfig {
        max_tokens: request.max_tokens,
        sampling: Sampling {
            temperature: request.temperature,
            top_k: request.top_k,
            top_p: request.top_p,
            repetition_penalty: request.repetition_penalty,
            seed: request.seed,
        },
        stop_ids,
        stop_strings: request.stop.clone(),
    }
}

/// The API's view of a generation.
fn result_of(prompt: Vec<u32>, out: tune::generate::Generation) -> GenerateResult {
    GenerateResult {
        prompt_token_ids: prompt,
        token_ids: out.token_ids,
        text: out.text,
        stop: match out.stop {
            StopReason::Eos => "eos",
            StopReason::StopString => "stop_string",
            StopReason::MaxTokens => "max_tokens",
            StopReason::Cancelled => "cancelled",
        }
        .to_owned(),
    }
}

/// Rows decoded together by [`generate_batch`]: enough to read each weight once for several
/// sequences, few enough that padding and finished rows waste little.
const BATCH_ROWS: usize = 8;

/// Generates for many prompts, reporting progress as each finishes; stops early (returning
/// what is done) when cancelled. Results are in request order. Dense models decode up to
/// [`BATCH_ROWS`] prompts together in one padded batch; a quantised model on the CPU (whose
/// kernels favour one sequence) takes them in turn.
pub fn generate_batch(
    m: &LoadedModel,
    requests: &[GenerateRequest],
    progress: &mut dyn FnMut(api::JobProgress),
    cancel: &CancelToken,
) -> Result<Vec<GenerateResult>, Error> {
    let total = requests.len() as u64;
    let mut done = 0u64;
    let mut report = |done: u64| {
        progress(api::JobProgress {
            stage: "generating".to_owned(),
            done,
            total: Some(total),
            unit: "prompts".to_owned(),
        })
    };
    let mut results = Vec::with_capacity(requests.len());
    if m.model.is_quantized() && m.model.device().is_cpu() {
        for request in requests {
            if cancel.is_cancelled() {
                break;
            }
            results.push(generate(m, request, &mut |_| {}, cancel)?);
            done += 1;
            report(done);
        }
        return Ok(results);
    }
    for chunk in requests.chunks(BATCH_ROWS) {
        if cancel.is_cancelled() {
            break;
        }
        let rows = chunk
            .iter()
            .map(|r| Ok((prompt_ids(m, &r.prompt, r.chat)?, config_of(m, r))))
            .collect::<Result<Vec<_>, Error>>()?;
        let out = tune::generate::generate_batch(
            &m.model,
            &m.tokenizer,
            &rows,
            &mut |_, g| {
                if g.stop != StopReason::Cancelled {
                    done += 1;
                    report(done);
                }
            },
            &|| cancel.is_cancelled(),
        )?;
        for ((prompt, _), g) in rows.into_iter().zip(out) {
            if g.stop == StopReason::Cancelled {
                return Ok(results);
            }
            results.push(result_of(prompt, g));
        }
    }
    Ok(results)
}

#[cfg(test)]
mod tests;
