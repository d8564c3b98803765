use candle_core::{DType, IndexOp};

use super::*;
use crate::testing::{fixtures, ids, json};

fn tiny() -> (Llama, Tokenizer, serde_json::Value) {
    let dir = fixtures().join("tiny-llama");
    let model = Llama::from_hf_folder(&dir, DType::F32, &crate::testing::device()).unwrap();
    let tok = Tokenizer::from_hf_folder(&dir).unwrap();
    (model, tok, json("tiny-llama/reference.json"))
}

#[test]
fn greedy_generation_reproduces_the_reference_ids_and_streams_the_same_text() {
    let (model, tok, reference) = tiny();
    // Prompt 2 (chat) is left out here: its <|im_end|> tokens equal the pad id, so transformers'
    // generate() inferred an attention mask hiding them; see the padding-mask test below.
    for prompt in reference["prompts"].as_array().unwrap().iter().take(2) {
        let input = tok.encode(prompt["text"].as_str().unwrap(), false).unwrap();
        assert_eq!(input, ids(&prompt["input_ids"]));
        let expected = ids(&prompt["greedy_new_ids"]);
        let config = GenerateConfig {
            max_tokens: expected.len(),
            sampling: Sampling::greedy(),
            stop_ids: vec![],
            stop_strings: vec![],
        };
        let mut streamed = String::new();
        let out = generate(
            &model,
            &tok,
            &input,
            &config,
            &mut |t| streamed.push_str(t),
            &|| false,
        )
        .unwrap();
        assert_eq!(out.token_ids, expected);
        assert_eq!(out.stop, StopReason::MaxTokens);
        assert_eq!(streamed, out.text);
        assert_eq!(out.text, tok.decode(&expected, true).unwrap());
    }
}

#[test]
fn sampling_is_deterministic_per_seed_and_stops_where_asked() {
    let (model, tok, reference) = tiny();
    let input = ids(&reference["prompts"][0]["input_ids"]);
    let sampled = |seed| {
        let sampling = Sampling {
            temperature: 1.5,
            top_k: 50,
            top_p: 0.95,
            repetition_penalty: 1.1,
            seed,
        };
        let config = GenerateConfig {
            max_tokens: 12,
            sampling,
            stop_ids: vec![],
            stop_strings: vec![],
        };
        generate(&model, &tok, &input, &config, &mut |_| {}, &|| false)
            .unwrap()
            .token_ids
    };
    assert_eq!(sampled(1), sampled(1));
    assert_ne!(sampled(1), sampled(2), "a different seed draws differently");

    // The first greedy token as a stop id: kept as the last id, left out of the text.
    let greedy = ids(&reference["prompts"][0]["greedy_new_ids"]);
    let config = GenerateConfig {
        max_tokens: 10,
        sampling: Sampling::greedy(),
        stop_ids: vec![greedy[2]],
        stop_strings: vec![],
    };
    let out = generate(&model, &tok, &input, &config, &mut |_| {}, &|| false).unwrap();
    assert_eq!(out.token_ids, greedy[..3].to_vec());
    assert_eq!(out.stop, StopReason::Eos);
    assert_eq!(out.text, tok.decode(&greedy[..2], true).unwrap());

    let cancelled = generate(&model, &tok, &input, &config, &mut |_| {}, &|| true).unwrap();
    assert_eq!(
        (cancelled.stop, cancelled.token_ids.len()),
        (StopReason::Cancelled, 0)
    );
}

#[test]
fn top_k_one_and_tiny_top_p_are_greedy() {
    let logits = [0.1f32, 2.0, -1.0, 1.9];
    let mut rng = Rng::new(3);
    for s in [
        Sampling {
            temperature: 1.0,
            top_k: 1,
            top_p: 1.0,
            repetition_penalty: 1.0,
            seed: 0,
        },
        Sampling {
            temperature: 1.0,
            top_k: 0,
            top_p: 1e-6,
            repetition_penalty: 1.0,
            seed: 0,
        },
    ] {
        for _ in 0..20 {
            assert_eq!(choose(&logits, &[], &s, &mut rng), 1);
        }
    }
    // A strong repetition penalty moves greedy off a token already seen.
    let penalised = Sampling {
        repetition_penalty: 2.0,
        ..Sampling::greedy()
    };
    assert_eq!(choose(&logits, &[1], &penalised, &mut rng), 3);
}

