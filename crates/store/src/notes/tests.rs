use super::*;

#[test]
fn user_queries_become_quoted_fts_terms() {
    assert_eq!(
        fts_query("lives alone").as_deref(),
        Some("\"lives\" \"alone\"")
    );
    assert_eq!(
        fts_query("  \"lives alone\" bus* ").as_deref(),
        Some("\"lives alone\" \"bus\"*")
    );
    assert_eq!(fts_query("s/p µg").as_deref(), Some("\"s/p\" \"µg\""));
    assert_eq!(fts_query("say \"hi").as_deref(), Some("\"say\" \"hi\""));
    assert_eq!(fts_query("- ; ***"), None);
    assert_eq!(fts_query(""), None);
}

#[test]
fn snippet_marks_become_highlight_ranges() {
    let (text, marks) = split_marks("pt \u{2}lives\u{3} \u{2}alone\u{3}.");
    assert_eq!(text, "pt lives alone.");
    assert_eq!(
        marks,
        vec![
            Fragment { start: 3, end: 8 },
            Fragment { start: 9, end: 14 }
        ]
    );
}

#[test]
fn content_hash_separates_ids_and_text() {
    assert_ne!(content_hash(Some("ab"), "c"), content_hash(Some("a"), "bc"));
    assert_ne!(content_hash(None, "x"), content_hash(Some(""), "x"));
    assert_eq!(content_hash(Some("1"), "x"), content_hash(Some("1"), "x"));
}
