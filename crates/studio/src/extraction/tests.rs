use super::*;

fn categories(e: &Extraction) -> Vec<Option<&str>> {
    e.mentions.iter().map(|m| m.category.as_deref()).collect()
}

#[test]
fn reads_json_inside_prose_and_code_fences() {
    let outputs = [
        // Prose before and after, as chat models like to add.
        "Sure! Here are the social determinants I found:\n{\"mentions\": [{\"category\": \"HOUSING\", \"adverse\": true, \"evidence\": \"Pt is currently homeless\"}]}\nLet me know if you need anything else.",
        // A ```json fence with a preamble.
        "Here is the JSON:\n```json\n{\"mentions\": [{\"category\": \"HOUSING\", \"adverse\": true, \"evidence\": \"Pt is currently homeless\"}]}\n```\n",
        // A bare fence, no info string, a bare list.
        "```\n[{\"category\": \"HOUSING\", \"adverse\": true, \"evidence\": \"Pt is currently homeless\"}]\n```",
    ];
    for out in outputs {
        let e = parse_extraction(out).unwrap_or_else(|r| panic!("{out}: {r}"));
        assert_eq!(categories(&e), [Some("HOUSING")], "{out}");
        assert_eq!(e.mentions[0].adverse, Some(true));
        assert_eq!(
            e.mentions[0].evidence.as_deref(),
            Some("Pt is currently homeless")
        );
    }
}

#[test]
fn repairs_trailing_commas_python_literals_and_single_quotes() {
    let out = "{'mentions': [\n  {'category': 'EMPLOYMENT', 'adverse': False, 'evidence': \"Retired machinist\",},\n  {category: \"SUPPORT\", adverse: True, evidence: 'Daughter helps with meals'},\n],}";
    let e = parse_extraction(out).unwrap();
    assert_eq!(categories(&e), [Some("EMPLOYMENT"), Some("SUPPORT")]);
    assert_eq!(e.mentions[0].adverse, Some(false));
    assert_eq!(e.mentions[1].adverse, Some(true));
    assert_eq!(
        e.mentions[1].evidence.as_deref(),
        Some("Daughter helps with meals")
    );
    assert!(
        e.warnings.iter().any(|w| w.contains("trailing")),
        "{:?}",
        e.warnings
    );
}

#[test]
fn keeps_the_complete_mentions_of_an_answer_cut_off_at_the_token_budget() {
    let out = "```json\n{\"mentions\": [{\"category\": \"HOUSING\", \"adverse\": true, \"evidence\": \"Lives in a shelter\"}, {\"category\": \"TRANSPORTATION\", \"adverse\": true, \"evidence\": \"Has no ca";
    let e = parse_extraction(out).unwrap();
    assert_eq!(e.mentions.len(), 2, "{:?}", e.mentions);
    assert_eq!(
        e.mentions[0].evidence.as_deref(),
        Some("Lives in a shelter")
    );
    // The cut-off mention keeps what was complete and says what is missing.
    assert_eq!(e.mentions[1].category.as_deref(), Some("TRANSPORTATION"));
    assert_eq!(e.mentions[1].evidence, None);
    assert!(e.warnings.iter().any(|w| w.contains("cut off")));
    assert!(e.warnings.iter().any(|w| w == "mention 2 has no evidence"));
}

#[test]
fn missing_fields_and_string_flags_are_read_where_possible() {
    let out = r#"{"mentions": [{"label": "Social support", "adverse": "yes", "text": "Wife drives him"}, {"category": "PARENT"}, "stray"]}"#;
    let e = parse_extraction(out).unwrap();
    assert_eq!(e.mentions.len(), 2);
    assert_eq!(e.mentions[0].category.as_deref(), Some("Social support"));
    assert_eq!(e.mentions[0].adverse, Some(true));
    assert_eq!(e.mentions[0].evidence.as_deref(), Some("Wife drives him"));
    assert_eq!(e.mentions[1].evidence, None);
    for w in [
        "mention 2 has no evidence",
        "mention 2 has no adverse flag",
        "mention 3 is not an object; skipped",
    ] {
        assert!(e.warnings.iter().any(|x| x == w), "{w}: {:?}", e.warnings);
    }
}

#[test]
fn unreadable_output_says_why() {
    for (out, reason) in [
        (
            "1. Social Work Note: The patient lives alone and has no car.",
            "no JSON",
        ),
        ("{\"summary\": \"lives alone\"}", "no list of mentions"),
        (
            "{\"mentions\": [{\"category\": \"HOUSING\" \"evidence\": \"x\"}]}",
            "malformed",
        ),
    ] {
        let err = parse_extraction(out).unwrap_err();
        assert!(err.contains(reason), "{out:?}: {err}");
    }
}

#[test]
fn classify_labels_from_object_list_or_string() {
    assert_eq!(
        parse_labels("Labels: {\"labels\": [\"DX_DIABETES\", \"MORTALITY\",]}").unwrap(),
        ["DX_DIABETES", "MORTALITY"]
    );
    assert_eq!(parse_labels("[\"HOUSING\"]").unwrap(), ["HOUSING"]);
    assert!(parse_labels("none").is_err());
}

#[test]
fn locate_finds_evidence_exactly_or_ignoring_case_spacing_quotes_and_period() {
    let note =
        "SOCIAL HISTORY: Pt lives  alone in a\nthird-floor walk-up. José’s wife passed away.";
    let exact = locate(note, "lives  alone", &[]).unwrap();
    assert_eq!(&note[exact.0..exact.1], "lives  alone");
    let loose = locate(note, "\"Pt lives alone in a third-floor walk-up.\"", &[]).unwrap();
    assert_eq!(
        &note[loose.0..loose.1],
        "Pt lives  alone in a\nthird-floor walk-up"
    );
    let curly = locate(note, "JOSÉ'S WIFE passed away", &[]).unwrap();
    assert_eq!(&note[curly.0..curly.1], "José’s wife passed away");
    assert_eq!(locate(note, "has a car", &[]), None);
    assert_eq!(locate(note, "  ", &[]), None);
}

#[test]
fn locate_prefers_an_unused_occurrence() {
    let note = "Denies. Lives alone. Later: lives alone.";
    let first = locate(note, "lives alone", &[]).unwrap();
    let second = locate(note, "lives alone", &[first]).unwrap();
    assert_ne!(first, second);
    assert_eq!(&note[second.0..second.1].to_lowercase(), "lives alone");
}
