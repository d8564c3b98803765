-- Clinitune project schema, version 2: the review loop (prompt tasks, model outputs, edits,
-- rankings, preference pairs and SFT examples). Adds columns and indexes only.

-- A task's description, and a hash of its definition so that adding an unchanged task again
-- makes no new version.
ALTER TABLE prompt_tasks ADD COLUMN description TEXT NOT NULL DEFAULT '';
ALTER TABLE prompt_tasks ADD COLUMN definition_hash BLOB;

-- What made an output, beyond model_outputs' first columns: which of N samples it is, the
-- model's name and file hash, the chat messages before the template, token counts, why
-- generation stopped, and whether the note was shortened to fit the prompt budget.
ALTER TABLE model_outputs ADD COLUMN sample INTEGER NOT NULL DEFAULT 0;
ALTER TABLE model_outputs ADD COLUMN model_name TEXT;
ALTER TABLE model_outputs ADD COLUMN model_sha256 TEXT;
ALTER TABLE model_outputs ADD COLUMN prompt_messages TEXT NOT NULL DEFAULT '[]';
ALTER TABLE model_outputs ADD COLUMN prompt_tokens INTEGER;
ALTER TABLE model_outputs ADD COLUMN completion_tokens INTEGER;
ALTER TABLE model_outputs ADD COLUMN stop TEXT;
ALTER TABLE model_outputs ADD COLUMN truncated INTEGER NOT NULL DEFAULT 0 CHECK (truncated IN (0, 1));
-- A run (batch) makes at most one output per note and sample: a rerun resumes, never overwrites.
CREATE UNIQUE INDEX outputs_by_run ON model_outputs (batch, note_id, sample) WHERE batch IS NOT NULL;
CREATE INDEX outputs_by_task ON model_outputs (task_id);

CREATE INDEX edits_by_output ON edits (output_id);

-- Conversational form of the prompt (JSON chat messages; NULL when only the plain text is
-- known, e.g. imported plain-string datasets) and the task that made it.
ALTER TABLE preference_pairs ADD COLUMN prompt_messages TEXT;
ALTER TABLE preference_pairs ADD COLUMN task_id INTEGER REFERENCES prompt_tasks (id);
ALTER TABLE sft_examples ADD COLUMN prompt_messages TEXT;
ALTER TABLE sft_examples ADD COLUMN task_id INTEGER REFERENCES prompt_tasks (id);
CREATE INDEX pairs_by_note ON preference_pairs (note_id);
CREATE INDEX sft_by_note ON sft_examples (note_id);
