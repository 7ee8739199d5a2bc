"""One rank of a data-parallel training run, launched by tests/test_distributed.py.

    torchrun --standalone --nproc_per_node 2 tests/distributed_worker.py OUT_DIR
    python tests/distributed_worker.py OUT_DIR          # the same run in one process

Trains a tiny random BERT on toy data with :func:`tlhelpers.train`. Every rank writes
``rank<R>.json`` (its rank, the world size, and how many training examples its own
forward passes saw); rank 0 also writes the final weights to ``weights.pt``.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch  # noqa: E402
from transformers import BertConfig, BertForSequenceClassification  # noqa: E402

import tlhelpers as tl  # noqa: E402

LABELS = ["negative", "neutral", "positive"]


def toy_data():
    """300 short texts in 3 classes whose label is readable from one word (also a fixture)."""
    words = {"negative": "awful", "neutral": "okay", "positive": "great"}
    texts = [f"the flight number {i} was {words[LABELS[i % 3]]} today" for i in range(300)]
    labels = [LABELS[i % 3] for i in range(300)]
    return tl.load_text_dataset((texts, labels), seed=0)


def tiny_model():
    tl.set_seed(0)
    config = BertConfig(
        vocab_size=30522,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        num_labels=3,
        id2label=dict(enumerate(LABELS)),
        label2id={name: i for i, name in enumerate(LABELS)},
    )
    return BertForSequenceClassification(config)


def main(out_dir: Path, batch_size: int) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    model = tiny_model()
    seen = {"examples": 0}

    def count(module, args, kwargs):
        if module.training:
            seen["examples"] += kwargs["input_ids"].shape[0]

    model.register_forward_pre_hook(count, with_kwargs=True)
    tokenizer = tl.load_tokenizer("minilm")
    result = tl.train(
        model, tokenizer, toy_data(), epochs=1, lr=2e-3, batch_size=batch_size, max_length=32,
        progress=False, seed=0,
    )  # fmt: skip
    rank = int(os.environ.get("RANK", 0))
    world = int(os.environ.get("WORLD_SIZE", 1))
    record = {"rank": rank, "world_size": world, "examples_seen": seen["examples"]}
    record["best"] = result.best
    (out_dir / f"rank{rank}.json").write_text(json.dumps(record))
    if rank == 0:
        torch.save({k: v.clone() for k, v in model.state_dict().items()}, out_dir / "weights.pt")


if __name__ == "__main__":
    main(Path(sys.argv[1]), batch_size=int(sys.argv[2]) if len(sys.argv) > 2 else 16)
