//! `clinitune eval`: scoring predictions against gold with `studio::evaluation`.

use std::io::Write;
use std::path::PathBuf;

use api::{
    ComparisonReport, LabelMetrics, MetricSettings, MetricsReport, TextMetrics, UnmatchedIds,
};
use clap::{Args, Subcommand};

use crate::{api as api_err, render};

/// `eval` subcommands.
#[derive(Debug, Subcommand)]
pub enum EvalCommand {
    /// Score predictions against gold, lines joined by "id". Label sets
    /// (`{"id", "labels": [...]}`, predictions optionally with `"scores": {"LABEL": p}`) give
    /// per-label precision/recall/F1 (0/0 counts as 0), macro and micro F1 and AUROC; texts
    /// (`{"id", "text"}`) give ROUGE-1/2/L F-measures as rouge-score computes them. Headline
    /// figures come with 95% percentile bootstrap intervals.
    Metrics(MetricsArgs),
    /// Compare two runs' predictions on the same gold: each headline figure of A and B, a
    /// paired bootstrap 95% interval of A − B and a paired permutation p-value.
    Compare(CompareArgs),
}

/// Arguments of `eval metrics`.
#[derive(Debug, Args)]
pub struct MetricsArgs {
    /// Gold JSONL: `{"id", "labels": [...]}` or `{"id", "text"}` per line.
    #[arg(long, value_name = "GOLD.jsonl")]
    pub gold: PathBuf,
    /// Predictions JSONL: `{"id", "labels": [...], "scores": {...}}` or `{"id", "text"}`.
    #[arg(long, value_name = "PRED.jsonl")]
    pub pred: PathBuf,
    /// How to score.
    #[command(flatten)]
    pub settings: SettingsArgs,
}

/// Arguments of `eval compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Gold JSONL, as for `eval metrics`.
    #[arg(long, value_name = "GOLD.jsonl")]
    pub gold: PathBuf,
    /// Run A's predictions (e.g. the fine-tuned model).
    #[arg(long = "a", value_name = "PRED.jsonl")]
    pub a: PathBuf,
    /// Run B's predictions (e.g. the baseline).
    #[arg(long = "b", value_name = "PRED.jsonl")]
    pub b: PathBuf,
    /// How to score.
    #[command(flatten)]
    pub settings: SettingsArgs,
}

