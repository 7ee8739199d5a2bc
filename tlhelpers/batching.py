"""From texts to model inputs: token lengths, tokenization, length-grouped batches, padding.

Tokenize once (truncation, no padding), then batch texts of similar length and pad each
batch only to its own longest text, so short tweets do not pay for long ones.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator, Sequence

import numpy as np
import pandas as pd
import torch
from datasets import Dataset, DatasetDict

from .data import _no_progress_bars, check_every_class_trained
from .models import label_names


def token_lengths(texts: Sequence[str], tokenizer) -> np.ndarray:
    """Number of tokens of each text (special tokens included, no truncation).

    Example:
        >>> token_lengths(["Hello world"], tokenizer)
        array([4])
    """
    encoded = tokenizer(list(texts), add_special_tokens=True, truncation=False, verbose=False)
    return np.array([len(ids) for ids in encoded["input_ids"]])


def token_length_stats(
    texts: Sequence[str], tokenizer, candidates: Sequence[int] = (32, 64, 128, 256, 512)
) -> pd.DataFrame:
    """For each candidate ``max_length``, the share of texts it truncates and of tokens it loses.

    Example:
        >>> token_length_stats(data["train"]["text"], tokenizer)
    """
    lengths = token_lengths(texts, tokenizer)
    truncated = [float((lengths > m).mean()) for m in candidates]
    lost = [float(np.clip(lengths - m, 0, None).sum() / lengths.sum()) for m in candidates]
    table = pd.DataFrame(
        {"texts_truncated": truncated, "tokens_lost": lost},
        index=pd.Index(candidates, name="max_length"),
    )
    table.attrs["summary"] = {
        "mean": float(lengths.mean()),
        "median": float(np.median(lengths)),
        "p95": float(np.percentile(lengths, 95)),
        "max": int(lengths.max()),
    }
    return table


def suggest_max_length(texts: Sequence[str], tokenizer, coverage: float = 0.95) -> int:
    """The smallest multiple of 16 that fits ``coverage`` of the texts whole, up to the limit.

    Example:
        >>> suggest_max_length(data["train"]["text"], tokenizer)
        64
    """
    needed = int(np.percentile(token_lengths(texts, tokenizer), coverage * 100))
    return int(min(model_max_length(tokenizer), 16 * math.ceil(needed / 16)))


def model_max_length(tokenizer) -> int:
    """The longest input the tokenizer's model accepts (512 for BERT-like models)."""
    limit = getattr(tokenizer, "model_max_length", 512) or 512
    # Tokenizers without a limit report a huge sentinel (1e30); BERT-likes use 512.
    return int(limit) if limit < 100_000 else 512


def check_max_length(max_length: int, tokenizer, model=None) -> None:
    """Raise a clear error if ``max_length`` is beyond what the model can read."""
    limit = model_max_length(tokenizer)
    if model is not None:
        positions = getattr(model.config, "max_position_embeddings", None)
        if positions:
            limit = min(limit, int(positions))
    if not 1 <= max_length <= limit:
        raise ValueError(
            f"max_length={max_length} is outside what this model can read (1..{limit} tokens). "
            f"Use max_length <= {limit}; longer texts are truncated."
        )


def tokenize_dataset(data: DatasetDict | Dataset, tokenizer, max_length: int = 128):
    """Tokenize once, up front, with truncation and no padding (padding happens per batch).

    Example:
        >>> tokenized = tokenize_dataset(data, tokenizer, max_length=64)
        >>> tokenized["train"].column_names
        ['text', 'label', 'input_ids', 'attention_mask']
    """
    check_max_length(max_length, tokenizer)

    def encode(batch):
        encoded = tokenizer(batch["text"], truncation=True, max_length=max_length)
        return {k: v for k, v in encoded.items() if k in ("input_ids", "attention_mask")}

    def tokenize(split: Dataset) -> Dataset:
        others = [c for c in split.column_names if c not in ("text", "label")]
        fingerprint = tokenized_fingerprint(split, tokenizer, max_length)
        return split.map(encode, batched=True, remove_columns=others, new_fingerprint=fingerprint)

    with _no_progress_bars():
        if isinstance(data, DatasetDict):
            return DatasetDict({name: tokenize(split) for name, split in data.items()})
        return tokenize(data)


def tokenized_fingerprint(split: Dataset, tokenizer, max_length: int) -> str:
    """A tokenized split's fingerprint, from its input, the tokenizer and ``max_length``."""
    # Left to itself, Dataset.map pickles the whole tokenizer to fingerprint: ~0.5 s a call.
    truncation_side = getattr(tokenizer, "truncation_side", "right")
    key = (
        f"{split._fingerprint}|{type(tokenizer).__name__}|{tokenizer.name_or_path}|"
        f"{len(tokenizer)}|{truncation_side}|{max_length}"
    )
    return hashlib.sha256(key.encode()).hexdigest()[:16]


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
    # Every class, not only those in validation: one seen only in test, or nowhere, would
    # train silently and never be predicted.
    check_every_class_trained(data)
    check_max_length(max_length, tokenizer, model)
    splits = DatasetDict(train=data["train"], validation=data["validation"])
    if "input_ids" in data["train"].column_names:
        return splits  # tokenized by the caller (its own max_length applies)
    return tokenize_dataset(splits, tokenizer, max_length)


