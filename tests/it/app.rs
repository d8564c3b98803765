//! The desktop app end to end: the release `clinitune-studio` under Xvfb, driven over WebDriver
//! (tauri-driver in front of WebKitWebDriver) as a clinician would use it with the keyboard.
//! Screenshots of each page go to `<target>/e2e-screenshots/`.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

/// The release app `cargo xtask studio --build-only` (and `cargo xtask test`) builds.
fn app_bin() -> PathBuf {
    let bin = std::env::var_os("CLINITUNE_STUDIO_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::target_dir().join("release").join("clinitune-studio"));
    assert!(
        bin.exists(),
        "the desktop app is not built at {}: run `cargo xtask studio --build-only` \
         (or `cargo xtask test`, which builds it first)",
        bin.display()
    );
    bin
}

fn screenshot_dir() -> PathBuf {
    let dir = crate::target_dir().join("e2e-screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot folder");
    dir
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Kills a child and its process group (tauri-driver's WebKitWebDriver and the app) when
/// dropped, so a failing test leaves nothing running.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let group = format!("-{}", self.0.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// An X server, a tauri-driver and a home folder for the app (its recent list and demo project).
struct Desktop {
    home: tempfile::TempDir,
    display: String,
    _xvfb: Reaped,
}

impl Desktop {
    fn new() -> Desktop {
        let home = tempfile::tempdir().expect("temp home");
        // Xvfb picks a free display itself and writes its number to the given fd (here stdout).
        let mut xvfb = Command::new("Xvfb")
            .args([
                "-displayfd",
                "1",
                "-screen",
                "0",
                "1280x800x24",
                "-nolisten",
                "tcp",
            ])
            .process_group(0)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb runs (cargo xtask test installs it)");
        let mut out = xvfb.stdout.take().expect("Xvfb stdout");
        let mut number = String::new();
        let mut byte = [0u8; 1];
        while std::io::Read::read(&mut out, &mut byte).unwrap_or(0) == 1 && byte[0] != b'\n' {
            number.push(byte[0] as char);
        }
        assert!(!number.is_empty(), "Xvfb did not report its display");
        Desktop {
            home,
            display: format!(":{}", number.trim()),
            _xvfb: Reaped(xvfb),
        }
    }

    fn data_home(&self) -> PathBuf {
        self.home.path().join("data")
    }

    /// The demo project the app creates in its data folder.
    fn demo_project(&self) -> PathBuf {
        self.data_home()
            .join("org.clinitune.studio")
            .join("demo.clinitune")
    }

    /// Starts the app (with `args`) and a WebDriver session on it.
    async fn launch(&self, args: &[&str]) -> App {
        let port = free_port();
        let native = free_port();
        let driver = Command::new("tauri-driver")
            .args([
                "--port",
                &port.to_string(),
                "--native-port",
                &native.to_string(),
            ])
            .env("DISPLAY", &self.display)
            .env("XDG_DATA_HOME", self.data_home())
            .env("XDG_CONFIG_HOME", self.home.path().join("config"))
            .env("CLINITUNE_ANNOTATOR", "tester")
            .env_remove("CLINITUNE_PROJECT")
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("tauri-driver runs (cargo xtask test installs it)");
        let driver = Reaped(driver);
        let mut caps = serde_json::Map::new();
        caps.insert(
            "tauri:options".to_owned(),
            json!({ "application": app_bin(), "args": args }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        let client = loop {
            let builder =
                ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                    .capabilities(caps.clone())
                    .connect(&url)
                    .await;
            match builder {
                Ok(c) => break c,
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => panic!("no WebDriver session on the app: {e}"),
            }
        };
        let app = App {
            client,
            _driver: driver,
        };
        app.wait_css("header.topbar").await;
        app
    }
}

/// A running app with its WebDriver session.
struct App {
    client: Client,
    _driver: Reaped,
}

impl App {
    async fn wait_css(&self, css: &str) -> fantoccini::elements::Element {
        self.wait_until(css, |_| true).await
    }

    /// Waits (10 s at most) for an element matching `css` whose text satisfies `ok`.
    async fn wait_until(
        &self,
        css: &str,
        ok: impl Fn(&str) -> bool,
    ) -> fantoccini::elements::Element {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut last = String::from("(not found)");
        loop {
            if let Ok(found) = self.client.find_all(Locator::Css(css)).await {
                for el in found {
                    if let Ok(text) = el.text().await {
                        if ok(&text) {
                            return el;
                        }
                        last = text;
                    }
                }
            }
            if Instant::now() >= deadline {
                self.screenshot("failure.png").await;
                let source = self.client.source().await.unwrap_or_default();
                let logs = self
                    .client
                    .execute("return window.__clinituneErrors || []", vec![])
                    .await
                    .unwrap_or_default();
                panic!(
                    "timed out waiting for {css}; last text: {last:?}\npage errors: {logs}\npage: {}",
                    source.chars().take(3000).collect::<String>()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn attr(&self, css: &str, name: &str) -> Option<String> {
        let el = self.client.find(Locator::Css(css)).await.ok()?;
        el.attr(name).await.ok().flatten()
    }

    /// Waits until the save indicator says the last change is in the project file.
    async fn wait_saved(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.attr("#save-state", "data-state").await.as_deref() != Some("saved") {
            assert!(Instant::now() < deadline, "the change was never saved");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn keys(&self, css: &str, keys: &str) {
        let el = self.wait_css(css).await;
        el.send_keys(keys).await.expect("keys sent");
    }

    async fn click(&self, css: &str) {
        self.wait_css(css).await.click().await.expect("clicked");
    }

    async fn screenshot(&self, name: &str) {
        eprintln!("screenshot {name}");
        let png = self.client.screenshot().await.expect("screenshot");
        std::fs::write(screenshot_dir().join(name), png).expect("screenshot saved");
    }

    async fn close(self) {
        let _ = self.client.close().await;
    }
}

/// Spans and status of a note straight from the project file (not from the screen).
fn saved_spans(project: &Path, annotator: &str) -> Vec<(i64, String, i64, i64)> {
    let db =
        rusqlite::Connection::open_with_flags(project, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("project opens");
    let mut stmt = db
        .prepare(
            "SELECT s.note_id, l.name, s.start_byte, s.end_byte
             FROM span_annotations s
             JOIN labels l ON l.id = s.label_id
             JOIN annotators a ON a.id = s.annotator_id
             WHERE a.name = ?1 ORDER BY s.id",
        )
        .expect("query");
    stmt.query_map([annotator], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
    })
    .expect("rows")
    .map(|r| r.expect("row"))
    .collect()
}

fn note_status(project: &Path, note: i64) -> String {
    let db =
        rusqlite::Connection::open_with_flags(project, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("project opens");
    db.query_row("SELECT status FROM notes WHERE id = ?1", [note], |r| {
        r.get(0)
    })
    .expect("note status")
}

/// Opens the first note the search finds, by keyboard; returns its id.
async fn open_first_result(app: &App, search: &str) -> i64 {
    app.keys("#search", search).await;
    app.wait_until("#note-count", |t| t.ends_with("notes") && t != "2000 notes")
        .await;
    app.wait_css("#note-row-0 .note-id").await;
    app.keys("#search", &Key::Enter.to_string()).await;
    app.keys("#note-list", &Key::Enter.to_string()).await;
    let title = app
        .wait_until("#note-title", |t| t.starts_with("Note #"))
        .await;
    let text = title.text().await.expect("title");
    text.trim_start_matches("Note #").parse().expect("note id")
}

#[tokio::test(flavor = "current_thread")]
async fn app_annotates_by_keyboard_undoes_redoes_and_keeps_it_after_restart() {
    let desktop = Desktop::new();
    let app = desktop.launch(&[]).await;
    app.wait_until("#projects-title", |t| t == "Projects").await;
    app.screenshot("1-projects.png").await;

    // Open the demo project: the app creates it (2,000 notes) on first use.
    app.click("#open-demo").await;
    app.wait_until("#note-count", |t| t == "2000 notes").await;
    app.wait_css("#note-row-0 .note-id").await;
    app.screenshot("2-notes.png").await;

    // Search, open the first hit.
    let note = open_first_result(&app, "lives alone").await;
    app.screenshot("3-search-opened.png").await;
    let project = desktop.demo_project();
    assert!(saved_spans(&project, "tester").is_empty());

    // Select two words with the keyboard and label them HOUSING (hotkey h).
    // (WebDriver holds Shift down until the end of the call.)
    let keys = format!("{}{}{}{}", Key::Right, Key::Right, Key::Shift, Key::Right);
    app.keys("#note-text", &keys).await;
    app.keys("#note-text", "h").await;
    app.wait_until("#span-list .span-item[data-annotator=\"tester\"]", |t| {
        t.contains("HOUSING")
    })
    .await;
    app.wait_saved().await;
    let spans = saved_spans(&project, "tester");
    assert_eq!(spans.len(), 1, "{spans:?}");
    assert_eq!((spans[0].0, spans[0].1.as_str()), (note, "HOUSING"));
    let saved_span = spans[0].clone();
    app.screenshot("4-annotate.png").await;

    // Undo with u, redo with Ctrl+Shift+Z.
    app.keys("#note-text", "u").await;
    app.wait_saved().await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while !saved_spans(&project, "tester").is_empty() {
        assert!(Instant::now() < deadline, "undo did not remove the span");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let redo = format!("{}{}Z", Key::Control, Key::Shift);
    app.keys("#note-text", &redo).await;
    app.wait_until("#span-list .span-item[data-annotator=\"tester\"]", |t| {
        t.contains("HOUSING")
    })
    .await;
    app.wait_saved().await;
    assert_eq!(saved_spans(&project, "tester"), vec![saved_span.clone()]);

    // Mark done with d.
    app.keys("#note-text", "d").await;
    app.wait_until("#note-status", |t| t == "done").await;
    app.wait_saved().await;
    assert_eq!(note_status(&project, note), "done");

    // The shortcuts overlay, then the other pages.
    app.keys("#note-text", "?").await;
    app.wait_css("#help-title").await;
    app.screenshot("5-shortcuts.png").await;
    app.keys("#note-text", &Key::Escape.to_string()).await;
    app.click("#nav-schema").await;
    app.wait_until("#schema-title", |t| t == "Label schemas")
        .await;
    app.screenshot("6-schema.png").await;
    app.click("#nav-agreement").await;
    app.wait_css("#agreement-title").await;
    app.screenshot("7-agreement.png").await;
    app.close().await;

    // Restart: the demo project is in the recent list and the annotation is still there.
    let app = desktop.launch(&[]).await;
    let recent = app
        .wait_until(".recent button", |t| t.ends_with("demo.clinitune"))
        .await;
    recent.click().await.expect("open recent");
    app.wait_until("#note-count", |t| t == "2000 notes").await;
    let again = open_first_result(&app, "lives alone").await;
    assert_eq!(again, note);
    app.wait_until("#span-list .span-item[data-annotator=\"tester\"]", |t| {
        t.contains("HOUSING")
    })
    .await;
    app.wait_until("#note-status", |t| t == "done").await;
    app.close().await;
}

#[tokio::test(flavor = "current_thread")]
async fn app_killed_right_after_an_annotation_keystroke_keeps_the_annotation() {
    let desktop = Desktop::new();
    // Make the demo project through the app once, then start on it by path.
    let app = desktop.launch(&[]).await;
    app.click("#open-demo").await;
    app.wait_until("#note-count", |t| t == "2000 notes").await;
    app.close().await;
    let project = desktop.demo_project();
    let marker = project.to_string_lossy().into_owned();

    let app = desktop.launch(&["--project", &marker]).await;
    app.wait_until("#note-count", |t| t == "2000 notes").await;
    let note = open_first_result(&app, "unemployed").await;
    app.keys("#note-text", &format!("{}e", Key::Right)).await;
    app.wait_saved().await;
    // SIGKILL the app the moment the page says saved: no chance to flush anything.
    let killed = Command::new("pkill")
        .args([
            "-KILL",
            "-f",
            &format!("clinitune-studio --project {marker}"),
        ])
        .status()
        .expect("pkill runs");
    assert!(killed.success(), "the app process was not found");
    drop(app);

    let spans = saved_spans(&project, "tester");
    assert_eq!(spans.len(), 1, "{spans:?}");
    assert_eq!((spans[0].0, spans[0].1.as_str()), (note, "EMPLOYMENT"));
    let integrity: String = rusqlite::Connection::open(&project)
        .expect("opens")
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity check");
    assert_eq!(integrity, "ok");

    // And the restarted app shows it.
    let app = desktop.launch(&["--project", &marker]).await;
    let again = open_first_result(&app, "unemployed").await;
    assert_eq!(again, note);
    app.wait_until("#span-list .span-item[data-annotator=\"tester\"]", |t| {
        t.contains("EMPLOYMENT")
    })
    .await;
    app.close().await;
}
