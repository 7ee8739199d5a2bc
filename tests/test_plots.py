"""Every plot function draws a figure that passes figure_problems, from real objects."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import inspect  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from figure_checks import figure_problems  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from tlhelpers import plots  # noqa: E402
from tlhelpers.compare_plots import mean_and_sd  # noqa: E402
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


def _costs() -> pd.DataFrame:
    return pd.DataFrame(
        {"parameters_millions": [22.7, 33.4, 66.4, 109.5, 124.6],
         "ms_per_batch": [40.0, 70.0, 150.0, 300.0, 340.0]},
        index=["minilm", "minilm-l12", "distilbert-base-uncased", "bert-base-uncased",
               "twitter-roberta-base-sentiment"],
    )  # fmt: skip


def _one_evaluation() -> History:
    history = History()
    for step in range(1, 11):
        history.steps.append(
            {"step": step, "epoch": step / 10, "loss": 1.1 - step / 50, "lr": 1e-4}
        )
    history.evals.append({"step": 19, "epoch": 1.0, "loss": 0.8, "accuracy": 0.65,
                          "macro_f1": 0.62})  # fmt: skip
    return history


def _figures(report, history) -> dict[str, list]:
    """Each public figure function of plots, drawn with data like the notebooks' own."""
    rng = np.random.default_rng(0)
    long_tail = np.concatenate([rng.gamma(4, 60, size=2000).astype(int) + 10, [5300]])
    seeds = {
        "linear head": {"accuracy": [0.61, 0.63, 0.62], "macro_f1": [0.58, 0.60, 0.57]},
        "MLP head": {"accuracy": [0.62, 0.60, 0.64], "macro_f1": [0.59, 0.58, 0.61]},
    }
    many = {name: report.summary() for name in
            ["TF-IDF + LR (same tweets)", "TF-IDF + LR (all 30,000 tweets)", "fine-tuned MiniLM",
             "frozen features", "random init", "majority class"]}  # fmt: skip
    return {
        "plot_training": [plots.plot_training(history), plots.plot_training(_one_evaluation())],
        "plot_confusion": [
            plots.plot_confusion(report, title="Confusion matrix (test)"),
            plots.plot_confusion(report.confusion, normalize=False),
        ],
        "plot_per_class": [plots.plot_per_class(report)],
        "plot_token_lengths": [
            plots.plot_token_lengths(rng.poisson(22, size=5000) + 3, max_length=64),
            plots.plot_token_lengths(long_tail, 256, title="Token lengths of 2,001 articles"),
            plots.plot_token_lengths([5, 10, 20, 40, 80], max_length=32),
        ],
        "plot_lr_schedule": [plots.plot_lr_schedule(300, warmup_ratio=0.1, lr=1e-4)],
        "plot_reliability": [plots.plot_reliability(report)],
        "plot_model_costs": [plots.plot_model_costs(_costs(), title="Catalog models")],
        "plot_comparison": [
            plots.plot_comparison({"a": report.summary(), "b": {"accuracy": 0.9, "macro_f1": 0.8}}),
            plots.plot_comparison(seeds, title="Heads over 3 seeds"),
            plots.plot_comparison(many, title="Test scores"),
        ],  # fmt: skip
        "plot_curve": [
            plots.plot_curve(
                [2e-5, 1e-4, 5e-4],
                {"macro_f1": [0.28, 0.53, 0.62], "accuracy": [0.35, 0.58, 0.65]},
                "LR sweep",
                "peak learning rate",
                "validation score",
                logx=True,
            ),  # fmt: skip
            plots.plot_curve(
                [50, 100, 200],
                {"fine-tune": [[0.4, 0.45], [0.5, 0.52], [0.6, 0.6]]},
                "Learning curve",
                "tweets per class",
                "macro-F1",
            ),  # fmt: skip
            plots.plot_curve([1, 2, 3], {"loss": [1.0, 0.7, 0.6]}, "Loss", "epoch", "loss"),
        ],
        "plot_intervals": _interval_figures(report),
        "plot_verdicts": _verdict_figures(report),
        "plot_loss_curves": [
            plots.plot_loss_curves(
                {"lr 1e-3": history, "lr 1e-2 (3 seeds)": [history, _one_evaluation()]},
                title="Training loss by learning rate",
                reference=("chance: ln 3", float(np.log(3))),
            )
        ],
    }


