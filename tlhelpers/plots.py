"""Figures of training and evaluating one model, each returned as one matplotlib figure; the
figures that compare methods (:mod:`tlhelpers.compare_plots`) are reachable here too."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import clear_output, display
from matplotlib.figure import Figure

# Re-exported: notebooks call tl.plots.plot_comparison, ...
from .compare_plots import plot_comparison, plot_curve, plot_intervals, plot_verdicts  # noqa: F401
from .evaluation import EvaluationReport, reliability
from .plot_style import (
    METRIC_COLOURS,
    finish,
    label_above,
    label_fits,
    legend_outside,
    metric_label,
    note_at,
    score_limits,
)
from .training import History, TrainingResult, learning_rate_schedule


def _history(history: History | TrainingResult) -> History:
    return history.history if isinstance(history, TrainingResult) else history


def plot_training(history: History | TrainingResult, title: str = "Training curves") -> Figure:
    """Loss per logged step (left) and validation loss/accuracy/macro-F1 per evaluation (right).

    Example:
        >>> plot_training(tl.train(model, tokenizer, data))
    """
    fig, (loss_ax, metric_ax) = plt.subplots(1, 2, figsize=(13, 3.8))
    history = _history(history)
    steps, evals = history.steps_frame(), history.evals_frame()
    if len(steps):
        loss_ax.plot(steps["step"], steps["loss"], color="tab:gray", alpha=0.6, label="batch loss")
        # Under 15 logs, a mean over a third of the run would draw a trend the points do not show.
        if len(steps) >= 15:
            window = max(5, len(steps) // 10 | 1)  # about a tenth of the logs, odd
            # Centred: a trailing mean of a falling loss lags behind, above every raw point.
            smooth = steps["loss"].rolling(window, center=True, min_periods=1).mean()
            label = f"smoothed (centred mean of {window} logs)"
            loss_ax.plot(steps["step"], smooth, color="black", label=label)
    if len(evals):
        loss_ax.plot(evals["step"], evals["loss"], "o-", color="tab:red", label="validation loss")
        for metric in ("accuracy", "macro_f1"):
            colour, label = METRIC_COLOURS[metric], metric_label(metric)
            metric_ax.plot(evals["step"], evals[metric], "o-", color=colour, label=label)
        style = {"ha": "right", "fontsize": "small"}
        if len(evals) <= 2:  # every value: accuracy above its point, macro-F1 below
            for metric, dy, va in (("accuracy", 6, "bottom"), ("macro_f1", -6, "top")):
                for point in zip(evals["step"], evals[metric], strict=True):
                    colour = METRIC_COLOURS[metric]
                    note_at(metric_ax, f"{point[1]:.3f}", point, dy, va=va, color=colour, **style)
        else:
            best = evals["macro_f1"].idxmax()
            point = (evals["step"][best], evals["macro_f1"][best])
            note_at(metric_ax, f"best {point[1]:.3f}", point, -12, va="top", **style)
    loss_ax.set(title="Training loss", ylabel="cross-entropy loss")
    evaluations = f"{len(evals)} evaluation{'s' if len(evals) != 1 else ''}"
    metric_ax.set(title=f"Validation scores ({evaluations})", ylabel="validation score")
    score_limits(metric_ax, 1.0)
    # From step 0 to the last step, so a lone evaluation sits where training ended.
    last_step = max([1, *steps.get("step", []), *evals.get("step", [])])
    for ax in fig.axes:
        ax.set(xlabel="optimizer step", xlim=(0, last_step * 1.04))
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            legend_outside(ax)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


class LivePlot:
    """A training callback that redraws :func:`plot_training` in place as training runs.

    It draws at each evaluation and every ``every`` logged steps, into ``output`` (an
    ``ipywidgets.Output``) if given; ``.figure`` holds the last figure.

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
        fig = self.figure = plot_training(history, title=self.title)
        plt.close(fig)  # keep pyplot from showing it a second time at the end of the cell
        if self.output is not None:
            with self.output:
                clear_output(wait=True)
                display(fig)
        elif self._handle is None:
            self._handle = display(fig, display_id=True)
        else:
            self._handle.update(fig)


def plot_loss_curves(
    runs: Mapping[str, History | TrainingResult | Sequence[History | TrainingResult]],
    title: str = "Training loss of several runs",
    reference: tuple[str, float] | None = None,
) -> Figure:
    """Training loss per step of named runs, or groups of seeds (one colour, a line each).

    ``reference`` draws a labelled line, e.g. ``("chance: ln 3", math.log(3))``.

    Example:
        >>> plot_loss_curves({"lr 1e-3": result_a, "lr 1e-2": [seed1, seed2, seed3]})
    """
    if not runs:
        raise ValueError("Nothing to draw: pass {name: TrainingResult or a list of them}.")
    fig, ax = plt.subplots(figsize=(8.5, 3.6))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for k, (name, group) in enumerate(runs.items()):
        members = list(group) if isinstance(group, Sequence) else [group]
        colour = colours[k % len(colours)]
        for n, member in enumerate(members):
            steps = _history(member).steps_frame()
            if not len(steps):
                raise ValueError(f"Run {name!r} logged no training loss (History.steps is empty).")
            label = None if n else name  # one legend entry per group
            ax.plot(steps["step"], steps["loss"], color=colour, alpha=0.8, label=label)
    if reference is not None:
        ax.axhline(reference[1], color="black", linestyle="--", linewidth=1, label=reference[0])
    labels = {"xlabel": "optimizer step", "ylabel": "training loss (cross-entropy)"}
    return finish(ax, grid="both", ylim=(0, None), title=title, **labels)


