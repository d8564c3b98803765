use api::{DatasetFilter, DatasetItem, DatasetKind, NoteId, OutputId, Split};

use super::*;
use crate::review::tests::project_with_notes;
use crate::{datasets, review, tasks};

fn output(project: &mut Project, note: i64, text: &str) -> OutputId {
    let task = tasks::get(project, "social-history-summary").unwrap().0;
    review::record_output(
        project,
        NoteId(note),
        task.id,
        &format!("Summarise note {note}"),
        text,
        "test-model",
    )
    .unwrap()
}

/// Two notes: note 1 edited by dr-lee (a pair and an SFT example), note 2 accepted by dr-kim
/// (an SFT example only).
fn reviewed_project() -> (tempfile::TempDir, Project) {
    let (dir, mut p) = project_with_notes(2);
    let a = output(&mut p, 1, "Lives alone. Has a car.");
    review::edit(&mut p, a, "Lives alone. Has no car.", "dr-lee").unwrap();
    let b = output(&mut p, 2, "Smokes daily.");
    review::accept(&mut p, b, "dr-kim").unwrap();
    (dir, p)
}

fn item(kind: DatasetKind, id: i64) -> DatasetItem {
    DatasetItem { kind, id }
}

#[test]
fn listing_filters_by_origin_annotator_and_kind_and_counts_every_row_per_split() {
    let (_dir, p) = reviewed_project();
    let all = list(&p, &DatasetFilter::default()).unwrap();
    assert_eq!(all.rows.len(), 3);
    let total = |c: api::SplitCounts| c.train + c.validation + c.test + c.unassigned;
    assert_eq!((total(all.pairs), total(all.sft)), (1, 2));
    assert_eq!(all.annotators, vec!["dr-kim", "dr-lee"]);
    assert_eq!(all.tasks, vec!["social-history-summary"]);

    let accepted = list(
        &p,
        &DatasetFilter {
            origin: Some("accept".into()),
            ..DatasetFilter::default()
        },
    )
    .unwrap();
    assert_eq!(accepted.rows.len(), 1);
    assert_eq!(accepted.rows[0].chosen_start, "Smokes daily.");
    assert_eq!(accepted.rows[0].rejected_start, None);
    // Counts stay those of the whole project.
    assert_eq!(total(accepted.sft), 2);

    let lee_pairs = list(
        &p,
        &DatasetFilter {
            kind: Some(DatasetKind::Pair),
            annotator: Some("dr-lee".into()),
            ..DatasetFilter::default()
        },
    )
    .unwrap();
    assert_eq!(lee_pairs.rows.len(), 1);
    assert_eq!(lee_pairs.rows[0].chosen_start, "Lives alone. Has no car.");
    assert_eq!(
        lee_pairs.rows[0].rejected_start.as_deref(),
        Some("Lives alone. Has a car.")
    );
    let nobody = list(
        &p,
        &DatasetFilter {
            annotator: Some("dr-who".into()),
            ..DatasetFilter::default()
        },
    )
    .unwrap();
    assert!(nobody.rows.is_empty());
}

#[test]
fn moving_a_pair_moves_every_row_of_its_note_and_only_those() {
    let (_dir, mut p) = reviewed_project();
    let split_of_note = |p: &Project, note: i64| -> Vec<Split> {
        let pairs = datasets::pairs(p, None).unwrap();
        let sft = datasets::sft_examples(p, None).unwrap();
        pairs
            .iter()
            .filter(|r| r.note_id == Some(NoteId(note)))
            .map(|r| r.split)
            .chain(
                sft.iter()
                    .filter(|r| r.note_id == Some(NoteId(note)))
                    .map(|r| r.split),
            )
            .collect()
    };
    let other_before = split_of_note(&p, 2);
    assert_eq!(other_before.len(), 1);
    // A split note 2 is not in, so that moving note 1 there would show if it dragged note 2.
    let target = [Split::Train, Split::Validation, Split::Test]
        .into_iter()
        .find(|s| *s != other_before[0])
        .unwrap();
    let pair = datasets::pairs(&p, None).unwrap()[0].clone();
    let moved =
        move_to_split(&mut p, item(DatasetKind::Pair, pair.id.0), target, "dr-lee").unwrap();
    // Note 1 has one pair and one SFT example.
    assert_eq!(moved, 2);
    assert_eq!(split_of_note(&p, 1), vec![target, target]);
    assert_eq!(split_of_note(&p, 2), other_before);
}

#[test]
fn a_deleted_pair_comes_back_with_the_same_id_and_texts_on_restore() {
    let (_dir, mut p) = reviewed_project();
    let before = datasets::pairs(&p, None).unwrap();
    let id = before[0].id.0;
    let deleted = delete(&mut p, item(DatasetKind::Pair, id), "dr-lee").unwrap();
    assert!(datasets::pairs(&p, None).unwrap().is_empty());
    assert!(show(&p, item(DatasetKind::Pair, id)).is_err());
    restore(&mut p, &deleted, "dr-lee").unwrap();
    assert_eq!(datasets::pairs(&p, None).unwrap(), before);
    // A second restore of the same row clashes instead of duplicating it.
    assert!(restore(&mut p, &deleted, "dr-lee").is_err());
    assert_eq!(datasets::pairs(&p, None).unwrap().len(), 1);
}

#[test]
fn deleting_a_missing_row_says_which_one() {
    let (_dir, mut p) = reviewed_project();
    let err = delete(&mut p, item(DatasetKind::Sft, 999), "dr-lee").unwrap_err();
    assert!(err.to_string().contains("999"), "{err}");
}