#[test]
fn padding_mask_reproduces_transformers_greedy_ids_for_every_prompt() {
    // transformers' generate(pad_token_id=2) hides every input token equal to the pad id (the
    // chat prompt's <|im_end|>) and counts positions over the rest; the same mask here must
    // give the fixture's greedy ids for all three prompts.
    let (model, _tok, reference) = tiny();
    let pad = json("tiny-llama/generation_config.json")["pad_token_id"]
        .as_u64()
        .unwrap() as u32;
    let device = model.device().clone();
    let mut masked_any = false;
    for (p, prompt) in reference["prompts"].as_array().unwrap().iter().enumerate() {
        let input = ids(&prompt["input_ids"]);
        let expected = ids(&prompt["greedy_new_ids"]);
        let keep = vec![input.iter().map(|id| *id != pad).collect::<Vec<bool>>()];
        masked_any |= keep[0].contains(&false);
        let mut cache = Cache::new();
        let mut x = Tensor::new(input.as_slice(), &device)
            .unwrap()
            .unsqueeze(0)
            .unwrap();
        let mut keep_now = keep;
        let mut generated = Vec::new();
        while generated.len() < expected.len() {
            let logits = model.forward_padded(&x, &keep_now, &mut cache).unwrap();
            let s = logits.dim(1).unwrap();
            let next = logits
                .i((0, s - 1))
                .unwrap()
                .argmax(0)
                .unwrap()
                .to_scalar::<u32>()
                .unwrap();
            generated.push(next);
            x = Tensor::new(&[[next]], &device).unwrap();
            keep_now = vec![vec![true]];
        }
        assert_eq!(generated, expected, "prompt {p}");
    }
    assert!(masked_any, "the chat prompt should contain the pad id");
}

#[test]
fn a_padded_batch_gives_each_prompt_what_it_gets_alone() {
    let (model, tok, reference) = tiny();
    let prompts: Vec<Vec<u32>> = reference["prompts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| ids(&p["input_ids"]))
        .collect();
    assert_ne!(
        prompts[0].len(),
        prompts[1].len(),
        "rows of different lengths"
    );
    // Greedy: prompts 0 and 1 (no pad ids inside) reproduce the fixture in one batch.
    let greedy = GenerateConfig {
        max_tokens: 16,
        sampling: Sampling::greedy(),
        stop_ids: vec![],
        stop_strings: vec![],
    };
    let rows = |prompts: &[Vec<u32>], config: &GenerateConfig| -> Vec<(Vec<u32>, GenerateConfig)> {
        prompts
            .iter()
            .map(|p| (p.clone(), config.clone()))
            .collect()
    };
    let out = generate_batch(
        &model,
        &tok,
        &rows(&prompts[..2], &greedy),
        &mut |_, _| {},
        &|| false,
    )
    .unwrap();
    for (p, g) in out.iter().enumerate() {
        assert_eq!(
            g.token_ids,
            ids(&reference["prompts"][p]["greedy_new_ids"]),
            "{p}"
        );
        assert_eq!(g.stop, StopReason::MaxTokens);
    }
    // Sampling with a seed: every row equals its own sequential run, and a row stopped by an
    // end id finishes (and is reported) while the others go on.
    let first_of_row0 = out[0].token_ids[3];
    let sampled = GenerateConfig {
        max_tokens: 10,
        sampling: Sampling {
            temperature: 0.9,
            top_k: 40,
            top_p: 0.95,
            repetition_penalty: 1.1,
            seed: 11,
        },
        stop_ids: vec![first_of_row0],
        stop_strings: vec![],
    };
    // Each row its own seed and budget.
    let sampled_rows: Vec<(Vec<u32>, GenerateConfig)> = prompts
        .iter()
        .enumerate()
        .map(|(p, prompt)| {
            let mut c = sampled.clone();
            c.sampling.seed += p as u64;
            c.max_tokens = 6 + 2 * p;
            (prompt.clone(), c)
        })
        .collect();
    let mut order = Vec::new();
    let batch = generate_batch(
        &model,
        &tok,
        &sampled_rows,
        &mut |i, _| order.push(i),
        &|| false,
    )
    .unwrap();
    for (p, (g, (prompt, config))) in batch.iter().zip(&sampled_rows).enumerate() {
        let alone = generate(&model, &tok, prompt, config, &mut |_| {}, &|| false).unwrap();
        assert_eq!(g, &alone, "prompt {p}");
    }
    let mut sorted = order.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, vec![0, 1, 2], "each row reported once");
    // Cancelled before the first step: every row ends Cancelled with nothing generated.
    let cancelled = generate_batch(&model, &tok, &sampled_rows, &mut |_, _| {}, &|| true).unwrap();
    assert!(
        cancelled
            .iter()
            .all(|g| g.stop == StopReason::Cancelled && g.token_ids.is_empty())
    );
    // An empty prompt is refused, not a panic.
    assert!(
        generate_batch(
            &model,
            &tok,
            &rows(&[vec![], vec![1]], &greedy),
            &mut |_, _| {},
            &|| false
        )
        .is_err()
    );
}
