"""Pictures of every step: training curves, confusion matrices, calibration, costs.

Each function draws one matplotlib figure and returns it, so a notebook shows it by
leaving it as the cell's last value (or calling ``plt.show()``), and a script can save
it with ``fig.savefig("name.png")``. Every figure has a title and labelled axes.
:class:`LivePlot` redraws the training curves while :func:`tlhelpers.train` runs.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import clear_output, display
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

from .axis_break import is_score_label, mark_axis_break
from .evaluation import ConfidenceInterval, EvaluationReport, reliability
from .training import History, TrainingResult, learning_rate_schedule

if TYPE_CHECKING:
    from .verdicts import Verdict

METRIC_COLOURS = {"accuracy": "tab:blue", "macro_f1": "tab:orange", "loss": "tab:red"}
# How a metric's column name reads in a legend or on an axis.
METRIC_LABELS = {"accuracy": "accuracy", "macro_f1": "macro-F1", "f1": "F1", "loss": "loss"}


def metric_label(name: str) -> str:
    """The reader's name of a metric column: ``"macro_f1"`` -> ``"macro-F1"``.

    Example:
        >>> metric_label("macro_f1"), metric_label("val_accuracy")
        ('macro-F1', 'val accuracy')
    """
    return METRIC_LABELS.get(name, name.replace("_", " "))


def legend_outside(ax: plt.Axes, **settings) -> None:
    """A legend to the right of the axes, so it never covers data.

    Example:
        >>> legend_outside(ax)
    """
    ax.legend(**{"loc": "upper left", "bbox_to_anchor": (1.01, 1), "borderaxespad": 0,
                 "fontsize": "small", **settings})  # fmt: skip


def mean_and_sd(values: float | Sequence[float]) -> tuple[float, float, int]:
    """The mean, standard deviation (ddof=1) and count of per-seed values; a number is one seed.

    Example:
        >>> mean_and_sd([0.60, 0.62, 0.64])
        (0.62, 0.02, 3)
    """
    array = np.atleast_1d(np.asarray(values, dtype=float))
    array = array[np.isfinite(array)]
    if len(array) == 0:
        return float("nan"), float("nan"), 0
    sd = float(array.std(ddof=1)) if len(array) > 1 else float("nan")
    return float(array.mean()), sd, len(array)


def _score_limits(ax: plt.Axes, top_value: float, axis: str = "y", room: float = 0.0) -> None:
    """A score axis from 0: to 1 (ticks 0..1) when the scores are fractions, else a bit above."""
    top = 1.0 if top_value <= 1.0 else top_value * 1.05
    limits = (0.0, top + room * top)
    if axis == "y":
        ax.set_ylim(*limits)
        if top == 1.0:
            ax.set_yticks(np.linspace(0, 1, 6))
    else:
        ax.set_xlim(*limits)


def _label_fits(bar_width_in_data: float, slots: int, fig_width: float, longest: str) -> bool:
    """Whether a value label fits across its bar when written level (in points, roughly).

    ``slots`` is how many data units the x axis spans; about 2.5 inches of the figure go to
    the y label and the legend at its right.
    """
    bar_points = bar_width_in_data * (fig_width - 2.5) * 72 / max(slots, 1)
    text_points = 0.6 * 8.5 * max(len(line) for line in longest.split("\n"))  # "small" font
    return bar_points >= text_points + 4


def _label_above(ax: plt.Axes, x: float, top: float, text: str, level: bool) -> None:
    """A value label just above a bar (and its error bar): level, or turned 90 degrees."""
    ax.annotate(text, (x, top), xytext=(0, 2), textcoords="offset points", ha="center",
                va="bottom", fontsize="small" if level else "x-small",
                rotation=0 if level else 90, zorder=5,
                # a white patch behind the number, so a reference line never strikes it out
                bbox={"boxstyle": "square,pad=0.1", "facecolor": "white", "edgecolor": "none",
                      "alpha": 0.85})  # fmt: skip


def _history(history: History | TrainingResult) -> History:
    return history.history if isinstance(history, TrainingResult) else history


def smoothing_window(logged: int) -> int:
    """The width of the loss curve's moving average: about a tenth of the logs, odd, >= 5.

    0 (no smoothed line) below 15 logged steps: a mean over a third of the run or more
    would draw a trend the points do not show.

    Example:
        >>> smoothing_window(10), smoothing_window(45), smoothing_window(300)
        (0, 5, 31)
    """
    if logged < 15:
        return 0
    return max(5, logged // 10 | 1)


def _draw_training(history: History, axes: Sequence[plt.Axes], title: str) -> None:
    loss_ax, metric_ax = axes
    steps, evals = history.steps_frame(), history.evals_frame()
    last_step = 0
    if len(steps):
        last_step = int(steps["step"].max())
        loss_ax.plot(steps["step"], steps["loss"], color="tab:gray", alpha=0.6, label="batch loss")
        window = smoothing_window(len(steps))
        if window:
            # Centred: a trailing mean of a falling loss lags behind, above every raw point.
            smooth = steps["loss"].rolling(window, center=True, min_periods=1).mean()
            loss_ax.plot(steps["step"], smooth, color="black",
                         label=f"smoothed (centred mean of {window} logs)")  # fmt: skip
    if len(evals):
        last_step = max(last_step, int(evals["step"].max()))
        loss_ax.plot(evals["step"], evals["loss"], "o-", color="tab:red", label="validation loss")
        for metric in ("accuracy", "macro_f1"):
            metric_ax.plot(evals["step"], evals[metric], "o-", color=METRIC_COLOURS[metric],
                           label=metric_label(metric))  # fmt: skip
        if len(evals) <= 2:
            # Few evaluations: print every value, accuracy above its point, macro-F1 below.
            for metric, dy, va in (("accuracy", 6, "bottom"), ("macro_f1", -6, "top")):
                for step, value in zip(evals["step"], evals[metric], strict=True):
                    metric_ax.annotate(f"{value:.3f}", (step, value), textcoords="offset points",
                                       xytext=(0, dy), ha="right", va=va, fontsize="small",
                                       color=METRIC_COLOURS[metric])  # fmt: skip
        else:
            best = evals["macro_f1"].idxmax()
            metric_ax.annotate(
                f"best {evals['macro_f1'][best]:.3f}",
                (evals["step"][best], evals["macro_f1"][best]),
                textcoords="offset points",
                xytext=(0, -12),
                ha="right",
                va="top",
                fontsize="small",
            )
    evaluations = f" ({len(evals)} evaluation{'s' if len(evals) != 1 else ''})"
    loss_ax.set(title="Training loss", xlabel="optimizer step", ylabel="cross-entropy loss")
    metric_ax.set(title="Validation scores" + evaluations, xlabel="optimizer step",
                  ylabel="validation score")  # fmt: skip
    _score_limits(metric_ax, 1.0)
    for ax in axes:
        # From step 0 to the last step, so a lone evaluation sits where training ended.
        ax.set_xlim(0, max(1, last_step) * 1.04)
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            legend_outside(ax)
    axes[0].figure.suptitle(title)


def plot_training(history: History | TrainingResult, title: str = "Training curves") -> Figure:
    """Loss per logged step (left) and validation loss/accuracy/macro-F1 per evaluation (right).

    The score axis runs from 0 to 1; legends sit right of each panel. With one or two
    evaluations every value is written beside its point.

    Example:
        >>> result = tl.train(model, tokenizer, data)
        >>> plot_training(result)
    """
    fig, axes = plt.subplots(1, 2, figsize=(13, 3.8))
    _draw_training(_history(history), axes, title)
    fig.tight_layout()
    return fig


class LivePlot:
    """A training callback that redraws the training curves as :func:`tlhelpers.train` runs.

    In a notebook it updates its own display in place (an IPython display handle, so a
    progress bar in the same cell stays visible) at each evaluation and every ``every``
    logged steps; pass an ``ipywidgets.Output`` as ``output`` to draw inside a widget panel
    instead. After training, ``.figure`` holds the last figure.

    Example:
        >>> live = LivePlot()
        >>> result = tl.train(model, tokenizer, data, callbacks=[live])
    """

    def __init__(self, output=None, every: int = 2, title: str = "Training (live)"):
        self.output = output
        self.every = max(1, every)
        self.title = title
        self.figure: Figure | None = None
        self._logged_steps = 0
        self._handle = None

    def __call__(self, event: str, history: History) -> None:
        if event == "step":
            self._logged_steps += 1
            if self._logged_steps % self.every:
                return
        self.draw(history)

    def draw(self, history: History) -> None:
        """Draw the current state of ``history`` in place of the previous drawing."""
        fig = plot_training(history, title=self.title)
        plt.close(fig)  # keep pyplot from showing it a second time at the end of the cell
        self.figure = fig
        if self.output is not None:
            with self.output:
                clear_output(wait=True)
                display(fig)
        elif self._handle is None:
            self._handle = display(fig, display_id=True)
        else:
            self._handle.update(fig)


def plot_confusion(
    report: EvaluationReport | pd.DataFrame,
    normalize: bool | str = "both",
    title: str | None = None,
) -> Figure:
    """The confusion matrix: rows are true classes, columns predicted ones.

    Args:
        report: an :class:`EvaluationReport` or a confusion DataFrame (true x predicted).
        normalize: ``False`` for counts, ``True`` for row shares (each row sums to 1, so
            the diagonal is each class's recall), ``"both"`` for the two side by side.

    Example:
        >>> plot_confusion(report)
    """
    confusion = report.confusion if isinstance(report, EvaluationReport) else report
    counts = confusion.to_numpy()
    names = [str(n) for n in confusion.index]
    kinds = [False, True] if normalize == "both" else [bool(normalize)]
    size = max(3.5, 0.7 * len(names) + 1.5)
    fig, axes = plt.subplots(1, len(kinds), figsize=(size * len(kinds) + 0.5, size), squeeze=False)
    for ax, shares in zip(axes[0], kinds, strict=True):
        row_totals = counts.sum(axis=1, keepdims=True)
        values = counts / np.maximum(row_totals, 1) if shares else counts
        image = ax.imshow(values, cmap="Blues", vmin=0, vmax=1 if shares else None)
        for i in range(len(names)):
            for j in range(len(names)):
                text = f"{values[i, j]:.2f}" if shares else f"{int(values[i, j])}"
                dark = values[i, j] > (0.5 if shares else values.max() / 2)
                ax.text(j, i, text, ha="center", va="center", color="white" if dark else "black")
        ax.set_xticks(range(len(names)), names, rotation=30, ha="right")
        ax.set_yticks(range(len(names)), names)
        ax.set(
            xlabel="predicted class",
            ylabel="true class",
            title="share of each true class\n(recall on the diagonal)" if shares else "counts",
        )
        fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    fig.suptitle(title or "Confusion matrix")
    fig.tight_layout()
    return fig


def plot_per_class(report: EvaluationReport, title: str = "Per-class scores") -> Figure:
    """Precision, recall and F1 of each class as grouped bars, with the support in the labels.

    The dashed line is the macro-F1 (the mean of the F1 bars); the legend sits right of
    the axes, the score axis runs from 0 to 1.

    Example:
        >>> plot_per_class(report)
    """
    table = report.per_class
    x = np.arange(len(table))
    width = 0.27
    fig_width = max(7, 1.4 * len(table) + 3.5)
    level = _label_fits(width, len(table), fig_width, "0.00")
    fig, ax = plt.subplots(figsize=(fig_width, 3.8))
    for k, metric in enumerate(("precision", "recall", "f1")):
        bars = ax.bar(x + (k - 1) * width, table[metric], width, label=metric_label(metric))
        for bar, value in zip(bars, table[metric], strict=True):
            _label_above(ax, bar.get_x() + width / 2, value, f"{value:.2f}", level=level)
    labels = [
        f"{name}\n(n={int(n)})" for name, n in zip(table.index, table["support"], strict=True)
    ]
    ax.set_xticks(x, labels)
    ax.axhline(report.macro_f1, color="black", linestyle="--", linewidth=1,
               label=f"macro-F1 {report.macro_f1:.3f}")  # fmt: skip
    ax.set(title=title, xlabel="class (test examples)", ylabel="score")
    _score_limits(ax, 1.0, room=0.06 if level else 0.12)  # room for labels above 1.0
    legend_outside(ax)
    fig.tight_layout()
    return fig


def plot_token_lengths(
    lengths: Sequence[int],
    max_length: int | None = None,
    title: str = "Token lengths",
    clip_percentile: float = 99.0,
) -> Figure:
    """Histogram of texts' token counts, with the chosen ``max_length`` as a vertical line.

    Everything right of the line is truncated; the legend says what share of texts that is.
    A few very long texts would stretch the x axis until the rest is a sliver, so the axis
    ends at the ``clip_percentile`` (or just past ``max_length``); the longer texts are
    counted in the last bar, and the title says so.

    Example:
        >>> plot_token_lengths(tl.token_lengths(data["train"]["text"], tokenizer), max_length=64)
    """
    lengths = np.asarray(lengths)
    if lengths.size == 0:
        raise ValueError("plot_token_lengths got no lengths; pass one token count per text.")
    longest = int(lengths.max())
    clip = int(np.ceil(np.percentile(lengths, clip_percentile)))
    if max_length is not None:
        clip = max(clip, int(max_length * 1.1))
    clipped = longest > clip * 1.2  # only clip when an outlier really stretches the axis
    shown = np.minimum(lengths, clip) if clipped else lengths
    top = clip if clipped else longest
    fig, ax = plt.subplots(figsize=(9, 3.5))
    bins = np.arange(0, top + 8, max(1, int(np.ceil(top / 60))))
    ax.hist(shown, bins=bins, color="tab:blue", alpha=0.8, label="texts")
    if max_length is not None:
        cut = float((lengths > max_length).mean())
        ax.axvline(max_length, color="tab:red", linewidth=2,
                   label=f"max_length={max_length}:\n{cut:.1%} of texts cut")  # fmt: skip
    if clipped:
        over = int((lengths > clip).sum())
        title = (
            f"{title}\nx axis cut at the {clip_percentile:g}th percentile ({clip} tokens); "
            f"the last bar\nalso holds the {over:,} longer texts (up to {longest:,} tokens)"
        )
    ax.set(title=title, xlabel="tokens per text (with [CLS] and [SEP])", ylabel="number of texts")
    ax.set_xlim(0, bins[-1])
    legend_outside(ax)
    fig.tight_layout()
    return fig


def plot_lr_schedule(
    total_steps: int, warmup_ratio: float = 0.1, lr: float = 5e-5, title: str | None = None
) -> Figure:
    """The learning rate at each step: linear warmup, then linear decay to zero.

    Uses the same :func:`tlhelpers.training.learning_rate_schedule` as :func:`tlhelpers.train`.

    Example:
        >>> plot_lr_schedule(total_steps=300, warmup_ratio=0.1, lr=1e-4)
    """
    warmup = round(warmup_ratio * total_steps)
    factor = learning_rate_schedule(total_steps, warmup)
    steps = np.arange(total_steps + 1)
    fig, ax = plt.subplots(figsize=(8, 3.2))
    ax.plot(steps, [lr * factor(int(s)) for s in steps], color="tab:green", label="learning rate")
    if warmup:
        ax.axvspan(0, warmup, color="tab:green", alpha=0.1, label=f"warmup ({warmup} steps)")
    legend_outside(ax)
    ax.set(
        title=title or f"Learning-rate schedule (peak {lr:g})",
        xlabel="optimizer step",
        ylabel="learning rate",
        xlim=(0, total_steps),
        ylim=(0, lr * 1.05),
    )
    ax.ticklabel_format(axis="y", style="sci", scilimits=(0, 0))
    fig.tight_layout()
    return fig


def plot_reliability(
    report: EvaluationReport, bins: int = 10, title: str = "Reliability diagram"
) -> Figure:
    """Calibration: accuracy per confidence bin against the diagonal of perfect calibration.

    Bars below the diagonal mean over-confidence. The title carries the expected
    calibration error (ECE) from :func:`tlhelpers.reliability`.

    Example:
        >>> plot_reliability(report)
    """
    table, ece = reliability(report.predictions["confidence"], report.predictions["correct"], bins)
    fig, (ax, count_ax) = plt.subplots(
        2, 1, figsize=(7.5, 5.5), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    width = 1 / bins
    ax.bar(table["bin_low"], table["accuracy"], width=width, align="edge", edgecolor="black",
           alpha=0.8, label="accuracy in bin")  # fmt: skip
    ax.plot(table["confidence"], table["accuracy"], "o", color="tab:red",
            label="mean confidence\nof the bin")  # fmt: skip
    ax.plot([0, 1], [0, 1], "--", color="gray", label="perfect calibration")
    ax.set(title="accuracy per confidence bin", ylabel="accuracy", ylim=(0, 1), xlim=(0, 1))
    fig.suptitle(f"{title} (ECE = {ece:.3f})")
    legend_outside(ax)
    count_ax.bar(table["bin_low"], table["count"], width=width, align="edge", color="tab:gray")
    count_ax.set(xlabel="predicted confidence (probability of the predicted class)",
                 ylabel="predictions", title="predictions per bin")  # fmt: skip
    fig.tight_layout()
    return fig


def plot_model_costs(
    costs: pd.DataFrame,
    size: str = "parameters_millions",
    speed: str = "ms_per_batch",
    title: str = "Model size and CPU speed",
) -> Figure:
    """Side-by-side bars of each model's size and measured time, one row per model.

    Args:
        costs: a DataFrame indexed by model name with a size column and a time column.

    Example:
        >>> plot_model_costs(table)   # columns parameters_millions, ms_per_batch
    """
    fig, (size_ax, speed_ax) = plt.subplots(1, 2, figsize=(11, 0.6 * len(costs) + 1.8))
    names = [str(n) for n in costs.index]
    for ax, column, colour in ((size_ax, size, "tab:purple"), (speed_ax, speed, "tab:orange")):
        bars = ax.barh(names, costs[column], color=colour)
        ax.bar_label(bars, fmt="%.0f", padding=2, fontsize="small")
        ax.invert_yaxis()
        ax.set_xlim(0, costs[column].max() * 1.2)
    size_ax.set(title="size", xlabel="parameters (millions)", ylabel="model")
    speed_ax.set(title="forward pass on the CPU", xlabel=speed.replace("_", " "), ylabel="model")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def _results_frame(results) -> pd.DataFrame:
    if isinstance(results, pd.DataFrame):
        return results
    if isinstance(results, Mapping):
        return pd.DataFrame({name: pd.Series(dict(row)) for name, row in results.items()}).T
    raise TypeError(f"results must be a DataFrame or {{method: {{metric: value}}}}, not "
                    f"{type(results).__name__}.")  # fmt: skip


def _wrap(name: str, width: int = 16) -> str:
    return "\n".join(textwrap.wrap(name, width)) or name


def plot_comparison(
    results: pd.DataFrame | Mapping[str, Mapping[str, float | Sequence[float]]],
    metrics: Sequence[str] = ("accuracy", "macro_f1"),
    title: str = "Methods compared",
    ylim: tuple[float, float] | None = None,
    errors: pd.DataFrame | Mapping[str, Mapping[str, float]] | None = None,
) -> Figure:
    """Grouped bars comparing methods (rows) on one or more metrics (columns), from 0.

    Each cell is a score, or a list of per-seed scores: then the bar is their mean, the
    error bar one standard deviation and the dots the single seeds. ``errors`` gives
    standard deviations for cells that hold means.

    Args:
        results: a DataFrame indexed by method, or ``{method: {metric: value or [values]}}``.
        metrics: the columns to draw.
        ylim: the score axis range; default from 0 to 1. A range that does not start at 0
            is drawn with a break marker (:func:`tlhelpers.mark_axis_break`) and a title note.
        errors: standard deviations, same shape as ``results``.

    Example:
        >>> plot_comparison({"TF-IDF": tfidf.summary(), "MiniLM": report.summary()})
        >>> plot_comparison({"linear head": {"macro_f1": [0.61, 0.63, 0.62]}}, metrics=["macro_f1"])
    """
    frame = _results_frame(results)
    missing = [m for m in metrics if m not in frame.columns]
    if missing:
        raise ValueError(f"Metrics {missing} not in the results' columns {list(frame.columns)}.")
    error_frame = None if errors is None else _results_frame(errors)
    stats = {
        metric: [mean_and_sd(frame.loc[name, metric]) for name in frame.index] for metric in metrics
    }
    if error_frame is not None:
        for metric in metrics:
            if metric in error_frame.columns:
                stats[metric] = [
                    (mean, float(error_frame.loc[name, metric]), count)
                    if name in error_frame.index else (mean, sd, count)
                    for name, (mean, sd, count) in zip(frame.index, stats[metric], strict=True)
                ]  # fmt: skip
    seeds = max(count for values in stats.values() for _, _, count in values)
    has_errors = any(np.isfinite(sd) for values in stats.values() for _, sd, _ in values)
    x = np.arange(len(frame))
    width = 0.8 / len(metrics)
    fig_width = max(6, 1.6 * len(frame) + 3.5)
    longest = "0.000\n± 0.000" if has_errors else "0.000"
    turn = not _label_fits(width, len(frame), fig_width, longest)  # narrow bars: turn labels
    fig, ax = plt.subplots(figsize=(fig_width, 4.2))
    highest = 0.0
    for k, metric in enumerate(metrics):
        offset = (k - (len(metrics) - 1) / 2) * width
        means = np.array([mean for mean, _, _ in stats[metric]])
        sds = np.array([sd for _, sd, _ in stats[metric]])
        ax.bar(x + offset, means, width, label=metric_label(metric),
               color=METRIC_COLOURS.get(metric))  # fmt: skip
        if has_errors:
            ax.errorbar(x + offset, means, yerr=np.nan_to_num(sds), fmt="none", ecolor="black",
                        capsize=3, linewidth=1)  # fmt: skip
        for position, name, mean, sd in zip(x + offset, frame.index, means, sds, strict=True):
            cell = np.atleast_1d(np.asarray(frame.loc[name, metric], dtype=float))
            if len(cell) > 1:
                spread = (np.arange(len(cell)) - (len(cell) - 1) / 2) * width / (2 * len(cell))
                ax.plot(position + spread, cell, ".", color="black", markersize=4)
            top = max([mean + (sd if np.isfinite(sd) else 0)] + list(cell))
            highest = max(highest, top)
            sd_text = f"\n± {sd:.3f}" if not turn else f" ± {sd:.3f}"
            text = f"{mean:.3f}" + (sd_text if np.isfinite(sd) else "")
            if seeds > 1 and len(cell) == 1 and not np.isfinite(sd):
                text += "\n(1 run)" if not turn else " (1 run)"
            _label_above(ax, position, top, text, level=not turn)
    names = [_wrap(str(n)) for n in frame.index]
    ax.set_xticks(x, names, rotation=20 if len(frame) > 5 else 0,
                  ha="right" if len(frame) > 5 else "center")  # fmt: skip
    ylabel = "score" + (f" (mean ± sd over {seeds} seeds)" if seeds > 1 else
                        " (mean ± sd)" if has_errors else "")  # fmt: skip
    if seeds > 1 and any(count == 1 for values in stats.values() for _, _, count in values):
        ylabel += "\n(a bar without error bar: one run)"  # the seeds label does not cover it
    ax.set(title=title, xlabel="method", ylabel=ylabel)
    if ylim is None:
        room = (0.3 if has_errors else 0.18) if turn else (0.16 if has_errors else 0.08)
        _score_limits(ax, highest, room=room)
    else:
        # Keep the caller's range but make room for the value labels above the bars.
        ax.set_ylim(ylim[0], max(ylim[1], highest + (ylim[1] - ylim[0]) * (0.3 if turn else 0.1)))
        if ylim[1] <= 1.0:  # no tick above a perfect score
            ax.set_yticks([t for t in ax.get_yticks() if ylim[0] <= t <= 1.0])
        if ylim[0] > 0:
            mark_axis_break(ax)
            ax.set_title(f"{title}\n(score axis starts at {ylim[0]:g}: gaps look larger)")
    legend_outside(ax)
    fig.tight_layout()
    return fig


def plot_curve(
    x: Sequence[float],
    ys: Mapping[str, Sequence[float] | Sequence[Sequence[float]]],
    title: str,
    xlabel: str,
    ylabel: str,
    logx: bool = False,
    errors: Mapping[str, Sequence[float]] | None = None,
    ylim: tuple[float, float] | None = None,
) -> Figure:
    """A line chart of one or more named series over a shared x axis, with error bars.

    Each series is one value per x, or one list of per-seed values per x (then the line is
    the mean and the error bars one standard deviation); ``errors`` gives standard
    deviations for a series of means. A score axis (``ylabel`` names accuracy, F1, score,
    precision or recall) starts at 0. With ``logx`` the ticks sit at the x values
    themselves, so a sweep over a few learning rates reads as those rates.

    Example:
        >>> plot_curve([1e-5, 1e-4], {"macro-F1": [0.6, 0.7]}, "LR sweep", "lr", "score", logx=True)
        >>> plot_curve([100, 200], {"fine-tune": [[0.5, 0.52], [0.6, 0.61]]}, "Curve", "n", "F1")
    """
    fig, ax = plt.subplots(figsize=(8.5, 3.6))
    highest = 0.0
    for name, series in ys.items():
        stats = [mean_and_sd(value) for value in series]
        means = np.array([mean for mean, _, _ in stats])
        sds = np.array([sd for _, sd, _ in stats])
        if errors is not None and name in errors:
            sds = np.asarray(errors[name], dtype=float)
        if len(means) != len(x):
            raise ValueError(f"Series {name!r} has {len(means)} values for {len(x)} x values.")
        label = metric_label(name)
        if np.isfinite(sds).any():
            ax.errorbar(x, means, yerr=np.nan_to_num(sds), fmt="o-", capsize=3, label=label)
            highest = max(highest, float(np.nanmax(means + np.nan_to_num(sds))))
        else:
            ax.plot(x, means, "o-", label=label)
            highest = max(highest, float(np.nanmax(means)))
    if logx:
        ax.set_xscale("log")
        if len(x) <= 8:
            # The sweep's own values as ticks; matplotlib's minor labels overlap within a decade.
            ax.set_xticks(list(x), [f"{value:g}" for value in x])
            ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    if ylim is not None:
        ax.set_ylim(*ylim)
        if ylim[0] > 0 and is_score_label(ylabel):
            mark_axis_break(ax)
    elif is_score_label(ylabel):
        _score_limits(ax, highest)
    ax.grid(alpha=0.3)
    legend_outside(ax)
    fig.tight_layout()
    return fig


def plot_intervals(
    intervals: Mapping[str, ConfidenceInterval],
    title: str = "Test scores with 95% bootstrap intervals",
    xlabel: str | None = None,
) -> Figure:
    """One horizontal bar per model with its bootstrap confidence interval as an error bar.

    Scores (0 to 1) get an axis from 0 to 1; differences (from
    :func:`tlhelpers.bootstrap_difference`) get an axis around a line at 0: an interval
    that crosses the line is within noise. Horizontal bars keep long names readable; each
    name's label carries the estimate and the interval, ``0.712 [0.698, 0.726]``.

    Example:
        >>> plot_intervals({"TF-IDF": tfidf_report.interval(), "MiniLM": report.interval()})
    """
    if not intervals:
        raise ValueError("Nothing to draw: pass {name: ConfidenceInterval}.")
    names = list(intervals)
    values = [intervals[n] for n in names]
    estimates = np.array([v.estimate for v in values])
    errors = np.array([[v.estimate - v.low for v in values], [v.high - v.estimate for v in values]])
    difference = any(v.low < 0 for v in values) or values[0].metric.endswith("difference")
    y = np.arange(len(names))[::-1]  # first name on top
    fig, ax = plt.subplots(figsize=(7.5, 0.7 * len(names) + 1.4))
    colours = [
        "tab:green" if v.low > 0 else "tab:red" if v.high < 0 else "tab:gray" for v in values
    ] if difference else "tab:orange"  # fmt: skip
    ax.barh(y, estimates, height=0.6, color=colours, alpha=0.75)
    ax.errorbar(estimates, y, xerr=errors, fmt="none", ecolor="black", capsize=4, linewidth=1)
    # Each number goes under its name, where it can collide with neither bars nor edges.
    ax.set_yticks(y, [f"{name}\n{value}" for name, value in zip(names, values, strict=True)])
    if difference:
        reach = max(abs(min(v.low for v in values)), abs(max(v.high for v in values)))
        ax.axvline(0, color="black", linewidth=1)
        ax.set_xlim(-1.15 * max(reach, 0.005), 1.15 * max(reach, 0.005))
    else:
        _score_limits(ax, max(v.high for v in values), axis="x")
    metric = values[0].metric.removesuffix(" difference")
    what = f"{metric_label(metric)} difference" if difference else metric_label(metric)
    confidence = f"{values[0].confidence:.0%}"
    ax.set(title=title, ylabel="comparison" if difference else "model",
           xlabel=xlabel or f"{what} ({confidence} bootstrap interval)")  # fmt: skip
    fig.tight_layout()
    return fig


def plot_verdicts(
    verdicts: Sequence[Verdict],
    title: str = "Paired differences with their 95% intervals",
    xlabel: str = "score difference",
) -> Figure:
    """One bar per comparison: the paired difference A - B and its interval, around a line at 0.

    Draws what :func:`tlhelpers.compare` (over seeds) and :func:`tlhelpers.compare_predictions`
    (over test examples) return. Each row is named "A − B" from the verdict's names, with the
    difference and its interval under the name. Green: A higher, beyond noise; red: B higher,
    beyond noise; grey: the interval contains 0, within noise. Close scores (0.98 vs 0.99)
    vanish on a 0-1 score axis; their difference does not.

    Example:
        >>> verdict = tl.compare_predictions(y_true, a, b, names=("MiniLM", "TF-IDF"))
        >>> plot_verdicts([verdict], xlabel="macro-F1 difference")
    """
    if not verdicts:
        raise ValueError(
            "Nothing to draw: pass a list of Verdicts (tl.compare, tl.compare_predictions)."
        )
    y = np.arange(len(verdicts))[::-1]  # first verdict on top
    differences = np.array([v.difference for v in verdicts])
    lows, highs = np.array([v.low for v in verdicts]), np.array([v.high for v in verdicts])
    finite = np.isfinite(lows) & np.isfinite(highs)  # one seed: no interval to draw
    reach = max(np.abs(differences).max(), np.abs(lows[finite]).max(initial=0),
                np.abs(highs[finite]).max(initial=0), 0.005)  # fmt: skip
    colours = ["tab:green" if v.low > 0 else "tab:red" if v.high < 0 else "tab:gray"
               for v in verdicts]  # fmt: skip
    fig, ax = plt.subplots(figsize=(7.5, 0.7 * len(verdicts) + 1.6))
    ax.barh(y, differences, height=0.6, color=colours, alpha=0.75)
    errors = np.array([np.where(finite, differences - lows, 0),
                       np.where(finite, highs - differences, 0)])  # fmt: skip
    ax.errorbar(differences, y, xerr=errors, fmt="none", ecolor="black", capsize=4, linewidth=1)
    ax.axvline(0, color="black", linewidth=1)
    ax.set_xlim(-1.15 * reach, 1.15 * reach)
    ax.set_yticks(y, [
        f"{v.names[0]} − {v.names[1]}\n{v.difference:+.3f} [{v.low:+.3f}, {v.high:+.3f}]"
        for v in verdicts
    ])  # fmt: skip
    methods = {v.method for v in verdicts}
    how = f"{verdicts[0].confidence:.0%} paired interval"
    if len(methods) == 1:
        how += f", {methods.pop()}"
    ax.set(title=title, ylabel="comparison (A − B)", xlabel=f"{xlabel}, A − B\n({how})")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def plot_loss_curves(
    runs: Mapping[str, History | TrainingResult | Sequence[History | TrainingResult]],
    title: str = "Training loss of several runs",
    reference: tuple[str, float] | None = None,
) -> Figure:
    """Training loss per logged step for several named runs (or groups of seeds) on one axis.

    Each name gets one colour; a group of runs (e.g. the seeds of one learning rate) draws
    one line per run in that colour, so the spread between seeds stays visible.
    ``reference`` draws a labelled horizontal line, e.g. ``("chance: ln 3", math.log(3))``.

    Example:
        >>> plot_loss_curves({"lr 1e-3": result_a, "lr 1e-2": [seed1, seed2, seed3]})
    """
    if not runs:
        raise ValueError("Nothing to draw: pass {name: TrainingResult or a list of them}.")
    fig, ax = plt.subplots(figsize=(8.5, 3.6))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for k, (name, group) in enumerate(runs.items()):
        members = list(group) if isinstance(group, Sequence) else [group]
        for n, member in enumerate(members):
            steps = _history(member).steps_frame()
            if not len(steps):
                raise ValueError(f"Run {name!r} logged no training loss (History.steps is empty).")
            ax.plot(steps["step"], steps["loss"], color=colours[k % len(colours)], alpha=0.8,
                    label=name if n == 0 else None)  # fmt: skip
    if reference is not None:
        ax.axhline(reference[1], color="black", linestyle="--", linewidth=1, label=reference[0])
    ax.set_ylim(0, None)
    ax.set(title=title, xlabel="optimizer step", ylabel="training loss (cross-entropy)")
    ax.grid(alpha=0.3)
    legend_outside(ax)
    fig.tight_layout()
    return fig
