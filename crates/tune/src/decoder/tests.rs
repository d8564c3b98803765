//! The quantised decoder on the default GGUF against transformers' float32 logits
//! (`../shared/fixtures/smollm2-gguf`) and against candle's forward pass over the same blocks.

use candle_core::{Device, IndexOp, Tensor};

use super::*;
use crate::gguf::Gguf;
use crate::llama::{Cache, Llama};
use crate::quant::Isa;
use crate::testing::{default_gguf_path, ids, json, tensors};

fn default_gguf() -> Gguf {
    Gguf::open(&default_gguf_path()).unwrap()
}

fn argmax(v: &[f32]) -> usize {
    v.iter()
        .enumerate()
        .fold(
            (0, f32::NEG_INFINITY),
            |b, (i, &x)| if x > b.1 { (i, x) } else { b },
        )
        .0
}

fn diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// The decoder's logits after each token of `prompt`, fed one at a time.
fn stepwise(model: &Llama, prompt: &[u32]) -> Vec<Vec<f32>> {
    let mut cache = Cache::new();
    prompt
        .iter()
        .map(|t| model.last_logits(&[*t], &mut cache).unwrap())
        .collect()
}

#[test]
fn decoder_predicts_like_transformers_on_the_default_gguf() {
    let gguf = default_gguf();
    let model = gguf.model_quantized(&Device::Cpu).unwrap();
    assert!(model.uses_quantized_decoder());
    let tok = gguf.tokenizer().unwrap();
    let eos = tok.token_id("<|im_end|>").unwrap();
    let reference = json("smollm2-gguf/reference.json");
    let logits = tensors("smollm2-gguf/reference_logits.safetensors");
    for (i, case) in reference["cases"].as_array().unwrap().iter().enumerate() {
        let prompt = ids(&case["input_ids"]);
        let mut cache = Cache::new();
        let last = model.last_logits(&prompt, &mut cache).unwrap();
        let expected = logits[&format!("last_logits.{i}")]
            .to_vec1::<f32>()
            .unwrap();
        let d = diff(&last, &expected);
        let (top1, want) = (argmax(&last), argmax(&expected));
        eprintln!("decoder case {i}: max abs diff {d:e} vs transformers, top-1 {top1} vs {want}");
        assert_eq!(top1, want, "case {i}");
        // The weights are the reference's own; 8-bit activations (as llama.cpp quantises
        // them) move the logits by about half a unit.
        assert!(d < 1.0, "case {i}: max abs diff {d}");

        // Greedy continuation (stop at EOS) against transformers' ids: quantised activations
        // may flip a near-tie late in the text, so the test requires the first tokens and
        // reports where the rest diverge.
        let expected_ids = ids(&case["greedy_new_ids"]);
        let mut next = top1 as u32;
        let mut generated = vec![next];
        while next != eos && generated.len() < expected_ids.len() {
            next = argmax(&model.last_logits(&[next], &mut cache).unwrap()) as u32;
            generated.push(next);
        }
        let same = generated
            .iter()
            .zip(&expected_ids)
            .take_while(|(a, b)| a == b)
            .count();
        eprintln!(
            "decoder case {i}: greedy ids agree with transformers for {same} of {} tokens",
            expected_ids.len()
        );
        assert!(
            same >= expected_ids.len().min(8),
            "case {i}: diverges at {same}"
        );
    }
}

/// Logits of candle's forward pass fed one token at a time.
fn candle_stepwise(model: &Llama, prompt: &[u32]) -> Vec<Vec<f32>> {
    let mut cache = Cache::new();
    prompt
        .iter()
        .map(|id| {
            let input = Tensor::new(&[[*id]], &Device::Cpu).unwrap();
            let out = model.forward(&input, &mut cache).unwrap();
            out.i((0, 0)).unwrap().to_vec1::<f32>().unwrap()
        })
        .collect()
}

