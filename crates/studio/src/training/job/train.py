"""Trains the LoRA adapter that job.json (beside this script) describes, with Hugging Face TRL.

Written by `clinitune train OBJECTIVE ... --export-job DIR`. Every training setting is in
job.json, exactly as Clinitune resolved it ("args" are passed unchanged to TRL's SFTConfig or
DPOConfig, or to transformers' TrainingArguments; "lora" to PEFT's LoraConfig). Run it with

    accelerate launch --config_file accelerate.yaml train.py [--model HF_FOLDER]

Options override the job only where a machine needs it: --model (the base model's Hugging Face
folder, when job.json has none or it lives elsewhere), --output-dir, --max-steps (a smoke test).
The PEFT adapter is written to the output folder (job.json's "output_dir"), with
trl_args.json (the arguments the trainer ran with) and, for classification, labels.json.
"""
import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def fail(message):
    print(f"train.py: {message}", file=sys.stderr)
    sys.exit(2)


def here(path):
    return path if os.path.isabs(path) else os.path.join(HERE, path)


def base_model(job, given):
    path = given or job.get("model")
    if not path:
        fail(
            "TRL needs the base model's Hugging Face weights (a folder with config.json and "
            f"*.safetensors), but this job was made from {job.get('model_used_here')!r}. "
            "Pass --model HF_FOLDER (the same model in Hugging Face form), or set \"model\" in "
            "job.json.")
    if not os.path.isfile(os.path.join(path, "config.json")):
        fail(f"{path} is not a Hugging Face model folder (no config.json); pass --model HF_FOLDER")
    return path


def datasets_of(job, seed):
    from datasets import load_dataset

    train = load_dataset("json", data_files=here(job["train_file"]), split="train")
    evaluation = None
    if job.get("eval_file"):
        evaluation = load_dataset("json", data_files=here(job["eval_file"]), split="train")
    elif job.get("eval_fraction", 0) > 0:
        parts = train.train_test_split(test_size=job["eval_fraction"], seed=seed)
        train, evaluation = parts["train"], parts["test"]
    return train, evaluation


def callbacks_of(job, args):
    patience = job.get("early_stopping_patience")
    if not patience:
        return []
    from transformers import EarlyStoppingCallback

    # The Trainer stops early only when it keeps the best checkpoint, evaluated and saved alike.
    args.update(load_best_model_at_end=True, metric_for_best_model="eval_loss",
                greater_is_better=False, save_strategy="steps", save_steps=args["eval_steps"])
    return [EarlyStoppingCallback(early_stopping_patience=patience)]


def causal_lm(job, model_path):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(model_path, dtype=torch.float32)
    if job.get("init_adapter"):
        return PeftModel.from_pretrained(model, here(job["init_adapter"]), is_trainable=True), None
    from peft import LoraConfig

    return model, LoraConfig(**job["lora"])


def classify(job, model_path, args, train, evaluation, callbacks):
    import torch
    from peft import LoraConfig, PeftModel, get_peft_model
    from transformers import (AutoModelForSequenceClassification, AutoTokenizer,
                              DataCollatorWithPadding, Trainer, TrainingArguments)

    labels = job.get("labels") or sorted({l for row in train for l in row["labels"]})
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForSequenceClassification.from_pretrained(
        model_path, num_labels=len(labels), problem_type="multi_label_classification",
        dtype=torch.float32)
    model.config.pad_token_id = tokenizer.pad_token_id
    if job.get("init_adapter"):
        model = PeftModel.from_pretrained(model, here(job["init_adapter"]), is_trainable=True)
    else:
        model = get_peft_model(model, LoraConfig(**job["lora"]))

    def encode(row):
        out = tokenizer(row["text"], truncation=True, max_length=job["max_length"])
        out["labels"] = [1.0 if name in row["labels"] else 0.0 for name in labels]
        return out

    columns = train.column_names
    train = train.map(encode, remove_columns=columns)
    if evaluation is not None:
        evaluation = evaluation.map(encode, remove_columns=evaluation.column_names)
    trainer = Trainer(model=model, args=TrainingArguments(**args), train_dataset=train,
                      eval_dataset=evaluation, data_collator=DataCollatorWithPadding(tokenizer),
                      callbacks=callbacks)
    return trainer, labels


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", help="the base model's Hugging Face folder")
    parser.add_argument("--output-dir", help="where the adapter goes (default: job.json's)")
    parser.add_argument("--max-steps", type=int, help="stop after this many optimizer steps")
    given = parser.parse_args()
    with open(os.path.join(HERE, "job.json"), encoding="utf-8") as f:
        job = json.load(f)
    if job.get("format") != 1:
        fail(f"job.json has format {job.get('format')!r}; this script reads format 1")
    model_path = base_model(job, given.model)
    args = dict(job["args"])
    args["output_dir"] = given.output_dir or here(job["output_dir"])
    if given.max_steps:
        args["max_steps"] = given.max_steps

    from transformers import set_seed

    set_seed(args["seed"])
    train, evaluation = datasets_of(job, args["seed"])
    callbacks = callbacks_of(job, args)
    objective = job["objective"]
    labels = None
    if objective == "classify":
        trainer, labels = classify(job, model_path, args, train, evaluation, callbacks)
    else:
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(model_path)
        model, lora = causal_lm(job, model_path)
        common = dict(model=model, train_dataset=train, eval_dataset=evaluation,
                      processing_class=tokenizer, peft_config=lora, callbacks=callbacks)
        if objective in ("sft", "domain"):
            from trl import SFTConfig, SFTTrainer

            trainer = SFTTrainer(args=SFTConfig(**args), **common)
        elif objective == "dpo":
            from trl import DPOConfig, DPOTrainer

            trainer = DPOTrainer(args=DPOConfig(**args), **common)
        else:
            fail(f"objective {objective!r} has no TRL trainer")

    trainer.train()
    out = args["output_dir"]
    trainer.save_model(out)
    if trainer.is_world_process_zero():
        with open(os.path.join(out, "trl_args.json"), "w", encoding="utf-8") as f:
            json.dump(trainer.args.to_dict(), f, indent=1, default=str)
        if labels is not None:
            with open(os.path.join(out, "labels.json"), "w", encoding="utf-8") as f:
                json.dump(labels, f)
        print(f"adapter written to {out}")


if __name__ == "__main__":
    main()
