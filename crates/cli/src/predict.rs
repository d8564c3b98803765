//! `clinitune predict`: a trained classifier over a JSONL file or the project's notes. Each
//! prediction is one JSON line, on stdout or in `--out`; the summary (thresholds used, metrics
//! against gold, suggestions written) goes to stdout when `--out` holds the predictions, else
//! to stderr, so stdout stays one JSON object per item. Ctrl-C stops after the current batch.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use api::{
    PredictRequest, PredictSource, PredictSummary, Prediction, ThresholdOrigin, ThresholdSource,
};
use clap::Args;
use studio::CancelToken;

use crate::progress::Bar;
use crate::review::SplitArg;

/// `clinitune predict`'s arguments.
#[derive(Debug, Args)]
pub struct PredictArgs {
    /// Base model folder or .gguf file (the one the classifier was trained on).
    #[arg(long, env = "CLINITUNE_MODEL")]
    pub model: PathBuf,
    /// Adapter folder, bottom first; the last is the classifier (`train classify --out`: a
    /// score head and labels.json). Repeat to stack a domain adapter under it.
    #[arg(long, value_name = "DIR", required = true)]
    pub adapter: Vec<PathBuf>,
    /// JSONL to classify: `{"text", "id"?, "labels"?}` per line, as `train classify --data`
    /// reads. Without it, the project's notes are classified.
    #[arg(long, value_name = "FILE")]
    pub data: Option<PathBuf>,
    /// Only the project's notes in this split.
    #[arg(long, value_enum, conflicts_with = "data")]
    pub split: Option<SplitArg>,
    /// One probability threshold for every label (default: the adapter's thresholds.json,
    /// else 0.5).
    #[arg(long)]
    pub threshold: Option<f64>,
    /// Choose each label's threshold to maximise its F1 on FILE (JSONL with gold `labels`) or
    /// on the project's `validation` split first; saved as thresholds.json beside the adapter
    /// and used by later runs.
    #[arg(long, value_name = "FILE|validation", conflicts_with = "threshold")]
    pub tune_thresholds_on: Option<String>,
    /// Write the predictions here instead of stdout (the summary then goes to stdout).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Write the predicted labels as suggested document labels on the notes (annotator
    /// `model:<adapter folder>`), to accept or reject; gold is never changed and a label the
    /// note already has is not suggested again.
    #[arg(long, conflicts_with = "data")]
    pub as_suggestions: bool,
    /// Texts per forward pass.
    #[arg(long, default_value_t = 16)]
    pub batch_size: usize,
}

/// Runs `predict` and prints its summary.
pub fn run(
    a: PredictArgs,
    project: &Option<PathBuf>,
    device: api::Device,
    json: bool,
    stdout: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    let source = match &a.data {
        Some(f) => PredictSource::File(f.display().to_string()),
        None => PredictSource::Project {
            split: a.split.map(SplitArg::split),
        },
    };
    let tune_thresholds_on = a.tune_thresholds_on.as_deref().map(|s| match s {
        "validation" => ThresholdSource::Validation,
        file => ThresholdSource::File(file.to_owned()),
    });
    let needs_project = matches!(source, PredictSource::Project { .. })
        || tune_thresholds_on == Some(ThresholdSource::Validation);
    let mut opened = if needs_project {
        Some(crate::open(project)?)
    } else {
        None
    };
    let request = PredictRequest {
        model: a.model.display().to_string(),
        adapters: a.adapter.iter().map(|p| p.display().to_string()).collect(),
        source,
        threshold: a.threshold,
        tune_thresholds_on,
        as_suggestions: a.as_suggestions,
        batch_size: a.batch_size,
        device,
    };
    let cancel = CancelToken::new();
    {
        // First Ctrl-C: stop after the current batch (what is done is written); a second exits.
        let cancel = cancel.clone();
        let _ = ctrlc::set_handler(move || {
            if cancel.is_cancelled() {
                std::process::exit(130);
            }
            eprintln!("\nstopping after this batch; the predictions so far are kept");
            cancel.cancel();
        });
    }
    let mut file = match &a.out {
        Some(path) => {
            Some(BufWriter::new(File::create(path).map_err(|e| {
                anyhow::anyhow!("cannot create {}: {e}", path.display())
            })?))
        }
        None => None,
    };
    let mut write_error: Option<std::io::Error> = None;
    let mut bar = Bar::new();
    let result = {
        let mut write = |p: &Prediction| {
            if write_error.is_some() {
                return;
            }
            let line = serde_json::to_string(p).expect("a prediction serialises");
            let written = match &mut file {
                Some(f) => writeln!(f, "{line}"),
                None => writeln!(stdout, "{line}").and_then(|()| stdout.flush()),
            };
            if let Err(e) = written {
                write_error = Some(e);
                cancel.cancel();
            }
        };
        studio::prediction::predict(
            opened.as_mut(),
            &request,
            &mut write,
            &mut |p| bar.update(&p),
            &cancel,
        )
    };
    bar.finish();
    if let Some(e) = write_error {
        return Err(e.into());
    }
    if let Some(mut f) = file {
        f.flush()?;
    }
    let summary = result.map_err(crate::api)?;
    for s in &summary.skipped {
        eprintln!("skipped {s}");
    }
    if a.out.is_some() {
        print_summary(stdout, &summary, json)?;
    } else {
        print_summary(&mut std::io::stderr().lock(), &summary, json)?;
    }
    Ok(if summary.cancelled {
        ExitCode::from(130)
    } else {
        ExitCode::SUCCESS
    })
}

