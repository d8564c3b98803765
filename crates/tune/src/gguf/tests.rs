//! The default GGUF (SmolLM2-135M-Instruct Q4_1) against transformers' dequantised float32 model.

use candle_core::IndexOp;

use super::*;
use crate::llama::Cache;
use crate::testing::{default_gguf_path, device, fixtures, ids, json};

fn default_gguf() -> Gguf {
    Gguf::open(&default_gguf_path()).unwrap()
}
use crate::tokenizer::ChatMessage;

#[test]
fn tokenizer_rebuilt_from_gguf_metadata_matches_transformers() {
    let tok = default_gguf().tokenizer().unwrap();
    let cases = json("tokenizer_cases.json");
    for case in cases["encode"].as_array().unwrap() {
        let text = case["text"].as_str().unwrap();
        let got = tok.encode(text, false).unwrap();
        assert_eq!(got, ids(&case["ids"]), "{text:?}");
        if let Some(decoded) = case["decoded"].as_str() {
            assert_eq!(tok.decode(&got, false).unwrap(), decoded, "{text:?}");
        }
    }
    for case in cases["chat"].as_array().unwrap() {
        let messages: Vec<ChatMessage> = serde_json::from_value(case["messages"].clone()).unwrap();
        let text = tok
            .apply_chat_template(&messages, case["add_generation_prompt"].as_bool().unwrap())
            .unwrap();
        assert_eq!(text, case["text"].as_str().unwrap());
        assert_eq!(tok.encode(&text, false).unwrap(), ids(&case["ids"]));
    }
    assert_eq!(tok.eos_token(), Some("<|im_end|>"));
}

#[test]
fn dequantised_model_matches_transformers_logits_and_greedy_ids() {
    let gguf = default_gguf();
    let model = gguf.model(DType::F32, &device()).unwrap();
    let tok = gguf.tokenizer().unwrap();
    let eos = tok.token_id("<|im_end|>").unwrap();
    let reference = json("smollm2-gguf/reference.json");
    let logits = candle_core::safetensors::load(
        fixtures().join("smollm2-gguf/reference_logits.safetensors"),
        &device(),
    )
    .unwrap();
    for (i, case) in reference["cases"].as_array().unwrap().iter().enumerate() {
        let prompt = ids(&case["input_ids"]);
        assert_eq!(
            tok.encode(case["text"].as_str().unwrap(), false).unwrap(),
            prompt
        );
        let mut cache = Cache::new();
        let input = Tensor::new(prompt.as_slice(), &device())
            .unwrap()
            .unsqueeze(0)
            .unwrap();
        let out = model.forward(&input, &mut cache).unwrap();
        let last = out.i((0, prompt.len() - 1)).unwrap();
        let diff = (&last - &logits[&format!("last_logits.{i}")])
            .unwrap()
            .abs()
            .unwrap()
            .max(0)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        eprintln!("smollm2 gguf case {i}: max abs diff {diff:e}");
        assert!(diff <= 2e-3, "case {i}: max abs diff {diff}");
        // Greedy continuation, stopping at EOS (which transformers reports as the last id).
        let expected = ids(&case["greedy_new_ids"]);
        let mut next = last.argmax(0).unwrap().to_scalar::<u32>().unwrap();
        let mut generated = vec![next];
        while next != eos && generated.len() < expected.len() {
            let input = Tensor::new(&[[next]], &device()).unwrap();
            let row = model
                .forward(&input, &mut cache)
                .unwrap()
                .i((0, 0))
                .unwrap();
            next = row.argmax(0).unwrap().to_scalar::<u32>().unwrap();
            generated.push(next);
        }
        assert_eq!(generated, expected, "case {i}");
        assert_eq!(
            tok.decode(&generated, true).unwrap(),
            case["greedy_new_text"].as_str().unwrap()
        );
    }
}

#[test]
fn query_key_unpermutation_inverts_llama_cpp_permutation() {
    // llama.cpp: w.reshape(heads, 2, half, in).swapaxes(1, 2).reshape(out, in)
    let (heads, half, inp) = (2, 3, 4);
    let w = Tensor::arange(0f32, (heads * 2 * half * inp) as f32, &device())
        .unwrap()
        .reshape((heads * 2 * half, inp))
        .unwrap();
    let permuted = w
        .reshape((heads, 2, half, inp))
        .unwrap()
        .transpose(1, 2)
        .unwrap()
        .contiguous()
        .unwrap()
        .reshape((heads * 2 * half, inp))
        .unwrap();
    let back = unpermute(&permuted, heads).unwrap();
    assert_eq!(back.to_vec2::<f32>().unwrap(), w.to_vec2::<f32>().unwrap());
}

#[test]
fn quantised_fast_path_agrees_with_the_dequantised_reference() {
    let gguf = default_gguf();
    let model = gguf.model_quantized(&device()).unwrap();
    let reference = json("smollm2-gguf/reference.json");
    let logits = candle_core::safetensors::load(
        fixtures().join("smollm2-gguf/reference_logits.safetensors"),
        &device(),
    )
    .unwrap();
    for (i, case) in reference["cases"].as_array().unwrap().iter().enumerate() {
        let prompt = ids(&case["input_ids"]);
        let input = Tensor::new(prompt.as_slice(), &device())
            .unwrap()
            .unsqueeze(0)
            .unwrap();
        let last = model
            .forward(&input, &mut Cache::new())
            .unwrap()
            .i((0, prompt.len() - 1))
            .unwrap();
        let expected = &logits[&format!("last_logits.{i}")];
        let diff = (&last - expected)
            .unwrap()
            .abs()
            .unwrap()
            .max(0)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        let top1 = last.argmax(0).unwrap().to_scalar::<u32>().unwrap();
        let want = expected.argmax(0).unwrap().to_scalar::<u32>().unwrap();
        // Activations are quantised to 8 bits in the block matmul, so logits differ a little;
        // what must hold is the prediction.
        eprintln!("smollm2 quantised case {i}: max abs diff {diff:e}, top-1 {top1} vs {want}");
        assert_eq!(top1, want, "case {i}");
        assert!(diff < 1.0, "case {i}: max abs diff {diff}");
    }
}

