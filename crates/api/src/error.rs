use serde::{Deserialize, Serialize};

/// What kind of failure an [`ApiError`] reports, so a frontend can branch on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The thing asked for does not exist (note, label, project).
    NotFound,
    /// The request or an input file is malformed; the message says where.
    InvalidInput,
    /// The request clashes with what is already there (duplicate label, hotkey in use).
    Conflict,
    /// A file could not be read or written.
    Io,
    /// The project file is damaged or from a newer Clinitune.
    Corrupt,
    /// The user cancelled a long job.
    Cancelled,
    /// A bug or an unexpected failure; the message says what to report.
    Internal,
    /// The project is encrypted: its passphrase is needed, or the one given does not open it.
    Locked,
}

/// The one error type that reaches the UI and the CLI's JSON output.
///
/// `message` says what happened and where, `hint` what the clinician can do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// Category of the failure.
    pub kind: ErrorKind,
    /// What happened, in words a clinician can act on.
    pub message: String,
    /// What to do next, when there is something to do.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl ApiError {
    /// An error of `kind` with a message and no hint.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> ApiError {
        ApiError {
            kind,
            message: message.into(),
            hint: None,
        }
    }

    /// Adds what the user can do about it.
    pub fn with_hint(mut self, hint: impl Into<String>) -> ApiError {
        self.hint = Some(hint.into());
        self
    }

    /// An unexpected failure (a bug, a crashed worker).
    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorKind::Internal, message)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, " ({hint})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}
