use std::path::Path;

use store::Store;

use crate::error::Error;

/// An open project: its SQLite file and everything services need to work on it.
pub struct Project {
    pub(crate) store: Store,
}

impl Project {
    /// Opens an existing project file.
    pub fn open(path: &Path) -> Result<Project, Error> {
        let mut project = Project {
            store: Store::open(path)?,
        };
        // Projects made before prompt tasks existed get the shipped ones on first open.
        if project.store.db().task_count()? == 0 {
            crate::tasks::add_built_in(&mut project)?;
        }
        Ok(project)
    }

    /// Creates a new project file with the given label schemas (files or built-in names).
    pub fn create(path: &Path, schemas: &[String]) -> Result<Project, Error> {
        Project::create_with_key(path, schemas, None)
    }

    /// [`Project::create`], encrypted with `passphrase` when one is given: the file and its
    /// write-ahead log are unreadable without it (SQLCipher), and it is remembered for this
    /// process only.
    pub fn create_with_key(
        path: &Path,
        schemas: &[String],
        passphrase: Option<store::Passphrase>,
    ) -> Result<Project, Error> {
        // Validate every schema before the file exists, so a typo leaves nothing behind.
        let parsed = schemas
            .iter()
            .map(|s| crate::schemas::load(s))
            .collect::<Result<Vec<_>, _>>()?;
        // Built in a temporary file and moved into place when complete: a killed `init` leaves
        // no half-made project, and none without its schemas.
        let store = Store::create_with_key(path, passphrase, |store| {
            let mut project = Project { store };
            for schema in &parsed {
                crate::schemas::add_parsed(&mut project, schema)?;
            }
            crate::tasks::add_built_in(&mut project)?;
            Ok::<_, Error>(project.store)
        })?;
        Ok(Project { store })
    }

    /// Opens the project at `path`, creating it (with no schemas, the shipped prompt tasks) when
    /// missing.
    pub fn open_or_create(path: &Path) -> Result<Project, Error> {
        if path.exists() {
            return Project::open(path);
        }
        let store = Store::create_with(path, |store| {
            let mut project = Project { store };
            crate::tasks::add_built_in(&mut project)?;
            Ok::<_, Error>(project.store)
        })?;
        Ok(Project { store })
    }

    /// Whether the project file is encrypted.
    pub fn is_encrypted(&self) -> Result<bool, Error> {
        Ok(self.store.is_encrypted()?)
    }

    /// Changes an encrypted project's passphrase, with an audit entry (never the passphrase).
    pub fn rekey(&mut self, passphrase: store::Passphrase, actor: &str) -> Result<(), Error> {
        self.store.rekey(passphrase)?;
        self.store.write(|tx| {
            tx.audit(
                actor,
                "rekey",
                "project",
                None,
                None,
                &serde_json::json!({}),
            )
        })?;
        Ok(())
    }

    /// The project file.
    pub fn path(&self) -> &Path {
        self.store.path()
    }

    /// Problems SQLite's integrity and foreign-key checks find (empty when healthy).
    pub fn integrity_problems(&self) -> Result<Vec<String>, Error> {
        Ok(self.store.db().integrity_problems()?)
    }
}
