"""Test tooling: is a figure readable (titles, axis labels, honest score axes, nothing covered)?

:func:`figure_problems` draws a matplotlib figure and lists, in words, what a reader would
trip over; an empty list means the figure passes. The course's tests run it on every figure
function, and the notebook runner on every notebook figure. :func:`mark_axis_break` is the
one sanctioned way to let a score axis start above 0.

The rules, for every axes that shows data (colorbars and empty axes are skipped):

- **title**: the axes has a title, or the figure has a suptitle.
- **axis labels**: the x and y axes each carry a label, except a *categorical* axis (its
  ticks are named by strings, e.g. class or method names), whose tick labels already say what
  it shows. A numeric axis always needs a label with its unit or meaning; stacked panels
  that share an axis (``sharex=True``) may label it once.
- **score axes from 0**: an axis whose label names a score (accuracy, F1, score, precision,
  recall) is linear and starts at 0, so small gaps are drawn as small. A deliberate zoom is
  allowed only when :func:`mark_axis_break` has drawn a break marker on that axis.
- **legend outside the data**: the legend's box (display coordinates, after drawing) does not
  cover any plotted data: a line (every segment, sampled each 2 pixels, not only its
  vertices), a scatter or error-bar point, a bar, an image, or a shaded area
  (fill_between). A legend placed outside the axes (``loc="upper left",
  bbox_to_anchor=(1.01, 1)``) passes this rule.
- **readable ticks**: no two tick labels of one axis overlap (major and minor together).
- **texts in place**: annotations and bar labels stay inside their axes and do not overlap
  each other; no text (title, labels, ticks, legend) is cut off by the figure's edge.
- **not empty**: the axes shows at least 2 data points (a line vertex, bar, marker, image).

Example:
    >>> fig, ax = plt.subplots()
    >>> ax.plot([1, 2, 3], [0.6, 0.7, 0.8], label="macro-F1")
    >>> figure_problems(fig)
    ["axes 1 (untitled): no title (set ax.set_title or fig.suptitle)", ...]
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tlhelpers.axis_break import AXIS_BREAK_GID, has_axis_break, is_score_label

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

SAMPLE_PIXELS = 2.0  # spacing of the points sampled along a line when testing legend overlap


def _axes_name(ax: Axes, index: int, fig: Figure) -> str:
    title = ax.get_title() or ax.get_title("left") or ax.get_title("right")
    if title:
        return repr(title.replace("\n", " "))
    suptitle = fig._suptitle.get_text() if fig._suptitle is not None else ""
    return f"axes {index} of {suptitle!r}" if suptitle else f"axes {index} (untitled)"


def _is_categorical(axis) -> bool:
    from matplotlib.category import StrCategoryFormatter
    from matplotlib.ticker import FixedFormatter

    return isinstance(axis.get_major_formatter(), (FixedFormatter, StrCategoryFormatter))


def _label_shared(ax: Axes, letter: str) -> bool:
    """Whether an axes shares this axis with another that carries the label (stacked panels)."""
    group = ax.get_shared_x_axes() if letter == "x" else ax.get_shared_y_axes()
    label_of = (lambda a: a.get_xlabel()) if letter == "x" else (lambda a: a.get_ylabel())
    return any(label_of(other).strip() for other in group.get_siblings(ax) if other is not ax)


def _sample_segments(points: np.ndarray) -> np.ndarray:
    """Points along a polyline (display coordinates), every SAMPLE_PIXELS, vertices included."""
    points = points[np.isfinite(points).all(axis=1)]
    if len(points) < 2:
        return points
    samples = [points]
    for start, end in zip(points[:-1], points[1:], strict=True):
        steps = int(np.hypot(*(end - start)) // SAMPLE_PIXELS)
        if steps > 1:
            t = np.linspace(0, 1, steps)[:, None]
            samples.append(start + t * (end - start))
    return np.concatenate(samples)


def _data_geometry(ax: Axes, renderer) -> tuple[np.ndarray, list, int]:
    """Display-space points (lines, markers), boxes (bars, images) and areas of an axes' data.

    Also returns how many data elements the axes shows (for the "nearly empty" rule).
    """
    from matplotlib.collections import LineCollection, PathCollection, PolyCollection
    from matplotlib.container import BarContainer

    points, boxes, areas, elements = [], [], [], 0
    for line in ax.lines:
        if not line.get_visible() or str(line.get_gid() or "").startswith(AXIS_BREAK_GID):
            continue
        xy = np.asarray(line.get_xydata(), dtype=float)
        if xy.size == 0:
            continue
        display = line.get_transform().transform(xy)
        elements += int(np.isfinite(xy).all(axis=1).sum())
        points.append(_sample_segments(display) if line.get_linestyle() not in ("None", "")
                      else display[np.isfinite(display).all(axis=1)])  # fmt: skip
    for collection in ax.collections:
        if not collection.get_visible():
            continue
        if isinstance(collection, PathCollection):
            offsets = np.asarray(collection.get_offsets(), dtype=float)
            if offsets.size:
                points.append(collection.get_offset_transform().transform(offsets))
                elements += len(offsets)
        elif isinstance(collection, PolyCollection):
            # Shaded areas (fill_between bands of seeds): a legend on them hides the spread.
            transform = collection.get_transform()
            areas += [transform.transform_path(path) for path in collection.get_paths()]
        elif isinstance(collection, LineCollection):
            transform = collection.get_transform()
            for segment in collection.get_segments():
                if len(segment):
                    points.append(_sample_segments(transform.transform(np.asarray(segment))))
    for container in ax.containers:
        if isinstance(container, BarContainer):
            for patch in container.patches:
                if patch.get_visible():
                    boxes.append(patch.get_window_extent(renderer))
                    elements += 1
    for image in ax.images:
        boxes.append(image.get_window_extent(renderer))
        elements += 2  # an image (a matrix, a heatmap) is never "one point"
    inside = ax.bbox
    cloud = np.concatenate(points) if points else np.empty((0, 2))
    keep = (
        (cloud[:, 0] >= inside.x0 - 0.5)
        & (cloud[:, 0] <= inside.x1 + 0.5)
        & (cloud[:, 1] >= inside.y0 - 0.5)
        & (cloud[:, 1] <= inside.y1 + 0.5)
    )
    return cloud[keep], boxes + areas, elements


def _overlaps(a, b, margin: float = 0.0) -> bool:
    """Whether two display boxes share an area (touching edges do not count)."""
    return min(a.x1, b.x1) - max(a.x0, b.x0) > margin and min(a.y1, b.y1) - max(a.y0, b.y0) > margin


def _legend_covers(legend_box, points: np.ndarray, shapes: list) -> str | None:
    """What data the legend's box covers: sampled points, bar/image boxes, shaded areas."""
    from matplotlib.path import Path

    if len(points):
        covered = (
            (points[:, 0] > legend_box.x0)
            & (points[:, 0] < legend_box.x1)
            & (points[:, 1] > legend_box.y0)
            & (points[:, 1] < legend_box.y1)
        )
        if covered.any():
            return f"{int(covered.sum())} sampled point(s) of lines or markers"
    boxes = [shape for shape in shapes if not isinstance(shape, Path)]
    covered_boxes = sum(_overlaps(legend_box, box, margin=0.5) for box in boxes)
    if covered_boxes:
        return f"{covered_boxes} bar(s) or image(s)"
    grid = np.stack(
        np.meshgrid(np.linspace(legend_box.x0 + 1, legend_box.x1 - 1, 7),
                    np.linspace(legend_box.y0 + 1, legend_box.y1 - 1, 5)), axis=-1
    ).reshape(-1, 2)  # fmt: skip
    areas = [shape for shape in shapes if isinstance(shape, Path)]
    if any(area.contains_points(grid).any() for area in areas):
        return "a shaded area (e.g. a band of seeds)"
    return None


