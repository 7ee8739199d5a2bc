"""Benchmark tlhelpers against Hugging Face Trainer, the seed's loop and the machine's peak.

Run with ``make bench`` (or ``python benchmarks/bench.py``). Everything runs in one
process, methods alternate within each round and rounds repeat, so a change in machine
load hits every method alike; the table reports medians. Results go to
``benchmarks/results.json`` and to the table in ``benchmarks/README.md``.

    python benchmarks/bench.py              # the full benchmark (~20 minutes on 2 cores)
    python benchmarks/bench.py --smoke      # a 2-minute check that everything runs
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import datasets  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
from datasets import DatasetDict  # noqa: E402

import tlhelpers as tl  # noqa: E402
from tlhelpers.baselines import FrozenFeaturesBaseline  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from methods import DESCRIPTIONS, PeakMemory, Setup, fresh_model, timed_run  # noqa: E402

HERE = Path(__file__).parent
TABLE_START, TABLE_END = "<!-- results:start -->", "<!-- results:end -->"

# Sized so the whole run takes about 20 minutes on an idle 2-core machine.
SIZES = {
    "full": {
        "tweets_train": 2000, "tweets_test": 1000, "bbc_train": 400, "bbc256_train": 200,
        "validation": 32, "predict_texts": 2000, "repeats": 3,
    },
    "smoke": {
        "tweets_train": 32, "tweets_test": 32, "bbc_train": 16, "bbc256_train": 16,
        "validation": 16, "predict_texts": 32, "repeats": 1, "bbc_test": 16,
    },
}  # fmt: skip


# --------------------------------------------------------------------------------------
# The machine
# --------------------------------------------------------------------------------------


def matmul_peak_gflops(repeats: int = 5) -> dict:
    """Measured float32 matmul speed: the best of several square and model-shaped products."""
    shapes = {
        "2048x2048x2048": (2048, 2048, 2048),
        "4096x384x1536 (MiniLM feed-forward)": (4096, 384, 1536),
        "4096x384x384 (MiniLM attention projection)": (4096, 384, 384),
    }
    results = {}
    for name, (m, k, n) in shapes.items():
        a, b = torch.randn(m, k), torch.randn(k, n)
        a @ b  # warm up the kernels
        best = min(_time(lambda a=a, b=b: a @ b) for _ in range(repeats))
        results[name] = round(2 * m * k * n / best / 1e9, 1)
    return {"peak_gflops": max(results.values()), "by_shape": results}


def _time(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def describe_machine() -> dict:
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "memory_gb": round(memory_gb, 1),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "platform": platform.platform(),
    }


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


# --------------------------------------------------------------------------------------
# Training throughput: the methods side by side
# --------------------------------------------------------------------------------------


def model_flops(measured: dict, non_embedding_params: int, layers: int, hidden: int) -> float:
    """Useful FLOPs of training: 6 x parameters x real tokens, plus attention on real lengths.

    Forward is 2 FLOPs per parameter per token and backward twice that; attention's
    QK^T and AV add 4 L^2 d per layer forward (L the real length), again x3 with backward.
    """
    return (
        6 * non_embedding_params * measured["real_tokens"]
        + 12 * layers * hidden * measured["length_squares"]
    )


def non_embedding_parameters(model) -> int:
    embeddings = sum(p.numel() for p in model.base_model.embeddings.parameters())
    return sum(p.numel() for p in model.parameters()) - embeddings


def compare_training(name, setup, test, methods, repeats, tokenizer, peak_gflops) -> dict:
    """Train with each method ``repeats`` times, alternating; score each method once."""
    print(f"\n== {name}: {len(setup.train)} training texts, max_length {setup.max_length}")
    runs = {m: [] for m in methods}
    scores, models = {}, {}
    for round_ in range(repeats):
        order = methods[round_ % len(methods) :] + methods[: round_ % len(methods)]
        for method in order:
            measured, model = timed_run(method, setup, tokenizer)
            runs[method].append(measured)
            if method not in scores:  # runs are seeded: every repeat trains the same model
                scores[method] = tl.evaluate(
                    model, tokenizer, test, max_length=setup.max_length
                ).summary()
                models[method] = model
            print(
                f"  round {round_ + 1} {method:18s} {measured['seconds']:7.1f} s "
                f"{measured['examples'] / measured['seconds']:6.1f} ex/s  "
                f"acc {scores[method]['accuracy']:.3f}  peak {measured['peak_rss_mb']:.0f} MB",
                flush=True,
            )
    model = next(iter(models.values()))
    n_params = non_embedding_parameters(model)
    layers, hidden = model.config.num_hidden_layers, model.config.hidden_size
    rows = {}
    for method in methods:
        seconds = statistics.median(r["seconds"] for r in runs[method])
        first = runs[method][0]  # token counts are identical in every repeat
        flops = model_flops(first, n_params, layers, hidden)
        padded_flops = 6 * n_params * first["padded_tokens"]
        rows[method] = {
            "description": DESCRIPTIONS[method],
            "seconds_median": round(seconds, 2),
            "seconds_all": [round(r["seconds"], 2) for r in runs[method]],
            "cpu_seconds_median": round(
                statistics.median(r["cpu_seconds"] for r in runs[method]), 1
            ),
            "examples_per_second": round(first["examples"] / seconds, 2),
            "real_tokens_per_second": round(first["real_tokens"] / seconds, 1),
            "padding_share": round(1 - first["real_tokens"] / first["padded_tokens"], 3),
            "achieved_gflops": round(flops / seconds / 1e9, 1),
            "fraction_of_peak": round(flops / seconds / 1e9 / peak_gflops, 3),
            "fraction_of_peak_with_padding": round(padded_flops / seconds / 1e9 / peak_gflops, 3),
            "peak_rss_mb": round(max(r["peak_rss_mb"] for r in runs[method])),
            "peak_rss_increase_mb": round(max(r["peak_rss_increase_mb"] for r in runs[method])),
            **{f"test_{k}": v for k, v in scores[method].items()},
            "examples": first["examples"],
            "real_tokens": first["real_tokens"],
            "padded_tokens": first["padded_tokens"],
        }
    if "trainer" in rows:
        for row in rows.values():
            row["speed_vs_trainer"] = round(
                rows["trainer"]["seconds_median"] / row["seconds_median"], 2
            )
            if "trainer_grouped" in rows:
                row["speed_vs_trainer_grouped"] = round(
                    rows["trainer_grouped"]["seconds_median"] / row["seconds_median"], 2
                )
            if "seed" in rows:
                row["speed_vs_seed"] = round(
                    rows["seed"]["seconds_median"] / row["seconds_median"], 2
                )
    return {
        "dataset": setup.dataset,
        "max_length": setup.max_length,
        "train_examples": len(setup.train),
        "test_examples": len(test),
        "epochs": setup.epochs,
        "lr": setup.lr,
        "batch_size": setup.batch_size,
        "non_embedding_parameters": n_params,
        "methods": rows,
        "_models": models,
    }


# --------------------------------------------------------------------------------------
# Prediction, feature extraction, time to quality, memory of a course run
# --------------------------------------------------------------------------------------


def prediction_benchmark(model, tokenizer, texts: list[str], max_length: int, repeats: int) -> dict:
    """tl.predict (sorted, dynamically padded batches) vs transformers.pipeline(batch_size=32)."""
    from transformers import pipeline

    print(f"\n== prediction on {len(texts)} tweets")
    classifier = pipeline("text-classification", model=model, tokenizer=tokenizer, device=-1)
    times = {"tlhelpers": [], "pipeline": []}
    labels = {}
    for round_ in range(repeats):
        for method in ["tlhelpers", "pipeline"] if round_ % 2 == 0 else ["pipeline", "tlhelpers"]:
            start = time.perf_counter()
            if method == "tlhelpers":
                labels[method] = tl.predict(model, tokenizer, texts, max_length=max_length)[
                    "predicted"
                ].tolist()
            else:
                out = classifier(texts, batch_size=32, truncation=True, max_length=max_length)
                labels[method] = [o["label"] for o in out]
            times[method].append(time.perf_counter() - start)
            print(f"  round {round_ + 1} {method:10s} {times[method][-1]:6.1f} s", flush=True)
    medians = {m: statistics.median(t) for m, t in times.items()}
    same = sum(a == b for a, b in zip(labels["tlhelpers"], labels["pipeline"], strict=True))
    return {
        "texts": len(texts),
        "max_length": max_length,
        "tlhelpers_texts_per_second": round(len(texts) / medians["tlhelpers"], 1),
        "pipeline_texts_per_second": round(len(texts) / medians["pipeline"], 1),
        "speedup": round(medians["pipeline"] / medians["tlhelpers"], 2),
        "identical_labels": same == len(texts),
        "labels_agreeing": same,
        "seconds_all": {m: [round(x, 2) for x in t] for m, t in times.items()},
    }


def feature_extraction_benchmark(data, max_length: int = 128) -> dict:
    """Frozen MiniLM, mean-pooled embeddings computed once, logistic regression on top."""
    print(f"\n== feature extraction: {len(data['train'])} bbc-news articles, frozen encoder")
    start, cpu_start = time.perf_counter(), time.process_time()
    tl.set_seed(42)
    model, tokenizer = tl.load_model("minilm", labels=tl.label_names_of(data["train"]))
    probe = FrozenFeaturesBaseline(model, tokenizer, max_length=max_length).fit(data["train"])
    report = probe.evaluate(data["test"])
    seconds = time.perf_counter() - start
    print(f"  {seconds:.1f} s, test accuracy {report.accuracy:.4f}")
    return {
        "train_examples": len(data["train"]),
        "test_examples": len(data["test"]),
        "max_length": max_length,
        "seconds_including_test": round(seconds, 1),
        "cpu_seconds": round(time.process_time() - cpu_start, 1),
        "test_accuracy": round(report.accuracy, 4),
        "test_macro_f1": round(report.macro_f1, 4),
    }


def time_to_quality(setup: Setup, test, trainer_row: dict, tokenizer) -> dict:
    """The fast tlhelpers paths against the Trainer's full fine-tune on the same data."""
    print("\n== time to quality on bbc-news")
    target = trainer_row["test_macro_f1"] - 0.005
    budget = trainer_row["seconds_median"] / 2
    paths = {}

    start = time.perf_counter()
    tl.set_seed(setup.seed)
    model, _ = tl.load_model("minilm", labels=setup.labels)
    probe = FrozenFeaturesBaseline(model, tokenizer, max_length=setup.max_length)
    probe.fit(setup.train)
    seconds = time.perf_counter() - start
    paths["frozen features + logistic regression"] = {
        "seconds": round(seconds, 1),
        "test_macro_f1": round(probe.evaluate(test).macro_f1, 4),
    }

    for last_layers, epochs in ((2, 4),):
        model = fresh_model(setup)
        with PeakMemory() as memory:
            start = time.perf_counter()
            data = DatasetDict(train=setup.train, validation=setup.validation)
            tl.freeze(model, train_last_layers=last_layers)
            tl.train(
                model, tokenizer, data, epochs=epochs, lr=1e-4, batch_size=setup.batch_size,
                max_length=setup.max_length, seed=setup.seed, cache_frozen_layers=True,
                progress=False,
            )  # fmt: skip
            seconds = time.perf_counter() - start
        paths[f"cached lower layers, top {last_layers} layers + head, {epochs} epochs"] = {
            "seconds": round(seconds, 1),
            "test_macro_f1": round(
                tl.evaluate(model, tokenizer, test, max_length=setup.max_length).macro_f1, 4
            ),
            "peak_rss_mb": round(memory.peak_mb),
        }
    for name, path in paths.items():
        path["meets_target"] = path["test_macro_f1"] >= target and path["seconds"] <= budget
        print(f"  {name}: {path['seconds']} s, macro-F1 {path['test_macro_f1']}")
    return {
        "trainer_seconds": trainer_row["seconds_median"],
        "trainer_test_macro_f1": trainer_row["test_macro_f1"],
        "target_macro_f1": round(target, 4),
        "time_budget_seconds": round(budget, 1),
        "paths": paths,
    }


