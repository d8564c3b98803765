//! Every figure here is checked against an independent source: the fixtures' metrics.json
//! (scikit-learn 1.9.1, scipy 1.17.1, rouge-score 0.1.2), rouge-score with its stemmer
//! (xtask/src/rouge_stemmer_reference.py), NLTK's Porter stemmer, or a case worked by hand.

use serde_json::Value;

use super::bootstrap::{
    BootstrapConfig, paired_permutation_p_values, percentile, percentile_intervals,
};
use super::classification::{
    best_f1_threshold, cohen_kappa, f1_summary, label_auroc, label_counts, macro_auroc,
};
use super::dpo::{PairRewards, reward_summary};
use super::porter::stem;
use super::rouge::{rouge, tokenize};
use super::significance::mcnemar_exact;
use super::spans::{LabelledSpan, span_report};
use crate::testing::json;

fn close(ours: f64, theirs: f64, what: &str) {
    assert!(
        (ours - theirs).abs() < 1e-12,
        "{what}: ours {ours}, reference {theirs}"
    );
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn flags(v: &Value) -> Vec<Vec<bool>> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|row| row.as_array().unwrap().iter().map(|x| x == 1).collect())
        .collect()
}

#[test]
fn multilabel_f1_matches_scikit_learn_with_zero_division_0() {
    let m = &json("metrics.json")["multilabel"];
    let (gold, predicted) = (flags(&m["y_true"]), flags(&m["y_pred"]));
    let rows = gold
        .iter()
        .zip(&predicted)
        .map(|(g, p)| (g.as_slice(), p.as_slice()));
    let counts = label_counts(rows, 6);
    let summary = f1_summary(&counts);
    for (l, s) in summary.per_label.iter().enumerate() {
        close(s.precision, floats(&m["precision"])[l], "precision");
        close(s.recall, floats(&m["recall"])[l], "recall");
        close(s.f1, floats(&m["f1"])[l], "f1");
        assert_eq!(counts[l].support(), m["support"][l].as_u64().unwrap());
    }
    close(
        summary.macro_f1,
        m["f1_macro"].as_f64().unwrap(),
        "macro F1",
    );
    close(
        summary.micro_f1,
        m["f1_micro"].as_f64().unwrap(),
        "micro F1",
    );
}

#[test]
fn auroc_matches_scikit_learn_with_ties_and_skips_single_class_labels() {
    let m = &json("metrics.json")["multilabel"];
    let gold = flags(&m["y_true"]);
    let scores: Vec<Vec<f64>> = m["scores"].as_array().unwrap().iter().map(floats).collect();
    let per_label: Vec<Option<f64>> = (0..6)
        .map(|l| label_auroc(gold.iter().zip(&scores).map(|(g, s)| (g[l], s[l]))))
        .collect();
    for (ours, theirs) in per_label
        .iter()
        .zip(m["auroc_per_label"].as_array().unwrap())
    {
        match (ours, theirs.as_f64()) {
            (Some(a), Some(b)) => close(*a, b, "auroc"),
            (None, None) => {}
            other => panic!("defined differently: {other:?}"),
        }
    }
    let expected = m["auroc_macro_skip_single_class"].as_f64().unwrap();
    close(macro_auroc(&per_label).unwrap(), expected, "macro AUROC");
}

#[test]
fn cohen_kappa_matches_scikit_learn_on_three_classes() {
    let k = &json("metrics.json")["cohen_kappa"];
    let a: Vec<u64> = k["a"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap())
        .collect();
    let b: Vec<u64> = k["b"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap())
        .collect();
    close(
        cohen_kappa(&a, &b).unwrap(),
        k["kappa"].as_f64().unwrap(),
        "kappa",
    );
    // Hand-worked: both raters always answer the same single class, so chance agreement is 1.
    assert_eq!(cohen_kappa(&[1, 1, 1], &[1, 1, 1]), None);
}

