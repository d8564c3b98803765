//! Evaluation figures, pure maths over predictions already made (no model, no tensors):
//! [`classification`] (per-label P/R/F1, macro and micro F1 with scikit-learn's semantics,
//! AUROC, Cohen's kappa), [`spans`] (exact and overlap span F1), [`rouge`] (ROUGE-1/2/L as
//! Google's rouge-score with NLTK's [`porter`] stemmer), [`dpo`] (reward accuracy and margin),
//! [`significance`] (exact McNemar) and [`bootstrap`] (seeded percentile intervals and a paired
//! permutation test). Each is checked against scikit-learn, scipy or rouge-score in `tests.rs`.

pub mod bootstrap;
pub mod classification;
pub mod dpo;
pub mod porter;
pub mod rouge;
pub mod significance;
pub mod spans;

#[cfg(test)]
mod tests;
