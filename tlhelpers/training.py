"""Retrain a pretrained model on a new task: one training loop, readable top to bottom.

:func:`train` is the whole recipe of fine-tuning: tokenize once, batch texts of similar
length together, AdamW with a warmup-then-decay learning rate, gradient clipping,
validation, early stopping, and the best weights restored at the end. It runs on Hugging
Face Accelerate, so the same code runs on a CPU, a GPU (with mixed precision) or several
processes (``torchrun --nproc_per_node 2 script.py``).

Stopping: Ctrl-C (a notebook's stop button) or SIGTERM ends the run after the current
step; a second one stops at once. Either way the model gets the best *validated* weights
seen so far, and the result says how the run ended. Stopped before any validation, there
are no validated weights: the model keeps its last weights and ``result.best`` is None.

On a GPU the loop never waits for the device inside a step: the loss is summed on the
device and read only when it is logged, batches come from pinned memory with
non-blocking copies, so the CPU queues the next step while the GPU runs this one.
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import torch
from accelerate import Accelerator
from accelerate.utils import DataLoaderConfiguration
from datasets import DatasetDict
from torch import nn

from .batching import check_max_length, make_dataloader, pad_token_id, tokenize_dataset
from .config import DATA_AND_MODEL_SETTINGS, TrainConfig, progress_bar, set_seed
from .data import check_labels_seen_in_training
from .evaluation import compute_metrics
from .inference import inference_mode
from .models import encoder_layers, head_of, label_names

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

    ``best`` is the validation record whose weights the model now holds (None if the run
    stopped before its first validation). ``stop_signal`` is ``"SIGINT"`` or ``"SIGTERM"``
    when a signal ended the run.
    """

    config: TrainConfig
    history: History
    best: dict | None
    train_examples: int
    trainable_parameters: int
    seconds: float
    examples_per_second: float
    tokens_per_second: float
    stopped_early: bool = False
    interrupted: bool = False
    stop_signal: str | None = None

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
        return out


def learning_rate_schedule(total_steps: int, warmup_steps: int) -> Callable[[int], float]:
    """Multiplier of the peak learning rate at each step: linear warmup, then linear decay to 0.

    Warmup matters because the new head starts random: its first gradients are large and
    noisy, and a full learning rate at step 0 would push the pretrained encoder far from
    what it knows. This is the shape of ``transformers.get_scheduler("linear", ...)``
    (a test checks they agree), written out because the course plots and explains it.

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

    Example:
        >>> groups = parameter_groups(model, lr=1e-4, weight_decay=0.01, layer_lr_decay=0.8)
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


class BestWeights:
    """Keep the weights of the best validation so far, and count validations without gain.

    Only trainable parameters are copied (frozen ones never change), and the copy stays
    on the model's device, so keeping a snapshot costs no transfer.

    Example:
        >>> best = BestWeights(metric="macro_f1", patience=2)
        >>> improved = best.update({"macro_f1": 0.7, ...}, model)
        >>> best.restore()            # the model gets the best weights back
    """

    def __init__(self, metric: str, patience: int | None):
        self.metric, self.patience = metric, patience
        self.record: dict | None = None
        self.misses = 0
        self._saved: list[tuple[nn.Parameter, torch.Tensor]] = []

    def is_better(self, record: dict) -> bool:
        if self.record is None:
            return True
        if self.metric == "loss":
            return record["loss"] < self.record["loss"]
        return record[self.metric] > self.record[self.metric]

    def update(self, record: dict, model: nn.Module) -> bool:
        """Remember ``record`` and the model's weights if it is the best so far."""
        if not self.is_better(record):
            self.misses += 1
            return False
        trainable = [p for p in model.parameters() if p.requires_grad]
        self._saved = [(p, p.detach().clone()) for p in trainable]  # built, then swapped in
        self.record, self.misses = record, 0
        return True

    @property
    def out_of_patience(self) -> bool:
        """True after ``patience`` validations in a row without improvement (0 counts as 1).

        The same count as ``EarlyStoppingCallback(early_stopping_patience=N)``: with
        ``patience=2`` the run stops at the second validation in a row that brings no gain.
        """
        return self.patience is not None and self.misses >= max(1, self.patience)

    @torch.no_grad()
    def restore(self) -> None:
        """Copy the best weights back into the model (nothing to do before a validation)."""
        for parameter, value in self._saved:
            parameter.copy_(value)


@contextlib.contextmanager
def dropout_set_to(model: nn.Module, probability: float | None) -> Iterator[None]:
    """Set every dropout layer to ``probability`` inside the block; restore them after.

    ``None`` leaves the model's dropout as it is.
    """
    original = {m: m.p for m in model.modules() if isinstance(m, nn.Dropout)}
    if probability is not None:
        for module in original:
            module.p = probability
    try:
        yield
    finally:
        for module, p in original.items():
            module.p = p


