//! The Porter stemmer as NLTK 3's `PorterStemmer()` runs it by default (`NLTK_EXTENSIONS`
//! mode: Martin Porter's later fixes, NLTK's irregular forms and its step 1b/1c/2 changes),
//! because that is the stemmer Google's `rouge-score` applies with `use_stemmer=True`.
//!
//! Written from NLTK's `nltk/stem/porter.py` (Porter, "An algorithm for suffix stripping",
//! 1980, with the extensions listed there); rule order matters, since the first rule whose
//! suffix matches decides, whether or not its condition holds.

/// The stem of `word` (lower-cased first), as NLTK's default Porter stemmer gives it.
pub fn stem(word: &str) -> String {
    let lower = word.to_lowercase();
    if let Some(irregular) = irregular(&lower) {
        return irregular.to_owned();
    }
    if word.chars().count() <= 2 {
        return lower;
    }
    let mut w: Vec<char> = lower.chars().collect();
    w = step1a(w);
    w = step1b(w);
    w = step1c(w);
    w = step2(w);
    w = step3(w);
    w = step4(w);
    w = step5a(w);
    w = step5b(w);
    w.into_iter().collect()
}

/// NLTK's irregular forms, looked up before any rule.
fn irregular(word: &str) -> Option<&'static str> {
    Some(match word {
        "sky" | "skies" => "sky",
        "dying" => "die",
        "lying" => "lie",
        "tying" => "tie",
        "news" => "news",
        "innings" | "inning" => "inning",
        "outings" | "outing" => "outing",
        "cannings" | "canning" => "canning",
        "howe" => "howe",
        "proceed" => "proceed",
        "exceed" => "exceed",
        "succeed" => "succeed",
        _ => return None,
    })
}

fn is_vowel_letter(c: char) -> bool {
    matches!(c, 'a' | 'e' | 'i' | 'o' | 'u')
}

/// Consonant (`true`) or vowel per letter: a y is a consonant at the start or after a vowel.
fn consonant_flags(w: &[char]) -> Vec<bool> {
    let mut flags: Vec<bool> = Vec::with_capacity(w.len());
    for &c in w {
        let consonant = if is_vowel_letter(c) {
            false
        } else if c == 'y' {
            flags.last().is_none_or(|&previous| !previous)
        } else {
            true
        };
        flags.push(consonant);
    }
    flags
}

fn is_consonant(w: &[char], i: usize) -> bool {
    w.get(..=i)
        .and_then(|prefix| consonant_flags(prefix).last().copied())
        .unwrap_or(false)
}

/// m in `[C](VC){m}[V]`.
fn measure(stem: &[char]) -> usize {
    consonant_flags(stem)
        .windows(2)
        .filter(|pair| matches!(pair, [false, true]))
        .count()
}

fn contains_vowel(stem: &[char]) -> bool {
    consonant_flags(stem).iter().any(|&c| !c)
}

/// `*d`: ends with a double consonant.
fn ends_double_consonant(w: &[char]) -> bool {
    match w {
        [.., a, b] => a == b && is_consonant(w, w.len() - 1),
        _ => false,
    }
}

/// `*o`: ends consonant-vowel-consonant, the last not w, x or y (or, NLTK's extension, is a
/// two-letter vowel-consonant word).
fn ends_cvc(w: &[char]) -> bool {
    let n = w.len();
    let cvc = n >= 3
        && is_consonant(w, n - 3)
        && !is_consonant(w, n - 2)
        && is_consonant(w, n - 1)
        && !matches!(w.last(), Some('w' | 'x' | 'y'));
    cvc || (n == 2 && !is_consonant(w, 0) && is_consonant(w, 1))
}

fn ends_with(w: &[char], suffix: &str) -> bool {
    let n = suffix.chars().count();
    n <= w.len() && w[w.len() - n..].iter().copied().eq(suffix.chars())
}

/// `w` without its last `suffix.len()` letters; call only when `ends_with(w, suffix)`.
fn strip<'a>(w: &'a [char], suffix: &str) -> &'a [char] {
    &w[..w.len() - suffix.chars().count()]
}

fn joined(stem: &[char], replacement: &str) -> Vec<char> {
    stem.iter().copied().chain(replacement.chars()).collect()
}

/// When a rule applies.
#[derive(Clone, Copy)]
enum Condition {
    Always,
    MeasureAbove0,
    MeasureAbove1,
    /// Step 4's `(m>1 and (*S or *T)) ION`.
    MeasureAbove1EndsSOrT,
    /// NLTK's `logi → log` when the word less `ogi` has m > 0.
    LogiNltk,
}

/// The first rule whose suffix ends `word` decides: its replacement when its condition holds,
/// else the word unchanged.
fn apply_rules(word: Vec<char>, rules: &[(&str, &str, Condition)]) -> Vec<char> {
    for &(suffix, replacement, condition) in rules {
        if !ends_with(&word, suffix) {
            continue;
        }
        let stem = strip(&word, suffix);
        let holds = match condition {
            Condition::Always => true,
            Condition::MeasureAbove0 => measure(stem) > 0,
            Condition::MeasureAbove1 => measure(stem) > 1,
            Condition::MeasureAbove1EndsSOrT => {
                measure(stem) > 1 && matches!(stem.last(), Some('s' | 't'))
            }
            Condition::LogiNltk => measure(&word[..word.len() - 3]) > 0,
        };
        return if holds {
            joined(stem, replacement)
        } else {
            word
        };
    }
    word
}

