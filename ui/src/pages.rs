//! One module per page.

mod agreement;
mod annotate;
mod evaluate;
mod import;
mod notes;
mod pairs;
mod projects;
mod review;
mod schema;
mod train;

pub use agreement::AgreementPage;
pub use annotate::AnnotatePage;
pub use evaluate::EvaluatePage;
pub use notes::NotesPage;
pub use notes::is_typing;
pub use pairs::PairsPage;
pub use projects::ProjectsPage;
pub use review::ReviewPage;
pub use schema::SchemaPage;
pub use train::TrainPage;
