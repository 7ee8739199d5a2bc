"""CUDA section of the benchmarks: tl.train against Hugging Face Trainer on one GPU, bf16.

Runs only where CUDA exists (it exits with a message elsewhere). Two workloads:

- MiniLM (the embedded all-MiniLM-L6-v2) on 12,000 tweets, max_length 64;
- a BERT-base-sized model (random weights: speed does not depend on them) on 6,000 tweets.

Both methods get the same model (seeded copy), the same raw training texts, 1 epoch,
batch 32, lr 5e-5, 10% warmup, weight decay 0.01, clipping 1.0, bf16 autocast, and one
validation pass at the end on the same 1,000 tweets; the time is the whole call,
tokenization included. Each method is warmed up once (CUDA context, kernels) and then run
in ``--rounds`` rotated rounds, so a change on the machine hits both alike. A separate
short run counts host-device synchronisations per training step with
``torch.cuda.set_sync_debug_mode("warn")``.

    python benchmarks/cuda_bench.py --out cuda_results.json
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import sys
import tempfile
import time
import warnings
from pathlib import Path

import torch
from datasets import DatasetDict

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import tlhelpers as tl  # noqa: E402

SETTINGS = dict(epochs=1, lr=5e-5, batch_size=32, warmup_ratio=0.1, weight_decay=0.01)
BF16 = True  # a dry run of the script's logic on a CPU sets it False


def run_tlhelpers(model, tokenizer, data: DatasetDict, max_length: int, **options) -> None:
    tl.train(model, tokenizer, data, max_length=max_length,
             mixed_precision="bf16" if BF16 else "no",
             progress=False, **SETTINGS, **options)  # fmt: skip


def run_tlhelpers_dropout(model, tokenizer, data: DatasetDict, max_length: int) -> None:
    run_tlhelpers(model, tokenizer, data, max_length, dropout=None)  # the model's own 0.1


def run_trainer(model, tokenizer, data: DatasetDict, max_length: int, max_steps: int = -1):
    from transformers import DataCollatorWithPadding, Trainer, TrainingArguments
    from transformers.trainer_callback import PrinterCallback

    def encode(batch):
        return tokenizer(batch["text"], truncation=True, max_length=max_length)

    train = data["train"].map(encode, batched=True, remove_columns=["text"])
    validation = data["validation"].map(encode, batched=True, remove_columns=["text"])
    with tempfile.TemporaryDirectory() as out:
        args = TrainingArguments(
            output_dir=out, num_train_epochs=SETTINGS["epochs"], learning_rate=SETTINGS["lr"],
            per_device_train_batch_size=SETTINGS["batch_size"],
            per_device_eval_batch_size=2 * SETTINGS["batch_size"],
            weight_decay=SETTINGS["weight_decay"], warmup_steps=SETTINGS["warmup_ratio"],
            max_grad_norm=1.0, bf16=BF16, eval_strategy="epoch", save_strategy="no",
            logging_strategy="no", report_to="none", disable_tqdm=True, seed=42,
            log_level="error", max_steps=max_steps,
        )  # fmt: skip
        trainer = Trainer(
            model=model, args=args, train_dataset=train, eval_dataset=validation,
            processing_class=tokenizer, data_collator=DataCollatorWithPadding(tokenizer),
        )  # fmt: skip
        trainer.remove_callback(PrinterCallback)
        trainer.train()


METHODS = {
    "tlhelpers.train (dropout off, its default)": run_tlhelpers,
    "tlhelpers.train, dropout 0.1 (like Trainer)": run_tlhelpers_dropout,
    "HF Trainer (bf16, DataCollatorWithPadding)": run_trainer,
}


def timed(method, base_model, tokenizer, data, max_length) -> float:
    model = copy.deepcopy(base_model).cuda()
    torch.cuda.synchronize()
    start = time.perf_counter()
    METHODS[method](model, tokenizer, data, max_length)
    torch.cuda.synchronize()
    return time.perf_counter() - start


def syncs_per_step(base_model, tokenizer, data, max_length, steps: int = 40) -> dict:
    """Host-device synchronisations per training step, counted by PyTorch's sync debug mode."""
    small = DatasetDict(train=data["train"].select(range(steps * 32)),
                        validation=data["validation"].select(range(64)))  # fmt: skip
    counts = {}
    for name, call in (
        ("tlhelpers.train", lambda m: run_tlhelpers(m, tokenizer, small, max_length)),
        ("HF Trainer", lambda m: run_trainer(m, tokenizer, small, max_length)),
    ):
        model = copy.deepcopy(base_model).cuda()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            torch.cuda.set_sync_debug_mode("warn")
            try:
                call(model)
            finally:
                torch.cuda.set_sync_debug_mode("default")
        syncs = [w for w in caught if "synchroniz" in str(w.message)]
        counts[name] = round(len(syncs) / steps, 2)
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("cuda_results.json"))
    parser.add_argument("--quick", action="store_true", help="tiny sizes: check it runs")
    parser.add_argument("--no-sync-count", action="store_true", help="skip counting syncs")
    args = parser.parse_args()
    if BF16 and not torch.cuda.is_available():
        print("No CUDA device: the CUDA benchmark runs only on a GPU machine.")
        return
    # Shuffled once: the splits are stored grouped by label, so a plain select(range(n))
    # would time (and validate on) one class only.
    tweets = tl.load_text_dataset("tweet-sentiment", seed=42).shuffle(seed=42)
    labels = tl.label_names_of(tweets)
    validation = tweets["validation"].select(range(1000))
    tokenizer = tl.load_tokenizer("minilm")
    scale = 0.05 if args.quick else 1.0
    workloads = [
        ("MiniLM, tweets", "minilm", 12_000, 64),
        ("BERT-base-sized (random weights), tweets", "bert-base", 6_000, 64),
    ]
    results = {
        "device": torch.cuda.get_device_name(0),
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "transformers": __import__("transformers").__version__,
        },  # fmt: skip
        "settings": SETTINGS | {"mixed_precision": "bf16", "rounds": args.rounds},
        "workloads": [],
    }
    for title, model_name, n_train, max_length in workloads:
        n_train = max(256, int(n_train * scale))
        data = DatasetDict(train=tweets["train"].select(range(n_train)), validation=validation)
        tl.set_seed(0)
        if model_name == "minilm":
            base, _ = tl.load_model("minilm", labels=labels)
        else:
            base = tl.random_model(model_name, labels=labels)
        methods = list(METHODS)
        # Warm-up: one full run of each method, not timed. A first run in a process pays
        # for the CUDA context, kernel selection per shape and the memory allocator's pool.
        first_run = {m: round(timed(m, base, tokenizer, data, max_length), 2) for m in methods}
        seconds: dict[str, list[float]] = {m: [] for m in methods}
        for round_ in range(args.rounds):
            order = methods[round_ % len(methods) :] + methods[: round_ % len(methods)]
            for method in order:
                seconds[method].append(timed(method, base, tokenizer, data, max_length))
                print(f"{title}: round {round_ + 1}: {method}: {seconds[method][-1]:.2f} s")
        trainer_median = sorted(seconds[methods[-1]])[len(seconds[methods[-1]]) // 2]
        rows = []
        for method in methods:
            median = sorted(seconds[method])[len(seconds[method]) // 2]
            rows.append({"method": method, "seconds": [round(s, 2) for s in seconds[method]],
                         "median": round(median, 2),
                         "speedup_vs_trainer": round(trainer_median / median, 2)})  # fmt: skip
        syncs = None
        if not args.no_sync_count:
            syncs = syncs_per_step(base, tokenizer, data, max_length, 8 if args.quick else 40)
        results["workloads"].append({"title": title, "train_texts": n_train,
                                     "max_length": max_length, "rows": rows,
                                     "first_run_seconds": first_run,
                                     "syncs_per_step": syncs})  # fmt: skip
        print(json.dumps(results["workloads"][-1], indent=1))
    args.out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