fn step1a(word: Vec<char>) -> Vec<char> {
    if ends_with(&word, "ies") && word.len() == 4 {
        return joined(strip(&word, "ies"), "ie");
    }
    apply_rules(
        word,
        &[
            ("sses", "ss", Condition::Always),
            ("ies", "i", Condition::Always),
            ("ss", "ss", Condition::Always),
            ("s", "", Condition::Always),
        ],
    )
}

fn step1b(word: Vec<char>) -> Vec<char> {
    if ends_with(&word, "ied") {
        let replacement = if word.len() == 4 { "ie" } else { "i" };
        return joined(strip(&word, "ied"), replacement);
    }
    if ends_with(&word, "eed") {
        let stem = strip(&word, "eed");
        return if measure(stem) > 0 {
            joined(stem, "ee")
        } else {
            word
        };
    }
    let Some(stem) = ["ed", "ing"]
        .into_iter()
        .filter(|suffix| ends_with(&word, suffix))
        .map(|suffix| strip(&word, suffix))
        .find(|stem| contains_vowel(stem))
    else {
        return word;
    };
    for (suffix, replacement) in [("at", "ate"), ("bl", "ble"), ("iz", "ize")] {
        if ends_with(stem, suffix) {
            return joined(strip(stem, suffix), replacement);
        }
    }
    if ends_double_consonant(stem) {
        return match stem.split_last() {
            Some((last, rest)) if !matches!(last, 'l' | 's' | 'z') => rest.to_vec(),
            _ => stem.to_vec(),
        };
    }
    if measure(stem) == 1 && ends_cvc(stem) {
        return joined(stem, "e");
    }
    stem.to_vec()
}

fn step1c(word: Vec<char>) -> Vec<char> {
    if !ends_with(&word, "y") {
        return word;
    }
    let stem = strip(&word, "y");
    // NLTK: y → i only after a consonant that is not the whole stem ('happy', not 'enjoy').
    if stem.len() > 1 && is_consonant(stem, stem.len() - 1) {
        joined(stem, "i")
    } else {
        word
    }
}

fn step2(word: Vec<char>) -> Vec<char> {
    if ends_with(&word, "alli") && measure(strip(&word, "alli")) > 0 {
        return step2(joined(strip(&word, "alli"), "al"));
    }
    use Condition::{LogiNltk, MeasureAbove0 as M0};
    apply_rules(
        word,
        &[
            ("ational", "ate", M0),
            ("tional", "tion", M0),
            ("enci", "ence", M0),
            ("anci", "ance", M0),
            ("izer", "ize", M0),
            ("bli", "ble", M0),
            ("alli", "al", M0),
            ("entli", "ent", M0),
            ("eli", "e", M0),
            ("ousli", "ous", M0),
            ("ization", "ize", M0),
            ("ation", "ate", M0),
            ("ator", "ate", M0),
            ("alism", "al", M0),
            ("iveness", "ive", M0),
            ("fulness", "ful", M0),
            ("ousness", "ous", M0),
            ("aliti", "al", M0),
            ("iviti", "ive", M0),
            ("biliti", "ble", M0),
            ("fulli", "ful", M0),
            ("logi", "log", LogiNltk),
        ],
    )
}

fn step3(word: Vec<char>) -> Vec<char> {
    use Condition::MeasureAbove0 as M0;
    apply_rules(
        word,
        &[
            ("icate", "ic", M0),
            ("ative", "", M0),
            ("alize", "al", M0),
            ("iciti", "ic", M0),
            ("ical", "ic", M0),
            ("ful", "", M0),
            ("ness", "", M0),
        ],
    )
}

fn step4(word: Vec<char>) -> Vec<char> {
    use Condition::{MeasureAbove1 as M1, MeasureAbove1EndsSOrT};
    apply_rules(
        word,
        &[
            ("al", "", M1),
            ("ance", "", M1),
            ("ence", "", M1),
            ("er", "", M1),
            ("ic", "", M1),
            ("able", "", M1),
            ("ible", "", M1),
            ("ant", "", M1),
            ("ement", "", M1),
            ("ment", "", M1),
            ("ent", "", M1),
            ("ion", "", MeasureAbove1EndsSOrT),
            ("ou", "", M1),
            ("ism", "", M1),
            ("ate", "", M1),
            ("iti", "", M1),
            ("ous", "", M1),
            ("ive", "", M1),
            ("ize", "", M1),
        ],
    )
}

fn step5a(word: Vec<char>) -> Vec<char> {
    if !ends_with(&word, "e") {
        return word;
    }
    let stem = strip(&word, "e");
    let m = measure(stem);
    if m > 1 || (m == 1 && !ends_cvc(stem)) {
        return stem.to_vec();
    }
    word
}

fn step5b(word: Vec<char>) -> Vec<char> {
    if ends_with(&word, "ll") && measure(strip(&word, "l")) > 1 {
        return strip(&word, "l").to_vec();
    }
    word
}
