//! The annotate page: the note text with span highlights in label colours, keyboard and mouse
//! selection, label hotkeys, attribute toggles, document labels, undo/redo and status. Every
//! change is saved when its command returns; the header shows the saved state.

use std::collections::BTreeMap;

use api::{
    AnnotationStatus, ApiError, AttributeKind, DocLabel, DocLabelId, Fragment, Label, LabelScope,
    NoteDetail, NoteId, NoteStatus, Span, SpanId, SpanRequest,
};
use leptos::ev;
use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;

use crate::app::{AppCtx, Page};
use crate::client;
use crate::pages::notes::{is_typing, status_text};
use crate::text::{self, Word};

/// Whether the last change reached the project file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SaveState {
    Saved,
    Saving,
    Failed,
}

/// Page state shared by its handlers (all signals, so `Copy`).
#[derive(Clone, Copy)]
struct Editor {
    ctx: AppCtx,
    note: RwSignal<Option<NoteDetail>>,
    /// Keyboard cursor (word index) and the word where a Shift-selection began.
    cursor: RwSignal<Option<usize>>,
    anchor: RwSignal<Option<usize>>,
    /// The selection in bytes, from keyboard or mouse.
    selection: RwSignal<Option<(usize, usize)>>,
    /// The span attribute keys act on: the last one added or clicked.
    active: RwSignal<Option<SpanId>>,
    saved: RwSignal<SaveState>,
    words: Memo<Vec<Word>>,
    /// Note ids of the list positions around the current one, for `j`/`k`.
    neighbors: RwSignal<std::collections::HashMap<usize, NoteId>>,
    /// What the last deletion removed (label, quoted text), offered for undo until the next
    /// change.
    deleted: RwSignal<Option<(String, String)>>,
    /// Blind view: only my own spans and document labels are shown.
    blind: RwSignal<bool>,
}

