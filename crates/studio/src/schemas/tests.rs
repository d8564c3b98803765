use std::collections::BTreeMap;

use api::{AttributeKind, LabelScope};

use super::*;

fn builtin(name: &str) -> Vec<Label> {
    let parsed = load(name).unwrap();
    parsed.labels
}

fn adverse_by_value(label: &Label) -> BTreeMap<String, String> {
    let kind = label.attributes.iter().find(|a| a.name == "type").unwrap();
    assert_eq!(kind.kind, AttributeKind::Choice);
    kind.values
        .iter()
        .map(|v| (v.name.clone(), v.defaults["adverse"].clone()))
        .collect()
}

#[test]
fn sdoh_schema_follows_the_guideline_categories_and_adverse_mapping() {
    let labels = builtin("sdoh");
    let names: Vec<&str> = labels.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "EMPLOYMENT",
            "HOUSING",
            "TRANSPORTATION",
            "PARENT",
            "RELATIONSHIP",
            "SUPPORT"
        ]
    );
    assert!(
        labels.iter().all(|l| l.scope == LabelScope::Both),
        "usable on spans and documents"
    );
    assert!(labels.iter().all(|l| {
        l.attributes
            .iter()
            .any(|a| a.name == "adverse" && a.kind == AttributeKind::Flag)
    }));
    let by = |n: &str| labels.iter().find(|l| l.name == n).unwrap();
    let expect = |pairs: &[(&str, bool)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    assert_eq!(
        adverse_by_value(by("HOUSING")),
        expect(&[("poor", true), ("undomiciled", true), ("other", true)])
    );
    assert_eq!(
        adverse_by_value(by("TRANSPORTATION")),
        expect(&[("distance", true), ("resource", true), ("other", true)])
    );
    assert_eq!(
        adverse_by_value(by("RELATIONSHIP")),
        expect(&[
            ("married", false),
            ("partnered", false),
            ("divorced", true),
            ("widowed", true),
            ("single", true)
        ])
    );
    assert_eq!(
        adverse_by_value(by("EMPLOYMENT")),
        expect(&[
            ("employed", false),
            ("underemployed", true),
            ("unemployed", true),
            ("disability", true),
            ("retired", false),
            ("student", false),
        ])
    );
    assert_eq!(
        adverse_by_value(by("SUPPORT")),
        expect(&[("plus", false), ("minus", true)])
    );
    assert!(by("PARENT").attributes.iter().all(|a| a.name != "type"));
}

#[test]
fn outcome_schema_has_document_labels_only() {
    let labels = builtin("outcomes");
    assert!(labels.len() >= 5);
    assert!(
        labels
            .iter()
            .all(|l| l.scope == LabelScope::Doc && l.attributes.is_empty())
    );
    for wanted in ["MORTALITY", "PROLONGED_LOS"] {
        assert!(labels.iter().any(|l| l.name == wanted), "{wanted}");
    }
}

#[test]
fn schema_files_with_mistakes_are_refused_with_the_reason() {
    let check = |toml: &str, expected: &str| {
        let err = parse_schema("t.toml", toml).unwrap_err().to_string();
        assert!(err.contains(expected), "{err}");
    };
    let label = |extra: &str| {
        format!(
            "name = \"t\"\n[[labels]]\nname = \"A\"\nscope = \"span\"\ncolor = \"#112233\"\n{extra}"
        )
    };
    check(&label("hotkey = \"j\""), "reserved");
    check(&label("hotkey = \"ab\""), "single key");
    check(&label("colour = \"red\""), "unknown field `colour`");
    check(
        &format!(
            "{}\n[[labels]]\nname = \"B\"\nscope = \"doc\"\ncolor = \"#000000\"\nhotkey = \"q\"",
            label("hotkey = \"q\"")
        ),
        "already used by A",
    );
    check(
        &label("[[labels.attributes]]\nname = \"kind\"\nkind = \"choice\""),
        "a choice needs values",
    );
    check(
        "name = \"t\"\n[[labels]]\nname = \"a\"\nscope = \"span\"\ncolor = \"#112233\"",
        "UPPERCASE",
    );
    check(
        "name = \"t\"\n[[labels]]\nname = \"A\"\nscope = \"everywhere\"\ncolor = \"#112233\"",
        "not span, doc or both",
    );
}

