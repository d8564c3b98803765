//! Every input that once crashed a fuzz target (`fuzz/regressions/TARGET/*.bin`, minimised by
//! `cargo xtask reliability fuzz`) is read again: each must be read or refused with an error,
//! never panic. See issue 17 ("fuzzed readers").

#[test]
fn saved_crashing_inputs_are_read_or_refused_without_panicking() {
    let replayed = fuzz::driver::replay(&fuzz::seeds::regressions()).unwrap();
    let (checked, crashes) = (replayed.checked, replayed.crashes);
    let listed: Vec<String> = crashes
        .iter()
        .map(|(file, message, location)| format!("{}: {message} at {location}", file.display()))
        .collect();
    assert!(
        listed.is_empty(),
        "{checked} replayed; crashed:\n{}",
        listed.join("\n")
    );
}

#[test]
fn every_seed_is_read_or_refused_without_panicking() {
    for target in fuzz::targets::TARGETS {
        let mut harness = target.harness().unwrap();
        for seed in fuzz::seeds::for_target(target.name).unwrap() {
            let verdict = fuzz::driver::execute(harness.as_mut(), &seed);
            assert!(
                !matches!(verdict, fuzz::driver::Verdict::Crashed { .. }),
                "{}: {verdict:?}",
                target.name
            );
        }
    }
}
