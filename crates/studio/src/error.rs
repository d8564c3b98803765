use std::path::PathBuf;

use api::{ApiError, ErrorKind, NoteId};

/// What can go wrong in a service, with the context to explain it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The project store failed or refused.
    #[error(transparent)]
    Store(#[from] store::Error),
    /// An offset does not fall between two characters of the note.
    #[error("offset {offset} is inside a character of note {note}")]
    NotOnCharBoundary {
        /// The note.
        note: NoteId,
        /// The offending byte offset.
        offset: usize,
    },
    /// A span reaches past the end of the note.
    #[error("span {start}..{end} is outside note {note}, which has {len} bytes")]
    OutOfRange {
        /// The note.
        note: NoteId,
        /// Start of the bad fragment.
        start: usize,
        /// End of the bad fragment.
        end: usize,
        /// Length of the note.
        len: usize,
    },
    /// The label cannot be used that way (span vs document).
    #[error("label {label} cannot be used on {use_}; its scope is {scope}")]
    WrongScope {
        /// The label.
        label: String,
        /// "spans" or "documents".
        use_: &'static str,
        /// Its scope.
        scope: &'static str,
    },
    /// An attribute name or value the label's schema does not allow.
    #[error("{0}")]
    BadAttribute(String),
    /// Any other invalid request.
    #[error("{0}")]
    Invalid(String),
    /// A schema name that is neither a file nor built in.
    #[error("no schema file or built-in schema named {name:?}")]
    UnknownSchema {
        /// What was asked for.
        name: String,
    },
    /// A model could not be loaded or run.
    #[error(transparent)]
    Model(#[from] tune::Error),
    /// The user cancelled the job.
    #[error("cancelled")]
    Cancelled,
    /// A file the user named could not be read.
    #[error("cannot read {}: {source}", path.display())]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A line of an input file is malformed; the message says what is wrong with it.
    #[error("{}:{line}: {message}", path.display())]
    BadLine {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

impl From<Error> for ApiError {
    fn from(e: Error) -> ApiError {
        let message = e.to_string();
        let (kind, hint): (ErrorKind, Option<&str>) = match &e {
            Error::Store(s) => match s {
                store::Error::NoProject { .. } => (
                    ErrorKind::NotFound,
                    Some("Create it with `clinitune init PATH`, or check the path."),
                ),
                store::Error::NotAProject { .. } => (
                    ErrorKind::InvalidInput,
                    Some("Open a .clinitune project file, or create one with `clinitune init`."),
                ),
                store::Error::NewerSchema { .. } => (
                    ErrorKind::Corrupt,
                    Some("Update Clinitune to open this project; it was not changed."),
                ),
                store::Error::AlreadyExists { .. } => (
                    ErrorKind::Conflict,
                    Some("Open it instead, or choose another path."),
                ),
                store::Error::NotUtf8 { .. } => (
                    ErrorKind::InvalidInput,
                    Some(
                        "Convert the file to UTF-8, or import with --lossy to replace bad bytes with U+FFFD.",
                    ),
                ),
                store::Error::NotAFile { .. } => (
                    ErrorKind::InvalidInput,
                    Some("Give a regular file, or a folder of them."),
                ),
                store::Error::TooLarge { .. } => (
                    ErrorKind::InvalidInput,
                    Some("Split it into one note per file, or import the notes as CSV or JSONL."),
                ),
                store::Error::BadHeader { .. } => (
                    ErrorKind::InvalidInput,
                    Some("Name the columns with --text-col, --id-col, --category-col …"),
                ),
                store::Error::Schema { .. } => (
                    ErrorKind::InvalidInput,
                    Some("Fix the schema file; assets/schemas/README.md describes the format."),
                ),
                store::Error::NotFound { .. } => (ErrorKind::NotFound, None),
                store::Error::Invalid(_) => (ErrorKind::InvalidInput, None),
                store::Error::Conflict(_) => (ErrorKind::Conflict, None),
                store::Error::Io { action, .. } if matches!(*action, "read" | "open" | "list") => (
                    ErrorKind::Io,
                    Some("Check that the path exists and is readable."),
                ),
                store::Error::Io { .. } => (
                    ErrorKind::Io,
                    Some("Check that the folder is writable and the disk has free space."),
                ),
                store::Error::Open { .. } => (
                    ErrorKind::Corrupt,
                    Some("The file may be damaged or locked by another program."),
                ),
                store::Error::Sqlite { .. } => (ErrorKind::Internal, None),
            },
            Error::NotOnCharBoundary { .. } | Error::OutOfRange { .. } => (
                ErrorKind::InvalidInput,
                Some(
                    "Offsets count characters (code points) on the command line; check the note's length with `clinitune notes show`.",
                ),
            ),
            Error::WrongScope { .. } => (
                ErrorKind::InvalidInput,
                Some("Use `clinitune schema list` to see each label's scope."),
            ),
            Error::BadAttribute(_) => (
                ErrorKind::InvalidInput,
                Some("Use `clinitune schema list` to see each label's attributes."),
            ),
            Error::Invalid(_) => (ErrorKind::InvalidInput, None),
            Error::UnknownSchema { .. } => (
                ErrorKind::NotFound,
                Some("Give a TOML file path, or one of the built-in schemas: sdoh, outcomes."),
            ),
            Error::Model(tune::Error::Io { .. }) => (
                ErrorKind::NotFound,
                Some(
                    "Give a model folder or .gguf file; `cargo xtask fetch-model` puts the default model in models/.",
                ),
            ),
            Error::Model(_) => (
                ErrorKind::InvalidInput,
                Some(
                    "Use a Llama-family model (Llama 2/3, SmolLM2, Mistral) as a Hugging Face folder or GGUF file.",
                ),
            ),
            Error::Cancelled => (ErrorKind::Cancelled, None),
            Error::ReadFile { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                (ErrorKind::NotFound, Some("Check the file's path."))
            }
            Error::ReadFile { .. } => (
                ErrorKind::Io,
                Some("Check that the file exists and is readable."),
            ),
            Error::BadLine { .. } => (
                ErrorKind::InvalidInput,
                Some(
                    "Each line must be one JSON object with an \"id\" and either \"labels\" (a list of label names) or \"text\".",
                ),
            ),
        };
        let err = ApiError::new(kind, message);
        match hint {
            Some(h) => err.with_hint(h),
            None => err,
        }
    }
}
