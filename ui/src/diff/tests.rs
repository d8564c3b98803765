use super::*;

fn show(pieces: &[Piece]) -> String {
    pieces
        .iter()
        .map(|p| match p {
            Piece::Kept(t) => t.trim_end().to_owned(),
            Piece::Removed(t) => format!("-{}", t.trim_end()),
            Piece::Added(t) => format!("+{}", t.trim_end()),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn a_replaced_word_is_struck_and_its_replacement_marked() {
    let d = word_diff("Lives alone. Has a car.", "Lives alone. Has no car.");
    assert_eq!(show(&d), "Lives alone. Has -a +no car.");
    assert_eq!(counts(&d), (1, 1));
}

#[test]
fn identical_texts_differ_in_nothing_even_with_other_spacing() {
    let d = word_diff("Lives  alone.\nNo car.", "Lives alone. No car.");
    assert_eq!(counts(&d), (0, 0));
}

#[test]
fn an_emptied_editor_removes_every_word() {
    let d = word_diff("Smokes daily.", "");
    assert_eq!(show(&d), "-Smokes -daily.");
    let d = word_diff("", "New text");
    assert_eq!(show(&d), "+New +text");
}

#[test]
fn words_added_in_the_middle_keep_both_ends() {
    let d = word_diff("a b c d", "a b x y c d");
    assert_eq!(show(&d), "a b +x +y c d");
}
