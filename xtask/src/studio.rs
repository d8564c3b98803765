//! Building and starting the desktop app: the Leptos UI (wasm32 + wasm-bindgen) into
//! `ui/dist`, then the Tauri shell `clinitune-studio`, which embeds it.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context;

use crate::{cargo, root, run, target_dir};

/// Debian packages the app and its end-to-end tests need (Tauri's WebKitGTK, the WebDriver
/// for it, an X server without a desktop, and strace, which proves the CLI opens no network
/// socket).
const APT_PACKAGES: &[&str] = &[
    "libwebkit2gtk-4.1-dev",
    "libgtk-3-dev",
    "librsvg2-dev",
    "libsoup-3.0-dev",
    "webkit2gtk-driver",
    "xvfb",
    "xauth",
    "strace",
];

/// The tauri-driver release the end-to-end tests use.
const TAURI_DRIVER_VERSION: &str = "2.1.0";

/// `cargo xtask studio [--build-only]`.
pub fn studio(args: &[String]) -> anyhow::Result<()> {
    crate::setup()?;
    let bin = build()?;
    if args.iter().any(|a| a == "--build-only") {
        println!("{}", bin.display());
        return Ok(());
    }
    if args.iter().any(|a| a == "--bundle") {
        let deb = bundle_deb(&bin)?;
        println!("{}", deb.display());
        return Ok(());
    }
    let project = crate::demo_project()?;
    let mut cmd = Command::new(&bin);
    cmd.env("CLINITUNE_PROJECT", &project);
    // The first start drafts outputs for the first notes, so the review loop can be shown at once.
    cmd.env("CLINITUNE_DEMO", "1");
    let has_display = ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|d| !d.is_empty()));
    // On a machine with no display (a server, CI) the app runs on a virtual X server.
    let _xvfb = if has_display {
        None
    } else {
        let (xvfb, display) = start_xvfb()?;
        eprintln!("xtask: no display; the app runs on Xvfb {display} (Ctrl+C to stop)");
        cmd.env("DISPLAY", display);
        Some(KillOnDrop(xvfb))
    };
    eprintln!("xtask: starting {} on {}", bin.display(), project.display());
    run(cmd)
}

/// Kills the child when dropped.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts Xvfb on a free display; returns it and the display name (`:N`).
fn start_xvfb() -> anyhow::Result<(std::process::Child, String)> {
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
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .context("cannot start Xvfb")?;
    let mut number = String::new();
    if let Some(out) = xvfb.stdout.as_mut() {
        let mut byte = [0u8; 1];
        while std::io::Read::read(out, &mut byte).unwrap_or(0) == 1 && byte[0] != b'\n' {
            number.push(char::from(byte[0]));
        }
    }
    if number.trim().is_empty() {
        let _ = xvfb.kill();
        anyhow::bail!("Xvfb did not report a display");
    }
    Ok((xvfb, format!(":{}", number.trim())))
}

/// Installs what the app needs, builds the UI and the release app; returns the binary.
pub fn build() -> anyhow::Result<PathBuf> {
    setup_app()?;
    build_ui()?;
    run(cargo(&[
        "build",
        "--release",
        "--locked",
        "--package",
        "clinitune-studio",
    ]))?;
    Ok(app_binary())
}

/// Where `build` puts the release app.
pub fn app_binary() -> PathBuf {
    target_dir().join("release").join("clinitune-studio")
}

/// System packages, the wasm target, wasm-bindgen and tauri-driver, each only when missing.
pub fn setup_app() -> anyhow::Result<()> {
    let missing: Vec<&str> = APT_PACKAGES
        .iter()
        .copied()
        .filter(|p| !dpkg_installed(p))
        .collect();
    if !missing.is_empty() {
        let sudo = !is_root();
        let apt = |args: &[&str]| {
            let mut cmd = Command::new(if sudo { "sudo" } else { "apt-get" });
            if sudo {
                cmd.arg("apt-get");
            }
            cmd.args(args).env("DEBIAN_FRONTEND", "noninteractive");
            cmd
        };
        run(apt(&["update", "-qq"]))?;
        let mut install = vec!["install", "-y", "-qq", "--no-install-recommends"];
        install.extend(&missing);
        run(apt(&install))?;
    }
    let targets = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .context("cannot run rustup")?;
    if !String::from_utf8_lossy(&targets.stdout).contains("wasm32-unknown-unknown") {
        let mut cmd = Command::new("rustup");
        cmd.args(["target", "add", "wasm32-unknown-unknown"]);
        run(cmd)?;
    }
    let bindgen = locked_version(&root().join("ui/Cargo.lock"), "wasm-bindgen")?;
    ensure_tool("wasm-bindgen", "wasm-bindgen-cli", &bindgen)?;
    ensure_tool("tauri-driver", "tauri-driver", TAURI_DRIVER_VERSION)?;
    Ok(())
}