MEMORY_PROBE = """
import resource, sys
import tlhelpers as tl
from datasets import DatasetDict
data = tl.load_text_dataset("bbc-news")
model, tokenizer = tl.load_model("minilm", labels=tl.label_names_of(data))
small = DatasetDict(train=data["train"], validation=data["validation"].select(range(32)))
steps = int(sys.argv[1])
tl.train(model, tokenizer, small, batch_size=16, max_length=256, max_steps=steps, progress=False)
tl.evaluate(model, tokenizer, data["test"], max_length=256)
# VmHWM, not ru_maxrss: after fork + exec, ru_maxrss still counts the (large) parent's pages.
status = open("/proc/self/status").read().split("VmHWM:")
peak_kb = int(status[1].split()[0]) if len(status) > 1 else resource.getrusage(0).ru_maxrss
print(peak_kb / 1024)
"""


def memory_of_a_course_run(steps: int) -> dict:
    """Peak RSS of a fresh process that fine-tunes on bbc-news at max_length 256 (the course's
    heaviest setting), then evaluates: what Binder's 2 GB limit must hold."""
    print("\n== peak memory of a training run (fresh process)")
    out = subprocess.run(
        [sys.executable, "-c", MEMORY_PROBE, str(steps)],
        capture_output=True,
        text=True,
        check=True,
    )
    peak = float(out.stdout.strip().splitlines()[-1])
    print(f"  {peak:.0f} MB")
    return {
        "what": f"tl.train on bbc-news, batch 16, max_length 256, {steps} steps, then tl.evaluate",
        "peak_rss_mb": round(peak),
    }


