//! Training jobs: a [`TrainRequest`](api::TrainRequest) resolved into settings
//! ([`plan::resolve`]), the run's examples built in memory ([`data`]), the run itself with
//! progress, cancellation and resumable checkpoints ([`train`]), saved adapters described
//! and merged ([`adapters`]), models and adapters exported for llama.cpp and Ollama
//! ([`export`]), or the plan handed to TRL + Accelerate as a job folder ([`job`]).
//! `demo` makes training sets from the demo corpus.

mod adapters;
mod data;
mod demo;
mod export;
pub mod history;
pub mod job;
mod ollama;
pub mod plan;
mod run;

pub use adapters::{adapter_info, load_with_adapters, merge};
pub use data::PROJECT_RECORD;
pub(crate) use data::gold_labels;
pub use demo::{DemoData, demo_data, write_demo_data, write_jsonl};
pub use export::{
    GgufQuant, OLLAMA_ADAPTER, OLLAMA_BASE, OLLAMA_MODELFILE, OllamaFiles, export_gguf,
    export_lora_gguf, export_ollama,
};
pub use run::{PLAN_FILE, RUNNING_FILE, train};
pub(crate) use run::{reading, writing};

// What the engine tests beside this module use from `tune` and `models`.
#[cfg(test)]
use crate::models::{self, LoadedModel};
#[cfg(test)]
use tune::llama::Target;
#[cfg(test)]
use tune::lora::{Lora, LoraConfig};
#[cfg(test)]
use tune::train::data::Dataset;
#[cfg(test)]
use tune::train::{Objective, Scheduler, TrainConfig, Trainer};

#[cfg(test)]
mod tests;
