//! One module per page.

mod agreement;
mod annotate;
mod notes;
mod projects;
mod schema;

pub use agreement::AgreementPage;
pub use annotate::AnnotatePage;
pub use notes::NotesPage;
pub use projects::ProjectsPage;
pub use schema::SchemaPage;
