"""Verdicts: the course's one rule for "is this difference real, or noise?".

A difference is **beyond noise** when its 95% *paired* interval excludes 0 (both options
measured on the same draws, so shared luck cancels); otherwise **within noise**.

Example:
    >>> print(tl.compare([0.70, 0.72, 0.69], [0.60, 0.64, 0.61], names=("tuned", "probe")))
    tuned beats probe by +0.087 (95% interval +0.058 to +0.115, paired t over 3 seeds)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from .evaluation import bootstrap_difference


@dataclass(frozen=True)
class Verdict:
    """The paired difference A - B of two options, its interval, and what the rule concludes."""

    names: tuple[str, str]
    difference: float
    low: float
    high: float
    confidence: float
    method: str
    higher_is_better: bool = True
    no_spread: bool = False  # every paired difference was identical: a zero-width interval

    @property
    def beyond_noise(self) -> bool:
        """True when the interval excludes 0 (the course's one rule)."""
        return self.low > 0 or self.high < 0

    @property
    def winner(self) -> str | None:
        """The better option's name, or None when the difference is within noise."""
        if not self.beyond_noise:
            return None
        a_higher = self.low > 0
        return self.names[0] if a_higher == self.higher_is_better else self.names[1]

    def __str__(self) -> str:
        a, b = self.names
        low, high = self.low, self.high
        if self.winner is None:
            head = f"{a} vs {b}: within noise ({self.difference:+.3f}, "
        else:  # told from the winner's side, with the interval of its advantage
            loser = b if self.winner == a else a
            if (self.winner == a) != self.higher_is_better:
                low, high = -high, -low
            size = abs(self.difference)
            by = f" by {size:+.3f}" if self.higher_is_better else f": lower by {size:.3f}"
            head = f"{self.winner} beats {loser}{by} ("
        note = "; every paired difference identical, so no spread" if self.no_spread else ""
        return (
            f"{head}{self.confidence:.0%} interval {low:+.3f} to {high:+.3f}, {self.method}{note})"
        )


def _check(names: Sequence[str]) -> tuple[str, str]:
    if len(names) != 2:
        raise ValueError(f"names must name the two options, e.g. ('A', 'B'); got {names!r}.")
    return str(names[0]), str(names[1])


def compare(
    a: Sequence[float],
    b: Sequence[float],
    *,
    names: Sequence[str] = ("A", "B"),
    higher_is_better: bool = True,
) -> Verdict:
    """Paired 95% t-interval of mean(a - b) over seeds, and the verdict of the one noise rule.

    ``a[i]`` and ``b[i]`` share a seed. scipy's ``ttest_rel(a, b).confidence_interval()``;
    infinite for one seed, zero-width when the seeds show no spread (``Verdict.no_spread``).

    Example:
        >>> print(tl.compare([0.70, 0.60, 0.75], [0.65, 0.66, 0.70]))
        A vs B: within noise (+0.013, 95% interval -0.144 to +0.171, paired t over 3 seeds)
    """
    names = _check(names)
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.ndim != 1 or b.ndim != 1 or len(a) != len(b) or len(a) == 0:
        raise ValueError(
            f"compare needs two equally long, non-empty lists of paired scores (one per seed, "
            f"in the same seed order); got shapes {a.shape} and {b.shape}."
        )
    if np.isnan(a).any() or np.isnan(b).any():
        raise ValueError("compare got a NaN score: drop the seeds a method did not finish.")
    diffs = a - b
    difference, n = float(diffs.mean()), len(diffs)
    method = f"paired t over {n} seed{'s' if n > 1 else ''}"
    # scipy would divide by a zero (or rounding-error) standard deviation and warn.
    no_spread = n > 1 and np.allclose(diffs, diffs[0], rtol=0, atol=1e-12)
    if n == 1:
        low, high, method = -math.inf, math.inf, method + ": no spread to measure"
    elif no_spread:
        low = high = difference
    else:
        interval = stats.ttest_rel(a, b).confidence_interval()  # 95%
        low, high = float(interval.low), float(interval.high)
    return Verdict(names, difference, low, high, 0.95, method, higher_is_better, no_spread)


def compare_predictions(
    y_true: Sequence[int],
    pred_a: Sequence[int],
    pred_b: Sequence[int],
    *,
    names: Sequence[str] = ("A", "B"),
    labels: Sequence[str] | int | None = None,
    metric: str = "macro_f1",
    n_resamples: int = 1000,
    seed: int = 0,
) -> Verdict:
    """Two models on one test set: a paired 95% bootstrap interval of score(A) - score(B).

    See :func:`tlhelpers.bootstrap_difference`; ``labels`` defaults to the largest label + 1.

    Example:
        >>> y = [0, 0, 1, 1, 2, 2, 2, 1]
        >>> verdict = tl.compare_predictions(y, [0, 1, 1, 1, 2, 0, 2, 1], [0, 0, 0, 0, 2, 2, 2, 0])
        >>> verdict.difference, verdict.low, verdict.high, verdict.winner
        (0.195, -0.237, 0.533, None)
    """
    names = _check(names)
    arrays = [np.asarray(x) for x in (y_true, pred_a, pred_b)]
    if any(x.ndim != 1 for x in arrays):
        raise ValueError(
            "compare_predictions takes predicted labels (one integer per text); for class "
            "probabilities pass probabilities.argmax(axis=1)."
        )
    if not len(arrays[0]) == len(arrays[1]) == len(arrays[2]):
        raise ValueError(
            f"y_true, pred_a and pred_b must cover the same test texts; got "
            f"{len(arrays[0])}, {len(arrays[1])} and {len(arrays[2])} labels."
        )
    if labels is None:
        labels = int(max(x.max() for x in arrays)) + 1
    resampling = {"metric": metric, "n_resamples": n_resamples, "seed": seed}
    interval = bootstrap_difference(*arrays, labels, **resampling)
    method = f"paired bootstrap over {len(arrays[0]):,} test examples"
    return Verdict(names, interval.estimate, interval.low, interval.high, 0.95, method)


def compare_table(
    table: pd.DataFrame,
    *,
    among: str = "method",
    within: Sequence[str] = ("dataset", "n_per_class"),
    metric: str = "test_macro_f1",
    higher_is_better: bool = True,
) -> pd.DataFrame:
    """Per group of ``within``: the best of ``among`` by mean ``metric``, against the rest.

    ``table`` has one row per option and seed. One row per group: best, runner_up, gap,
    its interval, tied (options the best does not beat beyond noise), verdict.

    Example:
        >>> compare_table(probe, among="layer", within=("dataset",))
    """
    needed = {among, metric, "seed", *within}
    if not needed <= set(table.columns):
        raise ValueError(
            f"compare_table needs columns {sorted(needed)}; the table has {list(table.columns)}."
        )
    sign = 1.0 if higher_is_better else -1.0
    rows = []
    for key, group in table.groupby(list(within), sort=False):
        scores = group.pivot_table(index="seed", columns=among, values=metric)
        if scores.shape[1] < 2:
            raise ValueError(f"compare_table needs at least two values of '{among}' per group.")
        order = (sign * scores.mean()).sort_values(ascending=False).index
        best, tied, first = order[0], [order[0]], None
        for other in order[1:]:
            pair = scores[[best, other]].dropna()
            rule = {"names": (str(best), str(other)), "higher_is_better": higher_is_better}
            verdict = compare(pair[best], pair[other], **rule)
            first = first or verdict
            if not verdict.beyond_noise:
                tied.append(other)
        row = dict(zip(within, key, strict=True))  # grouped by a list: key is a tuple
        row.update(best=best, runner_up=order[1], gap=first.difference, low=first.low)
        row.update(high=first.high, tied=", ".join(map(str, tied)))
        row.update(verdict=first.winner or "within noise")
        rows.append(row)
    return pd.DataFrame(rows).set_index(list(within))
