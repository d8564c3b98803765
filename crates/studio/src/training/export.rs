//! Exports for the runtimes users already have: a model, with adapters merged or as it is, as
//! one GGUF file llama.cpp and LM Studio load; an adapter alone as llama.cpp's LoRA GGUF
//! (`--lora` on the base model's GGUF); and a folder Ollama imports (`ollama create -f
//! Modelfile`): the base GGUF, the adapter GGUF and a Modelfile beside them.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tune::config::Config;
use tune::gguf::Gguf;
pub use tune::gguf::write::Quant as GgufQuant;
use tune::gguf::write::{ModelFile, write_lora, write_model};
use tune::lora::Lora;
use tune::tokenizer::Tokenizer;

use super::ollama;
use super::run::{reading, writing};
use crate::error::Error;
use crate::models::{self, DeviceChoice};

/// The files an Ollama export wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OllamaFiles {
    /// The base model's GGUF (`FROM`).
    pub base: PathBuf,
    /// The adapter's LoRA GGUF (`ADAPTER`).
    pub adapter: PathBuf,
    /// The Modelfile naming both, with the chat template and stop tokens.
    pub modelfile: PathBuf,
}

/// File names inside an Ollama export folder; the Modelfile names them relative to itself.
pub const OLLAMA_BASE: &str = "model.gguf";
/// See [`OLLAMA_BASE`].
pub const OLLAMA_ADAPTER: &str = "adapter.gguf";
/// See [`OLLAMA_BASE`].
pub const OLLAMA_MODELFILE: &str = "Modelfile";

/// Writes `model` (a Hugging Face folder or a GGUF file) with `adapters` merged into its
/// weights (bottom first; none: the model as it is) as one GGUF file at `out`, its matrices
/// stored as `quant`. A GGUF source is dequantised first, so re-quantising it adds the new
/// format's rounding to the old one's.
pub fn export_gguf(
    model: &Path,
    adapters: &[PathBuf],
    out: &Path,
    quant: GgufQuant,
) -> Result<PathBuf, Error> {
    check_gguf_name(out)?;
    let mut m = models::load_on(model, true, DeviceChoice::Cpu)?;
    for dir in adapters {
        let lora = Lora::load(dir, m.model.config(), &tune::Device::Cpu).map_err(reading)?;
        super::adapters::refuse_classifier(dir, &lora)?;
        m.model.attach(Arc::new(lora)).map_err(Error::Train)?;
    }
    let tensors = m.model.merged_tensors().map_err(Error::Train)?;
    create_parent(out)?;
    let span = tracing::info_span!(
        "export_gguf",
        quant = quant.name(),
        adapters = adapters.len()
    );
    let _guard = span.enter();
    write_model(
        out,
        &ModelFile {
            name: &display_name(model),
            config: m.model.config(),
            tokenizer: &m.tokenizer,
            tensors: &tensors,
            quant,
        },
    )
    .map_err(writing)?;
    Ok(out.to_owned())
}

/// Writes the adapter folder `adapter` as llama.cpp's LoRA GGUF at `out`. `model` is the base it
/// was trained on: its head counts decide the query/key row order llama.cpp expects.
pub fn export_lora_gguf(model: &Path, adapter: &Path, out: &Path) -> Result<PathBuf, Error> {
    check_gguf_name(out)?;
    let config = model_config(model)?;
    let lora = Lora::load(adapter, &config, &tune::Device::Cpu).map_err(reading)?;
    create_parent(out)?;
    write_lora(out, &display_name(adapter), &config, &lora).map_err(writing)?;
    Ok(out.to_owned())
}