class StopSignals:
    """Turn Ctrl-C (SIGINT) and SIGTERM into "stop after this step"; a second one stops now.

    A run stopped mid-step would leave half-updated weights and no say in what is kept.
    Inside the block the first signal only sets :attr:`received`; the loop checks it after
    each step. Outside the main thread (where handlers cannot be installed) nothing changes.
    """

    def __init__(self) -> None:
        self.received: str | None = None
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: Any) -> None:
        if self.received is not None:
            raise KeyboardInterrupt  # the second signal: stop now
        self.received = signal.Signals(signum).name
        print(f"\n{self.received} received: stopping after this step (send again to stop now).")

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: Any) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)


def make_accelerator() -> Accelerator:
    """The Accelerator of a run: device placement and, under torchrun, data parallelism.

    Mixed precision is not Accelerate's job here: the loop uses ``torch.autocast``
    itself (as nanoGPT does), which keeps it visible and lets each run choose its own.
    """
    # Launched by torchrun on a machine without a GPU, Accelerate runs each process alone
    # (every rank trains on all the data) unless told cpu=True: then ranks share the data.
    cpu = int(os.environ.get("WORLD_SIZE", "1")) > 1 and not torch.cuda.is_available()
    # split_batches: batch_size is the *global* batch, so 1 and N processes train the same
    # way; non_blocking: copies from pinned memory overlap with the GPU's work.
    config = DataLoaderConfiguration(split_batches=True, non_blocking=torch.cuda.is_available())
    return Accelerator(cpu=cpu, dataloader_config=config)


