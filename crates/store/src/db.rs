//! Opening projects, migrations, and the read/write handles.

use std::ops::Deref;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use crate::error::{Error, Result};

/// `PRAGMA application_id` of a Clinitune project ("ClTu"), so other SQLite files are refused.
pub(crate) const APPLICATION_ID: i64 = 0x436C_5475;

/// Migrations in order; the project's `user_version` is the number applied.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_init.sql"),
    include_str!("migrations/0002_review.sql"),
    include_str!("migrations/0003_evaluations.sql"),
    include_str!("migrations/0004_audit_chain.sql"),
    include_str!("migrations/0005_uncertainty.sql"),
];

/// An open project file.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

/// Read access to a project (also available inside a write transaction through [`Tx`]).
#[derive(Clone, Copy)]
pub struct Db<'c> {
    pub(crate) conn: &'c Connection,
}

/// One write transaction; everything done through it commits together or not at all.
pub struct Tx<'c> {
    db: Db<'c>,
}

impl<'c> Deref for Tx<'c> {
    type Target = Db<'c>;

    fn deref(&self) -> &Db<'c> {
        &self.db
    }
}

impl<'c> Tx<'c> {
    /// The transaction's connection, for the write helpers of this crate.
    pub(crate) fn conn(&self) -> &'c Connection {
        self.db.conn
    }
}

impl Store {
    /// Creates a new, empty project file; refuses to overwrite an existing one. See
    /// [`Store::create_with`].
    pub fn create(path: &Path) -> Result<Store> {
        Store::create_with(path, Ok::<Store, Error>)
    }

    /// Creates a new project file filled by `fill`, atomically: the project is built in a
    /// temporary file beside `path` and moved to `path` only once `fill` has succeeded, so a
    /// creation that fails or is killed leaves no file at `path` (at worst a hidden
    /// `.NAME.creating-*` file), and a project never exists without what `fill` puts in it.
    /// Refuses to overwrite an existing file, also one that appears meanwhile.
    pub fn create_with<E: From<Error>>(
        path: &Path,
        fill: impl FnOnce(Store) -> Result<Store, E>,
    ) -> Result<Store, E> {
        Store::create_with_key(path, None, fill)
    }