/// The summary as one JSON object, or as text.
fn print_summary(out: &mut dyn Write, s: &PredictSummary, json: bool) -> std::io::Result<()> {
    if json {
        return writeln!(
            out,
            "{}",
            serde_json::to_string(s).expect("a summary serialises")
        );
    }
    writeln!(
        out,
        "{} {} in {:.1} s ({:.1}/s){}",
        s.items,
        if s.items == 1 { "item" } else { "items" },
        s.seconds,
        s.items as f64 / s.seconds.max(1e-9),
        if s.cancelled { ", cancelled" } else { "" }
    )?;
    let origin = match s.threshold_origin {
        ThresholdOrigin::Given => "given with --threshold",
        ThresholdOrigin::Default => "the default; no thresholds.json beside the adapter",
        ThresholdOrigin::Saved => "from thresholds.json beside the adapter",
        ThresholdOrigin::Tuned => "chosen by this run and saved as thresholds.json",
    };
    let thresholds: Vec<String> = s
        .labels
        .iter()
        .map(|l| format!("{l} {:.3}", s.thresholds.get(l).copied().unwrap_or(0.5)))
        .collect();
    writeln!(out, "thresholds ({origin}): {}", thresholds.join(", "))?;
    if let Some(t) = &s.tuned {
        let f1: Vec<String> = t.f1.iter().map(|(l, f)| format!("{l} {f:.3}")).collect();
        writeln!(
            out,
            "tuned on {} ({} items), F1 there: {}",
            t.tuned_on,
            t.items,
            f1.join(", ")
        )?;
    }
    if let Some(m) = &s.metrics {
        let ci = |key: &str| {
            m.ci95
                .get(key)
                .map_or(String::new(), |[lo, hi]| format!(" [{lo:.3}, {hi:.3}]"))
        };
        writeln!(
            out,
            "against gold ({} items): macro-F1 {:.3}{} · micro-F1 {:.3}{} · macro-AUROC {}{}",
            m.n,
            m.macro_f1,
            ci("macro_f1"),
            m.micro_f1,
            ci("micro_f1"),
            m.macro_auroc.map_or("-".to_owned(), |a| format!("{a:.3}")),
            ci("macro_auroc"),
        )?;
        for (label, f) in &m.per_label {
            writeln!(
                out,
                "  {label}: P {:.3} R {:.3} F1 {:.3} AUROC {} (support {})",
                f.precision,
                f.recall,
                f.f1,
                f.auroc.map_or("-".to_owned(), |a| format!("{a:.3}")),
                f.support
            )?;
        }
        writeln!(
            out,
            "95% intervals: percentile bootstrap, {} resamples, seed {}",
            m.bootstrap.resamples, m.bootstrap.seed
        )?;
    }
    if !s.unknown_gold_labels.is_empty() {
        writeln!(
            out,
            "gold labels the classifier does not know (never predicted): {}",
            s.unknown_gold_labels.join(", ")
        )?;
    }
    if let Some(g) = &s.suggestions {
        writeln!(
            out,
            "suggestions by {}: {} added, {} already on the notes{}",
            g.annotator,
            g.added,
            g.already_present,
            if g.not_in_schema.is_empty() {
                String::new()
            } else {
                format!(
                    "; not document labels of this project: {}",
                    g.not_in_schema.join(", ")
                )
            }
        )?;
    }
    if !s.skipped.is_empty() {
        writeln!(out, "{} lines skipped (listed above)", s.skipped.len())?;
    }
    Ok(())
}
