"""PyTorch + PEFT + TRL LoRA training speed: the baseline of `cargo xtask bench train`, run by the
cached virtualenv of xtask/src/torch_env.rs.

  python bench_train_torch.py --model PATH --data FILE.jsonl --objective sft|dpo
      [--steps 5] [--batch-size 2] [--threads 2] [--max-length 256]

--model is a GGUF file (transformers reads it and dequantises to float32) or a Hugging Face folder.
--data is TRL JSONL, one record a line, at least steps x batch-size records (fewer are cycled):
  SFT  {"prompt": "...", "completion": "..."}
  DPO  {"prompt": "...", "chosen": "...", "rejected": "..."}
Plain strings (TRL appends EOS to each completion) or TRL's conversational form (lists of
{"role", "content"} messages, rendered with the model's chat template). For the seq-256 target,
make each prompt about 100-200 tokens (DPO drops a record whose prompt alone fills max-length)
and each prompt + completion longer than max-length, so every sequence is cut to exactly
max-length tokens (TRL keeps the start).

Settings: LoRA r 8, alpha 16, dropout 0 on q,k,v,o; AdamW (torch), lr 5e-5 constant, no warm-up,
float32 (bf16 and fp16 off: the Trainer would otherwise autocast to bf16 on CPU), gradient
checkpointing off (TRL turns it on by default: it runs each forward twice to save memory, so off
is the faster baseline), CPU only, no evaluation or saving, a log row every step. DPO is TRL's
sigmoid loss, beta 0.1, with the reference computed each step by the same model with the adapter
off (TRL's default with PEFT).
Timing: wall time from the end of step 1 (warm-up, excluded) to the end of the last step, so model
loading and tokenisation are outside it. Tokens: the non-pad tokens the timed steps fed the model,
SFT prompt + completion per example, DPO prompt + chosen and prompt + rejected per pair.
Prints one JSON object on the last line of stdout ("steps" and "tokens" count the timed steps,
"warmup_steps" the untimed first one):
  {"objective", "tokens_per_s", "steps", "warmup_steps", "tokens", "seconds", "step_seconds",
   "cpu_seconds", "peak_rss_mb", "train_peak_rss_mb", "threads", "load_avg_1m", "batch_size",
   "records", "records_dropped", "max_length", "torch", "transformers", "peft", "trl"}
records_dropped counts those TRL left out because the prompt alone fills max-length (no
completion token would remain); when it drops all, the script fails and says so.
peak_rss_mb is the whole process's (getrusage: model loading and GGUF dequantisation included);
train_peak_rss_mb is the peak from the trainer's set-up on, with the model already resident
(the kernel's VmHWM, reset through /proc/self/clear_refs after loading). load_avg_1m (the
machine's load at the end) and cpu_seconds (this process's CPU time over the timed steps; about
threads x seconds when it had its cores) tell whether other work shared the cores.
"""
import argparse
import json
import os
import resource
import sys
import time


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True, help="GGUF file or Hugging Face folder")
    p.add_argument("--data", required=True, help="TRL JSONL (see the module doc)")
    p.add_argument("--objective", required=True, choices=["sft", "dpo"])
    p.add_argument("--steps", type=int, default=5, help="optimizer steps, the first untimed")
    p.add_argument("--batch-size", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--max-length", type=int, default=256)
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu",
                   help="where the Trainer runs (float32 either way)")
    args = p.parse_args()
    if args.steps < 2:
        p.error("--steps must be at least 2: the first step is a warm-up and is not timed")
    for name in ("batch_size", "threads", "max_length"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1")
    return args


def fail(message):
    print(f"bench_train_torch: {message}", file=sys.stderr)
    sys.exit(1)


def read_records(path, objective):
    """The JSONL records, each checked for the fields the objective needs."""
    needed = ("prompt", "completion") if objective == "sft" else ("prompt", "chosen", "rejected")
    records = []
    try:
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as e:
                    fail(f"line {n} of {path} is not JSON ({e})")
                missing = [k for k in needed if not isinstance(record, dict) or k not in record]
                if missing:
                    fail(f"line {n} of {path} lacks {missing}; {objective} needs {list(needed)}")
                records.append({k: record[k] for k in needed})
    except OSError as e:
        fail(f"cannot read {path}: {e}")
    if not records:
        fail(f"{path} holds no records")
    return records


def reset_peak_rss():
    """Sets the kernel's peak-RSS mark (VmHWM) to the current RSS (Linux; else does nothing)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def vm_hwm_mb():
    """Peak RSS since reset_peak_rss, in MB, or None where /proc has no VmHWM."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def main():
    args = parse_args()
    # Thread pools are sized when torch loads, so say it before the import too.
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    import torch
    import transformers
    import peft
    import trl
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback

    torch.set_num_threads(args.threads)
    records = read_records(args.data, args.objective)

    if os.path.isfile(args.model) and args.model.endswith(".gguf"):
        folder, name = os.path.split(os.path.abspath(args.model))
        model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
        tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
        # The weights are plain float32 now, but the GGUF marker left on the model makes the
        # Trainer refuse to train it; transformers' own call takes the marker off.
        if getattr(model, "hf_quantizer", None) is not None:
            model.hf_quantizer.remove_quantization_config(model)
    elif os.path.isdir(args.model):
        model = AutoModelForCausalLM.from_pretrained(args.model, dtype=torch.float32)
        tokenizer = AutoTokenizer.from_pretrained(args.model)
    else:
        fail(f"--model {args.model} is neither a .gguf file nor a model folder")

    lora = LoraConfig(r=8, lora_alpha=16, lora_dropout=0.0, bias="none", task_type="CAUSAL_LM",
                      target_modules=["q_proj", "k_proj", "v_proj", "o_proj"])
    common = dict(
        output_dir=os.path.join(os.environ.get("TMPDIR", "/tmp"), "clinitune-bench-train-torch"),
        per_device_train_batch_size=args.batch_size, gradient_accumulation_steps=1,
        max_steps=args.steps, learning_rate=5e-5, lr_scheduler_type="constant", warmup_steps=0,
        optim="adamw_torch", logging_steps=1, save_strategy="no", eval_strategy="no",
        report_to=[], seed=42, use_cpu=args.device == "cpu", bf16=False, fp16=False, dataloader_num_workers=0,
        max_length=args.max_length, disable_tqdm=True, gradient_checkpointing=False,
    )

    class StepClock(TrainerCallback):
        """Times optimizer steps: the end of each step, by the Trainer's own events."""

        def __init__(self):
            self.ends = []
            self.cpu = []

        def on_step_end(self, _args, state, control, **kwargs):
            self.ends.append(time.perf_counter())
            t = os.times()
            self.cpu.append(t.user + t.system)

    def counting(trainer_class):
        """The trainer with a count of the non-pad tokens each training step feeds the model."""

        class Counting(trainer_class):
            step_tokens = []

            def training_step(self, model, inputs, *rest, **kw):
                mask = inputs.get("attention_mask")
                ids = inputs["input_ids"]
                self.step_tokens.append(int(mask.sum()) if mask is not None else ids.numel())
                return super().training_step(model, inputs, *rest, **kw)

        return Counting

    # From here the peak resident set covers training only (plus the resident model).
    reset_peak_rss()
    clock = StepClock()
    dataset = Dataset.from_list(records)
    if args.objective == "sft":
        from trl import SFTConfig, SFTTrainer
        config = SFTConfig(completion_only_loss=True, packing=False, **common)
        trainer_class = counting(SFTTrainer)
    else:
        from trl import DPOConfig, DPOTrainer
        config = DPOConfig(beta=0.1, loss_type=["sigmoid"], **common)
        trainer_class = counting(DPOTrainer)
    trainer = trainer_class(model=model, args=config, train_dataset=dataset,
                            processing_class=tokenizer, peft_config=lora, callbacks=[clock])
    kept = len(trainer.train_dataset)
    if kept == 0:
        fail(f"TRL dropped all {len(records)} records of {args.data}: each prompt fills "
             f"--max-length {args.max_length} tokens, leaving no completion token to train on; "
             f"shorten the prompts (100-200 tokens suit max-length 256)")
    trainer.train()

    if len(clock.ends) != args.steps or len(trainer.step_tokens) != args.steps:
        fail(f"expected {args.steps} steps, saw {len(clock.ends)} ends and "
             f"{len(trainer.step_tokens)} batches")
    seconds = clock.ends[-1] - clock.ends[0]
    cpu_seconds = clock.cpu[-1] - clock.cpu[0]
    tokens = sum(trainer.step_tokens[1:])
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    train_peak_rss_mb = vm_hwm_mb()
    print(json.dumps({
        "objective": args.objective,
        "tokens_per_s": tokens / seconds,
        "steps": args.steps - 1,
        "warmup_steps": 1,
        "tokens": tokens,
        "seconds": seconds,
        "step_seconds": [b - a for a, b in zip(clock.ends, clock.ends[1:])],
        "cpu_seconds": cpu_seconds,
        "peak_rss_mb": peak_rss_mb,
        "train_peak_rss_mb": train_peak_rss_mb,
        "threads": torch.get_num_threads(),
        "device": args.device,
        "load_avg_1m": os.getloadavg()[0],
        "batch_size": args.batch_size,
        "records": kept,
        "records_dropped": len(records) - kept,
        "max_length": args.max_length,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "peft": peft.__version__,
        "trl": trl.__version__,
    }))


if __name__ == "__main__":
    main()
