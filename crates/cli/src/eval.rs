//! `clinitune eval`: scoring predictions against gold with `studio::evaluation`.

use std::io::Write;
use std::path::PathBuf;

use std::process::ExitCode;

use api::{
    BiasFigures, BiasRequest, ComparisonReport, Device, EvaluateRequest, Evaluation, EvaluationId,
    EvaluationSummary, ItemValue, LabelMetrics, MetricSettings, MetricsReport, RocCurve,
    TextMetrics, UnmatchedIds,
};
use clap::{Args, Subcommand};
use studio::CancelToken;

use crate::progress::Bar;
use crate::review::SplitArg;
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
    /// Score a classifier on a split of the project's notes (test by default) against their
    /// gold document labels, and keep the evaluation in the project with every item.
    Run(RunArgs),
    /// The evaluations kept in the project, newest first.
    List,
    /// One kept evaluation: what was evaluated, its figures, and its ROC curves or items.
    Show(ShowArgs),
    /// Compare two kept evaluations on the items both scored, like `eval compare`.
    CompareRuns(CompareRunsArgs),
    /// Bias audit (Guevara et al.): how often the classifier's labels change when a
    /// demographic descriptor is inserted into a sentence, overall and per group; with
    /// `--compare-adapter`, a second classifier on the same pairs and McNemar's exact test.
    Bias(BiasArgs),
}

/// Arguments of `eval bias`.
#[derive(Debug, Args)]
pub struct BiasArgs {
    /// Base model folder or .gguf file.
    #[arg(long, env = "CLINITUNE_MODEL")]
    pub model: PathBuf,
    /// Adapter folder, bottom first; the last is the classifier.
    #[arg(long, value_name = "DIR", required = true)]
    pub adapter: Vec<PathBuf>,
    /// A second classifier's adapter folder(s) on the same model, audited on the same pairs
    /// and tested against the first (e.g. before and after fine-tuning).
    #[arg(long, value_name = "DIR")]
    pub compare_adapter: Vec<PathBuf>,
    /// The pairs: CSV with original_sentence, demographic_inserted and demographic columns
    /// (SHADR's Partial_Iteration_2_demographic_annotated.csv), or JSONL
    /// `{"original", "inserted", "group"}`.
    #[arg(long, value_name = "FILE")]
    pub pairs: PathBuf,
    /// One probability threshold for every label (default: the adapter's thresholds.json,
    /// else 0.5).
    #[arg(long)]
    pub threshold: Option<f64>,
    /// How to score.
    #[command(flatten)]
    pub settings: SettingsArgs,
}

/// Arguments of `eval run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Base model folder or .gguf file (the one the classifier was trained on).
    #[arg(long, env = "CLINITUNE_MODEL")]
    pub model: PathBuf,
    /// Adapter folder, bottom first; the last is the classifier. Repeat to stack a domain
    /// adapter under it.
    #[arg(long, value_name = "DIR", required = true)]
    pub adapter: Vec<PathBuf>,
    /// The split whose notes are predicted and scored (a note's split is that of its pairs).
    #[arg(long, value_enum, default_value_t = SplitArg::Test)]
    pub split: SplitArg,
    /// Score every note with gold document labels instead of one split (for projects whose
    /// notes have no split; notes the classifier was trained on make the figures optimistic).
    #[arg(long)]
    pub all_notes: bool,
    /// One probability threshold for every label (default: the adapter's thresholds.json,
    /// else 0.5).
    #[arg(long)]
    pub threshold: Option<f64>,
    /// A short name for the evaluation (default: the adapter's run and the split).
    #[arg(long)]
    pub name: Option<String>,
    /// How to score.
    #[command(flatten)]
    pub settings: SettingsArgs,
}

/// Arguments of `eval show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The evaluation's id (see `eval list`).
    pub id: i64,
    /// Also print every item's gold and prediction.
    #[arg(long)]
    pub items: bool,
}

/// Arguments of `eval compare-runs`.
#[derive(Debug, Args)]
pub struct CompareRunsArgs {
    /// Evaluation A's id (e.g. the fine-tuned model).
    pub a: i64,
    /// Evaluation B's id (e.g. the baseline).
    pub b: i64,
    /// How to score.
    #[command(flatten)]
    pub settings: SettingsArgs,
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
    /// Keep the evaluation in the project (with every item), to list and compare later.
    #[arg(long)]
    pub save: bool,
    /// A short name for the kept evaluation (default: the predictions file's name).
    #[arg(long, requires = "save")]
    pub name: Option<String>,
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

/// Where `eval` finds the project and who it records as the actor.
pub struct Context<'a> {
    /// The `--project` given, if any.
    pub project: &'a Option<PathBuf>,
    /// Where models run.
    pub device: Device,
    /// Who is evaluating (audit log).
    pub actor: String,
}

