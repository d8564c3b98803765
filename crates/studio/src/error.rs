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
    /// A training setting is outside its allowed range.
    #[error("{setting} {value} is not allowed: use {allowed}")]
    Setting {
        /// The setting, as the request names it (`rank`, `lr`, …).
        setting: &'static str,
        /// The value given.
        value: String,
        /// What is allowed.
        allowed: String,
    },
    /// A training request names no data.
    #[error("no training data was given")]
    NoTrainingData,
    /// The project has nothing the objective can train on.
    #[error("the project has no {what} to train on")]
    NothingToTrain {
        /// What is missing (`preference pairs or SFT examples`, …).
        what: &'static str,
    },
    /// The output folder already holds a run and resuming was not asked for.
    #[error("{} already holds a training run", out.display())]
    RunExists {
        /// The output folder.
        out: std::path::PathBuf,
    },
    /// A file or folder could not be read or written.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// `read`, `write` or `create`.
        action: &'static str,
        /// The file or folder.
        path: std::path::PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// An adapter folder is not a usable PEFT LoRA adapter.
    #[error("adapter {}: {message}", path.display())]
    Adapter {
        /// The file at fault.
        path: std::path::PathBuf,
        /// What is wrong.
        message: String,
    },
    /// An adapter folder given as a classifier lacks what prediction needs.
    #[error("{} is not a classifier adapter: it has no {missing}", path.display())]
    NotAClassifier {
        /// The file missing or lacking the part.
        path: PathBuf,
        /// What is missing.
        missing: &'static str,
    },
    /// Training failed after the model was loaded: data, a step, a checkpoint or a save.
    #[error(transparent)]
    Train(tune::Error),
    /// A run cannot be handed to another engine as planned; the message says why and what to
    /// do instead.
    #[error("cannot export this run as a TRL job: {0}")]
    NotExportable(String),
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

/// What a failure means for the person at the keyboard, so that each shell can say what to do
/// in its own words (the CLI names flags and commands; the app names none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// The project file does not exist.
    NoProject,
    /// The file is not a Clinitune project.
    NotAProject,
    /// An imported file is not UTF-8.
    NotUtf8,
    /// An imported table's columns could not be recognised.
    BadHeader,
    /// An offset falls inside a character or past the end of the note.
    Offset,
    /// A label was used outside its scope (span vs document).
    LabelScope,
    /// An attribute the label's schema does not allow.
    LabelAttribute,
    /// The model file or folder does not exist.
    ModelMissing,
    /// The GPU asked for is not built in or cannot be opened.
    DeviceUnavailable,
    /// A training setting is out of range; the setting's name as the request spells it.
    Setting(&'static str),
    /// A training request names no data.
    NoTrainingData,
    /// The project has nothing to train on.
    NothingToTrain,
    /// The output folder already holds a run.
    RunExists,
    /// An adapter given as a classifier has no score head or no `labels.json`.
    NotAClassifier,
    /// Anything else: the message says it all.
    Other,
}

impl Error {
    /// What this failure means for the user (see [`Cause`]).
    pub fn cause(&self) -> Cause {
        match self {
            Error::Store(store::Error::NoProject { .. }) => Cause::NoProject,
            Error::Store(store::Error::NotAProject { .. }) => Cause::NotAProject,
            Error::Store(store::Error::NotUtf8 { .. }) => Cause::NotUtf8,
            Error::Store(store::Error::BadHeader { .. }) => Cause::BadHeader,
            Error::NotOnCharBoundary { .. } | Error::OutOfRange { .. } => Cause::Offset,
            Error::WrongScope { .. } => Cause::LabelScope,
            Error::BadAttribute(_) => Cause::LabelAttribute,
            Error::Model(tune::Error::Io { .. }) => Cause::ModelMissing,
            Error::Model(
                tune::Error::DeviceNotBuilt { .. } | tune::Error::DeviceUnavailable { .. },
            ) => Cause::DeviceUnavailable,
            &Error::Setting { setting, .. } => Cause::Setting(setting),
            Error::NoTrainingData => Cause::NoTrainingData,
            Error::NothingToTrain { .. } => Cause::NothingToTrain,
            Error::RunExists { .. } => Cause::RunExists,
            Error::NotAClassifier { .. } => Cause::NotAClassifier,
            _ => Cause::Other,
        }
    }
}

