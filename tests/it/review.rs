//! The review loop's CLI contract (issue 7), end to end on the tiny fixture model: tasks, runs
//! with provenance, edits / acceptances / rankings, splits and TRL JSONL out and back in.

use serde_json::Value;

use crate::{Sandbox, shared_dir};

fn tiny() -> String {
    shared_dir()
        .join("fixtures/tiny-llama")
        .to_string_lossy()
        .into_owned()
}

fn project_with_notes(notes: usize) -> Sandbox {
    let s = Sandbox::new();
    s.ok(&["init", s.project().to_str().unwrap(), "--schema", "sdoh"]);
    let corpus = s.path("corpus.jsonl");
    s.ok(&[
        "demo-corpus",
        corpus.to_str().unwrap(),
        "--notes",
        &notes.to_string(),
        "--seed",
        "5",
    ]);
    s.ok(&["import", corpus.to_str().unwrap()]);
    s
}

fn sorted_keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    k.sort();
    k
}

fn jsonl(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn task_list_is_never_empty_and_task_add_versions() {
    let s = Sandbox::new();
    s.ok(&["init", s.project().to_str().unwrap()]);
    let tasks = s.json(&["task", "list"]);
    let tasks = tasks.as_array().unwrap();
    assert!(tasks.len() >= 2);
    for t in tasks {
        assert!(t["name"].is_string() && t["version"].is_i64(), "{t}");
        assert!(["summarize", "extract", "classify"].contains(&t["kind"].as_str().unwrap()));
    }
    let names: Vec<&str> = tasks.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"sdoh-extract"), "{names:?}");
    assert!(names.iter().any(|n| n.contains("summary")), "{names:?}");

    let file = s.path("labels.toml");
    let task =
        "name = \"outcome-labels\"\nkind = \"classify\"\nprompt = \"Labels for:\\n{{note}}\"\n";
    std::fs::write(&file, task).unwrap();
    let v1 = s.json(&["task", "add", file.to_str().unwrap()]);
    assert_eq!(
        (v1["version"].as_i64(), v1["kind"].as_str()),
        (Some(1), Some("classify"))
    );
    std::fs::write(&file, task.replace("Labels for", "Document labels for")).unwrap();
    let v2 = s.json(&["task", "add", file.to_str().unwrap()]);
    assert_eq!(v2["version"], 2);
    let all = s.json(&["task", "list", "--all-versions"]);
    assert_eq!(
        all.as_array()
            .unwrap()
            .iter()
            .filter(|t| t["name"] == "outcome-labels")
            .count(),
        2
    );
    std::fs::write(
        &file,
        "name = \"x\"\nkind = \"poem\"\nprompt = \"{{note}}\"\n",
    )
    .unwrap();
    let bad = s.run(&["task", "add", file.to_str().unwrap()]);
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("labels.toml") && err.contains("summarize"),
        "{err}"
    );
}

