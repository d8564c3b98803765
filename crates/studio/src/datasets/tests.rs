use api::{DatasetExportRequest, DatasetFormat, NoteId};

use super::*;
use crate::review::tests::project_with_notes;
use crate::{review, tasks};

/// A project with two edited outputs (pairs + SFT examples) and one accepted output.
fn reviewed() -> (tempfile::TempDir, Project) {
    let (dir, mut p) = project_with_notes(3);
    let task = tasks::get(&p, "sdoh-extract").unwrap().0;
    for (note, draft, edit) in [
        (
            1,
            "{\"mentions\": []}",
            "{\"mentions\": [{\"category\": \"HOUSING\", \"adverse\": true, \"evidence\": \"lives alone\"}]}",
        ),
        (
            2,
            "Lives \"alone\".\nNo car.",
            "Lives alone — no car (µ, 肺炎, 🫁).",
        ),
    ] {
        let o = review::record_output(
            &mut p,
            NoteId(note),
            task.id,
            &format!("<|im_start|>user\nNote {note}<|im_end|>\n"),
            draft,
            "m",
        )
        .unwrap();
        review::edit(&mut p, o, edit, "dr-lee").unwrap();
    }
    let o = review::record_output(&mut p, NoteId(3), task.id, "P3", "Fine.", "m").unwrap();
    review::accept(&mut p, o, "dr-lee").unwrap();
    (dir, p)
}

fn lines(path: &Path) -> Vec<serde_json::Map<String, Value>> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| match serde_json::from_str(l).unwrap() {
            Value::Object(m) => m,
            other => panic!("not an object: {other}"),
        })
        .collect()
}

fn keys(m: &serde_json::Map<String, Value>) -> Vec<&str> {
    let mut k: Vec<&str> = m.keys().map(String::as_str).collect();
    k.sort_unstable();
    k
}

fn export_to(p: &Project, dir: &Path, format: DatasetFormat, conversational: bool) -> PathBuf {
    let out = dir.join(format!("{format:?}-{conversational}.jsonl"));
    let summary = export(
        p,
        &out,
        &DatasetExportRequest {
            format,
            conversational,
            split: None,
        },
    )
    .unwrap();
    assert!(summary.written > 0);
    out
}

use std::path::PathBuf;

#[test]
fn exports_have_exactly_trl_fields_in_both_forms() {
    let (dir, p) = reviewed();
    let plain = lines(&export_to(
        &p,
        dir.path(),
        DatasetFormat::TrlPreference,
        false,
    ));
    assert_eq!(plain.len(), 2);
    for l in &plain {
        assert_eq!(keys(l), ["chosen", "prompt", "rejected"]);
        assert!(l.values().all(Value::is_string));
    }
    let pairs = pairs(&p, None).unwrap();
    assert_eq!(plain[1]["chosen"], pairs[1].chosen.as_str());
    assert_eq!(plain[1]["rejected"], pairs[1].rejected.as_str());

    let chat = lines(&export_to(
        &p,
        dir.path(),
        DatasetFormat::TrlPreference,
        true,
    ));
    for l in &chat {
        assert_eq!(keys(l), ["chosen", "prompt", "rejected"]);
        for field in ["prompt", "chosen", "rejected"] {
            for m in l[field].as_array().unwrap() {
                let m = m.as_object().unwrap();
                assert_eq!(keys(m), ["content", "role"]);
            }
        }
        assert_eq!(l["chosen"][0]["role"], "assistant");
        assert_eq!(l["chosen"].as_array().unwrap().len(), 1);
    }

    let sft = lines(&export_to(&p, dir.path(), DatasetFormat::TrlSft, false));
    assert_eq!(sft.len(), 3);
    for l in &sft {
        assert_eq!(keys(l), ["completion", "prompt"]);
    }
    assert_eq!(sft[2]["completion"], "Fine.");
    let sft_chat = lines(&export_to(&p, dir.path(), DatasetFormat::TrlSft, true));
    for l in &sft_chat {
        assert_eq!(keys(l), ["messages"]);
        let messages = l["messages"].as_array().unwrap();
        assert_eq!(messages.last().unwrap()["role"], "assistant");
    }
}

