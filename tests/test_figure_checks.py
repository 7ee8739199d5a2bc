"""figure_problems catches each kind of unreadable figure and passes readable ones."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from figure_checks import figure_problems  # noqa: E402

import tlhelpers as tl  # noqa: E402
from tlhelpers.axis_break import is_score_label, mark_axis_break  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _good_line_figure():
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.plot([1, 2, 3, 4], [0.5, 0.6, 0.65, 0.7], "o-", label="macro-F1")
    ax.set(title="Validation macro-F1", xlabel="epoch", ylabel="validation macro-F1", ylim=(0, 1))
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.tight_layout()
    return fig, ax


def _one_message(fig, fragment: str) -> str:
    found = figure_problems(fig)
    assert any(fragment in message for message in found), found
    return " | ".join(found)


def test_a_readable_figure_passes():
    fig, _ = _good_line_figure()
    assert figure_problems(fig) == []


def test_the_break_marker_is_library_and_the_checks_are_test_tooling():
    assert tl.mark_axis_break is mark_axis_break
    assert "figure_problems" not in tl.__all__ and not hasattr(tl, "figure_problems")


def test_missing_title_and_labels():
    fig, ax = plt.subplots()
    ax.plot([1, 2, 3], [3, 1, 2])
    found = _one_message(fig, "no title")
    assert "x axis has no label" in found and "y axis has no label" in found
    assert "axes 1 (untitled)" in found  # names the axes it means


def test_a_suptitle_is_enough_and_a_categorical_axis_needs_no_label():
    fig, ax = plt.subplots()
    ax.bar(["linear head", "MLP head"], [3.0, 4.0])
    ax.set_ylabel("parameters (millions)")
    fig.suptitle("Head sizes")
    fig.tight_layout()
    assert figure_problems(fig) == []


def test_score_axis_must_start_at_zero():
    fig, ax = _good_line_figure()
    ax.set_ylim(0.45, 0.75)
    found = _one_message(fig, "starts at 0.45, not 0")
    assert "'Validation macro-F1'" in found


def test_a_marked_break_allows_a_zoomed_score_axis():
    fig, ax = _good_line_figure()
    ax.set_ylim(0.45, 0.75)
    mark_axis_break(ax)
    assert figure_problems(fig) == []


def test_a_non_score_axis_may_start_anywhere():
    fig, ax = _good_line_figure()
    ax.set_ylabel("cross-entropy loss")
    ax.set_ylim(0.45, 0.75)
    assert figure_problems(fig) == []


def test_score_axis_on_a_log_scale():
    fig, ax = _good_line_figure()
    ax.set_yscale("log")
    _one_message(fig, "log scale")


def test_legend_over_a_line():
    fig, ax = plt.subplots(figsize=(6, 4))
    # A line through the middle; a legend placed on its middle covers a segment, not a vertex.
    ax.plot([0, 10], [0, 1], label="accuracy")
    ax.set(title="A line", xlabel="epoch", ylabel="accuracy")
    ax.legend(loc="center")
    _one_message(fig, "legend covers")


def test_legend_over_bars():
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.bar(["a", "b", "c"], [0.9, 0.95, 0.92], label="accuracy")
    ax.set(title="Bars", xlabel="method", ylabel="accuracy")
    ax.legend(loc="lower right")
    _one_message(fig, "bar(s)")


def test_legend_over_a_shaded_band():
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot([0, 10], [0.9, 0.95], label="mean")
    ax.fill_between([0, 10], [0.0, 0.0], [0.8, 0.8], alpha=0.2, label="spread of seeds")
    ax.set(title="A band", xlabel="epoch", ylabel="accuracy", ylim=(0, 1))
    ax.legend(loc="center")  # over the band, away from the line
    _one_message(fig, "shaded area")


def test_legend_beside_the_data_passes():
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.bar(["a", "b", "c"], [0.2, 0.25, 0.22], label="accuracy")
    ax.set(title="Bars", xlabel="method", ylabel="accuracy", ylim=(0, 1))
    ax.legend(loc="upper right")  # inside the axes, but above the low bars
    assert figure_problems(fig) == []


def test_overlapping_tick_labels():
    fig, ax = plt.subplots(figsize=(3, 3))
    names = [f"a long method name {i}" for i in range(6)]
    ax.bar(names, range(1, 7))
    ax.set(title="Crowded", xlabel="method", ylabel="count")
    _one_message(fig, "overlapping x tick label")


def test_overlapping_texts_and_texts_outside_the_axes():
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.plot([0, 1], [0, 1])
    ax.set(title="Texts", xlabel="x value", ylabel="y value")
    ax.text(0.5, 0.5, "macro-F1 0.750")
    ax.text(0.52, 0.5, "0.77")
    ax.text(0.98, 0.2, "a label that runs past the right edge of the axes")
    found = _one_message(fig, "overlap")
    assert "runs outside the axes" in found


def test_text_cut_off_by_the_figure_edge():
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot([0, 1], [0, 1])
    ax.set(title="A title much too long for a figure this narrow, so it is cut off",
           xlabel="x value", ylabel="y value")  # fmt: skip
    _one_message(fig, "cut off by the figure's edge")


def test_nearly_empty_axes():
    fig, ax = plt.subplots()
    ax.plot([3], [0.6], "o")
    ax.set(title="One point", xlabel="step", ylabel="accuracy", ylim=(0, 1))
    _one_message(fig, "nearly empty")


def test_axes_without_data_and_colorbars_are_skipped():
    fig, (ax, empty) = plt.subplots(1, 2)
    image = ax.imshow([[1, 2], [3, 4]])
    ax.set(title="Matrix", xlabel="column", ylabel="row")
    fig.colorbar(image, ax=ax)
    empty.axis("off")
    assert figure_problems(fig) == []


def test_is_score_label():
    assert is_score_label("validation macro-F1") and is_score_label("score (mean ± sd)")
    assert not is_score_label("cross-entropy loss") and not is_score_label("")
    with pytest.raises(ValueError, match="axis must be"):
        mark_axis_break(plt.subplots()[1], axis="z")
