//! Percentile bootstrap confidence intervals and a paired permutation test, seeded so that a
//! report can be reproduced figure for figure.
//!
//! A resample draws `n` item indices with replacement from [`Rng`] (SplitMix64); the interval is
//! the 2.5th and 97.5th percentiles of the statistic over the resamples where it is defined,
//! interpolated linearly between order statistics as numpy's default `percentile` does.

use crate::rng::Rng;

/// How many resamples to draw and from which seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BootstrapConfig {
    /// Resamples (or permutations); 1,000 is the usual minimum for a 95% interval.
    pub resamples: usize,
    /// Seed of the generator; the same seed gives the same intervals.
    pub seed: u64,
}

impl Default for BootstrapConfig {
    fn default() -> Self {
        BootstrapConfig {
            resamples: 1000,
            seed: 0,
        }
    }
}

/// A two-sided interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    /// Lower bound.
    pub low: f64,
    /// Upper bound.
    pub high: f64,
}

/// 95% percentile intervals for several statistics of `n` items at once.
///
/// `statistics` gets a resample's item indices and returns every statistic (`None` where one is
/// undefined on that resample, e.g. an AUROC with one class). Each interval uses the resamples
/// where its statistic was defined; it is `None` if there were none, or `n` is 0.
pub fn percentile_intervals(
    n: usize,
    config: &BootstrapConfig,
    mut statistics: impl FnMut(&[usize]) -> Vec<Option<f64>>,
) -> Vec<Option<Interval>> {
    let mut samples: Vec<Vec<f64>> = Vec::new();
    if n == 0 {
        return Vec::new();
    }
    let mut rng = Rng::new(config.seed);
    let mut indices = vec![0usize; n];
    for _ in 0..config.resamples {
        for index in indices.iter_mut() {
            *index = draw_below(&mut rng, n);
        }
        let values = statistics(&indices);
        if samples.len() < values.len() {
            samples.resize(values.len(), Vec::new());
        }
        for (sample, value) in samples.iter_mut().zip(values) {
            if let Some(v) = value.filter(|v| v.is_finite()) {
                sample.push(v);
            }
        }
    }
    samples
        .into_iter()
        .map(|mut values| {
            values.sort_by(f64::total_cmp);
            Some(Interval {
                low: percentile(&values, 2.5)?,
                high: percentile(&values, 97.5)?,
            })
        })
        .collect()
}

/// Two-sided p-values of a paired permutation test of the differences between two systems on
/// the same `n` items, for several statistics at once: each permutation swaps every item's two
/// outputs with probability ½.
///
/// `differences` gets which items are swapped and returns each statistic of A minus that of B
/// (all `false` gives the observed differences; `None` where undefined). A p-value counts the
/// permutations at least as extreme as observed, plus one for the observation itself:
/// `(k + 1) / (permutations + 1)`; a permutation where the statistic is undefined counts as
/// not extreme. It is `None` where the observed difference is undefined.
pub fn paired_permutation_p_values(
    n: usize,
    config: &BootstrapConfig,
    mut differences: impl FnMut(&[bool]) -> Vec<Option<f64>>,
) -> Vec<Option<f64>> {
    let mut swapped = vec![false; n];
    let observed: Vec<Option<f64>> = differences(&swapped)
        .into_iter()
        .map(|d| d.filter(|d| d.is_finite()).map(f64::abs))
        .collect();
    let mut extreme = vec![0usize; observed.len()];
    let mut rng = Rng::new(config.seed);
    for _ in 0..config.resamples {
        for s in swapped.iter_mut() {
            *s = rng.next_u64() >> 63 == 1;
        }
        let permuted = differences(&swapped);
        for ((count, observed), value) in extreme.iter_mut().zip(&observed).zip(permuted) {
            let (Some(observed), Some(value)) = (observed, value) else {
                continue;
            };
            // Differences equal up to rounding count as "as extreme".
            if value.abs() >= observed - 1e-12 * observed.max(1.0) {
                *count += 1;
            }
        }
    }
    observed
        .iter()
        .zip(extreme)
        .map(|(observed, k)| observed.map(|_| (k + 1) as f64 / (config.resamples + 1) as f64))
        .collect()
}

/// A uniform index below `n` (> 0); the modulo bias is below `n / 2^64`.
fn draw_below(rng: &mut Rng, n: usize) -> usize {
    (rng.next_u64() % n as u64) as usize
}

/// The `q`th percentile of sorted values with numpy's linear interpolation; `None` if empty.
pub fn percentile(sorted: &[f64], q: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let position = q / 100.0 * last as f64;
    let below = position.floor();
    let lower = *sorted.get(below as usize)?;
    let upper = sorted.get(below as usize + 1).copied().unwrap_or(lower);
    Some(lower + (position - below) * (upper - lower))
}
