"""Pictures of every step: training curves, confusion matrices, calibration, costs.

Each function draws one matplotlib figure and returns it, so a notebook shows it by
leaving it as the cell's last value (or calling ``plt.show()``), and a script can save
it with ``fig.savefig("name.png")``. Every figure has a title and labelled axes.
:class:`LivePlot` redraws the training curves while :func:`tlhelpers.train` runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import clear_output, display
from matplotlib.figure import Figure

from .evaluation import EvaluationReport, reliability
from .training import History, TrainingResult, learning_rate_schedule

METRIC_COLOURS = {"accuracy": "tab:blue", "macro_f1": "tab:orange", "loss": "tab:red"}


def _history(history: History | TrainingResult) -> History:
    return history.history if isinstance(history, TrainingResult) else history


def _draw_training(history: History, axes: Sequence[plt.Axes], title: str) -> None:
    loss_ax, metric_ax = axes
    steps, evals = history.steps_frame(), history.evals_frame()
    if len(steps):
        loss_ax.plot(steps["step"], steps["loss"], color="tab:gray", alpha=0.6, label="batch loss")
        if len(steps) >= 5:
            smooth = steps["loss"].rolling(5, min_periods=1).mean()
            loss_ax.plot(steps["step"], smooth, color="black", label="smoothed (5 logs)")
    if len(evals):
        loss_ax.plot(evals["step"], evals["loss"], "o-", color="tab:red", label="validation loss")
        for metric in ("accuracy", "macro_f1"):
            metric_ax.plot(
                evals["step"], evals[metric], "o-", color=METRIC_COLOURS[metric], label=metric
            )
        best = evals["macro_f1"].idxmax()
        metric_ax.annotate(
            f"{evals['macro_f1'][best]:.3f}",
            (evals["step"][best], evals["macro_f1"][best]),
            textcoords="offset points",
            xytext=(0, 8),
            ha="center",
        )
    loss_ax.set(title="Training loss", xlabel="optimizer step", ylabel="cross-entropy loss")
    metric_ax.set(title="Validation scores", xlabel="optimizer step", ylabel="score")
    metric_ax.set_ylim(0, 1.02)
    for ax in axes:
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="best", fontsize="small")
    axes[0].figure.suptitle(title)


def plot_training(history: History | TrainingResult, title: str = "Training curves") -> Figure:
    """Loss per logged step (left) and validation loss/accuracy/macro-F1 per evaluation (right).

    Example:
        >>> result = tl.train(model, tokenizer, data)
        >>> plot_training(result)
    """
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
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
            title="share of each true class (recall on diagonal)" if shares else "counts",
        )
        fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    fig.suptitle(title or "Confusion matrix")
    fig.tight_layout()
    return fig


def plot_per_class(report: EvaluationReport, title: str = "Per-class scores") -> Figure:
    """Precision, recall and F1 of each class as grouped bars, with the support in the labels.

    Example:
        >>> plot_per_class(report)
    """
    table = report.per_class
    x = np.arange(len(table))
    width = 0.27
    fig, ax = plt.subplots(figsize=(max(6, 1.4 * len(table) + 2), 3.8))
    for k, metric in enumerate(("precision", "recall", "f1")):
        bars = ax.bar(x + (k - 1) * width, table[metric], width, label=metric)
        ax.bar_label(bars, fmt="%.2f", fontsize="x-small", padding=1)
    labels = [
        f"{name}\n(n={int(n)})" for name, n in zip(table.index, table["support"], strict=True)
    ]
    ax.set_xticks(x, labels)
    ax.axhline(report.macro_f1, color="black", linestyle="--", linewidth=1)
    ax.text(
        len(table) - 0.5,
        report.macro_f1,
        f"macro-F1 {report.macro_f1:.3f}",
        va="bottom",
        ha="right",
    )
    ax.set(title=title, xlabel="class (test examples)", ylabel="score", ylim=(0, 1.1))
    ax.legend(loc="lower left", fontsize="small", ncols=3)
    fig.tight_layout()
    return fig


def plot_token_lengths(
    lengths: Sequence[int], max_length: int | None = None, title: str = "Token lengths"
) -> Figure:
    """Histogram of texts' token counts, with the chosen ``max_length`` as a vertical line.

    Everything right of the line is truncated; the legend says what share of texts that is.

    Example:
        >>> plot_token_lengths(tl.token_lengths(data["train"]["text"], tokenizer), max_length=64)
    """
    lengths = np.asarray(lengths)
    fig, ax = plt.subplots(figsize=(8, 3.5))
    bins = np.arange(0, lengths.max() + 8, max(1, int(np.ceil(lengths.max() / 60))))
    ax.hist(lengths, bins=bins, color="tab:blue", alpha=0.8)
    if max_length is not None:
        cut = float((lengths > max_length).mean())
        ax.axvline(
            max_length,
            color="tab:red",
            linewidth=2,
            label=f"max_length={max_length}: {cut:.1%} cut",
        )
        ax.legend()
    ax.set(title=title, xlabel="tokens per text (with [CLS] and [SEP])", ylabel="number of texts")
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
    fig, ax = plt.subplots(figsize=(7, 3.2))
    ax.plot(steps, [lr * factor(int(s)) for s in steps], color="tab:green")
    if warmup:
        ax.axvspan(0, warmup, color="tab:green", alpha=0.1, label=f"warmup ({warmup} steps)")
        ax.legend()
    ax.set(
        title=title or f"Learning-rate schedule (peak {lr:g})",
        xlabel="optimizer step",
        ylabel="learning rate",
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
        2, 1, figsize=(5.5, 5.5), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    width = 1 / bins
    ax.bar(table["bin_low"], table["accuracy"], width=width, align="edge", edgecolor="black",
           alpha=0.8, label="accuracy in bin")  # fmt: skip
    ax.plot(table["confidence"], table["accuracy"], "o", color="tab:red", label="mean confidence")
    ax.plot([0, 1], [0, 1], "--", color="gray", label="perfect calibration")
    ax.set(title=f"{title} (ECE = {ece:.3f})", ylabel="accuracy", ylim=(0, 1), xlim=(0, 1))
    ax.legend(loc="upper left", fontsize="small")
    count_ax.bar(table["bin_low"], table["count"], width=width, align="edge", color="tab:gray")
    count_ax.set(xlabel="predicted confidence (probability of the predicted class)",
                 ylabel="predictions")  # fmt: skip
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
    fig, (size_ax, speed_ax) = plt.subplots(1, 2, figsize=(10, 0.6 * len(costs) + 1.8))
    names = [str(n) for n in costs.index]
    for ax, column, colour in ((size_ax, size, "tab:purple"), (speed_ax, speed, "tab:orange")):
        bars = ax.barh(names, costs[column], color=colour)
        ax.bar_label(bars, fmt="%.0f", padding=2)
        ax.invert_yaxis()
        ax.set_xlim(0, costs[column].max() * 1.2)
    size_ax.set(title="size", xlabel="parameters (millions)", ylabel="model")
    speed_ax.set(title="forward pass on the CPU", xlabel=speed.replace("_", " "), ylabel="model")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_comparison(
    results: pd.DataFrame | Mapping[str, Mapping[str, float]],
    metrics: Sequence[str] = ("accuracy", "macro_f1"),
    title: str = "Methods compared",
    ylim: tuple[float, float] | None = None,
) -> Figure:
    """Grouped bars comparing methods (rows) on one or more metrics (columns).

    Args:
        results: a DataFrame indexed by method, or ``{method: {metric: value}}``.
        metrics: the columns to draw.
        ylim: the score axis range; default: from a little below the lowest bar to 1.

    Example:
        >>> plot_comparison({"TF-IDF": tfidf.summary(), "MiniLM": report.summary()})
    """
    frame = pd.DataFrame(results).T if isinstance(results, Mapping) else results
    missing = [m for m in metrics if m not in frame.columns]
    if missing:
        raise ValueError(f"Metrics {missing} not in the results' columns {list(frame.columns)}.")
    values = frame[list(metrics)].astype(float)
    x = np.arange(len(values))
    width = 0.8 / len(metrics)
    fig, ax = plt.subplots(figsize=(max(6, 1.5 * len(values) + 2), 3.8))
    for k, metric in enumerate(metrics):
        offset = (k - (len(metrics) - 1) / 2) * width
        bars = ax.bar(x + offset, values[metric], width, label=metric,
                      color=METRIC_COLOURS.get(metric))  # fmt: skip
        ax.bar_label(bars, fmt="%.3f", fontsize="x-small", padding=1)
    ax.set_xticks(x, [str(n) for n in values.index], rotation=15 if len(values) > 4 else 0)
    low = float(np.nanmin(values.to_numpy()))
    ax.set_ylim(*(ylim or (max(0.0, low - 0.1), 1.0)))
    ax.set(title=title, xlabel="method", ylabel="score")
    ax.legend(loc="lower right", fontsize="small")
    fig.tight_layout()
    return fig


def plot_curve(
    x: Sequence[float],
    ys: Mapping[str, Sequence[float]],
    title: str,
    xlabel: str,
    ylabel: str,
    logx: bool = False,
) -> Figure:
    """A simple line chart of one or more named series over a shared x axis.

    Example:
        >>> plot_curve([1e-5, 1e-4], {"macro_f1": [0.6, 0.7]}, "LR sweep", "lr", "score", logx=True)
    """
    fig, ax = plt.subplots(figsize=(7, 3.6))
    for name, y in ys.items():
        ax.plot(x, y, "o-", label=name)
    if logx:
        ax.set_xscale("log")
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    fig.tight_layout()
    return fig
