//! Passphrases of encrypted projects, for the CLI and the app: whether a file needs one, and
//! giving it to this process (kept in memory by file, wiped when forgotten). The encryption
//! itself lives in `store` (SQLCipher).

pub use store::{
    MIN_PASSPHRASE_CHARS, Passphrase, check_new_passphrase, forget_passphrase, is_encrypted,
    remember_passphrase,
};