#[test]
fn mcnemar_exact_matches_scipy_binomtest() {
    for case in json("metrics.json")["mcnemar_exact"].as_array().unwrap() {
        let (b, c) = (case["b"].as_u64().unwrap(), case["c"].as_u64().unwrap());
        close(
            mcnemar_exact(b, c),
            case["p_two_sided"].as_f64().unwrap(),
            "McNemar p",
        );
    }
    assert_eq!(mcnemar_exact(0, 0), 1.0);
    // Hand-worked without underflow: b = 2000, c = 0 gives 2 · 2^-2000, far below f64's range
    // as a product but still a valid (zero-rounded) probability; b = c gives 1.
    assert!((0.0..1e-300).contains(&mcnemar_exact(2000, 0)));
    assert_eq!(mcnemar_exact(1500, 1500), 1.0);
}

#[test]
fn rouge_without_stemmer_matches_rouge_score() {
    for case in json("metrics.json")["rouge"].as_array().unwrap() {
        let reference = case["reference"].as_str().unwrap();
        let prediction = case["prediction"].as_str().unwrap();
        let ours = rouge(reference, prediction, false);
        for (name, score) in [
            ("rouge1", ours.rouge1),
            ("rouge2", ours.rouge2),
            ("rougeL", ours.rouge_l),
        ] {
            close(score.precision, case[name]["p"].as_f64().unwrap(), name);
            close(score.recall, case[name]["r"].as_f64().unwrap(), name);
            close(score.fmeasure, case[name]["f"].as_f64().unwrap(), name);
        }
    }
}

#[test]
fn rouge_with_stemmer_matches_rouge_score() {
    // F-measures printed by xtask/src/rouge_stemmer_reference.py (rouge-score 0.1.2,
    // use_stemmer=True, nltk 3.10.4) for the same pairs.
    let cases: [(&str, &str, [f64; 3]); 5] = [
        (
            "Patient was diuresed with IV furosemide and discharged home on oral furosemide.",
            "The patient received IV furosemide for diuresis and went home on oral furosemide.",
            [0.64, 0.34782608695652173, 0.64],
        ),
        (
            "She reports smoking two packs daily and drinking heavily on weekends.",
            "Smokes 2 packs a day; drinks heavily at the weekend.",
            [
                0.47619047619047616,
                0.10526315789473685,
                0.47619047619047616,
            ],
        ),
        (
            "Lives with supportive family members; daughters assist with medications.",
            "Living with her supportive daughter, who assisted with medication management.",
            [0.7368421052631577, 0.35294117647058826, 0.7368421052631577],
        ),
        (
            "Evicted from his apartment, currently staying in shelters and struggling with housing.",
            "He was evicted and stays at a shelter while he struggles to find housing.",
            [0.4615384615384615, 0.0, 0.3846153846153846],
        ),
        (
            "Denies difficulties affording medications; transportation arranged by the clinic.",
            "Denied difficulty with affordability of medication and arranged transport.",
            [0.6666666666666666, 0.125, 0.5555555555555556],
        ),
    ];
    for (reference, prediction, [r1, r2, rl]) in cases {
        let ours = rouge(reference, prediction, true);
        close(ours.rouge1.fmeasure, r1, "rouge1");
        close(ours.rouge2.fmeasure, r2, "rouge2");
        close(ours.rouge_l.fmeasure, rl, "rougeL");
    }
}

#[test]
fn porter_stems_as_nltk_default_mode() {
    // NLTK 3.10.4 `PorterStemmer().stem(word)`; our stemmer also agreed with it on all 688,068
    // distinct lower-case words of the SHADR data, the Debian docs and a Python tree.
    let cases = [
        ("caresses", "caress"),
        ("ponies", "poni"),
        ("ties", "tie"),
        ("cats", "cat"),
        ("agreed", "agre"),
        ("feed", "feed"),
        ("plastered", "plaster"),
        ("motoring", "motor"),
        ("hopping", "hop"),
        ("falling", "fall"),
        ("filing", "file"),
        ("happy", "happi"),
        ("enjoy", "enjoy"),
        ("relational", "relat"),
        ("radically", "radic"),
        ("analogously", "analog"),
        ("dying", "die"),
        ("skies", "sky"),
        ("medications", "medic"),
        ("diuresed", "diures"),
        ("evicted", "evict"),
        ("controlling", "control"),
        ("generalization", "gener"),
        ("y", "y"),
    ];
    for (word, expected) in cases {
        assert_eq!(stem(word), expected, "{word}");
    }
}

