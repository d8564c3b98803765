use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use super::*;

const SEED: u64 = 20_240_611;

fn corpus(notes: usize) -> Vec<DemoNote> {
    generate(DemoConfig { notes, seed: SEED }).collect()
}

/// The 2,000-note corpus most tests read, generated once.
fn corpus_2000() -> &'static [DemoNote] {
    static CORPUS: OnceLock<Vec<DemoNote>> = OnceLock::new();
    CORPUS.get_or_init(|| corpus(2000))
}

const SDOH: [&str; 6] = [
    "EMPLOYMENT",
    "HOUSING",
    "TRANSPORTATION",
    "PARENT",
    "RELATIONSHIP",
    "SUPPORT",
];
const OUTCOMES: [&str; 8] = [
    "MORTALITY",
    "PROLONGED_LOS",
    "DX_HEART_FAILURE",
    "DX_SEPSIS",
    "DX_PNEUMONIA",
    "DX_AKI",
    "DX_DIABETES",
    "DX_COPD",
];
const CATEGORIES: [&str; 3] = ["Admission note", "Discharge summary", "Social work"];

/// The schema's types per SDoH label, with whether each is adverse (PARENT has none).
fn types_of(label: &str) -> &'static [(&'static str, bool)] {
    match label {
        "HOUSING" => &[("poor", true), ("undomiciled", true), ("other", true)],
        "TRANSPORTATION" => &[("distance", true), ("resource", true), ("other", true)],
        "RELATIONSHIP" => &[
            ("married", false),
            ("partnered", false),
            ("divorced", true),
            ("widowed", true),
            ("single", true),
        ],
        "EMPLOYMENT" => &[
            ("employed", false),
            ("retired", false),
            ("student", false),
            ("underemployed", true),
            ("unemployed", true),
            ("disability", true),
        ],
        "SUPPORT" => &[("plus", false), ("minus", true)],
        _ => &[],
    }
}

fn attr<'a>(attributes: &'a [(String, String)], key: &str) -> Option<&'a str> {
    attributes
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn has_label(note: &DemoNote, label: &str) -> bool {
    note.doc_labels.iter().any(|d| d.label == label)
}

/// Byte ranges of every occurrence of `needle` in `text`.
fn occurrences(text: &str, needle: &str) -> Vec<(usize, usize)> {
    text.match_indices(needle)
        .map(|(at, m)| (at, at + m.len()))
        .collect()
}

fn overlaps(span: &DemoSpan, (start, end): (usize, usize)) -> bool {
    span.start < end && start < span.end
}

#[test]
fn same_seed_gives_identical_notes() {
    let a: Vec<DemoNote> = generate(DemoConfig {
        notes: 300,
        seed: 9,
    })
    .collect();
    let b: Vec<DemoNote> = generate(DemoConfig {
        notes: 300,
        seed: 9,
    })
    .collect();
    assert_eq!(a, b);
}

#[test]
fn different_seeds_give_different_corpora() {
    let a: Vec<DemoNote> = generate(DemoConfig {
        notes: 300,
        seed: 1,
    })
    .collect();
    let b: Vec<DemoNote> = generate(DemoConfig {
        notes: 300,
        seed: 2,
    })
    .collect();
    let differing = a.iter().zip(&b).filter(|(x, y)| x.text != y.text).count();
    assert!(
        differing >= 295,
        "only {differing} of 300 notes differ between seeds"
    );
}

#[test]
fn note_equals_nth_of_generate_in_any_order() {
    let config = DemoConfig {
        notes: 1500,
        seed: SEED,
    };
    for index in [0, 1, 2, 17, 499, 1234, 1499] {
        assert_eq!(
            note(SEED, index),
            generate(config).nth(index).unwrap(),
            "index {index}"
        );
    }
    let forward: Vec<DemoNote> = generate(DemoConfig {
        notes: 50,
        seed: SEED,
    })
    .collect();
    let mut backward: Vec<DemoNote> = (0..50).rev().map(|i| note(SEED, i)).collect();
    backward.reverse();
    assert_eq!(forward, backward);
}

