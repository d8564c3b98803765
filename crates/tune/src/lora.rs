//! LoRA adapters (Hu et al. 2021) in the Hugging Face PEFT layout.
//!
//! An adapter adds `scale · B A x` to chosen projections of a frozen base (`scale = alpha / r`,
//! or `alpha / √r` with rsLoRA). The base weights are never copied: a [`Lora`] only holds its
//! own `A` `(r, in)` and `B` `(out, r)` per projection, keyed by [`Slot`], plus an optional
//! classification head (PEFT's `modules_to_save` `score`). Adapters are passed to the forward
//! pass ([`crate::llama::Run`]), so one can be off (the DPO reference), two can be stacked (a
//! frozen domain adapter under a trainable task adapter) and any can be merged for export.
//!
//! Files: `adapter_config.json` and `adapter_model.safetensors` with PEFT's key names
//! (`base_model.model.model.layers.{i}.self_attn.q_proj.lora_A.weight`,
//! `base_model.model.score.weight`), so adapters made by Python load here and the other way round.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor, Var};
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::error::Error;
use crate::llama::{Slot, Target};
use crate::rng::Rng;

/// The adapter config file's name.
pub const CONFIG_FILE: &str = "adapter_config.json";
/// The adapter weights file's name.
pub const WEIGHTS_FILE: &str = "adapter_model.safetensors";
/// PEFT's prefix of every saved key.
const PREFIX: &str = "base_model.model.";
/// PEFT's key of a sequence-classification head saved through `modules_to_save`.
const SCORE_KEY: &str = "base_model.model.score.weight";

/// `adapter_config.json` as PEFT writes it. Fields Clinitune does not use are kept as they were
/// read, so a loaded and re-saved adapter still loads in PEFT.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoraConfig {
    /// Always `LORA`.
    pub peft_type: String,
    /// `CAUSAL_LM`, or `SEQ_CLS` for a classification adapter.
    pub task_type: String,
    /// Rank of `A` and `B`.
    pub r: usize,
    /// Scale numerator: the update is multiplied by `lora_alpha / r`.
    #[serde(serialize_with = "whole_as_integer")]
    pub lora_alpha: f64,
    /// Dropout on the adapter's input while training.
    #[serde(default)]
    pub lora_dropout: f64,
    /// Projections that carry an adapter (`q_proj`, …), or PEFT's `"all-linear"`.
    pub target_modules: TargetModules,
    /// `alpha / √r` instead of `alpha / r` (Kalajdzievski 2023).
    #[serde(default)]
    pub use_rslora: bool,
    /// Must be `none`: LoRA biases are not supported.
    #[serde(default = "none")]
    pub bias: String,
    /// Modules trained and saved whole (the `score` head of a classifier).
    #[serde(default)]
    pub modules_to_save: Option<Vec<String>>,
    /// The base model the adapter was trained on (informational).
    #[serde(default)]
    pub base_model_name_or_path: Option<String>,
    /// Every other PEFT field, kept verbatim.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// Writes `16.0` as `16`, as Python writes an integer alpha.
fn whole_as_integer<S: serde::Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        s.serialize_i64(*x as i64)
    } else {
        s.serialize_f64(*x)
    }
}

fn none() -> String {
    "none".to_owned()
}

/// PEFT's `target_modules`: a list of module names or one string.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TargetModules {
    /// Module names (`["q_proj", "v_proj"]`).
    List(Vec<String>),
    /// `"all-linear"` (or a regular expression, which is refused).
    One(String),
}

impl LoraConfig {
    /// A fresh causal-LM adapter config with PEFT 0.21's fields and defaults.
    pub fn new(r: usize, alpha: f64, dropout: f64, targets: &[Target]) -> LoraConfig {
        let mut names: Vec<String> = targets.iter().map(|t| t.name().to_owned()).collect();
        names.sort();
        names.dedup();
        let extra = serde_json::json!({
            "alora_invocation_tokens": null, "alpha_pattern": {}, "arrow_config": null,
            "auto_mapping": null, "corda_config": null, "ensure_weight_tying": false,
            "eva_config": null, "exclude_modules": null, "fan_in_fan_out": false,
            "inference_mode": true, "init_lora_weights": true, "kasa_config": null,
            "layer_replication": null, "layers_pattern": null, "layers_to_transform": null,
            "loftq_config": {}, "lora_bias": false, "lora_ga_config": null,
            "megatron_config": null, "megatron_core": "megatron.core",
            "monteclora_config": null, "peft_version": "0.21.2", "qalora_group_size": 16,
            "rank_pattern": {}, "revision": null, "target_parameters": null,
            "trainable_token_indices": null, "use_bdlora": null, "use_dora": false,
            "use_qalora": false, "velora_config": null
        });
        let serde_json::Value::Object(extra) = extra else {
            unreachable!("a JSON object literal")
        };
        LoraConfig {
            peft_type: "LORA".to_owned(),
            task_type: "CAUSAL_LM".to_owned(),
            r,
            lora_alpha: alpha,
            lora_dropout: dropout,
            target_modules: TargetModules::List(names),
            use_rslora: false,
            bias: none(),
            modules_to_save: None,
            base_model_name_or_path: None,
            extra,
        }
    }

