"""Pretrained models: load one with a new head, replace heads, decide which layers learn.

A classifier is a pretrained *encoder* and a small *head* (one score per class); transfer
learning keeps the encoder and replaces the head.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from pathlib import Path

import torch
import transformers
from torch import nn
from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

# The catalog and name lookup live in checkpoints.py; re-exported for tl.models.CATALOG etc.
from .checkpoints import CATALOG, catalog, embedded_model_path, resolve_model_name  # noqa: F401


def random_model(name: str | os.PathLike, labels: Sequence[str] | int = 2) -> nn.Module:
    """An architecture with *random* weights, built offline (cost, from-scratch, tests).

    Example:
        >>> bert = random_model("bert-base", labels=3)
        >>> count_parameters(bert)["total"] > 100_000_000
        True
    """
    names = _normalise_labels(labels)
    if name in CATALOG:  # built from the catalog's config fields: no download
        config = AutoConfig.for_model(CATALOG[name].model_type, **dict(CATALOG[name].config))
    else:
        with _loading(name):
            config = AutoConfig.from_pretrained(resolve_model_name(name))
    _name_classes(config, names)
    return AutoModelForSequenceClassification.from_config(config)


@contextlib.contextmanager
def _loading(name: str | os.PathLike):
    """Run transformers' loading quietly; its failure becomes one message naming ``name``."""
    try:
        with _quiet_transformers():
            yield
    except (OSError, ValueError) as error:
        from huggingface_hub import constants

        where = (
            "offline (HF_HUB_OFFLINE=1) and it is not in the local cache"
            if constants.HF_HUB_OFFLINE
            else "it could not be downloaded from the Hugging Face Hub"
        )
        raise ValueError(
            f"Cannot load model '{name}': it is not a catalog name, not a local folder, and "
            f"{where}. Models that work offline: 'minilm' (embedded all-MiniLM-L6-v2) or a "
            f"folder saved with tlhelpers.save_model. Catalog: {', '.join(CATALOG)}. "
            f"Original error: {type(error).__name__}: {str(error).splitlines()[0]}"
        ) from error


@contextlib.contextmanager
def _quiet_transformers():
    """Hide transformers' load report and bars, then restore the caller's settings."""
    # Only bars that were on come back on: turning them on unconditionally brought
    # "Loading weights" bars back into every later pipeline(...) call.
    verbosity = transformers.logging.get_verbosity()
    bars = transformers.utils.logging.is_progress_bar_enabled()
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    try:
        yield
    finally:
        transformers.logging.set_verbosity(verbosity)
        if bars:
            transformers.utils.logging.enable_progress_bar()


def load_tokenizer(name: str | os.PathLike = "minilm"):
    """Load a model's tokenizer (Hugging Face: ``AutoTokenizer.from_pretrained``).

    Example:
        >>> tokenizer = load_tokenizer("minilm")
    """
    with _loading(name):
        return AutoTokenizer.from_pretrained(resolve_model_name(name))


def load_model(
    name: str | os.PathLike = "minilm",
    labels: Sequence[str] | int | None = None,
):
    """``(model, tokenizer)``: a pretrained encoder with a fresh head sized for ``labels``.

    Hugging Face: ``AutoModelForSequenceClassification.from_pretrained(name, num_labels=...)``.
    ``name`` is a catalog name (``"minilm"``, ``"bert-base"`` ...), a Hub id or a folder;
    ``labels`` the class names or their count, left out for a fine-tuned classifier to keep
    the classes it learned.

    Example:
        >>> model, tokenizer = load_model("minilm", labels=["negative", "neutral", "positive"])
        >>> model.config.id2label
        {0: 'negative', 1: 'neutral', 2: 'positive'}
    """
    resolved = resolve_model_name(name)
    if Path(resolved).is_dir() and not Path(resolved).samefile(embedded_model_path()):
        # A local folder: refuse pickled weights and name the folder in any error.
        from .persistence import check_saved_model  # here: persistence imports models

        check_saved_model(resolved)
    # Only transformers' own loading is wrapped in the "cannot load model" message: a
    # problem with the labels (one class, duplicates) is about the data and says so.
    with _loading(name):
        config = AutoConfig.from_pretrained(resolved)
    trained = _trained_label_names(config)
    if labels is None and trained:
        labels = trained  # a fine-tuned classifier: keep the classes it learned
    names = _normalise_labels(labels)
    # Same count: from_pretrained keeps the trained head, so other names or another order
    # would silently give its outputs the wrong names.
    if trained and len(trained) == len(names) and trained != names:
        raise ValueError(
            f"'{name}' was trained to predict {trained}, in this order; loading it with "
            f"labels={names} would give its outputs the wrong names. Leave labels out (or "
            f"pass them in that order), or pass a different number of labels to start a new head."
        )
    _name_classes(config, names)
    with _loading(name):
        # The checkpoint's own head (if any) has another size: start a fresh one.
        model = AutoModelForSequenceClassification.from_pretrained(
            resolved, config=config, ignore_mismatched_sizes=True
        )
        tokenizer = AutoTokenizer.from_pretrained(resolved)
    return model, tokenizer