impl Editor {
    /// Runs a saving command, tracking the saved state. Any change ends the offer to undo
    /// the last deletion.
    fn save<T: 'static>(
        self,
        fut: impl Future<Output = Result<T, ApiError>> + 'static,
        done: impl FnOnce(T) + 'static,
    ) {
        self.saved.set(SaveState::Saving);
        self.deleted.set(None);
        spawn_local(async move {
            match fut.await {
                Ok(v) => {
                    done(v);
                    self.saved.set(SaveState::Saved);
                }
                Err(e) => {
                    self.saved.set(SaveState::Failed);
                    self.ctx.fail(e);
                }
            }
        });
    }

    fn note_id(self) -> Option<NoteId> {
        self.note.with_untracked(|n| n.as_ref().map(|n| n.id))
    }

    fn move_cursor(self, delta: isize, extend: bool) {
        let n = self.words.with_untracked(Vec::len);
        if n == 0 {
            return;
        }
        let next = match self.cursor.get_untracked() {
            None if delta >= 0 => 0,
            None => n - 1,
            Some(c) => (c as isize + delta).clamp(0, n as isize - 1) as usize,
        };
        if !extend || self.anchor.get_untracked().is_none() {
            self.anchor.set(Some(if extend {
                self.cursor.get_untracked().unwrap_or(next)
            } else {
                next
            }));
        }
        self.cursor.set(Some(next));
        let (a, c) = (self.anchor.get_untracked().unwrap_or(next), next);
        let (lo, hi) = (a.min(c), a.max(c));
        let range = self.words.with_untracked(|w| (w[lo].start, w[hi].end));
        self.selection.set(Some(range));
        scroll_into_view(range.0);
    }

    fn clear_selection(self) {
        self.selection.set(None);
        self.anchor.set(None);
    }

    fn add_span(self, label: &Label) {
        let (Some(note), Some((start, end))) = (self.note_id(), self.selection.get_untracked())
        else {
            return;
        };
        let request = SpanRequest {
            note,
            label: label.name.clone(),
            fragments: vec![Fragment { start, end }],
            attributes: BTreeMap::new(),
        };
        self.clear_selection();
        self.save(
            async move { client::add_span(&request).await },
            move |span: Span| {
                self.active.set(Some(span.id));
                self.note.update(|n| {
                    if let Some(n) = n {
                        n.spans.push(span);
                        n.spans.sort_by_key(|s| (s.start(), s.end()));
                    }
                });
            },
        );
    }

    fn toggle_doc_label(self, label: &Label) {
        let Some(note) = self.note_id() else { return };
        let me = self
            .ctx
            .project
            .with_untracked(|p| p.as_ref().map(|p| p.annotator.clone()))
            .unwrap_or_default();
        let has = self.note.with_untracked(|n| {
            n.as_ref().is_some_and(|n| {
                n.doc_labels
                    .iter()
                    .any(|d| d.label == label.name && d.annotator == me)
            })
        });
        let name = label.name.clone();
        if has {
            self.save(
                async move { client::remove_doc_label(note, &name).await },
                move |_| self.reload(),
            );
        } else {
            self.save(
                async move { client::set_doc_label(note, &name, &BTreeMap::new()).await },
                move |_| self.reload(),
            );
        }
    }

    /// Toggles a flag attribute or steps a choice attribute of the active span.
    fn attribute_key(self, key: &str) -> bool {
        let Some(id) = self.active.get_untracked() else {
            return false;
        };
        let Some(span) = self.note.with_untracked(|n| {
            n.as_ref()
                .and_then(|n| n.spans.iter().find(|s| s.id == id).cloned())
        }) else {
            return false;
        };
        let Some(label) = self
            .ctx
            .labels
            .with_untracked(|ls| ls.iter().find(|l| l.name == span.label).cloned())
        else {
            return false;
        };
        let Some(def) = label
            .attributes
            .iter()
            .find(|a| a.hotkey.as_deref() == Some(key))
        else {
            return false;
        };
        let mut attributes = span.attributes.clone();
        match def.kind {
            AttributeKind::Flag => {
                let on = attributes.get(&def.name).is_some_and(|v| v == "true");
                attributes.insert(def.name.clone(), (!on).to_string());
            }
            AttributeKind::Choice => {
                let names: Vec<&str> = def.values.iter().map(|v| v.name.as_str()).collect();
                let cur = attributes
                    .get(&def.name)
                    .and_then(|v| names.iter().position(|n| n == v));
                match cur.map_or(Some(0), |i| (i + 1 < names.len()).then_some(i + 1)) {
                    Some(i) => {
                        attributes.insert(def.name.clone(), names[i].to_owned());
                        // A value may preset others (every housing type is adverse).
                        if let Some(value) = def.values.get(i) {
                            for (name, preset) in &value.defaults {
                                attributes.insert(name.clone(), preset.clone());
                            }
                        }
                    }
                    None => {
                        attributes.remove(&def.name);
                    }
                }
            }
        }
        let request = SpanRequest {
            note: span_note(self),
            label: span.label.clone(),
            fragments: span.fragments.clone(),
            attributes,
        };
        self.save(
            async move { client::update_span(id, &request).await },
            move |s: Span| {
                self.note.update(|n| {
                    if let Some(n) = n
                        && let Some(slot) = n.spans.iter_mut().find(|x| x.id == s.id)
                    {
                        *slot = s;
                    }
                });
            },
        );
        true
    }

    /// Accepts or rejects the active suggestion (else the first one); the next becomes active.
    fn review(self, accept: bool) -> bool {
        let active = self.active.get_untracked();
        let target = self.note.with_untracked(|n| {
            let spans = &n.as_ref()?.spans;
            spans
                .iter()
                .find(|s| Some(s.id) == active && s.status == AnnotationStatus::Suggested)
                .or_else(|| {
                    spans
                        .iter()
                        .find(|s| s.status == AnnotationStatus::Suggested)
                })
                .map(|s| s.id)
        });
        let Some(id) = target else {
            return self.review_doc(accept, None);
        };
        self.save(
            async move { client::review_suggestion(id, accept).await },
            move |s: Span| {
                self.note.update(|n| {
                    if let Some(n) = n
                        && let Some(slot) = n.spans.iter_mut().find(|x| x.id == s.id)
                    {
                        *slot = s;
                    }
                });
                let next = self.note.with_untracked(|n| {
                    n.as_ref()
                        .and_then(|n| {
                            n.spans
                                .iter()
                                .find(|x| x.status == AnnotationStatus::Suggested)
                        })
                        .map(|x| x.id)
                });
                self.active.set(next);
            },
        );
        true
    }

    /// Accepts or rejects a suggested document label (`id`, else the first one); `false`
    /// when the note has none.
    fn review_doc(self, accept: bool, id: Option<DocLabelId>) -> bool {
        let target = id.or_else(|| {
            self.note.with_untracked(|n| {
                n.as_ref()?
                    .doc_labels
                    .iter()
                    .find(|d| d.status == AnnotationStatus::Suggested)
                    .map(|d| d.id)
            })
        });
        let Some(id) = target else { return false };
        self.save(
            async move { client::review_doc_suggestion(id, accept).await },
            move |_| self.reload(),
        );
        true
    }

    fn remove_active(self) {
        let Some(id) = self.active.get_untracked() else {
            return;
        };
        self.active.set(None);
        let what = self.note.with_untracked(|n| {
            let n = n.as_ref()?;
            let span = n.spans.iter().find(|s| s.id == id)?;
            let quote: String = span
                .fragments
                .iter()
                .filter_map(|f| n.text.get(f.start..f.end))
                .collect::<Vec<_>>()
                .join(" … ");
            let display = self
                .ctx
                .labels
                .with_untracked(|ls| {
                    ls.iter()
                        .find(|l| l.name == span.label)
                        .map(|l| l.display.clone())
                })
                .unwrap_or_else(|| span.label.clone());
            Some((display, quote))
        });
        self.save(async move { client::remove_span(id).await }, move |()| {
            self.note.update(|n| {
                if let Some(n) = n {
                    n.spans.retain(|s| s.id != id);
                }
            });
            self.deleted.set(what);
        });
    }

    fn history(self, redo: bool) {
        let Some(note) = self.note_id() else { return };
        self.save(
            async move {
                if redo {
                    client::redo(note).await
                } else {
                    client::undo(note).await
                }
            },
            move |n: Option<NoteDetail>| {
                self.deleted.set(None);
                if let Some(n) = n {
                    self.note.set(Some(n));
                }
            },
        );
    }

    fn mark_done(self) {
        let Some(note) = self.note_id() else { return };
        self.save(
            async move { client::set_status(note, NoteStatus::Done).await },
            move |()| {
                self.note.update(|n| {
                    if let Some(n) = n {
                        n.status = NoteStatus::Done;
                    }
                });
            },
        );
    }

    fn reload(self) {
        let Some(note) = self.note_id() else { return };
        spawn_local(async move {
            match client::show_note(note).await {
                Ok(n) => self.note.set(Some(n)),
                Err(e) => self.ctx.fail(e),
            }
        });
    }

    /// Opens the next (`+1`) or previous (`-1`) note of the notes list's query.
    fn step_note(self, delta: isize) {
        let Some((_, index)) = self.ctx.current.get_untracked() else {
            return;
        };
        let Some(target) = index.checked_add_signed(delta) else {
            return;
        };
        // Usually known already (fetched when this note opened).
        if let Some(id) = self.neighbors.with_untracked(|n| n.get(&target).copied()) {
            self.ctx.current.set(Some((id, target)));
            return;
        }
        let mut query = self.ctx.query.get_untracked();
        query.offset = target;
        query.limit = 1;
        spawn_local(async move {
            match client::search_notes(&query).await {
                Ok(found) => {
                    if let Some(n) = found.first() {
                        self.ctx.current.set(Some((n.id, target)));
                    }
                }
                Err(e) => self.ctx.fail(e),
            }
        });
    }

    fn on_key(self, ev: &ev::KeyboardEvent, help: RwSignal<bool>) {
        if is_typing(ev) || ev.alt_key() || ev.meta_key() {
            return;
        }
        let key = ev.key();
        let ctrl = ev.ctrl_key();
        let shift = ev.shift_key();
        let handled = match key.as_str() {
            "?" => {
                help.update(|h| *h = !*h);
                true
            }
            "Escape" => {
                help.set(false);
                self.clear_selection();
                self.cursor.set(None);
                true
            }
            "ArrowRight" if !ctrl => {
                self.move_cursor(1, shift);
                true
            }
            "ArrowLeft" if !ctrl => {
                self.move_cursor(-1, shift);
                true
            }
            "z" | "Z" if ctrl => {
                self.history(shift);
                true
            }
            "y" if ctrl => {
                self.history(true);
                true
            }
            _ if ctrl => false,
            "u" => {
                self.history(false);
                true
            }
            "j" => {
                self.step_note(1);
                true
            }
            "k" => {
                self.step_note(-1);
                true
            }
            "d" => {
                self.mark_done();
                true
            }
            "b" => {
                self.blind.update(|b| *b = !*b);
                true
            }
            "a" => self.review(true),
            "x" => self.review(false),
            "Delete" | "Backspace" => {
                self.remove_active();
                true
            }
            k if k.chars().count() == 1 => self.label_key(k, shift),
            _ => false,
        };
        if handled {
            ev.prevent_default();
        }
    }

    /// A label hotkey: a span on the selection, or (Shift, or a document-only label) a
    /// document label; otherwise an attribute key of the active span.
    fn label_key(self, key: &str, shift: bool) -> bool {
        let lower = key.to_lowercase();
        let label = self.ctx.labels.with_untracked(|ls| {
            ls.iter()
                .find(|l| l.hotkey.as_deref() == Some(lower.as_str()))
                .cloned()
        });
        if let Some(label) = label {
            let doc = shift
                || label.scope == LabelScope::Doc
                || (self.selection.get_untracked().is_none() && !label.scope.allows_spans());
            if doc && label.scope.allows_docs() {
                self.toggle_doc_label(&label);
                return true;
            }
            if label.scope.allows_spans() && self.selection.get_untracked().is_some() {
                self.add_span(&label);
                return true;
            }
        }
        !shift && self.attribute_key(&lower)
    }
}