    /// The projections this config targets, or an error naming what Clinitune cannot apply.
    pub fn targets(&self) -> Result<Vec<Target>, String> {
        let names: Vec<&str> = match &self.target_modules {
            TargetModules::One(s) if s == "all-linear" => {
                return Ok(Target::ALL.to_vec());
            }
            TargetModules::One(s) => {
                return Err(format!(
                    "target_modules is the pattern {s:?}; list the modules instead (q_proj, …)"
                ));
            }
            TargetModules::List(l) => l.iter().map(String::as_str).collect(),
        };
        let mut out = Vec::new();
        for name in names {
            // PEFT also accepts suffixes such as `self_attn.q_proj`.
            let last = name.rsplit('.').next().unwrap_or(name);
            let t = Target::from_name(last).ok_or_else(|| {
                format!(
                    "target module {name:?} is not a Llama projection \
                     (q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj)"
                )
            })?;
            if !out.contains(&t) {
                out.push(t);
            }
        }
        out.sort();
        Ok(out)
    }

    /// The factor on `B A x`.
    pub fn scale(&self) -> f64 {
        if self.use_rslora {
            self.lora_alpha / (self.r as f64).sqrt()
        } else {
            self.lora_alpha / self.r as f64
        }
    }

    /// Refuses settings this implementation would silently get wrong.
    fn validate(&self, path: &Path) -> Result<(), Error> {
        let bad = |message: String| Error::Adapter {
            path: path.to_owned(),
            message,
        };
        if self.peft_type != "LORA" {
            return Err(bad(format!(
                "peft_type is {:?}; only LORA adapters are supported",
                self.peft_type
            )));
        }
        if self.r == 0 {
            return Err(bad("r is 0".to_owned()));
        }
        if self.bias != "none" {
            return Err(bad(format!(
                "bias is {:?}; only \"none\" is supported",
                self.bias
            )));
        }
        for (field, what) in [
            ("use_dora", "DoRA"),
            ("fan_in_fan_out", "fan_in_fan_out"),
            ("lora_bias", "lora_bias"),
        ] {
            if self.extra.get(field).and_then(|v| v.as_bool()) == Some(true) {
                return Err(bad(format!(
                    "{what} adapters are not supported ({field}: true)"
                )));
            }
        }
        for field in ["rank_pattern", "alpha_pattern"] {
            if self
                .extra
                .get(field)
                .and_then(|v| v.as_object())
                .is_some_and(|m| !m.is_empty())
            {
                return Err(bad(format!(
                    "{field} is not supported; use one r and alpha"
                )));
            }
        }
        if self
            .extra
            .get("layers_to_transform")
            .is_some_and(|v| !v.is_null())
        {
            return Err(bad("layers_to_transform is not supported".to_owned()));
        }
        self.targets().map_err(bad)?;
        Ok(())
    }
}

/// One projection's `A` `(r, in)` and `B` `(out, r)`.
#[derive(Debug)]
struct Pair {
    a: Var,
    b: Var,
}

/// A LoRA adapter: its config, its `A`/`B` pairs and, for a classifier, its score head.
#[derive(Debug)]
pub struct Lora {
    config: LoraConfig,
    pairs: BTreeMap<Slot, Pair>,
    score: Option<Var>,
    trainable: bool,
}

impl Lora {
    /// A fresh adapter for `model`: `A` Kaiming-uniform as PEFT draws it (bound `1/√in`), `B`
    /// zero, so the adapted model starts equal to the base. Trainable.
    pub fn init(
        config: LoraConfig,
        model: &Config,
        seed: u64,
        device: &Device,
    ) -> Result<Lora, Error> {
        config.validate(Path::new("(new adapter)"))?;
        let targets = config.targets().expect("validated");
        let mut rng = Rng::new(seed);
        let mut pairs = BTreeMap::new();
        for layer in 0..model.num_layers {
            for &target in &targets {
                let (out, inp) = shape_of(model, target);
                let bound = 1.0 / (inp as f64).sqrt();
                let a: Vec<f32> = (0..config.r * inp)
                    .map(|_| ((rng.next_f64() * 2.0 - 1.0) * bound) as f32)
                    .collect();
                let a = Var::from_tensor(&Tensor::from_vec(a, (config.r, inp), device)?)?;
                let b = Var::zeros((out, config.r), DType::F32, device)?;
                pairs.insert(Slot { layer, target }, Pair { a, b });
            }
        }
        Ok(Lora {
            config,
            pairs,
            score: None,
            trainable: true,
        })
    }