def _tick_labels(axis) -> list:
    """The tick labels that are drawn: visible, non-empty, at a tick inside the view."""
    low, high = sorted(axis.get_view_interval())
    span = max(high - low, 1e-300)
    labels = []
    for minor in (False, True):
        ticks = axis.get_minor_ticks() if minor else axis.get_major_ticks()
        locs = axis.get_minorticklocs() if minor else axis.get_majorticklocs()
        for tick, loc in zip(ticks, locs, strict=False):
            within = low - 1e-9 * span <= loc <= high + 1e-9 * span
            for label in (tick.label1, tick.label2):
                if within and label.get_visible() and label.get_text().strip():
                    labels.append(label)
    return labels


def _overlapping_pairs(texts: list, renderer) -> list[tuple[str, str]]:
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in texts]
    pairs = []
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            if _overlaps(boxes[i][1], boxes[j][1], margin=0.5):
                pairs.append((boxes[i][0], boxes[j][0]))
    return pairs


def _short(text: str) -> str:
    text = text.replace("\n", " ")
    return repr(text if len(text) <= 40 else text[:37] + "...")


def figure_problems(fig: Figure) -> list[str]:
    """Everything a reader would trip over in ``fig``, one readable message each.

    Draws the figure (``fig.canvas.draw()``) and applies the rules of this module's
    docstring to every axes that shows data. An empty list means the figure passes.

    Example:
        >>> fig = plots.plot_comparison({"TF-IDF": {"accuracy": 0.6}, "MiniLM": {"accuracy": 0.7}},
        ...                             metrics=("accuracy",))
        >>> figure_problems(fig)
        []
    """
    if not hasattr(fig.canvas, "get_renderer"):
        # A figure closed by pyplot keeps a bare canvas that cannot draw; give it Agg's.
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        FigureCanvasAgg(fig)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    suptitle = fig._suptitle.get_text() if fig._suptitle is not None else ""
    found: list[str] = []
    figure_box = fig.bbox
    all_points, all_boxes = [], []
    for index, ax in enumerate(fig.axes, 1):
        if ax.get_label() == "<colorbar>" or not ax.get_visible():
            continue
        points, boxes, elements = _data_geometry(ax, renderer)
        if elements == 0:
            continue
        all_points.append(points)
        all_boxes += boxes
        name = _axes_name(ax, index, fig)
        if not (ax.get_title() or ax.get_title("left") or ax.get_title("right") or suptitle):
            found.append(f"{name}: no title (set ax.set_title or fig.suptitle)")
        if elements < 2:
            found.append(f"{name}: nearly empty, it shows only {elements} data point")
        for letter, axis, label in (
            ("x", ax.xaxis, ax.get_xlabel()),
            ("y", ax.yaxis, ax.get_ylabel()),
        ):
            if not label.strip() and not _is_categorical(axis) and not _label_shared(ax, letter):
                found.append(f"{name}: the {letter} axis has no label (what and which unit?)")
            if is_score_label(label) and not has_axis_break(ax, letter):
                scale = ax.get_xscale() if letter == "x" else ax.get_yscale()
                low = min(ax.get_xlim() if letter == "x" else ax.get_ylim())
                if scale != "linear":
                    found.append(f"{name}: the score axis {label!r} is on a {scale} scale")
                elif low > 1e-9:
                    found.append(
                        f"{name}: the score axis {label!r} starts at {low:g}, not 0; start it "
                        "at 0 or mark the zoom with tlhelpers.mark_axis_break"
                    )
            overlapping = _overlapping_pairs(_tick_labels(axis), renderer)
            if overlapping:
                first = overlapping[0]
                found.append(
                    f"{name}: {len(overlapping)} overlapping {letter} tick label pair(s), "
                    f"e.g. {_short(first[0])} and {_short(first[1])}"
                )
        legend = ax.get_legend()
        if legend is not None and legend.get_visible():
            covered = _legend_covers(legend.get_window_extent(renderer), points, boxes)
            if covered:
                found.append(
                    f"{name}: the legend covers {covered}; move it outside the data "
                    '(loc="upper left", bbox_to_anchor=(1.01, 1))'
                )
        texts = [t for t in ax.texts if t.get_visible() and t.get_text().strip()]
        for text in texts:
            box = text.get_window_extent(renderer)
            if not (box.x0 >= ax.bbox.x0 - 1 and box.x1 <= ax.bbox.x1 + 1
                    and box.y0 >= ax.bbox.y0 - 1 and box.y1 <= ax.bbox.y1 + 1):  # fmt: skip
                found.append(f"{name}: the text {_short(text.get_text())} runs outside the axes")
        for first, second in _overlapping_pairs(texts, renderer)[:3]:
            found.append(f"{name}: the texts {_short(first)} and {_short(second)} overlap")
    for legend in fig.legends:
        points = np.concatenate(all_points) if all_points else np.empty((0, 2))
        covered = _legend_covers(legend.get_window_extent(renderer), points, all_boxes)
        if covered:
            found.append(f"the figure legend covers {covered}")
    found += _cut_off_texts(fig, renderer, figure_box)
    return found


def _cut_off_texts(fig: Figure, renderer, figure_box) -> list[str]:
    """Texts that reach past the figure's edge (cut off when saved or shown)."""
    from matplotlib.text import Text

    # Tick labels of ticks outside the view are not drawn (and keep stale positions).
    every_tick_label, drawn = set(), set()
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                every_tick_label |= {id(tick.label1), id(tick.label2)}
            drawn |= {id(label) for label in _tick_labels(axis)}
    found = []
    for text in fig.findobj(Text):
        if not text.get_visible() or not text.get_text().strip():
            continue
        if id(text) in every_tick_label and id(text) not in drawn:
            continue
        box = text.get_window_extent(renderer)
        if (box.x0 < figure_box.x0 - 1 or box.x1 > figure_box.x1 + 1
                or box.y0 < figure_box.y0 - 1 or box.y1 > figure_box.y1 + 1):  # fmt: skip
            found.append(f"the text {_short(text.get_text())} is cut off by the figure's edge")
    return found
