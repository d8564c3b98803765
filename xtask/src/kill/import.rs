//! Killing `clinitune import` of 20,000 notes (JSONL with spans, and CSV). The project keeps
//! whole batches only: its notes are the file's first N for an N where the importer commits a
//! batch, with exactly their spans and an audit entry per batch; the FTS index finds the last
//! one. The next import resumes, so one project is killed until an import completes.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, ensure};

use super::{Ending, Kit, Operation, count, open};

/// Notes in each corpus.
const NOTES: usize = 20_000;
/// The importer's batch: this many notes, or fewer when their text reaches `BATCH_BYTES`
/// (crates/store/src/import/mod.rs).
const BATCH_NOTES: usize = 5000;
const BATCH_BYTES: usize = 16 << 20;

struct Corpus {
    path: PathBuf,
    ids: Vec<String>,
    texts: Vec<String>,
    /// Spans in the first n notes, for every n.
    spans_before: Vec<usize>,
    /// The note counts at which a batch is committed (0 and the total included).
    boundaries: Vec<usize>,
    typical: Duration,
}

/// The import operation.
pub struct Import {
    corpora: Vec<Corpus>,
    current: usize,
    project: PathBuf,
}

impl Import {
    /// Writes the corpora and times a whole import of each.
    pub fn setup(kit: &mut Kit) -> anyhow::Result<Import> {
        let jsonl = kit.work.join("import.jsonl");
        let p = jsonl.to_string_lossy().into_owned();
        kit.ok(&jsonl, &["demo-corpus", &p, "--notes", &NOTES.to_string()])?;
        let mut ids = Vec::new();
        let mut texts = Vec::new();
        let mut spans_before = vec![0];
        for line in std::fs::read_to_string(&jsonl)?.lines() {
            let v: serde_json::Value = serde_json::from_str(line)?;
            ids.push(v["id"].as_str().context("id")?.to_owned());
            texts.push(v["text"].as_str().context("text")?.to_owned());
            let spans = v["spans"].as_array().map_or(0, Vec::len);
            spans_before.push(spans_before.last().copied().unwrap_or(0) + spans);
        }
        let csv = kit.work.join("import.csv");
        let mut body = String::from("id,text\n");
        for (id, text) in ids.iter().zip(&texts) {
            body.push_str(&format!("{id},\"{}\"\n", text.replace('"', "\"\"")));
        }
        std::fs::write(&csv, body)?;
        let boundaries = boundaries(&texts);
        let corpora = vec![
            Corpus {
                path: jsonl,
                ids: ids.clone(),
                texts: texts.clone(),
                spans_before: spans_before.clone(),
                boundaries: boundaries.clone(),
                typical: Duration::ZERO,
            },
            Corpus {
                path: csv,
                ids,
                texts,
                // CSV rows carry no spans.
                spans_before: vec![0; spans_before.len()],
                boundaries,
                typical: Duration::ZERO,
            },
        ];
        let mut op = Import {
            corpora,
            current: 0,
            project: kit.work.join("import.clinitune"),
        };
        for i in 0..op.corpora.len() {
            kit.init(&op.project)?;
            let path = op.corpora[i].path.to_string_lossy().into_owned();
            let typical = kit.time(&op.project, &["import", &path])?;
            eprintln!(
                "reliability kill: a whole import of {} takes {:.2} s",
                path,
                typical.as_secs_f64()
            );
            op.corpora[i].typical = typical;
            op.current = i;
            op.check(kit, true)?;
        }
        kit.init(&op.project)?;
        op.current = 0;
        Ok(op)
    }