fn span_note(ed: Editor) -> NoteId {
    ed.note_id().unwrap_or(NoteId(0))
}

/// Scrolls the text so the segment starting at or before `byte` is visible.
fn scroll_into_view(byte: usize) {
    let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let Ok(list) = doc.query_selector_all("#note-text .seg") else {
        return;
    };
    let mut best = None;
    for i in 0..list.length() {
        if let Some(el) = list
            .item(i)
            .and_then(|n| n.dyn_into::<web_sys::Element>().ok())
        {
            let start: usize = el
                .get_attribute("data-start")
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            if start <= byte {
                best = Some(el);
            } else {
                break;
            }
        }
    }
    if let Some(el) = best {
        let options = web_sys::ScrollIntoViewOptions::new();
        options.set_block(web_sys::ScrollLogicalPosition::Nearest);
        el.scroll_into_view_with_scroll_into_view_options(&options);
    }
}

/// The byte offset in the note of a DOM position inside `#note-text` (a text node in a
/// segment carrying `data-start`, plus a UTF-16 offset into it).
fn dom_to_byte(node: &web_sys::Node, offset: u32, text: &str) -> Option<usize> {
    let el = if node.node_type() == web_sys::Node::TEXT_NODE {
        node.parent_element()?
    } else {
        node.dyn_ref::<web_sys::Element>()?.clone()
    };
    let seg = el.closest(".seg").ok()??;
    let start: usize = seg.get_attribute("data-start")?.parse().ok()?;
    let end: usize = seg.get_attribute("data-end")?.parse().ok()?;
    let piece = text.get(start..end)?;
    if node.node_type() != web_sys::Node::TEXT_NODE {
        return Some(if offset == 0 { start } else { end });
    }
    Some(start + api::offsets::utf16_to_byte(piece, offset as usize)?)
}

