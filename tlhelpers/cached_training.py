"""The fast path: train only the top layers, computing the frozen lower layers once.

Fine-tuning runs every text through every layer, forward and backward, every epoch.
When the lower layers are frozen, their output for a given text never changes, so
there is no need to recompute it: run the texts through the lower layers *once*, keep
the hidden states, and let each epoch run only the top ``train_last_layers`` layers and
the head on those cached states. With 2 of MiniLM's 6 layers trained, an epoch costs
about a third of a forward pass instead of a full forward and backward pass.

The result is a normal model (all layers in place, the top ones retrained), so
:func:`tlhelpers.evaluate`, :func:`tlhelpers.predict` and :func:`tlhelpers.save_model`
work on it as on any other. It suits BERT-like encoders (BERT, RoBERTa, MiniLM).
"""

from __future__ import annotations

import contextlib
import time

import numpy as np
import torch
from datasets import DatasetDict
from sklearn.metrics import accuracy_score, f1_score
from torch import nn
from tqdm.auto import tqdm

from .batching import LengthGroupedSampler, PaddingCollator
from .config import set_seed
from .models import encoder_layers
from .training import (
    _METRIC_KEYS,
    History,
    TrainingResult,
    _prepare_data,
    learning_rate_schedule,
    parameter_groups,
)


def train_top_layers(
    model: nn.Module,
    tokenizer,
    data: DatasetDict,
    *,
    train_last_layers: int = 2,
    epochs: int = 4,
    lr: float = 1e-4,
    batch_size: int = 16,
    max_length: int = 128,
    weight_decay: float = 0.01,
    warmup_ratio: float = 0.1,
    max_grad_norm: float = 1.0,
    metric: str = "macro_f1",
    seed: int = 42,
    progress: bool = True,
) -> TrainingResult:
    """Retrain the top ``train_last_layers`` layers and the head on cached lower-layer states.

    The embeddings and the lower layers stay frozen (as with
    ``tlhelpers.freeze(model, train_last_layers=...)``); their outputs for the training and
    validation texts are computed once, up front. Dropout is off. After each epoch the
    model is scored on the validation split, and the best weights are kept.

    Args:
        model, tokenizer: from :func:`tlhelpers.load_model` (a BERT-like encoder).
        data: a DatasetDict with ``train`` and ``validation`` splits.
        train_last_layers: how many of the top transformer layers learn (0: only the head
            and pooler).
        epochs, lr, batch_size, max_length, weight_decay, warmup_ratio, max_grad_norm,
            metric, seed: as in :func:`tlhelpers.train`.
        progress: show a progress bar.

    Returns:
        A :class:`tlhelpers.TrainingResult`; ``seconds`` includes computing the cache.

    Example:
        >>> result = train_top_layers(model, tokenizer, data, train_last_layers=2, epochs=4)
        >>> tl.evaluate(model, tokenizer, data["test"]).accuracy
        0.96
    """
    if metric not in _METRIC_KEYS:
        raise ValueError(f"metric must be one of {_METRIC_KEYS}, got '{metric}'.")
    layers = encoder_layers(model)
    if not 0 <= train_last_layers < len(layers):
        raise ValueError(
            f"train_last_layers must be between 0 and {len(layers) - 1} for this "
            f"{len(layers)}-layer model, got {train_last_layers}."
        )
    if epochs < 1 or batch_size < 1 or lr <= 0:
        raise ValueError("epochs and batch_size must be at least 1 and lr positive.")
    _embeddings_owner(model)  # fail now, not after caching, if the model is not BERT-like
    tokenized = _prepare_data(data, tokenizer, max_length, model)
    settings = {
        "method": "cached lower layers", "train_last_layers": train_last_layers,
        "epochs": epochs, "lr": lr, "batch_size": batch_size, "max_length": max_length,
        "seed": seed, "train_examples": len(tokenized["train"]),
    }  # fmt: skip

    set_seed(seed)
    start = time.perf_counter()
    trainable_before = {p: p.requires_grad for p in model.parameters()}
    cut = len(layers) - train_last_layers
    head_params = _set_trainable(model, layers, cut)
    settings["trainable_parameters"] = sum(p.numel() for p in head_params)
    was_training = model.training
    try:
        train_cache = _cache_lower_layers(model, layers, cut, tokenized["train"], batch_size * 2)
        val_cache = _cache_lower_layers(model, layers, cut, tokenized["validation"], batch_size * 2)
        history, best, examples, tokens = _train_on_cache(
            model, layers, cut, train_cache, val_cache, tokenized["train"]["label"],
            tokenized["validation"]["label"], epochs=epochs, lr=lr, batch_size=batch_size,
            weight_decay=weight_decay, warmup_ratio=warmup_ratio, max_grad_norm=max_grad_norm,
            metric=metric, seed=seed, progress=progress, start=start,
        )  # fmt: skip
    finally:
        for parameter, flag in trainable_before.items():
            parameter.requires_grad_(flag)
        model.train(was_training)
    model.eval()
    model.config.tlhelpers_max_length = max_length
    seconds = time.perf_counter() - start
    return TrainingResult(
        history=history,
        best=best,
        settings=settings,
        seconds=seconds,
        examples_per_second=examples / seconds,
        tokens_per_second=tokens / seconds,
    )


