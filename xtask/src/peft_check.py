"""Loads a LoRA adapter with Hugging Face PEFT and prints the logits: the round-trip check that an
adapter Clinitune saved is one PEFT reads (run by the cached virtualenv of xtask/src/torch_env.rs).

  python peft_check.py --base BASE --adapter ADAPTER_DIR --ids '[[1,2,3],[4,5]]' [--full]
  python peft_check.py --merged MERGED_DIR --ids '[[1,2,3]]' [--full]
  python peft_check.py --base BASE --adapter CLASSIFIER_DIR --classify --ids '[[1,2,3],[4,5]]'
  python peft_check.py --selftest [--fixtures DIR]

BASE is a Hugging Face folder or a GGUF file (read by transformers and dequantised); models load
in float32. Prints one JSON object on the last line of stdout:
  {"logits": [...], "keys": [...], "shapes": {...}, "dtypes": {...}, "config": {...}}
"logits" holds, per prompt (each run alone, no padding), the last position's logits ([vocab]),
or with --full every position's ([seq][vocab]). With --adapter, "keys" are the tensor names in
adapter_model.safetensors (sorted), with their shapes and dtypes, and "config" is the
adapter_config.json PEFT read. The check fails (exit 1, reason on stderr) when PEFT did not take
every tensor of the file as it is: a key it does not expect, a key it expected that is missing,
or a loaded value that differs from the file (so a misnamed key cannot pass silently).

With --classify the adapter is a SEQ_CLS classifier (a `score` head saved as PEFT's
modules_to_save, as `clinitune train classify` writes it): the base loads as
LlamaForSequenceClassification with as many labels as the head has rows, and "probabilities"
holds, per prompt (each run alone, so the head reads its last token), the sigmoid of the logits:
what `clinitune predict` reports.

--selftest loads ../shared/fixtures/peft-lora on tiny-llama, compares the logits of its three
prompts with reference_logits.safetensors, then merges, saves, reloads with --merged's path and
compares again (max abs diff <= 1e-4); exit 1 on a mismatch.
"""
import argparse
import json
import os
import sys
import tempfile

import torch
from safetensors import safe_open
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM

TOLERANCE = 1e-4


def load_causal_lm(path):
    """A causal LM in float32 from an HF folder or a GGUF file."""
    if os.path.isfile(path) and path.endswith(".gguf"):
        folder, name = os.path.split(os.path.abspath(path))
        model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    elif os.path.isdir(path):
        model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    else:
        fail(f"{path} is neither a model folder nor a .gguf file")
    return model.eval()


def fail(message):
    print(f"peft_check: {message}", file=sys.stderr)
    sys.exit(1)


@torch.no_grad()
def logits_of(model, prompts, full):
    """Per prompt, alone: last-position logits, or all positions' with `full`."""
    out = []
    for ids in prompts:
        logits = model(torch.tensor([ids], dtype=torch.long)).logits[0]
        out.append(logits if full else logits[-1])
    return out


def load_classifier(path, labels):
    """A sequence classifier in float32 from an HF folder, `labels` outputs, multi-label."""
    from transformers import AutoModelForSequenceClassification

    if not os.path.isdir(path):
        fail(f"{path} is not a model folder (a classifier base must be a Hugging Face folder)")
    model = AutoModelForSequenceClassification.from_pretrained(
        path, num_labels=labels, problem_type="multi_label_classification", dtype=torch.float32)
    return model.eval()


def load_adapter(base_path, adapter_dir, classify=False):
    """The base with the adapter applied by PEFT, and what the file held; fails when PEFT did
    not take every tensor of the file unchanged. With `classify`, the base is a sequence
    classifier sized by the adapter's score head."""
    from peft import PeftModel, get_peft_model_state_dict

    weights = os.path.join(adapter_dir, "adapter_model.safetensors")
    if not os.path.isfile(weights):
        fail(f"{adapter_dir} has no adapter_model.safetensors")
    if classify:
        score = [k for k in load_file(weights) if k.endswith("score.weight")]
        if not score:
            fail(f"{weights} has no score head: not a classifier adapter")
        labels = load_file(weights)[score[0]].shape[0]
        base = load_classifier(base_path, labels)
    else:
        base = load_causal_lm(base_path)
    model = PeftModel.from_pretrained(base, adapter_dir).eval()
    file_tensors = load_file(weights)
    with safe_open(weights, "pt") as f:
        dtypes = {k: str(f.get_slice(k).get_dtype()) for k in f.keys()}
    loaded = get_peft_model_state_dict(model)
    unexpected = sorted(set(file_tensors) - set(loaded))
    missing = sorted(set(loaded) - set(file_tensors))
    if unexpected or missing:
        fail(f"PEFT did not take the adapter as saved: keys it does not expect {unexpected[:5]} "
             f"({len(unexpected)}), keys it expected but the file lacks {missing[:5]} ({len(missing)})")
    differ = [k for k, v in file_tensors.items()
              if v.shape != loaded[k].shape or not torch.equal(v.to(loaded[k].dtype), loaded[k])]
    if differ:
        fail(f"PEFT loaded other values than the file holds for {differ[:5]} ({len(differ)} tensors)")
    config = model.peft_config["default"].to_dict()
    summary = {
        "keys": sorted(file_tensors),
        "shapes": {k: list(v.shape) for k, v in sorted(file_tensors.items())},
        "dtypes": dict(sorted(dtypes.items())),
        "config": json.loads(json.dumps(config, default=plain)),
    }
    return model, summary