#[test]
fn a_label_already_in_another_schema_is_a_conflict() {
    let dir = tempfile::tempdir().unwrap();
    let mut project = Project::create(&dir.path().join("p.clinitune"), &["sdoh".into()]).unwrap();
    let other = dir.path().join("other.toml");
    std::fs::write(
        &other,
        "name = \"mine\"\n[[labels]]\nname = \"HOUSING\"\nscope = \"span\"\ncolor = \"#112233\"\n",
    )
    .unwrap();
    let err = add(&mut project, other.to_str().unwrap()).unwrap_err();
    assert!(
        err.to_string().contains("already defined by schema sdoh"),
        "{err}"
    );
    // Re-adding the same schema replaces it in place.
    add(&mut project, "sdoh").unwrap();
    assert_eq!(labels(&project).unwrap().len(), 6);
    assert!(matches!(
        add(&mut project, "nonsense"),
        Err(Error::UnknownSchema { .. })
    ));
}

#[test]
fn a_label_gets_a_new_colour_and_hotkey_but_not_a_taken_or_reserved_key() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = Project::create(&dir.path().join("p.clinitune"), &["sdoh".into()]).unwrap();
    let look = |display: &str, color: &str, hotkey: Option<&str>| LabelLook {
        display: display.into(),
        color: color.into(),
        hotkey: hotkey.map(Into::into),
    };
    let changed = update_label(
        &mut p,
        "HOUSING",
        &look("Housing instability", "#AA00cc", Some("g")),
        "ann",
    )
    .unwrap();
    assert_eq!(
        (
            changed.display.as_str(),
            changed.color.as_str(),
            changed.hotkey.as_deref()
        ),
        ("Housing instability", "#aa00cc", Some("g"))
    );
    let stored = labels(&p)
        .unwrap()
        .into_iter()
        .find(|l| l.name == "HOUSING")
        .unwrap();
    assert_eq!(stored, changed);
    let mut refused = |l: LabelLook| {
        update_label(&mut p, "HOUSING", &l, "ann")
            .unwrap_err()
            .to_string()
    };
    assert!(refused(look("H", "#aa00cc", Some("e"))).contains("used by label EMPLOYMENT"));
    assert!(refused(look("H", "#aa00cc", Some("v"))).contains("toggles attribute adverse"));
    assert!(refused(look("H", "#aa00cc", Some("j"))).contains("reserved"));
    assert!(refused(look("H", "red", None)).contains("#rrggbb"));
    assert!(refused(look(" ", "#aa00cc", None)).contains("display name is empty"));
    // No hotkey at all is allowed, and frees the key.
    let keyless =
        update_label(&mut p, "HOUSING", &look("Housing", "#b45309", None), "ann").unwrap();
    assert_eq!(keyless.hotkey, None);
}

// See: issue 13, item 8 (a schema import of the wrong file showed the note's first line).
#[test]
fn schema_from_a_note_file_is_refused_without_quoting_the_note() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("note.toml");
    let note = "Patient Jane Roe, 64, admitted with chest pain.\nLives alone.\n";
    std::fs::write(&path, note).unwrap();
    let e = load(path.to_str().unwrap()).unwrap_err();
    let shown = api::ApiError::from(e);
    let text = format!("{} {}", shown.message, shown.hint.unwrap_or_default());
    assert!(text.contains("line 1"), "{text}");
    assert!(!text.contains("Jane"), "{text}");
    assert!(!text.contains("README"), "{text}");
}

#[test]
fn built_in_schemas_name_no_developer_paths() {
    for name in ["sdoh", "outcomes"] {
        let parsed = load(name).unwrap();
        assert!(!parsed.file.description.contains("/work"), "{name}");
    }
}
