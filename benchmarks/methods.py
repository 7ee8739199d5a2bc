"""The training methods the benchmark compares, and the meters that watch them.

Every method gets the same pretrained MiniLM (same seed, same new head), the same
training texts, epochs, learning rate and batch size, and returns the trained model.
What differs is only what each tool does by default:

- ``tlhelpers``: :func:`tlhelpers.train` as a learner calls it (tokenize once, dynamic
  padding, length-grouped batches, dropout off, AdamW + warmup/decay, clipping).
- ``trainer``: Hugging Face ``Trainer`` with ``DataCollatorWithPadding`` and its default
  random sampler (dropout stays at the model's 0.1).
- ``trainer_grouped``: the same with ``train_sampling_strategy="group_by_length"``.
- ``seed``: the seed's loop as written: tokenize each batch as it comes, pad every batch
  to ``max_length``, plain AdamW at a constant learning rate, dropout as loaded.
"""

from __future__ import annotations

import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from datasets import Dataset, DatasetDict

import tlhelpers as tl

WARMUP_RATIO = 0.1  # tl.train's default, given to the Trainer too so the schedules match


@dataclass
class Setup:
    """What every method of one benchmark configuration shares."""

    dataset: str
    train: Dataset
    validation: Dataset
    labels: list[str]
    max_length: int
    epochs: int = 1
    lr: float = 5e-5
    batch_size: int = 16
    seed: int = 42


@dataclass
class TokenMeter:
    """Counts, during training only, the tokens the model really sees.

    A forward pre-hook on the model reads each batch: ``padded`` is every position the
    model computes (padding included), ``real`` the non-padding tokens, ``squares`` the sum
    of squared real lengths (what attention costs), ``examples`` the texts.
    """

    padded: int = 0
    real: int = 0
    squares: int = 0
    examples: int = 0
    handle: object = field(default=None, repr=False)

    def attach(self, model: torch.nn.Module) -> TokenMeter:
        def hook(module, args, kwargs):
            if not module.training:
                return
            mask = kwargs.get("attention_mask")
            ids = kwargs.get("input_ids")
            if ids is None and args:
                ids = args[0]
            if mask is None:
                mask = torch.ones_like(ids)
            lengths = mask.sum(dim=1)
            self.padded += ids.numel()
            self.real += int(lengths.sum())
            self.squares += int((lengths.long() ** 2).sum())
            self.examples += ids.shape[0]

        self.handle = model.register_forward_pre_hook(hook, with_kwargs=True)
        return self

    def detach(self) -> None:
        self.handle.remove()


class PeakMemory:
    """Peak resident memory (RSS) of this process while a block runs, in MB.

    Linux keeps the high-water mark in /proc/self/status (VmHWM) and resets it when "5" is
    written to /proc/self/clear_refs; elsewhere a thread samples the RSS every 20 ms.
    """

    def __enter__(self) -> PeakMemory:
        self.peak_mb = 0.0
        self._reset_ok = _reset_high_water_mark()
        if not self._reset_ok:
            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak_mb = max(self.peak_mb, _rss_mb())

    def __exit__(self, *exc) -> None:
        if self._reset_ok:
            self.peak_mb = _status_mb("VmHWM")
        else:
            self._stop.set()
            self._thread.join()
            self.peak_mb = max(self.peak_mb, _rss_mb())


def _reset_high_water_mark() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return _status_mb("VmHWM") > 0
    except OSError:
        return False


def _status_mb(key: str) -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _rss_mb() -> float:
    import resource

    return _status_mb("VmRSS") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def fresh_model(setup: Setup):
    """The pretrained MiniLM with a new head, identical for every method (seeded)."""
    tl.set_seed(setup.seed)
    model, _ = tl.load_model("minilm", labels=setup.labels)
    return model


# --------------------------------------------------------------------------------------
# The methods. Each takes the fresh model and tokenizer and trains the model in place.
# --------------------------------------------------------------------------------------


def run_tlhelpers(model, tokenizer, setup: Setup, dropout: float | None = 0.0) -> None:
    data = DatasetDict(train=setup.train, validation=setup.validation)
    tl.train(
        model, tokenizer, data, epochs=setup.epochs, lr=setup.lr, batch_size=setup.batch_size,
        max_length=setup.max_length, warmup_ratio=WARMUP_RATIO, dropout=dropout,
        seed=setup.seed, progress=False,
    )  # fmt: skip


