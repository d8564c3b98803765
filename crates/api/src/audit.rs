//! The project's audit log as `clinitune audit export` writes it and what `clinitune audit
//! verify` finds: a hash chain over who did what to which entity, never note text.

use serde::{Deserialize, Serialize};

/// One audit entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Its position in the log (1, 2, …).
    pub id: i64,
    /// When (UTC, ISO 8601 with milliseconds).
    pub at: String,
    /// Who: an annotator's name, or `model:<adapter>`.
    pub actor: String,
    /// What was done (`add_span`, `edit_output`, `evaluate`…).
    pub action: String,
    /// The kind of thing it was done to.
    pub entity: String,
    /// Its id, when it has one.
    pub entity_id: Option<i64>,
    /// The note concerned, when one is.
    pub note_id: Option<i64>,
    /// Ids, counts and offsets (JSON); never note text.
    pub detail: serde_json::Value,
    /// SHA-256 (hex) of the entry before it in the chain; `None` for the first chained entry
    /// and for entries written before the chain existed.
    pub prev_hash: Option<String>,
    /// SHA-256 (hex) over `prev_hash` and the fields above; `None` for entries written before
    /// the chain existed.
    pub hash: Option<String>,
}

/// What checking the chain found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditVerification {
    /// Entries in the log.
    pub entries: u64,
    /// Entries covered by the chain.
    pub chained: u64,
    /// Entries written before the chain existed (older versions), not covered.
    pub before_chain: u64,
    /// Whether every chained entry matches its hash and links to the one before.
    pub intact: bool,
    /// The first entry that does not, and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_broken: Option<AuditBreak>,
    /// The last entry's hash: keep it to notice entries later removed from the end, which a
    /// chain alone cannot show.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head: Option<String>,
}

/// Where and why the chain breaks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditBreak {
    /// The entry.
    pub id: i64,
    /// What does not match.
    pub reason: String,
}
