"""Reference ROUGE F-measures with rouge-score's Porter stemmer on (use_stemmer=True).

The fixtures' metrics.json holds rouge-score's figures without the stemmer; these are the
stemmer's, pasted into crates/tune/src/eval/tests.rs. Reproduce with:

    python3 -m venv /tmp/rouge && /tmp/rouge/bin/pip install rouge-score==0.1.2
    /tmp/rouge/bin/python xtask/src/rouge_stemmer_reference.py

(run on 2026-12-02 with rouge-score 0.1.2 and nltk 3.10.4).
"""

import json

from rouge_score import rouge_scorer

# (reference, prediction): plurals, -ing, -ed, -ies and -ation forms a stemmer conflates.
PAIRS = [
    (
        "Patient was diuresed with IV furosemide and discharged home on oral furosemide.",
        "The patient received IV furosemide for diuresis and went home on oral furosemide.",
    ),
    (
        "She reports smoking two packs daily and drinking heavily on weekends.",
        "Smokes 2 packs a day; drinks heavily at the weekend.",
    ),
    (
        "Lives with supportive family members; daughters assist with medications.",
        "Living with her supportive daughter, who assisted with medication management.",
    ),
    (
        "Evicted from his apartment, currently staying in shelters and struggling with housing.",
        "He was evicted and stays at a shelter while he struggles to find housing.",
    ),
    (
        "Denies difficulties affording medications; transportation arranged by the clinic.",
        "Denied difficulty with affordability of medication and arranged transport.",
    ),
]

scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
for reference, prediction in PAIRS:
    s = scorer.score(reference, prediction)
    print(json.dumps({k: repr(v.fmeasure) for k, v in s.items()}))
