//! The Pairs page's view of the training data: preference pairs and SFT examples listed as
//! short rows (the full texts load when one is opened), filtered, and counted per split.

use serde::{Deserialize, Serialize};

use crate::notes::NoteId;
use crate::review::{PreferencePair, SftExample, Split};

/// Which table a row of the Pairs page is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DatasetKind {
    /// A preference pair (prompt, chosen, rejected).
    Pair,
    /// A supervised example (prompt, completion).
    Sft,
}

/// A pair or an SFT example, by table and id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DatasetItem {
    /// Its table.
    pub kind: DatasetKind,
    /// Its id in that table.
    pub id: i64,
}

/// Which rows the Pairs page lists (each filter off when `None`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasetFilter {
    /// Only pairs or only SFT examples.
    pub kind: Option<DatasetKind>,
    /// Origin name: edit, ranking, accept, annotation, synthetic, import.
    pub origin: Option<String>,
    /// Only this annotator's.
    pub annotator: Option<String>,
    /// Only this task's (any version).
    pub task: Option<String>,
    /// Only this split.
    pub split: Option<Split>,
}

/// One row of the Pairs page: what it is and the start of its texts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasetRow {
    /// Table and id.
    pub item: DatasetItem,
    /// The note it is about.
    pub note_id: Option<NoteId>,
    /// Task name.
    pub task: Option<String>,
    /// Origin name.
    pub origin: String,
    /// Who made it.
    pub annotator: Option<String>,
    /// Its split.
    pub split: Split,
    /// The first words of the chosen text (or the completion).
    pub chosen_start: String,
    /// The first words of the rejected text (pairs only).
    pub rejected_start: Option<String>,
    /// When it was made (UTC).
    pub created_at: String,
}

/// Rows per split: train, validation, test, unassigned.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SplitCounts {
    /// In train.
    pub train: u64,
    /// In validation.
    pub validation: u64,
    /// In test.
    pub test: u64,
    /// Not assigned yet.
    pub unassigned: u64,
}

/// The Pairs page's list: the matching rows, and counts per split of the whole project.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasetListing {
    /// Matching rows, newest first.
    pub rows: Vec<DatasetRow>,
    /// Preference pairs per split (all pairs, not only the matching ones).
    pub pairs: SplitCounts,
    /// SFT examples per split.
    pub sft: SplitCounts,
    /// Everyone who made a row, for the annotator filter.
    pub annotators: Vec<String>,
    /// Every task with rows, for the task filter.
    pub tasks: Vec<String>,
}

/// One opened row with its full texts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DatasetDetail {
    /// A preference pair.
    Pair(PreferencePair),
    /// An SFT example.
    Sft(SftExample),
}
