use api::SearchQuery;

use super::*;
use crate::review::tests::project_with_notes;

// See: issue 13, item 8 (a 100,000-character search froze the app).
#[test]
fn search_longer_than_the_bound_is_refused_with_its_length() {
    let (_dir, p) = project_with_notes(1);
    let query = SearchQuery {
        text: "fever ".repeat(20_000),
        ..SearchQuery::default()
    };
    let e = count(&p, &query).unwrap_err().to_string();
    assert!(e.contains("120000 characters"), "{e}");
    assert!(e.contains("at most 1000"), "{e}");
    assert!(search(&p, &query).is_err());
    let ok = SearchQuery {
        text: "x".repeat(MAX_QUERY_CHARS),
        ..SearchQuery::default()
    };
    assert!(count(&p, &ok).is_ok());
}