def run_tlhelpers_dropout(model, tokenizer, setup: Setup) -> None:
    """tl.train with the model's own dropout (0.1), like the Trainer: like for like."""
    run_tlhelpers(model, tokenizer, setup, dropout=None)


def _run_trainer(model, tokenizer, setup: Setup, sampling: str) -> None:
    from transformers import DataCollatorWithPadding, Trainer, TrainingArguments
    from transformers.trainer_callback import PrinterCallback

    def encode(batch):
        return tokenizer(batch["text"], truncation=True, max_length=setup.max_length)

    train = setup.train.map(encode, batched=True, remove_columns=["text"])
    validation = setup.validation.map(encode, batched=True, remove_columns=["text"])
    with tempfile.TemporaryDirectory() as out:
        args = TrainingArguments(
            output_dir=out, num_train_epochs=setup.epochs, learning_rate=setup.lr,
            per_device_train_batch_size=setup.batch_size,
            per_device_eval_batch_size=setup.batch_size * 2, weight_decay=0.01,
            warmup_steps=WARMUP_RATIO, lr_scheduler_type="linear", max_grad_norm=1.0,
            eval_strategy="epoch", save_strategy="no", logging_strategy="no",
            report_to="none", disable_tqdm=True, use_cpu=True, seed=setup.seed,
            data_seed=setup.seed, train_sampling_strategy=sampling, log_level="error",
        )  # fmt: skip
        trainer = Trainer(
            model=model,
            args=args,
            train_dataset=train,
            eval_dataset=validation,
            processing_class=tokenizer,
            data_collator=DataCollatorWithPadding(tokenizer),
        )
        trainer.remove_callback(PrinterCallback)  # no log lines in the benchmark's output
        trainer.train()
    model.eval()


def run_trainer(model, tokenizer, setup: Setup) -> None:
    _run_trainer(model, tokenizer, setup, sampling="random")


def run_trainer_grouped(model, tokenizer, setup: Setup) -> None:
    _run_trainer(model, tokenizer, setup, sampling="group_by_length")


def run_seed_loop(model, tokenizer, setup: Setup) -> None:
    """The seed's loop as written: per-batch tokenization, fixed-length padding, plain AdamW."""
    texts, labels = setup.train["text"], setup.train["label"]
    optimizer = torch.optim.AdamW(model.parameters(), lr=setup.lr)
    generator = torch.Generator().manual_seed(setup.seed)
    model.train()
    for _ in range(setup.epochs):
        order = torch.randperm(len(texts), generator=generator).tolist()
        for start in range(0, len(order), setup.batch_size):
            index = order[start : start + setup.batch_size]
            inputs = tokenizer(
                [texts[i] for i in index],
                padding="max_length",
                truncation=True,
                max_length=setup.max_length,
                return_tensors="pt",
            )
            outputs = model(**inputs, labels=torch.tensor([labels[i] for i in index]))
            outputs.loss.backward()
            optimizer.step()
            optimizer.zero_grad()
    model.eval()


METHODS = {
    "tlhelpers": run_tlhelpers,
    "tlhelpers_dropout": run_tlhelpers_dropout,
    "trainer": run_trainer,
    "trainer_grouped": run_trainer_grouped,
    "seed": run_seed_loop,
}

DESCRIPTIONS = {
    "tlhelpers": "tlhelpers.train (dropout off, its default)",
    "tlhelpers_dropout": "tlhelpers.train, dropout 0.1 (like Trainer)",
    "trainer": "HF Trainer, DataCollatorWithPadding, random sampler (dropout 0.1)",
    "trainer_grouped": "HF Trainer, group_by_length (dropout 0.1)",
    "seed": "seed loop: pad to max_length, tokenize per batch (dropout 0.1)",
}


def timed_run(method: str, setup: Setup, tokenizer) -> tuple[dict, torch.nn.Module]:
    """Train a fresh model with ``method``; return the measurements and the trained model."""
    model = fresh_model(setup)
    meter = TokenMeter().attach(model)
    rss_before = _rss_mb()
    with PeakMemory() as memory:
        start, cpu_start = time.perf_counter(), time.process_time()
        METHODS[method](model, tokenizer, setup)
        seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    meter.detach()
    return {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "examples": meter.examples,
        "real_tokens": meter.real,
        "padded_tokens": meter.padded,
        "length_squares": meter.squares,
        "peak_rss_mb": memory.peak_mb,
        "peak_rss_increase_mb": memory.peak_mb - rss_before,
    }, model
