"""Frozen features: use a pretrained encoder as a fixed text-to-vector function.

The cheapest transfer learning: one forward pass per text, then a small scikit-learn
classifier on the vectors, with no backpropagation through the encoder.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import product

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from .batching import check_max_length, model_max_length, pad_token_id
from .inference import device_of, inference_batches, inference_mode
from .models import encoder_of


def extract_features(
    model,
    tokenizer,
    texts: Sequence[str],
    *,
    layers: Sequence[int] = (-1,),
    pooling: str | Sequence[str] = "mean",
    max_length: int = 128,
) -> np.ndarray | dict[int, np.ndarray]:
    """One vector per text from a frozen encoder.

    ``layers``: 0 the embeddings, 1..N the transformer layers, -1 the last; several give a
    dict layer -> array from one forward pass. ``pooling``: ``"mean"`` over real tokens
    (what sentence encoders learned) or ``"cls"``; both, ``("cls", "mean")``, give a dict
    pooling -> array from one forward pass (with several layers: (layer, pooling) -> array).

    Example:
        >>> X = extract_features(model, tokenizer, data["train"]["text"])
        >>> X.shape
        (30000, 384)
    """
    poolings = (pooling,) if isinstance(pooling, str) else tuple(pooling)
    if not poolings or any(p not in ("mean", "cls") for p in poolings):
        raise ValueError(f"pooling must be 'mean', 'cls' or both, got {pooling!r}.")
    check_max_length(min(max_length, model_max_length(tokenizer)), tokenizer, model)
    encoder = encoder_of(model)
    texts = [str(t) for t in texts]
    encoded = tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]
    outputs: dict[tuple[int, str], np.ndarray] = {}
    with inference_mode(encoder):
        batches = inference_batches(
            encoded, pad_token_id=pad_token_id(tokenizer), device=device_of(encoder)
        )
        for index, batch in batches:
            hidden = encoder(**batch, output_hidden_states=True).hidden_states
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden[0].dtype)
            for layer, kind in product(layers, poolings):
                states = hidden[layer]
                if kind == "mean":
                    vectors = (states * mask).sum(1) / mask.sum(1).clamp(min=1)
                else:
                    vectors = states[:, 0]
                if (layer, kind) not in outputs:
                    outputs[layer, kind] = np.zeros((len(texts), states.shape[-1]), np.float32)
                outputs[layer, kind][index] = vectors.float().cpu().numpy()
    if len(layers) == 1 and len(poolings) == 1:
        return outputs[layers[0], poolings[0]]
    if len(poolings) == 1:
        return {layer: array for (layer, _), array in outputs.items()}
    if len(layers) == 1:
        return {kind: array for (_, kind), array in outputs.items()}
    return outputs


def linear_probe(seed: int = 0):
    """A scikit-learn classifier for frozen features: standardise, then logistic regression.

    Example:
        >>> probe = linear_probe().fit(X_train, y_train)
        >>> probe.score(X_test, y_test)
    """
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, random_state=seed))
