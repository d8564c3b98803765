//! Team projects: what merging another project file into this one added, and what it could not.

use serde::{Deserialize, Serialize};

use crate::notes::NoteId;

/// The outcome of `clinitune merge OTHER`: counts of rows added (rows already here are never
/// overwritten, so a second merge adds nothing), and what could not be brought in.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergeSummary {
    /// The other project file.
    pub other: String,
    /// The other project's notes found here (same content hash: source id and text).
    pub notes_matched: u64,
    /// The other project's notes with no counterpart here; their work is not merged.
    pub notes_not_matched: u64,
    /// Those notes, by their ids (never their text).
    pub unmatched_notes: Vec<UnmatchedNote>,
    /// Annotators new to this project (each keeps their name, so their work stays theirs).
    pub annotators_added: u64,
    /// Labels new to this project, added with their schema.
    pub labels_added: Vec<String>,
    /// Labels defined differently in the two projects; their annotations are not merged.
    pub label_conflicts: Vec<LabelConflict>,
    /// Prompt task versions new to this project.
    pub tasks_added: u64,
    /// Task versions (`name v2`) whose template differs here; their outputs are not merged.
    pub task_conflicts: Vec<String>,
    /// Span and document annotations added (the sum of the next two).
    pub annotations_added: u64,
    /// Span annotations added.
    pub spans_added: u64,
    /// Document labels added.
    pub doc_labels_added: u64,
    /// Annotations not merged because their label conflicts or does not allow that use.
    pub annotations_skipped: u64,
    /// Notes whose status here moved forward to the other project's (todo, in progress, done;
    /// a todo note also takes `skipped`).
    pub statuses_updated: u64,
    /// Notes skipped in one project and started in the other; this project's status is kept.
    pub status_conflicts: u64,
    /// Model outputs added.
    pub outputs_added: u64,
    /// Outputs not merged because a different output here holds their run, note and sample.
    pub output_conflicts: u64,
    /// Reviews added: edits, A/B rankings, accepts and rejects.
    pub reviews_added: u64,
    /// Preference pairs added.
    pub pairs_added: u64,
    /// SFT examples added.
    pub sft_added: u64,
}

/// A note of the other project that this project does not have.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnmatchedNote {
    /// Its id in the other project.
    pub note: NoteId,
    /// Its id in the source it was imported from, if it has one.
    pub external_id: Option<String>,
}

/// A label both projects define, in ways that do not fit together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelConflict {
    /// The label's name.
    pub label: String,
    /// What differs, e.g. "scope is span here and doc in the other project".
    pub reason: String,
}
