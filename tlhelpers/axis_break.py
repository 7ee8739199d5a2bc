"""The break marker of a zoomed score axis: score axes start at 0, and the figure checks
(``tests/figure_checks.py``) accept a zoomed one only where :func:`mark_axis_break` marked it."""

from __future__ import annotations

import re

from matplotlib.axes import Axes

# The gid of the marker drawn by mark_axis_break; the figure checks look for it.
AXIS_BREAK_GID = "tlhelpers-axis-break"
SCORE_WORDS = re.compile(r"accuracy|f1|score|precision|recall", re.IGNORECASE)


def is_score_label(label: str) -> bool:
    """Whether an axis label names a score (accuracy, F1, score, precision or recall)."""
    return bool(SCORE_WORDS.search(label or ""))


def mark_axis_break(ax: Axes, axis: str = "y") -> None:
    """Draw a break marker (two short slashes) where a zoomed score axis leaves out 0.

    Use it only when a zoom is the point of the figure, and say so in the title.

    Example:
        >>> ax.set_ylim(0.5, 1.0)
        >>> mark_axis_break(ax)   # "//" at the bottom of the y axis
    """
    if axis not in ("x", "y"):
        raise ValueError(f"axis must be 'x' or 'y', not {axis!r}.")
    size, gid = 0.015, f"{AXIS_BREAK_GID}-{axis}"
    style = {"color": "black", "linewidth": 1.2, "clip_on": False, "gid": gid}
    for shift in (-size, size):
        across, along = [-size, size], [0.03 + shift - size, 0.03 + shift + size]
        xs, ys = (across, along) if axis == "y" else (along, across)
        ax.plot(xs, ys, transform=ax.transAxes, **style)


def has_axis_break(ax: Axes, axis: str) -> bool:
    """Whether :func:`mark_axis_break` marked this axis (``"x"`` or ``"y"``) of ``ax``."""
    gid = f"{AXIS_BREAK_GID}-{axis}"
    return any(artist.get_gid() == gid for artist in ax.get_children())
