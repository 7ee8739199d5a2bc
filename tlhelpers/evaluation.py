"""Evaluate a classifier and use it: metrics, confusion matrix, mistakes, bootstrap intervals.

Accuracy hides imbalance (never saying "positive" still scores 0.6 on the tweets), so the
report gives macro-F1 (the plain mean of the classes' F1) and per-class scores beside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from datasets import Dataset
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

from .batching import check_max_length, model_max_length, pad_token_id
from .data import check_texts
from .inference import class_probabilities, device_of, inference_batches
from .models import label_names


def predict_proba(
    model,
    tokenizer,
    texts: Sequence[str],
    *,
    batch_size: int = 64,
    max_length: int | None = None,
) -> np.ndarray:
    """Class probabilities for each text, shape ``(len(texts), num_labels)``, in input order.

    Hugging Face: ``pipeline(top_k=None)``. ``max_length`` defaults to a saved model's trained one.

    Example:
        >>> predict_proba(model, tokenizer, ["What a great flight!"], max_length=64).round(2)
        array([[0.02, 0.05, 0.93]], dtype=float32)
    """
    if isinstance(texts, str):
        raise TypeError("Pass a list of texts, e.g. predict(model, tokenizer, ['some text']).")
    texts = check_texts(texts)  # None or NaN would be classified as the strings "None", "nan"
    if not texts:
        return np.zeros((0, len(label_names(model))), dtype=np.float32)
    max_length = max_length or model_max_length(tokenizer)
    check_max_length(max_length, tokenizer, model)
    encoded = tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]
    batches = inference_batches(
        encoded,
        batch_size=batch_size,
        pad_token_id=pad_token_id(tokenizer),
        device=device_of(model),
    )
    return class_probabilities(model, batches, len(texts))


def predict(model, tokenizer, texts: Sequence[str], **kwargs) -> pd.DataFrame:
    """Predicted label and confidence for new texts, with every class's probability.

    Example:
        >>> predict(model, tokenizer, ["The flight was delayed again", "Thanks @united!"])
                                   text predicted  confidence  negative  neutral  positive
        0  The flight was delayed again  negative        0.91      0.91     0.06      0.03
        1               Thanks @united!  positive        0.88      0.02     0.10      0.88
    """
    probabilities = predict_proba(model, tokenizer, texts, **kwargs)
    names = label_names(model)
    frame = pd.DataFrame({"text": check_texts(texts)})
    frame["predicted"] = [names[i] for i in probabilities.argmax(axis=1)]
    frame["confidence"] = probabilities.max(axis=1)
    frame[names] = probabilities  # one column per class
    return frame


def _scores_from_confusion(counts: np.ndarray) -> dict[str, np.ndarray]:
    """Accuracy and macro-F1 (sklearn's, zero_division=0) of confusion counts, one per resample."""
    counts = np.asarray(counts, dtype=float)
    true_positives = np.diagonal(counts, axis1=-2, axis2=-1)
    denominator = counts.sum(axis=-1) + counts.sum(axis=-2)  # (TP + FN) + (TP + FP)
    f1 = np.divide(
        2 * true_positives, denominator, out=np.zeros_like(denominator), where=denominator > 0
    )
    return {
        "accuracy": true_positives.sum(axis=-1) / counts.sum(axis=(-2, -1)),
        "macro_f1": f1.mean(axis=-1),
    }


def compute_metrics(
    y_true: Sequence[int], y_pred: Sequence[int], labels: Sequence[str] | int
) -> dict[str, float]:
    """Accuracy and macro-F1 over *every* class of ``labels`` (names, or their count).

    sklearn's ``f1_score(average="macro", zero_division=0)``: ignoring a class is not rewarded.

    Example:
        >>> compute_metrics([0, 1, 1], [0, 1, 0], ["a", "b", "c"])
        {'accuracy': 0.6666666666666666, 'macro_f1': 0.4444444444444444}
    """
    y_true, y_pred, n = _check_label_ids(y_true, y_pred, labels)
    scores = _scores_from_confusion(confusion_matrix(y_true, y_pred, labels=np.arange(n)))
    return {name: float(value) for name, value in scores.items()}


@dataclass(frozen=True)
class ConfidenceInterval:
    """A score (or a difference) with its bootstrap interval: ``0.712 [0.698, 0.726]``."""

    metric: str
    estimate: float
    low: float
    high: float
    confidence: float

    @property
    def half_width(self) -> float:
        """Half the interval's width: the "±" of the score."""
        return (self.high - self.low) / 2

    def __str__(self) -> str:
        return f"{self.estimate:.3f} [{self.low:.3f}, {self.high:.3f}]"


def _bootstrap_scores(
    y_true: Sequence[int],
    y_preds: Sequence[Sequence[int]],
    labels: Sequence[str] | int,
    metric: str,
    n_resamples: int,
    seed: int,
    confidence: float = 0.95,
) -> np.ndarray:
    """Each model's score on the same ``n_resamples`` resampled test sets (paired)."""
    if not 0 < confidence < 1:  # checked here, before the resampling, for the interval after
        raise ValueError(f"confidence is a share between 0 and 1 (e.g. 0.95); got {confidence}.")
    if metric not in ("accuracy", "macro_f1"):
        raise ValueError(f"metric={metric!r} is not known; use one of ('accuracy', 'macro_f1').")
    if int(n_resamples) < 1:
        raise ValueError(f"n_resamples must be at least 1 (1000 is usual); got {n_resamples}.")
    checked = [_check_label_ids(y_true, p, labels) for p in y_preds]
    n = checked[0][2]
    codes = np.stack([t * n + p for t, p, _ in checked])  # (models, examples): confusion cells
    size = codes.shape[1]
    rng = np.random.default_rng(seed)
    scores = np.empty((len(codes), n_resamples))
    # Chunks of resamples keep the index array near 4M entries (32 MB) for any test size.
    rows = max(1, 4_000_000 // size)
    for start in range(0, n_resamples, rows):
        chunk = min(rows, n_resamples - start)
        indices = rng.integers(0, size, size=(chunk, size))
        # One bincount builds every resample's confusion matrix: 1000 x 4,000 in under a second.
        offsets = np.arange(chunk)[:, None] * (n * n)
        for m, model_codes in enumerate(codes):
            counts = np.bincount(
                (model_codes[indices] + offsets).ravel(), minlength=chunk * n * n
            ).reshape(chunk, n, n)
            scores[m, start : start + chunk] = _scores_from_confusion(counts)[metric]
    return scores


def bootstrap_interval(
    y_true: Sequence[int],
    y_pred: Sequence[int],
    labels: Sequence[str] | int,
    *,
    metric: str = "macro_f1",
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> ConfidenceInterval:
    """How far a test score could move on another test set of the same size (percentile bootstrap).

    Hugging Face's twin: ``evaluate.evaluator(...).compute(..., strategy="bootstrap")``.

    Example:
        >>> y_true, y_pred = [0, 0, 1, 1, 2, 2, 2, 1], [0, 1, 1, 1, 2, 0, 2, 1]
        >>> interval = bootstrap_interval(y_true, y_pred, ["negative", "neutral", "positive"])
        >>> print(interval)  # estimate [low, high]: 8 examples say little
        0.719 [0.333, 1.000]
    """
    scores = _bootstrap_scores(y_true, [y_pred], labels, metric, n_resamples, seed, confidence)[0]
    estimate = compute_metrics(y_true, y_pred, labels)[metric]
    return _percentile_interval(metric, estimate, scores, confidence)


def bootstrap_difference(
    y_true: Sequence[int],
    y_pred_a: Sequence[int],
    y_pred_b: Sequence[int],
    labels: Sequence[str] | int,
    *,
    metric: str = "macro_f1",
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> ConfidenceInterval:
    """Paired bootstrap of score(A) − score(B) on the same resamples: is the gap beyond noise?

    Example:
        >>> y_true = [0, 0, 1, 1, 2, 2, 2, 1]
        >>> a, b = [0, 1, 1, 1, 2, 0, 2, 1], [0, 0, 0, 0, 2, 2, 2, 0]
        >>> difference = bootstrap_difference(y_true, a, b, 3)
        >>> print(difference)  # 0 inside the interval: within noise
        0.195 [-0.237, 0.533]
    """
    if len(y_pred_a) != len(y_pred_b):
        raise ValueError(
            f"Both models must predict the same test set: got {len(y_pred_a)} and "
            f"{len(y_pred_b)} predictions."
        )
    predictions = [y_pred_a, y_pred_b]
    scores = _bootstrap_scores(y_true, predictions, labels, metric, n_resamples, seed, confidence)
    a, b = (compute_metrics(y_true, p, labels)[metric] for p in predictions)
    # Paired: the difference on each of the same resamples.
    return _percentile_interval(f"{metric} difference", a - b, scores[0] - scores[1], confidence)


def _percentile_interval(
    metric: str, estimate: float, scores: np.ndarray, confidence: float
) -> ConfidenceInterval:
    """The interval holding the central ``confidence`` share of the bootstrap ``scores``."""
    tail = (1 - confidence) / 2
    low, high = np.quantile(scores, [tail, 1 - tail])
    return ConfidenceInterval(metric, estimate, float(low), float(high), confidence)


def _check_label_ids(
    y_true: Sequence[int], y_pred: Sequence[int], labels: Sequence[str] | int
) -> tuple[np.ndarray, np.ndarray, int]:
    """Labels and predictions as int arrays of one length, every id a class of ``labels``."""
    n = labels if isinstance(labels, int) else len(labels)
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.ndim != 1 or y_true.shape != y_pred.shape:
        raise ValueError(
            f"Labels and predictions must be two lists of the same length; got shapes "
            f"{y_true.shape} and {y_pred.shape}."
        )
    if len(y_true) == 0:
        raise ValueError("There is nothing to score: the labels are empty.")
    if not (np.issubdtype(y_true.dtype, np.integer) and np.issubdtype(y_pred.dtype, np.integer)):
        raise TypeError(
            f"Pass class ids (integers), not {y_true.dtype}/{y_pred.dtype}; map names with "
            f"label_names.index(name)."
        )
    for what, ids in (("labels", y_true), ("predictions", y_pred)):
        if ids.min() < 0 or ids.max() >= n:
            raise ValueError(
                f"The {what} hold class id {ids.min() if ids.min() < 0 else ids.max()}, "
                f"outside 0..{n - 1} for {n} classes; pass all the label names."
            )
    return y_true.astype(np.int64), y_pred.astype(np.int64), n


@dataclass
class EvaluationReport:
    """Everything :func:`evaluate` measured on one dataset split."""

    accuracy: float
    macro_f1: float
    per_class: pd.DataFrame
    confusion: pd.DataFrame
    predictions: pd.DataFrame
    label_names: list[str]

    def misclassified(self, n: int | None = 10) -> pd.DataFrame:
        """The mistakes, most confident first: where the model is sure and wrong.

        Example:
            >>> report.misclassified(5)[["text", "label", "predicted", "confidence"]]
        """
        wrong = self.predictions[~self.predictions["correct"]]
        wrong = wrong.sort_values("confidence", ascending=False)
        return wrong if n is None else wrong.head(n)

    def class_ids(self) -> tuple[np.ndarray, np.ndarray]:
        """The true and the predicted class ids (index into ``label_names``), in data order."""
        to_id = {name: i for i, name in enumerate(self.label_names)}
        label, predicted = self.predictions["label"], self.predictions["predicted"]
        return label.map(to_id).to_numpy(), predicted.map(to_id).to_numpy()

    def interval(self, metric: str = "macro_f1", **settings) -> ConfidenceInterval:
        """Bootstrap confidence interval of this report's score (see :func:`bootstrap_interval`).

        Example:
            >>> print(report.interval("macro_f1"))  # estimate [low, high]
        """
        y_true, y_pred = self.class_ids()
        return bootstrap_interval(y_true, y_pred, self.label_names, metric=metric, **settings)

    def summary(self) -> dict[str, float]:
        """Headline metrics as a dict (for tables, JSON and comparisons)."""
        return {"accuracy": round(self.accuracy, 4), "macro_f1": round(self.macro_f1, 4)}

    def __repr__(self) -> str:
        return (
            f"EvaluationReport(accuracy={self.accuracy:.4f}, macro_f1={self.macro_f1:.4f}, "
            f"n={len(self.predictions)})\n{self.per_class.round(3).to_string()}"
        )


def report_from_predictions(
    texts: Sequence[str], y_true: Sequence[int], probabilities: np.ndarray, names: Sequence[str]
) -> EvaluationReport:
    """Build an :class:`EvaluationReport` from any model's probabilities (e.g. a baseline).

    Example:
        >>> report_from_predictions(texts, labels, baseline.predict_proba(texts), names)
    """
    names = list(names)
    y_true, y_pred = np.asarray(y_true), probabilities.argmax(axis=1)
    metrics = compute_metrics(y_true, y_pred, names)  # checks the ids
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=np.arange(len(names)), zero_division=0
    )
    per_class = pd.DataFrame(
        {"precision": precision, "recall": recall, "f1": f1, "support": support}, index=names
    )
    confusion = pd.DataFrame(
        confusion_matrix(y_true, y_pred, labels=np.arange(len(names))),
        index=pd.Index(names, name="true"),
        columns=pd.Index(names, name="predicted"),
    )
    predictions = pd.DataFrame(
        {
            "text": list(texts),
            "label": [names[i] for i in y_true],
            "predicted": [names[i] for i in y_pred],
            "confidence": probabilities.max(axis=1),
            "correct": y_true == y_pred,
        }
    )
    predictions[names] = probabilities  # one column per class
    return EvaluationReport(
        **metrics,
        per_class=per_class,
        confusion=confusion,
        predictions=predictions,
        label_names=names,
    )


def evaluate(model, tokenizer, dataset: Dataset, **kwargs) -> EvaluationReport:
    """Measure ``model`` on a labelled split: metrics, per-class scores, confusion, mistakes.

    Example:
        >>> report = evaluate(model, tokenizer, data["test"])
        >>> report.summary()
        {'accuracy': 0.74, 'macro_f1': 0.72}
    """
    if len(dataset) == 0:
        raise ValueError("The dataset to evaluate is empty.")
    if "label" not in dataset.column_names or "text" not in dataset.column_names:
        raise ValueError(
            f"evaluate() needs 'text' and 'label' columns; got {dataset.column_names}."
        )
    model_names = label_names(model)
    data_names = list(getattr(dataset.features["label"], "names", model_names))
    unknown = sorted({data_names[i] for i in set(dataset["label"])} - set(model_names))
    if unknown:
        raise ValueError(
            f"Labels {unknown} appear in the data but the model was never "
            f"trained on them; it knows {model_names}."
        )
    # The dataset's label ids as the model's (same names, maybe another order).
    y_true = [model_names.index(data_names[i]) for i in dataset["label"]]
    probabilities = predict_proba(model, tokenizer, dataset["text"], **kwargs)
    return report_from_predictions(dataset["text"], y_true, probabilities, model_names)


def reliability(
    confidence: np.ndarray, correct: np.ndarray, bins: int = 10
) -> tuple[pd.DataFrame, float]:
    """Calibration: accuracy per confidence bin, and the expected calibration error (ECE).

    ECE is the mean gap between confidence and accuracy, weighted by each bin's predictions.

    Example:
        >>> predictions = report.predictions
        >>> table, ece = reliability(predictions["confidence"], predictions["correct"])
    """
    confidence = np.asarray(confidence, dtype=float)
    correct = np.asarray(correct, dtype=float)
    # sklearn's calibration_curve omits the bin counts that ECE weights by: bin by hand.
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    used = np.unique(which)  # the bins that hold predictions
    table = pd.DataFrame(
        {
            "bin_low": edges[used],
            "bin_high": edges[used + 1],
            "confidence": [confidence[which == b].mean() for b in used],
            "accuracy": [correct[which == b].mean() for b in used],
            "count": np.bincount(which)[used],
        }
    )
    gaps = (table["accuracy"] - table["confidence"]).abs()
    return table, float((table["count"] * gaps).sum() / len(confidence))
