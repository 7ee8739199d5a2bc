"""tlhelpers.batching: token lengths, tokenization, length-grouped batches, dynamic padding."""

from __future__ import annotations

import numpy as np
import pytest

import tlhelpers as tl
from tlhelpers import batching as tlbatching


def test_token_length_stats_and_max_length(tokenizer):
    texts = ["short", "a somewhat longer text with more words in it " * 5]
    lengths = tl.token_lengths(texts, tokenizer)
    assert lengths[0] == 3  # [CLS] short [SEP]
    stats = tl.token_length_stats(texts, tokenizer, candidates=(8, 512))
    assert stats.loc[8, "texts_truncated"] == 0.5 and stats.loc[512, "tokens_lost"] == 0
    assert tl.suggest_max_length(texts, tokenizer, coverage=1.0) % 16 == 0
    with pytest.raises(ValueError, match="max_length=1000 is outside"):
        tl.tokenize_dataset(
            tl.load_text_dataset((["good text", "bad text"] * 20, ["pos", "neg"] * 20)),
            tokenizer,
            1000,
        )


def test_length_grouped_batches_cover_everything_once_and_group_lengths():
    rng = np.random.default_rng(0)
    lengths = rng.integers(5, 200, size=1000)
    sampler = tlbatching.LengthGroupedSampler(lengths, batch_size=16, seed=0)
    batches = list(sampler)
    assert sorted(i for b in batches for i in b) == list(range(1000))
    assert len(batches) == len(sampler)
    padded_grouped = sum(len(b) * lengths[b].max() for b in batches)
    order = rng.permutation(1000)
    padded_random = sum(16 * lengths[order[i : i + 16]].max() for i in range(0, 1000, 16))
    assert padded_grouped < 0.7 * padded_random
    sampler.set_epoch(1)
    assert list(sampler) != batches


def test_dynamic_padding_pads_to_longest_in_batch():
    batch = tlbatching.PaddingCollator(pad_token_id=0)(
        [{"input_ids": [101, 5, 102], "label": 1}, {"input_ids": [101, 102], "label": 0}]
    )
    assert batch["input_ids"].shape == (2, 3)
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 1, 0]]
    assert batch["labels"].tolist() == [1, 0]


def test_padding_to_a_multiple_of_8_for_the_gpu():
    batch = tlbatching.PaddingCollator(pad_token_id=0, pad_to_multiple_of=8)(
        [{"input_ids": [101, 5, 102]}, {"input_ids": list(range(9))}]
    )
    assert batch["input_ids"].shape == (2, 16)
    assert batch["attention_mask"].sum().item() == 12


def test_tokenize_dataset_gives_what_a_plain_map_gives_under_its_own_fingerprint(tokenizer):
    data = tl.load_text_dataset(
        (["good text here", "bad text", "so-so"] * 20, ["a", "b", "c"] * 20)
    )

    def encode(batch):
        encoded = tokenizer(batch["text"], truncation=True, max_length=8)
        return {k: encoded[k] for k in ("input_ids", "attention_mask")}

    fast = tl.tokenize_dataset(data, tokenizer, max_length=8)
    for name, split in data.items():
        plain = split.map(encode, batched=True)  # datasets' own (slow) fingerprinting
        assert fast[name].to_dict() == plain.to_dict()
        assert fast[name]._fingerprint == tlbatching.tokenized_fingerprint(split, tokenizer, 8)
    # The fingerprint changes with anything the tokens depend on.
    train = data["train"]
    fingerprints = {
        tlbatching.tokenized_fingerprint(train, tokenizer, 8),
        tlbatching.tokenized_fingerprint(train, tokenizer, 16),
        tlbatching.tokenized_fingerprint(data["test"], tokenizer, 8),
    }
    assert len(fingerprints) == 3
