"""Same configuration, same weights: two API runs and two CLI runs (seeds 7 and 8) of MiniLM.

    python benchmarks/same_seed_check.py

Prints a SHA-256 prefix of each run's state dict: the first three must match, the last differ.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile

import tlhelpers as tl


def digest(model) -> str:
    h = hashlib.sha256()
    for name, value in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(value.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


config = tl.TrainConfig(
    dataset="tweet-sentiment",
    max_examples=3000,
    n_per_class=32,
    max_validation_examples=96,
    epochs=1,
    max_length=48,
    lr=1e-4,
    seed=7,
)
print(config.to_code())
for run_number in (1, 2):
    run = tl.fine_tune(config, progress=False)
    print(f"API run {run_number}:", digest(run.model), " macro-F1", round(run.report.macro_f1, 4))
out = tempfile.mkdtemp()
flags = [
    "--dataset",
    "tweet-sentiment",
    "--max-examples",
    "3000",
    "--n-per-class",
    "32",
    "--max-validation-examples",
    "96",
    "--epochs",
    "1",
    "--max-length",
    "48",
    "--lr",
    "1e-4",
]
for seed in ("7", "8"):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "tlhelpers",
            "train",
            *flags,
            "--seed",
            seed,
            "--no-progress",
            "--out",
            f"{out}/s{seed}",
        ],
        check=True,
        capture_output=True,
    )
    model, _ = tl.load_saved_model(f"{out}/s{seed}")
    print(f"CLI seed {seed}:", digest(model))
