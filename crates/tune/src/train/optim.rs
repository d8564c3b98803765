//! AdamW (Loshchilov & Hutter 2019) exactly as `torch.optim.AdamW` steps, global grad-norm
//! clipping as `torch.nn.utils.clip_grad_norm_`, and the Hugging Face learning-rate schedules.

use candle_core::{Tensor, Var};
use serde::{Deserialize, Serialize};

use crate::error::Error;

/// AdamW settings (defaults: TRL's / the Trainer's).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct AdamWConfig {
    /// β₁.
    pub beta1: f64,
    /// β₂.
    pub beta2: f64,
    /// ε.
    pub eps: f64,
    /// Decoupled weight decay.
    pub weight_decay: f64,
}

impl Default for AdamWConfig {
    fn default() -> AdamWConfig {
        AdamWConfig {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
        }
    }
}

/// AdamW over named variables, with its moments kept so a checkpoint can restore them.
pub struct AdamW {
    config: AdamWConfig,
    params: Vec<(String, Var)>,
    m: Vec<Tensor>,
    v: Vec<Tensor>,
    step: usize,
}

impl AdamW {
    /// An optimizer with zero moments over `params`.
    pub fn new(params: Vec<(String, Var)>, config: AdamWConfig) -> Result<AdamW, Error> {
        let m = params
            .iter()
            .map(|(_, p)| p.zeros_like())
            .collect::<Result<Vec<_>, _>>()?;
        let v = m.clone();
        Ok(AdamW {
            config,
            params,
            m,
            v,
            step: 0,
        })
    }

    /// The parameters, in order.
    pub fn params(&self) -> &[(String, Var)] {
        &self.params
    }

    /// Optimizer steps taken.
    pub fn steps(&self) -> usize {
        self.step
    }

    /// One update with learning rate `lr` from `grads` (one per parameter, in order), as torch:
    /// `p ← p(1 − lr·wd)`, moments, then `p ← p − lr/(1−β₁ᵗ) · m / (√v/√(1−β₂ᵗ) + ε)`.
    pub fn step(&mut self, grads: &[Tensor], lr: f64) -> Result<(), Error> {
        self.step += 1;
        let c = self.config;
        let t = self.step as i32;
        let bc1 = 1.0 - c.beta1.powi(t);
        let bc2_sqrt = (1.0 - c.beta2.powi(t)).sqrt();
        for (i, ((_, p), g)) in self.params.iter().zip(grads).enumerate() {
            let g = g.to_dtype(p.dtype())?;
            let m = ((&self.m[i] * c.beta1)? + (&g * (1.0 - c.beta1))?)?;
            let v = ((&self.v[i] * c.beta2)? + (g.sqr()? * (1.0 - c.beta2))?)?;
            let decayed = (p.as_tensor() * (1.0 - lr * c.weight_decay))?;
            let denom = ((v.sqrt()? / bc2_sqrt)? + c.eps)?;
            let update = ((&m / &denom)? * (lr / bc1))?;
            p.set(&(decayed - update)?)?;
            self.m[i] = m;
            self.v[i] = v;
        }
        Ok(())
    }

    /// First and second moments under `m.KEY` / `v.KEY`, for a checkpoint.
    pub fn state(&self) -> Vec<(String, Tensor)> {
        let mut out = Vec::new();
        for (i, (name, _)) in self.params.iter().enumerate() {
            out.push((format!("m.{name}"), self.m[i].clone()));
            out.push((format!("v.{name}"), self.v[i].clone()));
        }
        out
    }

    /// Restores moments and the step count saved by [`AdamW::state`].
    pub fn restore(
        &mut self,
        state: &std::collections::HashMap<String, Tensor>,
        step: usize,
    ) -> Result<(), Error> {
        for (i, (name, p)) in self.params.iter().enumerate() {
            for (prefix, slot) in [("m", &mut self.m[i]), ("v", &mut self.v[i])] {
                let key = format!("{prefix}.{name}");
                let t = state.get(&key).ok_or_else(|| Error::Tensor {
                    name: key.clone(),
                    message: "missing from the optimizer checkpoint".to_owned(),
                })?;
                if t.dims() != p.dims() {
                    return Err(Error::Tensor {
                        name: key,
                        message: format!("has shape {:?}, expected {:?}", t.dims(), p.dims()),
                    });
                }
                *slot = t.to_dtype(p.dtype())?;
            }
        }
        self.step = step;
        Ok(())
    }
}

/// The global L2 norm of `grads` (before clipping), and the grads scaled so that norm is at
/// most `max_norm` (`clip_grad_norm_`: factor `max_norm / (norm + 1e-6)`, capped at 1).
pub fn clip(grads: Vec<Tensor>, max_norm: Option<f64>) -> Result<(f64, Vec<Tensor>), Error> {
    let mut total = 0.0f64;
    for g in &grads {
        total += g
            .sqr()?
            .sum_all()?
            .to_dtype(candle_core::DType::F64)?
            .to_scalar::<f64>()?;
    }
    let norm = total.sqrt();
    let Some(max) = max_norm else {
        return Ok((norm, grads));
    };
    let factor = (max / (norm + 1e-6)).min(1.0);
    if factor >= 1.0 {
        return Ok((norm, grads));
    }
    let grads = grads
        .into_iter()
        .map(|g| g * factor)
        .collect::<Result<Vec<_>, _>>()?;
    Ok((norm, grads))
}

/// Learning-rate schedule after warm-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheduler {
    /// The peak rate throughout.
    Constant,
    /// Linear decay to 0 at the last step (TRL's default).
    Linear,
    /// Half-cosine decay to 0.
    Cosine,
}

impl Scheduler {
    /// The rate for optimizer step `step` (0-based) of `total`, as the Hugging Face
    /// schedulers compute it: linear warm-up over `warmup` steps, then the decay.
    pub fn lr(self, peak: f64, step: usize, total: usize, warmup: usize) -> f64 {
        if step < warmup {
            return peak * step as f64 / warmup.max(1) as f64;
        }
        let span = total.saturating_sub(warmup).max(1) as f64;
        let progress = (step - warmup) as f64 / span;
        match self {
            Scheduler::Constant => peak,
            Scheduler::Linear => peak * (1.0 - progress).max(0.0),
            Scheduler::Cosine => {
                peak * (0.5 * (1.0 + (std::f64::consts::PI * progress).cos())).max(0.0)
            }
        }
    }
}
