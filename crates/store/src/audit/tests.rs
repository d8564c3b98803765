use super::*;
use crate::Store;

fn project() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::create(&dir.path().join("p.clinitune")).unwrap();
    (dir, store)
}

fn write(store: &mut Store, n: usize) {
    for i in 0..n {
        store
            .write(|tx| {
                tx.audit(
                    "ana",
                    "add_span",
                    "span",
                    Some(i as i64 + 10),
                    None,
                    &serde_json::json!({ "start": i }),
                )
            })
            .unwrap();
    }
}

/// Runs raw SQL past the append-only triggers, as someone editing the file would.
fn tamper(store: &mut Store, sql: &str) {
    store
        .write(|tx| {
            tx.conn()
                .execute_batch(&format!(
                    "DROP TRIGGER IF EXISTS audit_log_no_update; DROP TRIGGER IF EXISTS audit_log_no_delete; {sql}"
                ))
                .map_err(Error::sql("tampering"))
        })
        .unwrap();
}

fn entries(store: &Store) -> Vec<AuditEntry> {
    let mut all = Vec::new();
    store
        .db()
        .audit_entries(&mut |e| {
            all.push(e);
            Ok(())
        })
        .unwrap();
    all
}

#[test]
fn entries_chain_and_the_first_hash_is_sha256_of_its_fields() {
    let (_dir, mut store) = project();
    let before = entries(&store).len();
    write(&mut store, 3);
    let all = entries(&store);
    assert_eq!(all.len(), before + 3);
    let first = &all[before];
    // Worked out independently: SHA-256 of the previous hash's bytes, then this JSON array.
    let prev: Vec<u8> = all
        .get(before.wrapping_sub(1))
        .and_then(|e| e.hash.as_ref())
        .map(|h| {
            (0..h.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap())
                .collect()
        })
        .unwrap_or_default();
    let text = format!(
        "[{},\"{}\",\"ana\",\"add_span\",\"span\",10,null,\"{{\\\"start\\\":0}}\"]",
        first.id, first.at
    );
    let mut h = Sha256::new();
    h.update(&prev);
    h.update(text.as_bytes());
    assert_eq!(first.hash.as_deref(), Some(hex(&h.finalize()).as_str()));
    for pair in all.windows(2) {
        assert_eq!(pair[1].prev_hash, pair[0].hash);
    }
    let v = store.db().verify_audit().unwrap();
    assert!(v.intact, "{v:?}");
    assert_eq!((v.entries, v.chained), (all.len() as u64, all.len() as u64));
    assert_eq!(v.head, all.last().unwrap().hash);
}

#[test]
fn a_changed_entry_is_named() {
    let (_dir, mut store) = project();
    write(&mut store, 4);
    let target = entries(&store)[1].id;
    tamper(
        &mut store,
        &format!("UPDATE audit_log SET actor = 'mallory' WHERE id = {target}"),
    );
    let v = store.db().verify_audit().unwrap();
    assert!(!v.intact);
    let broken = v.first_broken.unwrap();
    assert_eq!(broken.id, target);
    assert!(broken.reason.contains("changed"), "{}", broken.reason);
}

#[test]
fn a_removed_entry_breaks_the_chain_at_the_next_one() {
    let (_dir, mut store) = project();
    write(&mut store, 4);
    let ids: Vec<i64> = entries(&store).iter().map(|e| e.id).collect();
    tamper(
        &mut store,
        &format!("DELETE FROM audit_log WHERE id = {}", ids[1]),
    );
    let broken = store.db().verify_audit().unwrap().first_broken.unwrap();
    assert_eq!(broken.id, ids[2]);
    assert!(broken.reason.contains("removed"), "{}", broken.reason);
}

#[test]
fn entries_from_before_the_chain_are_counted_and_a_hand_written_one_after_it_is_a_break() {
    let (_dir, mut store) = project();
    tamper(
        &mut store,
        "DELETE FROM audit_log;
         INSERT INTO audit_log (actor, action, entity) VALUES ('old', 'import', 'note');
         INSERT INTO audit_log (actor, action, entity) VALUES ('old', 'import', 'note');",
    );
    write(&mut store, 2);
    let v = store.db().verify_audit().unwrap();
    assert!(v.intact, "{v:?}");
    assert_eq!((v.entries, v.chained, v.before_chain), (4, 2, 2));
    tamper(
        &mut store,
        "INSERT INTO audit_log (actor, action, entity) VALUES ('x', 'add_span', 'span')",
    );
    let v = store.db().verify_audit().unwrap();
    let broken = v.first_broken.unwrap();
    assert_eq!(broken.id, 5);
    assert!(broken.reason.contains("no hash"), "{}", broken.reason);
}