# --------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------


def markdown(results: dict) -> str:
    m = results["machine"]
    lines = [
        f"Run {results['finished']} (`python benchmarks/bench.py{results['args']}`), "
        f"{results['wall_minutes']} minutes in all; completed: {', '.join(results['completed'])}.",
        "",
        f"**Machine:** {m['cpu']}, {m['cores']} cores, torch threads {m['torch_threads']}, "
        f"{m['memory_gb']} GB RAM; Python {m['python']}, torch {m['torch']}, "
        f"transformers {m['transformers']}. **Measured float32 matmul peak: "
        f"{results['matmul']['peak_gflops']} GFLOP/s** "
        f"({', '.join(f'{k}: {v}' for k, v in results['matmul']['by_shape'].items())}). "
        f"Load average (1, 5, 15 min) before: {results['load_before']}, after: "
        f"{results['load_after']} (the machine was shared; ratios are side by side).",
        "",
        "| data (train texts, max_length) | method | wall s (median) | CPU s | train ex/s | "
        "real tok/s | padding | vs Trainer | vs grouped Trainer | vs seed | GFLOP/s | % peak | "
        "% peak, CPU time | test acc | test macro-F1 | RSS increase MB |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    # Per-thread peak: CPU seconds add up over threads, so compare with one thread's share.
    thread_peak = results["matmul"]["peak_gflops"] / m["torch_threads"]
    for config in results["training"]:
        label = f"{config['dataset']} ({config['train_examples']}, len {config['max_length']})"
        for row in config["methods"].values():
            flops = row["achieved_gflops"] * row["seconds_median"]
            cpu_fraction = flops / row["cpu_seconds_median"] / thread_peak
            lines.append(
                f"| {label} | {row['description']} | {row['seconds_median']} | "
                f"{row['cpu_seconds_median']} | "
                f"{row['examples_per_second']} | {row['real_tokens_per_second']:.0f} | "
                f"{row['padding_share']:.0%} | {row.get('speed_vs_trainer', '')} | "
                f"{row.get('speed_vs_trainer_grouped', '')} | {row.get('speed_vs_seed', '')} | "
                f"{row['achieved_gflops']} | {row['fraction_of_peak']:.0%} | {cpu_fraction:.0%} | "
                f"{row['test_accuracy']:.3f} | {row['test_macro_f1']:.3f} | "
                f"{row['peak_rss_increase_mb']} |"
            )
    if "prediction" in results:
        p = results["prediction"]
        lines += [
            "",
            f"**Prediction** ({p['texts']} tweets, max_length {p['max_length']}): tlhelpers "
            f"{p['tlhelpers_texts_per_second']} texts/s, `pipeline(batch_size=32)` "
            f"{p['pipeline_texts_per_second']} texts/s: **{p['speedup']}x**; labels identical: "
            f"{p['identical_labels']} ({p['labels_agreeing']}/{p['texts']}).",
        ]
    if "feature_extraction" in results:
        f = results["feature_extraction"]
        lines += [
            "",
            f"**Feature extraction** (frozen MiniLM, embeddings once, logistic regression; "
            f"{f['train_examples']} bbc-news articles, max_length {f['max_length']}): test "
            f"accuracy **{f['test_accuracy']}** (macro-F1 {f['test_macro_f1']}) in "
            f"**{f['seconds_including_test']} s** wall time ({f['cpu_seconds']} CPU s), model "
            "loading and test set included.",
        ]
    if "time_to_quality" in results:
        t = results["time_to_quality"]
        lines += [
            "",
            f"**Time to quality** (bbc-news, the same {results['training'][1]['train_examples']} "
            f"articles, max_length 128): the Trainer's full fine-tune reaches test macro-F1 "
            f"{t['trainer_test_macro_f1']} in {t['trainer_seconds']} s; target: "
            f">= {t['target_macro_f1']} within {t['time_budget_seconds']} s.",
            "",
            "| path | seconds | test macro-F1 | meets target |",
            "|---|---|---|---|",
        ]
        for name, path in t["paths"].items():
            lines.append(
                f"| {name} | {path['seconds']} | {path['test_macro_f1']} | {path['meets_target']} |"
            )
    if "memory" in results:
        mem = results["memory"]
        lines += [
            "",
            f"**Peak memory of a training run** ({mem['what']}, fresh process): "
            f"**{mem['peak_rss_mb']} MB**." + (f" ({mem['note']}.)" if "note" in mem else ""),
        ]
    return "\n".join(lines)


def write_readme(table: str, readme: Path) -> None:
    text = (
        readme.read_text() if readme.exists() else f"# Benchmarks\n\n{TABLE_START}\n{TABLE_END}\n"
    )
    if TABLE_START not in text:
        text += f"\n{TABLE_START}\n{TABLE_END}\n"
    head, rest = text.split(TABLE_START, 1)
    tail = rest.split(TABLE_END, 1)[1]
    readme.write_text(f"{head}{TABLE_START}\n{table}\n{TABLE_END}{tail}")


# --------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: check it runs")
    parser.add_argument("--repeats", type=int, help="rounds per configuration (median)")
    parser.add_argument(
        "--scale", type=float, default=1.0, help="multiply the data sizes (for a busy machine)"
    )
    parser.add_argument(
        "--threads", type=int, help="torch threads (default: torch's; 1 on a crowded machine)"
    )
    parser.add_argument("--out", type=Path, help="results JSON (default benchmarks/results.json)")
    parser.add_argument("--readme", type=Path, help="README to update with the table")
    parser.add_argument(
        "--report-only", action="store_true", help="only rewrite the README from the JSON"
    )
    args = parser.parse_args(argv)
    sizes = dict(SIZES["smoke" if args.smoke else "full"])
    if args.repeats:
        sizes["repeats"] = args.repeats
    for key in ("tweets_train", "bbc_train", "bbc256_train", "tweets_test", "predict_texts"):
        sizes[key] = max(16, round(sizes[key] * args.scale))
    out = args.out or HERE / ("results-smoke.json" if args.smoke else "results.json")
    readme = args.readme or (None if args.smoke else HERE / "README.md")
    if args.report_only:
        results = json.loads(out.read_text())
        write_readme(markdown(results), readme or HERE / "README.md")
        return results
    if args.threads:
        # On a machine shared with other jobs, 2 threads per process wait on each other at
        # every parallel region; 1 thread wastes no CPU. The peak is measured the same way.
        torch.set_num_threads(args.threads)
        os.environ["OMP_NUM_THREADS"] = str(args.threads)  # for the memory probe's process
    datasets.disable_progress_bars()
    transformers.logging.set_verbosity_error()

    started = time.perf_counter()
    results = {"load_before": load_average(), "machine": describe_machine(), "sizes": sizes}
    results["args"] = "".join(f" {a}" for a in (argv if argv is not None else sys.argv[1:]))

    def checkpoint(stage: str) -> None:
        """Save what is measured so far: a run cut short still leaves its results."""
        results["completed"] = [*results.get("completed", []), stage]
        results["load_after"] = load_average()
        results["wall_minutes"] = round((time.perf_counter() - started) / 60, 1)
        results["finished"] = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        training = [{k: v for k, v in c.items() if k != "_models"} for c in results["training"]]
        out.write_text(json.dumps({**results, "training": training}, indent=2) + "\n")

    print("machine:", results["machine"], "load:", results["load_before"])
    results["matmul"] = matmul_peak_gflops()
    peak = results["matmul"]["peak_gflops"]
    print("matmul:", results["matmul"])

    tokenizer = tl.load_tokenizer("minilm")
    tweets = tl.load_text_dataset("tweet-sentiment", seed=42)
    bbc = tl.load_text_dataset("bbc-news", seed=42)
    n_val = sizes["validation"]
    all_methods = ["tlhelpers", "tlhelpers_dropout", "trainer", "trainer_grouped", "seed"]
    configs = [
        ("tweet-sentiment", tweets, sizes["tweets_train"], sizes["tweets_test"], 64),
        ("bbc-news", bbc, sizes["bbc_train"], sizes.get("bbc_test"), 128),
        ("bbc-news", bbc, sizes["bbc256_train"], sizes.get("bbc_test"), 256),
    ]
    results["training"] = []
    setups = []
    for name, data, n_train, n_test, max_length in configs:
        setup = Setup(
            dataset=name,
            train=data["train"].select(range(n_train)),
            validation=data["validation"].select(range(n_val)),
            labels=tl.label_names_of(data),
            max_length=max_length,
        )
        test = data["test"] if n_test is None else data["test"].select(range(n_test))
        setups.append((setup, test))
        config = compare_training(name, setup, test, all_methods, sizes["repeats"], tokenizer, peak)
        results["training"].append(config)
        checkpoint(f"{name} {max_length}")

    tweet_model = results["training"][0]["_models"]["tlhelpers"]
    texts = tweets["test"]["text"][: sizes["predict_texts"]]
    results["prediction"] = prediction_benchmark(
        tweet_model, tokenizer, texts, 64, max(3, sizes["repeats"])
    )
    checkpoint("prediction")
    bbc_setup, bbc_test = setups[1]
    results["time_to_quality"] = time_to_quality(
        bbc_setup, bbc_test, results["training"][1]["methods"]["trainer"], tokenizer
    )
    checkpoint("time to quality")
    feature_data = bbc if not args.smoke else {"train": bbc_setup.train, "test": bbc_test}
    results["feature_extraction"] = feature_extraction_benchmark(feature_data)
    checkpoint("feature extraction")
    results["memory"] = memory_of_a_course_run(steps=3 if args.smoke else 20)
    checkpoint("memory")

    table = markdown(json.loads(out.read_text()))
    print("\n" + table)
    if readme is not None:
        write_readme(table, readme)
    print(f"\nwrote {out}" + (f" and {readme}" if readme else ""))
    return results


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    main()
