"""llama.cpp's speed on the same GGUF, prompt and thread count (for `cargo xtask bench generate`).

Greedy: the prompt is evaluated once, then TOKENS tokens are decoded one at a time, each picked
as the argmax of the last logits. Prints one JSON object.
"""
import json
import sys
import time

import numpy as np
from llama_cpp import Llama

model, prompt, tokens, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
t = time.perf_counter()
llm = Llama(model_path=model, n_ctx=1024, n_threads=threads, n_threads_batch=threads, verbose=False)
load_s = time.perf_counter() - t
ids = llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
t = time.perf_counter()
llm.eval(ids)
prompt_s = time.perf_counter() - t
t = time.perf_counter()
for _ in range(tokens):
    nxt = int(np.argmax(llm.scores[llm.n_tokens - 1]))
    llm.eval([nxt])
decode_s = time.perf_counter() - t
print(json.dumps({
    "llama_cpp_load_s": load_s,
    "llama_cpp_prompt_tokens_per_s": len(ids) / prompt_s,
    "llama_cpp_decode_tokens_per_s": tokens / decode_s,
    "llama_cpp_prompt_tokens": len(ids),
}))
