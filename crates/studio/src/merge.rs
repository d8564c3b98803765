//! Team projects: merging a colleague's project file into the open one.
//!
//! Each annotator's work arrives under their own name, so the agreement report and
//! adjudication compare them as they would two people annotating in one project.

use std::path::Path;

use api::MergeSummary;

use crate::error::Error;
use crate::project::Project;

/// Brings `other`'s annotations, note statuses, model outputs, reviews, preference pairs and
/// SFT examples into `project`, matching notes by content hash; `other` is only read. Adds
/// nothing already here, so a second merge changes nothing; all or nothing.
pub fn merge_project(
    project: &mut Project,
    other: &Path,
    actor: &str,
) -> Result<MergeSummary, Error> {
    Ok(project.store.merge_from(other, actor)?)
}
