use api::{ExportSummary, ImportSummary, Rejection, SearchQuery, Transferred};

use super::*;

#[test]
fn a_search_past_the_bound_says_how_long_it_is_and_what_to_do() {
    assert_eq!(search_problem("lives alone"), None);
    assert_eq!(search_problem(&"é".repeat(MAX_SEARCH_CHARS)), None);
    let said = search_problem(&"x".repeat(100_000)).unwrap();
    assert!(said.contains("100,000 characters"), "{said}");
    assert!(said.contains("at most 1,000"), "{said}");
}

#[test]
fn numbers_are_grouped_and_counted_nouns_agree() {
    assert_eq!(thousands(0), "0");
    assert_eq!(thousands(999), "999");
    assert_eq!(thousands(1000), "1,000");
    assert_eq!(thousands(1_234_567), "1,234,567");
    assert_eq!(count(1, "note", "notes"), "1 note");
    assert_eq!(count(2000, "note", "notes"), "2,000 notes");
}

#[test]
fn import_summary_names_the_file_and_each_problem_by_line() {
    let done = Transferred {
        path: "/home/dr/notes.csv".to_owned(),
        summary: ImportSummary {
            imported: 3,
            duplicates: 1,
            rejected: vec![Rejection {
                file: "/home/dr/notes.csv".to_owned(),
                line: 4,
                reason: "the row has 2 columns; expected 3".to_owned(),
            }],
            ..ImportSummary::default()
        },
    };
    assert_eq!(
        import_headline(&done),
        "Imported 3 notes from notes.csv. 1 note was already in the project, left as it was. \
         1 row was not imported:"
    );
    assert_eq!(
        import_problems(&done.summary),
        vec!["notes.csv, line 4: the row has 2 columns; expected 3"]
    );
}

#[test]
fn long_problem_lists_are_cut_with_a_count() {
    let summary = ImportSummary {
        rejected: (1..=25)
            .map(|line| Rejection {
                file: "a.jsonl".to_owned(),
                line,
                reason: "not JSON".to_owned(),
            })
            .collect(),
        ..ImportSummary::default()
    };
    let lines = import_problems(&summary);
    assert_eq!(lines.len(), 21);
    assert_eq!(lines.last().map(String::as_str), Some("and 5 more"));
}

#[test]
fn export_summary_says_where_and_what_brat_could_not_keep() {
    let done = Transferred {
        path: "/tmp/p-brat".to_owned(),
        summary: ExportSummary {
            notes: 2,
            spans: 1,
            doc_labels_not_exported: 3,
            ..ExportSummary::default()
        },
    };
    let said = export_headline(&done);
    assert!(said.starts_with("Exported 2 notes with 1 span and 0 document labels to /tmp/p-brat."));
    assert!(said.contains("3 were not written"), "{said}");
}

#[test]
fn an_empty_list_says_why() {
    let query = SearchQuery::default();
    assert_eq!(empty_state(&query, 0), Empty::NoNotes);
    let searched = SearchQuery {
        text: "zebra".to_owned(),
        ..SearchQuery::default()
    };
    assert_eq!(
        empty_state(&searched, 10),
        Empty::NoMatch("No note matches “zebra”.".to_owned())
    );
    let filtered = SearchQuery {
        label: Some("HOUSING".to_owned()),
        ..SearchQuery::default()
    };
    assert_eq!(
        empty_state(&filtered, 10),
        Empty::NoMatch("No note matches these filters.".to_owned())
    );
}

#[test]
fn file_names_come_from_either_separator() {
    assert_eq!(file_name("/a/b/notes.csv"), "notes.csv");
    assert_eq!(file_name("C:\\notes\\brat\\"), "brat");
    assert_eq!(file_name("plain"), "plain");
}