class LengthGroupedSampler(torch.utils.data.Sampler):
    """Yield batches of indices whose texts have similar lengths, in a random order.

    Shuffled indices are cut into mega-batches of ``batch_size * 50``, each sorted by length
    and sliced into batches, then the batches are shuffled (Hugging Face: ``group_by_length``).

    Example:
        >>> sampler = LengthGroupedSampler(lengths, batch_size=32, seed=0)
        >>> loader = DataLoader(dataset, batch_sampler=sampler, collate_fn=collate)
    """

    group = 50  # batches per mega-batch

    def __init__(
        self, lengths: Sequence[int], batch_size: int, seed: int = 0, shuffle: bool = True
    ):
        self.lengths = np.asarray(lengths)
        self.batch_size, self.seed = batch_size, seed
        self.shuffle = shuffle  # False: longest first, in one sorted pass (for evaluation)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Use a different (still seeded) order each epoch."""
        self.epoch = epoch

    def __iter__(self) -> Iterator[list[int]]:
        size = self.batch_size
        if not self.shuffle:
            order = np.argsort(-self.lengths, kind="stable")
            yield from (order[i : i + size].tolist() for i in range(0, len(order), size))
            return
        rng = np.random.default_rng(self.seed + self.epoch)
        order = rng.permutation(len(self.lengths))
        batches = []
        for start in range(0, len(order), size * self.group):
            chunk = order[start : start + size * self.group]
            chunk = chunk[np.argsort(-self.lengths[chunk], kind="stable")]
            batches.extend(chunk[i : i + size] for i in range(0, len(chunk), size))
        shuffled = [batches[i] for i in rng.permutation(len(batches))]
        # The one short batch goes last: Accelerate, splitting each batch across processes,
        # expects only the last batch to be short and silently drops a short one elsewhere.
        shuffled.sort(key=lambda batch: len(batch) < size)  # stable sort
        yield from (batch.tolist() for batch in shuffled)

    def __len__(self) -> int:
        return math.ceil(len(self.lengths) / self.batch_size)


def pad_token_id(tokenizer) -> int:
    """The id that pads a batch: the tokenizer's, or 0 for a tokenizer that defines none."""
    return tokenizer.pad_token_id or 0


class PaddingCollator:
    """Pad a list of tokenized examples to the longest one in the batch (dynamic padding).

    Hugging Face: ``DataCollatorWithPadding``; this one needs no tokenizer (cached hidden
    states are padded the same way) and renames ``label`` to the loss's ``labels``.

    Example:
        >>> PaddingCollator(0)([{"input_ids": [101, 102]}, {"input_ids": [101, 7, 102]}])
    """

    def __init__(self, pad_token_id: int = 0, pad_to_multiple_of: int | None = None):
        self.pad_token_id = pad_token_id
        # On a GPU, lengths rounded up to a multiple of 8 give the kernels and the memory
        # allocator 8 shapes to cache instead of 64 (DataCollatorWithPadding has the same).
        self.pad_to_multiple_of = pad_to_multiple_of

    def __call__(self, examples: list[dict]) -> dict[str, torch.Tensor]:
        # Token ids are padded with the pad id; cached hidden states (``inputs_embeds``,
        # one vector per token) with zero vectors. The attention mask hides the padding.
        key = "input_ids" if "input_ids" in examples[0] else "inputs_embeds"
        rows = [torch.as_tensor(e[key]) for e in examples]
        longest = max(len(r) for r in rows)
        if self.pad_to_multiple_of:
            longest = -(-longest // self.pad_to_multiple_of) * self.pad_to_multiple_of
        fill = self.pad_token_id if key == "input_ids" else 0
        padded = torch.full((len(rows), longest, *rows[0].shape[1:]), fill, dtype=rows[0].dtype)
        attention_mask = torch.zeros((len(rows), longest), dtype=torch.long)
        for i, row in enumerate(rows):
            padded[i, : len(row)] = row
            attention_mask[i, : len(row)] = 1
        batch = {key: padded, "attention_mask": attention_mask}
        if "label" in examples[0]:
            batch["labels"] = torch.tensor([e["label"] for e in examples], dtype=torch.long)
        return batch


def make_dataloader(
    examples: Dataset | Sequence[dict],
    batch_size: int = 32,
    *,
    shuffle: bool = True,
    group_by_length: bool = True,
    pad_token_id: int = 0,
    seed: int = 0,
    pin_memory: bool = False,
    pad_to_multiple_of: int | None = None,
) -> torch.utils.data.DataLoader:
    """A DataLoader of tokenized texts with dynamic padding and length-grouped batches.

    ``examples``: a tokenized split, or items with cached ``inputs_embeds`` (layer cache).
    ``group_by_length``: :class:`LengthGroupedSampler` batches (``shuffle=False``: longest
    first); otherwise a seeded shuffle. ``pin_memory`` speeds copies to a GPU.

    Example:
        >>> loader = make_dataloader(tokenized["train"], batch_size=32, seed=0)
    """
    if isinstance(examples, Dataset):
        lengths = [len(ids) for ids in examples["input_ids"]]
        # Only what the model reads: token ids, attention mask, label.
        columns = [
            c for c in ("input_ids", "attention_mask", "label") if c in examples.column_names
        ]
        examples = examples.select_columns(columns).with_format(None)
    else:
        lengths = [len(example["inputs_embeds"]) for example in examples]
    if group_by_length:
        sampler = LengthGroupedSampler(lengths, batch_size, seed=seed, shuffle=shuffle)
        batching = {"batch_sampler": sampler}
    else:
        generator = torch.Generator().manual_seed(seed)
        batching = {"batch_size": batch_size, "shuffle": shuffle, "generator": generator}
    collate = PaddingCollator(pad_token_id, pad_to_multiple_of)
    return torch.utils.data.DataLoader(
        examples, collate_fn=collate, pin_memory=pin_memory, **batching
    )
