//! What the desktop app shows about the open project and the person using it.

use serde::{Deserialize, Serialize};

use crate::Stats;

/// The project the app has open.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectInfo {
    /// Absolute path of the `.clinitune` file.
    pub path: String,
    /// File name without extension, for the title bar.
    pub name: String,
    /// Who is annotating: every change is recorded under this name.
    pub annotator: String,
    /// Counts shown on the projects page.
    pub stats: Stats,
}

/// A project opened before, newest first on the projects page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecentProject {
    /// Absolute path of the `.clinitune` file.
    pub path: String,
    /// Whether the file is still there.
    pub exists: bool,
}