    /// Adds a classification head `(labels, hidden)` (PEFT's `score` module), initialised as
    /// transformers does (normal, std 0.02) from `seed`, and marks the adapter `SEQ_CLS`.
    pub fn with_score_head(
        mut self,
        labels: usize,
        hidden: usize,
        seed: u64,
        device: &Device,
    ) -> Result<Lora, Error> {
        let mut rng = Rng::new(seed ^ 0x5C0E);
        let w: Vec<f32> = (0..labels * hidden)
            .map(|_| {
                // Box–Muller.
                let u1 = rng.next_f64().max(f64::MIN_POSITIVE);
                let u2 = rng.next_f64();
                ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos() * 0.02) as f32
            })
            .collect();
        self.score = Some(Var::from_tensor(&Tensor::from_vec(
            w,
            (labels, hidden),
            device,
        )?)?);
        self.config.task_type = "SEQ_CLS".to_owned();
        self.config.modules_to_save = Some(vec!["classifier".to_owned(), "score".to_owned()]);
        Ok(self)
    }

    /// Reads a PEFT adapter folder (`adapter_config.json` + `adapter_model.safetensors`),
    /// frozen. Unknown keys, unsupported settings and misshapen tensors are refused by name.
    pub fn load(dir: &Path, model: &Config, device: &Device) -> Result<Lora, Error> {
        let config_path = dir.join(CONFIG_FILE);
        let text = std::fs::read_to_string(&config_path).map_err(|source| Error::Io {
            path: config_path.clone(),
            source,
        })?;
        let config: LoraConfig = serde_json::from_str(&text).map_err(|e| Error::Adapter {
            path: config_path.clone(),
            message: format!("not a PEFT adapter config: {e}"),
        })?;
        config.validate(&config_path)?;
        let weights_path = dir.join(WEIGHTS_FILE);
        if !weights_path.is_file() {
            return Err(Error::Adapter {
                path: weights_path,
                message: "missing (only safetensors adapters are read)".to_owned(),
            });
        }
        let tensors = candle_core::safetensors::load(&weights_path, device)?;
        let bad = |name: &str, message: String| Error::Tensor {
            name: format!("{name} in {}", weights_path.display()),
            message,
        };
        let mut a_of: HashMap<Slot, Tensor> = HashMap::new();
        let mut b_of: HashMap<Slot, Tensor> = HashMap::new();
        let mut score = None;
        for (name, t) in tensors {
            if name == SCORE_KEY || name == "base_model.model.score.modules_to_save.weight" {
                if t.dims().len() != 2 || t.dim(1)? != model.hidden_size {
                    return Err(bad(
                        &name,
                        format!(
                            "has shape {:?}; expected (labels, {})",
                            t.dims(),
                            model.hidden_size
                        ),
                    ));
                }
                score = Some(t.to_dtype(DType::F32)?);
                continue;
            }
            let (slot, is_a) = parse_key(&name).ok_or_else(|| {
                bad(
                    &name,
                    "is not a LoRA weight of a Llama projection this version understands"
                        .to_owned(),
                )
            })?;
            if slot.layer >= model.num_layers {
                return Err(bad(
                    &name,
                    format!(
                        "names layer {} but the model has {}",
                        slot.layer, model.num_layers
                    ),
                ));
            }
            let (out, inp) = shape_of(model, slot.target);
            let want = if is_a {
                [config.r, inp]
            } else {
                [out, config.r]
            };
            if t.dims() != want {
                return Err(bad(
                    &name,
                    format!(
                        "has shape {:?}; r {} and the model imply {want:?}",
                        t.dims(),
                        config.r
                    ),
                ));
            }
            let t = t.to_dtype(DType::F32)?;
            if is_a {
                a_of.insert(slot, t);
            } else {
                b_of.insert(slot, t);
            }
        }
        let mut pairs = BTreeMap::new();
        for (slot, a) in a_of {
            let b = b_of.remove(&slot).ok_or_else(|| {
                bad(
                    &peft_key(slot, "lora_B"),
                    "missing (its lora_A is present)".to_owned(),
                )
            })?;
            pairs.insert(
                slot,
                Pair {
                    a: Var::from_tensor(&a)?,
                    b: Var::from_tensor(&b)?,
                },
            );
        }
        if let Some(slot) = b_of.into_keys().next() {
            return Err(bad(
                &peft_key(slot, "lora_A"),
                "missing (its lora_B is present)".to_owned(),
            ));
        }
        Ok(Lora {
            config,
            pairs,
            score: score.map(|s| Var::from_tensor(&s)).transpose()?,
            trainable: false,
        })
    }

    /// Writes the adapter in PEFT's layout, atomically per file (write, then rename).
    pub fn save(&self, dir: &Path) -> Result<(), Error> {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
            path: dir.to_owned(),
            source,
        })?;
        let tensors = self.named_tensors()?;
        write_safetensors(&dir.join(WEIGHTS_FILE), &tensors)?;
        let json = serde_json::to_string_pretty(&self.config).expect("config serialises");
        write_atomic(&dir.join(CONFIG_FILE), json.as_bytes())
    }

    /// Every tensor under its PEFT key, sorted by key.
    pub fn named_tensors(&self) -> Result<Vec<(String, Tensor)>, Error> {
        let mut out: Vec<(String, Tensor)> = Vec::new();
        for (slot, p) in &self.pairs {
            out.push((peft_key(*slot, "lora_A"), p.a.as_detached_tensor()));
            out.push((peft_key(*slot, "lora_B"), p.b.as_detached_tensor()));
        }
        if let Some(s) = &self.score {
            out.push((SCORE_KEY.to_owned(), s.as_detached_tensor()));
        }
        out.sort_by(|x, y| x.0.cmp(&y.0));
        Ok(out)
    }

    /// The config.
    pub fn config(&self) -> &LoraConfig {
        &self.config
    }

    /// The config, to set fields such as `base_model_name_or_path` before saving.
    pub fn config_mut(&mut self) -> &mut LoraConfig {
        &mut self.config
    }

    /// Whether gradients flow into this adapter.
    pub fn is_trainable(&self) -> bool {
        self.trainable
    }

    /// Makes the adapter trainable or frozen.
    pub fn set_trainable(&mut self, trainable: bool) {
        self.trainable = trainable;
    }

    /// An independent frozen copy (the DPO reference when training continues from an adapter).
    pub fn frozen_copy(&self) -> Result<Lora, Error> {
        let copy = |v: &Var| -> Result<Var, Error> { Ok(Var::from_tensor(&v.copy()?)?) };
        let pairs = self
            .pairs
            .iter()
            .map(|(s, p)| {
                Ok((
                    *s,
                    Pair {
                        a: copy(&p.a)?,
                        b: copy(&p.b)?,
                    },
                ))
            })
            .collect::<Result<BTreeMap<_, _>, Error>>()?;
        Ok(Lora {
            config: self.config.clone(),
            pairs,
            score: self.score.as_ref().map(copy).transpose()?,
            trainable: false,
        })
    }

    /// `(A, B, scale)` at `slot`, as tracked variables when trainable, else as constants.
    pub fn pair(&self, slot: Slot) -> Option<(Tensor, Tensor, f64)> {
        let p = self.pairs.get(&slot)?;
        let (a, b) = if self.trainable {
            (p.a.as_tensor().clone(), p.b.as_tensor().clone())
        } else {
            (p.a.as_detached_tensor(), p.b.as_detached_tensor())
        };
        Some((a, b, self.config.scale()))
    }

    /// `scale · B A` `(out, in)` at `slot`: what merging adds to the base weight.
    pub fn delta(&self, slot: Slot) -> Result<Option<Tensor>, Error> {
        match self.pairs.get(&slot) {
            Some(p) => Ok(Some(
                (p.b.as_detached_tensor().matmul(&p.a.as_detached_tensor())?
                    * self.config.scale())?,
            )),
            None => Ok(None),
        }
    }

    /// The classification head `(labels, hidden)`, tracked when trainable.
    pub fn score(&self) -> Option<Tensor> {
        self.score.as_ref().map(|s| {
            if self.trainable {
                s.as_tensor().clone()
            } else {
                s.as_detached_tensor()
            }
        })
    }

    /// The trainable variables under their PEFT keys, in key order (the optimizer's order).
    pub fn vars(&self) -> Vec<(String, Var)> {
        let mut out: Vec<(String, Var)> = Vec::new();
        for (slot, p) in &self.pairs {
            out.push((peft_key(*slot, "lora_A"), p.a.clone()));
            out.push((peft_key(*slot, "lora_B"), p.b.clone()));
        }
        if let Some(s) = &self.score {
            out.push((SCORE_KEY.to_owned(), s.clone()));
        }
        out.sort_by(|x, y| x.0.cmp(&y.0));
        out
    }

    /// Number of adapter weights.
    pub fn parameter_count(&self) -> usize {
        self.vars().iter().map(|(_, v)| v.elem_count()).sum()
    }

    /// Checks that the adapter's tensors fit `model` (layers and widths).
    pub fn check_fits(&self, model: &Config) -> Result<(), Error> {
        for (slot, p) in &self.pairs {
            let (out, inp) = shape_of(model, slot.target);
            if slot.layer >= model.num_layers
                || p.a.dims() != [self.config.r, inp]
                || p.b.dims() != [out, self.config.r]
            {
                return Err(Error::Tensor {
                    name: peft_key(*slot, "lora_A"),
                    message: format!(
                        "the adapter does not fit this model (layer {}, A {:?}, B {:?})",
                        slot.layer,
                        p.a.dims(),
                        p.b.dims()
                    ),
                });
            }
        }
        Ok(())
    }
}

