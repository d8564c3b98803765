//! Issue 17, item 4: encrypted projects through the CLI. `init --encrypt` takes the passphrase
//! from the environment (or a prompt, never an argument); no note text is readable in the file
//! or its write-ahead log; without the passphrase, or with a wrong one, commands say so and
//! change nothing; exports warn that they leave the encryption behind; `rekey` retires the old
//! passphrase.

use std::process::{Command, Output};

use crate::{Sandbox, clinitune_bin};

const SECRET: &str = "Pt sleeps in the laundromat on Juniper Lane since May.";

fn run(s: &Sandbox, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(clinitune_bin());
    cmd.args(args)
        .env("CLINITUNE_PROJECT", s.project())
        .env("CLINITUNE_ANNOTATOR", "tester")
        .env("CLINITUNE_NO_PROMPT", "1")
        .env_remove("CLINITUNE_PASSPHRASE")
        .current_dir(s.path(""));
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("clinitune runs")
}

fn ok(s: &Sandbox, args: &[&str], env: &[(&str, &str)]) -> Output {
    let out = run(s, args, env);
    assert!(
        out.status.success(),
        "clinitune {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn readable(s: &Sandbox, word: &str) -> bool {
    let mut found = false;
    for suffix in ["", "-wal"] {
        let mut name = s.project().into_os_string();
        name.push(suffix);
        if let Ok(bytes) = std::fs::read(&name) {
            found |= bytes.windows(word.len()).any(|w| w == word.as_bytes());
        }
    }
    found
}

#[test]
fn an_encrypted_project_hides_its_notes_and_opens_only_with_its_passphrase() {
    let s = Sandbox::new();
    let key = [("CLINITUNE_PASSPHRASE", "correct horse battery staple")];
    let project = s.project();
    // Too short: refused, nothing made.
    let short = run(
        &s,
        &["init", project.to_str().unwrap(), "--encrypt"],
        &[("CLINITUNE_PASSPHRASE", "short")],
    );
    assert!(!short.status.success());
    assert!(String::from_utf8_lossy(&short.stderr).contains("at least 8 characters"));
    assert!(!project.exists());

    ok(
        &s,
        &[
            "init",
            project.to_str().unwrap(),
            "--schema",
            "sdoh",
            "--encrypt",
        ],
        &key,
    );
    let notes = s.path("notes.jsonl");
    std::fs::write(
        &notes,
        format!("{}\n", serde_json::json!({"id": "n1", "text": SECRET})),
    )
    .unwrap();
    ok(&s, &["import", notes.to_str().unwrap()], &key);
    ok(
        &s,
        &["annotate", "doc", "--note", "n1", "--label", "HOUSING"],
        &key,
    );
    let shown = ok(&s, &["notes", "show", "n1", "--json"], &key);
    assert!(String::from_utf8_lossy(&shown.stdout).contains("Juniper Lane"));
    for word in ["Juniper", "laundromat", "HOUSING", "SQLite format 3"] {
        assert!(
            !readable(&s, word),
            "{word:?} is readable in the project file"
        );
    }

    // No passphrase: says what to do. A wrong one: says so; the file is untouched.
    let before = std::fs::read(&project).unwrap();
    let none = run(&s, &["notes", "list"], &[]);
    assert!(!none.status.success());
    assert!(String::from_utf8_lossy(&none.stderr).contains("CLINITUNE_PASSPHRASE"));
    let wrong = run(
        &s,
        &["notes", "list"],
        &[("CLINITUNE_PASSPHRASE", "incorrect horse battery")],
    );
    assert!(!wrong.status.success());
    let said = String::from_utf8_lossy(&wrong.stderr).to_lowercase();
    assert!(said.contains("passphrase does not open"), "{said}");
    assert_eq!(std::fs::read(&project).unwrap(), before);

    // Exports leave the encryption behind and say so.
    let out = s.path("out.jsonl");
    let exported = ok(
        &s,
        &["export", "--format", "jsonl", out.to_str().unwrap()],
        &key,
    );
    assert!(
        String::from_utf8_lossy(&exported.stderr).contains("is encrypted, but what is exported")
    );

    // Rekey: the old passphrase stops working, the new one works, and it is audited.
    let new = "a new and longer passphrase";
    ok(&s, &["rekey"], &[key[0], ("CLINITUNE_NEW_PASSPHRASE", new)]);
    let old = run(&s, &["notes", "list"], &key);
    assert!(!old.status.success());
    let fresh = [("CLINITUNE_PASSPHRASE", new)];
    ok(&s, &["notes", "show", "n1"], &fresh);
    let verify = ok(&s, &["audit", "verify", "--json"], &fresh);
    let v: serde_json::Value = serde_json::from_slice(&verify.stdout).unwrap();
    assert_eq!(v["intact"], true);
    let audit = ok(&s, &["audit", "export"], &fresh);
    assert!(String::from_utf8_lossy(&audit.stdout).contains("\"rekey\""));
    assert!(!String::from_utf8_lossy(&audit.stdout).contains(new));
    assert!(!readable(&s, "Juniper"));
}

/// The app: an encrypted project asks for its passphrase (a wrong one is said to be wrong and
/// asked again), then opens; a new project can be created encrypted from the Projects page.
#[tokio::test(flavor = "current_thread")]
async fn the_app_unlocks_an_encrypted_project_and_creates_one() {
    use fantoccini::key::Key;
    let s = Sandbox::new();
    let key = [("CLINITUNE_PASSPHRASE", "correct horse battery staple")];
    let project = s.project();
    ok(&s, &["init", project.to_str().unwrap(), "--encrypt"], &key);
    let notes = s.path("notes.jsonl");
    std::fs::write(
        &notes,
        format!("{}\n", serde_json::json!({"id": "n1", "text": SECRET})),
    )
    .unwrap();
    ok(&s, &["import", notes.to_str().unwrap()], &key);

    let desktop = crate::desktop::Desktop::new();
    let app = desktop.launch(&[]).await;
    app.wait_until("#projects-title", |t| t == "Projects").await;
    app.keys(
        "#project-path",
        &format!("{}{}", project.display(), Key::Enter),
    )
    .await;
    app.wait_until("#unlock", |t| t.contains("is encrypted"))
        .await;
    app.screenshot("projects-unlock-light.png").await;
    app.keys(
        "#unlock-passphrase",
        &format!("incorrect horse{}", Key::Enter),
    )
    .await;
    app.wait_until("#error", |t| {
        t.to_lowercase().contains("passphrase does not open")
    })
    .await;
    app.keys(
        "#unlock-passphrase",
        &format!("correct horse battery staple{}", Key::Enter),
    )
    .await;
    app.wait_until("#note-count", |t| t == "1 notes" || t == "1 note")
        .await;

    // A new encrypted project from the Projects page.
    app.click("#nav-projects").await;
    app.wait_until("#projects-title", |t| t == "Projects").await;
    let fresh = s.path("fresh.clinitune");
    app.click("#create-encrypt").await;
    app.keys("#create-passphrase", "another long passphrase")
        .await;
    app.keys("#create-passphrase-again", "another long passphrase")
        .await;
    app.client
        .find(fantoccini::Locator::Css("#project-path"))
        .await
        .unwrap()
        .clear()
        .await
        .unwrap();
    app.keys("#project-path", fresh.to_str().unwrap()).await;
    app.screenshot("projects-create-encrypted-light.png").await;
    app.client
        .find(fantoccini::Locator::XPath(
            "//button[normalize-space()='Create']",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    app.wait_css("#note-count").await;
    app.close().await;

    // Started on the encrypted project, the app asks for its passphrase straight away.
    let app = desktop
        .launch(&["--project", project.to_str().unwrap()])
        .await;
    app.wait_until("#unlock", |t| t.contains("is encrypted"))
        .await;
    app.keys(
        "#unlock-passphrase",
        &format!("correct horse battery staple{}", Key::Enter),
    )
    .await;
    app.wait_until("#note-count", |t| t == "1 note").await;
    app.close().await;
    let head = std::fs::read(&fresh).unwrap();
    assert!(
        head.len() > 16 && &head[..16] != b"SQLite format 3\0",
        "not encrypted"
    );
    let opened = run(
        &s,
        &["--project", fresh.to_str().unwrap(), "notes", "list"],
        &[("CLINITUNE_PASSPHRASE", "another long passphrase")],
    );
    assert!(
        opened.status.success(),
        "{}",
        String::from_utf8_lossy(&opened.stderr)
    );
}
