//! Issue 17, "found when tried as a hostile tester would": the CLI on inputs meant to break it.

use std::time::Duration;

use crate::{Sandbox, clinitune_bin, shared_dir};

// Issue 17, item 8: a project could be left with no labels although `--schema` was given, and
// `init` then refused the path.
#[test]
fn init_that_fails_leaves_nothing_behind_and_can_be_retried() {
    let s = Sandbox::new();
    let project = s.project();
    let clash = s.path("clash.toml");
    std::fs::write(
        &clash,
        "name = \"clash\"\nversion = 1\n\n[[labels]]\nname = \"HOUSING\"\nscope = \"span\"\ncolor = \"#123456\"\n",
    )
    .unwrap();
    let err = s.fails(&[
        "init",
        project.to_str().unwrap(),
        "--schema",
        "sdoh",
        "--schema",
        clash.to_str().unwrap(),
    ]);
    assert!(err.contains("HOUSING"), "{err}");
    assert!(!project.exists(), "a failed init left a project behind");
    let left: Vec<_> = std::fs::read_dir(s.dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(left, vec![std::ffi::OsString::from("clash.toml")]);
    s.ok(&["init", project.to_str().unwrap(), "--schema", "sdoh"]);
    assert!(s.json(&["stats"])["labels"].as_u64().unwrap() > 0);
}

// Issue 17, item 8: killing `init` early left a file that "is not a Clinitune project".
#[test]
fn killed_init_leaves_no_project_or_a_whole_one() {
    let mut whole = 0;
    for attempt in 0..30u64 {
        let s = Sandbox::new();
        let project = s.project();
        let mut child = std::process::Command::new(clinitune_bin())
            .args(["init", project.to_str().unwrap(), "--schema", "sdoh"])
            .args(["--schema", "outcomes"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(attempt * 10));
        let _ = child.kill(); // SIGKILL, or the init already finished
        child.wait().unwrap();
        if project.exists() {
            assert_eq!(s.json(&["stats"])["labels"], 14, "attempt {attempt}");
            whole += 1;
        } else {
            s.ok(&["init", project.to_str().unwrap(), "--schema", "sdoh"]);
        }
    }
    assert!(whole > 0, "no init ever finished; the kills came too early");
}

// Issue 17, item 1: notes whose files cannot be written are named and the export fails.
#[test]
fn brat_export_names_notes_it_could_not_write_and_exits_with_failure() {
    let s = Sandbox::new();
    s.ok(&["init", s.project().to_str().unwrap()]);
    let jsonl = s.path("n.jsonl");
    std::fs::write(
        &jsonl,
        "{\"id\": \"visit.1\", \"text\": \"First visit.\"}\n\
         {\"id\": \"visit.2\", \"text\": \"Second visit.\"}\n\
         {\"id\": \"blocked\", \"text\": \"Cannot be written.\"}\n",
    )
    .unwrap();
    s.ok(&["import", jsonl.to_str().unwrap()]);
    let out = s.path("out");
    std::fs::create_dir_all(out.join("blocked.txt")).unwrap();
    let run = s.run(&["export", "--format", "brat", out.to_str().unwrap()]);
    assert!(!run.status.success());
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("blocked") && stderr.contains("not exported"),
        "{stderr}"
    );
    assert!(String::from_utf8_lossy(&run.stdout).contains("Exported 2 notes"));
    assert!(out.join("visit.1.txt").is_file() && out.join("visit.2.txt").is_file());
}

// Issue 17, item 2: one broken link failed the whole folder with no counts.
#[cfg(unix)]
#[test]
fn folder_import_with_a_broken_link_imports_the_rest_and_counts() {
    let s = Sandbox::new();
    s.ok(&["init", s.project().to_str().unwrap()]);
    let corpus = s.path("notes");
    std::fs::create_dir_all(&corpus).unwrap();
    for i in 0..6 {
        std::fs::write(corpus.join(format!("n{i}.txt")), format!("Note {i}.")).unwrap();
    }
    std::os::unix::fs::symlink(corpus.join("gone.txt"), corpus.join("link.txt")).unwrap();
    let run = s.run(&["import", corpus.to_str().unwrap()]);
    assert!(run.status.success());
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        stdout.contains("Imported 6 notes") && stdout.contains("rejected 1"),
        "{stdout}"
    );
    assert!(String::from_utf8_lossy(&run.stderr).contains("link.txt"));
}

