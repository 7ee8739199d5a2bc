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


def _noisy_predictions(rng, n, accuracy=0.75, classes=3):
    y_true = rng.integers(0, classes, n)
    return y_true, _predictions_of(rng, y_true, accuracy, classes)


def _predictions_of(rng, y_true, accuracy, classes=3):
    """A model right on about ``accuracy`` of the examples, its mistakes at random."""
    n = len(y_true)
    wrong = rng.uniform(size=n) > accuracy
    return np.where(wrong, (y_true + rng.integers(1, classes, n)) % classes, y_true)


def test_compute_metrics_matches_sklearn_including_absent_classes():
    from sklearn.metrics import accuracy_score, f1_score

    rng = np.random.default_rng(1)
    for classes, n in [(3, 50), (4, 7), (5, 200)]:
        y_true = rng.integers(0, classes - 1, n)  # the last class never appears in the data
        y_pred = rng.integers(0, classes, n)
        scores = compute_metrics(y_true, y_pred, classes)
        assert scores["accuracy"] == pytest.approx(accuracy_score(y_true, y_pred))
        expected = f1_score(
            y_true, y_pred, labels=list(range(classes)), average="macro", zero_division=0
        )
        assert scores["macro_f1"] == pytest.approx(expected)
    # a class neither in the data nor predicted counts as 0
    assert compute_metrics([0, 0, 1], [0, 0, 1], 3)["macro_f1"] == pytest.approx(2 / 3)


def test_bootstrap_intervals_match_a_slow_reference():
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(2)
    y_true, y_pred = _noisy_predictions(rng, 60)
    other = _predictions_of(rng, y_true, 0.6)
    # The reference draws the same resamples one by one and scores each with sklearn.
    indices = np.random.default_rng(7).integers(0, 60, size=(40, 60))
    a, b = (
        [
            f1_score(y_true[i], p[i], labels=[0, 1, 2], average="macro", zero_division=0)
            for i in indices
        ]
        for p in (y_pred, other)
    )
    a, b = np.array(a), np.array(b)
    both = tl.evaluation._bootstrap_scores(y_true, [y_pred, other], 3, "macro_f1", 40, 7)
    np.testing.assert_allclose(both, [a, b])  # every resample, not only the interval's ends
    interval = tl.bootstrap_interval(y_true, y_pred, 3, n_resamples=40, seed=7)
    assert (interval.low, interval.high) == pytest.approx(np.quantile(a, [0.025, 0.975]))
    difference = tl.bootstrap_difference(y_true, y_pred, other, 3, n_resamples=40, seed=7)
    assert (difference.low, difference.high) == pytest.approx(np.quantile(a - b, [0.025, 0.975]))


def test_bootstrap_interval_contains_the_estimate_and_shrinks_with_more_data():
    rng = np.random.default_rng(3)
    small = tl.bootstrap_interval(*_noisy_predictions(rng, 200), 3, seed=0)
    large = tl.bootstrap_interval(*_noisy_predictions(rng, 5000), 3, seed=0)
    for interval in (small, large):
        assert interval.low < interval.estimate < interval.high
    assert large.half_width < small.half_width / 3  # about 1/sqrt(25) = 1/5 as wide
    assert str(large).startswith(f"{large.estimate:.3f} [")
    wider = tl.bootstrap_interval(*_noisy_predictions(rng, 5000), 3, confidence=0.99)
    assert wider.high - wider.low > large.high - large.low


def test_bootstrap_interval_is_reproducible_and_accepts_names():
    y_true, y_pred = _noisy_predictions(np.random.default_rng(4), 300)
    names = ["negative", "neutral", "positive"]
    first = tl.bootstrap_interval(y_true, y_pred, names, metric="accuracy", seed=5)
    again = tl.bootstrap_interval(y_true, y_pred, names, metric="accuracy", seed=5)
    other = tl.bootstrap_interval(y_true, y_pred, names, metric="accuracy", seed=6)
    assert first == again and first != other
    assert first.estimate == pytest.approx(np.mean(y_true == y_pred))


def test_paired_bootstrap_separates_a_real_gap_from_noise():
    rng = np.random.default_rng(5)
    y_true = rng.integers(0, 3, 3000)
    better, worse = _predictions_of(rng, y_true, 0.80), _predictions_of(rng, y_true, 0.70)
    gap = tl.bootstrap_difference(y_true, better, worse, 3, metric="accuracy")
    assert gap.estimate == pytest.approx(np.mean(better == y_true) - np.mean(worse == y_true))
    assert gap.low > 0
    # Two equally good models (mistakes on different examples): the gap is within noise.
    twin = _predictions_of(rng, y_true, 0.80)
    tie = tl.bootstrap_difference(y_true, better, twin, 3)
    assert tie.low <= 0 <= tie.high
    # Pairing makes the difference's interval narrower than the two separate intervals.
    a = tl.bootstrap_interval(y_true, better, 3)
    b = tl.bootstrap_interval(y_true, worse, 3)
    paired = tl.bootstrap_difference(y_true, better, worse, 3)
    assert paired.high - paired.low < (a.high - a.low) + (b.high - b.low)


def test_report_interval_uses_the_report_predictions():
    probabilities = np.eye(3)[[0, 1, 2, 0, 1, 2, 0, 0]]
    report = report_from_predictions(list("abcdefgh"), [0, 1, 2, 0, 1, 2, 1, 2], probabilities,
                                     ["x", "y", "z"])  # fmt: skip
    y_true, y_pred = report.class_ids()
    assert y_true.tolist() == [0, 1, 2, 0, 1, 2, 1, 2]
    assert report.interval("accuracy", seed=1) == tl.bootstrap_interval(
        y_true, y_pred, 3, metric="accuracy", seed=1
    )


def test_bootstrap_refuses_bad_input_with_a_clear_message():
    with pytest.raises(ValueError, match="metric='f1' is not known"):
        tl.bootstrap_interval([0, 1], [0, 1], 2, metric="f1")
    with pytest.raises(ValueError, match="same length"):
        tl.bootstrap_interval([0, 1, 1], [0, 1], 2)
    with pytest.raises(ValueError, match="class id 3, outside 0..2"):
        tl.bootstrap_interval([0, 1, 3], [0, 1, 1], 3)
    with pytest.raises(ValueError, match="confidence is a share"):
        tl.bootstrap_interval([0, 1], [0, 1], 2, confidence=95)
    with pytest.raises(ValueError, match="same test set"):
        tl.bootstrap_difference([0, 1, 1], [0, 1, 1], [0, 1], 2)
    with pytest.raises(TypeError, match="class ids"):
        tl.compute_metrics([0.0, 1.0], [0, 1], 2)
