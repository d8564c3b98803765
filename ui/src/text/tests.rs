use std::collections::BTreeMap;

use api::{AnnotationStatus, Fragment, Span, SpanId};

use super::*;

fn span(id: i64, fragments: &[(usize, usize)]) -> Span {
    Span {
        id: SpanId(id),
        label: "HOUSING".into(),
        annotator: "a".into(),
        status: AnnotationStatus::Gold,
        fragments: fragments
            .iter()
            .map(|&(start, end)| Fragment { start, end })
            .collect(),
        attributes: BTreeMap::new(),
        comment: None,
    }
}

#[test]
fn words_are_byte_ranges_of_letters_digits_and_joiners() {
    let text = "José, 72 y/o — lives alone; 肺炎.";
    let got: Vec<&str> = words(text).iter().map(|w| &text[w.start..w.end]).collect();
    assert_eq!(got, ["José", "72", "y/o", "lives", "alone", "肺炎"]);
}

#[test]
fn overlapping_and_discontinuous_spans_cut_the_text_at_every_boundary() {
    let text = "no car, lives alone";
    // "no car" and "car, lives" overlap; span 3 is discontinuous ("no" … "alone").
    let spans = [
        span(1, &[(0, 6)]),
        span(2, &[(3, 14)]),
        span(3, &[(0, 2), (14, 19)]),
    ];
    let segs = segments(text, &spans, &[]);
    let got: Vec<(&str, Vec<usize>)> = segs
        .iter()
        .map(|s| (&text[s.start..s.end], s.spans.clone()))
        .collect();
    assert_eq!(
        got,
        [
            // Span 3 reaches furthest (to "alone"), so it is the outermost here.
            ("no", vec![2, 0]),
            (" ", vec![0]),
            ("car", vec![0, 1]),
            (", lives ", vec![1]),
            ("alone", vec![2]),
        ]
    );
    // The pieces tile the text exactly.
    assert_eq!(
        segs.iter()
            .map(|s| &text[s.start..s.end])
            .collect::<String>(),
        text
    );
}

#[test]
fn offsets_inside_a_character_or_past_the_end_do_not_cut() {
    let text = "é🫁";
    // 1 is inside "é" (2 bytes); 2 is the boundary before the 4-byte emoji.
    let segs = segments(text, &[span(1, &[(1, 2)])], &[99]);
    assert_eq!(
        segs.iter().map(|s| (s.start, s.end)).collect::<Vec<_>>(),
        [(0, 2), (2, 6)]
    );
}

#[test]
fn html_is_escaped_and_colours_are_tinted() {
    assert_eq!(
        escape_html("<b>\"x\" & 'y'</b>"),
        "&lt;b&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/b&gt;"
    );
    assert_eq!(tint("#B45309", 0x40), "#B4530940");
    assert_eq!(tint("red", 0x40), "#88888840");
}
