//! Synthetic clinical notes with gold labels, so that the annotate / train / evaluate pipeline
//! can be demonstrated and benchmarked without real patient data.
//!
//! [`generate`] yields admission notes (~40%), discharge summaries (~40%) and social work notes
//! (~20%). Every sentence is assembled from templates and phrase banks written for this module
//! (none is copied from SHADR or any real record), with random names, ages, pronouns, dates,
//! vitals, labs and medications, and with the gold labels a careful annotator following the SDoH
//! guideline would give them.
//!
//! # Determinism
//! Note `i` of seed `s` is drawn from its own xoshiro256** generator, seeded through SplitMix64
//! from `(s, i)` alone. [`note`] therefore regenerates any note independently, and the output
//! depends neither on the platform nor on the order in which notes are requested (only integer
//! arithmetic is used). Generation is cheap: 100,000 notes (~146 MB of text) take about 1.5 s
//! in a release build.
//!
//! # SDoH spans
//! * A span covers the whole sentence that carries the evidence, without the section heading in
//!   front of it and without the trailing period (the guideline annotates sentences).
//! * A sentence that is evidence for two labels (e.g. "Pt is divorced, and his ex-wife drives him
//!   to appointments") gets one span per label, with the same offsets.
//! * Every SDoH span has `("adverse", "true"|"false")`; all but PARENT also have `("type", …)`.
//!   HOUSING and TRANSPORTATION only exist as adverse (the guideline annotates challenges only).
//! * For each SDoH label with at least one span the note has one document label whose `adverse`
//!   is `"true"` if any of that label's spans is adverse.
//!
//! # Negation rule
//! A negated or screened-negative statement of an adverse SDoH ("Denies any difficulty affording
//! rent", "No transportation barriers identified", "Pt is not homeless", "Denies feeling
//! isolated") carries **no** label: it is not relabelled as a non-adverse counterpart, since
//! HOUSING and TRANSPORTATION have none and the guideline treats absent evidence of (lack of)
//! support as no evidence. A sentence that *asserts* a status with negative words ("Never
//! married", "Not working since…", "has no car…", "has no one to help him at home") is positive
//! evidence and is labelled for what it asserts.
//!
//! Following the guideline, these carry no label either: SDoH facts about someone else ("Her
//! sister recently lost her job"), being accompanied or unaccompanied, living with or near a
//! relative without any support described, phone contact with family, health care proxies,
//! city names, adult children, homemaking, and transportation mentions unrelated to getting to
//! care ("drove himself to the ED"). Conversely, the guideline reads any mention of the patient's
//! spouse or partner as relationship status, so spouses and partners only ever appear inside
//! RELATIONSHIP spans; SUPPORT "plus" always describes an act of care, not mere company.
//!
//! # Outcome labels
//! Document labels without spans or attributes. `DX_*` is given when the note states that the
//! patient has the condition (HPI, past medical history, problem list, discharge diagnoses,
//! social work background); ruled-out, negated ("no history of diabetes"), family-history and
//! look-alike conditions (prediabetes, asthma, CKD) give none. `MORTALITY` only comes from a
//! discharge summary that states the in-hospital death; `PROLONGED_LOS` only from a discharge
//! summary whose written admission and discharge dates are more than 7 days apart. Admission and
//! social work notes never carry either. Goals-of-care talk with a surviving patient, a parent's
//! death in the family history and a spouse who "passed away" (RELATIONSHIP widowed) are not
//! MORTALITY; a prior admission "lasting 14 days" is not PROLONGED_LOS.

use std::fmt::Write as _;

/// How many notes to generate and from which seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoConfig {
    /// Number of notes [`generate`] yields.
    pub notes: usize,
    /// Corpus seed: the same seed always gives the same notes.
    pub seed: u64,
}

/// One synthetic note with its gold labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoNote {
    /// Stable identifier, `demo-000001` for index 0 (1-based, zero-padded to 6 digits).
    pub external_id: String,
    /// One of `"Admission note"`, `"Discharge summary"`, `"Social work"`.
    pub category: String,
    /// Short title, e.g. `"Admission H&P"`.
    pub description: String,
    /// The note text.
    pub text: String,
    /// Gold SDoH spans, in text order.
    pub spans: Vec<DemoSpan>,
    /// Gold document labels: SDoH labels first, then outcome labels.
    pub doc_labels: Vec<DemoDocLabel>,
}

/// A gold span: UTF-8 byte offsets into `text`, end-exclusive, on char boundaries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoSpan {
    /// Byte offset of the first byte of the span.
    pub start: usize,
    /// Byte offset one past the last byte of the span.
    pub end: usize,
    /// SDoH label name, e.g. `"HOUSING"`.
    pub label: String,
    /// `("adverse", …)` and, except for PARENT, `("type", …)`.
    pub attributes: Vec<(String, String)>,
}

/// A gold document-level label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoDocLabel {
    /// Label name, e.g. `"HOUSING"` or `"DX_SEPSIS"`.
    pub label: String,
    /// `("adverse", …)` for SDoH labels; empty for outcome labels.
    pub attributes: Vec<(String, String)>,
}

/// Lazily yields `config.notes` notes; note i depends only on (seed, i).
pub fn generate(config: DemoConfig) -> impl Iterator<Item = DemoNote> {
    (0..config.notes).map(move |index| note(config.seed, index))
}

/// Note number `index` (0-based) of the corpus with this seed.
pub fn note(seed: u64, index: usize) -> DemoNote {
    let mut rng = Rng::for_note(seed, index);
    let kind = match rng.below(10) {
        0..=3 => Kind::Admission,
        4..=7 => Kind::Discharge,
        _ => Kind::SocialWork,
    };
    let patient = Patient::sample(&mut rng, kind);
    let mut g = Gen {
        rng,
        out: String::with_capacity(2048),
        spans: Vec::new(),
        mentioned: [false; 6],
        other_female: false,
        hd_max: patient.los + 1,
        p: patient,
    };
    let description = match kind {
        Kind::Admission => g.admission(),
        Kind::Discharge => g.discharge(),
        Kind::SocialWork => g.social_work(),
    };
    g.finish(index, kind, description)
}

// ---------------------------------------------------------------------------------------------
// Random numbers: xoshiro256** seeded through SplitMix64.

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// The SplitMix64 output function (a bijection on u64).
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// xoshiro256**: small, fast, and identical on every platform.
struct Rng {
    s: [u64; 4],
}

impl Rng {
    fn for_note(seed: u64, index: usize) -> Rng {
        let mut state = mix64(mix64(seed ^ 0x5DEE_CE66_D1CE_5EED).wrapping_add(index as u64));
        let mut s = [0u64; 4];
        for word in &mut s {
            state = state.wrapping_add(GOLDEN);
            *word = mix64(state);
        }
        Rng { s }
    }

    fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Uniform in `0..n` (Lemire's multiply-shift; `n` > 0).
    fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u32, hi: u32) -> u32 {
        lo + self.below((hi - lo) as usize + 1) as u32
    }

    /// True with probability `per_mille / 1000`.
    fn chance(&mut self, per_mille: usize) -> bool {
        self.below(1000) < per_mille
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    /// Index drawn with the given integer weights.
    fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u32 = weights.iter().sum();
        let mut x = self.below(total as usize) as u32;
        for (i, &w) in weights.iter().enumerate() {
            if x < w {
                return i;
            }
            x -= w;
        }
        weights.len() - 1
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Labels.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Admission,
    Discharge,
    SocialWork,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cat {
    Employment,
    Housing,
    Transportation,
    Parent,
    Relationship,
    Support,
}

const CATS: [Cat; 6] = [
    Cat::Employment,
    Cat::Housing,
    Cat::Transportation,
    Cat::Parent,
    Cat::Relationship,
    Cat::Support,
];

impl Cat {
    fn label(self) -> &'static str {
        match self {
            Cat::Employment => "EMPLOYMENT",
            Cat::Housing => "HOUSING",
            Cat::Transportation => "TRANSPORTATION",
            Cat::Parent => "PARENT",
            Cat::Relationship => "RELATIONSHIP",
            Cat::Support => "SUPPORT",
        }
    }
}

/// One SDoH fact about the patient: label, type (empty for PARENT) and adverse flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fact {
    cat: Cat,
    kind: &'static str,
    adverse: bool,
}

impl Fact {
    fn new(cat: Cat, kind: &'static str) -> Fact {
        let adverse = !matches!(
            kind,
            "" | "married" | "partnered" | "employed" | "retired" | "student" | "plus"
        );
        Fact { cat, kind, adverse }
    }

    fn parent(adverse: bool) -> Fact {
        Fact {
            cat: Cat::Parent,
            kind: "",
            adverse,
        }
    }

    fn is(self, cat: Cat, kind: &str) -> bool {
        self.cat == cat && self.kind == kind && !(cat == Cat::Parent && self.adverse)
    }
}

const HF: usize = 0;
const SEPSIS: usize = 1;
const PNA: usize = 2;
const AKI: usize = 3;
const DM: usize = 4;
const COPD: usize = 5;
const DX_LABELS: [&str; 6] = [
    "DX_HEART_FAILURE",
    "DX_SEPSIS",
    "DX_PNEUMONIA",
    "DX_AKI",
    "DX_DIABETES",
    "DX_COPD",
];

// ---------------------------------------------------------------------------------------------
// The patient behind a note.

/// Why the patient is in hospital: one of the labelled diagnoses or another reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Primary {
    Dx(usize),
    Other(usize),
}

struct Patient {
    female: bool,
    spouse_female: bool,
    age: u32,
    first: &'static str,
    last: &'static str,
    dx: [bool; 6],
    /// Heart failure with reduced (true) or preserved ejection fraction.
    hfref: bool,
    /// Side of the pneumonia.
    left_lung: bool,
    primary: Primary,
    sepsis_source: &'static str,
    /// Chronic non-labelled problems (indices into `FILLER_PMH`).
    fillers: Vec<usize>,
    facts: Vec<Fact>,
    /// Whether "lives alone" is how the note states lack of support (never with a spouse,
    /// partner or child in the note, nor next to "lives with his elderly mother").
    lives_alone: bool,
    /// Whether the patient is homeless (no "lives in Lowell with two cats" distractors).
    undomiciled: bool,
    /// Admission day, days since 1970-01-01.
    admit: i64,
    /// Calendar days between admission and discharge.
    los: u32,
    died: bool,
    date_style: usize,
}

impl Patient {
    fn sample(rng: &mut Rng, kind: Kind) -> Patient {
        let female = rng.chance(520);
        let spouse_female = if rng.chance(900) { !female } else { female };
        let age = match rng.below(100) {
            0..=24 => rng.range(19, 39),
            25..=64 => rng.range(40, 64),
            _ => rng.range(65, 96),
        };
        let first = if female {
            rng.pick(FEMALE_FIRST)
        } else {
            rng.pick(MALE_FIRST)
        };
        let last = rng.pick(LAST_NAMES);
        let copd_rate = if age < 40 { 30 } else { 190 };
        let dx = [
            rng.chance(200),
            rng.chance(150),
            rng.chance(180),
            rng.chance(170),
            rng.chance(230),
            rng.chance(copd_rate),
        ];
        let hfref = rng.chance(600);
        let left_lung = rng.chance(400);
        let primary = if dx[SEPSIS] {
            Primary::Dx(SEPSIS)
        } else {
            let acute: Vec<usize> = [HF, PNA, AKI, COPD]
                .into_iter()
                .filter(|&d| dx[d])
                .collect();
            if !acute.is_empty() && rng.chance(880) {
                Primary::Dx(rng.pick(&acute))
            } else {
                Primary::Other(rng.below(OTHER_REASONS.len()))
            }
        };
        let sepsis_source = if dx[PNA] {
            "pneumonia"
        } else {
            rng.pick(&[
                "a urinary source",
                "lower-extremity cellulitis",
                "acute cholangitis",
                "pyelonephritis",
                "an infected port",
            ])
        };
        let mut fillers = Vec::new();
        let most = if age < 40 {
            1
        } else if age < 60 {
            3
        } else {
            4
        };
        for _ in 0..rng.range(0, most) {
            let f = rng.below(FILLER_PMH.len());
            let excluded = (f == PREDIABETES && dx[DM]) || (f == ASTHMA && dx[COPD]);
            if !excluded && !fillers.contains(&f) {
                fillers.push(f);
            }
        }
        let facts = sample_facts(rng, kind, age);
        let has = |cat: Cat, kinds: &[&str]| {
            facts
                .iter()
                .any(|f| f.cat == cat && (kinds.is_empty() || kinds.contains(&f.kind)))
        };
        let lives_alone = has(Cat::Support, &["minus"])
            && !has(Cat::Parent, &[])
            && !has(Cat::Relationship, &["married", "partnered"])
            && rng.chance(450);
        let undomiciled = has(Cat::Housing, &["undomiciled"]);
        let admit = days_from_civil(2021, 1, 1) + rng.below(5 * 365) as i64;
        let los = if rng.chance(300) {
            rng.range(8, 27)
        } else {
            rng.pick(&[1, 2, 2, 3, 3, 3, 4, 4, 5, 5, 6, 7])
        };
        let severe = matches!(
            primary,
            Primary::Dx(SEPSIS | HF | PNA | COPD) | Primary::Other(1 | 7)
        );
        let died = kind == Kind::Discharge && severe && rng.chance(130);
        let date_style = rng.below(3);
        Patient {
            female,
            spouse_female,
            age,
            first,
            last,
            dx,
            hfref,
            left_lung,
            primary,
            sepsis_source,
            fillers,
            facts,
            lives_alone,
            undomiciled,
            admit,
            los,
            died,
            date_style,
        }
    }
}

