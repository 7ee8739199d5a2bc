"""Shared fixtures: a tiny random BERT for fast unit tests, the embedded model for integration."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


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
