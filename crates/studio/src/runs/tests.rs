use std::path::PathBuf;

use api::{DatasetExportRequest, DatasetFormat, SamplingParams, SearchQuery, SpanId};
use sha2::{Digest, Sha256};

use super::*;
use crate::{annotation, corpus, datasets, review};

fn manifest_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}

fn tiny_dir() -> PathBuf {
    let dir = manifest_dir().join("../../../shared/fixtures/tiny-llama");
    assert!(
        dir.is_dir(),
        "fixture model missing: expected {}",
        dir.display()
    );
    dir
}

fn demo(notes: usize) -> (tempfile::TempDir, Project) {
    let dir = tempfile::tempdir().unwrap();
    let project = corpus::create_demo_project(
        &dir.path().join("demo.clinitune"),
        notes,
        5,
        &mut |_| {},
        &CancelToken::new(),
    )
    .unwrap();
    (dir, project)
}

fn request(task: &str, samples: u32) -> RunRequest {
    RunRequest {
        task: task.to_owned(),
        adapters: Vec::new(),
        query: SearchQuery::default(),
        notes: Vec::new(),
        samples,
        sampling: SamplingParams {
            temperature: 0.8,
            top_p: 0.95,
            top_k: 0,
            repetition_penalty: 1.0,
            max_tokens: 8,
        },
        seed: 11,
        few_shot: None,
        max_note_tokens: Some(256),
    }
}

#[test]
fn a_run_stores_outputs_with_provenance_and_a_rerun_resumes_without_overwriting() {
    let (_dir, mut p) = demo(3);
    let model = crate::models::load(&tiny_dir(), false).unwrap();
    let mut reports = Vec::new();
    let first = run(
        &mut p,
        &model,
        &request("social-history-summary", 2),
        &mut |r| reports.push(r),
        &CancelToken::new(),
    )
    .unwrap();
    assert_eq!(first.outputs.len(), 6);
    assert_eq!((first.notes, first.already_done), (3, 0));
    assert_eq!(
        reports.last().map(|r| (r.done, r.total)),
        Some((6, Some(6)))
    );

    // The loader reads every *.safetensors of the folder; the hash covers them in name order.
    let mut files: Vec<PathBuf> = std::fs::read_dir(tiny_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "safetensors"))
        .collect();
    files.sort();
    let mut hasher = Sha256::new();
    for f in &files {
        hasher.update(std::fs::read(f).unwrap());
    }
    let sha: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let listed = outputs(&p, &OutputQuery::default()).unwrap();
    assert_eq!(listed, first.outputs);
    for o in &listed {
        assert_eq!(o.task, "social-history-summary");
        assert_eq!(o.task_version, 1);
        assert_eq!(o.model, tiny_dir().display().to_string());
        assert_eq!(o.model_name.as_deref(), Some("tiny-llama"));
        assert_eq!(o.model_sha256.as_deref(), Some(sha.as_str()));
        assert_eq!(o.adapter, None);
        assert_eq!(o.params["temperature"], 0.8);
        assert_eq!(o.params["max_tokens"], 8);
        assert_eq!(o.seed, Some(11 + o.sample));
        assert_eq!(o.run.as_deref(), Some(first.run.as_str()));
        assert!(o.completion_tokens.unwrap() <= 8 && o.prompt_tokens.unwrap() > 20);
    }
    // The stored prompt is the chat-templated text, with the note inside the user turn.
    let record = p.store.db().output(listed[0].id).unwrap();
    let note = p.store.db().note(listed[0].note_id).unwrap();
    assert!(
        record.prompt.starts_with("<|im_start|>system\n"),
        "{}",
        record.prompt
    );
    assert!(record.prompt.ends_with("<|im_start|>assistant\n"));
    let user = &record.prompt_messages.last().unwrap().content;
    let start: String = note.text.chars().take(40).collect();
    assert!(user.contains(&start) || record.output.truncated);
    // Two samples of one note differ in seed; the same note, same prompt.
    let pair: Vec<&ModelOutput> = listed.iter().filter(|o| o.note_id == note.id).collect();
    assert_eq!(pair.len(), 2);

    // The same request again: nothing new, nothing overwritten.
    let again = run(
        &mut p,
        &model,
        &request("social-history-summary", 2),
        &mut |_| {},
        &CancelToken::new(),
    )
    .unwrap();
    assert_eq!((again.outputs.len(), again.already_done), (0, 6));
    assert_eq!(again.run, first.run);
    // One more sample per note resumes the same run with sample 2 only.
    let more = run(
        &mut p,
        &model,
        &request("social-history-summary", 3),
        &mut |_| {},
        &CancelToken::new(),
    )
    .unwrap();
    assert_eq!(more.outputs.len(), 3);
    assert!(more.outputs.iter().all(|o| o.sample == 2));
    assert_eq!(
        outputs(&p, &OutputQuery::default()).unwrap()[..6],
        listed[..]
    );
    // Another seed is another run: new rows beside the old.
    let other = run(
        &mut p,
        &model,
        &RunRequest {
            seed: 12,
            ..request("social-history-summary", 1)
        },
        &mut |_| {},
        &CancelToken::new(),
    )
    .unwrap();
    assert_ne!(other.run, first.run);
    assert_eq!(outputs(&p, &OutputQuery::default()).unwrap().len(), 12);
}