/// Which SDoH facts the note will state, at most one per label (two for a few label pairs
/// the guideline calls out: divorced then partnered, disability plus part-time work).
fn sample_facts(rng: &mut Rng, kind: Kind, age: u32) -> Vec<Fact> {
    // Per-mille chance that each label is mentioned: [adm, dis, sw].
    const RATES: [[usize; 3]; 6] = [
        [300, 160, 700],
        [140, 140, 560],
        [110, 140, 520],
        [420, 300, 800],
        [300, 200, 620],
        [200, 280, 760],
    ];
    let col = match kind {
        Kind::Admission => 0,
        Kind::Discharge => 1,
        Kind::SocialWork => 2,
    };
    let mut facts = Vec::new();
    let mut undomiciled = false;
    for (cat, rates) in CATS.iter().zip(RATES) {
        if *cat == Cat::Parent && !(22..=54).contains(&age) {
            continue;
        }
        if !rng.chance(rates[col]) {
            continue;
        }
        match cat {
            Cat::Employment => {
                let kinds: &[(&str, u32)] = if age < 30 {
                    &[
                        ("student", 30),
                        ("employed", 30),
                        ("underemployed", 20),
                        ("unemployed", 20),
                    ]
                } else if age < 62 {
                    &[
                        ("employed", 45),
                        ("underemployed", 18),
                        ("unemployed", 20),
                        ("disability", 17),
                    ]
                } else {
                    &[
                        ("retired", 60),
                        ("employed", 15),
                        ("disability", 15),
                        ("underemployed", 10),
                    ]
                };
                let kind = weighted_kind(rng, kinds);
                facts.push(Fact::new(Cat::Employment, kind));
                if kind == "disability" && rng.chance(150) {
                    facts.push(Fact::new(Cat::Employment, "underemployed"));
                }
            }
            Cat::Housing => {
                let kind = weighted_kind(rng, &[("poor", 45), ("undomiciled", 35), ("other", 20)]);
                undomiciled = kind == "undomiciled";
                facts.push(Fact::new(Cat::Housing, kind));
            }
            Cat::Transportation => {
                let kind = weighted_kind(rng, &[("distance", 35), ("resource", 45), ("other", 20)]);
                facts.push(Fact::new(Cat::Transportation, kind));
            }
            Cat::Parent => facts.push(Fact::parent(rng.chance(70))),
            Cat::Relationship => {
                let married = if undomiciled { 0 } else { 40 };
                let widowed = if age >= 55 {
                    16
                } else if age >= 40 {
                    3
                } else {
                    0
                };
                let partnered = if age < 40 { 25 } else { 12 };
                let kind = weighted_kind(
                    rng,
                    &[
                        ("married", married),
                        ("partnered", partnered),
                        ("divorced", 17),
                        ("widowed", widowed),
                        ("single", 15),
                    ],
                );
                facts.push(Fact::new(Cat::Relationship, kind));
                if matches!(kind, "divorced" | "widowed") && rng.chance(150) {
                    facts.push(Fact::new(Cat::Relationship, "partnered"));
                }
            }
            Cat::Support => {
                let kind = weighted_kind(rng, &[("plus", 55), ("minus", 45)]);
                facts.push(Fact::new(Cat::Support, kind));
            }
        }
    }
    facts
}