def plain(value):
    """JSON for what PEFT's config holds beyond JSON: sets as sorted lists, enums as names."""
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    return str(value)


def max_diff(a, b):
    return float((a - b).abs().max())


def selftest(fixtures):
    tiny = os.path.join(fixtures, "tiny-llama")
    adapter = os.path.join(fixtures, "peft-lora")
    ref = load_file(os.path.join(adapter, "reference_logits.safetensors"))
    n = sum(1 for k in ref if k.startswith("input_ids."))
    prompts = [ref[f"input_ids.{i}"].tolist() for i in range(n)]
    model, summary = load_adapter(tiny, adapter)
    worst = 0.0
    for i, got in enumerate(logits_of(model, prompts, full=True)):
        worst = max(worst, max_diff(got, ref[f"logits.{i}"]))
    with tempfile.TemporaryDirectory() as merged_dir:
        model.merge_and_unload().save_pretrained(merged_dir)
        merged = load_causal_lm(merged_dir)
        merged_worst = 0.0
        for i, got in enumerate(logits_of(merged, prompts, full=True)):
            merged_worst = max(merged_worst, max_diff(got, ref[f"logits.{i}"]))
    result = {"selftest": "peft-lora", "prompts": n, "keys": len(summary["keys"]),
              "max_abs_diff": worst, "merged_max_abs_diff": merged_worst, "tolerance": TOLERANCE,
              "ok": worst <= TOLERANCE and merged_worst <= TOLERANCE}
    print(json.dumps(result))
    if not result["ok"]:
        fail(f"logits differ from {adapter}/reference_logits.safetensors by {max(worst, merged_worst)}")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    default_fixtures = os.path.normpath(os.path.join(here, "..", "..", "..", "shared", "fixtures"))
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--base", help="base model: Hugging Face folder or .gguf file")
    p.add_argument("--adapter", help="PEFT adapter folder to apply to --base")
    p.add_argument("--merged", help="merged Hugging Face folder, loaded alone")
    p.add_argument("--ids", help="JSON list of token-id lists, one per prompt")
    p.add_argument("--full", action="store_true", help="all positions' logits, not only the last")
    p.add_argument("--classify", action="store_true",
                   help="the adapter is a classifier: print per-prompt sigmoid probabilities")
    p.add_argument("--selftest", action="store_true", help="check against the peft-lora fixture")
    p.add_argument("--fixtures", default=default_fixtures, help="the shared fixtures folder")
    args = p.parse_args()
    torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))
    if args.selftest:
        return selftest(args.fixtures)
    if not args.ids:
        fail("--ids is required, e.g. --ids '[[1, 2, 3]]'")
    try:
        prompts = json.loads(args.ids)
        ok = isinstance(prompts, list) and prompts and all(
            isinstance(p, list) and p and all(isinstance(t, int) for t in p) for p in prompts)
    except json.JSONDecodeError:
        ok = False
    if not ok:
        fail(f"--ids must be a JSON list of non-empty lists of token ids, got {args.ids[:80]!r}")
    if args.merged and not (args.base or args.adapter):
        model, summary = load_causal_lm(args.merged), {}
    elif args.base and args.adapter and not args.merged and args.classify:
        model, summary = load_adapter(args.base, args.adapter, classify=True)
        with torch.no_grad():
            probabilities = [torch.sigmoid(model(torch.tensor([ids], dtype=torch.long)).logits[0])
                             .tolist() for ids in prompts]
        print(json.dumps({"probabilities": probabilities, **summary}))
        return
    elif args.base and args.adapter and not args.merged:
        model, summary = load_adapter(args.base, args.adapter)
    else:
        fail("give either --base and --adapter, or --merged alone")
    vocab = model.config.get_text_config().vocab_size
    bad = [t for p in prompts for t in p if not 0 <= t < vocab]
    if bad:
        fail(f"token ids {bad[:5]} are outside the vocabulary (0..{vocab})")
    logits = [t.tolist() for t in logits_of(model, prompts, args.full)]
    print(json.dumps({"logits": logits, **summary}))


if __name__ == "__main__":
    main()
