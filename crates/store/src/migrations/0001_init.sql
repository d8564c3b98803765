-- Clinitune project schema, version 1. Later migrations add columns; this file never changes.

CREATE TABLE project_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE notes (
    id           INTEGER PRIMARY KEY,
    external_id  TEXT,
    source       TEXT,
    category     TEXT,
    description  TEXT,
    subject_id   TEXT,
    hadm_id      TEXT,
    chart_date   TEXT,
    text         TEXT NOT NULL,
    content_hash BLOB NOT NULL UNIQUE,
    metadata     TEXT NOT NULL DEFAULT '{}',
    status       TEXT NOT NULL DEFAULT 'todo'
                 CHECK (status IN ('todo', 'in_progress', 'done', 'skipped')),
    created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;
CREATE INDEX notes_by_category ON notes (category);
CREATE INDEX notes_by_status ON notes (status);
CREATE INDEX notes_by_external_id ON notes (external_id);

CREATE VIRTUAL TABLE notes_fts USING fts5 (
    text,
    content = 'notes',
    content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);
-- New notes are indexed by the store in bulk, in the transaction that adds them
-- (Tx::index_notes_after): a per-row insert trigger makes imports four times slower.
CREATE TRIGGER notes_fts_delete AFTER DELETE ON notes BEGIN
    INSERT INTO notes_fts (notes_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
CREATE TRIGGER notes_fts_update AFTER UPDATE OF text ON notes BEGIN
    INSERT INTO notes_fts (notes_fts, rowid, text) VALUES ('delete', old.id, old.text);
    INSERT INTO notes_fts (rowid, text) VALUES (new.id, new.text);
END;

CREATE TABLE label_schemas (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    version     INTEGER NOT NULL DEFAULT 1,
    description TEXT NOT NULL DEFAULT '',
    source      TEXT NOT NULL DEFAULT '',
    definition  TEXT NOT NULL DEFAULT '',  -- the TOML as loaded, for export and audit
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;

CREATE TABLE labels (
    id          INTEGER PRIMARY KEY,
    schema_id   INTEGER NOT NULL REFERENCES label_schemas (id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    name        TEXT NOT NULL UNIQUE COLLATE NOCASE,
    display     TEXT NOT NULL,
    scope       TEXT NOT NULL CHECK (scope IN ('span', 'doc', 'both')),
    color       TEXT NOT NULL,
    hotkey      TEXT,
    description TEXT NOT NULL DEFAULT '',
    attributes  TEXT NOT NULL DEFAULT '[]'  -- JSON list of attribute definitions
) STRICT;

CREATE TABLE annotators (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    kind       TEXT NOT NULL DEFAULT 'human' CHECK (kind IN ('human', 'model', 'import')),
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;

-- AUTOINCREMENT: ids are never reused, so redo can restore an annotation under its old id.
CREATE TABLE span_annotations (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    note_id      INTEGER NOT NULL REFERENCES notes (id) ON DELETE CASCADE,
    label_id     INTEGER NOT NULL REFERENCES labels (id),
    annotator_id INTEGER NOT NULL REFERENCES annotators (id),
    status       TEXT NOT NULL DEFAULT 'gold' CHECK (status IN ('gold', 'suggested', 'rejected')),
    start_byte   INTEGER NOT NULL,
    end_byte     INTEGER NOT NULL,
    fragments    TEXT NOT NULL,            -- JSON [[start, end], ...] in UTF-8 bytes
    attributes   TEXT NOT NULL DEFAULT '{}', -- JSON object of attribute values, e.g. {"adverse": "true"}
    comment      TEXT,
    source_ref   TEXT,                     -- id in the source file, e.g. brat "T3"
    origin_id    INTEGER,                  -- later issues: the model output that suggested it
    created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    CHECK (start_byte >= 0 AND end_byte > start_byte)
) STRICT;
CREATE INDEX spans_by_note ON span_annotations (note_id, start_byte);
CREATE INDEX spans_by_label ON span_annotations (label_id, note_id);
CREATE INDEX spans_by_annotator ON span_annotations (annotator_id, note_id);

CREATE TABLE doc_annotations (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    note_id      INTEGER NOT NULL REFERENCES notes (id) ON DELETE CASCADE,
    label_id     INTEGER NOT NULL REFERENCES labels (id),
    annotator_id INTEGER NOT NULL REFERENCES annotators (id),
    status       TEXT NOT NULL DEFAULT 'gold' CHECK (status IN ('gold', 'suggested', 'rejected')),
    attributes   TEXT NOT NULL DEFAULT '{}', -- JSON object of attribute values
    origin_id    INTEGER,
    created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    UNIQUE (note_id, label_id, annotator_id)
) STRICT;
CREATE INDEX docs_by_label ON doc_annotations (label_id, note_id);
CREATE INDEX docs_by_annotator ON doc_annotations (annotator_id, note_id);

-- brat lines with no Clinitune counterpart yet (relations, events, normalisations, notes on
-- them), kept verbatim so an export writes them back.
CREATE TABLE standoff_extras (
    id      INTEGER PRIMARY KEY,
    note_id INTEGER NOT NULL REFERENCES notes (id) ON DELETE CASCADE,
    kind    TEXT NOT NULL,
    line    TEXT NOT NULL
) STRICT;
CREATE INDEX standoff_by_note ON standoff_extras (note_id);

-- Undo/redo per note and annotator: each row is one change and its inverse (JSON).
CREATE TABLE annotation_history (
    id           INTEGER PRIMARY KEY,
    note_id      INTEGER NOT NULL REFERENCES notes (id) ON DELETE CASCADE,
    annotator_id INTEGER NOT NULL REFERENCES annotators (id),
    forward      TEXT NOT NULL,
    backward     TEXT NOT NULL,
    undone       INTEGER NOT NULL DEFAULT 0 CHECK (undone IN (0, 1)),
    created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;
CREATE INDEX history_by_note ON annotation_history (note_id, annotator_id, id);

CREATE TABLE prompt_tasks (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    version    INTEGER NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('summarize', 'extract', 'classify')),
    template   TEXT NOT NULL,
    settings   TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    UNIQUE (name, version)
) STRICT;

CREATE TABLE model_outputs (
    id           INTEGER PRIMARY KEY,
    note_id      INTEGER NOT NULL REFERENCES notes (id) ON DELETE CASCADE,
    task_id      INTEGER NOT NULL REFERENCES prompt_tasks (id),
    batch        TEXT,                       -- the generation run that made it
    model        TEXT NOT NULL,
    adapter      TEXT,
    params       TEXT NOT NULL DEFAULT '{}',  -- sampling parameters, JSON
    seed         INTEGER,
    prompt       TEXT NOT NULL,
    text         TEXT NOT NULL,
    parsed       TEXT,                       -- structured output for extract tasks, JSON
    parse_error  TEXT,
    created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;
CREATE INDEX outputs_by_note ON model_outputs (note_id, task_id);

CREATE TABLE edits (
    id           INTEGER PRIMARY KEY,
    output_id    INTEGER NOT NULL REFERENCES model_outputs (id) ON DELETE CASCADE,
    annotator_id INTEGER NOT NULL REFERENCES annotators (id),
    edited_text  TEXT NOT NULL,
    diff         TEXT NOT NULL DEFAULT '[]',  -- token-level diff, JSON
    created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;

CREATE TABLE rankings (
    id                INTEGER PRIMARY KEY,
    note_id           INTEGER NOT NULL REFERENCES notes (id) ON DELETE CASCADE,
    preferred_output  INTEGER NOT NULL REFERENCES model_outputs (id) ON DELETE CASCADE,
    other_output      INTEGER NOT NULL REFERENCES model_outputs (id) ON DELETE CASCADE,
    annotator_id      INTEGER NOT NULL REFERENCES annotators (id),
    created_at        TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    CHECK (preferred_output <> other_output)
) STRICT;

CREATE TABLE preference_pairs (
    id           INTEGER PRIMARY KEY,
    note_id      INTEGER REFERENCES notes (id) ON DELETE SET NULL,
    prompt       TEXT NOT NULL,
    chosen       TEXT NOT NULL,
    rejected     TEXT NOT NULL,
    origin       TEXT NOT NULL CHECK (origin IN ('edit', 'ranking', 'synthetic', 'import')),
    annotator_id INTEGER REFERENCES annotators (id),
    edit_id      INTEGER REFERENCES edits (id) ON DELETE SET NULL,
    ranking_id   INTEGER REFERENCES rankings (id) ON DELETE SET NULL,
    split        TEXT NOT NULL DEFAULT 'unassigned'
                 CHECK (split IN ('train', 'validation', 'test', 'unassigned')),
    dedup_hash   BLOB NOT NULL UNIQUE,
    created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;
CREATE INDEX pairs_by_split ON preference_pairs (split);

CREATE TABLE sft_examples (
    id           INTEGER PRIMARY KEY,
    note_id      INTEGER REFERENCES notes (id) ON DELETE SET NULL,
    prompt       TEXT NOT NULL,
    completion   TEXT NOT NULL,
    origin       TEXT NOT NULL CHECK (origin IN ('edit', 'accept', 'annotation', 'synthetic', 'import')),
    annotator_id INTEGER REFERENCES annotators (id),
    output_id    INTEGER REFERENCES model_outputs (id) ON DELETE SET NULL,
    edit_id      INTEGER REFERENCES edits (id) ON DELETE SET NULL,
    split        TEXT NOT NULL DEFAULT 'unassigned'
                 CHECK (split IN ('train', 'validation', 'test', 'unassigned')),
    dedup_hash   BLOB NOT NULL UNIQUE,
    created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;
CREATE INDEX sft_by_split ON sft_examples (split);

CREATE TABLE training_runs (
    id           INTEGER PRIMARY KEY,
    kind         TEXT NOT NULL CHECK (kind IN ('sft', 'dpo', 'salt', 'classify', 'domain')),
    status       TEXT NOT NULL DEFAULT 'running'
                 CHECK (status IN ('running', 'done', 'cancelled', 'failed')),
    base_model   TEXT NOT NULL,
    init_adapter TEXT,
    config       TEXT NOT NULL DEFAULT '{}',
    adapter_path TEXT,
    error        TEXT,
    started_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    ended_at     TEXT
) STRICT;

CREATE TABLE run_metrics (
    run_id INTEGER NOT NULL REFERENCES training_runs (id) ON DELETE CASCADE,
    step   INTEGER NOT NULL,
    name   TEXT NOT NULL,
    value  REAL NOT NULL,
    PRIMARY KEY (run_id, step, name)
) STRICT, WITHOUT ROWID;

CREATE TABLE evaluations (
    id         INTEGER PRIMARY KEY,
    run_id     INTEGER REFERENCES training_runs (id) ON DELETE SET NULL,
    kind       TEXT NOT NULL,               -- e.g. 'classification', 'generation', 'bias_audit'
    split      TEXT,
    model      TEXT,
    adapter    TEXT,
    metrics    TEXT NOT NULL DEFAULT '{}',  -- JSON
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;

-- Append-only: ids, counts and offsets, never note text.
CREATE TABLE audit_log (
    id        INTEGER PRIMARY KEY,
    at        TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    entity    TEXT NOT NULL,
    entity_id INTEGER,
    note_id   INTEGER,
    detail    TEXT NOT NULL DEFAULT '{}'
) STRICT;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE INDEX audit_by_note ON audit_log (note_id);
