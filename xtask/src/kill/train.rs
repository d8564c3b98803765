//! Killing training: `clinitune train sft` on the tiny model with a checkpoint every step,
//! continued with `--resume` after each kill. No safetensors file in the run folder is ever
//! half-written (each parses, and `adapter info` loads the adapter and the checkpoint); the
//! checkpoint never goes back; a resumed run starts at the step after its checkpoint; and a run
//! that finishes, however often killed, ends with the same adapter as one never interrupted.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail, ensure};

use super::review::tiny;
use super::{Ending, Kit, Operation};

const STEPS: u64 = 8;

/// The training operation.
pub struct Train {
    data: PathBuf,
    model: String,
    out: PathBuf,
    reference: Vec<u8>,
    typical: Duration,
}

impl Train {
    /// Writes the data and trains once uninterrupted: the reference adapter and the length.
    pub fn setup(kit: &mut Kit) -> anyhow::Result<Train> {
        let data = kit.work.join("sft.jsonl");
        let facts = [
            ("Lives alone in a walk-up.", "Housing: lives alone."),
            ("Lost his job in May.", "Employment: unemployed."),
            ("No car; takes the bus.", "Transportation: no car."),
            ("Staying in a shelter.", "Housing: shelter."),
            ("Divorced last year.", "Relationship: divorced."),
            ("Two children at home.", "Parent: 2 children."),
        ];
        let mut lines = String::new();
        for round in 0..2 {
            for (note, answer) in facts {
                let record = serde_json::json!({
                    "prompt": [{"role": "user", "content": format!("List the social determinants ({round}).\n{note}")}],
                    "completion": [{"role": "assistant", "content": answer}],
                });
                lines.push_str(&format!("{record}\n"));
            }
        }
        std::fs::write(&data, lines)?;
        let mut op = Train {
            data,
            model: tiny()?,
            out: kit.work.join("train-reference"),
            reference: Vec::new(),
            typical: Duration::ZERO,
        };
        let args = op.args(false);
        let project = kit.work.join("no-project.clinitune");
        op.typical = kit.time(
            &project,
            &args.iter().map(String::as_str).collect::<Vec<_>>(),
        )?;
        op.reference = std::fs::read(op.out.join("adapter_model.safetensors"))?;
        op.check_files(kit)?;
        op.out = kit.work.join("train-run");
        eprintln!(
            "reliability kill: a whole training run takes {:.2} s",
            op.typical.as_secs_f64()
        );
        Ok(op)
    }

    fn args(&self, resume: bool) -> Vec<String> {
        let mut args: Vec<String> = [
            "train",
            "sft",
            "--model",
            &self.model,
            "--data",
            &self.data.to_string_lossy(),
            "--out",
            &self.out.to_string_lossy(),
            "--steps",
            &STEPS.to_string(),
            "--batch-size",
            "2",
            "--lr",
            "5e-3",
            "--rank",
            "4",
            "--alpha",
            "8",
            "--dropout",
            "0.1",
            "--seed",
            "5",
            "--save-steps",
            "1",
            "--json",
        ]
        .map(str::to_owned)
        .to_vec();
        if resume {
            args.push("--resume".into());
        }
        args
    }

    /// The step of the checkpoint `--resume` would continue from (`checkpoint/`, or
    /// `checkpoint.old/` when killed between the two renames that replace it).
    fn checkpoint_step(&self) -> anyhow::Result<Option<u64>> {
        for dir in ["checkpoint", "checkpoint.old"] {
            let state = self.out.join(dir).join("state.json");
            if self.out.join(dir).is_dir() {
                let text = std::fs::read_to_string(&state)
                    .with_context(|| format!("{} is unreadable", state.display()))?;
                let v: serde_json::Value = serde_json::from_str(&text)
                    .with_context(|| format!("{} does not parse", state.display()))?;
                return Ok(Some(v["step"].as_u64().context("checkpoint step")?));
            }
        }
        Ok(None)
    }