def _interval_figures(report) -> list:
    import tlhelpers as tl

    y_true, y_pred = report.class_ids()
    worse = np.where(np.arange(len(y_true)) % 3 == 0, (y_true + 1) % 3, y_pred)
    scores = {name: report.interval() for name in ["majority class", "fine-tuned MiniLM"]}
    scores["TF-IDF + LR (all 30,000 tweets)"] = tl.bootstrap_interval(y_true, worse, 3)
    gaps = {
        "MiniLM - TF-IDF": tl.bootstrap_difference(y_true, y_pred, worse, 3),
        "MiniLM - itself": tl.bootstrap_difference(y_true, y_pred, y_pred, 3),
    }
    return [plots.plot_intervals(scores), plots.plot_intervals(gaps, title="Paired differences")]


def _verdict_figures(report) -> list:
    import tlhelpers as tl

    y_true, y_pred = report.class_ids()
    worse = np.where(np.arange(len(y_true)) % 3 == 0, (y_true + 1) % 3, y_pred)
    verdicts = [
        tl.compare_predictions(y_true, y_pred, worse, names=("fine-tuned MiniLM", "TF-IDF")),
        tl.compare([0.61, 0.66, 0.60], [0.62, 0.60, 0.63], names=("lr 1e-3", "lr 3e-4")),
        tl.compare([0.50, 0.52, 0.49], [0.60, 0.64, 0.61], names=("lr 1e-4", "lr 1e-3")),
    ]
    return [plots.plot_verdicts(verdicts, xlabel="macro-F1 difference"),
            plots.plot_verdicts(verdicts[:1], title="One paired difference")]  # fmt: skip


def test_plot_verdicts_colours_each_verdict_and_centres_zero(report):
    import tlhelpers as tl

    beats = tl.compare([0.70, 0.72, 0.69], [0.60, 0.64, 0.61], names=("tuned", "probe"))
    loses = tl.compare([0.50, 0.52, 0.49], [0.60, 0.64, 0.61], names=("small", "large"))
    tied = tl.compare([0.70, 0.60, 0.75], [0.65, 0.66, 0.70], names=("x", "y"))
    ax = plots.plot_verdicts([beats, loses, tied]).axes[0]
    low, high = ax.get_xlim()
    assert low < 0 < high and abs(low + high) < 1e-9  # symmetric around the line at 0
    bars = sorted(ax.patches, key=lambda bar: -bar.get_y())  # first verdict on top
    colours = [matplotlib.colors.to_hex(bar.get_facecolor(), keep_alpha=False) for bar in bars]
    assert colours == [matplotlib.colors.to_hex(c) for c in ("tab:green", "tab:red", "tab:gray")]
    ticks = [t.get_text() for t in sorted(ax.get_yticklabels(), key=lambda t: -t.get_position()[1])]
    assert ticks[0].startswith("tuned − probe\n+0.087 [")
    assert "A − B" in ax.get_xlabel() and "paired t over 3 seeds" in ax.get_xlabel()
    assert ax.get_ylabel() != "model"
    with pytest.raises(ValueError, match="Nothing to draw"):
        plots.plot_verdicts([])


def test_every_figure_function_draws_a_readable_figure(report, history):
    """figure_problems finds nothing in any public plot_* function's figure."""
    matplotlib.rcParams["figure.max_open_warning"] = 0  # all are drawn first, closed below
    figures = _figures(report, history)
    public = {name for name, value in vars(plots).items()
              if name.startswith("plot_") and inspect.isfunction(value)}  # fmt: skip
    assert public == set(figures), f"add {public - set(figures)} to _figures"
    found = []
    for name, drawn in figures.items():
        for number, fig in enumerate(drawn, 1):
            assert isinstance(fig, Figure)
            found += [f"{name} #{number}: {problem}" for problem in figure_problems(fig)]
            matplotlib.pyplot.close(fig)
    assert found == []


def test_live_plot_figure_is_readable(history, monkeypatch):
    monkeypatch.setattr(plots, "display", lambda obj, display_id=False: None)
    live = plots.LivePlot()
    live("eval", history)
    assert figure_problems(live.figure) == []


def test_score_axes_start_at_zero_and_legends_are_readable(report, history):
    fig = plots.plot_comparison({"a": {"accuracy": 0.92}, "b": {"accuracy": 0.95}},
                                metrics=["accuracy"])  # fmt: skip
    assert fig.axes[0].get_ylim()[0] == 0
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["accuracy"]
    fig = plots.plot_training(history)
    labels = [t.get_text() for t in fig.axes[1].get_legend().get_texts()]
    assert "macro-F1" in labels and "macro_f1" not in labels


def test_comparison_of_seeds_draws_mean_and_sd():
    fig = plots.plot_comparison({"a": {"accuracy": [0.6, 0.7]}}, metrics=["accuracy"])
    ax = fig.axes[0]
    assert ax.patches[0].get_height() == pytest.approx(0.65)
    assert "over 2 seeds" in ax.get_ylabel()
    assert any("±" in text.get_text() for text in ax.texts)


