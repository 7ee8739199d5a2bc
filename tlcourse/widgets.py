"""A widget panel to tune a fine-tuning run by hand, and the plain logic behind it.

:class:`TuningPanel` (display it as a cell's last value, or call ``panel.show()``) is a
``VBox``; each part has a CSS class so a browser test can find it: the controls
(``.tl-controls``), the plain-Python code of the current settings (``.tl-code``: the
:class:`tlhelpers.TrainConfig` and the :func:`tlhelpers.fine_tune` call that runs it), the
**Train** button (``.tl-train``, description exactly ``"Train"``), a status line
(``.tl-status``, ends with "done" or an error), the live plot (``.tl-live-plot``) and the
table of every run so far (``.tl-runs``, newest last).

A Train click turns the control values into a config (:func:`config_from_controls`), runs
it with :func:`tlhelpers.fine_tune` (exactly the code the panel shows) and adds the run's
row to the :class:`RunLog`: plain Python, tested without a browser; the panel only wires
it to widgets. Where the page has no kernel (GitHub, a notebook saved without widget
state) the panel shows its plain-text form, one line that says what it is.

Example (notebook 05)::

    from tlcourse.widgets import TuningPanel
    TuningPanel(defaults=tl.TrainConfig(n_per_class=16))  # a cell's last value: the panel
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import ipywidgets as w
import pandas as pd
from IPython.display import display

from tlhelpers.config import TrainConfig, pick
from tlhelpers.data import BUILTIN_DATASETS
from tlhelpers.models import CATALOG
from tlhelpers.plots import LivePlot
from tlhelpers.recipe import Run, fine_tune

BATCH_SIZES = (8, 16, 32, 64)
MAX_LENGTHS = (32, 64, 128, 256, 512)
# The controls, by TrainConfig field; every other field keeps the panel's default.
CONTROL_FIELDS = (
    "dataset",
    "lr",
    "epochs",
    "batch_size",
    "max_length",
    "train_last_layers",
    "cache_frozen_layers",
    "n_per_class",
    "seed",
)


def default_config() -> TrainConfig:
    """The panel's starting values: small in quick mode (``TLHELPERS_QUICK=1``), real otherwise.

    Example:
        >>> default_config().n_per_class
        300
    """
    return TrainConfig(
        lr=1e-4,
        epochs=1,
        max_length=64,
        n_per_class=pick(quick=16, full=300),
        max_validation_examples=pick(quick=48, full=500),
        batch_size=pick(quick=16, full=32),
        max_steps=pick(quick=3, full=None),
    )


def config_from_controls(values: Mapping[str, Any], base: TrainConfig | None = None) -> TrainConfig:
    """Turn the panel's control values into a checked :class:`~tlhelpers.TrainConfig`.

    Values not given keep ``base``'s (default :func:`default_config`); unknown names and
    impossible values raise ``ValueError`` before any training starts, including caching
    frozen layers when none are frozen (see :func:`check_layer_cache`).

    Example:
        >>> config_from_controls({"lr": 3e-5, "epochs": 2}).lr
        3e-05
    """
    base = base or default_config()
    converted: dict[str, Any] = {}
    for name, value in values.items():
        if name in ("dataset", "model"):
            converted[name] = str(value)
        elif name == "lr":
            converted[name] = float(value)
        elif name == "cache_frozen_layers":
            converted[name] = bool(value)
        elif name == "n_per_class":
            converted[name] = int(value) or None  # the control's 0 is "all": it holds no None
        elif value is None or name not in CONTROL_FIELDS:
            converted[name] = value  # None ("all layers"), or a name replace() will refuse
        else:
            converted[name] = int(value)
    return check_layer_cache(base.replace(**converted))


def check_layer_cache(config: TrainConfig) -> TrainConfig:
    """Refuse ``cache_frozen_layers`` when the settings leave no lower layer frozen.

    Training would refuse it too, but only after loading the data and the model; the panel
    says it at once, in its code view and its status line.

    Example:
        >>> check_layer_cache(TrainConfig(train_last_layers=2, cache_frozen_layers=True)).lr
        5e-05
    """
    if not config.cache_frozen_layers:
        return config
    layers = CATALOG[config.model].layers if config.model in CATALOG else None
    if config.train_last_layers is None:
        trained = "every layer"
    elif layers is not None and config.train_last_layers >= layers:
        trained = f"all {layers} layers"
    else:
        return config
    raise ValueError(
        f"cache frozen layers needs frozen lower layers, but {trained} would learn: "
        "untick 'cache frozen layers' or train fewer layers (head only, top 1, ...)."
    )


def layer_choices(model: str) -> list[tuple[str, int | None]]:
    """The "layers to train" options for ``model``: head only, 1..N top layers, everything."""
    layers = CATALOG[model].layers if model in CATALOG else 12
    tops = [(f"top {n}", n) for n in range(1, layers + 1)]
    return [("head only", 0), *tops, ("all + embeddings", None)]


class RunLog:
    """The table of all runs so far, numbered from 1.

    Example:
        >>> log = RunLog()
        >>> log.add(run_row(run))
        >>> log.frame()
    """

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def add(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """Append a run's row and return it with its run number."""
        numbered = {"run": len(self.rows) + 1, **row}
        self.rows.append(numbered)
        return numbered

    def frame(self) -> pd.DataFrame:
        """The runs as a DataFrame indexed by run number."""
        if not self.rows:
            return pd.DataFrame(columns=["run"]).set_index("run")
        return pd.DataFrame(self.rows).set_index("run")

    def to_html(self) -> str:
        """The runs as an HTML table (what the panel shows)."""
        if not self.rows:
            return "<p><i>No runs yet: set the controls and press Train.</i></p>"
        return self.frame().to_html(float_format=lambda v: f"{v:.4g}")


