"""Every plot function returns a Figure with a title and labelled axes, from real objects."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from tlhelpers import plots  # noqa: E402
from tlhelpers.evaluation import report_from_predictions  # noqa: E402
from tlhelpers.training import History  # noqa: E402

NAMES = ["negative", "neutral", "positive"]


@pytest.fixture
def report():
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 3, size=60)
    logits = rng.normal(size=(60, 3)) + 2 * np.eye(3)[y_true]
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return report_from_predictions([f"text {i}" for i in range(60)], y_true, probabilities, NAMES)


@pytest.fixture
def history():
    history = History()
    for step in range(1, 31):
        history.steps.append({"step": step, "epoch": step / 10, "loss": 1.1 / step, "lr": 1e-4})
    for step in (10, 20, 30):
        history.evals.append(
            {"step": step, "epoch": step / 10, "loss": 1 / step, "accuracy": 0.5 + step / 100,
             "macro_f1": 0.4 + step / 100}
        )  # fmt: skip
    return history


def _check_labelled(fig: Figure) -> None:
    assert isinstance(fig, Figure)
    titled = bool(fig._suptitle and fig._suptitle.get_text())
    for ax in fig.axes:
        if ax.get_label() == "<colorbar>":
            continue
        titled = titled or bool(ax.get_title())
        assert ax.get_xlabel() or ax.get_ylabel(), f"unlabelled axes in {fig}"
    assert titled


def test_all_figures_have_titles_and_labels(report, history):
    costs = pd.DataFrame(
        {"parameters_millions": [22.7, 110.0], "ms_per_batch": [40.0, 300.0]},
        index=["minilm", "bert-base"],
    )
    figures = [
        plots.plot_training(history),
        plots.plot_confusion(report),
        plots.plot_confusion(report.confusion, normalize=True),
        plots.plot_per_class(report),
        plots.plot_token_lengths([5, 10, 20, 40, 80], max_length=32),
        plots.plot_lr_schedule(100, warmup_ratio=0.1, lr=1e-4),
        plots.plot_reliability(report),
        plots.plot_model_costs(costs),
        plots.plot_comparison({"a": report.summary(), "b": {"accuracy": 0.9, "macro_f1": 0.8}}),
        plots.plot_curve([1, 2], {"f1": [0.5, 0.6]}, "curve", "x", "y"),
    ]
    for fig in figures:
        _check_labelled(fig)
        matplotlib.pyplot.close(fig)


def test_confusion_row_shares_sum_to_one(report):
    fig = plots.plot_confusion(report, normalize=True)
    shares = fig.axes[0].images[0].get_array()
    np.testing.assert_allclose(np.asarray(shares).sum(axis=1), 1.0)


def test_comparison_rejects_unknown_metric(report):
    with pytest.raises(ValueError, match="not in the results"):
        plots.plot_comparison({"a": report.summary()}, metrics=("recall",))


class _Handle:
    def __init__(self, shown):
        self.shown = shown

    def update(self, obj):
        self.shown.append(("update", obj))


def test_live_plot_updates_one_display(history, monkeypatch):
    shown = []

    def fake_display(obj, display_id=False):
        shown.append(("display", obj))
        return _Handle(shown)

    monkeypatch.setattr(plots, "display", fake_display)
    live = plots.LivePlot(every=2)
    for _ in range(3):
        live("step", history)
    live("eval", history)
    # drawn at the second step log and at the evaluation: one display, then one update
    assert [kind for kind, _ in shown] == ["display", "update"]
    assert isinstance(live.figure, Figure)
