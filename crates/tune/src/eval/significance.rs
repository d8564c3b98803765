//! McNemar's exact test on paired binary outcomes (two models on the same items).

/// Two-sided exact McNemar p-value from the discordant counts: `b` items only the first model
/// got right, `c` only the second. It is the binomial test of `min(b, c)` out of `b + c` at
/// ½, doubled and capped at 1, as scipy's `binomtest` and statsmodels' `mcnemar(exact=True)`.
pub fn mcnemar_exact(b: u64, c: u64) -> f64 {
    let n = b + c;
    if n == 0 {
        return 1.0;
    }
    let k = b.min(c);
    // P(X ≤ k) for X ~ Binomial(n, ½), summed in log space so large n does not underflow.
    let mut log_term = -(n as f64) * std::f64::consts::LN_2;
    let mut log_terms = Vec::with_capacity(k as usize + 1);
    log_terms.push(log_term);
    for i in 1..=k {
        log_term += ((n - i + 1) as f64).ln() - (i as f64).ln();
        log_terms.push(log_term);
    }
    let max = log_terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let tail = max.exp() * log_terms.iter().map(|t| (t - max).exp()).sum::<f64>();
    (2.0 * tail).min(1.0)
}