fn weighted_kind(rng: &mut Rng, kinds: &[(&'static str, u32)]) -> &'static str {
    let weights: Vec<u32> = kinds.iter().map(|k| k.1).collect();
    kinds[rng.weighted(&weights)].0
}

// ---------------------------------------------------------------------------------------------
// Dates (proleptic Gregorian, days since 1970-01-01; H. Hinnant's algorithms).

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

fn write_date(out: &mut String, day: i64, style: usize) {
    let (y, m, d) = civil_from_days(day);
    let _ = match style {
        0 => write!(out, "{y:04}-{m:02}-{d:02}"),
        1 => write!(out, "{m:02}/{d:02}/{y:04}"),
        _ => write!(out, "{} {d}, {y}", &MONTHS[m as usize - 1][..3]),
    };
}

// ---------------------------------------------------------------------------------------------
// The note writer: a tiny template language plus span bookkeeping.
//
// Templates: `{a|b|c}` picks one alternative (which may itself contain templates; empty
// alternatives make text optional), `{#lo-hi}` a number, `{name}` a slot (see `Gen::slot`).

struct Gen {
    rng: Rng,
    out: String,
    spans: Vec<DemoSpan>,
    /// Which diagnoses the text has stated so far.
    mentioned: [bool; 6],
    /// Sex of the last relative a `{other}`/`{helper}`/`{kin}` slot named, for `{ohis}` etc.
    other_female: bool,
    /// Largest hospital day the text may mention.
    hd_max: u32,
    p: Patient,
}

/// A sentence waiting to be written in a shuffled section.
#[derive(Debug, Clone, Copy)]
enum Item {
    Fact(Fact),
    /// A fact followed by a second, detail-free sentence about it (two adjacent spans).
    Restated(Fact),
    Combo(&'static str, Fact, Fact),
    Plain(&'static str),
}

impl Gen {
    fn push(&mut self, s: &str) {
        self.out.push_str(s);
    }

    fn fill(&mut self, tpl: &'static str) {
        let bytes = tpl.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'{' {
                let close = matching_brace(bytes, i);
                self.expand(&tpl[i + 1..close]);
                i = close + 1;
            } else {
                let next = tpl[i..].find('{').map_or(tpl.len(), |k| i + k);
                self.out.push_str(&tpl[i..next]);
                i = next;
            }
        }
    }

    fn expand(&mut self, inner: &'static str) {
        let bytes = inner.as_bytes();
        let mut depth = 0usize;
        let mut bars = 0usize;
        for &b in bytes {
            match b {
                b'{' => depth += 1,
                b'}' => depth = depth.saturating_sub(1),
                b'|' if depth == 0 => bars += 1,
                _ => {}
            }
        }
        if bars == 0 {
            self.slot(inner);
            return;
        }
        let want = self.rng.below(bars + 1);
        let (mut seen, mut start) = (0usize, 0usize);
        depth = 0;
        for (k, &b) in bytes.iter().enumerate() {
            match b {
                b'{' => depth += 1,
                b'}' => depth = depth.saturating_sub(1),
                b'|' if depth == 0 => {
                    if seen == want {
                        self.fill(&inner[start..k]);
                        return;
                    }
                    seen += 1;
                    start = k + 1;
                }
                _ => {}
            }
        }
        self.fill(&inner[start..]);
    }

    fn slot(&mut self, name: &'static str) {
        let f = self.p.female;
        let word = match name {
            "Pt" => match self.rng.below(9) {
                0..=3 => "Pt",
                4 | 5 => "Patient",
                6 => "The patient",
                _ => {
                    self.title();
                    return;
                }
            },
            "pt" => match self.rng.below(4) {
                0 | 1 => "pt",
                2 => "the patient",
                _ => {
                    self.title();
                    return;
                }
            },
            "He" => pick2(f, "She", "He"),
            "he" => pick2(f, "she", "he"),
            "His" => pick2(f, "Her", "His"),
            "his" => pick2(f, "her", "his"),
            "him" => pick2(f, "her", "him"),
            "himself" => pick2(f, "herself", "himself"),
            "man" => pick2(f, "woman", "man"),
            "MF" => pick2(f, "F", "M"),
            "parent" => pick2(f, "mother", "father"),
            "Mr" => pick2(f, "Ms.", "Mr."),
            "First" => self.p.first,
            "Last" => self.p.last,
            "spouse" => pick2(self.p.spouse_female, "wife", "husband"),
            "ex" => pick2(self.p.spouse_female, "ex-wife", "ex-husband"),
            "partner" => match self.rng.below(3) {
                0 => "partner",
                _ => pick2(self.p.spouse_female, "girlfriend", "boyfriend"),
            },
            "fiance" => pick2(self.p.spouse_female, "fiancée", "fiancé"),
            "ohe" => pick2(self.other_female, "she", "he"),
            "ohis" => pick2(self.other_female, "her", "his"),
            "ohim" => pick2(self.other_female, "her", "him"),
            "other" => return self.relative(OTHERS),
            "kin" => return self.relative(if self.p.age >= 50 { KIN_OLD } else { KIN_YOUNG }),
            "helper" => {
                return self.relative(if self.p.age >= 55 {
                    HELPERS_OLD
                } else {
                    HELPERS_YOUNG
                });
            }
            "city" => self.rng.pick(CITIES),
            "job" => {
                let tpl = self.rng.pick(JOBS);
                return self.fill(tpl);
            }
            "pjob" => self.rng.pick(PRECARIOUS_JOBS),
            "oldjob" => self.rng.pick(FORMER_JOBS),
            "school" => self.rng.pick(SCHOOLS),
            "shelter" => {
                let tpl = self.rng.pick(SHELTERS);
                return self.fill(tpl);
            }
            "month" => self.rng.pick(&MONTHS),
            "Dr" => {
                let name = self.rng.pick(CLINICIANS);
                self.push("Dr. ");
                name
            }
            "age" => {
                let _ = write!(self.out, "{}", self.p.age);
                return;
            }
            "aage" => {
                let age = self.p.age;
                let _ = write!(self.out, "{} {age}", article(age));
                return;
            }
            "phone" => {
                let n = self.rng.below(100);
                let _ = write!(self.out, "555-01{n:02}");
                return;
            }
            "hd" => {
                let n = self.rng.range(2, self.hd_max.max(2));
                let _ = write!(self.out, "{n}");
                return;
            }
            "admit" => {
                write_date(&mut self.out, self.p.admit, self.p.date_style);
                return;
            }
            "discharge" => {
                write_date(
                    &mut self.out,
                    self.p.admit + i64::from(self.p.los),
                    self.p.date_style,
                );
                return;
            }
            "time" => {
                let (h, m) = (self.rng.below(24), self.rng.below(60));
                let _ = write!(self.out, "{h:02}:{m:02}");
                return;
            }
            "source" => self.p.sepsis_source,
            "side" => pick2(self.p.left_lung, "left", "right"),
            "Side" => pick2(self.p.left_lung, "Left", "Right"),
            "hft" => pick2(self.p.hfref, "HFrEF", "HFpEF"),
            "hfsys" => pick2(self.p.hfref, "systolic", "diastolic"),
            "hfef" => pick2(self.p.hfref, "reduced", "preserved"),
            "hflong" => {
                let tpl = if self.p.hfref {
                    "{HFrEF (EF {#20-40}%)|Chronic systolic heart failure|Ischemic cardiomyopathy with HFrEF|Congestive heart failure}"
                } else {
                    "{HFpEF (EF {#55-65}%)|Chronic diastolic heart failure|Congestive heart failure}"
                };
                return self.fill(tpl);
            }
            _ if name.starts_with('#') || name.starts_with("a#") => {
                let with_article = name.starts_with('a');
                let digits = if with_article { &name[2..] } else { &name[1..] };
                let range = digits
                    .split_once('-')
                    .and_then(|(lo, hi)| Some((lo.parse::<u32>().ok()?, hi.parse::<u32>().ok()?)));
                match range {
                    Some((lo, hi)) if lo <= hi => {
                        let n = self.rng.range(lo, hi);
                        if with_article {
                            let _ = write!(self.out, "{} {n}", article(n));
                        } else {
                            let _ = write!(self.out, "{n}");
                        }
                    }
                    _ => {
                        self.out.push('{');
                        self.out.push_str(name);
                        self.out.push('}');
                    }
                }
                return;
            }
            _ => {
                // Unknown slot: leave it visible so the tests catch the typo.
                self.out.push('{');
                self.out.push_str(name);
                self.out.push('}');
                return;
            }
        };
        self.out.push_str(word);
    }

    fn title(&mut self) {
        let t = pick2(self.p.female, "Ms. ", "Mr. ");
        self.out.push_str(t);
        self.out.push_str(self.p.last);
    }

    fn relative(&mut self, table: &[(&'static str, u8)]) {
        let (noun, sex) = self.rng.pick(table);
        self.other_female = match sex {
            0 => false,
            1 => true,
            _ => self.rng.chance(500),
        };
        self.out.push_str(noun);
    }

    /// Writes `lo..=hi` different sentences from `bank` (consecutive from a random start).
    fn distinct_sentences(&mut self, bank: &'static [&'static str], lo: u32, hi: u32) {
        let count = (self.rng.range(lo, hi) as usize).min(bank.len());
        let start = self.rng.below(bank.len());
        for k in 0..count {
            self.sentence(bank[(start + k) % bank.len()]);
        }
    }

    /// Writes an unlabelled sentence and its period.
    fn sentence(&mut self, tpl: &'static str) {
        self.fill(tpl);
        self.out.push_str(". ");
    }

    /// Writes a sentence that is evidence for `facts`, one span per fact.
    fn labelled(&mut self, tpl: &'static str, facts: &[Fact]) {
        let start = self.out.len();
        self.fill(tpl);
        let end = self.out.len();
        for fact in facts {
            let mut attributes = vec![("adverse".to_owned(), fact.adverse.to_string())];
            if fact.cat != Cat::Parent {
                attributes.push(("type".to_owned(), fact.kind.to_owned()));
            }
            self.spans.push(DemoSpan {
                start,
                end,
                label: fact.cat.label().to_owned(),
                attributes,
            });
        }
        self.out.push_str(". ");
    }

    /// Writes a diagnosis statement and records that the diagnosis is now stated.
    fn dx_sentence(&mut self, dx: usize, tpl: &'static str) {
        self.mentioned[dx] = true;
        self.sentence(tpl);
    }

    /// Starts a section: blank line, heading, then either a newline or a space.
    fn section(&mut self, heading: &'static str) {
        self.end_line();
        if !self.out.is_empty() {
            self.out.push('\n');
        }
        self.fill(heading);
        if self.rng.chance(500) {
            self.out.push('\n');
        } else {
            self.out.push(' ');
        }
    }

    /// Ends the current line (dropping trailing spaces).
    fn end_line(&mut self) {
        let trimmed = self.out.trim_end_matches(' ').len();
        self.out.truncate(trimmed);
        if !self.out.is_empty() && !self.out.ends_with('\n') {
            self.out.push('\n');
        }
    }

    fn line(&mut self, tpl: &'static str) {
        self.end_line();
        self.fill(tpl);
        self.out.push('\n');
    }

    fn fact_template(&mut self, fact: Fact) -> &'static str {
        let bank: &'static [&'static str] = match (fact.cat, fact.kind) {
            (Cat::Employment, "employed") => EMP_EMPLOYED,
            (Cat::Employment, "retired") => EMP_RETIRED,
            (Cat::Employment, "student") => EMP_STUDENT,
            (Cat::Employment, "underemployed") => EMP_UNDER,
            (Cat::Employment, "unemployed") => EMP_UNEMPLOYED,
            (Cat::Employment, _) => EMP_DISABILITY,
            (Cat::Housing, "poor") => HOUSING_POOR,
            (Cat::Housing, "undomiciled") => HOUSING_UNDOMICILED,
            (Cat::Housing, _) => HOUSING_OTHER,
            (Cat::Transportation, "distance") => TRANSPORT_DISTANCE,
            (Cat::Transportation, "resource") => TRANSPORT_RESOURCE,
            (Cat::Transportation, _) => TRANSPORT_OTHER,
            (Cat::Parent, _) if fact.adverse => PARENT_DIFFICULT,
            (Cat::Parent, _) if self.p.age < 34 => PARENT_YOUNG,
            (Cat::Parent, _) => PARENT_PLAIN,
            (Cat::Relationship, "married") => REL_MARRIED,
            (Cat::Relationship, "partnered") => REL_PARTNERED,
            (Cat::Relationship, "divorced") => REL_DIVORCED,
            (Cat::Relationship, "widowed") => REL_WIDOWED,
            (Cat::Relationship, _) => REL_SINGLE,
            (Cat::Support, "plus") => SUPPORT_PLUS,
            (Cat::Support, _) if self.p.lives_alone => SUPPORT_MINUS_ALONE,
            (Cat::Support, _) => SUPPORT_MINUS,
        };
        self.rng.pick(bank)
    }

    /// The SDoH sentences for `facts`, pairing facts into one sentence now and then.
    fn fact_items(&mut self, facts: &[Fact], restate: usize) -> Vec<Item> {
        let mut done = vec![false; facts.len()];
        let mut items = Vec::new();
        for i in 0..facts.len() {
            if done[i] {
                continue;
            }
            done[i] = true;
            let mut paired = false;
            if self.rng.chance(400) {
                for (j, other) in facts.iter().enumerate() {
                    if done[j] {
                        continue;
                    }
                    let combo = COMBOS.iter().find(|c| {
                        facts[i].is(c.a.0, c.a.1) && other.is(c.b.0, c.b.1)
                            || other.is(c.a.0, c.a.1) && facts[i].is(c.b.0, c.b.1)
                    });
                    if let Some(c) = combo {
                        done[j] = true;
                        let (a, b) = if facts[i].cat == c.a.0 {
                            (facts[i], *other)
                        } else {
                            (*other, facts[i])
                        };
                        items.push(Item::Combo(self.rng.pick(c.templates), a, b));
                        paired = true;
                        break;
                    }
                }
            }
            if !paired {
                if self.rng.chance(restate) {
                    items.push(Item::Restated(facts[i]));
                } else {
                    items.push(Item::Fact(facts[i]));
                }
            }
        }
        items
    }

    fn render_items(&mut self, items: &[Item]) {
        for item in items {
            match *item {
                Item::Fact(f) => {
                    let tpl = self.fact_template(f);
                    self.labelled(tpl, &[f]);
                }
                Item::Restated(f) => {
                    let tpl = self.fact_template(f);
                    self.labelled(tpl, &[f]);
                    let follow_up = restatement(f);
                    self.labelled(follow_up, &[f]);
                }
                Item::Combo(tpl, a, b) => self.labelled(tpl, &[a, b]),
                Item::Plain(tpl) => self.sentence(tpl),
            }
        }
    }

    /// Negated screens and distractors for a section, as unlabelled items.
    fn extras(&mut self, cats: &[Cat], negation_rate: usize, distractors: usize) -> Vec<Item> {
        let mut items = Vec::new();
        for &cat in cats {
            let present = self.p.facts.iter().any(|f| f.cat == cat);
            if !present && self.rng.chance(negation_rate) {
                let bank = match cat {
                    Cat::Employment => NEG_EMPLOYMENT,
                    Cat::Housing => NEG_HOUSING,
                    Cat::Transportation => NEG_TRANSPORT,
                    // "No children" would contradict "married with grown children".
                    Cat::Parent if self.p.age >= 50 => NEG_PARENT_OLD,
                    Cat::Parent if self.p.facts.iter().any(|f| f.cat == Cat::Relationship) => {
                        continue;
                    }
                    Cat::Parent => NEG_PARENT,
                    Cat::Relationship => NEG_RELATIONSHIP,
                    Cat::Support => NEG_SUPPORT,
                };
                items.push(Item::Plain(self.rng.pick(bank)));
            }
        }
        let before = items.len();
        for _ in 0..distractors {
            let bank = match self.rng.below(3) {
                0 => DISTRACT_OTHERS,
                1 => DISTRACT_PRESENCE,
                _ => self.living_bank(),
            };
            let tpl = self.rng.pick(bank);
            // One "accompanied by" per section is plenty.
            if !items[before..]
                .iter()
                .any(|i| matches!(i, Item::Plain(t) if *t == tpl))
            {
                items.push(Item::Plain(tpl));
            }
        }
        items
    }

    /// Where-the-patient-lives distractors that do not contradict the patient's facts.
    fn living_bank(&self) -> &'static [&'static str] {
        if self.p.undomiciled {
            DISTRACT_ORIGIN
        } else if (45..=75).contains(&self.p.age) && !self.p.lives_alone {
            DISTRACT_LIVING_OLD
        } else {
            DISTRACT_LIVING
        }
    }

    fn habits(&mut self) -> Vec<Item> {
        let mut items = Vec::new();
        let smoker = if self.p.dx[COPD] {
            SMOKING_COPD
        } else {
            SMOKING
        };
        items.push(Item::Plain(self.rng.pick(smoker)));
        if self.rng.chance(800) {
            items.push(Item::Plain(self.rng.pick(ALCOHOL)));
        }
        if self.rng.chance(500) {
            items.push(Item::Plain(self.rng.pick(DRUGS)));
        }
        if self.rng.chance(250) {
            items.push(Item::Plain(self.rng.pick(HOBBIES)));
        }
        items
    }

    // -----------------------------------------------------------------------------------------
    // Clinical pieces.

    /// One line of vitals; `arrival` gives the sick values, otherwise discharge-day ones.
    fn vitals(&mut self, arrival: bool) {
        let septic = arrival && self.p.dx[SEPSIS];
        let temp = if septic {
            self.rng.range(383, 401)
        } else {
            self.rng.range(362, 378)
        };
        if self.rng.chance(700) {
            let _ = write!(self.out, "T {}.{} °C", temp / 10, temp % 10);
        } else {
            let f = temp * 9 / 5 + 320;
            let _ = write!(self.out, "T {}.{} °F", f / 10, f % 10);
        }
        let hr = if septic {
            self.rng.range(108, 136)
        } else {
            self.rng.range(58, 104)
        };
        let sys = if septic {
            self.rng.range(74, 96)
        } else {
            self.rng.range(102, 168)
        };
        let dia = if septic {
            self.rng.range(38, 56)
        } else {
            self.rng.range(58, 96)
        };
        let rr = if septic {
            self.rng.range(20, 30)
        } else {
            self.rng.range(12, 22)
        };
        let _ = write!(self.out, ", HR {hr}, BP {sys}/{dia}, RR {rr}, ");
        let hypoxic =
            arrival && (self.p.dx[PNA] || self.p.dx[COPD] || self.p.primary == Primary::Dx(HF));
        if hypoxic {
            let sat = self.rng.range(86, 94);
            let _ = write!(self.out, "SpO2 {sat}% ");
            self.fill("{on RA|on {#2-4} L NC|on {#2-4}L NC}");
        } else {
            let sat = self.rng.range(94, 100);
            let on = self.rng.pick(&["on RA", "on room air", "RA"]);
            let _ = write!(self.out, "SpO2 {sat}% {on}");
        }
        self.out.push('\n');
    }

    fn labs(&mut self) {
        let d = self.p.dx;
        let wbc = if d[SEPSIS] || d[PNA] {
            self.rng.range(128, 246)
        } else {
            self.rng.range(45, 110)
        };
        let hgb = self.rng.range(88, 156);
        let plt = self.rng.range(110, 420);
        let na = self.rng.range(132, 144);
        let k = self.rng.range(34, 51);
        let _ = write!(
            self.out,
            "WBC {}.{}, Hgb {}.{}, Plt {plt}, Na {na}, K {}.{}, ",
            wbc / 10,
            wbc % 10,
            hgb / 10,
            hgb % 10,
            k / 10,
            k % 10,
        );
        let base = self.rng.range(6, 12);
        if d[AKI] {
            let peak = self.rng.range(19, 48);
            let _ = write!(
                self.out,
                "Cr {}.{} (baseline {}.{}), ",
                peak / 10,
                peak % 10,
                base / 10,
                base % 10
            );
        } else {
            let _ = write!(self.out, "Cr {}.{}, ", base / 10, base % 10);
        }
        let glucose = if d[DM] {
            self.rng.range(168, 420)
        } else {
            self.rng.range(76, 138)
        };
        let _ = write!(self.out, "glucose {glucose}");
        if d[SEPSIS] {
            let lac = self.rng.range(22, 68);
            let _ = write!(self.out, ", lactate {}.{}", lac / 10, lac % 10);
        } else if self.rng.chance(300) {
            let lac = self.rng.range(6, 18);
            let _ = write!(self.out, ", lactate {}.{}", lac / 10, lac % 10);
        }
        if d[HF] {
            let bnp = self.rng.range(640, 4800);
            let _ = write!(self.out, ", BNP {bnp}");
        } else if self.rng.chance(250) {
            let bnp = self.rng.range(12, 90);
            let _ = write!(self.out, ", BNP {bnp}");
        }
        self.out.push('\n');
    }

    /// Imaging and ECG lines consistent with the diagnoses.
    fn studies(&mut self) {
        let cxr = if self.p.dx[PNA] {
            "{CXR|Chest X-ray}: {side} lower lobe consolidation{ with a small effusion|}"
        } else if self.p.primary == Primary::Dx(HF) {
            "{CXR|Chest X-ray}: cardiomegaly with pulmonary vascular congestion{ and small bilateral effusions|}"
        } else if self.p.dx[COPD] {
            "{CXR|Chest X-ray}: hyperinflated lungs{, no focal consolidation|}"
        } else {
            "{CXR|Chest X-ray}: {no acute cardiopulmonary process|clear lungs, normal heart size}"
        };
        self.line(cxr);
        if self.rng.chance(600) {
            let ecg = if self.p.dx[SEPSIS] {
                "ECG: sinus tachycardia, no acute ST-T changes"
            } else {
                "ECG: {NSR|sinus rhythm} at {#62-98}, {no acute ST-T changes|normal intervals|old Q waves inferiorly}"
            };
            self.line(ecg);
        }
    }

    /// "Pt is a 67 y/o M with hx of HTN, T2DM and COPD" (no period).
    fn opening(&mut self) {
        self.fill("{Pt} is {aage} {y/o|yo|year-old} {{MF}|{man}} ");
        let chronic = [HF, DM, COPD].iter().any(|&d| self.p.dx[d]);
        if chronic || !self.p.fillers.is_empty() {
            self.fill("with {a PMH of|hx of|a history of|PMH significant for} ");
            self.pmh_short();
        } else {
            self.fill("with no significant {PMH|past medical history}");
        }
    }

    /// "HTN, T2DM and COPD": the past history in a few words.
    fn pmh_short(&mut self) {
        let mut names: Vec<&'static str> = Vec::new();
        for (dx, tpl) in [
            (HF, PMH_SHORT_HF),
            (DM, PMH_SHORT_DM),
            (COPD, PMH_SHORT_COPD),
        ] {
            if self.p.dx[dx] {
                self.mentioned[dx] = true;
                names.push(tpl);
            }
        }
        for &f in &self.p.fillers {
            names.push(FILLER_PMH[f].0);
        }
        self.rng.shuffle(&mut names);
        for (k, name) in names.iter().enumerate() {
            if k > 0 {
                self.push(if k + 1 == names.len() { " and " } else { ", " });
            }
            self.fill(name);
        }
    }

    fn pmh_list(&mut self) {
        let mut items: Vec<&'static str> = Vec::new();
        for (dx, bank) in [(HF, PMH_LONG_HF), (DM, PMH_LONG_DM), (COPD, PMH_LONG_COPD)] {
            if self.p.dx[dx] {
                self.mentioned[dx] = true;
                items.push(self.rng.pick(bank));
            }
        }
        for &f in &self.p.fillers {
            items.push(FILLER_PMH[f].1);
        }
        self.rng.shuffle(&mut items);
        if items.is_empty() {
            self.line("None");
        }
        let bullet = self.rng.pick(&["- ", "* ", ""]);
        for (k, item) in items.iter().enumerate() {
            self.end_line();
            if bullet.is_empty() {
                let _ = write!(self.out, "{}. ", k + 1);
            } else {
                self.push(bullet);
            }
            self.fill(item);
            self.out.push('\n');
        }
    }

    fn med_list(&mut self, discharge: bool) {
        let mut meds: Vec<&'static str> = Vec::new();
        if self.p.dx[HF] {
            meds.push(self.rng.pick(MEDS_HF));
            meds.push(self.rng.pick(MEDS_HF));
        }
        if self.p.dx[DM] {
            meds.push(self.rng.pick(MEDS_DM));
        }
        if self.p.dx[COPD] {
            meds.push(self.rng.pick(MEDS_COPD));
        }
        for _ in 0..self.rng.range(1, 4) {
            meds.push(self.rng.pick(MEDS_GENERIC));
        }
        if discharge && (self.p.dx[PNA] || self.p.dx[SEPSIS]) {
            meds.push(self.rng.pick(MEDS_ANTIBIOTIC));
        }
        let mut unique: Vec<&'static str> = Vec::with_capacity(meds.len());
        for m in meds {
            if !unique.contains(&m) {
                unique.push(m);
            }
        }
        let meds = unique;
        if self.rng.chance(500) {
            for (k, m) in meds.iter().enumerate() {
                if k > 0 {
                    self.push(", ");
                }
                self.fill(m);
            }
            self.out.push('\n');
        } else {
            for m in meds {
                self.end_line();
                self.push("- ");
                self.fill(m);
                self.out.push('\n');
            }
        }
    }

    fn family_history(&mut self) {
        let mut said = false;
        for (dx, bank) in [(HF, FH_HF), (DM, FH_DM), (COPD, FH_COPD)] {
            if !self.p.dx[dx] && self.rng.chance(220) {
                let tpl = self.rng.pick(bank);
                self.sentence(tpl);
                said = true;
            }
        }
        if self.rng.chance(250) {
            self.sentence(
                "{Father|Mother} died of {an MI|a stroke|lung cancer|colon cancer} at age {#52-84}",
            );
            said = true;
        }
        if !said || self.rng.chance(300) {
            let tpl = self.rng.pick(FH_OTHER);
            self.sentence(tpl);
        }
    }

    /// Statements that a diagnosis is absent: negated history, ruled out, look-alikes.
    fn dx_negations(&mut self, rate: usize) {
        for (dx, bank) in [
            (HF, NEG_DX_HF),
            (SEPSIS, NEG_DX_SEPSIS),
            (PNA, NEG_DX_PNA),
            (AKI, NEG_DX_AKI),
            (DM, NEG_DX_DM),
            (COPD, NEG_DX_COPD),
        ] {
            if !self.p.dx[dx] && self.rng.chance(rate) {
                let tpl = self.rng.pick(bank);
                self.sentence(tpl);
            }
        }
    }

    /// HPI statements for every diagnosis the patient has, primary first.
    fn dx_hpi(&mut self) {
        let order = self.dx_order();
        for dx in order {
            let acute = self.p.primary == Primary::Dx(dx) || matches!(dx, SEPSIS | PNA | AKI);
            let bank = match dx {
                HF if acute => HPI_HF_ACUTE,
                HF => continue,
                SEPSIS => HPI_SEPSIS,
                PNA => HPI_PNA,
                AKI => HPI_AKI,
                DM => HPI_DM,
                _ if acute => HPI_COPD_ACUTE,
                _ => continue,
            };
            if dx == DM && !self.rng.chance(500) {
                continue;
            }
            let tpl = self.rng.pick(bank);
            self.dx_sentence(dx, tpl);
        }
        if let Primary::Other(k) = self.p.primary {
            let tpl = OTHER_REASONS[k].hpi;
            self.sentence(tpl);
        }
    }

    /// Diagnoses the patient has, the primary one first.
    fn dx_order(&self) -> Vec<usize> {
        let mut order = Vec::with_capacity(6);
        if let Primary::Dx(d) = self.p.primary {
            order.push(d);
        }
        for d in 0..6 {
            if self.p.dx[d] && !order.contains(&d) {
                order.push(d);
            }
        }
        order
    }

    fn chief_complaint(&mut self) {
        match self.p.primary {
            Primary::Dx(d) => {
                let tpl = self.rng.pick(CC_DX[d]);
                self.fill(tpl);
            }
            Primary::Other(k) => self.fill(OTHER_REASONS[k].cc),
        }
    }

    // -----------------------------------------------------------------------------------------
    // The three note types.

    fn header_patient(&mut self) {
        if self.rng.chance(500) {
            self.line("Patient: {First} {Last}");
        }
        if self.rng.chance(600) {
            self.line("{Age/Sex|Age/sex}: {age} {MF}");
        }
    }

    fn admission(&mut self) -> &'static str {
        let k = self.rng.below(ADMISSION_TITLES.len());
        let (title, description) = ADMISSION_TITLES[k];
        self.line(title);
        self.line("{Date of admission|Admission date|Admit date}: {admit}");
        self.header_patient();
        self.line("{Attending|Admitting attending}: {Dr}");

        self.section("{CHIEF COMPLAINT|Chief complaint|CC}:");
        self.chief_complaint();

        self.section("{HPI|History of present illness|HISTORY OF PRESENT ILLNESS}:");
        self.opening();
        self.fill(" who presents with {worsening |}");
        let start = self.out.len();
        self.chief_complaint();
        lowercase_first(&mut self.out, start);
        self.sentence(" {x|for|over the past} {#2-7} days");
        self.dx_hpi();
        self.dx_negations(180);
        if self.rng.chance(150) {
            self.sentence(PRIOR_ADMISSION);
        }
        let k = self.rng.below(HPI_EXTRA.len());
        self.sentence(HPI_EXTRA[k]);
        if self.rng.chance(500) {
            self.sentence(HPI_EXTRA[(k + 1) % HPI_EXTRA.len()]);
        }
        self.sentence(
            "{ROS otherwise negative|Remainder of ROS negative|10-point ROS otherwise negative}",
        );

        self.section("{PMH|Past medical history|PAST MEDICAL HISTORY}:");
        self.pmh_list();

        self.section("{Home medications|MEDICATIONS|Outpatient meds}:");
        self.med_list(false);
        self.line("{Allergies|ALLERGIES}: {NKDA|penicillin (rash)|sulfa (hives)|NKDA|none known}");

        if self.rng.chance(500) {
            self.line("{Functional status|Baseline function}: {independent in ADLs and IADLs|independent in ADLs, uses a cane|needs help with bathing|ambulates with a walker}");
        }

        self.section("{FAMILY HISTORY|Family hx|FH}:");
        self.family_history();

        self.section("{SOCIAL HISTORY|Social history|Social Hx|SH}:");
        let facts = self.p.facts.clone();
        let mut items = self.fact_items(&facts, 0);
        let distractors = self.rng.range(0, 2) as usize;
        items.extend(self.extras(&CATS, 150, distractors));
        items.extend(self.habits());
        self.rng.shuffle(&mut items);
        self.render_items(&items);

        self.section("{PHYSICAL EXAM|Exam|PE}:");
        self.vitals(true);
        self.exam();

        self.section("{LABS|Labs|Pertinent labs}:");
        self.labs();
        self.studies();

        self.section("{ASSESSMENT AND PLAN|Assessment/Plan|A/P}:");
        self.sentence("{Pt} is {aage} {y/o|yo} {MF} admitted with {the above|the following}");
        self.end_line();
        self.problem_list(AP_DX);
        for &f in &self.p.fillers.clone() {
            if self.rng.chance(500) {
                self.line(FILLER_PMH[f].2);
            }
        }
        self.line("# {DVT ppx|PPx}: {heparin SQ|enoxaparin {40|30} mg daily|SCDs}");
        self.line("# Code: {Full code|Full code (confirmed with pt)|DNR/DNI|Full}");
        if self.rng.chance(500) {
            self.line("# {FEN|Nutrition}: {cardiac diet|regular diet|NPO after midnight|low-sodium diet}, replete lytes PRN");
        }
        self.line("# Dispo: {admit to medicine|admit to telemetry|admit to the ICU|floor}");
        description
    }

    fn exam(&mut self) {
        let lungs = if self.p.dx[PNA] {
            "{crackles at the {side} base|bronchial breath sounds at the {side} base}"
        } else if self.p.dx[COPD] {
            "{diffuse expiratory wheezes|prolonged expiratory phase with wheezes}"
        } else if self.p.dx[HF] {
            "{bibasilar crackles|crackles halfway up bilaterally}"
        } else {
            "{CTAB|clear bilaterally|clear to auscultation}"
        };
        let ext = if self.p.dx[HF] {
            "{2+|3+} pitting edema to the {knees|shins}"
        } else {
            "{no edema|warm, no edema|no LE edema}"
        };
        self.fill("{Gen|General}: {NAD|uncomfortable-appearing|ill-appearing|alert, in no distress}. Lungs: ");
        self.fill(lungs);
        self.fill(". CV: {RRR, no murmurs|irregularly irregular|tachycardic, regular}. Ext: ");
        self.fill(ext);
        self.fill(
            ". {HEENT: {MMM|dry mucous membranes}. |}Abd: {soft, NT/ND|soft, non-tender|soft, mildly tender in the epigastrium}. Neuro: {A&O x3|nonfocal|A&O x3, nonfocal}{|, {confused|drowsy} but arousable}.\n",
        );
    }

    /// A template for `dx` from `bank`. For HF and COPD the last template of each bank is the
    /// stable chronic one, used unless the condition is why the patient is here.
    fn pick_for(&mut self, dx: usize, bank: &'static [&'static str]) -> &'static str {
        if !matches!(dx, HF | COPD) {
            self.rng.pick(bank)
        } else if self.p.primary == Primary::Dx(dx) {
            self.rng.pick(&bank[..bank.len() - 1])
        } else {
            bank[bank.len() - 1]
        }
    }

    /// One `# problem: plan` line per diagnosis.
    fn problem_list(&mut self, table: &[&'static [&'static str]; 6]) {
        for dx in self.dx_order() {
            self.end_line();
            let tpl = self.pick_for(dx, table[dx]);
            self.mentioned[dx] = true;
            self.fill(tpl);
            self.out.push('\n');
        }
        if let Primary::Other(k) = self.p.primary {
            self.line(OTHER_REASONS[k].plan);
        }
    }

    fn discharge(&mut self) -> &'static str {
        let k = self.rng.below(DISCHARGE_TITLES.len());
        let (title, description) = DISCHARGE_TITLES[k];
        self.line(title);
        self.line("{Admission Date|Date of Admission|Admitted}: {admit}");
        self.line("{Discharge Date|Date of Discharge|Discharged}: {discharge}");
        self.header_patient();
        self.line("{Attending|Discharging attending}: {Dr}");
        if self.rng.chance(250) {
            let _ = writeln!(self.out, "Length of stay: {} days", self.p.los);
        }

        self.section("{DISCHARGE DIAGNOSES|Discharge diagnoses|Diagnoses}:");
        let mut n = 0;
        for dx in self.dx_order() {
            n += 1;
            self.end_line();
            let _ = write!(self.out, "{n}. ");
            self.mentioned[dx] = true;
            let mut tpl = self.pick_for(dx, DISCHARGE_DX[dx]);
            if self.p.died && tpl.contains("resolved") {
                tpl = DISCHARGE_DX[dx][1];
            }
            self.fill(tpl);
            self.out.push('\n');
        }
        if let Primary::Other(k) = self.p.primary {
            n += 1;
            let _ = write!(self.out, "{n}. ");
            self.fill(OTHER_REASONS[k].final_dx);
            self.out.push('\n');
        }
        for &f in &self.p.fillers.clone() {
            if self.rng.chance(400) {
                n += 1;
                let _ = write!(self.out, "{n}. ");
                self.fill(FILLER_PMH[f].1);
                self.out.push('\n');
            }
        }

        self.section("{HISTORY OF PRESENT ILLNESS|Brief HPI|Reason for admission}:");
        self.opening();
        self.push(" who presented with ");
        let start = self.out.len();
        self.chief_complaint();
        lowercase_first(&mut self.out, start);
        self.push(". ");
        if self.rng.chance(600) {
            let tpl = self.rng.pick(HPI_EXTRA);
            self.sentence(tpl);
        }
        if self.rng.chance(150) {
            self.sentence(PRIOR_ADMISSION);
        }

        if self.rng.chance(700) {
            self.section("{PROCEDURES|Procedures}:");
            self.fill("{None|None|None|PICC placement on HD #{hd}|Transthoracic echocardiogram}");
        }
        self.section("{PERTINENT RESULTS|Pertinent results|Key results}:");
        self.fill("{Admission labs|On admission}: ");
        self.labs();
        self.studies();
        if self.rng.chance(400) {
            self.line("{Pending at discharge|Pending results}: {blood cultures (no growth to date)|none|final read of TTE|urine culture}");
        }

        self.section("{HOSPITAL COURSE|Hospital course|Hospital Course by problem}:");
        let tpl = self.rng.pick(COURSE_INTRO);
        self.sentence(tpl);
        self.end_line();
        // A patient who died gets the plans rather than the recoveries.
        self.problem_list(if self.p.died { AP_DX } else { COURSE_DX });
        for &f in &self.p.fillers.clone() {
            if self.rng.chance(600) {
                self.line(FILLER_PMH[f].2);
            }
        }
        self.end_line();
        self.dx_negations(200);
        if !self.p.died && self.rng.chance(600) {
            self.sentence("{Physical therapy|PT} evaluated {him} and recommended {discharge home|home PT|short-term rehab|a rolling walker}");
        }
        if !self.p.died && self.rng.chance(150) {
            let tpl = self.rng.pick(NOT_DYING);
            self.sentence(tpl);
        }
        if self.p.died {
            let tpl = self.rng.pick(DEATH);
            self.sentence(tpl);
            let tpl = self.rng.pick(DEATH_TIME);
            self.sentence(tpl);
        }

        self.end_line();
        self.out.push('\n');
        if self.rng.chance(600) {
            self.line("{Consults|Consultants}: {cardiology|nephrology|infectious disease|physical therapy|nutrition|palliative care}{, {physical therapy|case management}|}");
        }
        self.line("{Code status|CODE STATUS}: {Full code|Full code|DNR/DNI|DNR, OK to intubate}");

        let facts = self.p.facts.clone();
        let mut items = self.fact_items(&facts, 0);
        let distractors = self.rng.range(0, 2) as usize;
        items.extend(self.extras(&CATS, 80, distractors));
        if !items.is_empty() {
            self.section("{SOCIAL HISTORY / DISCHARGE PLANNING|Social/dispo|Psychosocial|SW/CM}:");
            self.rng.shuffle(&mut items);
            self.render_items(&items);
        }

        self.section("{DISPOSITION|Disposition|Discharge disposition}:");
        if self.p.died {
            self.fill("{Expired|Deceased|Expired in hospital}");
            self.section("{Condition at discharge|CONDITION}:");
            self.fill("{Deceased|Expired}");
        } else {
            self.fill(
                "{Home|Home with services|Home with VNA|Skilled nursing facility|Acute rehab|Home}",
            );
            self.section("{Condition at discharge|CONDITION}:");
            self.fill("{Stable|Good|Improved, stable|Fair}. {Mental status: clear and coherent. |}{Ambulatory - independent|Ambulatory with walker|Out of bed with assistance}.");
            self.section("{Discharge exam|DISCHARGE EXAM|Exam on discharge}:");
            self.vitals(false);
            self.section("{Patient instructions|DISCHARGE INSTRUCTIONS|Instructions}:");
            let dx_instructions = [
                (
                    HF,
                    "Weigh yourself every morning and call if you gain more than 1 kg in a day or 2 kg in a week",
                ),
                (DM, "Check your blood sugar before meals and at bedtime"),
                (
                    COPD,
                    "Use your inhalers as prescribed and finish the prednisone taper",
                ),
                (
                    PNA,
                    "Finish all of your antibiotics even if you feel better",
                ),
                (
                    AKI,
                    "Avoid NSAIDs such as ibuprofen and naproxen; drink plenty of fluids",
                ),
            ];
            for (dx, tpl) in dx_instructions {
                if self.p.dx[dx] && self.rng.chance(600) {
                    self.sentence(tpl);
                }
            }
            self.distinct_sentences(INSTRUCTIONS, 1, 2);
            self.section("{DISCHARGE MEDICATIONS|Discharge meds}:");
            self.med_list(true);
            self.section("{FOLLOW-UP|Follow up|Follow-up appointments}:");
            self.sentence(
                "{PCP|Primary care} {Dr} {in 1 week|in 2 weeks|in 1-2 weeks|within 7 days}",
            );
            if self.rng.chance(400) {
                self.sentence("{Labs|BMP|CBC and BMP} in {#3-7} days");
            }
        }
        self.end_line();
        description
    }

    fn social_work(&mut self) -> &'static str {
        let k = self.rng.below(SOCIAL_WORK_TITLES.len());
        let (title, description) = SOCIAL_WORK_TITLES[k];
        self.line(title);
        self.line("{Date|Date of service|Note date}: {admit}");
        self.header_patient();
        self.section("{Reason for referral|Referral reason|Consult reason}:");
        self.fill(
            "{Psychosocial assessment|Discharge planning|Adjustment to illness|Team request for psychosocial assessment|Resource review}",
        );
        self.section("{Background|Identifying information|ID}:");
        self.fill("{Pt} is {aage} {y/o|yo|year-old} {{MF}|{man}} admitted with ");
        match self.p.primary {
            Primary::Dx(d) => {
                self.mentioned[d] = true;
                if d == SEPSIS && self.p.dx[PNA] {
                    self.mentioned[PNA] = true;
                    self.push("sepsis due to pneumonia");
                } else {
                    let tpl = self.rng.pick(SW_DX[d]);
                    self.fill(tpl);
                }
            }
            Primary::Other(k) => {
                let start = self.out.len();
                self.fill(OTHER_REASONS[k].final_dx);
                lowercase_first(&mut self.out, start);
            }
        }
        self.push(". ");
        self.sentence(
            "{SW met with pt at bedside|Met with pt at bedside|SW completed assessment with pt at bedside|Chart reviewed and met with pt}",
        );
        let tpl = self.rng.pick(SW_BACKGROUND);
        self.sentence(tpl);

        // Facts grouped into the usual social work sections; combos go with their first fact.
        let facts = self.p.facts.clone();
        let items = self.fact_items(&facts, 200);
        let groups: [(&'static str, &[Cat]); 4] = [
            ("{Living situation|Housing|Home}:", &[Cat::Housing]),
            (
                "{Family/support|Family and supports|Supports|Relationships/family}:",
                &[Cat::Relationship, Cat::Parent, Cat::Support],
            ),
            (
                "{Employment/finances|Work/income|Employment}:",
                &[Cat::Employment],
            ),
            ("{Transportation|Transport}:", &[Cat::Transportation]),
        ];
        for (heading, cats) in groups {
            let mut section: Vec<Item> = items
                .iter()
                .filter(|item| match item {
                    Item::Fact(f) | Item::Restated(f) | Item::Combo(_, f, _) => {
                        cats.contains(&f.cat)
                    }
                    Item::Plain(_) => false,
                })
                .copied()
                .collect();
            let distractors = usize::from(self.rng.chance(450));
            section.extend(self.extras(cats, 450, 0));
            if distractors > 0 {
                let bank = match cats[0] {
                    Cat::Housing => self.living_bank(),
                    Cat::Relationship => DISTRACT_PRESENCE,
                    _ => DISTRACT_OTHERS,
                };
                section.push(Item::Plain(self.rng.pick(bank)));
            }
            if cats[0] == Cat::Employment && self.rng.chance(500) {
                section.push(Item::Plain(self.rng.pick(INSURANCE)));
            }
            if section.is_empty() {
                continue;
            }
            self.rng.shuffle(&mut section);
            self.section(heading);
            self.render_items(&section);
        }
        if self.rng.chance(500) {
            self.section("{Substance use|Substances}:");
            let habits = self.habits();
            self.render_items(&habits);
        }
        self.section("{Coping/mental health|Mental health|Emotional status}:");
        self.distinct_sentences(SW_COPING, 1, 2);
        if self.rng.chance(600) {
            self.section("{Advance care planning|ACP|Legal}:");
            let tpl = self.rng.pick(SW_ACP);
            self.sentence(tpl);
        }
        self.section("{Assessment|Impression}:");
        self.distinct_sentences(SW_ASSESSMENT, 1, 2);
        self.section("{Plan|Recommendations}:");
        self.distinct_sentences(SW_PLAN, 2, 3);
        self.sentence("{SW|Social work} {#2-6}-{#1000-9999}, {LICSW|LCSW|MSW}");
        self.end_line();
        description
    }

    fn finish(mut self, index: usize, kind: Kind, description: &'static str) -> DemoNote {
        self.end_line();
        let mut doc_labels = Vec::new();
        for cat in CATS {
            let label = cat.label();
            let mut any = false;
            let mut adverse = false;
            for span in self.spans.iter().filter(|s| s.label == label) {
                any = true;
                adverse |= span
                    .attributes
                    .iter()
                    .any(|(k, v)| k == "adverse" && v == "true");
            }
            if any {
                doc_labels.push(DemoDocLabel {
                    label: label.to_owned(),
                    attributes: vec![("adverse".to_owned(), adverse.to_string())],
                });
            }
        }
        if kind == Kind::Discharge {
            if self.p.died {
                doc_labels.push(outcome("MORTALITY"));
            }
            if self.p.los > 7 {
                doc_labels.push(outcome("PROLONGED_LOS"));
            }
        }
        for (dx, label) in DX_LABELS.iter().enumerate() {
            if self.mentioned[dx] {
                doc_labels.push(outcome(label));
            }
        }
        DemoNote {
            external_id: format!("demo-{:06}", index + 1),
            category: match kind {
                Kind::Admission => "Admission note",
                Kind::Discharge => "Discharge summary",
                Kind::SocialWork => "Social work",
            }
            .to_owned(),
            description: description.to_owned(),
            text: self.out,
            spans: self.spans,
            doc_labels,
        }
    }
}

