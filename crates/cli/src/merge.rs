//! `clinitune merge OTHER`: a colleague's project file merged into this one (team projects).

use std::io::Write;
use std::path::PathBuf;

use api::MergeSummary;
use clap::Args;

use crate::render;

/// Arguments of `merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The other project file (`*.clinitune`); it is only read.
    pub other: PathBuf,
}

/// Merges `OTHER` into the `--project` and prints what was added and what could not be.
pub fn run(
    project: &Option<PathBuf>,
    json: bool,
    a: MergeArgs,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let mut project = crate::open(project)?;
    let who = crate::annotator(&None);
    let summary = studio::merge::merge_project(&mut project, &a.other, &who).map_err(crate::api)?;
    if json {
        render::json(out, &summary)?;
    } else {
        print(out, &summary)?;
    }
    Ok(())
}

/// The text report: counts, then the ids (never the text) of notes not matched, then conflicts.
fn print(out: &mut impl Write, s: &MergeSummary) -> std::io::Result<()> {
    writeln!(out, "Merged {}.", s.other)?;
    writeln!(
        out,
        "Notes: {} matched, {} not matched.",
        s.notes_matched, s.notes_not_matched
    )?;
    writeln!(
        out,
        "Added {} annotations ({} spans, {} document labels), {} outputs, {} reviews, \
         {} preference pairs, {} SFT examples; {} note statuses updated.",
        s.annotations_added,
        s.spans_added,
        s.doc_labels_added,
        s.outputs_added,
        s.reviews_added,
        s.pairs_added,
        s.sft_added,
        s.statuses_updated
    )?;
    writeln!(
        out,
        "New here: {} annotators, {} labels, {} task versions.",
        s.annotators_added,
        s.labels_added.len(),
        s.tasks_added
    )?;
    if !s.unmatched_notes.is_empty() {
        let ids: Vec<String> = s
            .unmatched_notes
            .iter()
            .map(|n| match &n.external_id {
                Some(id) => id.clone(),
                None => format!("#{}", n.note),
            })
            .collect();
        writeln!(
            out,
            "Not matched ({} notes of the other project, by source id or #id there; import \
             them here first to merge their work): {}",
            ids.len(),
            ids.join(", ")
        )?;
    }
    for c in &s.label_conflicts {
        writeln!(
            out,
            "Label conflict: {}: {}; its annotations were not merged.",
            c.label, c.reason
        )?;
    }
    for t in &s.task_conflicts {
        writeln!(
            out,
            "Task conflict: {t} has a different template here; its outputs were not merged."
        )?;
    }
    if s.annotations_skipped > 0 {
        writeln!(
            out,
            "{} annotations were not merged because of the label conflicts above.",
            s.annotations_skipped
        )?;
    }
    if s.output_conflicts > 0 {
        writeln!(
            out,
            "{} outputs were not merged: a different output here has the same run, note and sample.",
            s.output_conflicts
        )?;
    }
    if s.status_conflicts > 0 {
        writeln!(
            out,
            "{} notes are skipped in one project and started in the other; this project's status was kept.",
            s.status_conflicts
        )?;
    }
    Ok(())
}
