"""tlcourse: the course's own apparatus, built on tlhelpers.

``tlhelpers`` is what a practitioner keeps using after the course: data, models, training,
evaluation, saving and the command line. ``tlcourse`` is what the notebooks need to teach
with it: notebook 05's tuning panel (:mod:`tlcourse.widgets`) and notebook 07's lab, which
measures the promises of transfer learning (:mod:`tlcourse.experiments`, its analysis
:mod:`tlcourse.lab_analysis`, figures :mod:`tlcourse.lab_plots` and text noise
:mod:`tlcourse.noise`). ``tlcourse`` imports ``tlhelpers``, never the reverse, so the
library reads and installs without the course::

    import tlhelpers as tl
    import tlcourse

    panel = tlcourse.TuningPanel(defaults=tl.TrainConfig(n_per_class=16))  # notebook 05
    lab = tlcourse.TransferLab(tl.load_text_dataset("tweet-sentiment"), name="tweets")  # 07

Like ``import tlhelpers``, ``import tlcourse`` is fast and imports no torch: each name
below is imported from its module the first time it is used (:mod:`tlhelpers._lazy`).
"""

# The imports under TYPE_CHECKING are read, never run.
# ruff: noqa: F401

from __future__ import annotations

from typing import TYPE_CHECKING

from tlhelpers._lazy import lazy_attributes, public_names

# The one list of the public API, read at run time by public_names() (nothing is imported).
if TYPE_CHECKING:
    from .experiments import METHODS, TRANSFORMER_METHODS, TransferLab, macro_f1
    from .widgets import TuningPanel

_MODULE_OF = public_names(__file__)
__all__ = sorted(_MODULE_OF)
__getattr__, __dir__ = lazy_attributes(globals(), _MODULE_OF)
