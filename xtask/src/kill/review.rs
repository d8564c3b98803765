//! Killing review saves: `clinitune review edit` and `review accept` on outputs that
//! `clinitune run` made with the tiny model. Every review that exited 0 is there in full (the
//! edit with its text, its preference pair and SFT example; an acceptance's SFT example), and
//! every edit that is there has its pair, its example and its audit entry.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, ensure};

use super::{Ending, Kit, Operation, count, open};

/// A review whose command exited 0.
enum Reviewed {
    Edit {
        output: i64,
        edit: i64,
        pair: i64,
        sft: i64,
        text: String,
    },
    Accept {
        output: i64,
        sft: i64,
    },
}

/// The review-save operation.
pub struct Review {
    project: PathBuf,
    outputs: Vec<i64>,
    accepted: BTreeSet<i64>,
    done: Vec<Reviewed>,
    edits: usize,
    typical: Duration,
}

/// The fixture model every generation in the harness uses.
pub fn tiny() -> anyhow::Result<String> {
    let dir = crate::root().join("../shared/fixtures/tiny-llama");
    ensure!(
        dir.join("config.json").is_file(),
        "the tiny fixture model is missing: expected {}",
        dir.display()
    );
    Ok(dir.to_string_lossy().into_owned())
}

/// A fresh project at `project` with `notes` demo notes.
pub fn project_with_notes(kit: &mut Kit, project: &Path, notes: usize) -> anyhow::Result<()> {
    kit.init(project)?;
    let corpus = project.with_extension("jsonl");
    let c = corpus.to_string_lossy().into_owned();
    let n = notes.to_string();
    kit.ok(project, &["demo-corpus", &c, "--notes", &n, "--seed", "5"])?;
    kit.ok(project, &["import", &c])?;
    Ok(())
}

impl Review {
    /// A project with 30 notes and an output of each; times one edit.
    pub fn setup(kit: &mut Kit) -> anyhow::Result<Review> {
        let mut op = Review {
            project: kit.work.join("review.clinitune"),
            outputs: Vec::new(),
            accepted: BTreeSet::new(),
            done: Vec::new(),
            edits: 0,
            typical: Duration::ZERO,
        };
        op.fresh(kit)?;
        // The mean of a few, the first being slower (cold caches).
        let started = std::time::Instant::now();
        for i in 0..5 {
            let args = op.next_command(kit, i % 2 == 0)?;
            let out = kit.ok(
                &op.project,
                &args.iter().map(String::as_str).collect::<Vec<_>>(),
            )?;
            op.acknowledge(&args, &out)?;
        }
        op.typical = started.elapsed() / 5;
        op.check(kit)?;
        eprintln!(
            "reliability kill: one review save takes {:.3} s",
            op.typical.as_secs_f64()
        );
        Ok(op)
    }

    fn fresh(&mut self, kit: &mut Kit) -> anyhow::Result<()> {
        project_with_notes(kit, &self.project, 30)?;
        let model = tiny()?;
        let made = kit.json(
            &self.project,
            &[
                "run",
                "--task",
                "social-history-summary",
                "--model",
                &model,
                "--max-tokens",
                "8",
            ],
        )?;
        self.outputs = made
            .as_array()
            .context("run output")?
            .iter()
            .filter_map(|o| o["id"].as_i64())
            .collect();
        ensure!(self.outputs.len() == 30, "run made {made}");
        self.accepted.clear();
        self.done.clear();
        Ok(())
    }

    /// An edit with a text of its own, or an acceptance of an output not yet accepted.
    fn next_command(&mut self, kit: &mut Kit, edit: bool) -> anyhow::Result<Vec<String>> {
        let output = self.outputs[kit.rng.below(self.outputs.len())];
        let mut args: Vec<String> = vec!["review".into()];
        if edit || self.accepted.contains(&output) {
            self.edits += 1;
            let file = kit.work.join("edit.txt");
            std::fs::write(
                &file,
                format!(
                    "Lives alone; reviewed {} times.\nNo car; takes the bus.",
                    self.edits
                ),
            )?;
            args.extend([
                "edit".into(),
                output.to_string(),
                "--text-file".into(),
                file.to_string_lossy().into_owned(),
            ]);
        } else {
            self.accepted.insert(output);
            args.extend(["accept".into(), output.to_string()]);
        }
        args.push("--json".into());
        Ok(args)
    }

