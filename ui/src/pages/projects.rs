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

    // Runs an open/create request, then shows the notes.
    let open_with =
        move |request: std::pin::Pin<Box<dyn Future<Output = Result<ProjectInfo, ApiError>>>>| {
            busy.set(true);
            spawn_local(async move {
                let result = request.await;
                busy.set(false);
                ctx.progress.set(None);
                match result {
                    Ok(info) => ctx.opened(info),
                    Err(e) => ctx.fail(e),
                }
            });
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
        open_with(Box::pin(client::project_open(p)));
    };
    let browse = move |purpose: &'static str| {
        spawn_local(async move {
            match client::choose_file(purpose).await {
                Ok(Some(p)) => {
                    path.set(p.clone());
                    if purpose == "new_project" {
                        open_with(Box::pin(client::project_create(p)));
                    } else {
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
                                        "{} notes · {} span and {} document annotations · {} labels · annotating as {}",
                                        p.stats.notes,
                                        p.stats.span_annotations,
                                        p.stats.doc_annotations,
                                        p.stats.labels,
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
                        on:click=move |_| {
                            let p = path.get_untracked();
                            open_with(Box::pin(client::project_create(p)));
                        }
                    >
                        "Create"
                    </button>
                </div>
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
                                                                on:click=move |_| open_with(Box::pin(client::project_open(p.clone())))
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
