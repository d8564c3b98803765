use super::*;

/// Whitespace-separated words: a stand-in tokenizer with a known count.
fn words(text: &str) -> Result<usize, Error> {
    Ok(text.split_whitespace().count())
}

fn project() -> (tempfile::TempDir, Project) {
    let dir = tempfile::tempdir().unwrap();
    let project = Project::create(&dir.path().join("p.clinitune"), &["sdoh".into()]).unwrap();
    (dir, project)
}

const TASK: &str = r#"
name = "hpi-summary"
kind = "summarize"
description = "History of present illness"
system = "Be brief."
prompt = "Summarise this {{category}} note:\n{{note}}"
max_note_tokens = 64
"#;

#[test]
fn a_new_project_has_the_shipped_tasks() {
    let (_dir, project) = project();
    let tasks = list(&project, false).unwrap();
    let names: Vec<&str> = tasks.iter().map(|t| t.name.as_str()).collect();
    assert!(names.contains(&"sdoh-extract"), "{names:?}");
    assert!(names.contains(&"discharge-summary"), "{names:?}");
    assert!(names.contains(&"social-history-summary"), "{names:?}");
    let sdoh = tasks.iter().find(|t| t.name == "sdoh-extract").unwrap();
    assert_eq!(sdoh.kind, TaskKind::Extract);
    assert_eq!(sdoh.version, 1);
}

#[test]
fn adding_a_changed_task_makes_a_new_version_and_an_unchanged_one_nothing() {
    let (_dir, mut project) = project();
    let (v1, added) = add(&mut project, TASK, "t.toml").unwrap();
    assert!(added);
    assert_eq!(v1.version, 1);
    // The same definition, formatted differently and with a comment: no new version.
    let same = format!("# reformatted\n{}", TASK.replace(" = ", "="));
    let (again, added) = add(&mut project, &same, "t.toml").unwrap();
    assert!(!added);
    assert_eq!(again.id, v1.id);
    let changed = TASK.replace("Be brief.", "Be very brief.");
    let (v2, added) = add(&mut project, &changed, "t.toml").unwrap();
    assert!(added);
    assert_eq!(v2.version, 2);
    assert_eq!(get(&project, "hpi-summary").unwrap().0.version, 2);
    let (old, def) = get(&project, "hpi-summary@1").unwrap();
    assert_eq!(old.id, v1.id);
    assert_eq!(def.system.as_deref(), Some("Be brief."));
    let all = list(&project, true).unwrap();
    assert_eq!(all.iter().filter(|t| t.name == "hpi-summary").count(), 2);
    assert_eq!(
        list(&project, false)
            .unwrap()
            .iter()
            .filter(|t| t.name == "hpi-summary")
            .count(),
        1
    );
}

#[test]
fn bad_task_files_are_refused_with_the_reason() {
    for (text, reason) in [
        (
            TASK.replace("summarize", "translate"),
            "not one of summarize",
        ),
        (TASK.replace("{{note}}", "the note"), "has no {{note}}"),
        (
            TASK.replace("{{category}}", "{{patient}}"),
            "unknown placeholder {{patient}}",
        ),
        (
            TASK.replace("hpi-summary", "hpi summary"),
            "must be letters",
        ),
        (format!("{TASK}\ncolour = 1"), "unknown field"),
    ] {
        let err = parse(&text, "t.toml").unwrap_err().to_string();
        assert!(err.contains(reason), "{reason}: {err}");
        assert!(err.contains("t.toml"), "{err}");
    }
    let (_dir, project) = project();
    let err = get(&project, "hpi-summary@x").unwrap_err().to_string();
    assert!(err.contains("must be a number"), "{err}");
    let err = get(&project, "no-such-task").unwrap_err().to_string();
    assert!(err.contains("no-such-task"), "{err}");
}

#[test]
fn render_puts_system_examples_and_the_note_in_order() {
    let def = parse(TASK, "t.toml").unwrap();
    let examples = [Example {
        note: "Fell at home.".to_owned(),
        category: Some("Admission note".to_owned()),
        answer: "A fall.".to_owned(),
        rendered: false,
    }];
    let r = render(
        &def,
        "Chest pain {{category}}.",
        None,
        &examples,
        64,
        &words,
    )
    .unwrap();
    let roles: Vec<&str> = r.messages.iter().map(|m| m.role.as_str()).collect();
    assert_eq!(roles, ["system", "user", "assistant", "user"]);
    assert_eq!(
        r.messages[1].content,
        "Summarise this Admission note note:\nFell at home."
    );
    // The note's own braces are left alone; a missing category reads "Clinical".
    assert_eq!(
        r.messages[3].content,
        "Summarise this Clinical note:\nChest pain {{category}}."
    );
    assert!(!r.truncated);
}

#[test]
fn a_long_note_is_windowed_within_budget_with_a_visible_marker() {
    let note: String = (0..1000).map(|i| format!("w{i} ")).collect();
    let (fitted, truncated) = fit(&note, 100, &words).unwrap();
    assert!(truncated);
    assert!(
        words(&fitted).unwrap() <= 100,
        "{}",
        words(&fitted).unwrap()
    );
    assert!(fitted.starts_with("w0 w1 "), "keeps the start");
    assert!(fitted.trim_end().ends_with("w999"), "keeps the end");
    assert!(fitted.contains("characters omitted to fit the prompt"));
    // Roughly two thirds from the start.
    let head_words = fitted.split('[').next().unwrap().split_whitespace().count();
    assert!((40..=75).contains(&head_words), "{head_words}");
    let short = "w1 w2";
    assert_eq!(fit(short, 100, &words).unwrap(), (short.to_owned(), false));
}

#[test]
fn windowing_respects_multibyte_characters() {
    let note = "肺炎 🫁 µg ".repeat(400);
    let (fitted, truncated) = fit(&note, 50, &words).unwrap();
    assert!(truncated);
    assert!(words(&fitted).unwrap() <= 50);
}
