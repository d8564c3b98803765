//! Killing annotation bursts: `clinitune annotate span` and `annotate doc`, one process per
//! annotation (the CLI has no batch mode), a few run to their end and then one killed. Every
//! annotation whose command exited 0 is there, with its label, annotator and note; every change
//! that is there has its undo entry and its audit entry (one transaction).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, ensure};

use super::{Ending, Kit, Operation, count, open};

const ANNOTATOR: &str = "burst";

/// The annotation-burst operation.
pub struct Annotate {
    project: PathBuf,
    /// (note id, characters).
    notes: Vec<(i64, usize)>,
    span_label: String,
    doc_labels: Vec<String>,
    /// Next free start offset per note.
    next: Vec<usize>,
    spans: Vec<(i64, i64, String)>,
    docs: BTreeSet<(i64, String)>,
    typical: Duration,
}

impl Annotate {
    /// A project of 40 notes; times one annotation.
    pub fn setup(kit: &mut Kit) -> anyhow::Result<Annotate> {
        let mut op = Annotate {
            project: kit.work.join("annotate.clinitune"),
            notes: Vec::new(),
            span_label: String::new(),
            doc_labels: Vec::new(),
            next: Vec::new(),
            spans: Vec::new(),
            docs: BTreeSet::new(),
            typical: Duration::ZERO,
        };
        op.fresh(kit)?;
        // The mean of a few, the first being slower (cold caches).
        let started = std::time::Instant::now();
        for pick in 0..5 {
            let args = op.next_command(kit, pick);
            let out = kit.ok(
                &op.project,
                &args.iter().map(String::as_str).collect::<Vec<_>>(),
            )?;
            op.acknowledge(&args, &out)?;
        }
        op.typical = started.elapsed() / 5;
        op.check(kit)?;
        eprintln!(
            "reliability kill: one annotation takes {:.3} s",
            op.typical.as_secs_f64()
        );
        Ok(op)
    }

    fn fresh(&mut self, kit: &mut Kit) -> anyhow::Result<()> {
        kit.init(&self.project)?;
        let corpus = kit.work.join("annotate.jsonl");
        let c = corpus.to_string_lossy().into_owned();
        kit.ok(
            &self.project,
            &[
                "demo-corpus",
                &c,
                "--notes",
                "40",
                "--seed",
                "3",
                "--without-labels",
            ],
        )?;
        kit.ok(&self.project, &["import", &c])?;
        let db = open(&self.project)?;
        let mut stmt = db.prepare("SELECT id, length(text) FROM notes ORDER BY id")?;
        self.notes = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as usize)))?
            .collect::<Result<_, _>>()?;
        let mut labels = db.prepare("SELECT name, scope FROM labels ORDER BY id")?;
        let labels: Vec<(String, String)> = labels
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        self.span_label = labels
            .iter()
            .find(|(_, s)| s != "doc")
            .context("no span label")?
            .0
            .clone();
        self.doc_labels = labels
            .iter()
            .filter(|(_, s)| s != "span")
            .map(|(n, _)| n.clone())
            .collect();
        ensure!(!self.doc_labels.is_empty(), "no document label");
        self.next = vec![0; self.notes.len()];
        self.spans.clear();
        self.docs.clear();
        Ok(())
    }

    /// The next annotation: mostly spans at fresh offsets, some document labels.
    fn next_command(&mut self, kit: &mut Kit, pick: usize) -> Vec<String> {
        let i = kit.rng.below(self.notes.len());
        let (note, chars) = self.notes[i];
        let mut args: Vec<String> = vec!["annotate".into()];
        if pick % 4 == 3 {
            let label = &self.doc_labels[kit.rng.below(self.doc_labels.len())];
            args.extend(["doc".into(), "--label".into(), label.clone()]);
        } else {
            let start = self.next[i] % chars.saturating_sub(8).max(1);
            let end = (start + 1 + kit.rng.below(6)).min(chars);
            self.next[i] += 7;
            args.extend([
                "span".into(),
                "--label".into(),
                self.span_label.clone(),
                "--start".into(),
                start.to_string(),
                "--end".into(),
                end.to_string(),
            ]);
        }
        args.extend([
            "--note".into(),
            note.to_string(),
            "--annotator".into(),
            ANNOTATOR.into(),
            "--json".into(),
        ]);
        args
    }

    /// Records what a command that exited 0 saved.
    fn acknowledge(&mut self, args: &[String], stdout: &str) -> anyhow::Result<()> {
        let v: serde_json::Value =
            serde_json::from_str(stdout.trim()).with_context(|| format!("{args:?}: {stdout}"))?;
        let arg = |name: &str| -> anyhow::Result<String> {
            let i = args.iter().position(|a| a == name).context("argument")?;
            Ok(args[i + 1].clone())
        };
        let note: i64 = arg("--note")?.parse()?;
        let label = arg("--label")?;
        if args[1] == "span" {
            let id = v["id"]
                .as_i64()
                .with_context(|| format!("span id in {v}"))?;
            self.spans.push((id, note, label));
        } else {
            self.docs.insert((note, label));
        }
        Ok(())
    }

    fn check(&self, kit: &mut Kit) -> anyhow::Result<()> {
        kit.check_project(&self.project)?;
        let db = open(&self.project)?;
        for (id, note, label) in &self.spans {
            let n = count(
                &db,
                "SELECT count(*) FROM span_annotations s JOIN labels l ON l.id = s.label_id
                 JOIN annotators a ON a.id = s.annotator_id
                 WHERE s.id = ?1 AND s.note_id = ?2 AND l.name = ?3 AND a.name = ?4
                   AND s.status = 'gold'",
                rusqlite::params![id, note, label, ANNOTATOR],
            )?;
            ensure!(n == 1, "acknowledged span {id} on note {note} is missing");
        }
        for (note, label) in &self.docs {
            let n = count(
                &db,
                "SELECT count(*) FROM doc_annotations d JOIN labels l ON l.id = d.label_id
                 JOIN annotators a ON a.id = d.annotator_id
                 WHERE d.note_id = ?1 AND l.name = ?2 AND a.name = ?3",
                rusqlite::params![note, label, ANNOTATOR],
            )?;
            ensure!(
                n == 1,
                "acknowledged label {label} on note {note} is missing"
            );
        }
        let history = count(
            &db,
            "SELECT count(*) FROM annotation_history h JOIN annotators a ON a.id = h.annotator_id
             WHERE a.name = ?1",
            [ANNOTATOR],
        )?;
        let audited = count(
            &db,
            "SELECT count(*) FROM audit_log WHERE actor = ?1",
            [ANNOTATOR],
        )?;
        ensure!(
            history == audited,
            "{history} undo entries but {audited} audit entries"
        );
        let spans = count(
            &db,
            "SELECT count(*) FROM span_annotations s JOIN annotators a ON a.id = s.annotator_id
             WHERE a.name = ?1",
            [ANNOTATOR],
        )?;
        ensure!(
            spans as usize >= self.spans.len() && spans as usize <= self.spans.len() + 1,
            "{spans} spans for {} acknowledged (and at most one killed)",
            self.spans.len()
        );
        Ok(())
    }
}

