"""Running a model over many texts: one batched-inference iterator for every caller."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sequence

import numpy as np
import torch
from torch import nn

from .batching import LengthGroupedSampler, PaddingCollator


@contextlib.contextmanager
def inference_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Eval mode (no dropout) and no gradients inside; the model's mode is restored after."""
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            yield model
    finally:
        model.train(was_training)


def inference_batches(
    input_ids: Sequence[Sequence[int]] | Sequence[torch.Tensor],
    *,
    batch_size: int = 64,
    pad_token_id: int = 0,
    device: str | torch.device = "cpu",
    key: str = "input_ids",
) -> Iterator[tuple[list[int], dict[str, torch.Tensor]]]:
    """Padded batches of token ids, longest first, on ``device``, with their positions.

    ``input_ids``: token ids per text (or, with ``key="inputs_embeds"``, hidden states).
    Yields ``(index, batch)``: the texts' positions, and a batch for ``model(**batch)``.

    Example:
        >>> for index, batch in inference_batches([[101, 7592, 102], [101, 102]], batch_size=2):
        ...     print(index, batch["input_ids"].shape)
        [0, 1] torch.Size([2, 3])
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
    collate = PaddingCollator(pad_token_id)
    sampler = LengthGroupedSampler([len(ids) for ids in input_ids], batch_size, shuffle=False)
    for index in sampler:
        batch = collate([{key: input_ids[i]} for i in index])
        yield index, {k: v.to(device, non_blocking=True) for k, v in batch.items()}


def device_of(model: nn.Module) -> torch.device:
    """The device of the model's first parameter (where its inputs must go)."""
    return next(model.parameters()).device


def class_probabilities(
    model: nn.Module, batches: Iterable[tuple[list[int], dict]], rows: int
) -> np.ndarray:
    """The softmax of the model's logits for every ``(index, batch)``, each row at its index."""
    probabilities = np.zeros((rows, len(model.config.id2label)), dtype=np.float32)
    with inference_mode(model):
        for index, batch in batches:
            logits = model(**batch).logits
            probabilities[index] = torch.softmax(logits.float(), dim=-1).cpu().numpy()
    return probabilities
