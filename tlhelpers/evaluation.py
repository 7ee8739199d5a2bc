"""Evaluate a classifier and use it: metrics, confusion matrix, mistakes, predictions.

Accuracy alone hides a lot when classes are imbalanced (a model that never says
"positive" can still score 0.6 on the tweets), so the report gives macro-F1 (the plain
average of each class's F1) and the per-class precision, recall and F1 beside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from datasets import Dataset
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
)

from .batching import check_max_length, model_max_length, pad_token_id
from .data import check_texts
from .inference import device_of, inference_batches, inference_mode
from .models import label_names


def predict_proba(
    model,
    tokenizer,
    texts: Sequence[str],
    *,
    batch_size: int = 64,
    max_length: int | None = None,
    device: str | torch.device | None = None,
) -> np.ndarray:
    """Class probabilities for each text, shape ``(len(texts), num_labels)``.

    Texts are tokenized in one call, sorted by length and batched with dynamic padding,
    so a batch of short texts costs little; results come back in the input order.
    Predict with the ``max_length`` the model was trained with (a saved model's
    tokenizer remembers it; default: the tokenizer's limit).

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
    if device is not None:
        model.to(device)
    encoded = tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]
    probabilities = np.zeros((len(texts), len(label_names(model))), dtype=np.float32)
    with inference_mode(model):
        batches = inference_batches(
            encoded, batch_size=batch_size, pad_token_id=pad_token_id(tokenizer),
            device=device_of(model),
        )  # fmt: skip
        for index, batch in batches:
            logits = model(**batch).logits
            probabilities[index] = torch.softmax(logits.float(), dim=-1).cpu().numpy()
    return probabilities


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
    for i, name in enumerate(names):
        frame[name] = probabilities[:, i]
    return frame


def compute_metrics(
    y_true: Sequence[int], y_pred: Sequence[int], labels: Sequence[str] | int
) -> dict[str, float]:
    """Accuracy and macro-F1 from integer labels and predictions: the one scoring function.

    Macro-F1 averages the F1 of *every* class of the label set, including a class the
    model never predicts or that is missing from ``y_true`` (it counts as 0): leaving it
    out would reward a model that ignores a class. Training, evaluation, the baselines
    and the lab all score with this function. (Trainer's twin: ``compute_metrics``.)

    Args:
        y_true, y_pred: class ids.
        labels: the label names, or how many classes there are.

    Example:
        >>> compute_metrics([0, 1, 1], [0, 1, 0], ["a", "b", "c"])
        {'accuracy': 0.6666666666666666, 'macro_f1': 0.4444444444444444}
    """
    n = labels if isinstance(labels, int) else len(labels)
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": float(
            f1_score(y_true, y_pred, labels=list(range(n)), average="macro", zero_division=0)
        ),
    }


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

    def summary(self) -> dict[str, float]:
        """Headline metrics as a dict (for tables, JSON and comparisons)."""
        return {"accuracy": round(self.accuracy, 4), "macro_f1": round(self.macro_f1, 4)}

    def __repr__(self) -> str:
        return (
            f"EvaluationReport(accuracy={self.accuracy:.4f}, macro_f1={self.macro_f1:.4f}, "
            f"n={len(self.predictions)})\n{self.per_class.round(3).to_string()}"
        )


def report_from_predictions(
    texts: Sequence[str],
    y_true: Sequence[int],
    probabilities: np.ndarray,
    names: Sequence[str],
) -> EvaluationReport:
    """Build an :class:`EvaluationReport` from any model's probabilities (e.g. a baseline).

    Example:
        >>> report_from_predictions(texts, labels, baseline.predict_proba(texts), names)
    """
    names = list(names)
    y_true = np.asarray(y_true)
    y_pred = probabilities.argmax(axis=1)
    labels = list(range(len(names)))
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0
    )
    per_class = pd.DataFrame(
        {"precision": precision, "recall": recall, "f1": f1, "support": support}, index=names
    )
    confusion = pd.DataFrame(
        confusion_matrix(y_true, y_pred, labels=labels),
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
    for i, name in enumerate(names):
        predictions[name] = probabilities[:, i]
    return EvaluationReport(
        **compute_metrics(y_true, y_pred, names),
        per_class=per_class,
        confusion=confusion,
        predictions=predictions,
        label_names=names,
    )


def evaluate(model, tokenizer, dataset: Dataset, **kwargs) -> EvaluationReport:
    """Measure ``model`` on a labelled split: metrics, per-class scores, confusion, mistakes.

    The dataset's label names must all be known to the model (a label the model never
    learned cannot be predicted).

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
    feature = dataset.features["label"]
    data_names = list(getattr(feature, "names", model_names))
    unknown = sorted(set(data_names) - set(model_names))
    used = {data_names[i] for i in set(dataset["label"])}
    if unknown and used & set(unknown):
        raise ValueError(
            f"Labels {sorted(used & set(unknown))} appear in the data but the model was never "
            f"trained on them; it knows {model_names}."
        )
    # Map the dataset's label ids onto the model's (same names, maybe another order).
    to_model = np.array([model_names.index(n) if n in model_names else -1 for n in data_names])
    y_true = to_model[np.asarray(dataset["label"])]
    probabilities = predict_proba(model, tokenizer, dataset["text"], **kwargs)
    return report_from_predictions(dataset["text"], y_true, probabilities, model_names)


def reliability(
    confidence: np.ndarray, correct: np.ndarray, bins: int = 10
) -> tuple[pd.DataFrame, float]:
    """Calibration: accuracy per confidence bin, and the expected calibration error (ECE).

    A well-calibrated model that says "90% sure" is right 90% of the time; ECE is the
    average gap between confidence and accuracy, weighted by how many predictions fall in
    each bin.

    Example:
        >>> predictions = report.predictions
        >>> table, ece = reliability(predictions["confidence"], predictions["correct"])
    """
    confidence = np.asarray(confidence, dtype=float)
    correct = np.asarray(correct, dtype=float)
    # sklearn.calibration.calibration_curve gives each bin's mean confidence and accuracy
    # but not how many predictions fall in it, which ECE weights by; binning by hand gives
    # all three in a few lines.
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    rows = []
    for b in range(bins):
        mask = which == b
        if mask.any():
            rows.append(
                {
                    "bin_low": edges[b],
                    "bin_high": edges[b + 1],
                    "confidence": confidence[mask].mean(),
                    "accuracy": correct[mask].mean(),
                    "count": int(mask.sum()),
                }
            )
    table = pd.DataFrame(rows)
    ece = float(
        (table["count"] * (table["accuracy"] - table["confidence"]).abs()).sum() / len(confidence)
    )
    return table, ece
