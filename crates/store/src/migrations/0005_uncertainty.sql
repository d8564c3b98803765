-- Clinitune project schema, version 5: how close a classifier came to deciding each note (the
-- smallest distance of a label's probability from its threshold, from the last prediction
-- written as suggestions), so the notes list can put the notes that teach the model most first,
-- as active-learning tools do.
CREATE TABLE note_uncertainty (
    note_id INTEGER PRIMARY KEY REFERENCES notes (id) ON DELETE CASCADE,
    margin  REAL NOT NULL CHECK (margin >= 0),
    adapter TEXT NOT NULL,
    at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;
CREATE INDEX uncertainty_by_margin ON note_uncertainty (margin);
