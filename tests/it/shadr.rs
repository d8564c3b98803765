//! The real SHADR files (../shared/data/shadr): labelled CSV with aligned label/adverse columns.

use std::collections::BTreeMap;

use crate::{Sandbox, shared_dir};

/// What the file holds, counted straight from the CSV, independently of the importer.
struct Expected {
    rows: usize,
    /// (label, adverse) → notes, identical sentences counted once.
    counts: BTreeMap<(String, String), u64>,
    /// Lines whose label and adverse lists differ in length.
    misaligned: Vec<u64>,
}

fn expected(path: &std::path::Path) -> Expected {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let mut counts = BTreeMap::new();
    let mut seen = std::collections::BTreeSet::new();
    let mut rows = 0;
    let mut misaligned = Vec::new();
    for row in reader.records() {
        let row = row.unwrap();
        rows += 1;
        // Identical sentences are one note (same text, no id): count their labels once.
        if !seen.insert(row[0].to_owned()) {
            continue;
        }
        if row[1].split(',').count() != row[2].split(',').count() {
            misaligned.push(row.position().unwrap().line());
            continue;
        }
        let mut per_note: BTreeMap<String, String> = BTreeMap::new();
        for (label, adverse) in row[1].split(',').zip(row[2].split(',')) {
            let flag = if adverse.trim() == "adverse" {
                "true"
            } else {
                "false"
            };
            let slot = per_note
                .entry(label.trim().to_owned())
                .or_insert_with(|| flag.to_owned());
            if flag == "true" {
                *slot = "true".to_owned();
            }
        }
        for (label, flag) in per_note {
            *counts.entry((label, flag)).or_default() += 1;
        }
    }
    Expected {
        rows,
        counts,
        misaligned,
    }
}

#[test]
fn shadr_annotated_test_set_imports_with_aligned_adverse_labels() {
    let file = shared_dir().join("data/shadr/Partial_Iteration_2_annotated.csv");
    let Expected {
        rows,
        counts: expected,
        misaligned,
    } = expected(&file);
    let s = Sandbox::new();
    s.ok(&["init", s.project().to_str().unwrap(), "--schema", "sdoh"]);
    let summary = s.json(&["import", file.to_str().unwrap()]);
    // The published file has a row with one label and two adverse values: reported, not guessed.
    let rejected: Vec<u64> = summary["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["line"].as_u64().unwrap())
        .collect();
    assert_eq!(rejected, misaligned, "{summary}");
    let imported = summary["imported"].as_u64().unwrap();
    let duplicates = summary["duplicates"].as_u64().unwrap();
    assert_eq!((imported + duplicates) as usize, rows);
    assert_eq!(
        summary["labels_created"].as_array().unwrap().len(),
        0,
        "every SHADR label is in the SDoH schema"
    );

    let mut got = BTreeMap::new();
    let export = s.path("out.jsonl");
    s.ok(&["export", "--format", "jsonl", export.to_str().unwrap()]);
    for line in std::fs::read_to_string(&export).unwrap().lines() {
        let note: serde_json::Value = serde_json::from_str(line).unwrap();
        for label in note["labels"].as_array().unwrap() {
            let key = (
                label["label"].as_str().unwrap().to_owned(),
                label["attributes"]["adverse"].as_str().unwrap().to_owned(),
            );
            *got.entry(key).or_default() += 1u64;
        }
    }
    assert_eq!(got, expected);
    let found = s.json(&["notes", "search", "eviction", "--label", "HOUSING"]);
    assert!(!found.as_array().unwrap().is_empty());
}