#[test]
fn tokenizer_keeps_only_lowercase_ascii_letters_and_digits() {
    // Hand-worked from rouge-score's tokenize(): "É" lower-cases to "é", which is not a-z.
    assert_eq!(
        tokenize("Na+ 135; BP 120/80, Éva's", false),
        ["na", "135", "bp", "120", "80", "va", "s"]
    );
    assert!(tokenize("—!?", true).is_empty());
    // Both empty: every score is 0, as rouge-score gives.
    assert_eq!(rouge("", "...", true).rouge_l.fmeasure, 0.0);
}

fn span(label: &str, start: usize, end: usize) -> LabelledSpan {
    LabelledSpan {
        label: label.to_owned(),
        start,
        end,
    }
}

#[test]
fn span_scores_count_exact_and_overlapping_matches_per_side() {
    // Hand-worked. Document 1: gold DRUG 0..5 and DRUG 10..20, HOUSING 30..40;
    // predicted DRUG 0..5 (exact), DRUG 12..25 (overlaps 10..20), HOUSING 40..45 (touches
    // 30..40 only at its end: no overlap), HOUSING 0..5 (overlaps only a DRUG span).
    // Document 2: gold DRUG 0..3, nothing predicted.
    let doc1_gold = [
        span("DRUG", 0, 5),
        span("DRUG", 10, 20),
        span("HOUSING", 30, 40),
    ];
    let doc1_pred = [
        span("DRUG", 0, 5),
        span("DRUG", 12, 25),
        span("HOUSING", 40, 45),
        span("HOUSING", 0, 5),
    ];
    let doc2_gold = [span("DRUG", 0, 3)];
    let report = span_report([(&doc1_gold[..], &doc1_pred[..]), (&doc2_gold[..], &[][..])]);

    // DRUG exact: 1 of 2 predicted right, 1 of 3 gold found → P 1/2, R 1/3, F1 2/5.
    let drug = report.per_label["DRUG"];
    let s = drug.exact.scores();
    close(s.precision, 0.5, "P");
    close(s.recall, 1.0 / 3.0, "R");
    close(s.f1, 0.4, "F1");
    // DRUG overlap: 2 of 2 predicted, 2 of 3 gold → P 1, R 2/3, F1 0.8.
    let s = drug.overlap.scores();
    close(s.precision, 1.0, "P");
    close(s.recall, 2.0 / 3.0, "R");
    close(s.f1, 0.8, "F1");
    // HOUSING: nothing matches either way.
    assert_eq!(report.per_label["HOUSING"].overlap.scores().f1, 0.0);
    // Pooled exact: 1 of 4 predicted, 1 of 4 gold → 0.25 each; overlap: 2/4 and 2/4 → 0.5.
    close(report.all.exact.scores().f1, 0.25, "micro exact");
    close(report.all.overlap.scores().f1, 0.5, "micro overlap");
}

#[test]
fn dpo_reward_accuracy_counts_ties_as_wrong_and_margin_is_the_mean_gap() {
    // Hand-worked: gaps 0.5, -0.25, 0 → accuracy 1/3 (a tie is wrong, as TRL's strict `>`),
    // margin 0.25 / 3.
    let pairs = [
        PairRewards {
            chosen: 1.0,
            rejected: 0.5,
        },
        PairRewards {
            chosen: 0.25,
            rejected: 0.5,
        },
        PairRewards {
            chosen: 0.0,
            rejected: 0.0,
        },
    ];
    let s = reward_summary(&pairs).unwrap();
    close(s.accuracy, 1.0 / 3.0, "accuracy");
    close(s.margin, 0.25 / 3.0, "margin");
    assert_eq!(reward_summary(&[]), None);
}

#[test]
fn percentile_interpolates_linearly_as_numpy() {
    // numpy.percentile([1, 2, 3, 4], 2.5) = 1.075 and (…, 97.5) = 3.925.
    close(
        percentile(&[1.0, 2.0, 3.0, 4.0], 2.5).unwrap(),
        1.075,
        "2.5th",
    );
    close(
        percentile(&[1.0, 2.0, 3.0, 4.0], 97.5).unwrap(),
        3.925,
        "97.5th",
    );
    assert_eq!(percentile(&[], 50.0), None);
}