/// A second sentence about `fact` without details (numbers, jobs, places) that could
/// contradict the first; like the guideline's adjacent sentences, it is a span of its own.
fn restatement(fact: Fact) -> &'static str {
    match (fact.cat, fact.kind) {
        (Cat::Employment, "employed") => {
            "{He} {hopes|plans|is eager} to return to work {as soon as possible|once {he} recovers|after discharge}"
        }
        (Cat::Employment, "retired") => {
            "{He} has been {enjoying|keeping busy in} retirement{ with {his} hobbies|}"
        }
        (Cat::Employment, "student") => {
            "{He} is {worried|anxious} about falling behind in {his} {classes|coursework|exams}"
        }
        (Cat::Employment, "underemployed") => {
            "{He} {worries|is afraid} that the lost {shifts|hours|wages} will make it hard to pay {his} bills"
        }
        (Cat::Employment, "unemployed") => {
            "{He} has been applying for jobs {without success|for months|but has had no offers}"
        }
        (Cat::Employment, _) => {
            "{His} {disability check|SSDI payment} is {his} only {income|source of income}"
        }
        (Cat::Housing, "poor") => {
            "{He} is {afraid|worried} of losing {his} {apartment|home} because {he} cannot keep up with the {cost|payments}"
        }
        (Cat::Housing, "undomiciled") => {
            "{He} has nowhere stable to {go|stay} {after discharge|when {he} leaves the hospital}"
        }
        (Cat::Housing, _) => {
            "{He} is not sure {he} can safely return to {his} {apartment|unit|building}{ after discharge|}"
        }
        (Cat::Transportation, "distance") => {
            "The trip each way takes {him} {most of the day|over {two|three} hours}"
        }
        (Cat::Transportation, "resource") => {
            "{He} has no reliable way to get to {appointments|clinic|follow-up visits}"
        }
        (Cat::Transportation, _) => {
            "Getting to {appointments|clinic} is a {constant|real} worry for {him}"
        }
        (Cat::Parent, _) if fact.adverse => {
            "{He} feels {overwhelmed|exhausted} by parenting {right now|since getting sick}"
        }
        (Cat::Parent, _) => {
            "{He} {worries about|misses} {his} {young|little} {children|kids} at home"
        }
        (Cat::Relationship, "married") => {
            "{His} {spouse} was {updated by phone|updated on the plan|called with an update}"
        }
        (Cat::Relationship, "partnered") => {
            "{His} {partner} was {updated by phone|updated on the plan|called with an update}"
        }
        (Cat::Relationship, "divorced") => {
            "{He} {has little|has no regular|keeps in occasional} contact with {his} {ex}"
        }
        (Cat::Relationship, "widowed") => "{He} still {grieves|mourns} the loss of {his} {spouse}",
        (Cat::Relationship, _) => "{He} has never had a {long-term|serious} partner",
        (Cat::Support, "plus") => {
            "{He} says {his} {family and friends|friends|family} help with {whatever {he} needs|meals and errands|rides and groceries}"
        }
        (Cat::Support, _) => {
            "{He} says there is no one {he} can {rely on|call for help|ask for rides}"
        }
    }
}

