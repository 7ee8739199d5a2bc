"""The lab's deep run: six methods, five seeds, both datasets, recorded once for notebook 07.

Notebook 07 must finish in 10 minutes on two cores, so its live run trains four methods with
three seeds at three sizes, and its "fine-tuned" method trains only the top layer. This script
runs what the live run cannot afford, on the same datasets, pools, validation and test sets as
07's full mode, at 07's three sizes and two more between them:

- full fine-tuning and LoRA (both backpropagate through every layer) beside the live four;
- five seeds instead of three;
- every transformer run trained until validation stops improving (a longer patience and a
  cap that few runs reach), each method at its own learning rate, chosen on validation.

It writes one file, ``notebooks/results/lab_deep.json``: the command, the library's git
commit, the settings and their fingerprint, the machine, the wall time, the chosen learning
rates and every run (seed, scores, training time). Notebook 07 loads it into its figures and
verdicts; ``tests/test_lab_deep.py`` fails when :func:`settings` no longer matches the file
(then run ``make lab-deep`` again) and runs ``--quick`` to prove the command still works.

    make lab-deep                                      # the deep run (80 minutes on 2 cores)
    python tools/lab_deep.py --quick --out /tmp/q.json  # a check that it runs (seconds)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shlex
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "notebooks" / "results" / "lab_deep.json"
SCHEMA = 1
# The methods that backpropagate through every layer: they run at full_model_sizes only.
FULL_MODEL = ("full fine-tuning", "LoRA")


def settings(quick: bool = False) -> dict:
    """Everything that decides the deep run's numbers (the fingerprint covers all of it).

    The datasets' pools, validation and test sets are notebook 07's full-mode ones, and
    ``full_model_sizes`` are 07's sizes; what differs from 07 is the methods, the seeds, the
    stopping rule (patience 3, cap 300 steps) and two more sizes. What was cut to finish
    within 90 minutes on two cores: full fine-tuning and LoRA (which backpropagate through
    all six layers, 2-4x the cost of a top-layer run) skip the two extra sizes.
    """

    def pick(quick_value, full_value):
        return quick_value if quick else full_value

    return {
        "model": "minilm",
        # The order of the tables: cheapest first, the control last.
        "methods": [
            "tf-idf",
            "frozen features",
            "fine-tuned",
            "LoRA",
            "full fine-tuning",
            "random init",
        ],
        "seeds": pick(1, 5),
        # The lab's config: "fine-tuned" trains the top layer over cached lower layers; the
        # other transformer methods change it as tlcourse.experiments.TRANSFORMER_METHODS says.
        "recipe": {
            "lr": 3e-4,
            "train_last_layers": 1,
            "cache_frozen_layers": True,
            "patience": pick(1, 3),
            "max_steps": pick(2, 300),
        },
        "steps_per_validation": pick(1, 10),
        # Each transformer method's grid, tried once at the dataset's choose_at size (seed 0);
        # the best validation macro-F1 wins. Full fine-tuning moves every weight: smaller rates.
        "lr_grid": {
            "fine-tuned": pick([1e-3], [1e-4, 3e-4, 1e-3]),
            "LoRA": pick([1e-3], [3e-4, 1e-3, 3e-3]),
            "full fine-tuning": pick([1e-4], [3e-5, 1e-4, 3e-4]),
            "random init": pick([1e-3], [1e-4, 3e-4, 1e-3]),
        },
        "datasets": {
            "tweets": {
                "source": "tweet-sentiment",
                "batch_size": 16,
                "max_length": pick(16, 64),
                "pool_per_class": pick(4, 256),
                "max_test_examples": pick(12, 1000),
                "max_validation_examples": pick(6, 300),
                "gap_examples": pick(3, 100),
                "sizes": pick([2], [8, 16, 32, 64, 128]),
                "full_model_sizes": pick([2], [8, 32, 128]),
                "choose_at": pick(2, 32),
            },
            "bbc": {
                "source": "bbc-news",
                "batch_size": 8,
                "max_length": pick(16, 64),
                "pool_per_class": pick(3, 64),
                "max_test_examples": pick(10, 10_000),  # full: the whole test split
                "max_validation_examples": pick(5, 10_000),  # full: the whole split
                "gap_examples": pick(5, 100),
                "sizes": pick([2], [2, 4, 8, 16, 32]),
                "full_model_sizes": pick([2], [2, 8, 32]),
                "choose_at": pick(2, 8),
            },
        },
    }


def sizes_of(setup: dict, method: str) -> list[int]:
    """The training-set sizes (per class) at which ``method`` runs on a dataset of the settings."""
    return setup["full_model_sizes" if method in FULL_MODEL else "sizes"]


def fingerprint(values: dict) -> str:
    """sha256 of the settings as canonical JSON: equal settings, equal fingerprint."""
    return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()


def stale_settings(recorded: dict, current: dict, prefix: str = "") -> list[str]:
    """The settings (dotted paths) whose recorded value differs from the current one."""
    differences = []
    for key in sorted(set(recorded) | set(current)):
        old, new = recorded.get(key), current.get(key)
        if isinstance(old, dict) and isinstance(new, dict):
            differences += stale_settings(old, new, f"{prefix}{key}.")
        elif old != new:
            differences.append(f"{prefix}{key}: recorded {old!r}, now {new!r}")
    return differences


def _git(*args: str) -> str:
    try:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
    except OSError:
        return "unknown"
    return done.stdout.strip() if done.returncode == 0 else "unknown"


def machine() -> dict:
    """What ran it: the speed figures in the file mean something only on this machine."""
    import peft
    import sklearn
    import torch
    import transformers

    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "peft": peft.__version__,
        "scikit-learn": sklearn.__version__,
    }


def _write(path: Path, document: dict) -> None:
    """Atomic: a crash mid-write leaves the previous file, never half of a new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(document, indent=1) + "\n")
    os.replace(partial, path)


