//! The audit log as a hash chain: each entry is written with the SHA-256 of the entry before
//! it and its own hash over that link and its fields, inside the caller's transaction (so
//! entries are chained in commit order). Verification walks the log and names the first entry
//! that was changed, removed from the middle or inserted by hand. Entries removed from the end
//! leave no trace in a chain; the last hash is reported so that it can be kept elsewhere.

use api::{AuditBreak, AuditEntry, AuditVerification, NoteId};
use rusqlite::{OptionalExtension, params};
use sha2::{Digest, Sha256};

use crate::db::{Db, Tx};
use crate::error::{Error, Result};

/// The stored fields of one entry, as hashed.
struct Row {
    id: i64,
    at: String,
    actor: String,
    action: String,
    entity: String,
    entity_id: Option<i64>,
    note_id: Option<i64>,
    detail: String,
    prev_hash: Option<Vec<u8>>,
    hash: Option<Vec<u8>>,
}

impl Row {
    fn read(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
        Ok(Row {
            id: r.get(0)?,
            at: r.get(1)?,
            actor: r.get(2)?,
            action: r.get(3)?,
            entity: r.get(4)?,
            entity_id: r.get(5)?,
            note_id: r.get(6)?,
            detail: r.get(7)?,
            prev_hash: r.get(8)?,
            hash: r.get(9)?,
        })
    }

    /// SHA-256 over the link to the entry before and the fields, as a JSON array (the
    /// detail as stored), so no two different entries hash the same input.
    fn digest(&self, prev: Option<&[u8]>) -> Vec<u8> {
        let fields = serde_json::json!([
            self.id,
            self.at,
            self.actor,
            self.action,
            self.entity,
            self.entity_id,
            self.note_id,
            self.detail
        ]);
        let mut h = Sha256::new();
        h.update(prev.unwrap_or_default());
        h.update(fields.to_string().as_bytes());
        h.finalize().to_vec()
    }
}

const COLUMNS: &str = "id, at, actor, action, entity, entity_id, note_id, detail, prev_hash, hash";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Tx<'_> {
    /// Appends to the audit log: who did what to which entity, as ids and numbers only,
    /// chained to the entry before.
    pub fn audit(
        &self,
        actor: &str,
        action: &str,
        entity: &str,
        entity_id: Option<i64>,
        note: Option<NoteId>,
        detail: &serde_json::Value,
    ) -> Result<()> {
        self.audit_at(None, actor, action, entity, entity_id, note, detail)
    }

    /// [`Tx::audit`] with the time given (an entry carried over from another project keeps
    /// its own), else now.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn audit_at(
        &self,
        at: Option<&str>,
        actor: &str,
        action: &str,
        entity: &str,
        entity_id: Option<i64>,
        note: Option<NoteId>,
        detail: &serde_json::Value,
    ) -> Result<()> {
        let last: Option<(i64, Option<Vec<u8>>)> = self
            .conn()
            .prepare_cached("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1")
            .and_then(|mut s| s.query_row([], |r| Ok((r.get(0)?, r.get(1)?))).optional())
            .map_err(Error::sql("reading the audit log"))?;
        let at: String = match at {
            Some(at) => at.to_owned(),
            None => self
                .conn()
                .query_row("SELECT strftime('%Y-%m-%dT%H:%M:%fZ', 'now')", [], |r| {
                    r.get(0)
                })
                .map_err(Error::sql("reading the clock"))?,
        };
        let (last_id, prev_hash) = last.unwrap_or((0, None));
        let row = Row {
            id: last_id + 1,
            at,
            actor: actor.to_owned(),
            action: action.to_owned(),
            entity: entity.to_owned(),
            entity_id,
            note_id: note.map(|n| n.0),
            detail: detail.to_string(),
            prev_hash,
            hash: None,
        };
        let hash = row.digest(row.prev_hash.as_deref());
        self.conn()
            .prepare_cached(
                "INSERT INTO audit_log (id, at, actor, action, entity, entity_id, note_id,
                     detail, prev_hash, hash)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    row.id,
                    row.at,
                    row.actor,
                    row.action,
                    row.entity,
                    row.entity_id,
                    row.note_id,
                    row.detail,
                    row.prev_hash,
                    hash
                ])
            })
            .map_err(Error::sql("writing the audit log"))?;
        Ok(())
    }
}