fn outcome(label: &str) -> DemoDocLabel {
    DemoDocLabel {
        label: label.to_owned(),
        attributes: Vec::new(),
    }
}

/// "an 8-year-old", "an 11-", "an 18-", "an 80-…" but "a 7-year-old".
fn article(n: u32) -> &'static str {
    let mut lead = n;
    while lead >= 10 {
        lead /= 10;
    }
    if lead == 8 || n == 11 || n == 18 {
        "an"
    } else {
        "a"
    }
}

fn pick2(first: bool, a: &'static str, b: &'static str) -> &'static str {
    if first { a } else { b }
}

/// Index of the `}` matching the `{` at `open` (or the end, for a malformed template).
fn matching_brace(bytes: &[u8], open: usize) -> usize {
    let mut depth = 0usize;
    for (k, &b) in bytes.iter().enumerate().skip(open) {
        match b {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return k;
                }
            }
            _ => {}
        }
    }
    bytes.len()
}

fn lowercase_first(out: &mut String, start: usize) {
    if let Some(c) = out[start..].chars().next()
        && c.is_ascii_uppercase()
        && !out[start..].starts_with("AKI")
        && !out[start..].starts_with("COPD")
        && !out[start..].starts_with("CHF")
    {
        out.replace_range(start..start + 1, &c.to_ascii_lowercase().to_string());
    }
}

// ---------------------------------------------------------------------------------------------
// Vocabularies.

