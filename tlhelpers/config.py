"""Course-wide settings: quick mode and reproducibility.

Quick mode (``TLHELPERS_QUICK=1``, set by the test suite) shrinks data and epochs so
every notebook runs in well under a minute on two CPU cores. Notebooks read it through
:func:`pick`, so the settings cell shows both sizes side by side.
"""

from __future__ import annotations

import os
import random
from typing import TypeVar

import numpy as np
import torch

T = TypeVar("T")

QUICK_ENV_VAR = "TLHELPERS_QUICK"


def is_quick() -> bool:
    """True when ``TLHELPERS_QUICK`` is set to a true value (``1``, ``true``, ``yes``).

    Example:
        >>> import os
        >>> os.environ["TLHELPERS_QUICK"] = "1"
        >>> is_quick()
        True
    """
    return os.environ.get(QUICK_ENV_VAR, "").strip().lower() in {"1", "true", "yes", "on"}


def pick(quick: T, full: T) -> T:
    """Return ``quick`` in quick mode and ``full`` otherwise.

    Example:
        >>> EPOCHS = pick(quick=1, full=3)
    """
    return quick if is_quick() else full


def describe_mode() -> str:
    """A one-line, human-readable statement of the current mode for a notebook's settings cell."""
    if is_quick():
        return (
            f"QUICK mode ({QUICK_ENV_VAR}=1): small data and few epochs, "
            "for tests and a first look."
        )
    return f"FULL mode: the real run. Set {QUICK_ENV_VAR}=1 for a fast smoke run."


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and PyTorch so that two runs with the same seed match on a CPU.

    Example:
        >>> set_seed(0)
    """
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
