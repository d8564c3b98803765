//! Rows as lists of SQLite values, read from the other project and written here, so that a
//! merge copies every column as stored without a typed struct per table.

use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Params};

use crate::db::Tx;
use crate::error::{Error, Result};

/// The other project, open read-only.
pub(super) struct Source<'c> {
    conn: &'c Connection,
}

impl<'c> Source<'c> {
    pub(super) fn new(conn: &'c Connection) -> Source<'c> {
        Source { conn }
    }

    /// Every row of `from` (a table name, optionally with a fixed `WHERE`/`ORDER BY` written
    /// here, never user input), as the values of `columns` in that order.
    pub(super) fn rows(&self, from: &str, columns: &[&str]) -> Result<Vec<Vec<Value>>> {
        let sql = format!("SELECT {} FROM {from}", columns.join(", "));
        let context = "reading the other project";
        let mut stmt = self.conn.prepare(&sql).map_err(Error::sql(context))?;
        let rows = stmt
            .query_map([], |r| {
                (0..columns.len())
                    .map(|i| r.get::<_, Value>(i))
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(Error::sql(context))?;
        Ok(rows)
    }
}

/// Inserts `row` into `table`: every column but the first (the other project's row id, so the
/// row gets a new one here). Returns the new row's id.
pub(super) fn insert(tx: &Tx<'_>, table: &str, columns: &[&str], row: &[Value]) -> Result<i64> {
    let names = columns.get(1..).unwrap_or_default();
    let values = row.get(1..).unwrap_or_default();
    let marks: Vec<String> = (1..=names.len()).map(|i| format!("?{i}")).collect();
    let sql = format!(
        "INSERT INTO {table} ({}) VALUES ({})",
        names.join(", "),
        marks.join(", ")
    );
    tx.conn()
        .prepare_cached(&sql)
        .and_then(|mut st| st.execute(rusqlite::params_from_iter(values)))
        .map_err(Error::sql("merging a row"))?;
    Ok(tx.conn().last_insert_rowid())
}

/// The id `sql` selects here, if any.
pub(super) fn find(tx: &Tx<'_>, sql: &str, params: impl Params) -> Result<Option<i64>> {
    tx.conn()
        .prepare_cached(sql)
        .and_then(|mut st| st.query_row(params, |r| r.get(0)).optional())
        .map_err(Error::sql("looking for a merged row"))
}

/// An integer value (ids, counts); `None` for NULL or another type.
pub(super) fn int(v: &Value) -> Option<i64> {
    match v {
        Value::Integer(i) => Some(*i),
        _ => None,
    }
}

/// A text value; `None` for NULL or another type.
pub(super) fn text(v: &Value) -> Option<&str> {
    match v {
        Value::Text(t) => Some(t),
        _ => None,
    }
}
