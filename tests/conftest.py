"""Shared fixtures: a tiny random BERT for fast unit tests, the embedded model for integration."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

pytest_plugins = ["slow_gate"]  # tests marked slow run only when asked for (see slow_gate.py)


@pytest.fixture(scope="session")
def tokenizer():
    """The embedded MiniLM tokenizer (a few files on disk, loads in a second)."""
    import tlhelpers as tl

    return tl.load_tokenizer("minilm")


@pytest.fixture
def tiny_model():
    """A 2-layer, 32-wide BERT with random weights and 3 labels: trains in milliseconds."""
    # One definition, shared with the torchrun worker script (which cannot import fixtures).
    from distributed_worker import tiny_model as build

    return build()


@pytest.fixture
def toy_data():
    """300 short texts in 3 classes whose label is readable from one word."""
    from distributed_worker import toy_data as build

    return build()


@pytest.fixture(scope="session")
def toy_csv(tmp_path_factory):
    """The toy texts as a CSV file: a dataset that TrainConfig(dataset=...) can name."""
    import pandas as pd
    from distributed_worker import LABELS

    words = {"negative": "awful", "neutral": "okay", "positive": "great"}
    path = tmp_path_factory.mktemp("data") / "toy.csv"
    pd.DataFrame(
        {
            "text": [f"the flight number {i} was {words[LABELS[i % 3]]} today" for i in range(300)],
            "label": [LABELS[i % 3] for i in range(300)],
        }
    ).to_csv(path, index=False)
    return str(path)


@pytest.fixture(scope="session")
def tiny_model_folder(tmp_path_factory):
    """The tiny random BERT saved as a folder: a model that TrainConfig(model=...) can name."""
    from distributed_worker import tiny_model

    import tlhelpers as tl

    folder = tmp_path_factory.mktemp("models") / "tiny"
    tl.save_model(tiny_model(), tl.load_tokenizer("minilm"), folder)
    return str(folder)


@pytest.fixture(scope="session")
def tiny_config(toy_csv, tiny_model_folder):
    """A TrainConfig that runs the whole recipe in about a second."""
    import tlhelpers as tl

    return tl.TrainConfig(
        dataset=toy_csv, model=tiny_model_folder, epochs=2, lr=3e-3, batch_size=16,
        max_length=16, seed=5,
    )  # fmt: skip
