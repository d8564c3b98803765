//! The project file: one SQLite database per project (`*.clinitune`).
//!
//! [`Store`] opens or creates a project, applies versioned migrations, and hands out [`Db`] for
//! reads and [`Tx`] (one IMMEDIATE transaction) for writes. Importers ([`import`]) stream CSV,
//! JSONL, text folders and brat standoff into the store in batches, one transaction each, so a
//! killed import leaves every committed batch complete and nothing half-written. [`export`]
//! writes brat and JSONL back out. [`Store::merge_from`] brings another project file's work into this one
//! (team projects), matching notes by content hash. The review loop's rows — prompt tasks, model outputs, edits,
//! rankings, preference pairs and SFT examples — live in `tasks`, `outputs` and `datasets`.
//!
//! Invariants: every statement uses bound parameters; offsets are UTF-8 byte offsets on char
//! boundaries (the importers convert from brat's code points); note text never reaches a log.
//! This crate knows nothing of models or training (`tune`) nor of undo or jobs (`studio`).

#![deny(missing_docs)]

pub mod brat;
pub mod export;
pub mod import;
pub mod schema;

mod annotations;
mod audit;
mod datasets;
mod db;
mod error;
mod evaluations;
mod history;
mod keys;
mod merge;
mod notes;
mod outputs;
mod tasks;

pub use annotations::{NewDocLabel, NewSpan};
pub use datasets::{DatasetTable, DeletedRow, NewPair, NewSft, SplitRow};
pub use db::{Db, Store, Tx};
pub use error::Error;
pub use evaluations::NewEvaluation;
pub use history::{Change, HistoryEntry};
pub use keys::{
    MIN_PASSPHRASE_CHARS, Passphrase, check_new_passphrase, forget_passphrase, is_encrypted,
    remember_passphrase,
};
pub use notes::NewNote;
pub use outputs::{NewOutput, OutputRecord, OutputReview};
pub use tasks::NewTask;