#[test]
fn generate_yields_requested_count_with_padded_one_based_ids() {
    let notes: Vec<DemoNote> = generate(DemoConfig { notes: 12, seed: 3 }).collect();
    assert_eq!(notes.len(), 12);
    assert_eq!(notes[0].external_id, "demo-000001");
    assert_eq!(notes[9].external_id, "demo-000010");
    assert_eq!(note(3, 123_455).external_id, "demo-123456");
    assert_eq!(generate(DemoConfig { notes: 0, seed: 3 }).count(), 0);
}

#[test]
fn every_note_has_a_known_category_and_description() {
    for n in corpus(500) {
        assert!(CATEGORIES.contains(&n.category.as_str()), "{}", n.category);
        assert!(
            !n.description.is_empty() && n.description.len() < 60,
            "{}",
            n.description
        );
        let prefix_ok = match n.category.as_str() {
            "Admission note" => n.description.contains("dmission"),
            "Discharge summary" => n.description.contains("ischarge summary"),
            _ => n.description.starts_with("S"),
        };
        assert!(prefix_ok, "{} / {}", n.category, n.description);
    }
}

#[test]
fn spans_are_whole_sentences_on_char_boundaries_with_schema_attributes() {
    let mut checked = 0;
    for n in corpus_2000() {
        let text = &n.text;
        let mut previous = 0;
        for s in &n.spans {
            assert!(
                s.start < s.end && s.end <= text.len(),
                "{} {s:?}",
                n.external_id
            );
            assert!(text.is_char_boundary(s.start) && text.is_char_boundary(s.end));
            assert!(
                s.start >= previous,
                "spans out of order in {}",
                n.external_id
            );
            previous = s.start;
            let covered = &text[s.start..s.end];
            assert_eq!(
                covered.trim(),
                covered,
                "span has outer whitespace: {covered:?}"
            );
            assert!(!covered.contains('\n'), "span crosses a line: {covered:?}");
            assert!(
                !covered.ends_with('.'),
                "span keeps its period: {covered:?}"
            );
            assert!(
                text[s.end..].starts_with('.'),
                "span does not end a sentence: {covered:?}"
            );
            let before = text[..s.start].trim_end_matches(' ');
            assert!(
                before.is_empty() || before.ends_with(['.', ':', '\n']),
                "span does not start a sentence: {covered:?}"
            );
            assert!(
                covered.chars().next().is_some_and(char::is_uppercase),
                "{covered:?}"
            );

            assert!(
                SDOH.contains(&s.label.as_str()),
                "unknown span label {}",
                s.label
            );
            let adverse = attr(&s.attributes, "adverse");
            assert!(matches!(adverse, Some("true" | "false")), "{s:?}");
            let types = types_of(&s.label);
            if s.label == "PARENT" {
                assert_eq!(s.attributes.len(), 1, "PARENT has no type: {s:?}");
            } else {
                assert_eq!(s.attributes.len(), 2, "{s:?}");
                let kind = attr(&s.attributes, "type").unwrap();
                let (_, expected) = types
                    .iter()
                    .find(|(t, _)| *t == kind)
                    .unwrap_or_else(|| panic!("bad type {kind} for {}", s.label));
                assert_eq!(
                    adverse,
                    Some(if *expected { "true" } else { "false" }),
                    "{s:?}"
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 2000, "only {checked} spans");
}

#[test]
fn doc_labels_match_spans_with_any_adverse_aggregation() {
    for n in corpus_2000() {
        let mut seen = BTreeSet::new();
        for d in &n.doc_labels {
            assert!(
                seen.insert(d.label.clone()),
                "duplicate doc label {} in {}",
                d.label,
                n.external_id
            );
            assert!(
                SDOH.contains(&d.label.as_str()) || OUTCOMES.contains(&d.label.as_str()),
                "unknown doc label {}",
                d.label
            );
            if OUTCOMES.contains(&d.label.as_str()) {
                assert!(
                    d.attributes.is_empty(),
                    "outcome label with attributes: {d:?}"
                );
            }
        }
        for label in SDOH {
            let spans: Vec<&DemoSpan> = n.spans.iter().filter(|s| s.label == label).collect();
            let doc = n.doc_labels.iter().find(|d| d.label == label);
            match doc {
                None => assert!(spans.is_empty(), "{label} spans without doc label"),
                Some(d) => {
                    assert!(!spans.is_empty(), "{label} doc label without spans");
                    let any = spans
                        .iter()
                        .any(|s| attr(&s.attributes, "adverse") == Some("true"));
                    assert_eq!(d.attributes, vec![("adverse".to_owned(), any.to_string())]);
                }
            }
        }
    }
}

#[test]
fn a_label_can_mix_adverse_and_non_adverse_spans_and_sentences_can_carry_two_labels() {
    let notes = corpus_2000();
    let mixed = notes
        .iter()
        .filter(|n| {
            SDOH.iter().any(|label| {
                let values: BTreeSet<&str> = n
                    .spans
                    .iter()
                    .filter(|s| s.label == *label)
                    .filter_map(|s| attr(&s.attributes, "adverse"))
                    .collect();
                values.len() == 2
            })
        })
        .count();
    assert!(
        mixed >= 5,
        "only {mixed} notes mix adverse and non-adverse spans of one label"
    );
    let shared = notes
        .iter()
        .flat_map(|n| n.spans.windows(2))
        .filter(|w| w[0].start == w[1].start && w[0].end == w[1].end)
        .count();
    assert!(shared >= 50, "only {shared} sentences carry two labels");
}

/// Phrases written only by negated screens and distractors: no span may touch them.
const NO_LABEL_MARKERS: &[&str] = &[
    "Denies any difficulty affording rent",
    "is not homeless",
    "No housing concerns",
    "Housing is stable",
    "No transportation barriers identified",
    "Denies difficulty getting to appointments",
    "Has reliable transportation",
    "drove himself to the ED",
    "drove herself to the ED",
    "Denies any recent job loss",
    "is not on disability",
    "to stay home and care for the family",
    "Denies intimate partner violence",
    "Denies feeling isolated",
    "in agreement with the plan",
    "ccompanied by",
    "unaccompanied today",
    "Spoke on the phone with",
    "HCP and can be reached",
    "HCP: ",
    "elderly mother",
    "elderly father",
    "a few doors down from",
    "adult children",
    "has no children",
    "No children",
    "grandchildren visit",
    "recently lost",
    "was evicted last month",
    "going through a divorce",
    "homeless on and off",
    "is a college student",
    "Lives in ",
    "Originally from",
];

#[test]
fn negations_and_distractors_occur_and_carry_no_span() {
    let notes = corpus_2000();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for n in notes {
        for marker in NO_LABEL_MARKERS {
            for range in occurrences(&n.text, marker) {
                *counts.entry(marker).or_default() += 1;
                if let Some(s) = n.spans.iter().find(|s| overlaps(s, range)) {
                    panic!(
                        "{marker:?} is inside a {} span in {}: {:?}",
                        s.label,
                        n.external_id,
                        &n.text[s.start..s.end]
                    );
                }
            }
        }
    }
    for marker in NO_LABEL_MARKERS {
        let count = counts.get(marker).copied().unwrap_or(0);
        assert!(
            count >= 5,
            "{marker:?} occurs only {count} times in 2,000 notes"
        );
    }
}

#[test]
fn spouse_and_partner_words_only_occur_inside_relationship_spans() {
    // The guideline reads any mention of the patient's spouse or partner as relationship status.
    for n in corpus_2000() {
        for word in [
            "wife",
            "husband",
            "girlfriend",
            "boyfriend",
            "fiancé",
            "partner of",
            "divorced",
        ] {
            for range in occurrences(&n.text, word) {
                let inside = n
                    .spans
                    .iter()
                    .any(|s| s.label == "RELATIONSHIP" && overlaps(s, range));
                let ipv = n.text[..range.0].ends_with("Denies intimate ");
                assert!(
                    inside || ipv,
                    "{word:?} outside a RELATIONSHIP span in {}",
                    n.external_id
                );
            }
        }
    }
}

#[test]
fn parent_spans_never_describe_adult_children() {
    for n in corpus_2000() {
        for s in n.spans.iter().filter(|s| s.label == "PARENT") {
            let covered = &n.text[s.start..s.end];
            assert!(
                !covered.contains("adult") && !covered.contains("grown"),
                "{covered:?}"
            );
        }
    }
}

/// (phrase, label it must not come with): negated, ruled-out, family-history and look-alike
/// mentions of a diagnosis, and alive patients' goals-of-care talk.
const OUTCOME_DISTRACTORS: &[(&str, &str)] = &[
    ("had heart failure", "DX_HEART_FAILURE"),
    ("family history of heart failure", "DX_HEART_FAILURE"),
    ("no history of heart failure", "DX_HEART_FAILURE"),
    ("no evidence of heart failure", "DX_HEART_FAILURE"),
    ("sepsis was considered but ruled out", "DX_SEPSIS"),
    ("does not meet sepsis criteria", "DX_SEPSIS"),
    ("pneumonia was considered but ruled out", "DX_PNEUMONIA"),
    ("no evidence of pneumonia", "DX_PNEUMONIA"),
    ("renal function at baseline", "DX_AKI"),
    ("no aki", "DX_AKI"),
    ("no history of diabetes", "DX_DIABETES"),
    ("family history of diabetes", "DX_DIABETES"),
    ("prediabetes", "DX_DIABETES"),
    ("no history of copd", "DX_COPD"),
    ("family history of copd", "DX_COPD"),
    ("had copd", "DX_COPD"),
    ("asthma", "DX_COPD"),
    ("elected to remain full code", "MORTALITY"),
    ("wished to continue full treatment", "MORTALITY"),
];

#[test]
fn ruled_out_negated_and_family_history_diagnoses_give_no_label() {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for n in corpus_2000() {
        let lower = n.text.to_lowercase();
        for (phrase, label) in OUTCOME_DISTRACTORS {
            if lower.contains(phrase) {
                *counts.entry(phrase).or_default() += 1;
                assert!(
                    !has_label(n, label),
                    "{phrase:?} came with {label} in {}",
                    n.external_id
                );
            }
        }
    }
    for (phrase, _) in OUTCOME_DISTRACTORS {
        let count = counts.get(phrase).copied().unwrap_or(0);
        assert!(count >= 5, "{phrase:?} occurs in only {count} notes");
    }
}

/// Whether `phrase` occurs in `text` not preceded or followed by a letter or digit.
fn contains_word(text: &str, phrase: &str) -> bool {
    text.match_indices(phrase).any(|(at, m)| {
        let before = text[..at].chars().next_back();
        let after = text[at + m.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

#[test]
fn diagnosis_labels_agree_with_the_words_left_after_removing_distractors() {
    let keywords: [(&str, &[&str]); 6] = [
        (
            "DX_HEART_FAILURE",
            &["heart failure", "hfref", "hfpef", "chf"],
        ),
        ("DX_SEPSIS", &["sepsis", "septic"]),
        ("DX_PNEUMONIA", &["pneumonia", "cap:", "(cap)"]),
        ("DX_AKI", &["aki", "acute kidney injury"]),
        ("DX_DIABETES", &["diabetes", "t2dm", "dm2", "iddm"]),
        ("DX_COPD", &["copd", "emphysema"]),
    ];
    for n in corpus_2000() {
        let mut lower = n.text.to_lowercase();
        for (phrase, _) in OUTCOME_DISTRACTORS {
            lower = lower.replace(phrase, " ");
        }
        for (label, words) in keywords {
            let stated = words.iter().any(|w| contains_word(&lower, w));
            assert_eq!(
                stated,
                has_label(n, label),
                "{label} in {}:\n{}",
                n.external_id,
                n.text
            );
        }
    }
}

#[test]
fn mortality_only_when_a_discharge_summary_states_the_death() {
    for n in corpus_2000() {
        let states_death = [
            "expired on",
            "pronounced dead",
            "passed away peacefully in hospital",
        ]
        .iter()
        .any(|p| n.text.contains(p));
        let discharge = n.category == "Discharge summary";
        assert_eq!(
            has_label(n, "MORTALITY"),
            discharge && states_death,
            "{}",
            n.external_id
        );
        if !discharge {
            assert!(!has_label(n, "PROLONGED_LOS"), "{}", n.external_id);
        }
    }
}

/// Days since 2000-01-01, computed the slow, obvious way.
fn day_number(y: i64, m: u32, d: u32) -> i64 {
    let leap = |y: i64| (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let mut days = 0;
    for year in 2000..y {
        days += if leap(year) { 366 } else { 365 };
    }
    let lengths = [
        31,
        if leap(y) { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    for len in &lengths[..m as usize - 1] {
        days += len;
    }
    days + i64::from(d) - 1
}

/// Parses `2023-03-04`, `03/04/2023` or `Mar 4, 2023`.
fn parse_date(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Some((y, rest)) = s.split_once('-') {
        let (m, d) = rest.split_once('-')?;
        return Some(day_number(
            y.parse().ok()?,
            m.parse().ok()?,
            d.parse().ok()?,
        ));
    }
    if let Some((m, rest)) = s.split_once('/') {
        let (d, y) = rest.split_once('/')?;
        return Some(day_number(
            y.parse().ok()?,
            m.parse().ok()?,
            d.parse().ok()?,
        ));
    }
    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (mon, rest) = s.split_once(' ')?;
    let m = months.iter().position(|x| *x == mon)? as u32 + 1;
    let (d, y) = rest.split_once(", ")?;
    Some(day_number(y.parse().ok()?, m, d.parse().ok()?))
}

fn header_date(text: &str, names: &[&str]) -> Option<i64> {
    text.lines()
        .find_map(|line| {
            names
                .iter()
                .find_map(|name| line.strip_prefix(name)?.strip_prefix(": "))
        })
        .and_then(parse_date)
}

#[test]
fn prolonged_los_agrees_with_the_dates_written_in_the_text() {
    let mut discharges = 0;
    for n in corpus_2000()
        .iter()
        .filter(|n| n.category == "Discharge summary")
    {
        discharges += 1;
        let admit = header_date(
            &n.text,
            &["Admission Date", "Date of Admission", "Admitted"],
        )
        .unwrap_or_else(|| panic!("no admission date in {}", n.external_id));
        let discharge = header_date(
            &n.text,
            &["Discharge Date", "Date of Discharge", "Discharged"],
        )
        .unwrap_or_else(|| panic!("no discharge date in {}", n.external_id));
        let los = discharge - admit;
        assert!(los >= 1, "{}", n.external_id);
        assert_eq!(
            has_label(n, "PROLONGED_LOS"),
            los > 7,
            "{} los {los}",
            n.external_id
        );
        if let Some(stated) = n
            .text
            .lines()
            .find_map(|l| l.strip_prefix("Length of stay: "))
        {
            assert_eq!(stated, format!("{los} days"));
        }
        for (at, _) in n.text.match_indices("HD #") {
            let digits: String = n.text[at + 4..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            let day: i64 = digits.parse().unwrap();
            assert!(
                day >= 1 && day <= los + 1,
                "HD #{day} after a {los}-day stay"
            );
        }
    }
    assert!(discharges > 600);
}

#[test]
fn label_frequencies_categories_and_lengths_are_in_range() {
    let notes = corpus_2000();
    let n = notes.len() as f64;
    let share = |pred: &dyn Fn(&DemoNote) -> bool, of: &[&DemoNote]| {
        of.iter().filter(|x| pred(x)).count() as f64 / of.len() as f64
    };
    let all: Vec<&DemoNote> = notes.iter().collect();
    let discharges: Vec<&DemoNote> = notes
        .iter()
        .filter(|x| x.category == "Discharge summary")
        .collect();

    for (category, lo, hi) in [
        ("Admission note", 0.35, 0.45),
        ("Discharge summary", 0.35, 0.45),
        ("Social work", 0.15, 0.25),
    ] {
        let p = share(&|x| x.category == category, &all);
        assert!((lo..=hi).contains(&p), "{category}: {p:.3}");
    }
    for label in SDOH {
        let p = share(&|x| has_label(x, label), &all);
        assert!((0.15..=0.40).contains(&p), "{label}: {p:.3}");
    }
    for label in ["EMPLOYMENT", "RELATIONSHIP", "SUPPORT"] {
        for adverse in ["true", "false"] {
            let p = share(
                &|x| {
                    x.doc_labels.iter().any(|d| {
                        d.label == label && attr(&d.attributes, "adverse") == Some(adverse)
                    })
                },
                &all,
            );
            assert!(p >= 0.08, "{label} adverse={adverse}: {p:.3}");
        }
    }
    let parents: Vec<&DemoNote> = notes.iter().filter(|x| has_label(x, "PARENT")).collect();
    let adverse_parents = share(
        &|x| {
            x.doc_labels
                .iter()
                .any(|d| d.label == "PARENT" && attr(&d.attributes, "adverse") == Some("true"))
        },
        &parents,
    );
    assert!(
        adverse_parents > 0.0 && adverse_parents < 0.15,
        "PARENT adverse: {adverse_parents:.3}"
    );
    for label in &OUTCOMES[2..] {
        let p = share(&|x| has_label(x, label), &all);
        assert!((0.10..=0.30).contains(&p), "{label}: {p:.3}");
    }
    let mortality = share(&|x| has_label(x, "MORTALITY"), &discharges);
    assert!(
        (0.05..=0.10).contains(&mortality),
        "MORTALITY: {mortality:.3}"
    );
    let prolonged = share(&|x| has_label(x, "PROLONGED_LOS"), &discharges);
    assert!(
        (0.24..=0.36).contains(&prolonged),
        "PROLONGED_LOS: {prolonged:.3}"
    );

    let total: usize = notes.iter().map(|x| x.text.len()).sum();
    let mean = total as f64 / n;
    assert!((1300.0..=1700.0).contains(&mean), "mean length {mean:.0}");
    for x in notes {
        assert!(
            (600..=4096).contains(&x.text.len()),
            "{} is {} bytes",
            x.external_id,
            x.text.len()
        );
    }
}

#[test]
fn social_work_notes_are_sdoh_dense_and_state_no_hospital_outcomes() {
    let notes = corpus_2000();
    let sdoh_per_note = |category: &str| {
        let of: Vec<&DemoNote> = notes.iter().filter(|x| x.category == category).collect();
        let labels: usize = of
            .iter()
            .map(|x| {
                x.doc_labels
                    .iter()
                    .filter(|d| SDOH.contains(&d.label.as_str()))
                    .count()
            })
            .sum();
        labels as f64 / of.len() as f64
    };
    let social = sdoh_per_note("Social work");
    assert!(
        social > 3.0,
        "social work notes average {social:.2} SDoH labels"
    );
    assert!(social > 2.0 * sdoh_per_note("Admission note"));
    for x in notes.iter().filter(|x| x.category != "Discharge summary") {
        assert!(
            !has_label(x, "MORTALITY") && !has_label(x, "PROLONGED_LOS"),
            "{}",
            x.external_id
        );
    }
}

#[test]
fn non_ascii_text_occurs_in_notes_and_inside_spans() {
    let notes = corpus_2000();
    let with = notes.iter().filter(|n| !n.text.is_ascii()).count();
    assert!(with > 1000, "only {with} notes contain non-ASCII text");
    for needle in ["µg", "°C", "°F", "→", "é", "ë", "–"] {
        assert!(
            notes.iter().any(|n| n.text.contains(needle)),
            "{needle} never occurs"
        );
    }
    let spans = notes
        .iter()
        .flat_map(|n| n.spans.iter().map(move |s| &n.text[s.start..s.end]))
        .filter(|t| !t.is_ascii())
        .count();
    assert!(spans >= 50, "only {spans} spans contain non-ASCII text");
}

#[test]
fn text_has_no_template_leftovers() {
    for n in corpus_2000() {
        for bad in [
            "{", "}", "  ", " .", "..", " ,", "\n\n\n", " a 8", " a 11", " a 18",
        ] {
            assert!(
                !n.text.contains(bad),
                "{bad:?} in {}:\n{}",
                n.external_id,
                n.text
            );
        }
        assert!(n.text.ends_with('\n') && !n.text.starts_with(char::is_whitespace));
    }
}

#[test]
fn corpus_is_varied_enough_that_a_model_must_read() {
    let notes = corpus_2000();
    let texts: BTreeSet<&str> = notes.iter().map(|n| n.text.as_str()).collect();
    assert_eq!(texts.len(), notes.len(), "duplicate notes");
    let mut spans = 0;
    let mut distinct = BTreeSet::new();
    let mut openings: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for n in notes {
        for s in &n.spans {
            spans += 1;
            let covered = &n.text[s.start..s.end];
            distinct.insert(covered);
            let opening: String = covered.split(' ').take(3).collect::<Vec<_>>().join(" ");
            openings
                .entry(s.label.as_str())
                .or_default()
                .insert(opening);
        }
    }
    assert!(
        distinct.len() * 2 > spans,
        "{} distinct span texts of {spans}",
        distinct.len()
    );
    for label in SDOH {
        let count = openings.get(label).map_or(0, BTreeSet::len);
        assert!(count >= 12, "{label} spans start in only {count} ways");
    }
    let descriptions: BTreeSet<&str> = notes.iter().map(|n| n.description.as_str()).collect();
    assert!(descriptions.len() >= 9, "{descriptions:?}");
}