    /// [`Store::create_with`], encrypted with `passphrase` when one is given (SQLCipher: the
    /// file and its write-ahead log). The passphrase is remembered for this process.
    pub fn create_with_key<E: From<Error>>(
        path: &Path,
        passphrase: Option<crate::Passphrase>,
        fill: impl FnOnce(Store) -> Result<Store, E>,
    ) -> Result<Store, E> {
        if let Some(p) = &passphrase {
            crate::keys::check_new_passphrase(p)?;
        }
        if path.exists() {
            return Err(Error::AlreadyExists {
                path: path.to_owned(),
            }
            .into());
        }
        let io = |action: &'static str, at: &Path| {
            let at = at.to_owned();
            move |source| Error::Io {
                action,
                path: at,
                source,
            }
        };
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(io("create folder", dir))?;
        let name = path
            .file_name()
            .ok_or_else(|| Error::Invalid(format!("{} is not a file name", path.display())))?;
        let mut temp_name = std::ffi::OsString::from(".");
        temp_name.push(name);
        // Unique per process and call, so two creations never share a temporary file.
        static CREATIONS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = CREATIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        temp_name.push(format!(".creating-{}-{n}", std::process::id()));
        let temp = dir.join(temp_name);
        remove_database(&temp);
        let built = Store::build(&temp, passphrase.as_deref().map(String::as_str))
            .map_err(E::from)
            .and_then(fill);
        let store = match built {
            Ok(store) => store,
            Err(e) => {
                remove_database(&temp);
                return Err(e);
            }
        };
        if let Err(e) = store.finish_temporary().and_then(|()| place(&temp, path)) {
            remove_database(&temp);
            return Err(e.into());
        }
        if let Some(p) = passphrase {
            crate::remember_passphrase(path, p);
        }
        Ok(Store::open(path)?)
    }

    /// Creates the database at `temp` (encrypted with `key`, when given) with the application
    /// id and the current schema.
    fn build(temp: &Path, key: Option<&str>) -> Result<Store> {
        let conn = Connection::open(temp).map_err(|source| Error::Open {
            path: temp.to_owned(),
            source,
        })?;
        if let Some(key) = key {
            crate::keys::apply(&conn, temp, key)?;
        }
        conn.pragma_update(None, "application_id", APPLICATION_ID)
            .map_err(|source| Error::Open {
                path: temp.to_owned(),
                source,
            })?;
        Store::prepare(conn, temp)
    }

    /// Folds the write-ahead log into the file and closes it, so the file alone is the whole
    /// project and can be moved.
    fn finish_temporary(self) -> Result<()> {
        self.conn
            .pragma_update_and_check(None, "journal_mode", "delete", |_| Ok(()))
            .map_err(Error::sql("finishing the new project"))?;
        self.conn
            .close()
            .map_err(|(_, e)| Error::sql("closing the new project")(e))?;
        let file = std::fs::File::open(&self.path).map_err(|source| Error::Io {
            action: "write",
            path: self.path.clone(),
            source,
        })?;
        file.sync_all().map_err(|source| Error::Io {
            action: "write",
            path: self.path.clone(),
            source,
        })
    }
    /// Opens an existing project and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Store> {
        if !path.is_file() {
            return Err(Error::NoProject {
                path: path.to_owned(),
            });
        }
        let encrypted = crate::is_encrypted(path)?;
        let key = if encrypted {
            Some(
                crate::keys::passphrase_for(path).ok_or_else(|| Error::Encrypted {
                    path: path.to_owned(),
                })?,
            )
        } else {
            None
        };
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|source| Error::Open {
            path: path.to_owned(),
            source,
        })?;
        if let Some(key) = &key {
            crate::keys::apply(&conn, path, key)?;
        }
        let app_id: i64 = conn
            .pragma_query_value(None, "application_id", |r| r.get(0))
            .map_err(|_| {
                // An encrypted file read with the wrong key looks like no database at all.
                if encrypted {
                    Error::WrongPassphrase {
                        path: path.to_owned(),
                    }
                } else {
                    Error::NotAProject {
                        path: path.to_owned(),
                    }
                }
            })?;
        if app_id != APPLICATION_ID {
            return Err(Error::NotAProject {
                path: path.to_owned(),
            });
        }
        Store::prepare(conn, path)
    }

    /// Opens the project at `path`, creating it first if there is none.
    pub fn open_or_create(path: &Path) -> Result<Store> {
        if path.exists() {
            Store::open(path)
        } else {
            Store::create(path)
        }
    }

    fn prepare(mut conn: Connection, path: &Path) -> Result<Store> {
        let open_err = |source| Error::Open {
            path: path.to_owned(),
            source,
        };
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(open_err)?;
        // WAL: readers never block the writer, and a killed process never leaves a torn write.
        // synchronous=NORMAL is durable across process crashes in WAL mode.
        conn.pragma_update_and_check(None, "journal_mode", "wal", |_| Ok(()))
            .map_err(open_err)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(open_err)?;
        conn.pragma_update(None, "foreign_keys", true)
            .map_err(open_err)?;
        conn.set_prepared_statement_cache_capacity(64);
        migrate(&mut conn, path)?;
        Ok(Store {
            conn,
            path: path.to_owned(),
        })
    }

    /// Whether this project is encrypted.
    pub fn is_encrypted(&self) -> Result<bool> {
        crate::is_encrypted(&self.path)
    }

    /// Changes an encrypted project's passphrase (the file is re-encrypted in place, in one
    /// transaction); the new one is remembered for this process.
    pub fn rekey(&mut self, passphrase: crate::Passphrase) -> Result<()> {
        crate::keys::check_new_passphrase(&passphrase)?;
        if !self.is_encrypted()? {
            return Err(Error::Invalid(format!(
                "{} is not encrypted; create an encrypted project and import into it",
                self.path.display()
            )));
        }
        self.conn
            .pragma_update(None, "rekey", passphrase.as_str())
            .map_err(Error::sql("changing the passphrase"))?;
        crate::remember_passphrase(&self.path, passphrase);
        Ok(())
    }

    /// The project file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Read access.
    pub fn db(&self) -> Db<'_> {
        Db { conn: &self.conn }
    }

    /// Runs `f` in one IMMEDIATE transaction: commits if it returns `Ok`, rolls back otherwise.
    ///
    /// Generic over the error so that callers can fail with their own errors inside.
    pub fn write<T, E: From<Error>>(
        &mut self,
        f: impl FnOnce(&Tx<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(Error::sql("starting a transaction"))?;
        let value = f(&Tx {
            db: Db { conn: &tx },
        })?;
        tx.commit().map_err(Error::sql("committing"))?;
        Ok(value)
    }
}

