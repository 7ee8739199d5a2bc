"""Pictures of every step: training curves, confusion matrices, calibration, costs.

Each function draws one matplotlib figure, with a title and labelled axes, and returns it:
a notebook shows it as the cell's last value, a script saves it with ``fig.savefig(...)``.
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
SHARES = "share of each true class\n(recall on the diagonal)"  # a row-normalised confusion


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
    place = {"loc": "upper left", "bbox_to_anchor": (1.01, 1), "borderaxespad": 0}
    ax.legend(**{**place, "fontsize": "small", **settings})


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
    if axis == "x":
        ax.set_xlim(*limits)
        return
    ax.set_ylim(*limits)
    if top == 1.0:
        ax.set_yticks(np.linspace(0, 1, 6))


def _label_fits(bar_width_in_data: float, slots: int, fig_width: float, longest: str) -> bool:
    """Whether a value label fits across its bar when written level (in points, roughly).

    ``slots`` is how many data units the x axis spans; about 2.5 inches of the figure go to
    the y label and the legend at its right.
    """
    bar_points = bar_width_in_data * (fig_width - 2.5) * 72 / max(slots, 1)
    text_points = 0.6 * 8.5 * max(len(line) for line in longest.split("\n"))  # "small" font
    return bar_points >= text_points + 4


def _note(ax: plt.Axes, text: str, point: tuple[float, float], dy: float, **style) -> None:
    """``text`` at ``dy`` points above (negative: below) a data point."""
    ax.annotate(text, point, xytext=(0, dy), textcoords="offset points", **style)


def _label_above(ax: plt.Axes, x: float, top: float, text: str, level: bool) -> None:
    """A value label just above a bar (and its error bar): level, or turned 90 degrees."""
    # A white patch behind the number, so a reference line never strikes it out.
    patch = {"boxstyle": "square,pad=0.1", "facecolor": "white", "edgecolor": "none", "alpha": 0.85}
    size, rotation = ("small", 0) if level else ("x-small", 90)
    style = {"ha": "center", "va": "bottom", "zorder": 5, "bbox": patch}
    _note(ax, text, (x, top), 2, fontsize=size, rotation=rotation, **style)


def _history(history: History | TrainingResult) -> History:
    return history.history if isinstance(history, TrainingResult) else history


def plot_training(history: History | TrainingResult, title: str = "Training curves") -> Figure:
    """Loss per logged step (left) and validation loss/accuracy/macro-F1 per evaluation (right).

    With one or two evaluations every value is written beside its point.

    Example:
        >>> result = tl.train(model, tokenizer, data)
        >>> plot_training(result)
    """
    fig, axes = plt.subplots(1, 2, figsize=(13, 3.8))
    loss_ax, metric_ax = axes
    history = _history(history)
    steps, evals = history.steps_frame(), history.evals_frame()
    last_step = 0
    if len(steps):
        last_step = int(steps["step"].max())
        loss_ax.plot(steps["step"], steps["loss"], color="tab:gray", alpha=0.6, label="batch loss")
        # About a tenth of the logs, odd; none under 15 logs, where a mean over a third of
        # the run would draw a trend the points do not show.
        window = max(5, len(steps) // 10 | 1) if len(steps) >= 15 else 0
        if window:
            # Centred: a trailing mean of a falling loss lags behind, above every raw point.
            smooth = steps["loss"].rolling(window, center=True, min_periods=1).mean()
            label = f"smoothed (centred mean of {window} logs)"
            loss_ax.plot(steps["step"], smooth, color="black", label=label)
    if len(evals):
        last_step = max(last_step, int(evals["step"].max()))
        loss_ax.plot(evals["step"], evals["loss"], "o-", color="tab:red", label="validation loss")
        for metric in ("accuracy", "macro_f1"):
            colour, label = METRIC_COLOURS[metric], metric_label(metric)
            metric_ax.plot(evals["step"], evals[metric], "o-", color=colour, label=label)
        if len(evals) <= 2:  # every value: accuracy above its point, macro-F1 below
            notes = [
                (f"{value:.3f}", (step, value), dy, va, METRIC_COLOURS[metric])
                for metric, dy, va in (("accuracy", 6, "bottom"), ("macro_f1", -6, "top"))
                for step, value in zip(evals["step"], evals[metric], strict=True)
            ]
        else:
            best = evals["macro_f1"].idxmax()
            best_point = (evals["step"][best], evals["macro_f1"][best])
            notes = [(f"best {best_point[1]:.3f}", best_point, -12, "top", None)]
        for text, point, dy, va, colour in notes:
            _note(metric_ax, text, point, dy, ha="right", va=va, fontsize="small", color=colour)
    loss_ax.set(title="Training loss", xlabel="optimizer step", ylabel="cross-entropy loss")
    evaluations = f"{len(evals)} evaluation{'s' if len(evals) != 1 else ''}"
    metric_ax.set(title=f"Validation scores ({evaluations})", ylabel="validation score")
    metric_ax.set_xlabel("optimizer step")
    _score_limits(metric_ax, 1.0)
    for ax in axes:
        # From step 0 to the last step, so a lone evaluation sits where training ended.
        ax.set_xlim(0, max(1, last_step) * 1.04)
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            legend_outside(ax)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


class LivePlot:
    """A training callback that redraws the training curves as :func:`tlhelpers.train` runs.

    It redraws at each evaluation and every ``every`` logged steps, in place (a display
    handle, so a progress bar in the same cell stays visible), or inside an
    ``ipywidgets.Output`` passed as ``output``. ``.figure`` holds the last figure.

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
    """The confusion matrix (an :class:`EvaluationReport`'s, or a true x predicted DataFrame).

    ``normalize``: ``False`` for counts, ``True`` for row shares (each row sums to 1, so the
    diagonal is each class's recall), ``"both"`` for the two side by side.

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
        values = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1) if shares else counts
        image = ax.imshow(values, cmap="Blues", vmin=0, vmax=1 if shares else None)
        for (i, j), value in np.ndenumerate(values):
            dark = value > (0.5 if shares else values.max() / 2)
            text = f"{value:.2f}" if shares else f"{int(value)}"
            ax.text(j, i, text, ha="center", va="center", color="white" if dark else "black")
        ax.set_xticks(range(len(names)), names, rotation=30, ha="right")
        ax.set_yticks(range(len(names)), names)
        ax.set(xlabel="predicted class", ylabel="true class", title=SHARES if shares else "counts")
        fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    fig.suptitle(title or "Confusion matrix")
    fig.tight_layout()
    return fig


def plot_per_class(report: EvaluationReport, title: str = "Per-class scores") -> Figure:
    """Precision, recall and F1 of each class as grouped bars, with the support in the labels.

    The dashed line is the macro-F1 (the mean of the F1 bars).

    Example:
        >>> plot_per_class(report)
    """
    table = report.per_class
    x, width = np.arange(len(table)), 0.27
    fig_width = max(7, 1.4 * len(table) + 3.5)
    level = _label_fits(width, len(table), fig_width, "0.00")
    fig, ax = plt.subplots(figsize=(fig_width, 3.8))
    for k, metric in enumerate(("precision", "recall", "f1")):
        bars = ax.bar(x + (k - 1) * width, table[metric], width, label=metric_label(metric))
        for bar, value in zip(bars, table[metric], strict=True):
            _label_above(ax, bar.get_x() + width / 2, value, f"{value:.2f}", level=level)
    ax.set_xticks(x, [f"{name}\n(n={int(n)})" for name, n in table["support"].items()])
    macro = report.macro_f1
    ax.axhline(macro, color="black", linestyle="--", linewidth=1, label=f"macro-F1 {macro:.3f}")
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

    The legend says what share of texts is truncated. A few very long texts would squeeze
    the rest into a sliver, so the axis ends at the ``clip_percentile`` (or just past
    ``max_length``); the last bar holds the longer texts, and the title says so.

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
    top = clip if clipped else longest
    fig, ax = plt.subplots(figsize=(9, 3.5))
    bins = np.arange(0, top + 8, max(1, int(np.ceil(top / 60))))
    shown = np.minimum(lengths, clip) if clipped else lengths
    ax.hist(shown, bins=bins, color="tab:blue", alpha=0.8, label="texts")
    if max_length is not None:
        cut = f"max_length={max_length}:\n{(lengths > max_length).mean():.1%} of texts cut"
        ax.axvline(max_length, color="tab:red", linewidth=2, label=cut)
    if clipped:
        title = (
            f"{title}\nx axis cut at the {clip_percentile:g}th percentile ({clip} tokens); "
            f"the last bar\nalso holds the {(lengths > clip).sum():,} longer texts "
            f"(up to {longest:,} tokens)"
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

    The same :func:`tlhelpers.training.learning_rate_schedule` as :func:`tlhelpers.train`
    (Hugging Face: ``transformers.get_linear_schedule_with_warmup``).

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
    ax.set(xlabel="optimizer step", ylabel="learning rate", xlim=(0, total_steps))
    ax.set(title=title or f"Learning-rate schedule (peak {lr:g})", ylim=(0, lr * 1.05))
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
    x, bar = table["bin_low"], {"width": 1 / bins, "align": "edge"}
    ax.bar(x, table["accuracy"], **bar, edgecolor="black", alpha=0.8, label="accuracy in bin")
    mean_label = "mean confidence\nof the bin"
    ax.plot(table["confidence"], table["accuracy"], "o", color="tab:red", label=mean_label)
    ax.plot([0, 1], [0, 1], "--", color="gray", label="perfect calibration")
    ax.set(title="accuracy per confidence bin", ylabel="accuracy", ylim=(0, 1), xlim=(0, 1))
    fig.suptitle(f"{title} (ECE = {ece:.3f})")
    legend_outside(ax)
    count_ax.bar(x, table["count"], **bar, color="tab:gray")
    count_ax.set(ylabel="predictions", title="predictions per bin")
    count_ax.set_xlabel("predicted confidence (probability of the predicted class)")
    fig.tight_layout()
    return fig


def plot_model_costs(
    costs: pd.DataFrame,
    size: str = "parameters_millions",
    speed: str = "ms_per_batch",
    title: str = "Model size and CPU speed",
) -> Figure:
    """Side-by-side bars of each model's size and measured time (``costs``: one row per model).

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
    raise TypeError(
        f"results must be a DataFrame or {{method: {{metric: value}}}}, not "
        f"{type(results).__name__}."
    )


