"""Train only the top layers, running the frozen lower layers once: a batch source for train().

When the embeddings and lower layers are frozen their output never changes, so the texts
run through them *once*; each epoch then runs only the top layers on the cached states
(``inputs_embeds``). Same loop, same resulting model; BERT-like encoders, dropout off in the
frozen part. :func:`shared_lower_layer_states` shares the cache across runs.
Example: ``tl.train(tl.freeze(model, train_last_layers=2), ..., cache_frozen_layers=True)``.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
from collections.abc import Iterator, Sequence

import numpy as np
import torch
from datasets import Dataset
from torch import nn

from .batching import pad_token_id
from .inference import class_probabilities, device_of, inference_batches, inference_mode
from .models import encoder_layers, encoder_of

# Inside shared_lower_layer_states(): {fingerprint of the frozen lower weights:
# {token ids: hidden states}}; outside it: None (every cache computes its own states).
_SHARED_STATES: contextvars.ContextVar[dict | None] = contextvars.ContextVar(
    "shared_lower_layer_states", default=None
)


@contextlib.contextmanager
def shared_lower_layer_states(store: dict | None = None) -> Iterator[dict]:
    """Inside the block, lower-layer states are kept and reused across runs and predictions.

    Runs share states only when a digest of their frozen lower weights matches (the same
    checkpoint, whatever the seed). ``store`` continues an earlier block's (what it yields).

    Example:
        >>> with shared_lower_layer_states():
        ...     for seed in range(3):      # the lower layers run once, not three times
        ...         tl.fine_tune(config.replace(seed=seed), data=data)
    """
    token = _SHARED_STATES.set({} if store is None else store)
    try:
        yield _SHARED_STATES.get()
    finally:
        _SHARED_STATES.reset(token)


def frozen_lower_layers(model: nn.Module) -> int:
    """How many bottom layers are frozen (0 unless the embeddings are frozen too).

    Example:
        >>> frozen_lower_layers(tl.freeze(model, train_last_layers=2))   # MiniLM: 6 layers
        4
    """
    embeddings = getattr(encoder_of(model), "embeddings", None)
    if embeddings is None or any(p.requires_grad for p in embeddings.parameters()):
        return 0
    frozen = 0
    for layer in encoder_layers(model):
        if any(p.requires_grad for p in layer.parameters()):
            break
        frozen += 1
    return frozen


class LowerLayerCache:
    """The frozen lower layers of a BERT-like classifier, run once per text.

    The layers below the first trainable one are cached; the embeddings must be frozen.
    """

    def __init__(self, model: nn.Module):
        self.model = model
        self.layers = encoder_layers(model)
        self.cut = frozen_lower_layers(model)
        if self.cut == 0:
            raise ValueError(
                "cache_frozen_layers needs frozen embeddings and lower layers: call "
                "tl.freeze(model, train_last_layers=n) with n below the model's "
                f"{len(self.layers)} layers first."
            )

    def lower_layer_states(
        self, input_ids: Sequence[Sequence[int]], pad_token_id: int, batch_size: int = 64
    ) -> list[torch.Tensor]:
        """Hidden states after layer ``cut`` for every text, unpadded, on the CPU."""
        shared = _SHARED_STATES.get()
        known = {} if shared is None else shared.setdefault(self._fingerprint(), {})
        keys = [tuple(ids) for ids in input_ids]
        missing_keys = [key for key in dict.fromkeys(keys) if key not in known]
        encoder = encoder_of(self.model)
        with inference_mode(self.model), self._run_layers(slice(0, self.cut), embeddings=True):
            batches = inference_batches(
                missing_keys,
                batch_size=batch_size,
                pad_token_id=pad_token_id,
                device=device_of(encoder),
            )
            for index, batch in batches:
                hidden = encoder(**batch).last_hidden_state.float().cpu()
                for row, i in enumerate(index):
                    known[missing_keys[i]] = hidden[row, : len(missing_keys[i])].clone()
        return [known[key] for key in keys]

    def model_inputs(self, tokenized: Dataset, pad_token_id: int) -> list[dict]:
        """The examples of ``tokenized`` with cached ``inputs_embeds`` for token ids."""
        states = self.lower_layer_states(tokenized["input_ids"], pad_token_id)
        labels = tokenized["label"]
        return [{"inputs_embeds": s, "label": y} for s, y in zip(states, labels, strict=True)]

    def _fingerprint(self) -> str:
        """A digest of the frozen weights below the cut: equal digests, equal states."""
        digest = hashlib.blake2b(digest_size=16)
        frozen = [encoder_of(self.model).embeddings, *list(self.layers)[: self.cut]]
        for module in frozen:
            for name, tensor in module.state_dict().items():
                digest.update(name.encode())
                digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
        return digest.hexdigest()

    def top_layers_only(self) -> contextlib.AbstractContextManager:
        """Inside the block the model runs its top layers on cached states, not token ids."""
        return self._run_layers(slice(self.cut, None), embeddings=False)

    @contextlib.contextmanager
    def _run_layers(self, keep: slice, embeddings: bool) -> Iterator[None]:
        """Temporarily give the model a slice of its layers and, optionally, no embeddings.

        Without embeddings, cached states pass through as ``inputs_embeds``; the rest
        (mask, pooler, head, loss) is the model's own code.
        """
        # The module holding the layer list, and the list's name in it.
        path = next(n for n, m in self.model.named_modules() if m is self.layers)
        owner_path, _, name = path.rpartition(".")
        owner = self.model.get_submodule(owner_path)
        encoder = encoder_of(self.model)
        original_embeddings = encoder.embeddings
        setattr(owner, name, nn.ModuleList(list(self.layers)[keep]))
        if not embeddings:
            encoder.embeddings = _PassThrough()
        try:
            yield
        finally:
            setattr(owner, name, self.layers)
            encoder.embeddings = original_embeddings


def predict_proba_over_cache(
    model: nn.Module,
    tokenizer,
    texts: Sequence[str],
    *,
    max_length: int,
    batch_size: int = 64,
) -> np.ndarray:
    """Class probabilities like :func:`tlhelpers.predict_proba`, running only the top layers.

    Inside :func:`shared_lower_layer_states` the lower layers' states are shared by every
    model with the same frozen weights. The result equals ``predict_proba``.

    Example:
        >>> with shared_lower_layer_states():
        ...     p = predict_proba_over_cache(model, tokenizer, test_texts, max_length=64)
    """
    encoded = tokenizer([str(t) for t in texts], truncation=True, max_length=max_length)
    if frozen_lower_layers(model) == 0:
        raise ValueError(
            "predict_proba_over_cache needs a model with frozen embeddings and lower layers "
            "(tl.freeze(model, train_last_layers=n)); use tl.predict_proba otherwise."
        )
    cache = LowerLayerCache(model)
    states = cache.lower_layer_states(encoded["input_ids"], pad_token_id(tokenizer), batch_size)
    batches = inference_batches(
        states, batch_size=batch_size, device=device_of(model), key="inputs_embeds"
    )
    with cache.top_layers_only():
        return class_probabilities(model, batches, len(states))


class _PassThrough(nn.Module):
    def forward(self, input_ids=None, inputs_embeds=None, **kwargs):
        return inputs_embeds
