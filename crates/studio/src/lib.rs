//! Application services: what the desktop app and the CLI can do with a project.
//!
//! [`Project`] is an open project file. Services are plain blocking functions over it —
//! [`annotation`] (spans, document labels, undo/redo, note status, each with an audit entry),
//! [`notes`] (search, show, stats), [`schemas`] (label schemas, the built-in SDoH and outcome
//! schemas), [`transfer`] (import and export jobs with progress and cancellation),
//! [`demo`] (the synthetic corpus), [`models`] (load, tokenize, generate), [`training`] (LoRA
//! runs, adapters), [`agreement`] (inter-annotator agreement and adjudication), [`merge`] (a
//! colleague's project file merged into this one, each annotator's work kept apart) and
//! [`evaluation`] (scoring predictions: F1, AUROC, ROUGE with bootstrap intervals),
//! [`prediction`] (a trained classifier over a JSONL file or the notes: probabilities,
//! thresholds chosen on validation, labels written as suggestions). The review
//! loop: [`tasks`] (versioned prompt templates), [`runs`] (generation over notes, resumable,
//! with provenance), [`extraction`] (reading messy model JSON, evidence → suggested spans),
//! [`review`] (accept, edit, rank, reject → preference pairs and SFT examples), [`datasets`]
//! (splits, TRL JSONL export and import) and [`pairs`] (one row at a time: filter, move, delete
//! with undo). Errors convert into [`api::ApiError`] here,
//! because this is the layer that knows what a clinician can do about them.
//!
//! Invariants: no SQL and no tensors here (`store` and, later, `tune` own those); this crate is
//! the only place where `store` meets `tune`; nothing here writes note text to a log.

#![deny(missing_docs)]

pub mod agreement;
pub mod annotation;
pub mod audit;
pub mod corpus;
pub mod datasets;
pub mod demo;
pub mod evaluation;
pub mod extraction;
pub mod jobs;
pub mod keys;
pub mod merge;
pub mod models;
pub mod notes;
pub mod pairs;
pub mod prediction;
pub mod review;
pub mod runs;
pub mod schemas;
pub mod tasks;
pub mod training;
pub mod transfer;

mod error;
mod project;

pub use error::{Cause, Error};
pub use jobs::CancelToken;
pub use project::Project;

/// Log filter directives a binary adds after the user's own (`CLINITUNE_LOG`): dependencies
/// that write note text into their debug or trace logs are held at warnings. The tokenizers
/// crate traces every character it normalises, so a trace log would hold the whole note.
pub const LOG_DIRECTIVES: &[&str] = &["tokenizers=warn"];