def prepare_data(data: DatasetDict, tokenizer, model, max_length: int) -> DatasetDict:
    """Check the splits, labels and length against the model; tokenize unless already done."""
    if not isinstance(data, DatasetDict) or not {"train", "validation"} <= set(data):
        raise ValueError(
            "train() needs a DatasetDict with 'train' and 'validation' splits; "
            "make one with tlhelpers.load_text_dataset(...)."
        )
    for split in ("train", "validation"):
        if len(data[split]) == 0:
            raise ValueError(f"The {split} split is empty.")
        columns = set(data[split].column_names)
        if "label" not in columns or not ({"text", "input_ids"} & columns):
            raise ValueError(
                f"The {split} split needs 'text' (or 'input_ids') and 'label' columns; "
                f"it has {sorted(columns)}."
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
    splits = DatasetDict(train=data["train"], validation=data["validation"])
    if "input_ids" in data["train"].column_names:
        return splits  # tokenized by the caller (its own max_length applies)
    return tokenize_dataset(splits, tokenizer, max_length)


def _resolve_config(config: TrainConfig | None, settings: dict[str, Any]) -> TrainConfig:
    misplaced = sorted(set(settings) & set(DATA_AND_MODEL_SETTINGS))
    if misplaced:
        raise ValueError(
            f"{misplaced} choose the data or the model, which train() is handed ready-made. "
            "Prepare them yourself (tl.sample_per_class, tl.freeze, ...) or describe the "
            "whole run with tl.TrainConfig and call tl.fine_tune(config)."
        )
    return (config or TrainConfig()).replace(**settings)


def train(
    model: nn.Module,
    tokenizer,
    data: DatasetDict,
    config: TrainConfig | None = None,
    *,
    callbacks: Sequence[Callback] = (),
    progress: bool = True,
    **settings: Any,
) -> TrainingResult:
    """Fine-tune ``model`` on ``data["train"]``, validating on ``data["validation"]``.

    Only parameters with ``requires_grad`` learn, so call :func:`tlhelpers.freeze` first
    for feature extraction or partial fine-tuning.

    Args:
        model, tokenizer: from :func:`tlhelpers.load_model`.
        data: a DatasetDict with ``train`` and ``validation`` (raw text or tokenized).
        config: a :class:`tlhelpers.TrainConfig`; its optimisation fields are used.
        callbacks: functions ``f(event, history)`` called on ``"step"`` (each logged
            step), ``"eval"`` and ``"end"``, e.g. to draw a live plot.
        progress: show a progress bar.
        **settings: any optimisation field of :class:`TrainConfig` (``epochs``, ``lr``,
            ``batch_size``, ``max_length``, ``patience``, ``eval_every``, ``max_steps``,
            ``mixed_precision``, ``cache_frozen_layers``, ``seed`` ...), overriding ``config``.
            ``TrainConfig.describe()`` lists them with their ``TrainingArguments`` twins.

    Returns:
        A :class:`TrainingResult`; the model itself holds the best validated weights.

    Example:
        >>> result = train(model, tokenizer, data, epochs=2, lr=5e-5)
        >>> result.best["macro_f1"]
        0.71
    """
    config = _resolve_config(config, settings)
    tokenized = prepare_data(data, tokenizer, model, config.max_length)
    num_labels = len(label_names(model))
    set_seed(config.seed)
    accelerator = make_accelerator()
    dtype = autocast_dtype(config.mixed_precision, accelerator.device)
    autocast = torch.autocast(accelerator.device.type, dtype=dtype, enabled=dtype is not None)
    # fp16 needs loss scaling against underflow; disabled, the scaler passes through.
    scaler = torch.amp.GradScaler(accelerator.device.type, enabled=dtype == torch.float16)

    with contextlib.ExitStack() as stack:
        stack.enter_context(dropout_set_to(model, config.dropout))
        train_loader, eval_loader = _batch_sources(model, tokenizer, tokenized, config,
                                                   accelerator.device, stack)  # fmt: skip
        steps_per_epoch = len(train_loader)
        total_steps = min(steps_per_epoch * config.epochs, config.max_steps or math.inf)
        # The fused AdamW kernel measured 5x faster than the default per-tensor loop on a
        # CPU (0.04 s vs 0.21 s a step for MiniLM); Trainer uses it too.
        optimizer = torch.optim.AdamW(
            parameter_groups(model, config.lr, config.weight_decay, config.layer_lr_decay),
            fused=accelerator.device.type in ("cpu", "cuda"),
        )
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, learning_rate_schedule(
            total_steps, round(config.warmup_ratio * total_steps)))  # fmt: skip
        trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
        model, optimizer, train_loader, eval_loader, scheduler = accelerator.prepare(
            model, optimizer, train_loader, eval_loader, scheduler
        )
        stop = stack.enter_context(StopSignals())
        bar = progress_bar(total=total_steps, desc="Training",
                           enabled=progress and accelerator.is_main_process)  # fmt: skip
        stack.callback(bar.close)

        history, best = History(), BestWeights(config.metric, config.patience)
        emit = _emitter(callbacks, history)
        running = RunningLoss(accelerator.device)  # read only when logged: no GPU wait
        tokens = torch.zeros((), dtype=torch.long, device=accelerator.device)
        step = examples = 0
        stopped_early = interrupted = last = False
        eval_seconds, start = 0.0, time.perf_counter()
        try:
            for epoch in range(config.epochs):
                if hasattr(train_loader, "set_epoch"):
                    train_loader.set_epoch(epoch)
                model.train()
                for batch in train_loader:
                    with autocast:
                        loss = model(**batch).loss  # the model computes its cross-entropy
                    accelerator.backward(scaler.scale(loss))
                    if config.max_grad_norm:
                        scaler.unscale_(optimizer)
                        accelerator.clip_grad_norm_(model.parameters(), config.max_grad_norm)
                    scaler.step(optimizer)
                    scaler.update()
                    scheduler.step()
                    optimizer.zero_grad(set_to_none=True)

                    step += 1
                    batch_examples = batch["labels"].shape[0] * accelerator.num_processes
                    examples += batch_examples
                    running.add(loss, batch_examples)
                    tokens += batch["attention_mask"].sum()
                    bar.update(1)
                    if step % config.log_every == 0 or step == 1:
                        history.steps.append({
                            "step": step, "epoch": round(step / steps_per_epoch, 3),
                            "loss": loss.item(), "lr": scheduler.get_last_lr()[-1],
                            "seconds": time.perf_counter() - start,
                        })  # fmt: skip
                        bar.set_postfix(loss=f"{history.steps[-1]['loss']:.3f}")
                        emit("step")

                    # Validate once per step at most: at the end of each epoch, every
                    # eval_every steps, and after the last step.
                    last = step == total_steps
                    every = config.eval_every and step % config.eval_every == 0
                    if step % steps_per_epoch == 0 or last or every:
                        eval_start = time.perf_counter()
                        scores = validation_scores(model, eval_loader, accelerator, num_labels,
                                                   autocast)  # fmt: skip
                        eval_seconds += time.perf_counter() - eval_start
                        now = time.perf_counter() - start
                        history.evals.append({
                            "step": step, "epoch": round(step / steps_per_epoch, 3),
                            "train_loss": running.read(), **scores, "seconds": now,
                            "train_seconds": now - eval_seconds,
                        })  # fmt: skip
                        best.update(history.evals[-1], model)
                        bar.set_postfix(val_macro_f1=f"{scores['macro_f1']:.3f}")
                        emit("eval")
                        stopped_early = best.out_of_patience and not last
                        model.train()
                    if last or stopped_early or stop.received:
                        break
                if last or stopped_early or stop.received:
                    break
        except KeyboardInterrupt:
            interrupted = True
        interrupted = interrupted or stop.received is not None
        seconds = time.perf_counter() - start
        best.restore()
        model = accelerator.unwrap_model(model)
    model.eval()
    if interrupted and accelerator.is_main_process:
        print(_interrupt_message(best.record))

    result = TrainingResult(
        config=config, history=history, best=best.record,
        train_examples=len(tokenized["train"]), trainable_parameters=trainable,
        seconds=seconds, examples_per_second=examples / seconds,
        tokens_per_second=tokens.item() * accelerator.num_processes / seconds,
        stopped_early=stopped_early, interrupted=interrupted,
        stop_signal=stop.received or ("SIGINT" if interrupted else None),
    )  # fmt: skip
    emit("end")
    return result


