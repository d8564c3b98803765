//! Conversions between the offset systems a note meets: UTF-8 bytes (the store), Unicode code
//! points (brat, the CLI, exports) and UTF-16 code units (JavaScript in the UI).
//!
//! Each conversion returns `None` when the offset is past the end of the text or, for byte
//! offsets, not on a character boundary, so a bad offset is reported rather than moved.

/// The byte offset of code point `chars` in `text`; `None` if `text` has fewer code points.
pub fn char_to_byte(text: &str, chars: usize) -> Option<usize> {
    if chars == 0 {
        return Some(0);
    }
    match text.char_indices().nth(chars) {
        Some((byte, _)) => Some(byte),
        None if text.chars().count() == chars => Some(text.len()),
        None => None,
    }
}

/// The code-point offset of byte `byte` in `text`; `None` if it is not on a char boundary.
pub fn byte_to_char(text: &str, byte: usize) -> Option<usize> {
    if !text.is_char_boundary(byte) {
        return None;
    }
    text.get(..byte).map(|head| head.chars().count())
}

/// The byte offset of UTF-16 unit `units` in `text`; `None` if past the end or inside a
/// surrogate pair.
pub fn utf16_to_byte(text: &str, units: usize) -> Option<usize> {
    let mut seen = 0;
    for (byte, c) in text.char_indices() {
        if seen == units {
            return Some(byte);
        }
        if seen > units {
            return None;
        }
        seen += c.len_utf16();
    }
    (seen == units).then_some(text.len())
}

/// The UTF-16 offset of byte `byte` in `text`; `None` if it is not on a char boundary.
pub fn byte_to_utf16(text: &str, byte: usize) -> Option<usize> {
    if !text.is_char_boundary(byte) {
        return None;
    }
    text.get(..byte)
        .map(|head| head.chars().map(char::len_utf16).sum())
}

/// Converts many code-point offsets at once in one pass (import and export of whole notes).
///
/// `sorted` must be ascending; the result has one entry per input, `None` where out of range.
pub fn chars_to_bytes(text: &str, sorted: &[usize]) -> Vec<Option<usize>> {
    let mut out = Vec::with_capacity(sorted.len());
    let mut iter = text.char_indices().enumerate().peekable();
    for &want in sorted {
        loop {
            match iter.peek() {
                Some(&(ci, (bi, _))) if ci == want => {
                    out.push(Some(bi));
                    break;
                }
                Some(&(ci, _)) if ci < want => {
                    iter.next();
                }
                Some(_) => {
                    out.push(None);
                    break;
                }
                None => {
                    out.push((text.chars().count() == want).then_some(text.len()));
                    break;
                }
            }
        }
    }
    out
}

/// Converts many UTF-16 offsets at once in one pass (Label Studio import of whole notes).
///
/// `sorted` must be ascending; the result has one entry per input, `None` where past the end or
/// between the two halves of a surrogate pair.
pub fn utf16s_to_bytes(text: &str, sorted: &[usize]) -> Vec<Option<usize>> {
    let mut out = Vec::with_capacity(sorted.len());
    let mut iter = text.char_indices().peekable();
    let mut units = 0; // UTF-16 offset of the char `iter` is at
    for &want in sorted {
        loop {
            match iter.peek() {
                Some(&(byte, _)) if units == want => {
                    out.push(Some(byte));
                    break;
                }
                Some(&(_, c)) if units < want => {
                    units += c.len_utf16();
                    iter.next();
                }
                Some(_) => {
                    out.push(None);
                    break;
                }
                None => {
                    out.push((units == want).then_some(text.len()));
                    break;
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