#[test]
fn exports_reimport_to_the_same_pairs_and_examples() {
    let (dir, p) = reviewed();
    let want_pairs: Vec<(String, String, String)> = pairs(&p, None)
        .unwrap()
        .into_iter()
        .map(|x| (x.prompt, x.chosen, x.rejected))
        .collect();
    let want_sft: Vec<(String, String)> = sft_examples(&p, None)
        .unwrap()
        .into_iter()
        .map(|x| (x.prompt, x.completion))
        .collect();
    for conversational in [false, true] {
        let pref = export_to(&p, dir.path(), DatasetFormat::TrlPreference, conversational);
        let sft = export_to(&p, dir.path(), DatasetFormat::TrlSft, conversational);
        let (_fresh_dir, mut fresh) = project_with_notes(0);
        let a = import(&mut fresh, &pref).unwrap();
        let b = import(&mut fresh, &sft).unwrap();
        assert_eq!((a.pairs, a.sft_examples, a.duplicates), (2, 0, 0));
        assert_eq!((b.pairs, b.sft_examples), (0, 3));
        assert!(a.rejected.is_empty() && b.rejected.is_empty());
        let got = pairs(&fresh, None).unwrap();
        let got_sft = sft_examples(&fresh, None).unwrap();
        assert!(got.iter().all(|x| x.origin == api::PairOrigin::Import));
        if conversational {
            // The messages come back as they were; the completions exactly.
            let orig = pairs(&p, None).unwrap();
            for (g, o) in got.iter().zip(&orig) {
                assert_eq!(g.prompt_messages, o.prompt_messages);
                assert_eq!((&g.chosen, &g.rejected), (&o.chosen, &o.rejected));
            }
            for (g, o) in got_sft.iter().zip(&want_sft) {
                assert_eq!(g.completion, o.1);
            }
        } else {
            let got: Vec<(String, String, String)> = got
                .into_iter()
                .map(|x| (x.prompt, x.chosen, x.rejected))
                .collect();
            assert_eq!(got, want_pairs);
            let got_sft: Vec<(String, String)> = got_sft
                .into_iter()
                .map(|x| (x.prompt, x.completion))
                .collect();
            assert_eq!(got_sft, want_sft);
        }
        // Importing the same file again adds nothing.
        let again = import(&mut fresh, &pref).unwrap();
        assert_eq!((again.pairs, again.duplicates), (0, 2));
    }
}

#[test]
fn import_reports_bad_lines_with_file_and_line_and_keeps_the_rest() {
    let (dir, mut p) = project_with_notes(0);
    let file = dir.path().join("mixed.jsonl");
    let content = [
        r#"{"prompt": "The sky is", "chosen": " blue.", "rejected": " green."}"#,
        r#"{"prompt": "The sky is", "chosen": " blue."}"#,
        "not json",
        "",
        r#"{"chosen": "The sky is blue.", "rejected": "The sky is green."}"#,
        r#"{"prompt": [{"role": "user", "content": "What color is the sky?"}], "completion": [{"role": "assistant", "content": "It is blue."}]}"#,
        r#"{"messages": [{"role": "user", "content": "Hi"}, {"role": "user", "content": "Hello"}]}"#,
        r#"{"text": "The sky is blue."}"#,
        r#"{"prompt": [{"role": "user"}], "chosen": "a", "rejected": "b"}"#,
        r#"{"messages": [{"role": "user", "content": "What color is the sky?"}, {"role": "assistant", "content": "It is blue."}]}"#,
    ]
    .join("\n");
    std::fs::write(&file, content).unwrap();
    let summary = import(&mut p, &file).unwrap();
    assert_eq!(summary.pairs, 1);
    // The conversational prompt-completion line and the messages line are the same example.
    assert_eq!(summary.sft_examples, 1);
    assert_eq!(summary.duplicates, 1);
    let bad: Vec<String> = summary.rejected.iter().map(|r| r.to_string()).collect();
    let name = file.display().to_string();
    for (line, reason) in [
        (2, "needs both"),
        (3, "not a JSON object"),
        (5, "implicit-prompt"),
        (7, "must end with the assistant"),
        (8, "found text"),
        (9, "message 1 of \"prompt\""),
    ] {
        let want = format!("{name}:{line}: ");
        assert!(
            bad.iter()
                .any(|b| b.starts_with(&want) && b.contains(reason)),
            "{want}{reason}: {bad:#?}"
        );
    }
    assert_eq!(bad.len(), 6, "{bad:#?}");
}
