"""Nothing surprising left unsaid (issue #20): what a new user of the command line met.

One test (or two) per item: class names on the command line, one-class data, classes with
no training example, the load report kept, Ctrl-C during the imports, blank lines in
``predict``, and errors that name the flags. Command-line tests run the real command
(``python -m tlhelpers``) on tiny files with the tiny random model, so each takes seconds.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from datasets import DatasetDict

import tlhelpers as tl
from tlhelpers import cli

ROOT = Path(__file__).resolve().parents[1]
NAMES = "not disaster,disaster"


def run_cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    """``python -m tlhelpers ARGS`` on this checkout, offline, on one thread."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
           "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}  # fmt: skip
    return subprocess.run(
        [sys.executable, "-m", "tlhelpers", *args], input=stdin, capture_output=True,
        text=True, timeout=300, cwd=ROOT, env=env,
    )  # fmt: skip


def _write_csv(path: Path, rows: list[tuple], header: tuple | None = ("text", "target")) -> str:
    with open(path, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        if header:
            writer.writerow(header)
        writer.writerows(rows)
    return str(path)


@pytest.fixture(scope="module")
def disaster_csv(tmp_path_factory) -> str:
    """64 rows with integer 0/1 targets, as the public tweet set has: 2 exact duplicates
    and one text with both labels (2 rows) among them."""
    rows = [
        (f"storm number {i} flooded the town" if i % 2 else f"a calm day {i} at the beach", i % 2)
        for i in range(60)
    ]
    rows += [("storm number 1 flooded the town", 1), ("a calm day 0 at the beach", 0)]
    rows += [("something happened", 0), ("something happened", 1)]
    return _write_csv(tmp_path_factory.mktemp("data") / "disaster.csv", rows)


def _train(data: str, model: str, out: Path, *extra: str) -> subprocess.CompletedProcess:
    return run_cli(
        "train", "--dataset", data, "--label-column", "target", "--model", model,
        "--epochs", "1", "--batch-size", "16", "--max-length", "16", "--out", str(out), *extra,
    )  # fmt: skip


@pytest.fixture(scope="module")
def quiet_run(disaster_csv, tiny_model_folder, tmp_path_factory):
    """A run with --no-progress and no class names: (its folder, the finished command)."""
    out = tmp_path_factory.mktemp("runs") / "quiet"
    done = _train(disaster_csv, tiny_model_folder, out, "--no-progress")
    assert done.returncode == 0, done.stderr
    return out, done


# 1. Class names on the command line ----------------------------------------------------


def test_label_names_reach_the_model_the_record_and_a_replay(
    disaster_csv, tiny_model_folder, tmp_path
):
    out = tmp_path / "named"
    done = _train(disaster_csv, tiny_model_folder, out, "--label-names", NAMES, "--no-progress")
    assert done.returncode == 0, done.stderr
    assert "Labels: 0 'not disaster' (30), 1 'disaster' (30)." in done.stdout
    model_config = json.loads((out / "config.json").read_text())
    assert model_config["id2label"] == {"0": "not disaster", "1": "disaster"}
    assert tl.TrainConfig.load(out / "training_config.json").label_names == NAMES
    # `train --config FOLDER/training_config.json` starts from the recorded names.
    replay = ["train", "--config", str(out / "training_config.json"), "--out", "elsewhere"]
    assert cli.config_from_args(cli.build_parser().parse_args(replay)).label_names == NAMES


def test_label_names_that_do_not_fit_the_values_name_the_flag_and_the_values(
    disaster_csv, tiny_model_folder, tmp_path
):
    done = _train(disaster_csv, tiny_model_folder, tmp_path / "x", "--label-names", "a,b,c")
    assert done.returncode == 2
    assert "--label-names gives 3 names" in done.stderr
    assert "--label-column target holds 2 values: 0, 1" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "x").exists()


# 2. One class --------------------------------------------------------------------------


def test_one_class_is_refused_at_load_not_blamed_on_the_model(tiny_model_folder, tmp_path):
    one = _write_csv(tmp_path / "one.csv", [(f"text {i}", 1) for i in range(20)])
    done = _train(one, tiny_model_folder, tmp_path / "x")
    assert done.returncode == 2
    assert "every row has the same label, '1' (--label-column target" in done.stderr
    assert "Cannot load model" not in done.stderr and "offline" not in done.stderr
    with pytest.raises(ValueError, match=r"same label, 'yes' \(label_column='label'"):
        tl.load_text_dataset(([f"t{i}" for i in range(9)], ["yes"] * 9))


def test_a_label_problem_is_never_wrapped_as_a_model_loading_error():
    with pytest.raises(ValueError) as caught:
        tl.load_model("minilm", labels=["only"])
    assert "at least 2 labels" in str(caught.value)
    assert "Cannot load model" not in str(caught.value)


# 3. A class with no training example ---------------------------------------------------


def _positive_only_in_test(toy_data: DatasetDict) -> DatasetDict:
    positive = toy_data["train"].features["label"].str2int("positive")
    return DatasetDict(
        train=toy_data["train"].filter(lambda row: row["label"] != positive),
        validation=toy_data["validation"].filter(lambda row: row["label"] != positive),
        test=toy_data["test"],
    )


