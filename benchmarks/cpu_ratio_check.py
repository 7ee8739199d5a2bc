"""CPU speed ratio, quickly: tl.train vs Trainer (default and grouped), 300 tweets, len 64.

    python benchmarks/cpu_ratio_check.py

One thread, 3 rounds in rotated order, medians: a short version of `make bench`'s first table.
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from methods import Setup, timed_run  # noqa: E402

import tlhelpers as tl  # noqa: E402

torch.set_num_threads(1)
data = tl.load_text_dataset("tweet-sentiment", seed=42)
train, validation = data["train"].select(range(300)), data["validation"].select(range(32))
setup = Setup("tweet-sentiment", train, validation, tl.label_names_of(data), 64)
tokenizer = tl.load_tokenizer("minilm")
methods = ["tlhelpers", "trainer", "trainer_grouped"]
seconds = {m: [] for m in methods}
for round_ in range(3):
    for method in methods[round_:] + methods[:round_]:
        measured, _ = timed_run(method, setup, tokenizer)
        seconds[method].append(measured["seconds"])
        print(round_, method, round(measured["seconds"], 2), flush=True)
median = {m: statistics.median(v) for m, v in seconds.items()}
print({m: round(v, 2) for m, v in median.items()})
print("vs Trainer", round(median["trainer"] / median["tlhelpers"], 2),
      "vs grouped Trainer", round(median["trainer_grouped"] / median["tlhelpers"], 2))  # fmt: skip
