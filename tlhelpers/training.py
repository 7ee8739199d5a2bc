"""Retrain a pretrained model on a new task: one training loop, readable top to bottom.

:func:`train` is AdamW with warmup then decay, clipping, validation, early stopping and
the best weights restored, on Hugging Face Accelerate (CPU, GPU, ``torchrun``). How a run
stops is :mod:`tlhelpers.stopping`.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import math
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import torch
from accelerate import Accelerator
from accelerate.state import AcceleratorState
from accelerate.utils import DataLoaderConfiguration
from datasets import DatasetDict
from torch import nn
from torch.utils.data import DataLoader
from transformers import get_scheduler

from .batching import make_dataloader, pad_token_id, prepare_data
from .config import DATA_AND_MODEL_SETTINGS, TrainConfig, progress_bar, set_seed
from .evaluation import compute_metrics
from .inference import inference_mode
from .layer_cache import LowerLayerCache
from .models import count_parameters, encoder_layers, head_of, label_names, set_dropout
from .record import data_record, fingerprint, model_record
from .stopping import BestWeights, StopSignals, interrupt_message

logger = logging.getLogger(__name__)

Callback = Callable[[str, "History"], None]


@dataclass
class History:
    """What happened during training: one record per logged step and per validation."""

    steps: list[dict] = field(default_factory=list)
    evals: list[dict] = field(default_factory=list)

    def steps_frame(self) -> pd.DataFrame:
        """Training loss and learning rate per logged step."""
        return pd.DataFrame(self.steps)

    def evals_frame(self) -> pd.DataFrame:
        """Validation loss, accuracy and macro-F1 per validation (each epoch, or more often)."""
        return pd.DataFrame(self.evals)


@dataclass
class TrainingResult:
    """What :func:`train` returns: the settings, the history, the best validation, the ending.

    ``best``: the validation whose weights the model holds (None before the first).
    ``data_used``/``model_used``: what the run was handed (:mod:`tlhelpers.record`).
    """

    config: TrainConfig
    history: History
    best: dict | None
    train_examples: int
    trainable_parameters: int
    seconds: float
    examples_per_second: float
    stopped_early: bool = False
    interrupted: bool = False
    stop_signal: str | None = None
    class_weights: list[float] | None = None
    data_used: dict[str, Any] | None = None
    model_used: dict[str, Any] | None = None

    def summary(self) -> dict[str, Any]:
        """A flat dict for tables and JSON: size, timing, best validation scores, ending."""
        out: dict[str, Any] = {
            "train_examples": self.train_examples,
            "trainable_parameters": self.trainable_parameters,
            "seconds": round(self.seconds, 1),
            "examples_per_second": round(self.examples_per_second, 1),
        }
        if self.best:
            out.update({f"val_{k}": self.best[k] for k in ("loss", "accuracy", "macro_f1")})
            out.update(best_epoch=self.best["epoch"], best_step=self.best["step"])
        out.update(stopped_early=self.stopped_early, interrupted=self.interrupted)
        if self.class_weights is not None:
            out["class_weights"] = self.class_weights
        return out


def learning_rate_schedule(total_steps: int, warmup_steps: int) -> Callable[[int], float]:
    """Multiplier of the peak learning rate at each step: linear warmup, then linear decay to 0.

    Hugging Face's ``get_scheduler("linear", ...)`` as a function of the step. Warmup keeps
    the new head's first large, noisy gradients from pushing the encoder far.

    Example:
        >>> factor = learning_rate_schedule(total_steps=100, warmup_steps=10)
        >>> [round(factor(s), 2) for s in (0, 5, 10, 55, 100)]
        [0.0, 0.5, 1.0, 0.5, 0.0]
    """
    optimizer = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=1.0)
    scheduler = get_scheduler("linear", optimizer, warmup_steps, total_steps)
    return scheduler.lr_lambdas[0]


def parameter_groups(
    model: nn.Module, lr: float, weight_decay: float, layer_lr_decay: float | None
) -> list[dict]:
    """AdamW parameter groups: no weight decay on biases and LayerNorms; optional layer-wise LR.

    With ``layer_lr_decay=d`` each layer learns at ``d`` times the rate of the one above
    (the head and top layer at ``lr``): lower layers hold general knowledge worth keeping.

    Example:
        >>> groups = parameter_groups(model, lr=1e-4, weight_decay=0.01, layer_lr_decay=0.8)
    """
    layers = list(encoder_layers(model))
    depth_of = {id(p): depth for depth, layer in enumerate(layers, 1) for p in layer.parameters()}
    head_ids = {id(p) for p in head_of(model).parameters()}
    groups: dict[tuple[float, float], list] = {}
    for name, parameter in model.named_parameters():
        if not parameter.requires_grad:
            continue
        no_decay = parameter.ndim < 2 or "LayerNorm" in name or "layer_norm" in name
        group_lr = lr
        if layer_lr_decay is not None and id(parameter) not in head_ids:
            # Embeddings count as depth 0; the pooler (above the last layer) as the top.
            depth = depth_of.get(id(parameter), 0 if "embeddings" in name else len(layers))
            group_lr = lr * layer_lr_decay ** (len(layers) - depth)
        groups.setdefault((group_lr, 0.0 if no_decay else weight_decay), []).append(parameter)
    if not groups:
        raise ValueError("The model has no trainable parameters: call tlhelpers.unfreeze(model).")
    return [{"params": ps, "lr": g_lr, "weight_decay": wd} for (g_lr, wd), ps in groups.items()]


@contextlib.contextmanager
def dropout_set_to(model: nn.Module, probability: float | None) -> Iterator[None]:
    """Set every dropout layer to ``probability`` (None: unchanged) inside the block."""
    original = {m: m.p for m in model.modules() if isinstance(m, nn.Dropout)}
    if probability is not None:
        set_dropout(model, probability)
    try:
        yield
    finally:
        for module, p in original.items():
            module.p = p


def make_accelerator(mixed_precision: str = "auto") -> Accelerator:
    """The Accelerator of a run: device, mixed precision and, under torchrun, data parallelism."""
    # Launched by torchrun on a machine without a GPU, Accelerate runs each process alone
    # (every rank trains on all the data) unless told cpu=True: then ranks share the data.
    cpu = int(os.environ.get("WORLD_SIZE", "1")) > 1 and not torch.cuda.is_available()
    if mixed_precision == "auto":  # bf16 (else fp16) on a GPU; off on a CPU (bf16: ~20x slower)
        on_gpu = torch.cuda.is_available() and not cpu
        mixed_precision = (
            "no" if not on_gpu else "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        )
    if AcceleratorState._shared_state.get("_mixed_precision", mixed_precision) != mixed_precision:
        # Accelerate keeps one precision per process, but each run here chooses its own:
        # forget the last run's choice (the processes' group, PartialState, stays).
        AcceleratorState._reset_state()
    # split_batches: batch_size is the *global* batch, so 1 and N processes train the same
    # way; non_blocking: copies from pinned memory overlap with the GPU's work.
    config = DataLoaderConfiguration(split_batches=True, non_blocking=torch.cuda.is_available())
    return Accelerator(cpu=cpu, mixed_precision=mixed_precision, dataloader_config=config)


def loss_function(model: nn.Module, class_weights: Sequence[float] | None) -> nn.Module:
    """Cross-entropy, optionally with one weight per class (``CrossEntropyLoss(weight=...)``)."""
    if class_weights is None:
        return nn.CrossEntropyLoss()
    names = label_names(model)
    weights = torch.as_tensor(class_weights, dtype=torch.float32)
    if weights.shape != (len(names),) or not bool((weights > 0).all() & weights.isfinite().all()):
        raise ValueError(
            f"class_weights needs one positive weight per class, in the order {names}; "
            f"got {list(class_weights)}."
        )
    return nn.CrossEntropyLoss(weight=weights)


# What to do instead of handing train() a data or model setting it cannot honour.
_INSTEAD = {
    "n_per_class": "sample the training split first: "
    "data['train'] = tl.stratified_sample(data['train'], per_class=n)",
    "max_validation_examples": "sample the validation split first: "
    "data['validation'] = tl.stratified_sample(data['validation'], size=n)",
    "model": "load the model you want with tl.load_model(...) and pass it",
    "pretrained": "pass a model built with tl.random_model(...)",
    "train_last_layers": "freeze the model first: tl.freeze(model, train_last_layers=n)",
    "lora_rank": "add the adapters first: model = tl.add_lora(model, rank=r)",
    "lora_alpha": "add the adapters first: model = tl.add_lora(model, rank=r)",
}
_LOAD_INSTEAD = "load the data with those options: tl.load_text_dataset(...)"


def _resolve_config(config: TrainConfig | None, settings: dict[str, Any]) -> TrainConfig:
    """``config`` with ``settings`` applied; data and model settings are refused."""
    # train() is handed a ready model and data: such a field would be ignored, yet recorded.
    default = TrainConfig()
    given = {name: settings[name] for name in DATA_AND_MODEL_SETTINGS if name in settings}
    if config is not None:
        for name in DATA_AND_MODEL_SETTINGS:
            if name not in given and getattr(config, name) != getattr(default, name):
                given[name] = getattr(config, name)
    if given:
        listed = ", ".join(f"{name}={value!r}" for name, value in given.items())
        instead = sorted({_INSTEAD.get(name, _LOAD_INSTEAD) for name in given})
        raise ValueError(
            f"train() cannot honour {listed}: it trains the model and data it is handed, "
            f"so these data/model settings would be ignored. Either {'; '.join(instead)}; "
            "or describe the whole run in a TrainConfig and call tl.fine_tune(config), "
            "which loads, samples and freezes as it says."
        )
    return (config or default).replace(**settings)


def train(
    model: nn.Module,
    tokenizer,
    data: DatasetDict,
    config: TrainConfig | None = None,
    *,
    callbacks: Sequence[Callback] = (),
    progress: bool = True,
    class_weights: Sequence[float] | None = None,
    **settings: Any,
) -> TrainingResult:
    """Fine-tune ``model`` on ``data["train"]``, validating on ``data["validation"]``.

    Only parameters with ``requires_grad`` learn (see :func:`tlhelpers.freeze`); the model
    ends with the best validated weights. Trainer's twin:
    ``Trainer(model, args, train_dataset, eval_dataset).train()``.

    Args:
        config: a :class:`tlhelpers.TrainConfig` whose data and model fields keep their
            defaults (the data and model are the ones handed over).
        callbacks: functions ``f(event, history)`` called on ``"step"``, ``"eval"``, ``"end"``.
        class_weights: one loss weight per class, in the model's label order.
        **settings: training fields of :class:`TrainConfig` (``epochs``, ``lr`` ...).

    Example:
        >>> result = train(model, tokenizer, data, epochs=2, lr=5e-5)
        >>> result.best["macro_f1"]
        0.71
    """
    config = _resolve_config(config, settings)
    tokenized = prepare_data(data, tokenizer, model, config.max_length)
    set_seed(config.seed)
    accelerator = make_accelerator(config.mixed_precision)
    criterion = loss_function(model, class_weights).to(accelerator.device)
    # With cache_frozen_layers the frozen lower layers run here, once; the `with` skips them.
    train_loader, eval_loader, only_top_layers = batch_sources(
        model, tokenizer, tokenized, config, accelerator.device
    )
    steps_per_epoch = len(train_loader)
    total_steps = min(steps_per_epoch * config.epochs, config.max_steps or math.inf)
    # AdamW (fused: 5x faster than the per-tensor loop on a CPU, MiniLM; Trainer fuses too)
    # with linear warmup then decay: Trainer's create_optimizer_and_scheduler.
    groups = parameter_groups(model, config.lr, config.weight_decay, config.layer_lr_decay)
    optimizer = torch.optim.AdamW(groups, fused=accelerator.device.type in ("cpu", "cuda"))
    warmup_steps = round(config.warmup_ratio * total_steps)
    scheduler = get_scheduler("linear", optimizer, warmup_steps, total_steps)
    history, best = History(), BestWeights(config.metric, config.patience)
    # The training loss, summed on the device: read (a GPU wait) only at validation.
    loss_sum = torch.zeros((), device=accelerator.device)
    examples = examples_at_eval = 0
    eval_seconds, start = 0.0, time.perf_counter()
    bar = progress_bar(
        total=total_steps, desc="Training", enabled=progress and accelerator.is_main_process
    )
    with dropout_set_to(model, config.dropout), only_top_layers, StopSignals() as stop, bar:
        model, optimizer, train_loader, eval_loader, scheduler = accelerator.prepare(
            model, optimizer, train_loader, eval_loader, scheduler
        )
        model.train()
        try:
            for step, batch in enumerate(_epoch_after_epoch(train_loader), start=1):
                labels = batch.pop("labels")
                with accelerator.autocast():
                    loss = criterion(model(**batch).logits.float(), labels)
                accelerator.backward(loss)
                if config.max_grad_norm:
                    accelerator.clip_grad_norm_(model.parameters(), config.max_grad_norm)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)

                batch_examples = len(labels) * accelerator.num_processes
                loss_sum += loss.detach().float() * batch_examples
                examples += batch_examples
                bar.update(1)
                at = {"step": step, "epoch": round(step / steps_per_epoch, 3)}
                if step % config.log_every == 0 or step == 1:
                    lr = scheduler.get_last_lr()[-1]
                    seconds = time.perf_counter() - start
                    history.steps.append({**at, "loss": loss.item(), "lr": lr, "seconds": seconds})
                    bar.set_postfix(loss=f"{loss.item():.3f}")
                    _emit(callbacks, "step", history)
                # Validate at the end of each epoch, every eval_every steps, and at the end.
                every = config.eval_every and step % config.eval_every == 0
                if step % steps_per_epoch == 0 or step == total_steps or every:
                    eval_start = time.perf_counter()
                    scores = validation_scores(model, eval_loader, accelerator, criterion)
                    eval_seconds += time.perf_counter() - eval_start
                    now = time.perf_counter() - start
                    train_loss = loss_sum.item() / (examples - examples_at_eval)
                    loss_sum.zero_()
                    examples_at_eval = examples
                    record = dict(at, train_loss=train_loss, **scores, seconds=now)
                    history.evals.append(dict(record, train_seconds=now - eval_seconds))
                    best.update(history.evals[-1], model)
                    bar.set_postfix(val_macro_f1=f"{scores['macro_f1']:.3f}")
                    _emit(callbacks, "eval", history)
                # The one stop condition: the budget is spent, patience ran out, or a signal came.
                if step == total_steps:
                    ending = "finished"
                elif best.out_of_patience:
                    ending = "early stop"
                else:
                    ending = stop.received  # None: no signal, keep going
                if ending is not None:
                    break
        except KeyboardInterrupt:  # a second signal, or a callback's KeyboardInterrupt
            ending = stop.received or "interrupted"
    seconds = time.perf_counter() - start
    best.restore()
    model = accelerator.unwrap_model(model, keep_fp32_wrapper=False).eval()
    interrupted = ending not in ("finished", "early stop")  # a signal, or "interrupted"
    if interrupted and accelerator.is_main_process:
        logger.warning(interrupt_message(best.record))
    _emit(callbacks, "end", history)
    return TrainingResult(
        config=config,
        history=history,
        best=best.record,
        train_examples=len(tokenized["train"]),
        trainable_parameters=count_parameters(model)["trainable"],
        seconds=seconds,
        examples_per_second=examples / seconds,
        stopped_early=ending == "early stop",
        interrupted=interrupted,
        stop_signal=stop.received if interrupted else None,
        class_weights=None if class_weights is None else [float(w) for w in class_weights],
        data_used=data_record(fingerprint(data)),
        model_used=model_record(model),
    )


def batch_sources(
    model: nn.Module, tokenizer, tokenized: DatasetDict, config: TrainConfig, device: torch.device
) -> tuple[DataLoader, DataLoader, contextlib.AbstractContextManager]:
    """Training and validation loaders, and the context to run them in (cached: top layers only)."""
    pad_id, on_gpu = pad_token_id(tokenizer), device.type == "cuda"
    if config.cache_frozen_layers:
        cache = LowerLayerCache(model.to(device))
        inputs = {split: cache.model_inputs(tokenized[split], pad_id) for split in tokenized}
        context = cache.top_layers_only()
    else:
        inputs, context = tokenized, contextlib.nullcontext()
    options = dict(
        group_by_length=config.group_by_length,
        pad_token_id=pad_id,
        seed=config.seed,
        pin_memory=on_gpu,
        pad_to_multiple_of=8 if on_gpu else None,
    )
    return (
        make_dataloader(inputs["train"], config.batch_size, **options),
        # Validation needs no gradients, so twice the batch fits in the same memory.
        make_dataloader(inputs["validation"], 2 * config.batch_size, shuffle=False, **options),
        context,
    )


def _epoch_after_epoch(loader) -> Iterator[dict]:
    """The loader's batches, epoch after epoch, each epoch in another (seeded) order."""
    for epoch in itertools.count():
        if hasattr(loader, "set_epoch"):
            loader.set_epoch(epoch)
        yield from loader


def _emit(callbacks: Sequence[Callback], event: str, history: History) -> None:
    for callback in callbacks:
        callback(event, history)


def validation_scores(
    model: nn.Module, loader, accelerator: Accelerator, criterion: nn.Module
) -> dict[str, float]:
    """Validation loss (``criterion``), accuracy and macro-F1, gathered from every process."""
    # Logits stay on the device until the end: one transfer per validation, not per batch.
    all_logits, all_labels = [], []
    with inference_mode(model):
        for batch in loader:
            labels = batch.pop("labels")
            with accelerator.autocast():
                logits = model(**batch).logits
            logits, labels = accelerator.gather_for_metrics((logits, labels))
            all_logits.append(logits.float())
            all_labels.append(labels)
        logits, labels = torch.cat(all_logits), torch.cat(all_labels)
        loss = criterion(logits, labels).item()
        y_pred, y_true = logits.argmax(-1).cpu().numpy(), labels.cpu().numpy()
    return {"loss": loss, **compute_metrics(y_true, y_pred, logits.shape[-1])}