/// Moves the finished temporary project to `path` without ever replacing a file there: a hard
/// link fails if `path` exists (where links are not supported, a rename after a last check).
fn place(temp: &Path, path: &Path) -> Result<()> {
    let linked = match std::fs::hard_link(temp, path) {
        Ok(()) => true,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(Error::AlreadyExists {
                path: path.to_owned(),
            });
        }
        Err(_) if path.exists() => {
            return Err(Error::AlreadyExists {
                path: path.to_owned(),
            });
        }
        Err(_) => false,
    };
    let moved = if linked {
        std::fs::remove_file(temp)
    } else {
        std::fs::rename(temp, path)
    };
    moved.map_err(|source| Error::Io {
        action: "create",
        path: path.to_owned(),
        source,
    })?;
    // Make the new name durable too (best effort: not every system can sync a folder).
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && let Ok(d) = std::fs::File::open(dir)
    {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Removes a database file and its WAL and shared-memory files, if they are there.
fn remove_database(path: &Path) {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        // Absent is fine: this only cleans up.
        let _ = std::fs::remove_file(PathBuf::from(name));
    }
}

/// The schema version this build writes.
pub fn schema_version() -> i64 {
    MIGRATIONS.len() as i64
}

fn migrate(conn: &mut Connection, path: &Path) -> Result<()> {
    let current: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(|_| Error::NotAProject {
            path: path.to_owned(),
        })?;
    let supported = schema_version();
    if current > supported {
        return Err(Error::NewerSchema {
            path: path.to_owned(),
            found: current,
            supported,
        });
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let version = index as i64 + 1;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Exclusive)
            .map_err(Error::sql("starting a migration"))?;
        tx.execute_batch(sql)
            .map_err(Error::sql("migrating the project"))?;
        tx.pragma_update(None, "user_version", version)
            .map_err(Error::sql("migrating"))?;
        tx.commit().map_err(Error::sql("committing a migration"))?;
        tracing::info!(version, "migrated project schema");
    }
    Ok(())
}

impl Db<'_> {
    /// Runs SQLite's integrity check and the FTS index check; `Ok(problems)` lists what is wrong.
    pub fn integrity_problems(&self) -> Result<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare("PRAGMA integrity_check")
            .map_err(Error::sql("checking integrity"))?;
        let mut problems: Vec<String> = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(Error::sql("checking integrity"))?
            .collect::<Result<_, _>>()
            .map_err(Error::sql("checking integrity"))?;
        problems.retain(|p| p != "ok");
        if let Err(e) = self.conn.execute(
            "INSERT INTO notes_fts (notes_fts, rank) VALUES ('integrity-check', 1)",
            [],
        ) {
            problems.push(format!("full-text index: {e}"));
        }
        let fk: i64 = self
            .conn
            .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                r.get(0)
            })
            .map_err(Error::sql("checking foreign keys"))?;
        if fk > 0 {
            problems.push(format!("{fk} rows break foreign keys"));
        }
        Ok(problems)
    }
}
