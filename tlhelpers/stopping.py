"""How a training run stops, and which weights the model keeps when it does.

A run ends at its step budget, when ``patience`` validations bring no improvement, or on
Ctrl-C / SIGTERM (after the current step; a second signal stops at once). The model then
gets the best *validated* weights (none before the first validation: ``result.best`` is None).
"""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

import torch
from torch import nn

# The logger train() has always warned through, so that log filters keep working.
logger = logging.getLogger("tlhelpers.training")


class BestWeights:
    """Keep the weights of the best validation so far, and count validations without gain.

    Only trainable parameters are copied (frozen ones never change), and the copy stays
    on the model's device, so keeping a snapshot costs no transfer.
    """

    def __init__(self, metric: str, patience: int | None):
        self.metric, self.patience = metric, patience
        self.record: dict | None = None
        self.misses = 0
        self._saved: list[tuple[nn.Parameter, torch.Tensor]] = []

    def update(self, record: dict, model: nn.Module) -> None:
        """Remember ``record`` and the model's weights if it is the best so far."""
        if self.record is not None:
            new, old = record[self.metric], self.record[self.metric]
            if not (new < old if self.metric == "loss" else new > old):
                self.misses += 1
                return
        trainable = [p for p in model.parameters() if p.requires_grad]
        self._saved = [(p, p.detach().clone()) for p in trainable]  # built, then swapped in
        self.record, self.misses = record, 0

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


class StopSignals:
    """Turn Ctrl-C (SIGINT) and SIGTERM into "stop after this step"; a second one stops now.

    The first signal only sets :attr:`received`, checked after each step (a mid-step stop
    would leave half-updated weights). Outside the main thread nothing changes.
    """

    def __init__(self) -> None:
        self.received: str | None = None
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: Any) -> None:
        if self.received is not None:
            raise KeyboardInterrupt  # the second signal: stop now
        self.received = signal.Signals(signum).name
        logger.warning(
            "%s received: stopping after this step (send again to stop now).", self.received
        )

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: Any) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)


def interrupt_message(best: dict | None) -> str:
    """The warning of a run that a signal or a ``KeyboardInterrupt`` ended: what the model holds."""
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
