"""Runs a GGUF model in llama.cpp (through llama-cpp-python), optionally with a LoRA adapter GGUF,
and prints one JSON line: for each prompt of token ids, the last position's logits and the
greedy continuation. The tests compare these with Clinitune's own numbers (tests/it/gguf.rs).

usage: python llama_cpp_logits.py --model M.gguf [--lora A.gguf] --ids '[[1, 2], [3]]' [--greedy N]
"""

import argparse
import json

import llama_cpp
import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--lora")
    parser.add_argument("--ids", required=True, help="JSON list of prompts, each a list of ids")
    parser.add_argument("--greedy", type=int, default=0, help="greedy tokens after each prompt")
    args = parser.parse_args()
    prompts = json.loads(args.ids)
    llm = llama_cpp.Llama(
        model_path=args.model,
        lora_path=args.lora,
        n_ctx=256,
        n_batch=256,
        n_threads=2,
        logits_all=True,
        seed=0,
        # An f32 KV cache (llama.cpp defaults to f16), so an f32 model is compared exactly.
        type_k=0,
        type_v=0,
        verbose=False,
    )
    out = {"logits": [], "greedy": [], "n_vocab": llm.n_vocab()}
    for ids in prompts:
        llm.reset()
        llm.eval(ids)
        last = np.array(llm.scores[llm.n_tokens - 1], dtype=np.float64)
        out["logits"].append(last.tolist())
        greedy = []
        for _ in range(args.greedy):
            token = int(np.argmax(llm.scores[llm.n_tokens - 1]))
            greedy.append(token)
            llm.eval([token])
        out["greedy"].append(greedy)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
