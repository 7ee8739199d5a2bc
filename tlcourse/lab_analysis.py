"""What the lab's numbers say: inside the encoder, and the summaries notebook 07 prints.

:class:`tlcourse.experiments.TransferLab` trains and scores the methods; the functions here
read a lab or its tables: :func:`layer_probe` (which layers carry the task),
:func:`embedding_map` (what fine-tuning changes), :func:`summarise` (mean and spread over
seeds) and :func:`time_to_quality` (the least training time that reached a target).
Verdicts ("is this lead beyond noise?") come from :mod:`tlhelpers.verdicts`.

Example:
    >>> probe = layer_probe(lab, n_per_class=64, seeds=3)
    >>> tl.compare_table(probe, among="layer", within=("dataset",))
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE
from sklearn.metrics import silhouette_score

from tlhelpers.features import extract_features, linear_probe

from .experiments import TransferLab, macro_f1

RUN = ["dataset", "method", "n_per_class"]  # what a learning curve's seeds repeat


@dataclass
class EmbeddingMap:
    """Test-set embeddings before and after fine-tuning, projected to 2-D."""

    points: pd.DataFrame  # columns x, y, label, stage ("before" / "after")
    silhouette: dict[str, float]  # class separation in the full space, per stage (-1..1)
    projection: str


def layer_probe(lab: TransferLab, n_per_class: int, seeds: int = 3) -> pd.DataFrame:
    """Test macro-F1 of a linear probe on each layer's frozen features.

    Layer 0 is the token embeddings (before any attention), the last layer is what
    "frozen features" uses. One forward pass serves every layer.

    Example:
        >>> probe = layer_probe(lab, n_per_class=128, seeds=3)
        >>> tl.compare_table(probe, among="layer", within=("dataset",))
    """
    if seeds < 1:
        raise ValueError(f"seeds must be at least 1, got {seeds}.")
    lab.training_indices(n_per_class, 0)  # checks the size before any work
    lab.check_seeds_vary(n_per_class, seeds)
    lab.precompute_features()
    rows = []
    for seed in range(seeds):
        train_set = lab.pool.select(lab.training_indices(n_per_class, seed))
        for layer in lab.layers:
            features = lab.embed(train_set["text"], layer)
            probe = linear_probe(seed=seed).fit(features, np.asarray(train_set["label"]))
            probabilities = probe.predict_proba(lab.embed(lab.test["text"], layer))
            score = macro_f1(lab.test["label"], probabilities, len(lab.label_names))
            run = {"dataset": lab.name, "layer": layer, "seed": seed, "n_per_class": n_per_class}
            rows.append({**run, "test_macro_f1": score})
    return pd.DataFrame(rows)


def embedding_map(lab: TransferLab, projection: str = "pca", seed: int = 0) -> EmbeddingMap:
    """Test-set embeddings (mean-pooled last layer) before and after fine-tuning, in 2-D.

    "Before" is the pretrained encoder, "after" the encoder of the kept fine-tuned run
    with seed ``seed``. The silhouette score (cosine, in the full space) measures how
    well the classes separate: 1 = tight, distinct clusters, 0 = overlapping (see
    :func:`silhouette_band`).

    Example:
        >>> picture = embedding_map(lab, "pca")
        >>> picture.silhouette
        {'before': 0.02, 'after': 0.31}
    """
    if projection not in ("pca", "tsne"):
        raise ValueError(f"projection must be 'pca' or 'tsne', got '{projection}'.")
    if not lab.kept.get("fine-tuned"):
        raise RuntimeError("Run learning_curves(['fine-tuned'], ...) first.")
    runs = {run.record["seed"]: run for run in lab.kept["fine-tuned"]}
    if seed not in runs:
        raise ValueError(f"No kept fine-tuned run with seed {seed}; kept: {sorted(runs)}.")
    texts, labels = list(lab.test["text"]), np.asarray(list(lab.test["label"]))
    before = lab.embed(texts)
    after = extract_features(runs[seed].model, lab.tokenizer, texts, max_length=lab.max_length)
    names = [lab.label_names[i] for i in labels]
    frames, silhouette = [], {}
    for stage, vectors in (("before", before), ("after", after)):
        silhouette[stage] = float(silhouette_score(vectors, labels, metric="cosine"))
        if projection == "pca":
            xy = PCA(n_components=2, random_state=seed).fit_transform(vectors)
        else:
            tsne = TSNE(perplexity=min(30.0, (len(texts) - 1) / 3), random_state=seed)
            xy = tsne.fit_transform(vectors)
        frames.append(pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1], "stage": stage, "label": names}))
    return EmbeddingMap(pd.concat(frames, ignore_index=True), silhouette, projection)


def spread_over_seeds(table: pd.DataFrame, by: str | Sequence[str], column: str) -> pd.DataFrame:
    """Mean, standard deviation (0 for a single seed) and count of ``column`` per ``by``."""
    stats = table.groupby(by)[column].agg(["mean", "std", "count"])
    stats["std"] = stats["std"].fillna(0.0)  # one seed: no spread
    return stats


def mean_time_and_quality(curves: pd.DataFrame) -> pd.DataFrame:
    """Mean training seconds and validation macro-F1 over seeds, per dataset, method and size."""
    return curves.groupby(RUN)[["train_seconds", "val_macro_f1"]].mean()


def summarise(curves: pd.DataFrame, metric: str = "test_macro_f1") -> pd.DataFrame:
    """Mean and standard deviation of ``metric`` over seeds, per dataset, method and size.

    Example:
        >>> summarise(curves).loc[("tweets", "tf-idf")]
    """
    if metric not in curves.columns:
        raise ValueError(f"No column '{metric}'; the curves have {list(curves.columns)}.")
    return spread_over_seeds(curves, RUN, metric)


def silhouette_band(value: float) -> str:
    """Words for a silhouette score, from Kaufman and Rousseeuw's rule of thumb.

    Example:
        >>> silhouette_band(0.04)
        'no substantial structure'
    """
    if value > 0.70:
        return "strong structure"
    if value > 0.50:
        return "reasonable structure"
    if value > 0.25:
        return "weak structure"
    return "no substantial structure"


def time_to_quality(curves: pd.DataFrame, target: float) -> pd.DataFrame:
    """Per dataset and method: the least training time that reached ``target`` validation macro-F1.

    A method reaches the target at a training-set size when its mean validation macro-F1
    over seeds there is at least ``target``; its time is the mean training seconds there.
    Methods that never reach it get NaN.

    Example:
        >>> time_to_quality(curves, target=0.6)
    """
    rows = []
    for (dataset, method), group in mean_time_and_quality(curves).groupby(level=[0, 1]):
        reached = group[group["val_macro_f1"] >= target].sort_values("train_seconds")
        seconds, size = math.nan, None
        if len(reached):
            seconds = float(reached["train_seconds"].iloc[0])
            size = int(reached.index.get_level_values("n_per_class")[0])
        rows.append((dataset, method, target, seconds, size, float(group["val_macro_f1"].max())))
    columns = ["dataset", "method", "target", "seconds", "n_per_class", "best_val_macro_f1"]
    return pd.DataFrame(rows, columns=columns).set_index(["dataset", "method"])
