use api::{ImportRequest, Split, SplitRequest};

use super::*;
use crate::{CancelToken, datasets, tasks, transfer};

pub(crate) fn project_with_notes(n: usize) -> (tempfile::TempDir, Project) {
    let dir = tempfile::tempdir().unwrap();
    let mut project = Project::create(&dir.path().join("p.clinitune"), &["sdoh".into()]).unwrap();
    if n == 0 {
        return (dir, project);
    }
    let file = dir.path().join("n.jsonl");
    let lines: Vec<String> = (0..n)
        .map(|i| {
            serde_json::json!({ "id": format!("n{i}"), "text": format!("Note {i}: lives alone, no car.") })
                .to_string()
        })
        .collect();
    std::fs::write(&file, lines.join("\n")).unwrap();
    transfer::import_notes(
        &mut project,
        &file,
        &ImportRequest::default(),
        &mut |_| {},
        &CancelToken::new(),
    )
    .unwrap();
    (dir, project)
}

fn output(project: &mut Project, note: i64, text: &str) -> OutputId {
    let task = tasks::get(project, "social-history-summary").unwrap().0;
    record_output(
        project,
        NoteId(note),
        task.id,
        &format!("Summarise note {note}"),
        text,
        "test-model",
    )
    .unwrap()
}

/// The audit log's detail column as text, for checking it never holds note or output text.
fn audit_details(project: &Project) -> String {
    let conn = rusqlite::Connection::open(project.path()).unwrap();
    let mut stmt = conn
        .prepare("SELECT action, detail FROM audit_log")
        .unwrap();
    let rows: Vec<String> = stmt
        .query_map([], |r| {
            Ok(format!(
                "{} {}",
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?
            ))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    rows.join("\n")
}

#[test]
fn an_edit_makes_exactly_one_pair_and_one_sft_example_with_the_right_texts() {
    let (_dir, mut p) = project_with_notes(1);
    let original = "Lives alone. Has a car.";
    let edited = "Lives alone. Has no car; misses appointments.";
    let out = output(&mut p, 1, original);
    let outcome = edit(&mut p, out, edited, "dr-lee").unwrap();
    assert!(outcome.edit.is_some());
    let pairs = datasets::pairs(&p, None).unwrap();
    let sft = datasets::sft_examples(&p, None).unwrap();
    assert_eq!(pairs.len(), 1);
    assert_eq!(sft.len(), 1);
    let pair = &pairs[0];
    assert_eq!(Some(pair.id), outcome.pair);
    assert_eq!(pair.prompt, "Summarise note 1");
    assert_eq!(pair.chosen, edited);
    assert_eq!(pair.rejected, original);
    assert_eq!(pair.origin, api::PairOrigin::Edit);
    assert_eq!(pair.annotator.as_deref(), Some("dr-lee"));
    assert_eq!(pair.note_id, Some(NoteId(1)));
    assert_eq!(pair.task.as_deref(), Some("social-history-summary"));
    assert_ne!(pair.split, Split::Unassigned);
    assert_eq!(sft[0].completion, edited);
    assert_eq!(sft[0].prompt, pair.prompt);
    assert_eq!(sft[0].origin, api::SftOrigin::Edit);
    let diff = outcome.diff.unwrap();
    assert_eq!((diff.kept, diff.removed, diff.added), (3, 2, 4), "{diff:?}");
    // One audit entry for the edit, with ids and counts only.
    let audit = audit_details(&p);
    assert_eq!(audit.matches("edit_output").count(), 1, "{audit}");
    for text in [original, edited, "Has no car", "Summarise note"] {
        assert!(
            !audit.contains(text),
            "audit log holds text {text:?}: {audit}"
        );
    }
}

#[test]
fn accepting_unchanged_makes_an_sft_example_only_and_an_identical_edit_is_an_acceptance() {
    let (_dir, mut p) = project_with_notes(2);
    let a = output(&mut p, 1, "Lives alone.");
    let outcome = accept(&mut p, a, "dr-lee").unwrap();
    assert!(outcome.pair.is_none() && outcome.edit.is_none());
    let b = output(&mut p, 2, "No social history documented.");
    let same = edit(&mut p, b, "No social history documented.", "dr-lee").unwrap();
    assert!(same.edit.is_none() && same.pair.is_none());
    assert!(datasets::pairs(&p, None).unwrap().is_empty());
    let sft = datasets::sft_examples(&p, None).unwrap();
    assert_eq!(sft.len(), 2);
    assert!(sft.iter().all(|e| e.origin == api::SftOrigin::Accept));
    // Accepting again adds nothing: examples are de-duplicated.
    assert_eq!(accept(&mut p, a, "dr-kim").unwrap().sft, None);
    assert_eq!(datasets::sft_examples(&p, None).unwrap().len(), 2);
    let err = edit(&mut p, a, "  \n", "dr-lee").unwrap_err().to_string();
    assert!(err.contains("empty"), "{err}");
}

#[test]
fn ranking_makes_a_pair_and_refuses_outputs_of_different_notes_or_prompts() {
    let (_dir, mut p) = project_with_notes(2);
    let a = output(&mut p, 1, "Lives alone without a car.");
    let b = output(&mut p, 1, "Patient is fine.");
    let outcome = rank(&mut p, a, b, "dr-lee").unwrap();
    assert!(outcome.ranking.is_some());
    let pairs = datasets::pairs(&p, None).unwrap();
    assert_eq!(pairs.len(), 1);
    assert_eq!(pairs[0].chosen, "Lives alone without a car.");
    assert_eq!(pairs[0].rejected, "Patient is fine.");
    assert_eq!(pairs[0].origin, api::PairOrigin::Ranking);
    let other_note = output(&mut p, 2, "Something else.");
    let err = rank(&mut p, a, other_note, "dr-lee")
        .unwrap_err()
        .to_string();
    assert!(err.contains("different notes"), "{err}");
    let err = rank(&mut p, a, a, "dr-lee").unwrap_err().to_string();
    assert!(err.contains("itself"), "{err}");
    let err = rank(&mut p, a, OutputId(999), "dr-lee")
        .unwrap_err()
        .to_string();
    assert!(err.contains("999"), "{err}");
}

#[test]
fn splits_never_put_one_note_in_two_splits_and_follow_the_seed() {
    let (_dir, mut p) = project_with_notes(30);
    for note in 1..=30 {
        let a = output(&mut p, note, &format!("Draft {note}."));
        edit(&mut p, a, &format!("Edited {note}."), "dr-lee").unwrap();
        let b = output(&mut p, note, &format!("Other draft {note}."));
        rank(&mut p, b, a, "dr-lee").unwrap();
    }
    let check = |p: &Project| {
        let mut seen: std::collections::HashMap<NoteId, Split> = Default::default();
        let pairs = datasets::pairs(p, None).unwrap();
        let sft = datasets::sft_examples(p, None).unwrap();
        let rows = pairs
            .iter()
            .map(|x| (x.note_id.unwrap(), x.split))
            .chain(sft.iter().map(|x| (x.note_id.unwrap(), x.split)));
        for (note, split) in rows {
            assert_ne!(split, Split::Unassigned);
            let first = *seen.entry(note).or_insert(split);
            assert_eq!(first, split, "note {note} is in {first:?} and {split:?}");
        }
        seen
    };
    check(&p);
    let request = SplitRequest {
        seed: 7,
        train: 0.6,
        validation: 0.2,
    };
    let summary = datasets::split(&mut p, &request).unwrap();
    assert_eq!(summary.groups, [18, 6, 6]);
    assert_eq!(summary.pairs.iter().sum::<u64>(), 60);
    assert_eq!(summary.sft_examples.iter().sum::<u64>(), 30);
    let first = check(&p);
    // Same seed, same assignment; another seed, another one.
    datasets::split(&mut p, &request).unwrap();
    assert_eq!(check(&p), first);
    datasets::split(
        &mut p,
        &SplitRequest {
            seed: 8,
            ..request.clone()
        },
    )
    .unwrap();
    assert_ne!(check(&p), first);
    // A later pair of an already split note joins that note's split.
    let note = NoteId(3);
    let split_before = check(&p)[&note];
    let c = output(&mut p, 3, "Third draft.");
    edit(&mut p, c, "Third edit.", "dr-lee").unwrap();
    assert_eq!(check(&p)[&note], split_before);
    let bad = SplitRequest {
        seed: 1,
        train: 0.9,
        validation: 0.2,
    };
    assert!(datasets::split(&mut p, &bad).is_err());
}

#[test]
fn word_diff_counts_words_and_maps_ranges_to_both_texts() {
    let original = "Pt lives alone. Has a car.";
    let edited = "Pt lives alone.  Has no car at all.";
    let d = word_diff(original, edited);
    // Pt lives alone. Has | a → no | car. → car at all.
    assert_eq!(
        (d.stats.kept, d.stats.removed, d.stats.added),
        (4, 2, 4),
        "{d:?}"
    );
    for (tag, old, new) in &d.ops {
        let o = &original[old.0..old.1];
        let n = &edited[new.0..new.1];
        if *tag == "equal" {
            // Spacing may differ inside an equal run; the words may not.
            assert!(
                o.split_whitespace().eq(n.split_whitespace()),
                "{o:?} vs {n:?}"
            );
        }
    }
    let removed: Vec<&str> = d
        .ops
        .iter()
        .filter(|(t, _, _)| *t == "replace" || *t == "delete")
        .map(|(_, o, _)| &original[o.0..o.1])
        .collect();
    assert!(removed.concat().contains('a'), "{removed:?}");
    let json = d.to_json();
    assert_eq!(json["unit"], "words");
    assert!(
        !json.to_string().contains("car"),
        "the diff holds offsets, not text"
    );
}

#[test]
fn a_rejected_output_is_marked_rejected_and_makes_no_training_data() {
    let (_dir, mut p) = project_with_notes(1);
    let out = output(&mut p, 1, "Lives with a dog.");
    reject(&mut p, out, "dr-lee").unwrap();
    assert!(datasets::pairs(&p, None).unwrap().is_empty());
    assert!(datasets::sft_examples(&p, None).unwrap().is_empty());
    let reviewed = reviewed_outputs(&p, NoteId(1)).unwrap();
    assert_eq!(reviewed.len(), 1);
    assert_eq!(reviewed[0].mark, api::ReviewMark::Rejected);
}

#[test]
fn reviewed_outputs_show_the_saved_edit_and_which_output_was_preferred() {
    let (_dir, mut p) = project_with_notes(1);
    let a = output(&mut p, 1, "Lives alone.");
    let b = output(&mut p, 1, "Lives with family.");
    let c = output(&mut p, 1, "Has a car.");
    rank(&mut p, b, a, "dr-lee").unwrap();
    edit(&mut p, c, "Has no car.", "dr-lee").unwrap();
    let marks: Vec<(OutputId, api::ReviewMark, Option<String>)> = reviewed_outputs(&p, NoteId(1))
        .unwrap()
        .into_iter()
        .map(|r| (r.output.id, r.mark, r.edited))
        .collect();
    assert_eq!(
        marks,
        vec![
            (a, api::ReviewMark::NotPreferred, None),
            (b, api::ReviewMark::Preferred, None),
            (c, api::ReviewMark::Edited, Some("Has no car.".to_owned())),
        ]
    );
}
