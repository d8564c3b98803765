use super::*;
use crate::{NewNote, Store};

const TEXT: &str = "Pt lives alone above the bakery on Quince Street.";

fn note() -> NewNote {
    NewNote {
        external_id: Some("n1".to_owned()),
        text: TEXT.to_owned(),
        ..NewNote::default()
    }
}

fn bytes_of(path: &Path) -> Vec<u8> {
    let mut all = std::fs::read(path).unwrap();
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    if let Ok(w) = std::fs::read(PathBuf::from(wal)) {
        all.extend(w);
    }
    all
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[test]
fn an_encrypted_project_shows_no_text_needs_its_passphrase_and_can_be_rekeyed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secret.clinitune");
    let pass = || Passphrase::new("correct horse battery".to_owned());
    let mut store = Store::create_with_key(&path, Some(pass()), Ok::<Store, Error>).unwrap();
    store.write(|tx| tx.insert_note(&note())).unwrap();
    assert!(is_encrypted(&path).unwrap());
    // Neither the file nor its write-ahead log holds the note's words.
    let raw = bytes_of(&path);
    assert!(!contains(&raw, "Quince Street") && !contains(&raw, "bakery"));
    assert!(!contains(&raw, "SQLite format 3"));
    drop(store);

    // This process knows the passphrase: it opens.
    assert_eq!(
        Store::open(&path).unwrap().db().note_ids().unwrap().len(),
        1
    );
    // Without it: a clear error, not "not a project".
    forget_passphrase(&path);
    assert!(matches!(Store::open(&path), Err(Error::Encrypted { .. })));
    // With a wrong one: said so, and nothing written.
    let before = std::fs::read(&path).unwrap();
    remember_passphrase(&path, Passphrase::new("wrong horse battery".to_owned()));
    assert!(matches!(
        Store::open(&path),
        Err(Error::WrongPassphrase { .. })
    ));
    assert_eq!(std::fs::read(&path).unwrap(), before);

    // Rekey: the old passphrase no longer opens it, the new one does.
    remember_passphrase(&path, pass());
    let mut store = Store::open(&path).unwrap();
    store
        .rekey(Passphrase::new("a brand new passphrase".to_owned()))
        .unwrap();
    drop(store);
    remember_passphrase(&path, pass());
    assert!(matches!(
        Store::open(&path),
        Err(Error::WrongPassphrase { .. })
    ));
    remember_passphrase(&path, Passphrase::new("a brand new passphrase".to_owned()));
    let store = Store::open(&path).unwrap();
    assert_eq!(store.db().note_ids().unwrap().len(), 1);
    assert!(!contains(&bytes_of(&path), "Quince Street"));
}

#[test]
fn plain_projects_stay_plain_and_short_passphrases_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain.clinitune");
    let mut store = Store::create(&plain).unwrap();
    store.write(|tx| tx.insert_note(&note())).unwrap();
    assert!(!is_encrypted(&plain).unwrap());
    assert!(
        store
            .rekey(Passphrase::new("long enough passphrase".to_owned()))
            .is_err()
    );
    let short = dir.path().join("short.clinitune");
    let err = Store::create_with_key(
        &short,
        Some(Passphrase::new("abc".to_owned())),
        Ok::<Store, Error>,
    )
    .err()
    .unwrap()
    .to_string();
    assert!(err.contains("at least 8 characters"), "{err}");
    assert!(!short.exists());
}