def test_a_class_only_in_test_is_refused_before_training(toy_data, tiny_config, tiny_model):
    data = _positive_only_in_test(toy_data)
    message = r"Class 'positive' \(found only in test \(10\)\) has no examples in the train split"
    with pytest.raises(ValueError, match=message):
        tl.fine_tune(tiny_config, data=data, progress=False)
    with pytest.raises(ValueError, match=message):
        tl.train(tiny_model, tl.load_tokenizer("minilm"), data, epochs=1, progress=False)


def test_a_class_in_no_split_is_refused(toy_data):
    positive = toy_data["train"].features["label"].str2int("positive")
    data = DatasetDict({k: v.filter(lambda r: r["label"] != positive) for k, v in toy_data.items()})
    with pytest.raises(ValueError, match="'positive' \\(found in no split at all\\)"):
        tl.data.check_every_class_trained(data)


# 4. The load report: printed with --no-progress, saved with the run --------------------


def test_the_load_report_is_printed_without_progress_bars_and_saved(quiet_run):
    out, done = quiet_run
    assert "disaster.csv (comma-separated" in done.stdout
    assert "64 rows read, 60 kept" in done.stdout
    assert "Dropped 2 with conflicting labels (1 text), 2 duplicates." in done.stdout
    saved = tl.load_training_info(out)["load_report"]
    assert saved["rows_read"] == 64
    assert saved["dropped"] == {"conflicting labels": 2, "duplicate": 2}
    assert saved["label_mapping"] == {"0": 0, "1": 1}
    assert "64 rows read" in saved["summary"]


# 5. Ctrl-C during the imports ----------------------------------------------------------


# The command as ``python -m tlhelpers`` runs it, except that importing torch raises
# KeyboardInterrupt: what Python's own SIGINT handler raises when Ctrl-C lands during that
# import. A real signal's timing depends on the machine's load (a test that sent SIGINT on
# seeing torch's first module in ``-X importtime`` passed alone and failed inside the full
# suite); this lands at the same place every time.
CTRL_C_WHILE_IMPORTING_TORCH = """
import builtins, runpy, sys
real_import = builtins.__import__
def interrupted_import(name, *args, **kwargs):
    if name == "torch" or name.startswith("torch."):
        raise KeyboardInterrupt
    return real_import(name, *args, **kwargs)
builtins.__import__ = interrupted_import
sys.argv[0] = "tlhelpers"
runpy.run_module("tlhelpers", run_name="__main__", alter_sys=True)
"""


@pytest.mark.parametrize("command", ["train", "evaluate", "predict"])
def test_ctrl_c_while_importing_ends_in_one_line_and_exit_130(command, tmp_path):
    """Ctrl-C while PyTorch is being imported: one line, exit 130, no traceback."""
    args = {
        "train": ["train", "--dataset", "tweet-sentiment", "--out", str(tmp_path / "out")],
        "evaluate": ["evaluate", "--model", str(tmp_path / "nothing")],
        "predict": ["predict", "--model", str(tmp_path / "nothing"), "some text"],
    }[command]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", CTRL_C_WHILE_IMPORTING_TORCH, *args], cwd=ROOT, env=env,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    assert done.returncode == 130, done.stderr[-3000:]
    assert done.stderr.strip().splitlines()[-1] == "Stopped by SIGINT: nothing was saved."


# 6. predict --file - keeps blank lines -------------------------------------------------


def test_predict_keeps_one_output_row_per_input_line(quiet_run):
    out, _ = quiet_run
    lines = ["a storm flooded the town", "", "a calm day at the beach"]
    done = run_cli(
        "predict", "--model", str(out), "--file", "-", "--json", stdin="\n".join(lines) + "\n"
    )
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [row["text"] for row in rows] == lines
    assert rows[1]["predicted"] is None and rows[1]["confidence"] is None
    assert rows[0]["predicted"] in ("0", "1") and rows[2]["predicted"] in ("0", "1")
    assert "1 blank line (row 2): not classified" in done.stderr


# 7. Errors name the flags --------------------------------------------------------------


def test_errors_at_the_command_line_name_the_flags(tiny_model_folder, tmp_path):
    rows = [(f"this is a fairly long text number {i} with words", i % 2) for i in range(30)]
    headless = _write_csv(tmp_path / "headless.csv", rows, header=None)
    done = run_cli("train", "--dataset", headless, "--model", tiny_model_folder,
                   "--out", str(tmp_path / "x"))  # fmt: skip
    assert done.returncode == 2
    assert "Pass --header none and --text-column 0, --label-column 1" in done.stderr
    assert "header=None" not in done.stderr and "text_column" not in done.stderr


def test_as_flags_turns_api_spellings_into_flags():
    assert cli.as_flags("Pass header=None and text_column=1, label_column=0.") == (
        "Pass --header none and --text-column 1, --label-column 0."
    )
    assert cli.as_flags("or pass conflicting_labels='drop' (drop every copy)") == (
        "or pass --conflicting-labels drop (drop every copy)"
    )
    assert cli.as_flags("kept (drop_duplicates=False); sep='\\t'") == (
        "kept (--no-drop-duplicates); --sep '\\t'"
    )
    assert cli.as_flags("label_names gives 3 names; a model header") == (
        "--label-names gives 3 names; a model header"
    )
