//! brat standoff (`.ann`) reading and writing.
//!
//! Format: <https://brat.nlplab.org/standoff.html>. Each line is one annotation whose id's first
//! letter gives its kind: `T` text-bound (`T1\tLabel 0 5;8 12\ttext`), `A`/`M` attribute
//! (`A1\tNegated T1` or `A2\tLevel T1 High`), `#` annotator note (`#1\tAnnotatorNotes T1\ttext`),
//! and `R` relations, `E` events, `N` normalisations, `*` equivalences, which Clinitune keeps
//! verbatim. Offsets are Unicode code points, end-exclusive. Ids are unique within a file; a
//! repeated id is refused on its second line.

use std::collections::HashMap;

/// A text-bound annotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextBound {
    /// Its id (`T3`).
    pub id: String,
    /// Label (entity type).
    pub label: String,
    /// Fragments as code-point (start, end) pairs.
    pub fragments: Vec<(usize, usize)>,
    /// The covered text as the file gives it (fragments joined by a space).
    pub text: String,
}

/// An attribute on another annotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// Its id (`A1`).
    pub id: String,
    /// Attribute name.
    pub name: String,
    /// The annotation it qualifies (`T1`).
    pub target: String,
    /// Value of a multi-valued attribute; `None` for a binary one.
    pub value: Option<String>,
}

/// An `AnnotatorNotes` comment on another annotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// Its id (`#1`).
    pub id: String,
    /// The annotation it is about.
    pub target: String,
    /// The comment.
    pub text: String,
}

/// A line kept as it was (relations, events, normalisations, equivalences).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Other {
    /// Kind: the id's first character (`R`, `E`, `N`, `*`).
    pub kind: char,
    /// The whole line.
    pub line: String,
}

/// A parsed `.ann` file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Standoff {
    /// Text-bound annotations in file order.
    pub text_bounds: Vec<TextBound>,
    /// Attributes.
    pub attributes: Vec<Attribute>,
    /// Annotator notes.
    pub notes: Vec<Note>,
    /// Lines kept verbatim.
    pub others: Vec<Other>,
}

/// A line that could not be read, with its 1-based number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// Line number.
    pub line: u64,
    /// What is wrong.
    pub reason: String,
}

/// Parses an `.ann` file; malformed lines are returned as errors and the rest kept.
pub fn parse(content: &str) -> (Standoff, Vec<LineError>) {
    let mut out = Standoff::default();
    let mut errors = Vec::new();
    // Where each id was first given: a second line with the same id is refused, or an attribute
    // meant for one span would land on the other.
    let mut first_line: HashMap<String, u64> = HashMap::new();
    for (index, raw) in content.lines().enumerate() {
        let line_no = index as u64 + 1;
        let line = raw.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let mut fail = |reason: String| {
            errors.push(LineError {
                line: line_no,
                reason,
            })
        };
        let (id, rest) = match line.split_once('\t') {
            Some(parts) => parts,
            None => {
                fail("expected a tab after the annotation id".to_owned());
                continue;
            }
        };
        if id != "*" {
            let first = *first_line.entry(id.to_owned()).or_insert(line_no);
            if first != line_no {
                fail(format!(
                    "{id} is used twice (first on line {first}); this line was not imported"
                ));
                continue;
            }
        }
        match id.chars().next() {
            Some('T') => match parse_text_bound(id, rest) {
                Ok(t) => out.text_bounds.push(t),
                Err(reason) => fail(reason),
            },
            Some('A' | 'M') => {
                let fields: Vec<&str> = rest.split_whitespace().collect();
                match fields.as_slice() {
                    [name, target] => out.attributes.push(Attribute {
                        id: id.to_owned(),
                        name: (*name).to_owned(),
                        target: (*target).to_owned(),
                        value: None,
                    }),
                    [name, target, value] => out.attributes.push(Attribute {
                        id: id.to_owned(),
                        name: (*name).to_owned(),
                        target: (*target).to_owned(),
                        value: Some((*value).to_owned()),
                    }),
                    _ => fail(format!(
                        "attribute {id} needs a name, a target and at most one value"
                    )),
                }
            }
            Some('#') => {
                let (head, text) = rest.split_once('\t').unwrap_or((rest, ""));
                let mut fields = head.split_whitespace();
                match (fields.next(), fields.next()) {
                    (Some("AnnotatorNotes"), Some(target)) => out.notes.push(Note {
                        id: id.to_owned(),
                        target: target.to_owned(),
                        text: text.to_owned(),
                    }),
                    // Other comment types have no Clinitune counterpart: keep them verbatim.
                    (Some(_), Some(_)) => out.others.push(Other {
                        kind: '#',
                        line: line.to_owned(),
                    }),
                    _ => fail(format!("note {id} needs a type and a target")),
                }
            }
            Some(kind @ ('R' | 'E' | 'N' | '*')) => {
                out.others.push(Other {
                    kind,
                    line: line.to_owned(),
                });
            }
            _ => fail(format!(
                "unknown annotation id {id:?} (expected T, A, M, R, E, N, # or *)"
            )),
        }
    }
    (out, errors)
}

fn parse_text_bound(id: &str, rest: &str) -> Result<TextBound, String> {
    let (head, text) = rest.split_once('\t').unwrap_or((rest, ""));
    let (label, offsets) = head
        .split_once(' ')
        .ok_or_else(|| format!("{id} needs a label and offsets"))?;
    let mut fragments = Vec::new();
    for part in offsets.split(';') {
        let mut nums = part.split_whitespace().map(str::parse::<usize>);
        match (nums.next(), nums.next(), nums.next()) {
            (Some(Ok(start)), Some(Ok(end)), None) if start < end => fragments.push((start, end)),
            (Some(Ok(start)), Some(Ok(end)), None) => {
                return Err(format!(
                    "{id} has an empty or reversed fragment {start} {end}"
                ));
            }
            _ => return Err(format!("{id} has malformed offsets {offsets:?}")),
        }
    }
    Ok(TextBound {
        id: id.to_owned(),
        label: label.to_owned(),
        fragments,
        text: text.to_owned(),
    })
}

/// Writes a `.ann` file: text-bound annotations, attributes, notes, then the kept lines.
pub fn write(standoff: &Standoff) -> String {
    let mut out = String::new();
    for t in &standoff.text_bounds {
        let offsets: Vec<String> = t
            .fragments
            .iter()
            .map(|(s, e)| format!("{s} {e}"))
            .collect();
        out.push_str(&format!(
            "{}\t{} {}\t{}\n",
            t.id,
            t.label,
            offsets.join(";"),
            t.text
        ));
    }
    for a in &standoff.attributes {
        match &a.value {
            Some(v) => out.push_str(&format!("{}\t{} {} {}\n", a.id, a.name, a.target, v)),
            None => out.push_str(&format!("{}\t{} {}\n", a.id, a.name, a.target)),
        }
    }
    for n in &standoff.notes {
        out.push_str(&format!(
            "{}\tAnnotatorNotes {}\t{}\n",
            n.id, n.target, n.text
        ));
    }
    for o in &standoff.others {
        out.push_str(&o.line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests;