    /// Checks the project against the corpus being imported; `complete` when an import of it
    /// exited 0. Returns the notes the project holds.
    fn check(&self, kit: &mut Kit, complete: bool) -> anyhow::Result<usize> {
        kit.check_project(&self.project)?;
        let c = &self.corpora[self.current];
        let db = open(&self.project)?;
        let mut stmt = db.prepare("SELECT external_id FROM notes ORDER BY id")?;
        let ids: Vec<String> = stmt
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let n = ids.len();
        if complete {
            ensure!(n == NOTES, "an import exited 0 with {n} of {NOTES} notes");
        }
        ensure!(
            c.boundaries.contains(&n),
            "{n} notes is not a whole number of batches ({:?})",
            c.boundaries
        );
        ensure!(
            ids.iter().eq(c.ids.iter().take(n)),
            "the notes are not the file's first {n}"
        );
        let spans = count(&db, "SELECT count(*) FROM span_annotations", [])?;
        ensure!(
            spans as usize == c.spans_before[n],
            "{n} notes hold {spans} spans; the file gives them {}",
            c.spans_before[n]
        );
        let audited = count(
            &db,
            "SELECT coalesce(sum(json_extract(detail, '$.notes')), 0) FROM audit_log
             WHERE action = 'import_notes'",
            [],
        )?;
        ensure!(
            audited as usize == n,
            "the audit log accounts for {audited} of {n} notes"
        );
        drop(stmt);
        drop(db);
        if let Some(last) = n.checked_sub(1) {
            let query = phrase(&c.texts[last]);
            let found = kit.json(
                &self.project,
                &["notes", "search", &query, "--limit", "100000"],
            )?;
            let found = found.as_array().context("search results")?;
            ensure!(
                found
                    .iter()
                    .any(|f| f["external_id"] == c.ids[last].as_str()),
                "a search for words of the last imported note ({}) does not find it",
                c.ids[last]
            );
        }
        Ok(n)
    }
}

impl Operation for Import {
    fn name(&self) -> &'static str {
        "import"
    }

    fn weight(&self) -> usize {
        6
    }

    fn kill_once(&mut self, kit: &mut Kit) -> anyhow::Result<bool> {
        let c = &self.corpora[self.current];
        let path = c.path.to_string_lossy().into_owned();
        let delay = kit.delay(c.typical);
        let cmd = kit.cli(&self.project, &["import", &path]);
        let ending = kit.kill_after(cmd, delay)?;
        let (killed, complete) = match ending {
            Ending::Exited { ok, .. } => {
                ensure!(ok, "import failed on its own");
                (false, true)
            }
            Ending::Killed { .. } => (true, false),
        };
        let n = self.check(kit, complete)?;
        if n == NOTES {
            // Whole: the next cycle imports the other format into a fresh project.
            self.current = (self.current + 1) % self.corpora.len();
            kit.init(&self.project)?;
        }
        Ok(killed)
    }

    fn reset(&mut self, kit: &mut Kit) -> anyhow::Result<()> {
        kit.init(&self.project)
    }
}

/// The note counts at which the importer commits (its batching rule, replayed).
fn boundaries(texts: &[String]) -> Vec<usize> {
    let mut out = vec![0];
    let (mut notes, mut bytes) = (0, 0);
    for (i, t) in texts.iter().enumerate() {
        notes += 1;
        bytes += t.len();
        if notes >= BATCH_NOTES || bytes >= BATCH_BYTES {
            out.push(i + 1);
            (notes, bytes) = (0, 0);
        }
    }
    if out.last() != Some(&texts.len()) {
        out.push(texts.len());
    }
    out
}

/// A full-text query for a note: a quoted run of its plain words, or its first plain words.
fn phrase(text: &str) -> String {
    let words: Vec<&str> = text.split_whitespace().collect();
    let plain = |w: &&str| w.len() > 1 && w.chars().all(|c| c.is_ascii_alphabetic());
    let mut best: &[&str] = &[];
    let mut start = 0;
    for i in 0..=words.len() {
        if i == words.len() || !plain(&words[i]) {
            if i - start > best.len() {
                best = &words[start..i];
            }
            start = i + 1;
        }
    }
    if best.len() >= 3 {
        return format!("\"{}\"", best[..best.len().min(8)].join(" "));
    }
    words
        .iter()
        .filter(|w| plain(w))
        .take(4)
        .copied()
        .collect::<Vec<_>>()
        .join(" ")
}
