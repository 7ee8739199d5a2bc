"""The one noise rule: paired t over seeds, paired bootstrap over test examples."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import tlhelpers as tl
from tlhelpers.verdicts import Verdict, compare, compare_predictions, compare_table


def test_a_clear_gap_is_beyond_noise_and_names_the_winner():
    verdict = compare([0.70, 0.72, 0.69], [0.60, 0.64, 0.61], names=("tuned", "probe"))
    assert verdict.beyond_noise and verdict.winner == "tuned"
    assert verdict.difference == pytest.approx(0.0867, abs=1e-4)
    assert 0 < verdict.low < verdict.difference < verdict.high
    assert str(verdict) == (
        "tuned beats probe by +0.087 (95% interval +0.058 to +0.115, paired t over 3 seeds)"
    )
    flipped = compare([0.60, 0.64, 0.61], [0.70, 0.72, 0.69], names=("probe", "tuned"))
    assert flipped.winner == "tuned" and flipped.difference < 0
    assert str(flipped).startswith("tuned beats probe by +0.087 (95% interval +0.058 to +0.115")


def test_a_zero_mean_noisy_difference_is_within_noise():
    rng = np.random.default_rng(0)
    base = rng.uniform(0.5, 0.7, size=8)
    noise = rng.normal(0, 0.03, size=8)
    verdict = compare(base + noise - noise.mean(), base, names=("new", "old"))
    assert verdict.difference == pytest.approx(0, abs=1e-12)
    assert verdict.low < 0 < verdict.high
    assert not verdict.beyond_noise and verdict.winner is None
    assert str(verdict).startswith("new vs old: within noise (+0.000, 95% interval -0.0")


def test_the_interval_is_scipys_paired_t_interval_and_the_textbook_formula():
    rng = np.random.default_rng(1)
    for n in (3, 5, 12):
        a, b = rng.uniform(0.4, 0.8, n), rng.uniform(0.4, 0.8, n)
        verdict = compare(a, b)
        expected = stats.ttest_rel(a, b).confidence_interval(0.95)
        assert (verdict.low, verdict.high) == pytest.approx((expected.low, expected.high))
        diffs = a - b  # mean +- t * sd / sqrt(n), the formula this module replaced
        half = stats.t.ppf(0.975, n - 1) * diffs.std(ddof=1) / math.sqrt(n)
        assert (verdict.low, verdict.high) == pytest.approx((diffs.mean() - half,
                                                             diffs.mean() + half))  # fmt: skip
        assert verdict.method == f"paired t over {n} seeds"


def test_a_constant_difference_has_a_zero_width_interval_and_says_so():
    # Every seed gave the same difference (e.g. seeds that all trained on the same examples):
    # the t-interval has zero width, so the rule calls a nonzero difference beyond noise, and
    # the sentence reports that the seeds showed no spread.
    verdict = compare([0.7, 0.8, 0.9], [0.6, 0.7, 0.8])  # rounding makes these 0.1 +- 1e-16
    assert verdict.no_spread
    assert verdict.low == verdict.high == pytest.approx(0.1)
    assert verdict.beyond_noise and verdict.winner == "A"
    assert "no spread" in str(verdict)
    same = compare([0.5, 0.6], [0.5, 0.6])
    assert same.no_spread and same.difference == 0 and not same.beyond_noise
    assert same.winner is None


def test_one_seed_has_no_spread_to_measure():
    verdict = compare([0.7], [0.6])
    assert verdict.low == -math.inf and verdict.high == math.inf
    assert not verdict.beyond_noise and "no spread to measure" in str(verdict)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="equally long"):
        compare([0.7, 0.6, 0.5], [0.6, 0.5])
    with pytest.raises(ValueError, match="equally long"):
        compare([], [])
    with pytest.raises(ValueError, match="NaN"):
        compare([0.7, float("nan")], [0.6, 0.5])
    with pytest.raises(ValueError, match="names"):
        compare([0.7, 0.6], [0.6, 0.5], names=("A",))


def test_lower_is_better_names_the_lower_one():
    verdict = compare([0.30, 0.32, 0.29], [0.10, 0.14, 0.11], names=("wide", "narrow"),
                      higher_is_better=False)  # fmt: skip
    assert verdict.winner == "narrow" and verdict.difference > 0
    assert str(verdict).startswith("narrow beats wide: lower by 0.187 (95% interval +0.")


def test_compare_predictions_is_the_paired_bootstrap():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 300)
    good = np.where(rng.random(300) < 0.9, y, (y + 1) % 3)
    poor = np.where(rng.random(300) < 0.5, y, (y + 1) % 3)
    verdict = compare_predictions(y, good, poor, names=("good", "poor"))
    expected = tl.bootstrap_difference(y, good, poor, 3)
    assert (verdict.difference, verdict.low, verdict.high) == pytest.approx(
        (expected.estimate, expected.low, expected.high)
    )
    assert verdict.winner == "good"
    assert verdict.method == "paired bootstrap over 300 test examples"
    twin = compare_predictions(y, good, good.copy())
    assert twin.difference == 0 and not twin.beyond_noise
    with pytest.raises(ValueError, match="same test texts"):
        compare_predictions(y, good[:-1], poor)
    with pytest.raises(ValueError, match="argmax"):
        compare_predictions(y, np.eye(3)[good], poor)


def _runs(shift: float) -> pd.DataFrame:
    rows = []
    for method, base in (("a", 0.7), ("b", 0.5), ("c", 0.5 + shift)):
        for seed in range(3):
            score = base + 0.02 * seed + (0.03 if method == "c" and seed == 1 else 0)
            rows.append({"dataset": "toy", "n_per_class": 8, "method": method, "seed": seed,
                         "test_macro_f1": score})  # fmt: skip
    return pd.DataFrame(rows)


def test_compare_table_names_a_winner_only_beyond_noise():
    table = compare_table(_runs(shift=0.0))
    row = table.loc[("toy", 8)]
    assert row["best"] == "a" and row["verdict"] == "a" and row["tied"] == "a"
    assert row["gap"] == pytest.approx(0.19, abs=1e-9) and 0 < row["low"] < 0.19 < row["high"]
    assert row["runner_up"] == "c"
    close = compare_table(_runs(shift=0.18))  # a leads c by +0.02, -0.01, +0.02 on the seeds
    assert close.loc[("toy", 8), "verdict"] == "within noise"
    assert set(close.loc[("toy", 8), "tied"].split(", ")) == {"a", "c"}
    lower = compare_table(_runs(shift=0.0), higher_is_better=False)
    assert lower.loc[("toy", 8), "best"] == "b"
    with pytest.raises(ValueError, match="columns"):
        compare_table(_runs(0.0), among="layer")
    with pytest.raises(ValueError, match="two values"):
        compare_table(_runs(0.0).query("method == 'a'"))


def test_the_rule_is_public():
    assert tl.compare is compare and tl.compare_predictions is compare_predictions
    assert tl.Verdict is Verdict
