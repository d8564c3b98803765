//! Curating the training data one row at a time, as the Pairs page does: preference pairs and
//! SFT examples listed with filters and counts per split, opened in full, moved between splits
//! and deleted with undo. (Whole-dataset work — splitting, TRL JSONL — is in
//! [`crate::datasets`].)
//!
//! A note's rows are always in one split: moving a row moves every pair and example of its
//! note (or, without a note, of its prompt), so the validation and test splits never see a
//! note the model trained on.

use api::{
    DatasetDetail, DatasetFilter, DatasetItem, DatasetKind, DatasetListing, DatasetRow,
    PreferencePair, SftExample, Split, SplitCounts,
};
use serde_json::json;
use store::{DatasetTable, DeletedRow};

use crate::error::Error;
use crate::project::Project;

/// Characters of each text a row shows.
const START_CHARS: usize = 160;

/// The rows matching `filter`, newest first, with counts per split of every row.
pub fn list(project: &Project, filter: &DatasetFilter) -> Result<DatasetListing, Error> {
    let db = project.store.db();
    let pairs = db.pairs(None)?;
    let sft = db.sft_examples(None)?;
    let mut listing = DatasetListing::default();
    for p in &pairs {
        count(&mut listing.pairs, p.split);
    }
    for e in &sft {
        count(&mut listing.sft, e.split);
    }
    let mut annotators: Vec<String> = pairs
        .iter()
        .filter_map(|p| p.annotator.clone())
        .chain(sft.iter().filter_map(|e| e.annotator.clone()))
        .collect();
    annotators.sort();
    annotators.dedup();
    let mut tasks: Vec<String> = pairs
        .iter()
        .filter_map(|p| p.task.clone())
        .chain(sft.iter().filter_map(|e| e.task.clone()))
        .collect();
    tasks.sort();
    tasks.dedup();
    listing.annotators = annotators;
    listing.tasks = tasks;
    if filter.kind != Some(DatasetKind::Sft) {
        listing
            .rows
            .extend(pairs.iter().map(pair_row).filter(|r| matches(r, filter)));
    }
    if filter.kind != Some(DatasetKind::Pair) {
        listing
            .rows
            .extend(sft.iter().map(sft_row).filter(|r| matches(r, filter)));
    }
    listing.rows.sort_by(|a, b| {
        b.created_at
            .cmp(&a.created_at)
            .then(b.item.id.cmp(&a.item.id))
    });
    Ok(listing)
}

fn count(counts: &mut SplitCounts, split: Split) {
    match split {
        Split::Train => counts.train += 1,
        Split::Validation => counts.validation += 1,
        Split::Test => counts.test += 1,
        Split::Unassigned => counts.unassigned += 1,
    }
}

fn matches(row: &DatasetRow, filter: &DatasetFilter) -> bool {
    filter.origin.as_ref().is_none_or(|o| *o == row.origin)
        && filter
            .annotator
            .as_ref()
            .is_none_or(|a| row.annotator.as_ref() == Some(a))
        && filter
            .task
            .as_ref()
            .is_none_or(|t| row.task.as_ref() == Some(t))
        && filter.split.is_none_or(|s| s == row.split)
}

/// The first [`START_CHARS`] characters of a text, on one line.
fn start_of(text: &str) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.char_indices().nth(START_CHARS) {
        Some((cut, _)) => format!("{}…", flat.get(..cut).unwrap_or_default()),
        None => flat,
    }
}

fn pair_row(p: &PreferencePair) -> DatasetRow {
    DatasetRow {
        item: DatasetItem {
            kind: DatasetKind::Pair,
            id: p.id.0,
        },
        note_id: p.note_id,
        task: p.task.clone(),
        origin: p.origin.as_str().to_owned(),
        annotator: p.annotator.clone(),
        split: p.split,
        chosen_start: start_of(&p.chosen),
        rejected_start: Some(start_of(&p.rejected)),
        created_at: p.created_at.clone(),
    }
}

