"""Frozen features: one forward pass can give several poolings, equal to one call each."""

import numpy as np
import pytest

from tlhelpers.features import extract_features

TEXTS = ["a short one", "a much longer text with many more words in it", "mid length text"]


def test_both_poolings_from_one_pass_equal_one_call_each(tiny_model, tokenizer):
    both = extract_features(tiny_model, tokenizer, TEXTS, pooling=("cls", "mean"))
    assert set(both) == {"cls", "mean"}
    for kind in ("cls", "mean"):
        alone = extract_features(tiny_model, tokenizer, TEXTS, pooling=kind)
        np.testing.assert_array_equal(both[kind], alone)
    # [CLS] and the mean are different vectors of the same texts
    assert not np.allclose(both["cls"], both["mean"])


def test_several_layers_and_poolings_are_keyed_by_both(tiny_model, tokenizer):
    out = extract_features(tiny_model, tokenizer, TEXTS, layers=(0, -1), pooling=("cls", "mean"))
    assert set(out) == {(0, "cls"), (0, "mean"), (-1, "cls"), (-1, "mean")}
    layers = extract_features(tiny_model, tokenizer, TEXTS, layers=(0, -1))
    np.testing.assert_array_equal(layers[0], out[0, "mean"])


@pytest.mark.parametrize("pooling", ["max", (), ("cls", "max")])
def test_an_unknown_pooling_is_refused(tiny_model, tokenizer, pooling):
    with pytest.raises(ValueError, match="pooling must be"):
        extract_features(tiny_model, tokenizer, TEXTS, pooling=pooling)
