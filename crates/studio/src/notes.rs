//! Reading notes: search with filters, one note with its annotations, project statistics.

use api::{NoteDetail, NoteId, NoteSummary, SearchQuery, Stats};

use crate::error::Error;
use crate::project::Project;

/// The longest search, in characters. A pasted note would otherwise become a full-text query
/// of thousands of terms that takes minutes to count.
pub const MAX_QUERY_CHARS: usize = 1000;

/// Notes matching the query (all words, with category/status/label/annotator filters).
pub fn search(project: &Project, query: &SearchQuery) -> Result<Vec<NoteSummary>, Error> {
    check_query(query)?;
    Ok(project.store.db().search_notes(query)?)
}

/// A note with its text, spans and document labels.
pub fn show(project: &Project, note: NoteId) -> Result<NoteDetail, Error> {
    Ok(project.store.db().note(note)?)
}

/// Resolves what a user typed: a note id, or else an external id (MIMIC ROW_ID, file stem).
///
/// Numbers are note ids first, because search results and `notes show` print those.
pub fn resolve(project: &Project, typed: &str) -> Result<NoteId, Error> {
    let db = project.store.db();
    if let Ok(n) = typed.trim().parse::<i64>()
        && db.note_status(NoteId(n)).is_ok()
    {
        return Ok(NoteId(n));
    }
    db.note_by_external_id(typed.trim())?.ok_or_else(|| {
        Error::Store(store::Error::NotFound {
            what: "note",
            id: typed.to_owned(),
        })
    })
}

/// Counts of notes, annotations and labels.
pub fn stats(project: &Project) -> Result<Stats, Error> {
    Ok(project.store.db().stats()?)
}

/// How many notes match the query, ignoring its limit and offset (a virtual list's length).
pub fn count(project: &Project, query: &SearchQuery) -> Result<u64, Error> {
    check_query(query)?;
    Ok(project.store.db().count_notes(query)?)
}

/// Refuses a search longer than [`MAX_QUERY_CHARS`], saying how long it is.
pub fn check_query(query: &SearchQuery) -> Result<(), Error> {
    let chars = query.text.chars().count();
    if chars > MAX_QUERY_CHARS {
        return Err(Error::Invalid(format!(
            "the search is {chars} characters long; a search can be at most {MAX_QUERY_CHARS} \
             characters (a few words or a phrase)"
        )));
    }
    Ok(())
}

/// Everyone who has annotated in the project (people and models), alphabetically.
pub fn annotators(project: &Project) -> Result<Vec<String>, Error> {
    Ok(project.store.db().annotator_names()?)
}

#[cfg(test)]
mod tests;
