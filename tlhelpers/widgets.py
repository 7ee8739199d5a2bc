"""A widget panel to tune a fine-tuning run by hand, and the plain logic behind it.

:class:`TuningPanel` (display it as a cell's last value, or call ``panel.show()``) is a
``VBox`` with these parts, each tagged with a CSS class so a browser test can find it:

- the **controls** (``.tl-controls``): learning rate, epochs, batch size, max_length,
  encoder layers to unfreeze, training examples per class, dataset;
- the **plain-Python code** for the current settings (``.tl-code``, an ``HTML`` widget),
  rewritten whenever a control changes: the panel's plain-Python equivalent;
- the **Train** button (``.tl-train``, an ``ipywidgets.Button`` whose description is
  exactly ``"Train"``) and a status line (``.tl-status``) that ends with "done" or an error;
- the **live plot** (``.tl-live-plot``, an ``Output``): loss and validation scores, redrawn
  while the run trains;
- the **runs table** (``.tl-runs``, an ``Output`` holding an HTML table): every run so far,
  one row each, newest last.

Clicking Train calls :meth:`TuningPanel.train`, which does only this: turn the control
values into a :class:`RunConfig` (:func:`config_from_controls`), run it
(:func:`run_experiment`), and append the run's row to the :class:`RunLog`. Those three are
plain Python, tested without a browser; the panel only wires them to widgets.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

import ipywidgets as w
import pandas as pd
from IPython.display import display

from .config import pick
from .data import BUILTIN_DATASETS, label_names_of, load_text_dataset
from .models import CATALOG, encoder_layers, freeze, load_model, unfreeze
from .plots import LivePlot
from .training import TrainingResult, train

BATCH_SIZES = (8, 16, 32, 64)
MAX_LENGTHS = (32, 64, 128, 256, 512)


@dataclass(frozen=True)
class RunConfig:
    """Everything one tuning run needs; the panel's controls map onto the first seven fields.

    ``unfreeze_layers`` counts the top encoder layers that learn: 0 trains the head only
    (feature extraction); the model's layer count (6 for MiniLM) or more trains everything.

    Example:
        >>> RunConfig(lr=3e-5, epochs=2).validated()
    """

    dataset: str = "tweet-sentiment"
    lr: float = 1e-4
    epochs: int = 1
    batch_size: int = 32
    max_length: int = 64
    unfreeze_layers: int = 6
    train_per_class: int = 300
    validation_size: int = 500
    max_steps: int | None = None
    model: str = "minilm"
    seed: int = 42

    def validated(self) -> RunConfig:
        """Return ``self`` if every value makes sense, else raise a ``ValueError`` saying why."""
        if not 0 < self.lr < 1:
            raise ValueError(f"Learning rate must be between 0 and 1, got {self.lr}.")
        for name in ("epochs", "batch_size", "max_length", "train_per_class", "validation_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}.")
        if self.unfreeze_layers < 0:
            raise ValueError(f"unfreeze_layers must be 0 or more, got {self.unfreeze_layers}.")
        if self.max_steps is not None and self.max_steps < 1:
            raise ValueError(f"max_steps must be at least 1 or None, got {self.max_steps}.")
        if not self.dataset:
            raise ValueError("Choose a dataset.")
        return self

    def to_code(self) -> str:
        """The plain-Python lines that do the same run as the panel.

        Example:
            >>> print(RunConfig().to_code())
        """
        extra = f", max_steps={self.max_steps}" if self.max_steps else ""
        layers = CATALOG[self.model].layers if self.model in CATALOG else None
        if layers is not None and self.unfreeze_layers >= layers:
            which = f"tl.unfreeze(model)  # all {layers} layers learn"
        else:
            which = f"tl.freeze(model, train_last_layers={self.unfreeze_layers})"
        return "\n".join(
            [
                "import tlhelpers as tl",
                f"data = tl.load_text_dataset({self.dataset!r}, "
                f"n_per_class={self.train_per_class}, seed={self.seed})",
                f'validation = data["validation"].shuffle(seed={self.seed})',
                f'data["validation"] = validation.select(range(min({self.validation_size}, '
                "len(validation))))",
                f"model, tokenizer = tl.load_model({self.model!r}, labels=tl.label_names_of(data))",
                which,
                "result = tl.train(",
                f"    model, tokenizer, data, epochs={self.epochs}, lr={self.lr:.1e}, "
                f"batch_size={self.batch_size},",
                f"    max_length={self.max_length}, seed={self.seed}{extra},",
                ")",
                'print(result.summary()["val_macro_f1"])',
            ]
        )


def default_config() -> RunConfig:
    """The panel's starting values: small in quick mode (``TLHELPERS_QUICK=1``), real otherwise.

    Example:
        >>> default_config().train_per_class
        300
    """
    return RunConfig(
        train_per_class=pick(quick=16, full=300),
        validation_size=pick(quick=48, full=500),
        batch_size=pick(quick=16, full=32),
        max_steps=pick(quick=3, full=None),
    )


CONTROL_FIELDS = ("dataset", "lr", "epochs", "batch_size", "max_length", "unfreeze_layers",
                  "train_per_class")  # fmt: skip


def config_from_controls(values: Mapping[str, Any], base: RunConfig | None = None) -> RunConfig:
    """Turn the panel's control values into a checked :class:`RunConfig`.

    Values not given keep ``base``'s (default :func:`default_config`); unknown names and
    impossible values raise ``ValueError`` before any training starts.

    Example:
        >>> config_from_controls({"lr": 3e-5, "epochs": 2}).lr
        3e-05
    """
    base = base or default_config()
    known = {f.name: f.type for f in fields(RunConfig)}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ValueError(f"Unknown settings {unknown}; the panel knows {sorted(known)}.")
    converted: dict[str, Any] = {}
    for name, value in values.items():
        if name in ("dataset", "model"):
            converted[name] = str(value)
        elif name == "lr":
            converted[name] = float(value)
        elif name == "max_steps":
            converted[name] = None if value in (None, 0) else int(value)
        else:
            converted[name] = int(value)
    return replace(base, **converted).validated()


@dataclass
class Run:
    """One finished tuning run: its settings, training result, and the trained model."""

    config: RunConfig
    result: TrainingResult
    model: Any
    tokenizer: Any

    def row(self) -> dict[str, Any]:
        """The run as one row of the runs table."""
        best = self.result.best or {}
        return {
            **{name: getattr(self.config, name) for name in CONTROL_FIELDS},
            "train_examples": self.result.settings["train_examples"],
            "trainable_params": self.result.settings["trainable_parameters"],
            "val_accuracy": round(best.get("accuracy", float("nan")), 4),
            "val_macro_f1": round(best.get("macro_f1", float("nan")), 4),
            "best_epoch": best.get("epoch"),
            "seconds": round(self.result.seconds, 1),
        }


def run_experiment(
    config: RunConfig,
    callbacks: Sequence[Callable] = (),
    *,
    load_data: Callable = load_text_dataset,
    load_model_fn: Callable = load_model,
    progress: bool = False,
) -> Run:
    """Do one run exactly as :meth:`RunConfig.to_code` writes it out.

    ``load_data`` and ``load_model_fn`` are there so tests can pass a toy dataset and a
    tiny model; notebooks leave them alone.

    Example:
        >>> run = run_experiment(RunConfig(lr=3e-5))
        >>> run.row()["val_macro_f1"]
    """
    config = config.validated()
    data = load_data(config.dataset, n_per_class=config.train_per_class, seed=config.seed)
    validation = data["validation"].shuffle(seed=config.seed)
    data["validation"] = validation.select(range(min(config.validation_size, len(validation))))
    model, tokenizer = load_model_fn(config.model, labels=label_names_of(data))
    if config.unfreeze_layers >= len(encoder_layers(model)):
        unfreeze(model)
    else:
        freeze(model, train_last_layers=config.unfreeze_layers)
    result = train(
        model,
        tokenizer,
        data,
        epochs=config.epochs,
        lr=config.lr,
        batch_size=config.batch_size,
        max_length=config.max_length,
        max_steps=config.max_steps,
        seed=config.seed,
        callbacks=callbacks,
        progress=progress,
    )
    return Run(config=config, result=result, model=model, tokenizer=tokenizer)


class RunLog:
    """The table of all runs so far, numbered from 1.

    Example:
        >>> log = RunLog()
        >>> log.add(run.row())
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
        runner: what a Train click runs; :func:`run_experiment` unless a test swaps it.

    Example:
        >>> panel = TuningPanel()
        >>> panel            # shows the panel in a notebook
        >>> panel.train()    # the same as clicking Train
    """

    def __init__(self, defaults: RunConfig | None = None, runner: Callable = run_experiment):
        self.defaults = (defaults or default_config()).validated()
        self.runner = runner
        self.log = RunLog()
        self.runs: list[Run] = []
        d = self.defaults
        style = {"description_width": "140px"}
        layout = w.Layout(width="380px")
        datasets = list(dict.fromkeys([d.dataset, *BUILTIN_DATASETS]))
        self.controls: dict[str, w.Widget] = {
            "dataset": w.Dropdown(options=datasets, value=d.dataset, description="dataset"),
            "lr": w.FloatLogSlider(value=d.lr, base=10, min=-6, max=-2, step=0.1,
                                   readout_format=".1e", description="learning rate"),
            "epochs": w.IntSlider(value=d.epochs, min=1, max=5, description="epochs"),
            "batch_size": w.Dropdown(options=_options(BATCH_SIZES, d.batch_size),
                                     value=d.batch_size, description="batch size"),
            "max_length": w.Dropdown(options=_options(MAX_LENGTHS, d.max_length),
                                     value=d.max_length, description="max_length (tokens)"),
            "unfreeze_layers": w.IntSlider(value=d.unfreeze_layers, min=0, max=12,
                                           description="layers to unfreeze"),
            "train_per_class": w.BoundedIntText(value=d.train_per_class, min=1, max=20_000,
                                                step=50, description="train per class"),
        }  # fmt: skip
        for control in self.controls.values():
            control.style, control.layout = style, layout
            control.observe(self._show_code, names="value")
        self.code = _with_class(w.HTML(), "tl-code")
        self.button = _with_class(
            w.Button(description="Train", button_style="primary", icon="play"), "tl-train"
        )
        self.status = _with_class(w.HTML("Ready."), "tl-status")
        self.plot = _with_class(w.Output(), "tl-live-plot")
        self.table = _with_class(w.Output(), "tl-runs")
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
            self.controls[name].value = value

    def config(self) -> RunConfig:
        """The :class:`RunConfig` the controls describe (raises ``ValueError`` if impossible)."""
        return config_from_controls(self.values(), base=self.defaults)

    def train(self) -> Run | None:
        """What the Train button does: build the config, run it with a live plot, log the row.

        Returns the :class:`Run`, or ``None`` if the settings were rejected or training failed
        (the status line then says why).
        """
        self.button.disabled = True
        self.status.value = "Training..."
        try:
            config = self.config()
            live = LivePlot(output=self.plot, every=1, title=f"Run {len(self.runs) + 1} (live)")
            run = self.runner(config, callbacks=[live])
        except Exception as error:  # shown to the learner, not raised into the event loop
            self.status.value = f"<span style='color:#b00'>{type(error).__name__}: {error}</span>"
            return None
        finally:
            self.button.disabled = False
        self.runs.append(run)
        row = self.log.add(run.row())
        self.status.value = (
            f"Run {row['run']} done: validation macro-F1 {row['val_macro_f1']:.3f}, "
            f"accuracy {row['val_accuracy']:.3f}, {row['seconds']:.0f} s."
        )
        self._show_table()
        return run

    def show(self) -> None:
        """Display the panel (the same as leaving ``panel`` as a cell's last value)."""
        display(self.widget)

    def _ipython_display_(self) -> None:
        self.show()

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
        from IPython.display import HTML, clear_output

        with self.table:
            clear_output(wait=True)
            display(HTML(self.log.to_html()))


def _options(choices: Sequence[int], value: int) -> list[int]:
    return sorted(set(choices) | {value})
