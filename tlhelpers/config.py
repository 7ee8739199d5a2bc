"""Settings: quick mode, reproducibility, and the run configuration.

:class:`TrainConfig` describes one fine-tuning run once, for every way of starting it. Quick
mode (``TLHELPERS_QUICK=1``, set by the tests) shrinks data and epochs; notebooks :func:`pick`.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import asdict, dataclass, field, fields
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

T = TypeVar("T")

if TYPE_CHECKING:
    import pandas as pd

# pandas, torch and transformers load where they are used: the command line imports this
# module for its flags, and a Ctrl-C (or --help) must not wait for, or land inside, them.

QUICK_ENV_VAR = "TLHELPERS_QUICK"
# "off" hides tlhelpers' progress bars. `make notebooks` sets it (with the Hugging Face
# equivalents) so that committed notebooks carry no progress widgets, which a reader of the
# saved file would see as a frozen "0%|          | 0/94".
PROGRESS_ENV_VAR = "TLHELPERS_PROGRESS"


def is_quick() -> bool:
    """True when ``TLHELPERS_QUICK`` is set to a true value (``1``, ``true``, ``yes``)."""
    return os.environ.get(QUICK_ENV_VAR, "").strip().lower() in {"1", "true", "yes", "on"}


def pick(quick: T, full: T) -> T:
    """Return ``quick`` in quick mode and ``full`` otherwise.

    Example:
        >>> EPOCHS = pick(quick=1, full=3)
    """
    return quick if is_quick() else full


def progress_bar(*, enabled: bool = True, **options: Any) -> Any:
    """A ``tqdm.auto`` bar, hidden when ``enabled`` is false or ``TLHELPERS_PROGRESS=off``."""
    from tqdm.auto import tqdm

    hidden = os.environ.get(PROGRESS_ENV_VAR, "").strip().lower() in {"0", "off", "false", "no"}
    return tqdm(disable=hidden or not enabled, **options)


def describe_mode() -> str:
    """The current mode in one line, for a notebook's settings cell.

    Example:
        >>> print(describe_mode())
    """
    if is_quick():
        return (
            f"QUICK mode ({QUICK_ENV_VAR}=1): small data and few epochs, "
            "for tests and a first look."
        )
    return f"FULL mode: the real run. Set {QUICK_ENV_VAR}=1 for a fast smoke run."


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and PyTorch so that two runs with the same seed match on a CPU.

    Hugging Face: ``transformers.set_seed``, which this calls.

    Example:
        >>> set_seed(0)
    """
    import transformers

    transformers.set_seed(seed)


# What a field chooses, kept in its metadata: "data" (what is read and how it is split and
# sampled), "model" (what is loaded and what of it learns) or "training" (the loop). The
# saved run record groups fields by it, and train() refuses "data" and "model" fields.
def _setting(default: Any, help: str, hf: str | None = None, *, group: str = "training") -> Any:
    """A :class:`TrainConfig` field: its help text, ``TrainingArguments`` twin and group."""
    return field(default=default, metadata={"help": help, "hf": hf, "group": group})


_data = partial(_setting, group="data")
_model = partial(_setting, group="model")

