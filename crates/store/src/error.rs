use std::path::PathBuf;

/// Everything that can go wrong in the project store, with the context a user needs.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// SQLite refused a statement.
    #[error("database error while {context}: {source}")]
    Sqlite {
        /// What the store was doing.
        context: &'static str,
        /// SQLite's error.
        source: rusqlite::Error,
    },
    /// The file could not be opened as a project.
    #[error("cannot open project {}: {source}", path.display())]
    Open {
        /// The project file.
        path: PathBuf,
        /// SQLite's error.
        source: rusqlite::Error,
    },
    /// A project is already at that path.
    #[error("a project already exists at {}", path.display())]
    AlreadyExists {
        /// The project file.
        path: PathBuf,
    },
    /// No project at that path.
    #[error("no project at {}", path.display())]
    NoProject {
        /// The path looked at.
        path: PathBuf,
    },
    /// The file is a SQLite database but not a Clinitune project.
    #[error("{} is not a Clinitune project", path.display())]
    NotAProject {
        /// The file.
        path: PathBuf,
    },
    /// The project was written by a newer Clinitune.
    #[error("{} has schema version {found}; this Clinitune reads up to {supported}", path.display())]
    NewerSchema {
        /// The file.
        path: PathBuf,
        /// Version in the file.
        found: i64,
        /// Newest version this build knows.
        supported: i64,
    },
    /// The project was written by an older Clinitune and is only read here (a merge source),
    /// so it cannot be brought up to date in place.
    #[error("{} has schema version {found}; this Clinitune merges version {supported} only", path.display())]
    OlderSchema {
        /// The file.
        path: PathBuf,
        /// Version in the file.
        found: i64,
        /// The version this build writes.
        supported: i64,
    },
    /// Reading or writing a file failed.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// "read", "write", "create"…
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A file is not valid UTF-8.
    #[error("{} is not valid UTF-8: bad byte sequence at byte {offset}", path.display())]
    NotUtf8 {
        /// The file.
        path: PathBuf,
        /// Offset of the first bad byte.
        offset: u64,
    },
    /// The path is not a regular file (a FIFO, a device, a socket): reading it could block or
    /// never end.
    #[error("{} is {kind}, not a regular file", path.display())]
    NotAFile {
        /// The path.
        path: PathBuf,
        /// What it is instead ("a FIFO", "a device"…).
        kind: &'static str,
    },
    /// A note file is bigger than any one note can be.
    #[error("{} is {size} bytes; a note file may be at most {limit} bytes", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// A CSV file's header lacks what the import needs.
    #[error("{}: {message}", path.display())]
    BadHeader {
        /// The file.
        path: PathBuf,
        /// What is missing and which columns were found.
        message: String,
    },
    /// A label schema file is malformed.
    #[error("label schema {origin}: {message}")]
    Schema {
        /// File or schema name.
        origin: String,
        /// What is wrong, and where.
        message: String,
    },
    /// Something asked for is not in the project.
    #[error("{what} {id} not found")]
    NotFound {
        /// "note", "label", "span"…
        what: &'static str,
        /// Its id or name.
        id: String,
    },
    /// The project is encrypted and no passphrase was given for it.
    #[error("{} is encrypted: its passphrase is needed to open it", path.display())]
    Encrypted {
        /// The project file.
        path: PathBuf,
    },
    /// The passphrase given does not open the project.
    #[error("the passphrase does not open {}", path.display())]
    WrongPassphrase {
        /// The project file.
        path: PathBuf,
    },
    /// A request is invalid (bad offsets, label not allowed on spans…).
    #[error("{0}")]
    Invalid(String),
    /// A label or hotkey clashes with one already in the project.
    #[error("{0}")]
    Conflict(String),
}

impl Error {
    /// Wraps a SQLite error with what the store was doing.
    pub(crate) fn sql(context: &'static str) -> impl FnOnce(rusqlite::Error) -> Error {
        move |source| Error::Sqlite { context, source }
    }
}

/// Short for this crate's results.
pub type Result<T, E = Error> = std::result::Result<T, E>;