#[test]
fn decoder_is_as_accurate_as_candle_over_the_same_blocks() {
    let gguf = default_gguf();
    let prompt: Vec<u32> = ids(&json("smollm2-gguf/reference.json")["cases"][0]["input_ids"])
        .into_iter()
        .take(8)
        .collect();
    // Candle keeps the Q4_1 blocks too (no Q8_0 re-encoding), so both multiply the same
    // weights by 8-bit activations; they round activations differently (candle keeps each
    // block's scale in f16), and an activation moved by one step moves everything after it,
    // so the two are compared by their distance to the dequantised float model, layer-deep
    // truncations first, and on their predictions over the whole model.
    for layers in [1, 2] {
        let mut config = gguf.config().unwrap();
        config.num_layers = layers;
        let weights = gguf
            .weights(&config, candle_core::DType::F32, &Device::Cpu)
            .unwrap();
        let float = Llama::load(&config, &weights, &Device::Cpu).unwrap();
        let native = gguf
            .load_quantized(&Device::Cpu, false, Some(layers))
            .unwrap();
        let exact = candle_stepwise(&float, &prompt);
        let error = |logits: &[Vec<f32>]| {
            logits
                .iter()
                .zip(&exact)
                .map(|(a, b)| diff(a, b))
                .fold(0.0, f32::max)
        };
        let (ours, candle) = (
            error(&stepwise(&native, &prompt)),
            error(&candle_stepwise(&native, &prompt)),
        );
        eprintln!(
            "{layers} layers, max abs diff to the float model: decoder {ours:e}, candle {candle:e}"
        );
        assert!(
            ours <= 1.5 * candle,
            "{layers} layers: {ours} vs candle's {candle}"
        );
    }
    let native = gguf.load_quantized(&Device::Cpu, false, None).unwrap();
    let (ours, theirs) = (
        stepwise(&native, &prompt),
        candle_stepwise(&native, &prompt),
    );
    let agree = ours
        .iter()
        .zip(&theirs)
        .filter(|(a, b)| argmax(a) == argmax(b))
        .count();
    let worst = ours
        .iter()
        .zip(&theirs)
        .map(|(a, b)| diff(a, b))
        .fold(0.0, f32::max);
    eprintln!(
        "decoder vs candle, same blocks, 30 layers: max abs diff {worst:e}, top-1 agrees at \
         {agree} of {} positions",
        prompt.len()
    );
    assert!(
        agree + 1 >= prompt.len(),
        "top-1 agrees at {agree} positions"
    );
}

fn decoder_from_file(layers: usize, isa: Isa) -> QuantizedDecoder {
    let gguf = default_gguf();
    let mut config = gguf.config().unwrap();
    config.num_layers = layers;
    let mut parts = Parts::default();
    let file = std::fs::File::open(default_gguf_path()).unwrap();
    let mut reader = std::io::BufReader::new(file);
    let content = candle_core::quantized::gguf_file::Content::read(&mut reader).unwrap();
    for name in content.tensor_infos.keys() {
        let q = content.tensor(&mut reader, name, &Device::Cpu).unwrap();
        parts.add(name, &q).unwrap();
    }
    QuantizedDecoder::new(&config, parts).unwrap().with_isa(isa)
}

#[test]
fn prompt_at_once_and_token_by_token_and_scalar_and_simd_agree() {
    let prompt = ids(&json("smollm2-gguf/reference.json")["cases"][1]["input_ids"]);
    // A prompt goes through the four-input kernel, single tokens through the one-input kernel,
    // and the portable kernels through neither: all sum the same integer products in different
    // float orders. Over one layer that is all that differs; over the whole model an
    // activation re-quantised across a rounding tie moves by a whole step (see
    // `decoder_is_as_accurate_as_candle_over_the_same_blocks`), so there they must agree on
    // the prediction.
    for (layers, tolerance) in [(1, 1e-3), (30, f32::INFINITY)] {
        let simd = decoder_from_file(layers, Isa::detect());
        let scalar = decoder_from_file(layers, Isa::Scalar);
        let mut state = DecodeState::default();
        let at_once = simd.forward(&prompt, &mut state).unwrap().to_vec();
        let mut state = DecodeState::default();
        let mut stepwise = Vec::new();
        for t in &prompt {
            stepwise = simd.forward(&[*t], &mut state).unwrap().to_vec();
        }
        let mut state = DecodeState::default();
        let portable = scalar.forward(&prompt, &mut state).unwrap();
        let (d_steps, d_scalar) = (diff(&at_once, &stepwise), diff(&at_once, portable));
        eprintln!(
            "{layers} layers: prompt at once vs token by token {d_steps:e}, \
             SIMD vs scalar {d_scalar:e}"
        );
        assert!(
            d_steps < tolerance && d_scalar < tolerance,
            "{layers} layers"
        );
        assert_eq!(argmax(&at_once), argmax(&stepwise));
        assert_eq!(argmax(&at_once), argmax(portable));
    }
}

#[test]
fn bad_token_ids_and_mixed_caches_are_errors() {
    let model = default_gguf().model_quantized(&Device::Cpu).unwrap();
    let vocab = model.config().vocab_size as u32;
    let err = model.last_logits(&[vocab], &mut Cache::new()).unwrap_err();
    assert!(err.to_string().contains("outside the vocabulary"), "{err}");
    let err = model.last_logits(&[], &mut Cache::new()).unwrap_err();
    assert!(err.to_string().contains("no tokens"), "{err}");

    let mut cache = Cache::new();
    model.last_logits(&[1, 2, 3], &mut cache).unwrap();
    assert_eq!(cache.len(), 3);
    let input = Tensor::new(&[[4u32]], &Device::Cpu).unwrap();
    let err = model.forward(&input, &mut cache).unwrap_err();
    assert!(err.to_string().contains("quantised decoder"), "{err}");
}