/// The annotate page.
#[component]
pub fn AnnotatePage() -> impl IntoView {
    let ctx = expect_context::<AppCtx>();
    let note = RwSignal::new(None::<NoteDetail>);
    let words = Memo::new(move |_| {
        note.with(|n| n.as_ref().map(|n| text::words(&n.text)).unwrap_or_default())
    });
    let ed = Editor {
        ctx,
        note,
        cursor: RwSignal::new(None),
        anchor: RwSignal::new(None),
        selection: RwSignal::new(None),
        active: RwSignal::new(None),
        saved: RwSignal::new(SaveState::Saved),
        words,
        neighbors: RwSignal::new(std::collections::HashMap::new()),
        deleted: RwSignal::new(None),
        blind: RwSignal::new(false),
    };
    let help = RwSignal::new(false);
    let text_ref = NodeRef::<html::Div>::new();

    // Load the note whenever the current one changes.
    Effect::new(move |_| {
        let Some((id, _)) = ctx.current.get() else {
            return;
        };
        ed.deleted.set(None);
        spawn_local(async move {
            let asked = now_ms();
            match client::show_note(id).await {
                Ok(n) => {
                    let arrived = now_ms();
                    ed.cursor.set(None);
                    ed.clear_selection();
                    ed.active.set(None);
                    note.set(Some(n));
                    if let Some(el) = text_ref.get_untracked() {
                        el.set_scroll_top(0);
                    }
                    record_timing("show_note", arrived - asked, now_ms() - arrived);
                    // Fetch the neighbours in the list now, so j/k need one command, not two.
                    if let Some((_, index)) = ctx.current.get_untracked() {
                        let mut query = ctx.query.get_untracked();
                        query.offset = index.saturating_sub(1);
                        query.limit = 3;
                        if let Ok(found) = client::search_notes(&query).await {
                            ed.neighbors.set(
                                found
                                    .into_iter()
                                    .enumerate()
                                    .map(|(i, n)| (query.offset + i, n.id))
                                    .collect(),
                            );
                        }
                    }
                }
                Err(e) => ctx.fail(e),
            }
        });
    });
    let keys = window_event_listener(ev::keydown, move |ev| ed.on_key(&ev, help));
    on_cleanup(move || keys.remove());

    let on_mouseup = move |_| {
        let Some(sel) = window().get_selection().ok().flatten() else {
            return;
        };
        if sel.is_collapsed() || sel.range_count() == 0 {
            return;
        }
        let Ok(range) = sel.get_range_at(0) else {
            return;
        };
        let mapped = note.with_untracked(|n| {
            let text = &n.as_ref()?.text;
            let start = dom_to_byte(
                &range.start_container().ok()?,
                range.start_offset().ok()?,
                text,
            )?;
            let end = dom_to_byte(&range.end_container().ok()?, range.end_offset().ok()?, text)?;
            // Trim surrounding whitespace, as annotators mean the words.
            let slice = text.get(start..end)?;
            let lead = slice.len() - slice.trim_start().len();
            let trail = slice.len() - slice.trim_end().len();
            (start + lead < end - trail).then_some((start + lead, end - trail))
        });
        if let Some(r) = mapped {
            ed.selection.set(Some(r));
            ed.anchor.set(None);
            ed.cursor.set(None);
        }
    };

    // The spans list, as one HTML string like the text.
    let me = move || {
        ctx.project
            .with(|p| p.as_ref().map(|p| p.annotator.clone()))
            .unwrap_or_default()
    };
    let spans_html = Memo::new(move |_| {
        let blind = ed.blind.get();
        let me = me();
        note.with(|n| {
            let Some(n) = n.as_ref() else { return String::new() };
            let esc = text::escape_html;
            let mut html = String::new();
            for s in n.spans.iter().filter(|s| !blind || s.annotator == me) {
                let quote = s.fragments.iter().filter_map(|f| n.text.get(f.start..f.end)).collect::<Vec<_>>().join(" … ");
                let attrs = s.attributes.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ");
                let color = ctx.labels.with(|ls| ls.iter().find(|l| l.name == s.label).map(|l| l.color.clone())).unwrap_or_default();
                let badge = if s.status == AnnotationStatus::Gold {
                    String::new()
                } else {
                    format!("<span class=\"badge\">{}</span>", s.status.as_str())
                };
                html.push_str(&format!(
                    "<li class=\"span-item\" data-span=\"{}\" data-label=\"{}\" data-annotator=\"{}\">\
                     <span class=\"chip\" style=\"background:{}\"></span><strong>{}</strong>{badge} \
                     “<span class=\"quote\">{}</span>” <span class=\"muted\">{} {}</span></li>",
                    s.id.0,
                    esc(&s.label),
                    esc(&s.annotator),
                    esc(&color),
                    esc(&s.label),
                    esc(&quote),
                    esc(&attrs),
                    esc(&s.annotator),
                ));
            }
            html
        })
    });
    // The text cut at span boundaries as one HTML string, built once per change of the note
    // or the labels: one DOM update instead of a call per segment (20,000 characters with 200
    // spans switch in one go). Clicks and the active span are handled on the container.
    let text_html = Memo::new(move |_| {
        let blind = ed.blind.get();
        let me = me();
        note.with(|n| {
            let Some(n) = n.as_ref() else { return String::new() };
            // Rejected suggestions stay in the project, not on the text; the blind view shows
            // only my own spans.
            let shown: Vec<Span> = n
                .spans
                .iter()
                .filter(|s| s.status != AnnotationStatus::Rejected)
                .filter(|s| !blind || s.annotator == me)
                .cloned()
                .collect();
            let color_of = |label: &str| {
                ctx.labels
                    .with(|ls| ls.iter().find(|l| l.name == label).map(|l| l.color.clone()))
                    .unwrap_or_else(|| "#888888".to_owned())
            };
            let mut html = String::with_capacity(n.text.len() * 2);
            for seg in text::segments(&n.text, &shown, &[]) {
                let covering: Vec<&Span> = seg.spans.iter().filter_map(|&i| shown.get(i)).collect();
                let colors: Vec<String> = covering.iter().map(|s| color_of(&s.label)).collect();
                let ids: Vec<String> = covering.iter().map(|s| s.id.0.to_string()).collect();
                let mut class = String::from("seg");
                if !covering.is_empty() {
                    class.push_str(" labelled");
                }
                if covering.iter().any(|s| s.status == AnnotationStatus::Suggested) {
                    class.push_str(" suggested");
                }
                let title = covering.iter().map(|s| s.label.as_str()).collect::<Vec<_>>().join(" + ");
                html.push_str(&format!(
                    "<span class=\"{class}\" data-start=\"{}\" data-end=\"{}\" data-spans=\"{}\" data-inner=\"{}\" title=\"{}\" style=\"{}\">",
                    seg.start,
                    seg.end,
                    ids.join(" "),
                    ids.last().map(String::as_str).unwrap_or(""),
                    text::escape_html(&title),
                    highlight_style(&colors),
                ));
                html.push_str(&text::escape_html(n.text.get(seg.start..seg.end).unwrap_or_default()));
                html.push_str("</span>");
                // A label tag where a span ends, so labels are told apart by name, not only by
                // colour (not selectable: selections map to the text alone).
                for span in covering.iter().filter(|s| s.fragments.last().is_some_and(|f| f.end == seg.end)) {
                    let label = ctx
                        .labels
                        .with(|ls| ls.iter().find(|l| l.name == span.label).map(|l| l.display.clone()))
                        .unwrap_or_else(|| span.label.clone());
                    html.push_str(&format!(
                        "<span class=\"tag\" aria-hidden=\"true\" style=\"border-color:{}\">{}</span>",
                        text::escape_html(&color_of(&span.label)),
                        text::escape_html(&label)
                    ));
                }
            }
            html
        })
    });
    // The active span's segments and list line get an outline (after the HTML is in place).
    Effect::new(move |_| {
        let active = ed.active.get();
        text_html.track();
        spans_html.track();
        set_class(
            "#note-text .seg.active, #span-list .span-item.active",
            "active",
            false,
        );
        if let Some(id) = active {
            let selector = format!(
                "#note-text .seg[data-spans~=\"{0}\"], #span-list [data-span=\"{0}\"]",
                id.0
            );
            set_class(&selector, "active", true);
        }
    });
    // The selection (keyboard or mouse) is shown as the page's native selection, so moving it
    // never re-renders the text.
    Effect::new(move |_| {
        let sel = ed.selection.get();
        text_html.track();
        show_selection(sel, note);
    });
    view! {
        <section class="annotate" aria-labelledby="note-title">
            {move || {
                if ctx.current.with(Option::is_none) {
                    return view! {
                        <div class="empty empty-state" id="annotate-empty">
                            <p>"No note is open. Choose one on the Notes page (Enter on a row opens it here)."</p>
                            <button class="primary" on:click=move |_| ctx.page.set(Page::Notes)>
                                "Go to the Notes page"
                            </button>
                        </div>
                    }
                        .into_any();
                }
                view! {
                    <div class="note-pane">
                        <div class="note-head">
                            <h1 id="note-title">
                                {move || note.with(|n| n.as_ref().map(|n| format!("Note #{}", n.id.0)).unwrap_or_default())}
                            </h1>
                            <span class="category">
                                {move || note.with(|n| n.as_ref().and_then(|n| n.category.clone()).unwrap_or_default())}
                            </span>
                            <span class="status" id="note-status">
                                {move || note.with(|n| n.as_ref().map(|n| status_text(n.status)).unwrap_or_default())}
                            </span>
                            <span
                                class="saved"
                                id="save-state"
                                role="status"
                                data-state=move || match ed.saved.get() {
                                    SaveState::Saved => "saved",
                                    SaveState::Saving => "saving",
                                    SaveState::Failed => "failed",
                                }
                            >
                                {move || match ed.saved.get() {
                                    SaveState::Saved => "✓ All changes saved",
                                    SaveState::Saving => "Saving…",
                                    SaveState::Failed => "⚠ Not saved",
                                }}
                            </span>
                            <button class="help-button" on:click=move |_| help.set(true)>"? Shortcuts"</button>
                        </div>
                        <div
                            class="note-text"
                            id="note-text"
                            tabindex="0"
                            aria-label="Note text: arrows select words, a label key labels them"
                            node_ref=text_ref
                            on:mouseup=on_mouseup
                            on:click=move |ev| {
                                let inner = ev
                                    .target()
                                    .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                                    .and_then(|el| el.closest(".seg").ok().flatten())
                                    .and_then(|seg| seg.get_attribute("data-inner"))
                                    .and_then(|v| v.parse::<i64>().ok());
                                if let Some(id) = inner {
                                    ed.active.set(Some(SpanId(id)));
                                }
                            }
                            inner_html=move || text_html.get()
                        >
                        </div>
                    </div>
                    <aside class="side" aria-label="Labels and annotations">
                        <label class="blind-toggle" title="Hide other annotators' spans and labels while you annotate (b)">
                            <input type="checkbox" id="blind-view" prop:checked=move || ed.blind.get() on:change=move |ev| ed.blind.set(event_target_checked(&ev)) />
                            "Blind: only my annotations"
                        </label>
                        <h2>"Span labels"</h2>
                        <ul class="labels">
                            {move || {
                                ctx.labels
                                    .get()
                                    .into_iter()
                                    .filter(|l| l.scope.allows_spans())
                                    .map(|l| {
                                        let l2 = l.clone();
                                        view! {
                                            <li>
                                                <button class="label" on:click=move |_| ed.add_span(&l2)>
                                                    <span class="chip" style=format!("background:{}", l.color)></span>
                                                    {l.display.clone()}
                                                    <kbd>{l.hotkey.clone().unwrap_or_default()}</kbd>
                                                </button>
                                            </li>
                                        }
                                    })
                                    .collect_view()
                            }}
                        </ul>
                        <h2>"Spans"</h2>
                        <ul
                            class="spans"
                            id="span-list"
                            on:click=move |ev| {
                                let id = ev
                                    .target()
                                    .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                                    .and_then(|el| el.closest(".span-item").ok().flatten())
                                    .and_then(|li| li.get_attribute("data-span"))
                                    .and_then(|v| v.parse::<i64>().ok());
                                if let Some(id) = id {
                                    ed.active.set(Some(SpanId(id)));
                                }
                            }
                            inner_html=move || spans_html.get()
                        ></ul>
                        {move || ed.deleted.get().map(|(label, quote)| view! {
                            <p class="undo-notice" id="undo-notice" role="status">
                                {format!("Deleted {label} “{quote}”. ")}
                                <button class="small" id="undo-delete" on:click=move |_| ed.history(false)>"Undo (u)"</button>
                            </p>
                        })}
                        {move || active_span_panel(ed)}
                        <h2>"Document labels"</h2>
                        <ul class="doc-labels">
                            {move || {
                                let me = ctx.project.with(|p| p.as_ref().map(|p| p.annotator.clone())).unwrap_or_default();
                                let mine: Vec<String> = note.with(|n| {
                                    n.as_ref()
                                        .map(|n| n.doc_labels.iter().filter(|d| d.annotator == me).map(|d| d.label.clone()).collect())
                                        .unwrap_or_default()
                                });
                                ctx.labels
                                    .get()
                                    .into_iter()
                                    .filter(|l| l.scope.allows_docs())
                                    .map(|l| {
                                        let checked = mine.contains(&l.name);
                                        let l2 = l.clone();
                                        let key = l.hotkey.clone().map(|k| if l.scope.allows_spans() { format!("⇧{}", k.to_uppercase()) } else { k }).unwrap_or_default();
                                        view! {
                                            <li>
                                                <label>
                                                    <input type="checkbox" prop:checked=checked on:change=move |_| ed.toggle_doc_label(&l2) />
                                                    {l.display.clone()}
                                                    <kbd>{key}</kbd>
                                                </label>
                                            </li>
                                        }
                                    })
                                    .collect_view()
                            }}
                        </ul>
                        {move || {
                            let me = me();
                            let others: Vec<DocLabel> = if ed.blind.get() {
                                Vec::new()
                            } else {
                                note.with(|n| {
                                    n.as_ref()
                                        .map(|n| n.doc_labels.iter().filter(|d| d.annotator != me && d.status == AnnotationStatus::Gold).cloned().collect())
                                        .unwrap_or_default()
                                })
                            };
                            (!others.is_empty()).then(|| view! {
                                <h2>"Others' document labels"</h2>
                                <ul class="doc-others" id="doc-others">
                                    {others.into_iter().map(|d| {
                                        let display = ctx.labels.with(|ls| ls.iter().find(|l| l.name == d.label).map(|l| l.display.clone())).unwrap_or_else(|| d.label.clone());
                                        view! { <li>{display}<span class="muted">{format!(" by {}", d.annotator)}</span></li> }
                                    }).collect_view()}
                                </ul>
                            })
                        }}
                        {move || {
                            let suggested: Vec<DocLabel> = note.with(|n| {
                                n.as_ref()
                                    .map(|n| n.doc_labels.iter().filter(|d| d.status == AnnotationStatus::Suggested).cloned().collect())
                                    .unwrap_or_default()
                            });
                            (!suggested.is_empty()).then(|| view! {
                                <h2>"Suggested document labels"</h2>
                                <ul class="doc-suggestions" id="doc-suggestions">
                                    {suggested.into_iter().map(|d| {
                                        let id = d.id;
                                        let display = ctx.labels.with(|ls| ls.iter().find(|l| l.name == d.label).map(|l| l.display.clone())).unwrap_or_else(|| d.label.clone());
                                        view! {
                                            <li data-doc-suggestion=id.0>
                                                <span class="suggested">{display}</span>
                                                <span class="muted">{format!(" by {}", d.annotator)}</span>
                                                <button class="small" on:click=move |_| { ed.review_doc(true, Some(id)); }>"Accept"</button>
                                                <button class="small" on:click=move |_| { ed.review_doc(false, Some(id)); }>"Reject"</button>
                                            </li>
                                        }
                                    }).collect_view()}
                                </ul>
                            })
                        }}
                    </aside>
                }
                    .into_any()
            }}
            <Show when=move || help.get()>
                <div class="overlay" role="dialog" aria-modal="true" aria-labelledby="help-title" on:click=move |_| help.set(false)>
                    <div class="help">
                        <h2 id="help-title">"Keyboard shortcuts"</h2>
                        <dl>
                            <dt>"→ / ←"</dt><dd>"select the next / previous word"</dd>
                            <dt>"⇧→ / ⇧←"</dt><dd>"extend the selection by a word"</dd>
                            <dt>"label key"</dt><dd>"label the selection (see the list)"</dd>
                            <dt>"⇧ label key"</dt><dd>"toggle the document label"</dd>
                            <dt>"v / y"</dt><dd>"toggle adverse / step the type of the active span"</dd>
                            <dt>"Delete"</dt><dd>"remove the active span"</dd>
                            <dt>"u, Ctrl+Z"</dt><dd>"undo"</dd>
                            <dt>"Ctrl+Shift+Z"</dt><dd>"redo"</dd>
                            <dt>"d"</dt><dd>"mark the note done"</dd>
                            <dt>"a / x"</dt><dd>"accept / reject the suggested span (then the suggested document labels)"</dd>
                            <dt>"b"</dt><dd>"blind view: show only my own annotations, or everyone's"</dd>
                            <dt>"j / k"</dt><dd>"next / previous note"</dd>
                            <dt>"Esc"</dt><dd>"clear the selection, close this"</dd>
                            <dt>"?"</dt><dd>"show or hide this list"</dd>
                        </dl>
                        <h3>"Labels"</h3>
                        <dl>
                            {move || {
                                ctx.labels
                                    .get()
                                    .into_iter()
                                    .filter_map(|l| l.hotkey.clone().map(|k| view! { <dt>{k}</dt><dd>{l.display.clone()}</dd> }))
                                    .collect_view()
                            }}
                        </dl>
                    </div>
                </div>
            </Show>
        </section>
    }
}

fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}

/// Keeps (in `window.__clinituneTimings`, last 50) how long a command took over IPC and how
/// long the page took to show its reply, for `cargo xtask bench app`. Ids and times only.
fn record_timing(what: &str, ipc_ms: f64, render_ms: f64) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let key = wasm_bindgen::JsValue::from_str("__clinituneTimings");
    let list = js_sys::Reflect::get(&window, &key)
        .ok()
        .and_then(|v| v.dyn_into::<js_sys::Array>().ok())
        .unwrap_or_else(|| {
            let a = js_sys::Array::new();
            let _ = js_sys::Reflect::set(&window, &key, &a);
            a
        });
    let entry = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&entry, &"what".into(), &what.into());
    let _ = js_sys::Reflect::set(&entry, &"ipc_ms".into(), &ipc_ms.into());
    let _ = js_sys::Reflect::set(&entry, &"render_ms".into(), &render_ms.into());
    list.push(&entry);
    if list.length() > 50 {
        list.shift();
    }
}

/// Adds or removes `class` on every element matching `selector`.
fn set_class(selector: &str, class: &str, on: bool) {
    let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let Ok(found) = doc.query_selector_all(selector) else {
        return;
    };
    for i in 0..found.length() {
        if let Some(el) = found
            .item(i)
            .and_then(|n| n.dyn_into::<web_sys::Element>().ok())
        {
            let _ = if on {
                el.class_list().add_1(class)
            } else {
                el.class_list().remove_1(class)
            };
        }
    }
}