def plot_confusion(
    report: EvaluationReport | pd.DataFrame,
    normalize: bool | str = "both",
    title: str | None = None,
) -> Figure:
    """The confusion matrix of a report (or a true x predicted DataFrame).

    ``normalize``: ``False`` counts, ``True`` row shares (recall on the diagonal), ``"both"``.

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
        kind = "share of each true class\n(recall on the diagonal)" if shares else "counts"
        ax.set(xlabel="predicted class", ylabel="true class", title=kind)
        fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    fig.suptitle(title or "Confusion matrix")
    fig.tight_layout()
    return fig


def plot_per_class(report: EvaluationReport, title: str = "Per-class scores") -> Figure:
    """Precision, recall and F1 of each class as grouped bars; a dashed line at the macro-F1.

    Example:
        >>> plot_per_class(report)
    """
    table = report.per_class
    x, width = np.arange(len(table)), 0.27
    fig_width = max(7, 1.4 * len(table) + 3.5)
    level = label_fits(width, len(table), fig_width, "0.00")
    fig, ax = plt.subplots(figsize=(fig_width, 3.8))
    for k, metric in enumerate(("precision", "recall", "f1")):
        bars = ax.bar(x + (k - 1) * width, table[metric], width, label=metric_label(metric))
        for bar, value in zip(bars, table[metric], strict=True):
            label_above(ax, bar.get_x() + width / 2, value, f"{value:.2f}", level=level)
    ax.set_xticks(x, [f"{name}\n(n={int(n)})" for name, n in table["support"].items()])
    macro = report.macro_f1
    ax.axhline(macro, color="black", linestyle="--", linewidth=1, label=f"macro-F1 {macro:.3f}")
    score_limits(ax, 1.0, room=0.06 if level else 0.12)  # room for labels above 1.0
    return finish(ax, title=title, xlabel="class (test examples)", ylabel="score")


def plot_reliability(report: EvaluationReport, title: str = "Reliability diagram") -> Figure:
    """Accuracy per confidence bin against the diagonal (below it: over-confident), with ECE.

    Example:
        >>> plot_reliability(report)
    """
    table, ece = reliability(report.predictions["confidence"], report.predictions["correct"])
    fig, (ax, count_ax) = plt.subplots(
        2, 1, figsize=(7.5, 5.5), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    x, bar = table["bin_low"], {"width": table["bin_high"] - table["bin_low"], "align": "edge"}
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


def plot_token_lengths(
    lengths: Sequence[int], max_length: int, title: str = "Token lengths"
) -> Figure:
    """Histogram of token counts per text, with ``max_length`` and the share it cuts.

    A few very long texts would squeeze the rest into a sliver, so the axis ends at the
    99th percentile; the last bar holds the longer texts, and the title says so.

    Example:
        >>> plot_token_lengths(tl.token_lengths(data["train"]["text"], tokenizer), max_length=64)
    """
    lengths = np.asarray(lengths)
    if lengths.size == 0:
        raise ValueError("plot_token_lengths got no lengths; pass one token count per text.")
    longest = int(lengths.max())
    clip = max(int(np.ceil(np.percentile(lengths, 99))), int(max_length * 1.1))
    clipped = longest > clip * 1.2  # only clip when an outlier really stretches the axis
    top = clip if clipped else longest
    fig, ax = plt.subplots(figsize=(9, 3.5))
    bins = np.arange(0, top + 8, max(1, int(np.ceil(top / 60))))
    ax.hist(np.minimum(lengths, top), bins=bins, color="tab:blue", alpha=0.8, label="texts")
    cut = f"max_length={max_length}:\n{(lengths > max_length).mean():.1%} of texts cut"
    ax.axvline(max_length, color="tab:red", linewidth=2, label=cut)
    if clipped:
        title = (
            f"{title}\nx axis cut at the 99th percentile ({clip} tokens); "
            f"the last bar\nalso holds the {(lengths > clip).sum():,} longer texts "
            f"(up to {longest:,} tokens)"
        )
    xlabel = "tokens per text (with [CLS] and [SEP])"
    return finish(ax, title=title, xlabel=xlabel, ylabel="number of texts", xlim=(0, bins[-1]))


def plot_lr_schedule(total_steps: int, warmup_ratio: float = 0.1, lr: float = 5e-5) -> Figure:
    """The learning rate at each step of :func:`tlhelpers.train`: linear warmup, linear decay.

    Hugging Face: ``transformers.get_linear_schedule_with_warmup``.

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
    ax.ticklabel_format(axis="y", style="sci", scilimits=(0, 0))
    ax.set(xlabel="optimizer step", ylabel="learning rate", xlim=(0, total_steps))
    return finish(ax, title=f"Learning-rate schedule (peak {lr:g})", ylim=(0, lr * 1.05))


def plot_model_costs(costs: pd.DataFrame, title: str = "Model size and CPU speed") -> Figure:
    """Bars of each model's size and measured time (``costs``: one row per model).

    Example:
        >>> plot_model_costs(table)   # columns parameters_millions, ms_per_batch
    """
    fig, axes = plt.subplots(1, 2, figsize=(11, 0.6 * len(costs) + 1.8))
    panels = [
        ("parameters_millions", "tab:purple", "size", "parameters (millions)"),
        ("ms_per_batch", "tab:orange", "forward pass on the CPU", "ms per batch"),
    ]
    for ax, (column, colour, name, xlabel) in zip(axes, panels, strict=True):
        bars = ax.barh([str(n) for n in costs.index], costs[column], color=colour)
        ax.bar_label(bars, fmt="%.0f", padding=2, fontsize="small")
        ax.invert_yaxis()
        ax.set(title=name, xlabel=xlabel, ylabel="model", xlim=(0, costs[column].max() * 1.2))
    fig.suptitle(title)
    fig.tight_layout()
    return fig
