//! One module per page.

mod agreement;
mod annotate;
mod coming;
mod notes;
mod pairs;
mod projects;
mod review;
mod schema;

pub use agreement::AgreementPage;
pub use annotate::AnnotatePage;
pub use coming::ComingPage;
pub use notes::NotesPage;
pub use pairs::PairsPage;
pub use projects::ProjectsPage;
pub use review::ReviewPage;
pub use schema::SchemaPage;
