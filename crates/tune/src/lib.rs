//! Models and training for Clinitune: Llama-family decoders in candle.
//!
//! [`gguf::Gguf`] reads a llama.cpp GGUF file (config, dequantised weights, tokenizer).
//! [`config::Config`] reads a Hugging Face `config.json` (Llama 2/3 incl. Llama 3 rope scaling,
//! SmolLM2, Mistral-style grouped-query attention, tied or untied embeddings).
//! [`llama::Llama`] is one forward pass built only from candle operations that have a backward
//! pass, so the training engine can differentiate through it; with a [`llama::Cache`] it serves
//! generation one token at a time. [`tokenizer::Tokenizer`] turns text into ids and renders
//! conversations with the model's chat template. [`eval`] computes evaluation figures
//! (F1, AUROC, ROUGE, confidence intervals) from predictions already made.
//!
//! Invariant: knows nothing of projects or SQLite (`store`); `studio` is where the two meet.

#![deny(missing_docs)]

pub mod config;
pub mod device;
pub mod eval;
pub mod generate;
pub mod gguf;
pub mod llama;
pub mod lora;
pub mod rng;
pub mod tokenizer;
pub mod train;

mod decoder;
mod error;
mod quant;
#[cfg(test)]
mod testing;

pub use candle_core::{DType, Device, Tensor};
pub use error::Error;