def _set_trainable(model: nn.Module, layers: nn.ModuleList, cut: int) -> list[nn.Parameter]:
    """Freeze everything below layer ``cut``; everything else (top layers, pooler, head) learns."""
    frozen = {id(p) for p in _embeddings_owner(model).embeddings.parameters()}
    for layer in layers[:cut]:
        frozen |= {id(p) for p in layer.parameters()}
    trainable = []
    for parameter in model.parameters():
        parameter.requires_grad_(id(parameter) not in frozen)
        if parameter.requires_grad:
            trainable.append(parameter)
    return trainable


def _embeddings_owner(model: nn.Module) -> nn.Module:
    encoder = getattr(model, "base_model", model)
    if not hasattr(encoder, "embeddings"):
        raise ValueError(
            f"train_top_layers needs a BERT-like encoder with an `embeddings` module; "
            f"{type(model).__name__} has none. Use tlhelpers.freeze + tlhelpers.train instead."
        )
    return encoder


def _layer_list_owner(model: nn.Module, layers: nn.ModuleList) -> tuple[nn.Module, str]:
    for module in model.modules():
        for name, child in module.named_children():
            if child is layers:
                return module, name
    raise ValueError("Could not find the model's list of transformer layers.")


@contextlib.contextmanager
def _only_layers(model: nn.Module, layers: nn.ModuleList, keep: slice, skip_embeddings: bool):
    """Temporarily run the model with a slice of its layers (and, optionally, no embeddings).

    With ``skip_embeddings``, the embeddings module passes ``inputs_embeds`` straight
    through, so cached hidden states go in where the token embeddings would. Everything
    else (attention mask, pooler, head, loss) is the model's own code.
    """
    owner, name = _layer_list_owner(model, layers)
    encoder = _embeddings_owner(model)
    embeddings = encoder.embeddings
    setattr(owner, name, nn.ModuleList(list(layers)[keep]))
    if skip_embeddings:
        encoder.embeddings = _PassThrough()
    try:
        yield
    finally:
        setattr(owner, name, layers)
        encoder.embeddings = embeddings


class _PassThrough(nn.Module):
    def forward(self, input_ids=None, inputs_embeds=None, **kwargs):
        return inputs_embeds


def _batches(lengths: list[int], batch_size: int, shuffle: bool, seed: int = 0, epoch: int = 0):
    sampler = LengthGroupedSampler(lengths, batch_size, seed=seed, shuffle=shuffle)
    sampler.set_epoch(epoch)
    return list(sampler)


