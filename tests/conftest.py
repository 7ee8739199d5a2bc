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
    from transformers import BertConfig, BertForSequenceClassification

    import tlhelpers as tl

    tl.set_seed(0)
    config = BertConfig(
        vocab_size=30522,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
        num_labels=3,
        id2label={0: "negative", 1: "neutral", 2: "positive"},
        label2id={"negative": 0, "neutral": 1, "positive": 2},
    )
    return BertForSequenceClassification(config)


@pytest.fixture
def toy_data():
    """300 short texts in 3 classes whose label is readable from one word."""
    import tlhelpers as tl

    words = {"negative": "awful", "neutral": "okay", "positive": "great"}
    texts, labels = [], []
    for i in range(300):
        label = ["negative", "neutral", "positive"][i % 3]
        texts.append(f"the flight number {i} was {words[label]} today")
        labels.append(label)
    return tl.load_text_dataset((texts, labels), seed=0)
