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
