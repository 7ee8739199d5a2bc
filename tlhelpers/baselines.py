"""Baselines: what a pretrained transformer has to beat, with the same ``fit``/``evaluate``.

:class:`TfidfBaseline` (no pretraining, seconds to train) and :class:`FrozenFeaturesBaseline`
(the frozen encoder's vectors + logistic regression: transfer without fine-tuning).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from datasets import Dataset
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline

from .evaluation import EvaluationReport, compute_metrics, report_from_predictions
from .features import extract_features, linear_probe

if TYPE_CHECKING:
    from typing_extensions import Self


class _Baseline:
    """Fit, predict, evaluate: the ``pipeline`` that ``__init__`` builds, on ``_features``."""

    pipeline: Pipeline
    label_names: list[str]
    fit_seconds: float = 0.0

    def _features(self, texts: list[str]) -> list[str] | np.ndarray:
        return texts

    def fit(self, dataset: Dataset) -> Self:
        """Train on a labelled split; ``fit_seconds`` says how long it took."""
        if len(dataset) == 0:
            raise ValueError("Cannot fit on an empty dataset.")
        labels = np.asarray(dataset["label"])
        if len(np.unique(labels)) < 2:
            raise ValueError(
                "The training data has a single class; a classifier needs two or more."
            )
        self.label_names = list(dataset.features["label"].names)
        start = time.perf_counter()
        features = self._features(list(dataset["text"]))
        self.pipeline.fit(features, labels)
        self.fit_seconds = time.perf_counter() - start
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Class probabilities, shape ``(len(texts), num_labels)``."""
        if not hasattr(self, "label_names"):
            raise RuntimeError("Call fit(train_dataset) before predicting.")
        texts = list(texts)
        probabilities = np.zeros((len(texts), len(self.label_names)))
        # A class absent from the training data keeps probability 0.
        features = self._features(texts)
        probabilities[:, self.pipeline.classes_] = self.pipeline.predict_proba(features)
        return probabilities

    def evaluate(self, dataset: Dataset) -> EvaluationReport:
        """The same report as :func:`tlhelpers.evaluate` gives for a transformer."""
        texts = dataset["text"]
        return report_from_predictions(
            texts, dataset["label"], self.predict_proba(texts), self.label_names
        )


class TfidfBaseline(_Baseline):
    """TF-IDF of words and word pairs + logistic regression.

    Example:
        >>> baseline = TfidfBaseline().fit(data["train"])
        >>> baseline.evaluate(data["test"]).summary()
        {'accuracy': 0.985, 'macro_f1': 0.985}
    """

    def __init__(self, ngram_range: tuple[int, int] = (1, 2), C: float = 10.0, min_df: int = 1):
        self.pipeline = make_pipeline(
            TfidfVectorizer(ngram_range=ngram_range, min_df=min_df, sublinear_tf=True),
            LogisticRegression(C=C, max_iter=2000),
        )


class FrozenFeaturesBaseline(_Baseline):
    """A frozen pretrained encoder's mean-pooled vectors + logistic regression.

    Example:
        >>> model, tokenizer = tl.load_model("minilm", labels=names)
        >>> probe = FrozenFeaturesBaseline(model, tokenizer).fit(data["train"])
        >>> probe.evaluate(data["test"]).macro_f1
    """

    def __init__(self, model, tokenizer, *, max_length: int = 128):
        self.model, self.tokenizer, self.max_length = model, tokenizer, max_length
        self.pipeline = linear_probe()

    def _features(self, texts: list[str]) -> np.ndarray:
        return extract_features(self.model, self.tokenizer, texts, max_length=self.max_length)


def majority_baseline(train: Dataset, test: Dataset) -> dict[str, float]:
    """Scores of always predicting the most common training label: the floor to beat.

    Example:
        >>> majority_baseline(data["train"], data["test"])
        {'accuracy': 0.43, 'macro_f1': 0.2}
    """
    most_common = int(np.bincount(np.asarray(train["label"])).argmax())
    y_true = np.asarray(test["label"])
    return compute_metrics(y_true, np.full_like(y_true, most_common), train.features["label"].names)