def run(values: dict, out: Path, command: str, log=print) -> dict:
    """Run the deep lab with ``values`` (from :func:`settings`), writing ``out`` as it goes.

    The file is rewritten after every method of every dataset with ``"complete": false``,
    so an interrupted run keeps what it measured; the last write says ``"complete": true``.
    """
    import tlhelpers as tl
    from tlcourse.experiments import TRANSFORMER_METHODS, TransferLab

    start = time.perf_counter()
    document = {
        "schema": SCHEMA,
        "what": "notebook 07's lab, deep: every method, more seeds, trained to early stopping",
        "command": command,
        "git_commit": _git("rev-parse", "HEAD"),
        "git_dirty": bool(_git("status", "--porcelain", "--untracked-files=no")),
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "settings": values,
        "fingerprint": fingerprint(values),
        "machine": machine(),
        "load_average_at_start": list(os.getloadavg()),
        "complete": False,
        "wall_seconds": None,
        "datasets": {},
        "learning_rates": [],
        "runs": [],
    }
    for name, setup in values["datasets"].items():
        data = tl.load_text_dataset(setup["source"])
        lab = TransferLab(
            data,
            name=name,
            config=tl.TrainConfig(
                model=values["model"],
                batch_size=setup["batch_size"],
                max_length=setup["max_length"],
                **values["recipe"],
            ),
            pool_per_class=setup["pool_per_class"],
            max_test_examples=setup["max_test_examples"],
            max_validation_examples=setup["max_validation_examples"],
            gap_examples=setup["gap_examples"],
            steps_per_validation=values["steps_per_validation"],
            verbose=False,
        )
        lab.check_seeds_vary(max(setup["sizes"]), values["seeds"])
        features_seconds = lab.precompute_features()
        document["datasets"][name] = {
            "pool": len(lab.pool),
            "validation": len(lab.validation),
            "test": len(lab.test),
            "labels": list(lab.label_names),
            "frozen_features_seconds": round(features_seconds, 2),
        }
        log(f"{lab}: frozen features in {features_seconds:.0f} s")
        for method in values["methods"]:
            method_start = time.perf_counter()
            if method in TRANSFORMER_METHODS:
                grid = values["lr_grid"][method]
                table = lab.choose_learning_rate(method, grid, setup["choose_at"], seed=0)
                for row in table.to_dict("records"):
                    document["learning_rates"].append(
                        {"dataset": name, "n_per_class": setup["choose_at"], **row}
                    )
                log(
                    f"  {name}: {method}: learning rate {lab.learning_rates[method]:g} "
                    f"chosen on validation from {grid}"
                )
            for n_per_class in sizes_of(setup, method):
                for seed in range(values["seeds"]):
                    run_start = time.perf_counter()
                    record = lab.run(method, n_per_class, seed).record
                    record["wall_seconds"] = round(time.perf_counter() - run_start, 3)
                    document["runs"].append(record)
            runs = [r for r in document["runs"] if (r["dataset"], r["method"]) == (name, method)]
            mean = sum(r["test_macro_f1"] for r in runs) / len(runs)
            log(
                f"  {name}: {method}: {len(runs)} runs in "
                f"{time.perf_counter() - method_start:.0f} s, mean test macro-F1 {mean:.3f}"
            )
            document["wall_seconds"] = round(time.perf_counter() - start, 1)
            _write(out, document)
        del lab  # its kept models and caches: free them before the next dataset
    document["complete"] = True
    document["load_average_at_end"] = list(os.getloadavg())
    document["wall_seconds"] = round(time.perf_counter() - start, 1)
    _write(out, document)
    log(
        f"deep run: {document['wall_seconds'] / 60:.1f} minutes, {len(document['runs'])} runs "
        f"-> {out}"
    )
    return document


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a check that it runs")
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"default: {RESULTS}")
    args = parser.parse_args(argv)
    if not args.quick and args.out.resolve() != RESULTS:
        print(
            f"note: the deep run's record lives at {RESULTS}; writing {args.out} instead.",
            file=sys.stderr,
        )
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    command = "python tools/lab_deep.py" + "".join(
        f" {shlex.quote(a)}" for a in (sys.argv[1:] if argv is None else argv)
    )
    run(settings(args.quick), args.out, command)
    return 0


if __name__ == "__main__":
    sys.exit(main())
