"""Ctrl-C and SIGTERM at random steps of a real `python -m tlhelpers train` run.

Whatever the moment, the output folder is either absent or a complete model holding the
best *validated* weights, and the exit code says which signal stopped the run (130 for
SIGINT, 143 for SIGTERM; 0 if the run finished first). The signal is sent when the
progress bar shows the chosen step, so the moments spread over the whole run: before the
first validation, between validations, and at the end.

The default run tries 4 moments; ``-m slow`` (or ``TLHELPERS_SLOW=1``) tries 20.
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import tlhelpers as tl

STEPS = 4 * 60  # 4 epochs of 240 toy texts in batches of 4
EVERY = 25  # validations at steps 25, 50, ... and each epoch's end
ROOT = Path(__file__).resolve().parents[1]


def _train_until(step: int, signum: int, toy_csv: str, model: str, out: Path) -> tuple[int, str]:
    """Run the CLI, send ``signum`` once the progress bar reaches ``step``; return (code, log)."""
    command = [
        sys.executable, "-m", "tlhelpers", "train", "--dataset", toy_csv, "--model", model,
        "--epochs", "4", "--batch-size", "4", "--max-length", "16", "--lr", "3e-3",
        "--eval-every", str(EVERY), "--seed", "1", "--out", str(out),
    ]  # fmt: skip
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT),
           "OMP_NUM_THREADS": "1", "TQDM_MININTERVAL": "0"}  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, bufsize=1)  # fmt: skip
    log, sent, buffer = [], False, ""
    deadline = time.monotonic() + 240
    while process.poll() is None and time.monotonic() < deadline:
        chunk = process.stdout.read(1)  # the bar redraws with \r, not \n: read by character
        if not chunk:
            continue
        buffer += chunk
        if chunk in "\r\n":
            log.append(buffer)
            seen = re.findall(r"\| (\d+)/" + str(STEPS), buffer)
            if not sent and seen and int(seen[-1]) >= step:
                process.send_signal(signum)
                sent = True
            buffer = ""
    log.append(buffer + process.stdout.read())
    code = process.wait(timeout=60)
    return code, "".join(log)


def _moments(count: int) -> list[tuple[int, int]]:
    rng = random.Random(int(os.environ.get("TLHELPERS_FAULT_SEED", "7")))
    signals = [signal.SIGINT, signal.SIGTERM]
    return [(rng.randint(1, STEPS - 10), signals[i % 2]) for i in range(count)]


def _check_moments(moments, toy_csv, tiny_model_folder, tmp_path):
    outcomes = []
    for i, (step, signum) in enumerate(moments):
        out = tmp_path / f"run{i}"
        code, log = _train_until(step, signum, toy_csv, tiny_model_folder, out)
        name = signal.Signals(signum).name
        where = f"{name} at step {step} (exit {code}):\n{log[-1500:]}"
        assert "Traceback" not in log, where
        if code == 0:  # finished before the signal landed: a complete, normal run
            outcomes.append("finished")
            assert tl.load_training_info(out)["training"]["interrupted"] is False, where
            continue
        assert code == {"SIGINT": 130, "SIGTERM": 143}[name], where
        if not out.exists():
            assert "nothing saved" in log or "nothing was saved" in log, where
            outcomes.append("nothing saved")
            continue
        # Saved: a complete model with the best validated weights, and says so.
        assert f"Stopped by {name}: saved the best validated weights" in log, where
        model, _ = tl.load_saved_model(out)
        info = tl.load_training_info(out)
        evals = info["history"]["evals"]
        best = max(evals, key=lambda e: e["macro_f1"])  # the first of the best
        assert info["training"]["best_step"] == best["step"], where
        assert info["training"]["interrupted"] is True, where
        assert not [p.name for p in out.parent.iterdir() if p.name.startswith(".")], where
        assert all(torch.isfinite(v).all() for v in model.state_dict().values()), where
        outcomes.append(f"saved at best step {best['step']}")
    print("moments:", moments, "outcomes:", outcomes)
    return outcomes


def test_signals_at_random_steps_leave_nothing_or_a_validated_model(
    toy_csv, tiny_model_folder, tmp_path
):
    # One moment surely before the first validation, the rest at random.
    moments = [(3, signal.SIGTERM), *_moments(3)]
    outcomes = _check_moments(moments, toy_csv, tiny_model_folder, tmp_path)
    assert outcomes[0] == "nothing saved"
    assert any(o.startswith("saved") for o in outcomes)


@pytest.mark.slow
def test_twenty_signals(toy_csv, tiny_model_folder, tmp_path):
    _check_moments(_moments(20), toy_csv, tiny_model_folder, tmp_path)


def test_a_saved_interrupted_run_records_why(toy_csv, tiny_model_folder, tmp_path):
    # The SIGINT is raised by a callback at step 70, inside the run: no race with the
    # machine's speed (the signals above arrive from outside, whenever the bar shows a step).
    config = tl.TrainConfig(
        dataset=toy_csv,
        model=tiny_model_folder,
        epochs=4,
        batch_size=4,
        max_length=16,
        lr=3e-3,
        eval_every=EVERY,
        seed=1,
    )
    sent = []

    def interrupt_at_step_70(event, history):
        if event == "step" and history.steps[-1]["step"] >= 70 and not sent:
            sent.append(history.steps[-1]["step"])
            signal.raise_signal(signal.SIGINT)

    run = tl.fine_tune(config, callbacks=[interrupt_at_step_70], progress=False)
    assert sent == [70] and run.result.interrupted and run.result.stop_signal == "SIGINT"
    evals = run.result.history.evals
    assert [e["step"] for e in evals] == [25, 50, 60]  # validations before the signal only
    run.save(tmp_path / "x")
    summary = tl.load_training_info(tmp_path / "x")["training"]
    best = max(evals, key=lambda e: e["macro_f1"])  # the first of the best
    assert summary["interrupted"] is True and summary["best_step"] == best["step"]
