//! The audit trail: checking the project's hash-chained audit log and writing it out as JSON
//! Lines (`clinitune audit verify|export`). Entries hold ids, counts and offsets, never note
//! text, so an export can leave the machine for a compliance review.

use std::io::Write;

use api::AuditVerification;

use crate::Error;
use crate::project::Project;

/// Checks every entry against its hash and its link to the entry before.
pub fn verify(project: &Project) -> Result<AuditVerification, Error> {
    Ok(project.store.db().verify_audit()?)
}

/// Writes every entry, oldest first, one JSON object per line; returns how many.
pub fn export(project: &Project, out: &mut dyn Write) -> Result<u64, Error> {
    let mut written = 0u64;
    let mut failed: Option<std::io::Error> = None;
    project
        .store
        .db()
        .audit_entries(&mut |entry| {
            let line = serde_json::to_string(&entry)
                .map_err(|e| store::Error::Invalid(format!("audit entry {}: {e}", entry.id)))?;
            if let Err(e) = writeln!(out, "{line}") {
                failed = Some(e);
                return Err(store::Error::Invalid(
                    "the audit export could not be written".into(),
                ));
            }
            written += 1;
            Ok(())
        })
        .map_err(|e| match failed.take() {
            Some(source) => Error::Io {
                action: "write",
                path: "the audit export".into(),
                source,
            },
            None => Error::from(e),
        })?;
    Ok(written)
}
