//! `clinitune train … --export-job DIR`: the resolved plan written as a TRL + Accelerate job
//! for a bigger machine, and what to do next.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use api::TrainRequest;
use studio::Project;

/// Writes the job and prints where it is, how to run it and how to bring the adapter back.
pub fn export(
    project: Option<&Project>,
    request: &TrainRequest,
    dir: &Path,
    hf_model: Option<&Path>,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    let done =
        studio::training::job::export_job(project, request, dir, hf_model).map_err(crate::api)?;
    if json {
        crate::render::json(out, &done)?;
        return Ok(ExitCode::SUCCESS);
    }
    writeln!(
        out,
        "Wrote a {} job to {} ({} training examples{}): {}.",
        done.settings.objective.name(),
        done.dir,
        done.examples,
        done.eval_examples
            .map_or(String::new(), |n| format!(", {n} held out")),
        done.files.join(", ")
    )?;
    match &done.hf_model {
        Some(model) => writeln!(out, "It trains on the Hugging Face model {model}.")?,
        None => writeln!(
            out,
            "{} is a GGUF file, and TRL trains on the Hugging Face weights: pass the same \
             model's Hugging Face folder to train.py with --model (or export again with \
             --hf-model DIR).",
            done.settings.model
        )?,
    }
    writeln!(
        out,
        "Run it: cd {} && pip install -r requirements.txt && accelerate launch --config_file \
         accelerate.yaml train.py",
        done.dir
    )?;
    writeln!(
        out,
        "Then: clinitune adapter info {0}/output; clinitune generate --model {1} --adapter \
         {0}/output …",
        done.dir, done.settings.model
    )?;
    Ok(ExitCode::SUCCESS)
}