/// The app's hints: what a clinician can do, in words that name no command-line flag (a shell
/// with flags, like the CLI, writes its own; see `clinitune`'s `hints`).
impl From<Error> for ApiError {
    fn from(e: Error) -> ApiError {
        let message = e.to_string();
        let (kind, hint): (ErrorKind, Option<&str>) = match &e {
            Error::Store(s) => match s {
                store::Error::NoProject { .. } => (
                    ErrorKind::NotFound,
                    Some("Create the project first, or check the path."),
                ),
                store::Error::NotAProject { .. } => (
                    ErrorKind::InvalidInput,
                    Some("Open a .clinitune project file, or create a new project."),
                ),
                store::Error::Corrupt { .. } => (
                    ErrorKind::Corrupt,
                    Some(
                        "Nothing was changed. Restore the project from a backup, or tell whoever supports Clinitune which row it names.",
                    ),
                ),
                store::Error::Encrypted { .. } => (
                    ErrorKind::Locked,
                    Some("Give the project's passphrase to open it."),
                ),
                store::Error::WrongPassphrase { .. } => (
                    ErrorKind::Locked,
                    Some("Check the passphrase (letters and spaces count); nothing was changed."),
                ),
                store::Error::NewerSchema { .. } => (
                    ErrorKind::Corrupt,
                    Some("Update Clinitune to open this project; it was not changed."),
                ),
                store::Error::OlderSchema { .. } => (
                    ErrorKind::InvalidInput,
                    Some(
                        "Open that project once with this version of Clinitune to bring it up to date, then merge again; this project was not changed.",
                    ),
                ),
                store::Error::AlreadyExists { .. } => (
                    ErrorKind::Conflict,
                    Some("Open it instead, or choose another path."),
                ),
                store::Error::NotUtf8 { .. } => (
                    ErrorKind::InvalidInput,
                    Some(
                        "Convert the file to UTF-8, or import it with bad bytes replaced by U+FFFD.",
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
                    Some("Say which columns hold the text, the id and the category."),
                ),
                store::Error::Schema { .. } => (
                    ErrorKind::InvalidInput,
                    Some("Choose a label schema file (.toml), or fix the line named above."),
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
                Some("Offsets count characters (code points); check the note's length."),
            ),
            Error::WrongScope { .. } => (
                ErrorKind::InvalidInput,
                Some("Check the label's scope in its schema."),
            ),
            Error::BadAttribute(_) => (
                ErrorKind::InvalidInput,
                Some("Check the label's attributes in its schema."),
            ),
            Error::Invalid(_) => (ErrorKind::InvalidInput, None),
            Error::UnknownSchema { .. } => (
                ErrorKind::NotFound,
                Some("Give a TOML file path, or one of the built-in schemas: sdoh, outcomes."),
            ),
            Error::Model(tune::Error::Io { .. }) => (
                ErrorKind::NotFound,
                Some("Choose a model folder or .gguf file."),
            ),
            Error::Model(tune::Error::DeviceNotBuilt { .. })
            | Error::Model(tune::Error::DeviceUnavailable { .. }) => (
                ErrorKind::InvalidInput,
                Some("Choose the CPU, or a device this computer has."),
            ),
            Error::Model(_) => (
                ErrorKind::InvalidInput,
                Some(
                    "Use a Llama-family model (Llama 2/3, SmolLM2, Mistral) as a Hugging Face folder or GGUF file.",
                ),
            ),
            Error::Setting { .. } => (ErrorKind::InvalidInput, None),
            Error::NoTrainingData => (
                ErrorKind::InvalidInput,
                Some("Choose a training data file, or train on the open project."),
            ),
            Error::NothingToTrain { .. } => (
                ErrorKind::NotFound,
                Some(
                    "Review some model outputs or annotate some notes first, or train from a data file.",
                ),
            ),
            Error::RunExists { .. } => (
                ErrorKind::Conflict,
                Some("Resume that run, or choose another output folder."),
            ),
            Error::Io { action: "read", .. } | Error::Train(tune::Error::Io { .. }) => (
                ErrorKind::Io,
                Some("Check that the file exists and is readable."),
            ),
            Error::Io { .. } => (
                ErrorKind::Io,
                Some("Check that the folder can be written to and that the disk has space."),
            ),
            Error::Adapter { .. } | Error::Train(tune::Error::Adapter { .. }) => (
                ErrorKind::InvalidInput,
                Some(
                    "Choose a PEFT LoRA adapter folder (adapter_config.json and adapter_model.safetensors).",
                ),
            ),
            Error::NotAClassifier { .. } => (
                ErrorKind::InvalidInput,
                Some(
                    "Choose the folder of a classification run: it holds the adapter with its score head and labels.json.",
                ),
            ),
            Error::Train(tune::Error::Candle(_)) => (ErrorKind::Internal, None),
            Error::Train(_) => (ErrorKind::InvalidInput, None),
            Error::NotExportable(_) => (ErrorKind::InvalidInput, None),
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
