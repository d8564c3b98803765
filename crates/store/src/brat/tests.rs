use super::*;

// Lines in the forms the brat standoff documentation shows.
const ANN: &str = "T1\tOrganization 0 4\tSony\n\
T2\tMERGE-ORG 14 27\tjoint venture\n\
T3\tOrganization 33 41;42 50\tEricsson Mobiles\n\
E1\tMERGE-ORG:T2 Org1:T1 Org2:T3\n\
A1\tNegation E1\n\
A2\tConfidence T1 L1\n\
A3\tUncertain T3\n\
R1\tOrigin Arg1:T3 Arg2:T1\n\
N1\tReference T1 Wikipedia:534366\tSony\n\
#1\tAnnotatorNotes T1\tcheck the spelling\n\
*\tEquiv T1 T3\n";

#[test]
fn parses_every_kind_of_line() {
    let (s, errors) = parse(ANN);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(s.text_bounds.len(), 3);
    assert_eq!(s.text_bounds[2].fragments, vec![(33, 41), (42, 50)]);
    assert_eq!(s.text_bounds[2].text, "Ericsson Mobiles");
    assert_eq!(s.attributes.len(), 3);
    assert_eq!(s.attributes[1].value.as_deref(), Some("L1"));
    assert_eq!(s.attributes[2].value, None);
    assert_eq!(
        s.notes,
        vec![Note {
            id: "#1".into(),
            target: "T1".into(),
            text: "check the spelling".into()
        }]
    );
    let kinds: Vec<char> = s.others.iter().map(|o| o.kind).collect();
    assert_eq!(kinds, vec!['E', 'R', 'N', '*']);
}

#[test]
fn malformed_lines_are_reported_with_their_line_number_and_the_rest_kept() {
    let ann = "T1\tHOUSING 0 5\thello\nT2 HOUSING 0 5\nT3\tHOUSING 9 3\tx\nT4\tHOUSING a b\tx\nQ1\tsomething\nT5\tSUPPORT 6 11\tworld\n";
    let (s, errors) = parse(ann);
    let lines: Vec<u64> = errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, vec![2, 3, 4, 5]);
    let ids: Vec<&str> = s.text_bounds.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, vec!["T1", "T5"]);
}

#[test]
fn written_standoff_parses_back_to_the_same_annotations() {
    let (s, _) = parse(ANN);
    let (again, errors) = parse(&write(&s));
    assert!(errors.is_empty());
    assert_eq!(again, s);
}

// Issue 17, item 7: a repeated id was accepted, so `A1` could qualify either span.
#[test]
fn a_repeated_id_is_refused_on_its_second_line() {
    let ann = "T1\tHOUSING 0 5\thello\nT1\tSUPPORT 6 11\tworld\nA1\tadverse T1\nA1\tother T1\n";
    let (s, errors) = parse(ann);
    let lines: Vec<u64> = errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, vec![2, 4]);
    assert!(errors[0].reason.contains("first on line 1"), "{errors:?}");
    assert_eq!(s.text_bounds.len(), 1);
    assert_eq!(s.text_bounds[0].label, "HOUSING");
    assert_eq!(s.attributes.len(), 1);
    assert_eq!(s.attributes[0].name, "adverse");
}
