//! Killing a generation run: `clinitune run` of a task with the tiny model over 40 notes. Each
//! output is its own transaction, so a kill keeps those before it; running the same request
//! again resumes: it adds only the missing outputs (never a second output for a note), and a
//! run that exits 0 leaves exactly one output per note, after which a rerun adds none.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, ensure};

use super::review::{project_with_notes, tiny};
use super::{Ending, Kit, Operation, count, open};

const NOTES: i64 = 40;

/// The generation-run operation.
pub struct Generate {
    project: PathBuf,
    model: String,
    typical: Duration,
}

impl Generate {
    /// A project of 40 notes; times a whole run on it, then starts over.
    pub fn setup(kit: &mut Kit) -> anyhow::Result<Generate> {
        let mut op = Generate {
            project: kit.work.join("generate.clinitune"),
            model: tiny()?,
            typical: Duration::ZERO,
        };
        project_with_notes(kit, &op.project, NOTES as usize)?;
        let args = op.args();
        op.typical = kit.time(
            &op.project,
            &args.iter().map(String::as_str).collect::<Vec<_>>(),
        )?;
        op.check(kit)?;
        eprintln!(
            "reliability kill: a whole generation run takes {:.2} s",
            op.typical.as_secs_f64()
        );
        project_with_notes(kit, &op.project, NOTES as usize)?;
        Ok(op)
    }

    fn args(&self) -> Vec<String> {
        [
            "run",
            "--task",
            "social-history-summary",
            "--model",
            &self.model,
            "--max-tokens",
            "12",
            "--json",
        ]
        .map(str::to_owned)
        .to_vec()
    }

    /// Checks the project; returns its outputs.
    fn check(&self, kit: &mut Kit) -> anyhow::Result<i64> {
        kit.check_project(&self.project)?;
        let db = open(&self.project)?;
        let doubled = count(
            &db,
            "SELECT count(*) FROM (SELECT 1 FROM model_outputs GROUP BY batch, note_id, sample
             HAVING count(*) > 1)",
            [],
        )?;
        ensure!(doubled == 0, "{doubled} notes have two outputs of one run");
        let outputs = count(&db, "SELECT count(*) FROM model_outputs", [])?;
        ensure!(outputs <= NOTES, "{outputs} outputs for {NOTES} notes");
        let audited = count(
            &db,
            "SELECT count(*) FROM audit_log WHERE action = 'generate'",
            [],
        )?;
        ensure!(
            audited == outputs,
            "{outputs} outputs but {audited} audit entries"
        );
        Ok(outputs)
    }
}

impl Operation for Generate {
    fn name(&self) -> &'static str {
        "generate"
    }

    fn weight(&self) -> usize {
        5
    }

    fn kill_once(&mut self, kit: &mut Kit) -> anyhow::Result<bool> {
        let before = {
            let db = open(&self.project)?;
            count(&db, "SELECT count(*) FROM model_outputs", [])?
        };
        let args = self.args();
        let delay = kit.delay(self.typical);
        let cmd = kit.cli(
            &self.project,
            &args.iter().map(String::as_str).collect::<Vec<_>>(),
        );
        let ending = kit.kill_after(cmd, delay)?;
        let after = self.check(kit)?;
        ensure!(after >= before, "outputs went from {before} to {after}");
        match ending {
            Ending::Killed { .. } => Ok(true),
            Ending::Exited { ok, stdout } => {
                ensure!(ok, "the run failed on its own");
                let made: serde_json::Value = serde_json::from_str(stdout.trim())
                    .with_context(|| format!("run printed {stdout}"))?;
                let made = made.as_array().context("run output")?.len() as i64;
                ensure!(
                    after == NOTES && before + made == NOTES,
                    "the rerun found {before} outputs, made {made}, left {after} of {NOTES}"
                );
                let again = kit.json(
                    &self.project,
                    &args[..args.len() - 1]
                        .iter()
                        .map(String::as_str)
                        .collect::<Vec<_>>(),
                )?;
                ensure!(
                    again.as_array().is_some_and(Vec::is_empty),
                    "a finished run, run again, made more outputs"
                );
                project_with_notes(kit, &self.project, NOTES as usize)?;
                Ok(false)
            }
        }
    }

    fn reset(&mut self, kit: &mut Kit) -> anyhow::Result<()> {
        project_with_notes(kit, &self.project, NOTES as usize)
    }
}
