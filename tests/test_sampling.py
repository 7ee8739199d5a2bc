"""tlhelpers.sampling: one stratified sampler, used by every split and sample of the library."""

from __future__ import annotations

import inspect

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import train_test_split

import tlhelpers as tl
from tlhelpers.recipe import sample_splits
from tlhelpers.sampling import SEED, stratified_indices, stratified_sample

LABELS = np.array([0] * 50 + [1] * 30 + [2] * 15 + [3] * 5)


def test_per_class_takes_that_many_of_each_class_and_all_of_a_small_one():
    rows = stratified_indices(LABELS, per_class=10, seed=1)
    assert np.bincount(LABELS[rows]).tolist() == [10, 10, 10, 5]
    assert rows.tolist() == sorted(set(rows.tolist())), "sorted, no repeats"


@pytest.mark.parametrize("size", [10, 37, 0.2, 0.5])
def test_size_keeps_class_shares_like_scikit_learn(size):
    rows = stratified_indices(LABELS, size=size, seed=0)
    expected = round(size * len(LABELS)) if isinstance(size, float) else size
    assert len(rows) == expected
    ours = np.bincount(LABELS[rows], minlength=4)
    _, held = train_test_split(
        np.arange(len(LABELS)), test_size=size, stratify=LABELS, random_state=0
    )
    assert np.abs(ours - np.bincount(LABELS[held], minlength=4)).max() <= 1


def test_seeded_deterministic_and_nested():
    a = stratified_indices(LABELS, per_class=8, seed=3)
    assert a.tolist() == stratified_indices(LABELS, per_class=8, seed=3).tolist()
    assert a.tolist() != stratified_indices(LABELS, per_class=8, seed=4).tolist()
    bigger = stratified_indices(LABELS, per_class=20, seed=3)
    assert set(a.tolist()) <= set(bigger.tolist()), "a learning curve adds data"
    assert set(stratified_indices(LABELS, size=10, seed=3).tolist()) <= set(
        stratified_indices(LABELS, size=40, seed=3).tolist()
    )


def test_every_class_with_two_rows_gives_one_to_a_held_out_split():
    labels = np.array([0] * 20 + [1] * 20 + [2] * 2)
    assert set(labels[stratified_indices(labels, size=0.1)].tolist()) == {0, 1, 2}
    assert stratified_indices(labels, size=1000).tolist() == list(range(len(labels)))


@pytest.mark.parametrize(
    "options, message",
    [({}, "exactly one"), ({"per_class": 1, "size": 1}, "exactly one"),
     ({"per_class": 0}, "at least 1"), ({"size": 1.5}, "between 0 and 1"),
     ({"size": 0}, "at least 1")],
)  # fmt: skip
def test_bad_requests_are_refused(options, message):
    with pytest.raises(ValueError, match=message):
        stratified_indices(LABELS, **options)


def test_one_default_seed_everywhere():
    defaults = [
        inspect.signature(stratified_indices).parameters["seed"].default,
        inspect.signature(stratified_sample).parameters["seed"].default,
        inspect.signature(tl.load_text_dataset).parameters["seed"].default,
        tl.TrainConfig().seed,
    ]
    assert defaults == [SEED] * 4


# ---- every former sampler now goes through stratified_indices -------------------------


def _frame(n=200):
    names = ["a", "b", "c", "d"]
    return pd.DataFrame(
        {"text": [f"text {i}" for i in range(n)], "label": [names[i % 7 % 4] for i in range(n)]}
    )


def test_load_text_dataset_splits_and_samples_with_it():
    frame = _frame()
    ids = frame["label"].map({"a": 0, "b": 1, "c": 2, "d": 3}).to_numpy()
    texts = np.array(frame["text"])
    sizes = {"validation_size": 0.1, "test_size": 0.2, "verbose": False}
    data = tl.load_text_dataset(frame, seed=7, **sizes)
    test = stratified_indices(ids, size=0.2, seed=7)
    rest = np.setdiff1d(np.arange(len(ids)), test)
    validation = rest[stratified_indices(ids[rest], size=0.1 / 0.8, seed=7)]
    train = np.setdiff1d(rest, validation)
    assert data["test"]["text"] == texts[test].tolist()
    assert data["validation"]["text"] == texts[validation].tolist()
    assert data["train"]["text"] == texts[train].tolist()

    small = tl.load_text_dataset(frame, seed=7, max_examples=50, verbose=False)
    kept = texts[stratified_indices(ids, size=50, seed=7)]
    assert sorted(t for s in small.values() for t in s["text"]) == sorted(kept.tolist())

    few = tl.load_text_dataset(frame, seed=7, n_per_class=3, **sizes)
    picked = stratified_indices(data["train"]["label"], per_class=3, seed=7)
    assert few["train"]["text"] == [data["train"]["text"][i] for i in picked]


def test_fine_tune_samples_training_and_validation_with_it():
    data = tl.load_text_dataset(_frame(), seed=5, verbose=False)
    config = tl.TrainConfig(n_per_class=4, max_validation_examples=9, seed=5)
    sampled = sample_splits(data, config)
    train = stratified_indices(data["train"]["label"], per_class=4, seed=5)
    validation = stratified_indices(data["validation"]["label"], size=9, seed=5)
    assert sampled["train"]["text"] == [data["train"]["text"][i] for i in train]
    assert sampled["validation"]["text"] == [data["validation"]["text"][i] for i in validation]
    assert sampled["test"]["text"] == data["test"]["text"]