/// Runs an `eval` subcommand.
pub fn eval(
    json: bool,
    cmd: EvalCommand,
    cx: &Context<'_>,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    match cmd {
        EvalCommand::Metrics(a) => {
            let settings = a.settings.resolve();
            let report = if a.save {
                let mut project = crate::open(cx.project)?;
                let stored = studio::evaluation::runs::save_files(
                    &mut project,
                    &cx.actor,
                    &a.gold,
                    &a.pred,
                    &settings,
                    a.name.as_deref(),
                )
                .map_err(api_err)?;
                if !json {
                    writeln!(
                        out,
                        "Kept as evaluation {} ({:?}).",
                        stored.summary.id, stored.summary.name
                    )?;
                }
                stored.report
            } else {
                studio::evaluation::metrics_from_files(&a.gold, &a.pred, &settings)
                    .map_err(api_err)?
            };
            if json {
                render::json(out, &report)?;
                return Ok(ExitCode::SUCCESS);
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
                render::json(out, &report)?;
                return Ok(ExitCode::SUCCESS);
            }
            comparison_table(out, &report)?;
        }
        EvalCommand::Run(a) => return run(json, a, cx, out),
        EvalCommand::Bias(a) => return bias(json, a, cx, out),
        EvalCommand::List => {
            let project = crate::open(cx.project)?;
            let list = studio::evaluation::runs::list(&project).map_err(api_err)?;
            if json {
                render::json(out, &list)?;
            } else {
                list_table(out, &list)?;
            }
        }
        EvalCommand::Show(a) => {
            let project = crate::open(cx.project)?;
            let e =
                studio::evaluation::runs::load(&project, EvaluationId(a.id)).map_err(api_err)?;
            let curves = studio::evaluation::runs::roc_curves(&e);
            if json {
                render::json(
                    out,
                    &serde_json::json!({ "evaluation": e, "roc_curves": curves }),
                )?;
                return Ok(ExitCode::SUCCESS);
            }
            show(out, &e, &curves, a.items)?;
        }
        EvalCommand::CompareRuns(a) => {
            let project = crate::open(cx.project)?;
            let settings = a.settings.resolve();
            let report = studio::evaluation::runs::compare(
                &project,
                EvaluationId(a.a),
                EvaluationId(a.b),
                &settings,
            )
            .map_err(api_err)?;
            if json {
                render::json(out, &report)?;
                return Ok(ExitCode::SUCCESS);
            }
            comparison_table(out, &report)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `eval run`: predicts the split with progress (Ctrl-C stops and keeps nothing), stores the
/// evaluation and prints it.
fn run(json: bool, a: RunArgs, cx: &Context<'_>, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let mut project = crate::open(cx.project)?;
    let request = EvaluateRequest {
        model: a.model.display().to_string(),
        adapters: a.adapter.iter().map(|p| p.display().to_string()).collect(),
        split: (!a.all_notes).then(|| a.split.split()),
        threshold: a.threshold,
        settings: a.settings.resolve(),
        name: a.name,
        training_run: a
            .adapter
            .last()
            .and_then(|p| p.parent())
            .filter(|run| run.join(studio::training::PLAN_FILE).is_file())
            .map(|run| run.display().to_string()),
        device: cx.device,
    };
    let cancel = CancelToken::new();
    {
        let cancel = cancel.clone();
        let _ = ctrlc::set_handler(move || {
            if cancel.is_cancelled() {
                std::process::exit(130);
            }
            eprintln!("\nstopping after this batch; nothing is kept");
            cancel.cancel();
        });
    }
    let mut bar = Bar::new();
    let result = studio::evaluation::runs::evaluate_classifier(
        &mut project,
        &cx.actor,
        &request,
        &mut |p| bar.update(&p),
        &cancel,
    );
    bar.finish();
    let e = match result {
        Err(studio::Error::Cancelled) => {
            eprintln!("cancelled; no evaluation was kept");
            return Ok(ExitCode::from(130));
        }
        other => other.map_err(api_err)?,
    };
    let curves = studio::evaluation::runs::roc_curves(&e);
    if json {
        render::json(
            out,
            &serde_json::json!({ "evaluation": e, "roc_curves": curves }),
        )?;
    } else {
        show(out, &e, &curves, false)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `eval bias`: both sentences of every pair through the classifier(s), with progress
/// (Ctrl-C stops and reports nothing), then the change rates.
fn bias(
    json: bool,
    a: BiasArgs,
    cx: &Context<'_>,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    let paths = |p: &[PathBuf]| p.iter().map(|p| p.display().to_string()).collect();
    let request = BiasRequest {
        model: a.model.display().to_string(),
        adapters: paths(&a.adapter),
        compare_adapters: paths(&a.compare_adapter),
        pairs: a.pairs.display().to_string(),
        threshold: a.threshold,
        settings: a.settings.resolve(),
        device: cx.device,
    };
    let cancel = CancelToken::new();
    {
        let cancel = cancel.clone();
        let _ = ctrlc::set_handler(move || {
            if cancel.is_cancelled() {
                std::process::exit(130);
            }
            eprintln!("\nstopping after this batch");
            cancel.cancel();
        });
    }
    let mut bar = Bar::new();
    let result = studio::evaluation::bias::audit(&request, &mut |p| bar.update(&p), &cancel);
    bar.finish();
    let report = match result {
        Err(studio::Error::Cancelled) => {
            eprintln!("cancelled");
            return Ok(ExitCode::from(130));
        }
        other => other.map_err(api_err)?,
    };
    for s in &report.skipped {
        eprintln!("skipped {s}");
    }
    if json {
        render::json(out, &report)?;
        return Ok(ExitCode::SUCCESS);
    }
    writeln!(
        out,
        "{} pairs (original and demographic-inserted sentence) from {}.",
        report.n, report.pairs
    )?;
    bias_figures(out, "Classifier", &report.model)?;
    if let Some(c) = &report.comparison {
        bias_figures(out, "Compared with", &c.other)?;
        writeln!(
            out,
            "Changed under the first only: {}, under the second only: {}; McNemar exact p = {:.4}.",
            c.changed_only_first, c.changed_only_other, c.mcnemar_p
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

fn bias_figures(out: &mut impl Write, title: &str, f: &BiasFigures) -> anyhow::Result<()> {
    writeln!(out)?;
    writeln!(out, "{title}: {}", f.adapters.join(" + "))?;
    writeln!(
        out,
        "Predictions changed by the inserted demographics: {} of the pairs, rate {:.3} {}",
        f.changed,
        f.change_rate,
        interval(f.ci95.as_ref())
    )?;
    let mut groups: Vec<(&String, &api::GroupChange)> = f.per_group.iter().collect();
    groups.sort_by(|a, b| b.1.n.cmp(&a.1.n).then_with(|| a.0.cmp(b.0)));
    let width = groups
        .iter()
        .map(|(g, _)| g.chars().count())
        .max()
        .unwrap_or(5)
        .max(5);
    writeln!(
        out,
        "{:<width$}  {:>5}  {:>7}  {:>5}",
        "group", "pairs", "changed", "rate"
    )?;
    for (g, c) in groups {
        writeln!(
            out,
            "{g:<width$}  {:>5}  {:>7}  {:>5.3}",
            c.n, c.changed, c.rate
        )?;
    }
    writeln!(
        out,
        "95% interval: {} bootstrap over pairs, {} resamples, seed {}.",
        f.bootstrap.method, f.bootstrap.resamples, f.bootstrap.seed
    )?;
    Ok(())
}

fn list_table(out: &mut impl Write, list: &[EvaluationSummary]) -> anyhow::Result<()> {
    if list.is_empty() {
        writeln!(
            out,
            "No evaluations kept yet: score a classifier with `clinitune eval run`, or files \
             with `clinitune eval metrics --save`."
        )?;
        return Ok(());
    }
    writeln!(
        out,
        "{:>4}  {:<19}  {:<14}  {:>6}  {:<28}  name",
        "id", "when", "kind", "items", "headline"
    )?;
    for e in list {
        let headline: Vec<String> = e
            .headline
            .iter()
            .map(|(k, h)| format!("{k} {:.3}", h.value))
            .collect();
        let when: String = e.created_at.chars().take(19).collect();
        writeln!(
            out,
            "{:>4}  {:<19}  {:<14}  {:>6}  {:<28}  {}",
            e.id,
            when.replace('T', " "),
            e.kind.as_str(),
            e.items,
            headline.join(", "),
            e.name
        )?;
    }
    Ok(())
}

fn show(
    out: &mut impl Write,
    e: &Evaluation,
    curves: &[RocCurve],
    items: bool,
) -> anyhow::Result<()> {
    let s = &e.summary;
    writeln!(out, "Evaluation {} ({:?}), {}", s.id, s.name, s.created_at)?;
    writeln!(out, "Scored: {}", s.subject.source)?;
    if let Some(model) = &s.subject.model {
        writeln!(out, "Model: {model}")?;
    }
    for adapter in &s.subject.adapters {
        writeln!(out, "Adapter: {adapter}")?;
    }
    if let Some(run) = &s.subject.training_run {
        writeln!(out, "Training run: {run}")?;
    }
    writeln!(out)?;
    match &e.report {
        MetricsReport::Labels(l) => label_table(out, l)?,
        MetricsReport::Text(t) => text_table(out, t)?,
    }
    if !curves.is_empty() {
        writeln!(out)?;
        writeln!(out, "ROC curves (false positive rate, true positive rate):")?;
        for c in curves {
            writeln!(
                out,
                "{}: AUROC {:.3}, {} positives, {} negatives, {} points",
                c.label,
                c.auroc,
                c.positives,
                c.negatives,
                c.points.len()
            )?;
        }
    }
    if items {
        writeln!(out)?;
        for item in &e.items {
            writeln!(
                out,
                "{}\tgold {}\tpredicted {}",
                item.id,
                value(&item.gold),
                value(&item.predicted)
            )?;
        }
    }
    Ok(())
}

fn value(v: &ItemValue) -> String {
    match v {
        ItemValue::Labels { labels, .. } => format!("[{}]", labels.join(", ")),
        ItemValue::Text { text } => format!("{text:?}"),
    }
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
