"""A saved run records exactly what happened (issue #16, item 1).

The record (``training_config.json``) names the data and the model a run used: a file or a
built-in name with its reading options, or in-memory data by its size and hash, never the
defaults of TrainConfig. A recorded file or name replays to the same weights; a record of
in-memory data refuses to replay. ``evaluate --dataset FILE`` reads that file with its own
options and can score every row. Command-line runs use the tiny random model: seconds each.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pandas as pd
import pytest
import torch
from safetensors.torch import load_file

import tlhelpers as tl
from tlhelpers import cli
from tlhelpers.config import DATA_AND_MODEL_SETTINGS
from tlhelpers.record import content_hash

ROOT = Path(__file__).resolve().parents[1]
WORDS = {"negative": "awful", "neutral": "okay", "positive": "great"}


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """``python -m tlhelpers ARGS`` as typed in ``cwd``, offline, on one thread."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
           "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}  # fmt: skip
    return subprocess.run(
        [sys.executable, "-m", "tlhelpers", *args], capture_output=True, text=True,
        timeout=300, cwd=cwd, env=env,
    )  # fmt: skip


def record_of(folder: Path) -> dict:
    return json.loads((Path(folder) / "training_config.json").read_text())


def same_weights(a: Path, b: Path) -> bool:
    first, second = (
        load_file(Path(a) / "model.safetensors"),
        load_file(Path(b) / "model.safetensors"),
    )
    return first.keys() == second.keys() and all(torch.equal(first[k], second[k]) for k in first)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """runs.tsv (headerless: label, tab, text) and other.csv (a header, 45 other texts)."""
    where = tmp_path_factory.mktemp("round-trip")
    labels = list(WORDS)
    rows = [(labels[i % 3], f"flight {i} was {WORDS[labels[i % 3]]} today") for i in range(120)]
    (where / "runs.tsv").write_text("".join(f"{label}\t{text}\n" for label, text in rows))
    pd.DataFrame(
        {"text": [f"the trip {i} felt {WORDS[labels[i % 3]]}" for i in range(45)],
         "label": [labels[i % 3] for i in range(45)]}
    ).to_csv(where / "other.csv", index=False)  # fmt: skip
    return where


