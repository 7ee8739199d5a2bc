"""Pictures of the transfer-learning lab (notebook 07): learning curves, time, robustness.

The lab's tables come from :class:`tlhelpers.experiments.TransferLab`; each function here
draws one of them as a matplotlib figure and returns it, with one panel per dataset and
one colour per method. Where seeds exist, a point is the mean over seeds and its error bar
spans +- one standard deviation (the seed-to-seed spread). Score axes start at 0 and
legends sit outside the panels, so that no point hides behind them. The course figures of
notebooks 01-06 are in :mod:`tlhelpers.plots`.

Example:
    >>> from tlhelpers import lab_plots
    >>> lab_plots.plot_learning_curves(curves)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

METHOD_COLOURS = {
    "fine-tuned": "tab:blue",
    "frozen features": "tab:green",
    "random init": "tab:red",
    "tf-idf": "tab:gray",
}


def _per_dataset_axes(datasets: Sequence[str], width: float = 4.6, height: float = 3.6):
    """One panel per dataset, laid out so that a legend outside the panels is not cut off."""
    size = (width * len(datasets) + 2.2, height)
    fig, axes = plt.subplots(1, len(datasets), figsize=size, squeeze=False, layout="constrained")
    return fig, dict(zip(datasets, axes[0], strict=True))


def _legend_outside(fig: Figure, axes: Sequence[plt.Axes]) -> None:
    """One legend for the whole figure, to the right of the panels (never over data)."""
    handles, labels = {}, {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, handle)
            labels.setdefault(label, label)
    if handles:
        fig.legend(list(handles.values()), list(labels), loc="outside right upper",
                   fontsize="small")  # fmt: skip


def _mean_and_spread(frame: pd.DataFrame, x: str, y: str) -> pd.DataFrame:
    stats = frame.groupby(x)[y].agg(["mean", "std", "count"])
    stats["std"] = stats["std"].fillna(0.0)  # a single seed has no spread
    return stats


def _draw_method_curves(ax: plt.Axes, frame: pd.DataFrame, y: str) -> None:
    """One line per method: the mean over seeds, with +- one standard deviation error bars."""
    for method, colour in METHOD_COLOURS.items():
        runs = frame[frame["method"] == method]
        if runs.empty:
            continue
        stats = _mean_and_spread(runs, "n_per_class", y)
        seeds = int(stats["count"].min())
        label = f"{method} ({seeds} seed{'s' if seeds > 1 else ''})"
        ax.errorbar(stats.index, stats["mean"], yerr=stats["std"], fmt="o-", color=colour,
                    capsize=3, markersize=4, label=label)  # fmt: skip
    sizes = sorted(frame["n_per_class"].unique())
    ax.set_xscale("log", base=2)
    ax.set_xticks(sizes, [str(n) for n in sizes])
    ax.minorticks_off()
    ax.grid(alpha=0.3)


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
    fig, axes = _per_dataset_axes(list(dict.fromkeys(curves["dataset"])))
    for dataset, ax in axes.items():
        _draw_method_curves(ax, curves[curves["dataset"] == dataset], metric)
        ax.set(title=dataset, xlabel="labelled training examples per class (log scale)",
               ylabel=metric.replace("_", " ").replace("f1", "F1"), ylim=(0, 1))  # fmt: skip
    _legend_outside(fig, list(axes.values()))
    fig.suptitle(title)
    return fig


def _log_ticks(low: float, high: float, most: int = 6) -> list[float]:
    """Tick values for a log axis over [low, high]: 1-2-5 steps, thinned to at most ``most``.

    Under two 1-2-5 values fit in a narrow range, three geometrically spaced values
    (three significant digits) are used instead.

    Example:
        >>> _log_ticks(0.003, 40)
        [0.005, 0.02, 0.1, 0.5, 2.0, 10.0]
    """
    low, high = max(low, 1e-12), max(high, low * 1.0001)
    steps = [m * 10.0**e for e in range(int(np.floor(np.log10(low))) - 1,
                                        int(np.ceil(np.log10(high))) + 1)
             for m in (1, 2, 5)]  # fmt: skip
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
    datasets = list(dict.fromkeys(curves["dataset"]))
    fig, axes = _per_dataset_axes(datasets, height=4.2)
    means = curves.groupby(["dataset", "method", "n_per_class"])[
        ["train_seconds", "val_macro_f1"]
    ].mean()
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
            ax.scatter(points["train_seconds"], points["val_macro_f1"], color=colour,
                       s=[area[n] for n in points.index], label=method, alpha=0.85)  # fmt: skip
        if targets and dataset in targets:
            ax.axhline(targets[dataset], color="black", linestyle="--", linewidth=1,
                       label="target (per dataset)")  # fmt: skip
        ax.set_xscale("log")
        ax.set_xlim(low / margin, high * margin)
        # Few, spread-out tick labels: on a range under a decade matplotlib labels every
        # minor tick (3e-3, 4e-3, ...), and those labels run into each other.
        ax.xaxis.set_major_locator(FixedLocator(_log_ticks(low, high)))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
        ax.xaxis.set_minor_formatter(NullFormatter())
        sizes_key = ", ".join(map(str, sizes))
        ax.set(title=dataset, ylabel="validation macro-F1", ylim=(0, 1),
               xlabel=f"training wall time in seconds (log scale)\nmarker area: {sizes_key} "
                      "examples per class")  # fmt: skip
        ax.grid(alpha=0.3)
    _legend_outside(fig, list(axes.values()))
    fig.suptitle(title)
    return fig


def plot_generalisation_gap(
    curves: pd.DataFrame, title: str = "Train/test gap: how much each method overfits"
) -> Figure:
    """Training macro-F1 minus test macro-F1 against examples per class (0 = no overfitting).

    Example:
        >>> plot_generalisation_gap(curves)
    """
    fig, axes = _per_dataset_axes(list(dict.fromkeys(curves["dataset"])))
    for dataset, ax in axes.items():
        _draw_method_curves(ax, curves[curves["dataset"] == dataset], "gap")
        ax.axhline(0, color="black", linewidth=0.8)
        low = min(0.0, float(curves["gap"].min()) - 0.05)
        ax.set(title=dataset, xlabel="labelled training examples per class (log scale)",
               ylabel="train macro-F1 - test macro-F1", ylim=(low, 1))  # fmt: skip
    _legend_outside(fig, list(axes.values()))
    fig.suptitle(title)
    return fig


def plot_robustness(
    table: pd.DataFrame,
    title: str = "Robustness: drop in test macro-F1 under text noise (mean ± sd over seeds)",
    scale: float = 0.2,
) -> Figure:
    """Grouped bars: how much each method's test macro-F1 drops under each kind of noise.

    ``table`` is :meth:`tlhelpers.experiments.TransferLab.robustness` output (one or more
    datasets, one row per method, seed and noise). Bars are the mean drop over seeds, error
    bars +- one standard deviation; taller bars are worse, a bar below zero means the noise
    happened to help. The y axis spans at least ``-scale/4 .. scale``, so that drops of a
    few thousandths look as small as they are.

    Example:
        >>> plot_robustness(lab.robustness())
    """
    fig, axes = _per_dataset_axes(list(dict.fromkeys(table["dataset"])))
    noisy_rows = table[table["noise"] != "clean"]
    for dataset, ax in axes.items():
        frame = noisy_rows[noisy_rows["dataset"] == dataset]
        noises = list(dict.fromkeys(frame["noise"]))
        methods = [m for m in METHOD_COLOURS if m in set(frame["method"])]
        width = 0.8 / max(1, len(methods))
        for k, method in enumerate(methods):
            stats = _mean_and_spread(frame[frame["method"] == method], "noise", "drop")
            stats = stats.reindex(noises)
            offset = (k - (len(methods) - 1) / 2) * width
            ax.bar(np.arange(len(noises)) + offset, stats["mean"], width, yerr=stats["std"],
                   capsize=2, label=method, color=METHOD_COLOURS[method])  # fmt: skip
        ax.axhline(0, color="black", linewidth=0.8)
        ax.set_xticks(np.arange(len(noises)), noises)
        top = max(scale, float((frame.groupby(["method", "noise"])["drop"].mean()).max()) + 0.02)
        bottom = min(-scale / 4, float(frame["drop"].min()) - 0.02)
        ax.set(title=dataset, xlabel="noise applied to the test texts",
               ylabel="drop in test macro-F1 (clean - noisy)", ylim=(bottom, top))  # fmt: skip
        ax.grid(alpha=0.3, axis="y")
    _legend_outside(fig, list(axes.values()))
    fig.suptitle(title)
    return fig


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
        stats = _mean_and_spread(frame, "layer", "test_macro_f1")
        n = frame["n_per_class"].iloc[0]
        ax.errorbar(stats.index, stats["mean"], yerr=stats["std"], fmt="o-", capsize=3,
                    markersize=4, label=f"{dataset} ({n} per class)")  # fmt: skip
    ax.set_xticks(sorted(table["layer"].unique()))
    ax.set(title=title, xlabel="layer (0 = token embeddings)",
           ylabel="test macro-F1 of the probe", ylim=(0, 1))  # fmt: skip
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1))
    return fig


def plot_embedding_maps(
    maps: Mapping[str, object], title: str = "Test-set embeddings before and after fine-tuning"
) -> Figure:
    """One row per dataset: the 2-D map before (left) and after (right) fine-tuning.

    ``maps`` is ``{dataset: EmbeddingMap}`` from
    :func:`tlhelpers.lab_analysis.embedding_map`; points are coloured by label and
    each panel's title gives the silhouette score (class separation, -1..1). Each row has
    its own legend, to the right of its panels.

    Example:
        >>> plot_embedding_maps({"tweets": embedding_map(lab)})
    """
    fig, axes = plt.subplots(len(maps), 2, figsize=(11, 4.0 * len(maps)), squeeze=False,
                             layout="constrained")  # fmt: skip
    for row, (dataset, picture) in zip(axes, maps.items(), strict=True):
        points = picture.points
        for ax, stage in zip(row, ("before", "after"), strict=True):
            frame = points[points["stage"] == stage]
            for label, group in frame.groupby("label"):
                ax.scatter(group["x"], group["y"], s=6, alpha=0.5, label=label)
            name = picture.projection.upper().replace("TSNE", "t-SNE")
            ax.set(title=f"{dataset}, {stage} fine-tuning (silhouette "
                         f"{picture.silhouette[stage]:.3f})",
                   xlabel=f"{name} 1", ylabel=f"{name} 2")  # fmt: skip
        row[1].legend(fontsize="x-small", markerscale=2, loc="upper left",
                      bbox_to_anchor=(1.01, 1), title="label")  # fmt: skip
    fig.suptitle(title)
    return fig