    /// Every safetensors file parses; the adapter and the checkpoint load.
    fn check_files(&self, kit: &mut Kit) -> anyhow::Result<()> {
        let mut files = Vec::new();
        collect(&self.out, &mut files)?;
        for f in &files {
            let name = f.to_string_lossy();
            // Files being written (`*.tmp`, `checkpoint.tmp/`) are not part of the run yet.
            if name.contains(".tmp") {
                continue;
            }
            if name.ends_with(".safetensors") {
                check_safetensors(f)?;
            }
            if name.ends_with(".json") {
                serde_json::from_slice::<serde_json::Value>(&std::fs::read(f)?)
                    .with_context(|| format!("{name} does not parse"))?;
            }
        }
        let nowhere = kit.work.join("no-project.clinitune");
        for dir in [self.out.clone(), self.out.join("checkpoint")] {
            if dir.join("adapter_model.safetensors").is_file() {
                let d = dir.to_string_lossy().into_owned();
                kit.json(&nowhere, &["adapter", "info", &d])
                    .with_context(|| format!("the adapter in {d} does not load"))?;
            }
        }
        Ok(())
    }
}

impl Operation for Train {
    fn name(&self) -> &'static str {
        "train"
    }

    fn weight(&self) -> usize {
        5
    }

    fn kill_once(&mut self, kit: &mut Kit) -> anyhow::Result<bool> {
        let at = self.checkpoint_step()?;
        let args = self.args(at.is_some());
        let delay = kit.delay(self.typical);
        let nowhere = kit.work.join("no-project.clinitune");
        let cmd = kit.cli(
            &nowhere,
            &args.iter().map(String::as_str).collect::<Vec<_>>(),
        );
        let ending = kit.kill_after(cmd, delay)?;
        self.check_files(kit)?;
        let now = self.checkpoint_step()?;
        ensure!(
            now >= at,
            "the checkpoint went back from step {at:?} to {now:?}"
        );
        let stdout = match &ending {
            Ending::Killed { stdout } | Ending::Exited { stdout, .. } => stdout,
        };
        let first = stdout
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find_map(|v| v.get("step").and_then(serde_json::Value::as_u64));
        if let Some(first) = first {
            ensure!(
                first == at.unwrap_or(0) + 1,
                "a run resumed from step {at:?} started at step {first}"
            );
        }
        match ending {
            Ending::Killed { .. } => Ok(true),
            Ending::Exited { ok: false, .. } => bail!("training failed on its own"),
            Ending::Exited { ok: true, .. } => {
                let adapter = std::fs::read(self.out.join("adapter_model.safetensors"))?;
                ensure!(
                    adapter == self.reference,
                    "the resumed adapter differs from the uninterrupted one"
                );
                let d = self.out.to_string_lossy().into_owned();
                let info = kit.json(&nowhere, &["adapter", "info", &d])?;
                ensure!(info["global_step"] == STEPS, "adapter info: {info}");
                std::fs::remove_dir_all(&self.out)?;
                Ok(false)
            }
        }
    }

    fn reset(&mut self, _kit: &mut Kit) -> anyhow::Result<()> {
        if self.out.exists() {
            std::fs::remove_dir_all(&self.out)?;
        }
        Ok(())
    }
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for e in entries {
        let path = e?.path();
        if path.is_dir() {
            collect(&path, files)?;
        } else {
            files.push(path);
        }
    }
    Ok(())
}

/// A safetensors file is whole: its header parses and its tensors fill the rest exactly.
fn check_safetensors(path: &Path) -> anyhow::Result<()> {
    let bytes = std::fs::read(path)?;
    let name = path.display();
    let len = bytes
        .get(..8)
        .with_context(|| format!("{name} is shorter than its header size"))?;
    let n = u64::from_le_bytes(len.try_into()?) as usize;
    let header = bytes
        .get(8..8 + n)
        .with_context(|| format!("{name} is cut inside its header"))?;
    let header: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(header).with_context(|| format!("{name}: header"))?;
    let data = bytes.len() - 8 - n;
    let mut end = 0;
    for (key, t) in &header {
        if key == "__metadata__" {
            continue;
        }
        let offsets = t["data_offsets"]
            .as_array()
            .with_context(|| format!("{name}: {key} has no offsets"))?;
        let stop = offsets
            .get(1)
            .and_then(serde_json::Value::as_u64)
            .context("offset")? as usize;
        end = end.max(stop);
    }
    ensure!(
        end == data,
        "{name} holds {data} bytes of tensors; its header declares {end}"
    );
    Ok(())
}