const FEMALE_FIRST: &[&str] = &[
    "Maria", "Zoë", "Renée", "Aisha", "Linda", "Chloé", "Mei", "Fatima", "Ingrid", "Dolores",
    "Keisha", "Ana", "Siobhán", "Patricia", "Yesenia", "Olga", "Priya", "Hannah", "Beatriz",
    "Joan", "Noémie", "Grace",
];
const MALE_FIRST: &[&str] = &[
    "José",
    "James",
    "Andrés",
    "Wei",
    "Mohammed",
    "Robert",
    "François",
    "Darnell",
    "Jürgen",
    "Luis",
    "Tomás",
    "Michael",
    "Raj",
    "Kwame",
    "Björn",
    "Dmitri",
    "Thomas",
    "Ángel",
    "Samuel",
    "Hiroshi",
    "Paul",
    "Seán",
];
const LAST_NAMES: &[&str] = &[
    "Álvarez",
    "Núñez",
    "Müller",
    "O'Brien",
    "Nguyen",
    "Smith",
    "Okafor",
    "Kowalski",
    "Johnson",
    "Peña",
    "García",
    "Brown",
    "Lefèvre",
    "Haddad",
    "Rossi",
    "Williams",
    "Chen",
    "Dubois",
    "Sørensen",
    "Patel",
    "Murphy",
    "Ibáñez",
    "Kim",
    "Wright",
    "Nakamura",
    "Fitzgerald",
];
const CLINICIANS: &[&str] = &[
    "Adeyemi",
    "Bergström",
    "Castillo",
    "Doyle",
    "Esposito",
    "Friedman",
    "Gómez",
    "Hwang",
    "Iyer",
    "Jansen",
    "Kaur",
    "Lindqvist",
    "Moreau",
    "Novak",
    "Osei",
    "Park",
];
const CITIES: &[&str] = &[
    "Worcester",
    "Lowell",
    "Brockton",
    "Springfield",
    "Quincy",
    "Fall River",
    "New Bedford",
    "Framingham",
    "Chelsea",
    "Revere",
    "Lawrence",
    "Española",
    "Cañon City",
    "San José",
    "Montréal",
    "Nashua",
    "Providence",
    "Pawtucket",
];
const JOBS: &[&str] = &[
    "an electrician",
    "a middle school teacher",
    "a registered nurse",
    "an accountant",
    "a software developer",
    "a mail carrier",
    "a plumber",
    "a pharmacist",
    "a police officer",
    "a chef at a local bistro",
    "a construction foreman",
    "a paralegal",
    "a long-haul truck driver",
    "a dental hygienist",
    "a pastry chef at a café",
    "a project manager",
    "a librarian",
    "a firefighter",
    "a machinist",
    "an {HVAC|elevator} technician",
];
const PRECARIOUS_JOBS: &[&str] = &[
    "cashier",
    "dishwasher",
    "rideshare driver",
    "home health aide",
    "day laborer",
    "line cook",
    "warehouse picker",
    "house cleaner",
    "delivery driver",
    "security guard",
];
const FORMER_JOBS: &[&str] = &[
    "machinist",
    "schoolteacher",
    "nurse",
    "carpenter",
    "bus driver",
    "secretary",
    "civil engineer",
    "fisherman",
    "postal worker",
    "factory worker",
    "bookkeeper",
];
const SCHOOLS: &[&str] = &[
    "a local community college",
    "the state university",
    "nursing school",
    "a trade school",
    "a graduate program in social work",
    "the art institute",
];
const SHELTERS: &[&str] = &[
    "the Harbor Street shelter",
    "a shelter in {city}",
    "an overnight shelter downtown",
    "the Elm Street Inn shelter",
    "a family shelter",
];

/// (noun, sex: 0 male, 1 female, 2 either)
type Relatives = &'static [(&'static str, u8)];
const OTHERS: Relatives = &[
    ("sister", 1),
    ("brother", 0),
    ("cousin", 2),
    ("neighbor", 2),
    ("roommate", 2),
    ("son-in-law", 0),
    ("daughter-in-law", 1),
    ("best friend", 2),
];
const KIN_OLD: Relatives = &[
    ("adult daughter", 1),
    ("adult son", 0),
    ("daughter", 1),
    ("son", 0),
    ("sister", 1),
    ("brother", 0),
    ("niece", 1),
    ("nephew", 0),
];
const KIN_YOUNG: Relatives = &[
    ("mother", 1),
    ("father", 0),
    ("sister", 1),
    ("brother", 0),
    ("cousin", 2),
    ("aunt", 1),
];
const HELPERS_OLD: Relatives = &[
    ("daughter", 1),
    ("son", 0),
    ("sister", 1),
    ("brother", 0),
    ("niece", 1),
    ("neighbor", 2),
    ("close friend", 2),
    ("friend from church", 2),
];
const HELPERS_YOUNG: Relatives = &[
    ("mother", 1),
    ("father", 0),
    ("sister", 1),
    ("brother", 0),
    ("cousin", 2),
    ("close friend", 2),
    ("roommate", 2),
];

// ---------------------------------------------------------------------------------------------
// SDoH phrase banks (each sentence is evidence for exactly the fact it is filed under).

const EMP_EMPLOYED: &[&str] = &[
    "{Pt} works full time as {job}",
    "{Pt} is currently employed as {job} and plans to return to work after discharge",
    "Works as {job} in {city}",
    "{He} has worked as {job} for the past {#3-25} years",
    "{Pt} is a semi-retired {oldjob} who still consults part time",
    "Employed full-time at {a hardware store|the shipyard|a law firm|a regional hospital|a bakery}; no financial concerns reported",
    "Currently working as {job}, and {his} employer has been flexible about time off",
    "{Pt} owns a small {landscaping|plumbing|catering|printing} business",
    "{He} is employed as {job} with {good|stable} benefits",
    "{Pt} teaches {third grade|high school chemistry|piano lessons} {in {city}|full time}",
    "Works {nights|days|weekdays} as {job}",
];
const EMP_RETIRED: &[&str] = &[
    "{Pt} is a retired {oldjob}",
    "Retired from {his} job as a {oldjob} in {#2005-2020}",
    "Retired {oldjob}, living on {his} pension and Social Security",
    "{He} retired {#2-15} years ago after working as a {oldjob} for {#20-40} years",
    "{Pt} is {aage}-year-old retiree",
    "{Pt} has been retired since {#2008-2021}",
    "Retired; previously worked as a {oldjob} for {#15-40} years",
];
const EMP_STUDENT: &[&str] = &[
    "{Pt} is a full-time student at {school}",
    "Currently attending {school}, studying {nursing|accounting|engineering|graphic design|biology}",
    "{He} is in {his} {second|third|final} year at {school}",
    "Full-time {graduate|undergraduate} student",
    "{Pt} is enrolled full time at {school} and lives in student housing",
];
const EMP_UNDER: &[&str] = &[
    "{Pt} works part time as a {pjob} and is struggling to cover {his} bills",
    "Works two part-time jobs, as a {pjob} and a {pjob}, but still cannot make ends meet",
    "{He} picks up shifts as a {pjob} when available, but {his} hours were cut last month",
    "Employed as a {pjob} without sick leave and worried about losing income while hospitalized",
    "{Pt} reports {his} hours at work were reduced to {#10-20} per week and {he} is behind on bills",
    "Works as a {pjob} with irregular income that does not cover {his} expenses",
];
const EMP_UNEMPLOYED: &[&str] = &[
    "{Pt} is currently unemployed",
    "{He} was laid off from {his} job as {job} {#2-11} months ago and has not found new work",
    "Has been out of work since {month} and is living off unemployment benefits",
    "Not working at this time; lost {his} job at {a warehouse|a restaurant|the factory|a call center} earlier this year",
    "{Pt} has been unemployed for {#2-3} years and is looking for work",
    "Pt not working, looking for a job",
    "{Pt} lost {his} job as {job} in {month} and is currently unemployed",
];
const EMP_DISABILITY: &[&str] = &[
    "{Pt} has been on disability since {his} {stroke|back injury|car accident} in {#2008-2022}",
    "Receives SSDI and has not worked since {#2010-2022}",
    "Formerly worked as a {oldjob}; now on disability",
    "Used to work as a {oldjob} but has been on disability for the past {#2-12} years",
    "{Pt} is on {SSDI|SSI|long-term disability} because of chronic {back pain|seizures|PTSD}",
];
const HOUSING_POOR: &[&str] = &[
    "{Pt} lives in {public|subsidized|Section 8} housing",
    "{He} is worried about making {his} rent payments",
    "Reports being {#2-4} months behind on rent and received an eviction notice last week",
    "{Pt} states {he} cannot afford {his} {rent|mortgage} after a recent increase",
    "{His} utilities were shut off last month because {he} could not pay the bill",
    "Resides in a Section 8 apartment and is struggling to pay {his} share of the rent",
    "{Pt} applied for housing assistance because {his} rent went up to ${#1200-2400} a month",
    "{Pt} is {#1-3} months behind on {his} mortgage and fears foreclosure",
    "{He} recently received a shut-off notice from the electric company because {he} cannot pay",
];
const HOUSING_UNDOMICILED: &[&str] = &[
    "{Pt} is currently homeless",
    "{Pt} has been staying at {shelter} for the past {#2-10} weeks",
    "{He} is staying with a friend and does not have a mailing address",
    "Undomiciled, sleeping in {his} car for the last {#2-6} months",
    "Experiencing homelessness since {month}; stays at {shelter} most nights",
    "{Pt} was evicted in {month} and has been couch-surfing since",
    "{Pt} has no fixed address and sleeps {outside|in a tent|in the bus station} most nights",
];
const HOUSING_OTHER: &[&str] = &[
    "{Pt} is staying at a motel while on the waitlist for {an apartment|senior housing}",
    "{His} apartment has {mold|a bedbug infestation|no working heat}, and {he} is worried about returning there",
    "{Pt} lives on the {third|fourth} floor of a walk-up and can no longer manage the stairs",
    "{His} apartment has had no heat for {#2-5} weeks and the landlord has not made repairs",
    "{Pt} reports overcrowding at home, with {#7-10} people sharing a two-bedroom apartment",
    "{He} has been temporarily relocated to a hotel after a fire in {his} building",
];
const TRANSPORT_DISTANCE: &[&str] = &[
    "{Pt} lives {#30-120} miles from the hospital and finds the trip to appointments very hard",
    "{He} has to take {#2-3} buses each way to reach clinic because {he} lives so far away",
    "Coming to {city} for follow-up is hard for {him}, and {he} asked to be referred closer to home",
    "Lives over an hour away and is concerned about making daily trips for {infusions|wound care|radiation}",
    "{Pt} lives {#40-90} km away and would need to transfer three times to get to appointments",
];
const TRANSPORT_RESOURCE: &[&str] = &[
    "{Pt} missed {his} last {#2-3} appointments because {he} had no ride",
    "Does not own a car and cannot afford taxi fare to appointments",
    "{His} ride to clinic fell through, so {he} missed {his} follow-up",
    "{He} cannot afford gas to drive to {his} appointments",
    "No car, and {his} bus pass ran out, so {he} missed {his} {cardiology|PCP|pulmonary} appointment",
    "Pt not here last week, no ride",
    "{Pt} relies on public transit, and the fare is hard to manage on {his} fixed income",
];
const TRANSPORT_OTHER: &[&str] = &[
    "{Pt} is worried about making appointments because {his} bus route is under construction",
    "{He} is worried about the {two-hour|long} drive to follow-up appointments",
    "{Pt} has trouble tolerating the {#60-120}-minute car ride to clinic because of {his} back pain",
    "The paratransit van often arrives late, causing {him} to miss appointment times",
    "{He} can no longer drive after {his} {eye surgery|seizure|stroke} and is unsure how {he} will get to follow-up",
];
const PARENT_PLAIN: &[&str] = &[
    "{Pt} has {two|three} children, ages {#3-8} and {#9-16}",
    "{He} is the {parent} of {a#2-15}-year-old {son|daughter}",
    "Has {two|three} teenage children at home",
    "{Pt} has {a#6-11}-month-old baby",
    "{Pt} has {a#2-5}-year-old {son|daughter} and {a#7-12}-year-old {son|daughter}",
    "{He} has {a#10-17}-year-old {son|daughter} who lives with {him}",
];
const PARENT_YOUNG: &[&str] = &[
    "{Pt} has {two|three} young children, ages {#1-3} and {#4-7}",
    "{He} is the {parent} of {a#2-6}-year-old {son|daughter}",
    "{Pt} has {a#6-11}-month-old baby",
    "{He} has {a#3-8}-year-old {son|daughter} at home",
];
const PARENT_DIFFICULT: &[&str] = &[
    "{Pt} reports difficulty managing {his} {#13-16}-year-old son's behavior at home",
    "{Pt} is struggling to parent {his} {two|three} young children while ill",
    "Child protective services is involved with {his} {#4-9}-year-old {son|daughter}",
];
const REL_MARRIED: &[&str] = &[
    "{Pt} is married",
    "Married to {his} {spouse} of {#5-50} years",
    "{Pt} and {his} {spouse} live in {city}",
    "{He} is married with {two|three} grown children",
    "{Pt} and {his} {spouse} came to the ED together",
    "{He} has been married for {#3-45} years",
    "{Pt} has been happily married to {his} {spouse} since {#1975-2015}",
    "Lives with {his} {spouse} in a single-family home",
];
const REL_PARTNERED: &[&str] = &[
    "{Pt} lives with {his} {partner} of {#2-15} years",
    "{He} is in a long-term relationship with {his} {partner}",
    "{Pt} recently got engaged to {his} {fiance}",
    "{Pt} and {his} {partner} came in together",
    "{He} has a {partner} but they are not married",
];
const REL_DIVORCED: &[&str] = &[
    "{Pt} is divorced",
    "Divorced {#2-20} years ago",
    "{Pt} is married but has been separated from {his} {spouse} since {month}",
    "Has {two|three} adult kids from a former marriage",
    "{He} recently separated from {his} {spouse}",
    "{His} divorce was finalized in {month}",
];
const REL_WIDOWED: &[&str] = &[
    "{Pt} is widowed",
    "{His} {spouse} passed away {#2-10} years ago",
    "Widowed since {#1995-2022}",
    "{He} lost {his} {spouse} to cancer last {spring|year|winter}",
];
const REL_SINGLE: &[&str] = &[
    "{Pt} is single",
    "Never married",
    "{He} is single and has never been married",
    "Not currently in a relationship",
    "{Pt} is single and shares an apartment with {two|three} roommates",
];
const SUPPORT_PLUS: &[&str] = &[
    "{His} {helper} has been very supportive and checks on {him} daily",
    "{Pt} is currently living with {his} {helper} while receiving treatment",
    "{His} {helper} helps {him} with medications and drives {him} to appointments",
    "{Pt} has a strong support network of friends from {his} church",
    "Neighbors have been bringing meals and helping with groceries",
    "{His} {helper} will stay with {him} for the first two weeks after discharge",
    "{Pt} borrowed money from {his} {helper} to pay for {his} prescriptions",
    "{Pt} describes {his} {helper} as very caring and involved in {his} care",
    "{His} {helper} has come to the hospital every day to help {him}",
    "Friends from {his} {bowling league|choir|AA group|mosque|temple} check in on {him} regularly",
];
const SUPPORT_MINUS: &[&str] = &[
    "{Pt} reports having no one to help {him} at home after discharge",
    "{He} feels isolated and has little contact with {his} family",
    "No friends or family available to assist with care",
    "{Pt} is struggling to find someone to watch {his} dog while {he} is in the hospital",
    "{His} family lives {out of state|overseas} and is not involved in {his} care",
    "{Pt} states {he} has nobody to call in an emergency",
    "Estranged from {his} family, with no one to help during recovery",
];
const SUPPORT_MINUS_ALONE: &[&str] = &[
    "{Pt} lives alone",
    "Lives alone and has no family nearby",
    "{He} lives alone and has nobody to check on {him}",
];