#[test]
fn a_cancelled_run_saves_nothing_half_made_and_bad_requests_are_refused_early() {
    let (_dir, mut p) = demo(2);
    let model = crate::models::load(&tiny_dir(), false).unwrap();
    let cancel = CancelToken::new();
    cancel.cancel();
    let summary = run(
        &mut p,
        &model,
        &request("discharge-summary", 1),
        &mut |_| {},
        &cancel,
    )
    .unwrap();
    assert!(summary.cancelled);
    assert!(outputs(&p, &OutputQuery::default()).unwrap().is_empty());
    let greedy_twice = RunRequest {
        sampling: SamplingParams {
            temperature: 0.0,
            ..request("x", 2).sampling
        },
        ..request("discharge-summary", 2)
    };
    let err = check_request(&greedy_twice).unwrap_err().to_string();
    assert!(err.contains("temperature"), "{err}");
    let nothing = RunRequest {
        query: SearchQuery {
            text: "zebrafinch".to_owned(),
            ..SearchQuery::default()
        },
        ..request("discharge-summary", 1)
    };
    let err = run(&mut p, &model, &nothing, &mut |_| {}, &CancelToken::new())
        .unwrap_err()
        .to_string();
    assert!(err.contains("no note matches"), "{err}");
}

#[test]
fn a_run_with_an_adapter_records_it_and_is_its_own_run() {
    let (_dir, mut p) = demo(1);
    let adapter = manifest_dir()
        .join("../../../shared/fixtures/peft-lora")
        .display()
        .to_string();
    let base = crate::models::load(&tiny_dir(), false).unwrap();
    let plain = run(
        &mut p,
        &base,
        &request("discharge-summary", 1),
        &mut |_| {},
        &CancelToken::new(),
    )
    .unwrap();
    let with = RunRequest {
        adapters: vec![adapter.clone()],
        ..request("discharge-summary", 1)
    };
    let model = load_model(&tiny_dir(), &with.adapters, false, Default::default()).unwrap();
    let adapted = run(&mut p, &model, &with, &mut |_| {}, &CancelToken::new()).unwrap();
    assert_ne!(adapted.run, plain.run);
    let o = &adapted.outputs[0];
    assert_eq!(o.adapter.as_deref(), Some(adapter.as_str()));
    let hashes = o.params["adapter_sha256"].as_array().unwrap();
    assert_eq!(hashes.len(), 1);
    assert_eq!(hashes[0].as_str().unwrap().len(), 64);
    assert_eq!(plain.outputs[0].adapter, None);
    let missing = RunRequest {
        adapters: vec!["no/such/adapter".to_owned()],
        ..request("discharge-summary", 1)
    };
    let err = run(&mut p, &model, &missing, &mut |_| {}, &CancelToken::new())
        .unwrap_err()
        .to_string();
    assert!(err.contains("no/such/adapter"), "{err}");
}

#[test]
fn unreadable_extract_output_is_stored_unparsed_with_its_reason() {
    let (_dir, mut p) = demo(1);
    let model = crate::models::load(&tiny_dir(), false).unwrap();
    let summary = run(
        &mut p,
        &model,
        &request("sdoh-extract", 1),
        &mut |_| {},
        &CancelToken::new(),
    )
    .unwrap();
    let o = &summary.outputs[0];
    // Eight random tokens from the tiny model are no JSON: kept, with the reason.
    match (&o.parsed, &o.parse_error) {
        (None, Some(reason)) => assert!(!reason.is_empty()),
        (Some(parsed), None) => assert!(parsed["mentions"].is_array()),
        other => panic!("output is neither parsed nor explained: {other:?}"),
    }
}

