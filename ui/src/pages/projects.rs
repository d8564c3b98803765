//! Open a project file, create one, open the demo project, or pick a recent one.

use api::{ApiError, ProjectInfo};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::app::AppCtx;
use crate::client;

/// The projects page.
#[component]
pub fn ProjectsPage() -> impl IntoView {
    let ctx = expect_context::<AppCtx>();
    let path = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let recent = LocalResource::new(client::recent_projects);
    // An encrypted project asked for: its path, until its passphrase opens it.
    let locked: RwSignal<Option<String>> = RwSignal::new(None);
    let unlock_text = RwSignal::new(String::new());
    // Creating an encrypted project: the passphrase typed twice.
    let encrypt = RwSignal::new(false);
    let new_pass = RwSignal::new(String::new());
    let new_pass_again = RwSignal::new(String::new());

    // Started on an encrypted project: ask for its passphrase here.
    spawn_local(async move {
        if let Ok(Some(p)) = client::locked_startup_project().await {
            ctx.error.set(None);
            path.set(p.clone());
            locked.set(Some(p));
        }
    });
    // Runs an open/create request, then shows the notes; an encrypted project asks for its
    // passphrase.
    let open_with =
        move |request: std::pin::Pin<Box<dyn Future<Output = Result<ProjectInfo, ApiError>>>>| {
            busy.set(true);
            spawn_local(async move {
                let result = request.await;
                busy.set(false);
                ctx.progress.set(None);
                match result {
                    Ok(info) => {
                        locked.set(None);
                        unlock_text.set(String::new());
                        ctx.opened(info)
                    }
                    Err(e) if e.kind == api::ErrorKind::Locked => {
                        if locked.with_untracked(Option::is_some) {
                            // A wrong passphrase: say so, and let them try again.
                            ctx.fail(e);
                        } else {
                            locked.set(Some(path.get_untracked()));
                        }
                        unlock_text.set(String::new());
                    }
                    Err(e) => ctx.fail(e),
                }
            });
        };
    let unlock = move || {
        let (Some(p), pass) = (locked.get_untracked(), unlock_text.get_untracked()) else {
            return;
        };
        if pass.is_empty() {
            return;
        }
        ctx.error.set(None);
        open_with(Box::pin(client::project_unlock(p, pass)));
    };
    // Create, encrypted when asked: the two passphrases must match and be long enough.
    let create = move |p: String| {
        if !encrypt.get_untracked() {
            open_with(Box::pin(client::project_create(p)));
            return;
        }
        let (a, b) = (new_pass.get_untracked(), new_pass_again.get_untracked());
        if a.chars().count() < 8 {
            ctx.fail(
                ApiError::new(
                    api::ErrorKind::InvalidInput,
                    "a passphrase needs at least 8 characters",
                )
                .with_hint("A few words are easier to remember than a short code."),
            );
            return;
        }
        if a != b {
            ctx.fail(ApiError::new(
                api::ErrorKind::InvalidInput,
                "the two passphrases differ; type the same one twice",
            ));
            return;
        }
        open_with(Box::pin(client::project_create_encrypted(p, a)));
    };
    let open_typed = move || {
        let p = path.get_untracked();
        if p.trim().is_empty() {
            ctx.fail(
                ApiError::new(api::ErrorKind::InvalidInput, "type a project path first")
                    .with_hint("or use Browse… to pick a .clinitune file"),
            );
            return;
        }
        locked.set(None);
        open_with(Box::pin(client::project_open(p)));
    };
    let browse = move |purpose: &'static str| {
        spawn_local(async move {
            match client::choose_file(purpose).await {
                Ok(Some(p)) => {
                    path.set(p.clone());
                    if purpose == "new_project" {
                        create(p);
                    } else {
                        locked.set(None);
                        open_with(Box::pin(client::project_open(p)));
                    }
                }
                Ok(None) => {}
                Err(e) => ctx.fail(e),
            }
        });
    };

    view! {
        <section class="projects" aria-labelledby="projects-title">
            <h1 id="projects-title">"Projects"</h1>
            {move || {
                ctx.project
                    .get()
                    .map(|p| {
                        view! {
                            <div class="card current" id="current-project">
                                <h2>{p.name.clone()}</h2>
                                <p class="path">{p.path.clone()}</p>
                                <p>
                                    {format!(
                                        "{} · {} and {} · {} · annotating as {}",
                                        count(p.stats.notes, "note", "notes"),
                                        count(p.stats.span_annotations, "span annotation", "span annotations"),
                                        count(p.stats.doc_annotations, "document annotation", "document annotations"),
                                        count(p.stats.labels, "label", "labels"),
                                        p.annotator,
                                    )}
                                </p>
                            </div>
                        }
                    })
            }}
            <div class="card">
                <h2>"Demo"</h2>
                <p>"2,000 synthetic clinical notes with gold social-determinant and outcome labels."</p>
                <button
                    id="open-demo"
                    class="primary"
                    disabled=move || busy.get()
                    on:click=move |_| open_with(Box::pin(client::project_demo()))
                >
                    "Open the demo project"
                </button>
            </div>
            <div class="card">
                <h2>"Open or create"</h2>
                <label for="project-path">"Project file (.clinitune)"</label>
                <div class="row">
                    <input
                        id="project-path"
                        type="text"
                        placeholder="/home/me/notes.clinitune"
                        prop:value=move || path.get()
                        on:input=move |ev| path.set(event_target_value(&ev))
                        on:keydown=move |ev| {
                            if ev.key() == "Enter" {
                                open_typed();
                            }
                        }
                    />
                    <button disabled=move || busy.get() on:click=move |_| open_typed()>"Open"</button>
                    <button
                        disabled=move || busy.get()
                        on:click=move |_| create(path.get_untracked())
                    >
                        "Create"
                    </button>
                </div>
                <div class="row">
                    <label class="choice" for="create-encrypt">
                        <input type="checkbox" id="create-encrypt" prop:checked=move || encrypt.get()
                            on:change=move |ev| encrypt.set(event_target_checked(&ev)) />
                        "Encrypt a new project with a passphrase"
                    </label>
                </div>
                <Show when=move || encrypt.get()>
                    <div class="row">
                        <input id="create-passphrase" type="password" placeholder="Passphrase (8 characters or more)" autocomplete="new-password"
                            prop:value=move || new_pass.get() on:input=move |ev| new_pass.set(event_target_value(&ev)) />
                        <input id="create-passphrase-again" type="password" placeholder="The same again" autocomplete="new-password"
                            prop:value=move || new_pass_again.get() on:input=move |ev| new_pass_again.set(event_target_value(&ev)) />
                    </div>
                    <p class="muted">"The notes are unreadable without it, and it cannot be recovered: keep it safe. Exports are not encrypted."</p>
                </Show>
                {move || locked.get().map(|p| view! {
                    <div class="unlock" id="unlock" role="group" aria-labelledby="unlock-title">
                        <p id="unlock-title"><strong>{format!("{p} is encrypted.")}</strong>" Type its passphrase to open it."</p>
                        <div class="row">
                            <input id="unlock-passphrase" type="password" autocomplete="current-password"
                                prop:value=move || unlock_text.get()
                                on:input=move |ev| unlock_text.set(event_target_value(&ev))
                                on:keydown=move |ev| if ev.key() == "Enter" { unlock() } />
                            <button class="primary" id="unlock-button" disabled=move || busy.get() on:click=move |_| unlock()>"Unlock"</button>
                            <button on:click=move |_| locked.set(None)>"Cancel"</button>
                        </div>
                    </div>
                })}
                <div class="row">
                    <button on:click=move |_| browse("open_project")>"Browse…"</button>
                    <button on:click=move |_| browse("new_project")>"New project…"</button>
                </div>
            </div>
            <div class="card">
                <h2>"Recent"</h2>
                <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                    {move || {
                        recent
                            .get()
                            .map(|r| match r {
                                Ok(list) if list.is_empty() => {
                                    view! { <p class="muted">"No recent projects yet."</p> }.into_any()
                                }
                                Ok(list) => {
                                    view! {
                                        <ul class="recent">
                                            {list
                                                .into_iter()
                                                .map(|r| {
                                                    let p = r.path.clone();
                                                    let gone = r.path.clone();
                                                    view! {
                                                        <li>
                                                            <button
                                                                class="link"
                                                                disabled=!r.exists
                                                                title=if r.exists { "" } else { "the file is gone" }
                                                                on:click=move |_| {
                                                                    path.set(p.clone());
                                                                    locked.set(None);
                                                                    open_with(Box::pin(client::project_open(p.clone())));
                                                                }
                                                            >
                                                                {r.path.clone()}
                                                            </button>
                                                            {(!r.exists).then(|| view! {
                                                                <span class="muted">" — the file is no longer there "</span>
                                                                <button
                                                                    class="small forget"
                                                                    aria-label=format!("Remove {} from the list", r.path)
                                                                    on:click=move |_| {
                                                                        let path = gone.clone();
                                                                        spawn_local(async move {
                                                                            match client::forget_recent_project(&path).await {
                                                                                Ok(_) => recent.refetch(),
                                                                                Err(e) => ctx.fail(e),
                                                                            }
                                                                        });
                                                                    }
                                                                >
                                                                    "Remove from list"
                                                                </button>
                                                            })}
                                                        </li>
                                                    }
                                                })
                                                .collect_view()}
                                        </ul>
                                    }
                                        .into_any()
                                }
                                Err(e) => view! { <p class="muted">{e.message}</p> }.into_any(),
                            })
                    }}
                </Suspense>
            </div>
        </section>
    }
}

/// "1 note", "2 notes".
fn count(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}
