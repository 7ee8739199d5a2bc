"""Stratified sampling: the one way tlhelpers draws rows, so every split and sample is seeded alike.

Held-out splits (:func:`tlhelpers.load_text_dataset`), ``max_examples``, few-shot training
sets (``n_per_class``), the validation cap and the lab's learning curves all call
:func:`stratified_indices`, with one default seed, :data:`SEED`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from datasets import Dataset

#: The library's one default seed (splits, samples, the new head, the batch order).
SEED = 42


def stratified_indices(
    labels: Sequence[int] | np.ndarray,
    *,
    per_class: int | None = None,
    size: int | float | None = None,
    seed: int = SEED,
) -> np.ndarray:
    """Row positions of a stratified sample of ``labels``, sorted.

    Give ``per_class`` (at most this many rows per class) or ``size`` (a count, or a
    fraction, shared in proportion; every class of 2+ rows gives one). For one seed a
    smaller sample lies inside a larger one, so a learning curve adds data.

    Hugging Face: ``Dataset.train_test_split(stratify_by_column="label")``; scikit-learn:
    ``train_test_split(stratify=labels)``. Neither draws per class or nested samples.

    Example:
        >>> stratified_indices([0, 0, 0, 1, 1, 1], per_class=2, seed=0)
        array([0, 2, 4, 5])
    """
    labels = np.asarray(labels)
    if (per_class is None) == (size is None):
        raise ValueError("Give exactly one of per_class (rows per class) or size (rows in all).")
    rng = np.random.default_rng(seed)
    # Each class's rows in a seeded order, drawn class by class: the order of one class does
    # not depend on how many rows are taken from it, which makes samples nested.
    members = [rng.permutation(np.flatnonzero(labels == c)) for c in np.unique(labels)]
    counts = np.array([len(m) for m in members])
    if per_class is not None:
        if isinstance(per_class, bool) or not isinstance(per_class, (int, np.integer)):
            raise TypeError(f"per_class must be a whole number, got {per_class!r}.")
        if per_class < 1:
            raise ValueError(f"per_class must be at least 1, got {per_class}.")
        take = np.minimum(counts, per_class)
    else:
        take = _shares(counts, _total(size, len(labels)))
    if not members:
        return np.array([], dtype=int)
    return np.sort(np.concatenate([m[:k] for m, k in zip(members, take, strict=True)]))


def stratified_sample(
    dataset: Dataset,
    *,
    per_class: int | None = None,
    size: int | float | None = None,
    seed: int = SEED,
) -> Dataset:
    """The rows of ``dataset`` that :func:`stratified_indices` picks from its ``label`` column.

    Example:
        >>> few = stratified_sample(data["train"], per_class=8)   # 8 tweets per sentiment
    """
    rows = stratified_indices(dataset["label"], per_class=per_class, size=size, seed=seed)
    return dataset if len(rows) == len(dataset) else dataset.select(rows)


def _total(size: int | float, n: int) -> int:
    if isinstance(size, bool) or not isinstance(size, (int, float, np.integer, np.floating)):
        raise TypeError(f"size must be a number of rows or a fraction, got {size!r}.")
    if isinstance(size, (float, np.floating)):
        if not 0 < size < 1:
            raise ValueError(f"A fractional size must be between 0 and 1, got {size}.")
        return round(size * n)
    if size < 1:
        raise ValueError(f"size must be at least 1 row, got {size}.")
    return min(int(size), n)


def _shares(counts: np.ndarray, total: int) -> np.ndarray:
    """``total`` rows in proportion to ``counts``; the rows left after rounding down go first
    to classes of 2+ rows that would get none, then to the largest remainders."""
    if total >= counts.sum():
        return counts
    exact = total * counts / counts.sum()
    take = np.floor(exact).astype(int)
    missing = (take == 0) & (counts >= 2)
    order = np.lexsort((-(exact - take), ~missing))  # last key sorts first
    take[order[: total - take.sum()]] += 1
    return take