def test_smoothed_loss_is_centred_and_needs_enough_logs():
    # Notebook 03 logged 5 batch losses of a falling loss; a trailing 5-log mean was then a
    # running mean of the whole run, drawn above every raw point.
    def lines(logged):
        history = History()
        for k, step in enumerate(np.linspace(1, 45, logged).round()):
            loss = 1.1 - 0.01 * step + 0.05 * (-1) ** k  # falling, noisy
            history.steps.append({"step": int(step), "epoch": step / 15, "loss": loss, "lr": 1e-4})
        ax = plots.plot_training(history).axes[0]
        return {line.get_label(): line.get_ydata() for line in ax.get_lines()}

    assert not any(label.startswith("smoothed") for label in lines(5))
    drawn = lines(45)
    smooth = next(values for label, values in drawn.items() if label.startswith("smoothed"))
    raw = np.asarray(drawn["batch loss"])
    assert (smooth < raw).any() and (smooth > raw).any()  # through the points, not above them
    assert abs(float(np.mean(smooth - raw))) < 0.01


def test_comparison_says_which_bar_is_a_single_run():
    # Notebook 02: four heads over 5 seeds beside a deterministic probe (one value); the
    # "mean ± sd over 5 seeds" label alone would claim the probe's bar too.
    fig = plots.plot_comparison(
        {"head": {"macro_f1": [0.6, 0.62, 0.61]}, "probe": {"macro_f1": 0.65}},
        metrics=["macro_f1"],
    )
    ax = fig.axes[0]
    assert "over 3 seeds" in ax.get_ylabel() and "one run" in ax.get_ylabel()
    assert [t.get_text() for t in ax.texts if "1 run" in t.get_text()] == ["0.650\n(1 run)"]


def test_token_lengths_clips_an_outlier_and_says_so():
    lengths = list(range(10, 110)) * 5 + [5000]
    fig = plots.plot_token_lengths(lengths, max_length=64)
    ax = fig.axes[0]
    assert ax.get_xlim()[1] < 200
    assert "cut at the 99th percentile" in ax.get_title()
    assert sum(p.get_height() for p in ax.patches) == len(lengths)  # the outlier is counted


def test_curve_rejects_a_series_of_the_wrong_length():
    with pytest.raises(ValueError, match="has 1 values for 2 x values"):
        plots.plot_curve([1, 2], {"f1": [0.5]}, "curve", "x", "F1")


def test_small_helpers():
    assert plots.metric_label("macro_f1") == "macro-F1"
    assert plots.metric_label("val_accuracy") == "val accuracy"
    mean, sd, count = mean_and_sd([0.6, 0.62, 0.64])
    assert (round(mean, 6), round(sd, 6), count) == (0.62, 0.02, 3)
    assert mean_and_sd(0.5)[1] != mean_and_sd(0.5)[1]  # one seed: sd is nan


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


def test_plot_intervals_scores_from_zero_and_differences_around_zero(report):
    import tlhelpers as tl

    y_true, y_pred = report.class_ids()
    worse = np.where(np.arange(len(y_true)) % 3 == 0, (y_true + 1) % 3, y_pred)
    scores = {"model": report.interval(), "worse": tl.bootstrap_interval(y_true, worse, 3)}
    fig = plots.plot_intervals(scores)
    ax = fig.axes[0]
    assert ax.get_xlim()[0] == 0 and ax.get_title() and ax.get_xlabel()
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    by_height = sorted(zip(ax.get_yticks(), ticks, strict=True))
    assert [name.split("\n")[0] for _, name in by_height] == ["worse", "model"]  # first on top
    assert by_height[0][1].endswith(str(scores["worse"]))  # the numbers under the name
    gap = {"model - worse": tl.bootstrap_difference(y_true, y_pred, worse, 3)}
    ax = plots.plot_intervals(gap, title="Paired differences").axes[0]
    low, high = ax.get_xlim()
    assert low < 0 < high and "difference" in ax.get_xlabel()
    assert ax.get_ylabel() == "comparison"  # a row is a difference of two models, not a model
    with pytest.raises(ValueError, match="Nothing to draw"):
        plots.plot_intervals({})


def test_loss_curves_draw_one_colour_per_name_and_refuse_nothing(history):
    fig = plots.plot_loss_curves({"a": history, "b": [history, history]}, reference=("x", 1.0))
    lines = fig.axes[0].get_lines()
    assert len(lines) == 4  # three runs and the reference line
    assert lines[1].get_color() == lines[2].get_color() != lines[0].get_color()
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["a", "b", "x"]
    with pytest.raises(ValueError, match="Nothing to draw"):
        plots.plot_loss_curves({})
    with pytest.raises(ValueError, match="logged no training loss"):
        plots.plot_loss_curves({"empty": History()})
