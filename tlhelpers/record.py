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


def data_in_memory(seen: dict[str, Any], **applied: Any) -> dict[str, Any]:
    """The record of data handed over in memory: its :func:`fingerprint`, the settings applied.

    Example:
        >>> data_in_memory(fingerprint(data))
        {'source': 'in-memory', 'rows': {'train': 240, ...}, 'sha256': '3f1c...'}
    """
    return {"source": IN_MEMORY, **applied, **seen}


def data_from_config(config: TrainConfig, seen: dict[str, Any]) -> dict[str, Any]:
    """The record of data read from ``config.dataset``: name or path, options, ``seen`` rows."""
    from .data import BUILTIN_DATASETS

    name = config.dataset
    path = Path(name)
    source = "built-in" if name in BUILTIN_DATASETS else "file" if path.exists() else "hub"
    record: dict[str, Any] = {"source": source, **config.settings("data")}
    if source == "file":
        # As given (a replay from the same folder reads it again), and where it was.
        record["path"] = str(path.resolve())
    return {**record, **seen}


def model_in_memory(model) -> dict[str, Any]:
    """The record of a model handed over ready-made: what its own config says it is."""
    config = model.config
    return {
        "source": IN_MEMORY,
        "name_or_path": getattr(config, "name_or_path", None) or None,
        "architecture": type(model).__name__,
        "model_type": getattr(config, "model_type", None),
        "labels": [config.id2label[i] for i in range(len(config.id2label))],
    }


def model_from_config(config: TrainConfig, model) -> dict[str, Any]:
    """The record of the model ``config.model`` named, as loaded (and frozen) for the run."""
    from .models import CATALOG

    name = config.model
    source = "catalog" if name in CATALOG else "folder" if Path(name).is_dir() else "hub"
    described = model_in_memory(model)
    del described["source"]
    return {"source": source, **config.settings("model"), **described}


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
    """True for a run record (False for a plain ``TrainConfig.save`` file)."""
    return str(values.get("format", "")).startswith("tlhelpers-run/")


def describe_data(record: dict[str, Any]) -> str:
    """A run record's data in words, for messages: ``'in-memory data (train 240, ...)'``."""
    if record.get("source") in REPLAYABLE_DATA:
        return f"{record['source']} data {record.get('dataset')!r}"
    rows = ", ".join(f"{split} {n:,}" for split, n in (record.get("rows") or {}).items())
    digest = str(record.get("sha256") or "")[:12]
    return f"{record.get('source', 'unknown')} data ({rows or 'size unknown'}; sha256 {digest}...)"


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
        >>> TrainConfig.from_dict(settings_to_replay(record))
    """
    data, model = record.get("data") or {}, record.get("model") or {}
    if data.get("source") not in REPLAYABLE_DATA and not other_data:
        raise ValueError(
            f"{where} records a run on {describe_data(data)}: there is no file or dataset "
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
