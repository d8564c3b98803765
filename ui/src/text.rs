//! Pure text geometry for the annotate page: words for keyboard selection and the segments a
//! note's text is cut into so that every span boundary starts a new element. Byte offsets
//! throughout (as the store keeps them); the browser's UTF-16 offsets are converted at the edge.

use api::Span;

/// A word the keyboard cursor can stand on: a run of letters, digits and `-'/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Word {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

/// The words of `text`, in order.
pub fn words(text: &str) -> Vec<Word> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        let in_word = c.is_alphanumeric() || matches!(c, '-' | '\'' | '/' | '_');
        match (in_word, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push(Word { start: s, end: i });
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push(Word {
            start: s,
            end: text.len(),
        });
    }
    out
}

/// A stretch of text covered by the same spans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
    /// Indices into the note's spans that cover it, outermost (earliest start) first.
    pub spans: Vec<usize>,
}

/// Cuts `text` at every fragment boundary of `spans` and at `extra` offsets (the selection),
/// so each segment is covered by one fixed set of spans.
pub fn segments(text: &str, spans: &[Span], extra: &[usize]) -> Vec<Segment> {
    let mut cuts: Vec<usize> = vec![0, text.len()];
    for span in spans {
        for f in &span.fragments {
            cuts.push(f.start.min(text.len()));
            cuts.push(f.end.min(text.len()));
        }
    }
    cuts.extend(extra.iter().map(|&e| e.min(text.len())));
    cuts.retain(|&c| text.is_char_boundary(c));
    cuts.sort_unstable();
    cuts.dedup();
    let mut out = Vec::with_capacity(cuts.len());
    for pair in cuts.windows(2) {
        let (start, end) = (pair[0], pair[1]);
        let mut covering: Vec<usize> = spans
            .iter()
            .enumerate()
            .filter(|(_, s)| s.fragments.iter().any(|f| f.start <= start && end <= f.end))
            .map(|(i, _)| i)
            .collect();
        covering.sort_by_key(|&i| (spans[i].start(), std::cmp::Reverse(spans[i].end())));
        out.push(Segment {
            start,
            end,
            spans: covering,
        });
    }
    out
}

/// `#rrggbb` with an alpha byte appended, for a translucent highlight of a label colour.
pub fn tint(color: &str, alpha: u8) -> String {
    let hex = color.trim_start_matches('#');
    if hex.len() == 6 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
        format!("#{hex}{alpha:02x}")
    } else {
        format!("#888888{alpha:02x}")
    }
}

/// `text` with `& < > " '` escaped, for building HTML by hand.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests;
