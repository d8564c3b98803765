//! `clinitune train`: builds the request, prints the settings in use, shows a progress bar
//! (loss, ETA) or one JSON line per step, and checkpoints on Ctrl-C.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use api::{AdapterInfo, TrainData, TrainFinish, TrainPlan, TrainRequest};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use studio::{CancelToken, Project};

use crate::args::TrainArgs;

/// Runs `train` and prints its summary.
pub fn run(
    a: TrainArgs,
    project: &Option<PathBuf>,
    device: api::Device,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    let data = match (&a.data, project) {
        (Some(f), _) => Some(TrainData::File(f.display().to_string())),
        (None, Some(_)) => Some(TrainData::Project),
        (None, None) => None,
    };
    let opened = match (&data, project) {
        (Some(TrainData::Project), Some(p)) => Some(Project::open(p).map_err(crate::api)?),
        _ => None,
    };
    let export = a.export_job.clone().map(|dir| (dir, a.hf_model.clone()));
    let request = TrainRequest {
        objective: a.objective.into(),
        model: a.model.display().to_string(),
        data,
        eval_data: a.eval_data.map(|p| p.display().to_string()),
        eval_fraction: a.eval_fraction,
        eval_steps: a.eval_steps,
        early_stopping_patience: a.early_stopping_patience,
        out: a.out.unwrap_or_default().display().to_string(),
        init_adapter: a.init_adapter.map(|p| p.display().to_string()),
        base_adapter: a.base_adapter.map(|p| p.display().to_string()),
        steps: a.steps,
        epochs: a.epochs,
        lr: a.lr,
        batch_size: a.batch_size,
        grad_accum: a.grad_accum,
        weight_decay: a.weight_decay,
        max_grad_norm: a.max_grad_norm,
        scheduler: a.scheduler.map(Into::into),
        warmup_steps: a.warmup_steps,
        rank: a.rank,
        alpha: a.alpha,
        dropout: a.dropout,
        targets: a.targets.map(|t| t.into_iter().map(Into::into).collect()),
        beta: a.beta,
        max_length: a.max_length,
        seed: a.seed,
        save_steps: a.save_steps,
        resume: a.resume,
        device: Some(device),
        labels: a.labels,
    };
    if let Some((dir, hf_model)) = export {
        let done = crate::job::export(
            opened.as_ref(),
            &request,
            &dir,
            hf_model.as_deref(),
            json,
            out,
        )?;
        return Ok(done);
    }
    let cancel = CancelToken::new();
    {
        // First Ctrl-C: stop after the current step with a checkpoint; a second one exits.
        let cancel = cancel.clone();
        let _ = ctrlc::set_handler(move || {
            if cancel.is_cancelled() {
                std::process::exit(130);
            }
            eprintln!(
                "\nstopping after this step; a checkpoint will be written (--resume continues)"
            );
            cancel.cancel();
        });
    }
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(
        "{msg:>10} [{bar:30}] {pos}/{len} steps · {prefix} · {elapsed} elapsed, {eta} left",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(request.objective.name());
    let mut write_error = None;
    // The last held-out figures, for the summary (a classifier's macro AUROC).
    let mut last_eval: Option<(usize, std::collections::BTreeMap<String, f64>)> = None;
    let summary = studio::training::train(
        opened.as_ref(),
        &request,
        &mut |plan| {
            bar.set_length(plan.total_steps as u64);
            bar.set_position(plan.start_step as u64);
            let settings = settings_line(plan);
            bar.suspend(|| {
                eprintln!("settings: {settings}");
                eprintln!(
                    "{} training examples, {} held out, {} trainable weights, {} steps{}",
                    plan.train_examples,
                    plan.eval_examples,
                    plan.trainable_parameters,
                    plan.total_steps,
                    if plan.start_step > 0 {
                        format!(" (resuming after step {})", plan.start_step)
                    } else {
                        String::new()
                    }
                );
                for s in &plan.skipped {
                    eprintln!("skipped {s}");
                }
            });
        },
        &mut |step| {
            bar.set_position(step.step as u64);
            let mut prefix = format!("loss {:.4} · {:.0} tok/s", step.loss, step.tokens_per_s);
            if let Some(acc) = step.metrics.get("rewards/accuracies") {
                prefix.push_str(&format!(" · reward acc {acc:.2}"));
            }
            if let Some(e) = step.eval.as_ref().and_then(|e| e.get("eval_loss")) {
                prefix.push_str(&format!(" · eval {e:.4}"));
            }
            if let Some(a) = step.eval.as_ref().and_then(|e| e.get("eval_macro_auroc")) {
                prefix.push_str(&format!(" · eval AUROC {a:.3}"));
            }
            if let Some(eval) = &step.eval {
                last_eval = Some((step.step, eval.clone()));
            }
            bar.set_prefix(prefix);
            if json && write_error.is_none() {
                let line = serde_json::to_string(step).unwrap_or_default();
                write_error = writeln!(out, "{line}").and_then(|()| out.flush()).err();
            }
        },
        &cancel,
    );
    bar.finish_and_clear();
    if let Some(e) = write_error {
        return Err(e.into());
    }
    let summary = summary.map_err(crate::api)?;
    if json {
        writeln!(out, "{}", serde_json::to_string(&summary)?)?;
    } else {
        writeln!(
            out,
            "{}: {} steps, final loss {}, adapter in {}",
            summary.finish.name(),
            summary.global_step,
            summary
                .final_loss
                .map_or("-".to_owned(), |l| format!("{l:.4}")),
            summary.out
        )?;
        if let Some(best) = summary.best_eval_loss {
            writeln!(
                out,
                "best held-out loss {best:.4} at step {}",
                summary.best_step.unwrap_or(0)
            )?;
        }
        if let Some((step, eval)) = &last_eval
            && let Some(auroc) = eval.get("eval_macro_auroc")
        {
            writeln!(out, "held-out macro AUROC {auroc:.3} at step {step}")?;
        }
    }
    Ok(if summary.finish == TrainFinish::Cancelled {
        ExitCode::from(130)
    } else {
        ExitCode::SUCCESS
    })
}

/// The plan's settings as `key=value` pairs, the device as opened (`auto` resolved).
fn settings_line(plan: &TrainPlan) -> String {
    let mut fields = match serde_json::to_value(&plan.settings) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    fields.insert("device".to_owned(), plan.device.name().into());
    // With a number of steps, the epochs setting plays no part: do not print it as if it did.
    if fields.get("steps").is_some_and(|v| !v.is_null()) {
        fields.remove("epochs");
    }
    let mut pairs: Vec<String> = fields
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => format!("{k}={s}"),
            serde_json::Value::Array(items) => format!(
                "{k}={}",
                items
                    .iter()
                    .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            v => format!("{k}={v}"),
        })
        .collect();
    pairs.sort();
    pairs.join(" ")
}

/// `adapter info` as text.
pub fn print_adapter(out: &mut impl Write, info: &AdapterInfo) -> std::io::Result<()> {
    writeln!(out, "{} ({} {})", info.path, info.peft_type, info.task_type)?;
    writeln!(
        out,
        "r {} · alpha {} · dropout {} · targets {}",
        info.r,
        info.lora_alpha,
        info.lora_dropout,
        info.target_modules.join(",")
    )?;
    writeln!(
        out,
        "{} weights in {} tensors{}{}",
        info.parameters,
        info.tensors,
        info.labels.map_or(String::new(), |l| format!(
            " · classification head, {l} labels"
        )),
        info.global_step
            .map_or(String::new(), |s| format!(" · trained {s} steps"))
    )?;
    if let Some(base) = &info.base_model_name_or_path {
        writeln!(out, "base model: {base}")?;
    }
    Ok(())
}