/// Puts the page's selection on bytes `sel` of the note text (or clears it).
fn show_selection(sel: Option<(usize, usize)>, note: RwSignal<Option<NoteDetail>>) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let Some(selection) = window.get_selection().ok().flatten() else {
        return;
    };
    let _ = selection.remove_all_ranges();
    let Some((a, b)) = sel else { return };
    let Some(doc) = window.document() else { return };
    let point = |byte: usize, at_end: bool| -> Option<(web_sys::Node, u32)> {
        let list = doc.query_selector_all("#note-text .seg").ok()?;
        for i in 0..list.length() {
            let el = list.item(i)?.dyn_into::<web_sys::Element>().ok()?;
            let start: usize = el.get_attribute("data-start")?.parse().ok()?;
            let end: usize = el.get_attribute("data-end")?.parse().ok()?;
            let inside = if at_end {
                start < byte && byte <= end
            } else {
                start <= byte && byte < end
            };
            if inside {
                let node = el.first_child()?;
                let units = note.with_untracked(|n| {
                    let piece = n.as_ref()?.text.get(start..end)?;
                    api::offsets::byte_to_utf16(piece, byte - start)
                })?;
                return Some((node, units as u32));
            }
        }
        None
    };
    let (Some((sn, so)), Some((en, eo))) = (point(a, false), point(b, true)) else {
        return;
    };
    if let Ok(range) = doc.create_range()
        && range.set_start(&sn, so).is_ok()
        && range.set_end(&en, eo).is_ok()
    {
        let _ = selection.add_range(&range);
    }
}

