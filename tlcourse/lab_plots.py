"""Pictures of the transfer-learning lab (notebook 07): learning curves, time, robustness.

The lab's tables come from :class:`tlcourse.experiments.TransferLab`; each function here
draws one of them as a matplotlib figure and returns it, with one panel per dataset and
one colour per method. Where seeds exist, a point is the mean over seeds and its error bar
spans +- one standard deviation (the seed-to-seed spread). Score axes start at 0 and
legends sit outside the panels, so that no point hides behind them. The course figures of
notebooks 01-06 are in :mod:`tlhelpers.plots`.

Example:
    >>> from tlcourse import lab_plots
    >>> lab_plots.plot_learning_curves(curves)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

from .lab_analysis import mean_time_and_quality, spread_over_seeds

METHOD_COLOURS = {
    "fine-tuned": "tab:blue",
    "frozen features": "tab:green",
    "random init": "tab:red",
    "tf-idf": "tab:gray",
    "full fine-tuning": "tab:purple",  # these two run in the recorded deep run (tools/lab_deep.py)
    "LoRA": "tab:orange",
}
SIZES = "labelled training examples per class (log scale)"
MEAN_AND_SD = {"fmt": "o-", "capsize": 3, "markersize": 4}  # a point per mean, a bar +- one sd
OUTSIDE = {"loc": "upper left", "bbox_to_anchor": (1.01, 1)}  # a legend right of the axes


def _per_dataset_axes(table: pd.DataFrame, width: float = 4.6, height: float = 3.6):
    """One panel per dataset of ``table``, laid out so that a legend outside is not cut off."""
    datasets = list(dict.fromkeys(table["dataset"]))
    size = (width * len(datasets) + 2.2, height)
    fig, axes = plt.subplots(1, len(datasets), figsize=size, squeeze=False, layout="constrained")
    return fig, dict(zip(datasets, axes[0], strict=True))


def _finish(fig: Figure, axes: Iterable[plt.Axes], title: str) -> Figure:
    """One legend for the whole figure, right of the panels (never over data), and the title."""
    handles = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, handle)
    if handles:
        fig.legend(
            list(handles.values()), list(handles), loc="outside right upper", fontsize="small"
        )
    fig.suptitle(title)
    return fig


def _method_curves(
    curves: pd.DataFrame,
    column: str,
    ylabel: str,
    title: str,
    low: float = 0.0,
    zero_line: bool = False,
) -> Figure:
    """Per dataset, one line per method over the sizes: the mean over seeds +- one sd."""
    fig, axes = _per_dataset_axes(curves)
    for dataset, ax in axes.items():
        frame = curves[curves["dataset"] == dataset]
        for method, colour in METHOD_COLOURS.items():
            runs = frame[frame["method"] == method]
            if runs.empty:
                continue
            stats = spread_over_seeds(runs, "n_per_class", column)
            seeds = int(stats["count"].min())
            label = f"{method} ({seeds} seed{'s' if seeds > 1 else ''})"
            mean, sd = stats["mean"], stats["std"]
            ax.errorbar(stats.index, mean, yerr=sd, color=colour, label=label, **MEAN_AND_SD)
        sizes = sorted(frame["n_per_class"].unique())
        ax.set_xscale("log", base=2)
        ax.set_xticks(sizes, [str(n) for n in sizes])
        ax.minorticks_off()
        ax.grid(alpha=0.3)
        if zero_line:
            ax.axhline(0, color="black", linewidth=0.8)
        ax.set(title=dataset, xlabel=SIZES, ylabel=ylabel, ylim=(low, 1))
    return _finish(fig, axes.values(), title)


def plot_learning_curves(
    curves: pd.DataFrame,
    metric: str = "test_macro_f1",
    title: str = "Learning curves: score against labelled examples (mean ± sd over seeds)",
) -> Figure:
    """Score against labelled examples per class, one panel per dataset, one line per method.

    Points are the mean over seeds; error bars span +- one standard deviation.

    Example:
        >>> curves = lab.learning_curves(["tf-idf", "frozen features"], sizes=[8, 32], seeds=3)
        >>> plot_learning_curves(curves)
    """
    ylabel = metric.replace("_", " ").replace("f1", "F1")
    return _method_curves(curves, metric, ylabel, title)


def _log_ticks(low: float, high: float, most: int = 6) -> list[float]:
    """Tick values for a log axis over [low, high]: 1-2-5 steps, thinned to at most ``most``.

    Under two 1-2-5 values fit in a narrow range, three geometrically spaced values
    (three significant digits) are used instead.

    Example:
        >>> _log_ticks(0.003, 40)
        [0.005, 0.02, 0.1, 0.5, 2.0, 10.0]
    """
    low, high = max(low, 1e-12), max(high, low * 1.0001)
    steps = [
        m * 10.0**e
        for e in range(int(np.floor(np.log10(low))) - 1, int(np.ceil(np.log10(high))) + 1)
        for m in (1, 2, 5)
    ]
    ticks = [t for t in steps if low <= t <= high]
    if len(ticks) < 2:
        return sorted({float(f"{t:.3g}") for t in np.geomspace(low, high, 3)})
    stride = int(np.ceil(len(ticks) / most))
    return ticks[::stride]


def plot_time_to_quality(
    curves: pd.DataFrame,
    targets: Mapping[str, float] | None = None,
    title: str = "Training time against validation quality (this machine)",
) -> Figure:
    """Validation macro-F1 against training seconds, one marker per training-set size.

    Each marker is the mean over seeds at one size; its area grows with the size (the x
    label lists the sizes, smallest first). Markers are not joined: a larger training set can
    stop earlier and so cost less, and a line through the sizes would fold back on itself.
    A method further up and to the left reaches the same quality sooner. All panels share
    one time axis, so datasets compare at a glance. ``targets`` draws a dashed line at each
    dataset's target.

    Example:
        >>> plot_time_to_quality(curves, targets={"tweets": 0.6})
    """
    fig, axes = _per_dataset_axes(curves, height=4.2)
    means = mean_time_and_quality(curves)
    low, high = means["train_seconds"].min(), means["train_seconds"].max()
    margin = (high / low) ** 0.08 * 1.02  # a small margin, in proportion to the log range
    for dataset, ax in axes.items():
        sizes = sorted(curves.loc[curves["dataset"] == dataset, "n_per_class"].unique())
        # Marker area by the size's rank in this panel: the smallest set is the smallest dot.
        area = dict(zip(sizes, np.linspace(10, 70, len(sizes)), strict=True))
        for method, colour in METHOD_COLOURS.items():
            if (dataset, method) not in means.index.droplevel("n_per_class"):
                continue
            points = means.loc[(dataset, method)]
            marker_areas = [area[n] for n in points.index]
            xy = (points["train_seconds"], points["val_macro_f1"])
            ax.scatter(*xy, color=colour, s=marker_areas, label=method, alpha=0.85)
        if targets and dataset in targets:
            target, label = targets[dataset], "target (per dataset)"
            ax.axhline(target, color="black", linestyle="--", linewidth=1, label=label)
        ax.set_xscale("log")
        ax.set_xlim(low / margin, high * margin)
        # Few, spread-out tick labels: on a range under a decade matplotlib labels every
        # minor tick (3e-3, 4e-3, ...), and those labels run into each other.
        ax.xaxis.set_major_locator(FixedLocator(_log_ticks(low, high)))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
        ax.xaxis.set_minor_formatter(NullFormatter())
        marker_key = f"marker area: {', '.join(map(str, sizes))} examples per class"
        ax.set_xlabel(f"training wall time in seconds (log scale)\n{marker_key}")
        ax.set(title=dataset, ylabel="validation macro-F1", ylim=(0, 1))
        ax.grid(alpha=0.3)
    return _finish(fig, axes.values(), title)


def plot_generalisation_gap(
    curves: pd.DataFrame, title: str = "Train/test gap: how much each method overfits"
) -> Figure:
    """Training macro-F1 minus test macro-F1 against examples per class (0 = no overfitting).

    Example:
        >>> plot_generalisation_gap(curves)
    """
    low = min(0.0, float(curves["gap"].min()) - 0.05)
    ylabel = "train macro-F1 - test macro-F1"
    return _method_curves(curves, "gap", ylabel, title, low=low, zero_line=True)


def plot_robustness(
    table: pd.DataFrame,
    title: str = "Robustness: drop in test macro-F1 under text noise (mean ± sd over seeds)",
    scale: float = 0.2,
) -> Figure:
    """Grouped bars: how much each method's test macro-F1 drops under each kind of noise.

    ``table`` is :meth:`tlcourse.experiments.TransferLab.robustness` output (one or more
    datasets, one row per method, seed and noise). Bars are the mean drop over seeds, error
    bars +- one standard deviation; taller bars are worse, a bar below zero means the noise
    happened to help. The y axis spans at least ``-scale/4 .. scale``, so that drops of a
    few thousandths look as small as they are.

    Example:
        >>> plot_robustness(lab.robustness())
    """
    fig, axes = _per_dataset_axes(table)
    noisy_rows = table[table["noise"] != "clean"]
    for dataset, ax in axes.items():
        frame = noisy_rows[noisy_rows["dataset"] == dataset]
        noises = list(dict.fromkeys(frame["noise"]))
        methods = [m for m in METHOD_COLOURS if m in set(frame["method"])]
        width = 0.8 / max(1, len(methods))
        for k, method in enumerate(methods):
            stats = spread_over_seeds(frame[frame["method"] == method], "noise", "drop")
            stats = stats.reindex(noises)
            x = np.arange(len(noises)) + (k - (len(methods) - 1) / 2) * width
            bars = {"yerr": stats["std"], "capsize": 2, "color": METHOD_COLOURS[method]}
            ax.bar(x, stats["mean"], width, label=method, **bars)
        ax.axhline(0, color="black", linewidth=0.8)
        ax.set_xticks(np.arange(len(noises)), noises)
        top = max(scale, float((frame.groupby(["method", "noise"])["drop"].mean()).max()) + 0.02)
        bottom = min(-scale / 4, float(frame["drop"].min()) - 0.02)
        ax.set(title=dataset, xlabel="noise applied to the test texts", ylim=(bottom, top))
        ax.set_ylabel("drop in test macro-F1 (clean - noisy)")
        ax.grid(alpha=0.3, axis="y")
    return _finish(fig, axes.values(), title)


def plot_layer_probe(
    table: pd.DataFrame,
    title: str = "Which layers transfer: a linear probe on each layer (mean ± sd over seeds)",
) -> Figure:
    """Test macro-F1 of a logistic regression on each layer's frozen features.

    Layer 0 is the token embeddings (no context yet); the last layer is the encoder's output.
    One line per dataset: mean over seeds, error bars +- one standard deviation.

    Example:
        >>> plot_layer_probe(layer_probe(lab, n_per_class=64))
    """
    fig, ax = plt.subplots(figsize=(8, 3.8), layout="constrained")
    for dataset in dict.fromkeys(table["dataset"]):
        frame = table[table["dataset"] == dataset]
        stats = spread_over_seeds(frame, "layer", "test_macro_f1")
        label = f"{dataset} ({frame['n_per_class'].iloc[0]} per class)"
        ax.errorbar(stats.index, stats["mean"], yerr=stats["std"], label=label, **MEAN_AND_SD)
    ax.set_xticks(sorted(table["layer"].unique()))
    ax.set(title=title, xlabel="layer (0 = token embeddings)", ylim=(0, 1))
    ax.set_ylabel("test macro-F1 of the probe")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", **OUTSIDE)
    return fig


def plot_embedding_maps(
    maps: Mapping[str, object], title: str = "Test-set embeddings before and after fine-tuning"
) -> Figure:
    """One row per dataset: the 2-D map before (left) and after (right) fine-tuning.

    ``maps`` is ``{dataset: EmbeddingMap}`` from
    :func:`tlcourse.lab_analysis.embedding_map`; points are coloured by label and
    each panel's title gives the silhouette score (class separation, -1..1). Each row has
    its own legend, to the right of its panels.

    Example:
        >>> plot_embedding_maps({"tweets": embedding_map(lab)})
    """
    fig, axes = plt.subplots(
        len(maps), 2, figsize=(11, 4.0 * len(maps)), squeeze=False, layout="constrained"
    )
    for row, (dataset, picture) in zip(axes, maps.items(), strict=True):
        points, name = picture.points, picture.projection.upper().replace("TSNE", "t-SNE")
        for ax, stage in zip(row, ("before", "after"), strict=True):
            frame = points[points["stage"] == stage]
            for label, group in frame.groupby("label"):
                ax.scatter(group["x"], group["y"], s=6, alpha=0.5, label=label)
            silhouette = picture.silhouette[stage]
            ax.set_title(f"{dataset}, {stage} fine-tuning (silhouette {silhouette:.3f})")
            ax.set(xlabel=f"{name} 1", ylabel=f"{name} 2")
        row[1].legend(fontsize="x-small", markerscale=2, title="label", **OUTSIDE)
    fig.suptitle(title)
    return fig