def _with_class(widget: w.Widget, name: str) -> w.Widget:
    widget.add_class(name)
    return widget


class TuningPanel:
    """The tuning panel: controls, plain-Python code, Train button, live plot, runs table.

    Args:
        defaults: the starting values (default: :func:`default_config`, small in quick mode).
        runner: what a Train click runs: :func:`tlhelpers.fine_tune` unless a test swaps it.

    Example:
        >>> panel = TuningPanel()
        >>> panel            # shows the panel in a notebook
        >>> panel.train()    # the same as clicking Train
    """

    def __init__(self, defaults: TrainConfig | None = None, runner: Callable = fine_tune):
        self.defaults = defaults or default_config()
        self.runner = runner
        self.log = RunLog()
        self.runs: list[Run] = []
        d = self.defaults
        style = {"description_width": "140px"}
        layout = w.Layout(width="380px")
        datasets = list(dict.fromkeys([d.dataset, *BUILTIN_DATASETS]))
        self.controls: dict[str, w.Widget] = {
            "dataset": w.Dropdown(options=datasets, value=d.dataset, description="dataset"),
            "lr": w.FloatLogSlider(
                value=d.lr,
                base=10,
                min=-6,
                max=-2,
                step=0.1,
                readout_format=".1e",
                description="learning rate",
            ),
            "epochs": w.IntSlider(value=d.epochs, min=1, max=5, description="epochs"),
            "batch_size": w.Dropdown(
                options=_options(BATCH_SIZES, d.batch_size),
                value=d.batch_size,
                description="batch size",
            ),
            "max_length": w.Dropdown(
                options=_options(MAX_LENGTHS, d.max_length),
                value=d.max_length,
                description="max_length (tokens)",
            ),
            "train_last_layers": w.Dropdown(
                options=layer_choices(d.model),
                value=d.train_last_layers,
                description="layers to train",
            ),
            "cache_frozen_layers": w.Checkbox(
                value=d.cache_frozen_layers, description="cache frozen layers"
            ),
            "n_per_class": w.BoundedIntText(
                value=d.n_per_class or 0,  # 0: every training text (a number box has no None)
                min=0,
                max=20_000,
                step=50,
                description="train per class (0: all)",
            ),
            "seed": w.BoundedIntText(value=d.seed, min=0, max=2**31 - 1, description="seed"),
        }
        for control in self.controls.values():
            control.style, control.layout = style, layout
            control.observe(self._show_code, names="value")
        self.code = _with_class(w.HTML(), "tl-code")
        self.button = _with_class(
            w.Button(description="Train", button_style="primary", icon="play"), "tl-train"
        )
        self.status = _with_class(w.HTML("Ready."), "tl-status")
        self.plot = _with_class(w.Output(), "tl-live-plot")
        # An HTML widget, not an Output: setting its value sends no display message, so
        # building a panel prints nothing into a cell run without a frontend (nbval).
        self.table = _with_class(w.HTML(), "tl-runs")
        self.button.on_click(lambda _button: self.train())
        self._show_code()
        self._show_table()
        controls = _with_class(w.VBox(list(self.controls.values())), "tl-controls")
        self.widget = w.VBox(
            [
                w.HBox([controls, self.code]),
                w.HBox([self.button, self.status]),
                self.plot,
                w.HTML("<b>All runs so far</b>"),
                self.table,
            ]
        )

    def values(self) -> dict[str, Any]:
        """The controls' current values, by setting name."""
        return {name: control.value for name, control in self.controls.items()}

    def set(self, **values: Any) -> None:
        """Move controls from code, e.g. ``panel.set(lr=3e-5, epochs=2)``."""
        for name, value in values.items():
            if name not in self.controls:
                raise ValueError(f"No control named {name!r}; controls: {list(self.controls)}.")
            if name == "n_per_class" and value is None:
                value = 0  # the control's "all"
            self.controls[name].value = value

    def config(self) -> TrainConfig:
        """The TrainConfig the controls describe (raises ``ValueError`` if impossible)."""
        return config_from_controls(self.values(), base=self.defaults)

    def train(self) -> Run | None:
        """What the Train button does: build the config, run it with a live plot, log the row.

        Returns the :class:`Run`, or ``None`` if the settings were rejected or training failed
        (the status line then says why).
        """
        self.button.disabled = True
        self.status.value = "Training..."
        start = time.perf_counter()  # the whole click: loading, training and test scoring
        try:
            config = self.config()
            live = LivePlot(output=self.plot, every=1, title=f"Run {len(self.runs) + 1} (live)")
            run = self.runner(config, callbacks=[live], progress=False)
        except Exception as error:  # shown to the learner, not raised into the event loop
            self.status.value = f"<span style='color:#b00'>{type(error).__name__}: {error}</span>"
            return None
        finally:
            self.button.disabled = False
        self.runs.append(run)
        row = self.log.add({**run_row(run), "click_seconds": round(time.perf_counter() - start, 1)})
        self.status.value = (
            f"Run {row['run']} done: validation macro-F1 {row['val_macro_f1']:.3f}, "
            f"accuracy {row['val_accuracy']:.3f}; {row['click_seconds']:.0f} s in all "
            f"(training {row['seconds']:.0f} s, the rest loading data and model and scoring "
            "the test split)."
        )
        self._show_table()
        return run

    def show(self) -> None:
        """Display the panel (the same as leaving ``panel`` as a cell's last value)."""
        display(self)

    def __repr__(self) -> str:
        return (
            f"TuningPanel({len(self.controls)} controls, {len(self.runs)} runs so far): "
            "a live widget, shown only where a Python kernel runs; run the notebook in "
            "Jupyter to use it."
        )

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        # The widget view, and instead of ipywidgets' "VBox(children=(HBox(..." a sentence
        # for the pages that cannot show widgets (GitHub, a notebook saved without them).
        return {**self.widget._repr_mimebundle_(**kwargs), "text/plain": repr(self)}

    def _show_code(self, _change=None) -> None:
        try:
            code = self.config().to_code()
        except ValueError as error:
            code = f"# {error}"
        self.code.value = (
            "<b>Plain-Python equivalent</b><pre style='font-size:11px;line-height:1.3'>"
            + code.replace("&", "&amp;").replace("<", "&lt;")
            + "</pre>"
        )

    def _show_table(self) -> None:
        # A small font keeps all the columns in view; a narrow window scrolls the table.
        table = self.log.to_html().replace("<table", "<table style='font-size:11px'", 1)
        self.table.value = f"<div style='overflow-x:auto'>{table}</div>"


def run_row(run: Run) -> dict[str, Any]:
    """A run as one row of the panel's table: the controls' values and the scores."""
    best = run.result.best or {}
    return {
        **{name: getattr(run.config, name) for name in CONTROL_FIELDS},
        "train_examples": run.result.train_examples,
        "trainable_params": run.result.trainable_parameters,
        "val_accuracy": round(best.get("accuracy", float("nan")), 4),
        "val_macro_f1": round(best.get("macro_f1", float("nan")), 4),
        "best_epoch": best.get("epoch"),
        "seconds": round(run.result.seconds, 1),
    }


def _options(choices: Sequence[int], value: int) -> list[int]:
    return sorted(set(choices) | {value})
