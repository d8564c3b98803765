//! Encrypted projects: the file is encrypted by SQLCipher (AES-256, a key derived from the
//! passphrase with PBKDF2), the write-ahead log too, so no note text is readable in either.
//! The passphrases this process was given are kept in memory by project file, so every
//! connection the process opens (searches, imports and training run on their own) finds its
//! key; they are zeroed when forgotten or at exit of their holder.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// A passphrase, wiped from memory when dropped.
pub type Passphrase = Zeroizing<String>;

/// The first bytes of every unencrypted SQLite file.
const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// Shortest passphrase accepted for a new key.
pub const MIN_PASSPHRASE_CHARS: usize = 8;

static KEYS: Mutex<Vec<(PathBuf, Passphrase)>> = Mutex::new(Vec::new());

fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned())
}

/// Whether the project file at `path` is encrypted: a file of whole database pages (SQLCipher
/// writes at least two of 4 KiB) that does not start with SQLite's plain header. A text file or
/// anything else is "not encrypted", and is then refused as not a project.
pub fn is_encrypted(path: &Path) -> Result<bool> {
    let len = std::fs::metadata(path)
        .map_err(|source| Error::Io {
            action: "read",
            path: path.to_owned(),
            source,
        })?
        .len();
    if len < 1024 || len % 512 != 0 {
        return Ok(false);
    }
    let mut head = [0u8; 16];
    let mut file = std::fs::File::open(path).map_err(|source| Error::Io {
        action: "read",
        path: path.to_owned(),
        source,
    })?;
    let mut read = 0;
    while read < head.len() {
        match file.read(&mut head[read..]) {
            Ok(0) => break,
            Ok(n) => read += n,
            Err(source) => {
                return Err(Error::Io {
                    action: "read",
                    path: path.to_owned(),
                    source,
                });
            }
        }
    }
    Ok(read == head.len() && &head != SQLITE_HEADER)
}

/// Keeps `passphrase` for the project at `path`, for every connection this process opens to it.
pub fn remember_passphrase(path: &Path, passphrase: Passphrase) {
    let path = canonical(path);
    let mut keys = KEYS.lock().unwrap_or_else(|p| p.into_inner());
    keys.retain(|(p, _)| *p != path);
    keys.push((path, passphrase));
}

/// Forgets (and wipes) the passphrase of the project at `path`.
pub fn forget_passphrase(path: &Path) {
    let path = canonical(path);
    let mut keys = KEYS.lock().unwrap_or_else(|p| p.into_inner());
    keys.retain(|(p, _)| *p != path);
}

/// The passphrase given for `path`, if any.
pub(crate) fn passphrase_for(path: &Path) -> Option<Passphrase> {
    let path = canonical(path);
    let keys = KEYS.lock().unwrap_or_else(|p| p.into_inner());
    keys.iter()
        .find(|(p, _)| *p == path)
        .map(|(_, k)| k.clone())
}

/// Refuses passphrases too short to protect anything.
pub fn check_new_passphrase(passphrase: &str) -> Result<()> {
    if passphrase.chars().count() < MIN_PASSPHRASE_CHARS {
        return Err(Error::Invalid(format!(
            "a passphrase needs at least {MIN_PASSPHRASE_CHARS} characters"
        )));
    }
    Ok(())
}

/// Applies the key to a connection: it must be the first statement on it.
pub(crate) fn apply(conn: &rusqlite::Connection, path: &Path, key: &str) -> Result<()> {
    // SQLCipher's own log would print decryption failures (a wrong passphrase) to stderr; the
    // error this crate returns says it better.
    let _ = conn.pragma_update(None, "cipher_log_level", "NONE");
    conn.pragma_update(None, "key", key)
        .map_err(|source| Error::Open {
            path: path.to_owned(),
            source,
        })
}

#[cfg(test)]
mod tests;