fn mean_of(values: &[f64], indices: &[usize]) -> f64 {
    indices.iter().map(|&i| values[i]).sum::<f64>() / indices.len() as f64
}

#[test]
fn bootstrap_is_deterministic_per_seed_and_covers_the_resampling_distribution() {
    let values = [0.0, 1.0];
    let config = BootstrapConfig {
        resamples: 2000,
        seed: 7,
    };
    let run = |config: &BootstrapConfig| {
        percentile_intervals(2, config, |idx| vec![Some(mean_of(&values, idx)), None])
    };
    let first = run(&config);
    assert_eq!(first, run(&config), "same seed, same intervals");
    // Hand-worked: a resample's mean is 0, ½ or 1 with probability ¼, ½, ¼, so with 2,000
    // resamples the 2.5th percentile is 0 and the 97.5th is 1; a statistic never defined has
    // no interval.
    let interval = first[0].unwrap();
    assert_eq!((interval.low, interval.high), (0.0, 1.0));
    assert_eq!(first[1], None);

    // A different seed draws different resamples: on 50 distinct values the bounds move.
    let many: Vec<f64> = (0..50).map(f64::from).collect();
    let bounds = |seed| {
        percentile_intervals(
            50,
            &BootstrapConfig {
                resamples: 200,
                seed,
            },
            |idx| vec![Some(mean_of(&many, idx))],
        )
    };
    assert_ne!(bounds(1), bounds(2));
    // The interval of a mean of 0..49 (24.5, standard error ≈ 14.4/√50 ≈ 2.04) spans about
    // ±4 around it.
    let i = bounds(1)[0].unwrap();
    assert!(
        i.low > 19.0 && i.low < 22.5 && i.high > 26.5 && i.high < 30.0,
        "{i:?}"
    );
}

#[test]
fn paired_permutation_test_matches_the_exact_sign_flip_distribution() {
    // Hand-worked: A is right on all 5 items and B on none. Swapping items flips their sign,
    // so |difference| is 1 only when none or all are swapped: p = 2/32 = 0.0625.
    let a = [1.0; 5];
    let b = [0.0; 5];
    let difference = |swapped: &[bool]| {
        let d = swapped
            .iter()
            .zip(a.iter().zip(&b))
            .map(|(&s, (&x, &y))| if s { y - x } else { x - y })
            .sum::<f64>()
            / 5.0;
        vec![Some(d), None]
    };
    let config = BootstrapConfig {
        resamples: 20_000,
        seed: 3,
    };
    let p = paired_permutation_p_values(5, &config, difference);
    assert!((p[0].unwrap() - 0.0625).abs() < 0.01, "p = {p:?}");
    assert_eq!(p[1], None, "undefined observed difference, no p-value");
    // Identical systems: every permutation is as extreme, p = 1.
    assert_eq!(
        paired_permutation_p_values(5, &config, |_| vec![Some(0.0)]),
        [Some(1.0)]
    );
}

#[test]
fn best_f1_threshold_cuts_between_scores_and_prefers_fewer_positives_on_ties() {
    // Worked by hand: cuts 0.9 (F1 2/3), 0.8 (F1 1), 0.4 (F1 0.8), 0.2 (F1 4/6).
    let scores = [0.9, 0.8, 0.4, 0.2];
    let gold = [true, true, false, false];
    let (t, f1) = best_f1_threshold(&scores, &gold).unwrap();
    close(t, 0.6, "threshold between 0.8 and 0.4");
    close(f1, 1.0, "f1");
    // Equal scores fall together: 0.5 twice, one positive and one negative.
    let (t, f1) = best_f1_threshold(&[0.5, 0.5, 0.1], &[true, false, false]).unwrap();
    close(t, 0.3, "threshold below the tied pair");
    close(f1, 2.0 / 3.0, "f1 of the tied cut");
    // The lowest score as the best cut: halfway down to 0.
    let (t, _) = best_f1_threshold(&[0.3, 0.2], &[true, true]).unwrap();
    close(t, 0.1, "everything positive");
    assert_eq!(best_f1_threshold(&[0.3, 0.2], &[false, false]), None);
}
