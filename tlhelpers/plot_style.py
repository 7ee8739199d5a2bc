"""The shared look of the course's figures: metric names and colours, legends beside the axes,
score axes from 0 and value labels that fit their bars."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

METRIC_COLOURS = {"accuracy": "tab:blue", "macro_f1": "tab:orange", "loss": "tab:red"}
METRIC_LABELS = {"accuracy": "accuracy", "macro_f1": "macro-F1", "f1": "F1", "loss": "loss"}


def metric_label(name: str) -> str:
    """The reader's name of a metric column: ``"macro_f1"`` -> ``"macro-F1"``.

    Example:
        >>> metric_label("macro_f1"), metric_label("val_accuracy")
        ('macro-F1', 'val accuracy')
    """
    return METRIC_LABELS.get(name, name.replace("_", " "))


def legend_outside(ax: plt.Axes) -> None:
    """A legend to the right of the axes, so it never covers data."""
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), borderaxespad=0, fontsize="small")


def finish(ax: plt.Axes, grid: str | None = None, **settings) -> Figure:
    """``ax.set(**settings)``, a grid on ``grid`` ("x", "y", "both"), a legend beside; laid out."""
    ax.set(**settings)
    if grid:
        ax.grid(axis=grid, alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        legend_outside(ax)
    ax.figure.tight_layout()
    return ax.figure


def score_limits(ax: plt.Axes, top_value: float, axis: str = "y", room: float = 0.0) -> None:
    """A score axis from 0: to 1 (ticks 0..1) when the scores are fractions, else a bit above."""
    top = 1.0 if top_value <= 1.0 else top_value * 1.05
    limits = (0.0, top + room * top)
    if axis == "x":
        ax.set_xlim(*limits)
        return
    ax.set_ylim(*limits)
    if top == 1.0:
        ax.set_yticks(np.linspace(0, 1, 6))


def label_fits(bar_width_in_data: float, slots: int, fig_width: float, longest: str) -> bool:
    """Whether a level value label fits across its bar (``slots``: data units on the x axis)."""
    # About 2.5 inches of the figure go to the y label and the legend at its right.
    bar_points = bar_width_in_data * (fig_width - 2.5) * 72 / max(slots, 1)
    text_points = 0.6 * 8.5 * max(len(line) for line in longest.split("\n"))  # "small" font
    return bar_points >= text_points + 4


def note_at(ax: plt.Axes, text: str, point: tuple[float, float], dy: float, **style) -> None:
    """``text`` at ``dy`` points above (negative: below) a data point."""
    ax.annotate(text, point, xytext=(0, dy), textcoords="offset points", **style)


def label_above(ax: plt.Axes, x: float, top: float, text: str, level: bool) -> None:
    """A value label just above a bar (and its error bar): level, or turned 90 degrees."""
    # A white patch behind the number, so a reference line never strikes it out.
    patch = {"boxstyle": "square,pad=0.1", "facecolor": "white", "edgecolor": "none", "alpha": 0.85}
    size, rotation = ("small", 0) if level else ("x-small", 90)
    style = {"ha": "center", "va": "bottom", "zorder": 5, "bbox": patch}
    note_at(ax, text, (x, top), 2, fontsize=size, rotation=rotation, **style)