#[test]
fn run_review_split_export_and_reimport_the_pairs() {
    let s = project_with_notes(3);
    let model = tiny();
    let run = |extra: &[&str]| {
        let mut args = vec![
            "run",
            "--task",
            "social-history-summary",
            "--model",
            &model,
            "--samples",
            "2",
            "--temperature",
            "0.8",
            "--top-p",
            "0.95",
            "--seed",
            "3",
            "--max-tokens",
            "6",
        ];
        args.extend_from_slice(extra);
        s.json(&args)
    };
    let made = run(&[]);
    let made = made.as_array().unwrap();
    assert_eq!(made.len(), 6, "3 notes × 2 samples");
    // The same run again resumes: nothing new.
    assert_eq!(run(&[]).as_array().unwrap().len(), 0);

    let listed = s.json(&["outputs", "list", "--task", "social-history-summary"]);
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 6);
    for o in listed {
        for field in [
            "id",
            "note_id",
            "task",
            "text",
            "model",
            "adapter",
            "created_at",
        ] {
            assert!(o.get(field).is_some(), "{field} missing in {o}");
        }
        assert_eq!(o["model"], model.as_str());
        assert!(o["adapter"].is_null());
        assert_eq!(o["task"], "social-history-summary");
        assert_eq!(o["params"]["temperature"], 0.8);
        assert!(o["model_sha256"].as_str().unwrap().len() == 64);
    }
    // With the fixture PEFT adapter: recorded with each output, a run of its own.
    let adapter = shared_dir().join("fixtures/peft-lora");
    let adapted = run(&["--adapter", adapter.to_str().unwrap(), "--limit", "1"]);
    let adapted = adapted.as_array().unwrap();
    assert_eq!(adapted.len(), 2);
    assert_eq!(adapted[0]["adapter"], adapter.to_str().unwrap());
    assert_ne!(adapted[0]["run"], listed[0]["run"]);
    let note = listed[0]["note_id"].as_i64().unwrap();
    let of_note = s.json(&["outputs", "list", "--note", &note.to_string()]);
    // Two samples of the base run and two of the adapter's.
    assert_eq!(of_note.as_array().unwrap().len(), 4);

    // Edit the first output from a file: one pair and one SFT example.
    let edited = "Lives alone in an apartment; daughter visits weekly.\nNo car.";
    let file = s.path("edit.txt");
    std::fs::write(&file, edited).unwrap();
    let first = listed[0]["id"].as_i64().unwrap().to_string();
    let outcome = s.json(&[
        "review",
        "edit",
        &first,
        "--text-file",
        file.to_str().unwrap(),
        "--annotator",
        "dr-lee",
    ]);
    assert!(
        outcome["pair"].is_i64() && outcome["sft"].is_i64(),
        "{outcome}"
    );
    let pairs = s.json(&["pairs", "list"]);
    assert_eq!(pairs.as_array().unwrap().len(), 1);
    assert_eq!(pairs[0]["chosen"], edited);
    assert_eq!(pairs[0]["rejected"], listed[0]["text"]);
    assert_eq!(pairs[0]["origin"], "edit");
    assert_eq!(pairs[0]["annotator"], "dr-lee");

    // Accept another unchanged (SFT only), rank the two samples of a third note when they differ.
    let second = listed[2]["id"].as_i64().unwrap().to_string();
    let accepted = s.json(&["review", "accept", &second]);
    assert!(accepted["pair"].is_null() && accepted["sft"].is_i64());
    let (a, b) = (&listed[4], &listed[5]);
    assert_eq!(a["note_id"], b["note_id"]);
    let ranked = a["text"] != b["text"];
    if ranked {
        let out = s.json(&[
            "review",
            "rank",
            &a["id"].to_string(),
            &b["id"].to_string(),
            "--prefer",
            "b",
        ]);
        assert!(out["ranking"].is_i64());
        let pairs = s.json(&["pairs", "list"]);
        let rank_pair = pairs.as_array().unwrap().last().unwrap().clone();
        assert_eq!(rank_pair["chosen"], b["text"]);
        assert_eq!(rank_pair["origin"], "ranking");
    }
    let split = s.json(&["pairs", "split", "--seed", "5"]);
    assert!(split["groups"].is_array(), "{split}");

    // TRL preference JSONL: exactly prompt, chosen, rejected; the texts as saved.
    let out = s.path("pref.jsonl");
    s.ok(&[
        "pairs",
        "export",
        "--format",
        "trl-preference",
        out.to_str().unwrap(),
    ]);
    let lines = jsonl(&out);
    assert_eq!(lines.len(), if ranked { 2 } else { 1 });
    for l in &lines {
        assert_eq!(sorted_keys(l), ["chosen", "prompt", "rejected"]);
    }
    assert_eq!(lines[0]["chosen"], edited);
    let conv = s.path("pref-chat.jsonl");
    s.ok(&[
        "pairs",
        "export",
        "--format",
        "trl-preference",
        "--conversational",
        conv.to_str().unwrap(),
    ]);
    let chat = jsonl(&conv);
    assert_eq!(chat[0]["chosen"][0]["role"], "assistant");
    assert_eq!(chat[0]["chosen"][0]["content"], edited);
    assert_eq!(
        chat[0]["prompt"].as_array().unwrap().last().unwrap()["role"],
        "user"
    );
    let sft = s.path("sft.jsonl");
    s.ok(&[
        "pairs",
        "export",
        "--format",
        "trl-sft",
        sft.to_str().unwrap(),
    ]);
    let sft_lines = jsonl(&sft);
    assert_eq!(sft_lines.len(), 2);
    for l in &sft_lines {
        assert_eq!(sorted_keys(l), ["completion", "prompt"]);
    }
    let sft_chat = s.path("sft-chat.jsonl");
    s.ok(&[
        "pairs",
        "export",
        "--format",
        "trl-sft",
        "--conversational",
        sft_chat.to_str().unwrap(),
    ]);
    for l in jsonl(&sft_chat) {
        assert_eq!(sorted_keys(&l), ["messages"]);
    }
    let train = s.path("train.jsonl");
    s.ok(&[
        "pairs",
        "export",
        "--format",
        "trl-preference",
        "--split",
        "train",
        train.to_str().unwrap(),
    ]);

    // Into a fresh project: the same pairs back; a bad line is reported and the rest kept.
    let fresh = Sandbox::new();
    fresh.ok(&["init", fresh.project().to_str().unwrap()]);
    let mut text = std::fs::read_to_string(&out).unwrap();
    text.push_str("{\"prompt\": \"x\"}\n");
    let with_bad = fresh.path("in.jsonl");
    std::fs::write(&with_bad, text).unwrap();
    let imported = fresh.run(&["pairs", "import", with_bad.to_str().unwrap(), "--json"]);
    assert!(imported.status.success());
    let summary: Value = serde_json::from_slice(&imported.stdout).unwrap();
    assert_eq!(summary["pairs"].as_u64().unwrap() as usize, lines.len());
    let stderr = String::from_utf8_lossy(&imported.stderr);
    let bad_line = format!("{}:{}: ", with_bad.display(), lines.len() + 1);
    assert!(stderr.contains(&bad_line), "{stderr}");
    let back = fresh.json(&["pairs", "list"]);
    let original = s.json(&["pairs", "list"]);
    for (b, o) in back
        .as_array()
        .unwrap()
        .iter()
        .zip(original.as_array().unwrap())
    {
        for field in ["prompt", "chosen", "rejected"] {
            assert_eq!(b[field], o[field], "{field}");
        }
        assert_eq!(b["origin"], "import");
    }
}

#[test]
fn run_refuses_what_it_cannot_do_with_a_hint() {
    let s = project_with_notes(1);
    let model = tiny();
    for (args, says) in [
        (vec!["--samples", "2", "--greedy"], "temperature"),
        (vec!["--adapter", "adapters/a1"], "adapters/a1"),
        (vec!["--filter", "zebrafinch"], "no note matches"),
    ] {
        let mut all = vec!["run", "--task", "discharge-summary", "--model", &model];
        all.extend(args);
        let out = s.run(&all);
        assert!(!out.status.success(), "{all:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{all:?}: {err}");
    }
    let out = s.run(&["run", "--task", "no-such-task", "--model", &model]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-task"));
}