/// Writes an Ollama folder at `out`: the base model as `model.gguf` (a GGUF file is copied
/// unchanged; a Hugging Face folder is converted at `quant`), the adapter as `adapter.gguf`, and
/// a `Modelfile` with `FROM`, `ADAPTER`, the chat template as a Go `TEMPLATE`, the default
/// system message and `PARAMETER stop` lines. The template must be ChatML-style
/// (`<|im_start|>role … <|im_end|>`, as SmolLM2's and Qwen's are).
pub fn export_ollama(
    model: &Path,
    adapter: &Path,
    out: &Path,
    quant: GgufQuant,
) -> Result<OllamaFiles, Error> {
    // The template is checked first: an unsupported one fails before anything is written.
    let tokenizer = model_tokenizer(model)?;
    let modelfile = ollama::modelfile(&tokenizer, OLLAMA_BASE, OLLAMA_ADAPTER)?;
    std::fs::create_dir_all(out).map_err(|source| Error::Io {
        action: "create",
        path: out.to_owned(),
        source,
    })?;
    let files = OllamaFiles {
        base: out.join(OLLAMA_BASE),
        adapter: out.join(OLLAMA_ADAPTER),
        modelfile: out.join(OLLAMA_MODELFILE),
    };
    if is_gguf(model) {
        copy_atomic(model, &files.base)?;
    } else {
        export_gguf(model, &[], &files.base, quant)?;
    }
    export_lora_gguf(model, adapter, &files.adapter)?;
    tune::lora::write_atomic(&files.modelfile, modelfile.as_bytes()).map_err(writing)?;
    Ok(files)
}

fn is_gguf(path: &Path) -> bool {
    path.is_file()
        && path
            .extension()
            .is_some_and(|x| x.eq_ignore_ascii_case("gguf"))
}

/// The architecture of a model folder or GGUF file, without loading its weights.
fn model_config(model: &Path) -> Result<Config, Error> {
    if model.is_dir() {
        return Ok(Config::from_file(&model.join("config.json"))?);
    }
    if is_gguf(model) {
        return Ok(Gguf::open(model)?.config()?);
    }
    Err(not_a_model(model))
}

/// The tokenizer of a model folder or GGUF file, without loading its weights.
fn model_tokenizer(model: &Path) -> Result<Tokenizer, Error> {
    if model.is_dir() {
        return Ok(Tokenizer::from_hf_folder(model)?);
    }
    if is_gguf(model) {
        return Ok(Gguf::open(model)?.tokenizer()?);
    }
    Err(not_a_model(model))
}

fn not_a_model(model: &Path) -> Error {
    if !model.exists() {
        return Error::Model(tune::Error::Io {
            path: model.to_owned(),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        });
    }
    Error::Invalid(format!(
        "{} is neither a model folder nor a .gguf file",
        model.display()
    ))
}

/// Refuses an output that is a folder or does not end in `.gguf` (llama.cpp's tools and
/// Ollama look for the extension), before any work is done.
fn check_gguf_name(out: &Path) -> Result<(), Error> {
    if out.is_dir() {
        return Err(Error::Invalid(format!(
            "{} is a folder; give the path of the .gguf file to write",
            out.display()
        )));
    }
    if !out
        .extension()
        .is_some_and(|x| x.eq_ignore_ascii_case("gguf"))
    {
        return Err(Error::Invalid(format!(
            "{} does not end in .gguf; name the output FILE.gguf",
            out.display()
        )));
    }
    Ok(())
}

fn create_parent(out: &Path) -> Result<(), Error> {
    match out.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => {
            std::fs::create_dir_all(dir).map_err(|source| Error::Io {
                action: "create",
                path: dir.to_owned(),
                source,
            })
        }
        _ => Ok(()),
    }
}

/// `general.name`: the model folder's or file's name.
fn display_name(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "model".to_owned())
}

/// Copies `from` to `to` through a temporary file renamed into place.
fn copy_atomic(from: &Path, to: &Path) -> Result<(), Error> {
    let mut tmp = to.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let copied = std::fs::copy(from, &tmp)
        .and_then(|_| std::fs::File::open(&tmp)?.sync_all())
        .and_then(|()| std::fs::rename(&tmp, to));
    copied.map_err(|source| {
        let _ = std::fs::remove_file(&tmp);
        Error::Io {
            action: "write",
            path: to.to_owned(),
            source,
        }
    })
}