# The settings that take one of a few words (the command line offers them as choices).
CHOICES = {
    "conflicting_labels": ("drop", "first", "error"),
    "metric": ("macro_f1", "accuracy", "loss"),
    "mixed_precision": ("auto", "no", "bf16", "fp16"),
}


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a fine-tuning run: data, model, freezing and optimisation.

    :func:`tlhelpers.fine_tune` runs it, ``python -m tlhelpers train`` has a flag per field
    and a saved model keeps it. :meth:`describe` gives each field's Hugging Face twin.

    Example:
        >>> config = TrainConfig(dataset="tweet-sentiment", lr=1e-4, epochs=1, n_per_class=300)
        >>> config.replace(lr=3e-5).lr
        3e-05
    """

    # The data ------------------------------------------------------------------------
    dataset: str | None = _data(
        "tweet-sentiment", "built-in name (tweet-sentiment, bbc-news), Hub id or data file"
    )
    text_column: str = _data("text", "column holding the texts (name, or position in a file)")
    label_column: str = _data("label", "column holding the labels")
    label_names: str | None = _data(
        None, 'class names, comma-separated, for the sorted label values ("no,yes" for 0 and 1)'
    )
    header: int | str | None = _data(
        "infer", "row of a file's column names: infer, a row number, or none (no header row)"
    )
    sep: str | None = _data(None, "field separator of a file (default: by its type; tab or \\t)")
    quoting: str | None = _data(None, "quote processing: minimal or none (default: none for tabs)")
    encoding: str | None = _data(None, "a file's text encoding (default utf-8), e.g. latin-1")
    drop_duplicates: bool = _data(True, "drop repeated texts before splitting")
    conflicting_labels: str = _data(
        "drop", "texts that appear with different labels: drop, first or error"
    )
    validation_size: float = _data(0.1, "fraction of the data held out for validation")
    test_size: float = _data(0.1, "fraction of the data held out for the test")
    max_examples: int | None = _data(None, "subsample the whole dataset first (stratified)")
    n_per_class: int | None = _data(None, "few-shot: keep this many training texts per class")
    max_validation_examples: int | None = _data(
        None, "validate on at most this many texts (stratified), to save time"
    )
    # The model -----------------------------------------------------------------------
    model: str = _model("minilm", "catalog name, Hub id or a saved model folder")
    pretrained: bool = _model(
        True, "start from pretrained weights; false: the same architecture, random weights"
    )
    train_last_layers: int | None = _model(
        None, "train only the top N encoder layers and the head (0: head only; none: all)"
    )
    lora_rank: int | None = _model(
        None, "train LoRA adapters of this rank (peft's LoraConfig r) instead of the weights"
    )
    lora_alpha: float | None = _model(
        None, "LoRA adapters are scaled by lora_alpha / lora_rank (none: 2 x lora_rank)"
    )
    # The optimisation ----------------------------------------------------------------
    epochs: int = _setting(3, "passes over the training data", "num_train_epochs")
    max_steps: int | None = _setting(None, "stop after this many optimizer steps", "max_steps")
    lr: float = _setting(5e-5, "peak learning rate", "learning_rate")
    batch_size: int = _setting(
        32, "texts per optimizer step, all processes together", "per_device_train_batch_size"
    )
    max_length: int = _setting(128, "longer texts are truncated to this many tokens")
    weight_decay: float = _setting(
        0.01, "AdamW weight decay (none on biases and LayerNorms)", "weight_decay"
    )
    warmup_ratio: float = _setting(
        0.1,
        "share of the steps over which the learning rate rises from 0",
        "warmup_steps (a float below 1 is a ratio)",
    )
    max_grad_norm: float | None = _setting(1.0, "clip gradients to this norm", "max_grad_norm")
    layer_lr_decay: float | None = _setting(
        None, "discriminative learning rates: each layer learns at this times the one above"
    )
    dropout: float | None = _setting(
        0.0, "dropout while training; 0 is 1.4-1.8x faster on a CPU; none keeps the model's"
    )
    group_by_length: bool = _setting(
        True,
        "batch texts of similar length together (less padding)",
        'train_sampling_strategy="group_by_length"',
    )
    cache_frozen_layers: bool = _setting(
        False, "run frozen lower layers once and train the top layers on their cached output"
    )
    eval_every: int | None = _setting(
        None,
        "also validate every N steps (default: each epoch)",
        'eval_strategy="steps", eval_steps',
    )
    patience: int | None = _setting(
        None,
        "stop after N validations in a row without improvement",
        "EarlyStoppingCallback(early_stopping_patience)",
    )
    metric: str = _setting(
        "macro_f1",
        "validation score that picks the best weights: macro_f1, accuracy or loss",
        "metric_for_best_model",
    )
    mixed_precision: str = _setting(
        "auto", "auto (bf16/fp16 on a GPU, off on a CPU), no, bf16 or fp16", "bf16 / fp16"
    )
    log_every: int = _setting(10, "record the training loss every N steps", "logging_steps")
    seed: int = _setting(42, "seed of the split, the new head and the batch order", "seed")

    def __post_init__(self) -> None:
        _check_config(self)

    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with some fields changed (checked like a new config).

        Example:
            >>> TrainConfig().replace(epochs=1).epochs
            1
        """
        unknown = sorted(set(changes) - set(self.field_names()))
        if unknown:
            known = ", ".join(self.field_names())
            raise ValueError(f"Unknown setting(s) {unknown}. TrainConfig knows: {known}.")
        return dataclasses.replace(self, **changes)

    @classmethod
    def field_names(cls) -> list[str]:
        """The names of every setting, in declaration order."""
        return [f.name for f in fields(cls)]

    def settings(self, group: str) -> dict[str, Any]:
        """The fields of one group (``"data"``, ``"model"`` or ``"training"``) and their values.

        Example:
            >>> TrainConfig().settings("model")["train_last_layers"] is None
            True
        """
        if group not in ("data", "model", "training"):
            raise ValueError(f"group is 'data', 'model' or 'training', got {group!r}.")
        return {f.name: getattr(self, f.name) for f in fields(self) if f.metadata["group"] == group}

    @classmethod
    def load(cls, path: str | os.PathLike, **changes: Any) -> TrainConfig:
        """Read a JSON file of settings or a saved model's run record, then apply ``changes``.

        A record of a run on in-memory data (or a ready-made model) is refused unless
        ``changes`` name the ``dataset`` (``model``) to use instead.

        Example:
            >>> TrainConfig.load("runs/tweets/training_config.json", seed=6).seed
            6
        """
        from .record import is_run_record, settings_to_replay

        values = read_settings_file(path)
        if is_run_record(values):
            other = {"other_data": "dataset" in changes, "other_model": "model" in changes}
            values = settings_to_replay(values, where=str(path), **other)
        return cls().replace(**{**values, **changes})

    def changed(self) -> dict[str, Any]:
        """Only the settings that differ from the defaults."""
        default = TrainConfig()
        return {k: v for k, v in asdict(self).items() if getattr(default, k) != v}

    def to_code(self) -> str:
        """Plain Python that repeats this run (what the tuning panel shows).

        Example:
            >>> print(TrainConfig(lr=1e-4, epochs=1).to_code())
            import tlhelpers as tl
            <BLANKLINE>
            config = tl.TrainConfig(
                epochs=1,
                lr=0.0001,
            )
            run = tl.fine_tune(config)
            print(run.report.summary())
        """
        changed = "".join(f"\n    {name}={value!r}," for name, value in self.changed().items())
        config = f"tl.TrainConfig({changed}\n)" if changed else "tl.TrainConfig()"
        return (
            f"import tlhelpers as tl\n\nconfig = {config}\n"
            "run = tl.fine_tune(config)\nprint(run.report.summary())"
        )

    @classmethod
    def describe(cls) -> pd.DataFrame:
        """A table of every setting: default, meaning, and its Hugging Face twin.

        Example:
            >>> TrainConfig.describe().loc["lr"]
        """
        import pandas as pd

        rows = [
            (f.name, f.default, f.metadata["help"], f.metadata["hf"] or "") for f in fields(cls)
        ]
        columns = ["setting", "default", "meaning", "Hugging Face twin"]
        return pd.DataFrame(rows, columns=columns).set_index("setting")