/// `(out, in)` of a projection.
fn shape_of(c: &Config, target: Target) -> (usize, usize) {
    let (h, hd) = (c.hidden_size, c.head_dim);
    match target {
        Target::Q => (c.num_heads * hd, h),
        Target::K | Target::V => (c.num_kv_heads * hd, h),
        Target::O => (h, c.num_heads * hd),
        Target::Gate | Target::Up => (c.intermediate_size, h),
        Target::Down => (h, c.intermediate_size),
    }
}

/// PEFT's key of `A` or `B` at `slot`.
fn peft_key(slot: Slot, which: &str) -> String {
    format!(
        "{PREFIX}model.layers.{}.{}.{which}.weight",
        slot.layer,
        slot.target.path()
    )
}

/// `(slot, is_a)` of a PEFT key; also accepts the adapter-named form `lora_A.default.weight`.
fn parse_key(name: &str) -> Option<(Slot, bool)> {
    let rest = name.strip_prefix(PREFIX)?.strip_prefix("model.layers.")?;
    let (layer, rest) = rest.split_once('.')?;
    let layer: usize = layer.parse().ok()?;
    let rest = rest.strip_suffix(".weight")?.trim_end_matches(".default");
    let (path, which) = rest.rsplit_once('.')?;
    let is_a = match which {
        "lora_A" => true,
        "lora_B" => false,
        _ => return None,
    };
    let target = Target::ALL.into_iter().find(|t| t.path() == path)?;
    Some((Slot { layer, target }, is_a))
}