/// Scoring settings shared by `eval metrics` and `eval compare`.
#[derive(Debug, Args)]
pub struct SettingsArgs {
    /// Score "no label" as a class of this name, given to every empty label set (the SDoH
    /// paper's `<NO_SDOH>`).
    #[arg(long, value_name = "NAME")]
    pub no_label_class: Option<String>,
    /// ROUGE without rouge-score's Porter stemmer (`use_stemmer=False`); stemming is on by
    /// default, as most papers report it.
    #[arg(long)]
    pub no_stemmer: bool,
    /// Bootstrap resamples (and permutations) for the 95% intervals and p-values.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..))]
    pub resamples: u32,
    /// Bootstrap seed; the same seed and files give the same intervals.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

impl SettingsArgs {
    fn resolve(self) -> MetricSettings {
        MetricSettings {
            no_label_class: self.no_label_class,
            stemmer: !self.no_stemmer,
            resamples: self.resamples,
            seed: self.seed,
        }
    }
}

/// Runs an `eval` subcommand.
pub fn eval(json: bool, cmd: EvalCommand, out: &mut impl Write) -> anyhow::Result<()> {
    match cmd {
        EvalCommand::Metrics(a) => {
            let settings = a.settings.resolve();
            let report = studio::evaluation::metrics_from_files(&a.gold, &a.pred, &settings)
                .map_err(api_err)?;
            if json {
                return render::json(out, &report);
            }
            match &report {
                MetricsReport::Labels(l) => label_table(out, l)?,
                MetricsReport::Text(t) => text_table(out, t)?,
            }
        }
        EvalCommand::Compare(a) => {
            let settings = a.settings.resolve();
            let report = studio::evaluation::compare_files(&a.gold, &a.a, &a.b, &settings)
                .map_err(api_err)?;
            if json {
                return render::json(out, &report);
            }
            comparison_table(out, &report)?;
        }
    }
    Ok(())
}

fn interval(ci: Option<&[f64; 2]>) -> String {
    ci.map(|[lo, hi]| format!("[{lo:.3}, {hi:.3}]"))
        .unwrap_or_default()
}

fn label_table(out: &mut impl Write, r: &LabelMetrics) -> anyhow::Result<()> {
    writeln!(out, "{} items scored (ids in both files).", r.n)?;
    let width = r
        .per_label
        .keys()
        .map(|k| k.chars().count())
        .max()
        .unwrap_or(5)
        .max(5);
    writeln!(
        out,
        "{:<width$}  precision  recall     f1  f1 95% CI          auroc  support  predicted",
        "label"
    )?;
    for (name, f) in &r.per_label {
        let auroc = f
            .auroc
            .map(|a| format!("{a:.3}"))
            .unwrap_or_else(|| "-".to_owned());
        writeln!(
            out,
            "{name:<width$}  {:>9.3}  {:>6.3}  {:>5.3}  {:<16}  {auroc:>5}  {:>7}  {:>9}",
            f.precision,
            f.recall,
            f.f1,
            interval(f.f1_ci95.as_ref()),
            f.support,
            f.predicted
        )?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "macro F1     {:.3}  {}",
        r.macro_f1,
        interval(r.ci95.get("macro_f1"))
    )?;
    writeln!(
        out,
        "micro F1     {:.3}  {}",
        r.micro_f1,
        interval(r.ci95.get("micro_f1"))
    )?;
    match r.macro_auroc {
        Some(a) => writeln!(
            out,
            "macro AUROC  {a:.3}  {}",
            interval(r.ci95.get("macro_auroc"))
        )?,
        None => writeln!(
            out,
            "macro AUROC  -      (no label has scores and both classes)"
        )?,
    }
    if let Some(name) = &r.no_label_class {
        writeln!(out, "Empty label sets counted as the class {name:?}.")?;
    }
    footer(out, &r.bootstrap, &r.unmatched)
}

fn text_table(out: &mut impl Write, r: &TextMetrics) -> anyhow::Result<()> {
    writeln!(out, "{} items scored (ids in both files).", r.n)?;
    writeln!(out, "metric  F-measure  95% CI")?;
    for (name, value) in [
        ("rouge1", r.rouge1),
        ("rouge2", r.rouge2),
        ("rougeL", r.rouge_l),
    ] {
        writeln!(
            out,
            "{name:<6}  {value:>9.3}  {}",
            interval(r.ci95.get(name))
        )?;
    }
    writeln!(
        out,
        "ROUGE as rouge-score 0.1.2: lower-cased a-z0-9 tokens, {}.",
        if r.stemmer {
            "Porter-stemmed (use_stemmer=True)"
        } else {
            "not stemmed (use_stemmer=False)"
        }
    )?;
    footer(out, &r.bootstrap, &r.unmatched)
}

fn footer(out: &mut impl Write, b: &api::BootstrapInfo, u: &UnmatchedIds) -> anyhow::Result<()> {
    writeln!(
        out,
        "95% intervals: {} bootstrap over items, {} resamples, seed {}.",
        b.method, b.resamples, b.seed
    )?;
    for (ids, where_) in [(&u.gold_only, "gold"), (&u.pred_only, "the predictions")] {
        if ids.is_empty() {
            continue;
        }
        let shown: Vec<&str> = ids.iter().take(10).map(String::as_str).collect();
        let more = if ids.len() > shown.len() { ", …" } else { "" };
        writeln!(
            out,
            "{} ids only in {where_}, not scored: {}{more}",
            ids.len(),
            shown.join(", ")
        )?;
    }
    Ok(())
}

fn comparison_table(out: &mut impl Write, r: &ComparisonReport) -> anyhow::Result<()> {
    writeln!(out, "{} items scored (ids in all three files).", r.n)?;
    writeln!(
        out,
        "{:<11}  {:>6}  {:>6}  {:>7}  {:<18}  {:>6}",
        "figure", "A", "B", "A - B", "95% CI of A - B", "p"
    )?;
    for (name, f) in &r.figures {
        let ci = f
            .ci95
            .map(|[lo, hi]| format!("[{lo:+.3}, {hi:+.3}]"))
            .unwrap_or_default();
        writeln!(
            out,
            "{name:<11}  {:>6.3}  {:>6.3}  {:>+7.3}  {ci:<18}  {:>6.4}",
            f.a, f.b, f.difference, f.p_value
        )?;
    }
    writeln!(
        out,
        "95% intervals: paired {} bootstrap over items; p: paired permutation test; {} resamples, seed {}.",
        r.bootstrap.method, r.bootstrap.resamples, r.bootstrap.seed
    )?;
    if !r.unmatched.is_empty() {
        writeln!(
            out,
            "{} ids missing from at least one file, not scored.",
            r.unmatched.len()
        )?;
    }
    Ok(())
}
