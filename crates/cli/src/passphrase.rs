//! Passphrases of encrypted projects on the command line: from `$CLINITUNE_PASSPHRASE` (for
//! scripts) or typed at a prompt that does not echo — never a command-line argument, which
//! would stay in the shell history and the process list.

use std::path::Path;

use anyhow::{Context, bail};
use studio::keys::{self, Passphrase};

/// The environment variable scripts give the passphrase in.
pub const ENV: &str = "CLINITUNE_PASSPHRASE";
/// The environment variable `rekey` reads the new passphrase from, for scripts.
pub const NEW_ENV: &str = "CLINITUNE_NEW_PASSPHRASE";
/// Set (to anything) by scripts that must fail rather than wait at a prompt.
pub const NO_PROMPT_ENV: &str = "CLINITUNE_NO_PROMPT";

/// When `path` is an encrypted project, gets its passphrase (environment, else a prompt) and
/// gives it to this process; a plain or missing file needs nothing.
pub fn unlock(path: &Path) -> anyhow::Result<()> {
    if !path.is_file() || !keys::is_encrypted(path).unwrap_or(false) {
        return Ok(());
    }
    let passphrase = match std::env::var(ENV) {
        Ok(p) if !p.is_empty() => Passphrase::new(p),
        _ => prompt(&format!("Passphrase for {}: ", path.display()))?,
    };
    keys::remember_passphrase(path, passphrase);
    Ok(())
}

/// A new passphrase: from `env`, else typed twice at the prompt; checked for length.
pub fn new_passphrase(env: &str, what: &str) -> anyhow::Result<Passphrase> {
    let passphrase = match std::env::var(env) {
        Ok(p) if !p.is_empty() => Passphrase::new(p),
        _ => {
            let first = prompt(&format!("{what}: "))?;
            let again = prompt("Type it again: ")?;
            if *first != *again {
                bail!("the two passphrases differ; nothing was changed");
            }
            first
        }
    };
    keys::check_new_passphrase(&passphrase).map_err(|e| crate::api(studio::Error::from(e)))?;
    Ok(passphrase)
}

fn prompt(text: &str) -> anyhow::Result<Passphrase> {
    if std::env::var_os(NO_PROMPT_ENV).is_some() {
        bail!("the project is encrypted and no passphrase was given; set {ENV}");
    }
    rpassword::prompt_password(text)
        .map(Passphrase::new)
        .with_context(|| {
            format!(
                "the project is encrypted and no terminal is there to type its passphrase; set \
                 {ENV} for scripts"
            )
        })
}