/// Names and shapes of the tensors in a safetensors file, read from its header only.
pub fn tensor_shapes(path: &Path) -> Result<Vec<(String, Vec<usize>)>, Error> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })?;
    let (_, meta) =
        safetensors::SafeTensors::read_metadata(&bytes).map_err(|e| Error::Adapter {
            path: path.to_owned(),
            message: format!("not a safetensors file: {e}"),
        })?;
    let mut out: Vec<(String, Vec<usize>)> = meta
        .tensors()
        .into_iter()
        .map(|(k, info)| (k, info.shape.clone()))
        .collect();
    out.sort();
    Ok(out)
}

/// Writes `tensors` as a safetensors file with PEFT's `{"format": "pt"}` metadata, atomically.
pub fn write_safetensors(path: &Path, tensors: &[(String, Tensor)]) -> Result<(), Error> {
    let metadata = HashMap::from([("format".to_owned(), "pt".to_owned())]);
    let views: Vec<(&str, &Tensor)> = tensors.iter().map(|(k, t)| (k.as_str(), t)).collect();
    let bytes =
        safetensors::tensor::serialize(views, Some(metadata)).map_err(|e| Error::Tensor {
            name: path.display().to_string(),
            message: format!("cannot serialise: {e}"),
        })?;
    write_atomic(path, &bytes)
}

/// Writes `bytes` to a temporary file beside `path`, syncs it, then renames it over `path`, so
/// a killed process leaves either the old file or the new one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    use std::io::Write;
    let tmp: PathBuf = {
        let mut name = path.file_name().unwrap_or_default().to_owned();
        name.push(".tmp");
        path.with_file_name(name)
    };
    let io = |source| Error::Io {
        path: path.to_owned(),
        source,
    };
    let mut f = std::fs::File::create(&tmp).map_err(io)?;
    f.write_all(bytes).map_err(io)?;
    f.sync_all().map_err(io)?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(io)
}

#[cfg(test)]
mod tests;
