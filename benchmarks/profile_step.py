"""Where a training step's time goes: batching, forward, backward, clipping, optimizer.

    python benchmarks/profile_step.py            # ~2 minutes on 2 cores

Runs tlhelpers' own pieces (tokenize once, length-grouped or random batches, AdamW) by
hand and times each part of every step in CPU seconds (process time, so other jobs on a
shared machine distort it less than wall time). Compares the default AdamW loop with the
fused AdamW kernel that ``tlhelpers.train`` and the Hugging Face Trainer use.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import datasets  # noqa: E402
import torch  # noqa: E402

import tlhelpers as tl  # noqa: E402
from tlhelpers.batching import make_dataloader  # noqa: E402
from tlhelpers.training import parameter_groups  # noqa: E402

PARTS = ("batch", "forward", "backward", "clip", "optimizer")


def profile(data, max_length: int, n: int, grouped: bool, fused: bool) -> dict:
    """CPU seconds per part over one pass of ``n`` training texts in batches of 16."""
    tokenizer = tl.load_tokenizer("minilm")
    tokenized = tl.tokenize_dataset(data["train"].select(range(n)), tokenizer, max_length)
    tl.set_seed(0)
    model, _ = tl.load_model("minilm", labels=tl.label_names_of(data))
    tl.set_dropout(model, 0.0)
    optimizer = torch.optim.AdamW(parameter_groups(model, 5e-5, 0.01, None), fused=fused)
    loader = iter(make_dataloader(tokenized, 16, group_by_length=grouped, seed=0))
    model.train()
    seconds = dict.fromkeys(PARTS, 0.0)
    steps = real = padded = 0
    while True:
        marks = [time.process_time()]
        batch = next(loader, None)
        if batch is None:
            break
        marks.append(time.process_time())
        loss = model(**batch).loss
        marks.append(time.process_time())
        loss.backward()
        marks.append(time.process_time())
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        marks.append(time.process_time())
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        marks.append(time.process_time())
        for part, start, end in zip(PARTS, marks, marks[1:], strict=False):
            seconds[part] += end - start
        steps += 1
        real += int(batch["attention_mask"].sum())
        padded += batch["input_ids"].numel()
    total = sum(seconds.values())
    return {
        "steps": steps,
        "cpu_seconds_per_step": round(total / steps, 3),
        "padding": round(1 - real / padded, 3),
        **{part: f"{seconds[part] / total:.0%}" for part in PARTS},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    datasets.disable_progress_bars()
    tweets = tl.load_text_dataset("tweet-sentiment", seed=42)
    bbc = tl.load_text_dataset("bbc-news", seed=42)
    for name, data, max_length, n in (("tweets", tweets, 64, 160), ("bbc-news", bbc, 128, 48)):
        for grouped in (True, False):
            for fused in (False, True):
                row = profile(data, max_length, n, grouped, fused)
                batches = "length-grouped" if grouped else "random"
                optimizer = "fused AdamW" if fused else "default AdamW"
                print(f"{name:8s} {batches:14s} {optimizer:13s} {row}", flush=True)


if __name__ == "__main__":
    main()