    fn acknowledge(&mut self, args: &[String], stdout: &str) -> anyhow::Result<()> {
        let v: serde_json::Value =
            serde_json::from_str(stdout.trim()).with_context(|| format!("{args:?}: {stdout}"))?;
        let output: i64 = args[2].parse()?;
        let id = |key: &str| v[key].as_i64().with_context(|| format!("{key} in {v}"));
        if args[1] == "edit" {
            let text = std::fs::read_to_string(&args[4])?;
            self.done.push(Reviewed::Edit {
                output,
                edit: id("edit")?,
                pair: id("pair")?,
                sft: id("sft")?,
                text,
            });
        } else {
            self.done.push(Reviewed::Accept {
                output,
                sft: id("sft")?,
            });
        }
        Ok(())
    }

    fn check(&self, kit: &mut Kit) -> anyhow::Result<()> {
        kit.check_project(&self.project)?;
        let db = open(&self.project)?;
        for r in &self.done {
            match r {
                Reviewed::Edit {
                    output,
                    edit,
                    pair,
                    sft,
                    text,
                } => {
                    let whole = count(
                        &db,
                        "SELECT (SELECT count(*) FROM edits WHERE id = ?1 AND output_id = ?2
                                   AND edited_text = ?5)
                              + (SELECT count(*) FROM preference_pairs WHERE id = ?3
                                   AND edit_id = ?1 AND chosen = ?5)
                              + (SELECT count(*) FROM sft_examples WHERE id = ?4
                                   AND edit_id = ?1 AND completion = ?5)",
                        rusqlite::params![edit, output, pair, sft, text],
                    )?;
                    ensure!(
                        whole == 3,
                        "acknowledged edit {edit} of output {output} is not there in full"
                    );
                }
                Reviewed::Accept { output, sft } => {
                    let n = count(
                        &db,
                        "SELECT count(*) FROM sft_examples WHERE id = ?1 AND output_id = ?2
                         AND origin = 'accept'",
                        [sft, output],
                    )?;
                    ensure!(
                        n == 1,
                        "acknowledged acceptance of output {output} is missing"
                    );
                }
            }
        }
        let partial = count(
            &db,
            "SELECT count(*) FROM edits e
             WHERE NOT EXISTS (SELECT 1 FROM preference_pairs p WHERE p.edit_id = e.id)
                OR NOT EXISTS (SELECT 1 FROM sft_examples s WHERE s.edit_id = e.id)
                OR NOT EXISTS (SELECT 1 FROM audit_log a WHERE a.action = 'edit_output'
                               AND a.entity_id = e.id)",
            [],
        )?;
        ensure!(
            partial == 0,
            "{partial} edits without their pair, example or audit entry"
        );
        let edits = count(&db, "SELECT count(*) FROM edits", [])?;
        let acked = self
            .done
            .iter()
            .filter(|r| matches!(r, Reviewed::Edit { .. }))
            .count() as i64;
        ensure!(
            edits == acked || edits == acked + 1,
            "{edits} edits for {acked} acknowledged (and at most one killed)"
        );
        Ok(())
    }
}

impl Operation for Review {
    fn name(&self) -> &'static str {
        "review"
    }

    fn weight(&self) -> usize {
        5
    }

    fn kill_once(&mut self, kit: &mut Kit) -> anyhow::Result<bool> {
        for _ in 0..kit.rng.below(4) {
            let edit = kit.rng.below(3) > 0;
            let args = self.next_command(kit, edit)?;
            let out = kit.ok(
                &self.project,
                &args.iter().map(String::as_str).collect::<Vec<_>>(),
            )?;
            self.acknowledge(&args, &out)?;
        }
        let edit = kit.rng.below(3) > 0;
        let args = self.next_command(kit, edit)?;
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
        if killed {
            // An edit saved although killed is acknowledged from now on, like the others.
            self.adopt_killed_edit()?;
        }
        Ok(killed)
    }

    fn reset(&mut self, kit: &mut Kit) -> anyhow::Result<()> {
        self.fresh(kit)
    }
}

impl Review {
    fn adopt_killed_edit(&mut self) -> anyhow::Result<()> {
        let db = open(&self.project)?;
        let known: BTreeSet<i64> = self
            .done
            .iter()
            .filter_map(|r| match r {
                Reviewed::Edit { edit, .. } => Some(*edit),
                Reviewed::Accept { .. } => None,
            })
            .collect();
        let mut stmt = db.prepare(
            "SELECT e.id, e.output_id, p.id, s.id, e.edited_text FROM edits e
             JOIN preference_pairs p ON p.edit_id = e.id JOIN sft_examples s ON s.edit_id = e.id",
        )?;
        let rows: Vec<(i64, i64, i64, i64, String)> = stmt
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })?
            .collect::<Result<_, _>>()?;
        for (edit, output, pair, sft, text) in rows {
            if !known.contains(&edit) {
                self.done.push(Reviewed::Edit {
                    output,
                    edit,
                    pair,
                    sft,
                    text,
                });
            }
        }
        Ok(())
    }
}
