use super::pair_problem;

// See: issue 13, item 8 ("both sides are ; choose two different annotators").
#[test]
fn a_pair_needs_two_different_chosen_annotators() {
    assert_eq!(
        pair_problem("", ""),
        Some("Choose the two annotators to compare, A and B.")
    );
    assert_eq!(pair_problem("lee", ""), Some("Choose annotator B."));
    assert!(pair_problem("lee", "lee").is_some_and(|p| p.contains("two different")));
    assert_eq!(pair_problem("lee", "kim"), None);
}

// See: issue 13, item 8 ("Adjudication shows offsets (\"463–544\") instead of the text").
#[test]
fn adjudication_quotes_the_words_of_each_side() {
    use api::Fragment;
    let text = "Lives alone in a shelter; no car.";
    let frag = |start, end| Fragment { start, end };
    assert_eq!(super::quote(text, Some(&[frag(17, 24)])), "“shelter”");
    assert_eq!(
        super::quote(text, Some(&[frag(0, 5), frag(26, 32)])),
        "“Lives … no car”"
    );
    assert_eq!(super::quote(text, None), "—");
    assert_eq!(super::quote(text, Some(&[frag(30, 99)])), "“?”");
}
