"""LoRA: train small low-rank matrices beside the frozen pretrained weights (with ``peft``).

LoRA (Hu et al., 2021) freezes each weight ``W`` and learns ``(alpha / r) * B @ A`` beside
it: for MiniLM's 384x384 matrices and ``r = 8``, 6,144 numbers instead of 147,456. The head
and pooler train in full. Hugging Face: ``peft.LoraConfig`` + ``get_peft_model``; this
module picks defaults and records the base weights an adapter belongs to.
"""

from __future__ import annotations

import contextlib
import hashlib
import warnings
from pathlib import Path

import torch
from torch import nn

# LoRA adapts the query and value projections, as in the LoRA paper (keys and feed-forward
# layers add parameters for little gain). peft's table names them for most architectures,
# not for DistilBERT, one of tl.CATALOG's models.
EXTRA_TARGETS = {"distilbert": ["q_lin", "v_lin"]}
# Trained in full next to the adapters: the new head and, for BERT, the pooler before it.
TRAINED_IN_FULL = ["classifier", "pooler", "pre_classifier", "score"]


def add_lora(
    model: nn.Module,
    *,
    rank: int = 8,
    alpha: float | None = None,
    targets: list[str] | None = None,
) -> nn.Module:
    """Freeze ``model`` and add LoRA adapters of rank ``rank`` to its attention projections.

    Returns the ``peft`` model (``LoraConfig(r=rank, lora_alpha=alpha)``; default alpha
    ``2 * rank``), which trains, predicts and saves like the model it wraps. ``targets``: the
    layers to adapt; None: the query and value projections (peft's table, and DistilBERT's).

    Example:
        >>> model = add_lora(tl.load_model("minilm", labels=2)[0], rank=8)
    """
    from peft import LoraConfig, TaskType, get_peft_model
    from peft.utils import TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING as PEFT_TARGETS

    if is_lora(model):
        raise ValueError("This model has LoRA adapters already: load a fresh model first.")
    if not (isinstance(rank, int) and rank >= 1):
        raise ValueError(f"rank must be a whole number of at least 1, got {rank!r}.")
    model_type = model.config.model_type
    if targets is None:
        targets = EXTRA_TARGETS.get(model_type) or PEFT_TARGETS.get(model_type)
    if not targets:
        raise ValueError(
            f"No default LoRA targets for a '{model_type}' model: pass targets=[...], the "
            "names of its attention projections (e.g. ['query', 'value'] for BERT)."
        )
    names = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()}
    missing = sorted(set(targets) - names)
    if missing:
        raise ValueError(f"targets {missing} are not layers of this '{model_type}' model.")
    base = base_weights_sha256(model)  # before the wrap adds adapters to the state dict
    config = LoraConfig(
        task_type=TaskType.SEQ_CLS,  # peft then trains the classifier in full too
        r=rank,
        lora_alpha=2 * rank if alpha is None else alpha,
        lora_dropout=0.0,  # off, like the course's dropout default (speed; same accuracy)
        target_modules=list(targets),
        modules_to_save=[name for name in TRAINED_IN_FULL if name in names],
    )
    with _quiet_peft():
        model = get_peft_model(model, config)
    model.tlhelpers_base_sha256 = base
    return model


@contextlib.contextmanager
def _quiet_peft():
    """Hide the one FutureWarning peft 0.21 raises on transformers 5 (not ours to fix)."""
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning
        )
        yield


def is_lora(model: nn.Module) -> bool:
    """Whether ``model`` carries LoRA adapters (is a ``peft`` model)."""
    return hasattr(model, "peft_config")


def merge_lora(model: nn.Module) -> nn.Module:
    """Fold the adapters into the weights: a plain transformers model (peft's ``merge_and_unload``).

    Example:
        >>> model = merge_lora(model)
    """
    if not is_lora(model):
        raise ValueError("This model has no LoRA adapters to merge.")
    return model.merge_and_unload()


def base_weights_sha256(model: nn.Module) -> str:
    """A sha256 of the pretrained weights an adapter is trained on (not the head's)."""
    if is_lora(model):
        return model.tlhelpers_base_sha256
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        if any(part in TRAINED_IN_FULL for part in name.split(".")):
            continue  # the head is new (random) in every base loaded for an adapter
        digest.update(name.encode())
        digest.update(tensor.detach().to("cpu", torch.float32).contiguous().numpy().tobytes())
    return digest.hexdigest()


def load_adapter(
    folder: Path, base_name: str | Path | None, labels: list[str], base_sha256: str | None
):
    """The base ``base_name`` (None: peft's record) with ``folder``'s adapter, checked by sha256."""
    from peft import PeftConfig, PeftModel

    from .models import load_model

    base_name = str(base_name or PeftConfig.from_pretrained(folder).base_model_name_or_path)
    base, _ = load_model(base_name, labels=labels)
    found = base_weights_sha256(base)
    if base_sha256 is not None and found != base_sha256:
        raise ValueError(
            f"The adapter in {folder} was trained on other base weights than '{base_name}' "
            f"has here (sha256 {base_sha256[:12]}... when saved, {found[:12]}... now): "
            "loading it would give wrong predictions. Load it onto the base it was trained "
            "on: load_saved_model(folder, base=...), a name or a folder."
        )
    with _quiet_peft():
        model = PeftModel.from_pretrained(base, folder)
    model.tlhelpers_base_sha256 = found
    return model


def adapter_record(model: nn.Module) -> dict:
    """What :func:`tlhelpers.save_model` records of an adapter: its base, rank and targets."""
    from peft.utils import ModulesToSaveWrapper

    from .models import embedded_model_path

    settings = model.peft_config["default"]
    path = settings.base_model_name_or_path
    return {
        # The embedded model's path differs between installs; its catalog name does not.
        "base_model": "minilm" if path == str(embedded_model_path()) else path,
        "base_sha256": base_weights_sha256(model),
        "rank": settings.r,
        "alpha": settings.lora_alpha,
        "targets": sorted(settings.target_modules),
        "trained_in_full": sorted(
            name.rsplit(".", 1)[-1]
            for name, module in model.named_modules()
            if isinstance(module, ModulesToSaveWrapper)
        ),
    }