@pytest.fixture(scope="module")
def tsv_run(folder, tiny_model_folder) -> subprocess.CompletedProcess:
    """The round trip's first command, as typed: train on the headerless TSV."""
    done = run_cli(
        "train", "--dataset", "runs.tsv", "--header", "none", "--text-column", "1",
        "--label-column", "0", "--out", "RUN", "--model", tiny_model_folder, "--epochs", "1",
        "--batch-size", "16", "--max-length", "16", "--lr", "3e-3", "--no-progress", cwd=folder,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done


@pytest.fixture
def memory_run(tiny_model, tokenizer, toy_data, tmp_path):
    """tl.train on a DatasetDict held in memory, saved: (folder, data, model)."""
    result = tl.train(tiny_model, tokenizer, toy_data, epochs=1, batch_size=32, max_length=16,
                      progress=False)  # fmt: skip
    tl.save_model(tiny_model, tokenizer, tmp_path / "memory", training=result)
    return tmp_path / "memory", toy_data, tiny_model


# Defect 1: a saved folder described another run --------------------------------------


def test_a_run_on_in_memory_data_records_its_size_and_hash_not_a_dataset_name(memory_run):
    folder, data, model = memory_run
    record = record_of(folder)
    assert record["data"] == {"source": "in-memory", "rows": {"train": 240, "validation": 30,
                              "test": 30}, "sha256": content_hash(data)}  # fmt: skip
    assert record["model"]["source"] == "in-memory"
    assert record["model"]["name_or_path"] == (model.config.name_or_path or None)  # random
    assert record["model"]["architecture"] == "BertForSequenceClassification"
    text = (folder / "training_config.json").read_text()
    assert "tweet-sentiment" not in text and "minilm" not in text  # no default as a fact
    info = tl.load_training_info(folder)
    assert info["data"] == record["data"]


def test_a_run_on_a_dataframe_records_the_dataframe_it_was(tiny_model, tokenizer, tmp_path):
    frame = pd.DataFrame({"text": [f"seat {i} was {w}" for i in range(40) for w in WORDS.values()],
                          "label": [label for _ in range(40) for label in WORDS]})  # fmt: skip
    data = tl.load_text_dataset(frame, verbose=False)
    result = tl.train(tiny_model, tokenizer, data, epochs=1, max_length=16, progress=False)
    tl.save_model(tiny_model, tokenizer, tmp_path / "frame", training=result)
    described = record_of(tmp_path / "frame")["data"]
    assert described["source"] == "in-memory" and described["sha256"] == content_hash(data)
    assert sum(described["rows"].values()) == len(frame)
    # Other data (one text changed) has another hash.
    changed = tl.load_text_dataset(frame.replace("seat 0 was awful", "seat 0 was bad"),
                                   verbose=False)  # fmt: skip
    assert content_hash(changed) != described["sha256"]


def test_fine_tune_on_given_data_records_that_data_and_the_model_it_loaded(
    tiny_model_folder, toy_data, tmp_path
):
    config = tl.TrainConfig(model=tiny_model_folder, epochs=1, max_length=16, n_per_class=20,
                            seed=5)  # fmt: skip  # dataset keeps its default: never read
    run = tl.fine_tune(config, data=toy_data, progress=False)
    run.save(tmp_path / "given")
    record = record_of(tmp_path / "given")
    assert record["data"]["source"] == "in-memory"
    assert record["data"]["n_per_class"] == 20  # applied to the given data: a fact
    assert record["data"]["rows"]["train"] == 60
    assert record["data"]["sha256"] == content_hash(run.data)
    assert "tweet-sentiment" not in json.dumps(record)
    assert record["model"]["model"] == tiny_model_folder
    assert record["model"]["source"] == "folder"


def test_train_refuses_data_and_model_settings_inside_a_config(tiny_model, tokenizer, toy_data):
    # Before: trained on all 240 texts and recorded n_per_class=4.
    with pytest.raises(ValueError, match=r"n_per_class=4.*stratified_sample.*fine_tune"):
        tl.train(tiny_model, tokenizer, toy_data, tl.TrainConfig(n_per_class=4), progress=False)
    with pytest.raises(ValueError, match=r"model='bert-base-uncased'.*tl.load_model"):
        tl.train(tiny_model, tokenizer, toy_data, tl.TrainConfig(model="bert-base-uncased"))
    with pytest.raises(ValueError, match=r"train_last_layers=0.*tl.freeze"):
        tl.train(tiny_model, tokenizer, toy_data, train_last_layers=0)
    with pytest.raises(ValueError, match=r"dataset='bbc-news'.*load_text_dataset"):
        tl.train(tiny_model, tokenizer, toy_data, tl.TrainConfig(dataset="bbc-news"))


def test_which_fields_choose_data_or_model_is_field_metadata():
    groups = {f.name: f.metadata["group"] for f in fields(tl.TrainConfig)}
    assert set(groups.values()) == {"data", "model", "training"}
    assert DATA_AND_MODEL_SETTINGS == tuple(n for n, g in groups.items() if g != "training")
    assert groups["n_per_class"] == groups["header"] == "data"
    assert groups["pretrained"] == groups["train_last_layers"] == "model"
    assert groups["seed"] == groups["lr"] == "training"
    assert groups["lora_rank"] == groups["lora_alpha"] == "model"
    assert tl.TrainConfig().settings("model") == {
        "model": "minilm",
        "pretrained": True,
        "train_last_layers": None,
        "lora_rank": None,
        "lora_alpha": None,
    }


def test_a_record_of_in_memory_data_refuses_to_replay_or_evaluate(
    memory_run, tmp_path, capsys, monkeypatch
):
    folder, _, _ = memory_run
    # Before: evaluate scored the model on tweet-sentiment; train --config trained on it.
    monkeypatch.setattr(tl.recipe, "load_data", lambda *a, **k: pytest.fail("loaded data"))
    monkeypatch.setattr(tl.recipe, "fine_tune", lambda *a, **k: pytest.fail("trained"))
    assert cli.main(["evaluate", "--model", str(folder)]) == 2
    error = capsys.readouterr().err
    assert "in-memory data (train 240, validation 30, test 30" in error
    assert "--dataset" in error
    config = str(folder / "training_config.json")
    assert cli.main(["train", "--config", config, "--out", str(tmp_path / "again")]) == 2
    assert "cannot be repeated" in capsys.readouterr().err
    with pytest.raises(ValueError, match="in-memory data"):
        tl.TrainConfig.load(config)


# A file and a built-in name replay to the same weights ---------------------------------


def test_the_round_trip_as_typed(folder, tsv_run, tmp_path):
    record = record_of(folder / "RUN")
    assert record["data"]["dataset"] == "runs.tsv" and record["data"]["source"] == "file"
    assert record["data"]["path"] == str(folder / "runs.tsv")
    assert (record["data"]["header"], record["data"]["text_column"]) == (None, "1")
    assert sum(record["data"]["rows"].values()) == 120

    # Defect 2: before, "columns [0]" (the TSV's options were inherited) and no --split all.
    done = run_cli("evaluate", "--model", "RUN", "--dataset", "other.csv", "--text-column",
                   "text", "--label-column", "label", "--split", "all", cwd=folder)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Scoring every row of other.csv: 45 rows." in done.stdout
    assert "all metrics (other.csv, n=45)" in done.stdout

    replay = run_cli("train", "--config", "RUN/training_config.json", "--out", str(tmp_path / "b"),
                     "--no-progress", cwd=folder)  # fmt: skip
    assert replay.returncode == 0, replay.stderr
    assert same_weights(folder / "RUN", tmp_path / "b")
    assert record_of(tmp_path / "b")["data"] == record["data"]
    assert "Note:" not in replay.stderr  # the same rows: nothing to say


def test_a_replay_on_changed_data_says_so(folder, tsv_run, tmp_path, monkeypatch, capsys):
    # The record's file is read again by its name: change one label there, then replay.
    shutil.copy(folder / "runs.tsv", tmp_path / "runs.tsv")
    shutil.copytree(folder / "RUN", tmp_path / "RUN")
    lines = (tmp_path / "runs.tsv").read_text().splitlines(keepends=True)
    lines[0] = "positive" + lines[0][lines[0].index("\t") :]
    (tmp_path / "runs.tsv").write_text("".join(lines))
    monkeypatch.chdir(tmp_path)
    replay = ["train", "--config", "RUN/training_config.json", "--out", "b", "--no-progress"]
    assert cli.main(replay) == 0
    then = record_of(tmp_path / "RUN")["data"]["sha256"]
    error = capsys.readouterr().err
    assert f"recorded data with sha256 {then[:12]}..., but this run read runs.tsv as" in error
    assert record_of(tmp_path / "b")["data"]["sha256"] != then


def test_evaluate_reads_another_file_with_its_own_options(folder, tsv_run, capsys):
    # No read flags at all: other.csv is read with the defaults (a header, text, label).
    assert cli.main(["evaluate", "--model", str(folder / "RUN"), "--dataset",
                     str(folder / "other.csv"), "--show-errors", "0"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "Scoring the test split of" in out and "n=4)" in out  # the test split of 45 rows


def test_evaluate_names_a_label_the_model_does_not_know(folder, tsv_run, tmp_path, capsys):
    other = pd.read_csv(folder / "other.csv")
    other.loc[0, "label"] = "furious"
    other.to_csv(tmp_path / "odd.csv", index=False)
    assert cli.main(["evaluate", "--model", str(folder / "RUN"), "--dataset",
                     str(tmp_path / "odd.csv"), "--split", "all"]) == 2  # fmt: skip
    error = capsys.readouterr().err
    assert "'furious'" in error and "negative" in error


def test_read_flags_without_a_dataset_are_refused(folder, tsv_run, capsys):
    assert cli.main(["evaluate", "--model", str(folder / "RUN"), "--header", "none"]) == 2
    assert "--header describe how to read --dataset FILE" in capsys.readouterr().err


def test_evaluate_scores_a_file_of_one_class(folder, tsv_run, tmp_path, capsys):
    # Training needs two classes; scoring a file of complaints only is a normal evaluation.
    other = pd.read_csv(folder / "other.csv")
    other[other["label"] == "negative"].to_csv(tmp_path / "negative.csv", index=False)
    assert cli.main(["evaluate", "--model", str(folder / "RUN"), "--dataset",
                     str(tmp_path / "negative.csv"), "--split", "all"]) == 0  # fmt: skip
    assert "Scoring every row of" in capsys.readouterr().out
    with pytest.raises(ValueError, match="at least two classes"):
        tl.load_text_dataset(tmp_path / "negative.csv")  # the training path still refuses


def test_evaluate_all_on_a_run_that_sampled_scores_every_row(
    folder, tiny_model_folder, tmp_path, capsys
):
    # The record's --max-examples and duplicate dropping are training choices: --split all
    # scores every row of the recorded file anyway.
    rows = (folder / "runs.tsv").read_text()
    (tmp_path / "runs.tsv").write_text(rows + rows.splitlines(keepends=True)[0])  # a repeat
    assert cli.main(["train", "--dataset", str(tmp_path / "runs.tsv"), "--header", "none",
                     "--text-column", "1", "--label-column", "0", "--max-examples", "60",
                     "--out", str(tmp_path / "RUN"), "--model", tiny_model_folder,
                     "--epochs", "1", "--batch-size", "16", "--max-length", "16",
                     "--no-progress"]) == 0  # fmt: skip
    capsys.readouterr()
    assert cli.main(["evaluate", "--model", str(tmp_path / "RUN"), "--split", "all"]) == 0
    assert "121 rows." in capsys.readouterr().out


def test_a_config_file_that_is_not_an_object_is_a_clear_error(tmp_path, capsys):
    (tmp_path / "list.json").write_text("[1, 2]")
    assert cli.main(["train", "--config", str(tmp_path / "list.json"), "--out",
                     str(tmp_path / "out")]) == 2  # fmt: skip
    assert "holds a JSON list, not a run configuration" in capsys.readouterr().err


def test_a_built_in_run_records_its_name_and_replays(tiny_model_folder, tmp_path):
    flags = ["--model", tiny_model_folder, "--epochs", "1", "--batch-size", "16",
             "--max-length", "16", "--lr", "3e-3", "--no-progress"]  # fmt: skip
    assert cli.main(["train", "--dataset", "bbc-news", "--max-examples", "100",
                     "--max-validation-examples", "10", *flags, "--out",
                     str(tmp_path / "bbc")]) == 0  # fmt: skip
    record = record_of(tmp_path / "bbc")
    assert record["data"]["source"] == "built-in" and record["data"]["dataset"] == "bbc-news"
    assert record["data"]["max_examples"] == 100
    assert record["model"]["model"] == tiny_model_folder
    assert record["model"]["labels"] == ["business", "entertainment", "politics", "sports", "tech"]
    config = str(tmp_path / "bbc" / "training_config.json")
    assert cli.main(["train", "--config", config, "--out", str(tmp_path / "again")]) == 0
    assert same_weights(tmp_path / "bbc", tmp_path / "again")
    assert record_of(tmp_path / "again") == record


def test_a_file_run_record_describes_the_file_and_reloads_as_its_config(tiny_config, tmp_path):
    run = tl.fine_tune(tiny_config, progress=False)
    run.save(tmp_path / "file")
    record = record_of(tmp_path / "file")
    assert record["data"]["dataset"] == tiny_config.dataset
    assert record["data"]["sha256"] == content_hash(run.data)
    assert record["training"] == tiny_config.settings("training")
    assert tl.persistence.load_run_config(tmp_path / "file") == tiny_config