// Issue 17, item 5: at trace level the tokenizer logged every character of the text.
#[test]
fn trace_log_of_tokenising_a_note_holds_none_of_its_text() {
    let model = shared_dir().join("fixtures/tiny-llama");
    // Letters that appear in no log message of ours, so any of them in the log is the note's.
    let note = "Ǯǯ ǮǮǯ lives alone";
    let run = std::process::Command::new(clinitune_bin())
        .args([
            "tokenize",
            "--model",
            model.to_str().unwrap(),
            "--text",
            note,
        ])
        .env("CLINITUNE_LOG", "trace")
        .output()
        .unwrap();
    assert!(run.status.success());
    let log = String::from_utf8_lossy(&run.stderr);
    assert!(!log.contains('Ǯ') && !log.contains('ǯ'), "{log}");
}

// Issue 17, item 5: the same holds when the user names the tokenizers target explicitly.
#[test]
fn trace_log_filter_for_the_tokenizer_cannot_be_turned_back_on() {
    let s = Sandbox::new();
    let model = shared_dir().join("fixtures/tiny-llama");
    let run = std::process::Command::new(clinitune_bin())
        .args(["tokenize", "--model", model.to_str().unwrap()])
        .args(["--text", "Ǯǯ lives alone"])
        .env("CLINITUNE_LOG", "trace,tokenizers=trace")
        .current_dir(s.dir.path())
        .output()
        .unwrap();
    assert!(run.status.success());
    assert!(!String::from_utf8_lossy(&run.stderr).contains('Ǯ'));
}

// Issue 17, "what to build" item 2: several real processes write one project at once. Writes
// serialise (busy timeout), none fails with "database is locked", and none is lost.
#[test]
fn concurrent_cli_writers_lose_nothing_and_never_see_a_locked_database() {
    let s = Sandbox::new();
    s.ok(&["init", s.project().to_str().unwrap(), "--schema", "sdoh"]);
    let file = s.path("notes.jsonl");
    let notes: String = (0..4)
        .map(|i| {
            format!(
                "{}\n",
                serde_json::json!({"id": format!("n{i}"), "text": "Lives alone, no car, retired teacher, smokes daily."})
            )
        })
        .collect();
    std::fs::write(&file, notes).unwrap();
    s.ok(&["import", file.to_str().unwrap()]);
    let spans_before = s.json(&["stats"])["span_annotations"].as_u64();
    // Four writers, each adding 20 spans to its own note, and a reader searching meanwhile.
    let (writers, per_writer) = (4usize, 20usize);
    let mut children = Vec::new();
    for w in 0..writers {
        let mut script = String::new();
        for k in 0..per_writer {
            script.push_str(&format!(
                "{bin:?} annotate span --note n{w} --label HOUSING --start {k} --end {}\n",
                k + 1,
                bin = clinitune_bin()
            ));
        }
        children.push(
            std::process::Command::new("sh")
                .args(["-e", "-c", &script])
                .env("CLINITUNE_PROJECT", s.project())
                .env("CLINITUNE_ANNOTATOR", format!("writer{w}"))
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap(),
        );
    }
    for _ in 0..10 {
        s.ok(&["notes", "search", "alone"]);
    }
    for child in children {
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "a writer failed: {err}");
        assert!(!err.contains("locked"), "{err}");
    }
    let stats = s.json(&["stats"]);
    let added = stats["span_annotations"].as_u64().unwrap() - spans_before.unwrap_or(0);
    assert_eq!(added as usize, writers * per_writer, "{stats}");
    for w in 0..writers {
        let shown = s.json(&["notes", "show", &format!("n{w}")]);
        let mine = shown["spans"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|sp| sp["annotator"] == format!("writer{w}"))
            .count();
        assert_eq!(mine, per_writer, "writer{w}'s spans on n{w}");
    }
}
