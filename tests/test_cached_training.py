"""train_top_layers: cached lower layers give the model's own outputs; only the top learns."""

from __future__ import annotations

import pytest
import torch

import tlhelpers as tl
from tlhelpers.cached_training import _cache_lower_layers, _only_layers, _pad, train_top_layers


def test_cached_states_give_the_same_logits_as_the_full_model(tiny_model, tokenizer, toy_data):
    tiny_model.eval()
    tokenized = tl.tokenize_dataset(toy_data["validation"], tokenizer, max_length=32)
    layers = tl.models.encoder_layers(tiny_model)
    cache = _cache_lower_layers(tiny_model, layers, 1, tokenized, batch_size=8)
    index = [0, 1, 2, 3]
    hidden, mask = _pad(cache, index)
    with torch.no_grad():
        with _only_layers(tiny_model, layers, slice(1, None), skip_embeddings=True):
            from_cache = tiny_model(inputs_embeds=hidden, attention_mask=mask).logits
        texts = [toy_data["validation"][i]["text"] for i in index]
        direct = tiny_model(**tokenizer(texts, padding=True, return_tensors="pt")).logits
    torch.testing.assert_close(from_cache, direct, rtol=1e-5, atol=1e-5)


def test_only_the_top_layer_and_head_learn(tiny_model, tokenizer, toy_data):
    before = {k: v.clone() for k, v in tiny_model.state_dict().items()}
    result = train_top_layers(
        tiny_model, tokenizer, toy_data, train_last_layers=1, epochs=2, lr=3e-3,
        max_length=32, progress=False,
    )  # fmt: skip
    after = tiny_model.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed, "nothing was trained"
    assert all(
        k.startswith(("bert.encoder.layer.1.", "bert.pooler", "classifier")) for k in changed
    )
    assert "classifier.weight" in changed and any(
        k.startswith("bert.encoder.layer.1.") for k in changed
    )
    assert len(result.history.evals) == 2 and result.best is not None
    # A normal model again: all layers back, everything trainable as before, evaluate works.
    assert len(tl.models.encoder_layers(tiny_model)) == 2
    assert all(p.requires_grad for p in tiny_model.parameters())
    assert 0 <= tl.evaluate(tiny_model, tokenizer, toy_data["test"]).accuracy <= 1


def test_bad_layer_count_fails_before_any_work(tiny_model, tokenizer, toy_data):
    with pytest.raises(ValueError, match="train_last_layers"):
        train_top_layers(tiny_model, tokenizer, toy_data, train_last_layers=2, progress=False)