#[test]
fn extract_evidence_becomes_suggested_spans_that_are_accepted_or_rejected() {
    let (_dir, mut p) = demo(40);
    // A note with at least two gold SDoH spans, and an answer a model might give for it.
    let note = (1..=40)
        .map(|n| p.store.db().note(NoteId(n)).unwrap())
        .find(|n| n.spans.len() >= 2)
        .expect("a demo note with two spans");
    let quote = |i: usize| {
        let s = &note.spans[i];
        note.text[s.start()..s.end()].to_lowercase()
    };
    let answer = format!(
        "Here you go:\n```json\n{{\"mentions\": [\n {{\"category\": \"{}\", \"adverse\": {}, \"evidence\": \"{}.\"}},\n {{\"category\": \"{}\", \"evidence\": \"{}\"}},\n {{\"category\": \"HOUSING\", \"adverse\": true, \"evidence\": \"sleeps on the moon\"}},\n]}}\n```",
        note.spans[0].label,
        note.spans[0]
            .attributes
            .get("adverse")
            .map_or("false", String::as_str),
        quote(0).replace('"', "\\\""),
        note.spans[1].label.to_lowercase(),
        quote(1).replace('"', "\\\""),
    );
    // Without the gold spans, so that the suggestions are new (gold ones are not suggested).
    for s in &note.spans {
        annotation::remove_span(&mut p, s.id, "setup").unwrap();
    }
    let labels = p.store.db().labels().unwrap();
    let (parsed, error, suggestions) = read_output(TaskKind::Extract, &answer, &note.text, &labels);
    assert_eq!(error, None);
    let parsed = parsed.unwrap();
    assert_eq!(parsed["mentions"].as_array().unwrap().len(), 3);
    assert_eq!(parsed["not_suggested"].as_array().unwrap().len(), 1);
    assert_eq!(suggestions.len(), 2);
    let (task, _) = tasks::get(&p, "sdoh-extract").unwrap();
    let params = serde_json::json!({});
    let new = store::NewOutput {
        note: note.id,
        task: task.id,
        run: "run-test",
        sample: 0,
        model: "m.gguf",
        model_name: Some("m.gguf"),
        model_sha256: None,
        adapter: None,
        params: &params,
        seed: Some(0),
        prompt: "p",
        prompt_messages: &[],
        text: &answer,
        parsed: Some(&parsed),
        parse_error: None,
        prompt_tokens: 1,
        completion_tokens: 1,
        stop: "eos",
        truncated: false,
    };
    let (output, suggested) = save_output(&mut p, &new, &suggestions, "model:m.gguf").unwrap();
    // The gold spans cover the same text: suggestions are new spans beside them.
    assert_eq!(suggested, 2);
    let spans = p.store.db().spans_of_note(note.id).unwrap();
    let suggested: Vec<&api::Span> = spans
        .iter()
        .filter(|s| s.status == api::AnnotationStatus::Suggested)
        .collect();
    assert_eq!(suggested.len(), 2);
    for (s, gold) in suggested.iter().zip(&note.spans[..2]) {
        assert_eq!((s.start(), s.end()), (gold.start(), gold.end()));
        assert_eq!(s.label, gold.label);
        assert_eq!(s.annotator, "model:m.gguf");
    }
    let conn = rusqlite::Connection::open(p.path()).unwrap();
    let origins: i64 = conn
        .query_row(
            "SELECT count(*) FROM span_annotations WHERE origin_id = ?1",
            [output.0],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(origins, 2);
    // The same output again suggests nothing twice.
    let again = store::NewOutput {
        run: "run-test-2",
        ..new.clone()
    };
    assert_eq!(
        save_output(&mut p, &again, &suggestions, "model:m.gguf")
            .unwrap()
            .1,
        0
    );
    // Accept one (gold, reviewer's), reject the other (kept as rejected).
    let ids: Vec<SpanId> = suggested.iter().map(|s| s.id).collect();
    let accepted = annotation::review_suggestion(&mut p, ids[0], true, "dr-lee").unwrap();
    let rejected = annotation::review_suggestion(&mut p, ids[1], false, "dr-lee").unwrap();
    assert_eq!(accepted.status, api::AnnotationStatus::Gold);
    assert_eq!(accepted.annotator, "dr-lee");
    assert_eq!(rejected.status, api::AnnotationStatus::Rejected);
}

#[test]
fn the_full_loop_on_the_tiny_model_ends_in_trl_jsonl_that_reimports() {
    let (dir, mut p) = demo(4);
    let model = crate::models::load(&tiny_dir(), false).unwrap();
    let summary = run(
        &mut p,
        &model,
        &request("discharge-summary", 2),
        &mut |_| {},
        &CancelToken::new(),
    )
    .unwrap();
    let by_note = |n: NoteId| -> Vec<&ModelOutput> {
        summary.outputs.iter().filter(|o| o.note_id == n).collect()
    };
    let notes: Vec<NoteId> = {
        let mut v: Vec<NoteId> = summary.outputs.iter().map(|o| o.note_id).collect();
        v.dedup();
        v
    };
    let first = by_note(notes[0]);
    let edited = "Admitted for chest pain; troponin negative. Discharged home on aspirin.";
    let outcome = review::edit(&mut p, first[0].id, edited, "dr-lee").unwrap();
    let pairs = datasets::pairs(&p, None).unwrap();
    assert_eq!(pairs.len(), 1, "one edit, one pair");
    assert_eq!(datasets::sft_examples(&p, None).unwrap().len(), 1);
    assert_eq!(pairs[0].chosen, edited);
    assert_eq!(pairs[0].rejected, first[0].text);
    assert_eq!(
        pairs[0].prompt,
        p.store.db().output(first[0].id).unwrap().prompt
    );
    assert_eq!(Some(pairs[0].id), outcome.pair);
    // Rank the two samples of the second note (when the tiny model made them differ).
    let second = by_note(notes[1]);
    if second[0].text != second[1].text {
        review::rank(&mut p, second[1].id, second[0].id, "dr-lee").unwrap();
    }
    review::accept(&mut p, by_note(notes[2])[0].id, "dr-lee").unwrap();
    datasets::split(&mut p, &api::SplitRequest::default()).unwrap();

    let out = dir.path().join("pairs.jsonl");
    let exported = datasets::export(
        &p,
        &out,
        &DatasetExportRequest {
            format: DatasetFormat::TrlPreference,
            conversational: false,
            split: None,
        },
    )
    .unwrap();
    let want = datasets::pairs(&p, None).unwrap();
    assert_eq!(exported.written as usize, want.len());
    for (line, pair) in std::fs::read_to_string(&out).unwrap().lines().zip(&want) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let mut keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        keys.sort();
        assert_eq!(keys, ["chosen", "prompt", "rejected"]);
        assert_eq!(v["chosen"], pair.chosen.as_str());
    }
    let fresh_dir = tempfile::tempdir().unwrap();
    let mut fresh = Project::create(&fresh_dir.path().join("f.clinitune"), &[]).unwrap();
    let imported = datasets::import(&mut fresh, &out).unwrap();
    assert_eq!(imported.pairs as usize, want.len());
    let back: Vec<(String, String, String)> = datasets::pairs(&fresh, None)
        .unwrap()
        .into_iter()
        .map(|x| (x.prompt, x.chosen, x.rejected))
        .collect();
    let want: Vec<(String, String, String)> = want
        .into_iter()
        .map(|x| (x.prompt, x.chosen, x.rejected))
        .collect();
    assert_eq!(back, want);
}

