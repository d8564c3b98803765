//! Prompt tasks: named templates with versions. Adding a name again makes a new version, unless
//! the definition is unchanged (same hash), so shipping the built-in tasks twice adds nothing.

use api::{PromptTask, TaskId, TaskKind};
use rusqlite::{OptionalExtension, params};

use crate::db::{Db, Tx};
use crate::error::{Error, Result, known};

/// A task version about to be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTask<'a> {
    /// Task name.
    pub name: &'a str,
    /// What its output is.
    pub kind: TaskKind,
    /// One line on what it is for.
    pub description: &'a str,
    /// The definition as written (TOML).
    pub template: &'a str,
    /// Hash of the definition's meaning; equal hashes are the same task.
    pub definition_hash: &'a [u8],
}

const TASK_COLUMNS: &str = "id, name, version, kind, description, created_at, template";

fn task_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(PromptTask, String)> {
    let kind: String = r.get(3)?;
    let id: i64 = r.get(0)?;
    Ok((
        PromptTask {
            id: TaskId(id),
            name: r.get(1)?,
            version: r.get(2)?,
            kind: known("prompt_tasks", id, "kind", &kind, TaskKind::parse)?,
            description: r.get(4)?,
            created_at: r.get(5)?,
        },
        r.get(6)?,
    ))
}

impl Tx<'_> {
    /// Stores a task: a new version of its name, or — when the latest version has the same
    /// definition hash — nothing. Returns the task and whether a version was added.
    pub fn add_task(&self, task: &NewTask<'_>) -> Result<(PromptTask, bool)> {
        let latest: Option<(i64, i64, Option<Vec<u8>>)> = self
            .conn()
            .prepare_cached(
                "SELECT id, version, definition_hash FROM prompt_tasks
                 WHERE name = ?1 ORDER BY version DESC LIMIT 1",
            )
            .and_then(|mut s| {
                s.query_row([task.name], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                    .optional()
            })
            .map_err(Error::sql("reading prompt tasks"))?;
        if let Some((id, _, Some(hash))) = &latest
            && hash.as_slice() == task.definition_hash
        {
            return Ok((self.task_by_id(TaskId(*id))?.0, false));
        }
        let version = latest.map_or(1, |(_, v, _)| v + 1);
        self.conn()
            .prepare_cached(
                "INSERT INTO prompt_tasks (name, version, kind, template, description, definition_hash)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    task.name,
                    version,
                    task.kind.as_str(),
                    task.template,
                    task.description,
                    task.definition_hash
                ])
            })
            .map_err(Error::sql("saving a prompt task"))?;
        let id = TaskId(self.conn().last_insert_rowid());
        Ok((self.task_by_id(id)?.0, true))
    }
}

impl Db<'_> {
    /// Prompt tasks by name; only each name's latest version unless `all_versions`.
    pub fn tasks(&self, all_versions: bool) -> Result<Vec<PromptTask>> {
        let sql = if all_versions {
            format!("SELECT {TASK_COLUMNS} FROM prompt_tasks ORDER BY name, version")
        } else {
            format!(
                "SELECT {TASK_COLUMNS} FROM prompt_tasks t
                 WHERE version = (SELECT max(version) FROM prompt_tasks u WHERE u.name = t.name)
                 ORDER BY name"
            )
        };
        let mut stmt = self
            .conn
            .prepare_cached(&sql)
            .map_err(Error::sql("listing prompt tasks"))?;
        let rows = stmt
            .query_map([], task_row)
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(Error::sql("listing prompt tasks"))?;
        Ok(rows.into_iter().map(|(t, _)| t).collect())
    }

    /// A task version and its definition: `version` or else the latest.
    pub fn task(&self, name: &str, version: Option<i64>) -> Result<(PromptTask, String)> {
        let sql = format!(
            "SELECT {TASK_COLUMNS} FROM prompt_tasks
             WHERE name = ?1 AND (?2 IS NULL OR version = ?2)
             ORDER BY version DESC LIMIT 1"
        );
        self.conn
            .prepare_cached(&sql)
            .and_then(|mut s| s.query_row(params![name, version], task_row).optional())
            .map_err(Error::sql("reading a prompt task"))?
            .ok_or_else(|| Error::NotFound {
                what: "prompt task",
                id: match version {
                    Some(v) => format!("{name}@{v}"),
                    None => name.to_owned(),
                },
            })
    }

    /// A task version by id, with its definition.
    pub fn task_by_id(&self, id: TaskId) -> Result<(PromptTask, String)> {
        let sql = format!("SELECT {TASK_COLUMNS} FROM prompt_tasks WHERE id = ?1");
        self.conn
            .prepare_cached(&sql)
            .and_then(|mut s| s.query_row([id.0], task_row).optional())
            .map_err(Error::sql("reading a prompt task"))?
            .ok_or_else(|| Error::NotFound {
                what: "prompt task",
                id: id.to_string(),
            })
    }

    /// Number of task versions in the project.
    pub fn task_count(&self) -> Result<u64> {
        self.conn
            .prepare_cached("SELECT count(*) FROM prompt_tasks")
            .and_then(|mut s| s.query_row([], |r| r.get::<_, i64>(0)))
            .map(|n| u64::try_from(n).unwrap_or(0))
            .map_err(Error::sql("counting prompt tasks"))
    }
}
