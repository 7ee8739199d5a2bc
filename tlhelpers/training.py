"""Retrain a pretrained model on a new task: one training loop, readable top to bottom.

:func:`train` is the whole recipe of fine-tuning: tokenize once, batch texts of similar
length together, AdamW with a warmup-then-decay learning rate, gradient clipping,
evaluation on the validation split, early stopping, and the best weights restored at
the end. It runs on Hugging Face Accelerate, so the same code runs on a CPU, a GPU
(with mixed precision) or several processes (``torchrun --nproc_per_node 2 script.py``).
Press Ctrl-C (or a notebook's stop button) at any time: training stops cleanly, the
model keeps the best weights seen so far, and the history is returned.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch
from accelerate import Accelerator
from accelerate.utils import DataLoaderConfiguration
from datasets import DatasetDict
from sklearn.metrics import accuracy_score, f1_score
from torch import nn
from tqdm.auto import tqdm

from .batching import check_max_length, make_dataloader, tokenize_dataset
from .config import set_seed
from .data import check_labels_seen_in_training
from .models import encoder_layers, head_of, label_names

Callback = Callable[[str, "History"], None]


@dataclass
class History:
    """What happened during training: one record per logged step and per evaluation."""

    steps: list[dict] = field(default_factory=list)
    evals: list[dict] = field(default_factory=list)

    def steps_frame(self) -> pd.DataFrame:
        """Training loss and learning rate per logged step."""
        return pd.DataFrame(self.steps)

    def evals_frame(self) -> pd.DataFrame:
        """Validation loss, accuracy and macro-F1 per evaluation (each epoch, or more often)."""
        return pd.DataFrame(self.evals)


@dataclass
class TrainingResult:
    """What :func:`train` returns: the history, the best evaluation and how training ended."""

    history: History
    best: dict | None
    settings: dict
    seconds: float
    examples_per_second: float
    tokens_per_second: float
    stopped_early: bool = False
    interrupted: bool = False

    def summary(self) -> dict:
        """A flat dict for tables and JSON: the settings, timing and best validation scores."""
        out = {**self.settings, "seconds": round(self.seconds, 1)}
        out["examples_per_second"] = round(self.examples_per_second, 1)
        if self.best:
            out.update({f"val_{k}": v for k, v in self.best.items() if k in _METRIC_KEYS})
            out["best_epoch"] = self.best["epoch"]
        out["stopped_early"] = self.stopped_early
        out["interrupted"] = self.interrupted
        return out


_METRIC_KEYS = ("loss", "accuracy", "macro_f1")


def learning_rate_schedule(total_steps: int, warmup_steps: int) -> Callable[[int], float]:
    """Multiplier of the peak learning rate at each step: linear warmup, then linear decay to 0.

    Warmup matters because the new head starts random: its first gradients are large and
    noisy, and a full learning rate at step 0 would push the pretrained encoder far from
    what it knows.

    Example:
        >>> factor = learning_rate_schedule(total_steps=100, warmup_steps=10)
        >>> [round(factor(s), 2) for s in (0, 5, 10, 55, 100)]
        [0.0, 0.5, 1.0, 0.5, 0.0]
    """

    def factor(step: int) -> float:
        if step < warmup_steps:
            return step / max(1, warmup_steps)
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))

    return factor


def parameter_groups(
    model: nn.Module, lr: float, weight_decay: float, layer_lr_decay: float | None
) -> list[dict]:
    """AdamW parameter groups: no weight decay on biases and LayerNorms; optional layer-wise LR.

    With ``layer_lr_decay=d`` (discriminative learning rates), the head and the top layer
    learn at ``lr``, each layer below at ``d`` times the one above it, and the embeddings
    at the lowest rate: lower layers hold general language knowledge worth keeping.
    Frozen parameters are left out.
    """
    layers = list(encoder_layers(model))
    depth_of: dict[int, int] = {}
    if layer_lr_decay is not None:
        for depth, layer in enumerate(layers, start=1):
            for parameter in layer.parameters():
                depth_of[id(parameter)] = depth
        head_ids = {id(p) for p in head_of(model).parameters()}
    groups: dict[tuple[float, float], list] = {}
    for name, parameter in model.named_parameters():
        if not parameter.requires_grad:
            continue
        decay = (
            0.0
            if parameter.ndim < 2 or "LayerNorm" in name or "layer_norm" in name
            else weight_decay
        )
        group_lr = lr
        if layer_lr_decay is not None and id(parameter) not in head_ids:
            # Embeddings count as depth 0; the pooler (above the last layer) as the top.
            depth = depth_of.get(id(parameter), 0 if "embeddings" in name else len(layers))
            group_lr = lr * layer_lr_decay ** (len(layers) - depth)
        groups.setdefault((group_lr, decay), []).append(parameter)
    if not groups:
        raise ValueError("The model has no trainable parameters: call tlhelpers.unfreeze(model).")
    return [{"params": ps, "lr": g_lr, "weight_decay": wd} for (g_lr, wd), ps in groups.items()]


def _accelerator(mixed_precision: str) -> Accelerator:
    if mixed_precision == "auto":
        if torch.cuda.is_available():
            mixed_precision = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        else:
            # bf16 autocast on a CPU without native bf16 measured ~20x slower: never on CPU.
            mixed_precision = "no"
    from accelerate.state import AcceleratorState, PartialState

    state = AcceleratorState._shared_state
    if state and state.get("_mixed_precision") not in (None, mixed_precision):
        if PartialState().num_processes > 1:
            raise ValueError("Cannot change mixed_precision inside a multi-process run.")
        AcceleratorState._reset_state()
    # Launched by torchrun on a machine without a GPU, Accelerate runs each process alone
    # (every rank trains on all the data) unless told cpu=True: then ranks share the data.
    cpu = int(os.environ.get("WORLD_SIZE", "1")) > 1 and not torch.cuda.is_available()
    # split_batches: batch_size is the *global* batch, so 1 and N processes train the same way.
    return Accelerator(
        cpu=cpu,
        mixed_precision=mixed_precision,
        dataloader_config=DataLoaderConfiguration(split_batches=True),
    )


def _prepare_data(data: DatasetDict, tokenizer, max_length: int, model) -> DatasetDict:
    if not isinstance(data, DatasetDict) or not {"train", "validation"} <= set(data):
        raise ValueError(
            "train() needs a DatasetDict with 'train' and 'validation' splits; "
            "make one with tlhelpers.load_text_dataset(...)."
        )
    for split in ("train", "validation"):
        if len(data[split]) == 0:
            raise ValueError(f"The {split} split is empty.")
        missing = {"label"} - set(data[split].column_names)
        if missing or not ({"text", "input_ids"} & set(data[split].column_names)):
            raise ValueError(
                f"The {split} split needs 'text' and 'label' columns; it has "
                f"{data[split].column_names}."
            )
    names = data["train"].features["label"].names
    model_names = label_names(model)
    if len(names) != len(model_names):
        raise ValueError(
            f"The model's head has {len(model_names)} outputs {model_names} but the data has "
            f"{len(names)} labels {names}. Load the model with labels=data['train'].features"
            "['label'].names, or call tlhelpers.replace_head(model, names)."
        )
    check_labels_seen_in_training(data["train"]["label"], data["validation"]["label"], names)
    check_max_length(max_length, tokenizer, model)
    if "input_ids" in data["train"].column_names:
        return data
    return tokenize_dataset(
        DatasetDict(train=data["train"], validation=data["validation"]), tokenizer, max_length
    )


def train(
    model: nn.Module,
    tokenizer,
    data: DatasetDict,
    *,
    epochs: int = 3,
    lr: float = 5e-5,
    batch_size: int = 32,
    max_length: int = 128,
    weight_decay: float = 0.01,
    warmup_ratio: float = 0.1,
    max_grad_norm: float = 1.0,
    layer_lr_decay: float | None = None,
    dropout: float | None = 0.0,
    group_by_length: bool = True,
    patience: int | None = None,
    metric: str = "macro_f1",
    eval_every: int | None = None,
    max_steps: int | None = None,
    mixed_precision: str = "auto",
    seed: int = 42,
    callbacks: Sequence[Callback] = (),
    progress: bool = True,
    log_every: int = 10,
) -> TrainingResult:
    """Fine-tune ``model`` on ``data["train"]``, evaluating on ``data["validation"]``.

    Only parameters with ``requires_grad`` learn, so call :func:`tlhelpers.freeze` first
    for feature extraction or partial fine-tuning.

    Args:
        model, tokenizer: from :func:`tlhelpers.load_model`.
        data: a DatasetDict with ``train`` and ``validation`` (raw text or tokenized).
        epochs: passes over the training data.
        lr: peak learning rate (of the head and top layer).
        batch_size: examples per optimizer step, over all processes together.
        max_length: longer texts are truncated to this many tokens.
        weight_decay: AdamW decoupled weight decay (not applied to biases and LayerNorms).
        warmup_ratio: share of the steps over which the learning rate rises from 0.
        max_grad_norm: gradients are clipped to this norm (guards against a bad batch).
        layer_lr_decay: e.g. 0.8 for discriminative learning rates; ``None`` for one rate.
        dropout: dropout probability during training; 0 (the default) turns it off, which
            measured 1.4-1.8x faster on a CPU at equal accuracy; ``None`` keeps the model's.
        group_by_length: batch texts of similar length together (less padding, faster).
        patience: stop after this many evaluations without improvement (``None``: never).
        metric: the validation metric that picks the best weights: ``"macro_f1"``,
            ``"accuracy"`` or ``"loss"``.
        eval_every: also evaluate every N steps (default: once per epoch).
        max_steps: stop after this many optimizer steps (for quick runs).
        mixed_precision: ``"auto"`` (bf16/fp16 on CUDA, off on a CPU), ``"no"``, ``"bf16"``,
            ``"fp16"``.
        seed: the same seed gives the same result on a CPU.
        callbacks: functions ``f(event, history)`` called on ``"step"``, ``"eval"`` and
            ``"end"``, e.g. to draw a live plot.
        progress: show a progress bar.
        log_every: record the training loss every N steps.

    Returns:
        A :class:`TrainingResult`; the model itself holds the best weights.

    Example:
        >>> result = train(model, tokenizer, data, epochs=2, lr=5e-5)
        >>> result.best["macro_f1"]
        0.71
    """
    if metric not in _METRIC_KEYS:
        raise ValueError(f"metric must be one of {_METRIC_KEYS}, got '{metric}'.")
    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        if value < 1:
            raise ValueError(f"{name} must be at least 1, got {value}.")
    if lr <= 0:
        raise ValueError(f"lr must be positive, got {lr}.")
    tokenized = _prepare_data(data, tokenizer, max_length, model)
    settings = {
        "epochs": epochs, "lr": lr, "batch_size": batch_size, "max_length": max_length,
        "weight_decay": weight_decay, "warmup_ratio": warmup_ratio,
        "max_grad_norm": max_grad_norm, "layer_lr_decay": layer_lr_decay, "dropout": dropout,
        "group_by_length": group_by_length, "patience": patience, "metric": metric,
        "seed": seed, "train_examples": len(data["train"]),
        "trainable_parameters": sum(p.numel() for p in model.parameters() if p.requires_grad),
    }  # fmt: skip

    set_seed(seed)
    accelerator = _accelerator(mixed_precision)
    pad_id = tokenizer.pad_token_id or 0
    train_loader = make_dataloader(
        tokenized["train"],
        batch_size,
        group_by_length=group_by_length,
        pad_token_id=pad_id,
        seed=seed,
    )
    eval_loader = make_dataloader(
        tokenized["validation"], batch_size * 2, shuffle=False, pad_token_id=pad_id
    )
    steps_per_epoch = len(train_loader)
    total_steps = (
        steps_per_epoch * epochs if max_steps is None else min(max_steps, steps_per_epoch * epochs)
    )
    # The fused AdamW kernel measured 5x faster than the default per-tensor loop on a CPU
    # (0.04 s vs 0.21 s a step for MiniLM); Trainer uses it too.
    optimizer = torch.optim.AdamW(
        parameter_groups(model, lr, weight_decay, layer_lr_decay),
        fused=accelerator.device.type in ("cpu", "cuda"),
    )
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, learning_rate_schedule(total_steps, round(warmup_ratio * total_steps))
    )
    original_dropout = {m: m.p for m in model.modules() if isinstance(m, nn.Dropout)}
    if dropout is not None:
        for module in original_dropout:
            module.p = dropout
    model, optimizer, train_loader, eval_loader, scheduler = accelerator.prepare(
        model, optimizer, train_loader, eval_loader, scheduler
    )

    history = History()
    best: dict | None = None
    best_state: dict[str, torch.Tensor] | None = None
    evals_without_improvement = 0
    stopped_early = interrupted = False
    step, examples, real_tokens = 0, 0, 0
    running_loss, running_count = 0.0, 0
    start = time.perf_counter()
    bar = tqdm(
        total=total_steps, desc="Training", disable=not (progress and accelerator.is_main_process)
    )

    def emit(event: str) -> None:
        for callback in callbacks:
            callback(event, history)

    def evaluate_now(epoch: float) -> bool:
        """Evaluate, keep the best weights; return True if training should stop early."""
        nonlocal best, best_state, evals_without_improvement, running_loss, running_count
        scores = _validation_scores(model, eval_loader, accelerator)
        record = {
            "step": step, "epoch": round(epoch, 3),
            "train_loss": running_loss / max(1, running_count),
            **scores, "seconds": time.perf_counter() - start,
        }  # fmt: skip
        running_loss, running_count = 0.0, 0
        history.evals.append(record)
        better = best is None or (
            record[metric] < best[metric] if metric == "loss" else record[metric] > best[metric]
        )
        if better:
            best = record
            best_state = {
                k: v.detach().to("cpu", copy=True)
                for k, v in accelerator.unwrap_model(model).state_dict().items()
            }
            evals_without_improvement = 0
        else:
            evals_without_improvement += 1
        bar.set_postfix(
            val_macro_f1=f"{scores['macro_f1']:.3f}", val_acc=f"{scores['accuracy']:.3f}"
        )
        emit("eval")
        return patience is not None and evals_without_improvement > patience

    try:
        done = False
        for epoch in range(epochs):
            if hasattr(train_loader, "set_epoch"):
                train_loader.set_epoch(epoch)
            model.train()
            for batch in train_loader:
                outputs = model(**batch)  # the model computes its own cross-entropy loss
                accelerator.backward(outputs.loss)
                if max_grad_norm:
                    accelerator.clip_grad_norm_(model.parameters(), max_grad_norm)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)

                step += 1
                batch_examples = len(batch["labels"]) * accelerator.num_processes
                examples += batch_examples
                real_tokens += int(batch["attention_mask"].sum()) * accelerator.num_processes
                loss = outputs.loss.item()
                running_loss += loss * batch_examples
                running_count += batch_examples
                bar.update(1)
                if step % log_every == 0 or step == 1:
                    history.steps.append({
                        "step": step, "epoch": round(step / steps_per_epoch, 3), "loss": loss,
                        "lr": scheduler.get_last_lr()[-1], "seconds": time.perf_counter() - start,
                    })  # fmt: skip
                    bar.set_postfix(loss=f"{loss:.3f}")
                    emit("step")
                if eval_every and step % eval_every == 0 and step % steps_per_epoch != 0:
                    if evaluate_now(step / steps_per_epoch):
                        stopped_early = done = True
                        break
                    model.train()
                if step >= total_steps:
                    done = True
                    break
            if not stopped_early and evaluate_now(step / steps_per_epoch):
                stopped_early = done = True
            if done:
                break
    except KeyboardInterrupt:
        interrupted = True
        if accelerator.is_main_process:
            print("Training interrupted: keeping the best weights so far.")
    finally:
        bar.close()
        seconds = time.perf_counter() - start
        unwrapped = accelerator.unwrap_model(model)
        if best_state is not None:
            unwrapped.load_state_dict(best_state)
        for module, p in original_dropout.items():
            module.p = p
        unwrapped.config.tlhelpers_max_length = max_length
        unwrapped.eval()

    result = TrainingResult(
        history=history,
        best=best,
        settings=settings,
        seconds=seconds,
        examples_per_second=examples / seconds if seconds else 0.0,
        tokens_per_second=real_tokens / seconds if seconds else 0.0,
        stopped_early=stopped_early,
        interrupted=interrupted,
    )
    emit("end")
    return result


@torch.inference_mode()
def _validation_scores(model, loader, accelerator: Accelerator) -> dict[str, float]:
    model.eval()
    losses, predictions, references = [], [], []
    for batch in loader:
        outputs = model(**batch)
        logits, labels = accelerator.gather_for_metrics((outputs.logits, batch["labels"]))
        losses.append(
            torch.nn.functional.cross_entropy(logits.float(), labels, reduction="sum").item()
        )
        predictions.append(logits.argmax(-1).cpu().numpy())
        references.append(labels.cpu().numpy())
    y_pred, y_true = np.concatenate(predictions), np.concatenate(references)
    return {
        "loss": sum(losses) / len(y_true),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": float(f1_score(y_true, y_pred, average="macro", zero_division=0)),
    }


def settings_to_dict(result: TrainingResult) -> dict[str, Any]:
    """The training settings and outcome as plain JSON-able data (for saving)."""
    history = asdict(result.history)
    summary = result.summary()
    return {"summary": summary, "history": history}


def estimate_minutes(n_examples: int, epochs: int, examples_per_second: float) -> float:
    """Rough training time, to warn a learner before a long run.

    Example:
        >>> estimate_minutes(30_000, 1, examples_per_second=40)
        12.5
    """
    return (
        round(n_examples * epochs / examples_per_second / 60, 1)
        if examples_per_second
        else math.inf
    )
