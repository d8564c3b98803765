//! The Clinitune desktop UI: a Leptos (client-side rendered) app compiled to wasm32 and served
//! by the Tauri shell. It talks to the backend only through [`client`], one typed function per
//! command, and renders `api` types.
//!
//! Invariants: no `invoke("…")` outside `client.rs`; no domain rules here (the services decide
//! what is valid, this only shows what they say); everything works from the keyboard.

mod app;
mod chart;
mod client;
mod components;
mod diff;
mod pages;
mod text;
mod transfer;

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(app::App);
}