/// A GGUF v3 file by hand (the layout of llama.cpp's `gguf.h`): no metadata, one Q8_0 tensor
/// `blk.0.attn_q.weight` of `dims` (innermost first, as GGUF stores them) at data offset 0.
fn tiny_gguf(dims: &[u64], data: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(b"GGUF");
    b.extend_from_slice(&3u32.to_le_bytes()); // version
    b.extend_from_slice(&1u64.to_le_bytes()); // tensors
    b.extend_from_slice(&0u64.to_le_bytes()); // metadata pairs
    let name = b"blk.0.attn_q.weight";
    b.extend_from_slice(&(name.len() as u64).to_le_bytes());
    b.extend_from_slice(name);
    b.extend_from_slice(&(dims.len() as u32).to_le_bytes());
    for d in dims {
        b.extend_from_slice(&d.to_le_bytes());
    }
    b.extend_from_slice(&8u32.to_le_bytes()); // GGML_TYPE_Q8_0
    b.extend_from_slice(&0u64.to_le_bytes()); // offset in the data section
    while b.len() % 32 != 0 {
        b.push(0); // default alignment
    }
    b.extend_from_slice(data);
    b
}

// Issue 17, item 3: a tensor with a zero dimension is refused when the file is opened.
#[test]
fn gguf_tensor_with_a_zero_dimension_is_refused_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("zero.gguf");
    std::fs::write(&path, tiny_gguf(&[32, 0], &[])).unwrap();
    let message = Gguf::open(&path).err().unwrap().to_string();
    assert!(message.contains("blk.0.attn_q.weight"), "{message}");
    assert!(message.contains("damaged"), "{message}");

    // The same file with one real row opens: the check is about the shape, not the layout.
    let mut row = vec![0u8; 34];
    row[1] = 0x3c; // scale 1.0 in f16
    std::fs::write(&path, tiny_gguf(&[32, 1], &row)).unwrap();
    assert!(Gguf::open(&path).is_ok());
}

/// A GGUF v3 file with no tensors and one metadata pair, `general.alignment` as a u32.
fn gguf_with_alignment(alignment: u32) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(b"GGUF");
    b.extend_from_slice(&3u32.to_le_bytes()); // version
    b.extend_from_slice(&0u64.to_le_bytes()); // tensors
    b.extend_from_slice(&1u64.to_le_bytes()); // metadata pairs
    let key = b"general.alignment";
    b.extend_from_slice(&(key.len() as u64).to_le_bytes());
    b.extend_from_slice(key);
    b.extend_from_slice(&4u32.to_le_bytes()); // GGUF_TYPE_UINT32
    b.extend_from_slice(&alignment.to_le_bytes());
    b
}

// Issue 17, item 3 (found by `cargo xtask reliability fuzz`): an alignment of 0 made candle's
// reader divide by zero; any alignment that is not a power of two is refused on open.
#[test]
fn gguf_alignment_that_is_not_a_power_of_two_is_refused_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("aligned.gguf");
    for bad in [0, 3, 48] {
        std::fs::write(&path, gguf_with_alignment(bad)).unwrap();
        let message = Gguf::open(&path).err().unwrap().to_string();
        assert!(message.contains("power of two"), "{bad}: {message}");
    }
    std::fs::write(&path, gguf_with_alignment(64)).unwrap();
    assert!(Gguf::open(&path).is_ok());
}

// Issue 17, item 3: a string that declares more bytes than the file has is refused before
// anything that size is allocated.
#[test]
fn gguf_metadata_longer_than_the_file_is_refused_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("long.gguf");
    let mut b = gguf_with_alignment(32);
    b[24..32].copy_from_slice(&u64::MAX.to_le_bytes()); // the key's length
    std::fs::write(&path, b).unwrap();
    let message = Gguf::open(&path).err().unwrap().to_string();
    assert!(message.contains("left in the file"), "{message}");
}

// Issue 17, item 3: a tensor whose shape promises more bytes than the file has (here about an
// exabyte) is refused on open, before anything that size is computed or allocated.
#[test]
fn gguf_tensor_larger_than_the_file_is_refused_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.gguf");
    std::fs::write(&path, tiny_gguf(&[1 << 40, 1 << 20], &[0; 34])).unwrap();
    let message = Gguf::open(&path).err().unwrap().to_string();
    assert!(message.contains("more than the"), "{message}");
}

// Issue 17, item 3: a query/key projection that does not split into the heads (0 heads from a
// damaged GGUF header) is an error, not a division by zero.
#[test]
fn unpermute_refuses_rows_that_do_not_split_into_heads() {
    let w = Tensor::zeros((8, 4), DType::F32, &Device::Cpu).unwrap();
    for heads in [0, 3] {
        let message = unpermute(&w, heads).unwrap_err().to_string();
        assert!(message.contains("heads of pairs"), "{heads}: {message}");
    }
    assert!(unpermute(&w, 2).is_ok());
}