def _name_classes(config, names: list[str]) -> None:
    """Size a config's head for ``names`` and name its outputs (before the model is built)."""
    config.num_labels = len(names)  # also resets id2label to LABEL_i ...
    config.id2label = dict(enumerate(names))  # ... so set the real names after it
    config.label2id = {label: i for i, label in enumerate(names)}


def _trained_label_names(config) -> list[str] | None:
    """The class names a fine-tuned classification checkpoint was trained on, if it has any."""
    architectures = getattr(config, "architectures", None) or []
    if not any("ForSequenceClassification" in a for a in architectures):
        return None  # a bare encoder: its head will be new
    names = label_names(config)
    if names == [f"LABEL_{i}" for i in range(len(names))]:
        return None  # default names: nothing was learned about what the classes are
    return names


def _normalise_labels(labels: Sequence[str] | int | None) -> list[str]:
    if labels is None:
        raise ValueError(
            "Say which classes the model predicts: labels=['negative', 'neutral', 'positive'] "
            "(or labels=data['train'].features['label'].names)."
        )
    if isinstance(labels, int):
        names = [f"LABEL_{i}" for i in range(labels)]
    else:
        names = [str(label) for label in labels]
    if len(names) < 2:
        raise ValueError(f"A classifier needs at least 2 labels, got {names}.")
    if len(set(names)) != len(names):
        raise ValueError(f"Label names must be unique, got {names}.")
    return names


def head_of(model: nn.Module) -> nn.Module:
    """The classification head: the module that produces the logits."""
    for attribute in ("classifier", "score", "head"):
        head = getattr(model, attribute, None)
        if isinstance(head, nn.Module):
            return head
    raise ValueError(f"Cannot find the classification head of {type(model).__name__}.")


def replace_head(
    model: nn.Module,
    labels: Sequence[str] | int,
    *,
    hidden_units: int | None = None,
    seed: int | None = None,
) -> nn.Module:
    """Put a new, untrained head on ``model`` for ``labels``, keeping the model consistent.

    ``model.classifier = torch.nn.Linear(768, 3)`` alone leaves ``num_labels`` at its old
    value (the loss then fails, a saved model reloads wrongly); this updates the labels too.

    ``hidden_units=N`` makes a small MLP head (Linear -> GELU -> Dropout(0.1) -> Linear),
    which ``transformers.pipeline`` cannot reload; ``seed`` seeds its initial weights.

    Example:
        >>> replace_head(model, ["business", "entertainment", "politics", "sport", "tech"])
    """
    names = _normalise_labels(labels)
    if seed is not None:
        torch.manual_seed(seed)
    old_head = head_of(model)
    # BERT's head is a Linear; RoBERTa's is a small module whose first Linear reads the
    # encoder's hidden size (384 for MiniLM).
    width = next(m for m in old_head.modules() if isinstance(m, nn.Linear)).in_features
    if hidden_units is None:
        new_head = nn.Linear(width, len(names))
    else:
        new_head = nn.Sequential(
            nn.Linear(width, hidden_units),
            nn.GELU(),
            nn.Dropout(0.1),
            nn.Linear(hidden_units, len(names)),
        )
    for layer in new_head.modules():
        if isinstance(layer, nn.Linear):
            nn.init.normal_(layer.weight, std=getattr(model.config, "initializer_range", 0.02))
            nn.init.zeros_(layer.bias)
    param = next(old_head.parameters())
    new_head.to(device=param.device, dtype=param.dtype)
    if isinstance(old_head, nn.Linear) or hidden_units is not None:
        head_name = next(name for name, module in model.named_children() if module is old_head)
        setattr(model, head_name, new_head)
    else:
        # Architectures like RoBERTa have a composite head (dense -> out_proj): replace its
        # output projection only, so its forward() still works.
        out_name = [n for n, m in old_head.named_children() if isinstance(m, nn.Linear)][-1]
        old_out = getattr(old_head, out_name)
        setattr(old_head, out_name, nn.Linear(old_out.in_features, len(names)).to(param.device))
    _set_labels(model, names)
    model.config.tlhelpers_head_hidden_units = hidden_units
    return model


