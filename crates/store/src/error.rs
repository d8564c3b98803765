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
    /// A stored value this version cannot read: named by table, row and column, never replaced
    /// by a default (an unreadable status must not become "gold").
    #[error(
        "{table} row {id} cannot be read: its {column} {reason}; the project file may be damaged"
    )]
    Corrupt {
        /// The table.
        table: &'static str,
        /// The row's id.
        id: i64,
        /// The column.
        column: &'static str,
        /// What is wrong with the value (never the value itself, which may be note text).
        reason: String,
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
        move |source| {
            if let rusqlite::Error::FromSqlConversionFailure(_, _, inner) = &source
                && let Some(u) = inner.downcast_ref::<Unreadable>()
            {
                return Error::Corrupt {
                    table: u.table,
                    id: u.id,
                    column: u.column,
                    reason: u.reason.clone(),
                };
            }
            Error::Sqlite { context, source }
        }
    }
}

/// Short for this crate's results.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A value read from a row that this version cannot interpret, carried through rusqlite's
/// row-mapping closures and turned into [`Error::Corrupt`] by [`Error::sql`].
#[derive(Debug)]
pub(crate) struct Unreadable {
    table: &'static str,
    id: i64,
    column: &'static str,
    reason: String,
}

impl std::fmt::Display for Unreadable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} row {}: {} {}",
            self.table, self.id, self.column, self.reason
        )
    }
}

impl std::error::Error for Unreadable {}

/// The error a row-mapping closure returns for an unreadable value.
pub(crate) fn unreadable(
    table: &'static str,
    id: i64,
    column: &'static str,
    reason: impl std::fmt::Display,
) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        0,
        rusqlite::types::Type::Text,
        Box::new(Unreadable {
            table,
            id,
            column,
            reason: reason.to_string(),
        }),
    )
}

/// Reads an enum column: `parse` must know the stored name.
pub(crate) fn known<T>(
    table: &'static str,
    id: i64,
    column: &'static str,
    stored: &str,
    parse: impl FnOnce(&str) -> Option<T>,
) -> rusqlite::Result<T> {
    parse(stored).ok_or_else(|| {
        unreadable(
            table,
            id,
            column,
            format!(
                "{:?} is not one this version knows",
                stored.chars().take(24).collect::<String>()
            ),
        )
    })
}

/// Reads a JSON column.
pub(crate) fn json_column<T: serde::de::DeserializeOwned>(
    table: &'static str,
    id: i64,
    column: &'static str,
    stored: &str,
) -> rusqlite::Result<T> {
    serde_json::from_str(stored).map_err(|e| {
        // serde's message names a position and type, never the text around it.
        unreadable(table, id, column, format!("is not valid JSON here ({e})"))
    })
}

#[cfg(test)]
mod tests;
