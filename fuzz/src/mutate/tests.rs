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
