//! Mutation fuzzing of every reader of outside input — the importers, the label-schema and TRL
//! readers, GGUF and safetensors files, adapter configs, chat templates and model answers — on
//! the stable toolchain (cargo-fuzz needs a nightly compiler; this is its stable equivalent:
//! no coverage feedback, in-process runs with panic catching, a watchdog and minimisation).
//!
//! [`targets`] calls the real entry points, [`mutate`] makes the inputs from the seeds in
//! `fuzz/seeds/`, [`driver`] runs them and keeps each crash, minimised, under
//! `fuzz/regressions/TARGET/`, which `tests/regressions.rs` replays on every `cargo test`.
//! `cargo xtask reliability fuzz` runs the `clinitune-fuzz` binary once per target.
//!
//! Invariant: only public entry points of `store`, `studio` and `tune`; no SQL.

#![deny(missing_docs)]

pub mod driver;
pub mod mutate;
pub mod seeds;
pub mod targets;
