//! The desktop app under test: an X server (Xvfb), tauri-driver in front of WebKitWebDriver,
//! and a WebDriver session on the release `clinitune-studio`. Shared by the end-to-end tests
//! (`it/app.rs`) and the app benchmark (`benches/app.rs`).

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

/// The release app `cargo xtask studio --build-only` (and `cargo xtask test`) builds.
pub fn app_bin() -> PathBuf {
    let bin = std::env::var_os("CLINITUNE_STUDIO_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| super::target_dir().join("release").join("clinitune-studio"));
    assert!(
        bin.exists(),
        "the desktop app is not built at {}: run `cargo xtask studio --build-only` \
         (or `cargo xtask test`, which builds it first)",
        bin.display()
    );
    bin
}

fn screenshot_dir() -> PathBuf {
    let dir = super::target_dir().join("e2e-screenshots");
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
pub struct Desktop {
    home: tempfile::TempDir,
    display: String,
    _xvfb: Reaped,
}

impl Desktop {
    pub fn new() -> Desktop {
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

    pub fn data_home(&self) -> PathBuf {
        self.home.path().join("data")
    }

    /// The demo project the app creates in its data folder.
    pub fn demo_project(&self) -> PathBuf {
        self.data_home()
            .join("org.clinitune.studio")
            .join("demo.clinitune")
    }

    /// Starts the app (with `args`) and a WebDriver session on it.
    pub async fn launch(&self, args: &[&str]) -> App {
        self.launch_with(args, &[]).await
    }

    /// [`Desktop::launch`] with extra environment variables for the app (e.g. the model).
    pub async fn launch_with(&self, args: &[&str], envs: &[(&str, &str)]) -> App {
        self.launch_program(&app_bin(), args, envs).await
    }

    /// [`Desktop::launch_with`] through another program that runs the app (a tracing wrapper).
    pub async fn launch_program(
        &self,
        program: &std::path::Path,
        args: &[&str],
        envs: &[(&str, &str)],
    ) -> App {
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
            .env_remove("CLINITUNE_PAGE")
            .env_remove("CLINITUNE_MODEL")
            .envs(envs.iter().copied())
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("tauri-driver runs (cargo xtask test installs it)");
        let driver = Reaped(driver);
        let mut caps = serde_json::Map::new();
        caps.insert(
            "tauri:options".to_owned(),
            json!({ "application": program, "args": args }),
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
pub struct App {
    pub client: Client,
    _driver: Reaped,
}

impl App {
    pub async fn wait_css(&self, css: &str) -> fantoccini::elements::Element {
        self.wait_until(css, |_| true).await
    }

    /// Waits (10 s at most) for an element matching `css` whose text satisfies `ok`.
    pub async fn wait_until(
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

    pub async fn attr(&self, css: &str, name: &str) -> Option<String> {
        let el = self.client.find(Locator::Css(css)).await.ok()?;
        el.attr(name).await.ok().flatten()
    }

    /// Waits until the save indicator says the last change is in the project file.
    pub async fn wait_saved(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.attr("#save-state", "data-state").await.as_deref() != Some("saved") {
            assert!(Instant::now() < deadline, "the change was never saved");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn keys(&self, css: &str, keys: &str) {
        let el = self.wait_css(css).await;
        el.send_keys(keys).await.expect("keys sent");
    }

    pub async fn click(&self, css: &str) {
        self.wait_css(css).await.click().await.expect("clicked");
    }

    pub async fn screenshot(&self, name: &str) {
        // Let the page paint what the DOM already holds (two frames), or the shot is stale.
        let _ = self
            .client
            .execute_async(
                "const done = arguments[0]; requestAnimationFrame(() => requestAnimationFrame(() => done(true)));",
                vec![],
            )
            .await;
        tokio::time::sleep(Duration::from_millis(150)).await;
        let png = self.client.screenshot().await.expect("screenshot");
        std::fs::write(screenshot_dir().join(name), png).expect("screenshot saved");
    }

    /// Keys to whatever has the focus, as a keyboard sends them (not to a chosen element).
    pub async fn type_keys(&self, keys: &str) {
        self.client
            .active_element()
            .await
            .expect("a focused element")
            .send_keys(keys)
            .await
            .expect("keys sent");
    }

    /// Presses the theme button (the one mouse action of the end-to-end tests: the theme is not
    /// part of any loop) and waits until the page has `theme`. Up to 30 s: a run training on
    /// every core may keep the page from answering sooner.
    pub async fn switch_theme(&self, theme: &str) {
        self.click("button.theme").await;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let now = self
                .client
                .execute("return document.documentElement.dataset.theme", vec![])
                .await
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned));
            if now.as_deref() == Some(theme) {
                return;
            }
            assert!(Instant::now() < deadline, "the theme did not switch");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}
