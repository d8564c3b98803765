//! Deterministic mutations of byte strings, libFuzzer-style but without coverage feedback: each
//! round applies one to four of bit flips, byte inserts and deletes, chunk duplication, splicing
//! with another input, "interesting" integers overwritten at random offsets or over the next
//! small integer (the values that make a header promise gigabytes or nothing), numbers in text
//! replaced by such values, and truncation.

/// SplitMix64: small, fast and the same on every machine, so a run is replayed from its seed.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator whose whole sequence follows from `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        (self.next_u64() % n as u64) as usize
    }

    /// True with probability `1 / n`.
    pub fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }
}

/// Integers that break size and count arithmetic, written little-endian at random offsets.
const INTERESTING: &[u64] = &[
    0,
    1,
    0x7F,
    0x80,
    0xFF,
    0x7FFF,
    0xFFFF,
    0x7FFF_FFFF,
    0x8000_0000,
    0xFFFF_FFFF,
    0x1_0000_0000,
    0x7FFF_FFFF_FFFF_FFFF,
    u64::MAX,
];

/// Text fragments that matter to the text formats (separators, quotes, numbers, markup).
const TOKENS: &[&[u8]] = &[
    b"\"",
    b"'",
    b",",
    b"\n",
    b"\r\n",
    b"\t",
    b";",
    b":",
    b"{",
    b"}",
    b"[",
    b"]",
    b"-1",
    b"0",
    b"4294967295",
    b"18446744073709551615",
    b"2147483648",
    b"1e309",
    b"NaN",
    b"null",
    b"\xEF\xBB\xBF",
    b"\xF0\x9F\x98\x80",
    b"\xFF",
    b"{{",
    b"}}",
    b"{%",
    b"%}",
    b"```",
];

/// Largest input a mutation may grow to: bigger inputs only slow every target down.
const MAX_LEN: usize = 256 * 1024;

/// A mutated copy of `input`; `other` is a second input to splice from.
pub fn mutate(rng: &mut Rng, input: &[u8], other: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    // Often a single change, so most inputs stay close to a valid file.
    let rounds = if rng.one_in(2) { 1 } else { 2 + rng.below(3) };
    for _ in 0..rounds {
        mutate_once(rng, &mut out, other);
    }
    out.truncate(MAX_LEN);
    out
}

fn mutate_once(rng: &mut Rng, out: &mut Vec<u8>, other: &[u8]) {
    match rng.below(12) {
        10 => overwrite_small_integer(rng, out),
        11 => replace_number_text(rng, out),
        0 | 1 => {
            // Bit flip.
            if !out.is_empty() {
                let i = rng.below(out.len());
                out[i] ^= 1 << rng.below(8);
            }
        }
        2 => {
            // Random byte inserted.
            let i = rng.below(out.len() + 1);
            out.insert(i, rng.next_u64() as u8);
        }
        3 => {
            // A run of bytes deleted.
            if !out.is_empty() {
                let i = rng.below(out.len());
                let n = 1 + rng.below((out.len() - i).min(64));
                out.drain(i..i + n);
            }
        }
        4 => {
            // A chunk duplicated somewhere else.
            if !out.is_empty() {
                let i = rng.below(out.len());
                let n = 1 + rng.below((out.len() - i).min(256));
                let chunk = out[i..i + n].to_vec();
                let at = rng.below(out.len() + 1);
                out.splice(at..at, chunk);
            }
        }
        5 => {
            // Splice: our head, the other input's tail.
            if !other.is_empty() {
                let cut = rng.below(out.len() + 1);
                let from = rng.below(other.len());
                out.truncate(cut);
                out.extend_from_slice(&other[from..]);
            }
        }
        6 | 7 => {
            // An interesting integer over 1, 2, 4 or 8 bytes.
            let value = INTERESTING[rng.below(INTERESTING.len())];
            let width = 1 << rng.below(4);
            if out.len() >= width {
                let i = rng.below(out.len() - width + 1);
                out[i..i + width].copy_from_slice(&value.to_le_bytes()[..width]);
            }
        }
        8 => {
            // A token the text formats care about.
            let token = TOKENS[rng.below(TOKENS.len())];
            let i = rng.below(out.len() + 1);
            out.splice(i..i, token.iter().copied());
        }
        _ => {
            // Truncation.
            let keep = rng.below(out.len() + 1);
            out.truncate(keep);
        }
    }
}

/// Binary formats keep counts, lengths, types and dimensions as small little-endian integers:
/// from a random offset, the next 4 bytes that read as one (1 to 4096) are overwritten with an
/// interesting value, so a header field is hit far more often than at a random offset.
fn overwrite_small_integer(rng: &mut Rng, out: &mut [u8]) {
    if out.len() < 4 {
        return;
    }
    let start = rng.below(out.len() - 3);
    let found = (start..out.len() - 3).find(|&i| {
        let v = u32::from_le_bytes([out[i], out[i + 1], out[i + 2], out[i + 3]]);
        (1..=4096).contains(&v)
    });
    let Some(at) = found else { return };
    let value = INTERESTING[rng.below(INTERESTING.len())];
    let width = if out.len() - at >= 8 && rng.one_in(2) {
        8
    } else {
        4
    };
    out[at..at + width].copy_from_slice(&value.to_le_bytes()[..width]);
}

/// Numbers written as text that break offsets, counts and sizes.
const NUMBER_TEXTS: &[&str] = &[
    "0",
    "-1",
    "1",
    "65536",
    "2147483648",
    "4294967295",
    "4294967296",
    "9223372036854775807",
    "18446744073709551615",
    "1e309",
    "-0",
    "1.5",
];

/// Text formats keep offsets and counts as digits: from a random offset, the next run of ASCII
/// digits is replaced by one of [`NUMBER_TEXTS`].
fn replace_number_text(rng: &mut Rng, out: &mut Vec<u8>) {
    if out.is_empty() {
        return;
    }
    let from = rng.below(out.len());
    let Some(start) = (from..out.len()).find(|&i| out[i].is_ascii_digit()) else {
        return;
    };
    let end = (start..out.len())
        .find(|&i| !out[i].is_ascii_digit())
        .unwrap_or(out.len());
    let number = NUMBER_TEXTS[rng.below(NUMBER_TEXTS.len())];
    out.splice(start..end, number.bytes());
}

/// The smallest input found by removing chunks (halves, quarters, … single bytes) while
/// `still_fails` holds; gives up after `budget` attempts.
pub fn minimise(
    input: &[u8],
    budget: usize,
    mut still_fails: impl FnMut(&[u8]) -> bool,
) -> Vec<u8> {
    let mut best = input.to_vec();
    let mut tries = 0;
    let mut chunk = best.len().div_ceil(2).max(1);
    loop {
        let mut i = 0;
        while i < best.len() {
            if tries >= budget {
                return best;
            }
            tries += 1;
            let end = (i + chunk).min(best.len());
            let mut candidate = best[..i].to_vec();
            candidate.extend_from_slice(&best[end..]);
            if still_fails(&candidate) {
                best = candidate;
            } else {
                i += chunk;
            }
        }
        if chunk == 1 {
            return best;
        }
        chunk = chunk.div_ceil(2);
    }
}

#[cfg(test)]
mod tests;
