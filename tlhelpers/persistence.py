"""Keep a fine-tuned model: save it as a standard Hugging Face folder, load it back.

The folder holds ``model.safetensors`` (the weights), ``config.json`` (architecture and
label names), the tokenizer files, ``training_config.json`` (the
:class:`tlhelpers.TrainConfig` of the run, which ``python -m tlhelpers train --config``
repeats) and ``tlhelpers.json`` (history and metrics). The tokenizer is saved with
``model_max_length`` set to the length the model was trained with, so predictions from
the folder (ours or ``pipeline``'s) truncate as training did. Any Hugging Face tool can
read it, e.g. ``transformers.pipeline("text-classification", model=folder)``.

Why not ``torch.save(model.state_dict(), "model.pt")``? That file is a *pickle*: loading
it can run arbitrary code, it holds no label names or tokenizer, and it needs the exact
Python class to rebuild the model. safetensors is plain tensors and loads safely.

Saves are atomic: everything is written to a temporary folder next to the target, then
renamed into place, so an interrupted save never leaves a half-written model behind.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from .models import _quiet_transformers, label_names, replace_head

INFO_FILE = "tlhelpers.json"
CONFIG_FILE = "training_config.json"
WEIGHTS_FILE = "model.safetensors"


def _jsonable(value: Any) -> Any:
    if hasattr(value, "summary") and callable(value.summary):
        value = value.summary()
    return json.loads(
        json.dumps(value, default=lambda v: v.item() if hasattr(v, "item") else str(v))
    )


def save_model(
    model,
    tokenizer,
    folder: str | os.PathLike,
    *,
    training: Any = None,
    metrics: Any = None,
    overwrite: bool = True,
) -> Path:
    """Save a fine-tuned model, its tokenizer and what produced it, atomically.

    Args:
        model, tokenizer: the fine-tuned model and its tokenizer.
        folder: where to save; created if needed.
        training: a :class:`TrainingResult` (or any JSON-able dict) to record how it was trained.
        metrics: an :class:`EvaluationReport` (or dict) to record how well it does.
        overwrite: replace an earlier save in ``folder``. A folder that holds anything
            other than a saved model is never overwritten.

    Example:
        >>> save_model(model, tokenizer, "runs/tweets", training=result, metrics=report)
        PosixPath('runs/tweets')
    """
    folder = check_save_target(folder, overwrite=overwrite)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.saving-", dir=folder.parent))
    try:
        run_config = getattr(training, "config", None)
        with _quiet_transformers():
            model.save_pretrained(staging)
            tokenizer.save_pretrained(staging)
        if run_config is not None:
            run_config.save(staging / CONFIG_FILE)
            _record_max_length(staging, run_config.max_length)
        info = {
            "format": "tlhelpers-model/1",
            "labels": label_names(model),
            "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "versions": _versions(),
            "training": _jsonable(training) if training is not None else None,
            "metrics": _jsonable(metrics) if metrics is not None else None,
        }
        if training is not None and hasattr(training, "history"):
            info["history"] = {"steps": training.history.steps, "evals": training.history.evals}
        (staging / INFO_FILE).write_text(json.dumps(_jsonable(info), indent=2))
        _swap_into_place(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return folder


def check_save_target(folder: str | os.PathLike, *, overwrite: bool = True) -> Path:
    """Raise unless ``folder`` may receive a saved model; call it before long work.

    A new or empty folder, or one holding an earlier saved model (with ``overwrite``), is
    fine; a file, or a folder with anything else in it, is refused so nothing is lost.

    Example:
        >>> check_save_target("runs/tweets")
        PosixPath('runs/tweets')
    """
    folder = Path(folder)
    if folder.exists():
        if not folder.is_dir():
            raise FileExistsError(f"{folder} exists and is a file; choose another folder.")
        if any(folder.iterdir()) and not (folder / INFO_FILE).exists():
            raise FileExistsError(
                f"{folder} exists and holds files that are not a saved model; "
                "choose an empty or new folder so nothing of yours is overwritten."
            )
        if not overwrite:
            raise FileExistsError(f"{folder} already holds a saved model (overwrite=False).")
    return folder


def _record_max_length(folder: Path, max_length: int) -> None:
    # The saved tokenizer truncates at the trained length: predictions see what training saw.
    path = folder / "tokenizer_config.json"
    if path.exists():
        settings = json.loads(path.read_text())
        settings["model_max_length"] = int(max_length)
        path.write_text(json.dumps(settings, indent=2) + "\n")


def load_run_config(folder: str | os.PathLike):
    """The :class:`tlhelpers.TrainConfig` a saved model was trained with (None if unknown).

    Example:
        >>> load_run_config("runs/tweets").lr
        5e-05
    """
    from .config import TrainConfig

    path = check_saved_model(folder) / CONFIG_FILE
    return TrainConfig.load(path) if path.exists() else None


def _swap_into_place(staging: Path, folder: Path) -> None:
    if not folder.exists():
        staging.rename(folder)
        return
    # Two renames: old -> trash, new -> folder. The old copy is only deleted afterwards.
    trash = folder.with_name(f".{folder.name}.old-{os.getpid()}-{time.time_ns()}")
    folder.rename(trash)
    staging.rename(folder)
    shutil.rmtree(trash, ignore_errors=True)


def _versions() -> dict[str, str]:
    import transformers

    return {"python": platform.python_version(), "torch": torch.__version__,
            "transformers": transformers.__version__}  # fmt: skip


def check_saved_model(folder: str | os.PathLike) -> Path:
    """Raise a clear error unless ``folder`` holds a saved model (config + weights).

    Example:
        >>> check_saved_model("runs/tweets")
        PosixPath('runs/tweets')
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(
            f"No folder at {folder}: save a model there first with save_model()."
        )
    has_weights = any((folder / name).exists() for name in (WEIGHTS_FILE, "pytorch_model.bin"))
    if not (folder / "config.json").exists() or not has_weights:
        present = sorted(p.name for p in folder.iterdir())[:12]
        raise ValueError(
            f"{folder} is not a saved model: it needs config.json and {WEIGHTS_FILE}, "
            f"but holds {present or 'nothing'}. Point to a folder written by save_model()."
        )
    return folder


def load_saved_model(folder: str | os.PathLike, *, device: str | None = None):
    """Load a model saved with :func:`save_model` (or any HF classification folder).

    Returns:
        ``(model, tokenizer)``, the model in eval mode.

    Example:
        >>> model, tokenizer = load_saved_model("runs/tweets")
        >>> tl.predict(model, tokenizer, ["I love this airline"])
    """
    folder = check_saved_model(folder)
    with _quiet_transformers():
        model = AutoModelForSequenceClassification.from_pretrained(folder)
        tokenizer = AutoTokenizer.from_pretrained(folder)
    hidden_units = getattr(model.config, "tlhelpers_head_hidden_units", None)
    if hidden_units:
        # An MLP head is ours, not transformers': rebuild it, then load all weights.
        replace_head(model, label_names(model), hidden_units=hidden_units)
        model.load_state_dict(load_file(folder / WEIGHTS_FILE), strict=False)
    if device:
        model.to(device)
    return model.eval(), tokenizer


def load_training_info(folder: str | os.PathLike) -> dict:
    """The settings, history and metrics recorded next to a saved model.

    Example:
        >>> load_training_info("runs/tweets")["metrics"]
        {'accuracy': 0.74, 'macro_f1': 0.72}
    """
    path = check_saved_model(folder) / INFO_FILE
    return json.loads(path.read_text()) if path.exists() else {}