def _set_labels(model: nn.Module, names: list[str]) -> None:
    """Make a built model's labels ``names``: its config, its loss type and its forward()."""
    _name_classes(model.config, names)
    model.config.problem_type = "single_label_classification"
    model.num_labels = len(names)  # forward() reads this attribute, not the config


def label_names(model: nn.Module | transformers.PretrainedConfig) -> list[str]:
    """The class names of a model (or of its config) in output order.

    Example:
        >>> label_names(model)
        ['negative', 'neutral', 'positive']
    """
    id2label = getattr(model, "config", model).id2label
    return [id2label[i] for i in range(len(id2label))]


def encoder_of(model: nn.Module) -> nn.Module:
    """The pretrained encoder inside a classifier: Hugging Face's ``model.base_model``.

    Example:
        >>> encoder_of(model) is model.bert
        True
    """
    return getattr(model, "base_model", model)


def encoder_layers(model: nn.Module) -> nn.ModuleList:
    """The stack of transformer layers: the encoder's longest ``ModuleList`` (BERT-like)."""
    lists = [m for m in encoder_of(model).modules() if isinstance(m, nn.ModuleList)]
    if not lists:
        raise ValueError(f"Cannot find the transformer layers of {type(model).__name__}.")
    return max(lists, key=len)


def freeze(model: nn.Module, *, train_last_layers: int = 0) -> nn.Module:
    """Freeze the encoder except its last ``train_last_layers`` layers; the head learns.

    Example:
        >>> freeze(model)                        # head only
        >>> freeze(model, train_last_layers=2)   # head + top two layers
    """
    layers = encoder_layers(model)
    if not 0 <= train_last_layers <= len(layers):
        raise ValueError(
            f"train_last_layers must be between 0 and {len(layers)} (the model's layer count), "
            f"got {train_last_layers}; to train every weight, embeddings too, unfreeze(model) "
            "(train_last_layers=None in a TrainConfig)."
        )
    base = encoder_of(model)
    base.requires_grad_(False)
    for layer in list(layers)[len(layers) - train_last_layers :]:
        layer.requires_grad_(True)
    # The pooler sits between the last layer and the head; it learns with the head.
    if getattr(base, "pooler", None) is not None:
        base.pooler.requires_grad_(True)
    head_of(model).requires_grad_(True)
    return model


def unfreeze(model: nn.Module) -> nn.Module:
    """Make every parameter trainable again (full fine-tuning).

    Example:
        >>> unfreeze(model)
    """
    return model.requires_grad_(True)


def count_parameters(model: nn.Module) -> dict[str, int]:
    """Total and trainable parameter counts.

    Example:
        >>> count_parameters(freeze(model))
        {'total': 22714371, 'trainable': 149379, 'trainable_share': 0.0066}
    """
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return {"total": total, "trainable": trainable, "trainable_share": round(trainable / total, 4)}


def set_dropout(model: nn.Module, probability: float) -> nn.Module:
    """Set every dropout layer's probability, attention's included (0 turns dropout off).

    On a CPU, dropout off measured 1.4-1.8x faster fine-tuning with no loss of accuracy.

    Example:
        >>> set_dropout(model, 0.0)
    """
    for module in model.modules():
        if isinstance(module, nn.Dropout):
            module.p = probability
    return model
