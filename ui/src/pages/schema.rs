//! The label schemas: labels with colours, hotkeys, scopes and attributes; import a TOML schema.

use api::{Label, LabelLook};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::app::AppCtx;
use crate::client;

/// The schema page.
#[component]
pub fn SchemaPage() -> impl IntoView {
    let ctx = expect_context::<AppCtx>();
    let version = RwSignal::new(0u32);
    let schemas = LocalResource::new(move || {
        version.track();
        client::schemas()
    });
    let path = RwSignal::new(String::new());
    let import = move |p: String| {
        spawn_local(async move {
            match client::schema_import(p).await {
                Ok(_) => {
                    // A later success takes down the banner of an earlier failed import.
                    ctx.error.set(None);
                    version.update(|v| *v += 1);
                    match client::labels().await {
                        Ok(l) => ctx.labels.set(l),
                        Err(e) => ctx.fail(e),
                    }
                }
                Err(e) => ctx.fail(e),
            }
        });
    };
    view! {
        <section class="schema" aria-labelledby="schema-title">
            <h1 id="schema-title">"Label schemas"</h1>
            <div class="card">
                <label for="schema-path">"Import a schema (TOML file, or a built-in name: sdoh, outcomes)"</label>
                <div class="row">
                    <input
                        id="schema-path"
                        type="text"
                        prop:value=move || path.get()
                        on:input=move |ev| path.set(event_target_value(&ev))
                        on:keydown=move |ev| {
                            if ev.key() == "Enter" {
                                import(path.get_untracked());
                            }
                        }
                    />
                    <button on:click=move |_| import(path.get_untracked())>"Import"</button>
                    <button on:click=move |_| {
                        spawn_local(async move {
                            match client::choose_file("schema").await {
                                Ok(Some(p)) => import(p),
                                Ok(None) => {}
                                Err(e) => ctx.fail(e),
                            }
                        })
                    }>"Browse…"</button>
                </div>
            </div>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || {
                    schemas.get().map(|r| match r {
                        Ok(list) => list
                            .into_iter()
                            .map(|s| view! {
                                <div class="card">
                                    <h2>{format!("{} (version {})", s.name, s.version)}</h2>
                                    <p class="muted">{s.description.clone()}</p>
                                </div>
                            })
                            .collect_view()
                            .into_any(),
                        Err(e) => view! { <p>{e.message}</p> }.into_any(),
                    })
                }}
            </Suspense>
            <table class="labels-table">
                <caption>"Labels"</caption>
                <thead>
                    <tr><th>"Label"</th><th>"Name"</th><th>"Schema"</th><th>"Scope"</th><th>"Key"</th><th>"Attributes"</th><th></th></tr>
                </thead>
                <tbody>
                    {move || ctx.labels.get().into_iter().map(|l| view! { <LabelRow label=l /> }).collect_view()}
                </tbody>
            </table>
        </section>
    }
}

/// One label: shown, or edited in place (display name, colour, hotkey).
#[component]
fn LabelRow(label: Label) -> impl IntoView {
    let ctx = expect_context::<AppCtx>();
    let editing = RwSignal::new(false);
    let display = RwSignal::new(label.display.clone());
    let color = RwSignal::new(label.color.clone());
    let hotkey = RwSignal::new(label.hotkey.clone().unwrap_or_default());
    let attrs = label
        .attributes
        .iter()
        .map(|a| match &a.hotkey {
            Some(k) => format!("{} ({k})", a.name),
            None => a.name.clone(),
        })
        .collect::<Vec<_>>()
        .join(", ");
    let name = label.name.clone();
    let save = move || {
        let look = LabelLook {
            display: display.get_untracked(),
            color: color.get_untracked(),
            hotkey: Some(hotkey.get_untracked()).filter(|k| !k.trim().is_empty()),
        };
        let name = name.clone();
        spawn_local(async move {
            match client::update_label(&name, &look).await {
                Ok(updated) => {
                    editing.set(false);
                    ctx.labels.update(|ls| {
                        if let Some(slot) = ls.iter_mut().find(|l| l.name == updated.name) {
                            *slot = updated;
                        }
                    });
                }
                Err(e) => ctx.fail(e),
            }
        });
    };
    let save2 = save.clone();
    let l = label.clone();
    view! {
        <tr title=label.description.clone()>
            <Show
                when=move || editing.get()
                fallback=move || {
                    let l = l.clone();
                    view! {
                        <td><span class="chip" style=format!("background:{}", l.color)></span>{l.display.clone()}</td>
                        <td><code>{l.name.clone()}</code></td>
                        <td>{l.schema.clone()}</td>
                        <td>{l.scope.as_str()}</td>
                        <td><kbd>{l.hotkey.clone().unwrap_or_default()}</kbd></td>
                    }
                }
            >
                <td>
                    <input type="color" aria-label="Colour" prop:value=move || color.get()
                        on:input=move |ev| color.set(event_target_value(&ev)) />
                    <input type="text" aria-label="Display name" prop:value=move || display.get()
                        on:input=move |ev| display.set(event_target_value(&ev)) />
                </td>
                <td><code>{label.name.clone()}</code></td>
                <td>{label.schema.clone()}</td>
                <td>{label.scope.as_str()}</td>
                <td>
                    <input type="text" class="key-input" maxlength="1" aria-label="Hotkey" prop:value=move || hotkey.get()
                        on:input=move |ev| hotkey.set(event_target_value(&ev))
                        on:keydown={
                            let save = save2.clone();
                            move |ev| if ev.key() == "Enter" { save() }
                        } />
                </td>
            </Show>
            <td>{attrs}</td>
            <td>
                {move || if editing.get() {
                    let save = save.clone();
                    view! {
                        <button class="primary" on:click=move |_| save()>"Save"</button>
                        <button on:click=move |_| editing.set(false)>"Cancel"</button>
                    }.into_any()
                } else {
                    view! { <button on:click=move |_| editing.set(true)>"Edit"</button> }.into_any()
                }}
            </td>
        </tr>
    }
}