/// Builds the UI into `ui/dist` (wasm, its JS glue, the page and styles).
pub fn build_ui() -> anyhow::Result<()> {
    let ui = root().join("ui");
    let manifest = ui.join("Cargo.toml");
    run(cargo(&[
        "build",
        "--release",
        "--locked",
        "--target",
        "wasm32-unknown-unknown",
        "--manifest-path",
        &manifest.to_string_lossy(),
    ]))?;
    let wasm = target_dir().join("wasm32-unknown-unknown/release/ui.wasm");
    // wasm-bindgen writes to a staging folder; only changed files reach ui/dist, because the
    // app embeds ui/dist and any new timestamp there rebuilds it.
    let staging = target_dir().join("ui-dist-staging");
    std::fs::create_dir_all(&staging)
        .with_context(|| format!("cannot create {}", staging.display()))?;
    let mut bindgen = Command::new("wasm-bindgen");
    bindgen
        .args([
            "--target",
            "web",
            "--no-typescript",
            "--out-name",
            "ui",
            "--out-dir",
        ])
        .arg(&staging)
        .arg(&wasm);
    run(bindgen)?;
    let dist = ui.join("dist");
    std::fs::create_dir_all(&dist).with_context(|| format!("cannot create {}", dist.display()))?;
    copy_changed(&staging, &dist)?;
    copy_changed(&ui.join("static"), &dist)?;
    // The placeholder page the app's build script writes before the UI exists is replaced above.
    Ok(())
}

/// Copies the files of `from` into `to`, leaving identical ones (and their timestamps) alone.
fn copy_changed(from: &Path, to: &Path) -> anyhow::Result<()> {
    for entry in
        std::fs::read_dir(from).with_context(|| format!("cannot read {}", from.display()))?
    {
        let entry = entry?;
        if !entry.file_type()?.is_file() {
            continue;
        }
        let target = to.join(entry.file_name());
        let new = std::fs::read(entry.path())?;
        if std::fs::read(&target).ok().as_deref() != Some(new.as_slice()) {
            std::fs::write(&target, new)
                .with_context(|| format!("cannot write {}", target.display()))?;
        }
    }
    Ok(())
}

fn dpkg_installed(package: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", package])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
        .unwrap_or(false)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Installs `crate_name` at `version` with cargo unless `tool --version` already says it.
fn ensure_tool(tool: &str, crate_name: &str, version: &str) -> anyhow::Result<()> {
    let have = Command::new(tool)
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains(version))
        .unwrap_or(false);
    if !have {
        // Not --locked: the registry mirror may lack the exact versions its lock file names.
        let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()));
        cmd.args(["install", crate_name, "--version", version]);
        run(cmd)?;
    }
    Ok(())
}

/// The version of `package` in a Cargo.lock.
fn locked_version(lock: &Path, package: &str) -> anyhow::Result<String> {
    let text =
        std::fs::read_to_string(lock).with_context(|| format!("cannot read {}", lock.display()))?;
    let parsed: toml::Value = toml::from_str(&text)?;
    parsed
        .get("package")
        .and_then(toml::Value::as_array)
        .into_iter()
        .flatten()
        .find(|p| p.get("name").and_then(toml::Value::as_str) == Some(package))
        .and_then(|p| p.get("version").and_then(toml::Value::as_str))
        .map(str::to_owned)
        .with_context(|| format!("{package} is not in {}", lock.display()))
}

/// Packs the release app into a Debian package (binary, desktop entry, icon) with dpkg-deb;
/// returns its path under `<target>/release/bundle/deb/`.
fn bundle_deb(bin: &Path) -> anyhow::Result<PathBuf> {
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root().join("tauri.conf.json"))?)?;
    let version = config["version"].as_str().unwrap_or("0.1.0");
    let summary = config["bundle"]["shortDescription"]
        .as_str()
        .unwrap_or("Clinitune");
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    let out = target_dir().join("release/bundle/deb");
    let stage = out.join(format!("clinitune-studio_{version}_{arch}"));
    if stage.exists() {
        std::fs::remove_dir_all(&stage)?;
    }
    let put = |rel: &str, bytes: &[u8]| -> anyhow::Result<()> {
        let path = stage.join(rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&path, bytes).with_context(|| format!("cannot write {}", path.display()))
    };
    put("usr/bin/clinitune-studio", &std::fs::read(bin)?)?;
    put(
        "usr/share/icons/hicolor/256x256/apps/clinitune-studio.png",
        &std::fs::read(root().join("assets/icons/icon.png"))?,
    )?;
    put(
        "usr/share/applications/clinitune-studio.desktop",
        format!(
            "[Desktop Entry]\nType=Application\nName=Clinitune\nComment={summary}\n\
             Exec=clinitune-studio\nIcon=clinitune-studio\nCategories=Utility;Science;\n\
             Terminal=false\n"
        )
        .as_bytes(),
    )?;
    put(
        "DEBIAN/control",
        format!(
            "Package: clinitune-studio\nVersion: {version}\nArchitecture: {arch}\n\
             Maintainer: Clinitune developers\n\
             Depends: libwebkit2gtk-4.1-0, libgtk-3-0\nSection: science\nPriority: optional\n\
             Description: {summary}\n Offline desktop studio for clinical note annotation.\n"
        )
        .as_bytes(),
    )?;
    // The release profile keeps line tables for backtraces; the package does not need them.
    let mut strip = Command::new("strip");
    strip
        .arg("--strip-debug")
        .arg(stage.join("usr/bin/clinitune-studio"));
    run(strip)?;
    let mut chmod = Command::new("chmod");
    chmod
        .args(["0755"])
        .arg(stage.join("usr/bin/clinitune-studio"));
    run(chmod)?;
    let deb = out.join(format!("clinitune-studio_{version}_{arch}.deb"));
    let mut pack = Command::new("dpkg-deb");
    pack.args(["--root-owner-group", "--build"])
        .arg(&stage)
        .arg(&deb);
    run(pack)?;
    Ok(deb)
}
