"""Figures that compare methods, models and seeds: bars and curves with error bars, bootstrap
intervals and paired verdicts (differences around 0, green or red only beyond noise)."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

from .axis_break import is_score_label
from .evaluation import ConfidenceInterval
from .plot_style import METRIC_COLOURS, finish, label_above, label_fits, metric_label, score_limits
from .verdicts import Verdict


def mean_and_sd(values: float | Sequence[float]) -> tuple[float, float, int]:
    """The mean, standard deviation (ddof=1) and count of per-seed values; a number is one seed.

    Example:
        >>> mean_and_sd([0.60, 0.62, 0.64])
        (0.62, 0.02, 3)
    """
    array = np.atleast_1d(np.asarray(values, dtype=float))
    array = array[np.isfinite(array)]
    mean = float(array.mean()) if len(array) else float("nan")
    sd = float(array.std(ddof=1)) if len(array) > 1 else float("nan")
    return mean, sd, len(array)


def plot_comparison(
    results: pd.DataFrame | Mapping[str, Mapping[str, float | Sequence[float]]],
    metrics: Sequence[str] = ("accuracy", "macro_f1"),
    title: str = "Methods compared",
) -> Figure:
    """Grouped bars comparing methods (rows) on metrics (columns), from 0.

    ``results``: a DataFrame indexed by method, or ``{method: {metric: value}}``, where a
    value may be a list of per-seed scores (bar: mean, error bar: sd, dots: the seeds).

    Example:
        >>> plot_comparison({"TF-IDF": tfidf.summary(), "head": {"macro_f1": [0.61, 0.63]}})
    """
    frame = results
    if isinstance(results, Mapping):
        frame = pd.DataFrame({name: pd.Series(dict(row)) for name, row in results.items()}).T
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(
            f"results must be a DataFrame or {{method: {{metric: value}}}}, not "
            f"{type(results).__name__}."
        )
    missing = [m for m in metrics if m not in frame.columns]
    if missing:
        raise ValueError(f"Metrics {missing} not in the results' columns {list(frame.columns)}.")
    # {metric: (means, sds, counts)}, one value per method
    stats = {m: np.array([mean_and_sd(value) for value in frame[m]]).T for m in metrics}
    counts = np.concatenate([column for _, _, column in stats.values()])
    seeds = int(counts.max())
    has_errors = seeds > 1  # an sd needs two seeds
    x, width = np.arange(len(frame)), 0.8 / len(metrics)
    fig_width = max(6, 1.6 * len(frame) + 3.5)
    longest = "0.000\n± 0.000" if has_errors else "0.000"
    turn = not label_fits(width, len(frame), fig_width, longest)  # narrow bars: turn labels
    fig, ax = plt.subplots(figsize=(fig_width, 4.2))
    highest = 0.0
    for k, metric in enumerate(metrics):
        offset = (k - (len(metrics) - 1) / 2) * width
        means, sds, _ = stats[metric]
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
            if seeds > 1 and len(cell) == 1:
                text += f"{gap}(1 run)"
            label_above(ax, position, top, text, level=not turn)
    names = ["\n".join(textwrap.wrap(str(n), 16)) or str(n) for n in frame.index]
    many = len(frame) > 5
    ax.set_xticks(x, names, rotation=20 if many else 0, ha="right" if many else "center")
    ylabel = "score"
    if seeds > 1:
        ylabel += f" (mean ± sd over {seeds} seeds)"
        if 1 in counts:  # the seeds label does not cover it
            ylabel += "\n(a bar without error bar: one run)"
    room = (0.3 if has_errors else 0.18) if turn else (0.16 if has_errors else 0.08)
    score_limits(ax, highest, room=room)
    return finish(ax, title=title, xlabel="method", ylabel=ylabel)


def plot_curve(
    x: Sequence[float],
    ys: Mapping[str, Sequence[float] | Sequence[Sequence[float]]],
    title: str,
    xlabel: str,
    ylabel: str,
    logx: bool = False,
) -> Figure:
    """A line chart of named series over a shared x axis, from 0 when ``ylabel`` is a score.

    A series holds one value per x, or a list of per-seed values per x (line: mean, error
    bars: sd).

    Example:
        >>> plot_curve([1, 2], {"F1": [[0.5, 0.52], [0.6, 0.61]]}, "Per epoch", "epoch", "F1")
    """
    fig, ax = plt.subplots(figsize=(8.5, 3.6))
    highest = 0.0
    for name, series in ys.items():
        # One (mean, sd, count) row per x value, then one array per column.
        means, sds, _ = np.array([mean_and_sd(value) for value in series]).reshape(-1, 3).T
        if len(means) != len(x):
            raise ValueError(f"Series {name!r} has {len(means)} values for {len(x)} x values.")
        label = metric_label(name)
        if np.isfinite(sds).any():
            ax.errorbar(x, means, yerr=np.nan_to_num(sds), fmt="o-", capsize=3, label=label)
        else:
            ax.plot(x, means, "o-", label=label)
        highest = max(highest, float(np.nanmax(means + np.nan_to_num(sds))))
    if logx:
        ax.set_xscale("log")
        if len(x) <= 8:
            # The sweep's own values as ticks; matplotlib's minor labels overlap within a decade.
            ax.set_xticks(list(x), [f"{value:g}" for value in x])
            ax.xaxis.set_minor_formatter(NullFormatter())
    if is_score_label(ylabel):
        score_limits(ax, highest)
    return finish(ax, grid="both", title=title, xlabel=xlabel, ylabel=ylabel)


def _interval_bars(
    labels: list[str], intervals: list[tuple[float, float, float]], difference: bool, height: float
) -> plt.Axes:
    """Horizontal bars of (estimate, low, high) with error bars: differences around 0."""
    estimates, lows, highs = np.array(intervals, dtype=float).T
    finite = np.isfinite(lows) & np.isfinite(highs)  # one seed: no interval to draw
    y = np.arange(len(labels))[::-1]
    _, ax = plt.subplots(figsize=(7.5, 0.7 * len(labels) + height))
    colours = "tab:orange"
    if difference:  # green: beyond noise upwards; red: downwards; grey: the interval holds 0
        colours = np.select([lows > 0, highs < 0], ["tab:green", "tab:red"], "tab:gray")
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
        score_limits(ax, highs.max(), axis="x")
    return ax


def plot_intervals(
    intervals: Mapping[str, ConfidenceInterval],
    title: str = "Test scores with 95% bootstrap intervals",
) -> Figure:
    """One bar per model with its bootstrap interval; differences are drawn around 0.

    Example:
        >>> plot_intervals({"TF-IDF": tfidf_report.interval(), "MiniLM": report.interval()})
    """
    if not intervals:
        raise ValueError("Nothing to draw: pass {name: ConfidenceInterval}.")
    values = list(intervals.values())
    difference = any(v.low < 0 for v in values) or values[0].metric.endswith("difference")
    labels = [f"{name}\n{value}" for name, value in intervals.items()]
    bars = [(v.estimate, v.low, v.high) for v in values]
    ax = _interval_bars(labels, bars, difference, height=1.4)
    metric = metric_label(values[0].metric.removesuffix(" difference"))
    what = f"{metric} difference" if difference else metric
    xlabel = f"{what} ({values[0].confidence:.0%} bootstrap interval)"
    return finish(ax, title=title, ylabel="comparison" if difference else "model", xlabel=xlabel)


def plot_verdicts(
    verdicts: Sequence[Verdict],
    title: str = "Paired differences with their 95% intervals",
    xlabel: str = "score difference",
) -> Figure:
    """The paired differences A - B of :func:`tlhelpers.compare` verdicts, around a line at 0.

    Green: A higher beyond noise; red: B higher; grey: within noise.

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
    ax = _interval_bars(labels, bars, difference=True, height=1.6)
    methods = {v.method for v in verdicts}
    how = f"{verdicts[0].confidence:.0%} paired interval"
    if len(methods) == 1:
        how += f", {methods.pop()}"
    xlabel = f"{xlabel}, A − B\n({how})"
    return finish(ax, grid="x", title=title, ylabel="comparison (A − B)", xlabel=xlabel)
