//! Figures of a preference model on held-out pairs, named and computed as TRL logs them.

/// The implicit DPO rewards of one pair: `β · (log π(y) − log π_ref(y))` of each completion.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairRewards {
    /// Reward of the chosen (preferred) completion.
    pub chosen: f64,
    /// Reward of the rejected completion.
    pub rejected: f64,
}

/// Reward accuracy and margin over a split.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RewardSummary {
    /// Share of pairs whose chosen reward is strictly above the rejected one (TRL's
    /// `rewards/accuracies`; a tie counts as wrong).
    pub accuracy: f64,
    /// Mean of chosen minus rejected reward (TRL's `rewards/margins`).
    pub margin: f64,
}

/// Accuracy and margin of `pairs`; `None` when there are none.
pub fn reward_summary(pairs: &[PairRewards]) -> Option<RewardSummary> {
    if pairs.is_empty() {
        return None;
    }
    let n = pairs.len() as f64;
    let right = pairs.iter().filter(|p| p.chosen > p.rejected).count() as f64;
    let margin = pairs.iter().map(|p| p.chosen - p.rejected).sum::<f64>() / n;
    Some(RewardSummary {
        accuracy: right / n,
        margin,
    })
}