impl Db<'_> {
    /// Every audit entry, oldest first, handed to `each` one at a time (the log can be long).
    pub fn audit_entries(&self, each: &mut dyn FnMut(AuditEntry) -> Result<()>) -> Result<()> {
        let sql = format!("SELECT {COLUMNS} FROM audit_log ORDER BY id");
        let mut stmt = self
            .conn
            .prepare(&sql)
            .map_err(Error::sql("reading the audit log"))?;
        let rows = stmt
            .query_map([], Row::read)
            .map_err(Error::sql("reading the audit log"))?;
        for row in rows {
            let row = row.map_err(Error::sql("reading the audit log"))?;
            let detail = serde_json::from_str(&row.detail).map_err(|e| {
                Error::Invalid(format!(
                    "audit entry {} cannot be read: its detail is not JSON ({e})",
                    row.id
                ))
            })?;
            each(AuditEntry {
                id: row.id,
                at: row.at,
                actor: row.actor,
                action: row.action,
                entity: row.entity,
                entity_id: row.entity_id,
                note_id: row.note_id,
                detail,
                prev_hash: row.prev_hash.as_deref().map(hex),
                hash: row.hash.as_deref().map(hex),
            })?;
        }
        Ok(())
    }

    /// Walks the chain: every chained entry must link to the hash of the entry before it and
    /// match its own hash; entries before the first chained one (older versions) are counted
    /// as not covered; an unchained entry after it is a break.
    pub fn verify_audit(&self) -> Result<AuditVerification> {
        let sql = format!("SELECT {COLUMNS} FROM audit_log ORDER BY id");
        let mut stmt = self
            .conn
            .prepare(&sql)
            .map_err(Error::sql("reading the audit log"))?;
        let rows = stmt
            .query_map([], Row::read)
            .map_err(Error::sql("reading the audit log"))?;
        let mut v = AuditVerification {
            entries: 0,
            chained: 0,
            before_chain: 0,
            intact: true,
            first_broken: None,
            head: None,
        };
        // The hash of the last chained entry, and the id before this one.
        let mut prev: Option<Vec<u8>> = None;
        let mut last_id: Option<i64> = None;
        for row in rows {
            let row = row.map_err(Error::sql("reading the audit log"))?;
            v.entries += 1;
            let broken = match (&row.hash, &prev) {
                (None, None) => {
                    v.before_chain += 1;
                    None
                }
                (None, Some(_)) => Some(
                    "it has no hash although entries before it are chained: it was not \
                     written by Clinitune"
                        .to_owned(),
                ),
                (Some(hash), _) => {
                    v.chained += 1;
                    if row.prev_hash != prev {
                        Some(match last_id {
                            Some(before) if before + 1 != row.id => format!(
                                "it does not link to entry {before}: entries between were \
                                 removed"
                            ),
                            Some(before) => format!(
                                "it does not link to entry {before}: that entry was changed, \
                                 or an entry was removed or inserted before it"
                            ),
                            None => "it links to an entry that is no longer in the log".to_owned(),
                        })
                    } else if *hash != row.digest(prev.as_deref()) {
                        Some("its content does not match its hash: it was changed".to_owned())
                    } else {
                        None
                    }
                }
            };
            if let Some(reason) = broken
                && v.first_broken.is_none()
            {
                v.intact = false;
                v.first_broken = Some(AuditBreak { id: row.id, reason });
            }
            if let Some(hash) = row.hash {
                prev = Some(hash);
            }
            last_id = Some(row.id);
        }
        v.head = prev.as_deref().map(hex);
        Ok(v)
    }
}

#[cfg(test)]
mod tests;
