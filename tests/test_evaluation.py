"""tlhelpers.evaluation: metrics, reports, predictions in the right order, calibration."""

from __future__ import annotations

import numpy as np
import pytest

import tlhelpers as tl
from tlhelpers.evaluation import compute_metrics, report_from_predictions


def test_metrics_and_report():
    assert compute_metrics([0, 1, 1, 2], [0, 1, 0, 2], ["a", "b", "c"]) == {
        "accuracy": 0.75,
        "macro_f1": pytest.approx(0.7778, abs=1e-4),
    }
    probabilities = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    report = report_from_predictions(
        ["w", "x", "y", "z"], [0, 1, 1, 0], probabilities, ["neg", "pos"]
    )
    assert report.accuracy == 0.5
    assert report.confusion.loc["pos", "neg"] == 1 and report.confusion.loc["neg", "pos"] == 1
    mistakes = report.misclassified()
    assert mistakes["text"].tolist() == ["z", "y"]  # most confident first
    assert report.per_class.loc["neg", "support"] == 2


def test_predictions_come_back_in_input_order(tiny_model, tokenizer):
    texts = ["a much much longer text than the others here", "short", "medium length text"]
    together = tl.predict_proba(tiny_model, tokenizer, texts, batch_size=2)
    one_by_one = np.vstack([tl.predict_proba(tiny_model, tokenizer, [t]) for t in texts])
    assert np.allclose(together, one_by_one, atol=1e-5)
    frame = tl.predict(tiny_model, tokenizer, texts)
    assert frame["text"].tolist() == texts
    assert set(frame["predicted"]) <= {"negative", "neutral", "positive"}
    with pytest.raises(TypeError, match="list of texts"):
        tl.predict(tiny_model, tokenizer, "one string")


def test_evaluate_refuses_labels_the_model_never_learned(tiny_model, tokenizer):
    data = tl.load_text_dataset((["a", "b", "c", "d"] * 10, ["negative", "angry"] * 20))
    with pytest.raises(ValueError, match=r"\['angry'\] appear in the data but the model"):
        tl.evaluate(tiny_model, tokenizer, data["test"])


def test_evaluate_maps_label_order(tiny_model, tokenizer):
    # Same names, another order: ids must be translated, not compared raw.
    data = tl.load_text_dataset((["x y", "y z"] * 30, ["positive", "negative"] * 30))
    report = tl.evaluate(tiny_model, tokenizer, data["test"])
    expected = [data["test"].features["label"].names[i] for i in data["test"]["label"]]
    assert report.predictions["label"].tolist() == expected


def test_reliability_of_a_perfectly_calibrated_model():
    rng = np.random.default_rng(0)
    confidence = rng.uniform(0.5, 1.0, 20000)
    correct = rng.uniform(size=20000) < confidence
    table, ece = tl.reliability(confidence, correct)
    assert ece < 0.02
    _, ece_overconfident = tl.reliability(np.full(1000, 0.99), np.arange(1000) % 2 == 0)
    assert ece_overconfident == pytest.approx(0.49, abs=0.01)