DATA_AND_MODEL_SETTINGS = tuple(
    f.name for f in fields(TrainConfig) if f.metadata["group"] in ("data", "model")
)


def read_settings_file(path: str | os.PathLike) -> dict[str, Any]:
    """The JSON object of settings in ``path`` (a saved config or run record), or a clear error."""
    try:
        values = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"No run configuration at {path}.") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not valid JSON: {error}.") from None
    if not isinstance(values, dict):
        raise ValueError(
            f"{path} holds a JSON {type(values).__name__}, not a run configuration "
            "(an object of settings, as a saved training_config.json)."
        )
    return values


def _check_config(c: TrainConfig) -> None:
    """Refuse impossible settings at once, before any data or model is loaded."""

    def require(allowed: bool, name: str, rule: str) -> None:
        if not allowed:
            raise ValueError(f"{name} must be {rule}, got {getattr(c, name)!r}.")

    def is_count(name: str, least: int, optional: bool = True) -> bool:
        value = getattr(c, name)
        return (optional and value is None) or (isinstance(value, int) and value >= least)

    for name in ("epochs", "batch_size", "max_length", "log_every"):
        require(is_count(name, 1, optional=False), name, "a whole number of at least 1")
    optional = "max_steps n_per_class max_examples max_validation_examples eval_every lora_rank"
    for name in optional.split():
        require(is_count(name, 1), name, "at least 1 or None")
    require(c.lora_alpha is None or c.lora_alpha > 0, "lora_alpha", "positive or None")
    if c.lora_rank is not None and (c.train_last_layers is not None or c.cache_frozen_layers):
        raise ValueError(
            "lora_rank trains adapters in every layer over frozen weights: it cannot be "
            "combined with train_last_layers or cache_frozen_layers. Choose one strategy."
        )
    if c.lora_alpha is not None and c.lora_rank is None:
        raise ValueError("lora_alpha scales LoRA adapters: set lora_rank too (e.g. 8).")
    for name in ("patience", "train_last_layers"):
        require(is_count(name, 0), name, "0 or more, or None")
    require(0 < c.lr < 1, "lr", "between 0 and 1 (e.g. 5e-5)")
    require(0 <= c.warmup_ratio < 1, "warmup_ratio", "a fraction in [0, 1)")
    require(c.weight_decay >= 0, "weight_decay", "0 or more")
    require(c.max_grad_norm is None or c.max_grad_norm > 0, "max_grad_norm", "positive or None")
    decay = c.layer_lr_decay
    require(decay is None or 0 < decay <= 1, "layer_lr_decay", "in (0, 1] or None")
    require(c.dropout is None or 0 <= c.dropout < 1, "dropout", "in [0, 1) or None")
    for name in ("validation_size", "test_size"):
        require(0 < getattr(c, name) < 1, name, "a fraction between 0 and 1")
    for name, choices in CHOICES.items():
        require(getattr(c, name) in choices, name, f"one of {choices}")
    if not c.model:
        raise ValueError("model must name a catalog model, a Hub id or a folder.")
    split_label_names(c.label_names)  # raises if the names are not usable


def split_label_names(text: str | None) -> list[str] | None:
    """The ``label_names`` setting (one comma-separated string, as on the command line) as a list.

    Example:
        >>> split_label_names("not disaster, disaster")
        ['not disaster', 'disaster']
    """
    if text is None:
        return None
    if not isinstance(text, str):
        raise ValueError(
            f"label_names must be one string of comma-separated names, such as "
            f"'not disaster,disaster', got {text!r}."
        )
    names = [name.strip() for name in text.split(",")]
    if len(names) < 2 or not all(names) or len(set(names)) != len(names):
        raise ValueError(
            f"label_names must give at least two different, non-empty names separated by "
            f"commas (e.g. 'not disaster,disaster'), got {text!r}."
        )
    return names
