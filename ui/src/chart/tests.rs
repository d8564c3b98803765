use super::*;

#[test]
fn axes_round_out_to_steps_of_one_two_or_five() {
    assert_eq!(nice_step(10.0, 5.0), 2.0);
    assert_eq!(nice_step(0.7, 4.0), 0.2);
    assert_eq!(nice_step(300.0, 4.0), 100.0);
    let (lo, hi, step) = nice_domain(0.62, 0.71);
    assert_eq!(step, 0.05);
    assert!(
        (lo - 0.60).abs() < 1e-9 && (hi - 0.75).abs() < 1e-9,
        "{lo} {hi}"
    );
    // Every value lies inside its axis.
    for (a, b) in [(-3.2, 7.9), (0.0, 0.001), (1e5, 3e5), (-0.4, -0.1)] {
        let (lo, hi, _) = nice_domain(a, b);
        assert!(lo <= a && hi >= b, "{a}..{b} in {lo}..{hi}");
    }
}

#[test]
fn a_flat_or_empty_series_still_has_an_axis() {
    let (lo, hi, _) = nice_domain(0.69, 0.69);
    assert!(lo < 0.69 && hi > 0.69);
    assert_eq!(
        nice_domain(f64::INFINITY, f64::NEG_INFINITY),
        (0.0, 1.0, 0.5)
    );
}

#[test]
fn tick_labels_carry_only_the_decimals_the_step_needs() {
    assert_eq!(tick_label(0.6000000001, 0.02), "0.60");
    assert_eq!(tick_label(200.0, 100.0), "200");
    assert_eq!(tick_label(-0.0, 0.5), "0.0");
    assert_eq!(short(0.4567), "0.457");
    assert_eq!(short(12.345), "12.3");
    assert_eq!(short(0.00001234), "1.23e-5");
}
