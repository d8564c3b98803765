use super::*;

#[test]
fn mutations_replay_from_the_seed() {
    let run = |seed| {
        let mut rng = Rng::new(seed);
        (0..50)
            .map(|_| mutate(&mut rng, b"id,text\n1,hello\n", b"other"))
            .collect::<Vec<_>>()
    };
    assert_eq!(run(7), run(7));
    assert_ne!(run(7), run(8));
}

#[test]
fn minimise_keeps_only_what_still_fails() {
    let input = b"aaaaXbbbbYcccc";
    let small = minimise(input, 10_000, |c| c.contains(&b'X') && c.contains(&b'Y'));
    assert_eq!(small, b"XY");
}

#[test]
fn header_fields_and_numbers_in_text_are_hit() {
    let mut rng = Rng::new(3);
    let header = [0xFFu8, 0xFF, 2, 0, 0, 0, 0xFF, 0xFF];
    let mut changed = false;
    for _ in 0..100 {
        let mut out = header.to_vec();
        overwrite_small_integer(&mut rng, &mut out);
        changed |= out[2..6] != header[2..6] && out[..2] == header[..2];
    }
    assert!(changed);
    let mut out = b"T1 HOUSING 3 14".to_vec();
    replace_number_text(&mut rng, &mut out);
    assert_ne!(out, b"T1 HOUSING 3 14");
}