def plot_comparison(
    results: pd.DataFrame | Mapping[str, Mapping[str, float | Sequence[float]]],
    metrics: Sequence[str] = ("accuracy", "macro_f1"),
    title: str = "Methods compared",
    ylim: tuple[float, float] | None = None,
    errors: pd.DataFrame | Mapping[str, Mapping[str, float]] | None = None,
) -> Figure:
    """Grouped bars comparing methods (rows) on one or more metrics (columns), from 0.

    ``results`` is a DataFrame indexed by method, or ``{method: {metric: value}}``. A value
    may be a list of per-seed scores: the bar is their mean, the error bar one standard
    deviation, the dots the single seeds. ``errors`` gives standard deviations for cells
    that hold means. A ``ylim`` that does not start at 0 gets a break marker
    (:func:`tlhelpers.mark_axis_break`) and a note in the title.

    Example:
        >>> plot_comparison({"TF-IDF": tfidf.summary(), "MiniLM": report.summary()})
        >>> plot_comparison({"linear head": {"macro_f1": [0.61, 0.63, 0.62]}}, metrics=["macro_f1"])
    """
    frame = _results_frame(results)
    missing = [m for m in metrics if m not in frame.columns]
    if missing:
        raise ValueError(f"Metrics {missing} not in the results' columns {list(frame.columns)}.")
    given = pd.DataFrame() if errors is None else _results_frame(errors)

    def stats_of(name: str, metric: str) -> tuple[float, float, int]:
        mean, sd, count = mean_and_sd(frame.loc[name, metric])
        if metric in given.columns and name in given.index:
            sd = float(given.loc[name, metric])
        return mean, sd, count

    stats = {metric: [stats_of(name, metric) for name in frame.index] for metric in metrics}
    counts = [count for values in stats.values() for _, _, count in values]
    seeds = max(counts)
    has_errors = any(np.isfinite(sd) for values in stats.values() for _, sd, _ in values)
    x, width = np.arange(len(frame)), 0.8 / len(metrics)
    fig_width = max(6, 1.6 * len(frame) + 3.5)
    longest = "0.000\n± 0.000" if has_errors else "0.000"
    turn = not _label_fits(width, len(frame), fig_width, longest)  # narrow bars: turn labels
    fig, ax = plt.subplots(figsize=(fig_width, 4.2))
    highest = 0.0
    for k, metric in enumerate(metrics):
        offset = (k - (len(metrics) - 1) / 2) * width
        means, sds, _ = np.array(stats[metric]).T  # columns of the (mean, sd, count) rows
        colour = METRIC_COLOURS.get(metric)
        ax.bar(x + offset, means, width, label=metric_label(metric), color=colour)
        if has_errors:
            sd_bars = {"fmt": "none", "ecolor": "black", "capsize": 3, "linewidth": 1}
            ax.errorbar(x + offset, means, yerr=np.nan_to_num(sds), **sd_bars)
        for position, name, mean, sd in zip(x + offset, frame.index, means, sds, strict=True):
            cell = np.atleast_1d(np.asarray(frame.loc[name, metric], dtype=float))
            if len(cell) > 1:
                spread = (np.arange(len(cell)) - (len(cell) - 1) / 2) * width / (2 * len(cell))
                ax.plot(position + spread, cell, ".", color="black", markersize=4)
            top = max([mean + (sd if np.isfinite(sd) else 0)] + list(cell))
            highest = max(highest, top)
            gap = " " if turn else "\n"
            text = f"{mean:.3f}" + (f"{gap}± {sd:.3f}" if np.isfinite(sd) else "")
            if seeds > 1 and len(cell) == 1 and not np.isfinite(sd):
                text += f"{gap}(1 run)"
            _label_above(ax, position, top, text, level=not turn)
    names = ["\n".join(textwrap.wrap(str(n), 16)) or str(n) for n in frame.index]
    many = len(frame) > 5
    ax.set_xticks(x, names, rotation=20 if many else 0, ha="right" if many else "center")
    ylabel = "score"
    if seeds > 1:
        ylabel += f" (mean ± sd over {seeds} seeds)"
        if 1 in counts:  # the seeds label does not cover it
            ylabel += "\n(a bar without error bar: one run)"
    elif has_errors:
        ylabel += " (mean ± sd)"
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

    A series is one value per x, or one list of per-seed values per x (the line is then the
    mean, the error bars one standard deviation); ``errors`` gives standard deviations for
    a series of means. A score axis (``ylabel`` names accuracy, F1, score, precision or
    recall) starts at 0. With ``logx`` the ticks are the x values themselves.

    Example:
        >>> plot_curve([1e-5, 1e-4], {"macro-F1": [0.6, 0.7]}, "LR sweep", "lr", "score", logx=True)
        >>> plot_curve([100, 200], {"fine-tune": [[0.5, 0.52], [0.6, 0.61]]}, "Curve", "n", "F1")
    """
    fig, ax = plt.subplots(figsize=(8.5, 3.6))
    highest = 0.0
    for name, series in ys.items():
        # One (mean, sd, count) row per x value, read by column.
        means, sds, _ = np.array([mean_and_sd(value) for value in series]).reshape(-1, 3).T
        if errors is not None and name in errors:
            sds = np.asarray(errors[name], dtype=float)
        if len(means) != len(x):
            raise ValueError(f"Series {name!r} has {len(means)} values for {len(x)} x values.")
        if np.isfinite(sds).any():
            sds = np.nan_to_num(sds)
            ax.errorbar(x, means, yerr=sds, fmt="o-", capsize=3, label=metric_label(name))
            highest = max(highest, float(np.nanmax(means + sds)))
        else:
            ax.plot(x, means, "o-", label=metric_label(name))
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


def _noise_colour(low: float, high: float) -> str:
    """Green: beyond noise upwards; red: beyond noise downwards; grey: the interval holds 0."""
    return "tab:green" if low > 0 else "tab:red" if high < 0 else "tab:gray"


def _interval_bars(
    labels: list[str], intervals: list[tuple[float, float, float]], difference: bool, height: float
) -> tuple[Figure, plt.Axes]:
    """Horizontal bars of (estimate, low, high), the interval as an error bar, the first on top.

    A difference is coloured by :func:`_noise_colour` and drawn around a line at 0, on an
    axis symmetric about it; a score is drawn on a 0-1 axis.
    """
    estimates, lows, highs = np.array(intervals, dtype=float).T
    finite = np.isfinite(lows) & np.isfinite(highs)  # one seed: no interval to draw
    y = np.arange(len(labels))[::-1]
    fig, ax = plt.subplots(figsize=(7.5, 0.7 * len(labels) + height))
    colours = "tab:orange"
    if difference:
        colours = [_noise_colour(low, high) for low, high in zip(lows, highs, strict=True)]
    ax.barh(y, estimates, height=0.6, color=colours, alpha=0.75)
    errors = np.where(finite, [estimates - lows, highs - estimates], 0)
    ax.errorbar(estimates, y, xerr=errors, fmt="none", ecolor="black", capsize=4, linewidth=1)
    # Each number goes under its name, where it can collide with neither bars nor edges.
    ax.set_yticks(y, labels)
    if difference:
        ends = np.abs(np.concatenate([estimates, lows[finite], highs[finite]]))
        reach = max(ends.max(), 0.005)
        ax.axvline(0, color="black", linewidth=1)
        ax.set_xlim(-1.15 * reach, 1.15 * reach)
    else:
        _score_limits(ax, highs.max(), axis="x")
    return fig, ax


def plot_intervals(
    intervals: Mapping[str, ConfidenceInterval],
    title: str = "Test scores with 95% bootstrap intervals",
    xlabel: str | None = None,
) -> Figure:
    """One horizontal bar per model with its bootstrap confidence interval as an error bar.

    Scores get an axis from 0 to 1; differences (:func:`tlhelpers.bootstrap_difference`) an
    axis around a line at 0: an interval that crosses it is within noise. Each name's label
    carries the estimate and the interval, ``0.712 [0.698, 0.726]``.

    Example:
        >>> plot_intervals({"TF-IDF": tfidf_report.interval(), "MiniLM": report.interval()})
    """
    if not intervals:
        raise ValueError("Nothing to draw: pass {name: ConfidenceInterval}.")
    values = list(intervals.values())
    difference = any(v.low < 0 for v in values) or values[0].metric.endswith("difference")
    labels = [f"{name}\n{value}" for name, value in intervals.items()]
    bars = [(v.estimate, v.low, v.high) for v in values]
    fig, ax = _interval_bars(labels, bars, difference, height=1.4)
    metric = metric_label(values[0].metric.removesuffix(" difference"))
    what = f"{metric} difference" if difference else metric
    xlabel = xlabel or f"{what} ({values[0].confidence:.0%} bootstrap interval)"
    ax.set(title=title, ylabel="comparison" if difference else "model", xlabel=xlabel)
    fig.tight_layout()
    return fig


def plot_verdicts(
    verdicts: Sequence[Verdict],
    title: str = "Paired differences with their 95% intervals",
    xlabel: str = "score difference",
) -> Figure:
    """One bar per comparison: the paired difference A - B and its interval, around a line at 0.

    Draws what :func:`tlhelpers.compare` (over seeds) and :func:`tlhelpers.compare_predictions`
    (over test examples) return. Green: A higher, beyond noise; red: B higher, beyond noise;
    grey: the interval contains 0, within noise. Close scores (0.98 vs 0.99) vanish on a 0-1
    score axis; their difference does not.

    Example:
        >>> verdict = tl.compare_predictions(y_true, a, b, names=("MiniLM", "TF-IDF"))
        >>> plot_verdicts([verdict], xlabel="macro-F1 difference")
    """
    if not verdicts:
        raise ValueError(
            "Nothing to draw: pass a list of Verdicts (tl.compare, tl.compare_predictions)."
        )
    labels = [
        f"{' − '.join(v.names)}\n{v.difference:+.3f} [{v.low:+.3f}, {v.high:+.3f}]"
        for v in verdicts
    ]
    bars = [(v.difference, v.low, v.high) for v in verdicts]
    fig, ax = _interval_bars(labels, bars, difference=True, height=1.6)
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

    Each name gets one colour, and each run of a group (e.g. the seeds of one learning rate)
    its own line in it, so the spread between seeds stays visible. ``reference`` draws a
    labelled horizontal line, e.g. ``("chance: ln 3", math.log(3))``.

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
            ax.plot(
                steps["step"],
                steps["loss"],
                color=colours[k % len(colours)],
                alpha=0.8,
                label=name if n == 0 else None,
            )
    if reference is not None:
        ax.axhline(reference[1], color="black", linestyle="--", linewidth=1, label=reference[0])
    ax.set_ylim(0, None)
    ax.set(title=title, xlabel="optimizer step", ylabel="training loss (cross-entropy)")
    ax.grid(alpha=0.3)
    legend_outside(ax)
    fig.tight_layout()
    return fig
