"""Baselines: what a pretrained transformer has to beat, with the same ``fit``/``evaluate``.

:class:`TfidfBaseline` (no pretraining, seconds to train) and :class:`FrozenFeaturesBaseline`
(the frozen encoder's vectors + logistic regression: transfer without fine-tuning).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
from datasets import Dataset
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from .evaluation import EvaluationReport, report_from_predictions
from .features import extract_features, linear_probe


class _Baseline:
    label_names: list[str]
    fit_seconds: float = 0.0

    def _probabilities(self, texts: Sequence[str]) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Class probabilities, shape ``(len(texts), num_labels)``."""
        if not hasattr(self, "label_names"):
            raise RuntimeError("Call fit(train_dataset) before predicting.")
        return self._probabilities(list(texts))

    def predict(self, texts: Sequence[str]) -> list[str]:
        """Predicted class names."""
        return [self.label_names[i] for i in self.predict_proba(texts).argmax(axis=1)]

    def evaluate(self, dataset: Dataset) -> EvaluationReport:
        """The same report as :func:`tlhelpers.evaluate` gives for a transformer."""
        texts = dataset["text"]
        return report_from_predictions(
            texts, dataset["label"], self.predict_proba(texts), self.label_names
        )

    def _check(self, dataset: Dataset) -> tuple[list[str], np.ndarray]:
        if len(dataset) == 0:
            raise ValueError("Cannot fit on an empty dataset.")
        self.label_names = list(dataset.features["label"].names)
        labels = np.asarray(dataset["label"])
        if len(np.unique(labels)) < 2:
            raise ValueError(
                "The training data has a single class; a classifier needs two or more."
            )
        return list(dataset["text"]), labels


class TfidfBaseline(_Baseline):
    """TF-IDF of words and word pairs + logistic regression.

    Example:
        >>> baseline = TfidfBaseline().fit(data["train"])
        >>> baseline.evaluate(data["test"]).summary()
        {'accuracy': 0.985, 'macro_f1': 0.985}
    """

    def __init__(self, ngram_range: tuple[int, int] = (1, 2), C: float = 10.0, min_df: int = 1):
        self.ngram_range, self.C, self.min_df = ngram_range, C, min_df

    def fit(self, dataset: Dataset) -> TfidfBaseline:
        texts, labels = self._check(dataset)
        start = time.perf_counter()
        self.pipeline = make_pipeline(
            TfidfVectorizer(ngram_range=self.ngram_range, min_df=self.min_df, sublinear_tf=True),
            LogisticRegression(C=self.C, max_iter=2000),
        )
        self.pipeline.fit(texts, labels)
        self.fit_seconds = time.perf_counter() - start
        return self

    def _probabilities(self, texts: Sequence[str]) -> np.ndarray:
        probabilities = np.zeros((len(texts), len(self.label_names)))
        probabilities[:, self.pipeline.classes_] = self.pipeline.predict_proba(texts)
        return probabilities


class FrozenFeaturesBaseline(_Baseline):
    """A frozen pretrained encoder's mean-pooled vectors + logistic regression.

    Example:
        >>> model, tokenizer = tl.load_model("minilm", labels=names)
        >>> probe = FrozenFeaturesBaseline(model, tokenizer).fit(data["train"])
        >>> probe.evaluate(data["test"]).macro_f1
    """

    def __init__(self, model, tokenizer, *, layer: int = -1, max_length: int = 128, C: float = 1.0):
        self.model, self.tokenizer = model, tokenizer
        self.layer, self.max_length, self.C = layer, max_length, C

    def _features(self, texts: Sequence[str]) -> np.ndarray:
        return extract_features(
            self.model, self.tokenizer, texts, layers=(self.layer,), max_length=self.max_length
        )

    def fit(self, dataset: Dataset) -> FrozenFeaturesBaseline:
        texts, labels = self._check(dataset)
        start = time.perf_counter()
        self.classifier = linear_probe(C=self.C).fit(self._features(texts), labels)
        self.fit_seconds = time.perf_counter() - start
        return self

    def _probabilities(self, texts: Sequence[str]) -> np.ndarray:
        probabilities = np.zeros((len(texts), len(self.label_names)))
        probabilities[:, self.classifier.classes_] = self.classifier.predict_proba(
            self._features(texts)
        )
        return probabilities


def majority_baseline(train: Dataset, test: Dataset) -> dict[str, float]:
    """Scores of always predicting the most common training label: the floor to beat.

    Example:
        >>> majority_baseline(data["train"], data["test"])
        {'accuracy': 0.43, 'macro_f1': 0.2}
    """
    from .evaluation import compute_metrics

    most_common = int(np.bincount(np.asarray(train["label"])).argmax())
    y_true = np.asarray(test["label"])
    return compute_metrics(y_true, np.full_like(y_true, most_common), train.features["label"].names)