impl Operation for Annotate {
    fn name(&self) -> &'static str {
        "annotate"
    }

    fn weight(&self) -> usize {
        5
    }

    fn kill_once(&mut self, kit: &mut Kit) -> anyhow::Result<bool> {
        let before = kit.rng.below(4);
        for _ in 0..before {
            let pick = kit.rng.below(4);
            let args = self.next_command(kit, pick);
            let out = kit.ok(
                &self.project,
                &args.iter().map(String::as_str).collect::<Vec<_>>(),
            )?;
            self.acknowledge(&args, &out)?;
        }
        let pick = kit.rng.below(4);
        let args = self.next_command(kit, pick);
        let delay = kit.delay(self.typical);
        let cmd = kit.cli(
            &self.project,
            &args.iter().map(String::as_str).collect::<Vec<_>>(),
        );
        let killed = match kit.kill_after(cmd, delay)? {
            Ending::Exited { ok, stdout } => {
                ensure!(ok, "{args:?} failed on its own");
                self.acknowledge(&args, &stdout)?;
                false
            }
            Ending::Killed { .. } => true,
        };
        self.check(kit)?;
        // A killed span that was saved anyway counts from now on like any other.
        let db = open(&self.project)?;
        let saved = count(
            &db,
            "SELECT count(*) FROM span_annotations s JOIN annotators a ON a.id = s.annotator_id
             WHERE a.name = ?1",
            [ANNOTATOR],
        )?;
        if saved as usize > self.spans.len() {
            let id: i64 = db.query_row(
                "SELECT max(s.id) FROM span_annotations s JOIN annotators a
                 ON a.id = s.annotator_id WHERE a.name = ?1",
                [ANNOTATOR],
                |r| r.get(0),
            )?;
            let (note, label): (i64, String) = db.query_row(
                "SELECT s.note_id, l.name FROM span_annotations s JOIN labels l
                 ON l.id = s.label_id WHERE s.id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            self.spans.push((id, note, label));
        }
        Ok(killed)
    }

    fn reset(&mut self, kit: &mut Kit) -> anyhow::Result<()> {
        self.fresh(kit)
    }
}
