//! The word diff the Review and Pairs pages draw: which words of the model's original the
//! clinician kept, removed and added. Words are whitespace-separated, as in `studio::review`'s
//! stored diff, so what the page shows is what will be saved; each piece keeps its following
//! whitespace so line breaks survive.

/// A piece of the diff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// In both texts.
    Kept(String),
    /// Only in the original (struck through).
    Removed(String),
    /// Only in the edit (marked).
    Added(String),
}

/// Above this many word pairs the table would be slow to fill while typing; the texts are
/// then shown as removed and added wholesale, around their common start and end.
const MAX_CELLS: usize = 4_000_000;

/// Words with the whitespace that follows each.
fn tokens(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut in_space = false;
    for (i, c) in text.char_indices() {
        if c.is_whitespace() {
            in_space = true;
        } else if in_space {
            out.push(text.get(start..i).unwrap_or_default());
            start = i;
            in_space = false;
        }
    }
    if start < text.len() {
        out.push(text.get(start..).unwrap_or_default());
    }
    out
}

/// The word diff of `original` and `edited` (a longest common subsequence of words).
pub fn word_diff(original: &str, edited: &str) -> Vec<Piece> {
    let old = tokens(original);
    let new = tokens(edited);
    let same = |a: &str, b: &str| a.trim_end() == b.trim_end();
    // Common start and end need no table.
    let head = old.iter().zip(&new).take_while(|(a, b)| same(a, b)).count();
    let tail = old[head..]
        .iter()
        .rev()
        .zip(new[head..].iter().rev())
        .take_while(|(a, b)| same(a, b))
        .count();
    let (o, n) = (&old[head..old.len() - tail], &new[head..new.len() - tail]);
    let mut out: Vec<Piece> = new[..head]
        .iter()
        .map(|t| Piece::Kept((*t).to_owned()))
        .collect();
    if o.len().saturating_mul(n.len()) > MAX_CELLS {
        out.extend(o.iter().map(|t| Piece::Removed((*t).to_owned())));
        out.extend(n.iter().map(|t| Piece::Added((*t).to_owned())));
    } else {
        // lcs[i][j]: common words of o[i..] and n[j..].
        let w = n.len() + 1;
        let mut lcs = vec![0u32; (o.len() + 1) * w];
        for i in (0..o.len()).rev() {
            for j in (0..n.len()).rev() {
                lcs[i * w + j] = if same(o[i], n[j]) {
                    lcs[(i + 1) * w + j + 1] + 1
                } else {
                    lcs[(i + 1) * w + j].max(lcs[i * w + j + 1])
                };
            }
        }
        let (mut i, mut j) = (0, 0);
        while i < o.len() || j < n.len() {
            if i < o.len() && j < n.len() && same(o[i], n[j]) {
                out.push(Piece::Kept(n[j].to_owned()));
                i += 1;
                j += 1;
            } else if i < o.len() && (j == n.len() || lcs[(i + 1) * w + j] >= lcs[i * w + j + 1]) {
                // Removed words come before their replacement, as a reader expects.
                out.push(Piece::Removed(o[i].to_owned()));
                i += 1;
            } else {
                out.push(Piece::Added(n[j].to_owned()));
                j += 1;
            }
        }
    }
    out.extend(
        new[new.len() - tail..]
            .iter()
            .map(|t| Piece::Kept((*t).to_owned())),
    );
    out
}

/// Words removed and added, for the editor's summary line.
pub fn counts(pieces: &[Piece]) -> (usize, usize) {
    pieces.iter().fold((0, 0), |(r, a), p| match p {
        Piece::Removed(_) => (r + 1, a),
        Piece::Added(_) => (r, a + 1),
        Piece::Kept(_) => (r, a),
    })
}

#[cfg(test)]
mod tests;