#[test]
fn prompts_carry_few_shot_gold_answers_and_window_long_notes_with_a_marker() {
    let (_dir, p) = demo(20);
    let model = crate::models::load(&tiny_dir(), false).unwrap();
    let (task, def) = tasks::get(&p, "sdoh-extract").unwrap();
    let count = |text: &str| -> Result<usize, Error> {
        Ok(crate::models::tokenize(&model, text, false)?.len())
    };
    let note = NoteId(20);
    let prompt = build_prompt(&p, &model, &task, &def, note, 1, 48, &count).unwrap();
    let roles: Vec<&str> = prompt.messages.iter().map(|m| m.role.as_str()).collect();
    assert_eq!(roles, ["system", "user", "assistant", "user"]);
    // The example answer is the gold annotation of another note, in the task's JSON format,
    // and its evidence is in that note.
    let example = crate::extraction::parse_extraction(&prompt.messages[2].content).unwrap();
    assert!(!example.mentions.is_empty());
    let shown = p.store.db().annotated_notes(note, false, 1).unwrap()[0];
    let shown = p.store.db().note(shown).unwrap();
    for m in &example.mentions {
        let evidence = m.evidence.as_deref().unwrap();
        assert!(crate::extraction::locate(&shown.text, evidence, &[]).is_some());
    }
    // A 48-token budget shortens the demo note, with the marker, within the budget.
    assert!(prompt.truncated);
    let user = &prompt.messages[3].content;
    assert!(
        user.contains("characters omitted to fit the prompt"),
        "{user}"
    );
    let full = p.store.db().note(note).unwrap().text;
    let kept_start: String = full.chars().take(20).collect();
    assert!(user.contains(&kept_start));
    // The exact text the model saw is the chat template over those messages.
    assert_eq!(
        prompt.text,
        crate::models::render_messages(&model, &prompt.messages).unwrap()
    );
}
