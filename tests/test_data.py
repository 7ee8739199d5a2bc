"""tlhelpers.data: every source gives the same train/validation/test DatasetDict."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from datasets import ClassLabel

import tlhelpers as tl
from tlhelpers import data as tldata


def _frame(n=60):
    labels = ["cat", "dog", "bird"]
    return pd.DataFrame(
        {
            "review": [f"text number {i}" for i in range(n)],
            "kind": [labels[i % 3] for i in range(n)],
        }
    )


def test_tweet_sentiment_is_clean_and_stratified():
    data = tl.load_text_dataset("tweet-sentiment")
    assert set(data) == {"train", "validation", "test"}
    assert data["train"].features["label"].names == ["negative", "neutral", "positive"]
    texts = [t for split in data.values() for t in split["text"]]
    assert len(texts) == len(set(texts)), "duplicates would leak across splits"
    assert 36_000 < len(texts) < 37_300
    assert not any("\x8a" in t or "äó" in t for t in texts[:5000])
    shares = [np.bincount(data[s]["label"]) / len(data[s]) for s in ("train", "test")]
    assert np.allclose(shares[0], shares[1], atol=0.01)


def test_bbc_news_has_five_topics():
    data = tl.load_text_dataset("bbc-news")
    assert data["train"].features["label"].names == [
        "business", "entertainment", "politics", "sports", "tech"
    ]  # fmt: skip
    total = sum(len(s) for s in data.values())
    assert 2_100 <= total <= 2_225
    assert min(len(t.split()) for t in data["test"]["text"]) > 50


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".json", ".jsonl", ".parquet"])
def test_files_with_named_columns(tmp_path, suffix):
    frame = _frame()
    path = tmp_path / f"data{suffix}"
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    elif suffix == ".tsv":
        frame.to_csv(path, sep="\t", index=False)
    elif suffix == ".json":
        frame.to_json(path, orient="records")
    elif suffix == ".jsonl":
        frame.to_json(path, orient="records", lines=True)
    else:
        frame.to_parquet(path)
    data = tl.load_text_dataset(path, text_column="review", label_column="kind")
    assert data["train"].features["label"].names == ["bird", "cat", "dog"]
    assert isinstance(data["test"].features["label"], ClassLabel)
    assert sum(len(s) for s in data.values()) == 60


def test_dataframe_dict_and_lists_give_the_same_splits():
    frame = _frame().rename(columns={"review": "text", "kind": "label"})
    a = tl.load_text_dataset(frame, seed=1)
    b = tl.load_text_dataset(
        {"text": frame["text"].tolist(), "label": frame["label"].tolist()}, seed=1
    )
    c = tl.load_text_dataset((frame["text"].tolist(), frame["label"].tolist()), seed=1)
    for split in ("train", "validation", "test"):
        assert a[split]["text"] == b[split]["text"] == c[split]["text"]


def test_integer_labels_with_and_without_names():
    texts, labels = [f"t{i}" for i in range(40)], [i % 2 for i in range(40)]
    assert tl.load_text_dataset((texts, labels))["train"].features["label"].names == ["0", "1"]
    named = tl.load_text_dataset((texts, labels), label_names=["no", "yes"])
    assert named["train"].features["label"].names == ["no", "yes"]
    with pytest.raises(ValueError, match="outside 0..0"):
        tl.load_text_dataset((texts, labels), label_names=["only"])


def test_seeded_splits_are_reproducible_and_disjoint():
    a = tl.load_text_dataset(_frame(), text_column="review", label_column="kind", seed=3)
    b = tl.load_text_dataset(_frame(), text_column="review", label_column="kind", seed=3)
    assert a["train"]["text"] == b["train"]["text"]
    assert not set(a["train"]["text"]) & set(a["test"]["text"])


def test_missing_column_lists_the_columns():
    with pytest.raises(ValueError, match=r"\['text'\].*\['review', 'kind'\]"):
        tl.load_text_dataset(_frame(), label_column="kind")


def test_empty_data_and_empty_split():
    with pytest.raises(ValueError, match="empty"):
        tl.load_text_dataset(pd.DataFrame({"text": [], "label": []}))
    with pytest.raises(ValueError, match="empty"):
        tl.load_text_dataset(pd.DataFrame({"text": ["  ", None], "label": ["a", "b"]}))
    with pytest.raises(ValueError, match="validation split is empty"):
        tl.load_text_dataset((["a", "b", "c", "d"], ["x", "x", "y", "y"]), validation_size=0.01)


def test_unknown_labels_against_label_names():
    with pytest.raises(ValueError, match=r"\['dog'\] are not in label_names"):
        tl.load_text_dataset(
            _frame(), text_column="review", label_column="kind", label_names=["cat", "bird"]
        )


def test_label_in_test_never_seen_in_training(monkeypatch):
    given = {
        "train": pd.DataFrame({"text": ["a", "b", "c", "d"], "label": ["x", "y", "x", "y"]}),
        "test": pd.DataFrame({"text": ["e", "f"], "label": ["x", "z"]}),
    }
    monkeypatch.setattr(tldata, "_load_hub_dataset", lambda name: given)
    with pytest.raises(ValueError, match=r"\['z'\] appear in the evaluation data but never"):
        tl.load_text_dataset("someone/some-dataset")


def test_unknown_name_offline_names_the_builtins(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ValueError, match="tweet-sentiment, bbc-news"):
        tl.load_text_dataset("no-such-user/no-such-dataset-xyz")


def test_n_per_class_keeps_evaluation_splits():
    full = tl.load_text_dataset(_frame(300), text_column="review", label_column="kind")
    few = tl.load_text_dataset(
        _frame(300), text_column="review", label_column="kind", n_per_class=5
    )
    assert np.bincount(few["train"]["label"]).tolist() == [5, 5, 5]
    assert few["test"]["text"] == full["test"]["text"]
    with pytest.raises(ValueError, match="at least 1"):
        tl.sample_per_class(full["train"], 0)
