//! Agreement between two annotators: Cohen's κ per document label, span F1 (exact and
//! overlap) per span label, and a side-by-side view of one note to adjudicate.

use api::{AgreementRequest, NoteId, SpanAgreement};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::app::{AppCtx, Page};
use crate::client;

/// Why two annotators cannot be compared, or `None` when they can.
pub fn pair_problem(a: &str, b: &str) -> Option<&'static str> {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => Some("Choose the two annotators to compare, A and B."),
        (true, false) => Some("Choose annotator A."),
        (false, true) => Some("Choose annotator B."),
        _ if a == b => Some("A and B are the same person; choose two different annotators."),
        _ => None,
    }
}

/// The agreement page.
#[component]
pub fn AgreementPage() -> impl IntoView {
    let ctx = expect_context::<AppCtx>();
    let annotators = LocalResource::new(client::annotators);
    let a = RwSignal::new(String::new());
    let b = RwSignal::new(String::new());
    let report = RwSignal::new(None::<api::AgreementReport>);
    let note_text = RwSignal::new(String::new());
    let comparison = RwSignal::new(None::<api::NoteComparison>);
    // The compared note's text, to quote the spans instead of showing their offsets.
    let compared_text = RwSignal::new(String::new());

    let problem = RwSignal::new(None::<&'static str>);
    let compute = move || {
        problem.set(pair_problem(&a.get_untracked(), &b.get_untracked()));
        if problem.with_untracked(Option::is_some) {
            return;
        }
        let request = AgreementRequest {
            annotator_a: a.get_untracked(),
            annotator_b: b.get_untracked(),
        };
        spawn_local(async move {
            match client::agreement(&request).await {
                Ok(r) => report.set(Some(r)),
                Err(e) => ctx.fail(e),
            }
        });
    };
    let compare = move || {
        let Ok(id) = note_text
            .get_untracked()
            .trim()
            .trim_start_matches('#')
            .parse::<i64>()
        else {
            ctx.fail(api::ApiError::new(
                api::ErrorKind::InvalidInput,
                "type a note number to compare",
            ));
            return;
        };
        let (x, y) = (a.get_untracked(), b.get_untracked());
        spawn_local(async move {
            match client::compare_note(NoteId(id), &x, &y).await {
                Ok(c) => {
                    match client::show_note(c.note).await {
                        Ok(n) => compared_text.set(n.text),
                        Err(e) => ctx.fail(e),
                    }
                    comparison.set(Some(c));
                }
                Err(e) => ctx.fail(e),
            }
        });
    };
    let keep = move |note: NoteId, span: api::SpanId| {
        spawn_local(async move {
            match client::adjudicate(note, span).await {
                Ok(_) => compare(),
                Err(e) => ctx.fail(e),
            }
        });
    };
    let picker = move |label: &'static str, target: RwSignal<String>| {
        view! {
            <label>
                {label}
                <select on:change=move |ev| target.set(event_target_value(&ev))>
                    <option value="">"choose…"</option>
                    {move || annotators.get().and_then(Result::ok).unwrap_or_default().into_iter()
                        .map(|n| view! { <option value=n.clone()>{n.clone()}</option> })
                        .collect_view()}
                </select>
            </label>
        }
    };
    let pct = |x: f64| format!("{:.1}%", 100.0 * x);

    view! {
        <section class="agreement" aria-labelledby="agreement-title">
            <h1 id="agreement-title">"Inter-annotator agreement"</h1>
            {move || {
                let n = annotators.get().and_then(Result::ok).map(|a| a.len());
                n.filter(|&n| n < 2).map(|n| view! {
                    <div class="empty empty-state" id="agreement-empty">
                        <p>{format!(
                            "Agreement compares two annotators' work on the same notes; this project has {} so far. Annotate notes, or import another annotator's labels on the Notes page.",
                            if n == 1 { "one annotator".to_owned() } else { "no annotators".to_owned() }
                        )}</p>
                        <button class="primary" on:click=move |_| ctx.page.set(Page::Notes)>"Go to the Notes page"</button>
                    </div>
                })
            }}
            <div class="card row">
                {picker("Annotator A ", a)}
                {picker("Annotator B ", b)}
                <button class="primary" id="compute-agreement" on:click=move |_| compute()>"Compute"</button>
            </div>
            {move || problem.get().map(|p| view! { <p class="inline-error" id="agreement-problem" role="alert">{p}</p> })}
            <Show when=move || report.with(Option::is_none)>
                <p class="muted">"Choose two annotators and press Compute: Cohen's κ per document label and span F1 per span label, over the notes both have annotated."</p>
            </Show>
            {move || report.get().map(|r| view! {
                <p>{format!("{} annotated by both {} and {}.", if r.notes_compared == 1 { "1 note".to_owned() } else { format!("{} notes", r.notes_compared) }, r.annotator_a, r.annotator_b)}</p>
                <table>
                    <caption>"Document labels — Cohen's κ"</caption>
                    <thead><tr><th>"Label"</th><th>"Both"</th><th>"Only A"</th><th>"Only B"</th><th>"Neither"</th><th>"κ"</th></tr></thead>
                    <tbody>
                        {r.doc_labels.into_iter().map(|d| view! {
                            <tr><td>{d.label}</td><td>{d.both}</td><td>{d.only_a}</td><td>{d.only_b}</td><td>{d.neither}</td>
                            <td>{d.kappa.map(|k| format!("{k:.3}")).unwrap_or_else(|| "—".to_owned())}</td></tr>
                        }).collect_view()}
                    </tbody>
                </table>
                <table>
                    <caption>"Span labels — F1 (A as reference)"</caption>
                    <thead><tr><th>"Label"</th><th>"Spans A"</th><th>"Spans B"</th><th>"Exact P / R / F1"</th><th>"Overlap P / R / F1"</th></tr></thead>
                    <tbody>
                        {r.span_labels.into_iter().map(|s| view! {
                            <tr><td>{s.label}</td><td>{s.spans_a}</td><td>{s.spans_b}</td>
                            <td>{format!("{} / {} / {}", pct(s.exact.precision), pct(s.exact.recall), pct(s.exact.f1))}</td>
                            <td>{format!("{} / {} / {}", pct(s.overlap.precision), pct(s.overlap.recall), pct(s.overlap.f1))}</td></tr>
                        }).collect_view()}
                    </tbody>
                </table>
            })}
            <div class="card row">
                <label for="compare-note">"Adjudicate note #"</label>
                <input id="compare-note" type="text" prop:value=move || note_text.get()
                    on:input=move |ev| note_text.set(event_target_value(&ev))
                    on:keydown=move |ev| if ev.key() == "Enter" { compare() } />
                <button on:click=move |_| compare()>"Compare"</button>
            </div>
            {move || comparison.get().map(|c| {
                let note = c.note;
                view! {
                    <table class="compare">
                        <caption>{format!("Note #{} side by side", note.0)}</caption>
                        <thead><tr><th>"Label"</th><th>"A"</th><th>"B"</th><th>"Agreement"</th><th>"Keep"</th></tr></thead>
                        <tbody>
                            {c.spans.into_iter().map(|s| {
                                let show = |f: &Option<Vec<api::Fragment>>| quote(&compared_text.get_untracked(), f.as_deref());
                                let agreement = match s.agreement {
                                    SpanAgreement::Exact => "exact",
                                    SpanAgreement::Overlap => "overlap",
                                    SpanAgreement::OnlyA => "only A",
                                    SpanAgreement::OnlyB => "only B",
                                };
                                view! {
                                    <tr>
                                        <td>{s.label.clone()}</td><td class="quote">{show(&s.fragments_a)}</td><td class="quote">{show(&s.fragments_b)}</td><td>{agreement}</td>
                                        <td>
                                            {s.span_a.map(|id| view! { <button on:click=move |_| keep(note, id)>"A"</button> })}
                                            {s.span_b.map(|id| view! { <button on:click=move |_| keep(note, id)>"B"</button> })}
                                        </td>
                                    </tr>
                                }
                            }).collect_view()}
                            {c.doc_labels.into_iter().map(|d| view! {
                                <tr class="doc"><td>{d.label}</td><td>{if d.a { "✓" } else { "" }}</td><td>{if d.b { "✓" } else { "" }}</td>
                                <td>{if d.a == d.b { "agree" } else { "differ" }}</td><td></td></tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }
            })}
        </section>
    }
}

#[cfg(test)]
mod tests;

/// A side's span as the words it covers (fragments joined by “…”), or "—" when that side
/// has none; offsets outside the text or off a character boundary show as "?".
pub(crate) fn quote(text: &str, fragments: Option<&[api::Fragment]>) -> String {
    match fragments {
        None => "—".to_owned(),
        Some(f) => {
            let parts: Vec<&str> = f
                .iter()
                .map(|x| text.get(x.start..x.end).unwrap_or("?"))
                .collect();
            format!("“{}”", parts.join(" … "))
        }
    }
}
