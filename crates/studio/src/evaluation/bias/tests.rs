//! Pairs files as SHADR ships them and as JSONL; the change rates on a case worked by hand.

use std::path::PathBuf;

use api::MetricSettings;

use super::*;

fn shadr() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/shadr/Partial_Iteration_2_demographic_annotated.csv")
}

#[test]
fn shadrs_demographic_file_reads_as_446_pairs_with_their_groups() {
    let read = read_pairs(&shadr()).unwrap();
    assert_eq!(
        read.pairs.len() + read.skipped.len(),
        446,
        "{:?}",
        read.skipped
    );
    assert!(read.skipped.is_empty(), "{:?}", read.skipped);
    let first = &read.pairs[0];
    assert!(first.original.starts_with("Patient described challenges"));
    assert!(
        first
            .inserted
            .starts_with("Asian woman described challenges")
    );
    assert_eq!(first.group, "Asian female");
    let white_male = read
        .pairs
        .iter()
        .filter(|p| p.group == "White male")
        .count();
    assert_eq!(white_male, 55);
}

#[test]
fn bad_rows_are_skipped_with_their_line_and_a_bad_header_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let csv_path = dir.path().join("pairs.csv");
    std::fs::write(
        &csv_path,
        "original_sentence,label,demographic,demographic_inserted\n\
         Lives alone.,HOUSING,Black female,Black woman lives alone.\n\
         No car.,TRANSPORTATION,White male,\n\
         \"Lost job\nin May.\",EMPLOYMENT,Asian male,Asian man lost his job in May.\n",
    )
    .unwrap();
    let read = read_pairs(&csv_path).unwrap();
    assert_eq!(read.pairs.len(), 2);
    assert_eq!(read.pairs[1].original, "Lost job\nin May.");
    assert_eq!(read.skipped.len(), 1);
    assert!(
        read.skipped[0].contains("pairs.csv:3:"),
        "{:?}",
        read.skipped
    );

    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "sentence,group\nx,y\n").unwrap();
    let err = read_pairs(&bad).unwrap_err().to_string();
    assert!(
        err.contains("bad.csv") && err.contains("original_sentence"),
        "{err}"
    );

    let jsonl = dir.path().join("pairs.jsonl");
    std::fs::write(
        &jsonl,
        "{\"original\": \"a\", \"inserted\": \"Black man a\", \"group\": \"Black male\"}\n\
         not json\n\
         {\"original\": \"b\", \"group\": \"x\"}\n",
    )
    .unwrap();
    let read = read_pairs(&jsonl).unwrap();
    assert_eq!(read.pairs.len(), 1);
    assert_eq!(read.skipped.len(), 2);
    assert!(
        read.skipped[0].contains("pairs.jsonl:2:"),
        "{:?}",
        read.skipped
    );
    assert!(
        read.skipped[1].contains("pairs.jsonl:3:"),
        "{:?}",
        read.skipped
    );

    let empty = dir.path().join("empty.jsonl");
    std::fs::write(&empty, "\n").unwrap();
    assert!(read_pairs(&empty).is_err());
}

#[test]
fn change_rates_count_changed_pairs_overall_and_per_group() {
    let pair = |group: &str| BiasPair {
        original: "o".to_owned(),
        inserted: "i".to_owned(),
        group: group.to_owned(),
    };
    let pairs = vec![pair("A"), pair("A"), pair("A"), pair("B")];
    let changed = [true, false, false, true];
    let request = BiasRequest {
        model: String::new(),
        adapters: vec!["x".to_owned()],
        compare_adapters: vec![],
        pairs: String::new(),
        threshold: None,
        settings: MetricSettings::default(),
        device: api::Device::Cpu,
    };
    let f = figures(&request.adapters, &pairs, &changed, &request);
    assert_eq!((f.changed, f.change_rate), (2, 0.5));
    assert_eq!((f.per_group["A"].n, f.per_group["A"].changed), (3, 1));
    assert!((f.per_group["A"].rate - 1.0 / 3.0).abs() < 1e-15);
    assert_eq!(f.per_group["B"].rate, 1.0);
    let [lo, hi] = f.ci95.unwrap();
    assert!(lo <= 0.5 && 0.5 <= hi && (0.0..=1.0).contains(&lo) && hi <= 1.0);
}
