"""What a saved run records: the data it trained on, the model it started from, its settings.

A model folder's ``training_config.json`` (the *run record*) has ``data``, ``model`` and
``training`` parts, written from what the run used, never from a default. Data read from a
name or path keeps every reading option (``train --config`` reads it again); data handed
over in memory keeps only its row counts and a sha256, and a replay is refused.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import TrainConfig

if TYPE_CHECKING:
    from datasets import DatasetDict

FORMAT = "tlhelpers-run/1"
IN_MEMORY = "in-memory"
# Sources a run can be read from again: a replay loads them by name or path.
REPLAYABLE_DATA = ("built-in", "file", "hub")
REPLAYABLE_MODELS = ("catalog", "folder", "hub")


def content_hash(data: DatasetDict) -> str:
    """sha256 of every split's texts (or token ids), labels and class names, in order.

    Example:
        >>> content_hash(data)[:12]
        '3f1c0b9e27aa'
    """
    digest = hashlib.sha256()
    for split in sorted(data):
        dataset = data[split]
        column = "text" if "text" in dataset.column_names else "input_ids"
        labels = dataset["label"] if "label" in dataset.column_names else [None] * len(dataset)
        names = getattr(dataset.features.get("label"), "names", None)
        digest.update(json.dumps([split, names]).encode())
        for text, label in zip(dataset[column], labels, strict=True):
            digest.update(json.dumps([text, label], ensure_ascii=False).encode() + b"\n")
    return digest.hexdigest()


def fingerprint(data: DatasetDict) -> dict[str, Any]:
    """What a record says the data was: its rows per split and its content hash.

    Example:
        >>> fingerprint(data)
        {'rows': {'train': 240, ...}, 'sha256': '3f1c...'}
    """
    return {"rows": {split: len(data[split]) for split in data}, "sha256": content_hash(data)}


def data_record(
    seen: dict[str, Any], config: TrainConfig | None = None, **applied: Any
) -> dict[str, Any]:
    """The record of a run's data, ``seen`` as :func:`fingerprint`: ``config.dataset`` or in memory.

    Example:
        >>> data_record(fingerprint(data))
        {'source': 'in-memory', 'rows': {'train': 240, ...}, 'sha256': '3f1c...'}
    """
    from .data import BUILTIN_DATASETS

    if config is None:
        return {"source": IN_MEMORY, **applied, **seen}
    name = config.dataset
    path = Path(name)
    source = "built-in" if name in BUILTIN_DATASETS else "file" if path.exists() else "hub"
    # A file as given (a replay from the same folder reads it again), and where it was.
    where = {"path": str(path.resolve())} if source == "file" else {}
    return {"source": source, **config.settings("data"), **where, **seen}


def model_record(model, config: TrainConfig | None = None) -> dict[str, Any]:
    """The record of a run's model, ``config.model`` or handed over: what its config says it is."""
    from .checkpoints import CATALOG
    from .models import label_names  # here: models imports torch, the CLI's flags must not

    if config is None:
        record: dict[str, Any] = {"source": IN_MEMORY}
    else:
        name = config.model
        source = "catalog" if name in CATALOG else "folder" if Path(name).is_dir() else "hub"
        record = {"source": source, **config.settings("model")}
    settings = model.config
    return {
        **record,
        "name_or_path": getattr(settings, "name_or_path", None) or None,
        "architecture": type(model).__name__,
        "model_type": getattr(settings, "model_type", None),
        "labels": label_names(settings),
    }


def run_record(result) -> dict[str, Any]:
    """The run record of a :class:`TrainingResult`: data and model as handed, training settings."""
    unknown = {"source": "unknown"}
    return {
        "format": FORMAT,
        "data": getattr(result, "data_used", None) or unknown,
        "model": getattr(result, "model_used", None) or unknown,
        "training": result.config.settings("training"),
    }


def is_run_record(values: dict[str, Any]) -> bool:
    """True for a run record (False for a plain JSON file of settings)."""
    return str(values.get("format", "")).startswith("tlhelpers-run/")


def settings_to_replay(
    record: dict[str, Any],
    *,
    where: str = "the run record",
    other_data: bool = False,
    other_model: bool = False,
) -> dict[str, Any]:
    """The :class:`TrainConfig` fields of a run record, to train the same way again.

    In-memory data (a ready-made model) is refused unless ``other_data`` (``other_model``).

    Example:
        >>> TrainConfig().replace(**settings_to_replay(record))
    """
    data, model = record.get("data") or {}, record.get("model") or {}
    if data.get("source") not in REPLAYABLE_DATA and not other_data:
        rows = ", ".join(f"{split} {n:,}" for split, n in (data.get("rows") or {}).items())
        digest = str(data.get("sha256") or "")[:12]
        raise ValueError(
            f"{where} records a run on {data.get('source', 'unknown')} data "
            f"({rows or 'size unknown'}; sha256 {digest}...): there is no file or dataset "
            "name to read that data again, so the run cannot be repeated from it. Name the "
            "data yourself with dataset=... (a file, a built-in name or a Hub id)."
        )
    if model.get("source") not in REPLAYABLE_MODELS and not other_model:
        raise ValueError(
            f"{where} records a model handed over in memory ({model.get('name_or_path')}), "
            "not one loaded by name: name the model to start from with model=...."
        )
    names = set(TrainConfig.field_names())
    merged = {**record.get("training", {}), **data, **model}
    return {k: v for k, v in merged.items() if k in names}