class RunningLoss:
    """The training loss averaged over the examples since the last read, summed on the device.

    Adding is a GPU operation only; :meth:`read` is the one place that waits for the GPU,
    and the loop reads only when it logs or validates.
    """

    def __init__(self, device: torch.device):
        self.total = torch.zeros((), device=device)
        self.count = 0

    def add(self, loss: torch.Tensor, examples: int) -> None:
        self.total += loss.detach().float() * examples
        self.count += examples

    def read(self) -> float:
        value = self.total.item() / max(1, self.count)
        self.total.zero_()
        self.count = 0
        return value


def autocast_dtype(mixed_precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype of a run, or None for full precision.

    ``"auto"`` is bf16 on a GPU that has it, fp16 on an older GPU, and off on a CPU,
    where bf16 autocast measured ~20x slower.
    """
    if mixed_precision == "auto":
        if device.type != "cuda":
            return None
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return {"no": None, "bf16": torch.bfloat16, "fp16": torch.float16}[mixed_precision]


def _batch_sources(model, tokenizer, tokenized, config: TrainConfig, device, stack):
    """Training and validation loaders: token batches, or cached lower-layer states."""
    on_gpu = device.type == "cuda"
    options = dict(
        batch_size=config.batch_size, group_by_length=config.group_by_length,
        seed=config.seed, pin_memory=on_gpu, pad_to_multiple_of=8 if on_gpu else None,
    )  # fmt: skip
    if config.cache_frozen_layers:
        from .layer_cache import LowerLayerCache  # the same loop, another batch source

        model.to(device)
        cache = LowerLayerCache(model, tokenized, pad_token_id=pad_token_id(tokenizer))
        stack.enter_context(cache.top_layers_only())
        return cache.loaders(**options)
    pad_id = pad_token_id(tokenizer)
    train_loader = make_dataloader(tokenized["train"], pad_token_id=pad_id, **options)
    options["batch_size"] = 2 * config.batch_size  # no gradients: twice the batch fits
    eval_loader = make_dataloader(tokenized["validation"], pad_token_id=pad_id,
                                  shuffle=False, **options)  # fmt: skip
    return train_loader, eval_loader


def _emitter(callbacks: Sequence[Callback], history: History) -> Callable[[str], None]:
    def emit(event: str) -> None:
        for callback in callbacks:
            callback(event, history)

    return emit


def _interrupt_message(best: dict | None) -> str:
    if best is None:
        return (
            "Training stopped before the first validation: there are no validated weights "
            "to keep, so the model holds its last, unvalidated weights."
        )
    return (
        f"Training stopped: the model holds the best validated weights "
        f"(step {best['step']}, epoch {best['epoch']}, validation macro-F1 "
        f"{best['macro_f1']:.4f})."
    )


def validation_scores(
    model: nn.Module,
    loader,
    accelerator: Accelerator,
    num_labels: int,
    autocast: contextlib.AbstractContextManager | None = None,
) -> dict[str, float]:
    """Validation loss, accuracy and macro-F1, gathered from every process.

    Logits stay on the device until the end: one transfer per validation, not per batch.
    """
    all_logits, all_labels = [], []
    autocast = autocast or contextlib.nullcontext()
    with inference_mode(model):
        for batch in loader:
            with autocast:
                logits = model(**batch).logits
            logits, labels = accelerator.gather_for_metrics((logits, batch["labels"]))
            all_logits.append(logits.float())
            all_labels.append(labels)
        logits, labels = torch.cat(all_logits), torch.cat(all_labels)
        loss = torch.nn.functional.cross_entropy(logits, labels).item()
        y_pred, y_true = logits.argmax(-1).cpu().numpy(), labels.cpu().numpy()
    return {"loss": loss, **compute_metrics(y_true, y_pred, num_labels)}