/// Background in the outermost span's colour; each further (overlapping) span adds an
/// underline in its own colour.
fn highlight_style(colors: &[String]) -> String {
    let Some(first) = colors.first() else {
        return String::new();
    };
    let mut style = format!("background-color:{};", text::tint(first, 0x40));
    let lines: Vec<String> = colors
        .iter()
        .enumerate()
        .map(|(i, c)| format!("inset 0 -{}px 0 {}", 2 + 3 * i, text::tint(c, 0xff)))
        .collect();
    style.push_str(&format!("box-shadow:{};", lines.join(",")));
    style
}

/// The active span: its label, text and who made it, and each attribute of its label with its
/// key, current value and what each value means (the values `y` and other attribute keys
/// cycle through).
fn active_span_panel(ed: Editor) -> Option<AnyView> {
    let id = ed.active.get()?;
    let (span, quote) = ed.note.with(|n| {
        let n = n.as_ref()?;
        let span = n.spans.iter().find(|s| s.id == id)?.clone();
        let quote = span
            .fragments
            .iter()
            .filter_map(|f| n.text.get(f.start..f.end))
            .collect::<Vec<_>>()
            .join(" … ");
        Some((span, quote))
    })?;
    let label = ed
        .ctx
        .labels
        .with(|ls| ls.iter().find(|l| l.name == span.label).cloned())?;
    let attributes = label
        .attributes
        .iter()
        .map(|def| {
            let current = span
                .attributes
                .get(&def.name)
                .cloned()
                .or_else(|| def.default.clone())
                .unwrap_or_else(|| "not set".to_owned());
            let key = def.hotkey.clone().unwrap_or_default();
            let values = def
                .values
                .iter()
                .map(|v| {
                    let class = if Some(&v.name) == span.attributes.get(&def.name) {
                        "current"
                    } else {
                        ""
                    };
                    view! { <li class=class><code>{v.name.clone()}</code>{format!(" — {}", v.description)}</li> }
                })
                .collect_view();
            view! {
                <li data-attribute=def.name.clone()>
                    <kbd>{key}</kbd>" "<strong>{def.name.clone()}</strong>{format!(": {current}")}
                    <span class="muted">{format!(" — {}", def.description)}</span>
                    <ul class="attribute-values">{values}</ul>
                </li>
            }
        })
        .collect_view();
    Some(
        view! {
            <section class="active-span" id="active-span" aria-label="The selected span">
                <h2>"Selected span"</h2>
                <p>
                    <strong>{label.display.clone()}</strong>
                    {format!(" “{quote}” · {} · {}", span.annotator, span.status.as_str())}
                </p>
                {(!label.attributes.is_empty()).then(|| view! {
                    <p class="muted">"Attribute keys toggle a flag or step to the next value:"</p>
                    <ul class="attributes">{attributes}</ul>
                })}
            </section>
        }
        .into_any(),
    )
}
