//! Saved adapters: describe one, load a model with adapters attached, merge them into a
//! Hugging Face folder.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use api::AdapterInfo;
use tune::lora::{Lora, LoraConfig};

use super::run::{reading, writing};
use crate::error::Error;
use crate::models::{self, DeviceChoice, LoadedModel};

/// Describes a saved adapter folder (any PEFT LoRA adapter, not only ours).
pub fn adapter_info(dir: &Path) -> Result<AdapterInfo, Error> {
    let config_path = dir.join(tune::lora::CONFIG_FILE);
    let text = std::fs::read_to_string(&config_path).map_err(|source| Error::Io {
        action: "read",
        path: config_path.clone(),
        source,
    })?;
    let config: LoraConfig = serde_json::from_str(&text).map_err(|e| Error::Adapter {
        path: config_path.clone(),
        message: e.to_string(),
    })?;
    let weights = dir.join(tune::lora::WEIGHTS_FILE);
    let tensors = tune::lora::tensor_shapes(&weights).map_err(reading)?;
    let parameters = tensors
        .iter()
        .map(|(_, s)| s.iter().product::<usize>())
        .sum();
    let labels = tensors
        .iter()
        .find(|(k, _)| k.ends_with("score.weight"))
        .map(|(_, s)| s[0]);
    let global_step = std::fs::read_to_string(dir.join("trainer_state.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v["global_step"].as_u64())
        .map(|s| s as usize);
    let target_modules = match config.targets() {
        Ok(t) => t.iter().map(|t| t.name().to_owned()).collect(),
        Err(_) => match &config.target_modules {
            tune::lora::TargetModules::List(l) => l.clone(),
            tune::lora::TargetModules::One(s) => vec![s.clone()],
        },
    };
    Ok(AdapterInfo {
        path: dir.display().to_string(),
        peft_type: config.peft_type,
        task_type: config.task_type,
        r: config.r,
        lora_alpha: config.lora_alpha,
        lora_dropout: config.lora_dropout,
        target_modules,
        base_model_name_or_path: config.base_model_name_or_path,
        parameters,
        tensors: tensors.len(),
        labels,
        global_step,
    })
}

/// Loads a model with adapters attached (bottom first). GGUF weights are dequantised, as the
/// adapters were trained on the float weights in Hugging Face's layout.
pub fn load_with_adapters(
    model: &Path,
    adapters: &[PathBuf],
    device: DeviceChoice,
) -> Result<LoadedModel, Error> {
    let mut m = models::load_on(model, !adapters.is_empty(), device)?;
    for dir in adapters {
        let dev = m.model.device().clone();
        let lora = Lora::load(dir, m.model.config(), &dev).map_err(reading)?;
        m.model.attach(Arc::new(lora)).map_err(Error::Train)?;
    }
    Ok(m)
}

/// Refuses to merge a classifier: its score head has no place in a causal language model, and
/// a merge that silently dropped it would write a model that no longer classifies.
pub(crate) fn refuse_classifier(dir: &Path, lora: &Lora) -> Result<(), Error> {
    match lora.score() {
        Some(score) => Err(Error::Invalid(format!(
            "{} is a classification adapter (a score head over {} labels): merged into the \
             language model its head would be lost; use it as an adapter (prediction, \
             evaluation), and merge only adapters trained to generate text",
            dir.display(),
            score.dims().first().copied().unwrap_or(0)
        ))),
        None => Ok(()),
    }
}

/// Merges `adapters` into the base weights and writes a Hugging Face folder transformers
/// loads: `config.json`, `model.safetensors`, the tokenizer and `generation_config.json`.
pub fn merge(model: &Path, adapters: &[PathBuf], out: &Path) -> Result<PathBuf, Error> {
    let mut m = models::load_on(model, true, DeviceChoice::Cpu)?;
    for dir in adapters {
        let lora = Lora::load(dir, m.model.config(), &tune::Device::Cpu).map_err(reading)?;
        refuse_classifier(dir, &lora)?;
        m.model.attach(Arc::new(lora)).map_err(Error::Train)?;
    }
    std::fs::create_dir_all(out).map_err(|source| Error::Io {
        action: "create",
        path: out.to_owned(),
        source,
    })?;
    let tensors = m.model.merged_tensors().map_err(Error::Train)?;
    tune::lora::write_safetensors(&out.join("model.safetensors"), &tensors).map_err(writing)?;
    let tok = &m.tokenizer;
    let bos = tok.bos_token().and_then(|t| tok.token_id(t));
    let eos = tok.eos_token().and_then(|t| tok.token_id(t));
    let config = m.model.config().to_hf_json(bos, eos);
    let write_json = |name: &str, v: &serde_json::Value| -> Result<(), Error> {
        let text = serde_json::to_string_pretty(v).expect("JSON serialises");
        tune::lora::write_atomic(&out.join(name), text.as_bytes()).map_err(writing)
    };
    write_json("config.json", &config)?;
    write_json(
        "generation_config.json",
        &serde_json::json!({"bos_token_id": bos, "eos_token_id": eos}),
    )?;
    if model.is_dir() {
        for name in [
            "tokenizer.json",
            "tokenizer_config.json",
            "special_tokens_map.json",
            "chat_template.jinja",
            "generation_config.json",
        ] {
            let from = model.join(name);
            if from.is_file() {
                let to = out.join(name);
                let bytes = std::fs::read(&from).map_err(|source| Error::Io {
                    action: "read",
                    path: from.clone(),
                    source,
                })?;
                tune::lora::write_atomic(&to, &bytes).map_err(writing)?;
            }
        }
    } else {
        tok.save_hf(out).map_err(writing)?;
    }
    Ok(out.to_owned())
}
