-- Clinitune project schema, version 3: evaluation runs kept with what was evaluated, how it was
-- scored, the figures and every item's prediction. Adds columns and a table only.

-- `metrics` holds the whole report (JSON); `adapter` the last adapter (the classifier).
ALTER TABLE evaluations ADD COLUMN name TEXT NOT NULL DEFAULT '';
ALTER TABLE evaluations ADD COLUMN adapters TEXT NOT NULL DEFAULT '[]';
ALTER TABLE evaluations ADD COLUMN task TEXT;
ALTER TABLE evaluations ADD COLUMN source TEXT NOT NULL DEFAULT '';
ALTER TABLE evaluations ADD COLUMN settings TEXT NOT NULL DEFAULT '{}';
ALTER TABLE evaluations ADD COLUMN training_run TEXT;
ALTER TABLE evaluations ADD COLUMN items INTEGER NOT NULL DEFAULT 0;

-- Gold and prediction per item (JSON), in the order they were scored.
CREATE TABLE evaluation_items (
    evaluation_id INTEGER NOT NULL REFERENCES evaluations (id) ON DELETE CASCADE,
    position      INTEGER NOT NULL,
    item          TEXT NOT NULL,
    note_id       INTEGER REFERENCES notes (id) ON DELETE SET NULL,
    gold          TEXT NOT NULL,
    predicted     TEXT NOT NULL,
    PRIMARY KEY (evaluation_id, position)
) STRICT, WITHOUT ROWID;