fn sft_row(e: &SftExample) -> DatasetRow {
    DatasetRow {
        item: DatasetItem {
            kind: DatasetKind::Sft,
            id: e.id.0,
        },
        note_id: e.note_id,
        task: e.task.clone(),
        origin: e.origin.as_str().to_owned(),
        annotator: e.annotator.clone(),
        split: e.split,
        chosen_start: start_of(&e.completion),
        rejected_start: None,
        created_at: e.created_at.clone(),
    }
}

/// One row with its full prompt and texts.
pub fn show(project: &Project, item: DatasetItem) -> Result<DatasetDetail, Error> {
    let db = project.store.db();
    let found = match item.kind {
        DatasetKind::Pair => db
            .pairs(None)?
            .into_iter()
            .find(|p| p.id.0 == item.id)
            .map(DatasetDetail::Pair),
        DatasetKind::Sft => db
            .sft_examples(None)?
            .into_iter()
            .find(|e| e.id.0 == item.id)
            .map(DatasetDetail::Sft),
    };
    found.ok_or_else(|| not_found(item))
}

fn not_found(item: DatasetItem) -> Error {
    Error::Store(store::Error::NotFound {
        what: noun(item.kind),
        id: item.id.to_string(),
    })
}

fn noun(kind: DatasetKind) -> &'static str {
    match kind {
        DatasetKind::Pair => "preference pair",
        DatasetKind::Sft => "SFT example",
    }
}

fn table(kind: DatasetKind) -> DatasetTable {
    match kind {
        DatasetKind::Pair => DatasetTable::Pairs,
        DatasetKind::Sft => DatasetTable::Sft,
    }
}

/// Moves a row, with every pair and example of its note (or prompt), to `split`; returns how
/// many rows moved.
pub fn move_to_split(
    project: &mut Project,
    item: DatasetItem,
    split: Split,
    annotator: &str,
) -> Result<u64, Error> {
    project.store.write(|tx| {
        let rows = tx.split_rows()?;
        let key_of = |r: &store::SplitRow| crate::datasets::group_key(r.note, &r.prompt);
        let target = rows
            .iter()
            .find(|r| r.table == table(item.kind) && r.id == item.id)
            .map(key_of)
            .ok_or_else(|| not_found(item))?;
        let mut moved = 0u64;
        for r in rows.iter().filter(|r| key_of(r) == target) {
            tx.set_split(r.table, r.id, split)?;
            moved += 1;
        }
        tx.audit(
            annotator,
            "move_split",
            entity(item.kind),
            Some(item.id),
            None,
            &json!({ "split": split.as_str(), "moved": moved }),
        )?;
        Ok(moved)
    })
}

fn entity(kind: DatasetKind) -> &'static str {
    match kind {
        DatasetKind::Pair => "preference_pair",
        DatasetKind::Sft => "sft_example",
    }
}

/// A deleted row, kept so that [`restore`] can undo the deletion.
#[derive(Debug, Clone, PartialEq)]
pub struct Deleted {
    /// Which row it was.
    pub item: DatasetItem,
    row: DeletedRow,
}

/// Deletes a pair or SFT example (audited); the returned [`Deleted`] undoes it.
pub fn delete(project: &mut Project, item: DatasetItem, annotator: &str) -> Result<Deleted, Error> {
    project.store.write(|tx| {
        let row = tx
            .delete_dataset_row(table(item.kind), item.id)?
            .ok_or_else(|| not_found(item))?;
        tx.audit(
            annotator,
            "delete",
            entity(item.kind),
            Some(item.id),
            None,
            &json!({}),
        )?;
        Ok(Deleted { item, row })
    })
}

/// Puts a deleted row back as it was (same id, split and links).
pub fn restore(project: &mut Project, deleted: &Deleted, annotator: &str) -> Result<(), Error> {
    project.store.write(|tx| {
        tx.restore_dataset_row(&deleted.row)?;
        tx.audit(
            annotator,
            "restore",
            entity(deleted.item.kind),
            Some(deleted.item.id),
            None,
            &json!({}),
        )?;
        Ok(())
    })
}

#[cfg(test)]
mod tests;