/// A sentence that is evidence for two facts at once.
struct Combo {
    templates: &'static [&'static str],
    a: (Cat, &'static str),
    b: (Cat, &'static str),
}

const COMBOS: &[Combo] = &[
    Combo {
        templates: &[
            "{His} {spouse} is very supportive and manages {his} medications",
            "{Pt} lives with {his} {spouse}, who is {his} primary caregiver",
            "{Pt}'s {spouse} has taken time off work to help care for {him}",
        ],
        a: (Cat::Relationship, "married"),
        b: (Cat::Support, "plus"),
    },
    Combo {
        templates: &["{Pt} is divorced, and {his} {ex} still drives {him} to appointments"],
        a: (Cat::Relationship, "divorced"),
        b: (Cat::Support, "plus"),
    },
    Combo {
        templates: &[
            "Widowed and lives alone with no family nearby",
            "{Pt} lost {his} {spouse} last year and now has no one to help at home",
        ],
        a: (Cat::Relationship, "widowed"),
        b: (Cat::Support, "minus"),
    },
    Combo {
        templates: &[
            "{Pt} lost {his} job in {month} and is now {#2-4} months behind on rent",
            "Unemployed since {month} and worried {he} will not be able to pay the rent",
        ],
        a: (Cat::Employment, "unemployed"),
        b: (Cat::Housing, "poor"),
    },
    Combo {
        templates: &["Works part time as a {pjob} and is struggling to pay rent"],
        a: (Cat::Employment, "underemployed"),
        b: (Cat::Housing, "poor"),
    },
    Combo {
        templates: &[
            "{Pt} is a single {parent} raising {his} {#4-12}-year-old {son|daughter}",
            "Single {parent} of {two|three} children, ages {#3-7} and {#8-15}",
        ],
        a: (Cat::Relationship, "single"),
        b: (Cat::Parent, ""),
    },
    Combo {
        templates: &["{Pt} has no car and no one who can drive {him} to appointments"],
        a: (Cat::Transportation, "resource"),
        b: (Cat::Support, "minus"),
    },
    Combo {
        templates: &["{Pt} is a retired {oldjob} who lives with {his} {spouse} in {city}"],
        a: (Cat::Employment, "retired"),
        b: (Cat::Relationship, "married"),
    },
    Combo {
        templates: &["Unemployed and currently staying at {shelter}"],
        a: (Cat::Employment, "unemployed"),
        b: (Cat::Housing, "undomiciled"),
    },
    Combo {
        templates: &["{Pt} is divorced and now lives with {his} {partner}"],
        a: (Cat::Relationship, "divorced"),
        b: (Cat::Relationship, "partnered"),
    },
    Combo {
        templates: &[
            "{He} is on disability and also drives for a rideshare company to help cover the bills",
        ],
        a: (Cat::Employment, "disability"),
        b: (Cat::Employment, "underemployed"),
    },
];

// Unlabelled: negated screens (see the module docs for the rule).
const NEG_HOUSING: &[&str] = &[
    "Denies any difficulty affording rent or utilities",
    "{Pt} is not homeless",
    "No housing concerns {reported|identified}",
    "Housing is stable per {pt}",
];
const NEG_TRANSPORT: &[&str] = &[
    "No transportation barriers identified",
    "Denies difficulty getting to appointments",
    "Has reliable transportation to appointments",
    "{He} drove {himself} to the ED",
];
const NEG_EMPLOYMENT: &[&str] = &[
    "Denies any recent job loss",
    "{Pt} is not on disability",
    "Left {his} job years ago to stay home and care for the family",
];
const NEG_RELATIONSHIP: &[&str] = &[
    "Denies intimate partner violence and feels safe at home",
    "Denies intimate partner violence",
];
const NEG_SUPPORT: &[&str] = &[
    "Denies feeling isolated",
    "{Pt} is unaccompanied today",
    "Pt/family in agreement with the plan",
];
const NEG_PARENT: &[&str] = &["{Pt} has no children", "No children"];
const NEG_PARENT_OLD: &[&str] = &[
    "Has {two|three|four} adult children",
    "{His} grandchildren visit on weekends",
];

// Unlabelled: distractors.
const DISTRACT_OTHERS: &[&str] = &[
    "{His} {other} recently lost {ohis} job",
    "{His} {other} works as {job} in {city}",
    "{His} {other} was evicted last month and is looking for an apartment",
    "{His} {other} is going through a divorce",
    "{His} {other} has been homeless on and off for years",
    "{His} {other} is a college student",
];
const DISTRACT_PRESENCE: &[&str] = &[
    "Accompanied by {his} {kin} today",
    "{Pt} is accompanied by a friend",
    "{Pt} is unaccompanied today",
    "Spoke on the phone with pt's {kin}",
    "{His} {kin} is {his} HCP and can be reached at {phone}",
    "HCP: {his} {kin} ({phone})",
];
const DISTRACT_LIVING: &[&str] = &[
    "Lives in {city}",
    "Originally from {city}; moved to the area {#2-20} years ago",
    "Lives in {city} with {a dog|two cats|a cat}",
    "{Pt} lives in {city}",
];
const DISTRACT_ORIGIN: &[&str] = &["Originally from {city}", "{His} family is from {city}"];
const DISTRACT_LIVING_OLD: &[&str] = &[
    "Lives with {his} elderly {mother|father}, who is {#86-97}",
    "Lives a few doors down from {his} {kin}",
    "Lives in {city}",
    "Originally from {city}",
];

const SMOKING: &[&str] = &[
    "Never smoker",
    "Former smoker, quit {#2-30} years ago",
    "Smokes {1/2|1} ppd",
    "Denies tobacco",
    "{#5-30} pack-year history, quit in {#1995-2020}",
];
const SMOKING_COPD: &[&str] = &[
    "Former smoker, {#30-80} pack-years, quit {#2-15} years ago",
    "Current smoker, {1|1.5|2} ppd",
    "{#40-70} pack-year smoking history",
];
const ALCOHOL: &[&str] = &[
    "Drinks {#1-4} glasses of wine per week",
    "Denies EtOH",
    "Occasional EtOH",
    "Drinks {#2-6} beers on weekends",
    "No alcohol use",
];
const DRUGS: &[&str] = &[
    "Denies illicit drug use",
    "No IVDU",
    "Denies recreational drugs",
];
const HOBBIES: &[&str] = &[
    "Enjoys {gardening|fishing|crossword puzzles|walking {his} dog}",
    "Follows a low-sodium diet",
    "Walks {#2-3} miles most days",
];
const INSURANCE: &[&str] = &[
    "Insurance verified with case management",
    "Has prescription coverage through {his} insurance plan",
];

// ---------------------------------------------------------------------------------------------
// Clinical phrase banks.

const ADMISSION_TITLES: &[(&str, &str)] = &[
    ("ADMISSION H&P", "Admission H&P"),
    (
        "ADMISSION HISTORY AND PHYSICAL",
        "Admission history and physical",
    ),
    ("MEDICINE ADMISSION NOTE", "Medicine admission note"),
    ("Hospitalist Admission Note", "Hospitalist admission note"),
];
const DISCHARGE_TITLES: &[(&str, &str)] = &[
    ("DISCHARGE SUMMARY", "Discharge summary"),
    ("Hospital Discharge Summary", "Hospital discharge summary"),
    ("MEDICINE DISCHARGE SUMMARY", "Medicine discharge summary"),
];
const SOCIAL_WORK_TITLES: &[(&str, &str)] = &[
    ("SOCIAL WORK ASSESSMENT", "Social work assessment"),
    ("Social Work Note", "Social work note"),
    ("SW PSYCHOSOCIAL ASSESSMENT", "SW psychosocial assessment"),
    (
        "Social Work – Discharge Planning",
        "Social work discharge planning note",
    ),
];

const PREDIABETES: usize = 10;
const ASTHMA: usize = 11;
/// Unlabelled chronic problems: (short name, PMH entry, plan line).
const FILLER_PMH: &[(&str, &str, &str)] = &[
    (
        "HTN",
        "Hypertension",
        "# HTN: continue home {amlodipine|lisinopril|losartan}",
    ),
    ("HLD", "Hyperlipidemia", "# HLD: continue atorvastatin"),
    (
        "CAD s/p PCI",
        "CAD s/p PCI to the {LAD|RCA} ({#2008-2022})",
        "# CAD: continue aspirin and statin",
    ),
    (
        "AFib",
        "Paroxysmal atrial fibrillation on apixaban",
        "# AFib: rate controlled, continue apixaban",
    ),
    (
        "CKD 3",
        "CKD stage {3a|3b}, baseline Cr {1.4|1.5|1.6}",
        "# CKD 3: renally dose meds",
    ),
    (
        "hypothyroidism",
        "Hypothyroidism",
        "# Hypothyroidism: continue levothyroxine",
    ),
    ("GERD", "GERD", "# GERD: continue PPI"),
    ("OSA", "OSA on CPAP", "# OSA: CPAP qHS"),
    (
        "depression",
        "Depression",
        "# Depression: continue sertraline",
    ),
    (
        "osteoarthritis",
        "Osteoarthritis of the {knees|hips}",
        "# OA: acetaminophen PRN, avoid NSAIDs",
    ),
    (
        "prediabetes",
        "Prediabetes (A1c {5.8|6.0|6.2|6.3}%)",
        "# Prediabetes: lifestyle counseling",
    ),
    (
        "asthma",
        "Mild intermittent asthma",
        "# Asthma: albuterol PRN",
    ),
    ("gout", "Gout", "# Gout: continue allopurinol"),
    (
        "anemia",
        "Iron-deficiency anemia",
        "# Anemia: stable, continue iron",
    ),
];

const PMH_SHORT_HF: &str = "{{hft}|CHF|{hft}|heart failure}";
const PMH_SHORT_DM: &str = "{T2DM|DM2|type 2 diabetes|IDDM}";
const PMH_SHORT_COPD: &str = "{COPD|emphysema|COPD on home O2}";
const PMH_LONG_HF: &[&str] = &["{hflong}"];
const PMH_LONG_DM: &[&str] = &[
    "Type 2 diabetes mellitus",
    "DM2 on insulin",
    "Insulin-dependent diabetes",
    "T2DM (A1c {#7-11}.{#0-9}%)",
];
const PMH_LONG_COPD: &[&str] = &[
    "COPD",
    "COPD on {#2-4} L home O2",
    "Severe emphysema (COPD)",
    "COPD, GOLD {2|3|4}",
];

const HPI_HF_ACUTE: &[&str] = &[
    "{He} reports progressive orthopnea and {#2-6} kg weight gain, consistent with acute decompensated heart failure",
    "BNP was elevated and CXR showed pulmonary edema, c/w CHF exacerbation",
    "Presents in volume overload from acute on chronic {hfsys} heart failure after running out of {his} diuretics",
];
const HPI_SEPSIS: &[&str] = &[
    "In the ED {he} was febrile, tachycardic and hypotensive with an elevated lactate, meeting criteria for sepsis from {source}",
    "{He} was found to be in septic shock from {source} requiring norepinephrine",
    "Admitted with sepsis secondary to {source}; blood cultures drawn and broad-spectrum antibiotics started",
];
const HPI_PNA: &[&str] = &[
    "CXR showed a {side} lower lobe consolidation consistent with pneumonia",
    "Diagnosed with community-acquired pneumonia (CAP) based on fever, productive cough and a new infiltrate",
    "{He} reports productive cough and fever; imaging confirmed {side} lower lobe pneumonia",
];
const HPI_AKI: &[&str] = &[
    "Labs notable for Cr {0.8|0.9|1.0} → {#2-4}.{#0-9}, consistent with acute kidney injury",
    "Found to have AKI, likely prerenal in the setting of {poor PO intake|vomiting|NSAID use|overdiuresis}",
    "Creatinine doubled from baseline, c/w AKI",
];
const HPI_DM: &[&str] = &[
    "Glucose {#250-480} on arrival in the setting of missed insulin doses for {his} diabetes",
    "{His} type 2 diabetes has been poorly controlled, with home glucose readings in the 300s",
];
const HPI_COPD_ACUTE: &[&str] = &[
    "{He} reports increased sputum production and wheezing, consistent with a COPD exacerbation",
    "Presents with acute exacerbation of COPD after a viral URI",
];

const CC_DX: [&[&str]; 6] = [
    &[
        "Shortness of breath and leg swelling",
        "Dyspnea on exertion",
        "Weight gain and orthopnea",
    ],
    &["Fever and confusion", "Hypotension", "Fevers, rigors"],
    &[
        "Cough and fever",
        "Productive cough",
        "Shortness of breath, fever",
    ],
    &[
        "Abnormal labs",
        "Decreased urine output",
        "Nausea and poor PO intake",
    ],
    &["Hyperglycemia"],
    &[
        "Wheezing and shortness of breath",
        "Worsening dyspnea",
        "Increased sputum",
    ],
];

const AP_DX: &[&[&str]; 6] = &[
    &[
        "# Acute on chronic {hfsys} heart failure: IV furosemide {40|80} mg BID, strict I/Os, daily weights",
        "# CHF exacerbation: diurese with IV furosemide, fluid restriction 1.5 L, TTE",
        "# Chronic {hft}: euvolemic, continue home {carvedilol and torsemide|diuretic regimen}",
    ],
    &[
        "# Sepsis {secondary to|2/2} {source}: blood cx x2, {vancomycin/cefepime|pip-tazo|ceftriaxone}, 30 mL/kg IVF",
        "# Septic shock from {source}: norepinephrine to MAP ≥ 65, broad-spectrum abx, trend lactate",
    ],
    &[
        "# {CAP|Community-acquired pneumonia|{Side} lower lobe pneumonia}: ceftriaxone + azithromycin, sputum cx",
        "# Pneumonia: {ceftriaxone/azithro|levofloxacin}, incentive spirometry",
    ],
    &[
        "# AKI: likely prerenal; hold lisinopril, IVF, renally dose meds, trend Cr",
        "# Acute kidney injury: UA, renal US, avoid nephrotoxins",
    ],
    &[
        "# T2DM: hold metformin, insulin sliding scale, A1c",
        "# Diabetes mellitus type 2: basal-bolus insulin, diabetic diet",
    ],
    &[
        "# COPD exacerbation: prednisone 40 mg x5d, DuoNebs q6h, azithromycin",
        "# COPD: continue home inhalers, titrate O2 to 88–92%",
    ],
];

const COURSE_DX: &[&[&str]; 6] = &[
    &[
        "# Acute on chronic {hft}: diuresed with IV furosemide, net negative {#3-9} L; transitioned to oral torsemide on HD #{hd}",
        "# CHF exacerbation: improved with IV diuresis; discharge weight {#62-110} kg",
        "# Chronic heart failure: euvolemic throughout; home GDMT continued",
    ],
    &[
        "# Sepsis due to {source}: treated with {vancomycin/cefepime|pip-tazo|ceftriaxone}; lactate cleared by HD #{hd}",
        "# Septic shock: required norepinephrine for {#1-3} days; blood cultures {grew E. coli|were negative}",
    ],
    &[
        "# Pneumonia: treated with {ceftriaxone and azithromycin|levofloxacin|IV antibiotics}, with improvement in O2 requirement",
        "# CAP: ceftriaxone → oral cefpodoxime; weaned to room air on HD #{hd}",
    ],
    &[
        "# AKI: Cr peaked at {#2-4}.{#0-9} and improved to {1.1|1.2|1.3} with IV fluids",
        "# Acute kidney injury, prerenal: resolved with hydration; lisinopril held at discharge",
    ],
    &[
        "# T2DM: managed with insulin sliding scale; home metformin resumed at discharge",
        "# Diabetes: glucose 140–220 on basal-bolus insulin; A1c {#7-11}.{#0-9}%",
    ],
    &[
        "# COPD exacerbation: prednisone and nebulizers; back to baseline O2 by HD #{hd}",
        "# COPD: stable on home inhalers",
    ],
];

const DISCHARGE_DX: &[&[&str]; 6] = &[
    &[
        "Acute on chronic heart failure with {hfef} ejection fraction",
        "CHF exacerbation",
        "Chronic {hfsys} heart failure",
    ],
    &["Sepsis due to {source}", "Septic shock", "Sepsis, resolved"],
    &[
        "Community-acquired pneumonia",
        "{Side} lower lobe pneumonia",
        "Pneumonia",
    ],
    &[
        "Acute kidney injury, resolved",
        "AKI (prerenal)",
        "Acute kidney injury",
    ],
    &[
        "Type 2 diabetes mellitus",
        "Diabetes mellitus type 2, uncontrolled",
        "T2DM",
    ],
    &[
        "COPD with acute exacerbation",
        "Acute exacerbation of COPD",
        "COPD",
    ],
];

const SW_DX: [&[&str]; 6] = [
    &["a heart failure exacerbation", "CHF"],
    &["sepsis", "sepsis from {source}"],
    &["pneumonia", "community-acquired pneumonia"],
    &["acute kidney injury", "AKI"],
    &["uncontrolled diabetes"],
    &["a COPD exacerbation", "COPD exacerbation"],
];

/// A non-labelled reason for admission.
struct Reason {
    cc: &'static str,
    hpi: &'static str,
    plan: &'static str,
    final_dx: &'static str,
}

const OTHER_REASONS: &[Reason] = &[
    Reason {
        cc: "{Left|Right} leg redness and swelling",
        hpi: "{He} reports {#3-5} days of spreading erythema of the {left|right} lower leg",
        plan: "# Lower-extremity cellulitis: cefazolin, elevate leg, mark borders",
        final_dx: "Cellulitis of the lower extremity",
    },
    Reason {
        cc: "Black stools",
        hpi: "{He} reports {#2-4} days of melena and lightheadedness; Hgb {#6-8}.{#0-9} on arrival",
        plan: "# Upper GI bleed: IV PPI, GI consulted for EGD, transfuse for Hgb < 7",
        final_dx: "Upper GI bleed from a gastric ulcer",
    },
    Reason {
        cc: "Syncope",
        hpi: "{He} had a witnessed syncopal episode at home without prodrome",
        plan: "# Syncope: telemetry, orthostatics, TTE",
        final_dx: "Syncope, likely orthostatic",
    },
    Reason {
        cc: "Fall",
        hpi: "{He} sustained a mechanical fall at home; XR showed a {left|right} femoral neck fracture",
        plan: "# Hip fracture: ortho consulted, plan for ORIF",
        final_dx: "Hip fracture s/p ORIF",
    },
    Reason {
        cc: "Chest pain",
        hpi: "{He} reports substernal chest pressure radiating to the left arm",
        plan: "# Chest pain: serial troponins, ECG, stress test",
        final_dx: "Chest pain, ACS excluded",
    },
    Reason {
        cc: "Palpitations",
        hpi: "{He} was found to be in atrial fibrillation with RVR to {#130-165}",
        plan: "# AFib with RVR: diltiazem, anticoagulation",
        final_dx: "Atrial fibrillation with rapid ventricular response",
    },
    Reason {
        cc: "Abdominal pain",
        hpi: "{He} reports epigastric pain radiating to the back; lipase {#600-3000}",
        plan: "# Acute pancreatitis: IVF, pain control, advance diet as tolerated",
        final_dx: "Acute pancreatitis",
    },
    Reason {
        cc: "Shortness of breath",
        hpi: "CTA chest showed a {left|right} segmental pulmonary embolism",
        plan: "# Pulmonary embolism: heparin gtt → apixaban",
        final_dx: "Pulmonary embolism",
    },
    Reason {
        cc: "Dysuria and flank pain",
        hpi: "{He} reports dysuria and {left|right} flank pain; UA with pyuria",
        plan: "# Pyelonephritis: ceftriaxone, f/u urine culture",
        final_dx: "Acute pyelonephritis",
    },
    Reason {
        cc: "Confusion",
        hpi: "Na was {#115-124} on arrival",
        plan: "# Hyponatremia: fluid restriction, trend Na q6h",
        final_dx: "Hyponatremia",
    },
];

const PRIOR_ADMISSION: &str = "Of note, {he} had a prior admission in {#2015-2020} for {a hip fracture|a GI bleed|cellulitis} lasting {#9-21} days";

const FH_HF: &[&str] = &[
    "{Mother|Father} had heart failure",
    "Family history of heart failure in {his} {mother|father}",
];
const FH_DM: &[&str] = &[
    "Family history of diabetes in {his} {mother|father}",
    "{Mother|Father|Sister} with prediabetes",
];
const FH_COPD: &[&str] = &[
    "Family history of COPD in {his} father",
    "{Father|Mother} had COPD",
];
const FH_OTHER: &[&str] = &[
    "Noncontributory",
    "{Mother|Father} with {breast cancer|colon cancer|CAD|hypertension}",
    "No family history of early cardiac death",
];

const NEG_DX_HF: &[&str] = &[
    "{He} has no history of heart failure",
    "Recent TTE with EF {#55-68}%, no evidence of heart failure",
];
const NEG_DX_SEPSIS: &[&str] = &[
    "Sepsis was considered but ruled out",
    "Does not meet sepsis criteria",
];
const NEG_DX_PNA: &[&str] = &[
    "Pneumonia was considered but ruled out",
    "CXR clear, no evidence of pneumonia",
];
const NEG_DX_AKI: &[&str] = &["Renal function at baseline", "Cr stable, no AKI"];
const NEG_DX_DM: &[&str] = &[
    "{He} has no history of diabetes",
    "A1c {5.1|5.3|5.4|5.6}%, no history of diabetes",
];
const NEG_DX_COPD: &[&str] = &[
    "{He} has no history of COPD",
    "PFTs {#2-5} years ago were normal; no history of COPD",
];

const NOT_DYING: &[&str] = &[
    "Goals of care were discussed with palliative care, and {he} elected to remain full code",
    "Comfort measures were discussed, but {he} wished to continue full treatment",
    "Hospice was offered and declined; {he} wished to continue full treatment",
];
const DEATH: &[&str] = &[
    "Despite maximal therapy {his} condition continued to decline, and after a family meeting on HD #{hd} {he} was transitioned to comfort measures only",
    "{He} developed refractory shock despite escalating vasopressor support; goals of care were readdressed with the family and the focus changed to comfort",
    "On HD #{hd} {he} became progressively hypoxic and obtunded; per {his} documented wishes, care was transitioned to comfort measures",
];
const DEATH_TIME: &[&str] = &[
    "{He} expired on {discharge} at {time} with family at the bedside",
    "{He} was pronounced dead at {time} on {discharge}",
    "{He} passed away peacefully in hospital on {discharge}",
];

const MEDS_HF: &[&str] = &[
    "furosemide {20|40} mg PO daily",
    "carvedilol {6.25|12.5|25} mg BID",
    "sacubitril-valsartan 24/26 mg BID",
    "spironolactone 25 mg daily",
    "torsemide {20|40} mg daily",
];
const MEDS_DM: &[&str] = &[
    "metformin {500|1000} mg BID",
    "insulin glargine {#10-40} units qHS",
    "empagliflozin 10 mg daily",
];
const MEDS_COPD: &[&str] = &[
    "tiotropium 18 µg inhaled daily",
    "albuterol 90 µg/puff, 2 puffs q4h PRN",
    "fluticasone-salmeterol 250/50 µg BID",
];
const MEDS_GENERIC: &[&str] = &[
    "lisinopril {10|20} mg daily",
    "atorvastatin {20|40|80} mg qHS",
    "aspirin 81 mg daily",
    "levothyroxine {50|75|100} µg daily",
    "omeprazole 20 mg daily",
    "amlodipine {5|10} mg daily",
    "sertraline 50 mg daily",
    "vitamin B12 1000 µg daily",
    "acetaminophen 650 mg q6h PRN",
    "apixaban 5 mg BID",
];
const MEDS_ANTIBIOTIC: &[&str] = &[
    "amoxicillin-clavulanate 875 mg BID x {#3-5} more days",
    "cefpodoxime 200 mg BID to complete a {5|7}-day course",
];

const SW_ASSESSMENT: &[&str] = &[
    "Pt is alert, engaged and appropriate, and appears to be coping with {his} illness",
    "Pt presents as anxious but receptive to SW involvement",
    "Pt verbalized understanding of the discharge plan",
    "Pt is tearful at times but future-oriented",
];
const SW_COPING: &[&str] = &[
    "Pt denies SI/HI",
    "Reports low mood since {his} diagnosis; no prior psychiatric history",
    "PHQ-2 negative",
    "Pt uses humor and faith to cope",
    "Endorses anxiety about the hospitalization; open to outpatient counseling",
    "History of depression, followed by {his} PCP; currently on sertraline",
    "Sleeping and eating well per pt",
];
const SW_BACKGROUND: &[&str] = &[
    "Pt is {Spanish|Portuguese|Haitian Creole|Cantonese|Vietnamese}-speaking; a medical interpreter was used for this assessment",
    "Pt is English-speaking and was able to participate fully in the assessment",
    "Pt identifies as {Catholic|Muslim|Baptist|Jewish|spiritual but not religious} and finds {his} faith meaningful",
    "Highest level of education: {high school|some college|bachelor's degree|8th grade}",
    "Pt was pleasant and forthcoming, and gave permission for SW to speak with the team",
    "Pt was seen following a referral from the medical team for psychosocial assessment",
];
const SW_ACP: &[&str] = &[
    "Pt has a completed HCP form on file",
    "Pt has not completed an HCP form; SW provided the form and explained its purpose",
    "MOLST reviewed with pt; no changes requested",
    "Pt declined to discuss advance directives today",
];
const COURSE_INTRO: &[&str] = &[
    "{Pt} was admitted to the {medicine service|hospitalist service|ICU|step-down unit} on {admit}",
    "Brief summary by problem below",
    "{Pt} was admitted from the ED for further management",
];
const INSTRUCTIONS: &[&str] = &[
    "Return to the ED for fever > 38.5 °C, chest pain, or worsening shortness of breath",
    "Resume your usual activity as tolerated",
    "Take all medications as listed above",
    "Call your PCP with any questions",
    "Diet: {regular|low sodium|heart healthy}",
];
const HPI_EXTRA: &[&str] = &[
    "{He} denies chest pain, syncope or recent travel",
    "No recent sick contacts",
    "In the ED {he} received {1 L NS|acetaminophen|IV ondansetron|a nebulizer treatment}",
    "{He} endorses decreased appetite and fatigue",
    "Symptoms have been gradually worsening",
    "{He} has been adherent to {his} medications per {his} report",
];
const SW_PLAN: &[&str] = &[
    "SW will continue to follow while {he} is in hospital",
    "Provided SW contact information and reviewed how to reach SW after hours",
    "Will coordinate with case management regarding the discharge plan and services",
    "SW available for further support as needed",
    "Team updated",
];

#[cfg(test)]
mod tests;
