-- Clinitune project schema, version 4: the audit log becomes a hash chain. Each new entry
-- holds the SHA-256 of the entry before it (`prev_hash`, NULL for the first chained entry) and
-- its own (`hash`, over `prev_hash` and its fields), so a changed or removed entry breaks the
-- chain at that point. Entries written before this version have neither and are reported as
-- not covered.
ALTER TABLE audit_log ADD COLUMN prev_hash BLOB;
ALTER TABLE audit_log ADD COLUMN hash BLOB;
