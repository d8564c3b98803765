use super::*;

// "é" is 2 bytes/1 unit, "µ" 2 bytes/1 unit, "肺" 3 bytes/1 unit, "🫁" 4 bytes/2 units.
const TEXT: &str = "é µg 肺 🫁 ok";

#[test]
fn char_and_byte_offsets_round_trip_on_every_char() {
    for (ci, (bi, _)) in TEXT.char_indices().enumerate() {
        assert_eq!(char_to_byte(TEXT, ci), Some(bi));
        assert_eq!(byte_to_char(TEXT, bi), Some(ci));
    }
    let n = TEXT.chars().count();
    assert_eq!(char_to_byte(TEXT, n), Some(TEXT.len()));
    assert_eq!(char_to_byte(TEXT, n + 1), None);
}

#[test]
fn byte_offset_inside_a_character_is_refused() {
    assert_eq!(byte_to_char(TEXT, 1), None); // inside é
    let lung = TEXT.find('🫁').unwrap();
    assert_eq!(byte_to_char(TEXT, lung + 2), None);
    assert_eq!(byte_to_utf16(TEXT, lung + 1), None);
}

#[test]
fn utf16_offsets_count_surrogate_pairs_as_two() {
    let lung = TEXT.find('🫁').unwrap();
    let units = byte_to_utf16(TEXT, lung).unwrap();
    assert_eq!(byte_to_utf16(TEXT, lung + 4), Some(units + 2));
    assert_eq!(utf16_to_byte(TEXT, units), Some(lung));
    assert_eq!(utf16_to_byte(TEXT, units + 1), None); // between the surrogates
    assert_eq!(utf16_to_byte(TEXT, units + 2), Some(lung + 4));
    let total: usize = TEXT.chars().map(char::len_utf16).sum();
    assert_eq!(utf16_to_byte(TEXT, total), Some(TEXT.len()));
}

#[test]
fn batch_conversion_matches_single_conversion() {
    let n = TEXT.chars().count();
    let wanted: Vec<usize> = (0..=n + 2).collect();
    let got = chars_to_bytes(TEXT, &wanted);
    for (w, g) in wanted.iter().zip(got) {
        assert_eq!(g, char_to_byte(TEXT, *w), "offset {w}");
    }
}

#[test]
fn batch_utf16_conversion_matches_single_conversion() {
    let total: usize = TEXT.chars().map(char::len_utf16).sum();
    let wanted: Vec<usize> = (0..=total + 2).collect();
    let single: Vec<Option<usize>> = wanted.iter().map(|&u| utf16_to_byte(TEXT, u)).collect();
    assert_eq!(utf16s_to_bytes(TEXT, &wanted), single);
}
