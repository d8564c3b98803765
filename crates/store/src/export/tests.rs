use std::collections::BTreeSet;
use std::path::Path;

use super::*;
use crate::db::Store;
use crate::import::{Control, Format, ImportOptions, import};
use crate::notes::NewNote;

fn store_with(dir: &Path, name: &str, ids: &[&str]) -> Store {
    let mut store = Store::create(&dir.join(name)).unwrap();
    store
        .write(|tx| {
            for (i, id) in ids.iter().enumerate() {
                tx.insert_note(&NewNote {
                    external_id: Some((*id).to_owned()),
                    text: format!("Note number {i} of the export test."),
                    ..NewNote::default()
                })?;
            }
            Ok::<_, Error>(())
        })
        .unwrap();
    store
}

fn brat() -> ExportOptions {
    ExportOptions {
        format: ExportFormat::Brat,
        annotator: None,
        annotations: true,
    }
}

/// (external id, text) of every note.
fn notes_of(store: &Store) -> BTreeSet<(String, String)> {
    let db = store.db();
    db.note_ids()
        .unwrap()
        .into_iter()
        .map(|id| {
            let n = db.note(id).unwrap();
            (n.external_id.unwrap_or_default(), n.text)
        })
        .collect()
}

fn import_brat(dir: &Path, folder: &Path) -> Store {
    let mut store = Store::create(&dir.join("again.clinitune")).unwrap();
    let never = || false;
    import(
        &mut store,
        folder,
        &ImportOptions::new(Format::Brat),
        Control {
            progress: &mut |_| {},
            cancelled: &never,
        },
    )
    .unwrap();
    store
}

fn files_in(folder: &Path, ext: &str) -> usize {
    let mut n = 0;
    let mut stack = vec![folder.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == ext) {
                n += 1;
            }
        }
    }
    n
}

// Issue 17, item 1: ids that differ only after a dot overwrote each other's files.
#[test]
fn brat_export_keeps_ids_that_differ_after_a_dot_apart_and_imports_back_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let ids = [
        "pt1.2024-01-05",
        "pt1.2024-02-07",
        "visit.1",
        "visit.2",
        "x",
        "x.txt",
    ];
    let store = store_with(dir.path(), "p.clinitune", &ids);
    let out = dir.path().join("out");
    let summary = export(store.db(), &out, &brat(), &mut |_| {}).unwrap();
    assert_eq!(summary.notes, 6);
    assert!(
        summary.not_exported.is_empty(),
        "{:?}",
        summary.not_exported
    );
    assert_eq!(files_in(&out, "txt") + files_in(&out, "ann"), 12);
    assert!(out.join("pt1.2024-01-05.txt").is_file());
    assert!(out.join("x.txt.ann").is_file());

    let again = import_brat(dir.path(), &out);
    assert_eq!(notes_of(&again), notes_of(&store));
}

// Issue 17, item 1: an id longer than a file name may be aborted the export half-way.
#[test]
fn brat_export_shortens_over_long_ids_without_merging_them() {
    let dir = tempfile::tempdir().unwrap();
    let long_a = "a".repeat(300);
    let long_b = format!("{}b", "a".repeat(300));
    let store = store_with(dir.path(), "p.clinitune", &[&long_a, &long_b, "short"]);
    let out = dir.path().join("out");
    let summary = export(store.db(), &out, &brat(), &mut |_| {}).unwrap();
    assert_eq!(summary.notes, 3);
    assert!(
        summary.not_exported.is_empty(),
        "{:?}",
        summary.not_exported
    );
    assert_eq!(files_in(&out, "txt"), 3);
    let texts: BTreeSet<String> = notes_of(&import_brat(dir.path(), &out))
        .into_iter()
        .map(|(_, text)| text)
        .collect();
    let expected: BTreeSet<String> = notes_of(&store).into_iter().map(|(_, t)| t).collect();
    assert_eq!(texts, expected);
}

// Issue 17, item 1: names that a case-insensitive file system, or a folder, would merge.
#[test]
fn brat_export_never_gives_two_notes_one_file_even_by_case_or_folder() {
    let dir = tempfile::tempdir().unwrap();
    let ids = [
        "Case",
        "case",
        "dir",
        "dir.txt/inner",
        "a b",
        "a_b",
        "../up",
    ];
    let store = store_with(dir.path(), "p.clinitune", &ids);
    let out = dir.path().join("out");
    let summary = export(store.db(), &out, &brat(), &mut |_| {}).unwrap();
    assert_eq!(summary.notes, 7);
    assert_eq!(files_in(&out, "txt"), 7);
    // Ids safe as names come back as they were; nothing is written outside the folder.
    let back: BTreeSet<String> = notes_of(&import_brat(dir.path(), &out))
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    for id in ["Case", "dir", "a_b"] {
        assert!(back.contains(id), "{id} missing from {back:?}");
    }
    assert!(!dir.path().join("up.txt").exists());
}

// Issue 17, item 1: the summary said every note was exported when files were lost.
#[test]
fn brat_export_reports_a_note_it_cannot_write_and_writes_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with(dir.path(), "p.clinitune", &["blocked", "fine"]);
    let out = dir.path().join("out");
    // A folder where `blocked.txt` should go makes that one write fail.
    std::fs::create_dir_all(out.join("blocked.txt")).unwrap();
    let summary = export(store.db(), &out, &brat(), &mut |_| {}).unwrap();
    assert_eq!(summary.notes, 1);
    assert_eq!(summary.not_exported.len(), 1);
    assert_eq!(
        summary.not_exported[0].external_id.as_deref(),
        Some("blocked")
    );
    assert!(out.join("fine.txt").is_file());
    assert!(!out.join("blocked.ann").exists(), "no half-written note");
}