def _pad(states: list[torch.Tensor], index: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    longest = max(len(states[i]) for i in index)
    hidden = torch.zeros(len(index), longest, states[index[0]].shape[-1])
    mask = torch.zeros(len(index), longest, dtype=torch.long)
    for row, i in enumerate(index):
        hidden[row, : len(states[i])] = states[i]
        mask[row, : len(states[i])] = 1
    return hidden, mask


@torch.inference_mode()
def _cache_lower_layers(model, layers, cut: int, tokenized, batch_size: int) -> list[torch.Tensor]:
    """Hidden states after layer ``cut`` for every text, unpadded, computed once."""
    model.eval()
    encoder = _embeddings_owner(model)
    device = next(model.parameters()).device
    ids = tokenized["input_ids"]
    # Padding value 0, as before: the pad positions are masked out and dropped from the cache.
    collate = PaddingCollator(pad_token_id=0)
    states: list[torch.Tensor] = [torch.empty(0)] * len(ids)
    with _only_layers(model, layers, slice(0, cut), skip_embeddings=False):
        for index in _batches([len(x) for x in ids], batch_size, shuffle=False):
            batch = collate([{"input_ids": ids[i]} for i in index])
            hidden = encoder(**{k: v.to(device) for k, v in batch.items()})
            hidden = hidden.last_hidden_state.float().cpu()
            for row, i in enumerate(index):
                states[i] = hidden[row, : len(ids[i])].clone()
    return states


def _train_on_cache(
    model, layers, cut, train_cache, val_cache, train_labels, val_labels, *, epochs, lr,
    batch_size, weight_decay, warmup_ratio, max_grad_norm, metric, seed, progress, start,
):  # fmt: skip
    device = next(model.parameters()).device
    train_labels = torch.as_tensor(train_labels)
    lengths = [len(s) for s in train_cache]
    steps_per_epoch = -(-len(train_cache) // batch_size)
    total_steps = steps_per_epoch * epochs
    fused = device.type in ("cpu", "cuda")  # the fused kernel: ~5x faster steps on a CPU
    optimizer = torch.optim.AdamW(parameter_groups(model, lr, weight_decay, None), fused=fused)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, learning_rate_schedule(total_steps, round(warmup_ratio * total_steps))
    )
    dropouts = {m: m.p for m in model.modules() if isinstance(m, nn.Dropout)}
    trainable = [p for p in model.parameters() if p.requires_grad]
    history, best, best_state = History(), None, None
    examples = tokens = step = 0
    bar = tqdm(total=total_steps, desc="Training top layers", disable=not progress)
    with _only_layers(model, layers, slice(cut, None), skip_embeddings=True):
        try:
            for module in dropouts:
                module.p = 0.0  # the cache was computed without dropout; stay consistent
            for epoch in range(epochs):
                model.train()
                running = 0.0
                for index in _batches(lengths, batch_size, shuffle=True, seed=seed, epoch=epoch):
                    hidden, mask = _pad(train_cache, index)
                    outputs = model(
                        inputs_embeds=hidden.to(device),
                        attention_mask=mask.to(device),
                        labels=train_labels[index].to(device),
                    )
                    outputs.loss.backward()
                    if max_grad_norm:
                        torch.nn.utils.clip_grad_norm_(trainable, max_grad_norm)
                    optimizer.step()
                    scheduler.step()
                    optimizer.zero_grad(set_to_none=True)
                    step += 1
                    examples += len(index)
                    tokens += int(mask.sum())
                    running += outputs.loss.item() * len(index)
                    history.steps.append({
                        "step": step, "epoch": round(step / steps_per_epoch, 3),
                        "loss": outputs.loss.item(), "lr": scheduler.get_last_lr()[-1],
                        "seconds": time.perf_counter() - start,
                    })  # fmt: skip
                    bar.update(1)
                scores = _scores(model, val_cache, val_labels, batch_size * 2, device)
                record = {
                    "step": step, "epoch": epoch + 1, "train_loss": running / len(train_cache),
                    **scores, "seconds": time.perf_counter() - start,
                }  # fmt: skip
                history.evals.append(record)
                better = best is None or (
                    record[metric] < best[metric]
                    if metric == "loss"
                    else record[metric] > best[metric]
                )
                if better:
                    best = record
                    best_state = [p.detach().clone() for p in trainable]
                bar.set_postfix(val_macro_f1=f"{scores['macro_f1']:.3f}")
        finally:
            bar.close()
            for module, p in dropouts.items():
                module.p = p
            if best_state is not None:
                with torch.no_grad():
                    for parameter, value in zip(trainable, best_state, strict=True):
                        parameter.copy_(value)
    return history, best, examples, tokens


@torch.inference_mode()
def _scores(model, cache, labels, batch_size: int, device) -> dict[str, float]:
    model.eval()
    labels = np.asarray(labels)
    predictions = np.zeros(len(cache), dtype=int)
    loss = 0.0
    for index in _batches([len(s) for s in cache], batch_size, shuffle=False):
        hidden, mask = _pad(cache, index)
        logits = model(inputs_embeds=hidden.to(device), attention_mask=mask.to(device)).logits
        target = torch.as_tensor(labels[index], device=device)
        loss += torch.nn.functional.cross_entropy(logits.float(), target, reduction="sum").item()
        predictions[index] = logits.argmax(-1).cpu().numpy()
    return {
        "loss": loss / len(cache),
        "accuracy": float(accuracy_score(labels, predictions)),
        "macro_f1": float(f1_score(labels, predictions, average="macro", zero_division=0)),
    }
