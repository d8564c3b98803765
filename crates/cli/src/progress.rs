//! indicatif progress bars for long jobs, on stderr (hidden when stderr is not a terminal).

use api::JobProgress;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A progress bar that follows a job's [`JobProgress`] reports.
pub struct Bar {
    bar: Option<ProgressBar>,
    stage: String,
}

impl Bar {
    /// A bar that appears on the first report.
    pub fn new() -> Bar {
        Bar {
            bar: None,
            stage: String::new(),
        }
    }

    /// Updates the bar from a report.
    pub fn update(&mut self, p: &JobProgress) {
        if self.bar.is_none() || p.stage != self.stage {
            if let Some(old) = self.bar.take() {
                old.finish_and_clear();
            }
            let bar = ProgressBar::with_draw_target(p.total, ProgressDrawTarget::stderr());
            let template = match (p.total.is_some(), p.unit.as_str()) {
                (true, "bytes") => {
                    "{msg} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta} left)"
                }
                (true, _) => "{msg} [{bar:30}] {pos}/{len} {prefix} ({per_sec}, {eta} left)",
                (false, _) => "{msg} {spinner} {pos} {prefix}",
            };
            if let Ok(style) = ProgressStyle::with_template(template) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_message(p.stage.clone());
            bar.set_prefix(p.unit.clone());
            self.stage = p.stage.clone();
            self.bar = Some(bar);
        }
        if let Some(bar) = &self.bar {
            if let Some(total) = p.total {
                bar.set_length(total);
            }
            bar.set_position(p.done);
        }
    }

    /// Removes the bar.
    pub fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}
